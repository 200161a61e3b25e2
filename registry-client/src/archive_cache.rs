//! The global content-addressed archive cache: `$X07_HOME/cache/sha256/<hex>.x07pkg`.
//!
//! A download goes to a temp file in the same directory (`.x07-dl-*`), is hashed while written,
//! and is renamed to its final name only when the digest is the expected one. The downloader holds
//! an exclusive lock on its temp file; a temp file nobody holds a lock on belongs to a process that
//! died, and is removed when a client starts. A cached file is re-hashed on every use.

use std::io::{Read as _, Seek as _, Write as _};
use std::os::unix::fs::MetadataExt as _;
use std::path::{Path, PathBuf};

use tempfile::NamedTempFile;
use x07_spec::{Sha256Digest, Sha256Hasher};

/// Name prefix of in-progress downloads.
pub const TEMP_PREFIX: &str = ".x07-dl-";

/// What the cache holds for a digest.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Lookup {
    /// A file with exactly this digest.
    Hit(PathBuf),
    /// Nothing.
    Missing,
    /// A file whose bytes no longer match its name; it has been removed.
    Corrupt(Sha256Digest),
}

/// The archive cache directory.
#[derive(Debug, Clone)]
pub(crate) struct ArchiveCache {
    dir: PathBuf,
}

/// The digest of a file's bytes.
fn hash_file(path: &Path) -> std::io::Result<Sha256Digest> {
    let mut file = fs_err::File::open(path)?;
    let mut hasher = Sha256Hasher::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        match file.read(&mut buf)? {
            0 => return Ok(hasher.finish()),
            n => hasher.update(&buf[..n]),
        }
    }
}

impl ArchiveCache {
    /// The cache in `dir` (created on first download).
    pub(crate) fn new(dir: PathBuf) -> Self {
        Self { dir }
    }

    /// `<dir>/<hex>.x07pkg`.
    pub(crate) fn path_of(&self, digest: &Sha256Digest) -> PathBuf {
        self.dir.join(format!(
            "{}.{}",
            digest.hex(),
            x07_spec::archive::ARCHIVE_EXTENSION
        ))
    }

    /// Removes temp files of downloads whose process is gone; how many were removed.
    pub(crate) fn remove_abandoned(&self) -> std::io::Result<usize> {
        let entries = match fs_err::read_dir(&self.dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
            Err(e) => return Err(e),
        };
        let mut removed = 0;
        for entry in entries {
            let entry = entry?;
            if !entry.file_name().to_string_lossy().starts_with(TEMP_PREFIX) {
                continue;
            }
            let file = match std::fs::File::open(entry.path()) {
                Ok(f) => f,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(e),
            };
            // A live download holds the lock; only an orphan can be locked here.
            if file.try_lock().is_ok() {
                match fs_err::remove_file(entry.path()) {
                    Ok(()) => removed += 1,
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => return Err(e),
                }
            }
        }
        Ok(removed)
    }

    /// Looks `digest` up, re-hashing a file that is there; a modified file is removed.
    pub(crate) fn lookup(&self, digest: &Sha256Digest) -> std::io::Result<Lookup> {
        let path = self.path_of(digest);
        let actual = match hash_file(&path) {
            Ok(d) => d,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Lookup::Missing),
            Err(e) => return Err(e),
        };
        if actual == *digest {
            return Ok(Lookup::Hit(path));
        }
        match fs_err::remove_file(&path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
            _ => {}
        }
        Ok(Lookup::Corrupt(actual))
    }

    /// Starts a download: a locked temp file in the cache directory.
    pub(crate) fn begin(&self) -> std::io::Result<PendingArchive> {
        fs_err::create_dir_all(&self.dir)?;
        loop {
            let tmp = tempfile::Builder::new()
                .prefix(TEMP_PREFIX)
                .suffix(".part")
                .tempfile_in(&self.dir)
                .map_err(|e| {
                    std::io::Error::new(
                        e.kind(),
                        format!(
                            "cannot create a temporary file in {}: {e}",
                            self.dir.display()
                        ),
                    )
                })?;
            tmp.as_file().lock()?;
            // A cleaner may have locked and removed the file between its creation and our lock:
            // keep it only if the name still refers to the file we hold.
            let held = tmp.as_file().metadata()?.ino();
            match fs_err::metadata(tmp.path()) {
                Ok(m) if m.ino() == held => {
                    return Ok(PendingArchive {
                        tmp,
                        hasher: Sha256Hasher::new(),
                        len: 0,
                    })
                }
                Ok(_) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(e),
            }
        }
    }
}

