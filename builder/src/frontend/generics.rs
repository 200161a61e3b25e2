//! Generic functions, by monomorphisation before checking. Every `["tapp", callee, T1..Tn,
//! args...]` (or `["tapp", callee, ["tys", T1..Tn], args...]`) in concrete code becomes a call of
//! the instance `<callee>__x07_mono_v1__<T1>__…__h<8 hex>` — the generic's decl with each
//! `["t", A]` replaced by its type, `ty.*` intrinsics lowered for it, parsed at the generic's
//! pointers (so diagnostics point at the source) and added to the callee's module. Instances are
//! made on demand from a worklist: an instance's own `tapp`s make more. `u32` and `i32` make
//! distinct instances, as on the public toolchain, though both are i32 to the checker.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{json, Map, Value};
use x07_spec::Sha256Digest;

use super::ast::{Expr, GenericDefn};
use super::diag::{codes, Diagnostic};
use super::parse::parse_instance;
use super::resolve::{load_stdlib_module, LoadedProgram};
use super::types::Ty;

/// At most this many instances per program.
const MAX_INSTANCES: usize = 4096;
/// At most this deep a chain of instances making instances.
const MAX_DEPTH: u32 = 64;
/// The module the lowered `ty.cmp`/`ty.lt`/`ty.eq`/`ty.hash32` call.
const GENERIC_OPS: &str = "std.generic";

/// A generic and the module it belongs to.
struct Generic {
    module: String,
    exported: bool,
    g: GenericDefn,
}

/// A `tapp` turned into a call: the instance to make (if new) is queued.
struct Request {
    instance: String,
    callee: String,
    types: Vec<String>,
    depth: u32,
}

/// The program with every reachable-by-`tapp` instance added and every `tapp` rewritten, or
/// `None` when it uses no generics (then it is checked as loaded).
pub fn monomorphise(program: &LoadedProgram) -> Result<Option<LoadedProgram>, Vec<Diagnostic>> {
    let any_generic = program.all().any(|m| !m.file.generics.is_empty());
    if !any_generic && !program.all().any(|m| mentions_tapp(&m.value)) {
        return Ok(None);
    }
    let mut out = program.clone();
    let mut generics: BTreeMap<String, Generic> = BTreeMap::new();
    for m in program.all() {
        let exports = m.file.exports.as_deref().unwrap_or_default();
        for g in &m.file.generics {
            generics.insert(
                g.name.clone(),
                Generic {
                    module: m.file.module_id.clone(),
                    exported: exports.iter().any(|(n, _)| n == &g.name),
                    g: g.clone(),
                },
            );
        }
    }
    let mut mono = Mono {
        generics,
        made: BTreeSet::new(),
        diags: Vec::new(),
    };
    // (module id, defn index or None for solve, depth)
    let mut queue: Vec<(String, Option<usize>, u32)> = Vec::new();
    for m in out.all() {
        let id = m.file.module_id.clone();
        queue.extend((0..m.file.defns.len()).map(|i| (id.clone(), Some(i), 0)));
        if m.file.solve.is_some() {
            queue.push((id, None, 0));
        }
    }
    while let Some((module, index, depth)) = queue.pop() {
        let mut requests = Vec::new();
        {
            let m = module_mut(&mut out, &module);
            let file = m.file.display_path.clone();
            let body = match index {
                Some(i) => &mut m.file.defns[i].body,
                None => m.file.solve.as_mut().expect("queued because present"),
            };
            mono.rewrite(body, &file, depth, &mut requests);
        }
        for r in requests {
            if let Some((owner, added)) = mono.instantiate(&mut out, &r) {
                queue.push((owner, Some(added), r.depth + 1));
            }
        }
    }
    if mono.diags.is_empty() {
        Ok(Some(out))
    } else {
        mono.diags
            .sort_by(|a, b| (&a.file, &a.ptr).cmp(&(&b.file, &b.ptr)));
        mono.diags.dedup();
        Err(mono.diags)
    }
}

fn mentions_tapp(v: &Value) -> bool {
    match v {
        Value::Array(items) => {
            items.first().and_then(Value::as_str) == Some("tapp") || items.iter().any(mentions_tapp)
        }
        Value::Object(o) => o.values().any(mentions_tapp),
        _ => false,
    }
}

