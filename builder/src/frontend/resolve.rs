//! Loads a program's module graph: the entry file, then every import from the embedded standard
//! library or the module roots; rejects unknown modules, id/path mismatches and import cycles.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value;
use x07_spec::Sha256Digest;

use super::ast::{FileKind, SourceFile};
use super::diag::{codes, Diagnostic};
use super::parse::{parse_file, parse_json};

/// An ordered list of directories searched for `a/b/c.x07.json` (after the embedded stdlib).
#[derive(Debug, Clone, Default)]
pub struct ModuleRoots {
    roots: Vec<(PathBuf, String)>,
}

impl ModuleRoots {
    /// An empty list.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends a root; `display` is how paths under it are shown in diagnostics.
    pub fn push(&mut self, dir: PathBuf, display: impl Into<String>) {
        if !self.roots.iter().any(|(d, _)| d == &dir) {
            self.roots.push((dir, display.into()));
        }
    }

    /// The roots in search order.
    pub fn dirs(&self) -> impl Iterator<Item = &Path> {
        self.roots.iter().map(|(d, _)| d.as_path())
    }
}

/// Where a module came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModuleOrigin {
    /// The program's entry file.
    Entry,
    /// Embedded in x07 (`builder/stdlib`).
    Stdlib,
    /// A file under a module root.
    Root(PathBuf),
}

/// One loaded module: its bytes, parsed JSON, canonical digest and AST.
#[derive(Debug, Clone)]
pub struct ModuleSource {
    /// Where it came from.
    pub origin: ModuleOrigin,
    /// The file on disk, for entry and root modules.
    pub fs_path: Option<PathBuf>,
    /// The exact bytes read.
    pub raw: Vec<u8>,
    /// The parsed JSON.
    pub value: Value,
    /// sha256 of the canonical JSON (JCS) of the file: formatting does not change it.
    pub digest: Sha256Digest,
    /// The parsed file.
    pub file: SourceFile,
}

impl ModuleSource {
    /// The canonical form of the file: JCS bytes plus one final newline.
    pub fn canonical_file_bytes(&self) -> Vec<u8> {
        x07_spec::canonical_file_bytes(&self.value).expect("a parsed JSON value always serializes")
    }
}

/// A program whose module graph is complete and acyclic.
#[derive(Debug, Clone)]
pub struct LoadedProgram {
    /// The entry module.
    pub entry: ModuleSource,
    /// Every imported module by id, transitively.
    pub modules: BTreeMap<String, ModuleSource>,
    /// The budget profiles its `budget.scope_from_arch_v1` scopes name.
    pub budgets: crate::budget::BudgetProfiles,
    /// The record/replay policies its `std.rr.with_policy_v1` scopes name.
    pub rr: crate::rr::RrPolicies,
}

impl LoadedProgram {
    /// The entry and every module, entry first then by id.
    pub fn all(&self) -> impl Iterator<Item = &ModuleSource> {
        std::iter::once(&self.entry).chain(self.modules.values())
    }

    /// Whether any module uses an `unsafe` block (pointer builtins or extern calls live there).
    pub fn uses_unsafe(&self) -> bool {
        fn walk(e: &super::ast::Expr) -> bool {
            match e {
                super::ast::Expr::List { head, args, .. } => {
                    head == "unsafe" || args.iter().any(walk)
                }
                _ => false,
            }
        }
        self.all().any(|m| {
            m.file
                .solve
                .iter()
                .chain(m.file.defns.iter().map(|d| &d.body))
                .any(walk)
        })
    }

    /// Whether any module declares an `extern` C function.
    pub fn uses_ffi(&self) -> bool {
        self.all().any(|m| !m.file.externs.is_empty())
    }

    /// Module id → canonical digest, for every module (entry as `main`).
    pub fn module_digests(&self) -> BTreeMap<String, Sha256Digest> {
        self.all()
            .map(|m| (m.file.module_id.clone(), m.digest))
            .collect()
    }
}

/// The relative path of a module: `a.b.c` → `a/b/c.x07.json`.
pub fn module_rel_path(id: &str) -> String {
    format!("{}.x07.json", id.replace('.', "/"))
}

/// An embedded standard-library module by id (modules a generic instance needs are added this
/// way), or `None` when there is no such module.
pub(crate) fn load_stdlib_module(id: &str) -> Option<Result<ModuleSource, Vec<Diagnostic>>> {
    let text = crate::stdlib::lookup(id)?;
    let display = format!("<stdlib>/{}", module_rel_path(id));
    Some(load_source(
        ModuleOrigin::Stdlib,
        None,
        &display,
        text.as_bytes().to_vec(),
    ))
}

