//! Read-only commands: `x07 pkg tree`, `provides`, `info`, `versions`, `search`, `verify`,
//! `verify-lock`.

use std::collections::BTreeSet;
use std::path::PathBuf;

use clap::Args;
use serde_json::json;
use x07_lock::{Lock, LockedPackage, VerifyingKey};
use x07_spec::PackageName;

use super::{
    bullets, deps_error, index_entries_of, plain_client, print_json, registry_error, split_at_sign,
    toolchain_version, ProjectArg, RegistryArgs,
};
use crate::error::{CliError, CliResult};

/// `x07 pkg tree`.
#[derive(Debug, Args)]
pub struct PkgTreeArgs {
    /// Print the graph as JSON (x07.pkg.tree@0.1.0).
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub project: ProjectArg,
}

/// `x07 pkg provides`.
#[derive(Debug, Args)]
pub struct PkgProvidesArgs {
    /// A module id, e.g. std.net.http.
    pub module: String,
    #[command(flatten)]
    pub registry: RegistryArgs,
    #[command(flatten)]
    pub project: ProjectArg,
}

/// `x07 pkg info` / `x07 pkg versions`.
#[derive(Debug, Args)]
pub struct PkgInfoArgs {
    /// NAME or NAME@VERSION.
    #[arg(value_name = "NAME[@VERSION]")]
    pub package: String,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub registry: RegistryArgs,
}

/// `x07 pkg search`.
#[derive(Debug, Args)]
pub struct PkgSearchArgs {
    /// Text to look for in names and descriptions.
    pub query: String,
    /// At most this many results.
    #[arg(long, value_name = "N")]
    pub limit: Option<usize>,
    /// Print `{"hits": [{"name", "latest", "description"}]}` on stdout.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub registry: RegistryArgs,
}

/// `x07 pkg verify`.
#[derive(Debug, Args)]
pub struct PkgVerifyArgs {
    /// Also ask the lock's registry about every locked version: its signed index line must still
    /// name the locked archive, and yanked versions are reported (exit 1 with --deny-yanked).
    #[arg(long)]
    pub online: bool,
    /// With --online: a yanked locked version is an error, not a warning.
    #[arg(long, requires = "online")]
    pub deny_yanked: bool,
    /// Print `{"packages": N, "ok": true}` on stdout when everything matches.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub registry: RegistryArgs,
    #[command(flatten)]
    pub project: ProjectArg,
}

/// `x07 pkg verify-lock`.
#[derive(Debug, Args)]
pub struct PkgVerifyLockArgs {
    /// The signer's public key: a file holding `x07 key generate`'s key (private or public) or the
    /// public key in standard base64.
    #[arg(long, value_name = "KEY")]
    pub key: String,
    #[command(flatten)]
    pub project: ProjectArg,
}

fn load_lock(project: &x07_deps::Project) -> Result<Lock, CliError> {
    let path = project.lock_path().map_err(deps_error)?;
    project.load_lock().map_err(deps_error)?.ok_or_else(|| {
        CliError::setup(
            "X07-LOCK-0002",
            format!("{} does not exist", path.display()),
        )
        .help("run `x07 pkg lock` first")
    })
}

/// Runs `x07 pkg tree`.
pub fn tree(args: &PkgTreeArgs) -> CliResult {
    let project = args.project.load()?;
    let lock = load_lock(&project)?;
    if args.json {
        let packages: Vec<_> = lock
            .dependencies
            .iter()
            .map(|d| {
                json!({"name": d.name.as_str(), "version": d.version.as_str(), "source": d.source,
                       "path": d.path.to_string(), "deps": d.deps.iter().map(|e| json!({"name": e.name.as_str(), "req": e.req.to_string(), "resolved": e.resolved.as_str()})).collect::<Vec<_>>(),
                       "replaces_builtin": replaced_builtins(d)})
            })
            .collect();
        let roots: Vec<_> = lock
            .root_deps
            .iter()
            .map(|r| json!({"name": r.name.as_str(), "req": r.req.to_string()}))
            .collect();
        print_json(
            &json!({"schema_version": "x07.pkg.tree@0.1.0", "root_deps": roots, "packages": packages}),
        )?;
        return Ok(0);
    }
    let root_name = project
        .root
        .canonicalize()
        .ok()
        .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()));
    println!("{}", root_name.unwrap_or_else(|| ".".to_string()));
    let mut seen = BTreeSet::new();
    let count = lock.root_deps.len();
    for (i, root) in lock.root_deps.iter().enumerate() {
        if let Some(pkg) = lock.package(&root.name) {
            print_node(&lock, pkg, "", i + 1 == count, &mut seen);
        }
    }
    Ok(0)
}

