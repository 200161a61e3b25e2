//! Target resolution: `--project` / `--program` / discovery, the profile, the world, the module
//! roots (the project's own, then the locked dependencies'), the artifact name and native inputs.

use std::path::{Path, PathBuf};

use x07_spec::{CcProfile, Profile, ProjectManifest, Sha256Digest, World, PROJECT_FILE_NAME};

use super::lock_check::load_checked_lock;
use super::native::discover_native;
use super::ProjectError;
use crate::cc::NativeInputs;
use crate::frontend::{LoadedProgram, ModuleOrigin, ModuleRoots};
use crate::store::ArtifactName;

/// What the user asked to work on (the target flags of `build`, `run`, `bundle`).
#[derive(Debug, Clone, Default)]
pub struct TargetRequest {
    /// `--project`: x07.json or its directory; `None` walks up from the current directory.
    pub project: Option<PathBuf>,
    /// `--program`: a single entry file.
    pub program: Option<PathBuf>,
    /// `--module-root` for `--program`.
    pub module_roots: Vec<PathBuf>,
    /// `--profile`.
    pub profile: Option<String>,
    /// `--auto-ffi` (`Some(true)`) / `--no-auto-ffi` (`Some(false)`); `None` follows the profile.
    pub auto_ffi: Option<bool>,
    /// `--world` (hidden flag of `x07 bundle`): overrides the profile's world.
    pub world: Option<World>,
}

/// A project or a single program, with everything needed to build it.
#[derive(Debug)]
pub struct Target {
    /// Project or program.
    pub kind: TargetKind,
    /// The entry file on disk.
    pub entry: PathBuf,
    /// How the entry is shown in diagnostics.
    pub entry_display: String,
    /// Module roots, in search order.
    pub roots: ModuleRoots,
    /// Display strings of the roots (for reports).
    pub root_displays: Vec<String>,
    /// How many of the roots are the user's own (the rest are locked dependency trees, which
    /// repair never rewrites).
    pub own_roots: usize,
    /// The world.
    pub world: World,
    /// The selected profile's name (`--program`: os or sandbox as given).
    pub profile_name: Option<String>,
    /// The selected profile, if the project has profiles.
    pub profile: Option<Profile>,
    /// The checked lock, if any.
    pub lock: Option<x07_lock::Lock>,
    /// Digest of the lockfile.
    pub lock_digest: Option<Sha256Digest>,
    /// The lockfile path, if any.
    pub lockfile: Option<PathBuf>,
    /// The artifact name.
    pub name: ArtifactName,
    /// Libraries the project links (`link.libs` of x07.json).
    pub link_libs: Vec<String>,
    /// Whether package FFI sources are compiled and linked (flag, then profile `auto_ffi`, default
    /// true).
    pub auto_ffi: bool,
    /// The C sources and libraries the build compiles and links (empty without auto-ffi, except
    /// the project's own `link.libs`).
    pub native: NativeInputs,
}

/// What kind of target.
#[derive(Debug)]
pub enum TargetKind {
    /// A project: its root and manifest path.
    Project {
        /// The directory holding x07.json.
        root: PathBuf,
        /// x07.json.
        manifest: PathBuf,
    },
    /// A single entry file.
    Program,
}

impl Target {
    /// The project root, if this is a project.
    pub fn project_root(&self) -> Option<&Path> {
        match &self.kind {
            TargetKind::Project { root, .. } => Some(root),
            TargetKind::Program => None,
        }
    }

    /// The project name: the project directory's name (the program's stem for `--program`).
    pub fn display_name(&self) -> String {
        let from_dir = self
            .project_root()
            .and_then(|r| std::path::absolute(r).ok())
            .and_then(|r| r.file_name().map(|n| n.to_string_lossy().into_owned()));
        from_dir.unwrap_or_else(|| {
            artifact_name(&self.entry)
                .map(|n| n.as_str().to_string())
                .unwrap_or_else(|_| "app".to_string())
        })
    }

    /// The C compiler profile: flag, then profile, then default.
    pub fn cc_profile(&self, flag: Option<CcProfile>) -> CcProfile {
        flag.or_else(|| self.profile.as_ref().and_then(|p| p.cc_profile))
            .unwrap_or(CcProfile::Default)
    }

