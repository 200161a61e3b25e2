//! `x07 pkg sync`: make `.x07/deps/` hold exactly what the lock records, downloading (through
//! the verified archive cache) whatever is missing or was modified, and nothing else.

use std::collections::BTreeSet;
use std::path::Path;

use x07_lock::{DepSource, Lock, LockedPackage};
use x07_registry_client::RegistryClient;
use x07_spec::{RelPath, DEPS_DIR};

use crate::error::DepsError;
use crate::install::{ensure_installed, remove_tree};
use crate::project::Project;

/// What a sync did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SyncReport {
    /// Packages (re)installed, as `name@version`.
    pub installed: Vec<String>,
    /// Directories under `.x07/deps/` removed because the lock does not name them.
    pub pruned: Vec<String>,
}

/// Installs every registry package of `lock` whose tree is missing or differs from the lock,
/// checks local packages, and prunes `.x07/deps/`. The registry is only contacted when a package
/// has to be (re)installed; `client` is made on first need.
pub fn sync_locked(
    project: &Project,
    lock: &Lock,
    client: &dyn Fn() -> Result<RegistryClient, DepsError>,
) -> Result<SyncReport, DepsError> {
    sync_verified(
        project,
        lock,
        lock.verify_against_disk(&project.root),
        client,
    )
}

/// [`sync_locked`] with the lock's problems on disk already known.
pub(crate) fn sync_verified(
    project: &Project,
    lock: &Lock,
    problems: Vec<x07_lock::LockProblem>,
    client: &dyn Fn() -> Result<RegistryClient, DepsError>,
) -> Result<SyncReport, DepsError> {
    let (local, registry): (Vec<_>, Vec<_>) = problems
        .into_iter()
        .partition(|p| p.source == DepSource::Path);
    if !local.is_empty() {
        return Err(DepsError::OnDisk(local));
    }
    let broken: BTreeSet<_> = registry.iter().map(|p| p.name.clone()).collect();
    let mut report = SyncReport::default();
    if !broken.is_empty() {
        let client = client()?;
        let todo: Vec<&LockedPackage> = lock
            .dependencies
            .iter()
            .filter(|d| broken.contains(&d.name))
            .collect();
        for dep in todo {
            install_locked(project, &client, dep)?;
            report
                .installed
                .push(format!("{}@{}", dep.name, dep.version));
        }
        let still = lock.verify_against_disk(&project.root);
        if !still.is_empty() {
            return Err(DepsError::OnDisk(still));
        }
    }
    report.pruned = prune_unlocked(&project.root, lock)?;
    Ok(report)
}

/// Downloads (or takes from the cache) the archive a lock entry names and installs it, refusing
/// an index line or archive that differs from what was locked.
fn install_locked(
    project: &Project,
    client: &RegistryClient,
    dep: &LockedPackage,
) -> Result<(), DepsError> {
    let locked = dep
        .archive_sha256
        .ok_or_else(|| DepsError::NoArchiveDigest {
            name: dep.name.clone(),
            version: dep.version.clone(),
        })?;
    let entry = client.index_entry(&dep.name, &dep.version)?;
    if entry.cksum != locked {
        return Err(DepsError::CksumChanged {
            name: dep.name.clone(),
            version: dep.version.clone(),
            locked,
            index_cksum: entry.cksum,
        });
    }
    let rel = dep
        .path
        .project_relative()
        .ok_or_else(|| DepsError::RegistryPathOutside {
            name: dep.name.clone(),
            version: dep.version.clone(),
            path: dep.path.clone(),
        })?;
    let fetched = client.fetch_archive(&entry)?;
    let digests = ensure_installed(&project.root, rel, &dep.name, &dep.version, &fetched.path)?;
    if digests.files_sha256 != dep.files_sha256 && !dep.files_sha256.is_empty() {
        let detail = dep
            .files_sha256
            .iter()
            .find(|(p, d)| digests.files_sha256.get(*p) != Some(*d))
            .map(|(p, _)| format!("{p} differs"))
            .unwrap_or_else(|| "it has files the lock does not list".to_string());
        return Err(DepsError::ContentsDiffer {
            name: dep.name.clone(),
            version: dep.version.clone(),
            detail,
        });
    }
    Ok(())
}

/// Removes `.x07/deps/<name>/<version>` trees the lock does not name (and temporary directories
/// left by interrupted installs); returns what was removed.
pub fn prune_unlocked(project_root: &Path, lock: &Lock) -> Result<Vec<String>, DepsError> {
    let keep: BTreeSet<String> = lock
        .dependencies
        .iter()
        .filter(|d| d.source == DepSource::Registry)
        .map(|d| d.path.normalized())
        .collect();
    let deps_dir = RelPath::new(DEPS_DIR)
        .expect("static path")
        .resolve(project_root);
    let mut removed = Vec::new();
    let Ok(names) = fs_err::read_dir(&deps_dir) else {
        return Ok(removed);
    };
    for name in names.flatten() {
        let name_path = name.path();
        if !name_path.is_dir() {
            continue;
        }
        let Ok(versions) = fs_err::read_dir(&name_path) else {
            continue;
        };
        let versions: Vec<_> = versions.flatten().collect();
        for version in versions {
            let rel = format!(
                "{DEPS_DIR}/{}/{}",
                name.file_name().to_string_lossy(),
                version.file_name().to_string_lossy()
            );
            if !keep.contains(&rel) {
                let path = version.path();
                if path.is_dir() {
                    remove_tree(&path)?;
                } else {
                    fs_err::remove_file(&path).map_err(|e| DepsError::io("remove", &path, e))?;
                }
                removed.push(rel);
            }
        }
        if fs_err::read_dir(&name_path)
            .map(|mut d| d.next().is_none())
            .unwrap_or(false)
        {
            let _ = fs_err::remove_dir(&name_path);
        }
    }
    removed.sort();
    Ok(removed)
}
