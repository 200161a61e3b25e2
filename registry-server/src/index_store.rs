//! The index held in memory: per package its lines, the NDJSON bytes and their ETag, replaced on write.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use axum::body::Bytes;
use x07_spec::{PackageName, PackageVersion, Sha256Digest};

use crate::index_entry::{shard_path, IndexEntry};
use crate::root::{RegistryRoot, RootError};

/// One package's index file as served.
#[derive(Debug)]
pub struct IndexFile {
    /// Lines in version order.
    pub entries: Vec<IndexEntry>,
    /// Lines this server cannot read (written under older, looser rules, such as a version past
    /// u64): kept verbatim after the entries and served as they are; clients skip them.
    pub unreadable: Vec<String>,
    /// The NDJSON body.
    pub body: Bytes,
    /// `"sha256:<hex of body>"`, quotes included.
    pub etag: String,
}

impl IndexFile {
    /// Sorts `entries` by version and renders the body and ETag.
    pub(crate) fn new(mut entries: Vec<IndexEntry>, unreadable: Vec<String>) -> Self {
        entries.sort_by(|a, b| {
            a.version
                .cmp(&b.version)
                .then_with(|| a.version.as_str().cmp(b.version.as_str()))
        });
        let mut body = Vec::new();
        for e in &entries {
            body.extend_from_slice(&e.line_bytes());
            body.push(b'\n');
        }
        for line in &unreadable {
            body.extend_from_slice(line.as_bytes());
            body.push(b'\n');
        }
        let etag = format!("\"{}\"", Sha256Digest::of(&body));
        Self {
            entries,
            unreadable,
            body: Bytes::from(body),
            etag,
        }
    }

    /// The line of `version` (build metadata ignored), if published.
    pub fn entry(&self, version: &PackageVersion) -> Option<&IndexEntry> {
        self.entries.iter().find(|e| &e.version == version)
    }

    /// The highest version that is not yanked, else the highest version.
    pub fn latest(&self) -> Option<&IndexEntry> {
        self.entries
            .iter()
            .rev()
            .find(|e| !e.yanked)
            .or_else(|| self.entries.last())
    }

    /// The archive file names (`<version>.x07pkg`) the file's lines refer to, unreadable lines
    /// included when they still name a version.
    pub fn archive_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .entries
            .iter()
            .map(|e| format!("{}.x07pkg", e.version.as_str()))
            .collect();
        for line in &self.unreadable {
            let value: Option<serde_json::Value> = serde_json::from_str(line).ok();
            if let Some(v) = value
                .as_ref()
                .and_then(|v| v.get("version"))
                .and_then(|v| v.as_str())
            {
                names.push(format!("{v}.x07pkg"));
            }
        }
        names
    }
}

/// A line of an index file that could not be read at start.
#[derive(Debug, Clone)]
pub struct UnreadableLine {
    /// The index file.
    pub file: PathBuf,
    /// 1-based line number.
    pub line: usize,
    /// Why it could not be read.
    pub reason: String,
}

/// All index files of a registry, in memory; clones share the files (a shared registry's
/// change listener updates the same map the server reads).
#[derive(Debug, Default, Clone)]
pub struct IndexStore {
    files: Arc<RwLock<HashMap<PackageName, Arc<IndexFile>>>>,
}

impl IndexStore {
    /// Reads every index file under `DIR/index`; lines it cannot read are kept aside and listed.
    pub fn load(root: &RegistryRoot) -> Result<(Self, Vec<UnreadableLine>), RootError> {
        let mut files = HashMap::new();
        let mut unreadable = Vec::new();
        let index_dir = root.index_dir();
        let mut pending = vec![index_dir.clone()];
        while let Some(dir) = pending.pop() {
            for item in fs_err::read_dir(&dir)? {
                let item = item?;
                let path = item.path();
                if item.file_type()?.is_dir() {
                    pending.push(path);
                    continue;
                }
                let Some(name) = package_of_index_path(&index_dir, &path) else {
                    continue;
                };
                let (entries, raw) = read_index_file(&path, &name, &mut unreadable)?;
                files.insert(name, Arc::new(IndexFile::new(entries, raw)));
            }
        }
        Ok((
            Self {
                files: Arc::new(RwLock::new(files)),
            },
            unreadable,
        ))
    }

