//! The record/replay policies a program's `std.rr.with_policy_v1` scopes name, read at load time
//! from the consuming project's `arch/rr/index.x07rr.json` (the nearest ancestor of the entry file
//! that has one) and the policy files it lists. What is found is part of the build's derivation;
//! a missing or broken one is reported only if a reachable function uses it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use x07_spec::rr_policy::{parse_index, parse_policy, RrIndex, RrPolicy, RR_INDEX_PATH};

use crate::frontend::resolve::ModuleSource;

/// The form that opens a cassette around its body.
pub const WITH_POLICY: &str = "std.rr.with_policy_v1";

/// The policies a program names, with the index that lists them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RrPolicies {
    /// The index, or why there is none (unset when no form names a policy).
    pub index: Option<Result<RrIndex, String>>,
    /// Id → the policy, or why it cannot be used.
    pub by_id: BTreeMap<String, Result<RrPolicy, String>>,
}

impl RrPolicies {
    /// The policy `id` and the index, or the message explaining why they cannot be used.
    pub fn get(&self, id: &str) -> Result<(&RrIndex, &RrPolicy), String> {
        let index = match &self.index {
            Some(Ok(i)) => i,
            Some(Err(why)) => return Err(why.clone()),
            None => return Err(format!("rr policy `{id}` was not loaded")),
        };
        match self.by_id.get(id) {
            Some(Ok(p)) => Ok((index, p)),
            Some(Err(why)) => Err(why.clone()),
            None => Err(format!("rr policy `{id}` was not loaded")),
        }
    }

    /// What the derivation records: each usable policy and the modes the index allows.
    pub fn derivation_lines(&self) -> BTreeMap<String, String> {
        let mut out: BTreeMap<String, String> = self
            .by_id
            .iter()
            .filter_map(|(id, p)| {
                let p = p.as_ref().ok()?;
                let text = x07_spec::to_canonical_vec(p).ok()?;
                Some((
                    format!("rr_policy.{id}"),
                    String::from_utf8_lossy(&text).into_owned(),
                ))
            })
            .collect();
        if let Some(Ok(index)) = &self.index {
            out.insert(
                "rr_modes_allowed".to_string(),
                index.defaults.record_modes_allowed.join(","),
            );
        }
        out
    }
}

/// The nearest directory at or above `start` holding `arch/rr/index.x07rr.json`.
pub fn find_arch_root(start: &Path) -> Option<PathBuf> {
    start.ancestors().find_map(|d| {
        let mut probe = d.to_path_buf();
        probe.extend(RR_INDEX_PATH);
        probe.is_file().then(|| d.to_path_buf())
    })
}

/// Reads the policies `modules` name, from the arch root found above `start`.
pub fn load_policies<'a>(
    modules: impl Iterator<Item = &'a ModuleSource>,
    start: &Path,
) -> RrPolicies {
    let ids = crate::budget::named_ids(WITH_POLICY, modules);
    if ids.is_empty() {
        return RrPolicies::default();
    }
    let Some(root) = find_arch_root(start) else {
        let why = format!(
            "no rr index: no directory at or above {} has {}; create it (schema x07.arch.rr.index@0.1.0) listing the policy files",
            start.display(),
            RR_INDEX_PATH.join("/")
        );
        return RrPolicies {
            index: Some(Err(why.clone())),
            by_id: ids.into_iter().map(|id| (id, Err(why.clone()))).collect(),
        };
    };
    let mut index_path = root.clone();
    index_path.extend(RR_INDEX_PATH);
    let index = fs_err::read(&index_path)
        .map_err(|e| e.to_string())
        .and_then(|b| parse_index(&b).map_err(|e| format!("{}: {e}", index_path.display())));
    let by_id = ids
        .into_iter()
        .map(|id| {
            let found = match &index {
                Err(why) => Err(why.clone()),
                Ok(index) => find_one(&root, &index_path, index, &id),
            };
            (id, found)
        })
        .collect();
    RrPolicies {
        index: Some(index),
        by_id,
    }
}

fn find_one(root: &Path, index_path: &Path, index: &RrIndex, id: &str) -> Result<RrPolicy, String> {
    let entry = index.policies.iter().find(|p| p.id == id).ok_or_else(|| {
        format!(
            "rr policy `{id}` is not listed in {}; add {{\"id\": \"{id}\", \"policy_path\": ...}} to its policies",
            index_path.display()
        )
    })?;
    let rel = Path::new(&entry.policy_path);
    // the policy belongs to the project: a path that leaves the arch root is refused
    if rel.is_absolute()
        || rel
            .components()
            .any(|c| matches!(c, std::path::Component::ParentDir))
    {
        return Err(format!(
            "{}: policy_path {:?} of `{id}` must be relative to the project and stay inside it",
            index_path.display(),
            entry.policy_path
        ));
    }
    let path = root.join(rel);
    let bytes = fs_err::read(&path).map_err(|e| e.to_string())?;
    let policy = parse_policy(&bytes, id).map_err(|e| format!("{}: {e}", path.display()))?;
    tracing::debug!(id, path = %path.display(), "rr policy");
    Ok(policy)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(root: &Path, rel: &str, text: &str) {
        let p = root.join(rel);
        fs_err::create_dir_all(p.parent().unwrap()).unwrap();
        fs_err::write(p, text).unwrap();
    }

    #[test]
    fn a_listed_policy_is_found_and_an_escaping_path_is_refused() {
        let t = tempfile::tempdir().unwrap();
        write(
            t.path(),
            "arch/rr/index.x07rr.json",
            r#"{"schema_version":"x07.arch.rr.index@0.1.0","policies":[
                {"id":"a","policy_path":"arch/rr/a.json"},{"id":"b","policy_path":"../b.json"}]}"#,
        );
        write(
            t.path(),
            "arch/rr/a.json",
            r#"{"schema_version":"x07.arch.rr.policy@0.1.0","id":"a","match_mode":"lookup_v1",
                "budgets":{"max_cassette_bytes":9,"max_entries":1,"max_req_bytes":1,"max_resp_bytes":1,"max_key_bytes":1}}"#,
        );
        let index_path = t.path().join("arch/rr/index.x07rr.json");
        let index = parse_index(&fs_err::read(&index_path).unwrap()).unwrap();
        let a = find_one(t.path(), &index_path, &index, "a").unwrap();
        assert_eq!(a.budgets.max_cassette_bytes, 9);
        let b = find_one(t.path(), &index_path, &index, "b").unwrap_err();
        assert!(b.contains("stay inside"), "{b}");
        let c = find_one(t.path(), &index_path, &index, "c").unwrap_err();
        assert!(c.contains("not listed"), "{c}");
        let deep = t.path().join("x/y");
        fs_err::create_dir_all(&deep).unwrap();
        assert_eq!(find_arch_root(&deep), Some(t.path().to_path_buf()));
    }
}
