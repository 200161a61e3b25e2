//! Why a bundle cannot be made; messages name the path or flag.

use std::path::PathBuf;

use x07_builder::build::BuildError;
use x07_builder::store::StoreError;

/// A bundle cannot be made.
#[derive(Debug, thiserror::Error)]
pub enum BundleError {
    /// The build failed for a setup reason (compiler, store).
    #[error(transparent)]
    Build(#[from] BuildError),
    /// The store cannot be used.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A package's native inputs cannot be read.
    #[error(transparent)]
    Project(#[from] x07_builder::project::ProjectError),
    /// The bundle's name (the output file's name) cannot be used as argv_v1 token 0.
    #[error("--out {}: the file name must be non-empty UTF-8 without NUL", .0.display())]
    Name(PathBuf),
    /// The sealed policy cannot be encoded.
    #[error("{}: {message}", .path.display())]
    Policy {
        /// The effective policy file.
        path: PathBuf,
        /// Why.
        message: String,
    },
    /// `--static` without musl installed.
    #[error("--static builds against musl, which is not installed (no musl-gcc.specs found)")]
    MuslMissing,
    /// `--static` for a program that links native libraries.
    #[error(
        "--static: the program links native libraries ({0}) that have no static musl build here"
    )]
    StaticWithLibs(String),
    /// A VM bundle's payload needs a library this host does not have.
    #[error("the program needs {0}, which is not installed on this host, so the VM bundle cannot carry it")]
    VmClosure(String),
    /// x07-vm-launcher is not installed next to x07.
    #[error("a VM bundle's executable is a copy of x07-vm-launcher, which is not at {}", .0.display())]
    NoVmLauncher(PathBuf),
    /// The emitted C is larger than `--max-c-bytes`.
    #[error("the emitted C is {size} bytes, over --max-c-bytes {max}")]
    CSize {
        /// Its size.
        size: u64,
        /// The flag.
        max: u64,
    },
    /// Writing the output failed.
    #[error("cannot write {}: {source}", .path.display())]
    Write {
        /// The output file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

impl BundleError {
    /// What to do about it.
    pub fn help(&self) -> Option<&'static str> {
        match self {
            Self::MuslMissing => Some(
                "install musl (Debian: `apt-get install musl-tools`), or bundle without --static",
            ),
            Self::StaticWithLibs(_) => {
                Some("bundle without --static: the report lists the shared libraries it needs")
            }
            Self::VmClosure(_) => Some("install the library's package on this host"),
            Self::NoVmLauncher(_) => Some(
                "install x07-vm-launcher beside x07 (cargo build -p x07-vm-launcher), or set X07_VM_LAUNCHER",
            ),
            _ => None,
        }
    }

    /// The diagnostic code (docs/diagnostics.md).
    pub fn code(&self) -> &'static str {
        match self {
            Self::Build(e) => e.code(),
            Self::Store(e) => e.code(),
            Self::Project(e) => e.code(),
            Self::Name(_) => "X07-CLI-0001",
            Self::Policy { .. } => "X07-POLICY-SCHEMA-0001",
            Self::Write { .. } => "X07-BUNDLE-0001",
            Self::MuslMissing | Self::StaticWithLibs(_) | Self::VmClosure(_) => "X07-BUNDLE-0005",
            Self::NoVmLauncher(_) => "X07-BUNDLE-0007",
            Self::CSize { .. } => "X07-BUNDLE-0006",
        }
    }

    /// The exit code (docs/diagnostics.md).
    pub fn exit_code(&self) -> u8 {
        match self {
            Self::Build(e) if e.code() == "X07-CC-0002" => 101,
            Self::Policy { .. } => 3,
            Self::CSize { .. } => 1,
            _ => 2,
        }
    }
}
