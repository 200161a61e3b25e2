//! Publish checks of an archive's contents: the manifest is complete for publishing, the archive holds
//! exactly the manifest, the listed modules and `ffi/`, and every module is an x07AST module with its id.

use std::collections::BTreeSet;

use serde_json::{Map, Value};
use x07_spec::{PackageName, PackageVersion};

use crate::api_error::{ApiError, ErrorCode};
use crate::archive_read::{is_clean_path, ArchiveFiles};
use crate::index_entry::IndexDep;

/// The manifest's file name at the archive root.
const MANIFEST_PATH: &str = "x07-package.json";
/// The manifest schema publishing accepts.
const PACKAGE_SCHEMA: &str = "x07.package@0.1.0";
/// Longest package name the registry accepts (`^[a-z][a-z0-9_-]{0,63}$`).
const MAX_NAME_LEN: usize = 64;

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
        self.modules.iter().any(|m| m == "std" || m.starts_with("std."))
    }
}

fn manifest_error(message: impl Into<String>) -> ApiError {
    ApiError::new(ErrorCode::InvalidManifest, format!("{MANIFEST_PATH}: {}", message.into()))
}

/// Runs every publish check over the files of an archive.
pub fn check_package(files: &ArchiveFiles) -> Result<CheckedPackage, ApiError> {
    let bytes = files.get(MANIFEST_PATH).ok_or_else(|| {
        ApiError::new(ErrorCode::InvalidArchive, format!("the archive has no `{MANIFEST_PATH}` at its root"))
    })?;
    let manifest: Value =
        serde_json::from_slice(bytes).map_err(|e| manifest_error(format!("not valid JSON ({e})")))?;
    let obj = manifest.as_object().ok_or_else(|| manifest_error("must be a JSON object"))?;

    let schema = string_field(obj, "schema_version")?;
    if schema != PACKAGE_SCHEMA {
        return Err(manifest_error(format!("schema_version `{schema}` must be `{PACKAGE_SCHEMA}`")));
    }
    let name = PackageName::new(string_field(obj, "name")?).map_err(|e| manifest_error(format!("name: {e}")))?;
    if name.as_str().len() > MAX_NAME_LEN {
        return Err(manifest_error(format!("name `{name}` is longer than {MAX_NAME_LEN} characters")));
    }
    let version =
        PackageVersion::new(string_field(obj, "version")?).map_err(|e| manifest_error(format!("version: {e}")))?;
    let module_root = string_field(obj, "module_root")?.trim_end_matches('/').to_string();
    if !is_clean_path(&module_root) {
        return Err(manifest_error(format!(
            "module_root `{module_root}` must be a relative path without `.` or `..` components"
        )));
    }
    let description = non_empty_string(obj, "description")?;
    non_empty_string(obj, "docs")?;
    non_empty_string(obj, "license")?;
    let modules = module_ids(obj)?;

    let meta = match obj.get("meta") {
        Some(Value::Object(m)) => m,
        _ => return Err(manifest_error("`meta` must be an object holding at least `x07c_compat`")),
    };
    let x07c_compat = match meta.get("x07c_compat") {
        Some(Value::String(s)) if is_requirement(s) => s.clone(),
        _ => {
            return Err(manifest_error(
                "meta.x07c_compat must be a version requirement such as \">=0.1.0, <0.2.0\" (required to publish)",
            ))
        }
    };
    let deps = requires_packages(meta)?;
    let ffi_libs = string_list(meta, "ffi_libs", "meta.ffi_libs", |s| {
        !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"_.+-".contains(&b))
    })?;
    let is_ffi = match meta.get("import_mode") {
        None => false,
        Some(Value::String(m)) if m == "handwritten" => false,
        Some(Value::String(m)) if m == "ffi" => true,
        Some(other) => return Err(manifest_error(format!("meta.import_mode {other} must be \"handwritten\" or \"ffi\""))),
    };

    check_contents(files, &module_root, &modules, is_ffi)?;
    for id in &modules {
        check_module(files, &module_path(&module_root, id), id)?;
    }
    Ok(CheckedPackage { name, version, description, x07c_compat, deps, modules, ffi_libs })
}

fn string_field<'a>(obj: &'a Map<String, Value>, field: &str) -> Result<&'a str, ApiError> {
    obj.get(field).and_then(Value::as_str).ok_or_else(|| manifest_error(format!("`{field}` must be a string")))
}

fn non_empty_string(obj: &Map<String, Value>, field: &str) -> Result<String, ApiError> {
    match obj.get(field).and_then(Value::as_str) {
        Some(s) if !s.trim().is_empty() => Ok(s.to_string()),
        _ => Err(manifest_error(format!("`{field}` must be a non-empty string (required to publish)"))),
    }
}

