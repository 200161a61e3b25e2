//! What sits at a path inside a package directory, looked at without following symlinks.

use std::path::Path;

/// What a package-relative path names on disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FoundKind {
    /// Nothing (or a parent that is not a directory).
    Missing,
    /// A regular file of this many bytes, reached through plain directories only.
    Regular(u64),
    /// A directory, reached through plain directories only.
    Directory,
    /// A symbolic link, at this path or at one of its parent directories.
    Symlink,
    /// A device, fifo or socket.
    Special,
}

impl FoundKind {
    /// A word for messages.
    pub fn describe(self) -> &'static str {
        match self {
            FoundKind::Missing => "nothing",
            FoundKind::Regular(_) => "a regular file",
            FoundKind::Directory => "a directory",
            FoundKind::Symlink => "a symbolic link",
            FoundKind::Special => "a device, fifo or socket",
        }
    }
}

/// Looks at `base/rel` segment by segment with `symlink_metadata`, so that a symlinked parent
/// directory is reported instead of followed out of the package.
pub fn find_kind(base: &Path, rel: &str) -> std::io::Result<FoundKind> {
    let mut path = base.to_path_buf();
    let segments: Vec<&str> = rel.split('/').filter(|s| !s.is_empty()).collect();
    for (i, segment) in segments.iter().enumerate() {
        path.push(segment);
        let meta = match fs_err::symlink_metadata(&path) {
            Ok(meta) => meta,
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::NotFound | std::io::ErrorKind::NotADirectory
                ) =>
            {
                return Ok(FoundKind::Missing)
            }
            Err(e) => return Err(e),
        };
        let ft = meta.file_type();
        let last = i + 1 == segments.len();
        if ft.is_symlink() {
            return Ok(FoundKind::Symlink);
        }
        if last {
            return Ok(if ft.is_file() {
                FoundKind::Regular(meta.len())
            } else if ft.is_dir() {
                FoundKind::Directory
            } else {
                FoundKind::Special
            });
        }
        if !ft.is_dir() {
            return Ok(FoundKind::Missing);
        }
    }
    Ok(FoundKind::Directory)
}
