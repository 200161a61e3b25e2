//! Compile diagnostics with stable codes (`docs/diagnostics.md`).

use std::fmt;

/// A stable diagnostic code, `X07-<AREA>-<NNNN>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DiagCode(pub &'static str);

/// Diagnostic codes of the front end, named after what went wrong.
pub mod codes {
    use super::DiagCode;
    /// Malformed JSON.
    pub const JSON_MALFORMED: DiagCode = DiagCode("X07-JSON-0001");
    /// Unsupported schema_version.
    pub const SCHEMA_VERSION: DiagCode = DiagCode("X07-SCHEMA-0001");
    /// Bad top-level field.
    pub const SCHEMA_FIELD: DiagCode = DiagCode("X07-SCHEMA-0002");
    /// Malformed declaration.
    pub const SCHEMA_DECL: DiagCode = DiagCode("X07-SCHEMA-0003");
    /// Entry/module shape.
    pub const SCHEMA_KIND: DiagCode = DiagCode("X07-SCHEMA-0004");
    /// Bad identifier syntax.
    pub const SCHEMA_NAME_SYNTAX: DiagCode = DiagCode("X07-SCHEMA-0005");
    /// Empty list expression.
    pub const EXPR_EMPTY: DiagCode = DiagCode("X07-EXPR-0001");
    /// Bad expression value.
    pub const EXPR_SHAPE: DiagCode = DiagCode("X07-EXPR-0002");
    /// Integer literal out of range.
    pub const EXPR_INT_RANGE: DiagCode = DiagCode("X07-EXPR-0003");
    /// Malformed special form.
    pub const EXPR_FORM: DiagCode = DiagCode("X07-EXPR-0004");
    /// Unknown module.
    pub const MOD_UNKNOWN: DiagCode = DiagCode("X07-MOD-0001");
    /// Import cycle.
    pub const MOD_CYCLE: DiagCode = DiagCode("X07-MOD-0002");
    /// module_id does not match the path.
    pub const MOD_ID_MISMATCH: DiagCode = DiagCode("X07-MOD-0003");
    /// Missing or duplicate export decl.
    pub const MOD_EXPORT_DECL: DiagCode = DiagCode("X07-MOD-0004");
    /// Exported name not defined.
    pub const MOD_EXPORT_UNDEFINED: DiagCode = DiagCode("X07-MOD-0005");
    /// Call of a non-exported function.
    pub const MOD_NOT_EXPORTED: DiagCode = DiagCode("X07-MOD-0006");
    /// Call into a module that is not imported.
    pub const MOD_NOT_IMPORTED: DiagCode = DiagCode("X07-MOD-0007");
    /// Self import or duplicate import.
    pub const MOD_IMPORT_DUP: DiagCode = DiagCode("X07-MOD-0008");
    /// Unknown identifier.
    pub const NAME_UNKNOWN_IDENT: DiagCode = DiagCode("X07-NAME-0001");
    /// Unknown function.
    pub const NAME_UNKNOWN_FN: DiagCode = DiagCode("X07-NAME-0002");
    /// Unknown builtin.
    pub const NAME_UNKNOWN_BUILTIN: DiagCode = DiagCode("X07-NAME-0003");
    /// Function defined twice.
    pub const NAME_DUP_FN: DiagCode = DiagCode("X07-NAME-0004");
    /// Function name without its module prefix.
    pub const NAME_PREFIX: DiagCode = DiagCode("X07-NAME-0005");
    /// Duplicate let in one scope.
    pub const NAME_DUP_LET: DiagCode = DiagCode("X07-NAME-0006");
    /// Duplicate parameter.
    pub const NAME_DUP_PARAM: DiagCode = DiagCode("X07-NAME-0007");
    /// Type mismatch.
    pub const TYPE_MISMATCH: DiagCode = DiagCode("X07-TYPE-0001");
    /// Unknown type name.
    pub const TYPE_UNKNOWN: DiagCode = DiagCode("X07-TYPE-0002");
    /// Condition is not i32.
    pub const TYPE_COND: DiagCode = DiagCode("X07-TYPE-0003");
    /// if arms differ.
    pub const TYPE_IF_ARMS: DiagCode = DiagCode("X07-TYPE-0004");
    /// let/set of an owned value used as a value.
    pub const TYPE_OWNED_STMT_VALUE: DiagCode = DiagCode("X07-TYPE-0005");
    /// Bad try.
    pub const TYPE_TRY: DiagCode = DiagCode("X07-TYPE-0006");
    /// Body type differs from the declared result.
    pub const TYPE_RESULT: DiagCode = DiagCode("X07-TYPE-0007");
    /// Wrong number of arguments.
    pub const ARITY: DiagCode = DiagCode("X07-ARITY-0001");
    /// Use after move.
    pub const OWN_USE_AFTER_MOVE: DiagCode = DiagCode("X07-OWN-0001");
    /// Move while borrowed.
    pub const OWN_MOVE_BORROWED: DiagCode = DiagCode("X07-OWN-0002");
    /// Set or mutation while borrowed.
    pub const OWN_SET_BORROWED: DiagCode = DiagCode("X07-OWN-0003");
    /// View of a temporary.
    pub const OWN_VIEW_TEMP: DiagCode = DiagCode("X07-OWN-0004");
    /// Returning a view of a local.
    pub const OWN_RETURN_LOCAL_VIEW: DiagCode = DiagCode("X07-OWN-0005");
    /// Builtin not available in this world.
    pub const WORLD_BUILTIN: DiagCode = DiagCode("X07-WORLD-0001");
    /// World not supported.
    pub const WORLD_UNSUPPORTED: DiagCode = DiagCode("X07-WORLD-0002");
    /// Language feature not supported yet.
    pub const UNSUPPORTED: DiagCode = DiagCode("X07-UNSUPPORTED-0001");
    /// A pointer builtin or extern call outside `unsafe`.
    pub const UNSAFE_REQUIRED: DiagCode = DiagCode("X07-UNSAFE-0001");
    /// A malformed `budget.cfg_v1`, or a budget scope whose body does not fit its mode.
    pub const BUDGET_CFG: DiagCode = DiagCode("X07-BUDGET-0001");
    /// A waiting operation (await, join, recv, send, sleep, yield) outside solve and defasync.
    pub const ASYNC_WAIT_OUTSIDE: DiagCode = DiagCode("X07-ASYNC-0001");
    /// A task scope misused: a malformed cfg, an op outside a scope, a child not started from an
    /// immediate defasync call.
    pub const ASYNC_SCOPE: DiagCode = DiagCode("X07-ASYNC-0002");
    /// A `tapp` that cannot be instantiated: not generic, wrong type arguments, a bound not met.
    pub const GENERIC_TAPP: DiagCode = DiagCode("X07-GENERIC-0001");
    /// A generic function called without `tapp`.
    pub const GENERIC_NO_TAPP: DiagCode = DiagCode("X07-GENERIC-0002");
    /// Instantiation does not end (more than 4096 instances or nesting deeper than 64).
    pub const GENERIC_LIMIT: DiagCode = DiagCode("X07-GENERIC-0003");
    /// The budget profile a reachable `budget.scope_from_arch_v1` names is missing or broken.
    pub const BUDGET_PROFILE: DiagCode = DiagCode("X07-BUDGET-0002");
    /// A malformed `std.rr.with_policy_v1` (arguments, or a function that cannot return its error).
    pub const RR_SCOPE: DiagCode = DiagCode("X07-RR-0001");
    /// The rr index or policy a reachable `std.rr.with_policy_v1` names is missing or broken, or
    /// its mode is not allowed by the index.
    pub const RR_POLICY: DiagCode = DiagCode("X07-RR-0002");
}

