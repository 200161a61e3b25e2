//! GC roots (`$X07_HOME/gcroots/`) and garbage collection of unreferenced entries.

use std::collections::{BTreeMap, BTreeSet};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};
use x07_spec::{canonical_file_bytes, write_atomic, Sha256Digest};

use super::fs_tree::{remove_tree, tree_size};
use super::lock::StoreLock;
use super::publish::STAGING_PREFIX;
use super::{StoreEntry, StoreError, StoreRoot};

/// `schema_version` of a GC root file.
pub const GC_ROOT_SCHEMA: &str = "x07.store.gcroot@0.1.0";
/// Staging directories older than this are leftovers of crashed builds.
pub const STALE_STAGING_AGE: Duration = Duration::from_secs(60 * 60);
/// Prefix entries are renamed to before deletion, so they vanish from lookups atomically.
const TRASH_PREFIX: &str = ".gc-";

/// A GC root: the entries a project currently uses, one per artifact name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GcRoot {
    /// Always [`GC_ROOT_SCHEMA`].
    pub schema_version: String,
    /// The project directory (canonical path). The root dies when this directory is gone.
    pub project: PathBuf,
    /// Artifact name → entry directory name (`<hash>-<name>`).
    pub entries: BTreeMap<String, String>,
}

/// What [`StoreRoot::gc`] removed (or, with `dry_run`, would remove).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct GcReport {
    /// Whether nothing was actually deleted.
    pub dry_run: bool,
    /// Entries no live root refers to.
    pub removed_entries: Vec<PathBuf>,
    /// Entries kept because a live root refers to them.
    pub kept_entries: Vec<PathBuf>,
    /// Root files whose project directory no longer exists.
    pub removed_roots: Vec<PathBuf>,
    /// Root files that could not be parsed; left in place, they protect nothing.
    pub unreadable_roots: Vec<PathBuf>,
    /// Staging directories of crashed builds and half-deleted entries.
    pub removed_temp: Vec<PathBuf>,
    /// Bytes freed by removing entries and temp directories.
    pub freed_bytes: u64,
}

impl StoreRoot {
    /// Records that the project in `project_dir` uses `entry`, so `gc` keeps it.
    /// Fails with [`StoreError::EntryMissing`] if `entry` was collected meanwhile.
    pub fn register_root(&self, project_dir: &Path, entry: &StoreEntry) -> Result<(), StoreError> {
        let _lock = StoreLock::acquire(self.path())?;
        if !std::fs::symlink_metadata(&entry.dir).is_ok_and(|m| m.is_dir()) {
            return Err(StoreError::EntryMissing {
                entry: entry.dir.clone(),
            });
        }
        self.write_root_locked(project_dir, entry)
    }

    /// Every readable GC root.
    pub fn roots(&self) -> Result<Vec<(PathBuf, GcRoot)>, StoreError> {
        Ok(self
            .read_roots()?
            .into_iter()
            .filter_map(|(p, r)| r.map(|r| (p, r)))
            .collect())
    }

    /// The root file of a project: `gcroots/<sha256 of the canonical project path>.json`.
    fn root_file(&self, canonical_project: &Path) -> PathBuf {
        let key = Sha256Digest::of(canonical_project.as_os_str().as_bytes()).hex();
        self.gcroots_dir().join(format!("{key}.json"))
    }

    /// Adds `entry` to the project's root file; the caller holds the store lock.
    pub(crate) fn write_root_locked(
        &self,
        project_dir: &Path,
        entry: &StoreEntry,
    ) -> Result<(), StoreError> {
        let project = fs_err::canonicalize(project_dir)?;
        let file = self.root_file(&project);
        let mut root = match fs_err::read(&file) {
            Ok(bytes) => serde_json::from_slice::<GcRoot>(&bytes)
                .ok()
                .filter(|r| r.project == project),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(e.into()),
        }
        .unwrap_or_else(|| GcRoot {
            schema_version: GC_ROOT_SCHEMA.to_string(),
            project,
            entries: BTreeMap::new(),
        });
        let dir_name = entry.dir_name();
        if root.entries.get(entry.name.as_str()) == Some(&dir_name) {
            return Ok(());
        }
        root.entries.insert(entry.name.to_string(), dir_name);
        let bytes = canonical_file_bytes(&root).map_err(|source| StoreError::Canonical {
            what: "a GC root",
            source,
        })?;
        fs_err::create_dir_all(self.gcroots_dir())?;
        write_atomic(&file, &bytes).map_err(|source| StoreError::Io {
            action: "write",
            path: file.clone(),
            source,
        })
    }

    /// Every `*.json` in the roots directory, parsed when possible.
    fn read_roots(&self) -> Result<Vec<(PathBuf, Option<GcRoot>)>, StoreError> {
        let dir = self.gcroots_dir();
        let items = match fs_err::read_dir(dir) {
            Ok(items) => items,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(e.into()),
        };
        let mut roots = Vec::new();
        for item in items {
            let path = item?.path();
            if path.extension().is_some_and(|e| e == "json") {
                let parsed = fs_err::read(&path)
                    .ok()
                    .and_then(|b| serde_json::from_slice::<GcRoot>(&b).ok())
                    .filter(|r| r.schema_version == GC_ROOT_SCHEMA);
                roots.push((path, parsed));
            }
        }
        roots.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(roots)
    }

    /// Removes entries no live root refers to, roots of vanished projects, and leftovers of
    /// crashed builds. Holds the store lock throughout, so it never races a publish.
    pub fn gc(&self, dry_run: bool) -> Result<GcReport, StoreError> {
        let _lock = StoreLock::acquire(self.path())?;
        let mut report = GcReport {
            dry_run,
            ..GcReport::default()
        };
        let mut live = BTreeSet::new();
        for (path, root) in self.read_roots()? {
            match root {
                None => report.unreadable_roots.push(path),
                Some(root) if root.project.is_dir() => live.extend(root.entries.into_values()),
                Some(_) => {
                    if !dry_run {
                        fs_err::remove_file(&path)?;
                    }
                    report.removed_roots.push(path);
                }
            }
        }
        let mut items: Vec<_> = fs_err::read_dir(self.path())?.collect::<Result<_, _>>()?;
        items.sort_by_key(|i| i.file_name());
        let now = SystemTime::now();
        for item in items {
            let Some(name) = item.file_name().to_str().map(str::to_string) else {
                continue;
            };
            let path = item.path();
            let is_dir = item.file_type()?.is_dir();
            let stale_staging = name.starts_with(STAGING_PREFIX)
                && item
                    .metadata()?
                    .modified()
                    .ok()
                    .and_then(|m| now.duration_since(m).ok())
                    .is_some_and(|age| age > STALE_STAGING_AGE);
            if is_dir && (stale_staging || name.starts_with(TRASH_PREFIX)) {
                report.freed_bytes += tree_size(&path);
                if !dry_run {
                    remove_tree(&path)?;
                }
                report.removed_temp.push(path);
            } else if is_dir && StoreEntry::from_dir_name(self.path(), &name).is_some() {
                if live.contains(&name) {
                    report.kept_entries.push(path);
                    continue;
                }
                report.freed_bytes += tree_size(&path);
                if !dry_run {
                    // Rename first so lookups never see a half-deleted entry.
                    let trash = self.path().join(format!("{TRASH_PREFIX}{name}"));
                    if trash.exists() {
                        remove_tree(&trash)?;
                    }
                    fs_err::rename(&path, &trash)?;
                    remove_tree(&trash)?;
                }
                report.removed_entries.push(path);
            }
        }
        Ok(report)
    }
}
