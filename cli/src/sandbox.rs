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
    let req = request(args, &ov, target, root);
    if command == "x07 run" && prepare::sandbox_backend(&req)? == SandboxBackend::Vm {
        // fail closed before anything is read or built, naming everything that is missing
        if let Err(mut e) = guest_image() {
            if let Some(policy) = missing_base_policy(&req) {
                e.message = format!("{}; and {policy}", e.message);
                e.help = Some(format!(
                    "{}; and `x07 policy init --template cli --profile {}` (or another template)",
                    e.help.unwrap_or_default(),
                    target.profile_name.as_deref().unwrap_or("sandbox")
                ));
            }
            return Err(e);
        }
    }
    // the warm launcher lookup (compiler and libc identities, a hash, a stat) on a second CPU
    // while the policy is read, checked and encoded: both come before the launcher can start
    let wants_launcher = matches!(
        prepare::sandbox_backend(&req),
        Ok(SandboxBackend::Os | SandboxBackend::Vm)
    );
    let (prepared, stored) = std::thread::scope(|s| {
        let lookup = wants_launcher.then(|| {
            s.spawn(|| {
                let home = crate::compile::home().ok()?;
                let store = x07_builder::store::StoreRoot::new(&home);
                x07_builder::launcher::stored_launcher(&home, &store)
            })
        });
        let prepared = prepare::prepare_sandbox(&req);
        (prepared, lookup.and_then(|h| h.join().ok().flatten()))
    });
    let prepared = prepared?;
    if let Some(derived) = &prepared.derived_path {
        crate::output::note!("{command}: using derived policy {}", derived.display());
    }
    let launcher = match (&prepared.backend, stored) {
        (SandboxBackend::Os | SandboxBackend::Vm, Some(path)) => Some(path),
        // not in the store yet: built (or fetched) now, after the policy proved usable
        (SandboxBackend::Os | SandboxBackend::Vm, None) => Some(crate::compile::launcher()?),
        _ => None,
    };
    Ok(SandboxLaunch { prepared, launcher })
}

/// What is wrong with the base policy a request names, found without reading it: none named,
/// or a file that does not exist.
fn missing_base_policy(req: &SandboxRequest<'_>) -> Option<String> {
    let base = match (req.policy, req.profile_policy) {
        (Some(p), _) => req.root.join(p),
        (None, Some(rel)) => req.root.join(rel),
        (None, None) => {
            return Some("no base policy is named (pass --policy PATH, or set profiles.<name>.policy in x07.json)".into())
        }
    };
    (!base.exists()).then(|| format!("the base policy {} does not exist", base.display()))
}

/// The guest image of the vm backend, or the error that names `x07 vm image build`; first
/// `X07_VM_BACKEND` must name the backend this x07 has (qemu).
pub fn guest_image() -> Result<x07_vm::GuestImage, CliError> {
    let backend = std::env::var("X07_VM_BACKEND").ok();
    x07_vm::check_vm_backend(backend.as_deref()).map_err(|e| {
        CliError::setup("X07-SANDBOX-0001", e)
            .help("or use --sandbox-backend os --i-accept-weaker-isolation")
    })?;
    let home = crate::compile::home()?;
    x07_vm::current_image(&home).map_err(|e| {
        CliError::setup("X07-SANDBOX-0001", e.to_string()).help(
            "run `x07 vm image build` once (or use --sandbox-backend os --i-accept-weaker-isolation)",
        )
    })
}

/// A dynamic program's closure as (guest path, host file) pairs (x07_bundler::guest_files).
fn guest_closure(
    exe: &std::path::Path,
    networked: bool,
) -> Result<Vec<(PathBuf, PathBuf)>, CliError> {
    let bytes = fs_err::read(exe).map_err(|e| CliError::setup("X07-STORE-0001", e.to_string()))?;
    let closure = x07_bundler::closure_of(&bytes)
        .map_err(|e| CliError::setup("X07-SANDBOX-0005", format!("{}: {e}", exe.display())))?;
    x07_bundler::guest_files(&closure, networked).map_err(|name| {
        CliError::setup(
            "X07-SANDBOX-0001",
            format!(
                "{} needs {name}, which is not installed on this host, so it cannot be carried into the guest",
                exe.display()
            ),
        )
        .help("install the library's package on this host")
    })
}

