//! Which program a command works on: a project (found by walking up, or `--project`), a single
//! entry file (`--program`), and the profile, world and knobs that apply.

use std::path::{Path, PathBuf};

use x07_builder::frontend::ModuleRoots;
use x07_builder::store::ArtifactName;
use x07_lock::Lock;
use x07_spec::{
    CcProfile, DocumentError, Profile, ProjectManifest, Sha256Digest, World, PROJECT_FILE_NAME,
};

use crate::args::{CcProfileArg, TargetArgs};
use crate::cmd::pkg::bullets;
use crate::error::CliError;

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
    /// The selected profile, if the project has profiles.
    pub profile: Option<Profile>,
    /// Digest of the lockfile.
    pub lock_digest: Option<Sha256Digest>,
    /// The lockfile path, if any.
    pub lockfile: Option<PathBuf>,
    /// The artifact name.
    pub name: ArtifactName,
    /// Libraries the project links (`link.libs` of x07.json).
    pub link_libs: Vec<String>,
    /// Whether package FFI sources are compiled and linked (profile `auto_ffi`, default true).
    pub auto_ffi: bool,
}

/// What kind of target.
#[derive(Debug)]
pub enum TargetKind {
    /// A project: its root and manifest path.
    Project { root: PathBuf, manifest: PathBuf },
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

    /// The C compiler profile: flag, then profile, then default.
    pub fn cc_profile(&self, flag: Option<CcProfileArg>) -> CcProfile {
        match flag {
            Some(CcProfileArg::Default) => CcProfile::Default,
            Some(CcProfileArg::Size) => CcProfile::Size,
            None => self
                .profile
                .as_ref()
                .and_then(|p| p.cc_profile)
                .unwrap_or(CcProfile::Default),
        }
    }
}

/// Walks up from `start` to the nearest directory holding x07.json (or exactly one `*.x07project.json`).
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
pub fn find_manifest(project: Option<&Path>, flags: &str) -> Result<PathBuf, CliError> {
    match project {
        Some(p) if p.is_dir() => Ok(p.join(PROJECT_FILE_NAME)),
        Some(p) => Ok(p.to_path_buf()),
        None => {
            let cwd = std::env::current_dir().map_err(|e| {
                CliError::setup(
                    "X07-PROJECT-0001",
                    format!("cannot read the current directory: {e}"),
                )
            })?;
            discover_manifest(&cwd).ok_or_else(|| {
                CliError::setup(
                    "X07-PROJECT-0001",
                    format!(
                        "no x07.json found in {} or any parent directory",
                        cwd.display()
                    ),
                )
                .help(format!(
                    "run `x07 init` to create a project, or pass {flags}"
                ))
            })
        }
    }
}

/// The artifact name: the entry file's stem, plus `-sandboxed` for run-os-sandboxed builds (so the
/// two worlds of one project keep separate store entries and GC roots, and switching profiles never
/// rewrites a root).
fn artifact_name_for(entry: &Path, world: World) -> Result<ArtifactName, CliError> {
    let base = artifact_name(entry)?;
    if world != World::RunOsSandboxed {
        return Ok(base);
    }
    ArtifactName::new(format!("{}-sandboxed", base.as_str())).map_err(|e| {
        CliError::setup(
            "X07-CLI-0001",
            format!("cannot name the artifact after {}: {e}", entry.display()),
        )
    })
}

fn artifact_name(entry: &Path) -> Result<ArtifactName, CliError> {
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
    ArtifactName::new(clean).map_err(|e| {
        CliError::setup(
            "X07-CLI-0001",
            format!("cannot name the artifact after {}: {e}", entry.display()),
        )
    })
}

/// Converts a manifest load error into a CLI error.
pub fn manifest_error(e: DocumentError) -> CliError {
    let code = if e.is_schema_error() {
        "X07-PROJECT-0002"
    } else if matches!(e, DocumentError::Read { .. }) {
        "X07-PROJECT-0001"
    } else {
        "X07-JSON-0001"
    };
    CliError::setup(code, e.to_string())
        .help("fix x07.json (see docs/getting-started.md for its fields)")
}

/// Resolves `--project` / `--program` / discovery, the profile and the world.
pub fn resolve(args: &TargetArgs) -> Result<Target, CliError> {
    let mut target = resolve_target(args)?;
    if args.no_auto_ffi {
        target.auto_ffi = false;
    } else if args.auto_ffi {
        target.auto_ffi = true;
    }
    Ok(target)
}

