//! Per-function checking state: locals, lexical scopes, move states and view provenance.
//!
//! Ownership is tracked statically. Each owned local is either available or moved (a move in
//! either arm of an `if` counts as moved after it). Each view-like value carries a [`Prov`]: the
//! owned locals it borrows from and whether it borrows from a temporary. An owner is borrowed
//! while a live view-like local's provenance names it, or while a view of it is an argument of a
//! call being checked; it may not be moved or assigned then.

use std::collections::BTreeSet;

use crate::frontend::ast::{Defn, Expr};
use crate::frontend::diag::{codes, DiagCode, Diagnostic};
use crate::frontend::tir::{FnId, LocalId, LocalInfo, TExpr, TFn};
use crate::frontend::types::Ty;

use super::program::{ProgramIndex, SOLVE_RESULT};

/// Where a view-like value borrows from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct Prov {
    /// Owned locals of this function the value borrows from.
    pub owners: BTreeSet<LocalId>,
    /// Whether it borrows from a temporary of the current statement.
    pub temp: bool,
}

impl Prov {
    /// Merges another provenance into this one.
    pub fn union(&mut self, other: &Prov) {
        self.owners.extend(other.owners.iter().copied());
        self.temp |= other.temp;
    }
}

/// A checked expression with its provenance (empty for non-view types).
pub(super) type Checked = (TExpr, Prov);

/// Whether the value of an expression is used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Ctx {
    /// The value flows somewhere (argument, binding, result).
    Value,
    /// The value is discarded (a statement of a `begin`, a loop body).
    Stmt,
}

#[derive(Debug, Clone)]
pub(super) struct LocalState {
    pub name: String,
    pub ty: Ty,
    /// Pointer of the move, when moved (possibly, on some path).
    pub moved_at: Option<String>,
    /// Provenance of a view-like local's current value.
    pub prov: Prov,
}

/// Snapshot of the flow-sensitive state, for merging branches and loop passes.
#[derive(Debug, Clone)]
pub(super) struct FlowState {
    pub moved: Vec<Option<String>>,
    pub provs: Vec<Prov>,
    pub reachable: bool,
}

/// Marks a view whose owner was set (in `LocalState::moved_at`, so branch and loop merges carry it).
const OWNER_SET: &str = "\u{1}owner-set:";

/// Checks one function body.
pub(super) struct FnChecker<'a> {
    pub index: &'a ProgramIndex<'a>,
    pub module: &'a str,
    pub file: &'a str,
    pub locals: Vec<LocalState>,
    pub scopes: Vec<Vec<LocalId>>,
    /// Owners borrowed by arguments of calls being checked.
    pub pending: Vec<LocalId>,
    /// The declared result type.
    pub result: Ty,
    /// False after a `return` on every path.
    pub reachable: bool,
    /// Functions called.
    pub calls: BTreeSet<FnId>,
    /// Externs called (ids of [`super::program::ProgramIndex::externs`]).
    pub extern_calls: BTreeSet<usize>,
    /// How many `unsafe` blocks enclose the expression being checked.
    pub unsafe_depth: u32,
    diags: Vec<Diagnostic>,
    /// Diagnostics that count only if the function is reachable from `solve`.
    pub deferred: Vec<Diagnostic>,
    /// Whether the body may wait (solve and defasync bodies: await, recv, sleep...).
    pub may_wait: bool,
    /// How many task scopes enclose the expression being checked.
    pub task_scope_depth: u32,
}

impl<'a> FnChecker<'a> {
    pub fn new(index: &'a ProgramIndex<'a>, module: &'a str, file: &'a str) -> Self {
        Self {
            index,
            module,
            file,
            locals: Vec::new(),
            scopes: vec![Vec::new()],
            pending: Vec::new(),
            result: SOLVE_RESULT,
            reachable: true,
            calls: BTreeSet::new(),
            extern_calls: BTreeSet::new(),
            unsafe_depth: 0,
            diags: Vec::new(),
            deferred: Vec::new(),
            may_wait: false,
            task_scope_depth: 0,
        }
    }

    /// The diagnostics found: those that always count, those that count if it is reachable.
    pub fn finish(self) -> (Vec<Diagnostic>, Vec<Diagnostic>) {
        (self.diags, self.deferred)
    }

    /// How many diagnostics have been reported so far.
    pub fn diag_count(&self) -> usize {
        self.diags.len()
    }

    /// Turns the diagnostics reported since `count` into ones that count only if this function is
    /// reachable from `solve`.
    pub fn defer_since(&mut self, count: usize) {
        let later: Vec<Diagnostic> = self.diags.drain(count..).collect();
        self.deferred.extend(later);
    }

    /// A diagnostic that counts only if this function is reachable from `solve`.
    pub fn defer(&mut self, code: DiagCode, ptr: &str, msg: impl Into<String>) {
        self.deferred
            .push(Diagnostic::new(code, self.file, ptr, msg));
    }

