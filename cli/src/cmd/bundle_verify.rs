//! `x07 bundle inspect` and `x07 bundle verify [--key FILE.pub] [--rebuild]`: the checks live
//! in x07-bundler; this prints them, and `--rebuild` makes the bundle again from the project with
//! the parameters its signed statement records.

use std::path::Path;

use serde_json::{json, Value};
use x07_bundler::{Inspection, VerifyError};
use x07_lock::{Lock, VerifyingKey};

use crate::args::{BundleArgs, CcProfileArg, RepairMode, SandboxArgs, TargetArgs};
use crate::cmd::bundle::{make, Made};
use crate::error::{CliError, CliResult};

fn verify_error(e: VerifyError) -> CliError {
    let read = matches!(e, VerifyError::Read { .. });
    let mut err = CliError::failure(e.code(), e.to_string());
    if read {
        err.exit = 2;
    }
    err
}

fn summary(ins: &Inspection) -> Value {
    let st = &ins.statement.predicate.build_definition;
    let policy = ins.policy_json.as_ref().map(|j| {
        json!({
            "digest": x07_spec::Sha256Digest::of(j).to_string(),
            "policy": serde_json::from_slice::<Value>(j).unwrap_or(Value::Null),
        })
    });
    let packages: Vec<Value> = ins.note.sbom["components"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|c| json!({"name": c["name"], "version": c["version"], "sha256": c["hashes"][0]["content"]}))
        .collect();
    json!({
        "schema_version": "x07.bundle.inspect@0.1.0",
        "path": ins.path.display().to_string(),
        "kind": ins.kind,
        "world": st.external_parameters["world"],
        "sandbox_backend": st.external_parameters["sandbox_backend"],
        "sha256": ins.sha256.to_string(),
        "subject_sha256": ins.subject.to_string(),
        "parts": ins.parts.iter().map(|(k, d)| (k.to_string(), json!(d.to_string()))).collect::<serde_json::Map<_, _>>(),
        "policy": policy,
        "parameters": st.external_parameters,
        "inputs": st.resolved_dependencies,
        "sbom": {"format": "CycloneDX 1.5", "components": packages},
        "signer_key_id": ins.note.envelope.signatures.first().map(|s| s.keyid.clone()),
        "closure": closure_of(ins),
        "vm": ins.vm.as_ref().map(|v| json!({
            "sidecar": v.sidecar.display().to_string(),
            "manifest_sha256": v.pins.manifest_sha256,
            "manifest": v.manifest,
            "manifest_signer_key_id": v.signer,
        })),
    })
}

/// The program's closure: the payload of a sealed bundle, else the executable itself.
fn closure_of(ins: &Inspection) -> Value {
    let Ok(bytes) = fs_err::read(&ins.path) else {
        return Value::Null;
    };
    let Some((subject, _)) = x07_spec::bundle::provenance::split_note(&bytes) else {
        return Value::Null;
    };
    let program = match x07_spec::bundle::unseal(subject) {
        Ok(Some(parts)) => parts.payload,
        _ => subject,
    };
    match x07_bundler::closure_of(program) {
        Ok(c) => json!(c.display_paths()),
        Err(_) => Value::Null,
    }
}

/// `x07 bundle inspect BUNDLE [--json]`.
pub fn inspect(bundle: &Path, as_json: bool) -> CliResult {
    let ins = x07_bundler::inspect(bundle).map_err(verify_error)?;
    let s = summary(&ins);
    if as_json {
        let bytes = x07_spec::canonical_file_bytes(&s)
            .map_err(|e| CliError::setup("X07-BUNDLE-0001", e.to_string()))?;
        print!("{}", String::from_utf8_lossy(&bytes));
        return Ok(0);
    }
    println!(
        "{}: {} bundle, world {}",
        bundle.display(),
        ins.kind,
        s["world"].as_str().unwrap_or("?")
    );
    if let Some(v) = &ins.vm {
        println!(
            "  sidecar   {} (manifest {}, {}; every file pinned and checked)",
            v.sidecar.display(),
            v.pins.manifest_sha256,
            v.signer
                .as_deref()
                .map(|k| format!("signed by {k}"))
                .unwrap_or_else(|| "unsigned".into())
        );
        println!(
            "  guest     {} ({} backend)",
            v.manifest.guest_digest, v.manifest.backend
        );
        println!("  payload:");
    }
    println!("  sha256    {}", ins.sha256);
    println!(
        "  subject   {} (the executable without its provenance note)",
        ins.subject
    );
    if let Some(p) = s["policy"].as_object() {
        println!(
            "  policy    {} (sealed, backend {})",
            p["digest"].as_str().unwrap_or(""),
            s["sandbox_backend"].as_str().unwrap_or("?")
        );
    }
    for input in ins
        .statement
        .predicate
        .build_definition
        .resolved_dependencies
        .iter()
    {
        println!(
            "  input     {} {} {}",
            input.name,
            input.uri.as_deref().unwrap_or(""),
            input.digest.get("sha256").map(String::as_str).unwrap_or("")
        );
    }
    println!(
        "  sbom      CycloneDX 1.5, {} component(s)",
        s["sbom"]["components"].as_array().map_or(0, Vec::len)
    );
    match s["signer_key_id"].as_str() {
        Some(k) => println!("  signer    {k}"),
        None => println!("  signer    unsigned"),
    }
    match s["closure"].as_array() {
        Some(c) if c.is_empty() => println!("  closure   none: statically linked"),
        Some(c) => {
            for lib in c {
                println!("  closure   {}", lib.as_str().unwrap_or(""));
            }
        }
        None => println!("  closure   unknown (the program is not a readable ELF file)"),
    }
    Ok(0)
}

