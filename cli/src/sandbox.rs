//! `x07 run` in world run-os-sandboxed: backend, base policy, overrides (derived policy), and the
//! PolicyBlobV1 handed to the program (docs/internals/sandbox.md).

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use x07_runner::policy::{
    derive_policy, select_backend, BackendChoice, BackendRequest, DeriveRequest, PolicyOverrides,
    TOOLCHAIN_VERSION,
};
use x07_runner::EnvMode;
use x07_spec::policy::blob::{self, AcceptWeaker};
use x07_spec::policy::Policy;
use x07_spec::report::SandboxBackend;
use x07_spec::{DocumentError, Sha256Digest, World};

use crate::args::SandboxArgs;
use crate::error::CliError;
use crate::target::Target;

/// Everything a sandboxed launch needs.
#[derive(Debug)]
pub struct SandboxLaunch {
    /// The effective backend (os or none).
    pub backend: SandboxBackend,
    /// The encoded policy.
    pub blob: Vec<u8>,
    /// sha256 of the canonical JSON of the effective policy.
    pub digest: Sha256Digest,
    /// The child's environment: only the keys the policy allows.
    pub env: EnvMode,
    /// `language.allow_unsafe` of the policy (enforced at compile time).
    pub allow_unsafe: bool,
    /// `language.allow_ffi` of the policy (enforced at compile time).
    pub allow_ffi: bool,
    /// The trusted launcher that confines a backend-`os` run before the program starts.
    pub launcher: Option<PathBuf>,
}

