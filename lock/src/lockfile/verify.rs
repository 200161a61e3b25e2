//! Checking a lock against the files on disk: the manifest, module and file digests of every
//! locked package directory, files the lock does not know, and module ids provided twice.

use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::path::Path;

use x07_spec::package::tree::{find_kind, FoundKind};
use x07_spec::package::{ModuleId, PackageManifest, FFI_DIR, PACKAGE_FILE_NAME};
use x07_spec::{DepPath, PackageName, PackageVersion, RelPath, Sha256Digest};

use super::package_files::{hash_regular, list_files, PackageHashError};
use super::{DepSource, Lock, LockFormat, LockedPackage};

/// One way the files on disk differ from what the lock recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockProblem {
    /// The package.
    pub name: PackageName,
    /// Its locked version.
    pub version: PackageVersion,
    /// Its locked directory.
    pub path: DepPath,
    /// Registry or path dependency (decides the advice).
    pub source: DepSource,
    /// What is wrong.
    pub kind: LockProblemKind,
}

/// What is wrong with a locked package on disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LockProblemKind {
    /// The package directory does not exist.
    MissingDir,
    /// A `$workspace/` path with no workspace root, or one leading out of it.
    WorkspaceUnresolved(String),
    /// `x07-package.json` is missing or invalid.
    ManifestUnreadable(String),
    /// `x07-package.json` changed.
    ManifestChanged {
        /// What the lock recorded.
        locked: Sha256Digest,
        /// What is on disk.
        found: Sha256Digest,
    },
    /// The manifest names another package or version.
    WrongPackage {
        /// Name on disk.
        found_name: PackageName,
        /// Version on disk.
        found_version: PackageVersion,
    },
    /// The manifest's module root differs from the lock's.
    ModuleRootChanged {
        /// Module root on disk.
        found: RelPath,
    },
    /// A locked module's file is missing.
    ModuleMissing {
        /// The module.
        module: ModuleId,
        /// Its package-relative file.
        file: String,
    },
    /// A locked module's file changed.
    ModuleChanged {
        /// The module.
        module: ModuleId,
        /// Its package-relative file.
        file: String,
        /// What the lock recorded.
        locked: Sha256Digest,
        /// What is on disk.
        found: Sha256Digest,
    },
    /// A locked file is missing.
    FileMissing {
        /// Package-relative path.
        file: String,
    },
    /// A locked file changed.
    FileChanged {
        /// Package-relative path.
        file: String,
        /// What the lock recorded.
        locked: Sha256Digest,
        /// What is on disk.
        found: Sha256Digest,
    },
    /// A symlink, device or directory where a regular file belongs.
    NotRegularFile {
        /// Package-relative path.
        file: String,
        /// What it is.
        kind: &'static str,
    },
    /// A file the lock does not list (anywhere in a registry package; under `ffi/` in a path package).
    UnlistedFile {
        /// Package-relative path.
        file: String,
    },
    /// A file could not be read.
    Unreadable {
        /// What failed.
        message: String,
    },
    /// Another locked package provides the same module id.
    ModuleCollision {
        /// The module.
        module: ModuleId,
        /// The other package.
        other: PackageName,
    },
}

impl fmt::Display for LockProblemKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::MissingDir => f.write_str("the package directory is missing"),
            Self::WorkspaceUnresolved(e) => f.write_str(e),
            Self::ManifestUnreadable(e) => write!(f, "{PACKAGE_FILE_NAME} cannot be used: {e}"),
            Self::ManifestChanged { locked, found } => {
                write!(f, "{PACKAGE_FILE_NAME} changed since it was locked (locked {locked}, found {found})")
            }
            Self::WrongPackage {
                found_name,
                found_version,
            } => {
                write!(
                    f,
                    "the directory holds {found_name} {found_version} instead"
                )
            }
            Self::ModuleRootChanged { found } => write!(f, "the module root is now `{found}`"),
            Self::ModuleMissing { module, file } => {
                write!(f, "module `{module}` ({file}) is missing")
            }
            Self::ModuleChanged {
                module,
                file,
                locked,
                found,
            } => {
                write!(f, "module `{module}` ({file}) changed since it was locked (locked {locked}, found {found})")
            }
            Self::FileMissing { file } => write!(f, "{file} is missing"),
            Self::FileChanged {
                file,
                locked,
                found,
            } => {
                write!(
                    f,
                    "{file} changed since it was locked (locked {locked}, found {found})"
                )
            }
            Self::NotRegularFile { file, kind } => {
                write!(f, "{file} is {kind}, not a regular file")
            }
            Self::UnlistedFile { file } => write!(f, "{file} is not in the lock"),
            Self::Unreadable { message } => write!(f, "{message}"),
            Self::ModuleCollision { module, other } => {
                write!(f, "module `{module}` is also provided by {other}")
            }
        }
    }
}