/// A download in progress; dropping it removes the temp file.
pub(crate) struct PendingArchive {
    tmp: NamedTempFile,
    hasher: Sha256Hasher,
    len: u64,
}

impl PendingArchive {
    /// Discards what was written so far (a retried download starts over).
    pub(crate) fn restart(&mut self) -> std::io::Result<()> {
        let file = self.tmp.as_file_mut();
        file.set_len(0)?;
        file.rewind()?;
        self.hasher = Sha256Hasher::new();
        self.len = 0;
        Ok(())
    }

    /// Appends bytes, hashing them.
    pub(crate) fn write(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.tmp.as_file_mut().write_all(bytes)?;
        self.hasher.update(bytes);
        self.len += bytes.len() as u64;
        Ok(())
    }

    /// Bytes written so far.
    pub(crate) fn len(&self) -> u64 {
        self.len
    }

    /// Stores the file as `<expected hex>.x07pkg` if its digest is `expected`; otherwise removes it
    /// and returns the digest it had.
    pub(crate) fn finish(
        self,
        cache: &ArchiveCache,
        expected: &Sha256Digest,
    ) -> std::io::Result<Result<PathBuf, Sha256Digest>> {
        let actual = self.hasher.finish();
        if actual != *expected {
            return Ok(Err(actual));
        }
        self.tmp.as_file().sync_all()?;
        let dest = cache.path_of(expected);
        // Concurrent downloads of the same archive rename identical bytes over each other.
        self.tmp.persist(&dest).map_err(|e| {
            std::io::Error::new(
                e.error.kind(),
                format!("cannot rename into {}: {}", dest.display(), e.error),
            )
        })?;
        Ok(Ok(dest))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stores_only_matching_bytes_and_detects_modification() {
        let dir = tempfile::tempdir().unwrap();
        let cache = ArchiveCache::new(dir.path().join("sha256"));
        let good = Sha256Digest::of(b"archive");
        assert_eq!(cache.lookup(&good).unwrap(), Lookup::Missing);

        let mut pending = cache.begin().unwrap();
        pending.write(b"garbage").unwrap();
        pending.restart().unwrap();
        pending.write(b"arch").unwrap();
        pending.write(b"ive").unwrap();
        assert_eq!(pending.len(), 7);
        let path = pending.finish(&cache, &good).unwrap().unwrap();
        assert_eq!(fs_err::read(&path).unwrap(), b"archive");
        assert_eq!(cache.lookup(&good).unwrap(), Lookup::Hit(path.clone()));

        let mut pending = cache.begin().unwrap();
        pending.write(b"other").unwrap();
        let other = Sha256Digest::of(b"wanted");
        assert_eq!(
            pending.finish(&cache, &other).unwrap(),
            Err(Sha256Digest::of(b"other"))
        );
        assert!(!cache.path_of(&other).exists());

        fs_err::write(&path, b"archivf").unwrap();
        assert_eq!(
            cache.lookup(&good).unwrap(),
            Lookup::Corrupt(Sha256Digest::of(b"archivf"))
        );
        assert!(!path.exists());
        let names: Vec<_> = fs_err::read_dir(dir.path().join("sha256"))
            .unwrap()
            .collect();
        assert!(names.is_empty(), "no temp files left: {names:?}");
    }

    #[test]
    fn removes_only_orphaned_temp_files() {
        let dir = tempfile::tempdir().unwrap();
        let cache = ArchiveCache::new(dir.path().to_path_buf());
        let live = cache.begin().unwrap();
        let orphan = dir.path().join(format!("{TEMP_PREFIX}orphan.part"));
        fs_err::write(&orphan, b"half").unwrap();
        assert_eq!(cache.remove_abandoned().unwrap(), 1);
        assert!(!orphan.exists());
        assert!(live.tmp.path().exists(), "a download in progress is kept");
    }
}