    /// The native inputs `program` needs: with auto-FFI, the C sources and libraries of the
    /// packages whose modules it actually loads (a locked or listed package it never imports
    /// brings nothing), plus the project's `link.libs`; without, the libraries alone.
    pub fn native_for(&self, program: &LoadedProgram) -> Result<NativeInputs, ProjectError> {
        if !self.auto_ffi {
            return Ok(self.native.clone());
        }
        let mut used: Vec<&Path> = Vec::new();
        for m in program.all() {
            if let ModuleOrigin::Root(dir) = &m.origin {
                if !used.contains(&dir.as_path()) {
                    used.push(dir);
                }
            }
        }
        let mut native = discover_native(used.into_iter(), &self.link_libs)?;
        native.musl_specs = self.native.musl_specs.clone();
        Ok(native)
    }

    /// Whether the build compiles or links native code a package brought: C sources, or
    /// libraries other than the project's own `link.libs` (which are the user's choice).
    pub fn uses_package_native(&self) -> bool {
        !self.native.sources.is_empty()
            || self.native.libs.iter().any(|l| !self.link_libs.contains(l))
    }
}

/// Walks up from `start` to the nearest directory holding x07.json (or exactly one
/// `*.x07project.json`).
pub fn discover_manifest(start: &Path) -> Option<PathBuf> {
    for dir in start.ancestors() {
        let candidate = dir.join(PROJECT_FILE_NAME);
        if candidate.is_file() {
            return Some(candidate);
        }
        let alternates: Vec<PathBuf> = fs_err::read_dir(dir)
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.path())
            .filter(|p| {
                p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.ends_with(".x07project.json"))
            })
            .collect();
        if alternates.len() == 1 {
            return alternates.into_iter().next();
        }
    }
    None
}

/// x07.json for `--project PATH` (the manifest or its directory), or found by walking up from the
/// current directory; `flags` names what else the user may pass when there is none.
pub fn find_manifest(project: Option<&Path>, flags: &str) -> Result<PathBuf, ProjectError> {
    match project {
        Some(p) if p.is_dir() => Ok(p.join(PROJECT_FILE_NAME)),
        Some(p) => Ok(p.to_path_buf()),
        None => {
            let cwd = std::env::current_dir().map_err(ProjectError::CurrentDir)?;
            discover_manifest(&cwd).ok_or_else(|| ProjectError::NoManifest {
                cwd,
                flags: flags.to_string(),
            })
        }
    }
}

/// The artifact name: the entry file's stem, plus `-sandboxed` for run-os-sandboxed builds (so the
/// two worlds of one project keep separate store entries and GC roots, and switching profiles never
/// rewrites a root).
fn artifact_name_for(entry: &Path, world: World) -> Result<ArtifactName, ProjectError> {
    let base = artifact_name(entry)?;
    if world != World::RunOsSandboxed {
        return Ok(base);
    }
    ArtifactName::new(format!("{}-sandboxed", base.as_str())).map_err(|e| {
        ProjectError::ArtifactName {
            entry: entry.to_path_buf(),
            message: e.to_string(),
        }
    })
}

/// A store artifact name from a file name: its stem with `.x07.json` removed, characters other than
/// letters, digits, `-` and `_` replaced by `_`.
pub fn artifact_name(entry: &Path) -> Result<ArtifactName, ProjectError> {
    let file = entry.file_name().and_then(|n| n.to_str()).unwrap_or("main");
    let stem = file.strip_suffix(".x07.json").unwrap_or(file);
    let clean: String = stem
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let clean = match clean.chars().next() {
        None => "main".to_string(),
        Some(c) if !c.is_ascii_alphanumeric() => format!("p{clean}"),
        Some(_) => clean,
    };
    ArtifactName::new(clean).map_err(|e| ProjectError::ArtifactName {
        entry: entry.to_path_buf(),
        message: e.to_string(),
    })
}

/// Resolves the target: project or program, profile, world, lock (verified), native inputs.
pub fn resolve_target(req: &TargetRequest) -> Result<Target, ProjectError> {
    let mut target = match &req.program {
        Some(program) => resolve_program(program, &req.module_roots, req.profile.as_deref())?,
        None => resolve_project(req)?,
    };
    if let Some(flag) = req.auto_ffi {
        target.auto_ffi = flag;
    }
    if let Some(world) = req.world.filter(|w| *w != target.world) {
        target.world = world;
        target.name = artifact_name_for(&target.entry, world)?;
    }
    target.native = if target.auto_ffi {
        discover_native(target.roots.dirs(), &target.link_libs)?
    } else {
        NativeInputs {
            libs: target.link_libs.clone(),
            ..NativeInputs::default()
        }
    };
    Ok(target)
}

