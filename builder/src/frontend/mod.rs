//! The x07AST front end: parse files, resolve modules, check types and ownership.
//!
//! Each stage has a typed boundary: [`parse`] turns JSON into [`ast::SourceFile`]s, [`resolve`]
//! loads the module graph into a [`resolve::LoadedProgram`], and [`check`] produces the typed
//! program [`tir::TProgram`] that the emitter consumes; [`generics`] instantiates generic
//! functions (monomorphisation) just before checking.

pub mod ast;
pub mod builtins;
pub mod check;
pub mod diag;
pub mod generics;
pub mod parse;
pub mod resolve;
pub mod tir;
pub mod types;

pub use diag::{DiagCode, Diagnostic};
pub use resolve::{LoadedProgram, ModuleOrigin, ModuleRoots, ModuleSource};
