//! The sandbox flags turned into a request for the runner's one preparation path
//! (x07_runner::prepare), and the trusted launcher a backend-`os` run starts through.

use std::path::PathBuf;

use x07_builder::project::LanguageGate;
use x07_runner::policy::PolicyOverrides;
use x07_runner::prepare::{self, PrepareError, PreparedSandbox, SandboxRequest};
use x07_spec::report::SandboxBackend;
use x07_spec::World;

use crate::args::SandboxArgs;
use crate::error::CliError;
use crate::target::Target;

/// Everything a sandboxed launch needs.
#[derive(Debug)]
pub struct SandboxLaunch {
    /// The effective policy, its blob and the child's environment.
    pub prepared: PreparedSandbox,
    /// The trusted launcher that confines a backend-`os` run before the program starts.
    pub launcher: Option<PathBuf>,
}

impl SandboxLaunch {
    /// The policy's compile-time gates.
    pub fn gate(&self) -> LanguageGate {
        LanguageGate {
            allow_unsafe: self.prepared.policy.language.allow_unsafe,
            allow_ffi: self.prepared.policy.language.allow_ffi,
        }
    }
}

impl From<PrepareError> for CliError {
    fn from(e: PrepareError) -> Self {
        CliError {
            code: e.code(),
            message: e.to_string(),
            help: e.help().map(str::to_string),
            exit: e.exit_code(),
        }
    }
}

/// The `--allow-*` / `--deny-*` overrides.
pub fn overrides(args: &SandboxArgs) -> PolicyOverrides {
    let s = |p: &PathBuf| p.to_string_lossy().into_owned();
    PolicyOverrides {
        allow_hosts: args.allow_hosts.clone(),
        allow_host_files: args.allow_host_files.clone(),
        deny_hosts: args.deny_hosts.clone(),
        deny_host_files: args.deny_host_files.clone(),
        allow_read_roots: args.allow_read_roots.iter().map(s).collect(),
        allow_write_roots: args.allow_write_roots.iter().map(s).collect(),
    }
}

/// The request the sandbox flags make for `target`, rooted at `root`.
pub fn request<'a>(
    args: &'a SandboxArgs,
    overrides: &'a PolicyOverrides,
    target: &'a Target,
    root: &'a std::path::Path,
) -> SandboxRequest<'a> {
    SandboxRequest {
        backend: args.sandbox_backend.as_deref(),
        accept_weaker_isolation: args.i_accept_weaker_isolation,
        accept_weaker: &args.sandbox_accept_weaker,
        policy: args.policy.as_deref(),
        profile_policy: target
            .profile
            .as_ref()
            .and_then(|p| p.policy.as_ref())
            .map(|p| p.as_str()),
        overrides,
        root,
    }
}

/// Refuses sandbox-only flags outside run-os-sandboxed.
pub fn reject_outside_sandbox(
    args: &SandboxArgs,
    target: &Target,
    world: World,
) -> Result<(), CliError> {
    let ov = overrides(args);
    let root = std::path::Path::new(".");
    Ok(prepare::reject_outside_sandbox(
        &request(args, &ov, target, root),
        world,
    )?)
}

/// Builds the effective policy and its blob for a sandboxed run rooted at `root`; `command`
/// (`x07 run`, `x07 bundle`) prefixes the note naming a derived policy.
pub fn prepare(
    args: &SandboxArgs,
    target: &Target,
    root: &std::path::Path,
    command: &str,
) -> Result<SandboxLaunch, CliError> {
    let ov = overrides(args);
    let prepared = prepare::prepare_sandbox(&request(args, &ov, target, root))?;
    if let Some(derived) = &prepared.derived_path {
        eprintln!("{command}: using derived policy {}", derived.display());
    }
    let launcher = if prepared.backend == SandboxBackend::Os {
        Some(crate::compile::launcher()?)
    } else {
        None
    };
    Ok(SandboxLaunch { prepared, launcher })
}