fn resolve_target(args: &TargetArgs) -> Result<Target, CliError> {
    if let Some(program) = &args.program {
        return resolve_program(program, &args.module_roots, args.profile.as_deref());
    }
    let manifest_path = find_manifest(args.project.as_deref(), "--project PATH or --program FILE")?;
    let manifest = ProjectManifest::load(&manifest_path).map_err(manifest_error)?;
    let root = manifest_path
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default();
    let root = if root.as_os_str().is_empty() {
        PathBuf::from(".")
    } else {
        root
    };
    let selected = manifest
        .select_profile(args.profile.as_deref())
        .map_err(|e| {
            CliError::setup(
                "X07-PROJECT-0003",
                format!("{}: {e}", manifest_path.display()),
            )
            .help("pass --profile with one of the profiles in x07.json")
        })?;
    let profile_auto_ffi = selected
        .as_ref()
        .and_then(|(_, p)| p.auto_ffi)
        .unwrap_or(true);
    let (world, profile) = match selected {
        Some((_, p)) => (p.world, Some(p.clone())),
        None => (manifest.world, None),
    };
    let mut roots = ModuleRoots::new();
    let mut root_displays = Vec::new();
    for r in &manifest.module_roots {
        roots.push(root.join(r.as_str()), r.as_str());
        root_displays.push(r.as_str().to_string());
    }
    let own_roots = root_displays.len();
    let lockfile = manifest.lockfile_path(&root);
    let lock_digest =
        match load_checked_lock(&root, &manifest_path, &manifest, lockfile.as_deref())? {
            None => None,
            Some(lock) => {
                for dep in &lock.dependencies {
                    let display = format!("{}/{}", dep.path, dep.module_root);
                    roots.push(
                        dep.module_root.resolve(&dep.path.resolve(&root)),
                        display.clone(),
                    );
                    root_displays.push(display);
                }
                Some(
                    lock.digest()
                        .map_err(|e| CliError::setup("X07-LOCK-0001", e.to_string()))?,
                )
            }
        };
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
        profile,
        lock_digest,
        lockfile,
        name,
        link_libs: manifest
            .link
            .as_ref()
            .map(|l| l.libs.clone())
            .unwrap_or_default(),
        auto_ffi: profile_auto_ffi,
    })
}

/// The project's lock, checked against x07.json and against every dependency file on disk:
/// builds and runs never change the lock, and never use files it does not pin.
fn load_checked_lock(
    root: &Path,
    manifest_path: &Path,
    manifest: &ProjectManifest,
    lockfile: Option<&Path>,
) -> Result<Option<Lock>, CliError> {
    let has_deps = !manifest.dependencies.is_empty();
    let path = match lockfile {
        Some(p) => p,
        None if has_deps => {
            return Err(CliError::setup(
                "X07-LOCK-0002",
                format!(
                    "{}: the project has dependencies but \"lockfile\" is null",
                    manifest_path.display()
                ),
            )
            .help("remove \"lockfile\": null from x07.json and run `x07 pkg lock`"))
        }
        None => return Ok(None),
    };
    if !path.exists() {
        if has_deps {
            return Err(CliError::setup(
                "X07-LOCK-0002",
                format!(
                    "{} does not exist, but x07.json has dependencies",
                    path.display()
                ),
            )
            .help("run `x07 pkg lock` (or `x07 pkg add NAME --sync`)"));
        }
        return Ok(None);
    }
    let lock = Lock::load(path).map_err(|e| {
        CliError::setup("X07-LOCK-0001", e.to_string())
            .help("fix or delete it, then run `x07 pkg lock`")
    })?;
    let project = x07_deps::Project {
        root: root.to_path_buf(),
        manifest_path: manifest_path.to_path_buf(),
        manifest: manifest.clone(),
    };
    let reqs = project
        .requirements()
        .map_err(crate::cmd::pkg::deps_error)?;
    if let Err(reasons) =
        x07_deps::lock_satisfies(&reqs, &lock, None, &crate::cmd::pkg::toolchain_version())
    {
        return Err(CliError::setup(
            "X07-LOCK-0002",
            format!(
                "{} is out of date with x07.json:\n{}",
                path.display(),
                bullets(&reasons)
            ),
        )
        .help("run `x07 pkg lock`"));
    }
    let problems = lock.verify_against_disk(root);
    if !problems.is_empty() {
        return Err(CliError::setup(
            "X07-LOCK-0003",
            format!(
                "the dependencies on disk differ from {}:\n{}",
                path.display(),
                bullets(&problems)
            ),
        )
        .help("`x07 pkg sync` restores registry packages from the verified cache"));
    }
    Ok(Some(lock))
}

fn resolve_program(
    program: &Path,
    extra_roots: &[PathBuf],
    profile: Option<&str>,
) -> Result<Target, CliError> {
    let world = match profile {
        None | Some("os") => World::RunOs,
        Some("sandbox") => World::RunOsSandboxed,
        Some(other) => {
            return Err(CliError::setup(
                "X07-PROJECT-0003",
                format!("unknown profile `{other}` for --program (use os or sandbox)"),
            ));
        }
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
        profile: None,
        lock_digest: None,
        lockfile: None,
        name: artifact_name_for(program, world)?,
        link_libs: Vec::new(),
        auto_ffi: true,
    })
}
