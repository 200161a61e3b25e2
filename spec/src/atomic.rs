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

/// How [`write_atomic_with`] writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AtomicWrite {
    /// The file's mode, set on the temporary file from its creation (so a private file is never
    /// readable by others, not even for a moment); `None`: the mode of the file replaced, or for
    /// a new file 0666 less the process umask, as `open(2)` would create it.
    pub mode: Option<u32>,
    /// Refuse to replace an existing file (`AlreadyExists`) instead of replacing it.
    pub no_clobber: bool,
}

/// Writes `bytes` to `path` atomically (temp file + fsync + rename); the parent must exist.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    write_atomic_with(path, bytes, AtomicWrite::default())
}

/// [`write_atomic_with`] for a secret: mode 0600 from the temp file's creation, replacing.
pub fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let private = AtomicWrite {
        mode: Some(0o600),
        no_clobber: false,
    };
    write_atomic_with(path, bytes, private)
}

/// The one atomic write: a temporary file in the same directory (with `opts.mode`), the bytes,
/// fsync, then a rename over `path` (or, with `no_clobber`, a link that fails if `path` exists).
pub fn write_atomic_with(path: &Path, bytes: &[u8], opts: AtomicWrite) -> std::io::Result<()> {
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let mut builder = tempfile::Builder::new();
    builder.prefix(".x07-tmp-");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = opts.mode.unwrap_or_else(|| default_mode(path));
        builder.permissions(std::fs::Permissions::from_mode(mode));
    }
    let mut tmp = builder.tempfile_in(parent).map_err(|e| {
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
    let persisted = if opts.no_clobber {
        tmp.persist_noclobber(path)
    } else {
        tmp.persist(path)
    };
    persisted.map_err(|e| {
        std::io::Error::new(
            e.error.kind(),
            format!("cannot rename into {}: {}", path.display(), e.error),
        )
    })?;
    Ok(())
}

/// The mode of a file written without one: the mode of the file it replaces, else 0666 less the
/// umask (read from /proc/self/status, which does not change it; 022 when unreadable).
#[cfg(unix)]
fn default_mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    if let Ok(meta) = std::fs::metadata(path) {
        return meta.permissions().mode() & 0o7777;
    }
    let umask = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Umask:"))
                .and_then(|v| u32::from_str_radix(v.trim(), 8).ok())
        })
        .unwrap_or(0o022);
    0o666 & !umask
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

    #[cfg(unix)]
    #[test]
    fn modes_and_no_clobber() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("key");
        let private = AtomicWrite {
            mode: Some(0o600),
            no_clobber: true,
        };
        write_atomic_with(&p, b"secret", private).unwrap();
        assert_eq!(
            fs_err::metadata(&p).unwrap().permissions().mode() & 0o777,
            0o600
        );
        let again = write_atomic_with(&p, b"other", private).unwrap_err();
        assert_eq!(again.kind(), std::io::ErrorKind::AlreadyExists);
        assert_eq!(fs_err::read(&p).unwrap(), b"secret");
        let exe = dir.path().join("exe");
        let mode = AtomicWrite {
            mode: Some(0o755),
            no_clobber: false,
        };
        write_atomic_with(&exe, b"x", mode).unwrap();
        assert_eq!(
            fs_err::metadata(&exe).unwrap().permissions().mode() & 0o777,
            0o755
        );
    }

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