impl fmt::Display for LockProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} ({}): {}; ",
            self.name, self.version, self.path, self.kind
        )?;
        match (&self.kind, self.source) {
            (LockProblemKind::ModuleCollision { .. }, _) => {
                f.write_str("remove one of the two packages from x07.json")
            }
            (LockProblemKind::WorkspaceUnresolved(_), _) => {
                f.write_str("then run the command again")
            }
            (LockProblemKind::MissingDir, DepSource::Registry) => {
                f.write_str("run `x07 pkg lock` to fetch it")
            }
            (LockProblemKind::MissingDir, DepSource::Path) => {
                f.write_str("restore the directory or fix the dependency's path in x07.json")
            }
            (_, DepSource::Registry) => {
                write!(
                    f,
                    "delete {} and run `x07 pkg lock` to unpack it again",
                    self.path
                )
            }
            (_, DepSource::Path) => {
                f.write_str("run `x07 pkg lock` to record the change if it is intended")
            }
        }
    }
}

impl Lock {
    /// Compares every locked package directory under `project_root` with the lock; empty when
    /// everything matches. Locks read from 0.3/0.4 recorded no file digests, so only their
    /// manifests and modules are checked.
    pub fn verify_against_disk(&self, project_root: &Path) -> Vec<LockProblem> {
        let check_file_set = self.read_as == LockFormat::V0_5;
        // Hashing every file dominates `x07 pkg lock --check` and every build's check; the
        // packages are independent, so they are verified on a few threads and the problems put
        // back in lock order.
        let per_package: Vec<Vec<LockProblemKind>> = x07_spec::parallel::map(
            &self.dependencies,
            x07_spec::parallel::cpu_workers(self.dependencies.len().min(4)),
            |dep| {
                let mut kinds = Vec::new();
                match dep.path.resolve(project_root) {
                    Ok(dir) => verify_package(dep, &dir, check_file_set, &mut |k| kinds.push(k)),
                    Err(e) => kinds.push(LockProblemKind::WorkspaceUnresolved(e.to_string())),
                }
                kinds
            },
        );
        let mut problems = Vec::new();
        let mut providers: HashMap<&ModuleId, &PackageName> = HashMap::new();
        for (dep, kinds) in self.dependencies.iter().zip(per_package) {
            for module in dep.modules_sha256.keys() {
                if let Some(other) = providers.insert(module, &dep.name) {
                    problems.push(problem(
                        dep,
                        LockProblemKind::ModuleCollision {
                            module: module.clone(),
                            other: other.clone(),
                        },
                    ));
                }
            }
            problems.extend(kinds.into_iter().map(|k| problem(dep, k)));
        }
        problems
    }
}

fn problem(dep: &LockedPackage, kind: LockProblemKind) -> LockProblem {
    LockProblem {
        name: dep.name.clone(),
        version: dep.version.clone(),
        path: dep.path.clone(),
        source: dep.source,
        kind,
    }
}

/// How a failed read of a package file is reported.
fn read_problem(file: &str, error: PackageHashError) -> LockProblemKind {
    match error {
        PackageHashError::NotRegular { kind, .. } => LockProblemKind::NotRegularFile {
            file: file.to_string(),
            kind,
        },
        other => LockProblemKind::Unreadable {
            message: other.to_string(),
        },
    }
}

