//! The files of a package directory and their digests: the manifest, every listed module,
//! everything under `ffi/` and `tests/`, and the top-level doc files (`README.md`, `LICENSE`, ...)
//! — exactly what a `.x07pkg` archive carries (the set is `x07_spec::package`'s).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use x07_spec::package::tree::{find_kind, FoundKind};
use x07_spec::package::{
    find_doc_files, ModuleId, PackageManifest, CARRIED_DIRS, PACKAGE_FILE_NAME,
};
use x07_spec::{DocumentError, PackageName, PackageVersion, RelPath, Sha256Digest};

/// The digests a lock records for one package directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackageDigests {
    /// The manifest's name.
    pub name: PackageName,
    /// The manifest's version.
    pub version: PackageVersion,
    /// SHA-256 of the `x07-package.json` bytes.
    pub package_manifest_sha256: Sha256Digest,
    /// The manifest's module root.
    pub module_root: RelPath,
    /// SHA-256 of each listed module's file.
    pub modules_sha256: BTreeMap<ModuleId, Sha256Digest>,
    /// SHA-256 of every package file (manifest, modules, `ffi/**`, `tests/**`, doc files), by
    /// package-relative path.
    pub files_sha256: BTreeMap<RelPath, Sha256Digest>,
}

/// Why a package directory could not be hashed.
#[derive(Debug, thiserror::Error)]
pub enum PackageHashError {
    /// The manifest is missing or invalid.
    #[error(transparent)]
    Manifest(#[from] DocumentError),
    /// A file or directory could not be read.
    #[error("{}: {source}", .path.display())]
    Io {
        /// The path.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A listed module's file is missing.
    #[error("{}: module `{module}` is listed in x07-package.json but its file {file} is missing", .dir.display())]
    MissingModule {
        /// The package directory.
        dir: PathBuf,
        /// The module.
        module: ModuleId,
        /// Its package-relative file.
        file: String,
    },
    /// A package file is a symlink, device or directory where a regular file belongs, or `ffi`
    /// or `tests` is not a plain directory.
    #[error("{}: {file} is {kind}; packages hold regular files in plain directories only", .dir.display())]
    NotRegular {
        /// The package directory.
        dir: PathBuf,
        /// The package-relative path.
        file: String,
        /// What it is.
        kind: &'static str,
    },
}

/// Reads the manifest of `dir` and hashes every package file.
pub fn hash_package_dir(dir: &Path) -> Result<PackageDigests, PackageHashError> {
    let manifest = PackageManifest::load_from_dir(dir)?;
    let mut files = BTreeMap::new();
    files.insert(
        rel(PACKAGE_FILE_NAME),
        hash_regular(dir, PACKAGE_FILE_NAME)?,
    );
    let mut modules_sha256 = BTreeMap::new();
    for module in &manifest.modules {
        let file = manifest.module_file(module);
        match find_kind(dir, &file).map_err(|source| PackageHashError::Io {
            path: dir.join(&file),
            source,
        })? {
            FoundKind::Missing => {
                return Err(PackageHashError::MissingModule {
                    dir: dir.to_path_buf(),
                    module: module.clone(),
                    file,
                })
            }
            _ => {
                let digest = hash_regular(dir, &file)?;
                modules_sha256.insert(module.clone(), digest);
                files.insert(rel(&file), digest);
            }
        }
    }
    let not_regular = |file: String, kind: &'static str| PackageHashError::NotRegular {
        dir: dir.to_path_buf(),
        file,
        kind,
    };
    for carried in CARRIED_DIRS {
        for (file, kind) in list_files(dir, carried)? {
            match kind {
                // Packing refuses an `ffi` or `tests` file, so the lock does too.
                FoundKind::Regular(_) if file == carried => {
                    return Err(not_regular(
                        file,
                        "a regular file where a directory belongs",
                    ))
                }
                FoundKind::Regular(_) => {
                    files.insert(rel(&file), hash_regular(dir, &file)?);
                }
                other => return Err(not_regular(file, other.describe())),
            }
        }
    }
    let docs = find_doc_files(dir).map_err(|source| PackageHashError::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    for (file, kind) in docs {
        match kind {
            FoundKind::Regular(_) => {
                files.insert(rel(file), hash_regular(dir, file)?);
            }
            other => return Err(not_regular(file.to_string(), other.describe())),
        }
    }
    Ok(PackageDigests {
        package_manifest_sha256: files[&rel(PACKAGE_FILE_NAME)],
        name: manifest.name,
        version: manifest.version,
        module_root: manifest.module_root,
        modules_sha256,
        files_sha256: files,
    })
}

fn rel(file: &str) -> RelPath {
    RelPath::new(file).expect("package file paths are built from checked relative parts")
}

/// SHA-256 of `dir/file`, which must be a regular file reached without symlinks.
pub(super) fn hash_regular(dir: &Path, file: &str) -> Result<Sha256Digest, PackageHashError> {
    let path = dir.join(file);
    match find_kind(dir, file).map_err(|source| PackageHashError::Io {
        path: path.clone(),
        source,
    })? {
        FoundKind::Regular(_) => {}
        other => {
            return Err(PackageHashError::NotRegular {
                dir: dir.to_path_buf(),
                file: file.to_string(),
                kind: other.describe(),
            })
        }
    }
    let bytes = fs_err::read(&path).map_err(|source| PackageHashError::Io { path, source })?;
    Ok(Sha256Digest::of(&bytes))
}

/// Every non-directory entry under `dir/sub` (recursively, symlinks not followed), as
/// package-relative paths with what each is; empty when `sub` does not exist. `sub` = "" lists all.
pub(super) fn list_files(
    dir: &Path,
    sub: &str,
) -> Result<Vec<(String, FoundKind)>, PackageHashError> {
    let mut out = Vec::new();
    let start = if sub.is_empty() {
        dir.to_path_buf()
    } else {
        dir.join(sub)
    };
    match fs_err::symlink_metadata(&start) {
        Ok(meta) if meta.is_dir() => {}
        Ok(_) if !sub.is_empty() => {
            let kind = find_kind(dir, sub).map_err(|source| PackageHashError::Io {
                path: start.clone(),
                source,
            })?;
            out.push((sub.to_string(), kind));
            return Ok(out);
        }
        Ok(_) => return Ok(out),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
        Err(source) => {
            return Err(PackageHashError::Io {
                path: start,
                source,
            })
        }
    }
    let mut stack = vec![(start, sub.to_string())];
    while let Some((path, prefix)) = stack.pop() {
        let entries = fs_err::read_dir(&path).map_err(|source| PackageHashError::Io {
            path: path.clone(),
            source,
        })?;
        for entry in entries {
            let entry = entry.map_err(|source| PackageHashError::Io {
                path: path.clone(),
                source,
            })?;
            let name = entry.file_name().to_string_lossy().into_owned();
            let rel = if prefix.is_empty() {
                name
            } else {
                format!("{prefix}/{name}")
            };
            let ft = entry.file_type().map_err(|source| PackageHashError::Io {
                path: entry.path(),
                source,
            })?;
            if ft.is_dir() {
                stack.push((entry.path(), rel));
            } else if ft.is_symlink() {
                out.push((rel, FoundKind::Symlink));
            } else if ft.is_file() {
                let len = entry.metadata().map(|m| m.len()).unwrap_or(0);
                out.push((rel, FoundKind::Regular(len)));
            } else {
                out.push((rel, FoundKind::Special));
            }
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(out)
}
