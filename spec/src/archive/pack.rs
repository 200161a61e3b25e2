//! Packing a package directory into its `.x07pkg` archive: the same directory always gives the
//! same bytes, whatever the files' timestamps, modes, owners or directory order.

use std::path::Path;

use zstd::stream::raw::CParameter;

use crate::archive::error::{PackError, UnpackError};
use crate::archive::limits::UnpackLimits;
use crate::archive::path::{check_entry_path, ArchivePath};
use crate::archive::read::{ArchiveEntry, SeenPaths};
use crate::digest::Sha256Digest;
use crate::package::tree::{find_kind, FoundKind};
use crate::package::{find_doc_files, PackageManifest, CARRIED_DIRS, PACKAGE_FILE_NAME};

/// The zstd level archives are compressed with.
pub const ZSTD_LEVEL: i32 = 19;
/// The mode every entry is written with.
const ENTRY_MODE: u32 = 0o644;

/// A packed package.
#[derive(Debug, Clone)]
pub struct PackedArchive {
    /// The manifest that was packed.
    pub manifest: PackageManifest,
    /// The `.x07pkg` bytes (zstd-compressed tar).
    pub bytes: Vec<u8>,
    /// The digest of `bytes` (the index's `cksum`).
    pub sha256: Sha256Digest,
    /// The files, in archive order.
    pub entries: Vec<ArchiveEntry>,
}

/// Packs `package_dir`: `x07-package.json`, each listed module, every file under `ffi/` and
/// `tests/`, and the top-level doc files that are there (`README.md`, `LICENSE`, ... — see
/// [`crate::package::DOC_FILES`]), sorted by path bytes, as ustar regular files with mode 0644,
/// owner 0:0, no names, mtime 0, compressed as one zstd frame (level 19, no checksum). The
/// manifest is checked against the directory first; a symlink, device or fifo among these files
/// and anything unpacking would refuse is refused here.
pub fn pack(package_dir: &Path) -> Result<PackedArchive, PackError> {
    let manifest_path = package_dir.join(PACKAGE_FILE_NAME);
    let manifest = PackageManifest::load(&manifest_path).map_err(PackError::Manifest)?;
    manifest
        .validate(package_dir)
        .map_err(|source| PackError::Invalid {
            manifest: manifest_path.clone(),
            source,
        })?;

    let limits = UnpackLimits::CONTRACT;
    let mut rel_paths = vec![PACKAGE_FILE_NAME.to_string()];
    rel_paths.extend(manifest.modules.iter().map(|m| manifest.module_file(m)));
    for dir in CARRIED_DIRS {
        collect_carried_dir(package_dir, dir, &mut rel_paths)?;
    }
    collect_doc_files(package_dir, &mut rel_paths)?;
    let mut paths = Vec::with_capacity(rel_paths.len());
    for rel in &rel_paths {
        let path = check_entry_path(rel.as_bytes(), limits.max_path_bytes).map_err(|r| {
            refused(UnpackError::from_path_refusal(
                r,
                rel.as_bytes(),
                limits.max_path_bytes,
            ))
        })?;
        paths.push(path);
    }
    paths.sort();
    // A module root inside tests/ names its module files twice.
    paths.dedup();
    let mut seen = SeenPaths::default();
    for (i, path) in paths.iter().enumerate() {
        if i == limits.max_entries {
            return Err(refused(UnpackError::TooManyEntries {
                entry: path.to_string(),
                limit: limits.max_entries,
            }));
        }
        seen.insert(path).map_err(refused)?;
    }

    let mut builder = tar::Builder::new(Vec::new());
    let mut entries = Vec::with_capacity(paths.len());
    let mut total: u64 = 0;
    for path in paths {
        let file = package_dir.join(path.as_str());
        match find_kind(package_dir, path.as_str()).map_err(|e| io(&file, "inspect", e))? {
            FoundKind::Regular(_) => {}
            other => {
                return Err(PackError::NotRegular {
                    path: file,
                    found: other.describe(),
                })
            }
        }
        let data = fs_err::read(&file).map_err(|e| io(&file, "read", e))?;
        let size = data.len() as u64;
        if size > limits.max_file_bytes {
            return Err(refused(UnpackError::FileTooLarge {
                entry: path.to_string(),
                size,
                limit: limits.max_file_bytes,
            }));
        }
        total += size;
        if total > limits.max_total_bytes {
            return Err(refused(UnpackError::TotalTooLarge {
                entry: path.to_string(),
                total,
                limit: limits.max_total_bytes,
            }));
        }
        append_file(&mut builder, &path, &data).map_err(|e| io(&file, "archive", e))?;
        entries.push(ArchiveEntry {
            path,
            size,
            sha256: Sha256Digest::of(&data),
        });
    }
    let tar_bytes = builder
        .into_inner()
        .map_err(|e| io(package_dir, "finish the archive of", e))?;
    let bytes = compress(&tar_bytes).map_err(|e| io(package_dir, "compress the archive of", e))?;
    Ok(PackedArchive {
        manifest,
        sha256: Sha256Digest::of(&bytes),
        bytes,
        entries,
    })
}

