//! Consumer commands that change a project: `x07 pkg add`, `remove`, `lock`, `sync`.
//!
//! Each holds the project's guard for its whole read-modify-write, so concurrent commands on one
//! project serialize. With `--sync`, `add` and `remove` lock first and write x07.json last, so a
//! failed resolution leaves x07.json as it was.

// x07_deps errors carry the paths their messages name; they end the command (see x07-deps).
#![allow(clippy::result_large_err)]

use std::path::PathBuf;

use clap::Args;
use semver::Version;
use x07_deps::{
    lock_project, lock_satisfies, sync_locked, DependencySpec, DepsError, LockOptions, LockOutcome,
    ManifestChange, ManifestEdit, Project, ProjectGuard,
};
use x07_lock::{LockChange, LockMode, SigningKey, VersionReq};
use x07_registry_client::{ClientOptions, IndexEntry, IndexUrl, RegistryClient};
use x07_spec::{PackageVersion, ProjectManifest, RelPath, DEPS_DIR};

use super::account::package_name;
use super::{
    bullets, client_for, deps_error, index_entries_of, select_index, shown, split_at_sign,
    toolchain_version, ProjectArg, RegistryArgs,
};
use crate::error::{CliError, CliResult};

/// `--locked` / `--frozen`.
#[derive(Debug, Args, Clone, Default)]
pub struct LockModeArgs {
    /// Refuse to change x07.lock.json (exit 2 naming every change it would need).
    #[arg(long)]
    pub locked: bool,
    /// As --locked, and never touch the network.
    #[arg(long)]
    pub frozen: bool,
}

impl LockModeArgs {
    fn mode(&self) -> LockMode {
        if self.frozen {
            LockMode::Frozen
        } else if self.locked {
            LockMode::Locked
        } else {
            LockMode::Update
        }
    }
}

/// `x07 pkg add`.
#[derive(Debug, Args)]
pub struct PkgAddArgs {
    /// NAME (newest version), NAME@VERSION (exact), or NAME@REQ (e.g. ext-net@^0.1, written as x07.project@0.6.0).
    #[arg(value_name = "NAME[@VERSION|@REQ]")]
    pub package: String,
    /// A local package directory instead of the registry (its manifest gives the version).
    #[arg(long, value_name = "DIR")]
    pub path: Option<PathBuf>,
    /// Also lock and install (as `x07 pkg lock`).
    #[arg(long)]
    pub sync: bool,
    /// Allow pre-release versions.
    #[arg(long)]
    pub pre: bool,
    #[command(flatten)]
    pub registry: RegistryArgs,
    #[command(flatten)]
    pub project: ProjectArg,
    #[command(flatten)]
    pub lock_mode: LockModeArgs,
}

/// `x07 pkg remove`.
#[derive(Debug, Args)]
pub struct PkgRemoveArgs {
    /// The package to remove from x07.json.
    pub name: String,
    /// Also relock and prune .x07/deps/.
    #[arg(long)]
    pub sync: bool,
    #[command(flatten)]
    pub registry: RegistryArgs,
    #[command(flatten)]
    pub project: ProjectArg,
    #[command(flatten)]
    pub lock_mode: LockModeArgs,
}

/// `x07 pkg lock`.
#[derive(Debug, Args)]
pub struct PkgLockArgs {
    /// Only check that x07.lock.json fits x07.json and the files on disk; exit 1 if not. Writes nothing.
    #[arg(long, conflicts_with_all = ["sign", "upgrade"])]
    pub check: bool,
    /// Resolve afresh, taking the newest versions the requirements allow.
    #[arg(long)]
    pub upgrade: bool,
    /// Allow pre-release versions.
    #[arg(long)]
    pub pre: bool,
    /// Sign the lock with this key (`x07 key generate`); `x07 pkg verify-lock --key` checks it.
    #[arg(long, value_name = "KEY")]
    pub sign: Option<PathBuf>,
    /// Print `{"outcome": "up_to_date"|"written", "packages": N, "changes": [...]}` on stdout.
    #[arg(long, conflicts_with = "check")]
    pub json: bool,
    #[command(flatten)]
    pub registry: RegistryArgs,
    #[command(flatten)]
    pub project: ProjectArg,
    #[command(flatten)]
    pub lock_mode: LockModeArgs,
}

/// `x07 pkg sync`.
#[derive(Debug, Args)]
pub struct PkgSyncArgs {
    #[command(flatten)]
    pub registry: RegistryArgs,
    #[command(flatten)]
    pub project: ProjectArg,
}

/// The index for a project: flag, environment, the lock's registry, default.
fn project_index(project: &Project, registry: &RegistryArgs) -> Result<(IndexUrl, bool), CliError> {
    let lock_index = project
        .load_lock()
        .ok()
        .flatten()
        .and_then(|l| l.registry.map(|r| r.index_url));
    select_index(registry, lock_index.as_deref())
}

