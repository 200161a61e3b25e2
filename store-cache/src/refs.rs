//! References between entries: other entries an entry names in its files (a sealed bundle names
//! its payload and launcher), found by scanning as Nix does, and the closure they span.

use std::collections::{BTreeMap, BTreeSet};

use x07_builder::store::{StoreEntry, StoreRoot};

use crate::archive::entry_files;
use crate::CacheError;

/// Length of a derivation hash in hex digits.
const HASH_LEN: usize = 32;

/// The other local entries whose directory names `<hash>-<name>` occur in `entry`'s files,
/// sorted. `local` is every entry of the store.
pub fn references(entry: &StoreEntry, local: &[StoreEntry]) -> Result<Vec<String>, CacheError> {
    let mut names_by_hash: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for e in local {
        if e.dir != entry.dir {
            names_by_hash
                .entry(e.hash.as_str())
                .or_default()
                .push(e.name.as_str());
        }
    }
    let mut found = BTreeSet::new();
    if names_by_hash.is_empty() {
        return Ok(Vec::new());
    }
    for (_, path) in entry_files(&entry.dir)? {
        let bytes = fs_err::read(&path).map_err(|source| CacheError::Io {
            action: "read",
            path: path.clone(),
            source,
        })?;
        scan(&bytes, &names_by_hash, &mut found);
    }
    Ok(found.into_iter().collect())
}

/// Adds every `<hash>-<name>` of `names_by_hash` that occurs in `bytes`.
fn scan(bytes: &[u8], names_by_hash: &BTreeMap<&str, Vec<&str>>, found: &mut BTreeSet<String>) {
    let is_hex = |b: u8| b.is_ascii_digit() || (b'a'..=b'f').contains(&b);
    // `run` counts the lowercase hex digits that end just before position i
    let mut run = 0usize;
    for (i, &b) in bytes.iter().enumerate() {
        if b == b'-' && run >= HASH_LEN {
            let hash = std::str::from_utf8(&bytes[i - HASH_LEN..i]).unwrap_or_default();
            if let Some(names) = names_by_hash.get(hash) {
                let rest = &bytes[i + 1..];
                for name in names {
                    if rest.starts_with(name.as_bytes()) {
                        found.insert(format!("{hash}-{name}"));
                    }
                }
            }
        }
        run = if is_hex(b) { run + 1 } else { 0 };
    }
}

/// `roots` and every entry they refer to, transitively, ordered so that each entry comes after
/// the entries it refers to; with the references of each.
pub fn closure(
    store: &StoreRoot,
    roots: &[StoreEntry],
) -> Result<Vec<(StoreEntry, Vec<String>)>, CacheError> {
    let local = store.ls()?;
    let by_name: BTreeMap<String, StoreEntry> =
        local.iter().map(|e| (e.dir_name(), e.clone())).collect();
    let mut refs: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut pending: Vec<StoreEntry> = roots.to_vec();
    while let Some(e) = pending.pop() {
        if refs.contains_key(&e.dir_name()) {
            continue;
        }
        let r = references(&e, &local)?;
        for name in &r {
            if let Some(dep) = by_name.get(name) {
                pending.push(dep.clone());
            }
        }
        refs.insert(e.dir_name(), r);
    }
    // depth-first post-order: references first
    let mut order = Vec::new();
    let mut done = BTreeSet::new();
    fn visit(
        name: &str,
        refs: &BTreeMap<String, Vec<String>>,
        done: &mut BTreeSet<String>,
        order: &mut Vec<String>,
    ) {
        if !done.insert(name.to_string()) {
            return;
        }
        for r in refs.get(name).into_iter().flatten() {
            if refs.contains_key(r) {
                visit(r, refs, done, order);
            }
        }
        order.push(name.to_string());
    }
    let mut names: Vec<&String> = refs.keys().collect();
    names.sort();
    for name in names {
        visit(name, &refs, &mut done, &mut order);
    }
    Ok(order
        .into_iter()
        .filter_map(|n| {
            let e = by_name.get(&n).cloned()?;
            let r = refs.get(&n).cloned().unwrap_or_default();
            Some((e, r))
        })
        .collect())
}
