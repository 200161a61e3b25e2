//! Budget scopes: `["budget.scope_v1", ["budget.cfg_v1", ["mode", M], ["label", ["bytes.lit", L]],
//! [limit, n]...], body]` and `["budget.scope_from_arch_v1", ["bytes.lit", ID], body]`, whose
//! configuration is the consumer's profile `ID` (see [`crate::budget`]). The scope's value is its
//! body's; a `result_err_v1` scope needs a `result_*` body, which an exceeded limit replaces.

use x07_spec::budget_profile::{BudgetCfg, BudgetMode};

use crate::frontend::ast::Expr;
use crate::frontend::diag::{codes, Diagnostic};
use crate::frontend::tir::{TExpr, TKind};
use crate::frontend::types::Ty;

use super::scope::{Checked, Ctx, FnChecker};

impl FnChecker<'_> {
    /// Checks either budget scope form.
    pub(super) fn budget_scope(
        &mut self,
        head: &str,
        args: &[Expr],
        ptr: &str,
        ctx: Ctx,
    ) -> Option<Checked> {
        let inline = head == "budget.scope_v1";
        let shape = if inline {
            "[\"budget.cfg_v1\", ...], body"
        } else {
            "[\"bytes.lit\", profile_id], body"
        };
        if !self.arity(head, args, 2, shape, ptr) {
            return None;
        }
        let cfg = if inline {
            self.budget_cfg(&args[0])
        } else {
            self.arch_profile(&args[0])
        };
        let body = self.expr(&args[1], ctx);
        let (cfg, (body, prov)) = (cfg?, body?);
        let result_body = matches!(
            body.ty,
            Ty::ResultI32 | Ty::ResultBytes | Ty::ResultBytesView | Ty::Never
        );
        if cfg.mode == BudgetMode::ResultErr && !result_body {
            self.error_help(
                codes::BUDGET_CFG,
                args[1].ptr(),
                format!(
                    "a result_err_v1 budget scope needs a result_i32, result_bytes or result_bytes_view body, found {}",
                    body.ty
                ),
                "an exceeded limit replaces the scope's value with an error; use trap_v1 for other bodies",
            );
            return None;
        }
        let ty = body.ty;
        Some((
            TExpr {
                kind: TKind::Budget(Box::new(cfg), Box::new(body)),
                ty,
                ptr: ptr.to_string(),
            },
            prov,
        ))
    }

    /// The profile named by `["bytes.lit", ID]`; a missing one is reported only if this function
    /// is reachable (the scope then gets a stand-in that is never emitted).
    fn arch_profile(&mut self, e: &Expr) -> Option<BudgetCfg> {
        let id = match e {
            Expr::List { head, args, .. } if head == "bytes.lit" && args.len() == 1 => {
                args[0].as_atom()
            }
            _ => None,
        };
        let Some(id) = id else {
            self.error(
                codes::BUDGET_CFG,
                e.ptr(),
                "the profile id of budget.scope_from_arch_v1 must be written [\"bytes.lit\", ID]",
            );
            return None;
        };
        match self.index.budgets.get(id) {
            Ok(cfg) => Some(cfg.clone()),
            Err(why) => {
                self.deferred.push(
                    Diagnostic::new(codes::BUDGET_PROFILE, self.file, e.ptr(), why).with_help(
                        "budget profiles are the consuming project's: arch/budgets/profiles/<id>.budget.json beside x07.json (or in a directory above it)",
                    ),
                );
                Some(BudgetCfg {
                    mode: BudgetMode::StatsOnly,
                    label: id.to_string(),
                    alloc_bytes: 0,
                    alloc_calls: 0,
                    realloc_calls: 0,
                    memcpy_bytes: 0,
                    sched_ticks: 0,
                    fuel: 0,
                })
            }
        }
    }

    /// An inline `budget.cfg_v1`.
    fn budget_cfg(&mut self, e: &Expr) -> Option<BudgetCfg> {
        let fields = match e {
            Expr::List { head, args, .. } if head == "budget.cfg_v1" => args,
            _ => {
                self.error(
                    codes::BUDGET_CFG,
                    e.ptr(),
                    "the first argument of budget.scope_v1 must be [\"budget.cfg_v1\", [\"mode\", M], [\"label\", [\"bytes.lit\", L]], ...]",
                );
                return None;
            }
        };
        let mut mode = None;
        let mut label = None;
        let mut cfg = BudgetCfg {
            mode: BudgetMode::Trap,
            label: String::new(),
            alloc_bytes: 0,
            alloc_calls: 0,
            realloc_calls: 0,
            memcpy_bytes: 0,
            sched_ticks: 0,
            fuel: 0,
        };
        let mut seen = Vec::new();
        let mut ok = true;
        for f in fields {
            let (key, value) = match f {
                Expr::List { head, args, .. } if args.len() == 1 => (head.as_str(), &args[0]),
                _ => {
                    self.error(
                        codes::BUDGET_CFG,
                        f.ptr(),
                        "each budget.cfg_v1 field is [name, value]",
                    );
                    ok = false;
                    continue;
                }
            };
            if seen.contains(&key) {
                self.error(
                    codes::BUDGET_CFG,
                    f.ptr(),
                    format!("budget.cfg_v1 sets `{key}` twice"),
                );
                ok = false;
                continue;
            }
            seen.push(key);
            match key {
                "mode" => match value.as_atom().and_then(BudgetMode::parse) {
                    Some(m) => mode = Some(m),
                    None => {
                        self.error(
                            codes::BUDGET_CFG,
                            value.ptr(),
                            format!("the mode must be one of {}", BudgetMode::ALL.join(", ")),
                        );
                        ok = false;
                    }
                },
                "label" => match value {
                    Expr::List { head, args, .. }
                        if head == "bytes.lit"
                            && args.len() == 1
                            && args[0].as_atom().is_some_and(|l| !l.is_empty()) =>
                    {
                        label = args[0].as_atom().map(str::to_string);
                    }
                    _ => {
                        self.error(
                            codes::BUDGET_CFG,
                            value.ptr(),
                            "the label must be a non-empty [\"bytes.lit\", L]",
                        );
                        ok = false;
                    }
                },
                _ => match (cfg.limit_mut(key), value) {
                    (Some(slot), Expr::Int { value: n, .. }) if *n >= 0 => *slot = *n as u64,
                    (Some(_), _) => {
                        self.error(
                            codes::BUDGET_CFG,
                            value.ptr(),
                            format!("`{key}` must be an integer >= 0 (0 = unlimited)"),
                        );
                        ok = false;
                    }
                    (None, _) => {
                        self.error_help(
                            codes::BUDGET_CFG,
                            f.ptr(),
                            format!("budget.cfg_v1 has no field `{key}`"),
                            format!(
                                "the fields are mode, label, {}",
                                BudgetCfg::LIMITS.join(", ")
                            ),
                        );
                        ok = false;
                    }
                },
            }
        }
        for (missing, what) in [(mode.is_none(), "mode"), (label.is_none(), "label")] {
            if missing && !seen.contains(&what) {
                self.error(
                    codes::BUDGET_CFG,
                    e.ptr(),
                    format!("budget.cfg_v1 is missing `{what}`"),
                );
                ok = false;
            }
        }
        cfg.mode = mode?;
        cfg.label = label?;
        ok.then_some(cfg)
    }
}
