//! A local directory as a store (`file:///DIR`): writes are temp file + rename.

use std::path::PathBuf;

use crate::{check_key, BlobError};

/// A directory holding one file per key.
#[derive(Debug, Clone)]
pub struct DirStore {
    dir: PathBuf,
}

impl DirStore {
    /// The store in `dir` (created on the first write).
    pub fn new(dir: PathBuf) -> Self {
        Self { dir }
    }

    /// `file:///dir`.
    pub fn describe(&self) -> String {
        format!("file://{}", self.dir.display())
    }

    fn path(&self, key: &str) -> Result<PathBuf, BlobError> {
        check_key(key)?;
        Ok(self.dir.join(key))
    }

    /// The file's bytes, or `None`.
    pub fn get(&self, key: &str) -> Result<Option<Vec<u8>>, BlobError> {
        match fs_err::read(self.path(key)?) {
            Ok(b) => Ok(Some(b)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// The file as a stream and its length, or `None`.
    pub fn get_stream(
        &self,
        key: &str,
    ) -> Result<Option<(crate::BlobReader, Option<u64>)>, BlobError> {
        match std::fs::File::open(self.path(key)?) {
            Ok(f) => {
                let len = f.metadata().ok().map(|m| m.len());
                Ok(Some((Box::new(f), len)))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// Writes the file whole (temp + rename).
    pub fn put(&self, key: &str, bytes: &[u8]) -> Result<(), BlobError> {
        let path = self.path(key)?;
        if let Some(parent) = path.parent() {
            fs_err::create_dir_all(parent)?;
        }
        x07_spec::write_atomic(&path, bytes)?;
        Ok(())
    }

    /// Copies the file at `from` in as `key` (temp + rename).
    pub fn put_file(&self, key: &str, from: &std::path::Path) -> Result<(), BlobError> {
        let path = self.path(key)?;
        let dir = path.parent().unwrap_or(&self.dir).to_path_buf();
        fs_err::create_dir_all(&dir)?;
        let tmp = tempfile::Builder::new()
            .prefix(".x07-put-")
            .tempfile_in(&dir)?;
        fs_err::copy(from, tmp.path())?;
        tmp.persist(&path).map_err(|e| BlobError::Io(e.error))?;
        Ok(())
    }

    /// Whether the file exists.
    pub fn exists(&self, key: &str) -> Result<bool, BlobError> {
        Ok(self.path(key)?.is_file())
    }

    /// Removes the file.
    pub fn delete(&self, key: &str) -> Result<(), BlobError> {
        match fs_err::remove_file(self.path(key)?) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e.into()),
            _ => Ok(()),
        }
    }

    /// Every file under `prefix`, as keys, sorted (temp files of unfinished writes left out).
    pub fn list(&self, prefix: &str) -> Result<Vec<String>, BlobError> {
        let mut keys = Vec::new();
        let mut pending = vec![self.dir.clone()];
        while let Some(dir) = pending.pop() {
            let entries = match fs_err::read_dir(&dir) {
                Ok(e) => e,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(e.into()),
            };
            for entry in entries {
                let entry = entry?;
                let path = entry.path();
                if entry.file_type()?.is_dir() {
                    pending.push(path);
                    continue;
                }
                let Some(rel) = path.strip_prefix(&self.dir).ok().and_then(|p| p.to_str()) else {
                    continue;
                };
                let hidden = rel.rsplit('/').next().is_some_and(|n| n.starts_with('.'));
                if !hidden && rel.starts_with(prefix) {
                    keys.push(rel.to_string());
                }
            }
        }
        keys.sort();
        Ok(keys)
    }
}
