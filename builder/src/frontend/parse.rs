//! JSON text → [`SourceFile`], validating the file shape and recording a JSON pointer per node.

use serde_json::{Map, Value};

use super::ast::{Defn, Expr, ExternDecl, FileKind, GenericDefn, Param, SourceFile, TypeParam};
use super::diag::{codes, Diagnostic};
use super::types::Ty;

/// Oldest and newest accepted `x07.x07ast` minor versions (0.3.0 … 0.8.0).
const MINOR_VERSIONS: std::ops::RangeInclusive<u32> = 3..=8;

/// Parses JSON text, reporting malformed JSON with line and column.
pub fn parse_json(display_path: &str, text: &[u8]) -> Result<Value, Box<Diagnostic>> {
    serde_json::from_slice(text).map_err(|e| {
        Box::new(Diagnostic {
            code: codes::JSON_MALFORMED,
            message: if e.to_string().starts_with("recursion limit exceeded") {
                format!("the JSON nests deeper than 127 levels, which x07 does not read ({e})")
            } else {
                format!("malformed JSON: {e}")
            },
            file: Some(display_path.to_string()),
            ptr: None,
            line: Some(e.line()),
            column: Some(e.column()),
            help: Some("fix the JSON syntax (x07 fmt rewrites a valid file canonically)".into()),
        })
    })
}

/// Whether `s` is a valid module id: dot-separated segments `[A-Za-z_][A-Za-z0-9_-]*`.
pub fn is_module_id(s: &str) -> bool {
    !s.is_empty()
        && s.split('.').all(|seg| {
            let mut chars = seg.chars();
            matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
                && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        })
}