fn string_list(
    obj: &Map<String, Value>,
    field: &str,
    label: &str,
    valid: impl Fn(&str) -> bool,
) -> Result<Vec<String>, ApiError> {
    let Some(value) = obj.get(field) else { return Ok(Vec::new()) };
    let items = value.as_array().ok_or_else(|| manifest_error(format!("{label} must be an array of strings")))?;
    items
        .iter()
        .map(|v| match v.as_str() {
            Some(s) if valid(s) => Ok(s.to_string()),
            _ => Err(manifest_error(format!("{label}: invalid entry {v}"))),
        })
        .collect()
}

fn module_ids(obj: &Map<String, Value>) -> Result<Vec<String>, ApiError> {
    let ids = string_list(obj, "modules", "modules", is_module_id)?;
    if ids.is_empty() {
        return Err(manifest_error("`modules` must list at least one module id"));
    }
    let mut seen = BTreeSet::new();
    if let Some(dup) = ids.iter().find(|id| !seen.insert(id.as_str())) {
        return Err(manifest_error(format!("modules lists `{dup}` twice")));
    }
    Ok(ids)
}

/// `^[a-z][a-z0-9_]*(\.[a-z0-9_]+)*$`, at most 255 bytes.
fn is_module_id(s: &str) -> bool {
    s.len() <= 255
        && s.as_bytes().first().is_some_and(u8::is_ascii_lowercase)
        && s.split('.').all(|seg| {
            !seg.is_empty() && seg.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        })
}

/// A requirement string in the characters of the REQ grammar; the full grammar is checked by resolvers.
fn is_requirement(s: &str) -> bool {
    !s.trim().is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b".-+^~*<>=, ".contains(&b))
}

fn requires_packages(meta: &Map<String, Value>) -> Result<Vec<IndexDep>, ApiError> {
    let raw = string_list(meta, "requires_packages", "meta.requires_packages", |_| true)?;
    raw.into_iter()
        .map(|item| {
            let bad = || manifest_error(format!("meta.requires_packages: `{item}` must be \"name@REQ\""));
            let (name, req) = item.split_once('@').ok_or_else(bad)?;
            let name = PackageName::new(name).map_err(|_| bad())?;
            if !is_requirement(req) {
                return Err(bad());
            }
            Ok(IndexDep { name, req: req.trim().to_string() })
        })
        .collect()
}

/// `<module_root>/a/b/c.x07.json` for module `a.b.c`.
fn module_path(module_root: &str, id: &str) -> String {
    format!("{module_root}/{}.x07.json", id.replace('.', "/"))
}

fn check_contents(files: &ArchiveFiles, module_root: &str, modules: &[String], is_ffi: bool) -> Result<(), ApiError> {
    let expected: BTreeSet<String> = modules.iter().map(|id| module_path(module_root, id)).collect();
    if let Some(missing) = expected.iter().find(|p| !files.contains_key(*p)) {
        return Err(ApiError::new(ErrorCode::InvalidArchive, format!("listed module file `{missing}` is not in the archive")));
    }
    let extra = files.keys().find(|p| *p != MANIFEST_PATH && !expected.contains(*p) && !p.starts_with("ffi/"));
    if let Some(extra) = extra {
        return Err(ApiError::new(
            ErrorCode::InvalidArchive,
            format!("`{extra}` does not belong in the archive: it holds x07-package.json, the listed modules and ffi/ only"),
        ));
    }
    if is_ffi && !files.keys().any(|p| p.starts_with("ffi/")) {
        return Err(ApiError::new(ErrorCode::InvalidArchive, "meta.import_mode is \"ffi\" but the archive has no ffi/ files"));
    }
    Ok(())
}

fn check_module(files: &ArchiveFiles, path: &str, id: &str) -> Result<(), ApiError> {
    let lint = |why: String| ApiError::new(ErrorCode::LintFailed, format!("{path}: {why}"));
    let value: Value = serde_json::from_slice(&files[path]).map_err(|e| lint(format!("not valid JSON ({e})")))?;
    match value.get("kind").and_then(Value::as_str) {
        Some("module") => {}
        other => return Err(lint(format!("`kind` must be \"module\", found {other:?}"))),
    }
    match value.get("module_id").and_then(Value::as_str) {
        Some(found) if found == id => Ok(()),
        other => Err(lint(format!("`module_id` must be \"{id}\" (the id listed in x07-package.json), found {other:?}"))),
    }
}