/// The project's lock, when the current directory (or `project`) is in a project that has one.
fn project_lock(project: Option<&Path>) -> Result<Option<Lock>, CliError> {
    let manifest = match project {
        Some(p) => Some(crate::target::find_manifest(Some(p), "--project PATH")?),
        None => std::env::current_dir()
            .ok()
            .and_then(|d| crate::target::discover_manifest(&d)),
    };
    let Some(manifest) = manifest else {
        return Ok(None);
    };
    let m = x07_spec::ProjectManifest::load(&manifest).map_err(crate::target::manifest_error)?;
    let root = manifest.parent().unwrap_or(Path::new("."));
    match m.lockfile_path(root) {
        Some(path) if path.exists() => Lock::load(&path)
            .map(Some)
            .map_err(|e| CliError::setup("X07-LOCK-0001", e.to_string())),
        _ => Ok(None),
    }
}

/// `x07 bundle verify BUNDLE [--key FILE.pub] [--rebuild] [--project PATH]`.
pub fn verify(
    bundle: &Path,
    key: Option<&Path>,
    rebuild: bool,
    project: Option<&Path>,
) -> CliResult {
    let key = key
        .map(|k| {
            let text = fs_err::read_to_string(k)
                .map_err(|e| CliError::setup("X07-KEY-0001", format!("--key: {e}")))?;
            VerifyingKey::from_base64(&text).map_err(|e| {
                CliError::setup("X07-KEY-0001", format!("--key {}: {e}", k.display()))
                    .help("pass the `.pub` file `x07 key generate` writes beside the key")
            })
        })
        .transpose()?;
    let lock = project_lock(project)?;
    let verified =
        x07_bundler::verify(bundle, key.as_ref(), lock.as_ref()).map_err(verify_error)?;
    let ins = &verified.inspection;
    if rebuild {
        let rebuilt = rebuild_subject(ins, project)?;
        if rebuilt != ins.subject {
            return Err(CliError::failure(
                "X07-BUNDLE-0004",
                format!(
                    "{}: rebuilding from the project gives {rebuilt}, the bundle is {}",
                    bundle.display(),
                    ins.subject
                ),
            )
            .help("the project's sources, lock or toolchain differ from what the bundle was made from"));
        }
    }
    match &verified.signer {
        Some(k) => println!("verified {}: signed by {k}", bundle.display()),
        None => println!(
            "verified {}: unsigned (digests only; there is no signature to check)",
            bundle.display()
        ),
    }
    println!(
        "  subject {}, {} bundle{}{}{}",
        ins.subject,
        ins.kind,
        if verified.envelope_beside {
            ", envelope beside it matches"
        } else {
            ", no envelope beside it"
        },
        if verified.sbom_checked_against_lock {
            ", SBOM matches the project's lock"
        } else {
            ""
        },
        if rebuild {
            ", rebuilt byte for byte"
        } else {
            ""
        },
    );
    Ok(0)
}

/// Rebuilds the bundle with the parameters its statement records (unsigned, into a scratch
/// directory) and returns the new subject digest.
fn rebuild_subject(
    ins: &Inspection,
    project: Option<&Path>,
) -> Result<x07_spec::Sha256Digest, CliError> {
    let p = &ins.statement.predicate.build_definition.external_parameters;
    let scratch =
        tempfile::tempdir().map_err(|e| CliError::setup("X07-BUNDLE-0001", e.to_string()))?;
    let name = ins
        .statement
        .subject
        .first()
        .map(|s| s.name.clone())
        .unwrap_or_else(|| "app".into());
    let mut sandbox = SandboxArgs::default();
    if let Some(json) = &ins.policy_json {
        let policy = scratch.path().join("sealed.policy.json");
        fs_err::write(&policy, json)
            .map_err(|e| CliError::setup("X07-BUNDLE-0001", e.to_string()))?;
        sandbox.policy = Some(policy);
        sandbox.sandbox_backend = p["sandbox_backend"].as_str().map(str::to_string);
        sandbox.i_accept_weaker_isolation = true;
        sandbox.sandbox_accept_weaker = p["sandbox_accept_weaker"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect();
    }
    let auto_ffi = p["auto_ffi"].as_bool().unwrap_or(true);
    let args = BundleArgs {
        action: None,
        target: TargetArgs {
            project: project.map(Path::to_path_buf),
            profile: p["profile"].as_str().map(str::to_string),
            auto_ffi,
            no_auto_ffi: !auto_ffi,
            ..TargetArgs::default()
        },
        out: Some(scratch.path().join(name)),
        sign_key: None,
        no_sign: true,
        static_link: p["static"].as_bool().unwrap_or(false),
        solve_fuel: p["limits"]["solve_fuel"].as_u64(),
        max_memory_bytes: p["limits"]["max_memory_bytes"].as_u64(),
        max_output_bytes: p["limits"]["max_output_bytes"].as_u64(),
        cpu_time_limit_seconds: p["limits"]["cpu_time_limit_seconds"].as_u64(),
        cc_profile: match p["cc_profile"].as_str() {
            Some("size") => Some(CcProfileArg::Size),
            _ => Some(CcProfileArg::Default),
        },
        emit_dir: None,
        emit_attestation: None,
        max_c_bytes: None,
        debug_borrow_checks: false,
        world: p["world"].as_str().map(str::to_string),
        repair: RepairMode::Off,
        sandbox,
    };
    match make(&args, false)? {
        Made::Bundled(report) => report.bundle.subject_sha256.parse().map_err(|e| {
            CliError::setup(
                "X07-BUNDLE-0001",
                format!("the rebuilt subject digest: {e}"),
            )
        }),
        Made::Rejected(_) => Err(CliError::failure(
            "X07-BUNDLE-0004",
            "--rebuild: the project no longer compiles",
        )),
    }
}