/// Whether `s` is a valid local / parameter / function-tail name: `[A-Za-z_][A-Za-z0-9_]*`.
pub fn is_local_name(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Escapes one JSON-pointer reference token (RFC 6901).
fn ptr_token(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

struct FileParser<'a> {
    path: &'a str,
    diags: Vec<Diagnostic>,
}

/// Converts a parsed JSON value into a [`SourceFile`]; all problems found are returned.
/// Whether a decl object declares type parameters.
fn has_type_params(d: &Map<String, Value>) -> bool {
    d.get("type_params")
        .and_then(Value::as_array)
        .is_some_and(|a| !a.is_empty())
}

/// What a file declares.
#[derive(Default)]
struct Decls {
    exports: Option<Vec<(String, String)>>,
    defns: Vec<Defn>,
    externs: Vec<ExternDecl>,
    generics: Vec<GenericDefn>,
}

/// Parses one instance of a generic defn: `decl` is the defn with its type parameters
/// substituted; pointers are the generic's (`ptr`), in the file `display_path`.
pub fn parse_instance(
    display_path: &str,
    decl: &Map<String, Value>,
    ptr: &str,
    name: String,
) -> Result<Defn, Vec<Diagnostic>> {
    let mut p = FileParser {
        path: display_path,
        diags: Vec::new(),
    };
    match p.defn_rest(decl, ptr, name) {
        Some(d) if p.diags.is_empty() => Ok(d),
        _ => Err(p.diags),
    }
}

pub fn parse_file(display_path: &str, value: &Value) -> Result<SourceFile, Vec<Diagnostic>> {
    let mut p = FileParser {
        path: display_path,
        diags: Vec::new(),
    };
    let file = p.file(value);
    match file {
        Some(f) if p.diags.is_empty() => Ok(f),
        _ => Err(p.diags),
    }
}

impl FileParser<'_> {
    fn err(&mut self, code: super::diag::DiagCode, ptr: &str, msg: impl Into<String>) {
        self.diags.push(Diagnostic::new(code, self.path, ptr, msg));
    }

    fn file(&mut self, value: &Value) -> Option<SourceFile> {
        let Some(obj) = value.as_object() else {
            self.err(
                codes::SCHEMA_FIELD,
                "",
                "an x07AST file must be a JSON object",
            );
            return None;
        };
        for key in obj.keys() {
            if !matches!(
                key.as_str(),
                "schema_version" | "kind" | "module_id" | "imports" | "decls" | "solve" | "meta"
            ) {
                self.err(
                    codes::SCHEMA_FIELD,
                    &format!("/{}", ptr_token(key)),
                    format!("unknown top-level field `{key}` (allowed: schema_version, kind, module_id, imports, decls, solve, meta)"),
                );
            }
        }
        let schema_version = self.string_field(obj, "schema_version")?;
        let minor = schema_version
            .strip_prefix("x07.x07ast@0.")
            .and_then(|r| r.strip_suffix(".0"))
            .and_then(|m| m.parse::<u32>().ok());
        if !minor.is_some_and(|m| MINOR_VERSIONS.contains(&m)) {
            self.diags.push(
                Diagnostic::new(
                    codes::SCHEMA_VERSION,
                    self.path,
                    "/schema_version",
                    format!("unsupported schema_version `{schema_version}`"),
                )
                .with_help("use one of x07.x07ast@0.3.0 … x07.x07ast@0.8.0"),
            );
        }
        let kind = match self.string_field(obj, "kind")?.as_str() {
            "entry" => FileKind::Entry,
            "module" => FileKind::Module,
            other => {
                self.err(
                    codes::SCHEMA_FIELD,
                    "/kind",
                    format!("`kind` must be \"entry\" or \"module\", not \"{other}\""),
                );
                return None;
            }
        };
        let module_id = self.string_field(obj, "module_id")?;
        if !is_module_id(&module_id) {
            self.err(
                codes::SCHEMA_NAME_SYNTAX,
                "/module_id",
                format!("invalid module id `{module_id}`"),
            );
        }
        if kind == FileKind::Entry && module_id != "main" {
            self.err(
                codes::SCHEMA_KIND,
                "/module_id",
                format!("an entry file must have module_id \"main\", not \"{module_id}\""),
            );
        }
        if kind == FileKind::Module && module_id == "main" {
            self.err(
                codes::SCHEMA_KIND,
                "/module_id",
                "module id \"main\" is reserved for the entry file",
            );
        }
        let imports = self.imports(obj);
        let Decls {
            exports,
            defns,
            externs,
            generics,
        } = self.decls(obj, &module_id, kind);
        let solve = match (kind, obj.get("solve")) {
            (FileKind::Entry, Some(v)) => self.expr(v, "/solve".to_string()),
            (FileKind::Entry, None) => {
                self.err(
                    codes::SCHEMA_KIND,
                    "",
                    "an entry file needs a `solve` expression",
                );
                None
            }
            (FileKind::Module, Some(_)) => {
                self.err(
                    codes::SCHEMA_KIND,
                    "/solve",
                    "a module file must not have `solve` (only the entry has one)",
                );
                None
            }
            (FileKind::Module, None) => None,
        };
        Some(SourceFile {
            display_path: self.path.to_string(),
            schema_version,
            kind,
            module_id,
            imports,
            exports,
            defns,
            externs,
            generics,
            solve,
        })
    }

    fn string_field(&mut self, obj: &Map<String, Value>, key: &str) -> Option<String> {
        match obj.get(key) {
            Some(Value::String(s)) => Some(s.clone()),
            Some(_) => {
                self.err(
                    codes::SCHEMA_FIELD,
                    &format!("/{key}"),
                    format!("`{key}` must be a string"),
                );
                None
            }
            None => {
                self.err(
                    codes::SCHEMA_FIELD,
                    "",
                    format!("missing required field `{key}`"),
                );
                None
            }
        }
    }

    fn imports(&mut self, obj: &Map<String, Value>) -> Vec<(String, String)> {
        let mut out = Vec::new();
        match obj.get("imports") {
            None => {}
            Some(Value::Array(items)) => {
                for (i, item) in items.iter().enumerate() {
                    let ptr = format!("/imports/{i}");
                    match item.as_str() {
                        Some(id) if is_module_id(id) => {
                            if out.iter().any(|(m, _): &(String, String)| m == id) {
                                self.err(
                                    codes::MOD_IMPORT_DUP,
                                    &ptr,
                                    format!("module `{id}` is imported twice"),
                                );
                            } else {
                                out.push((id.to_string(), ptr));
                            }
                        }
                        Some(id) => self.err(
                            codes::SCHEMA_NAME_SYNTAX,
                            &ptr,
                            format!("invalid module id `{id}` in imports"),
                        ),
                        None => self.err(
                            codes::SCHEMA_FIELD,
                            &ptr,
                            "imports must be module id strings",
                        ),
                    }
                }
            }
            Some(_) => self.err(
                codes::SCHEMA_FIELD,
                "/imports",
                "`imports` must be an array of module ids",
            ),
        }
        out
    }

    #[allow(clippy::type_complexity)]
    fn decls(&mut self, obj: &Map<String, Value>, module_id: &str, kind: FileKind) -> Decls {
        let mut out = Decls::default();
        let items = match obj.get("decls") {
            None => {
                if kind == FileKind::Module {
                    self.err(codes::SCHEMA_FIELD, "", "missing required field `decls`");
                }
                return out;
            }
            Some(Value::Array(items)) => items,
            Some(_) => {
                self.err(codes::SCHEMA_FIELD, "/decls", "`decls` must be an array");
                return out;
            }
        };
        for (i, decl) in items.iter().enumerate() {
            let ptr = format!("/decls/{i}");
            let Some(d) = decl.as_object() else {
                self.err(codes::SCHEMA_DECL, &ptr, "a declaration must be an object");
                continue;
            };
            match d.get("kind").and_then(Value::as_str) {
                Some("export") => {
                    let names = self.export_names(d, &ptr);
                    if out.exports.is_some() {
                        self.err(
                            codes::MOD_EXPORT_DECL,
                            &ptr,
                            "a module has exactly one `export` declaration; merge the lists",
                        );
                    } else {
                        out.exports = Some(names);
                    }
                }
                Some("defn" | "defasync") if has_type_params(d) => {
                    if let Some(g) = self.generic_defn(d, &ptr, module_id) {
                        out.generics.push(g);
                    }
                }
                Some("defn" | "defasync") => {
                    if let Some(defn) = self.defn(d, &ptr, module_id) {
                        out.defns.push(defn);
                    }
                }
                Some("extern") => {
                    if let Some(e) = self.extern_decl(d, &ptr, module_id) {
                        out.externs.push(e);
                    }
                }
                Some(k @ ("defrecord" | "defenum")) => self.err(
                    codes::UNSUPPORTED,
                    &format!("{ptr}/kind"),
                    format!("`{k}` declarations are not supported yet by this compiler"),
                ),
                Some(other) => self.err(
                    codes::SCHEMA_DECL,
                    &format!("{ptr}/kind"),
                    format!("unknown declaration kind `{other}`"),
                ),
                None => self.err(
                    codes::SCHEMA_DECL,
                    &ptr,
                    "a declaration needs a string `kind`",
                ),
            }
        }
        out
    }

    /// A defn with type parameters: its name and parameters checked, the rest kept as written
    /// until an instance is made (crate::frontend::generics).
    fn generic_defn(
        &mut self,
        d: &Map<String, Value>,
        ptr: &str,
        module_id: &str,
    ) -> Option<GenericDefn> {
        let name = self.defn_name(d, ptr, module_id)?;
        let mut type_params = Vec::new();
        let items = d.get("type_params").and_then(Value::as_array)?;
        for (j, tp) in items.iter().enumerate() {
            let tptr = format!("{ptr}/type_params/{j}");
            let tname = tp.get("name").and_then(Value::as_str);
            let bound = tp.get("bound").and_then(Value::as_str);
            match tname {
                Some(n) if is_local_name(n) || n.chars().all(|c| c.is_ascii_alphanumeric()) => {
                    if type_params.iter().any(|t: &TypeParam| t.name == n) {
                        self.err(
                            codes::NAME_DUP_PARAM,
                            &tptr,
                            format!("type parameter `{n}` is declared twice"),
                        );
                    }
                    if let Some(b) = bound.filter(|b| !TypeParam::BOUNDS.contains(b)) {
                        self.diags.push(
                            Diagnostic::new(
                                codes::TYPE_UNKNOWN,
                                self.path,
                                &format!("{tptr}/bound"),
                                format!("unknown bound `{b}`"),
                            )
                            .with_help(format!("bounds: {}", TypeParam::BOUNDS.join(", "))),
                        );
                    }
                    type_params.push(TypeParam {
                        name: n.to_string(),
                        bound: bound.map(str::to_string),
                    });
                }
                _ => self.err(
                    codes::SCHEMA_DECL,
                    &tptr,
                    "a type parameter is {\"name\": \"A\", \"bound\"?: ...}",
                ),
            }
        }
        Some(GenericDefn {
            name,
            type_params,
            decl: d.clone(),
            ptr: ptr.to_string(),
        })
    }

    fn extern_decl(
        &mut self,
        d: &Map<String, Value>,
        ptr: &str,
        module_id: &str,
    ) -> Option<ExternDecl> {
        if d.get("abi").and_then(Value::as_str) != Some("C") {
            self.err(
                codes::SCHEMA_DECL,
                &format!("{ptr}/abi"),
                "an extern declaration needs \"abi\": \"C\"",
            );
            return None;
        }
        let name = d
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        if !name
            .strip_prefix(module_id)
            .and_then(|r| r.strip_prefix('.'))
            .is_some_and(is_local_name)
        {
            self.err(
                codes::NAME_PREFIX,
                &format!("{ptr}/name"),
                format!("extern name `{name}` must be `{module_id}.<name>`"),
            );
            return None;
        }
        let link_name = match d.get("link_name").and_then(Value::as_str) {
            Some(l) if is_local_name(l) && !l.starts_with("x7") => l.to_string(),
            _ => {
                self.err(codes::SCHEMA_DECL, &format!("{ptr}/link_name"), "`link_name` must be a C identifier (not starting with x7, which the runtime reserves)");
                return None;
            }
        };
        let mut params = Vec::new();
        for (j, p) in d
            .get("params")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default()
            .iter()
            .enumerate()
        {
            let pp = format!("{ptr}/params/{j}");
            let pname = p
                .get("name")
                .and_then(Value::as_str)
                .filter(|n| is_local_name(n))
                .map(str::to_string);
            let ty = self.ty(p.get("ty"), &format!("{pp}/ty"), "`ty`");
            match (pname, ty) {
                (Some(n), Some(t)) if t == Ty::I32 || t.is_pointer() => params.push(Param {
                    name: n,
                    ty: t,
                    ptr: pp,
                }),
                (Some(_), Some(t)) => self.err(
                    codes::TYPE_MISMATCH,
                    &format!("{pp}/ty"),
                    format!("extern parameters are i32 or pointer types, not {t}"),
                ),
                _ => self.err(
                    codes::SCHEMA_DECL,
                    &pp,
                    "an extern parameter needs a `name` and a `ty`",
                ),
            }
        }
        let (result, returns_void) = match d.get("result") {
            Some(Value::String(s)) if s == "void" => (Ty::I32, true),
            r => match self.ty(r, &format!("{ptr}/result"), "`result`") {
                Some(t) if t == Ty::I32 || t.is_pointer() => (t, false),
                Some(t) => {
                    self.err(
                        codes::TYPE_MISMATCH,
                        &format!("{ptr}/result"),
                        format!("an extern returns void, i32 or a pointer type, not {t}"),
                    );
                    return None;
                }
                None => return None,
            },
        };
        Some(ExternDecl {
            name,
            link_name,
            params,
            result,
            returns_void,
            ptr: ptr.to_string(),
        })
    }

    fn export_names(&mut self, d: &Map<String, Value>, ptr: &str) -> Vec<(String, String)> {
        let mut names = Vec::new();
        match d.get("names") {
            Some(Value::Array(items)) => {
                for (j, n) in items.iter().enumerate() {
                    match n.as_str() {
                        Some(s) => names.push((s.to_string(), format!("{ptr}/names/{j}"))),
                        None => self.err(
                            codes::SCHEMA_DECL,
                            &format!("{ptr}/names/{j}"),
                            "exported names must be strings",
                        ),
                    }
                }
            }
            _ => self.err(
                codes::SCHEMA_DECL,
                ptr,
                "an export declaration needs a `names` array",
            ),
        }
        names
    }

    fn ty(&mut self, v: Option<&Value>, ptr: &str, what: &str) -> Option<Ty> {
        match v {
            Some(Value::String(s)) => match Ty::parse(s) {
                Some(t) => Some(t),
                None if Ty::is_known_unsupported(s) => {
                    self.err(
                        codes::UNSUPPORTED,
                        ptr,
                        format!("type `{s}` is not supported yet by this compiler"),
                    );
                    None
                }
                None => {
                    self.diags.push(
                        Diagnostic::new(codes::TYPE_UNKNOWN, self.path, ptr, format!("unknown type `{s}`"))
                            .with_help("types: i32, u32, bytes, bytes_view, vec_u8, option_i32, option_bytes, option_bytes_view, result_i32, result_bytes, result_bytes_view"),
                    );
                    None
                }
            },
            Some(Value::Array(_)) => {
                self.err(
                    codes::UNSUPPORTED,
                    ptr,
                    "generic types are not supported yet by this compiler",
                );
                None
            }
            _ => {
                self.err(
                    codes::SCHEMA_DECL,
                    ptr,
                    format!("{what} must be a type name string"),
                );
                None
            }
        }
    }

    fn defn(&mut self, d: &Map<String, Value>, ptr: &str, module_id: &str) -> Option<Defn> {
        let name = self.defn_name(d, ptr, module_id)?;
        self.defn_rest(d, ptr, name)
    }

    /// A defn's `name`, checked to be `<module>.<local name>`.
    fn defn_name(&mut self, d: &Map<String, Value>, ptr: &str, module_id: &str) -> Option<String> {
        let name = match d.get("name").and_then(Value::as_str) {
            Some(n) => n.to_string(),
            None => {
                self.err(codes::SCHEMA_DECL, ptr, "a defn needs a string `name`");
                return None;
            }
        };
        match name
            .strip_prefix(module_id)
            .and_then(|r| r.strip_prefix('.'))
        {
            Some(tail) if is_local_name(tail) => {}
            _ => self.diags.push(
                Diagnostic::new(
                    codes::NAME_PREFIX,
                    self.path,
                    &format!("{ptr}/name"),
                    format!(
                        "function name `{name}` must be `{module_id}.<name>` with no further dots"
                    ),
                )
                .with_help(format!(
                    "rename it to `{module_id}.{}`",
                    name.rsplit('.').next().unwrap_or(&name)
                )),
            ),
        }
        Some(name)
    }

    fn defn_rest(&mut self, d: &Map<String, Value>, ptr: &str, name: String) -> Option<Defn> {
        let mut params = Vec::new();
        match d.get("params") {
            Some(Value::Array(items)) => {
                for (j, p) in items.iter().enumerate() {
                    let pp = format!("{ptr}/params/{j}");
                    let Some(po) = p.as_object() else {
                        self.err(
                            codes::SCHEMA_DECL,
                            &pp,
                            "a parameter must be an object {\"name\", \"ty\"}",
                        );
                        continue;
                    };
                    let pname = match po.get("name").and_then(Value::as_str) {
                        Some(n) if is_local_name(n) => n.to_string(),
                        Some(n) => {
                            self.err(
                                codes::SCHEMA_NAME_SYNTAX,
                                &format!("{pp}/name"),
                                format!("invalid parameter name `{n}`"),
                            );
                            continue;
                        }
                        None => {
                            self.err(codes::SCHEMA_DECL, &pp, "a parameter needs a string `name`");
                            continue;
                        }
                    };
                    let Some(ty) = self.ty(po.get("ty"), &format!("{pp}/ty"), "`ty`") else {
                        continue;
                    };
                    if params.iter().any(|q: &Param| q.name == pname) {
                        self.err(
                            codes::NAME_DUP_PARAM,
                            &pp,
                            format!("parameter `{pname}` is declared twice"),
                        );
                    }
                    params.push(Param {
                        name: pname,
                        ty,
                        ptr: pp,
                    });
                }
            }
            _ => self.err(codes::SCHEMA_DECL, ptr, "a defn needs a `params` array"),
        }
        let result = self.ty(d.get("result"), &format!("{ptr}/result"), "`result`");
        let body = match d.get("body") {
            Some(b) => self.expr(b, format!("{ptr}/body")),
            None => {
                self.err(codes::SCHEMA_DECL, ptr, "a defn needs a `body`");
                None
            }
        };
        let is_async = d.get("kind").and_then(Value::as_str) == Some("defasync");
        let result = result?;
        if is_async && !matches!(result, Ty::Bytes | Ty::ResultBytes) {
            self.err(
                codes::TYPE_RESULT,
                &format!("{ptr}/result"),
                format!("a defasync returns bytes or result_bytes, not {result}"),
            );
            return None;
        }
        Some(Defn {
            name,
            params,
            result,
            body: body?,
            ptr: ptr.to_string(),
            is_async,
        })
    }

    fn expr(&mut self, v: &Value, ptr: String) -> Option<Expr> {
        match v {
            Value::Number(n) => {
                match n.as_i64() {
                    Some(i) if i >= i64::from(i32::MIN) && i <= i64::from(i32::MAX) => {
                        Some(Expr::Int {
                            value: i as i32,
                            ptr,
                        })
                    }
                    Some(i) => {
                        self.diags.push(
                            Diagnostic::new(
                                codes::EXPR_INT_RANGE,
                                self.path,
                                &ptr,
                                format!("integer literal {i} is outside the i32 range"),
                            )
                            .with_help(
                                "literals are −2147483648 … 2147483647; write −1 for 0xFFFFFFFF",
                            ),
                        );
                        None
                    }
                    None => {
                        if n.as_u64().is_some() {
                            self.diags.push(
                            Diagnostic::new(codes::EXPR_INT_RANGE, self.path, &ptr, format!("integer literal {n} is outside the i32 range"))
                                .with_help("literals are −2147483648 … 2147483647; write −1 for 0xFFFFFFFF"),
                        );
                        } else {
                            self.err(codes::EXPR_SHAPE, &ptr, format!("`{n}` is not an integer (x07 has no floating-point literals here)"));
                        }
                        None
                    }
                }
            }
            Value::String(s) => Some(Expr::Atom {
                text: s.clone(),
                ptr,
            }),
            Value::Array(items) => {
                let Some(first) = items.first() else {
                    self.err(
                        codes::EXPR_EMPTY,
                        &ptr,
                        "an empty list `[]` is not an expression",
                    );
                    return None;
                };
                let Some(head) = first.as_str() else {
                    self.err(codes::EXPR_SHAPE, &format!("{ptr}/0"), "the head of a list expression must be a string (a form, builtin or function name)");
                    return None;
                };
                let mut args = Vec::with_capacity(items.len() - 1);
                let mut ok = true;
                for (i, item) in items.iter().enumerate().skip(1) {
                    match self.expr(item, format!("{ptr}/{i}")) {
                        Some(e) => args.push(e),
                        None => ok = false,
                    }
                }
                ok.then(|| Expr::List {
                    head: head.to_string(),
                    head_ptr: format!("{ptr}/0"),
                    args,
                    ptr,
                })
            }
            Value::Bool(_) | Value::Null | Value::Object(_) => {
                self.err(
                    codes::EXPR_SHAPE,
                    &ptr,
                    "an expression must be an integer, a string or a list",
                );
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn records_pointers_and_rejects_bad_literals() {
        let v = json!({"schema_version":"x07.x07ast@0.5.0","kind":"entry","module_id":"main","imports":[],"decls":[],
                       "solve":["begin",["let","x",1],["view.to_bytes","input"]]});
        let f = parse_file("main.x07.json", &v).unwrap();
        let Some(Expr::List { args, .. }) = &f.solve else {
            panic!()
        };
        assert_eq!(args[1].ptr(), "/solve/2");
        let bad = json!({"schema_version":"x07.x07ast@0.9.9","kind":"entry","module_id":"main","decls":[],"solve":["f",4294967295u64,[]]});
        let codes: Vec<_> = parse_file("m", &bad)
            .unwrap_err()
            .into_iter()
            .map(|d| (d.code.0, d.ptr.unwrap()))
            .collect();
        assert_eq!(
            codes,
            vec![
                ("X07-SCHEMA-0001", "/schema_version".into()),
                ("X07-EXPR-0003", "/solve/1".into()),
                ("X07-EXPR-0001", "/solve/2".into())
            ]
        );
    }

    #[test]
    fn malformed_json_has_line_and_column() {
        let d = parse_json("a.json", b"{\n  \"x\": ,\n}").unwrap_err();
        assert_eq!(
            (d.code.0, d.line, d.column),
            ("X07-JSON-0001", Some(2), Some(8))
        );
    }
}
