//! Publish checks of an archive, on `x07_spec::archive` and `x07_spec::package`: it unpacks under the
//! contract's rules into a scratch directory (manifest valid, every listed module present, nothing but
//! the manifest, the modules and `ffi/`), the manifest meets the publish rules, and every module is an
//! x07AST module carrying the listed id.

use std::io::Read;
use std::path::Path;

use serde_json::Value;
use x07_spec::archive::{unpack_from, UnpackError, UnpackLimits};
use x07_spec::package::{PackageManifest, PackageProblem};
use x07_spec::{PackageName, PackageVersion};

use crate::api_error::{ApiError, ErrorCode};
use crate::index_entry::IndexDep;

/// What the index records about a package version that passed the publish checks.
#[derive(Debug, Clone)]
pub struct CheckedPackage {
    /// Package name.
    pub name: PackageName,
    /// Version.
    pub version: PackageVersion,
    /// `description`.
    pub description: String,
    /// `meta.x07c_compat`.
    pub x07c_compat: String,
    /// `meta.requires_packages`, split into name and requirement.
    pub deps: Vec<IndexDep>,
    /// Module ids, as listed.
    pub modules: Vec<String>,
    /// `meta.ffi_libs`.
    pub ffi_libs: Vec<String>,
}

impl CheckedPackage {
    /// Whether any module id lies in the reserved `std` namespace.
    pub fn has_std_module(&self) -> bool {
        self.modules
            .iter()
            .any(|m| m == "std" || m.starts_with("std."))
    }
}

/// Runs every publish check over the archive read from `archive`, unpacking it below
/// `scratch_dir` (removed afterwards). Refusals never name a server path.
pub fn check_archive(archive: impl Read, scratch_dir: &Path) -> Result<CheckedPackage, ApiError> {
    let scratch = tempfile::Builder::new()
        .prefix("publish-")
        .tempdir_in(scratch_dir)
        .map_err(|e| {
            ApiError::internal(
                "creating a scratch directory",
                format!("{}: {e}", scratch_dir.display()),
            )
        })?;
    let dir = scratch.path().join("package");
    let manifest = unpack_from(archive, &dir, &UnpackLimits::CONTRACT)
        .map_err(unpack_error)?
        .manifest;
    manifest
        .validate_for_publish()
        .map_err(|e| ApiError::new(ErrorCode::InvalidManifest, format!("x07-package.json: {e}")))?;
    if let Err(invalid) = manifest.validate(&dir) {
        let code = if invalid
            .problems
            .iter()
            .all(|p| matches!(p, PackageProblem::Field(_)))
        {
            ErrorCode::InvalidManifest
        } else {
            ErrorCode::InvalidArchive
        };
        return Err(ApiError::new(code, invalid.to_string()));
    }
    for module in &manifest.modules {
        let rel = manifest.module_file(module);
        check_module(&dir.join(&rel), &rel, module.as_str())?;
    }
    Ok(checked(manifest))
}

fn unpack_error(e: UnpackError) -> ApiError {
    match e {
        UnpackError::Manifest(_) => ApiError::new(ErrorCode::InvalidManifest, e.to_string()),
        UnpackError::Io { .. } | UnpackError::DestinationExists { .. } => {
            ApiError::internal("unpacking the archive for its checks", e)
        }
        _ => ApiError::new(ErrorCode::InvalidArchive, e.to_string()),
    }
}

fn checked(manifest: PackageManifest) -> CheckedPackage {
    let meta = manifest.meta;
    CheckedPackage {
        name: manifest.name,
        version: manifest.version,
        description: manifest.description.unwrap_or_default(),
        x07c_compat: meta
            .x07c_compat
            .map(|r| r.as_str().to_string())
            .unwrap_or_default(),
        deps: meta
            .requires_packages
            .into_iter()
            .map(|r| IndexDep {
                name: r.name,
                req: r.req.as_str().to_string(),
            })
            .collect(),
        modules: manifest
            .modules
            .iter()
            .map(|m| m.as_str().to_string())
            .collect(),
        ffi_libs: meta
            .ffi_libs
            .iter()
            .map(|l| l.as_str().to_string())
            .collect(),
    }
}

/// The module file parses as JSON with `kind: "module"` and the listed `module_id`
/// (full x07 linting is the compiler's job, not the registry's).
fn check_module(path: &Path, rel: &str, id: &str) -> Result<(), ApiError> {
    let lint = |why: String| ApiError::new(ErrorCode::LintFailed, format!("{rel}: {why}"));
    let bytes =
        fs_err::read(path).map_err(|e| ApiError::internal("reading an unpacked module", e))?;
    let value: Value =
        serde_json::from_slice(&bytes).map_err(|e| lint(format!("not valid JSON ({e})")))?;
    match value.get("kind").and_then(Value::as_str) {
        Some("module") => {}
        other => return Err(lint(format!("`kind` must be \"module\", found {other:?}"))),
    }
    match value.get("module_id").and_then(Value::as_str) {
        Some(found) if found == id => Ok(()),
        other => Err(lint(format!(
            "`module_id` must be \"{id}\" (the id listed in x07-package.json), found {other:?}"
        ))),
    }
}