fn load_source(
    origin: ModuleOrigin,
    fs_path: Option<PathBuf>,
    display: &str,
    raw: Vec<u8>,
) -> Result<ModuleSource, Vec<Diagnostic>> {
    let value = parse_json(display, &raw).map_err(|d| vec![*d])?;
    let file = parse_file(display, &value)?;
    let canonical =
        x07_spec::to_canonical_vec(&value).expect("a parsed JSON value always serializes");
    Ok(ModuleSource {
        origin,
        fs_path,
        digest: Sha256Digest::of(&canonical),
        raw,
        value,
        file,
    })
}

/// Loads the entry file at `entry_path` (shown as `entry_display`) and its whole import graph.
pub fn load_program(
    entry_path: &Path,
    entry_display: &str,
    roots: &ModuleRoots,
) -> Result<LoadedProgram, Vec<Diagnostic>> {
    let raw = fs_err::read(entry_path).map_err(|e| {
        vec![Diagnostic {
            code: codes::MOD_UNKNOWN,
            message: format!("cannot read the entry file: {e}"),
            file: Some(entry_display.to_string()),
            ptr: None,
            line: None,
            column: None,
            help: Some("check the path given to --program or the `entry` field of x07.json".into()),
        }]
    })?;
    load_program_from_bytes(entry_path, entry_display, raw, roots)
}

/// Like [`load_program`], with the entry's bytes already in memory.
pub fn load_program_from_bytes(
    entry_path: &Path,
    entry_display: &str,
    raw: Vec<u8>,
    roots: &ModuleRoots,
) -> Result<LoadedProgram, Vec<Diagnostic>> {
    let entry = load_source(
        ModuleOrigin::Entry,
        Some(entry_path.to_path_buf()),
        entry_display,
        raw,
    )?;
    if entry.file.kind != FileKind::Entry {
        return Err(vec![Diagnostic::new(
            codes::SCHEMA_KIND,
            entry_display,
            "/kind",
            "the program's entry file must have kind \"entry\"",
        )
        .with_help(
            "point --program (or x07.json `entry`) at the file whose module_id is \"main\"",
        )]);
    }
    let mut loader = Loader {
        roots,
        modules: BTreeMap::new(),
        diags: Vec::new(),
    };
    let mut queue: Vec<(String, String, String)> = entry
        .file
        .imports
        .iter()
        .map(|(id, ptr)| (id.clone(), entry_display.to_string(), ptr.clone()))
        .collect();
    while let Some((id, from_file, from_ptr)) = queue.pop() {
        if loader.modules.contains_key(&id) {
            continue;
        }
        if id == "main" {
            loader.diags.push(Diagnostic::new(
                codes::MOD_CYCLE,
                &from_file,
                &from_ptr,
                "module `main` (the entry) cannot be imported",
            ));
            continue;
        }
        if let Some(m) = loader.load(&id, &from_file, &from_ptr) {
            for (dep, ptr) in &m.file.imports {
                if dep == &id {
                    loader.diags.push(Diagnostic::new(
                        codes::MOD_IMPORT_DUP,
                        &m.file.display_path,
                        ptr,
                        format!("module `{id}` imports itself"),
                    ));
                } else {
                    queue.push((dep.clone(), m.file.display_path.clone(), ptr.clone()));
                }
            }
            loader.modules.insert(id, m);
        }
    }
    let Loader {
        modules, mut diags, ..
    } = loader;
    if diags.is_empty() {
        if let Some(d) = find_cycle(&modules) {
            diags.push(d);
        }
    }
    if diags.is_empty() {
        // profiles come from the consumer's arch/ above the entry (for a test: its manifest)
        let from = entry_path.parent().unwrap_or(Path::new("."));
        let from = fs_err::canonicalize(from).unwrap_or_else(|_| from.to_path_buf());
        let budgets =
            crate::budget::load_profiles(std::iter::once(&entry).chain(modules.values()), &from);
        let rr = crate::rr::load_policies(std::iter::once(&entry).chain(modules.values()), &from);
        Ok(LoadedProgram {
            entry,
            modules,
            budgets,
            rr,
        })
    } else {
        Err(diags)
    }
}

