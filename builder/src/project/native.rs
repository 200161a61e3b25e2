//! Native inputs of a build: C sources and libraries of packages (`ffi/*.c`, `meta.ffi_libs`).
//!
//! A module root `<pkg>/<module_root>` whose parent holds `x07-package.json` belongs to a package;
//! that package's `ffi/*.c` (sorted) are compiled and its `meta.ffi_libs` linked — for the roots a
//! program actually loads modules from (`Target::native_for`). A project's own `link.libs` in
//! x07.json are linked too.

use std::path::{Path, PathBuf};

use crate::cc::NativeInputs;

use super::ProjectError;

fn package_error(path: &Path, message: impl Into<String>) -> ProjectError {
    ProjectError::Package {
        path: path.to_path_buf(),
        message: message.into(),
    }
}

fn package_native(pkg_dir: &Path, native: &mut NativeInputs) -> Result<(), ProjectError> {
    let manifest = pkg_dir.join("x07-package.json");
    let text = std::fs::read(&manifest)
        .map_err(|e| package_error(&manifest, format!("cannot read: {e}")))?;
    let value: serde_json::Value = serde_json::from_slice(&text)
        .map_err(|e| package_error(&manifest, format!("malformed JSON: {e}")))?;
    if let Some(libs) = value.pointer("/meta/ffi_libs").and_then(|v| v.as_array()) {
        for lib in libs {
            let Some(name) = lib.as_str().filter(|n| {
                !n.is_empty()
                    && n.chars()
                        .all(|c| c.is_ascii_alphanumeric() || "_+-.".contains(c))
            }) else {
                return Err(package_error(
                    &manifest,
                    "meta.ffi_libs entries must be library names like \"curl\"",
                ));
            };
            if !native.libs.iter().any(|l| l == name) {
                native.libs.push(name.to_string());
            }
        }
    }
    let ffi = pkg_dir.join("ffi");
    if ffi.is_dir() {
        let mut sources: Vec<PathBuf> = fs_err::read_dir(&ffi)
            .map_err(|e| package_error(&ffi, format!("cannot list: {e}")))?
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "c"))
            .collect();
        sources.sort();
        for s in sources {
            let abs = std::path::absolute(&s).unwrap_or(s);
            if !native.sources.contains(&abs) {
                native.sources.push(abs);
            }
        }
    }
    Ok(())
}

/// The native inputs for module roots `roots` plus the project's own `link.libs`.
pub fn discover_native<'a>(
    roots: impl Iterator<Item = &'a Path>,
    project_libs: &[String],
) -> Result<NativeInputs, ProjectError> {
    let mut native = NativeInputs::default();
    for root in roots {
        if let Some(pkg) = root
            .parent()
            .filter(|p| p.join("x07-package.json").is_file())
        {
            package_native(pkg, &mut native)?;
        }
    }
    for lib in project_libs {
        if !native.libs.contains(lib) {
            native.libs.push(lib.clone());
        }
    }
    Ok(native)
}
