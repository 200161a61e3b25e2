//! Lowering of one checked function to C.
//!
//! Values become C expressions; anything with an effect (calls, traps, allocation) is computed
//! into a fresh temporary at the point x07 evaluates it, so evaluation order is the source order.
//! Owned values are tracked statically in frames (scopes hold locals, statement frames hold
//! temporaries): a scope end or statement end drops what is still alive, and `return`/`try`
//! drop everything alive in every frame. A moved-from local is reset to the empty value, so its
//! drop is a no-op.

use x07_spec::budget_profile::{BudgetCfg, BudgetMode};

use crate::frontend::tir::{
    LocalId, Pass, TArg, TExpr, TFn, TKind, TProgram, TaskScopeCfg, UseMode,
};
use crate::frontend::types::Ty;

use super::cnames::{c_string_literal, fn_name, local_name};

fn param_list(f: &TFn) -> String {
    let params: Vec<String> = f
        .params
        .iter()
        .map(|id| format!("{} {}", f.locals[*id].ty.c_type(), local_name(f, *id)))
        .collect();
    if params.is_empty() {
        "void".to_string()
    } else {
        params.join(", ")
    }
}

/// The C name of the function holding the body of function `index` (a defasync's body is not
/// what its callers call: they call its spawner, named as the function).
fn body_name(f: &TFn, index: usize) -> String {
    if f.is_async {
        format!("{}_body", fn_name(f, index))
    } else {
        fn_name(f, index)
    }
}

/// The C declaration of function `index` (without the body); for a defasync, its spawner's.
pub fn signature(p: &TProgram, index: usize) -> String {
    let f = &p.fns[index];
    let result = if f.is_async {
        "uint32_t"
    } else {
        f.result.c_type()
    };
    format!("static {result} {}({})", fn_name(f, index), param_list(f))
}

/// The C declaration of the function holding the body of function `index`.
pub fn body_signature(p: &TProgram, index: usize) -> String {
    let f = &p.fns[index];
    format!(
        "static {} {}({})",
        f.result.c_type(),
        body_name(f, index),
        param_list(f)
    )
}

/// A defasync's task plumbing: its arguments struct, the task entry (runs the body, stores its
/// value, drops the task's copies of view arguments) and the spawner its callers call.
fn emit_spawner(p: &TProgram, index: usize, out: &mut String) {
    let f = &p.fns[index];
    let name = fn_name(f, index);
    let mut fields = String::new();
    let mut pack = String::new();
    let mut unpack = Vec::new();
    let mut drops = String::new();
    for id in &f.params {
        let ty = f.locals[*id].ty;
        let n = local_name(f, *id);
        if ty.is_view_like() {
            // the caller's borrow ends before the task runs: the task gets its own copy
            fields.push_str(&format!("    x7_bytes {n};\n"));
            pack.push_str(&format!("    a->{n} = x7_task_copy_view({n});\n"));
            unpack.push(format!("x7_view_of_bytes(a->{n})"));
            drops.push_str(&format!("    x7_bytes_drop(a->{n});\n"));
        } else {
            fields.push_str(&format!("    {} {n};\n", ty.c_type()));
            pack.push_str(&format!("    a->{n} = {n};\n"));
            unpack.push(format!("a->{n}"));
        }
    }
    if fields.is_empty() {
        fields.push_str("    uint8_t unused;\n");
    }
    let finish = if f.result == crate::frontend::types::Ty::ResultBytes {
        ("x7_task_finish_result_bytes", "X7_TASK_RESULT_BYTES")
    } else {
        ("x7_task_finish_bytes", "X7_TASK_BYTES")
    };
    out.push_str(&format!(
        "typedef struct {{\n{fields}}} {name}_args;\n\n\
         static void {name}_entry(void *raw) {{\n    {name}_args *a = ({name}_args *)raw;\n    \
         {}({}({}));\n{drops}    x7_free((uint8_t *)raw);\n}}\n\n",
        finish.0,
        body_name(f, index),
        unpack.join(", ")
    ));
    out.push_str(&signature(p, index));
    out.push_str(&format!(
        " {{\n    {name}_args *a = ({name}_args *)(void *)x7_alloc((uint32_t)sizeof({name}_args));\n\
         {pack}    return x7_task_spawn_raw({name}_entry, a, {});\n}}\n\n",
        finish.1
    ));
}

