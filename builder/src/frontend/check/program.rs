//! Program-level checks: the function index, exports, per-function checking and reachability.

use std::collections::{BTreeMap, BTreeSet};

use crate::frontend::ast::{Defn, ExternDecl, FileKind};
use crate::frontend::diag::{codes, Diagnostic};
use crate::frontend::resolve::{LoadedProgram, ModuleSource};
use crate::frontend::tir::{FnId, TExpr, TExtern, TFn, TKind, TProgram};
use crate::frontend::types::Ty;

use super::scope::FnChecker;

/// What the checker needs to know about the build.
#[derive(Debug, Clone, Copy)]
pub struct CheckOptions {
    /// Whether OS builtins (`os.*`) are available (worlds run-os and run-os-sandboxed).
    pub os_world: bool,
    /// Whether `fs.*` reads the world's filesystem (solve-fs, solve-full, run-os; not
    /// run-os-sandboxed, whose filesystem goes through the policy-checked `os.fs.*`).
    pub fs_world: bool,
    /// Whether `rr.*` and `std.rr.with_policy_v1` (cassettes under `.x07_rr/`) are available
    /// (solve-rr, solve-full and run-os, as on the public toolchain).
    pub rr_world: bool,
}

/// A function known to the program, before checking its body.
pub(super) struct FnDecl<'a> {
    pub name: &'a str,
    pub module: &'a str,
    pub file: &'a str,
    pub defn: &'a Defn,
    pub exported: bool,
}

/// A C function declared with `extern`.
pub(super) struct ExternEntry<'a> {
    pub name: &'a str,
    pub module: &'a str,
    pub decl: &'a ExternDecl,
    pub exported: bool,
}

/// The signatures and module interfaces every function body is checked against.
pub(super) struct ProgramIndex<'a> {
    /// All functions sorted by name; [`FnId`] indexes this list.
    pub fns: Vec<FnDecl<'a>>,
    by_name: BTreeMap<&'a str, FnId>,
    /// Module id → its imports.
    pub imports: BTreeMap<&'a str, BTreeSet<&'a str>>,
    /// Every module id of the program.
    pub modules: BTreeSet<&'a str>,
    /// Every extern, sorted by name.
    pub externs: Vec<ExternEntry<'a>>,
    pub opts: CheckOptions,
    /// The budget profiles the program's scopes name.
    pub budgets: &'a crate::budget::BudgetProfiles,
    /// The record/replay policies the program's `std.rr.with_policy_v1` scopes name.
    pub rr: &'a crate::rr::RrPolicies,
    /// Names of the generic functions (called only through `tapp`).
    pub generics: BTreeSet<&'a str>,
}

impl<'a> ProgramIndex<'a> {
    /// Looks a function up by its full name.
    pub fn lookup(&self, name: &str) -> Option<FnId> {
        self.by_name.get(name).copied()
    }

    /// Looks an extern up by its full name.
    pub fn lookup_extern(&self, name: &str) -> Option<usize> {
        self.externs.binary_search_by(|e| e.name.cmp(name)).ok()
    }
}

