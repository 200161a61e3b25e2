//! `x07 pkg pack`: pack a package directory into its deterministic `.x07pkg` archive.
//!
//! The manifest must pass the publish rules as well as the package checks; the archive is
//! written atomically and the report (`x07.pkg.pack.report@0.1.0`) is one line of canonical
//! JSON on stdout. Every error exits 2: X07-PKG-0001 manifest invalid, X07-PKG-0002 module file
//! missing, X07-PKG-0004 the directory holds what an archive may not, X07-PKG-0005 the archive
//! cannot be written (docs/diagnostics.md).

use std::io::Write as _;
use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};
use serde::Serialize;
use x07_spec::archive::{pack, PackError, PackedArchive, ARCHIVE_EXTENSION};
use x07_spec::package::{PackageManifest, FFI_DIR};
use x07_spec::{canonical_file_bytes, DocumentError, Sha256Digest};

use crate::error::{CliError, CliResult};

/// The `schema_version` of the pack report.
const PACK_REPORT_VERSION: &str = "x07.pkg.pack.report@0.1.0";

/// `x07 pkg ...`.
#[derive(Debug, Subcommand)]
pub enum PkgCommand {
    /// Pack a package directory into a deterministic .x07pkg archive (x07-package.json, the listed modules, ffi/).
    Pack(PkgPackArgs),
    /// Store a registry token for an index ($X07_HOME/credentials.json, mode 0600).
    Login(PkgLoginArgs),
    /// Forget the stored token of an index.
    Logout(PkgLogoutArgs),
    /// Pack a package and publish it to a registry (uses the token stored by `x07 pkg login`).
    Publish(PkgPublishArgs),
}

/// `x07 pkg publish`.
#[derive(Debug, Args)]
pub struct PkgPublishArgs {
    /// The registry index.
    #[arg(long, value_name = "URL")]
    pub index: String,
    /// The package directory (holding x07-package.json); default: the current directory.
    #[arg(long, value_name = "DIR")]
    pub package: Option<PathBuf>,
}

/// `x07 pkg login`.
#[derive(Debug, Args)]
pub struct PkgLoginArgs {
    /// The registry index (sparse+http(s)://…/ or sparse+file:///…/).
    #[arg(long, value_name = "URL")]
    pub index: String,
    /// Read the token from standard input (keeps it out of the process list and shell history).
    #[arg(long, conflicts_with = "token")]
    pub token_stdin: bool,
    /// The token itself (prefer --token-stdin).
    #[arg(long, value_name = "TOKEN")]
    pub token: Option<String>,
}

/// `x07 pkg logout`.
#[derive(Debug, Args)]
pub struct PkgLogoutArgs {
    /// The registry index.
    #[arg(long, value_name = "URL")]
    pub index: String,
}