fn refused(e: UnpackError) -> PackError {
    PackError::WouldBeRefused(e)
}

fn io(path: &Path, action: &'static str, source: std::io::Error) -> PackError {
    PackError::Io {
        path: path.to_path_buf(),
        action,
        source,
    }
}

/// Adds the package-relative paths of every file under the carried directory `name` (`ffi`,
/// `tests`), in any order (the caller sorts); a `name` that is not a plain directory is refused.
fn collect_carried_dir(
    package_dir: &Path,
    name: &str,
    out: &mut Vec<String>,
) -> Result<(), PackError> {
    let dir = package_dir.join(name);
    match find_kind(package_dir, name).map_err(|e| io(&dir, "inspect", e))? {
        FoundKind::Missing => Ok(()),
        FoundKind::Directory => collect_dir(&dir, name, out),
        FoundKind::Regular(_) => Err(PackError::NotRegular {
            path: dir,
            found: NOT_A_DIRECTORY,
        }),
        other => Err(PackError::NotRegular {
            path: dir,
            found: other.describe(),
        }),
    }
}

/// How a regular file where a carried directory belongs is described.
const NOT_A_DIRECTORY: &str = "a regular file where a directory belongs";

/// Adds the doc files present at the top of the package; one that is a symlink, device or fifo
/// is refused like any such file under `ffi/`.
fn collect_doc_files(package_dir: &Path, out: &mut Vec<String>) -> Result<(), PackError> {
    for (name, kind) in find_doc_files(package_dir).map_err(|e| io(package_dir, "list", e))? {
        match kind {
            FoundKind::Regular(_) => out.push(name.to_string()),
            other => {
                return Err(PackError::NotRegular {
                    path: package_dir.join(name),
                    found: other.describe(),
                })
            }
        }
    }
    Ok(())
}

fn collect_dir(dir: &Path, rel: &str, out: &mut Vec<String>) -> Result<(), PackError> {
    for entry in fs_err::read_dir(dir).map_err(|e| io(dir, "list", e))? {
        let entry = entry.map_err(|e| io(dir, "list", e))?;
        let path = entry.path();
        let name = entry.file_name().into_string().map_err(|name| {
            refused(UnpackError::BadPathCharacters {
                entry: format!("{rel}/{}", name.to_string_lossy()),
            })
        })?;
        let child = format!("{rel}/{name}");
        // file_type() does not follow symlinks.
        let kind = entry.file_type().map_err(|e| io(&path, "inspect", e))?;
        if kind.is_dir() {
            collect_dir(&path, &child, out)?;
        } else if kind.is_file() {
            out.push(child);
        } else {
            let found = if kind.is_symlink() {
                FoundKind::Symlink
            } else {
                FoundKind::Special
            };
            return Err(PackError::NotRegular {
                path,
                found: found.describe(),
            });
        }
    }
    Ok(())
}

/// Appends one regular file with the fixed metadata; a path that does not fit the ustar
/// name/prefix fields goes in a pax `path` record.
fn append_file(
    builder: &mut tar::Builder<Vec<u8>>,
    path: &ArchivePath,
    data: &[u8],
) -> std::io::Result<()> {
    let mut header = tar::Header::new_ustar();
    header.set_entry_type(tar::EntryType::Regular);
    header.set_size(data.len() as u64);
    header.set_mode(ENTRY_MODE);
    header.set_uid(0);
    header.set_gid(0);
    header.set_mtime(0);
    if header.set_path(path.as_str()).is_err() {
        builder.append_pax_extensions([("path", path.as_str().as_bytes())])?;
        let ustar = header.as_ustar_mut().expect("a ustar header");
        ustar.prefix.fill(0);
        ustar.name.fill(0);
        // Readers take the pax path; the name field only gets a recognisable stand-in.
        let cut = path.as_str().as_bytes();
        let n = cut.len().min(ustar.name.len());
        ustar.name[..n].copy_from_slice(&cut[..n]);
    }
    header.set_cksum();
    builder.append(&header, data)
}

/// One zstd frame at [`ZSTD_LEVEL`], with the content size and without a checksum.
fn compress(tar_bytes: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut compressor = zstd::bulk::Compressor::new(ZSTD_LEVEL)?;
    compressor.set_parameter(CParameter::ChecksumFlag(false))?;
    compressor.set_parameter(CParameter::ContentSizeFlag(true))?;
    compressor.compress(tar_bytes)
}
