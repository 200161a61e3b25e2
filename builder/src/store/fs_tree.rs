//! File-tree operations the store needs: digesting, sealing read-only, syncing, removing.

use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use x07_spec::{Sha256Digest, Sha256Hasher};

/// SHA-256 and size of a file, read in chunks.
pub fn file_digest(path: &Path) -> std::io::Result<(Sha256Digest, u64)> {
    let mut file = fs_err::File::open(path)?;
    let mut hasher = Sha256Hasher::new();
    let mut buf = vec![0u8; 64 * 1024];
    let mut size = 0u64;
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        size += n as u64;
    }
    Ok((hasher.finish(), size))
}

/// Makes every file under `dir` read-only (0555 if it had an execute bit, else 0444) and flushes
/// files and directories to disk. Directories stay writable until [`seal_dirs`].
pub fn seal_files(dir: &Path) -> std::io::Result<()> {
    for item in fs_err::read_dir(dir)? {
        let path = item?.path();
        let meta = fs_err::symlink_metadata(&path)?;
        if meta.is_dir() {
            seal_files(&path)?;
        } else if meta.is_file() {
            let mode = if meta.permissions().mode() & 0o111 != 0 {
                0o555
            } else {
                0o444
            };
            fs_err::set_permissions(&path, std::fs::Permissions::from_mode(mode))?;
            fs_err::File::open(&path)?.sync_all()?;
        }
    }
    sync_dir(dir)
}

/// Makes `dir` and every directory below it read-only (0555).
pub fn seal_dirs(dir: &Path) -> std::io::Result<()> {
    set_dir_modes(dir, 0o555)
}

/// Removes a tree that may contain read-only directories.
pub fn remove_tree(path: &Path) -> std::io::Result<()> {
    set_dir_modes(path, 0o755)?;
    fs_err::remove_dir_all(path)
}

/// Flushes a directory's entries (new names, renames) to disk.
pub fn sync_dir(dir: &Path) -> std::io::Result<()> {
    fs_err::File::open(dir)?.sync_all()
}

/// Total size in bytes of the regular files under `path`.
pub fn tree_size(path: &Path) -> u64 {
    let Ok(meta) = std::fs::symlink_metadata(path) else {
        return 0;
    };
    if !meta.is_dir() {
        return if meta.is_file() { meta.len() } else { 0 };
    }
    std::fs::read_dir(path)
        .map(|items| items.flatten().map(|i| tree_size(&i.path())).sum())
        .unwrap_or(0)
}

/// Sets the mode of `dir` and of every directory below it; the parent is updated before its
/// children so that read-only trees can be opened up.
fn set_dir_modes(dir: &Path, mode: u32) -> std::io::Result<()> {
    if !fs_err::symlink_metadata(dir)?.is_dir() {
        return Ok(());
    }
    fs_err::set_permissions(dir, std::fs::Permissions::from_mode(mode))?;
    for item in fs_err::read_dir(dir)? {
        let item = item?;
        if item.file_type()?.is_dir() {
            set_dir_modes(&item.path(), mode)?;
        }
    }
    Ok(())
}
