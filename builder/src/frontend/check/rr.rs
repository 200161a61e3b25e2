//! Record/replay scopes: `["std.rr.with_policy_v1", ["bytes.lit", POLICY], ["bytes.lit",
//! CASSETTE], MODE, body]` opens cassette `.x07_rr/CASSETTE` under the consumer's arch/rr policy
//! POLICY (see [`crate::rr`]) around the body, which `rr.current_v1` then sees. A failed open
//! returns its error from the enclosing function, so that function must return result_i32 or
//! result_bytes; the scope's value is its body's.

use x07_spec::rr_policy::RR_MODES;

use crate::frontend::ast::Expr;
use crate::frontend::diag::codes;
use crate::frontend::tir::{TExpr, TKind};
use crate::frontend::types::Ty;

use super::scope::{Checked, Ctx, FnChecker};

impl FnChecker<'_> {
    /// Checks a `std.rr.with_policy_v1` scope.
    pub(super) fn rr_scope(
        &mut self,
        head: &str,
        args: &[Expr],
        ptr: &str,
        ctx: Ctx,
    ) -> Option<Checked> {
        if !self.arity(
            head,
            args,
            4,
            "[\"bytes.lit\", policy_id], [\"bytes.lit\", cassette_path], mode, body",
            ptr,
        ) {
            return None;
        }
        if !self.index.opts.rr_world {
            self.defer(
                codes::WORLD_BUILTIN,
                ptr,
                format!(
                    "`{head}` needs a world with record/replay cassettes (solve-full or run-os)"
                ),
            );
        }
        if !matches!(self.result, Ty::ResultI32 | Ty::ResultBytes) {
            self.error_help(
                codes::RR_SCOPE,
                ptr,
                format!("`{head}` is allowed only in a function returning result_i32 or result_bytes, not {}", self.result),
                "a cassette that cannot be opened returns its error (2000..2014) from the function",
            );
            return None;
        }
        let policy = self.bytes_lit_arg(head, &args[0], "policy id");
        let cassette = self.bytes_lit_arg(head, &args[1], "cassette path");
        // the public form is ["i32.lit", N]; a bare integer is the same literal
        let literal = match &args[2] {
            Expr::Int { value, .. } => Some(*value),
            Expr::List { head, args: a, .. } if head == "i32.lit" && a.len() == 1 => match a[0] {
                Expr::Int { value, .. } => Some(value),
                _ => None,
            },
            _ => None,
        };
        let mode = match literal {
            Some(v) if (0..RR_MODES.len() as i32).contains(&v) => Some(v as u8),
            _ => {
                let other = &args[2];
                self.error(
                    codes::RR_SCOPE,
                    other.ptr(),
                    "the mode of std.rr.with_policy_v1 is [\"i32.lit\", N]: 0 off, 1 record_v1, 2 replay_v1, 3 record_missing_v1, 4 rewrite_v1",
                );
                None
            }
        };
        let body = self.expr(&args[3], ctx);
        let (policy, cassette, mode, (body, prov)) = (policy?, cassette?, mode?, body?);
        let cfg = match self.index.rr.get(&policy) {
            Ok((index, p)) => {
                let name = RR_MODES[mode as usize];
                if !index.mode_allowed(name) {
                    self.defer(
                        codes::RR_POLICY,
                        args[2].ptr(),
                        format!("rr mode {name} is not in the project's arch/rr index defaults.record_modes_allowed"),
                    );
                }
                p.config_blob(mode, &cassette)
            }
            Err(why) => {
                self.defer(codes::RR_POLICY, args[0].ptr(), why);
                Vec::new()
            }
        };
        let ty = body.ty;
        Some((
            TExpr {
                kind: TKind::RrScope(cfg, Box::new(body)),
                ty,
                ptr: ptr.to_string(),
            },
            prov,
        ))
    }

    /// The text of a `["bytes.lit", TEXT]` argument.
    fn bytes_lit_arg(&mut self, head: &str, e: &Expr, what: &str) -> Option<String> {
        if let Expr::List { head: h, args, .. } = e {
            if h == "bytes.lit" && args.len() == 1 {
                if let Some(t) = args[0].as_atom() {
                    return Some(t.to_string());
                }
            }
        }
        self.error(
            codes::RR_SCOPE,
            e.ptr(),
            format!("the {what} of {head} must be written [\"bytes.lit\", TEXT]"),
        );
        None
    }
}
