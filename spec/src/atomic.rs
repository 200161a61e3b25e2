//! Atomic file writes: temp file in the same directory, fsync, rename. Nothing half-written.

use std::io::Write;
use std::path::Path;

/// Whether [`write_if_changed`] touched the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteOutcome {
    /// The file did not exist and was created.
    Created,
    /// The file existed with other bytes and was replaced.
    Replaced,
    /// The file already held exactly these bytes; it was not rewritten.
    Unchanged,
}

/// Writes `bytes` to `path` atomically (temp file + fsync + rename); the parent must exist.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let mut tmp = tempfile::Builder::new()
        .prefix(".x07-tmp-")
        .tempfile_in(parent)
        .map_err(|e| {
            std::io::Error::new(
                e.kind(),
                format!(
                    "cannot create a temporary file in {}: {e}",
                    parent.display()
                ),
            )
        })?;
    tmp.write_all(bytes)?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| {
        std::io::Error::new(
            e.error.kind(),
            format!("cannot rename into {}: {}", path.display(), e.error),
        )
    })?;
    Ok(())
}

/// Writes `bytes` atomically unless the file already holds exactly these bytes.
pub fn write_if_changed(path: &Path, bytes: &[u8]) -> std::io::Result<WriteOutcome> {
    match fs_err::read(path) {
        Ok(existing) if existing == bytes => Ok(WriteOutcome::Unchanged),
        Ok(_) => write_atomic(path, bytes).map(|()| WriteOutcome::Replaced),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            write_atomic(path, bytes).map(|()| WriteOutcome::Created)
        }
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn creates_replaces_and_skips_identical_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f.json");
        assert_eq!(write_if_changed(&p, b"a").unwrap(), WriteOutcome::Created);
        let mtime = fs_err::metadata(&p).unwrap().modified().unwrap();
        std::thread::sleep(std::time::Duration::from_millis(20));
        assert_eq!(write_if_changed(&p, b"a").unwrap(), WriteOutcome::Unchanged);
        assert_eq!(fs_err::metadata(&p).unwrap().modified().unwrap(), mtime);
        assert_eq!(write_if_changed(&p, b"b").unwrap(), WriteOutcome::Replaced);
        assert_eq!(fs_err::read(&p).unwrap(), b"b");
        // No temporary files are left behind.
        assert_eq!(fs_err::read_dir(dir.path()).unwrap().count(), 1);
    }
}