struct Loader<'a> {
    roots: &'a ModuleRoots,
    modules: BTreeMap<String, ModuleSource>,
    diags: Vec<Diagnostic>,
}

impl Loader<'_> {
    fn load(&mut self, id: &str, from_file: &str, from_ptr: &str) -> Option<ModuleSource> {
        let rel = module_rel_path(id);
        // a module root's file comes first: a package that provides a `std.*` module the
        // toolchain also embeds (the public ext-fs provides std.os.fs) is used for that program
        let from_roots = self.roots.roots.iter().find_map(|(dir, display)| {
            let path = dir.join(&rel);
            let raw = fs_err::read(&path).ok()?;
            let shown = if display.is_empty() {
                rel.clone()
            } else {
                format!("{}/{rel}", display.trim_end_matches('/'))
            };
            Some(load_source(
                ModuleOrigin::Root(dir.clone()),
                Some(path),
                &shown,
                raw,
            ))
        });
        let found = from_roots.or_else(|| {
            crate::stdlib::lookup(id).map(|text| {
                let display = format!("<stdlib>/{rel}");
                load_source(
                    ModuleOrigin::Stdlib,
                    None,
                    &display,
                    text.as_bytes().to_vec(),
                )
            })
        });
        match found {
            None => {
                let searched: Vec<String> = self
                    .roots
                    .roots
                    .iter()
                    .map(|(_, d)| {
                        if d.is_empty() {
                            rel.clone()
                        } else {
                            format!("{}/{rel}", d.trim_end_matches('/'))
                        }
                    })
                    .collect();
                self.diags.push(
                    Diagnostic::new(
                        codes::MOD_UNKNOWN,
                        from_file,
                        from_ptr,
                        format!("unknown module: \"{id}\" (searched: {})", if searched.is_empty() { "no module roots".into() } else { searched.join(", ") }),
                    )
                    .with_help(format!("create {rel} under a module root (or pass --module-root), or add the package that provides `{id}`")),
                );
                None
            }
            Some(Err(ds)) => {
                self.diags.extend(ds);
                None
            }
            Some(Ok(m)) => {
                if m.file.kind != FileKind::Module || m.file.module_id != id {
                    self.diags.push(Diagnostic::new(
                        codes::MOD_ID_MISMATCH,
                        &m.file.display_path,
                        "/module_id",
                        format!("this file is loaded as module `{id}` but declares kind \"{}\" with module_id \"{}\"",
                            if m.file.kind == FileKind::Entry { "entry" } else { "module" }, m.file.module_id),
                    ));
                    return None;
                }
                Some(m)
            }
        }
    }
}

/// Finds one import cycle among the loaded modules (deterministically: smallest ids first).
fn find_cycle(modules: &BTreeMap<String, ModuleSource>) -> Option<Diagnostic> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        Active,
        Done,
    }
    fn visit<'a>(
        id: &'a str,
        modules: &'a BTreeMap<String, ModuleSource>,
        marks: &mut BTreeMap<&'a str, Mark>,
        stack: &mut Vec<&'a str>,
    ) -> Option<Diagnostic> {
        marks.insert(id, Mark::Active);
        stack.push(id);
        let m = &modules[id];
        for (dep, ptr) in &m.file.imports {
            let Some((dep_key, _)) = modules.get_key_value(dep.as_str()) else {
                continue;
            };
            match marks.get(dep_key.as_str()) {
                Some(Mark::Active) => {
                    let start = stack
                        .iter()
                        .position(|s| *s == dep_key.as_str())
                        .unwrap_or(0);
                    let mut cycle: Vec<&str> = stack[start..].to_vec();
                    cycle.push(dep_key);
                    return Some(
                        Diagnostic::new(
                            codes::MOD_CYCLE,
                            &m.file.display_path,
                            ptr,
                            format!("import cycle: {}", cycle.join(" -> ")),
                        )
                        .with_help("move the shared functions into a module that both can import"),
                    );
                }
                Some(Mark::Done) => {}
                None => {
                    if let Some(d) = visit(dep_key, modules, marks, stack) {
                        return Some(d);
                    }
                }
            }
        }
        stack.pop();
        marks.insert(id, Mark::Done);
        None
    }
    let mut marks = BTreeMap::new();
    for id in modules.keys() {
        if !marks.contains_key(id.as_str()) {
            if let Some(d) = visit(id, modules, &mut marks, &mut Vec::new()) {
                return Some(d);
            }
        }
    }
    None
}
