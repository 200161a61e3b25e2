//! `x07 store push|sign` and `x07 store verify --cache`: the binary cache (docs/store.md).

use std::path::{Path, PathBuf};

use serde_json::json;
use x07_builder::cc::X07Home;
use x07_builder::store::{StoreEntry, StoreRoot};
use x07_lock::SigningKey;
use x07_store_cache::{CacheError, CacheSettings};

use crate::args::{StorePushArgs, StoreSignArgs};
use crate::compile::{self, cache_error};
use crate::error::{CliError, CliResult};

/// Where `x07 key generate` writes the key by default.
fn default_key(home: &X07Home) -> PathBuf {
    home.path().join("keys/lock-signing.pem")
}

/// Loads a signing key: `given` must be readable; the default is used only if it exists.
fn load_key(home: &X07Home, given: Option<&Path>) -> Result<Option<SigningKey>, CliError> {
    let (path, explicit) = match given {
        Some(p) => (p.to_path_buf(), true),
        None => (default_key(home), false),
    };
    if !explicit && !path.exists() {
        return Ok(None);
    }
    SigningKey::load(&path).map(Some).map_err(|e| {
        CliError::setup("X07-KEY-0002", format!("--key {}: {e}", path.display()))
            .help("give the secret key `x07 key generate` wrote (mode 0600), not its .pub file")
    })
}

/// The entries named on the command line (directories or `<hash>-<name>`), or every entry.
fn entries(store: &StoreRoot, given: &[String]) -> Result<Vec<StoreEntry>, CliError> {
    if given.is_empty() {
        return Ok(store.ls()?);
    }
    let mut out = Vec::new();
    for g in given {
        let name = Path::new(g.trim_end_matches('/'))
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        let entry = StoreEntry::from_dir_name(store.path(), name)
            .filter(|e| store.lookup(&e.hash, &e.name).is_some())
            .ok_or_else(|| {
                cache_error(CacheError::NotAnEntry {
                    given: g.clone(),
                    store: store.path().to_path_buf(),
                })
            })?;
        out.push(entry);
    }
    Ok(out)
}

/// `x07 store push`.
pub fn push(args: &StorePushArgs) -> CliResult {
    let home = compile::home()?;
    let store = StoreRoot::new(&home);
    let key = load_key(&home, args.key.as_deref())?;
    let roots = entries(&store, &args.paths)?;
    let hint = args.key.clone().unwrap_or_else(|| default_key(&home));
    let report = x07_store_cache::push(&home, &store, &args.to, &roots, key.as_ref(), &hint)
        .map_err(cache_error)?;
    if args.json {
        let items: Vec<_> = report
            .entries
            .iter()
            .map(|e| {
                json!({"entry": e.entry, "uploaded": e.uploaded, "archive_bytes": e.archive_bytes,
                       "signers": e.signers.iter().map(|k| k.as_str()).collect::<Vec<_>>()})
            })
            .collect();
        print_json(&json!({
            "schema_version": "x07.store.push.report@0.1.0",
            "cache": report.url,
            "entries": items,
        }))?;
    } else {
        let uploaded = report.entries.iter().filter(|e| e.uploaded).count();
        for e in &report.entries {
            let what = if e.uploaded {
                "pushed"
            } else {
                "already cached"
            };
            crate::output::note!("{what} {}", e.entry);
        }
        println!(
            "pushed {uploaded} of {} entries to {} ({} already there)",
            report.entries.len(),
            report.url,
            report.entries.len() - uploaded
        );
    }
    Ok(0)
}

/// `x07 store sign`.
pub fn sign(args: &StoreSignArgs) -> CliResult {
    let home = compile::home()?;
    let store = StoreRoot::new(&home);
    let key = load_key(&home, args.key.as_deref())?.ok_or_else(|| {
        CliError::setup(
            "X07-KEY-0002",
            format!("no signing key at {}", default_key(&home).display()),
        )
        .help("run `x07 key generate`, or pass --key FILE")
    })?;
    let roots = entries(&store, &args.paths)?;
    let signed = x07_store_cache::sign_entries(&home, &store, &roots, &key).map_err(cache_error)?;
    if args.json {
        let items: Vec<_> = signed
            .iter()
            .map(|s| json!({"entry": s.entry, "key_id": s.key_id.as_str(), "file": s.file.display().to_string()}))
            .collect();
        print_json(&json!({"schema_version": "x07.store.sign.report@0.1.0", "entries": items}))?;
    } else {
        for s in &signed {
            crate::output::note!("signed {} ({})", s.entry, s.file.display());
        }
        println!("signed {} entries with key {}", signed.len(), key.key_id());
    }
    Ok(0)
}

/// `x07 store verify --cache URL`.
pub fn verify_cache(url: &str, trusted_keys: &[String], json_out: bool) -> CliResult {
    let home = compile::home()?;
    let settings = CacheSettings::resolve(&home, &[], trusted_keys).map_err(cache_error)?;
    if settings.trusted.is_empty() {
        return Err(CliError::setup(
            "X07-CACHE-0001",
            "x07 store verify --cache needs the public keys to trust",
        )
        .help("pass --trusted-key FILE (the .pub file of the signing key), or set X07_TRUSTED_PUBLIC_KEYS"));
    }
    let report = x07_store_cache::verify_cache(url, &settings.trusted).map_err(cache_error)?;
    for p in &report.problems {
        eprintln!("error[X07-CACHE-0004]: {url}: {}: {}", p.key, p.problem);
    }
    if json_out {
        let items: Vec<_> = report
            .problems
            .iter()
            .map(|p| json!({"key": p.key, "problem": p.problem}))
            .collect();
        print_json(&json!({
            "schema_version": "x07.store.verify-cache.report@0.1.0",
            "cache": url, "records": report.records, "ok_entries": report.ok_entries, "problems": items,
        }))?;
    } else if report.problems.is_empty() {
        println!(
            "cache verified: {} entries ok ({} records)",
            report.ok_entries, report.records
        );
    }
    Ok(u8::from(!report.problems.is_empty()))
}

fn print_json(v: &serde_json::Value) -> Result<(), CliError> {
    let bytes = x07_spec::canonical_file_bytes(v)
        .map_err(|e| CliError::setup("X07-CLI-0001", e.to_string()))?;
    print!("{}", String::from_utf8_lossy(&bytes));
    Ok(())
}