/// Emits function `index` (prototype already declared) into `out`.
pub fn emit_fn(p: &TProgram, index: usize, out: &mut String) {
    let f = &p.fns[index];
    out.push_str(&body_signature(p, index));
    out.push_str(" {\n");
    let mut e = FnEmitter {
        p,
        f,
        out,
        depth: 1,
        tmp: 0,
        frames: Vec::new(),
        exits: Vec::new(),
    };
    e.line("const x7_view x7in = x7_input;");
    e.line(&format!("X7_FUEL({});", c_string_literal(f.ptr.as_bytes())));
    e.frames.push(Frame {
        scope: true,
        vars: Vec::new(),
    });
    for id in &f.params {
        let ty = f.locals[*id].ty;
        if ty.is_owned() {
            e.register(local_name(f, *id), ty);
        }
    }
    let ret = e.fresh();
    e.line(&format!(
        "{} {ret} = {};",
        f.result.c_type(),
        f.result.c_empty()
    ));
    e.with_temps(|s| s.into(&f.body, &ret));
    e.close_frame();
    e.line(&format!("return {ret};"));
    e.out.push_str("}\n\n");
    if f.is_async {
        emit_spawner(p, index, out);
    }
}

struct Owned {
    name: String,
    ty: Ty,
    alive: bool,
}

struct Frame {
    /// A lexical scope (locals) rather than a statement's temporaries.
    scope: bool,
    vars: Vec<Owned>,
}

struct FnEmitter<'a> {
    p: &'a TProgram,
    f: &'a TFn,
    out: &'a mut String,
    depth: usize,
    tmp: usize,
    frames: Vec<Frame>,
    /// What leaving each scope open around the code being emitted takes (a budget scope gives
    /// back its fuel, a task scope waits for its children), innermost last.
    exits: Vec<String>,
}

/// Whether evaluating `e` may assign a local (so earlier operands must be computed first).
fn writes_locals(e: &TExpr) -> bool {
    match &e.kind {
        TKind::Set(..) | TKind::Set0(..) | TKind::For { .. } => true,
        TKind::Int(_) | TKind::Input | TKind::Local(..) | TKind::Lit { .. } => false,
        // C may write the local through the pointer
        TKind::AddrOf(..) => true,
        TKind::Begin(items) => items.iter().any(writes_locals),
        TKind::Let(_, x)
        | TKind::Return(x)
        | TKind::Try(x)
        | TKind::Budget(_, x)
        | TKind::RrScope(_, x)
        | TKind::TaskScope(_, x) => writes_locals(x),
        TKind::If(a, b, c) => writes_locals(a) || writes_locals(b) || writes_locals(c),
        TKind::While(a, b) | TKind::And(a, b) | TKind::Or(a, b) | TKind::Op(_, a, b) => {
            writes_locals(a) || writes_locals(b)
        }
        TKind::Builtin(_, args) | TKind::Call(_, args) | TKind::Extern(_, args) => {
            args.iter().any(|a| writes_locals(&a.expr))
        }
    }
}

