//! The run policy's compile-time gates: `unsafe` blocks need `language.allow_unsafe`; `extern`
//! declarations and package C code need `language.allow_ffi`.

use crate::frontend::{DiagCode, Diagnostic, LoadedProgram};

/// What `language` of the effective policy allows.
#[derive(Debug, Clone, Copy)]
pub struct LanguageGate {
    /// `language.allow_unsafe`.
    pub allow_unsafe: bool,
    /// `language.allow_ffi`.
    pub allow_ffi: bool,
}

impl LanguageGate {
    /// The diagnostics for what `program` (and, with `package_native`, its packages' C code and
    /// libraries) uses that the policy forbids; empty when it passes.
    pub fn check(self, program: &LoadedProgram, package_native: bool) -> Vec<Diagnostic> {
        let mut out = Vec::new();
        let entry = program.entry.file.display_path.clone();
        if program.uses_unsafe() && !self.allow_unsafe {
            out.push(Diagnostic::new(DiagCode("X07-WORLD-0003"), &entry, "", "the program uses `unsafe` blocks, which the run policy forbids (language.allow_unsafe is false)")
                .with_help("use a policy whose language.allow_unsafe is true (e.g. the http-client template), or remove the unsafe code"));
        }
        if (program.uses_ffi() || package_native) && !self.allow_ffi {
            out.push(Diagnostic::new(DiagCode("X07-WORLD-0003"), &entry, "", "the program calls C code (extern declarations or package ffi/ sources), which the run policy forbids (language.allow_ffi is false)")
                .with_help("use a policy whose language.allow_ffi is true, or run with --no-auto-ffi if the C code is not needed"));
        }
        out
    }
}
