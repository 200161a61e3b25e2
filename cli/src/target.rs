//! The target flags turned into a [`TargetRequest`] for the builder's one preparation path
//! (x07_builder::project), and its errors into CLI errors.

use std::path::{Path, PathBuf};

use x07_builder::project::{self, ProjectError, TargetRequest};
use x07_spec::{CcProfile, DocumentError};

use crate::args::{CcProfileArg, TargetArgs};
use crate::error::CliError;

pub use x07_builder::project::{discover_manifest, Target, TargetKind};

impl From<ProjectError> for CliError {
    fn from(e: ProjectError) -> Self {
        let mut err = CliError::setup(e.code(), e.to_string());
        err.help = e.help();
        err
    }
}

/// The `--cc-profile` flag as the builder takes it.
pub fn cc_profile_flag(flag: Option<CcProfileArg>) -> Option<CcProfile> {
    flag.map(|f| match f {
        CcProfileArg::Default => CcProfile::Default,
        CcProfileArg::Size => CcProfile::Size,
    })
}

/// The request the target flags make.
pub fn request(args: &TargetArgs) -> TargetRequest {
    TargetRequest {
        project: args.project.clone(),
        program: args.program.clone(),
        module_roots: args.module_roots.clone(),
        profile: args.profile.clone(),
        auto_ffi: if args.no_auto_ffi {
            Some(false)
        } else if args.auto_ffi {
            Some(true)
        } else {
            None
        },
        world: None,
    }
}

/// Resolves `--project` / `--program` / discovery, the profile, the world, the lock.
pub fn resolve(args: &TargetArgs) -> Result<Target, CliError> {
    Ok(project::resolve_target(&request(args))?)
}

/// x07.json for `--project PATH`, or found by walking up from the current directory.
pub fn find_manifest(project: Option<&Path>, flags: &str) -> Result<PathBuf, CliError> {
    Ok(project::find_manifest(project, flags)?)
}

/// Converts a manifest load error into a CLI error.
pub fn manifest_error(e: DocumentError) -> CliError {
    ProjectError::Manifest(Box::new(e)).into()
}

/// The report's description of the target (`x07 run --report wrapped`, `x07 bundle`).
pub fn report_target(t: &Target) -> x07_spec::RunTarget {
    x07_spec::RunTarget {
        kind: match t.kind {
            TargetKind::Project { .. } => x07_spec::TargetKind::Project,
            TargetKind::Program => x07_spec::TargetKind::Program,
        },
        path: match &t.kind {
            TargetKind::Project { manifest, .. } => manifest.display().to_string(),
            TargetKind::Program => t.entry.display().to_string(),
        },
        project_root: t.project_root().map(|r| r.display().to_string()),
        lockfile: t.lockfile.as_ref().map(|l| l.display().to_string()),
        resolved_module_roots: t.root_displays.clone(),
    }
}

/// The limit flags of `x07 run` and `x07 bundle`, each falling back to the profile's value.
#[derive(Debug, Clone, Copy, Default)]
pub struct LimitFlags {
    /// `--solve-fuel`.
    pub solve_fuel: Option<u64>,
    /// `--max-memory-bytes`.
    pub max_memory_bytes: Option<u64>,
    /// `--max-output-bytes`.
    pub max_output_bytes: Option<u64>,
    /// `--cpu-time-limit-seconds`.
    pub cpu_time_limit_seconds: Option<u64>,
}

impl LimitFlags {
    /// Each flag, or the target's profile's value when the flag is absent.
    pub fn or_profile(self, target: Option<&Target>) -> Self {
        let p = target.and_then(|t| t.profile.as_ref());
        Self {
            solve_fuel: self.solve_fuel.or(p.and_then(|p| p.solve_fuel)),
            max_memory_bytes: self.max_memory_bytes.or(p.and_then(|p| p.max_memory_bytes)),
            max_output_bytes: self.max_output_bytes.or(p.and_then(|p| p.max_output_bytes)),
            cpu_time_limit_seconds: self
                .cpu_time_limit_seconds
                .or(p.and_then(|p| p.cpu_time_limit_seconds)),
        }
    }
}

/// The directory a run's relative policy paths resolve against: the project root, or for
/// `--program` the current directory.
pub fn work_root(target: &Target) -> Result<PathBuf, CliError> {
    match target.project_root() {
        Some(r) => Ok(r.to_path_buf()),
        None => {
            std::env::current_dir().map_err(|e| CliError::setup("X07-PROJECT-0001", e.to_string()))
        }
    }
}
