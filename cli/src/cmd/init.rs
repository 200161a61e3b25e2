//! `x07 init [DIR]`: a new project whose programs echo their input.

use std::path::{Path, PathBuf};

use serde_json::json;
use x07_lock::Lock;
use x07_spec::{canonical_file_bytes, ProjectManifest};

use crate::args::InitArgs;
use crate::error::{CliError, CliResult};

/// Lines `x07 init` makes sure `.gitignore` has.
const GITIGNORE_LINES: &[&str] = &[
    ".x07/deps/",
    ".x07/pkg.lock",
    ".x07/tmp/",
    ".x07/cache/",
    ".x07/repair/",
    ".x07/policies/_generated/",
    "target/",
    "dist/",
];

fn entry_file() -> serde_json::Value {
    json!({
        "schema_version": "x07.x07ast@0.5.0",
        "kind": "entry",
        "module_id": "main",
        "imports": ["app"],
        "decls": [],
        "solve": ["app.solve", "input"]
    })
}

fn app_module() -> serde_json::Value {
    json!({
        "schema_version": "x07.x07ast@0.5.0",
        "kind": "module",
        "module_id": "app",
        "imports": [],
        "decls": [
            {"kind": "export", "names": ["app.solve"]},
            {"kind": "defn", "name": "app.solve", "params": [{"name": "b", "ty": "bytes_view"}], "result": "bytes",
             "body": ["view.to_bytes", "b"]}
        ]
    })
}

fn io_err(path: &Path, e: impl std::fmt::Display) -> CliError {
    CliError::setup(
        "X07-INIT-0001",
        format!("cannot write {}: {e}", path.display()),
    )
}

/// Runs `x07 init`.
pub fn run(args: &InitArgs) -> CliResult {
    let dir = args.dir.clone().unwrap_or_else(|| PathBuf::from("."));
    let internal = |e: x07_spec::CanonicalError| CliError::setup("X07-INIT-0001", e.to_string());
    let files: Vec<(PathBuf, Vec<u8>)> = vec![
        (
            dir.join("x07.json"),
            ProjectManifest::new_init()
                .to_file_bytes()
                .map_err(internal)?,
        ),
        (
            dir.join("x07.lock.json"),
            Lock::empty().to_file_bytes().map_err(internal)?,
        ),
        (
            dir.join("src/main.x07.json"),
            canonical_file_bytes(&entry_file()).map_err(internal)?,
        ),
        (
            dir.join("src/app.x07.json"),
            canonical_file_bytes(&app_module()).map_err(internal)?,
        ),
    ];
    let existing: Vec<String> = files
        .iter()
        .filter(|(p, _)| p.exists())
        .map(|(p, _)| p.display().to_string())
        .collect();
    if !existing.is_empty() {
        return Err(CliError::setup(
            "X07-INIT-0001",
            format!(
                "refusing to overwrite existing files: {}",
                existing.join(", ")
            ),
        )
        .help("run x07 init in an empty directory, or pass a new DIR"));
    }
    fs_err::create_dir_all(dir.join("src")).map_err(|e| io_err(&dir, e))?;
    for (path, bytes) in &files {
        x07_spec::write_atomic(path, bytes).map_err(|e| io_err(path, e))?;
    }
    let gitignore = dir.join(".gitignore");
    let current = fs_err::read_to_string(&gitignore).unwrap_or_default();
    let missing: Vec<&str> = GITIGNORE_LINES
        .iter()
        .copied()
        .filter(|l| !current.lines().any(|c| c.trim() == *l))
        .collect();
    if !missing.is_empty() {
        let mut text = current.clone();
        if !text.is_empty() && !text.ends_with('\n') {
            text.push('\n');
        }
        for l in missing {
            text.push_str(l);
            text.push('\n');
        }
        x07_spec::write_atomic(&gitignore, text.as_bytes()).map_err(|e| io_err(&gitignore, e))?;
    }
    println!("created x07 project in {}", dir.display());
    println!("  x07.json, x07.lock.json, src/main.x07.json, src/app.x07.json, .gitignore");
    println!("next: printf hello > /tmp/in.bin && x07 run --input /tmp/in.bin");
    Ok(0)
}