fn module_mut<'p>(p: &'p mut LoadedProgram, id: &str) -> &'p mut super::resolve::ModuleSource {
    if p.entry.file.module_id == id {
        &mut p.entry
    } else {
        p.modules.get_mut(id).expect("a module of the program")
    }
}

struct Mono {
    generics: BTreeMap<String, Generic>,
    made: BTreeSet<String>,
    diags: Vec<Diagnostic>,
}

/// The type token a type argument stands for, if it is concrete.
fn concrete_type(e: &Expr) -> Option<String> {
    match e {
        Expr::Atom { text, .. } if Ty::parse(text).is_some() => Some(text.clone()),
        Expr::List { head, args, .. }
            if (head == "option" || head == "result") && args.len() == 1 =>
        {
            let inner = concrete_type(&args[0])?;
            let t = format!("{head}_{inner}");
            Ty::parse(&t).map(|_| t)
        }
        _ => None,
    }
}

/// `<callee>__x07_mono_v1__<types joined by __>__h<first 4 bytes of sha256(JCS types)>`.
pub fn instance_name(callee: &str, types: &[String]) -> String {
    let jcs = x07_spec::to_canonical_vec(&types).expect("strings serialise");
    let h = &Sha256Digest::of(&jcs).hex()[..8];
    format!("{callee}__x07_mono_v1__{}__h{h}", types.join("__"))
}

impl Mono {
    fn error(&mut self, code: super::diag::DiagCode, file: &str, ptr: &str, msg: String) {
        self.diags.push(Diagnostic::new(code, file, ptr, msg));
    }

    /// Rewrites every `tapp` in `e` into a call of its instance, queueing the instances.
    fn rewrite(&mut self, e: &mut Expr, file: &str, depth: u32, out: &mut Vec<Request>) {
        let Expr::List {
            head, args, ptr, ..
        } = e
        else {
            return;
        };
        for a in args.iter_mut() {
            self.rewrite(a, file, depth, out);
        }
        if head != "tapp" {
            return;
        }
        let Some(callee) = args.first().and_then(Expr::as_atom).map(str::to_string) else {
            self.error(
                codes::GENERIC_TAPP,
                file,
                ptr,
                "tapp needs the generic function's name first".into(),
            );
            return;
        };
        let Some(generic) = self.generics.get(&callee) else {
            self.error(
                codes::GENERIC_TAPP,
                file,
                ptr,
                format!("`{callee}` is not a generic function (call it without tapp)"),
            );
            return;
        };
        let n = generic.g.type_params.len();
        let (type_args, rest): (Vec<&Expr>, usize) = match args.get(1) {
            Some(Expr::List {
                head: h, args: tys, ..
            }) if h == "tys" => (tys.iter().collect(), 2),
            _ => (args.iter().skip(1).take(n).collect(), 1 + n),
        };
        if type_args.len() != n {
            self.error(
                codes::GENERIC_TAPP,
                file,
                ptr,
                format!(
                    "`{callee}` takes {n} type argument(s), got {}",
                    type_args.len()
                ),
            );
            return;
        }
        let mut types = Vec::with_capacity(n);
        for (t, tp) in type_args.iter().zip(&generic.g.type_params) {
            match concrete_type(t) {
                Some(c) if tp.admits(&c) => types.push(c),
                Some(c) => {
                    let bound = tp.bound.clone().unwrap_or_default();
                    self.error(
                        codes::GENERIC_TAPP,
                        file,
                        t.ptr(),
                        format!(
                            "`{c}` does not satisfy the bound {bound} of `{}` in `{callee}`",
                            tp.name
                        ),
                    );
                    return;
                }
                None => {
                    self.error(
                        codes::GENERIC_TAPP,
                        file,
                        t.ptr(),
                        format!(
                            "type argument {} of `{callee}` is not a concrete type",
                            types.len() + 1
                        ),
                    );
                    return;
                }
            }
        }
        let instance = instance_name(&callee, &types);
        out.push(Request {
            instance: instance.clone(),
            callee,
            types,
            depth,
        });
        let values: Vec<Expr> = args.drain(rest.min(args.len())..).collect();
        *head = instance;
        *args = values;
    }

