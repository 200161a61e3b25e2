//! Making a bundle: build the program with the bundle entry point (a store entry), seal it after
//! the trusted launcher for a sandbox bundle (another store entry), copy the result to `--out`.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use serde_json::json;
use x07_builder::build::{self, BuildOutcome, BuildRequest};
use x07_builder::cc::{CcIdentity, X07Home};
use x07_builder::emit::{BundleMain, EntryPoint};
use x07_builder::frontend::{Diagnostic, LoadedProgram};
use x07_builder::project::Target;
use x07_builder::store::{ArtifactName, Produced, PublishError, StoreEntry, StoreRoot};
use x07_runner::prepare::PreparedSandbox;
use x07_spec::bundle::provenance::append_note;
use x07_spec::bundle::{seal, SEAL_RELATIVE_ROOTS};
use x07_spec::policy::blob::{BlobBackend, PathBase, PolicyBlob};
use x07_spec::{CcProfile, Sha256Digest};

use crate::provenance::{self, BuildFacts, Signing};
use crate::BundleError;

/// The limits a bundle bakes in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BundleLimits {
    /// Fuel for one run.
    pub solve_fuel: u64,
    /// Heap arena bytes.
    pub max_memory_bytes: u64,
    /// Output cap in bytes.
    pub max_output_bytes: u64,
    /// RLIMIT_CPU of an os bundle (a sandbox bundle's launcher applies `policy.limits.cpu_ms`).
    pub cpu_time_limit_seconds: Option<u64>,
}

/// What to bundle.
#[derive(Debug)]
pub struct BundleRequest<'a> {
    /// The prepared target.
    pub target: &'a Target,
    /// Its loaded program.
    pub program: &'a LoadedProgram,
    /// The executable to write (already resolved from `--out`).
    pub out: &'a Path,
    /// The C compiler profile.
    pub cc_profile: CcProfile,
    /// Limits baked in.
    pub limits: BundleLimits,
    /// The effective policy of a sandbox bundle, and for backend os the launcher it is sealed
    /// after.
    pub sandbox: Option<(&'a PreparedSandbox, Option<&'a Path>)>,
    /// How the provenance statement is signed.
    pub signing: &'a Signing,
    /// `--static`: fully static against musl (programs without native libraries).
    pub static_musl: bool,
    /// `--max-c-bytes`: refuse a program whose emitted C is larger.
    pub max_c_bytes: Option<u64>,
    /// A VM bundle: `--out` becomes x07-vm-launcher with its pins, the sealed payload goes into
    /// the sidecar `<out>.vm/` with the guest image.
    pub vm: Option<crate::vm::VmParts<'a>>,
}

/// A bundle written to `--out`.
#[derive(Debug, Clone)]
pub struct Bundled {
    /// The executable written.
    pub out: PathBuf,
    /// argv_v1 token 0.
    pub name: String,
    /// The store entry holding it without its provenance note (the statement's subject).
    pub entry: StoreEntry,
    /// sha256 of the store entry's executable: the provenance subject.
    pub subject: Sha256Digest,
    /// The DSSE envelope file written beside it (`<out>.intoto.jsonl`).
    pub envelope_path: PathBuf,
    /// The SBOM file written beside it (`<out>.cdx.json`).
    pub sbom_path: PathBuf,
    /// The signer's key id (`None`: unsigned).
    pub signer: Option<String>,
    /// The program's own store entry (the same as `entry` for an os bundle).
    pub program_entry: StoreEntry,
    /// sha256 of the executable.
    pub sha256: Sha256Digest,
    /// Its size.
    pub size: u64,
    /// The program's C source size.
    pub c_source_size: Option<u64>,
    /// The sealed policy's canonical JSON (sandbox bundles).
    pub policy_json: Option<Vec<u8>>,
    /// The program's dynamic closure.
    pub closure: crate::Closure,
    /// A VM bundle's sidecar.
    pub sidecar: Option<crate::vm::SidecarWritten>,
}

/// A bundle, or the diagnostics that stopped the program from compiling.
#[derive(Debug)]
pub enum BundleOutcome {
    /// Written.
    Bundled(Box<Bundled>),
    /// The program has compile errors; nothing was written.
    Rejected(Vec<Diagnostic>),
}

