//! `x07 build [--json] [--check]`.

use std::path::{Path, PathBuf};

use serde_json::json;
use x07_builder::build::{BuildOutcome, Built, SubstitutionNote};
use x07_builder::cc::X07Home;
use x07_builder::frontend::resolve::{load_program, ModuleOrigin, ModuleRoots};
use x07_builder::frontend::LoadedProgram;
use x07_builder::store::StoreRoot;

use crate::args::{BuildArgs, RepairMode};
use crate::compile;
use crate::error::{CliError, CliResult};
use crate::target::{self, Target};

/// Runs `x07 build`.
pub fn run(args: &BuildArgs) -> CliResult {
    let target = target::resolve(&args.target)?;
    compile::require_supported_world(&target)?;
    compile::configure_substituters(&args.cache)?;
    let (loaded, _) = compile::load_and_repair(&target, RepairMode::Off)?;
    let cc_profile = target.cc_profile(crate::target::cc_profile_flag(args.cc_profile));
    let outcome = match loaded {
        Ok(program) => compile::build_target(&target, &program, cc_profile)?.map_program(program),
        Err(d) => Err(d),
    };
    let (built, program) = match outcome {
        Ok(x) => x,
        Err(diags) => {
            compile::print_diagnostics(&diags);
            if args.json {
                let report = json!({"schema_version": BUILD_REPORT_SCHEMA, "ok": false,
                    "diagnostics": compile::report_diagnostics(&diags)});
                print_json(&report)?;
            }
            return Ok(1);
        }
    };
    let record = built.entry.build_record()?;
    let check = if args.check {
        Some(check_reproducible(
            &target,
            &program,
            cc_profile,
            &record.output.sha256,
        )?)
    } else {
        None
    };
    if args.json {
        let mut report = json!({
            "schema_version": BUILD_REPORT_SCHEMA, "ok": check.as_ref().is_none_or(|c| c.identical),
            "store_path": built.entry.dir.display().to_string(), "binary": built.entry.binary_path().display().to_string(),
            "derivation_hash": built.hash.as_str(), "cache_hit": built.cache_hit,
            "output_sha256": record.output.sha256.to_string(), "output_size": record.output.size,
            "c_source_size": record.c_source_size, "diagnostics": [],
            "substitution": substitution_json(built.substitution.as_ref()),
        });
        if let Some(c) = &check {
            report["check"] = json!({"identical": c.identical, "scratch_sha256": c.sha256.to_string(), "scratch_store_path": c.scratch_path});
        }
        print_json(&report)?;
    } else {
        if let Some(c) = &check {
            eprintln!(
                "x07 build --check: rebuilt from a copy in {} into a scratch store: {}",
                c.scratch_path,
                if c.identical {
                    "identical"
                } else {
                    "DIFFERENT"
                }
            );
        }
        println!("{}", built.entry.dir.display());
    }
    match check {
        Some(c) if !c.identical => Err(CliError::failure(
            "X07-STORE-0002",
            format!("the rebuild is not byte-for-byte identical: {} vs {}", record.output.sha256, c.sha256),
        )
        .help("the build depends on something outside its inputs; please report it with both binaries")),
        _ => Ok(0),
    }
}

/// `schema_version` of `x07 build --json` (0.2.0 added `substitution`).
const BUILD_REPORT_SCHEMA: &str = "x07.build.report@0.2.0";

/// What the substituters did: `null` (none configured, or a store hit),
/// `{"from", "compiler"}` when the entry came from a cache, `{"failures": [...]}` when none could be used.
fn substitution_json(note: Option<&SubstitutionNote>) -> serde_json::Value {
    match note {
        None => serde_json::Value::Null,
        Some(SubstitutionNote::Fetched { from, compiler }) => {
            json!({"from": from, "compiler": compiler})
        }
        Some(SubstitutionNote::Missed(reasons)) => json!({"failures": reasons}),
    }
}

trait MapProgram {
    fn map_program(
        self,
        p: LoadedProgram,
    ) -> Result<(Built, LoadedProgram), Vec<x07_builder::frontend::Diagnostic>>;
}