/// Checks the whole program; on success returns the functions reachable from `solve`.
pub fn check_program(
    program: &LoadedProgram,
    opts: &CheckOptions,
) -> Result<TProgram, Vec<Diagnostic>> {
    // generic functions become instances first; the program is checked as instantiated
    let instantiated = crate::frontend::generics::monomorphise(program)?;
    let program = instantiated.as_ref().unwrap_or(program);
    let mut diags = Vec::new();
    let index = build_index(program, opts, &mut diags);

    let mut checked: Vec<Option<TFn>> = Vec::with_capacity(index.fns.len());
    let mut calls: Vec<BTreeSet<FnId>> = Vec::with_capacity(index.fns.len());
    // problems reported only when the function is reachable (a missing budget profile)
    let mut deferred: Vec<Vec<Diagnostic>> = Vec::with_capacity(index.fns.len());
    for decl in &index.fns {
        let mut cx = FnChecker::new(&index, decl.module, decl.file);
        let result = cx.check_defn(decl.defn);
        calls.push(cx.calls.clone());
        let (now, later) = cx.finish();
        diags.extend(now);
        deferred.push(later);
        checked.push(result);
    }
    let entry = &program.entry.file;
    let solve = entry.solve.as_ref().and_then(|solve| {
        let mut cx = FnChecker::new(&index, "main", &entry.display_path);
        let r = cx.check_solve(solve);
        let c = cx.calls.clone();
        let (now, later) = cx.finish();
        diags.extend(now);
        diags.extend(later);
        r.map(|f| (f, c))
    });
    if !diags.is_empty() {
        diags.sort_by(|a, b| (&a.file, &a.ptr, a.code).cmp(&(&b.file, &b.ptr, b.code)));
        diags.dedup();
        return Err(diags);
    }
    let (solve, solve_calls) = solve.expect("no diagnostics means solve was checked");

    // Keep the functions reachable from solve, in name order; remap their ids.
    let mut reachable = BTreeSet::new();
    let mut work: Vec<FnId> = solve_calls.iter().copied().collect();
    while let Some(f) = work.pop() {
        if reachable.insert(f) {
            work.extend(calls[f].iter().copied());
        }
    }
    let mut late: Vec<Diagnostic> = reachable
        .iter()
        .flat_map(|f| deferred[*f].iter().cloned())
        .collect();
    if !late.is_empty() {
        late.sort_by(|a, b| (&a.file, &a.ptr, a.code).cmp(&(&b.file, &b.ptr, b.code)));
        late.dedup();
        return Err(late);
    }
    let new_id: BTreeMap<FnId, FnId> = reachable
        .iter()
        .enumerate()
        .map(|(i, old)| (*old, i))
        .collect();
    let mut fns: Vec<TFn> = reachable
        .iter()
        .map(|old| checked[*old].take().expect("checked without errors"))
        .collect();
    fns.push(solve);
    let mut fragments = BTreeSet::from(["core"]);
    let mut used_externs = BTreeMap::new();
    for f in &mut fns {
        remap(
            &mut f.body,
            &new_id,
            &mut fragments,
            &mut used_externs,
            &index,
        );
    }
    let mut externs = vec![
        TExtern {
            link_name: String::new(),
            params: Vec::new(),
            result: Ty::I32,
            returns_void: true
        };
        used_externs.len()
    ];
    for (old, new) in &used_externs {
        let d = index.externs[*old].decl;
        externs[*new] = TExtern {
            link_name: d.link_name.clone(),
            params: d.params.iter().map(|p| p.ty).collect(),
            result: d.result,
            returns_void: d.returns_void,
        };
    }
    if !externs.is_empty() {
        fragments.insert("ffi");
    }
    if fns.iter().any(|f| f.is_async) {
        fragments.insert("async");
    }
    Ok(TProgram {
        fns,
        fragments,
        externs,
    })
}

fn build_index<'a>(
    program: &'a LoadedProgram,
    opts: &CheckOptions,
    diags: &mut Vec<Diagnostic>,
) -> ProgramIndex<'a> {
    let mut fns: Vec<FnDecl<'a>> = Vec::new();
    let mut imports = BTreeMap::new();
    let mut modules = BTreeSet::new();
    for m in program.all() {
        index_module(m, &mut fns, diags);
        modules.insert(m.file.module_id.as_str());
        imports.insert(
            m.file.module_id.as_str(),
            m.file.imports.iter().map(|(i, _)| i.as_str()).collect(),
        );
    }
    fns.sort_by(|a, b| a.name.cmp(b.name));
    let mut externs: Vec<ExternEntry<'a>> = Vec::new();
    for m in program.all() {
        let exports: BTreeSet<&str> = m
            .file
            .exports
            .iter()
            .flatten()
            .map(|(n, _)| n.as_str())
            .collect();
        for d in &m.file.externs {
            externs.push(ExternEntry {
                name: &d.name,
                module: &m.file.module_id,
                decl: d,
                exported: exports.contains(d.name.as_str()),
            });
        }
    }
    externs.sort_by(|a, b| a.name.cmp(b.name));
    let mut by_name = BTreeMap::new();
    for (i, f) in fns.iter().enumerate() {
        if by_name.insert(f.name, i).is_some() {
            diags.push(Diagnostic::new(
                codes::NAME_DUP_FN,
                f.file,
                &f.defn.ptr,
                format!("function `{}` is defined twice", f.name),
            ));
        }
    }
    ProgramIndex {
        fns,
        by_name,
        imports,
        modules,
        externs,
        opts: *opts,
        budgets: &program.budgets,
        rr: &program.rr,
        generics: program
            .all()
            .flat_map(|m| m.file.generics.iter().map(|g| g.name.as_str()))
            .collect(),
    }
}