/// Builds the bundle into `store` and writes it to `req.out`.
pub fn bundle(
    home: &X07Home,
    store: &StoreRoot,
    req: &BundleRequest<'_>,
) -> Result<BundleOutcome, BundleError> {
    let name = req
        .out
        .file_name()
        .and_then(|n| n.to_str())
        .filter(|n| !n.is_empty())
        .ok_or_else(|| BundleError::Name(req.out.to_path_buf()))?
        .to_string();
    let out_dir = match req.out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    fs_err::create_dir_all(&out_dir).map_err(|source| BundleError::Write {
        path: out_dir.clone(),
        source,
    })?;
    // backend os: the launcher with the program sealed after it; backend none: the policy
    // embedded in the program, which applies its in-process checks alone
    let embedded = match req.sandbox {
        Some((prepared, _)) if prepared.blob_backend == BlobBackend::None => {
            Some(start_cwd_blob(prepared)?)
        }
        _ => None,
    };
    let sealed = req.sandbox.is_some() && embedded.is_none();
    let mut breq = BuildRequest::new(
        req.program,
        req.target.world,
        req.cc_profile,
        req.target.lock_digest,
        artifact(&req.target.name, "bundle")?,
        // the sealed entry, not the payload, is what `--out` roots
        if sealed { None } else { Some(&out_dir) },
    );
    breq.native = req.target.native_for(req.program)?;
    // a VM bundle's payload is static unless it links native libraries, which then travel in
    // the sidecar with the rest of its closure
    let vm_static =
        req.vm.is_some() && breq.native.libs.is_empty() && breq.native.sources.is_empty();
    if req.static_musl || vm_static {
        if !breq.native.libs.is_empty() {
            return Err(BundleError::StaticWithLibs(breq.native.libs.join(", ")));
        }
        breq.native.musl_specs =
            Some(x07_builder::cc::musl_specs().ok_or(BundleError::MuslMissing)?);
    }
    breq.entry = EntryPoint::Bundle(BundleMain {
        name: name.clone(),
        solve_fuel: req.limits.solve_fuel,
        max_memory_bytes: req.limits.max_memory_bytes,
        max_output_bytes: req.limits.max_output_bytes,
        cpu_time_limit_seconds: if sealed {
            None
        } else {
            req.limits.cpu_time_limit_seconds
        },
        embedded_policy: embedded.clone(),
    });
    let built = match build::build(home, store, &breq)? {
        BuildOutcome::Built(b) => b,
        BuildOutcome::Rejected(d) => return Ok(BundleOutcome::Rejected(d)),
    };
    let c_source_size = built.entry.build_record().ok().map(|r| r.c_source_size);
    if let (Some(max), Some(size)) = (req.max_c_bytes, c_source_size) {
        if size > max {
            return Err(BundleError::CSize { size, max });
        }
    }
    let program_bytes =
        fs_err::read(built.entry.binary_path()).map_err(|source| BundleError::Write {
            path: built.entry.binary_path(),
            source,
        })?;
    let closure = crate::closure_of(&program_bytes).unwrap_or_default();
    let (entry, policy_json) = match req.sandbox {
        None => (built.entry.clone(), None),
        Some((prepared, _)) if embedded.is_some() => (
            built.entry.clone(),
            Some(x07_spec::to_canonical_vec(&prepared.policy).expect("a policy serializes")),
        ),
        Some((prepared, launcher)) => {
            let launcher = launcher.expect("a backend-os sandbox bundle comes with its launcher");
            let (entry, json) = seal_entry(
                home,
                store,
                &breq,
                &built.entry,
                prepared,
                launcher,
                &out_dir,
            )?;
            (entry, Some(json))
        }
    };
    let subject_bytes = fs_err::read(entry.binary_path()).map_err(|source| BundleError::Write {
        path: entry.binary_path(),
        source,
    })?;
    let subject = Sha256Digest::of(&subject_bytes);
    let cc = CcIdentity::detect(home).map_err(x07_builder::build::BuildError::from)?;
    let facts = BuildFacts {
        name: &name,
        subject,
        external: external_parameters(req),
        internal: json!({
            "bundle_entry": entry.dir_name(),
            "program_entry": built.entry.dir_name(),
            "launcher_entry": req.sandbox.and_then(|(_, l)| l).and_then(Path::parent).and_then(|d| d.file_name()).map(|n| n.to_string_lossy().into_owned()),
            "parts": crate::verify::parts_json(&subject_bytes),
        }),
        cc: (cc.path.display().to_string(), cc.version_digest),
        derivation: entry.hash.to_string(),
    };
    let statement = provenance::statement(req.target, &facts);
    let sbom = provenance::sbom(req.target, &facts);
    let note = provenance::note(&statement, sbom.clone(), req.signing);
    let note_json = x07_spec::to_canonical_vec(&note).expect("a note serializes");
    let bundle_bytes = append_note(&subject_bytes, &note_json);
    let (sidecar, sha256, size) = match &req.vm {
        None => {
            let (sha256, size) = write_out(&bundle_bytes, req.out, 0o755)?;
            (None, sha256, size)
        }
        Some(parts) => {
            // the payload (with its note) and everything it boots with go into the sidecar;
            // --out is the launcher that pins them
            let policy = policy_json
                .as_deref()
                .expect("a VM bundle is a sandbox bundle");
            let networked = req.sandbox.is_some_and(|(p, _)| p.policy.net.enabled);
            let files = crate::guest_files(&closure, networked).map_err(BundleError::VmClosure)?;
            let written = crate::vm::write_sidecar(
                req.out,
                &bundle_bytes,
                policy,
                &files,
                parts,
                req.signing,
            )?;
            let launcher = crate::vm::launcher_bytes(parts.vm_launcher, &written.pins)?;
            let (sha256, size) = write_out(&launcher, req.out, 0o755)?;
            (Some(written), sha256, size)
        }
    };
    let envelope_path = beside(req.out, ".intoto.jsonl");
    let mut envelope_line =
        x07_spec::to_canonical_vec(&note.envelope).expect("an envelope serializes");
    envelope_line.push(b'\n');
    write_out(&envelope_line, &envelope_path, 0o644)?;
    let sbom_path = beside(req.out, ".cdx.json");
    let sbom_bytes = x07_spec::canonical_file_bytes(&sbom).expect("an SBOM serializes");
    write_out(&sbom_bytes, &sbom_path, 0o644)?;
    tracing::info!(out = %req.out.display(), entry = %entry.dir.display(), "bundle written");
    Ok(BundleOutcome::Bundled(Box::new(Bundled {
        out: req.out.to_path_buf(),
        name,
        entry,
        subject,
        envelope_path,
        sbom_path,
        signer: note.envelope.signatures.first().map(|s| s.keyid.clone()),
        program_entry: built.entry,
        sha256,
        size,
        c_source_size,
        policy_json,
        closure,
        sidecar,
    })))
}