fn client_maker(
    index: IndexUrl,
    offline: bool,
) -> Result<impl Fn() -> Result<RegistryClient, DepsError>, CliError> {
    let home = crate::compile::home()?.path().to_path_buf();
    Ok(move || {
        let options = ClientOptions {
            offline,
            ..Default::default()
        };
        Ok(RegistryClient::new(index.clone(), &home, options)?)
    })
}

/// Locks `project` (whose manifest may not be on disk yet) and prints what happened.
fn run_lock(
    project: &Project,
    registry: &RegistryArgs,
    mode: LockMode,
    upgrade: bool,
    pre: bool,
) -> Result<LockOutcome, CliError> {
    let (index, explicit) = project_index(project, registry)?;
    let offline = registry.offline || mode == LockMode::Frozen;
    let make = client_maker(index.clone(), offline)?;
    let toolchain = toolchain_version();
    let options = LockOptions {
        mode,
        upgrade,
        allow_prerelease: pre,
        check_only: false,
        toolchain_version: &toolchain,
        explicit_index: explicit.then_some(index.as_str()),
    };
    let outcome = lock_project(project, &make, &options).map_err(deps_error)?;
    print_outcome(project, &outcome);
    Ok(outcome)
}

fn print_outcome(project: &Project, outcome: &LockOutcome) {
    let lock_path = project.lock_path().map(|p| shown(&p)).unwrap_or_default();
    match outcome {
        LockOutcome::UpToDate { lock, sync } => {
            for p in &sync.installed {
                crate::output::note!("  installed {p}");
            }
            for p in &sync.pruned {
                crate::output::note!("  removed {p}");
            }
            eprintln!(
                "x07: {lock_path} is up to date ({})",
                packages(lock.dependencies.len())
            );
        }
        LockOutcome::Written {
            lock,
            changes,
            dropped_signature,
        } => {
            for change in changes {
                crate::output::note!("  {}", change_line(change));
            }
            eprintln!(
                "x07: wrote {lock_path} ({})",
                packages(lock.dependencies.len())
            );
            if *dropped_signature {
                eprintln!("warning: the lock changed, so its signature was removed; run `x07 pkg lock --sign KEY` to sign it again");
            }
        }
        LockOutcome::OutOfDate { .. } => {}
    }
}

fn packages(n: usize) -> String {
    if n == 1 {
        "1 package".to_string()
    } else {
        format!("{n} packages")
    }
}

fn change_line(change: &LockChange) -> String {
    match change {
        LockChange::Added { name, version } => format!("+ {name} {version}"),
        LockChange::Removed { name, version } => format!("- {name} {version}"),
        LockChange::VersionChanged { name, from, to } => format!("~ {name} {from} -> {to}"),
        other => other.to_string(),
    }
}

/// Runs `x07 pkg lock`.
pub fn lock(args: &PkgLockArgs) -> CliResult {
    let project = args.project.load()?;
    if args.check {
        return check(&project, &args.registry);
    }
    let _guard = ProjectGuard::acquire(&project.root).map_err(deps_error)?;
    let project = args.project.load()?;
    let outcome = run_lock(
        &project,
        &args.registry,
        args.lock_mode.mode(),
        args.upgrade,
        args.pre,
    )?;
    if args.json {
        let (kind, lock, changes): (&str, &x07_lock::Lock, Vec<String>) = match &outcome {
            LockOutcome::UpToDate { lock, .. } => ("up_to_date", lock, Vec::new()),
            LockOutcome::Written { lock, changes, .. } => {
                ("written", lock, changes.iter().map(change_line).collect())
            }
            LockOutcome::OutOfDate { .. } => unreachable!("only --check reports out of date"),
        };
        println!(
            "{}",
            serde_json::json!({"outcome": kind, "packages": lock.dependencies.len(), "changes": changes})
        );
    }
    if let Some(key_path) = &args.sign {
        let lock = match outcome {
            LockOutcome::UpToDate { lock, .. } | LockOutcome::Written { lock, .. } => lock,
            LockOutcome::OutOfDate { .. } => unreachable!("only --check reports out of date"),
        };
        sign(&project, lock, key_path)?;
    }
    Ok(0)
}

fn sign(
    project: &Project,
    mut lock: x07_lock::Lock,
    key_path: &std::path::Path,
) -> Result<(), CliError> {
    let key = SigningKey::load(key_path).map_err(|e| {
        CliError::setup("X07-KEY-0002", e.to_string())
            .help("create a key with `x07 key generate --out PATH`")
    })?;
    x07_lock::sign_lock(&mut lock, &key)
        .map_err(|e| CliError::setup("X07-LOCK-0001", e.to_string()))?;
    let path = project.lock_path().map_err(deps_error)?;
    lock.write(&path).map_err(|e| {
        CliError::setup(
            "X07-PKG-0009",
            format!("cannot write {}: {e}", path.display()),
        )
    })?;
    crate::output::note!("x07: signed {} with key {}", shown(&path), key.key_id());
    Ok(())
}