    /// Makes the instance `r` asks for (unless made before): the callee's module and the index
    /// of the new defn in it.
    fn instantiate(&mut self, p: &mut LoadedProgram, r: &Request) -> Option<(String, usize)> {
        if self.made.contains(&r.instance) {
            return None;
        }
        let generic = self
            .generics
            .get(&r.callee)
            .expect("requested for a known generic");
        let (module, exported, g) = (generic.module.clone(), generic.exported, generic.g.clone());
        let file = module_mut(p, &module).file.display_path.clone();
        if self.made.len() >= MAX_INSTANCES || r.depth >= MAX_DEPTH {
            self.error(
                codes::GENERIC_LIMIT,
                &file,
                &g.ptr,
                format!("instantiating `{}` does not end (over {MAX_INSTANCES} instances or {MAX_DEPTH} levels)", r.callee),
            );
            return None;
        }
        self.made.insert(r.instance.clone());
        let subst: BTreeMap<&str, &str> = g
            .type_params
            .iter()
            .map(|t| t.name.as_str())
            .zip(r.types.iter().map(String::as_str))
            .collect();
        let mut decl = Map::new();
        let mut needs = BTreeSet::new();
        for (k, v) in &g.decl {
            if k == "type_params" {
                continue;
            }
            let v = substitute(v, &subst);
            let v = if k == "body" {
                match lower_intrinsics(&v, &mut needs) {
                    Ok(v) => v,
                    Err(msg) => {
                        self.error(
                            codes::GENERIC_TAPP,
                            &file,
                            &g.ptr,
                            format!("in `{}` with {}: {msg}", r.callee, r.types.join(", ")),
                        );
                        return None;
                    }
                }
            } else {
                v
            };
            decl.insert(k.clone(), v);
        }
        let defn = match parse_instance(&file, &decl, &g.ptr, r.instance.clone()) {
            Ok(d) => d,
            Err(d) => {
                self.diags.extend(d);
                return None;
            }
        };
        for dep in needs {
            self.require_module(p, &module, dep);
        }
        let m = module_mut(p, &module);
        if exported {
            m.file
                .exports
                .get_or_insert_with(Vec::new)
                .push((r.instance.clone(), g.ptr.clone()));
        }
        m.file.defns.push(defn);
        Some((module, m.file.defns.len() - 1))
    }

    /// Makes `module` import `dep`, loading `dep` from the standard library if needed.
    fn require_module(&mut self, p: &mut LoadedProgram, module: &str, dep: &str) {
        if !p.modules.contains_key(dep) {
            match load_stdlib_module(dep) {
                Some(Ok(m)) => {
                    p.modules.insert(dep.to_string(), m);
                }
                Some(Err(d)) => self.diags.extend(d),
                None => unreachable!("{dep} is embedded"),
            }
        }
        let m = module_mut(p, module);
        if !m.file.imports.iter().any(|(i, _)| i == dep) {
            m.file.imports.push((dep.to_string(), String::new()));
        }
    }
}

