//! Checks of a manifest against its package directory, and the extra rules for publishing.

use std::fmt;
use std::path::Path;

use crate::document::{FieldError, FieldPath};
use crate::package::contents::FFI_DIR;
use crate::package::manifest::PackageManifest;
use crate::package::meta::ImportMode;
use crate::package::module_id::ModuleId;
use crate::package::tree::{find_kind, FoundKind};

/// One reason a package cannot be packed or published.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PackageProblem {
    /// A field breaks a rule (the publish rules included).
    Field(FieldError),
    /// A listed module has no file at `<module_root>/<a/b/c>.x07.json`.
    ModuleFileMissing {
        /// Where the module is listed (`modules[2]`).
        field: FieldPath,
        /// The module.
        module: ModuleId,
        /// The expected file, relative to the package directory.
        path: String,
    },
    /// A listed module's path is not a regular file reached through plain directories.
    ModuleFileNotRegular {
        /// Where the module is listed.
        field: FieldPath,
        /// The module.
        module: ModuleId,
        /// The file, relative to the package directory.
        path: String,
        /// What is there instead.
        found: FoundKind,
    },
    /// `meta.import_mode` is `ffi` but `ffi/` is not a plain directory holding a `.c` file.
    FfiSourcesMissing {
        /// What `ffi` is (a directory without `.c` files, nothing, a symlink, ...).
        found: FoundKind,
    },
}

impl PackageProblem {
    /// Whether this is about a module file rather than a manifest field.
    pub fn is_module_file(&self) -> bool {
        matches!(
            self,
            Self::ModuleFileMissing { .. } | Self::ModuleFileNotRegular { .. }
        )
    }
}

impl fmt::Display for PackageProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Field(e) => write!(f, "{e}"),
            Self::ModuleFileMissing { field, module, path } => {
                write!(f, "{field}: module `{module}` has no file {path}; create it or remove the module from the list")
            }
            Self::ModuleFileNotRegular { field, module, path, found } => write!(
                f,
                "{field}: the file of module `{module}`, {path}, is {} (through its directories); packages hold regular files only",
                found.describe()
            ),
            Self::FfiSourcesMissing { found } => {
                let what = match found {
                    FoundKind::Directory => format!("{FFI_DIR}/ holds no .c file"),
                    FoundKind::Missing => format!("there is no {FFI_DIR}/ directory"),
                    other => format!("{FFI_DIR} is {} (packages hold plain directories and regular files only)", other.describe()),
                };
                write!(f, "meta.import_mode: is \"ffi\" but {what}; add the C sources under {FFI_DIR}/ or use \"handwritten\"")
            }
        }
    }
}

/// The package fails its checks; every problem found is listed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", .problems.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
pub struct PackageInvalid {
    /// What is wrong, in manifest order.
    pub problems: Vec<PackageProblem>,
}

impl PackageInvalid {
    /// Whether any problem is about a module file (the CLI gives those their own code).
    pub fn has_module_file_problem(&self) -> bool {
        self.problems.iter().any(PackageProblem::is_module_file)
    }
}

fn result(problems: Vec<PackageProblem>) -> Result<(), PackageInvalid> {
    if problems.is_empty() {
        Ok(())
    } else {
        Err(PackageInvalid { problems })
    }
}

impl PackageManifest {
    /// Checks the manifest against `package_dir`: every listed module is a regular file under
    /// `module_root` (no symlink on the way), and an `ffi` package has C sources.
    /// Syntax (name, version, module ids, paths) was checked when the manifest was read.
    pub fn validate(&self, package_dir: &Path) -> Result<(), PackageInvalid> {
        let mut problems = Vec::new();
        let modules_field = FieldPath::root().key("modules");
        for (i, module) in self.modules.iter().enumerate() {
            let path = self.module_file(module);
            let field = modules_field.index(i);
            let found = find_kind(package_dir, &path).unwrap_or(FoundKind::Missing);
            match found {
                FoundKind::Regular(_) => {}
                FoundKind::Missing => problems.push(PackageProblem::ModuleFileMissing {
                    field,
                    module: module.clone(),
                    path,
                }),
                other => problems.push(PackageProblem::ModuleFileNotRegular {
                    field,
                    module: module.clone(),
                    path,
                    found: other,
                }),
            }
        }
        if self.meta.import_mode == Some(ImportMode::Ffi) {
            let found = find_kind(package_dir, FFI_DIR).unwrap_or(FoundKind::Missing);
            if found != FoundKind::Directory || !has_c_sources(&package_dir.join(FFI_DIR)) {
                problems.push(PackageProblem::FfiSourcesMissing { found });
            }
        }
        result(problems)
    }

    /// The extra rules for publishing: non-empty `description`, `docs` and `license`, and a
    /// `meta.x07c_compat` requirement.
    pub fn validate_for_publish(&self) -> Result<(), PackageInvalid> {
        let root = FieldPath::root();
        let mut problems = Vec::new();
        let texts = [
            ("description", &self.description, "a one-line summary"),
            ("docs", &self.docs, "Markdown documentation"),
            (
                "license",
                &self.license,
                "an SPDX license expression such as \"MIT OR Apache-2.0\"",
            ),
        ];
        for (key, value, what) in texts {
            if value.as_deref().is_none_or(|s| s.trim().is_empty()) {
                problems.push(PackageProblem::Field(FieldError::new(
                    root.key(key),
                    format!("publishing needs {what}; it is missing or empty"),
                )));
            }
        }
        if self.meta.x07c_compat.is_none() {
            problems.push(PackageProblem::Field(FieldError::new(
                root.key("meta").key("x07c_compat"),
                "publishing needs the toolchain versions the package works with, e.g. \">=0.1.0, <0.2.0\"",
            )));
        }
        result(problems)
    }
}

/// Whether the directory `ffi_dir` holds at least one top-level `*.c` regular file.
fn has_c_sources(ffi_dir: &Path) -> bool {
    let Ok(entries) = fs_err::read_dir(ffi_dir) else {
        return false;
    };
    entries.flatten().any(|e| {
        e.file_name().to_str().is_some_and(|n| n.ends_with(".c"))
            && e.file_type().is_ok_and(|t| t.is_file())
    })
}
