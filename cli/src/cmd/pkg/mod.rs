//! `x07 pkg ...`: packages for maintainers (pack, publish, yank, owner), for consumers (add,
//! remove, lock, sync, tree, verify), and for looking things up (info, versions, search,
//! provides). Error codes: docs/diagnostics.md ("Packages", "Dependencies").

mod account;
mod deps;
mod inspect;
mod pack;

use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};
use x07_deps::{DepsError, Project};
use x07_registry_client::{
    ClientOptions, IndexEntry, IndexUrl, IndexUrlSource, RegistryClient, RegistryError,
    RegistryHome,
};
use x07_spec::PackageName;

use crate::error::{CliError, CliResult};

pub use account::{PkgLoginArgs, PkgLogoutArgs, PkgOwnerArgs, PkgPublishArgs, PkgYankArgs};
pub use deps::{PkgAddArgs, PkgLockArgs, PkgRemoveArgs, PkgSyncArgs};
pub use inspect::{
    PkgInfoArgs, PkgProvidesArgs, PkgSearchArgs, PkgTreeArgs, PkgVerifyArgs, PkgVerifyLockArgs,
};
pub use pack::PkgPackArgs;

/// `x07 pkg ...`.
#[derive(Debug, Subcommand)]
pub enum PkgCommand {
    /// Add a dependency to x07.json (NAME, NAME@VERSION or NAME@REQ); --sync also locks and installs it.
    Add(PkgAddArgs),
    /// Remove a dependency from x07.json; --sync also relocks and prunes .x07/deps/.
    Remove(PkgRemoveArgs),
    /// Resolve x07.json's dependencies and write x07.lock.json (kept as is when it still fits); --check only checks.
    Lock(PkgLockArgs),
    /// Make .x07/deps/ hold exactly what x07.lock.json records (downloading through the verified cache).
    Sync(PkgSyncArgs),
    /// Print the locked dependency graph.
    Tree(PkgTreeArgs),
    /// Which package provides a module id (the lock first, then the registry).
    Provides(PkgProvidesArgs),
    /// Show a package's index entry (newest version, or NAME@VERSION).
    Info(PkgInfoArgs),
    /// List a package's versions (yanked ones marked).
    Versions(PkgInfoArgs),
    /// Search the registry by name and description.
    Search(PkgSearchArgs),
    /// Check x07.lock.json against x07.json and every dependency file on disk.
    Verify(PkgVerifyArgs),
    /// Check the lock's ed25519 signature (`x07 pkg lock --sign`) and the files it pins.
    VerifyLock(PkgVerifyLockArgs),
    /// Pack a package directory into a deterministic .x07pkg archive (x07-package.json, the listed modules, ffi/).
    Pack(PkgPackArgs),
    /// Pack a package and publish it to a registry (uses the token stored by `x07 pkg login`).
    Publish(PkgPublishArgs),
    /// Store a registry token for an index ($X07_HOME/credentials.json, mode 0600).
    Login(PkgLoginArgs),
    /// Forget the stored token of an index.
    Logout(PkgLogoutArgs),
    /// Yank a published version (new resolutions skip it; existing locks keep working), or --undo.
    Yank(PkgYankArgs),
    /// List, add or remove the owners of a package.
    Owner(PkgOwnerArgs),
}

/// Runs `x07 pkg ...`.
pub fn run(command: &PkgCommand) -> CliResult {
    match command {
        PkgCommand::Add(a) => deps::add(a),
        PkgCommand::Remove(a) => deps::remove(a),
        PkgCommand::Lock(a) => deps::lock(a),
        PkgCommand::Sync(a) => deps::sync(a),
        PkgCommand::Tree(a) => inspect::tree(a),
        PkgCommand::Provides(a) => inspect::provides(a),
        PkgCommand::Info(a) => inspect::info(a),
        PkgCommand::Versions(a) => inspect::versions(a),
        PkgCommand::Search(a) => inspect::search(a),
        PkgCommand::Verify(a) => inspect::verify(a),
        PkgCommand::VerifyLock(a) => inspect::verify_lock(a),
        PkgCommand::Pack(a) => pack::pack_command(a),
        PkgCommand::Publish(a) => account::publish(a),
        PkgCommand::Login(a) => account::login(a),
        PkgCommand::Logout(a) => account::logout(a),
        PkgCommand::Yank(a) => account::yank(a),
        PkgCommand::Owner(a) => account::owner(a),
    }
}

/// How a command reaches a registry.
#[derive(Debug, Args, Clone, Default)]
pub struct RegistryArgs {
    /// The registry index (sparse+http(s)://…/ or sparse+file:///…/); default: X07_PKG_INDEX_URL,
    /// then the lock's registry, then the default registry.
    #[arg(long, value_name = "URL")]
    pub index: Option<String>,
    /// Use only the local caches; never touch the network.
    #[arg(long)]
    pub offline: bool,
}

/// Which project a command works on.
#[derive(Debug, Args, Clone, Default)]
pub struct ProjectArg {
    /// The project manifest (x07.json) or its directory; default: found by walking up from the current directory.
    #[arg(long, value_name = "PATH")]
    pub project: Option<PathBuf>,
}

