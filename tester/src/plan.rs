//! What `x07 test` will do: the manifest found and checked, its tests filtered, and the module
//! roots the tests are built against (the project's roots and locked packages when the manifest
//! is inside a project, else the manifest's directory and its package's module root).

use std::path::{Path, PathBuf};

use x07_builder::cc::NativeInputs;
use x07_builder::frontend::resolve::{module_rel_path, ModuleRoots};
use x07_builder::project::{discover_manifest, resolve_target, ProjectError, TargetRequest};
use x07_spec::package::PackageManifest;
use x07_spec::tests_manifest::{parse_manifest, ManifestProblem, TestCase};
use x07_spec::Sha256Digest;

/// The manifest path `x07 test` looks for in the current directory and each one above it.
pub const DEFAULT_MANIFEST: &str = "tests/tests.json";

/// How to run the tests.
#[derive(Debug, Clone, Default)]
pub struct TestOptions {
    /// `--manifest`; `None`: tests/tests.json here or above.
    pub manifest: Option<PathBuf>,
    /// `--module-root` (replaces the default roots).
    pub module_roots: Vec<PathBuf>,
    /// `--filter`: ids containing this (or equal to it with `exact`).
    pub filter: Option<String>,
    /// `--exact`.
    pub exact: bool,
    /// `--allow-empty`: no test selected is not an error.
    pub allow_empty: bool,
    /// `--jobs`; `None`: the machine's parallelism, at most 4.
    pub jobs: Option<usize>,
    /// Stop starting tests after the first one that misses its expectation (the default).
    pub fail_fast: bool,
    /// `--repeat`: runs per test, each ending the same way (0 and 1: once).
    pub repeat: u32,
    /// `--no-run`: build every test, run none.
    pub no_run: bool,
}

/// The checked manifest and everything the tests are built against.
#[derive(Debug)]
pub struct Plan {
    /// The manifest.
    pub manifest: PathBuf,
    /// Its directory (the tests' working directory; inputs are relative to it).
    pub dir: PathBuf,
    /// The selected tests, in id order.
    pub cases: Vec<TestCase>,
    /// Module roots in search order.
    pub roots: ModuleRoots,
    /// How the roots are shown.
    pub root_displays: Vec<String>,
    /// The project's lock digest (part of each build's derivation).
    pub lock_digest: Option<Sha256Digest>,
    /// The packages' C sources and libraries, linked into OS-world tests.
    pub native: NativeInputs,
    /// Worker threads.
    pub jobs: usize,
    /// Stop after the first miss.
    pub fail_fast: bool,
    /// The binary caches tried before a test's driver is compiled (`x07 test --substituter`).
    pub substituter: Option<&'static dyn x07_builder::store::Substituter>,
    /// Runs per test (at least 1).
    pub repeat: u32,
    /// Build only.
    pub no_run: bool,
}