fn resolve_project(req: &TargetRequest) -> Result<Target, ProjectError> {
    let manifest_path = find_manifest(req.project.as_deref(), "--project PATH or --program FILE")?;
    let manifest =
        ProjectManifest::load(&manifest_path).map_err(|e| ProjectError::Manifest(Box::new(e)))?;
    let root = match manifest_path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let selected = manifest
        .select_profile(req.profile.as_deref())
        .map_err(|e| ProjectError::Profile {
            manifest: manifest_path.clone(),
            message: e.to_string(),
        })?;
    let auto_ffi = selected
        .as_ref()
        .and_then(|(_, p)| p.auto_ffi)
        .unwrap_or(true);
    let (world, profile, profile_name) = match selected {
        Some((name, p)) => (p.world, Some(p.clone()), Some(name.to_string())),
        None => (manifest.world, None, None),
    };
    let mut roots = ModuleRoots::new();
    let mut root_displays = Vec::new();
    for r in &manifest.module_roots {
        roots.push(root.join(r.as_str()), r.as_str());
        root_displays.push(r.as_str().to_string());
    }
    let own_roots = root_displays.len();
    let lockfile = manifest.lockfile_path(&root);
    let lock = load_checked_lock(&root, &manifest_path, &manifest, lockfile.as_deref())?;
    let mut lock_digest = None;
    if let Some(lock) = &lock {
        for dep in &lock.dependencies {
            let display = format!("{}/{}", dep.path, dep.module_root);
            // the lock was checked against these directories already: a failure here is a race
            let dir = dep.path.resolve(&root).map_err(|e| ProjectError::Package {
                path: manifest_path.clone(),
                message: e.to_string(),
            })?;
            roots.push(dep.module_root.resolve(&dir), display.clone());
            root_displays.push(display);
        }
        lock_digest = Some(lock.digest().map_err(|e| ProjectError::LockDigest {
            lockfile: lockfile.clone().unwrap_or_default(),
            message: e.to_string(),
        })?);
    }
    let entry = root.join(manifest.entry.as_str());
    let name = artifact_name_for(&entry, world)?;
    Ok(Target {
        kind: TargetKind::Project {
            root,
            manifest: manifest_path,
        },
        entry_display: manifest.entry.as_str().to_string(),
        entry,
        roots,
        root_displays,
        own_roots,
        world,
        profile_name,
        profile,
        lock,
        lock_digest,
        lockfile,
        name,
        link_libs: manifest
            .link
            .as_ref()
            .map(|l| l.libs.clone())
            .unwrap_or_default(),
        auto_ffi,
        native: NativeInputs::default(),
    })
}

fn resolve_program(
    program: &Path,
    extra_roots: &[PathBuf],
    profile: Option<&str>,
) -> Result<Target, ProjectError> {
    let world = match profile {
        None | Some("os") => World::RunOs,
        Some("sandbox") => World::RunOsSandboxed,
        Some(other) => return Err(ProjectError::ProgramProfile(other.to_string())),
    };
    let dir = program
        .parent()
        .map(Path::to_path_buf)
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or_else(|| PathBuf::from("."));
    let mut roots = ModuleRoots::new();
    let mut root_displays = Vec::new();
    roots.push(dir.clone(), dir.display().to_string());
    root_displays.push(dir.display().to_string());
    for r in extra_roots {
        roots.push(r.clone(), r.display().to_string());
        root_displays.push(r.display().to_string());
    }
    Ok(Target {
        kind: TargetKind::Program,
        entry_display: program.display().to_string(),
        entry: program.to_path_buf(),
        own_roots: root_displays.len(),
        roots,
        root_displays,
        world,
        profile_name: profile.map(str::to_string),
        profile: None,
        lock: None,
        lock_digest: None,
        lockfile: None,
        name: artifact_name_for(program, world)?,
        link_libs: Vec::new(),
        auto_ffi: true,
        native: NativeInputs::default(),
    })
}
