//! `x07 fmt [--check] [PATHS]`: canonical form is the JCS bytes plus one final newline.

use std::path::{Path, PathBuf};

use x07_spec::WriteOutcome;

use crate::args::FmtArgs;
use crate::error::{CliError, CliResult};
use crate::target::{self, discover_manifest};

fn collect(path: &Path, out: &mut Vec<PathBuf>) -> Result<(), CliError> {
    if path.is_dir() {
        let mut entries: Vec<PathBuf> = fs_err::read_dir(path)
            .map_err(|e| CliError::setup("X07-CLI-0001", e.to_string()))?
            .flatten()
            .map(|e| e.path())
            .collect();
        entries.sort();
        for p in entries {
            let hidden = p
                .file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with('.'));
            if p.is_dir() && !hidden {
                collect(&p, out)?;
            } else if p.to_str().is_some_and(|s| s.ends_with(".x07.json")) {
                out.push(p);
            }
        }
        Ok(())
    } else if path.exists() {
        out.push(path.to_path_buf());
        Ok(())
    } else {
        Err(CliError::setup(
            "X07-CLI-0001",
            format!("{}: no such file or directory", path.display()),
        ))
    }
}

/// Runs `x07 fmt`.
pub fn run(args: &FmtArgs) -> CliResult {
    let mut files = Vec::new();
    if args.paths.is_empty() {
        let cwd = std::env::current_dir()
            .map_err(|e| CliError::setup("X07-PROJECT-0001", e.to_string()))?;
        let manifest_path = discover_manifest(&cwd).ok_or_else(|| {
            CliError::setup(
                "X07-PROJECT-0001",
                format!(
                    "no x07.json found in {} or any parent directory",
                    cwd.display()
                ),
            )
            .help("pass the files or directories to format")
        })?;
        let manifest =
            x07_spec::ProjectManifest::load(&manifest_path).map_err(target::manifest_error)?;
        let root = manifest_path.parent().unwrap_or(Path::new("."));
        collect(&root.join(manifest.entry.as_str()), &mut files)?;
        for r in &manifest.module_roots {
            collect(&root.join(r.as_str()), &mut files)?;
        }
        files.sort();
        files.dedup();
    } else {
        for p in &args.paths {
            collect(p, &mut files)?;
        }
    }
    let (mut changed, mut bad) = (Vec::new(), 0);
    let mut malformed: Vec<String> = Vec::new();
    for f in &files {
        let raw = fs_err::read(f).map_err(|e| CliError::setup("X07-CLI-0001", e.to_string()))?;
        let value: serde_json::Value = match serde_json::from_slice(&raw) {
            Ok(v) => v,
            Err(e) => {
                eprintln!(
                    "error[X07-JSON-0001]: malformed JSON: {e}\n  --> {}:{}:{}",
                    f.display(),
                    e.line(),
                    e.column()
                );
                bad += 1;
                malformed.push(f.display().to_string());
                continue;
            }
        };
        let canonical = x07_spec::canonical_file_bytes(&value)
            .map_err(|e| CliError::setup("X07-CLI-0001", e.to_string()))?;
        if canonical == raw {
            continue;
        }
        if args.check {
            eprintln!(
                "error[X07-FMT-0001]: {} is not in canonical form",
                f.display()
            );
            changed.push(f);
        } else {
            match x07_spec::write_if_changed(f, &canonical) {
                Ok(WriteOutcome::Unchanged) => {}
                Ok(_) => changed.push(f),
                Err(e) => {
                    return Err(CliError::setup(
                        "X07-FMT-0001",
                        format!("cannot write {}: {e}", f.display()),
                    ))
                }
            }
        }
    }
    if args.json {
        let changed: Vec<String> = changed.iter().map(|f| f.display().to_string()).collect();
        println!(
            "{}",
            serde_json::json!({"files": files.len(), "check": args.check, "changed": changed, "malformed": malformed})
        );
    } else if args.check {
        if !changed.is_empty() {
            eprintln!("  help: run `x07 fmt` to rewrite {} file(s)", changed.len());
        }
    } else {
        for f in &changed {
            println!("formatted {}", f.display());
        }
    }
    Ok(if bad > 0 {
        2
    } else if args.check && !changed.is_empty() {
        1
    } else {
        0
    })
}