/// `x07 pkg lock --check`: decided from x07.json, the lock and the files on disk alone.
fn check(project: &Project, registry: &RegistryArgs) -> CliResult {
    let explicit = match &registry.index {
        Some(_) => Some(select_index(registry, None)?.0),
        None => None,
    };
    let toolchain = toolchain_version();
    let options = LockOptions {
        mode: LockMode::Locked,
        upgrade: false,
        allow_prerelease: false,
        check_only: true,
        toolchain_version: &toolchain,
        explicit_index: explicit.as_ref().map(IndexUrl::as_str),
    };
    let never = || -> Result<RegistryClient, DepsError> {
        unreachable!("--check never reads the registry")
    };
    match lock_project(project, &never, &options).map_err(deps_error)? {
        LockOutcome::OutOfDate { reasons } => Err(CliError::failure(
            "X07-LOCK-0002",
            format!("x07.lock.json is out of date:\n{}", bullets(&reasons)),
        )
        .help("run `x07 pkg lock` to update it")),
        outcome => {
            print_outcome(project, &outcome);
            eprintln!("note: --check reads no registry; `x07 pkg verify --online` reports versions yanked since locking");
            Ok(0)
        }
    }
}

/// Runs `x07 pkg sync`.
pub fn sync(args: &PkgSyncArgs) -> CliResult {
    let project = args.project.load()?;
    let _guard = ProjectGuard::acquire(&project.root).map_err(deps_error)?;
    let lock_path = project.lock_path().map_err(deps_error)?;
    let lock = project.load_lock().map_err(deps_error)?.ok_or_else(|| {
        CliError::setup(
            "X07-LOCK-0002",
            format!("{} does not exist", lock_path.display()),
        )
        .help("run `x07 pkg lock` first")
    })?;
    let reqs = project.requirements().map_err(deps_error)?;
    if let Err(reasons) = lock_satisfies(&reqs, &lock, None, &toolchain_version()) {
        return Err(CliError::setup(
            "X07-LOCK-0002",
            format!(
                "{} does not fit x07.json:\n{}",
                lock_path.display(),
                bullets(&reasons)
            ),
        )
        .help("run `x07 pkg lock` (sync installs exactly what the lock records)"));
    }
    let (index, _) = project_index(&project, &args.registry)?;
    let make = client_maker(index, args.registry.offline)?;
    let report = sync_locked(&project, &lock, &make).map_err(deps_error)?;
    print_outcome(&project, &LockOutcome::UpToDate { lock, sync: report });
    Ok(0)
}

/// Runs `x07 pkg add`.
pub fn add(args: &PkgAddArgs) -> CliResult {
    let (name, req_text) = split_at_sign(&args.package)?;
    let first = args.project.load()?;
    let _guard = ProjectGuard::acquire(&first.root).map_err(deps_error)?;
    let project = args.project.load()?;
    let spec = match &args.path {
        Some(dir) => local_spec(&project, name, req_text, dir)?,
        None => {
            let (index, _) = project_index(&project, &args.registry)?;
            let client = client_for(index, args.registry.offline || args.lock_mode.frozen, false)?;
            registry_spec(&client, name, req_text, args.pre)?
        }
    };
    let mut edit = ManifestEdit::load(&project.manifest_path).map_err(deps_error)?;
    let change = edit.set_dependency(&spec);
    let bytes = edit.render().map_err(deps_error)?;
    if args.sync {
        let manifest = ProjectManifest::from_slice(&bytes, &project.manifest_path)
            .map_err(|e| CliError::setup("X07-PROJECT-0002", e.to_string()))?;
        let edited = Project {
            manifest,
            ..project.clone()
        };
        run_lock(
            &edited,
            &args.registry,
            args.lock_mode.mode(),
            false,
            args.pre,
        )?;
    }
    edit.save().map_err(deps_error)?;
    let what = match change {
        ManifestChange::Added => "added",
        ManifestChange::Replaced { .. } => "updated",
        _ => "already has",
    };
    crate::output::note!("x07: x07.json {what} {} {}", spec.name, spec.version);
    if !args.sync {
        crate::output::note!("next: x07 pkg lock (or pass --sync to lock and install now)");
    }
    Ok(0)
}

