//! The budget profiles a program's `budget.scope_from_arch_v1` scopes name, read at load time
//! from the consuming project's `arch/budgets/profiles/` (the nearest ancestor of the entry file
//! that has one). Each profile found is part of the build's derivation; one that is missing or
//! broken is reported only if a reachable function uses it, as the public compiler does.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use x07_spec::budget_profile::{
    is_valid_profile_id, parse_profile, profile_path, BudgetCfg, BudgetMode, PROFILES_DIR,
};

use crate::frontend::ast::Expr;
use crate::frontend::resolve::ModuleSource;

/// The form that names a profile.
pub const SCOPE_FROM_ARCH: &str = "budget.scope_from_arch_v1";

/// Profiles x07 carries for ids the standard packages use when the consumer has none (the public
/// toolchain's built-in fallbacks, same limits).
fn builtin_profile(id: &str) -> Option<BudgetCfg> {
    let base = |label: &str, alloc_calls, realloc_calls, memcpy_bytes, sched_ticks| BudgetCfg {
        mode: BudgetMode::ResultErr,
        label: label.to_string(),
        alloc_bytes: 128 << 20,
        alloc_calls,
        realloc_calls,
        memcpy_bytes,
        sched_ticks,
        fuel: 0,
    };
    match id {
        "archive_extract_safe_v1" => Some(base(
            "archive.extract.safe.v1",
            200_000,
            50_000,
            512 << 20,
            2_000_000,
        )),
        "stream_xf_plugin_v1" => Some(base("stream_xf_plugin_v1", 0, 0, 256 << 20, 0)),
        _ => None,
    }
}

/// A profile as found (or why it cannot be used).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FoundProfile {
    /// Read from this file.
    File(PathBuf, BudgetCfg),
    /// x07's built-in profile for this id.
    Builtin(BudgetCfg),
    /// Not usable: the message says what was looked for and what to do.
    Missing(String),
}

/// The profiles a program names, by id.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BudgetProfiles {
    /// The directory whose `arch/` was searched, if one was found.
    pub arch_root: Option<PathBuf>,
    /// Id → what was found.
    pub by_id: BTreeMap<String, FoundProfile>,
}

impl BudgetProfiles {
    /// The usable configuration of `id`, or the message explaining why there is none.
    pub fn get(&self, id: &str) -> Result<&BudgetCfg, String> {
        match self.by_id.get(id) {
            Some(FoundProfile::File(_, cfg) | FoundProfile::Builtin(cfg)) => Ok(cfg),
            Some(FoundProfile::Missing(why)) => Err(why.clone()),
            None => Err(format!("budget profile `{id}` was not loaded")),
        }
    }

    /// `id=<canonical cfg>` for every usable profile: what the derivation records.
    pub fn derivation_lines(&self) -> BTreeMap<String, String> {
        self.by_id
            .iter()
            .filter_map(|(id, f)| match f {
                FoundProfile::File(_, cfg) | FoundProfile::Builtin(cfg) => Some((
                    format!("budget_profile.{id}"),
                    x07_spec::to_canonical_vec(cfg)
                        .map(|b| String::from_utf8_lossy(&b).into_owned())
                        .unwrap_or_default(),
                )),
                FoundProfile::Missing(_) => None,
            })
            .collect()
    }
}

/// The nearest directory at or above `start` holding `arch/budgets/profiles/`.
pub fn find_arch_root(start: &Path) -> Option<PathBuf> {
    start.ancestors().find_map(|d| {
        let mut probe = d.to_path_buf();
        probe.extend(PROFILES_DIR);
        probe.is_dir().then(|| d.to_path_buf())
    })
}

