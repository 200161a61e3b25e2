//! Checking of identifiers, literals, special forms and operators.

use crate::frontend::ast::Expr;
use crate::frontend::builtins::BinOp;
use crate::frontend::diag::codes;
use crate::frontend::parse::is_local_name;
use crate::frontend::tir::{TExpr, TKind, UseMode};
use crate::frontend::types::Ty;

use super::scope::{Checked, Ctx, FnChecker, Prov};

/// Heads of x07 forms this compiler does not support yet.
const UNSUPPORTED_FORMS: &[&str] = &["match", "std.stream.pipe_v1"];

fn node(kind: TKind, ty: Ty, ptr: &str) -> TExpr {
    TExpr {
        kind,
        ty,
        ptr: ptr.to_string(),
    }
}

fn plain(kind: TKind, ty: Ty, ptr: &str) -> Checked {
    (node(kind, ty, ptr), Prov::default())
}

impl FnChecker<'_> {
    /// Checks an expression in a context.
    pub fn expr(&mut self, e: &Expr, ctx: Ctx) -> Option<Checked> {
        match e {
            Expr::Int { value, ptr } => Some(plain(TKind::Int(*value), Ty::I32, ptr)),
            Expr::Atom { text, ptr } => self.ident(text, ptr),
            Expr::List {
                head,
                head_ptr,
                args,
                ptr,
            } => self.list(head, head_ptr, args, ptr, ctx),
        }
    }

    /// An identifier in a value position: owned values move.
    fn ident(&mut self, name: &str, ptr: &str) -> Option<Checked> {
        if name == "input" && self.lookup("input").is_none() {
            return Some(plain(TKind::Input, Ty::BytesView, ptr));
        }
        let Some(id) = self.lookup(name) else {
            let help = if name.contains('.') {
                format!("functions and builtins are called as lists: [\"{name}\", ...]")
            } else {
                "bind it with [\"let\", name, value] first, or check the spelling".to_string()
            };
            self.error_help(
                codes::NAME_UNKNOWN_IDENT,
                ptr,
                format!("unknown identifier `{name}`"),
                help,
            );
            return None;
        };
        let ty = self.locals[id].ty;
        if ty.is_owned() {
            self.move_local(id, ptr);
            return Some(plain(TKind::Local(id, UseMode::Move), ty, ptr));
        }
        if !self.check_not_moved(id, ptr) {
            return None;
        }
        let prov = self.locals[id].prov.clone();
        Some((node(TKind::Local(id, UseMode::Copy), ty, ptr), prov))
    }

    pub(super) fn arity(
        &mut self,
        head: &str,
        args: &[Expr],
        want: usize,
        shape: &str,
        ptr: &str,
    ) -> bool {
        if args.len() != want {
            self.error(
                codes::ARITY,
                ptr,
                format!(
                    "`{head}` takes {want} argument(s) ({shape}), got {}",
                    args.len()
                ),
            );
            return false;
        }
        true
    }

    pub(super) fn want_i32(&mut self, e: &Expr, what: &str) -> Option<TExpr> {
        let (t, _) = self.expr(e, Ctx::Value)?;
        if !t.ty.fits(Ty::I32) {
            let code = if what == "condition" {
                codes::TYPE_COND
            } else {
                codes::TYPE_MISMATCH
            };
            self.error(code, e.ptr(), format!("{what} must be i32, found {}", t.ty));
            return None;
        }
        Some(t)
    }

    fn list(
        &mut self,
        head: &str,
        head_ptr: &str,
        args: &[Expr],
        ptr: &str,
        ctx: Ctx,
    ) -> Option<Checked> {
        if let Some(op) = BinOp::parse(head) {
            if !self.arity(head, args, 2, "i32, i32", ptr) {
                return None;
            }
            let a = self.want_i32(&args[0], "an operand");
            let b = self.want_i32(&args[1], "an operand");
            return Some(plain(
                TKind::Op(op, Box::new(a?), Box::new(b?)),
                Ty::I32,
                ptr,
            ));
        }
        match head {
            "begin" => self.begin(args, ptr, ctx),
            "unsafe" => {
                if !self.index.opts.os_world {
                    // reachable code only, like every world capability
                    self.defer(
                        codes::WORLD_BUILTIN,
                        ptr,
                        "`unsafe` blocks need an OS world (run-os or run-os-sandboxed)",
                    );
                }
                self.unsafe_depth += 1;
                let r = self.begin(args, ptr, ctx);
                self.unsafe_depth -= 1;
                r
            }
            "let" => self.let_(args, ptr, ctx),
            "set" | "set0" => self.set(head, args, ptr, ctx),
            "if" => self.if_(args, ptr, ctx),
            "for" => self.for_(args, ptr),
            "while" => self.while_(args, ptr),
            "return" => self.return_(args, ptr),
            "try" => self.try_(args, ptr),
            "&&" | "||" => self.short_circuit(head, args, ptr),
            "task.scope_v1" => self.task_scope(args, ptr, ctx),
            // `await` is the join of a bytes task
            "await" => self.call("task.join.bytes", args, ptr),
            _ if super::pointers::POINTER_FORMS.contains(&head) => {
                self.pointer_form(head, args, ptr)
            }
            crate::rr::WITH_POLICY => self.rr_scope(head, args, ptr, ctx),
            "budget.scope_v1" | crate::budget::SCOPE_FROM_ARCH => {
                self.budget_scope(head, args, ptr, ctx)
            }
            _ if UNSUPPORTED_FORMS.contains(&head) => {
                self.error(
                    codes::UNSUPPORTED,
                    head_ptr,
                    format!("`{head}` is not supported yet by this compiler"),
                );
                None
            }
            _ => self.call(head, args, ptr),
        }
    }

    fn begin(&mut self, args: &[Expr], ptr: &str, ctx: Ctx) -> Option<Checked> {
        if args.is_empty() {
            self.error(
                codes::EXPR_FORM,
                ptr,
                "`begin` needs at least one expression",
            );
            return None;
        }
        self.push_scope();
        let mut items = Vec::with_capacity(args.len());
        let mut ok = true;
        for a in &args[..args.len() - 1] {
            match self.expr(a, Ctx::Stmt) {
                Some((t, _)) => items.push(t),
                None => ok = false,
            }
        }
        let last = self.expr(&args[args.len() - 1], ctx);
        let prov = last.as_ref().map(|(_, p)| p.clone()).unwrap_or_default();
        let escaping = (ctx == Ctx::Value
            && last.as_ref().is_some_and(|(t, _)| t.ty.is_view_like()))
        .then_some(&prov);
        self.pop_scope(escaping.map(|p| (p, args[args.len() - 1].ptr())));
        let (last, _) = last?;
        let ty = last.ty;
        items.push(last);
        ok.then(|| (node(TKind::Begin(items), ty, ptr), prov))
    }

    fn local_name<'e>(&mut self, form: &str, e: &'e Expr) -> Option<&'e str> {
        match e.as_atom() {
            Some(n) if is_local_name(n) => Some(n),
            _ => {
                self.error(
                    codes::EXPR_FORM,
                    e.ptr(),
                    format!("the first argument of `{form}` must be a variable name"),
                );
                None
            }
        }
    }

    fn let_(&mut self, args: &[Expr], ptr: &str, ctx: Ctx) -> Option<Checked> {
        if !self.arity("let", args, 2, "name, value", ptr) {
            return None;
        }
        let name = self.local_name("let", &args[0])?;
        if self.in_current_scope(name) {
            self.error_help(
                codes::NAME_DUP_LET,
                ptr,
                format!("`{name}` is already bound in this scope"),
                "use [\"set\", name, value] to assign it, or a new name (an inner begin may shadow)",
            );
            return None;
        }
        let (init, prov) = self.expr(&args[1], Ctx::Value)?;
        if init.ty == Ty::Never {
            self.error(
                codes::TYPE_MISMATCH,
                args[1].ptr(),
                format!("`{name}` cannot be bound to an expression that never produces a value"),
            );
            return None;
        }
        if init.ty.is_view_like() && prov.temp {
            self.error_help(
                codes::OWN_VIEW_TEMP,
                args[1].ptr(),
                format!("`{name}` would hold a view of a temporary that is dropped at the end of this statement"),
                "bind the owned value with let first, then take the view",
            );
            return None;
        }
        if ctx == Ctx::Value && init.ty.is_owned() {
            self.error(
                codes::TYPE_OWNED_STMT_VALUE,
                ptr,
                format!("a `let` of an owned {} cannot be used as a value", init.ty),
            );
            return None;
        }
        let ty = init.ty;
        let id = self.declare(name, ty, prov.clone());
        Some((node(TKind::Let(id, Box::new(init)), ty, ptr), prov))
    }

    fn set(&mut self, head: &str, args: &[Expr], ptr: &str, ctx: Ctx) -> Option<Checked> {
        if !self.arity(head, args, 2, "name, value", ptr) {
            return None;
        }
        let name = self.local_name(head, &args[0])?;
        let Some(id) = self.lookup(name) else {
            self.error_help(
                codes::NAME_UNKNOWN_IDENT,
                args[0].ptr(),
                format!("`{head}` of unknown variable `{name}`"),
                "declare it with let first",
            );
            return None;
        };
        let (value, prov) = self.expr(&args[1], Ctx::Value)?;
        let ty = self.locals[id].ty;
        if !value.ty.fits(ty) {
            self.error(
                codes::TYPE_MISMATCH,
                args[1].ptr(),
                format!(
                    "`{name}` has type {ty} but the new value has type {}",
                    value.ty
                ),
            );
            return None;
        }
        if ty.is_owned() {
            // the views of the old value end here; using one later is the error
            if !self.end_borrows_of(id, ptr) {
                self.error_help(
                    codes::OWN_SET_BORROWED,
                    ptr,
                    format!("cannot set `{name}` while an argument of the same call borrows it"),
                    "compute the new value in a let first",
                );
                return None;
            }
            self.locals[id].moved_at = None;
        }
        if ty.is_view_like() {
            if prov.temp {
                self.error(codes::OWN_VIEW_TEMP, args[1].ptr(), format!("`{name}` would hold a view of a temporary that is dropped at the end of this statement"));
                return None;
            }
            self.locals[id].prov = prov.clone();
            // a view given a new value is usable again (even if its old owner was set)
            self.locals[id].moved_at = None;
        }
        if head == "set0" {
            return Some(plain(TKind::Set0(id, Box::new(value)), Ty::I32, ptr));
        }
        if ctx == Ctx::Value && ty.is_owned() {
            self.error(
                codes::TYPE_OWNED_STMT_VALUE,
                ptr,
                format!("a `set` of an owned {ty} cannot be used as a value (use set0)"),
            );
            return None;
        }
        Some((node(TKind::Set(id, Box::new(value)), ty, ptr), prov))
    }

    fn arm(&mut self, e: &Expr, ctx: Ctx) -> Option<Checked> {
        self.push_scope();
        let r = self.expr(e, ctx);
        let escaping = r
            .as_ref()
            .filter(|(t, _)| ctx == Ctx::Value && t.ty.is_view_like())
            .map(|(_, p)| p.clone());
        self.pop_scope(escaping.as_ref().map(|p| (p, e.ptr())));
        if let Some(p) = &escaping {
            if p.temp {
                self.error_help(
                    codes::OWN_VIEW_TEMP,
                    e.ptr(),
                    "this view borrows from a temporary that is dropped at the end of the branch",
                    "bind the owned value with let before the if",
                );
                return None;
            }
        }
        r
    }

    fn if_(&mut self, args: &[Expr], ptr: &str, ctx: Ctx) -> Option<Checked> {
        if !self.arity("if", args, 3, "condition, then, else", ptr) {
            return None;
        }
        let cond = self.want_i32(&args[0], "condition");
        let start = self.flow();
        let then = self.arm(&args[1], ctx);
        let after_then = self.flow();
        self.restore(&start);
        let els = self.arm(&args[2], ctx);
        let after_else = self.flow();
        self.merge(&after_then, &after_else);
        let ((t, mut prov), (e, eprov)) = (then?, els?);
        let ty = match (t.ty, e.ty) {
            (a, b) if a == b => a,
            (Ty::Never, b) => b,
            (a, Ty::Never) => a,
            (a, b) if ctx == Ctx::Value => {
                self.error(
                    codes::TYPE_IF_ARMS,
                    ptr,
                    format!("the branches of this `if` have different types: {a} and {b}"),
                );
                return None;
            }
            _ => Ty::I32,
        };
        prov.union(&eprov);
        Some((
            node(
                TKind::If(Box::new(cond?), Box::new(t), Box::new(e)),
                ty,
                ptr,
            ),
            prov,
        ))
    }

    /// Checks a loop body (and condition); a second pass finds values moved by an earlier iteration.
    fn loop_body(&mut self, cond: Option<&Expr>, body: &Expr) -> Option<(Option<TExpr>, TExpr)> {
        let before = self.flow();
        let pass = |cx: &mut Self| {
            cx.push_scope();
            let c = cond.map(|c| cx.want_i32(c, "condition"));
            let b = cx.expr(body, Ctx::Stmt);
            cx.pop_scope(None);
            (c, b)
        };
        let (c, b) = pass(self);
        if self.newly_moved(&before) {
            let _ = pass(self);
        }
        let after = self.flow();
        self.merge(&before, &after);
        self.reachable = before.reachable;
        let c = match c {
            Some(c) => Some(c?),
            None => None,
        };
        Some((c, b?.0))
    }

    fn for_(&mut self, args: &[Expr], ptr: &str) -> Option<Checked> {
        if !self.arity("for", args, 4, "variable, start, end, body", ptr) {
            return None;
        }
        let name = self.local_name("for", &args[0])?;
        let start = self.want_i32(&args[1], "the start of a for loop");
        let end = self.want_i32(&args[2], "the end of a for loop");
        let (var, declare) = match self.lookup(name) {
            Some(id) if self.locals[id].ty == Ty::I32 => (id, false),
            _ => (self.declare(name, Ty::I32, Prov::default()), true),
        };
        let (_, body) = self.loop_body(None, &args[3])?;
        let kind = TKind::For {
            var,
            declare,
            start: Box::new(start?),
            end: Box::new(end?),
            body: Box::new(body),
        };
        Some(plain(kind, Ty::I32, ptr))
    }

    fn while_(&mut self, args: &[Expr], ptr: &str) -> Option<Checked> {
        if !self.arity("while", args, 2, "condition, body", ptr) {
            return None;
        }
        let (cond, body) = self.loop_body(Some(&args[0]), &args[1])?;
        Some(plain(
            TKind::While(Box::new(cond?), Box::new(body)),
            Ty::I32,
            ptr,
        ))
    }

    fn return_(&mut self, args: &[Expr], ptr: &str) -> Option<Checked> {
        if !self.arity("return", args, 1, "value", ptr) {
            return None;
        }
        let (v, prov) = self.expr(&args[0], Ctx::Value)?;
        if !v.ty.fits(self.result) {
            self.error(
                codes::TYPE_MISMATCH,
                args[0].ptr(),
                format!(
                    "`return` of {} in a function whose result type is {}",
                    v.ty, self.result
                ),
            );
            return None;
        }
        self.check_escaping_view(&prov, args[0].ptr(), "returned");
        self.reachable = false;
        Some(plain(TKind::Return(Box::new(v)), Ty::Never, ptr))
    }

    fn try_(&mut self, args: &[Expr], ptr: &str) -> Option<Checked> {
        if !self.arity("try", args, 1, "result", ptr) {
            return None;
        }
        let (v, prov) = self.expr(&args[0], Ctx::Value)?;
        let payload = match v.ty {
            Ty::ResultI32 => Ty::I32,
            Ty::ResultBytes => Ty::Bytes,
            Ty::ResultBytesView => Ty::BytesView,
            other => {
                self.error(codes::TYPE_TRY, args[0].ptr(), format!("`try` needs a result_i32, result_bytes or result_bytes_view, found {other}"));
                return None;
            }
        };
        if !matches!(
            self.result,
            Ty::ResultI32 | Ty::ResultBytes | Ty::ResultBytesView
        ) {
            self.error_help(
                codes::TYPE_TRY,
                ptr,
                format!(
                    "`try` returns the error from the function, but this function returns {}",
                    self.result
                ),
                "use try only in functions that return a result type, or test with result_*.is_ok",
            );
            return None;
        }
        Some((node(TKind::Try(Box::new(v)), payload, ptr), prov))
    }

    fn short_circuit(&mut self, head: &str, args: &[Expr], ptr: &str) -> Option<Checked> {
        if !self.arity(head, args, 2, "i32, i32", ptr) {
            return None;
        }
        let a = self.want_i32(&args[0], "an operand");
        let start = self.flow();
        self.push_scope();
        let b = self.want_i32(&args[1], "an operand");
        self.pop_scope(None);
        let after = self.flow();
        self.merge(&start, &after);
        let (a, b) = (Box::new(a?), Box::new(b?));
        Some(plain(
            if head == "&&" {
                TKind::And(a, b)
            } else {
                TKind::Or(a, b)
            },
            Ty::I32,
            ptr,
        ))
    }
}