/// Runs the program on the vm backend: a fresh guest, x07's launcher inside it with the
/// effective policy, the policy's roots shared at their host paths, a dynamic program's closure
/// copied in.
pub fn run_in_vm(
    image: &x07_vm::GuestImage,
    sb: &SandboxLaunch,
    exe: &std::path::Path,
    input: &[u8],
    limits: &x07_runner::RunLimits,
    root: &std::path::Path,
    cpus: u32,
) -> Result<x07_runner::Launched, CliError> {
    let abs_root = std::path::absolute(root)
        .map_err(|e| CliError::setup("X07-PROJECT-0001", e.to_string()))?;
    let policy = &sb.prepared.policy;
    let closure = guest_closure(exe, policy.net.enabled)?;
    let shares = x07_vm::policy_shares(policy, &abs_root);
    let mut framed = (input.len() as u32).to_le_bytes().to_vec();
    framed.extend_from_slice(input);
    let program_args = [
        format!("--solve-fuel={}", limits.solve_fuel),
        format!("--max-memory-bytes={}", limits.max_memory_bytes),
    ];
    let accel = std::env::var("X07_VM_ACCEL")
        .ok()
        .and_then(|a| a.parse().ok())
        .unwrap_or(x07_vm::Accel::Auto);
    let launcher = sb
        .launcher
        .as_deref()
        .expect("the vm backend resolves the launcher");
    // the guest's only way out: the host-side proxy, with the allowlist's names resolved here
    let egress = x07_vm::EgressRules::from_policy(&policy.net);
    if let Some(rules) = &egress {
        for host in &rules.unmatched {
            eprintln!(
                "x07 run: net.allow_hosts entry `{host}` is not an exact address or a name with allow_dns; \
                 the vm backend's proxy does not match it"
            );
        }
    }
    let result = x07_vm::run_sandboxed(&x07_vm::SandboxedRun {
        image,
        launcher,
        program: exe,
        closure: &closure,
        blob: &sb.prepared.blob,
        stdin: &framed,
        env: match &sb.prepared.env {
            x07_runner::EnvMode::Only(vars) => vars,
            _ => &[],
        },
        program_args: &program_args,
        shares: &shares,
        cwd: &abs_root,
        memory_mb: x07_vm::guest_memory_mb(policy),
        cpus,
        limit: x07_vm::guest_wall_clock(policy),
        accel,
        egress: egress.as_ref(),
    });
    let end = match result {
        Err(x07_vm::BootError::Timeout { .. }) => {
            return Ok(x07_runner::launched_from_output(
                Vec::new(),
                b"wall time limit exceeded\n".to_vec(),
                x07_runner::RemoteEnd::TimedOut,
                limits,
            ))
        }
        Err(e) => return Err(CliError::setup("X07-SANDBOX-0005", e.to_string())),
        Ok(r) => r,
    };
    for refused in &end.egress.refused {
        eprintln!("x07 run: the host proxy refused a stream to {refused} (not in net.allow_hosts)");
    }
    let remote = match end.status {
        x07_vm::JobStatus::Exit(c) => x07_runner::RemoteEnd::Exited(c),
        x07_vm::JobStatus::Signal(s) => x07_runner::RemoteEnd::Signaled(s),
        x07_vm::JobStatus::AgentError(why) => {
            return Err(CliError::setup(
                "X07-SANDBOX-0005",
                format!("the guest agent could not run the program: {why}"),
            ))
        }
    };
    Ok(x07_runner::launched_from_output(
        end.stdout, end.stderr, remote, limits,
    ))
}