/// The ids written `["bytes.lit", ID]` as the first argument of `form` (`budget.scope_from_arch_v1`,
/// `std.rr.with_policy_v1`) anywhere in `modules`, generic bodies included; sorted, each once (a
/// non-literal id is the checker's to report).
pub(crate) fn named_ids<'a>(
    form: &str,
    modules: impl Iterator<Item = &'a ModuleSource>,
) -> Vec<String> {
    fn walk(form: &str, e: &Expr, out: &mut Vec<String>) {
        if let Expr::List { head, args, .. } = e {
            if head == form {
                if let Some(Expr::List {
                    head, args: lit, ..
                }) = args.first()
                {
                    if head == "bytes.lit" {
                        if let Some(id) = lit.first().and_then(Expr::as_atom) {
                            out.push(id.to_string());
                        }
                    }
                }
            }
            args.iter().for_each(|a| walk(form, a, out));
        }
    }
    // generic bodies are still JSON (instantiated later): the same form, as arrays
    fn walk_json(form: &str, v: &serde_json::Value, out: &mut Vec<String>) {
        if let serde_json::Value::Array(items) = v {
            if items.first().and_then(|h| h.as_str()) == Some(form) {
                if let Some(serde_json::Value::Array(lit)) = items.get(1) {
                    if lit.first().and_then(|h| h.as_str()) == Some("bytes.lit") {
                        if let Some(id) = lit.get(1).and_then(|i| i.as_str()) {
                            out.push(id.to_string());
                        }
                    }
                }
            }
            items.iter().for_each(|x| walk_json(form, x, out));
        }
    }
    let mut out = Vec::new();
    for m in modules {
        for body in m
            .file
            .solve
            .iter()
            .chain(m.file.defns.iter().map(|d| &d.body))
        {
            walk(form, body, &mut out);
        }
        for g in &m.file.generics {
            if let Some(body) = g.decl.get("body") {
                walk_json(form, body, &mut out);
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

/// Reads the profiles `modules` name, from the arch root found above `start`.
pub fn load_profiles<'a>(
    modules: impl Iterator<Item = &'a ModuleSource>,
    start: &Path,
) -> BudgetProfiles {
    let ids = named_ids(SCOPE_FROM_ARCH, modules);
    if ids.is_empty() {
        return BudgetProfiles::default();
    }
    let arch_root = find_arch_root(start);
    let by_id = ids
        .into_iter()
        .map(|id| {
            let found = find_one(&id, arch_root.as_deref(), start);
            (id, found)
        })
        .collect();
    BudgetProfiles { arch_root, by_id }
}

fn find_one(id: &str, arch_root: Option<&Path>, start: &Path) -> FoundProfile {
    if !is_valid_profile_id(id) {
        return FoundProfile::Missing(format!(
            "`{id}` is not a budget profile id (letters, digits, `_`, `-`, `.`)"
        ));
    }
    let Some(root) = arch_root else {
        if let Some(cfg) = builtin_profile(id) {
            return FoundProfile::Builtin(cfg);
        }
        let want = profile_path(Path::new(""), id);
        return FoundProfile::Missing(format!(
            "budget profile `{id}` not found: no directory at or above {} has {}; create {} in the project (schema x07.budget.profile@0.1.0)",
            start.display(),
            PROFILES_DIR.join("/"),
            want.display()
        ));
    };
    let path = profile_path(root, id);
    match fs_err::read(&path) {
        Ok(bytes) => match parse_profile(&bytes, id) {
            Ok(cfg) => {
                tracing::debug!(id, path = %path.display(), "budget profile");
                FoundProfile::File(path, cfg)
            }
            Err(e) => FoundProfile::Missing(format!("{}: {e}", path.display())),
        },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => match builtin_profile(id) {
            Some(cfg) => FoundProfile::Builtin(cfg),
            None => FoundProfile::Missing(format!(
                "budget profile `{id}` not found: {} does not exist; add it (schema x07.budget.profile@0.1.0)",
                path.display()
            )),
        },
        Err(e) => FoundProfile::Missing(e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_nearest_ancestor_with_profiles_is_the_arch_root() {
        let t = tempfile::tempdir().unwrap();
        let deep = t.path().join("a/b/c");
        fs_err::create_dir_all(&deep).unwrap();
        fs_err::create_dir_all(t.path().join("a/arch")).unwrap(); // no profiles/ under it
        assert_eq!(find_arch_root(&deep), None);
        fs_err::create_dir_all(t.path().join("arch/budgets/profiles")).unwrap();
        assert_eq!(find_arch_root(&deep), Some(t.path().to_path_buf()));
        fs_err::create_dir_all(t.path().join("a/b/arch/budgets/profiles")).unwrap();
        assert_eq!(find_arch_root(&deep), Some(t.path().join("a/b")));
    }

    #[test]
    fn builtin_profiles_apply_only_where_the_consumer_has_none() {
        let t = tempfile::tempdir().unwrap();
        assert!(matches!(
            find_one("archive_extract_safe_v1", None, t.path()),
            FoundProfile::Builtin(_)
        ));
        let dir = t.path().join("arch/budgets/profiles");
        fs_err::create_dir_all(&dir).unwrap();
        fs_err::write(
            dir.join("archive_extract_safe_v1.budget.json"),
            br#"{"schema_version":"x07.budget.profile@0.1.0","id":"archive_extract_safe_v1","v":1,"cfg":{"mode":"trap_v1","label":"mine","alloc_bytes":5}}"#,
        )
        .unwrap();
        match find_one("archive_extract_safe_v1", Some(t.path()), t.path()) {
            FoundProfile::File(_, cfg) => {
                assert_eq!((cfg.label.as_str(), cfg.alloc_bytes), ("mine", 5))
            }
            other => panic!("{other:?}"),
        }
        match find_one("cli_ux_v1", Some(t.path()), t.path()) {
            FoundProfile::Missing(why) => assert!(why.contains("cli_ux_v1.budget.json"), "{why}"),
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            find_one("../etc/passwd", Some(t.path()), t.path()),
            FoundProfile::Missing(_)
        ));
    }
}
