//! The on-disk index cache: `$X07_HOME/cache/index/<sha256 of index url>/<shard path>` (and
//! `config.json`), each file holding the ETag on its first line and the body after it, so body and
//! tag are always replaced together. Lines read from here are verified again on every use.

use std::path::PathBuf;

/// A cached index file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CachedFile {
    /// The ETag the server sent with the body, if any.
    pub etag: Option<String>,
    /// The body.
    pub body: Vec<u8>,
}

/// The cache directory of one index.
#[derive(Debug, Clone)]
pub(crate) struct IndexCache {
    dir: PathBuf,
}

impl IndexCache {
    /// The cache rooted at `dir`.
    pub(crate) fn new(dir: PathBuf) -> Self {
        Self { dir }
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir.join(rel)
    }

    /// The cached copy of `rel`, if any (an unreadable entry, or one whose body is larger than
    /// `max_body` bytes, counts as absent and is not read whole).
    pub(crate) fn read(&self, rel: &str, max_body: u64) -> std::io::Result<Option<CachedFile>> {
        let file = match fs_err::File::open(self.path(rel)) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e),
        };
        // The ETag line is short (a header value); allow it 8 KiB.
        let Some(bytes) = crate::limits::read_capped(file, max_body.saturating_add(8192))? else {
            return Ok(None);
        };
        let Some(newline) = bytes.iter().position(|&b| b == b'\n') else {
            return Ok(None);
        };
        let Ok(tag) = std::str::from_utf8(&bytes[..newline]) else {
            return Ok(None);
        };
        if (bytes.len() - newline - 1) as u64 > max_body {
            return Ok(None);
        }
        let etag = (!tag.is_empty()).then(|| tag.to_string());
        Ok(Some(CachedFile {
            etag,
            body: bytes[newline + 1..].to_vec(),
        }))
    }

    /// Stores `body` with its ETag (atomically).
    pub(crate) fn write(&self, rel: &str, etag: Option<&str>, body: &[u8]) -> std::io::Result<()> {
        let path = self.path(rel);
        if let Some(parent) = path.parent() {
            fs_err::create_dir_all(parent)?;
        }
        // Header values cannot hold a newline, but a hostile server's bytes are not trusted.
        let tag = etag.filter(|t| !t.contains(['\n', '\r'])).unwrap_or("");
        let mut bytes = Vec::with_capacity(tag.len() + 1 + body.len());
        bytes.extend_from_slice(tag.as_bytes());
        bytes.push(b'\n');
        bytes.extend_from_slice(body);
        x07_spec::write_atomic(&path, &bytes)
    }

    /// Drops the cached copy of `rel` (the server no longer has it).
    pub(crate) fn remove(&self, rel: &str) -> std::io::Result<()> {
        match fs_err::remove_file(self.path(rel)) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stores_body_and_etag_together() {
        let dir = tempfile::tempdir().unwrap();
        let cache = IndexCache::new(dir.path().join("c"));
        assert_eq!(cache.read("ex/t-/ext-net", 1024).unwrap(), None);
        cache
            .write(
                "ex/t-/ext-net",
                Some("\"sha256:ab\""),
                b"{\"a\":1}\n{\"b\":2}\n",
            )
            .unwrap();
        let got = cache.read("ex/t-/ext-net", 1024).unwrap().unwrap();
        assert_eq!(cache.read("ex/t-/ext-net", 15).unwrap(), None);
        cache.write("big", None, &vec![b'x'; 10_000]).unwrap();
        assert_eq!(
            cache.read("big", 10).unwrap(),
            None,
            "a cached body past the cap is not used"
        );
        assert_eq!(got.etag.as_deref(), Some("\"sha256:ab\""));
        assert_eq!(got.body, b"{\"a\":1}\n{\"b\":2}\n");
        cache.write("config.json", None, b"{}").unwrap();
        assert_eq!(
            cache.read("config.json", 1024).unwrap().unwrap(),
            CachedFile {
                etag: None,
                body: b"{}".to_vec()
            }
        );
        cache.remove("ex/t-/ext-net").unwrap();
        cache.remove("ex/t-/ext-net").unwrap();
        assert_eq!(cache.read("ex/t-/ext-net", 1024).unwrap(), None);
    }
}
