//! Native inputs of a build: C sources and libraries of packages (`ffi/*.c`, `meta.ffi_libs`).
//!
//! A module root `<pkg>/<module_root>` whose parent holds `x07-package.json` belongs to a package;
//! that package's `ffi/*.c` (sorted) are compiled and its `meta.ffi_libs` linked. A project's own
//! `link.libs` in x07.json are linked too.

use std::path::{Path, PathBuf};

use x07_builder::cc::NativeInputs;

use crate::error::CliError;

fn package_native(pkg_dir: &Path, native: &mut NativeInputs) -> Result<(), CliError> {
    let manifest = pkg_dir.join("x07-package.json");
    let text = fs_err::read(&manifest).map_err(|e| {
        CliError::setup(
            "X07-PKG-0001",
            format!("cannot read {}: {e}", manifest.display()),
        )
    })?;
    let value: serde_json::Value = serde_json::from_slice(&text).map_err(|e| {
        CliError::setup(
            "X07-PKG-0001",
            format!("{}: malformed JSON: {e}", manifest.display()),
        )
    })?;
    if let Some(libs) = value.pointer("/meta/ffi_libs").and_then(|v| v.as_array()) {
        for lib in libs {
            let Some(name) = lib.as_str().filter(|n| {
                !n.is_empty()
                    && n.chars()
                        .all(|c| c.is_ascii_alphanumeric() || "_+-.".contains(c))
            }) else {
                return Err(CliError::setup(
                    "X07-PKG-0001",
                    format!(
                        "{}: meta.ffi_libs entries must be library names like \"curl\"",
                        manifest.display()
                    ),
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
            .map_err(|e| CliError::setup("X07-PKG-0001", e.to_string()))?
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
pub fn discover<'a>(
    roots: impl Iterator<Item = &'a Path>,
    project_libs: &[String],
) -> Result<NativeInputs, CliError> {
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