fn index_module<'a>(m: &'a ModuleSource, fns: &mut Vec<FnDecl<'a>>, diags: &mut Vec<Diagnostic>) {
    let file = &m.file;
    let exports: BTreeSet<&str> = file
        .exports
        .iter()
        .flatten()
        .map(|(n, _)| n.as_str())
        .collect();
    match (&file.exports, file.kind) {
        (None, FileKind::Module) => diags.push(
            Diagnostic::new(codes::MOD_EXPORT_DECL, &file.display_path, "/decls", format!("module `{}` has no `export` declaration", file.module_id))
                .with_help("add {\"kind\": \"export\", \"names\": [...]} listing the functions other modules may call"),
        ),
        (Some(names), _) => {
            for (name, ptr) in names {
                // defns, generics and externs may be exported (the public `_ffi` modules export
                // only externs)
                if !file.defns.iter().any(|d| &d.name == name)
                    && !file.generics.iter().any(|g| &g.name == name)
                    && !file.externs.iter().any(|e| &e.name == name)
                {
                    diags.push(Diagnostic::new(
                        codes::MOD_EXPORT_UNDEFINED,
                        &file.display_path,
                        ptr,
                        format!("exported name `{name}` is not defined in module `{}`", file.module_id),
                    ));
                }
            }
        }
        (None, FileKind::Entry) => {}
    }
    for d in &file.defns {
        fns.push(FnDecl {
            name: &d.name,
            module: &file.module_id,
            file: &file.display_path,
            defn: d,
            exported: exports.contains(d.name.as_str()),
        });
    }
}

/// Renumbers function calls to the reachable set, renumbers externs to the used set, and collects
/// the runtime fragments the builtins need.
fn remap(
    e: &mut TExpr,
    new_id: &BTreeMap<FnId, FnId>,
    fragments: &mut BTreeSet<&'static str>,
    externs: &mut BTreeMap<usize, usize>,
    index: &ProgramIndex<'_>,
) {
    let _ = index;
    macro_rules! go {
        ($x:expr) => {
            remap($x, new_id, fragments, externs, index)
        };
    }
    match &mut e.kind {
        TKind::Call(f, args) => {
            *f = new_id[f];
            args.iter_mut().for_each(|a| go!(&mut a.expr));
        }
        TKind::Extern(x, args) => {
            let next = externs.len();
            *x = *externs.entry(*x).or_insert(next);
            args.iter_mut().for_each(|a| go!(&mut a.expr));
        }
        TKind::Builtin(b, args) => {
            fragments.insert(b.fragment);
            args.iter_mut().for_each(|a| go!(&mut a.expr));
        }
        TKind::Begin(items) => items.iter_mut().for_each(|x| go!(x)),
        TKind::Let(_, x)
        | TKind::Set(_, x)
        | TKind::Set0(_, x)
        | TKind::Return(x)
        | TKind::Try(x) => go!(x),
        TKind::Budget(_, x) => {
            fragments.insert("budget");
            go!(x)
        }
        TKind::RrScope(_, x) => {
            fragments.insert("rr");
            go!(x)
        }
        TKind::TaskScope(_, x) => {
            fragments.insert("async");
            go!(x)
        }
        TKind::If(a, b, c) => [a, b, c].into_iter().for_each(|x| go!(x)),
        TKind::For {
            start, end, body, ..
        } => [start, end, body].into_iter().for_each(|x| go!(x)),
        TKind::While(a, b) | TKind::And(a, b) | TKind::Or(a, b) | TKind::Op(_, a, b) => {
            go!(a);
            go!(b);
        }
        TKind::Int(_) | TKind::Input | TKind::Local(..) | TKind::Lit { .. } | TKind::AddrOf(..) => {
        }
    }
}

/// The result type of the entry's `solve`.
pub(super) const SOLVE_RESULT: Ty = Ty::Bytes;
