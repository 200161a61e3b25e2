//! Embeds the C runtime fragments (`runtime/*.h`) and the standard library modules
//! (`stdlib/**/*.x07.json`) into the crate, with one digest over all of them.
//!
//! Output: `$OUT_DIR/embedded.rs` with `RUNTIME_FRAGMENTS`, `STDLIB_MODULES` and `EMBEDDED_DIGEST`.

use sha2::{Digest, Sha256};
use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};

/// The first line every fragment must start with, up to the comma-separated list.
const FRAGMENT_HEADER_PREFIX: &str = "/* x07-fragment: requires=";
const FRAGMENT_HEADER_SUFFIX: &str = " */";
const STDLIB_SUFFIX: &str = ".x07.json";

/// One embedded file: its path relative to the crate root (with `/`), absolute path and text.
struct EmbeddedFile {
    relative: String,
    absolute: PathBuf,
    text: String,
}

fn main() {
    let crate_dir =
        PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let out_dir = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    let runtime_dir = crate_dir.join("runtime");
    let stdlib_dir = crate_dir.join("stdlib");
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed={}", runtime_dir.display());
    println!("cargo:rerun-if-changed={}", stdlib_dir.display());

    let fragments = collect_fragments(&crate_dir, &runtime_dir);
    let modules = collect_stdlib(&crate_dir, &stdlib_dir);
    for file in fragments.iter().chain(modules.iter()) {
        println!("cargo:rerun-if-changed={}", file.absolute.display());
    }
    check_fragment_headers(&fragments);

    let mut all: Vec<&EmbeddedFile> = fragments.iter().chain(modules.iter()).collect();
    all.sort_by(|a, b| a.relative.as_bytes().cmp(b.relative.as_bytes()));
    let digest = digest_files(&all);

    let mut out = String::new();
    out.push_str("/// C runtime fragments: (name, source text), sorted by name.\n");
    out.push_str("pub static RUNTIME_FRAGMENTS: &[(&str, &str)] = &[\n");
    for file in &fragments {
        let name = fragment_name(file);
        writeln!(
            out,
            "    ({name:?}, include_str!({:?})),",
            path_str(&file.absolute)
        )
        .unwrap();
    }
    out.push_str(
        "];\n\n/// Standard library modules: (module id, x07AST JSON text), sorted by module id.\n",
    );
    out.push_str("pub static STDLIB_MODULES: &[(&str, &str)] = &[\n");
    let mut ids: Vec<(String, &EmbeddedFile)> = modules.iter().map(|m| (module_id(m), m)).collect();
    ids.sort_by(|a, b| a.0.cmp(&b.0));
    for (id, file) in ids {
        writeln!(
            out,
            "    ({id:?}, include_str!({:?})),",
            path_str(&file.absolute)
        )
        .unwrap();
    }
    out.push_str(
        "];\n\n/// sha256 over every embedded file (see docs/internals/runtime-abi.md).\n",
    );
    writeln!(
        out,
        "pub static EMBEDDED_DIGEST: &str = {:?};",
        format!("sha256:{digest}")
    )
    .unwrap();

    let target = out_dir.join("embedded.rs");
    fs::write(&target, out).unwrap_or_else(|e| panic!("cannot write {}: {e}", target.display()));
}

fn path_str(path: &Path) -> &str {
    path.to_str()
        .unwrap_or_else(|| panic!("embedded file path is not UTF-8: {}", path.display()))
}

fn read_file(crate_dir: &Path, absolute: PathBuf) -> EmbeddedFile {
    let text = fs::read_to_string(&absolute).unwrap_or_else(|e| {
        panic!(
            "cannot read {} (must be UTF-8 text): {e}",
            absolute.display()
        )
    });
    let relative = absolute
        .strip_prefix(crate_dir)
        .expect("embedded files live below the crate directory")
        .components()
        .map(|c| path_str(Path::new(c.as_os_str())).to_owned())
        .collect::<Vec<_>>()
        .join("/");
    EmbeddedFile {
        relative,
        absolute,
        text,
    }
}

/// `runtime/*.h`, sorted by file name.
fn collect_fragments(crate_dir: &Path, runtime_dir: &Path) -> Vec<EmbeddedFile> {
    let entries = fs::read_dir(runtime_dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", runtime_dir.display()));
    let mut paths: Vec<PathBuf> = entries
        .map(|e| {
            e.unwrap_or_else(|e| panic!("cannot list {}: {e}", runtime_dir.display()))
                .path()
        })
        .filter(|p| p.is_file() && p.extension().is_some_and(|x| x == "h"))
        .collect();
    paths.sort();
    paths.into_iter().map(|p| read_file(crate_dir, p)).collect()
}

/// `stdlib/**/*.x07.json`; a missing folder means no modules yet.
fn collect_stdlib(crate_dir: &Path, stdlib_dir: &Path) -> Vec<EmbeddedFile> {
    let mut found = Vec::new();
    if stdlib_dir.is_dir() {
        walk(stdlib_dir, &mut found);
    }
    found.sort();
    found.into_iter().map(|p| read_file(crate_dir, p)).collect()
}

fn walk(dir: &Path, found: &mut Vec<PathBuf>) {
    let entries =
        fs::read_dir(dir).unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()));
    for entry in entries {
        let path = entry
            .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
            .path();
        if path.is_dir() {
            walk(&path, found);
        } else if path_str(&path).ends_with(STDLIB_SUFFIX) {
            found.push(path);
        }
    }
}

fn fragment_name(file: &EmbeddedFile) -> &str {
    let name = file.relative.trim_start_matches("runtime/");
    name.strip_suffix(".h").unwrap_or(name)
}

/// `stdlib/a/b/c.x07.json` is module `a.b.c`.
fn module_id(file: &EmbeddedFile) -> String {
    let rel = file.relative.trim_start_matches("stdlib/");
    rel.strip_suffix(STDLIB_SUFFIX)
        .unwrap_or(rel)
        .replace('/', ".")
}

/// Fails the build when a fragment lacks its header or requires an unknown fragment.
fn check_fragment_headers(fragments: &[EmbeddedFile]) {
    let names: BTreeSet<&str> = fragments.iter().map(fragment_name).collect();
    for file in fragments {
        let first = file.text.lines().next().unwrap_or("");
        let list = first
            .strip_prefix(FRAGMENT_HEADER_PREFIX)
            .and_then(|rest| rest.strip_suffix(FRAGMENT_HEADER_SUFFIX))
            .unwrap_or_else(|| {
                panic!(
                    "{}: the first line must be `{FRAGMENT_HEADER_PREFIX}<comma list>{FRAGMENT_HEADER_SUFFIX}`",
                    file.absolute.display()
                )
            });
        for req in list.split(',').map(str::trim).filter(|r| !r.is_empty()) {
            assert!(
                names.contains(req),
                "{}: requires unknown fragment `{req}` (known: {names:?})",
                file.absolute.display()
            );
        }
    }
}

/// For each file in order: path bytes, a NUL, the content length as u64 little-endian, content.
fn digest_files(files: &[&EmbeddedFile]) -> String {
    let mut hasher = Sha256::new();
    for file in files {
        hasher.update(file.relative.as_bytes());
        hasher.update([0u8]);
        hasher.update((file.text.len() as u64).to_le_bytes());
        hasher.update(file.text.as_bytes());
    }
    hex::encode(hasher.finalize())
}
