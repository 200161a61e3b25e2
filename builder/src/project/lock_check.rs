//! The builder verifies the lock itself: it fits x07.json (decided from the two files alone, by
//! x07-lock) and every pinned dependency file on disk has the pinned digest. Builds and runs never
//! change the lock and never use a file it does not pin.

use std::path::Path;

use x07_lock::Lock;
use x07_spec::ProjectManifest;

use super::ProjectError;

/// The toolchain version the resolver checks `x07c_compat` against.
fn toolchain_version() -> semver::Version {
    semver::Version::parse(crate::build::TOOLCHAIN_VERSION).expect("the crate version is semver")
}

/// The project's lock, checked against x07.json and against every dependency file on disk;
/// `None` when the project has no dependencies and no lockfile.
pub(super) fn load_checked_lock(
    root: &Path,
    manifest_path: &Path,
    manifest: &ProjectManifest,
    lockfile: Option<&Path>,
) -> Result<Option<Lock>, ProjectError> {
    let has_deps = !manifest.dependencies.is_empty();
    let path = match lockfile {
        Some(p) => p,
        None if has_deps => {
            return Err(ProjectError::LockDisabled {
                manifest: manifest_path.to_path_buf(),
            })
        }
        None => return Ok(None),
    };
    if !path.exists() {
        if has_deps {
            return Err(ProjectError::LockMissing {
                lockfile: path.to_path_buf(),
            });
        }
        return Ok(None);
    }
    let lock = Lock::load(path).map_err(|e| ProjectError::LockInvalid(Box::new(e)))?;
    let reqs = x07_lock::root_requirements(manifest_path, manifest)?;
    if let Err(reasons) = x07_lock::lock_satisfies(&reqs, &lock, None, &toolchain_version()) {
        return Err(ProjectError::LockStale {
            lockfile: path.to_path_buf(),
            reasons,
        });
    }
    let problems = lock.verify_against_disk(root);
    if !problems.is_empty() {
        return Err(ProjectError::LockOnDisk {
            lockfile: path.to_path_buf(),
            problems: problems.iter().map(ToString::to_string).collect(),
        });
    }
    Ok(Some(lock))
}
