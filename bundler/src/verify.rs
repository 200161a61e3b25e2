//! `x07 bundle inspect` and `x07 bundle verify`: read a bundle's provenance note and sealed
//! section, and check every digest and the signature, naming the part that does not match.

use std::path::{Path, PathBuf};

use serde_json::{json, Value};
use x07_lock::{Ed25519Sig, KeyId, Lock, VerifyingKey};
use x07_spec::bundle::provenance::{split_note, ProvenanceNote, Statement};
use x07_spec::bundle::{unseal, SealedParts};
use x07_spec::Sha256Digest;

use crate::make::beside;
use crate::package_digest;

/// What a bundle holds, as `inspect` shows it.
#[derive(Debug)]
pub struct Inspection {
    /// The bundle file.
    pub path: PathBuf,
    /// `native` or `sealed`.
    pub kind: &'static str,
    /// sha256 of the whole file.
    pub sha256: Sha256Digest,
    /// sha256 of the file without its note: the statement's subject.
    pub subject: Sha256Digest,
    /// The note.
    pub note: ProvenanceNote,
    /// The statement inside the envelope.
    pub statement: Statement,
    /// The sealed policy's canonical JSON (sealed bundles).
    pub policy_json: Option<Vec<u8>>,
    /// sha256 of each part of the subject (`launcher`, `payload`, `policy_blob`, `policy_json`
    /// for sealed bundles; `program` for native ones).
    pub parts: Vec<(&'static str, Sha256Digest)>,
    /// A VM bundle's sidecar, every pin of which held (the rest describes its payload).
    pub vm: Option<VmInspection>,
}

/// A VM bundle's sidecar as `inspect` shows it.
#[derive(Debug, Clone)]
pub struct VmInspection {
    /// `<bundle>.vm`.
    pub sidecar: PathBuf,
    /// What the launcher pins.
    pub pins: x07_spec::bundle::vm::VmPins,
    /// The manifest.
    pub manifest: x07_spec::bundle::vm::VmBundleManifest,
    /// The manifest signature's key id (`None`: unsigned).
    pub signer: Option<String>,
}

/// Why a bundle does not verify (or cannot be read); each names the part.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    /// The file cannot be read.
    #[error("cannot read {}: {source}", .path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// No provenance note at the end of the file.
    #[error("{}: no provenance note (not an x07 bundle, or the note was stripped)", .0.display())]
    NoNote(PathBuf),
    /// The note, envelope or statement does not parse.
    #[error("{path}: the provenance note is damaged: {why}", path = .0.display(), why = .1)]
    Note(PathBuf, String),
    /// The sealed section does not parse.
    #[error("{path}: the sealed section is damaged: {why}", path = .0.display(), why = .1)]
    Sealed(PathBuf, String),
    /// A digest differs from what the signed statement records.
    #[error("{}: the {part} differs from the signed statement (statement: {expected}, file: {actual})", .path.display())]
    Digest {
        /// The file.
        path: PathBuf,
        /// Which part.
        part: String,
        /// What the statement records.
        expected: String,
        /// What the file holds.
        actual: String,
    },
    /// The envelope beside the bundle differs from the embedded one.
    #[error("{}: differs from the envelope embedded in the bundle", .0.display())]
    EnvelopeBeside(PathBuf),
    /// The signature does not verify.
    #[error("{}: the envelope's signature by {keyid} does not verify: the statement or signature was changed", .path.display())]
    Signature {
        /// The file.
        path: PathBuf,
        /// The key id the envelope names.
        keyid: String,
    },
    /// Signed by another key than `--key`.
    #[error("{}: signed by {actual}, not by the --key given ({expected})", .path.display())]
    WrongSigner {
        /// The file.
        path: PathBuf,
        /// `--key`'s id.
        expected: String,
        /// The envelope's signer (or "nobody: unsigned").
        actual: String,
    },
    /// The SBOM does not match the lock or the statement.
    #[error("{path}: the SBOM {what}", path = .1.display(), what = .0)]
    Sbom(String, PathBuf),
    /// A VM bundle whose pins, sidecar files or manifest signature do not hold.
    #[error(transparent)]
    Sidecar(#[from] x07_vm::SidecarError),
    /// A VM bundle's pins trailer is damaged.
    #[error("{}: {why}", .path.display())]
    Pins {
        /// The launcher file.
        path: PathBuf,
        /// Why.
        why: String,
    },
}

impl VerifyError {
    /// The diagnostic code (docs/diagnostics.md).
    pub fn code(&self) -> &'static str {
        match self {
            Self::Read { .. } => "X07-BUNDLE-0001",
            _ => "X07-BUNDLE-0004",
        }
    }
}

