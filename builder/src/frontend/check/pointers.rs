//! The pointer forms of unsafe code whose result type follows an argument: `["ptr.cast", T, p]`,
//! `["ptr.add"|"ptr.sub"|"ptr.offset", p, n]` (same type as `p`, in elements of its type),
//! `["ptr.as_const", p]`, and `["addr_of"|"addr_of_mut", local]` (a pointer to an i32 or pointer
//! local, for C out-parameters). Each lowers to a typed builtin of the `ffi` fragment.

use crate::frontend::ast::Expr;
use crate::frontend::builtins::{self, Builtin};
use crate::frontend::diag::codes;
use crate::frontend::tir::{Pass, TArg, TExpr, TKind};
use crate::frontend::types::Ty;

use super::scope::{Checked, Ctx, FnChecker, Prov};

/// Heads handled here.
pub(super) const POINTER_FORMS: &[&str] = &[
    "ptr.cast",
    "ptr.add",
    "ptr.sub",
    "ptr.offset",
    "ptr.as_const",
    "addr_of",
    "addr_of_mut",
];

/// `ptr_mut_u8` → `mut_u8`.
fn suffix(t: Ty) -> &'static str {
    t.name().strip_prefix("ptr_").unwrap_or("")
}

impl FnChecker<'_> {
    /// Checks one of [`POINTER_FORMS`].
    pub(super) fn pointer_form(&mut self, head: &str, args: &[Expr], ptr: &str) -> Option<Checked> {
        match head {
            "ptr.cast" => {
                if !self.arity(head, args, 2, "pointer type, pointer", ptr) {
                    return None;
                }
                let to = args[0]
                    .as_atom()
                    .and_then(Ty::parse)
                    .filter(|t| t.is_pointer());
                let Some(to) = to else {
                    self.error(
                        codes::TYPE_MISMATCH,
                        args[0].ptr(),
                        "ptr.cast takes a pointer type name first (ptr_const_u8, ptr_mut_u8, ptr_const_void, ptr_mut_void, ptr_const_i32, ptr_mut_i32)",
                    );
                    return None;
                };
                self.call(&format!("ptr.cast_{}", suffix(to)), &args[1..], ptr)
            }
            "ptr.add" | "ptr.sub" | "ptr.offset" => {
                if !self.arity(head, args, 2, "pointer, i32", ptr) {
                    return None;
                }
                let p = self.pointer_arg(head, &args[0])?;
                let n = self.want_i32(&args[1], "an offset")?;
                let op = if head == "ptr.sub" { "sub" } else { "add" };
                let b = builtins::lookup(&format!("ptr.{op}_{}", suffix(p.ty)))
                    .expect("every pointer type has its arithmetic");
                self.pointer_builtin(b, vec![p, n], ptr, true)
            }
            "ptr.as_const" => {
                if !self.arity(head, args, 1, "pointer", ptr) {
                    return None;
                }
                let p = self.pointer_arg(head, &args[0])?;
                let to = match p.ty {
                    Ty::PtrMutU8 | Ty::PtrConstU8 => "const_u8",
                    Ty::PtrMutI32 | Ty::PtrConstI32 => "const_i32",
                    _ => "const_void",
                };
                let b = builtins::lookup(&format!("ptr.cast_{to}")).expect("cast builtins");
                self.pointer_builtin(b, vec![p], ptr, false)
            }
            _ => self.addr_of(head, args, ptr),
        }
    }

    fn pointer_arg(&mut self, head: &str, e: &Expr) -> Option<TExpr> {
        let (t, _) = self.expr(e, Ctx::Value)?;
        if !t.ty.is_pointer() {
            self.error(
                codes::TYPE_MISMATCH,
                e.ptr(),
                format!("`{head}` takes a pointer, found {}", t.ty),
            );
            return None;
        }
        Some(t)
    }

    /// A call of `b` on checked arguments, with the world and `unsafe` rules of pointer code.
    fn pointer_builtin(
        &mut self,
        b: &'static Builtin,
        args: Vec<TExpr>,
        ptr: &str,
        needs_block: bool,
    ) -> Option<Checked> {
        if !self.index.opts.os_world {
            self.defer(
                codes::WORLD_BUILTIN,
                ptr,
                format!(
                    "`{}` needs an OS world (run-os or run-os-sandboxed)",
                    b.name
                ),
            );
        }
        if needs_block && self.unsafe_depth == 0 {
            self.error_help(
                codes::UNSAFE_REQUIRED,
                ptr,
                format!(
                    "`{}` handles raw pointers and is allowed only inside an `unsafe` block",
                    b.name
                ),
                "wrap the code in [\"unsafe\", ...]",
            );
            return None;
        }
        let args = args
            .into_iter()
            .map(|expr| TArg {
                expr,
                pass: Pass::Value,
            })
            .collect();
        Some((
            TExpr {
                kind: TKind::Builtin(b, args),
                ty: b.result,
                ptr: ptr.to_string(),
            },
            Prov::default(),
        ))
    }

    /// `addr_of` / `addr_of_mut` of an i32 or pointer local.
    fn addr_of(&mut self, head: &str, args: &[Expr], ptr: &str) -> Option<Checked> {
        if !self.arity(head, args, 1, "a local", ptr) {
            return None;
        }
        let id = args[0].as_atom().and_then(|n| self.lookup(n));
        let Some(id) = id.filter(|id| {
            let ty = self.locals[*id].ty;
            ty == Ty::I32 || ty.is_pointer()
        }) else {
            self.error(
                codes::TYPE_MISMATCH,
                args[0].ptr(),
                format!("`{head}` takes the name of an i32 or pointer local (its address is passed to C)"),
            );
            return None;
        };
        if !self.index.opts.os_world {
            self.defer(
                codes::WORLD_BUILTIN,
                ptr,
                format!("`{head}` needs an OS world (run-os or run-os-sandboxed)"),
            );
        }
        let mutable = head == "addr_of_mut";
        Some((
            TExpr {
                kind: TKind::AddrOf(id, mutable),
                ty: if mutable {
                    Ty::PtrMutVoid
                } else {
                    Ty::PtrConstVoid
                },
                ptr: ptr.to_string(),
            },
            Prov::default(),
        ))
    }
}