/// Runs `x07 pkg remove`.
pub fn remove(args: &PkgRemoveArgs) -> CliResult {
    let name = package_name(&args.name)?;
    let first = args.project.load()?;
    let _guard = ProjectGuard::acquire(&first.root).map_err(deps_error)?;
    let project = args.project.load()?;
    let mut edit = ManifestEdit::load(&project.manifest_path).map_err(deps_error)?;
    if edit.remove_dependency(&name) == ManifestChange::NotPresent {
        return Err(CliError::setup(
            "X07-PKG-0008",
            format!(
                "{} has no dependency named `{name}`",
                project.manifest_path.display()
            ),
        )
        .help("`x07 pkg tree` lists the dependencies"));
    }
    let bytes = edit.render().map_err(deps_error)?;
    if args.sync {
        let manifest = ProjectManifest::from_slice(&bytes, &project.manifest_path)
            .map_err(|e| CliError::setup("X07-PROJECT-0002", e.to_string()))?;
        let edited = Project {
            manifest,
            ..project.clone()
        };
        run_lock(&edited, &args.registry, args.lock_mode.mode(), false, false)?;
    }
    edit.save().map_err(deps_error)?;
    crate::output::note!("x07: x07.json no longer depends on {name}");
    if !args.sync {
        crate::output::note!("next: x07 pkg lock (or pass --sync)");
    }
    Ok(0)
}

fn bad_arg(message: String) -> CliError {
    CliError::setup("X07-PKG-0008", message)
}

fn local_spec(
    project: &Project,
    name: x07_spec::PackageName,
    req: Option<&str>,
    dir: &std::path::Path,
) -> Result<DependencySpec, CliError> {
    let path = x07_deps::local_dependency_path(&project.root, dir)
        .map_err(|e| bad_arg(format!("--path {e}")))?;
    let manifest = x07_spec::package::PackageManifest::load_from_dir(dir)
        .map_err(|e| CliError::setup("X07-PKG-0001", e.to_string()))?;
    if manifest.name != name {
        return Err(bad_arg(format!(
            "--path {}: holds package `{}`, not `{name}`",
            dir.display(),
            manifest.name
        )));
    }
    let version = match req {
        None => manifest.version.to_string(),
        Some(r) => r.to_string(),
    };
    Ok(DependencySpec {
        name,
        version,
        path: Some(path),
    })
}

/// Whether an index entry may be picked for a new requirement: not yanked, and made for this toolchain.
fn usable(entry: &IndexEntry, toolchain: &Version) -> bool {
    let compat = match entry.x07c_compat.trim() {
        "" => true,
        text => VersionReq::parse(text).is_ok_and(|r| r.contains_by_precedence(toolchain)),
    };
    !entry.yanked && compat
}

fn registry_spec(
    client: &RegistryClient,
    name: x07_spec::PackageName,
    req: Option<&str>,
    pre: bool,
) -> Result<DependencySpec, CliError> {
    let entries = index_entries_of(client, &name)?;
    let toolchain = toolchain_version();
    let listed = || {
        entries
            .iter()
            .map(|e| format!("{}{}", e.version, if e.yanked { " (yanked)" } else { "" }))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let exact = |version: &PackageVersion| DependencySpec {
        name: name.clone(),
        version: version.to_string(),
        path: Some(
            RelPath::new(format!("{DEPS_DIR}/{name}/{version}"))
                .expect("names and versions are path-safe")
                .into(),
        ),
    };
    match req {
        None => {
            let best = entries
                .iter()
                .filter(|e| usable(e, &toolchain) && (pre || e.semver().pre.is_empty()))
                .max_by(|a, b| a.semver().cmp(b.semver()))
                .ok_or_else(|| {
                    bad_arg(format!(
                        "{name} has no version usable with x07 {toolchain} (versions: {})",
                        listed()
                    ))
                })?;
            Ok(exact(&best.version))
        }
        Some(text) if PackageVersion::new(text).is_ok() => {
            let entry =
                entries
                    .iter()
                    .find(|e| e.version.as_str() == text)
                    .ok_or_else(|| {
                        bad_arg(format!("{name} has no version {text} (versions: {})", listed()))
                    .help("x07 pkg versions NAME lists them; NAME@^X.Y adds a requirement instead")
                    })?;
            if entry.yanked {
                return Err(bad_arg(format!(
                    "{name} {text} is yanked; new dependencies cannot pick it (versions: {})",
                    listed()
                )));
            }
            Ok(exact(&entry.version))
        }
        Some(text) => {
            let parsed =
                VersionReq::parse(text).map_err(|e| bad_arg(format!("`{name}@{text}`: {e}")))?;
            if !entries
                .iter()
                .any(|e| usable(e, &toolchain) && parsed.matches(e.semver(), pre))
            {
                return Err(bad_arg(format!(
                    "no usable version of {name} matches `{text}` (versions: {})",
                    listed()
                )));
            }
            let _ = parsed;
            Ok(DependencySpec {
                name,
                version: text.trim().to_string(),
                path: None,
            })
        }
    }
}
