//! Putting one registry package's files under `.x07/deps/<name>/<version>`: kept when the
//! directory already holds exactly the archive's files, otherwise replaced all at once.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use x07_lock::{hash_package_dir, PackageDigests};
use x07_spec::archive::{list, unpack, UnpackLimits};
use x07_spec::{PackageName, PackageVersion, RelPath, Sha256Digest};

use crate::error::DepsError;

/// The package tree `rel` under `project_root` holds exactly the files of `archive`; returns
/// the digests of the installed tree.
pub(crate) fn ensure_installed(
    project_root: &Path,
    rel: &RelPath,
    name: &PackageName,
    version: &PackageVersion,
    archive: &Path,
) -> Result<PackageDigests, DepsError> {
    let unpack_error = |source| DepsError::Unpack {
        name: name.clone(),
        version: version.clone(),
        archive: archive.to_path_buf(),
        source,
    };
    let bytes = fs_err::read(archive).map_err(|e| DepsError::io("read", archive, e))?;
    let expected: BTreeMap<String, Sha256Digest> = list(&bytes)
        .map_err(unpack_error)?
        .into_iter()
        .map(|e| (e.path.as_str().to_string(), e.sha256))
        .collect();
    let dest = rel.resolve(project_root);
    if fs_err::symlink_metadata(&dest).is_ok() {
        if let Ok(found) = hash_package_dir(&dest) {
            if same_files(&found, &expected) && count_files(&dest) == Some(expected.len()) {
                return Ok(found);
            }
        }
        remove_tree(&dest)?;
    }
    unpack(&bytes, &dest, &UnpackLimits::CONTRACT).map_err(unpack_error)?;
    let found = hash_package_dir(&dest).map_err(|e| DepsError::ContentsDiffer {
        name: name.clone(),
        version: version.clone(),
        detail: e.to_string(),
    })?;
    if !same_files(&found, &expected) {
        return Err(DepsError::ContentsDiffer {
            name: name.clone(),
            version: version.clone(),
            detail: "the unpacked tree does not hash to the archive's entries".to_string(),
        });
    }
    if &found.name != name || &found.version != version {
        return Err(DepsError::ContentsDiffer {
            name: name.clone(),
            version: version.clone(),
            detail: format!("its x07-package.json says {} {}", found.name, found.version),
        });
    }
    Ok(found)
}

fn same_files(found: &PackageDigests, expected: &BTreeMap<String, Sha256Digest>) -> bool {
    found.files_sha256.len() == expected.len()
        && found
            .files_sha256
            .iter()
            .all(|(path, digest)| expected.get(path.as_str()) == Some(digest))
}

/// Removes a directory tree so that no half-removed tree is ever left at `dir`: it is renamed
/// to a hidden sibling first.
pub(crate) fn remove_tree(dir: &Path) -> Result<(), DepsError> {
    let parent = dir
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."));
    let trash = tempfile::Builder::new()
        .prefix(".x07-trash-")
        .tempdir_in(&parent)
        .map_err(|e| DepsError::io("create a temporary directory in", &parent, e))?;
    let target = trash.path().join("old");
    fs_err::rename(dir, &target).map_err(|e| DepsError::io("move aside", dir, e))?;
    drop(trash); // removes the whole tree
    Ok(())
}

/// How many non-directory entries the tree holds (`None` when it cannot be read).
fn count_files(dir: &Path) -> Option<usize> {
    let mut count = 0;
    for entry in fs_err::read_dir(dir).ok()? {
        let entry = entry.ok()?;
        if entry.file_type().ok()?.is_dir() {
            count += count_files(&entry.path())?;
        } else {
            count += 1;
        }
    }
    Some(count)
}
