//! Calls of builtins and user functions: arity, visibility and the argument-passing rules.

use crate::frontend::ast::Expr;
use crate::frontend::builtins::{self, ParamKind};
use crate::frontend::diag::codes;
use crate::frontend::tir::{LocalId, Pass, TArg, TExpr, TKind, UseMode};
use crate::frontend::types::Ty;

use super::scope::{Checked, Ctx, FnChecker, Prov};

/// How a user-function parameter of a type receives its argument.
fn param_kind(ty: Ty) -> ParamKind {
    match ty {
        Ty::BytesView => ParamKind::View,
        t if t.is_owned() => ParamKind::Own(t),
        t => ParamKind::Val(t),
    }
}

impl FnChecker<'_> {
    /// Checks a call (builtin or user function).
    pub fn call(&mut self, head: &str, args: &[Expr], ptr: &str) -> Option<Checked> {
        if let Some(b) = builtins::lookup(head) {
            // world capabilities count only in code reachable from solve (as on the public
            // toolchain): a module may hold functions for other worlds
            if b.is_fixture_fs() && !self.index.opts.fs_world {
                self.defer(
                    codes::WORLD_BUILTIN,
                    ptr,
                    format!("`{head}` needs a world with a filesystem (solve-fs, solve-full or run-os; in run-os-sandboxed use os.fs.*)"),
                );
            }
            if b.is_rr() && !self.index.opts.rr_world {
                self.defer(
                    codes::WORLD_BUILTIN,
                    ptr,
                    format!("`{head}` needs a world with record/replay cassettes (solve-full or run-os)"),
                );
            }
            if b.is_os() && !self.index.opts.os_world {
                self.defer(
                    codes::WORLD_BUILTIN,
                    ptr,
                    format!("`{head}` needs an OS world (run-os or run-os-sandboxed)"),
                );
            }
            if head.starts_with("task.scope.") && !self.task_scope_op(head, args, ptr) {
                return None;
            }
            if b.waits() && !self.may_wait {
                self.error_help(
                    codes::ASYNC_WAIT_OUTSIDE,
                    ptr,
                    format!("`{head}` waits, and is only allowed in solve or a defasync body"),
                    "make the function a defasync (its callers then get a task handle to await)",
                );
                return None;
            }
            if b.needs_unsafe_block() && self.unsafe_depth == 0 {
                self.error_help(codes::UNSAFE_REQUIRED, ptr, format!("`{head}` handles raw pointers and is allowed only inside an `unsafe` block"), "wrap the code in [\"unsafe\", ...]");
                return None;
            }
            if args.len() != b.params.len() {
                self.error(
                    codes::ARITY,
                    ptr,
                    format!(
                        "`{head}` takes {} argument(s), got {}",
                        b.params.len(),
                        args.len()
                    ),
                );
                return None;
            }
            if b.params == [ParamKind::Text] {
                let Some(text) = args[0].as_atom() else {
                    self.error(
                        codes::TYPE_MISMATCH,
                        args[0].ptr(),
                        format!("`{head}` takes a string literal"),
                    );
                    return None;
                };
                let kind = TKind::Lit {
                    bytes: text.as_bytes().to_vec(),
                    view: b.result == Ty::BytesView,
                };
                return Some((
                    TExpr {
                        kind,
                        ty: b.result,
                        ptr: ptr.to_string(),
                    },
                    Prov::default(),
                ));
            }
            let (targs, prov) = self.args(head, b.params, args, ptr)?;
            let prov = if b.result.is_view_like() {
                prov
            } else {
                Prov::default()
            };
            return Some((
                TExpr {
                    kind: TKind::Builtin(b, targs),
                    ty: b.result,
                    ptr: ptr.to_string(),
                },
                prov,
            ));
        }
        let Some(fid) = self.index.lookup(head) else {
            if let Some(eid) = self.index.lookup_extern(head) {
                return self.extern_call(head, eid, args, ptr);
            }
            // an unknown name counts only in code reachable from solve, as on the public
            // toolchain (a module may hold functions for builtins another toolchain has)
            let before = self.diag_count();
            let r = self.unknown_callee(head, ptr);
            self.defer_since(before);
            return r;
        };
        let decl = &self.index.fns[fid];
        let (callee_module, exported, defn) = (decl.module, decl.exported, decl.defn);
        if callee_module != self.module {
            let imported = self
                .index
                .imports
                .get(self.module)
                .is_some_and(|i| i.contains(callee_module));
            if !imported {
                self.error_help(
                    codes::MOD_NOT_IMPORTED,
                    ptr,
                    format!("`{head}` is in module `{callee_module}`, which this module does not import"),
                    format!("add \"{callee_module}\" to \"imports\""),
                );
                return None;
            }
            if !exported {
                self.error_help(
                    codes::MOD_NOT_EXPORTED,
                    ptr,
                    format!("`{head}` is not exported by module `{callee_module}`"),
                    format!("add \"{head}\" to the export declaration of `{callee_module}`"),
                );
                return None;
            }
        }
        if args.len() != defn.params.len() {
            self.error(
                codes::ARITY,
                ptr,
                format!(
                    "`{head}` takes {} argument(s), got {}",
                    defn.params.len(),
                    args.len()
                ),
            );
            return None;
        }
        self.calls.insert(fid);
        let kinds: Vec<ParamKind> = defn.params.iter().map(|p| param_kind(p.ty)).collect();
        let (targs, prov) = self.args(head, &kinds, args, ptr)?;
        let prov = if defn.result.is_view_like() && !defn.is_async {
            prov
        } else {
            Prov::default()
        };
        // a defasync call enqueues the task: the caller gets its handle
        let result = if defn.is_async { Ty::I32 } else { defn.result };
        Some((
            TExpr {
                kind: TKind::Call(fid, targs),
                ty: result,
                ptr: ptr.to_string(),
            },
            prov,
        ))
    }

    fn extern_call(&mut self, head: &str, eid: usize, args: &[Expr], ptr: &str) -> Option<Checked> {
        let (module, exported, decl) = {
            let e = &self.index.externs[eid];
            (e.module, e.exported, e.decl)
        };
        if self.unsafe_depth == 0 {
            self.error_help(codes::UNSAFE_REQUIRED, ptr, format!("`{head}` is a C function (extern) and may be called only inside an `unsafe` block"), "wrap the call in [\"unsafe\", ...]");
            return None;
        }
        if module != self.module {
            let imported = self
                .index
                .imports
                .get(self.module)
                .is_some_and(|i| i.contains(module));
            if !imported || !exported {
                self.error(
                    codes::MOD_NOT_EXPORTED,
                    ptr,
                    format!("`{head}` is not imported and exported from module `{module}`"),
                );
                return None;
            }
        }
        if args.len() != decl.params.len() {
            self.error(
                codes::ARITY,
                ptr,
                format!(
                    "`{head}` takes {} argument(s), got {}",
                    decl.params.len(),
                    args.len()
                ),
            );
            return None;
        }
        self.extern_calls.insert(eid);
        let kinds: Vec<ParamKind> = decl.params.iter().map(|p| ParamKind::Val(p.ty)).collect();
        let (targs, _) = self.args(head, &kinds, args, ptr)?;
        Some((
            TExpr {
                kind: TKind::Extern(eid, targs),
                ty: decl.result,
                ptr: ptr.to_string(),
            },
            Prov::default(),
        ))
    }

    fn unknown_callee(&mut self, head: &str, ptr: &str) -> Option<Checked> {
        if self.index.generics.contains(head) {
            self.error_help(
                codes::GENERIC_NO_TAPP,
                ptr,
                format!("`{head}` is generic: it is called through tapp"),
                format!("write [\"tapp\", \"{head}\", <type>..., <args>...]"),
            );
            return None;
        }
        // the nearest builtin or function of the program, when the name is a plausible typo
        let suggestion = x07_spec::suggest::did_you_mean(
            head,
            builtins::BUILTINS
                .iter()
                .map(|b| b.name)
                .chain(self.index.fns.iter().map(|f| f.name)),
        )
        .map(|s| format!("did you mean `{s}`?"));
        if builtins::is_builtin_namespace(head) {
            match suggestion {
                Some(help) => self.error_help(
                    codes::NAME_UNKNOWN_BUILTIN,
                    ptr,
                    format!("unknown builtin `{head}`"),
                    help,
                ),
                None => self.error(
                    codes::NAME_UNKNOWN_BUILTIN,
                    ptr,
                    format!("unknown builtin `{head}`"),
                ),
            }
            return None;
        }
        match (head.rsplit_once('.'), suggestion) {
            (_, Some(help)) => self.error_help(
                codes::NAME_UNKNOWN_FN,
                ptr,
                format!("unknown function `{head}`"),
                help,
            ),
            (Some((module, _)), None) if self.index.modules.contains(module) => {
                self.error(
                    codes::NAME_UNKNOWN_FN,
                    ptr,
                    format!("module `{module}` has no function `{head}`"),
                );
            }
            (Some((module, _)), None) => self.error_help(
                codes::NAME_UNKNOWN_FN,
                ptr,
                format!("unknown function `{head}`"),
                format!("import the module that defines it (\"imports\": [\"{module}\"])"),
            ),
            (None, None) => self.error(
                codes::NAME_UNKNOWN_FN,
                ptr,
                format!("unknown function or form `{head}`"),
            ),
        }
        None
    }

    /// An identifier naming an owned local (the only arguments that can be borrowed in place).
    fn owned_ident<'e>(&self, e: &'e Expr) -> Option<(LocalId, &'e str)> {
        let name = e.as_atom()?;
        if name == "input" && self.lookup("input").is_none() {
            return None;
        }
        let id = self.lookup(name)?;
        self.locals[id].ty.is_owned().then_some((id, e.ptr()))
    }

    fn mismatch(&mut self, callee: &str, e: &Expr, expected: &str, found: Ty) {
        let help = match (expected, found) {
            ("bytes", Ty::BytesView) => {
                Some("copy it into owned bytes with [\"view.to_bytes\", ...]")
            }
            _ => None,
        };
        let msg = format!("`{callee}` expects {expected} here, found {found}");
        match help {
            Some(h) => self.error_help(codes::TYPE_MISMATCH, e.ptr(), msg, h),
            None => self.error(codes::TYPE_MISMATCH, e.ptr(), msg),
        }
    }

    /// Checks arguments against parameter kinds. Owned identifiers passed by value move *after*
    /// all arguments are evaluated, so other arguments may still read them, but not keep views.
    fn args(
        &mut self,
        callee: &str,
        kinds: &[ParamKind],
        args: &[Expr],
        call_ptr: &str,
    ) -> Option<(Vec<TArg>, Prov)> {
        let saved = self.pending.len();
        let mut deferred_moves: Vec<(LocalId, String)> = Vec::new();
        let mut out = Vec::with_capacity(args.len());
        let mut prov = Prov::default();
        let mut ok = true;
        for (arg, kind) in args.iter().zip(kinds) {
            let r = self.arg(callee, *kind, arg, call_ptr, &mut prov, &mut deferred_moves);
            match r {
                Some(a) => out.push(a),
                None => ok = false,
            }
        }
        if ok {
            for (id, ptr) in &deferred_moves {
                self.move_local(*id, ptr);
            }
        }
        self.pending.truncate(saved);
        ok.then_some((out, prov))
    }

    fn borrowed_local(&mut self, id: LocalId, ptr: &str, pass: Pass) -> TArg {
        self.pending.push(id);
        TArg {
            expr: TExpr {
                kind: TKind::Local(id, UseMode::Borrow),
                ty: self.locals[id].ty,
                ptr: ptr.to_string(),
            },
            pass,
        }
    }

    fn arg(
        &mut self,
        callee: &str,
        kind: ParamKind,
        arg: &Expr,
        call_ptr: &str,
        prov: &mut Prov,
        deferred: &mut Vec<(LocalId, String)>,
    ) -> Option<TArg> {
        match kind {
            ParamKind::Val(t) => {
                let (e, p) = self.expr(arg, Ctx::Value)?;
                if !e.ty.fits(t) {
                    self.mismatch(callee, arg, t.name(), e.ty);
                    return None;
                }
                if t.is_view_like() {
                    self.pending.extend(p.owners.iter().copied());
                    prov.union(&p);
                }
                Some(TArg {
                    expr: e,
                    pass: Pass::Value,
                })
            }
            ParamKind::View => {
                if let Some((id, ptr)) = self.owned_ident(arg) {
                    let ty = self.locals[id].ty;
                    if !matches!(ty, Ty::Bytes | Ty::VecU8) {
                        self.mismatch(callee, arg, "bytes_view", ty);
                        return None;
                    }
                    if !self.check_not_moved(id, ptr) {
                        return None;
                    }
                    prov.owners.insert(id);
                    return Some(self.borrowed_local(id, ptr, Pass::BorrowView));
                }
                let (e, p) = self.expr(arg, Ctx::Value)?;
                match e.ty {
                    Ty::BytesView | Ty::Never => {
                        self.pending.extend(p.owners.iter().copied());
                        prov.union(&p);
                        Some(TArg {
                            expr: e,
                            pass: Pass::Value,
                        })
                    }
                    Ty::Bytes | Ty::VecU8 => {
                        prov.temp = true;
                        Some(TArg {
                            expr: e,
                            pass: Pass::BorrowView,
                        })
                    }
                    other => {
                        self.mismatch(callee, arg, "bytes_view", other);
                        None
                    }
                }
            }
            ParamKind::Own(t) => {
                if let Some((id, ptr)) = self.owned_ident(arg) {
                    if self.locals[id].ty == t {
                        if !self.check_not_moved(id, ptr) {
                            return None;
                        }
                        deferred.push((id, ptr.to_string()));
                        return Some(TArg {
                            expr: TExpr {
                                kind: TKind::Local(id, UseMode::Move),
                                ty: t,
                                ptr: ptr.to_string(),
                            },
                            pass: Pass::Value,
                        });
                    }
                }
                let (e, _) = self.expr(arg, Ctx::Value)?;
                if !e.ty.fits(t) {
                    self.mismatch(callee, arg, t.name(), e.ty);
                    return None;
                }
                Some(TArg {
                    expr: e,
                    pass: Pass::Value,
                })
            }
            ParamKind::Ref(t) | ParamKind::Ident(t) => {
                if let Some((id, ptr)) = self.owned_ident(arg) {
                    if self.locals[id].ty != t {
                        self.mismatch(callee, arg, t.name(), self.locals[id].ty);
                        return None;
                    }
                    if !self.check_not_moved(id, ptr) {
                        return None;
                    }
                    if matches!(kind, ParamKind::Ident(_)) {
                        prov.owners.insert(id);
                    }
                    return Some(self.borrowed_local(id, ptr, Pass::Ref));
                }
                if matches!(kind, ParamKind::Ident(_)) {
                    self.error_help(
                        codes::OWN_VIEW_TEMP,
                        call_ptr,
                        format!("`{callee}` needs a variable: a view of a temporary would dangle"),
                        "bind the value with [\"let\", name, value] first, then take the view of name",
                    );
                    return None;
                }
                let (e, _) = self.expr(arg, Ctx::Value)?;
                if !e.ty.fits(t) {
                    self.mismatch(callee, arg, t.name(), e.ty);
                    return None;
                }
                Some(TArg {
                    expr: e,
                    pass: Pass::Ref,
                })
            }
            ParamKind::Text => {
                self.error(
                    codes::TYPE_MISMATCH,
                    arg.ptr(),
                    format!("`{callee}` takes a string literal"),
                );
                None
            }
            ParamKind::AnyPtr => {
                let (e, _) = self.expr(arg, Ctx::Value)?;
                if !e.ty.is_pointer() && e.ty != Ty::Never {
                    self.mismatch(callee, arg, "a pointer", e.ty);
                    return None;
                }
                Some(TArg {
                    expr: e,
                    pass: Pass::Value,
                })
            }
        }
    }
}