impl ProjectArg {
    /// Finds and loads the project.
    pub fn load(&self) -> Result<Project, CliError> {
        let manifest = crate::target::find_manifest(self.project.as_deref(), "--project PATH")?;
        Project::load(&manifest).map_err(deps_error)
    }
}

/// Items as an indented `  - item` list, one per line (the body of multi-reason errors).
pub fn bullets<T: std::fmt::Display>(items: &[T]) -> String {
    items
        .iter()
        .map(|i| format!("  - {i}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// `NAME` or `NAME@TEXT`: the package name checked, the text after `@` as given.
pub fn split_at_sign(text: &str) -> Result<(PackageName, Option<&str>), CliError> {
    match text.split_once('@') {
        Some((name, rest)) => Ok((account::package_name(name)?, Some(rest))),
        None => Ok((account::package_name(text)?, None)),
    }
}

/// Every version of `name` in the index; an unknown name is X07-PKG-0007 naming the registry.
pub fn index_entries_of(
    client: &RegistryClient,
    name: &PackageName,
) -> Result<Vec<IndexEntry>, CliError> {
    client.index_entries(name).map_err(|e| {
        if e.is_not_found() {
            CliError::setup(
                "X07-PKG-0007",
                format!(
                    "the registry {} has no package named `{name}`",
                    client.index_url().as_str()
                ),
            )
            .help("check the name with `x07 pkg search`")
        } else {
            registry_error(e)
        }
    })
}

/// A dependency error as a CLI error, with advice.
pub fn deps_error(e: DepsError) -> CliError {
    let code = e.code();
    let help = match &e {
        DepsError::LockInvalid(_) => Some("fix or delete x07.lock.json, then run `x07 pkg lock`"),
        DepsError::LockWouldChange(_) => None,
        DepsError::OnDisk(_) | DepsError::ContentsDiffer { .. } => Some("`x07 pkg sync` restores registry packages from the verified cache"),
        DepsError::UnknownPackage { .. } => Some("check the name with `x07 pkg search`, or pass the right --index"),
        DepsError::PatchUnsupported { .. } => Some("remove `patch`; pin the version in `dependencies`, or add the package with `x07 pkg add NAME --path DIR`"),
        DepsError::Registry(r) if r.is_not_found() => Some("check the name and version with `x07 pkg versions NAME`"),
        _ => None,
    };
    let err = CliError::setup(code, e.to_string());
    match help {
        Some(h) => err.help(h),
        None => err,
    }
}

/// A registry client error as a CLI error.
pub fn registry_error(e: RegistryError) -> CliError {
    CliError::setup("X07-PKG-0006", e.to_string())
}

/// `$X07_HOME` as the registry client lays it out.
pub fn registry_home() -> Result<RegistryHome, CliError> {
    Ok(RegistryHome::new(crate::compile::home()?.path()))
}

/// The chosen index (flag, environment, project's lock, default) and whether it was chosen explicitly.
pub fn select_index(
    args: &RegistryArgs,
    project_index: Option<&str>,
) -> Result<(IndexUrl, bool), CliError> {
    let (url, source) =
        x07_registry_client::select_index_url_from_env(args.index.as_deref(), project_index)
            .map_err(|e| CliError::setup("X07-CLI-0001", e.to_string()))?;
    Ok((
        url,
        matches!(source, IndexUrlSource::Flag | IndexUrlSource::Env),
    ))
}

/// A client of `index`, with the stored token when `with_token`.
pub fn client_for(
    index: IndexUrl,
    offline: bool,
    with_token: bool,
) -> Result<RegistryClient, CliError> {
    let home = crate::compile::home()?;
    let token = if with_token {
        let creds =
            x07_registry_client::Credentials::load(&registry_home()?).map_err(registry_error)?;
        creds.token_for(&index)
    } else {
        None
    };
    let options = ClientOptions {
        offline,
        token,
        ..Default::default()
    };
    RegistryClient::new(index, home.path(), options).map_err(registry_error)
}

/// A client for a command that needs no project, with the stored token when `with_token`.
pub fn plain_client(args: &RegistryArgs, with_token: bool) -> Result<RegistryClient, CliError> {
    let (index, _) = select_index(args, None)?;
    client_for(index, args.offline, with_token)
}

/// Prints one line of canonical JSON on stdout.
pub fn print_json(value: &serde_json::Value) -> Result<(), CliError> {
    let bytes = x07_spec::canonical_file_bytes(value)
        .map_err(|e| CliError::setup("X07-PKG-0009", e.to_string()))?;
    print!("{}", String::from_utf8_lossy(&bytes));
    Ok(())
}

/// The toolchain version packages' `x07c_compat` is checked against.
pub fn toolchain_version() -> semver::Version {
    semver::Version::parse(env!("CARGO_PKG_VERSION")).expect("the crate version is semver")
}

/// The display form of a path relative to the current directory when possible.
pub fn shown(path: &Path) -> String {
    let cwd = std::env::current_dir().unwrap_or_default();
    path.strip_prefix(&cwd)
        .unwrap_or(path)
        .display()
        .to_string()
}