    /// The index file of `name`.
    pub fn get(&self, name: &PackageName) -> Option<Arc<IndexFile>> {
        self.files
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(name)
            .cloned()
    }

    /// The index file of a package given as text (`None` for invalid names).
    pub fn get_by_name_str(&self, name: &str) -> Option<Arc<IndexFile>> {
        self.get(&PackageName::new(name).ok()?)
    }

    /// The index file at `rel` (a shard path such as `in/te/integrity-demo`).
    pub fn get_by_path(&self, rel: &str) -> Option<Arc<IndexFile>> {
        let name = PackageName::new(rel.rsplit('/').next()?).ok()?;
        if shard_path(&name) != rel {
            return None;
        }
        self.get(&name)
    }

    /// Every package's index file.
    pub fn snapshot(&self) -> Vec<(PackageName, Arc<IndexFile>)> {
        let files = self.files.read().unwrap_or_else(|p| p.into_inner());
        files.iter().map(|(n, f)| (n.clone(), f.clone())).collect()
    }

    /// Writes `entries` (and the file's unreadable lines, unchanged) as the index file of `name`
    /// under `root` (temp + rename), then serves it. Callers hold the package's lock, so writes
    /// of one package never interleave.
    pub fn replace(
        &self,
        root: &RegistryRoot,
        name: &PackageName,
        entries: Vec<IndexEntry>,
    ) -> std::io::Result<Arc<IndexFile>> {
        let file = self.render(name, entries);
        let path = root.index_file(name);
        if let Some(parent) = path.parent() {
            fs_err::create_dir_all(parent)?;
        }
        x07_spec::write_atomic(&path, &file.body)?;
        self.install(name, file.clone());
        Ok(file)
    }

    /// The index file `entries` make for `name`, keeping the current file's unreadable lines.
    pub fn render(&self, name: &PackageName, entries: Vec<IndexEntry>) -> Arc<IndexFile> {
        let unreadable = self
            .get(name)
            .map(|f| f.unreadable.clone())
            .unwrap_or_default();
        Arc::new(IndexFile::new(entries, unreadable))
    }

    /// Serves `file` as the index file of `name` from now on.
    pub fn install(&self, name: &PackageName, file: Arc<IndexFile>) {
        self.files
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(name.clone(), file);
    }

    /// Stops serving an index file for `name`.
    pub fn remove(&self, name: &PackageName) {
        self.files
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .remove(name);
    }
}

impl IndexFile {
    /// Reads an index file body of `name` as stored (lines it cannot read kept verbatim).
    pub fn parse(name: &PackageName, body: &[u8]) -> Self {
        let text = String::from_utf8_lossy(body);
        let mut entries = Vec::new();
        let mut raw = Vec::new();
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            match serde_json::from_str::<IndexEntry>(line) {
                Ok(e) if &e.name == name => entries.push(e),
                _ => raw.push(line.to_string()),
            }
        }
        Self::new(entries, raw)
    }
}

/// The package an index path belongs to; `None` for temp files and anything off the shard layout.
fn package_of_index_path(index_dir: &Path, path: &Path) -> Option<PackageName> {
    let rel = path.strip_prefix(index_dir).ok()?.to_str()?;
    let name = PackageName::new(rel.rsplit('/').next()?).ok()?;
    (shard_path(&name) == rel).then_some(name)
}

/// The readable lines of an index file, and the raw text of the others (noted in `unreadable`).
fn read_index_file(
    path: &Path,
    name: &PackageName,
    unreadable: &mut Vec<UnreadableLine>,
) -> Result<(Vec<IndexEntry>, Vec<String>), RootError> {
    let text = fs_err::read_to_string(path)?;
    let mut entries = Vec::new();
    let mut raw = Vec::new();
    for (i, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let reason = match serde_json::from_str::<IndexEntry>(line) {
            Ok(e) if &e.name == name => {
                entries.push(e);
                continue;
            }
            Ok(e) => format!("the line is about package `{}`", e.name),
            Err(e) => e.to_string(),
        };
        unreadable.push(UnreadableLine {
            file: path.to_path_buf(),
            line: i + 1,
            reason,
        });
        raw.push(line.to_string());
    }
    Ok((entries, raw))
}
