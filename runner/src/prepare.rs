//! Sandbox preparation shared by `x07 run`, `x07 bundle` and the VM backend: the backend choice,
//! the base policy and the CLI overrides (a derived policy), its canonical digest, the blob the
//! program is handed, and the child's environment (docs/internals/sandbox.md).

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use x07_spec::policy::blob::{AcceptWeaker, BlobBackend, PolicyBlob};
use x07_spec::policy::Policy;
use x07_spec::report::SandboxBackend;
use x07_spec::{DocumentError, Sha256Digest, World};

use crate::policy::{
    derive_policy, select_backend, BackendChoice, BackendError, BackendRequest, DeriveError,
    DeriveRequest, PolicyOverrides, TOOLCHAIN_VERSION,
};
use crate::EnvMode;

/// The sandbox flags of `x07 run` / `x07 bundle`.
#[derive(Debug, Clone, Copy)]
pub struct SandboxRequest<'a> {
    /// `--sandbox-backend` as written (`auto`, `vm`, `os`, `native`, `none`).
    pub backend: Option<&'a str>,
    /// `--i-accept-weaker-isolation`.
    pub accept_weaker_isolation: bool,
    /// `--sandbox-accept-weaker` mechanism names.
    pub accept_weaker: &'a [String],
    /// `--policy`.
    pub policy: Option<&'a Path>,
    /// The profile's `policy`, relative to the project root.
    pub profile_policy: Option<&'a str>,
    /// The `--allow-*` / `--deny-*` overrides.
    pub overrides: &'a PolicyOverrides,
    /// The project root (the directory relative roots and policy paths are taken from).
    pub root: &'a Path,
}

/// A prepared sandbox: the effective policy and everything derived from it.
#[derive(Debug)]
pub struct PreparedSandbox {
    /// The effective backend (vm, os or none).
    pub backend: SandboxBackend,
    /// The backend as a blob carries it.
    pub blob_backend: BlobBackend,
    /// The kernel mechanisms the user accepted to run without.
    pub accept_weaker: AcceptWeaker,
    /// The base policy file.
    pub base_path: PathBuf,
    /// The derived policy file, when overrides were given.
    pub derived_path: Option<PathBuf>,
    /// The effective policy.
    pub policy: Policy,
    /// sha256 of the canonical JSON of the effective policy.
    pub digest: Sha256Digest,
    /// The blob handed to the program, roots resolved against the project root.
    pub blob: Vec<u8>,
    /// The child's environment: only the keys the policy allows.
    pub env: EnvMode,
}

