//! Making a bundle: build the program with the bundle entry point (a store entry), seal it after
//! the trusted launcher for a sandbox bundle (another store entry), copy the result to `--out`.

use std::io::Write as _;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use x07_builder::build::{self, BuildOutcome, BuildRequest};
use x07_builder::cc::{CcIdentity, X07Home};
use x07_builder::emit::{BundleMain, EntryPoint};
use x07_builder::frontend::{Diagnostic, LoadedProgram};
use x07_builder::project::Target;
use x07_builder::store::{ArtifactName, Produced, PublishError, StoreEntry, StoreRoot};
use x07_runner::prepare::PreparedSandbox;
use x07_spec::bundle::{seal, SEAL_RELATIVE_ROOTS};
use x07_spec::policy::blob::{PathBase, PolicyBlob};
use x07_spec::{CcProfile, Sha256Digest};

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
    /// The effective policy of a sandbox bundle, and the launcher it is sealed after.
    pub sandbox: Option<(&'a PreparedSandbox, &'a Path)>,
}

/// A bundle written to `--out`.
#[derive(Debug, Clone)]
pub struct Bundled {
    /// The executable written.
    pub out: PathBuf,
    /// argv_v1 token 0.
    pub name: String,
    /// The store entry holding it.
    pub entry: StoreEntry,
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
    let sealed = req.sandbox.is_some();
    let mut breq = BuildRequest::new(
        req.program,
        req.target.world,
        req.cc_profile,
        req.target.lock_digest,
        artifact(&req.target.name, "bundle")?,
        // the sealed entry, not the payload, is what `--out` roots
        if sealed { None } else { Some(&out_dir) },
    );
    breq.native = req.target.native.clone();
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
    });
    let built = match build::build(home, store, &breq)? {
        BuildOutcome::Built(b) => b,
        BuildOutcome::Rejected(d) => return Ok(BundleOutcome::Rejected(d)),
    };
    let c_source_size = built.entry.build_record().ok().map(|r| r.c_source_size);
    let (entry, policy_json) = match req.sandbox {
        None => (built.entry.clone(), None),
        Some((prepared, launcher)) => {
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
    let (sha256, size) = copy_out(&entry.binary_path(), req.out)?;
    tracing::info!(out = %req.out.display(), entry = %entry.dir.display(), "bundle written");
    Ok(BundleOutcome::Bundled(Box::new(Bundled {
        out: req.out.to_path_buf(),
        name,
        entry,
        program_entry: built.entry,
        sha256,
        size,
        c_source_size,
        policy_json,
    })))
}

fn artifact(base: &ArtifactName, suffix: &str) -> Result<ArtifactName, BundleError> {
    Ok(ArtifactName::new(format!("{}-{suffix}", base.as_str()))?)
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
    let search_path = std::env::var_os("PATH");
    let blob = PolicyBlob::resolve_at(
        &prepared.policy,
        PathBase::StartCwd,
        search_path.as_deref(),
        prepared.blob_backend,
        prepared.accept_weaker,
    )
    .map_err(|e| policy_error(e.to_string()))?
    .to_bytes();
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

/// Copies the bundle to `out` (temp file + rename, mode 0755); its sha256 and size.
fn copy_out(from: &Path, out: &Path) -> Result<(Sha256Digest, u64), BundleError> {
    let write_error = |source| BundleError::Write {
        path: out.to_path_buf(),
        source,
    };
    let bytes = fs_err::read(from).map_err(write_error)?;
    let dir = match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let mut tmp = tempfile::Builder::new()
        .prefix(".x07-bundle-")
        .tempfile_in(dir)
        .map_err(write_error)?;
    tmp.write_all(&bytes).map_err(write_error)?;
    tmp.as_file().sync_all().map_err(write_error)?;
    tmp.as_file()
        .set_permissions(std::fs::Permissions::from_mode(0o755))
        .map_err(write_error)?;
    tmp.persist(out).map_err(|e| write_error(e.error))?;
    Ok((Sha256Digest::of(&bytes), bytes.len() as u64))
}