/// Why no test can run.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    /// No manifest given and none found.
    #[error("no {DEFAULT_MANIFEST} in {} or any directory above it", .cwd.display())]
    NoManifest {
        /// Where the search started.
        cwd: PathBuf,
    },
    /// The manifest cannot be read.
    #[error("cannot read {}: {source}", .path.display())]
    Read {
        /// The manifest.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The manifest or its tests are invalid, or an entry's module is nowhere.
    #[error("{}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"))]
    Manifest(Vec<ManifestProblem>),
    /// The project around the manifest cannot be loaded.
    #[error(transparent)]
    Project(#[from] Box<ProjectError>),
    /// Nothing selected.
    #[error("{}: no test {what}", .manifest.display())]
    Empty {
        /// The manifest.
        manifest: PathBuf,
        /// What selected nothing.
        what: String,
    },
}

impl PlanError {
    /// What to do about it.
    pub fn help(&self) -> Option<String> {
        Some(match self {
            PlanError::NoManifest { .. } => {
                "run from a package or project with tests/tests.json, or pass --manifest FILE"
                    .into()
            }
            PlanError::Manifest(_) => {
                "fix the fields named above; docs/testing.md describes the manifest".into()
            }
            PlanError::Empty { .. } => "change --filter, or pass --allow-empty".into(),
            PlanError::Project(e) => return e.help(),
            PlanError::Read { .. } => return None,
        })
    }
}

/// Finds and checks the manifest, selects the tests, and works out the module roots.
pub fn plan(opts: &TestOptions) -> Result<Plan, PlanError> {
    let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
    let manifest = match &opts.manifest {
        Some(m) => cwd.join(m),
        None => cwd
            .ancestors()
            .map(|d| d.join(DEFAULT_MANIFEST))
            .find(|p| p.is_file())
            .ok_or(PlanError::NoManifest { cwd: cwd.clone() })?,
    };
    let bytes = fs_err::read(&manifest).map_err(|source| PlanError::Read {
        path: manifest.clone(),
        source,
    })?;
    let cases = parse_manifest(&manifest, &bytes).map_err(PlanError::Manifest)?;
    let dir = manifest.parent().unwrap_or(Path::new(".")).to_path_buf();

    let mut roots = ModuleRoots::new();
    let mut root_displays = Vec::new();
    let mut lock_digest = None;
    let mut native = NativeInputs::default();
    let mut push = |dir: PathBuf, roots: &mut ModuleRoots| {
        let shown = dir.display().to_string();
        if !root_displays.contains(&shown) {
            root_displays.push(shown.clone());
        }
        roots.push(dir, shown);
    };
    if !opts.module_roots.is_empty() {
        for r in &opts.module_roots {
            push(cwd.join(r), &mut roots);
        }
    } else if let Some(project) = discover_manifest(&dir) {
        let target = resolve_target(&TargetRequest {
            project: Some(project.clone()),
            program: None,
            module_roots: Vec::new(),
            profile: None,
            auto_ffi: None,
            world: None,
        })
        .map_err(Box::new)?;
        for d in target.roots.dirs() {
            push(d.to_path_buf(), &mut roots);
        }
        lock_digest = target.lock_digest;
        native = target.native;
        if let Some(project_dir) = project.parent() {
            push(project_dir.to_path_buf(), &mut roots);
        }
        push(dir.clone(), &mut roots);
    } else {
        push(dir.clone(), &mut roots);
        // a package without x07.json: its own modules too
        if let Some(package_dir) = dir.parent() {
            if let Ok(m) = PackageManifest::load_from_dir(package_dir) {
                push(m.module_root.resolve(package_dir), &mut roots);
            }
        }
    }

    // every entry's module must exist before any test is selected or run
    let missing: Vec<ManifestProblem> = cases
        .iter()
        .enumerate()
        .filter(|(_, c)| {
            let rel = module_rel_path(&c.module);
            !roots.dirs().any(|d| d.join(&rel).is_file())
        })
        .map(|(_, c)| ManifestProblem {
            file: manifest.display().to_string(),
            pointer: format!("test `{}`", c.id),
            message: format!(
                "entry {}: no module {} ({}) in the module roots: {}",
                c.entry,
                c.module,
                module_rel_path(&c.module),
                root_displays.join(", ")
            ),
        })
        .collect();
    if !missing.is_empty() {
        return Err(PlanError::Manifest(missing));
    }

    let selected: Vec<TestCase> = cases
        .into_iter()
        .filter(|c| match &opts.filter {
            None => true,
            Some(f) if opts.exact => c.id == *f,
            Some(f) => c.id.contains(f.as_str()),
        })
        .collect();
    if selected.is_empty() && !opts.allow_empty {
        let what = match &opts.filter {
            Some(f) => format!("matches --filter {f}"),
            None => "is listed".to_string(),
        };
        return Err(PlanError::Empty { manifest, what });
    }
    let jobs = opts
        .jobs
        .unwrap_or_else(|| x07_spec::parallel::cpu_workers(4))
        .max(1);
    Ok(Plan {
        manifest,
        dir,
        cases: selected,
        roots,
        root_displays,
        lock_digest,
        native,
        jobs,
        fail_fast: opts.fail_fast,
        substituter: None,
        repeat: opts.repeat.max(1),
        no_run: opts.no_run,
    })
}
