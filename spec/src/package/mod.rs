//! Packages: the manifest `x07-package.json` (`x07.package@0.1.0`), its checks, and which files
//! of a package directory belong to the package.
//!
//! Contract: docs/internals/packages.md. Reading checks syntax (names, versions, module ids,
//! paths, `meta` keys); [`PackageManifest::validate`] checks the files of a package directory;
//! [`PackageManifest::validate_for_publish`] adds the fields a registry requires.

mod check;
mod contents;
mod manifest;
mod meta;
mod module_id;
pub mod tree;

pub use check::{PackageInvalid, PackageProblem};
pub use contents::{
    find_doc_files, is_optional_package_file, CARRIED_DIRS, DOC_FILES, FFI_DIR, TESTS_DIR,
};
pub use manifest::{
    PackageManifest, PACKAGE_FILE_NAME, PACKAGE_NAME_MAX_LEN, PACKAGE_SCHEMA_VERSION,
};
pub use meta::{
    DeterminismTier, FfiLibName, FfiLibNameError, ImportMode, PackageMeta, PackageRequirement,
    PackageRequirementError, VersionReqText, VersionReqTextError, Visibility,
};
pub use module_id::{ModuleId, ModuleIdError, MODULE_ID_MAX_LEN};
