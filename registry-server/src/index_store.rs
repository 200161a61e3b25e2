//! The index held in memory: per package its lines, the NDJSON bytes and their ETag, replaced on write.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, RwLock};

use axum::body::Bytes;
use x07_spec::{PackageName, Sha256Digest};

use crate::index_entry::{shard_path, IndexEntry};
use crate::root::{RegistryRoot, RootError};

/// One package's index file as served.
#[derive(Debug)]
pub struct IndexFile {
    /// Lines in semver order.
    pub entries: Vec<IndexEntry>,
    /// The NDJSON body.
    pub body: Bytes,
    /// `"sha256:<hex of body>"`, quotes included.
    pub etag: String,
}

impl IndexFile {
    /// Sorts `entries` by version and renders the body and ETag.
    fn from_entries(mut entries: Vec<IndexEntry>) -> Self {
        entries.sort_by(|a, b| a.semver().cmp(&b.semver()).then_with(|| a.version.as_str().cmp(b.version.as_str())));
        let mut body = Vec::new();
        for e in &entries {
            body.extend_from_slice(&e.line_bytes());
            body.push(b'\n');
        }
        let etag = format!("\"{}\"", Sha256Digest::of(&body));
        Self { entries, body: Bytes::from(body), etag }
    }

    /// The line of `version`, if published.
    pub fn entry(&self, version: &str) -> Option<&IndexEntry> {
        self.entries.iter().find(|e| e.version.as_str() == version)
    }

    /// The highest version that is not yanked, else the highest version.
    pub fn latest(&self) -> Option<&IndexEntry> {
        self.entries.iter().rev().find(|e| !e.yanked).or_else(|| self.entries.last())
    }
}

/// All index files of a registry, in memory.
#[derive(Debug)]
pub struct IndexStore {
    root: RegistryRoot,
    files: RwLock<HashMap<PackageName, Arc<IndexFile>>>,
}

impl IndexStore {
    /// Reads every index file under `DIR/index`.
    pub fn load(root: &RegistryRoot) -> Result<Self, RootError> {
        let mut files = HashMap::new();
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
                let Some(name) = package_of_index_path(&index_dir, &path) else { continue };
                let entries = read_index_file(&path)?;
                files.insert(name, Arc::new(IndexFile::from_entries(entries)));
            }
        }
        Ok(Self { root: root.clone(), files: RwLock::new(files) })
    }

    /// The index file of `name`.
    pub fn get(&self, name: &PackageName) -> Option<Arc<IndexFile>> {
        self.files.read().unwrap_or_else(|p| p.into_inner()).get(name).cloned()
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

    /// Writes `entries` as the index file of `name` (temp + rename), then serves it.
    /// Callers hold the package's lock, so writes of one package never interleave.
    pub fn replace(&self, name: &PackageName, entries: Vec<IndexEntry>) -> std::io::Result<Arc<IndexFile>> {
        let file = Arc::new(IndexFile::from_entries(entries));
        let path = self.root.index_file(name);
        if let Some(parent) = path.parent() {
            fs_err::create_dir_all(parent)?;
        }
        x07_spec::write_atomic(&path, &file.body)?;
        self.files.write().unwrap_or_else(|p| p.into_inner()).insert(name.clone(), file.clone());
        Ok(file)
    }
}

/// The package an index path belongs to; `None` for temp files and anything off the shard layout.
fn package_of_index_path(index_dir: &Path, path: &Path) -> Option<PackageName> {
    let rel = path.strip_prefix(index_dir).ok()?.to_str()?;
    let name = PackageName::new(rel.rsplit('/').next()?).ok()?;
    (shard_path(&name) == rel).then_some(name)
}

fn read_index_file(path: &Path) -> Result<Vec<IndexEntry>, RootError> {
    let text = fs_err::read_to_string(path)?;
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            serde_json::from_str(l).map_err(|e| RootError::IndexLine(path.to_path_buf(), i + 1, e.to_string()))
        })
        .collect()
}
