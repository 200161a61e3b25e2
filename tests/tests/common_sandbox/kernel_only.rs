//! The kernel-only variant of a sandboxed run: the program is built through the builder library
//! with the test-only switch that compiles the in-process checks out
//! (`BuildRequest::insecure_test_hooks`, no CLI path reaches it), the effective policy is encoded
//! for the `os` backend, and the binary is started through the runner library exactly as
//! `x07 run` starts it. Whatever such a run stops, the kernel layer stopped on its own.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use x07_builder::build::{build, BuildOutcome, BuildRequest, TestHooks};
use x07_builder::cc::NativeInputs;
use x07_builder::frontend::resolve::{load_program, ModuleRoots};
use x07_builder::store::{ArtifactName, StoreRoot, X07Home as BuilderHome};
use x07_runner::policy::{derive_policy, DeriveRequest, PolicyOverrides, TOOLCHAIN_VERSION};
use x07_runner::{run_launch, EnvMode, Launch, RunLimits};
use x07_spec::policy::blob::{self, AcceptWeaker, BlobBackend};
use x07_spec::{CcProfile, Policy, World};

use super::run_view::RunView;

/// Builds `<project>/src/main.x07.json` for run-os-sandboxed with the in-process checks compiled
/// out, into the store under `home`; returns the binary.
pub fn build_without_in_process_checks(home: &Path, project: &Path) -> Result<PathBuf, String> {
    build_kernel_only_with_package(home, project, None)
}

/// Like [`build_without_in_process_checks`], with a package at `<project>/<pkg>` (module root
/// `modules`, C sources `ffi/*.c` linked in, as `x07 run` links a package's).
pub fn build_kernel_only_with_package(
    home: &Path,
    project: &Path,
    pkg: Option<&str>,
) -> Result<PathBuf, String> {
    let mut roots = ModuleRoots::new();
    roots.push(project.join("src"), "src");
    let mut native = NativeInputs::default();
    if let Some(pkg) = pkg {
        roots.push(project.join(pkg).join("modules"), format!("{pkg}/modules"));
        let ffi = project.join(pkg).join("ffi");
        let mut sources: Vec<PathBuf> = fs_err::read_dir(&ffi)
            .map_err(|e| e.to_string())?
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "c"))
            .collect();
        sources.sort();
        native.sources = sources;
    }
    let entry = project.join("src/main.x07.json");
    let program = load_program(&entry, "src/main.x07.json", &roots)
        .map_err(|diags| format!("the program does not load: {diags:#?}"))?;
    let home = BuilderHome::new(home).map_err(|e| e.to_string())?;
    let store = StoreRoot::new(&home);
    let name = ArtifactName::new("main").map_err(|e| e.to_string())?;
    let req = BuildRequest {
        insecure_test_hooks: TestHooks {
            disable_in_process_checks: true,
        },
        native,
        ..BuildRequest::new(
            &program,
            World::RunOsSandboxed,
            CcProfile::Default,
            None,
            name,
            None,
        )
    };
    match build(&home, &store, &req) {
        Ok(BuildOutcome::Built(built)) => Ok(built.entry.binary_path()),
        Ok(BuildOutcome::Rejected(diags)) => {
            Err(format!("the program does not compile: {diags:#?}"))
        }
        Err(e) => Err(format!("the build failed: {e}")),
    }
}

/// The trusted launcher `x07-launch`, built into the store under `home` as `x07 run` builds it.
pub fn launcher_in(home: &Path) -> Result<PathBuf, String> {
    let home = BuilderHome::new(home).map_err(|e| e.to_string())?;
    let store = StoreRoot::new(&home);
    x07_builder::launcher::ensure_launcher(&home, &store)
        .map_err(|e| format!("cannot build x07-launch: {e}"))
}

/// The effective policy of a run: the base file, with `--allow-host` specs merged the way
/// `x07 run` merges them (through the same library).
pub fn effective_policy(
    project: &Path,
    base: &Path,
    allow_hosts: &[String],
) -> Result<Policy, String> {
    if allow_hosts.is_empty() {
        return Policy::load(base).map_err(|e| e.to_string());
    }
    let overrides = PolicyOverrides {
        allow_hosts: allow_hosts.to_vec(),
        ..PolicyOverrides::default()
    };
    derive_policy(&DeriveRequest {
        project_root: project,
        base_path: base,
        overrides: &overrides,
        toolchain_version: TOOLCHAIN_VERSION,
    })
    .map(|d| d.policy)
    .map_err(|e| e.to_string())
}

/// One launch of a kernel-only binary on the `os` backend.
#[derive(Debug)]
pub struct KernelOnlyLaunch<'a> {
    /// The binary.
    pub exe: &'a Path,
    /// The trusted launcher that applies the kernel layer ([`launcher_in`]).
    pub launcher: &'a Path,
    /// The project root: the policy's relative paths and the working directory.
    pub project: &'a Path,
    /// The effective policy.
    pub policy: &'a Policy,
    /// The program's input.
    pub input: &'a [u8],
    /// The run limits (fuel, output cap).
    pub limits: RunLimits,
    /// The environment handed to the binary. Unlike `x07 run`, which passes only allowed keys,
    /// the caller may hand over secrets, to show that the runtime itself clears them.
    pub env: Vec<(OsString, OsString)>,
}

/// Starts the binary with the policy blob on an inherited descriptor, as `x07 run` does.
pub fn launch(l: &KernelOnlyLaunch<'_>) -> Result<RunView, String> {
    let blob = blob::encode(l.policy, l.project, BlobBackend::Os, AcceptWeaker::NONE)
        .map_err(|e| format!("cannot encode the policy: {e}"))?;
    let launched = run_launch(
        l.exe,
        l.input,
        &l.limits,
        &Launch {
            env: EnvMode::Only(l.env.clone()),
            cwd: Some(l.project),
            policy_blob: Some(&blob),
            launcher: Some(l.launcher),
        },
    )
    .map_err(|e| format!("cannot launch {}: {e}", l.exe.display()))?;
    let report = serde_json::json!({
        "solve": launched.solve,
        "sandbox": launched.sandbox,
    });
    let context = format!(
        "kernel-only launch of {} (in-process checks compiled out, backend os)\nlaunch result: {}",
        l.exe.display(),
        serde_json::to_string_pretty(&report).unwrap_or_default()
    );
    RunView::from_report(&report, context).map_err(|e| e.to_string())
}