/// Digest of a file that should exist; `Err` carries the problem to report.
fn digest_of(dir: &Path, file: &str) -> Result<Sha256Digest, LockProblemKind> {
    match find_kind(dir, file) {
        Ok(FoundKind::Missing) => Err(LockProblemKind::FileMissing {
            file: file.to_string(),
        }),
        Ok(_) => hash_regular(dir, file).map_err(|e| read_problem(file, e)),
        Err(e) => Err(LockProblemKind::Unreadable {
            message: format!("{}: {e}", dir.join(file).display()),
        }),
    }
}

fn verify_package(
    dep: &LockedPackage,
    dir: &Path,
    check_file_set: bool,
    report: &mut impl FnMut(LockProblemKind),
) {
    if !dir.is_dir() {
        report(LockProblemKind::MissingDir);
        return;
    }
    // The manifest: digest, identity, module root.
    match digest_of(dir, PACKAGE_FILE_NAME) {
        Err(kind) => report(kind),
        Ok(found) if found != dep.package_manifest_sha256 => {
            report(LockProblemKind::ManifestChanged {
                locked: dep.package_manifest_sha256,
                found,
            })
        }
        Ok(_) => {}
    }
    match PackageManifest::load_from_dir(dir) {
        Err(e) => report(LockProblemKind::ManifestUnreadable(e.to_string())),
        Ok(m) => {
            if m.name != dep.name || m.version != dep.version {
                report(LockProblemKind::WrongPackage {
                    found_name: m.name,
                    found_version: m.version,
                });
            }
            if m.module_root.normalized() != dep.module_root.normalized() {
                report(LockProblemKind::ModuleRootChanged {
                    found: m.module_root,
                });
            }
        }
    }
    // Modules, by the lock's module root.
    let mut checked: BTreeSet<String> = BTreeSet::from([PACKAGE_FILE_NAME.to_string()]);
    for (module, locked) in &dep.modules_sha256 {
        let file = format!(
            "{}/{}",
            dep.module_root.normalized(),
            module.file_rel_path()
        );
        match digest_of(dir, &file) {
            Err(LockProblemKind::FileMissing { .. }) => report(LockProblemKind::ModuleMissing {
                module: module.clone(),
                file: file.clone(),
            }),
            Err(kind) => report(kind),
            Ok(found) if found != *locked => report(LockProblemKind::ModuleChanged {
                module: module.clone(),
                file: file.clone(),
                locked: *locked,
                found,
            }),
            Ok(_) => {}
        }
        checked.insert(file);
    }
    // Every other recorded file.
    for (file, locked) in &dep.files_sha256 {
        let file = file.normalized();
        if checked.contains(&file) {
            continue;
        }
        match digest_of(dir, &file) {
            Err(kind) => report(kind),
            Ok(found) if found != *locked => report(LockProblemKind::FileChanged {
                file: file.clone(),
                locked: *locked,
                found,
            }),
            Ok(_) => {}
        }
    }
    if !check_file_set {
        return;
    }
    // Files the lock does not know: anything in an unpacked registry package (its doc files and
    // tests/ are listed, since hash_package_dir hashes what the archive carried); anything under
    // ffi/ of a path package (those get compiled and linked).
    let listed: BTreeSet<String> = dep.files_sha256.keys().map(RelPath::normalized).collect();
    let scope = match dep.source {
        DepSource::Registry => "",
        DepSource::Path => FFI_DIR,
    };
    match list_files(dir, scope) {
        Err(e) => report(LockProblemKind::Unreadable {
            message: e.to_string(),
        }),
        Ok(entries) => {
            for (file, kind) in entries {
                match kind {
                    FoundKind::Regular(_) if listed.contains(&file) => {}
                    FoundKind::Regular(_) => report(LockProblemKind::UnlistedFile { file }),
                    other if !listed.contains(&file) => report(LockProblemKind::NotRegularFile {
                        file,
                        kind: other.describe(),
                    }),
                    // A listed path that is not a regular file was reported above.
                    _ => {}
                }
            }
        }
    }
}
