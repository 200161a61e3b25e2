//! C compiler discovery, identity and invocation.
//!
//! [`X07Home`] says where x07 keeps its state; [`CcIdentity::detect`] finds the C compiler
//! (`$X07_CC`, then `$CC`, then `cc` on `PATH`) and learns its identity once, caching it under
//! `$X07_HOME/cache/cc-identity/`; [`compile_c`] turns one C translation unit into a native binary
//! with fixed flags, from a neutral working directory, so the same source gives the same bytes.

mod build_sandbox;
mod compile;
mod home;
mod identity;
mod locate;
mod musl;
pub mod packages;

pub use build_sandbox::BuildSandbox;
pub use compile::{
    compile_c, compile_c_native, musl_specs, profile_flags, CcProfile, CompileOutput, NativeInputs,
};
pub use home::{HomeError, X07Home};
pub use identity::CcIdentity;
pub use locate::CcLocator;
pub use musl::{musl_knob, MuslLibc};

use std::path::PathBuf;

/// Why the C compiler could not be found, identified or run.
#[derive(Debug, thiserror::Error)]
pub enum CcError {
    /// No usable C compiler (X07-CC-0001).
    #[error("no C compiler found: {reason}; set CC (or X07_CC) to the path of a C compiler, or install gcc or clang")]
    NotFound {
        /// What was looked at and why it did not qualify.
        reason: String,
    },
    /// The compiler could not be started.
    #[error("cannot run the C compiler {}: {source}; set CC to a working C compiler", path.display())]
    Spawn {
        /// The compiler that was started.
        path: PathBuf,
        /// The operating-system error.
        source: std::io::Error,
    },
    /// `cc --version` did not succeed, so the compiler cannot be identified.
    #[error("`{} --version` failed ({status}): {stderr}; set CC to a working C compiler", path.display())]
    VersionFailed {
        /// The compiler that was asked.
        path: PathBuf,
        /// How it exited.
        status: String,
        /// What it printed on stderr (trimmed).
        stderr: String,
    },
    /// The compiler rejected the generated C (X07-CC-0002).
    #[error(
        "the C compiler {} failed on the generated C ({status}). If the messages below point at missing \
         system headers or libraries, install the C development files (e.g. libc6-dev); otherwise this is \
         an x07 bug, please report it.\n{stderr}",
        path.display()
    )]
    CompileFailed {
        /// The compiler that failed.
        path: PathBuf,
        /// How it exited.
        status: String,
        /// Its diagnostics (at most the first 60 lines).
        stderr: String,
    },
    /// The compiler could not find a header or library of the system: a setup problem, not a
    /// bug (X07-CC-0003).
    #[error("the C build needs {missing}, which is not installed on this host: {fix}\n{stderr}")]
    MissingDevFiles {
        /// The compiler.
        path: PathBuf,
        /// What is missing (`the header <curl/curl.h>`, `the library -lcurl`).
        missing: String,
        /// The command that installs it.
        fix: String,
        /// The compiler's diagnostics.
        stderr: String,
    },
    /// The program calls C functions that no linked source or library defines: an `extern`
    /// whose package's native code is not part of the build (X07-CC-0004).
    #[error(
        "the program calls C functions nothing in the build defines: {}. An `extern` declares \
         them, but the C sources (ffi/) or libraries (meta.ffi_libs) that define them are not \
         linked: build inside a project whose x07.json depends on the package that ships them \
         (x07 pkg add), since --module-root adds modules but no native code; or check the \
         extern's link_name\n{stderr}",
        symbols.join(", ")
    )]
    UndefinedSymbols {
        /// The missing C symbols, in the order the linker named them.
        symbols: Vec<String>,
        /// The linker's diagnostics.
        stderr: String,
    },
    /// The build sandbox cannot be prepared.
    #[error("cannot prepare the build sandbox: {why}")]
    Sandbox {
        /// What went wrong.
        why: String,
    },
    /// A file next to the compilation could not be written or removed.
    #[error("cannot {action} {}: {source}", path.display())]
    Io {
        /// What was being done ("write", "remove", ...).
        action: &'static str,
        /// The file concerned.
        path: PathBuf,
        /// The operating-system error.
        source: std::io::Error,
    },
}

impl CcError {
    /// The stable diagnostic code (see docs/diagnostics.md).
    pub fn code(&self) -> &'static str {
        match self {
            CcError::CompileFailed { .. } => "X07-CC-0002",
            CcError::MissingDevFiles { .. } => "X07-CC-0003",
            CcError::UndefinedSymbols { .. } => "X07-CC-0004",
            _ => "X07-CC-0001",
        }
    }
}