fn part_digests(
    subject: &[u8],
    sealed: Option<&SealedParts<'_>>,
) -> Vec<(&'static str, Sha256Digest)> {
    match sealed {
        Some(p) => vec![
            ("launcher", Sha256Digest::of(p.launcher)),
            ("payload", Sha256Digest::of(p.payload)),
            ("policy_blob", Sha256Digest::of(p.blob)),
            ("policy_json", Sha256Digest::of(p.policy_json)),
        ],
        None => vec![("program", Sha256Digest::of(subject))],
    }
}

/// The digests of a bundle's parts, for the statement (`internalParameters.parts`).
pub fn parts_json(subject: &[u8]) -> Value {
    let sealed = unseal(subject).ok().flatten();
    let parts = part_digests(subject, sealed.as_ref());
    Value::Object(
        parts
            .into_iter()
            .map(|(k, d)| (k.to_string(), json!(d.to_string())))
            .collect(),
    )
}

/// Reads a bundle: its note, statement and sealed section. For a VM bundle, the launcher's pins
/// and every file of its sidecar are checked first, and the rest describes the sidecar's payload.
pub fn inspect(path: &Path) -> Result<Inspection, VerifyError> {
    let bytes = fs_err::read(path).map_err(|source| VerifyError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    if let Some(pins) = x07_spec::bundle::vm::find_pins(&bytes) {
        let pins = pins.map_err(|why| VerifyError::Pins {
            path: path.to_path_buf(),
            why,
        })?;
        let sidecar = crate::vm::sidecar_dir(path);
        let checked = x07_vm::verify_sidecar(&sidecar, &pins)?;
        let payload = sidecar.join(&checked.manifest.payload_file.path);
        let mut ins = inspect(&payload)?;
        ins.kind = "vm";
        ins.vm = Some(VmInspection {
            sidecar,
            pins,
            manifest: checked.manifest.clone(),
            signer: checked.signer.clone(),
        });
        return Ok(ins);
    }
    let (subject, note_json) =
        split_note(&bytes).ok_or_else(|| VerifyError::NoNote(path.into()))?;
    let damaged = |why: String| VerifyError::Note(path.to_path_buf(), why);
    let note: ProvenanceNote =
        serde_json::from_slice(note_json).map_err(|e| damaged(e.to_string()))?;
    let payload = note
        .envelope
        .payload_bytes()
        .map_err(|e| damaged(format!("the envelope's payload is not base64: {e}")))?;
    let statement: Statement = serde_json::from_slice(&payload)
        .map_err(|e| damaged(format!("the envelope's statement: {e}")))?;
    let sealed = unseal(subject).map_err(|e| VerifyError::Sealed(path.into(), e.to_string()))?;
    Ok(Inspection {
        path: path.to_path_buf(),
        kind: if sealed.is_some() { "sealed" } else { "native" },
        sha256: Sha256Digest::of(&bytes),
        subject: Sha256Digest::of(subject),
        parts: part_digests(subject, sealed.as_ref()),
        policy_json: sealed.map(|s| s.policy_json.to_vec()),
        note,
        statement,
        vm: None,
    })
}

/// What `verify` established.
#[derive(Debug)]
pub struct Verified {
    /// The inspection it checked.
    pub inspection: Inspection,
    /// The signer's key id; `None`: unsigned.
    pub signer: Option<KeyId>,
    /// Whether the envelope beside the file was present (and matched).
    pub envelope_beside: bool,
    /// Whether the SBOM was checked against a lock.
    pub sbom_checked_against_lock: bool,
}

/// Checks every digest, the envelope beside the file, the signature (and, with `key`, the
/// signer), the sealed policy, and the SBOM against the statement and `lock`.
pub fn verify(
    path: &Path,
    key: Option<&VerifyingKey>,
    lock: Option<&Lock>,
) -> Result<Verified, VerifyError> {
    let ins = inspect(path)?;
    let mismatch = |part: &str, expected: String, actual: String| VerifyError::Digest {
        path: path.to_path_buf(),
        part: part.to_string(),
        expected,
        actual,
    };
    // the signature first: it vouches for everything the statement says
    let signer = match ins.note.envelope.signatures.first() {
        None => None,
        Some(sig) => {
            let public = ins
                .note
                .public_key
                .as_deref()
                .and_then(|k| VerifyingKey::from_base64(k).ok())
                .ok_or_else(|| {
                    VerifyError::Note(path.into(), "a signature without a public key".into())
                })?;
            let keyid = public.key_id();
            let signed = ins
                .note
                .envelope
                .signed_bytes()
                .map_err(|e| VerifyError::Note(path.into(), e.to_string()))?;
            let ok = keyid.as_str() == sig.keyid
                && Ed25519Sig::from_base64(&sig.sig).is_ok_and(|s| public.verify(&signed, &s));
            if !ok {
                return Err(VerifyError::Signature {
                    path: path.into(),
                    keyid: sig.keyid.clone(),
                });
            }
            Some(keyid)
        }
    };
    if let (Some(want), Some(vm)) = (key, &ins.vm) {
        // a VM bundle's manifest is signed too, by the key its launcher pins
        let want = want.key_id().to_string();
        if vm.signer.as_deref() != Some(want.as_str()) {
            return Err(VerifyError::WrongSigner {
                path: vm.sidecar.join(x07_spec::bundle::vm::SIGNATURE_FILE),
                expected: want,
                actual: vm
                    .signer
                    .clone()
                    .unwrap_or_else(|| "nobody (unsigned)".into()),
            });
        }
    }
    if let Some(want) = key {
        let want = want.key_id();
        if signer.as_ref() != Some(&want) {
            return Err(VerifyError::WrongSigner {
                path: path.into(),
                expected: want.to_string(),
                actual: signer
                    .as_ref()
                    .map(ToString::to_string)
                    .unwrap_or_else(|| "nobody (unsigned)".into()),
            });
        }
    }
    // each part against the statement, then the whole subject
    let recorded = &ins.statement.predicate.build_definition.internal_parameters["parts"];
    for (part, digest) in &ins.parts {
        let want = recorded[part].as_str().unwrap_or("(not recorded)");
        if want != digest.to_string() {
            let name = match *part {
                "payload" | "program" => "program code",
                "policy_blob" | "policy_json" => "sealed policy",
                other => other,
            };
            let label = if name == *part {
                name.to_string()
            } else {
                format!("{name} ({part})")
            };
            return Err(mismatch(&label, want.into(), digest.to_string()));
        }
    }
    let subject = ins
        .statement
        .subject
        .first()
        .and_then(|s| s.digest.get("sha256"));
    if subject.map(String::as_str) != Some(ins.subject.hex().as_str()) {
        return Err(mismatch(
            "executable (the subject)",
            subject.cloned().unwrap_or_default(),
            ins.subject.hex(),
        ));
    }
    // the sealed policy against the digest the statement records
    if let Some(json) = &ins.policy_json {
        let want = ins.statement.predicate.build_definition.external_parameters["policy_digest"]
            .as_str()
            .unwrap_or("(not recorded)")
            .to_string();
        let got = Sha256Digest::of(json).to_string();
        if want != got {
            return Err(mismatch("sealed policy", want, got));
        }
    }
    // the envelope beside the file
    let beside_path = beside(path, ".intoto.jsonl");
    let envelope_beside = match fs_err::read(&beside_path) {
        Ok(bytes) => {
            let embedded = x07_spec::to_canonical_vec(&ins.note.envelope).expect("serializes");
            let same = serde_json::from_slice::<Value>(&bytes)
                .ok()
                .and_then(|v| x07_spec::to_canonical_vec(&v).ok())
                .is_some_and(|b| b == embedded);
            if !same {
                return Err(VerifyError::EnvelopeBeside(beside_path));
            }
            true
        }
        Err(_) => false,
    };
    // the SBOM: the statement's packages, and the lock's when one is given
    let sbom_pkgs = sbom_packages(&ins.note.sbom);
    let stmt_pkgs: Vec<(String, String)> = ins
        .statement
        .predicate
        .build_definition
        .resolved_dependencies
        .iter()
        .filter(|d| d.uri.as_deref().is_some_and(|u| u.starts_with("pkg:x07/")))
        .map(|d| {
            (
                d.uri.clone().unwrap_or_default(),
                d.digest.get("sha256").cloned().unwrap_or_default(),
            )
        })
        .collect();
    if sbom_pkgs != sorted(stmt_pkgs) {
        return Err(VerifyError::Sbom(
            "lists other packages than the signed statement".into(),
            path.into(),
        ));
    }
    if let Some(lock) = lock {
        let locked: Vec<(String, String)> = lock
            .dependencies
            .iter()
            .map(|p| {
                (
                    format!("pkg:x07/{}@{}", p.name, p.version),
                    package_digest(p).hex(),
                )
            })
            .collect();
        if sbom_pkgs != sorted(locked) {
            return Err(VerifyError::Sbom(
                "does not match the project's lock".into(),
                path.into(),
            ));
        }
    }
    Ok(Verified {
        inspection: ins,
        signer,
        envelope_beside,
        sbom_checked_against_lock: lock.is_some(),
    })
}

fn sorted(mut v: Vec<(String, String)>) -> Vec<(String, String)> {
    v.sort();
    v
}

/// `(purl, sha256 hex)` of each SBOM component, sorted.
fn sbom_packages(sbom: &Value) -> Vec<(String, String)> {
    let items = sbom["components"].as_array().cloned().unwrap_or_default();
    sorted(
        items
            .iter()
            .map(|c| {
                (
                    c["purl"].as_str().unwrap_or_default().to_string(),
                    c["hashes"][0]["content"]
                        .as_str()
                        .unwrap_or_default()
                        .to_string(),
                )
            })
            .collect(),
    )
}
