//! `x07 pkg pack`: pack a package directory into its deterministic `.x07pkg` archive.
//!
//! The manifest must pass the publish rules as well as the package checks; the archive is
//! written atomically and the report (`x07.pkg.pack.report@0.1.0`) is one line of canonical
//! JSON on stdout. Every error exits 2: X07-PKG-0001 manifest invalid, X07-PKG-0002 module file
//! missing, X07-PKG-0004 the directory holds what an archive may not, X07-PKG-0005 the archive
//! cannot be written (docs/diagnostics.md).

use std::io::Write as _;
use std::path::{Path, PathBuf};

use clap::Args;
use serde::Serialize;
use x07_spec::archive::{pack, PackError, PackedArchive, ARCHIVE_EXTENSION};
use x07_spec::package::{PackageManifest, CARRIED_DIRS};
use x07_spec::{canonical_file_bytes, DocumentError, Sha256Digest};

use crate::error::{CliError, CliResult};

/// The `schema_version` of the pack report.
const PACK_REPORT_VERSION: &str = "x07.pkg.pack.report@0.1.0";

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
    CliError::setup(
        "X07-PKG-0005",
        format!("cannot {what} {}: {e}", path.display()),
    )
}

/// Runs `x07 pkg pack`.
pub fn pack_command(args: &PkgPackArgs) -> CliResult {
    let cwd = std::env::current_dir()
        .map_err(|e| write_error(Path::new("."), "read the current directory", e))?;
    let package_dir = package_dir(&cwd, args.package.as_deref())?;
    let manifest = PackageManifest::load_from_dir(&package_dir).map_err(|e| match &e {
        DocumentError::Read { source, .. } if source.kind() == std::io::ErrorKind::NotFound => {
            CliError::setup("X07-PKG-0001", e.to_string())
                .help("run in the package directory or pass --package DIR (a directory holding x07-package.json, the package manifest)")
        }
        _ => manifest_invalid(e.to_string()),
    })?;
    manifest.validate_for_publish().map_err(|e| {
        manifest_invalid(format!(
            "{}: {e}",
            package_dir
                .join(x07_spec::package::PACKAGE_FILE_NAME)
                .display()
        ))
    })?;
    let packed = pack(&package_dir).map_err(pack_error)?;

    let out = match &args.out {
        Some(p) => cwd.join(p),
        None => package_dir.join("target").join(format!(
            "{}-{}.{ARCHIVE_EXTENSION}",
            manifest.name, manifest.version
        )),
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
        return Err(CliError::setup(
            "X07-PKG-0001",
            format!("--package: {} is not a directory", dir.display()),
        )
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
            .help("archives hold regular files with UTF-8 names (the manifest, modules, ffi/, tests/ and README/LICENSE-style files), up to 4096 files, 16 MiB each and 64 MiB in all"),
        PackError::Io { .. } => CliError::setup("X07-PKG-0005", e.to_string()),
    }
}

/// Writes the archive atomically, creating missing directories; refuses a path the archive
/// itself would carry (inside `ffi/` or `tests/`, or over a packed file). Returns the absolute path written.
fn write_archive(
    package_dir: &Path,
    out: &Path,
    packed: &PackedArchive,
) -> Result<PathBuf, CliError> {
    let (Some(parent), Some(file_name)) = (out.parent(), out.file_name()) else {
        return Err(write_error(out, "write the archive to", "not a file path"));
    };
    fs_err::create_dir_all(parent).map_err(|e| write_error(parent, "create the directory", e))?;
    let parent = fs_err::canonicalize(parent).map_err(|e| write_error(parent, "resolve", e))?;
    let out = parent.join(file_name);
    if out.is_dir() {
        return Err(
            write_error(&out, "write the archive to", "it is a directory")
                .help("pass --out with a file path, e.g. dist/pkg.x07pkg"),
        );
    }
    if let Ok(rel) = out.strip_prefix(package_dir) {
        let carried = CARRIED_DIRS.iter().any(|d| rel.starts_with(d))
            || packed
                .entries
                .iter()
                .any(|e| Path::new(e.path.as_str()) == rel);
        if carried {
            return Err(write_error(
                &out,
                "write the archive to",
                "the archive would then pack itself or overwrite a packed file",
            )
            .help("write it outside ffi/ and tests/, e.g. to the default target/ directory"));
        }
    }
    x07_spec::write_atomic(&out, &packed.bytes).map_err(|e| write_error(&out, "write", e))?;
    Ok(out)
}
