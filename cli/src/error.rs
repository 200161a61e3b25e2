//! CLI errors: a diagnostic code, a message naming the file/field/flag, a hint, an exit code.

use std::fmt;

/// An error that ends the command.
#[derive(Debug)]
pub struct CliError {
    /// Diagnostic code from docs/diagnostics.md.
    pub code: &'static str,
    /// What went wrong.
    pub message: String,
    /// What to do about it.
    pub help: Option<String>,
    /// Process exit code.
    pub exit: u8,
}

impl CliError {
    /// A usage or setup error (exit 2).
    pub fn setup(code: &'static str, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            help: None,
            exit: 2,
        }
    }

    /// A failure of the program or check being run (exit 1).
    pub fn failure(code: &'static str, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            help: None,
            exit: 1,
        }
    }

    /// Adds a hint.
    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "error[{}]: {}", self.code, self.message)?;
        if let Some(h) = &self.help {
            write!(f, "\n  help: {h}")?;
        }
        Ok(())
    }
}

impl From<x07_builder::build::BuildError> for CliError {
    fn from(e: x07_builder::build::BuildError) -> Self {
        // X07-CC-0002: x07 emitted C the compiler rejects (a bug); everything else, a missing
        // header or library included, is setup
        let exit = if e.code() == "X07-CC-0002" { 101 } else { 2 };
        Self {
            code: e.code(),
            message: e.to_string(),
            help: None,
            exit,
        }
    }
}

impl From<x07_builder::store::StoreError> for CliError {
    fn from(e: x07_builder::store::StoreError) -> Self {
        Self::setup(e.code(), e.to_string())
    }
}

/// Result of a CLI command: the exit code on completion.
pub type CliResult = Result<u8, CliError>;