fn overrides(args: &SandboxArgs) -> PolicyOverrides {
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

fn policy_error(e: DocumentError) -> CliError {
    if matches!(e, DocumentError::Read { .. }) {
        CliError::setup("X07-POLICY-0004", e.to_string())
            .help("generate it with `x07 policy init --template cli` (or another template)")
    } else {
        let mut err = CliError::setup("X07-POLICY-SCHEMA-0001", e.to_string())
            .help("fix the policy file (docs/policy.md), or regenerate it with x07 policy init");
        err.exit = 3;
        err
    }
}

/// Refuses sandbox-only flags outside run-os-sandboxed.
pub fn reject_outside_sandbox(args: &SandboxArgs, world: World) -> Result<(), CliError> {
    if world == World::RunOsSandboxed {
        return Ok(());
    }
    let used = args.policy.is_some() || !overrides(args).is_empty();
    if used {
        return Err(CliError::setup(
            "X07-CLI-0001",
            format!("--policy and the --allow-*/--deny-* overrides only apply to world run-os-sandboxed (this run is {})", world.as_str()),
        )
        .help("use --profile sandbox"));
    }
    if let Some(b) = &args.sandbox_backend {
        let choice: BackendChoice = b
            .parse()
            .map_err(|e| CliError::setup("X07-CLI-0001", format!("--sandbox-backend: {e}")))?;
        select_backend(
            world,
            &BackendRequest::from_process_env(Some(choice), args.i_accept_weaker_isolation),
        )
        .map_err(|e| CliError {
            code: e.code(),
            message: e.to_string(),
            help: None,
            exit: e.exit_code(),
        })?;
    }
    Ok(())
}

/// Builds the effective policy and its blob for a sandboxed run rooted at `root`.
pub fn prepare(
    args: &SandboxArgs,
    target: &Target,
    root: &Path,
) -> Result<SandboxLaunch, CliError> {
    let choice = args
        .sandbox_backend
        .as_deref()
        .map(str::parse::<BackendChoice>)
        .transpose()
        .map_err(|e| CliError::setup("X07-CLI-0001", format!("--sandbox-backend: {e}")))?;
    let selection = select_backend(
        World::RunOsSandboxed,
        &BackendRequest::from_process_env(choice, args.i_accept_weaker_isolation),
    )
    .map_err(|e| CliError {
        code: e.code(),
        message: e.to_string(),
        help: None,
        exit: e.exit_code(),
    })?;
    let backend_code = selection.blob_backend().ok_or_else(|| {
        CliError::setup(
            "X07-SANDBOX-0001",
            "the VM sandbox backend is not built yet",
        )
    })?;

    let base = match (&args.policy, target.profile.as_ref().and_then(|p| p.policy.as_ref())) {
        (Some(p), _) => if p.is_absolute() { p.clone() } else { root.join(p) },
        (None, Some(rel)) => root.join(rel.as_str()),
        (None, None) => {
            return Err(CliError::setup("X07-POLICY-0004", "run-os-sandboxed needs a base policy, and neither --policy nor the profile's `policy` names one")
                .help("pass --policy PATH, or set profiles.<name>.policy in x07.json"))
        }
    };
    let ov = overrides(args);
    let policy = if ov.is_empty() {
        Policy::load(&base).map_err(policy_error)?
    } else {
        let derived = derive_policy(&DeriveRequest {
            project_root: root,
            base_path: &base,
            overrides: &ov,
            toolchain_version: TOOLCHAIN_VERSION,
        })
        .map_err(|e| CliError {
            code: e.code(),
            message: e.to_string(),
            help: None,
            exit: e.exit_code(),
        })?;
        eprintln!("x07 run: using derived policy {}", derived.path.display());
        derived.policy
    };
    let canonical = x07_spec::to_canonical_vec(&policy)
        .map_err(|e| CliError::setup("X07-POLICY-SCHEMA-0001", e.to_string()))?;
    let abs_root = std::path::absolute(root)
        .map_err(|e| CliError::setup("X07-PROJECT-0001", e.to_string()))?;
    let accept = args
        .sandbox_accept_weaker
        .iter()
        .fold(AcceptWeaker::NONE, |acc, m| {
            acc.union(match m.as_str() {
                "landlock-net" => AcceptWeaker::NO_LANDLOCK_NET,
                "pids-cgroup" => AcceptWeaker::NO_PIDS_CGROUP,
                "userns" => AcceptWeaker::NO_USERNS,
                _ => AcceptWeaker::NO_LANDLOCK,
            })
        });
    let blob = blob::encode(&policy, &abs_root, backend_code, accept).map_err(|e| {
        let mut err = CliError::setup("X07-POLICY-SCHEMA-0001", format!("{}: {e}", base.display()));
        err.exit = 3;
        err
    })?;
    let env = if policy.env.enabled {
        let vars: Vec<(OsString, OsString)> = std::env::vars_os()
            .filter(|(k, _)| {
                let k = k.to_string_lossy();
                policy.env.allow_keys.iter().any(|a| *a == k)
                    && !policy.env.deny_keys.iter().any(|d| *d == k)
            })
            .collect();
        EnvMode::Only(vars)
    } else {
        EnvMode::Only(Vec::new())
    };
    Ok(SandboxLaunch {
        backend: selection.backend,
        blob,
        digest: Sha256Digest::of(&canonical),
        env,
        allow_unsafe: policy.language.allow_unsafe,
        allow_ffi: policy.language.allow_ffi,
        launcher: if selection.backend == SandboxBackend::Os {
            Some(crate::compile::launcher()?)
        } else {
            None
        },
    })
}

/// The policy's compile-time gates: `unsafe` blocks need `language.allow_unsafe`, `extern`
/// declarations and package C code need `language.allow_ffi`.
pub fn language_gate(
    sb: &SandboxLaunch,
    program: &x07_builder::frontend::LoadedProgram,
    native: bool,
) -> Vec<x07_builder::frontend::Diagnostic> {
    use x07_builder::frontend::{DiagCode, Diagnostic};
    let mut out = Vec::new();
    let entry = program.entry.file.display_path.clone();
    if program.uses_unsafe() && !sb.allow_unsafe {
        out.push(Diagnostic::new(DiagCode("X07-WORLD-0003"), &entry, "", "the program uses `unsafe` blocks, which the run policy forbids (language.allow_unsafe is false)")
            .with_help("use a policy whose language.allow_unsafe is true (e.g. the http-client template), or remove the unsafe code"));
    }
    if (program.uses_ffi() || native) && !sb.allow_ffi {
        out.push(Diagnostic::new(DiagCode("X07-WORLD-0003"), &entry, "", "the program calls C code (extern declarations or package ffi/ sources), which the run policy forbids (language.allow_ffi is false)")
            .with_help("use a policy whose language.allow_ffi is true, or run with --no-auto-ffi if the C code is not needed"));
    }
    out
}