/// The embedded standard-library modules a package provides itself: the package's module is the
/// one a project locking it uses.
fn replaced_builtins(pkg: &LockedPackage) -> Vec<String> {
    pkg.modules_sha256
        .keys()
        .map(|m| m.as_str().to_string())
        .filter(|m| x07_builder::stdlib::lookup(m).is_some())
        .collect()
}

fn print_node(
    lock: &Lock,
    pkg: &LockedPackage,
    prefix: &str,
    last: bool,
    seen: &mut BTreeSet<PackageName>,
) {
    let branch = if last { "└── " } else { "├── " };
    let again = !seen.insert(pkg.name.clone());
    let local = if pkg.source == x07_lock::DepSource::Path {
        format!(" ({})", pkg.path)
    } else {
        String::new()
    };
    let replaced = replaced_builtins(pkg);
    let replaces = if replaced.is_empty() {
        String::new()
    } else {
        format!(" [replaces built-in {}]", replaced.join(", "))
    };
    println!(
        "{prefix}{branch}{} {}{local}{replaces}{}",
        pkg.name,
        pkg.version,
        if again && !pkg.deps.is_empty() {
            " (*)"
        } else {
            ""
        }
    );
    if again {
        return;
    }
    let child_prefix = format!("{prefix}{}", if last { "    " } else { "│   " });
    let count = pkg.deps.len();
    for (i, edge) in pkg.deps.iter().enumerate() {
        if let Some(child) = lock.package(&edge.name) {
            print_node(lock, child, &child_prefix, i + 1 == count, seen);
        }
    }
}

/// Runs `x07 pkg provides`.
pub fn provides(args: &PkgProvidesArgs) -> CliResult {
    let module = x07_spec::package::ModuleId::new(args.module.as_str())
        .map_err(|e| CliError::setup("X07-PKG-0008", format!("`{}`: {e}", args.module)))?;
    if let Ok(project) = args.project.load() {
        if let Ok(Some(lock)) = project.load_lock() {
            if let Some(pkg) = lock
                .dependencies
                .iter()
                .find(|d| d.modules_sha256.contains_key(&module))
            {
                println!("{} {} (locked in this project)", pkg.name, pkg.version);
                return Ok(0);
            }
        }
    }
    let client = plain_client(&args.registry, false)?;
    // The registry's search matches names and descriptions; module ids are checked on the
    // signed index lines of each candidate.
    let family = module
        .as_str()
        .split('.')
        .take(2)
        .collect::<Vec<_>>()
        .join(".");
    let mut candidates: Vec<PackageName> = Vec::new();
    let mut searched = false;
    let mut last_error = None;
    for query in [module.as_str(), family.as_str(), ""] {
        match client.search(query, Some(100)) {
            Ok(hits) => {
                searched = true;
                candidates.extend(hits.into_iter().map(|h| h.name));
            }
            Err(e) => last_error = Some(e),
        }
    }
    // a registry that never answered proves nothing about who provides the module
    if let (false, Some(e)) = (searched, last_error) {
        return Err(CliError::setup("X07-PKG-0006", e.to_string()));
    }
    candidates.sort();
    candidates.dedup();
    let mut found = Vec::new();
    for name in candidates {
        let Ok(entries) = client.index_entries(&name) else {
            continue;
        };
        if let Some(e) = entries
            .iter()
            .rev()
            .find(|e| !e.yanked && e.modules.iter().any(|m| m == module.as_str()))
        {
            found.push(format!("{} {}", e.name, e.version));
        }
    }
    if found.is_empty() {
        return Err(CliError::failure(
            "X07-PKG-0007",
            format!(
                "no package in {} provides `{module}`",
                client.index_url().as_str()
            ),
        ));
    }
    for f in found {
        println!("{f}");
    }
    Ok(0)
}

fn entries(
    args: &PkgInfoArgs,
) -> Result<
    (
        PackageName,
        Option<String>,
        Vec<x07_registry_client::IndexEntry>,
    ),
    CliError,
> {
    let (name, version) = split_at_sign(&args.package)?;
    let client = plain_client(&args.registry, false)?;
    let entries = index_entries_of(&client, &name)?;
    Ok((name, version.map(str::to_string), entries))
}