    pub fn error(&mut self, code: DiagCode, ptr: &str, msg: impl Into<String>) {
        self.diags.push(Diagnostic::new(code, self.file, ptr, msg));
    }

    pub fn error_help(
        &mut self,
        code: DiagCode,
        ptr: &str,
        msg: impl Into<String>,
        help: impl Into<String>,
    ) {
        self.diags
            .push(Diagnostic::new(code, self.file, ptr, msg).with_help(help));
    }

    pub fn check_defn(&mut self, defn: &Defn) -> Option<TFn> {
        self.result = defn.result;
        self.may_wait = defn.is_async;
        let mut params = Vec::new();
        for p in &defn.params {
            params.push(self.declare(&p.name, p.ty, Prov::default()));
        }
        let body = self.body(&defn.body)?;
        let mut f = self.finish_fn(defn.name.clone(), false, params, body, defn.ptr.clone());
        f.is_async = defn.is_async;
        Some(f)
    }

    pub fn check_solve(&mut self, solve: &Expr) -> Option<TFn> {
        self.result = SOLVE_RESULT;
        self.may_wait = true;
        let body = self.body(solve)?;
        Some(self.finish_fn("main.solve".into(), true, Vec::new(), body, "/solve".into()))
    }

    fn finish_fn(
        &mut self,
        name: String,
        is_solve: bool,
        params: Vec<LocalId>,
        body: TExpr,
        ptr: String,
    ) -> TFn {
        let locals = self
            .locals
            .iter()
            .map(|l| LocalInfo {
                name: l.name.clone(),
                ty: l.ty,
            })
            .collect();
        TFn {
            name,
            is_solve,
            params,
            result: self.result,
            locals,
            body,
            ptr,
            is_async: false,
        }
    }

    /// Checks a function body: its value is the function's result.
    fn body(&mut self, e: &Expr) -> Option<TExpr> {
        let (t, prov) = self.expr(e, Ctx::Value)?;
        if !t.ty.fits(self.result) {
            self.error(
                codes::TYPE_RESULT,
                e.ptr(),
                format!(
                    "the body produces {} but the declared result type is {}",
                    t.ty, self.result
                ),
            );
            return None;
        }
        self.check_escaping_view(&prov, e.ptr(), "returned");
        Some(t)
    }

    /// A view-like value leaving the function must borrow only from parameters' views or `input`.
    pub fn check_escaping_view(&mut self, prov: &Prov, ptr: &str, what: &str) {
        if prov.temp {
            self.error_help(
                codes::OWN_VIEW_TEMP,
                ptr,
                format!("the {what} view borrows from a temporary that is dropped"),
                "return an owned copy (view.to_bytes) instead",
            );
        } else if let Some(owner) = prov.owners.iter().next() {
            let name = self.locals[*owner].name.clone();
            self.error_help(
                codes::OWN_RETURN_LOCAL_VIEW,
                ptr,
                format!("the {what} view borrows from `{name}`, which is dropped when the function returns"),
                "return an owned copy (view.to_bytes) or take the data as a bytes_view parameter",
            );
        }
    }

    // ----- scopes and locals -------------------------------------------------------------

    pub fn push_scope(&mut self) {
        self.scopes.push(Vec::new());
    }

    /// Ends a scope; a view-like value leaving it (`value_prov`) must not borrow from its locals.
    pub fn pop_scope(&mut self, value_prov: Option<(&Prov, &str)>) {
        let ended = self.scopes.pop().unwrap_or_default();
        if let Some((prov, ptr)) = value_prov {
            if let Some(owner) = prov.owners.iter().find(|o| ended.contains(o)) {
                let name = self.locals[*owner].name.clone();
                self.error_help(
                    codes::OWN_RETURN_LOCAL_VIEW,
                    ptr,
                    format!("this view borrows from `{name}`, which is dropped at the end of its scope"),
                    "make an owned copy with view.to_bytes, or declare the owner in the enclosing scope",
                );
            }
        }
    }

    pub fn declare(&mut self, name: &str, ty: Ty, prov: Prov) -> LocalId {
        let id = self.locals.len();
        self.locals.push(LocalState {
            name: name.to_string(),
            ty,
            moved_at: None,
            prov,
        });
        self.scopes.last_mut().expect("a scope").push(id);
        id
    }

    /// Whether `name` is declared in the innermost scope.
    pub fn in_current_scope(&self, name: &str) -> bool {
        self.scopes
            .last()
            .is_some_and(|s| s.iter().any(|id| self.locals[*id].name == name))
    }

    pub fn lookup(&self, name: &str) -> Option<LocalId> {
        self.scopes
            .iter()
            .rev()
            .flat_map(|s| s.iter().rev())
            .copied()
            .find(|id| self.locals[*id].name == name)
    }

