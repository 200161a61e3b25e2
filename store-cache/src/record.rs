//! Entry records: made from a local entry, signed, and verified against trusted keys.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde_json::Value;
use x07_builder::store::{BuildRecord, DerivationInputs, StoreEntry, BUILD_RECORD_FILE};
use x07_lock::{Ed25519Sig, KeyId, SigningKey, VerifyingKey};
use x07_spec::store_cache::{
    archive_key, fingerprint_of, CacheArchive, CacheCompiler, CacheEntryRecord, CacheFile,
    CacheSignature, ARCHIVE_COMPRESSION, CACHE_ENTRY_SCHEMA,
};

use crate::archive::{check_rel_path, PackedEntry};
use crate::CacheError;

/// The public keys whose signatures are trusted, by key id.
#[derive(Debug, Clone, Default)]
pub struct TrustedKeys {
    keys: BTreeMap<KeyId, VerifyingKey>,
}

impl TrustedKeys {
    /// Trusts these keys.
    pub fn new(keys: impl IntoIterator<Item = VerifyingKey>) -> Self {
        Self {
            keys: keys.into_iter().map(|k| (k.key_id(), k)).collect(),
        }
    }

    /// Whether no key is trusted (then nothing from a cache is ever used).
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// The trusted key ids.
    pub fn ids(&self) -> impl Iterator<Item = &KeyId> {
        self.keys.keys()
    }
}

/// A record that passed every check, with the key that vouches for it.
#[derive(Debug, Clone)]
pub struct VerifiedRecord {
    /// The record.
    pub record: CacheEntryRecord,
    /// Its inputs, typed.
    pub inputs: DerivationInputs,
    /// The trusted key whose signature verified.
    pub signer: KeyId,
}

impl VerifiedRecord {
    /// The compiler, as people read it: its version line, else its digest.
    pub fn compiler(&self) -> String {
        match &self.record.compiler.version_line {
            Some(line) => line.clone(),
            None => self.record.compiler.version_digest.to_string(),
        }
    }
}

/// Why a record is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordProblem {
    /// Not JSON, or not the record format.
    Malformed(String),
    /// Signed only by keys that are not trusted (or not signed).
    Untrusted(Vec<KeyId>),
    /// A signature by a trusted key does not match the record: it was changed after signing.
    BadSignature(KeyId),
    /// The record contradicts itself or is not the entry asked for.
    Inconsistent(String),
}

impl fmt::Display for RecordProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RecordProblem::Malformed(why) => write!(f, "the record is malformed: {why}"),
            RecordProblem::Untrusted(ids) if ids.is_empty() => {
                write!(f, "the record is not signed")
            }
            RecordProblem::Untrusted(ids) => {
                let ids: Vec<&str> = ids.iter().map(KeyId::as_str).collect();
                write!(
                    f,
                    "the record is signed only by untrusted key(s) {} (trust a key with --trusted-key or X07_TRUSTED_PUBLIC_KEYS)",
                    ids.join(", ")
                )
            }
            RecordProblem::BadSignature(id) => write!(
                f,
                "the signature by trusted key {id} does not match the record (it was altered after signing)"
            ),
            RecordProblem::Inconsistent(why) => write!(f, "the record is inconsistent: {why}"),
        }
    }
}

/// Where a packed entry's archive goes.
pub(crate) fn archive_of(packed: &PackedEntry) -> CacheArchive {
    CacheArchive {
        key: archive_key(&packed.sha256),
        sha256: packed.sha256,
        size: packed.bytes.len() as u64,
        compression: ARCHIVE_COMPRESSION.to_string(),
    }
}

/// The unsigned record of a local entry with these `files` (sorted, `size` bytes in all),
/// `references` and `archive`.
pub fn entry_record(
    entry: &StoreEntry,
    build: &BuildRecord,
    files: Vec<CacheFile>,
    references: Vec<String>,
    archive: CacheArchive,
) -> Result<CacheEntryRecord, CacheError> {
    let damaged = |why: String| CacheError::DamagedEntry {
        entry: entry.dir.clone(),
        why,
    };
    let inputs_json = serde_json::to_value(&build.inputs)
        .map_err(|e| damaged(format!("its inputs cannot be written as JSON: {e}")))?;
    let inputs: BTreeMap<String, Value> = serde_json::from_value(inputs_json)
        .map_err(|e| damaged(format!("its inputs are not a JSON object: {e}")))?;
    Ok(CacheEntryRecord {
        schema_version: CACHE_ENTRY_SCHEMA.to_string(),
        entry: entry.dir_name(),
        hash: entry.hash.to_string(),
        hash_without_cc: build.inputs.hash_without_cc()?.to_string(),
        name: entry.name.to_string(),
        inputs,
        compiler: CacheCompiler {
            version_digest: build.inputs.cc_version_digest,
            version_line: build.cc_version_line.clone(),
        },
        size: files.iter().map(|f| f.size).sum(),
        files,
        references,
        archive,
        signatures: Vec::new(),
    })
}