fn entry_json(e: &x07_registry_client::IndexEntry) -> serde_json::Value {
    json!({"name": e.name.as_str(), "version": e.version.as_str(), "cksum": e.cksum.to_string(), "yanked": e.yanked,
           "deps": e.deps.iter().map(|d| json!({"name": d.name.as_str(), "req": d.req})).collect::<Vec<_>>(),
           "x07c_compat": e.x07c_compat, "modules": e.modules, "ffi_libs": e.ffi_libs, "description": e.description})
}

/// Runs `x07 pkg info`.
pub fn info(args: &PkgInfoArgs) -> CliResult {
    let (name, version, entries) = entries(args)?;
    let entry = match &version {
        Some(v) => entries.iter().find(|e| e.version.as_str() == v),
        None => entries
            .iter()
            .filter(|e| !e.yanked && e.semver().pre.is_empty())
            .max_by(|a, b| a.semver().cmp(b.semver())),
    }
    .ok_or_else(|| {
        CliError::setup(
            "X07-PKG-0007",
            format!(
                "{name} has no {}",
                version
                    .as_deref()
                    .map_or("usable version".to_string(), |v| format!("version {v}"))
            ),
        )
        .help("x07 pkg versions NAME lists them")
    })?;
    if args.json {
        print_json(&entry_json(entry))?;
        return Ok(0);
    }
    println!(
        "{} {}{}",
        entry.name,
        entry.version,
        if entry.yanked { " (yanked)" } else { "" }
    );
    if !entry.description.is_empty() {
        println!("  {}", entry.description);
    }
    println!("  modules: {}", entry.modules.join(", "));
    if !entry.deps.is_empty() {
        println!(
            "  requires: {}",
            entry
                .deps
                .iter()
                .map(|d| format!("{}@{}", d.name, d.req))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    if !entry.ffi_libs.is_empty() {
        println!("  links: {}", entry.ffi_libs.join(", "));
    }
    println!(
        "  x07c_compat: {}",
        if entry.x07c_compat.is_empty() {
            "any"
        } else {
            &entry.x07c_compat
        }
    );
    println!("  archive: {}", entry.cksum);
    println!(
        "  add it: x07 pkg add {}@{} --sync",
        entry.name, entry.version
    );
    Ok(0)
}

/// Runs `x07 pkg versions`.
pub fn versions(args: &PkgInfoArgs) -> CliResult {
    let (_, _, entries) = entries(args)?;
    if args.json {
        print_json(
            &json!({"schema_version": "x07.pkg.versions@0.1.0", "versions": entries.iter().map(entry_json).collect::<Vec<_>>()}),
        )?;
        return Ok(0);
    }
    for e in &entries {
        println!("{}{}", e.version, if e.yanked { " (yanked)" } else { "" });
    }
    Ok(0)
}

/// Runs `x07 pkg search`.
pub fn search(args: &PkgSearchArgs) -> CliResult {
    let client = plain_client(&args.registry, false)?;
    let hits = client
        .search(&args.query, args.limit)
        .map_err(registry_error)?;
    if args.json {
        let items: Vec<serde_json::Value> = hits
            .iter()
            .map(|h| serde_json::json!({"name": h.name.to_string(), "latest": h.latest.to_string(), "description": h.description}))
            .collect();
        println!("{}", serde_json::json!({"hits": items}));
        return Ok(0);
    }
    for h in &hits {
        println!("{} {}  {}", h.name, h.latest, h.description);
    }
    if hits.is_empty() {
        eprintln!("x07: no packages match `{}`", args.query);
    }
    Ok(0)
}

/// Runs `x07 pkg verify`: the lock fits x07.json and every locked file on disk matches it.
pub fn verify(args: &PkgVerifyArgs) -> CliResult {
    let project = args.project.load()?;
    let lock = load_lock(&project)?;
    let reqs = project.requirements().map_err(deps_error)?;
    let mut problems: Vec<String> =
        match x07_deps::lock_satisfies(&reqs, &lock, None, &toolchain_version()) {
            Ok(()) => Vec::new(),
            Err(r) => r,
        };
    problems.extend(
        lock.verify_against_disk(&project.root)
            .iter()
            .map(ToString::to_string),
    );
    if args.online {
        problems.extend(check_registry(&lock, &args.registry, args.deny_yanked)?);
    }
    if !problems.is_empty() {
        return Err(CliError::failure(
            "X07-LOCK-0003",
            format!(
                "the project does not match x07.lock.json:\n{}",
                bullets(&problems)
            ),
        )
        .help("`x07 pkg lock` updates the lock; `x07 pkg sync` restores registry packages"));
    }
    if args.json {
        println!(
            "{}",
            serde_json::json!({"packages": lock.dependencies.len(), "ok": true})
        );
    }
    eprintln!(
        "x07: {} packages match x07.lock.json",
        lock.dependencies.len()
    );
    Ok(0)
}

/// Asks the lock's registry about every locked registry package; returns the problems and prints
/// warnings for yanked versions.
fn check_registry(
    lock: &Lock,
    registry: &RegistryArgs,
    deny_yanked: bool,
) -> Result<Vec<String>, CliError> {
    let lock_index = lock.registry.as_ref().map(|r| r.index_url.as_str());
    let (index, _) = super::select_index(registry, lock_index)?;
    let client = super::client_for(index, registry.offline, false)?;
    let pinned = client.pinned_key().map_err(registry_error)?;
    let mut problems = Vec::new();
    if let Some(key) = lock.registry.as_ref().and_then(|r| r.key_id.as_ref()) {
        if key.as_str() != pinned.key_id {
            problems.push(format!(
                "the lock was made with registry key {key}, the registry's pinned key is {}",
                pinned.key_id
            ));
        }
    }
    for dep in lock
        .dependencies
        .iter()
        .filter(|d| d.source == x07_lock::DepSource::Registry)
    {
        let entry = match client.index_entry(&dep.name, &dep.version) {
            Ok(e) => e,
            Err(e) if e.is_not_found() => {
                problems.push(format!(
                    "{} {}: the registry no longer lists this version",
                    dep.name, dep.version
                ));
                continue;
            }
            Err(e) => return Err(registry_error(e)),
        };
        if Some(entry.cksum) != dep.archive_sha256 {
            problems.push(format!(
                "{} {}: the registry's signed index line names archive {}, the lock {}",
                dep.name,
                dep.version,
                entry.cksum,
                dep.archive_sha256
                    .map(|d| d.to_string())
                    .unwrap_or_else(|| "none".to_string())
            ));
        }
        if entry.yanked {
            let line = format!(
                "{} {} has been yanked from the registry; `x07 pkg lock --upgrade` moves off it",
                dep.name, dep.version
            );
            if deny_yanked {
                problems.push(line);
            } else {
                eprintln!("warning: {line}");
            }
        }
    }
    eprintln!(
        "x07: checked {} locked versions against {} (this registry publishes no advisories)",
        lock.dependencies.len(),
        client.index_url().as_str()
    );
    Ok(problems)
}

fn verifying_key(text: &str) -> Result<VerifyingKey, CliError> {
    let path = PathBuf::from(text);
    if path.is_file() {
        let content = fs_err::read_to_string(&path)
            .map_err(|e| CliError::setup("X07-KEY-0002", e.to_string()))?;
        if let Ok(key) = x07_lock::SigningKey::from_text(&content, &path) {
            return Ok(key.verifying_key());
        }
        return VerifyingKey::from_base64(content.trim()).map_err(|e| {
            CliError::setup(
                "X07-KEY-0002",
                format!("{}: not a key: {e}", path.display()),
            )
        });
    }
    VerifyingKey::from_base64(text.trim()).map_err(|e| {
        CliError::setup(
            "X07-KEY-0002",
            format!("--key {text}: neither a key file nor a base64 public key: {e}"),
        )
    })
}

/// Runs `x07 pkg verify-lock`.
pub fn verify_lock(args: &PkgVerifyLockArgs) -> CliResult {
    let project = args.project.load()?;
    let key = verifying_key(&args.key)?;
    let lock = load_lock(&project)?;
    x07_lock::verify_lock(&lock, &key).map_err(|e| {
        CliError::failure("X07-LOCK-0004", e.to_string())
            .help("sign it with `x07 pkg lock --sign KEY`")
    })?;
    let problems = lock.verify_against_disk(&project.root);
    if !problems.is_empty() {
        return Err(CliError::failure(
            "X07-LOCK-0003",
            format!(
                "the signature is valid, but files on disk differ from the lock:\n{}",
                bullets(&problems)
            ),
        ));
    }
    eprintln!(
        "x07: x07.lock.json is signed by key {} and matches the files on disk",
        key.key_id()
    );
    Ok(0)
}
