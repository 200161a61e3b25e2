//! The typed intermediate representation: the checked program the emitter consumes.
//!
//! Every identifier is resolved to a function-unique [`LocalId`], every call to its target, and
//! every use of an owned value is marked as a move or a borrow, so emission is mechanical.

use std::collections::BTreeSet;

use x07_spec::budget_profile::BudgetCfg;

use super::builtins::{BinOp, Builtin};
use super::types::Ty;

/// Index of a local (parameter, `let`, `for` variable) within its function.
pub type LocalId = usize;

/// Index of a function in [`TProgram::fns`].
pub type FnId = usize;

/// A whole checked program.
#[derive(Debug, Clone)]
pub struct TProgram {
    /// Functions reachable from `solve`, in a deterministic order; `solve` itself is last.
    pub fns: Vec<TFn>,
    /// Runtime fragments needed by the builtins used.
    pub fragments: BTreeSet<&'static str>,
    /// C functions declared with `extern` and called by reachable code, indexed by [`TKind::Extern`].
    pub externs: Vec<TExtern>,
}

/// A C function the program calls.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TExtern {
    /// The C symbol.
    pub link_name: String,
    /// Parameter types.
    pub params: Vec<Ty>,
    /// Result type (i32 when the C function returns void).
    pub result: Ty,
    /// Whether the C function returns `void`.
    pub returns_void: bool,
}

/// The limits of a `task.scope_v1` that are enforced (0 = none).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TaskScopeCfg {
    /// At most this many children.
    pub max_children: u32,
    /// A slot's result may be at most this many bytes.
    pub max_slot_result_bytes: u32,
}

/// A checked function.
#[derive(Debug, Clone)]
pub struct TFn {
    /// The x07 name (`app.solve`, or `main.solve` for the entry's solve).
    pub name: String,
    /// Whether this is the entry's `solve`.
    pub is_solve: bool,
    /// Parameter locals in order.
    pub params: Vec<LocalId>,
    /// Declared result type.
    pub result: Ty,
    /// Every local of the function, indexed by [`LocalId`].
    pub locals: Vec<LocalInfo>,
    /// The body.
    pub body: TExpr,
    /// JSON pointer of the decl (or `/solve`), for the fuel trap.
    pub ptr: String,
    /// A `defasync`: its callers get a task handle; the body runs as the task.
    pub is_async: bool,
}

/// A local variable.
#[derive(Debug, Clone)]
pub struct LocalInfo {
    /// The source name.
    pub name: String,
    /// Its type.
    pub ty: Ty,
}

/// A typed expression node.
#[derive(Debug, Clone)]
pub struct TExpr {
    /// What it is.
    pub kind: TKind,
    /// Its type.
    pub ty: Ty,
    /// JSON pointer of the source node (used in trap messages).
    pub ptr: String,
}

/// How an identifier's value is used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UseMode {
    /// Copy of a copyable or view-like value.
    Copy,
    /// An owned value moves out; the local becomes empty.
    Move,
    /// An owned value is read in place (borrowed for the duration of a call).
    Borrow,
}

/// How an argument is handed to a callee.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pass {
    /// By value: copies, or moves ownership.
    Value,
    /// An owned `bytes`/`vec_u8` is viewed for the call (a temporary one is dropped after the statement).
    BorrowView,
    /// An owned value is passed without moving (a temporary one is dropped after the statement).
    Ref,
}

/// A call argument.
#[derive(Debug, Clone)]
pub struct TArg {
    /// The argument expression.
    pub expr: TExpr,
    /// How it is passed.
    pub pass: Pass,
}

/// The forms of typed expressions.
#[derive(Debug, Clone)]
pub enum TKind {
    /// Integer literal.
    Int(i32),
    /// The program input (a view).
    Input,
    /// A local variable use.
    Local(LocalId, UseMode),
    /// Literal bytes: `bytes.lit` (owned copy) or `bytes.view_lit` (static view).
    Lit { bytes: Vec<u8>, view: bool },
    /// A scope: statements then the value (the last item).
    Begin(Vec<TExpr>),
    /// Binds a new local in the current scope.
    Let(LocalId, Box<TExpr>),
    /// Assigns a local; the value is the new value (non-owned types only).
    Set(LocalId, Box<TExpr>),
    /// Assigns a local; the value is 0.
    Set0(LocalId, Box<TExpr>),
    /// Conditional.
    If(Box<TExpr>, Box<TExpr>, Box<TExpr>),
    /// `for var start end body`; `declare` when `var` is introduced by the loop.
    For {
        var: LocalId,
        declare: bool,
        start: Box<TExpr>,
        end: Box<TExpr>,
        body: Box<TExpr>,
    },
    /// `while cond body`.
    While(Box<TExpr>, Box<TExpr>),
    /// Returns from the function.
    Return(Box<TExpr>),
    /// Propagates the error of a result, else yields its payload.
    Try(Box<TExpr>),
    /// Short-circuit and (0/1).
    And(Box<TExpr>, Box<TExpr>),
    /// Short-circuit or (0/1).
    Or(Box<TExpr>, Box<TExpr>),
    /// Binary operator on i32.
    Op(BinOp, Box<TExpr>, Box<TExpr>),
    /// Builtin call.
    Builtin(&'static Builtin, Vec<TArg>),
    /// User function call.
    Call(FnId, Vec<TArg>),
    /// Call of a C function declared with `extern` (index into [`TProgram::externs`]).
    Extern(usize, Vec<TArg>),
    /// The address of an i32 or pointer local (mutable or not), for C out-parameters.
    AddrOf(LocalId, bool),
    /// A task scope: the children started in the body are waited for when it ends.
    TaskScope(Box<TaskScopeCfg>, Box<TExpr>),
    /// A budget scope: the body runs with the limits of the configuration, checked at its end.
    Budget(Box<BudgetCfg>, Box<TExpr>),
    /// `std.rr.with_policy_v1`: the runtime config (`X7RC`) and the body.
    RrScope(Vec<u8>, Box<TExpr>),
}