/// A signature of `fingerprint` by `key`.
pub(crate) fn sign(key: &SigningKey, fingerprint: &[u8]) -> CacheSignature {
    CacheSignature {
        key_id: key.key_id(),
        sig: key.sign(fingerprint).to_string(),
    }
}

/// Adds `more` to `list` (one signature per key id, the newest wins), sorted by key id.
pub(crate) fn merge_signatures(list: &mut Vec<CacheSignature>, more: &[CacheSignature]) {
    let mut by_id: BTreeMap<KeyId, CacheSignature> =
        list.drain(..).map(|s| (s.key_id.clone(), s)).collect();
    for s in more {
        by_id.insert(s.key_id.clone(), s.clone());
    }
    list.extend(by_id.into_values());
}

/// Parses and checks a record received from a cache: the format, a valid signature by a trusted
/// key over the fingerprint of exactly these bytes, and that it agrees with itself (the inputs
/// hash to `hash` and `hash_without_cc`, the entry name, the compiler digest, the file list, the
/// archive key). What it must be *for* (the hash asked for) is the caller's to check.
pub fn verify_record(bytes: &[u8], trusted: &TrustedKeys) -> Result<VerifiedRecord, RecordProblem> {
    let value: Value = serde_json::from_slice(bytes)
        .map_err(|e| RecordProblem::Malformed(format!("not JSON: {e}")))?;
    let record: CacheEntryRecord = serde_json::from_value(value.clone())
        .map_err(|e| RecordProblem::Malformed(e.to_string()))?;
    if record.schema_version != CACHE_ENTRY_SCHEMA {
        return Err(RecordProblem::Malformed(format!(
            "schema_version is `{}`, this x07 reads `{CACHE_ENTRY_SCHEMA}`",
            record.schema_version
        )));
    }
    let fingerprint = fingerprint_of(&value)
        .map_err(|e| RecordProblem::Malformed(format!("cannot canonicalize: {e}")))?;
    let mut signer = None;
    for s in &record.signatures {
        let Some(key) = trusted.keys.get(&s.key_id) else {
            continue;
        };
        let valid = Ed25519Sig::from_base64(&s.sig)
            .map(|sig| key.verify(&fingerprint, &sig))
            .unwrap_or(false);
        if !valid {
            return Err(RecordProblem::BadSignature(s.key_id.clone()));
        }
        signer = Some(s.key_id.clone());
    }
    let Some(signer) = signer else {
        return Err(RecordProblem::Untrusted(
            record.signatures.iter().map(|s| s.key_id.clone()).collect(),
        ));
    };
    let inputs = check_consistent(&record)?;
    Ok(VerifiedRecord {
        record,
        inputs,
        signer,
    })
}

fn check_consistent(record: &CacheEntryRecord) -> Result<DerivationInputs, RecordProblem> {
    let bad = |why: String| RecordProblem::Inconsistent(why);
    let inputs: DerivationInputs = serde_json::to_value(&record.inputs)
        .and_then(serde_json::from_value)
        .map_err(|e| bad(format!("inputs: {e}")))?;
    let hash = inputs.hash().map_err(|e| bad(e.to_string()))?;
    if hash.as_str() != record.hash {
        return Err(bad(format!(
            "the inputs hash to {hash}, the record says {}",
            record.hash
        )));
    }
    let without = inputs.hash_without_cc().map_err(|e| bad(e.to_string()))?;
    if without.as_str() != record.hash_without_cc {
        return Err(bad(format!(
            "the inputs without the compiler hash to {without}, the record says {}",
            record.hash_without_cc
        )));
    }
    if inputs.name.as_str() != record.name || record.entry != format!("{hash}-{}", record.name) {
        return Err(bad(format!(
            "entry `{}` and name `{}` do not match the inputs ({hash}-{})",
            record.entry, record.name, inputs.name
        )));
    }
    if record.compiler.version_digest != inputs.cc_version_digest {
        return Err(bad(
            "compiler.version_digest differs from inputs.cc_version_digest".into(),
        ));
    }
    let mut paths = BTreeSet::new();
    for f in &record.files {
        check_rel_path(&f.path).map_err(bad)?;
        if !paths.insert(f.path.as_str()) {
            return Err(bad(format!("file `{}` is listed twice", f.path)));
        }
    }
    for needed in [BUILD_RECORD_FILE, inputs.name.as_str()] {
        if !paths.contains(needed) {
            return Err(bad(format!("the files do not include `{needed}`")));
        }
    }
    let total: u64 = record.files.iter().map(|f| f.size).sum();
    if total != record.size {
        return Err(bad(format!(
            "the files add up to {total} bytes, the record says {}",
            record.size
        )));
    }
    if record.archive.key != archive_key(&record.archive.sha256)
        || record.archive.compression != ARCHIVE_COMPRESSION
    {
        return Err(bad(format!(
            "archive key `{}` is not archives/<its sha256>.tar.zst with zstd compression",
            record.archive.key
        )));
    }
    for r in &record.references {
        if x07_builder::store::parse_entry_name(r).is_none() {
            return Err(bad(format!("reference `{r}` is not an entry name")));
        }
    }
    Ok(inputs)
}
