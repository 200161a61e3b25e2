//! The C runtime fragments embedded in x07 and their assembly.
//!
//! Each `builder/runtime/<name>.h` starts with `/* x07-fragment: requires=a,b */`. The emitter asks
//! for the fragments whose builtins a program uses; [`assemble`] adds what those require and
//! returns them as one C text, `core` first and every fragment after the ones it requires. The
//! `main_*` fragments are never part of that text: the emitter appends [`main_fragment`] after the
//! program's functions.

use std::collections::BTreeSet;
use std::sync::OnceLock;

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/embedded.rs"));
}

/// The header line every fragment starts with, up to its `requires` list.
const HEADER_PREFIX: &str = "/* x07-fragment: requires=";
const HEADER_SUFFIX: &str = " */";
/// An optional line naming the system libraries a fragment links (`-l` names, comma-separated),
/// e.g. `/* x07-fragment-libs: sqlite3 */`: a program gets them only when it uses the fragment.
const LIBS_PREFIX: &str = "/* x07-fragment-libs: ";
/// The fragment every program carries, always first.
pub const CORE_FRAGMENT: &str = "core";
/// Fragments with this prefix define `main` and are appended by the emitter itself.
const MAIN_PREFIX: &str = "main_";

/// One runtime fragment: a piece of C text and the fragments it builds on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fragment {
    /// The file stem, e.g. `os_fs`.
    pub name: &'static str,
    /// Names from the header's `requires=` list, in the order written.
    pub requires: Vec<&'static str>,
    /// System libraries the fragment's C calls (`-l` names), from its `x07-fragment-libs` line.
    pub libs: Vec<&'static str>,
    /// The whole file, header line included.
    pub source: &'static str,
}

impl Fragment {
    /// Whether this fragment defines `main` (and so is left out of [`assemble`]).
    pub fn is_main(&self) -> bool {
        self.name.starts_with(MAIN_PREFIX)
    }
}

/// Which `main` a binary gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MainKind {
    /// Framed stdin/stdout, the stats line on stderr (`x7 run`, `x7 build`).
    Framed,
    /// The trusted launcher `x07-launch` ([`crate::launcher`]).
    Launch,
}

impl MainKind {
    /// The fragment that implements this entry point.
    pub fn fragment_name(self) -> &'static str {
        match self {
            MainKind::Framed => "main_framed",
            MainKind::Launch => "main_launch",
        }
    }
}

/// Errors of runtime assembly.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RuntimeError {
    /// A requested (or required) fragment does not exist.
    #[error(
        "unknown runtime fragment `{name}`{}; known fragments: {known}",
        needed_by.as_ref().map(|n| format!(" (required by `{n}`)")).unwrap_or_default()
    )]
    UnknownFragment {
        /// The missing name.
        name: String,
        /// The fragment whose header names it, when it came from a header.
        needed_by: Option<&'static str>,
        /// Comma-separated list of the embedded fragments.
        known: String,
    },
    /// Fragment headers require each other in a circle.
    #[error("runtime fragments require each other in a cycle: {0}; fix the `requires=` headers in builder/runtime/")]
    Cycle(String),
}

/// Every embedded fragment, sorted by name.
pub fn fragments() -> &'static [Fragment] {
    static ALL: OnceLock<Vec<Fragment>> = OnceLock::new();
    ALL.get_or_init(|| {
        embedded::RUNTIME_FRAGMENTS
            .iter()
            .map(|&(name, source)| Fragment {
                name,
                requires: parse_requires(source),
                libs: parse_libs(source),
                source,
            })
            .collect()
    })
}

