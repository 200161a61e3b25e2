//! Why a dependency operation failed; each error names the file, package or flag involved.

use std::path::PathBuf;

use x07_lock::{
    LockCheckError, LockProblem, PackageHashError, ReqError, RequirementError, ResolveError,
};
use x07_registry_client::RegistryError;
use x07_spec::archive::UnpackError;
use x07_spec::{DocumentError, PackageName, PackageVersion, Sha256Digest};

/// A dependency operation failed.
#[derive(Debug, thiserror::Error)]
pub enum DepsError {
    /// `x07.json` is missing or invalid.
    #[error(transparent)]
    Manifest(Box<DocumentError>),
    /// A dependency's `version` in x07.json is not a requirement.
    #[error("{}: dependencies[{index}].version: `{text}` ({name}): {source}", .file.display())]
    Requirement {
        /// x07.json.
        file: PathBuf,
        /// Position in `dependencies`.
        index: usize,
        /// The package.
        name: PackageName,
        /// What is written.
        text: String,
        /// Why it does not parse.
        source: ReqError,
    },
    /// `patch` overrides in x07.json, which are not built yet.
    #[error("{}: `patch` (overrides for {names}) is not supported yet", .file.display())]
    PatchUnsupported {
        /// x07.json.
        file: PathBuf,
        /// The patched package names.
        names: String,
    },
    /// `"lockfile": null` while dependencies need one.
    #[error("{}: \"lockfile\" is null, but dependencies are recorded in a lockfile", .file.display())]
    LockingDisabled {
        /// x07.json.
        file: PathBuf,
    },
    /// The lockfile does not read.
    #[error(transparent)]
    LockInvalid(Box<DocumentError>),
    /// A registry operation failed.
    #[error(transparent)]
    Registry(Box<RegistryError>),
    /// The registry has no package of that name.
    #[error("the registry {index} has no package named `{name}`")]
    UnknownPackage {
        /// The package.
        name: PackageName,
        /// The index URL.
        index: String,
    },
    /// No versions satisfy the requirements.
    #[error(transparent)]
    Resolve(Box<ResolveError>),
    /// `--locked` / `--frozen` and the lock would change.
    #[error(transparent)]
    LockWouldChange(Box<LockCheckError>),
    /// A local package directory cannot be read or hashed.
    /// A `$workspace/` path has no workspace root, or leads out of it.
    #[error("local package {name}: {source}")]
    Workspace {
        /// The name in x07.json.
        name: PackageName,
        /// Why.
        source: x07_spec::WorkspaceError,
    },
    /// A registry package recorded at a path outside the project's `.x07/deps/`.
    #[error("{name} {version}: a registry package belongs under .x07/deps/, not at `{path}`; run `x07 pkg lock` to record it again")]
    RegistryPathOutside {
        /// The package.
        name: PackageName,
        /// Its version.
        version: x07_spec::PackageVersion,
        /// The recorded path.
        path: x07_spec::DepPath,
    },
    #[error("local package {name} ({}): {source}", .dir.display())]
    LocalPackage {
        /// The name in x07.json.
        name: PackageName,
        /// The directory.
        dir: PathBuf,
        /// Why.
        source: PackageHashError,
    },
    /// A local package's manifest does not match its x07.json entry.
    #[error("{}: dependencies[{index}]: {message}", .file.display())]
    LocalMismatch {
        /// x07.json.
        file: PathBuf,
        /// Position in `dependencies`.
        index: usize,
        /// What differs.
        message: String,
    },
    /// The registry's checksum for a locked version differs from the lock's.
    #[error("the registry says {name} {version} is the archive {index_cksum}, but x07.lock.json recorded {locked}; a published version must never change")]
    CksumChanged {
        /// Package.
        name: PackageName,
        /// Version.
        version: PackageVersion,
        /// What the lock has.
        locked: Sha256Digest,
        /// What the index line has.
        index_cksum: Sha256Digest,
    },
    /// A locked package has no archive digest (a lock converted from 0.3/0.4).
    #[error("{name} {version} has no archive_sha256 in x07.lock.json (an x07.lock@0.3/0.4 lock); run `x07 pkg lock` to record it")]
    NoArchiveDigest {
        /// Package.
        name: PackageName,
        /// Version.
        version: PackageVersion,
    },
    /// An archive is refused or cannot be unpacked.
    #[error("{name} {version} ({}): {source}", .archive.display())]
    Unpack {
        /// Package.
        name: PackageName,
        /// Version.
        version: PackageVersion,
        /// The cached archive.
        archive: PathBuf,
        /// Why.
        source: UnpackError,
    },
    /// An unpacked package does not hash to what the lock recorded.
    #[error("{name} {version}: the registry archive unpacks to files that differ from x07.lock.json ({detail})")]
    ContentsDiffer {
        /// Package.
        name: PackageName,
        /// Version.
        version: PackageVersion,
        /// Which file.
        detail: String,
    },
    /// The files on disk differ from the lock (local packages, or what could not be repaired).
    #[error("the dependencies on disk differ from x07.lock.json:\n{}", list(.0))]
    OnDisk(Vec<LockProblem>),
    /// A file or directory cannot be read or written.
    #[error("cannot {action} {}: {source}", .path.display())]
    Io {
        /// What was being done.
        action: &'static str,
        /// The path.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
}

fn list(problems: &[LockProblem]) -> String {
    problems
        .iter()
        .map(|p| format!("  - {p}"))
        .collect::<Vec<_>>()
        .join("\n")
}

impl DepsError {
    /// The diagnostic code (docs/diagnostics.md).
    pub fn code(&self) -> &'static str {
        match self {
            Self::Manifest(e) if matches!(**e, DocumentError::Read { .. }) => "X07-PROJECT-0001",
            Self::Manifest(_)
            | Self::Requirement { .. }
            | Self::LockingDisabled { .. }
            | Self::LocalMismatch { .. } => "X07-PROJECT-0002",
            Self::LockInvalid(_) => "X07-LOCK-0001",
            Self::LockWouldChange(_) => "X07-LOCK-0002",
            Self::OnDisk(_)
            | Self::ContentsDiffer { .. }
            | Self::CksumChanged { .. }
            | Self::NoArchiveDigest { .. } => "X07-LOCK-0003",
            Self::Registry(_) => "X07-PKG-0006",
            Self::UnknownPackage { .. } | Self::Resolve(_) => "X07-PKG-0007",
            Self::Unpack { .. } => "X07-PKG-0003",
            Self::LocalPackage { .. } | Self::Workspace { .. } => "X07-PKG-0001",
            Self::RegistryPathOutside { .. } => "X07-LOCK-0001",
            Self::Io { .. } => "X07-PKG-0009",
            Self::PatchUnsupported { .. } => "X07-PKG-0010",
        }
    }

    pub(crate) fn io(
        action: &'static str,
        path: impl Into<PathBuf>,
        source: std::io::Error,
    ) -> Self {
        Self::Io {
            action,
            path: path.into(),
            source,
        }
    }
}

impl From<RequirementError> for DepsError {
    fn from(e: RequirementError) -> Self {
        match e {
            RequirementError::Version {
                file,
                index,
                name,
                text,
                source,
            } => Self::Requirement {
                file,
                index,
                name,
                text,
                source,
            },
            RequirementError::PatchUnsupported { file, names } => {
                Self::PatchUnsupported { file, names }
            }
        }
    }
}

impl From<RegistryError> for DepsError {
    fn from(e: RegistryError) -> Self {
        Self::Registry(Box::new(e))
    }
}

impl From<ResolveError> for DepsError {
    fn from(e: ResolveError) -> Self {
        Self::Resolve(Box::new(e))
    }
}

impl From<LockCheckError> for DepsError {
    fn from(e: LockCheckError) -> Self {
        Self::LockWouldChange(Box::new(e))
    }
}