/// `x07 pkg pack`.
#[derive(Debug, Args)]
pub struct PkgPackArgs {
    /// The package directory (holding x07-package.json); default: the current directory.
    #[arg(long, value_name = "DIR")]
    pub package: Option<PathBuf>,
    /// Where to write the archive; default: <package>/target/<name>-<version>.x07pkg. Missing directories are created.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

/// Runs `x07 pkg ...`.
pub fn run(command: &PkgCommand) -> CliResult {
    match command {
        PkgCommand::Pack(args) => pack_command(args),
        PkgCommand::Login(args) => login_command(args),
        PkgCommand::Logout(args) => logout_command(args),
        PkgCommand::Publish(args) => publish_command(args),
    }
}

fn publish_command(args: &PkgPublishArgs) -> CliResult {
    let index = index_url(&args.index)?;
    let home = registry_home()?;
    let creds = x07_registry_client::Credentials::load(&home).map_err(registry_error)?;
    let token = creds.token_for(&index).ok_or_else(|| {
        CliError::setup("X07-PKG-0006", format!("no token stored for {}", index.as_str()))
            .help(format!("run `x07 pkg login --index {} --token-stdin` first", index.as_str()))
    })?;
    let dir = args.package.clone().unwrap_or_else(|| PathBuf::from("."));
    let options = x07_registry_client::ClientOptions { token: Some(token), ..Default::default() };
    let client = x07_registry_client::RegistryClient::new(index, crate::compile::home()?.path(), options).map_err(registry_error)?;
    let receipt = client.publish(x07_registry_client::PublishSource::PackageDir(&dir)).map_err(registry_error)?;
    let report = serde_json::json!({
        "schema_version": "x07.pkg.publish.report@0.1.0",
        "name": receipt.name.as_str(),
        "version": receipt.version.to_string(),
        "cksum": receipt.cksum.to_string(),
        "index_path": receipt.index_path,
    });
    let bytes = x07_spec::canonical_file_bytes(&report).map_err(|e| CliError::setup("X07-PKG-0006", e.to_string()))?;
    print!("{}", String::from_utf8_lossy(&bytes));
    Ok(0)
}

fn registry_error(e: x07_registry_client::RegistryError) -> CliError {
    CliError::setup("X07-PKG-0006", e.to_string())
}

fn index_url(text: &str) -> Result<x07_registry_client::IndexUrl, CliError> {
    x07_registry_client::IndexUrl::parse(text).map_err(|e| CliError::setup("X07-CLI-0001", format!("--index {text}: {e}")))
}

fn registry_home() -> Result<x07_registry_client::RegistryHome, CliError> {
    Ok(x07_registry_client::RegistryHome::new(crate::compile::home()?.path()))
}

fn login_command(args: &PkgLoginArgs) -> CliResult {
    let index = index_url(&args.index)?;
    let text = match (&args.token, args.token_stdin) {
        (Some(t), _) => t.clone(),
        (None, true) => {
            let mut s = String::new();
            std::io::Read::read_to_string(&mut std::io::stdin(), &mut s)
                .map_err(|e| CliError::setup("X07-CLI-0001", format!("cannot read the token from standard input: {e}")))?;
            s
        }
        (None, false) => return Err(CliError::setup("X07-CLI-0001", "pass --token-stdin (or --token TOKEN)")),
    };
    let token = x07_registry_client::Token::new(&text).map_err(registry_error)?;
    x07_registry_client::Credentials::login(&registry_home()?, &index, &token).map_err(registry_error)?;
    eprintln!("x07 pkg login: token stored for {}", index.as_str());
    Ok(0)
}

fn logout_command(args: &PkgLogoutArgs) -> CliResult {
    let index = index_url(&args.index)?;
    let had = x07_registry_client::Credentials::logout(&registry_home()?, &index).map_err(registry_error)?;
    eprintln!("x07 pkg logout: {} {}", if had { "removed the token of" } else { "no token was stored for" }, index.as_str());
    Ok(0)
}

/// The one-line report of `x07 pkg pack`.
#[derive(Debug, Serialize)]
struct PackReport<'a> {
    schema_version: &'static str,
    name: &'a str,
    version: &'a str,
    out: String,
    sha256: Sha256Digest,
    bytes: u64,
    entries: usize,
}

fn manifest_invalid(message: impl Into<String>) -> CliError {
    CliError::setup("X07-PKG-0001", message)
        .help("fix x07-package.json; its fields are described in docs/internals/packages.md")
}

fn write_error(path: &Path, what: &str, e: impl std::fmt::Display) -> CliError {
    CliError::setup("X07-PKG-0005", format!("cannot {what} {}: {e}", path.display()))
}