/// Whether a `for` body can be charged its fuel up front: it calls no function, runs no nested loop,
/// does not leave the function, cannot end the process, and does not assign the loop variable.
fn bulk_fuel_ok(e: &TExpr, var: LocalId) -> bool {
    let all = |xs: &[&TExpr]| xs.iter().all(|x| bulk_fuel_ok(x, var));
    match &e.kind {
        TKind::Call(..)
        | TKind::Extern(..)
        | TKind::For { .. }
        | TKind::While(..)
        | TKind::Return(_)
        | TKind::Try(_)
        | TKind::Budget(..)
        | TKind::RrScope(..)
        | TKind::TaskScope(..) => false,
        TKind::Set(id, _) | TKind::Set0(id, _) if *id == var => false,
        TKind::Builtin(b, _) if b.name == "os.process.exit" => false,
        TKind::Builtin(_, args) => args.iter().all(|a| bulk_fuel_ok(&a.expr, var)),
        TKind::Int(_) | TKind::Input | TKind::Local(..) | TKind::Lit { .. } | TKind::AddrOf(..) => {
            true
        }
        TKind::Begin(items) => items.iter().all(|x| bulk_fuel_ok(x, var)),
        TKind::Let(_, x) | TKind::Set(_, x) | TKind::Set0(_, x) => bulk_fuel_ok(x, var),
        TKind::If(a, b, c) => all(&[a, b, c]),
        TKind::And(a, b) | TKind::Or(a, b) | TKind::Op(_, a, b) => all(&[a, b]),
    }
}

