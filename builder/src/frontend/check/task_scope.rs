//! Task scopes: `["task.scope_v1", ["task.scope.cfg_v1", [limit, n]...], body]`. Children are
//! started in the body with `task.scope.start_soon_v1` / `task.scope.async_let_*_v1`, each of
//! an immediate defasync call, and are all waited for when the scope ends (docs/async.md).

use crate::frontend::ast::Expr;
use crate::frontend::diag::codes;
use crate::frontend::tir::{TExpr, TKind, TaskScopeCfg};
use crate::frontend::types::Ty;

use super::scope::{Checked, Ctx, FnChecker};

/// The `task.scope.cfg_v1` fields (only max_children and max_slot_result_bytes are enforced).
const CFG_FIELDS: [&str; 5] = [
    "max_children",
    "max_ticks",
    "max_blocked_waits",
    "max_join_polls",
    "max_slot_result_bytes",
];

impl FnChecker<'_> {
    /// Checks a `task.scope_v1` form.
    pub(super) fn task_scope(&mut self, args: &[Expr], ptr: &str, ctx: Ctx) -> Option<Checked> {
        if !self.arity(
            "task.scope_v1",
            args,
            2,
            "[\"task.scope.cfg_v1\", ...], body",
            ptr,
        ) {
            return None;
        }
        if !self.may_wait {
            self.error_help(
                codes::ASYNC_WAIT_OUTSIDE,
                ptr,
                "`task.scope_v1` waits for its children, and is only allowed in solve or a defasync body",
                "make the function a defasync",
            );
            return None;
        }
        let cfg = self.task_scope_cfg(&args[0]);
        self.task_scope_depth += 1;
        let body = self.expr(&args[1], ctx);
        self.task_scope_depth -= 1;
        let (cfg, (body, prov)) = (cfg?, body?);
        let ty = body.ty;
        Some((
            TExpr {
                kind: TKind::TaskScope(Box::new(cfg), Box::new(body)),
                ty,
                ptr: ptr.to_string(),
            },
            prov,
        ))
    }

    fn task_scope_cfg(&mut self, e: &Expr) -> Option<TaskScopeCfg> {
        let Expr::List { head, args, .. } = e else {
            self.error(
                codes::ASYNC_SCOPE,
                e.ptr(),
                "the first argument of task.scope_v1 is [\"task.scope.cfg_v1\", [name, n]...]",
            );
            return None;
        };
        if head != "task.scope.cfg_v1" {
            self.error(
                codes::ASYNC_SCOPE,
                e.ptr(),
                "the first argument of task.scope_v1 is [\"task.scope.cfg_v1\", [name, n]...]",
            );
            return None;
        }
        let mut cfg = TaskScopeCfg::default();
        let mut ok = true;
        for f in args {
            let field = match f {
                Expr::List { head, args, .. }
                    if args.len() == 1 && CFG_FIELDS.contains(&head.as_str()) =>
                {
                    match &args[0] {
                        Expr::Int { value, .. } if *value >= 0 => {
                            Some((head.as_str(), *value as u32))
                        }
                        _ => None,
                    }
                }
                _ => None,
            };
            match field {
                Some(("max_children", n)) => cfg.max_children = n,
                Some(("max_slot_result_bytes", n)) => cfg.max_slot_result_bytes = n,
                Some(_) => {}
                None => {
                    self.error_help(
                        codes::ASYNC_SCOPE,
                        f.ptr(),
                        "a task.scope.cfg_v1 field is [name, integer >= 0]",
                        format!("the fields are {}", CFG_FIELDS.join(", ")),
                    );
                    ok = false;
                }
            }
        }
        ok.then_some(cfg)
    }

    /// The checks of a `task.scope.*` builtin before its arguments: inside a scope, and a child
    /// started from an immediate call of a defasync returning `want` (when given).
    pub(super) fn task_scope_op(&mut self, head: &str, args: &[Expr], ptr: &str) -> bool {
        if self.task_scope_depth == 0 {
            self.error(
                codes::ASYNC_SCOPE,
                ptr,
                format!("`{head}` is only allowed inside a task.scope_v1"),
            );
            return false;
        }
        let want = match head {
            "task.scope.start_soon_v1" => None,
            "task.scope.async_let_bytes_v1" => Some(Ty::Bytes),
            "task.scope.async_let_result_bytes_v1" => Some(Ty::ResultBytes),
            _ => return true,
        };
        let callee = match args.first() {
            Some(Expr::List { head: f, .. }) => self.index.lookup(f).map(|id| &self.index.fns[id]),
            _ => None,
        };
        match callee {
            Some(d) if d.defn.is_async && want.is_none_or(|t| t == d.defn.result) => true,
            _ => {
                let what = match want {
                    Some(t) => format!("a defasync returning {t}"),
                    None => "a defasync".to_string(),
                };
                self.error(
                    codes::ASYNC_SCOPE,
                    args.first().map_or(ptr, Expr::ptr),
                    format!("`{head}` takes an immediate call of {what} (the child's handle never escapes the scope)"),
                );
                false
            }
        }
    }
}