fn pack_command(args: &PkgPackArgs) -> CliResult {
    let cwd = std::env::current_dir().map_err(|e| write_error(Path::new("."), "read the current directory", e))?;
    let package_dir = package_dir(&cwd, args.package.as_deref())?;
    let manifest = PackageManifest::load_from_dir(&package_dir).map_err(|e| match &e {
        DocumentError::Read { source, .. } if source.kind() == std::io::ErrorKind::NotFound => {
            CliError::setup("X07-PKG-0001", e.to_string())
                .help("run in the package directory or pass --package DIR (x07 init --package creates one)")
        }
        _ => manifest_invalid(e.to_string()),
    })?;
    manifest.validate_for_publish().map_err(|e| {
        manifest_invalid(format!("{}: {e}", package_dir.join(x07_spec::package::PACKAGE_FILE_NAME).display()))
    })?;
    let packed = pack(&package_dir).map_err(pack_error)?;

    let out = match &args.out {
        Some(p) => cwd.join(p),
        None => package_dir.join("target").join(format!("{}-{}.{ARCHIVE_EXTENSION}", manifest.name, manifest.version)),
    };
    let out = write_archive(&package_dir, &out, &packed)?;

    let report = PackReport {
        schema_version: PACK_REPORT_VERSION,
        name: packed.manifest.name.as_str(),
        version: packed.manifest.version.as_str(),
        out: out.display().to_string(),
        sha256: packed.sha256,
        bytes: packed.bytes.len() as u64,
        entries: packed.entries.len(),
    };
    let line = canonical_file_bytes(&report).map_err(|e| write_error(&out, "report on", e))?;
    let mut stdout = std::io::stdout().lock();
    let _ = stdout.write_all(&line);
    let _ = stdout.flush();
    Ok(0)
}

/// `--package` (or the current directory), made absolute and checked to be a directory.
fn package_dir(cwd: &Path, package: Option<&Path>) -> Result<PathBuf, CliError> {
    let dir = cwd.join(package.unwrap_or(Path::new(".")));
    if !dir.is_dir() {
        return Err(CliError::setup("X07-PKG-0001", format!("--package: {} is not a directory", dir.display()))
            .help("pass the directory that holds x07-package.json"));
    }
    fs_err::canonicalize(&dir).map_err(|e| CliError::setup("X07-PKG-0001", e.to_string()))
}

fn pack_error(e: PackError) -> CliError {
    match e {
        PackError::Manifest(e) => manifest_invalid(e.to_string()),
        PackError::Invalid { ref source, .. } if source.has_module_file_problem() => {
            CliError::setup("X07-PKG-0002", e.to_string())
                .help("every module in `modules` needs its file at <module_root>/<a/b/c>.x07.json")
        }
        PackError::Invalid { .. } => manifest_invalid(e.to_string()),
        PackError::NotRegular { .. } | PackError::WouldBeRefused(_) => CliError::setup("X07-PKG-0004", e.to_string())
            .help("archives hold regular files with UTF-8 names, up to 4096 files, 16 MiB each and 64 MiB in all"),
        PackError::Io { .. } => CliError::setup("X07-PKG-0005", e.to_string()),
    }
}

/// Writes the archive atomically, creating missing directories; refuses a path the archive
/// itself would carry (inside `ffi/` or over a packed file). Returns the absolute path written.
fn write_archive(package_dir: &Path, out: &Path, packed: &PackedArchive) -> Result<PathBuf, CliError> {
    let (Some(parent), Some(file_name)) = (out.parent(), out.file_name()) else {
        return Err(write_error(out, "write the archive to", "not a file path"));
    };
    fs_err::create_dir_all(parent).map_err(|e| write_error(parent, "create the directory", e))?;
    let parent = fs_err::canonicalize(parent).map_err(|e| write_error(parent, "resolve", e))?;
    let out = parent.join(file_name);
    if out.is_dir() {
        return Err(write_error(&out, "write the archive to", "it is a directory")
            .help("pass --out with a file path, e.g. dist/pkg.x07pkg"));
    }
    if let Ok(rel) = out.strip_prefix(package_dir) {
        let carried = rel.starts_with(FFI_DIR) || packed.entries.iter().any(|e| Path::new(e.path.as_str()) == rel);
        if carried {
            return Err(write_error(
                &out,
                "write the archive to",
                "the archive would then pack itself or overwrite a packed file",
            )
            .help("write it outside ffi/, e.g. to the default target/ directory"));
        }
    }
    x07_spec::write_atomic(&out, &packed.bytes).map_err(|e| write_error(&out, "write", e))?;
    Ok(out)
}