/// Why a sandbox cannot be prepared.
#[derive(Debug, thiserror::Error)]
pub enum PrepareError {
    /// `--sandbox-backend` names no backend.
    #[error("--sandbox-backend: {0}")]
    BackendFlag(String),
    /// The backend choice is refused.
    #[error(transparent)]
    Backend(#[from] BackendError),
    /// Sandbox flags in a world that has no sandbox.
    #[error("--policy and the --allow-*/--deny-* overrides only apply to world run-os-sandboxed (this one is {})", .0.as_str())]
    NotSandboxed(World),
    /// Neither `--policy` nor the profile names a base policy.
    #[error("run-os-sandboxed needs a base policy, and neither --policy nor the profile's `policy` names one")]
    NoBasePolicy,
    /// The base policy cannot be read.
    #[error(transparent)]
    ReadPolicy(Box<DocumentError>),
    /// The base policy is invalid.
    #[error(transparent)]
    InvalidPolicy(Box<DocumentError>),
    /// The overrides cannot be applied.
    #[error(transparent)]
    Derive(#[from] DeriveError),
    /// The policy cannot be encoded for the runtime.
    #[error("{}: {message}", .path.display())]
    Encode {
        /// The policy file.
        path: PathBuf,
        /// Why.
        message: String,
    },
    /// The project root cannot be made absolute.
    #[error("{}: {source}", .root.display())]
    Root {
        /// The root.
        root: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

impl PrepareError {
    /// The diagnostic code (docs/diagnostics.md).
    pub fn code(&self) -> &'static str {
        match self {
            Self::BackendFlag(_) | Self::NotSandboxed(_) => "X07-CLI-0001",
            Self::Backend(e) => e.code(),
            Self::NoBasePolicy | Self::ReadPolicy(_) => "X07-POLICY-0004",
            Self::InvalidPolicy(_) | Self::Encode { .. } => "X07-POLICY-SCHEMA-0001",
            Self::Derive(e) => e.code(),
            Self::Root { .. } => "X07-PROJECT-0001",
        }
    }

    /// The process exit code (docs/diagnostics.md): 3 for an invalid policy, else 2.
    pub fn exit_code(&self) -> u8 {
        match self {
            Self::InvalidPolicy(_) | Self::Encode { .. } => 3,
            Self::Backend(e) => e.exit_code(),
            Self::Derive(e) => e.exit_code(),
            _ => 2,
        }
    }

    /// What to do about it.
    pub fn help(&self) -> Option<&'static str> {
        match self {
            Self::NotSandboxed(_) => Some("use --profile sandbox"),
            Self::NoBasePolicy => {
                Some("pass --policy PATH, or set profiles.<name>.policy in x07.json")
            }
            Self::ReadPolicy(_) => {
                Some("generate it with `x07 policy init --template cli` (or another template)")
            }
            Self::InvalidPolicy(_) => {
                Some("fix the policy file (docs/policy.md), or regenerate it with x07 policy init")
            }
            _ => None,
        }
    }
}

/// The gap flags for `--sandbox-accept-weaker` names (clap limits them to the known four).
pub fn accept_weaker_from_names(names: &[String]) -> AcceptWeaker {
    names.iter().fold(AcceptWeaker::NONE, |acc, m| {
        acc.union(match m.as_str() {
            "landlock-net" => AcceptWeaker::NO_LANDLOCK_NET,
            "pids-cgroup" => AcceptWeaker::NO_PIDS_CGROUP,
            "userns" => AcceptWeaker::NO_USERNS,
            _ => AcceptWeaker::NO_LANDLOCK,
        })
    })
}

/// The `--sandbox-accept-weaker` names of the gap flags in `accept` (inverse of
/// [`accept_weaker_from_names`]).
pub fn accept_weaker_names(accept: AcceptWeaker) -> Vec<&'static str> {
    [
        (AcceptWeaker::NO_LANDLOCK_NET, "landlock-net"),
        (AcceptWeaker::NO_PIDS_CGROUP, "pids-cgroup"),
        (AcceptWeaker::NO_LANDLOCK, "landlock"),
        (AcceptWeaker::NO_USERNS, "userns"),
    ]
    .into_iter()
    .filter(|(bit, _)| accept.contains(*bit))
    .map(|(_, name)| name)
    .collect()
}

fn parse_backend(flag: Option<&str>) -> Result<Option<BackendChoice>, PrepareError> {
    flag.map(str::parse::<BackendChoice>)
        .transpose()
        .map_err(|e| PrepareError::BackendFlag(e.to_string()))
}

/// Refuses sandbox-only flags outside run-os-sandboxed (a backend flag is still checked).
pub fn reject_outside_sandbox(req: &SandboxRequest<'_>, world: World) -> Result<(), PrepareError> {
    if world == World::RunOsSandboxed {
        return Ok(());
    }
    if req.policy.is_some() || !req.overrides.is_empty() {
        return Err(PrepareError::NotSandboxed(world));
    }
    if let Some(choice) = parse_backend(req.backend)? {
        select_backend(
            world,
            &BackendRequest::from_process_env(Some(choice), req.accept_weaker_isolation),
        )?;
    }
    Ok(())
}

/// The backend for a run-os-sandboxed run or bundle (flag, then `X07_SANDBOX_BACKEND`, then vm).
pub fn sandbox_backend(req: &SandboxRequest<'_>) -> Result<SandboxBackend, PrepareError> {
    let selection = select_backend(
        World::RunOsSandboxed,
        &BackendRequest::from_process_env(parse_backend(req.backend)?, req.accept_weaker_isolation),
    )?;
    Ok(selection.backend)
}

/// Builds the effective policy (base + overrides), its digest, blob and environment.
pub fn prepare_sandbox(req: &SandboxRequest<'_>) -> Result<PreparedSandbox, PrepareError> {
    let backend = sandbox_backend(req)?;
    // the vm backend's guest runs the same launcher, which applies the os layer there
    let blob_backend = match backend {
        SandboxBackend::None => BlobBackend::None,
        SandboxBackend::Os | SandboxBackend::Vm => BlobBackend::Os,
    };
    let base = match (req.policy, req.profile_policy) {
        (Some(p), _) if p.is_absolute() => p.to_path_buf(),
        (Some(p), _) => req.root.join(p),
        (None, Some(rel)) => req.root.join(rel),
        (None, None) => return Err(PrepareError::NoBasePolicy),
    };
    let (policy, derived_path) = if req.overrides.is_empty() {
        let policy = Policy::load(&base).map_err(|e| match e {
            DocumentError::Read { .. } => PrepareError::ReadPolicy(Box::new(e)),
            e => PrepareError::InvalidPolicy(Box::new(e)),
        })?;
        (policy, None)
    } else {
        let derived = derive_policy(&DeriveRequest {
            project_root: req.root,
            base_path: &base,
            overrides: req.overrides,
            toolchain_version: TOOLCHAIN_VERSION,
        })?;
        (derived.policy, Some(derived.path))
    };
    let encode_error = |message: String| PrepareError::Encode {
        path: derived_path.clone().unwrap_or_else(|| base.clone()),
        message,
    };
    let abs_root = std::path::absolute(req.root).map_err(|source| PrepareError::Root {
        root: req.root.to_path_buf(),
        source,
    })?;
    let mut accept_weaker = accept_weaker_from_names(req.accept_weaker);
    if backend == SandboxBackend::Vm {
        // The guest has no network device at all: the VM boundary decides the network, so a
        // guest kernel without Landlock's network rules (Debian 6.1: ABI 3) is no gap there.
        accept_weaker = accept_weaker.union(AcceptWeaker::NO_LANDLOCK_NET);
    }
    // the blob carries the policy's digest: computed once, there
    let resolved = PolicyBlob::resolve(
        &policy,
        &abs_root,
        std::env::var_os("PATH").as_deref(),
        blob_backend,
        accept_weaker,
    )
    .map_err(|e| encode_error(e.to_string()))?;
    let digest = resolved.digest.clone();
    let blob = resolved.to_bytes();
    let env = EnvMode::Only(allowed_env(&policy));
    Ok(PreparedSandbox {
        backend,
        blob_backend,
        accept_weaker,
        base_path: base,
        derived_path,
        policy,
        digest,
        blob,
        env,
    })
}

/// This process's environment variables the policy lets the program see.
fn allowed_env(policy: &Policy) -> Vec<(OsString, OsString)> {
    if !policy.env.enabled {
        return Vec::new();
    }
    std::env::vars_os()
        .filter(|(k, _)| {
            let k = k.to_string_lossy();
            policy.env.allow_keys.iter().any(|a| *a == k)
                && !policy.env.deny_keys.iter().any(|d| *d == k)
        })
        .collect()
}