/// `v` with every `["t", A]` replaced by A's type, and `["option", T]`/`["result", T]` of a
/// concrete T as the type token they name.
fn substitute(v: &Value, subst: &BTreeMap<&str, &str>) -> Value {
    match v {
        Value::Array(items) => {
            if let [Value::String(h), Value::String(a)] = items.as_slice() {
                if h == "t" {
                    if let Some(t) = subst.get(a.as_str()) {
                        return Value::String(t.to_string());
                    }
                }
            }
            let items: Vec<Value> = items.iter().map(|x| substitute(x, subst)).collect();
            if let [Value::String(h), Value::String(inner)] = items.as_slice() {
                if h == "option" || h == "result" {
                    let t = format!("{h}_{inner}");
                    if Ty::parse(&t).is_some() {
                        return Value::String(t);
                    }
                }
            }
            Value::Array(items)
        }
        Value::Object(o) => Value::Object(
            o.iter()
                .map(|(k, x)| (k.clone(), substitute(x, subst)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// The `ty.*` intrinsics of a substituted body, lowered for their (now concrete) type; `needs`
/// collects the modules the lowered calls live in.
fn lower_intrinsics(v: &Value, needs: &mut BTreeSet<&'static str>) -> Result<Value, String> {
    let Value::Array(items) = v else {
        return Ok(v.clone());
    };
    let items = items
        .iter()
        .map(|x| lower_intrinsics(x, needs))
        .collect::<Result<Vec<_>, _>>()?;
    let Some(op) = items
        .first()
        .and_then(Value::as_str)
        .and_then(|h| h.strip_prefix("ty."))
    else {
        return Ok(Value::Array(items));
    };
    let ty = items
        .get(1)
        .and_then(Value::as_str)
        .unwrap_or("?")
        .to_string();
    let rest = items[2.min(items.len())..].to_vec();
    let num = matches!(ty.as_str(), "i32" | "u32");
    let bytes_like = matches!(ty.as_str(), "bytes" | "bytes_view");
    let call = |name: String, args: Vec<Value>| {
        let mut a = vec![Value::String(name)];
        a.extend(args);
        Value::Array(a)
    };
    let kind = if num {
        ty.as_str()
    } else if bytes_like {
        "bytes"
    } else {
        ""
    };
    let lowered = match (op, num, bytes_like) {
        ("size_bytes" | "size", true, _) => json!(4),
        ("read_le_at", true, _) => {
            needs.insert("std.u32");
            call("std.u32.read_le_at".into(), rest)
        }
        ("write_le_at", true, _) => {
            needs.insert("std.u32");
            call("std.u32.write_le_at".into(), rest)
        }
        ("push_le", true, _) => {
            needs.insert("std.u32");
            call("std.u32.push_le".into(), rest)
        }
        ("add" | "sub" | "mul", true, _) => {
            let sym = match op {
                "add" => "+",
                "sub" => "-",
                _ => "*",
            };
            call(sym.into(), rest)
        }
        ("cmp" | "lt" | "eq" | "hash32", true, _) | ("cmp" | "lt" | "eq" | "hash32", _, true) => {
            needs.insert(GENERIC_OPS);
            call(format!("{GENERIC_OPS}.{op}_{kind}"), rest)
        }
        _ => {
            return Err(format!(
                "`ty.{op}` is not supported for `{ty}` yet (supported: size_bytes, read_le_at, write_le_at, push_le, add, sub, mul for i32/u32; cmp, lt, eq, hash32 for i32/u32/bytes/bytes_view)"
            ))
        }
    };
    Ok(lowered)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instance_names_follow_the_public_scheme_and_differ_for_u32_and_i32() {
        let a = instance_name("std.heap.push", &["u32".into()]);
        let b = instance_name("std.heap.push", &["i32".into()]);
        assert!(a.starts_with("std.heap.push__x07_mono_v1__u32__h"), "{a}");
        assert_eq!(a.len(), "std.heap.push__x07_mono_v1__u32__h".len() + 8);
        assert_ne!(a, b);
    }

    #[test]
    fn substitution_replaces_type_variables_and_lowers_option_and_result() {
        let subst = BTreeMap::from([("A", "bytes")]);
        let v = json!({"params": [{"name": "x", "ty": ["t", "A"]}], "result": ["result", ["t", "A"]],
                        "body": ["ty.size_bytes", ["t", "B"]]});
        assert_eq!(
            substitute(&v, &subst),
            json!({"params": [{"name": "x", "ty": "bytes"}], "result": "result_bytes",
                   "body": ["ty.size_bytes", ["t", "B"]]})
        );
    }

    #[test]
    fn intrinsics_lower_for_their_type_or_say_what_is_supported() {
        let mut needs = BTreeSet::new();
        let v = json!([
            "+",
            ["ty.size_bytes", "u32"],
            ["ty.cmp", "bytes_view", "a", "b"]
        ]);
        assert_eq!(
            lower_intrinsics(&v, &mut needs).unwrap(),
            json!(["+", 4, ["std.generic.cmp_bytes", "a", "b"]])
        );
        assert!(needs.contains("std.generic"));
        let err = lower_intrinsics(&json!(["ty.size_bytes", "bytes"]), &mut needs).unwrap_err();
        assert!(err.contains("ty.size_bytes"), "{err}");
    }
}
