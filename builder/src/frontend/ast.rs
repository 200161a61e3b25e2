//! The parsed (unchecked) x07AST: files, declarations, expressions, each node with its JSON pointer.

use super::types::Ty;

/// A JSON pointer into a source file (`/decls/1/body/2`).
pub type Ptr = String;

/// An expression: an integer, an atom (identifier or literal text), or a call-like list.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    /// Integer literal (already range-checked to i32).
    Int { value: i32, ptr: Ptr },
    /// A JSON string: an identifier, or the text argument of `bytes.lit`.
    Atom { text: String, ptr: Ptr },
    /// `[head, args...]`; the head is a string (checked by the parser).
    List {
        head: String,
        head_ptr: Ptr,
        args: Vec<Expr>,
        ptr: Ptr,
    },
}

impl Expr {
    /// The JSON pointer of the node.
    pub fn ptr(&self) -> &str {
        match self {
            Expr::Int { ptr, .. } | Expr::Atom { ptr, .. } | Expr::List { ptr, .. } => ptr,
        }
    }

    /// The identifier text, if the node is an atom.
    pub fn as_atom(&self) -> Option<&str> {
        match self {
            Expr::Atom { text, .. } => Some(text),
            _ => None,
        }
    }
}

/// Entry file or module file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    /// The program's entry (`module_id` "main", has `solve`).
    Entry,
    /// A library module.
    Module,
}

/// A function parameter.
#[derive(Debug, Clone, PartialEq)]
pub struct Param {
    /// Local name.
    pub name: String,
    /// Declared type.
    pub ty: Ty,
    /// Pointer of the parameter object.
    pub ptr: Ptr,
}

/// A `defn` declaration.
#[derive(Debug, Clone, PartialEq)]
pub struct Defn {
    /// Fully qualified name (`module.fn`).
    pub name: String,
    /// Parameters in order.
    pub params: Vec<Param>,
    /// Declared result type.
    pub result: Ty,
    /// The body expression.
    pub body: Expr,
    /// Pointer of the decl object.
    pub ptr: Ptr,
    /// A `defasync`: a call enqueues a task and returns its handle (i32).
    pub is_async: bool,
}

/// A type parameter of a generic defn.
#[derive(Debug, Clone, PartialEq)]
pub struct TypeParam {
    /// Its name (`A`).
    pub name: String,
    /// Its bound, if any (one of [`TypeParam::BOUNDS`]).
    pub bound: Option<String>,
}

impl TypeParam {
    /// The bounds a type parameter may name.
    pub const BOUNDS: [&'static str; 6] = [
        "any",
        "bytes_like",
        "num_like",
        "value",
        "hashable",
        "orderable",
    ];

    /// Whether the concrete type token `ty` satisfies the bound.
    pub fn admits(&self, ty: &str) -> bool {
        match self.bound.as_deref() {
            None | Some("any") => true,
            Some("bytes_like") => matches!(ty, "bytes" | "bytes_view"),
            Some("num_like") => matches!(ty, "i32" | "u32"),
            Some(_) => matches!(ty, "i32" | "u32" | "bytes" | "bytes_view"),
        }
    }
}

/// A `defn` with type parameters, kept as written until it is instantiated by a `tapp`.
#[derive(Debug, Clone, PartialEq)]
pub struct GenericDefn {
    /// Fully qualified name (`module.fn`).
    pub name: String,
    /// Its type parameters in order.
    pub type_params: Vec<TypeParam>,
    /// The decl object as written.
    pub decl: serde_json::Map<String, serde_json::Value>,
    /// Pointer of the decl object.
    pub ptr: Ptr,
}

/// An `extern` declaration: a C function the program may call inside `unsafe`.
#[derive(Debug, Clone, PartialEq)]
pub struct ExternDecl {
    /// Fully qualified x07 name (`module.fn`).
    pub name: String,
    /// The C symbol.
    pub link_name: String,
    /// Parameters (i32 or pointer types).
    pub params: Vec<Param>,
    /// Result type (`void` reads as i32 0).
    pub result: Ty,
    /// Whether the C function returns `void`.
    pub returns_void: bool,
    /// Pointer of the decl object.
    pub ptr: Ptr,
}

/// One parsed source file.
#[derive(Debug, Clone, PartialEq)]
pub struct SourceFile {
    /// Path shown in diagnostics.
    pub display_path: String,
    /// `x07.x07ast@0.X.0`.
    pub schema_version: String,
    /// Entry or module.
    pub kind: FileKind,
    /// The module id (`main` for entries).
    pub module_id: String,
    /// Imported module ids with the pointer of each.
    pub imports: Vec<(String, Ptr)>,
    /// Exported names with pointers; `None` when the file has no export decl.
    pub exports: Option<Vec<(String, Ptr)>>,
    /// Function definitions.
    pub defns: Vec<Defn>,
    /// C functions declared with `extern`.
    pub externs: Vec<ExternDecl>,
    /// Generic functions (instantiated on demand).
    pub generics: Vec<GenericDefn>,
    /// The entry's solve expression.
    pub solve: Option<Expr>,
}
