//! A project as dependency commands see it: its manifest, its requirements, its lock.

use std::path::{Path, PathBuf};

use x07_lock::{Lock, RootRequirement};
use x07_spec::{DocumentError, PackageName, PackageVersion, ProjectManifest, RelPath, DEPS_DIR};

use crate::error::DepsError;

/// A loaded project.
#[derive(Debug, Clone)]
pub struct Project {
    /// The directory holding x07.json.
    pub root: PathBuf,
    /// x07.json.
    pub manifest_path: PathBuf,
    /// Its contents.
    pub manifest: ProjectManifest,
}

impl Project {
    /// Reads `manifest_path` (x07.json).
    pub fn load(manifest_path: &Path) -> Result<Self, DepsError> {
        let manifest =
            ProjectManifest::load(manifest_path).map_err(|e| DepsError::Manifest(Box::new(e)))?;
        let root = match manifest_path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        Ok(Self {
            root,
            manifest_path: manifest_path.to_path_buf(),
            manifest,
        })
    }

    /// The lockfile path; an error when x07.json disables locking.
    pub fn lock_path(&self) -> Result<PathBuf, DepsError> {
        self.manifest
            .lockfile_path(&self.root)
            .ok_or_else(|| DepsError::LockingDisabled {
                file: self.manifest_path.clone(),
            })
    }

    /// The lock, if the file exists.
    pub fn load_lock(&self) -> Result<Option<Lock>, DepsError> {
        let path = self.lock_path()?;
        match Lock::load(&path) {
            Ok(lock) => Ok(Some(lock)),
            Err(DocumentError::Read { source, .. })
                if source.kind() == std::io::ErrorKind::NotFound =>
            {
                Ok(None)
            }
            Err(e) => Err(DepsError::LockInvalid(Box::new(e))),
        }
    }

    /// Every requirement in `dependencies`, parsed (`patch` overrides are refused).
    pub fn requirements(&self) -> Result<Vec<RootRequirement>, DepsError> {
        Ok(x07_lock::root_requirements(
            &self.manifest_path,
            &self.manifest,
        )?)
    }
}

/// Where a registry package is unpacked: `.x07/deps/<name>/<version>`.
pub fn registry_package_path(name: &PackageName, version: &PackageVersion) -> RelPath {
    RelPath::new(format!("{DEPS_DIR}/{name}/{version}")).expect("names and versions are path-safe")
}
