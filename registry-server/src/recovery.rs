//! Start-up recovery: what a server killed mid-publish (kill -9, power loss) can leave behind is
//! removed before serving. A publish writes owners.json (a first publish's claim), then the
//! archive, then the index line, each by temp file and rename; so the leftovers are temp files,
//! archives no index line names, and claims of names that never got a version. Index lines, the
//! archives they name and every other file are never touched.

use std::path::{Path, PathBuf};

use x07_spec::PackageName;

use crate::index_store::{IndexStore, UnreadableLine};
use crate::owners::OwnersFile;
use crate::root::{RegistryRoot, RootError};

/// The prefix of `x07_spec::write_atomic`'s temp files (index files, owners.json, config.json).
const ATOMIC_TEMP_PREFIX: &str = ".x07-tmp-";

/// What start-up recovery found and did.
#[derive(Debug, Default)]
pub struct Recovery {
    /// Temp files and unreferenced archives removed.
    pub removed: Vec<PathBuf>,
    /// Names whose claim was dropped: owned, but without any index line.
    pub unclaimed: Vec<PackageName>,
    /// Index lines this server cannot read (kept and served as they are).
    pub unreadable: Vec<UnreadableLine>,
    /// Archives index lines name but that are missing (nothing is done about them).
    pub missing_archives: Vec<PathBuf>,
    /// Files under `dl/` that are neither archives nor temp files (left alone).
    pub unknown: Vec<PathBuf>,
}

impl Recovery {
    /// Logs what was found, one event per item.
    pub fn log(&self) {
        for path in &self.removed {
            tracing::info!(path = %path.display(), "removed a file left by an interrupted publish");
        }
        for name in &self.unclaimed {
            tracing::info!(package = %name, "dropped the claim on a name that never got a version");
        }
        for line in &self.unreadable {
            tracing::warn!(
                file = %line.file.display(),
                line = line.line,
                reason = %line.reason,
                "index line cannot be read; it is kept and served as it is (clients skip it)"
            );
        }
        for path in &self.missing_archives {
            tracing::warn!(path = %path.display(), "an index line names this archive but it is missing; restore it from a backup");
        }
        for path in &self.unknown {
            tracing::warn!(path = %path.display(), "unexpected file in the archive directory; left alone");
        }
    }
}

/// Removes leftovers of interrupted publishes under `root` (see the module docs) and drops claims
/// of names without index lines from `owners` (saved when changed).
pub fn recover(
    root: &RegistryRoot,
    index: &IndexStore,
    owners: &mut OwnersFile,
    unreadable: Vec<UnreadableLine>,
) -> Result<Recovery, RootError> {
    let mut report = Recovery {
        unreadable,
        ..Recovery::default()
    };
    for dir in [root.dir().to_path_buf(), root.dir().join("keys")] {
        remove_temp_files(&dir, false, &mut report.removed)?;
    }
    remove_temp_files(&root.index_dir(), true, &mut report.removed)?;
    recover_archives(root, index, &mut report)?;

    let claimed_without_lines: Vec<PackageName> = owners
        .packages()
        .filter(|name| {
            index
                .get(name)
                .is_none_or(|f| f.entries.is_empty() && f.unreadable.is_empty())
        })
        .cloned()
        .collect();
    if !claimed_without_lines.is_empty() {
        for name in &claimed_without_lines {
            owners.drop_package(name);
        }
        owners.save(&root.owners_path())?;
        report.unclaimed = claimed_without_lines;
    }
    Ok(report)
}

/// Removes `write_atomic` temp files directly in `dir` (and below it when `deep`).
fn remove_temp_files(dir: &Path, deep: bool, removed: &mut Vec<PathBuf>) -> Result<(), RootError> {
    let items = match fs_err::read_dir(dir) {
        Ok(items) => items,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e.into()),
    };
    for item in items {
        let item = item?;
        let path = item.path();
        let kind = item.file_type()?;
        if kind.is_dir() {
            if deep {
                remove_temp_files(&path, true, removed)?;
            }
        } else if kind.is_file()
            && item
                .file_name()
                .to_string_lossy()
                .starts_with(ATOMIC_TEMP_PREFIX)
        {
            fs_err::remove_file(&path)?;
            removed.push(path);
        }
    }
    Ok(())
}

/// In `dl/<name>/`: removes temp files (dot files) and archives no index line names, and the
/// directories this empties; notes archives that lines name but that are missing.
fn recover_archives(
    root: &RegistryRoot,
    index: &IndexStore,
    report: &mut Recovery,
) -> Result<(), RootError> {
    let dl = root.dl_dir();
    for item in fs_err::read_dir(&dl)? {
        let item = item?;
        let dir = item.path();
        if !item.file_type()?.is_dir() {
            report.unknown.push(dir);
            continue;
        }
        let name = item
            .file_name()
            .to_str()
            .and_then(|n| PackageName::new(n).ok());
        let referenced = name
            .as_ref()
            .and_then(|n| index.get(n))
            .map(|f| f.archive_names())
            .unwrap_or_default();
        for file in fs_err::read_dir(&dir)? {
            let file = file?;
            let path = file.path();
            let file_name = file.file_name().to_string_lossy().into_owned();
            let is_file = file.file_type()?.is_file();
            if is_file && file_name.starts_with('.') {
                fs_err::remove_file(&path)?;
                report.removed.push(path);
            } else if is_file && name.is_some() && file_name.ends_with(".x07pkg") {
                if !referenced.contains(&file_name) {
                    fs_err::remove_file(&path)?;
                    report.removed.push(path);
                }
            } else {
                report.unknown.push(path);
            }
        }
        if fs_err::read_dir(&dir)?.next().is_none() {
            fs_err::remove_dir(&dir)?;
        }
    }
    for (name, file) in index.snapshot() {
        for entry in &file.entries {
            let path = root.archive_path(&name, &entry.version);
            if !path.exists() {
                report.missing_archives.push(path);
            }
        }
    }
    Ok(())
}