/// One compile error (or warning) tied to a file and a JSON pointer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// The stable code.
    pub code: DiagCode,
    /// What went wrong, in one sentence.
    pub message: String,
    /// The file, as the user knows it (project-relative when possible).
    pub file: Option<String>,
    /// JSON pointer of the node.
    pub ptr: Option<String>,
    /// 1-based line (malformed JSON only).
    pub line: Option<usize>,
    /// 1-based column (malformed JSON only).
    pub column: Option<usize>,
    /// What to do about it.
    pub help: Option<String>,
}

impl Diagnostic {
    /// A diagnostic at a node of a file.
    pub fn new(code: DiagCode, file: &str, ptr: &str, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            file: Some(file.to_string()),
            ptr: Some(ptr.to_string()),
            line: None,
            column: None,
            help: None,
        }
    }

    /// Adds a hint on what to do.
    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// Human-readable rendering for stderr.
    pub fn render(&self) -> String {
        let mut s = format!("error[{}]: {}\n", self.code.0, self.message);
        if let Some(file) = &self.file {
            s.push_str("  --> ");
            s.push_str(file);
            match (self.line, self.column, &self.ptr) {
                (Some(l), Some(c), _) => s.push_str(&format!(":{l}:{c}")),
                (_, _, Some(p)) => {
                    s.push(' ');
                    s.push_str(if p.is_empty() { "/" } else { p });
                }
                _ => {}
            }
            s.push('\n');
        }
        if let Some(h) = &self.help {
            s.push_str("  help: ");
            s.push_str(h);
            s.push('\n');
        }
        s
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.render())
    }
}
