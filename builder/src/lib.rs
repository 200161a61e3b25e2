//! x07-builder: compiles x07AST programs to C and native code, and keeps the content-addressed store.
//!
//! Pipeline: [`frontend`] (parse → resolve modules → type and ownership check) produces a checked
//! program; [`emit`] writes one C translation unit from it with the [`runtime`] fragments it needs;
//! [`cc`] turns that into a native binary; [`store`] keeps binaries under the hash of their inputs;
//! [`budget`] finds the budget profiles a program names in the consumer's `arch/`.

pub mod budget;
pub mod build;
pub mod cc;
pub mod emit;
pub mod frontend;
pub mod launcher;
pub mod project;
pub mod rr;
pub mod runtime;
pub mod stdlib;
pub mod store;
