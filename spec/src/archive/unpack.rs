//! Unpacking an archive into a directory, all or nothing, and listing one without unpacking.

use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use crate::archive::error::UnpackError;
use crate::archive::limits::UnpackLimits;
use crate::archive::path::ArchivePath;
use crate::archive::read::{walk_files, ArchiveEntry, Discard, FileSink};
use crate::package::{is_optional_package_file, PackageManifest, PACKAGE_FILE_NAME};

/// A package unpacked into its directory.
#[derive(Debug, Clone)]
pub struct UnpackedPackage {
    /// The directory the package now lives in (the `dest` given).
    pub dir: PathBuf,
    /// Its manifest.
    pub manifest: PackageManifest,
    /// Its files, in archive order, with their digests.
    pub entries: Vec<ArchiveEntry>,
}

/// The files of an archive (zstd-compressed or plain tar), checked by the same rules as
/// [`unpack`] with the contract's limits; nothing is written.
pub fn list(bytes: &[u8]) -> Result<Vec<ArchiveEntry>, UnpackError> {
    list_from(bytes)
}

/// [`list`] reading the archive from `input` (a file, a socket) without holding it in memory.
pub fn list_from(input: impl Read) -> Result<Vec<ArchiveEntry>, UnpackError> {
    walk_files(input, &UnpackLimits::CONTRACT, &mut Discard)
}

/// Unpacks `bytes` into `dest`, which must not exist (its parent is created if needed).
///
/// The files go into a temporary directory beside `dest` as they stream by; only when every
/// entry passed, the manifest reads, every listed module is present and every other file is one
/// a package may carry, the directory is renamed to `dest`. On any error `dest` is not created
/// and the temporary directory is removed.
pub fn unpack(
    bytes: &[u8],
    dest: &Path,
    limits: &UnpackLimits,
) -> Result<UnpackedPackage, UnpackError> {
    unpack_from(bytes, dest, limits)
}

/// [`unpack`] reading the archive from `input` (a file, a socket) without holding it in memory.
pub fn unpack_from(
    input: impl Read,
    dest: &Path,
    limits: &UnpackLimits,
) -> Result<UnpackedPackage, UnpackError> {
    if fs_err::symlink_metadata(dest).is_ok() {
        return Err(UnpackError::DestinationExists {
            dest: dest.to_path_buf(),
        });
    }
    let parent = match dest.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    fs_err::create_dir_all(&parent).map_err(|e| io(&parent, "create the directory", e))?;
    let staging = tempfile::Builder::new()
        .prefix(".x07-unpack-")
        .tempdir_in(&parent)
        .map_err(|e| io(&parent, "create a temporary directory in", e))?;

    let mut sink = DirSink {
        root: staging.path().to_path_buf(),
        current: None,
        dirs: BTreeSet::new(),
    };
    let entries = walk_files(input, limits, &mut sink)?;
    let manifest = check_contents(staging.path(), &entries)?;

    set_dir_mode(staging.path())?;
    if fs_err::symlink_metadata(dest).is_ok() {
        return Err(UnpackError::DestinationExists {
            dest: dest.to_path_buf(),
        });
    }
    fs_err::rename(staging.path(), dest)
        .map_err(|e| io(dest, "move the unpacked package to", e))?;
    // The directory now lives at `dest`; nothing is left to clean up.
    let _ = staging.keep();
    Ok(UnpackedPackage {
        dir: dest.to_path_buf(),
        manifest,
        entries,
    })
}

/// The manifest reads, every listed module is there, and every entry is the manifest, a listed
/// module, a top-level doc file or under `ffi/` or `tests/`.
fn check_contents(root: &Path, entries: &[ArchiveEntry]) -> Result<PackageManifest, UnpackError> {
    if !entries.iter().any(|e| e.path.as_str() == PACKAGE_FILE_NAME) {
        return Err(UnpackError::MissingManifest);
    }
    let manifest_path = root.join(PACKAGE_FILE_NAME);
    let bytes = fs_err::read(&manifest_path).map_err(|e| io(&manifest_path, "read", e))?;
    let manifest = PackageManifest::from_slice(&bytes, Path::new(PACKAGE_FILE_NAME))
        .map_err(UnpackError::Manifest)?;
    let present: BTreeSet<&str> = entries.iter().map(|e| e.path.as_str()).collect();
    let mut expected = BTreeSet::from([PACKAGE_FILE_NAME.to_string()]);
    for module in &manifest.modules {
        let path = manifest.module_file(module);
        if !present.contains(path.as_str()) {
            return Err(UnpackError::MissingModule {
                module: module.clone(),
                path,
            });
        }
        expected.insert(path);
    }
    if let Some(extra) = entries
        .iter()
        .find(|e| !expected.contains(e.path.as_str()) && !is_optional_package_file(e.path.as_str()))
    {
        return Err(UnpackError::UnexpectedEntry {
            entry: extra.path.to_string(),
        });
    }
    Ok(manifest)
}

fn io(path: &Path, action: &'static str, source: std::io::Error) -> UnpackError {
    UnpackError::Io {
        path: path.to_path_buf(),
        action,
        source,
    }
}

/// Writes each file under `root`, creating directories as paths need them.
struct DirSink {
    root: PathBuf,
    current: Option<(PathBuf, fs_err::File)>,
    dirs: BTreeSet<String>,
}

impl FileSink for DirSink {
    fn begin(&mut self, path: &ArchivePath) -> Result<(), UnpackError> {
        for dir in path.parent_dirs() {
            if self.dirs.insert(dir.to_string()) {
                let abs = self.root.join(dir);
                match fs_err::create_dir(&abs) {
                    Ok(()) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                    Err(e) => return Err(io(&abs, "create the directory", e)),
                }
            }
        }
        let file = self.root.join(path.as_str());
        // create_new: a path seen twice (which the reader refuses anyway) can never overwrite.
        let mut options = fs_err::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use fs_err::os::unix::fs::OpenOptionsExt as _;
            options.mode(0o644);
        }
        let handle = options.open(&file).map_err(|e| io(&file, "create", e))?;
        self.current = Some((file, handle));
        Ok(())
    }

    fn write(&mut self, chunk: &[u8]) -> Result<(), UnpackError> {
        let (path, file) = self.current.as_mut().expect("begin() comes first");
        file.write_all(chunk).map_err(|e| io(path, "write", e))
    }

    fn end(&mut self) -> Result<(), UnpackError> {
        let (path, file) = self.current.take().expect("begin() comes first");
        file.sync_all().map_err(|e| io(&path, "flush", e))
    }
}

/// The temporary directory is created private (0700); the package directory is 0755 like any other.
fn set_dir_mode(dir: &Path) -> Result<(), UnpackError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        fs_err::set_permissions(dir, std::fs::Permissions::from_mode(0o755))
            .map_err(|e| io(dir, "set the mode of", e))?;
    }
    Ok(())
}
