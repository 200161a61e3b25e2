//! What the default profile needs: found from the project in the current directory, or `x07
//! init`'s defaults (profile `dev`, world run-os) outside one.

use std::path::{Path, PathBuf};

use x07_builder::project::{discover_manifest, resolve_target, TargetRequest};
use x07_runner::policy::PolicyOverrides;
use x07_runner::prepare::{sandbox_backend, SandboxRequest};
use x07_spec::doctor::DoctorCheck;
use x07_spec::report::SandboxBackend;
use x07_spec::World;

/// What the default profile needs.
#[derive(Debug, Clone)]
pub struct Needs {
    /// The project's x07.json (`None` outside a project).
    pub project: Option<PathBuf>,
    /// The default profile's name.
    pub profile: Option<String>,
    /// Its world.
    pub world: World,
    /// Its sandbox backend (run-os-sandboxed only).
    pub backend: Option<SandboxBackend>,
    /// The native libraries its build links (`meta.ffi_libs` of locked packages, `link.libs`).
    pub native_libs: Vec<String>,
    /// Whether the program carries native code (package C sources or libraries).
    pub native_code: bool,
    /// Problems finding out (a project that does not resolve, a backend that cannot be chosen).
    pub problems: Vec<DoctorCheck>,
}

impl Needs {
    /// Whether the default profile runs under the kernel layer on this host (os backend, or the
    /// vm backend, whose qemu runs confined by the same launcher).
    pub fn sandbox_kernel(&self) -> bool {
        matches!(self.backend, Some(SandboxBackend::Os | SandboxBackend::Vm))
    }

    /// Whether it boots guests.
    pub fn vm(&self) -> bool {
        self.backend == Some(SandboxBackend::Vm)
    }
}

/// What the default profile of the project found from `start` needs.
pub fn needs_of(start: &Path) -> Needs {
    let mut needs = Needs {
        project: None,
        profile: Some("dev".to_string()),
        world: World::RunOs,
        backend: None,
        native_libs: Vec::new(),
        native_code: false,
        problems: Vec::new(),
    };
    let Some(manifest) = discover_manifest(start) else {
        return needs;
    };
    needs.project = Some(manifest.clone());
    let target = match resolve_target(&TargetRequest {
        project: Some(manifest.clone()),
        ..TargetRequest::default()
    }) {
        Ok(t) => t,
        Err(e) => {
            needs.profile = None;
            needs.problems.push(crate::check(
                "project",
                "the project resolves",
                Err((
                    e.to_string(),
                    "fix what the message names, then run x07 doctor again".into(),
                )),
                true,
            ));
            return needs;
        }
    };
    needs.profile = target.profile_name.clone();
    needs.world = target.world;
    needs.native_libs = target.native.libs.clone();
    needs.native_code = !target.native.sources.is_empty() || !target.native.libs.is_empty();
    if target.world == World::RunOsSandboxed {
        let root = manifest.parent().unwrap_or(Path::new(".")).to_path_buf();
        let overrides = PolicyOverrides::default();
        let req = SandboxRequest {
            backend: None,
            accept_weaker_isolation: false,
            accept_weaker: &[],
            policy: None,
            profile_policy: None,
            overrides: &overrides,
            root: &root,
        };
        match sandbox_backend(&req) {
            Ok(b) => needs.backend = Some(b),
            Err(e) => needs.problems.push(crate::check(
                "sandbox-backend",
                "the sandbox backend can be chosen",
                Err((
                    e.to_string(),
                    e.help().unwrap_or("see docs/policy.md").to_string(),
                )),
                true,
            )),
        }
    }
    needs
}