    fn live_locals(&self) -> impl Iterator<Item = LocalId> + '_ {
        self.scopes.iter().flatten().copied()
    }

    /// The name of a live view-like local borrowing `owner`, or "a call argument" if only a
    /// pending argument does.
    pub fn borrower_of(&self, owner: LocalId) -> Option<String> {
        if let Some(v) = self.live_locals().find(|v| {
            self.locals[*v].ty.is_view_like() && self.locals[*v].prov.owners.contains(&owner)
        }) {
            return Some(format!("`{}`", self.locals[v].name));
        }
        self.pending
            .contains(&owner)
            .then(|| "an argument of the same call".to_string())
    }

    /// Ends the borrows of `owner` by its live views because `owner` is set at `ptr`: each view
    /// becomes unusable from here on (a later use is X07-OWN-0003 at the use), as a borrow ends
    /// at its last use on the public toolchain. False when a call argument still borrows it.
    pub fn end_borrows_of(&mut self, owner: LocalId, ptr: &str) -> bool {
        if self.pending.contains(&owner) {
            return false;
        }
        let owner_name = self.locals[owner].name.clone();
        let views: Vec<LocalId> = self
            .live_locals()
            .filter(|v| {
                self.locals[*v].ty.is_view_like() && self.locals[*v].prov.owners.contains(&owner)
            })
            .collect();
        for v in views {
            self.locals[v].moved_at = Some(format!("{OWNER_SET}{ptr}\u{0}{owner_name}"));
        }
        true
    }

    /// Reports a use of a moved local; returns true when the local is usable.
    pub fn check_not_moved(&mut self, id: LocalId, ptr: &str) -> bool {
        if let Some(at) = self.locals[id].moved_at.clone() {
            let name = self.locals[id].name.clone();
            if let Some(rest) = at.strip_prefix(OWNER_SET) {
                let (set_at, owner) = rest.split_once('\u{0}').unwrap_or((rest, "?"));
                self.error_help(
                    codes::OWN_SET_BORROWED,
                    ptr,
                    format!(
                        "`{name}` is used after `{owner}`, which it views, was set at {set_at}"
                    ),
                    "use the view before setting its owner, or take a new view after the set",
                );
                return false;
            }
            self.error_help(
                codes::OWN_USE_AFTER_MOVE,
                ptr,
                format!("use after move: `{name}` was moved at {at}"),
                "use a view (bytes.view / a bytes_view parameter) instead of moving it, or copy it first with view.to_bytes",
            );
            return false;
        }
        true
    }

    /// Moves an owned local (it must be available and not borrowed).
    pub fn move_local(&mut self, id: LocalId, ptr: &str) {
        if !self.check_not_moved(id, ptr) {
            return;
        }
        if let Some(by) = self.borrower_of(id) {
            let name = self.locals[id].name.clone();
            self.error_help(
                codes::OWN_MOVE_BORROWED,
                ptr,
                format!("cannot move `{name}` while {by} borrows it"),
                "let the view go out of scope first, or copy the data with view.to_bytes",
            );
            return;
        }
        self.locals[id].moved_at = Some(ptr.to_string());
    }

    // ----- flow state --------------------------------------------------------------------

    pub fn flow(&self) -> FlowState {
        FlowState {
            moved: self.locals.iter().map(|l| l.moved_at.clone()).collect(),
            provs: self.locals.iter().map(|l| l.prov.clone()).collect(),
            reachable: self.reachable,
        }
    }

    /// Restores a snapshot (locals declared after it keep their state).
    pub fn restore(&mut self, s: &FlowState) {
        for (i, l) in self.locals.iter_mut().enumerate().take(s.moved.len()) {
            l.moved_at = s.moved[i].clone();
            l.prov = s.provs[i].clone();
        }
        self.reachable = s.reachable;
    }

    /// Joins two branch end states into the current state.
    pub fn merge(&mut self, a: &FlowState, b: &FlowState) {
        let (a, b) = match (a.reachable, b.reachable) {
            (true, false) => (a, a),
            (false, true) => (b, b),
            _ => (a, b),
        };
        for (i, l) in self
            .locals
            .iter_mut()
            .enumerate()
            .take(a.moved.len().min(b.moved.len()))
        {
            l.moved_at = a.moved[i].clone().or_else(|| b.moved[i].clone());
            let mut p = a.provs[i].clone();
            p.union(&b.provs[i]);
            l.prov = p;
        }
        self.reachable = a.reachable || b.reachable;
    }

    /// Locals available before and moved after (a loop body that moves an outer value).
    pub fn newly_moved(&self, before: &FlowState) -> bool {
        self.locals
            .iter()
            .take(before.moved.len())
            .enumerate()
            .any(|(i, l)| before.moved[i].is_none() && l.moved_at.is_some())
    }
}