fn artifact(base: &ArtifactName, suffix: &str) -> Result<ArtifactName, BundleError> {
    Ok(ArtifactName::new(format!("{}-{suffix}", base.as_str()))?)
}

/// The policy blob of a bundle: relative paths kept, resolved against the start directory.
fn start_cwd_blob(prepared: &PreparedSandbox) -> Result<Vec<u8>, BundleError> {
    let search_path = std::env::var_os("PATH");
    let blob = PolicyBlob::resolve_at(
        &prepared.policy,
        PathBase::StartCwd,
        search_path.as_deref(),
        prepared.blob_backend,
        prepared.accept_weaker,
    )
    .map_err(|e| BundleError::Policy {
        path: prepared
            .derived_path
            .clone()
            .unwrap_or_else(|| prepared.base_path.clone()),
        message: e.to_string(),
    })?;
    Ok(blob.to_bytes())
}

/// The sealed bundle's store entry: launcher ‖ payload ‖ blob ‖ policy JSON ‖ trailer.
fn seal_entry(
    home: &X07Home,
    store: &StoreRoot,
    breq: &BuildRequest<'_>,
    payload: &StoreEntry,
    prepared: &PreparedSandbox,
    launcher: &Path,
    out_dir: &Path,
) -> Result<(StoreEntry, Vec<u8>), BundleError> {
    let policy_path = prepared
        .derived_path
        .clone()
        .unwrap_or_else(|| prepared.base_path.clone());
    let policy_error = |message: String| BundleError::Policy {
        path: policy_path.clone(),
        message,
    };
    let blob = start_cwd_blob(prepared)?;
    let json =
        x07_spec::to_canonical_vec(&prepared.policy).map_err(|e| policy_error(e.to_string()))?;
    let launcher_entry = launcher
        .parent()
        .and_then(|d| d.file_name())
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let cc = CcIdentity::detect(home).map_err(x07_builder::build::BuildError::from)?;
    let mut inputs = build::derivation_inputs(breq, &cc);
    inputs.name = artifact(&breq.name, "sealed")?;
    inputs
        .knobs
        .insert("sealed_payload".into(), payload.dir_name());
    inputs
        .knobs
        .insert("sealed_launcher".into(), launcher_entry);
    inputs
        .knobs
        .insert("sealed_blob".into(), Sha256Digest::of(&blob).to_string());
    let record = payload.build_record()?;
    let produce = |staging: &x07_builder::store::Staging| -> Result<Produced, std::io::Error> {
        let launcher_bytes = fs_err::read(launcher)?;
        let payload_bytes = fs_err::read(payload.binary_path())?;
        let bytes = seal(
            &launcher_bytes,
            &payload_bytes,
            &blob,
            &json,
            SEAL_RELATIVE_ROOTS,
        );
        fs_err::write(staging.binary_path(), bytes)?;
        fs_err::set_permissions(
            staging.binary_path(),
            std::fs::Permissions::from_mode(0o755),
        )?;
        Ok(Produced {
            c_source_sha256: record.c_source_sha256,
            c_source_size: record.c_source_size,
            cc_version_line: record.cc_version_line.clone(),
        })
    };
    let realized = store
        .realize(&inputs, out_dir, produce)
        .map_err(|e| match e {
            PublishError::Store(e) => BundleError::Store(e),
            PublishError::Produce(source) => BundleError::Write {
                path: store.path().to_path_buf(),
                source,
            },
        })?;
    Ok((realized.entry, json))
}