/// The `requires=` list of a fragment's first line. build.rs rejects fragments without a valid
/// header, so a missing header cannot reach here; it would read as "requires nothing".
fn parse_requires(source: &'static str) -> Vec<&'static str> {
    let first = source.lines().next().unwrap_or("");
    first
        .strip_prefix(HEADER_PREFIX)
        .and_then(|rest| rest.strip_suffix(HEADER_SUFFIX))
        .map(|list| {
            list.split(',')
                .map(str::trim)
                .filter(|r| !r.is_empty())
                .collect()
        })
        .unwrap_or_default()
}

/// The libraries of a fragment's `x07-fragment-libs` line (among its first lines), if any.
fn parse_libs(source: &'static str) -> Vec<&'static str> {
    source
        .lines()
        .take(4)
        .find_map(|l| l.strip_prefix(LIBS_PREFIX))
        .and_then(|rest| rest.strip_suffix(HEADER_SUFFIX))
        .map(|list| {
            list.split(',')
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .collect()
        })
        .unwrap_or_default()
}

/// The system libraries the fragments for `needed` link, in assembly order, each once.
pub fn link_libs(needed: &[&str]) -> Result<Vec<&'static str>, RuntimeError> {
    let mut out: Vec<&'static str> = Vec::new();
    for frag in assembly_order(needed)? {
        for lib in &frag.libs {
            if !out.contains(lib) {
                out.push(lib);
            }
        }
    }
    Ok(out)
}

/// The fragment called `name`.
pub fn fragment(name: &str) -> Option<&'static Fragment> {
    fragments().iter().find(|f| f.name == name)
}

/// The source of the `main` fragment for `kind`, to append after the program's functions.
pub fn main_fragment(kind: MainKind) -> &'static str {
    fragment(kind.fragment_name())
        .map(|f| f.source)
        .expect("build.rs embeds every fragment named by MainKind")
}

fn known_names() -> String {
    fragments()
        .iter()
        .map(|f| f.name)
        .collect::<Vec<_>>()
        .join(", ")
}

fn lookup(name: &str, needed_by: Option<&'static str>) -> Result<&'static Fragment, RuntimeError> {
    fragment(name).ok_or_else(|| RuntimeError::UnknownFragment {
        name: name.to_owned(),
        needed_by,
        known: known_names(),
    })
}

/// The fragments to emit for `needed`, in order: `core` first, each fragment after everything it
/// requires, ties broken by name. `main_*` fragments are left out but their requirements are kept.
pub fn assembly_order(needed: &[&str]) -> Result<Vec<&'static Fragment>, RuntimeError> {
    let mut roots: BTreeSet<&str> = needed.iter().copied().collect();
    roots.remove(CORE_FRAGMENT);
    let mut order = Vec::new();
    let mut done = BTreeSet::new();
    let mut path = Vec::new();
    visit(
        lookup(CORE_FRAGMENT, None)?,
        &mut order,
        &mut done,
        &mut path,
    )?;
    for name in roots {
        visit(lookup(name, None)?, &mut order, &mut done, &mut path)?;
    }
    Ok(order.into_iter().filter(|f| !f.is_main()).collect())
}

/// Depth-first, requirements before the fragment itself.
fn visit(
    frag: &'static Fragment,
    order: &mut Vec<&'static Fragment>,
    done: &mut BTreeSet<&'static str>,
    path: &mut Vec<&'static str>,
) -> Result<(), RuntimeError> {
    if done.contains(frag.name) {
        return Ok(());
    }
    if path.contains(&frag.name) {
        let mut chain = path.clone();
        chain.push(frag.name);
        return Err(RuntimeError::Cycle(chain.join(" -> ")));
    }
    path.push(frag.name);
    let mut requires = frag.requires.clone();
    requires.sort_unstable();
    for req in requires {
        visit(lookup(req, Some(frag.name))?, order, done, path)?;
    }
    path.pop();
    done.insert(frag.name);
    order.push(frag);
    Ok(())
}

/// One C text holding the fragments for `needed` (see [`assembly_order`]).
pub fn assemble(needed: &[&str]) -> Result<String, RuntimeError> {
    let order = assembly_order(needed)?;
    let mut out = String::with_capacity(order.iter().map(|f| f.source.len() + 1).sum());
    for frag in order {
        out.push_str(frag.source);
        if !frag.source.ends_with('\n') {
            out.push('\n');
        }
    }
    Ok(out)
}

/// `sha256:<hex>` over every embedded runtime fragment and stdlib module file.
pub fn embedded_digest() -> &'static str {
    embedded::EMBEDDED_DIGEST
}

/// The embedded standard library: (module id, x07AST JSON text), sorted by module id.
pub fn stdlib_sources() -> &'static [(&'static str, &'static str)] {
    embedded::STDLIB_MODULES
}
