//! Why a target cannot be prepared; every message names the file, field or flag.

use std::path::PathBuf;

use x07_lock::RequirementError;
use x07_spec::DocumentError;

/// A target cannot be prepared.
#[derive(Debug, thiserror::Error)]
pub enum ProjectError {
    /// The current directory cannot be read.
    #[error("cannot read the current directory: {0}")]
    CurrentDir(std::io::Error),
    /// No x07.json here or above.
    #[error("no x07.json found in {} or any parent directory", .cwd.display())]
    NoManifest {
        /// Where the search started.
        cwd: PathBuf,
        /// The flags that name a target instead (for the hint).
        flags: String,
    },
    /// x07.json does not load.
    #[error(transparent)]
    Manifest(Box<DocumentError>),
    /// The requested profile does not exist.
    #[error("{}: {message}", .manifest.display())]
    Profile {
        /// x07.json.
        manifest: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// `--profile` with `--program` names something other than os or sandbox.
    #[error("unknown profile `{0}` for --program (use os or sandbox)")]
    ProgramProfile(String),
    /// The entry file cannot name a store artifact.
    #[error("cannot name the artifact after {}: {message}", .entry.display())]
    ArtifactName {
        /// The entry file.
        entry: PathBuf,
        /// Why.
        message: String,
    },
    /// `"lockfile": null` while x07.json has dependencies.
    #[error("{}: the project has dependencies but \"lockfile\" is null", .manifest.display())]
    LockDisabled {
        /// x07.json.
        manifest: PathBuf,
    },
    /// The lockfile is missing while x07.json has dependencies.
    #[error("{} does not exist, but x07.json has dependencies", .lockfile.display())]
    LockMissing {
        /// The lockfile.
        lockfile: PathBuf,
    },
    /// The lockfile does not load.
    #[error(transparent)]
    LockInvalid(Box<DocumentError>),
    /// x07.json's requirements do not parse.
    #[error(transparent)]
    Requirements(#[from] RequirementError),
    /// The lock no longer fits x07.json.
    #[error("{} is out of date with x07.json:\n{}", .lockfile.display(), bullets(.reasons))]
    LockStale {
        /// The lockfile.
        lockfile: PathBuf,
        /// One sentence per difference.
        reasons: Vec<String>,
    },
    /// The dependency trees on disk differ from what the lock pins.
    #[error("the dependencies on disk differ from {}:\n{}", .lockfile.display(), bullets(.problems))]
    LockOnDisk {
        /// The lockfile.
        lockfile: PathBuf,
        /// One line per file.
        problems: Vec<String>,
    },
    /// The lock's canonical digest cannot be computed.
    #[error("{}: {message}", .lockfile.display())]
    LockDigest {
        /// The lockfile.
        lockfile: PathBuf,
        /// Why.
        message: String,
    },
    /// A package's manifest or ffi/ directory cannot be read, or declares bad libraries.
    #[error("{}: {message}", .path.display())]
    Package {
        /// The file or directory.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
}

fn bullets<T: std::fmt::Display>(items: &[T]) -> String {
    items
        .iter()
        .map(|i| format!("  - {i}"))
        .collect::<Vec<_>>()
        .join("\n")
}

impl ProjectError {
    /// The diagnostic code (docs/diagnostics.md).
    pub fn code(&self) -> &'static str {
        match self {
            Self::CurrentDir(_) | Self::NoManifest { .. } => "X07-PROJECT-0001",
            Self::Manifest(e) if e.is_schema_error() => "X07-PROJECT-0002",
            Self::Manifest(e) if matches!(**e, DocumentError::Read { .. }) => "X07-PROJECT-0001",
            Self::Manifest(_) => "X07-JSON-0001",
            Self::Profile { .. } | Self::ProgramProfile(_) => "X07-PROJECT-0003",
            Self::ArtifactName { .. } => "X07-CLI-0001",
            Self::Requirements(RequirementError::PatchUnsupported { .. }) => "X07-PKG-0010",
            Self::Requirements(_) => "X07-PROJECT-0002",
            Self::LockDisabled { .. } | Self::LockMissing { .. } | Self::LockStale { .. } => {
                "X07-LOCK-0002"
            }
            Self::LockInvalid(_) | Self::LockDigest { .. } => "X07-LOCK-0001",
            Self::LockOnDisk { .. } => "X07-LOCK-0003",
            Self::Package { .. } => "X07-PKG-0001",
        }
    }

    /// What to do about it.
    pub fn help(&self) -> Option<String> {
        Some(match self {
            Self::NoManifest { flags, .. } => {
                format!("run `x07 init` to create a project, or pass {flags}")
            }
            Self::Manifest(_) => {
                "fix x07.json (see docs/getting-started.md for its fields)".to_string()
            }
            Self::Profile { .. } => "pass --profile with one of the profiles in x07.json".into(),
            Self::LockDisabled { .. } => {
                "remove \"lockfile\": null from x07.json and run `x07 pkg lock`".into()
            }
            Self::LockMissing { .. } => "run `x07 pkg lock` (or `x07 pkg add NAME --sync`)".into(),
            Self::LockInvalid(_) => "fix or delete it, then run `x07 pkg lock`".into(),
            Self::LockStale { .. } => "run `x07 pkg lock`".into(),
            Self::LockOnDisk { .. } => {
                "`x07 pkg sync` restores registry packages from the verified cache".into()
            }
            _ => return None,
        })
    }
}