/// `<out><suffix>`: the files written beside the executable.
pub fn beside(out: &Path, suffix: &str) -> PathBuf {
    let mut name = out.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// What the statement records as external parameters: how the bundle was asked for.
fn external_parameters(req: &BundleRequest<'_>) -> serde_json::Value {
    let sandbox = req.sandbox.map(|(p, _)| p);
    json!({
        "profile": req.target.profile_name,
        "world": req.target.world.as_str(),
        "kind": if req.vm.is_some() { "vm" } else if sandbox.is_some() { "sealed" } else { "native" },
        "sandbox_backend": sandbox.map(|p| match p.backend {
            x07_spec::report::SandboxBackend::Os => "os",
            x07_spec::report::SandboxBackend::None => "none",
            x07_spec::report::SandboxBackend::Vm => "vm",
        }),
        "policy_digest": sandbox.map(|p| p.digest.to_string()),
        "vm_guest_image": req.vm.map(|v| v.image.digest.to_string()),
        "sandbox_accept_weaker": sandbox.map(|p| x07_runner::prepare::accept_weaker_names(p.accept_weaker)),
        "cc_profile": match req.cc_profile { CcProfile::Default => "default", CcProfile::Size => "size" },
        "auto_ffi": req.target.auto_ffi,
        "static": req.static_musl,
        "limits": {
            "solve_fuel": req.limits.solve_fuel,
            "max_memory_bytes": req.limits.max_memory_bytes,
            "max_output_bytes": req.limits.max_output_bytes,
            "cpu_time_limit_seconds": req.limits.cpu_time_limit_seconds,
        },
    })
}

/// Writes `bytes` to `out` (x07_spec's atomic write, `mode`); their sha256 and size.
fn write_out(bytes: &[u8], out: &Path, mode: u32) -> Result<(Sha256Digest, u64), BundleError> {
    let opts = x07_spec::AtomicWrite {
        mode: Some(mode),
        no_clobber: false,
    };
    x07_spec::write_atomic_with(out, bytes, opts).map_err(|source| BundleError::Write {
        path: out.to_path_buf(),
        source,
    })?;
    Ok((Sha256Digest::of(bytes), bytes.len() as u64))
}
