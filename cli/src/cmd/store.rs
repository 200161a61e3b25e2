//! `x07 store path|ls|verify|gc` (push, sign and verify --cache: `store_cache`).

use serde_json::json;
use x07_builder::build::derivation_inputs;
use x07_builder::cc::CcIdentity;
use x07_builder::store::StoreRoot;

use crate::args::{RepairMode, StoreCommand, StorePathArgs};
use crate::compile;
use crate::error::{CliError, CliResult};
use crate::target;

/// Runs `x07 store ...`.
pub fn run(cmd: &StoreCommand) -> CliResult {
    let home = compile::home()?;
    let store = StoreRoot::new(&home);
    match cmd {
        StoreCommand::Path(args) => path(args),
        StoreCommand::Ls { json } => {
            let entries = store.ls()?;
            if *json {
                let items: Vec<_> = entries
                    .iter()
                    .map(|e| {
                        let size = e.build_record().map(|r| r.output.size).ok();
                        json!({"path": e.dir.display().to_string(), "name": e.name.as_str(), "hash": e.hash.as_str(), "size": size})
                    })
                    .collect();
                println!(
                    "{}",
                    serde_json::to_string(&json!({"entries": items})).unwrap_or_default()
                );
            } else {
                for e in &entries {
                    println!("{}", e.dir.display());
                }
            }
            Ok(0)
        }
        StoreCommand::Push(args) => crate::cmd::store_cache::push(args),
        StoreCommand::Sign(args) => crate::cmd::store_cache::sign(args),
        StoreCommand::Verify {
            json,
            cache: Some(url),
            trusted_keys,
        } => crate::cmd::store_cache::verify_cache(url, trusted_keys, *json),
        StoreCommand::Verify { json, .. } => {
            let problems = store.verify()?;
            for p in &problems {
                eprintln!("error[X07-STORE-0002]: {}: {}", p.entry.display(), p.kind);
            }
            if *json {
                let items: Vec<_> = problems
                    .iter()
                    .map(|p| json!({"entry": p.entry.display().to_string(), "problem": p.kind.to_string()}))
                    .collect();
                println!(
                    "{}",
                    json!({"entries": store.ls()?.len(), "problems": items})
                );
                return Ok(u8::from(!problems.is_empty()));
            }
            if problems.is_empty() {
                println!("store verified: {} entries ok", store.ls()?.len());
                Ok(0)
            } else {
                Ok(1)
            }
        }
        StoreCommand::Gc { dry_run, json } => {
            let r = store.gc(*dry_run)?;
            if *json {
                let shown = |v: &Vec<std::path::PathBuf>| -> Vec<String> {
                    v.iter().map(|p| p.display().to_string()).collect()
                };
                println!(
                    "{}",
                    json!({
                        "dry_run": dry_run,
                        "removed_entries": shown(&r.removed_entries),
                        "removed_temp": shown(&r.removed_temp),
                        "removed_roots": shown(&r.removed_roots),
                        "kept_entries": r.kept_entries.len(),
                    })
                );
                return Ok(0);
            }
            let verb = if *dry_run { "would remove" } else { "removed" };
            for p in r
                .removed_entries
                .iter()
                .chain(&r.removed_temp)
                .chain(&r.removed_roots)
            {
                println!("{verb} {}", p.display());
            }
            println!(
                "{verb} {} entries, {} temporary directories, {} stale roots; kept {} entries",
                r.removed_entries.len(),
                r.removed_temp.len(),
                r.removed_roots.len(),
                r.kept_entries.len()
            );
            Ok(0)
        }
    }
}

fn path(args: &StorePathArgs) -> CliResult {
    let target = target::resolve(&args.target)?;
    compile::require_supported_world(&target)?;
    let (loaded, _) = compile::load_and_repair(&target, RepairMode::Off)?;
    let program = match loaded {
        Ok(p) => p,
        Err(d) => {
            compile::print_diagnostics(&d);
            return Ok(1);
        }
    };
    let home = compile::home()?;
    let cc = CcIdentity::detect(&home).map_err(|e| CliError::setup(e.code(), e.to_string()))?;
    let mut req = x07_builder::build::BuildRequest::new(
        &program,
        target.world,
        target.cc_profile(crate::target::cc_profile_flag(args.cc_profile)),
        target.lock_digest,
        target.name.clone(),
        None,
    );
    req.native = target.native_for(&program).map_err(CliError::from)?;
    let inputs = derivation_inputs(&req, &cc);
    let hash = inputs.hash()?;
    match StoreRoot::new(&home).lookup(&hash, &inputs.name) {
        Some(e) => {
            println!("{}", e.dir.display());
            Ok(0)
        }
        None => Err(CliError::failure(
            "X07-STORE-0001",
            format!("not built yet (derivation {})", hash.as_str()),
        )
        .help("run `x07 build`")),
    }
}
