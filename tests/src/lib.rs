//! Shared helpers for the end-to-end tests: finding the built `x07`, writing programs into
//! temporary directories, running `x07` and reading its JSON report, and the conformance case format.

pub mod binary;
pub mod bytes_display;
pub mod command;
pub mod conformance;
pub mod postgres;
pub mod registry;
pub mod report;
pub mod s3;
pub mod services;
pub mod workdir;

pub use binary::x07_bin;
pub use bytes_display::describe_bytes;
pub use command::{X07Invocation, X07Output};
pub use report::{CompileSection, Diagnostic, MemStats, ReportError, RunReport, SolveSection};
pub use workdir::{copy_tree, InvalidModuleId, ModuleId, ProgramDir, X07Home};