impl FnEmitter<'_> {
    fn line(&mut self, s: &str) {
        for _ in 0..self.depth {
            self.out.push_str("    ");
        }
        self.out.push_str(s);
        self.out.push('\n');
    }

    fn fresh(&mut self) -> String {
        self.tmp += 1;
        format!("t{}", self.tmp)
    }

    fn local(&self, id: LocalId) -> String {
        local_name(self.f, id)
    }

    /// Declares `T tN = init;` and tracks it when owned.
    fn temp(&mut self, ty: Ty, init: &str) -> String {
        let n = self.fresh();
        self.line(&format!("{} {n} = {init};", ty.c_type()));
        if ty.is_owned() {
            self.register(n.clone(), ty);
        }
        n
    }

    fn register(&mut self, name: String, ty: Ty) {
        self.frames.last_mut().expect("a frame").vars.push(Owned {
            name,
            ty,
            alive: true,
        });
    }

    fn register_local(&mut self, name: String, ty: Ty) {
        let frame = self
            .frames
            .iter_mut()
            .rev()
            .find(|f| f.scope)
            .expect("a scope frame");
        frame.vars.push(Owned {
            name,
            ty,
            alive: true,
        });
    }

    /// Ownership of the value in `name` moved elsewhere: no drop is due.
    fn consume(&mut self, name: &str) {
        for frame in self.frames.iter_mut().rev() {
            if let Some(v) = frame
                .vars
                .iter_mut()
                .rev()
                .find(|v| v.name == name && v.alive)
            {
                v.alive = false;
                return;
            }
        }
    }

    fn drop_lines(vars: &[Owned]) -> Vec<String> {
        vars.iter()
            .rev()
            .filter(|v| v.alive)
            .map(|v| {
                format!(
                    "{}({});",
                    v.ty.c_drop().expect("owned types have drop glue"),
                    v.name
                )
            })
            .collect()
    }

    fn close_frame(&mut self) {
        let frame = self.frames.pop().expect("a frame");
        for l in Self::drop_lines(&frame.vars) {
            self.line(&l);
        }
    }

    fn drop_all(&mut self) {
        let lines: Vec<String> = self
            .frames
            .iter()
            .rev()
            .flat_map(|f| Self::drop_lines(&f.vars))
            .collect();
        for l in lines {
            self.line(&l);
        }
    }

    fn with_temps(&mut self, body: impl FnOnce(&mut Self)) {
        self.frames.push(Frame {
            scope: false,
            vars: Vec::new(),
        });
        body(self);
        self.close_frame();
    }

    /// Emits `{ ... }` with a new scope.
    fn block(&mut self, body: impl FnOnce(&mut Self)) {
        self.line("{");
        self.depth += 1;
        self.frames.push(Frame {
            scope: true,
            vars: Vec::new(),
        });
        body(self);
        self.close_frame();
        self.depth -= 1;
        self.line("}");
    }

    /// Computes `e` into `dest` (nothing when `e` never produces a value).
    fn into(&mut self, e: &TExpr, dest: &str) {
        if let Some(v) = self.value(e) {
            self.line(&format!("{dest} = {v};"));
            if e.ty.is_owned() {
                self.consume(&v);
            }
        }
    }

    /// Evaluates `e` for its effects only; an owned result is dropped at the end of the statement.
    fn stmt(&mut self, e: &TExpr) {
        match &e.kind {
            TKind::Let(id, init) => self.let_(*id, init),
            TKind::Set(id, v) | TKind::Set0(id, v) => self.set(*id, v),
            TKind::If(c, t, el) => {
                let Some(cond) = self.value(c) else { return };
                self.line(&format!("if ({cond}) {{"));
                self.arm(t, None);
                self.line("} else {");
                self.arm(el, None);
                self.line("}");
            }
            TKind::Begin(items) => self.block(|s| {
                for item in items {
                    s.with_temps(|s| s.stmt(item));
                }
            }),
            TKind::For {
                var,
                declare,
                start,
                end,
                body,
            } => self.for_(e, *var, *declare, start, end, body),
            TKind::While(cond, body) => self.while_(e, cond, body),
            TKind::Return(v) => self.return_(v),
            _ => {
                let _ = self.value(e);
            }
        }
    }

    fn arm(&mut self, a: &TExpr, dest: Option<(&str, Ty)>) {
        self.depth += 1;
        self.frames.push(Frame {
            scope: true,
            vars: Vec::new(),
        });
        self.with_temps(|s| match dest {
            Some((d, ty)) if a.ty == ty => s.into(a, d),
            _ => s.stmt(a),
        });
        self.close_frame();
        self.depth -= 1;
    }

    fn let_(&mut self, id: LocalId, init: &TExpr) {
        let ty = self.f.locals[id].ty;
        let n = self.local(id);
        let v = self.value(init).unwrap_or_else(|| ty.c_empty().to_string());
        self.line(&format!("{} {n} = {v};", ty.c_type()));
        if ty.is_owned() {
            self.consume(&v);
            self.register_local(n, ty);
        }
    }

    fn set(&mut self, id: LocalId, value: &TExpr) {
        let ty = self.f.locals[id].ty;
        let n = self.local(id);
        let Some(v) = self.value(value) else { return };
        if let Some(drop) = ty.c_drop() {
            self.line(&format!("{drop}({n});"));
            self.consume(&v);
        }
        self.line(&format!("{n} = {v};"));
    }

    fn return_(&mut self, v: &TExpr) {
        let Some(val) = self.value(v) else { return };
        let r = if v.ty.is_owned() {
            self.consume(&val);
            val
        } else {
            let r = self.fresh();
            self.line(&format!("{} {r} = {val};", self.f.result.c_type()));
            r
        };
        self.leave_scopes();
        self.drop_all();
        self.line(&format!("return {r};"));
    }

    fn for_(
        &mut self,
        e: &TExpr,
        var: LocalId,
        declare: bool,
        start: &TExpr,
        end: &TExpr,
        body: &TExpr,
    ) {
        let v = self.local(var);
        let Some(s) = self.value(start) else { return };
        if declare {
            self.line(&format!("uint32_t {v} = {s};"));
        } else {
            self.line(&format!("{v} = {s};"));
        }
        let Some(end) = self.value(end) else { return };
        let end = self.temp(Ty::I32, &end);
        let at = c_string_literal(e.ptr.as_bytes());
        if bulk_fuel_ok(body, var) {
            // Same fuel_used as charging per iteration: when fuel covers every iteration, charge
            // it once; otherwise take the per-iteration path, which traps at the same iteration.
            self.line(&format!(
                "if ({v} < {end} && (uint64_t)({end} - {v}) <= x7_fuel) {{"
            ));
            self.depth += 1;
            self.line(&format!("x7_fuel -= (uint64_t)({end} - {v});"));
            self.loop_body(&format!("for (; {v} < {end}; {v}++) {{"), None, body);
            self.depth -= 1;
            self.line("} else {");
            self.depth += 1;
            self.loop_body(&format!("for (; {v} < {end}; {v}++) {{"), Some(&at), body);
            self.depth -= 1;
            self.line("}");
        } else {
            self.loop_body(&format!("for (; {v} < {end}; {v}++) {{"), Some(&at), body);
        }
    }

    fn loop_body(&mut self, head: &str, fuel_at: Option<&str>, body: &TExpr) {
        self.line(head);
        self.depth += 1;
        if let Some(at) = fuel_at {
            self.line(&format!("X7_FUEL({at});"));
        }
        self.frames.push(Frame {
            scope: true,
            vars: Vec::new(),
        });
        self.with_temps(|s| s.stmt(body));
        self.close_frame();
        self.depth -= 1;
        self.line("}");
    }

    fn while_(&mut self, e: &TExpr, cond: &TExpr, body: &TExpr) {
        self.line("for (;;) {");
        self.depth += 1;
        self.frames.push(Frame {
            scope: true,
            vars: Vec::new(),
        });
        let c = self.fresh();
        self.line(&format!("uint32_t {c} = 0;"));
        self.with_temps(|s| {
            if let Some(v) = s.value(cond) {
                s.line(&format!("{c} = {v};"));
            }
        });
        let exit_drops = Self::drop_lines(&self.frames.last().expect("loop scope").vars);
        self.line(&format!("if (!{c}) {{"));
        self.depth += 1;
        for l in exit_drops {
            self.line(&l);
        }
        self.line("break;");
        self.depth -= 1;
        self.line("}");
        self.line(&format!("X7_FUEL({});", c_string_literal(e.ptr.as_bytes())));
        self.with_temps(|s| s.stmt(body));
        self.close_frame();
        self.depth -= 1;
        self.line("}");
    }

    /// Emits `e` and returns a C expression for its value, or `None` if control never gets there.
    fn value(&mut self, e: &TExpr) -> Option<String> {
        match &e.kind {
            TKind::Int(v) => Some(format!("{}u", *v as u32)),
            TKind::Input => Some("x7in".to_string()),
            TKind::AddrOf(id, mutable) => Some(format!(
                "(({}void *)&{})",
                if *mutable { "" } else { "const " },
                self.local(*id)
            )),
            TKind::Local(id, UseMode::Copy | UseMode::Borrow) => Some(self.local(*id)),
            TKind::Local(id, UseMode::Move) => {
                let n = self.local(*id);
                let t = self.temp(e.ty, &n);
                self.line(&format!("{n} = {};", e.ty.c_empty()));
                Some(t)
            }
            TKind::Lit { bytes, view } => {
                let call = format!(
                    "({}, {}u)",
                    format_args!("(const uint8_t *){}", c_string_literal(bytes)),
                    bytes.len()
                );
                if *view {
                    Some(format!("x7_view_lit{call}"))
                } else {
                    Some(self.temp(Ty::Bytes, &format!("x7_bytes_lit{call}")))
                }
            }
            TKind::Begin(items) => {
                let result = (e.ty != Ty::Never).then(|| self.temp(e.ty, e.ty.c_empty()));
                let (last, init) = items.split_last().expect("begin has items");
                self.block(|s| {
                    for item in init {
                        s.with_temps(|s| s.stmt(item));
                    }
                    s.with_temps(|s| match &result {
                        Some(r) => s.into(last, r),
                        None => s.stmt(last),
                    });
                });
                result
            }
            TKind::Let(id, init) => {
                self.let_(*id, init);
                Some(self.local(*id))
            }
            TKind::Set(id, v) => {
                self.set(*id, v);
                Some(self.local(*id))
            }
            TKind::Set0(id, v) => {
                self.set(*id, v);
                Some("0u".to_string())
            }
            TKind::If(c, t, el) => {
                let cond = self.value(c)?;
                let result = (e.ty != Ty::Never).then(|| self.temp(e.ty, e.ty.c_empty()));
                let dest = result.as_deref().map(|r| (r, e.ty));
                self.line(&format!("if ({cond}) {{"));
                self.arm(t, dest);
                self.line("} else {");
                self.arm(el, dest);
                self.line("}");
                result
            }
            TKind::For { .. } | TKind::While(..) => {
                self.stmt(e);
                Some("0u".to_string())
            }
            TKind::Return(v) => {
                self.return_(v);
                None
            }
            TKind::Try(v) => self.try_(v),
            TKind::Budget(cfg, body) => self.budget(e, cfg, body),
            TKind::RrScope(cfg, body) => self.rr_scope(e, cfg, body),
            TKind::TaskScope(cfg, body) => self.task_scope(e, cfg, body),
            TKind::And(a, b) | TKind::Or(a, b) => {
                let is_and = matches!(e.kind, TKind::And(..));
                let av = self.value(a)?;
                let t = self.temp(Ty::I32, if is_and { "0u" } else { "1u" });
                self.line(&format!("if ({}{av}) {{", if is_and { "" } else { "!" }));
                self.depth += 1;
                self.frames.push(Frame {
                    scope: true,
                    vars: Vec::new(),
                });
                self.with_temps(|s| {
                    if let Some(bv) = s.value(b) {
                        s.line(&format!("{t} = (uint32_t)({bv} != 0);"));
                    }
                });
                self.close_frame();
                self.depth -= 1;
                self.line("}");
                Some(t)
            }
            TKind::Op(op, a, b) => {
                let av = self.value(a)?;
                let av = if writes_locals(b) && !av.ends_with('u') {
                    self.temp(Ty::I32, &av)
                } else {
                    av
                };
                let bv = self.value(b)?;
                let plain = |s: &str| s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
                let (av, bv) = if op.repeats_operands() {
                    let av = if plain(&av) {
                        av
                    } else {
                        self.temp(Ty::I32, &av)
                    };
                    let bv = if plain(&bv) {
                        bv
                    } else {
                        self.temp(Ty::I32, &bv)
                    };
                    (av, bv)
                } else {
                    (av, bv)
                };
                Some(op.c_expr(&av, &bv))
            }
            TKind::Builtin(b, args) => {
                let at = b.traps.then(|| c_string_literal(e.ptr.as_bytes()));
                self.call(&b.c_name(), at, args, e.ty)
            }
            TKind::Call(fid, args) => {
                let name = fn_name(&self.p.fns[*fid], *fid);
                self.call(&name, None, args, e.ty)
            }
            TKind::Extern(x, args) => {
                let ext = &self.p.externs[*x];
                // A void C function is called through its wrapper, which yields 0 (see emit_externs).
                let name = if ext.returns_void {
                    format!("x7x_{x}")
                } else {
                    format!("x7e_{x}")
                };
                self.call(&name, None, args, e.ty)
            }
        }
    }

    /// Leaving the function from inside scopes: a budget scope gives back the fuel it held back
    /// (no limit is checked, as on the public toolchain); a task scope waits for its children.
    fn leave_scopes(&mut self) {
        for exit in self.exits.clone().iter().rev() {
            self.line(exit);
        }
    }

    /// A task scope: children started in the body are waited for (and their values dropped)
    /// when it ends, however it ends.
    fn task_scope(&mut self, e: &TExpr, cfg: &TaskScopeCfg, body: &TExpr) -> Option<String> {
        let s = self.fresh();
        let at = c_string_literal(e.ptr.as_bytes());
        self.line(&format!("x7_task_scope {s};"));
        self.line(&format!(
            "x7_task_scope_enter(&{s}, {}u, {}u);",
            cfg.max_children, cfg.max_slot_result_bytes
        ));
        let result = (e.ty != Ty::Never).then(|| self.temp(e.ty, e.ty.c_empty()));
        self.exits.push(format!("x7_task_scope_exit(&{s}, {at});"));
        self.block(|s| {
            s.with_temps(|s| match &result {
                Some(r) => s.into(body, r),
                None => s.stmt(body),
            })
        });
        self.exits.pop();
        let r = result?;
        self.line(&format!("x7_task_scope_exit(&{s}, {at});"));
        Some(r)
    }

    /// A budget scope: counters taken at entry, the body, the limits checked at its end (a trap,
    /// or the result replaced by the limit's error code in result_err_v1 mode).
    fn budget(&mut self, e: &TExpr, cfg: &BudgetCfg, body: &TExpr) -> Option<String> {
        let b = self.fresh();
        let limits = [
            cfg.alloc_bytes,
            cfg.alloc_calls,
            cfg.realloc_calls,
            cfg.memcpy_bytes,
            cfg.sched_ticks,
            cfg.fuel,
        ]
        .map(|n| format!("{n}ull"))
        .join(", ");
        self.line(&format!(
            "static const x7_budget_limits {b}_lim = {{{limits}}};"
        ));
        self.line(&format!("x7_budget {b};"));
        self.line(&format!("x7_budget_enter(&{b}, &{b}_lim);"));
        let result = (e.ty != Ty::Never).then(|| self.temp(e.ty, e.ty.c_empty()));
        self.exits.push(format!("x7_budget_leave(&{b});"));
        self.block(|s| {
            s.with_temps(|s| match &result {
                Some(r) => s.into(body, r),
                None => s.stmt(body),
            })
        });
        self.exits.pop();
        let r = result?;
        let mode = match cfg.mode {
            BudgetMode::Trap => "X7_BUDGET_TRAP",
            BudgetMode::ResultErr => "X7_BUDGET_RESULT_ERR",
            BudgetMode::StatsOnly => "X7_BUDGET_STATS_ONLY",
            BudgetMode::Yield => "X7_BUDGET_YIELD",
        };
        let code = self.fresh();
        self.line(&format!(
            "uint32_t {code} = x7_budget_exit(&{b}, {mode}, {}, {});",
            c_string_literal(cfg.label.as_bytes()),
            c_string_literal(e.ptr.as_bytes())
        ));
        if cfg.mode == BudgetMode::ResultErr {
            let err = match e.ty {
                Ty::ResultI32 => format!("((x7_res_i32){{0u, {code}}})"),
                Ty::ResultBytes => format!("((x7_res_bytes){{0u, {code}, X7_EMPTY_BYTES}})"),
                _ => format!("((x7_res_view){{0u, {code}, X7_EMPTY_VIEW}})"),
            };
            let drop =
                e.ty.c_drop()
                    .map(|d| format!("{d}({r}); "))
                    .unwrap_or_default();
            self.line(&format!("if ({code} != 0u) {{ {drop}{r} = {err}; }}"));
        }
        Some(r)
    }

    /// A record/replay scope: open the cassette (a failure returns its error from the function),
    /// make it current for the body, close it and restore the previous one at every exit.
    fn rr_scope(&mut self, e: &TExpr, cfg: &[u8], body: &TExpr) -> Option<String> {
        let o = self.fresh();
        let bytes: Vec<String> = cfg.iter().map(|b| format!("{b}")).collect();
        self.line(&format!(
            "static const uint8_t {o}_cfg[] = {{{}}};",
            if bytes.is_empty() {
                "0".to_string()
            } else {
                bytes.join(",")
            }
        ));
        self.line(&format!(
            "x7_res_i32 {o} = x7_rr_open_v1((x7_view){{{o}_cfg, {}u}});",
            cfg.len()
        ));
        self.line(&format!("if ({o}.tag == 0u) {{"));
        self.depth += 1;
        let ret = self.fresh();
        let err = match self.f.result {
            Ty::ResultI32 => format!("((x7_res_i32){{0u, {o}.val}})"),
            _ => format!("((x7_res_bytes){{0u, {o}.val, X7_EMPTY_BYTES}})"),
        };
        self.line(&format!("{} {ret} = {err};", self.f.result.c_type()));
        self.leave_scopes();
        self.drop_all();
        self.line(&format!("return {ret};"));
        self.depth -= 1;
        self.line("}");
        self.line(&format!("int32_t {o}_prev = x7_rr_current;"));
        self.line(&format!("x7_rr_current = (int32_t){o}.val;"));
        let result = (e.ty != Ty::Never).then(|| self.temp(e.ty, e.ty.c_empty()));
        let exit = format!("x7_rr_scope_exit((int32_t){o}.val, {o}_prev);");
        self.exits.push(exit.clone());
        self.block(|s| {
            s.with_temps(|s| match &result {
                Some(r) => s.into(body, r),
                None => s.stmt(body),
            })
        });
        self.exits.pop();
        let r = result?;
        self.line(&exit);
        Some(r)
    }

    fn try_(&mut self, v: &TExpr) -> Option<String> {
        let r = self.value(v)?;
        let r = if v.ty.is_owned() {
            r
        } else {
            self.temp(v.ty, &r)
        };
        let err_field = if v.ty == Ty::ResultI32 { "val" } else { "err" };
        let err = match self.f.result {
            Ty::ResultI32 => format!("((x7_res_i32){{0u, {r}.{err_field}}})"),
            Ty::ResultBytes => format!("((x7_res_bytes){{0u, {r}.{err_field}, X7_EMPTY_BYTES}})"),
            _ => format!("((x7_res_view){{0u, {r}.{err_field}, X7_EMPTY_VIEW}})"),
        };
        self.line(&format!("if ({r}.tag == 0u) {{"));
        self.depth += 1;
        let ret = self.fresh();
        self.line(&format!("{} {ret} = {err};", self.f.result.c_type()));
        self.leave_scopes();
        self.drop_all();
        self.line(&format!("return {ret};"));
        self.depth -= 1;
        self.line("}");
        Some(match v.ty {
            Ty::ResultBytes => {
                self.consume(&r);
                self.temp(Ty::Bytes, &format!("{r}.val"))
            }
            Ty::ResultBytesView => self.temp(Ty::BytesView, &format!("{r}.val")),
            _ => self.temp(Ty::I32, &format!("{r}.val")),
        })
    }

    /// Emits a call: arguments in order, then the call into a temporary.
    fn call(&mut self, name: &str, at: Option<String>, args: &[TArg], ty: Ty) -> Option<String> {
        let mut strs = Vec::with_capacity(args.len() + 1);
        let mut consumed = Vec::new();
        let mut moved_locals = Vec::new();
        for (i, a) in args.iter().enumerate() {
            if let (Pass::Value, TKind::Local(id, UseMode::Move)) = (a.pass, &a.expr.kind) {
                // Owned locals passed by value move when the call happens (after all arguments).
                strs.push(self.local(*id));
                moved_locals.push((self.local(*id), a.expr.ty));
                continue;
            }
            let mut v = self.value(&a.expr)?;
            if !a.expr.ty.is_owned() && args[i + 1..].iter().any(|x| writes_locals(&x.expr)) {
                v = self.temp(a.expr.ty, &v);
            }
            match a.pass {
                Pass::BorrowView => match a.expr.ty {
                    Ty::Bytes => v = format!("x7_view_of_bytes({v})"),
                    Ty::VecU8 => v = format!("x7_view_of_vec({v})"),
                    _ => {}
                },
                Pass::Value if a.expr.ty.is_owned() => consumed.push(v.clone()),
                _ => {}
            }
            strs.push(v);
        }
        if let Some(at) = at {
            strs.push(at);
        }
        let call = format!("{name}({})", strs.join(", "));
        for c in &consumed {
            self.consume(c);
        }
        let t = self.temp(ty, &call);
        for (n, ty) in moved_locals {
            self.line(&format!("{n} = {};", ty.c_empty()));
        }
        Some(t)
    }
}