impl MapProgram for BuildOutcome {
    fn map_program(
        self,
        p: LoadedProgram,
    ) -> Result<(Built, LoadedProgram), Vec<x07_builder::frontend::Diagnostic>> {
        match self {
            BuildOutcome::Built(b) => Ok((b, p)),
            BuildOutcome::Rejected(d) => Err(d),
        }
    }
}

fn print_json(v: &serde_json::Value) -> Result<(), CliError> {
    let bytes = x07_spec::canonical_file_bytes(v)
        .map_err(|e| CliError::setup("X07-CLI-0001", e.to_string()))?;
    print!("{}", String::from_utf8_lossy(&bytes));
    Ok(())
}

struct CheckResult {
    identical: bool,
    sha256: x07_spec::Sha256Digest,
    scratch_path: String,
}

/// Copies the program's own modules to a fresh directory, builds them into a fresh store with a
/// fresh home (no caches), and compares the binary digests.
fn check_reproducible(
    target: &Target,
    program: &LoadedProgram,
    cc_profile: x07_spec::CcProfile,
    expected: &x07_spec::Sha256Digest,
) -> Result<CheckResult, CliError> {
    let scratch = tempfile::Builder::new()
        .prefix("x07-build-check-")
        .tempdir()
        .map_err(|e| {
            CliError::setup(
                "X07-STORE-0001",
                format!("cannot create a scratch directory: {e}"),
            )
        })?;
    let src = scratch.path().join("src");
    let io = |p: &Path, e: std::io::Error| {
        CliError::setup(
            "X07-STORE-0001",
            format!("cannot copy {} for --check: {e}", p.display()),
        )
    };
    let entry = src
        .join("entry")
        .join(target.entry.file_name().unwrap_or_default());
    let mut roots = ModuleRoots::new();
    let mut root_dirs: Vec<(PathBuf, PathBuf)> = Vec::new();
    for (i, dir) in target.roots.dirs().enumerate() {
        let copy = src.join(format!("root{i}"));
        roots.push(copy.clone(), format!("root{i}"));
        root_dirs.push((dir.to_path_buf(), copy));
    }
    for m in program.all() {
        let (Some(path), bytes) = (&m.fs_path, &m.raw) else {
            continue;
        };
        let dest = match &m.origin {
            ModuleOrigin::Entry => entry.clone(),
            ModuleOrigin::Root(dir) => {
                let rel = path.strip_prefix(dir).unwrap_or(path);
                let copy = root_dirs
                    .iter()
                    .find(|(d, _)| d == dir)
                    .map(|(_, c)| c.clone())
                    .unwrap_or_else(|| src.join("root0"));
                copy.join(rel)
            }
            ModuleOrigin::Stdlib => continue,
        };
        fs_err::create_dir_all(dest.parent().expect("has a parent")).map_err(|e| io(&dest, e))?;
        fs_err::write(&dest, bytes).map_err(|e| io(&dest, e))?;
    }
    let copied = load_program(&entry, &target.entry_display, &roots).map_err(|d| {
        CliError::setup(
            "X07-STORE-0001",
            format!(
                "the copied program does not load: {}",
                d.first().map(|d| d.message.clone()).unwrap_or_default()
            ),
        )
    })?;
    let home = X07Home::new(scratch.path().join("home"))
        .map_err(|e| CliError::setup("X07-STORE-0001", e.to_string()))?;
    let store = StoreRoot::new(&home);
    let built = match compile::build_into(&home, &store, target, &copied, cc_profile)? {
        BuildOutcome::Built(b) => b,
        BuildOutcome::Rejected(_) => {
            return Err(CliError::setup(
                "X07-STORE-0001",
                "the copied program did not compile",
            ))
        }
    };
    let record = built.entry.build_record()?;
    Ok(CheckResult {
        identical: &record.output.sha256 == expected,
        sha256: record.output.sha256,
        scratch_path: scratch.path().display().to_string(),
    })
}
