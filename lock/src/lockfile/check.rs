//! `--locked` / `--frozen`: what would change between the existing lock and a new one (or a new
//! resolution), described one change per line, and the refusal when anything would.

use std::collections::BTreeMap;
use std::fmt;

use x07_spec::{PackageName, PackageVersion};

use super::{Lock, LockedPackage};
use crate::req::PackageReq;
use crate::resolve::Resolution;

/// How far `x07 pkg lock` (and the commands that lock on the way) may change the lock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockMode {
    /// Write whatever the new resolution needs.
    Update,
    /// `--locked`: any change is an error.
    Locked,
    /// `--frozen`: as `--locked`, and nothing may be fetched (the caller enforces offline).
    Frozen,
}

impl LockMode {
    fn flag(self) -> &'static str {
        match self {
            LockMode::Update => "",
            LockMode::Locked => "--locked",
            LockMode::Frozen => "--frozen",
        }
    }
}

/// One difference between the existing lock and the new one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LockChange {
    /// The registry (index URL or pinned key) differs.
    Registry {
        /// Before (`none` when absent).
        from: String,
        /// After.
        to: String,
    },
    /// A requirement of the project was added.
    RootAdded {
        /// The requirement.
        req: String,
    },
    /// A requirement of the project was removed.
    RootRemoved {
        /// The requirement.
        req: String,
    },
    /// A requirement of the project changed.
    RootChanged {
        /// Package name.
        name: PackageName,
        /// Before.
        from: String,
        /// After.
        to: String,
    },
    /// A package enters the graph.
    Added {
        /// Package name.
        name: PackageName,
        /// Its version.
        version: PackageVersion,
    },
    /// A package leaves the graph.
    Removed {
        /// Package name.
        name: PackageName,
        /// Its version.
        version: PackageVersion,
    },
    /// A package's version changes.
    VersionChanged {
        /// Package name.
        name: PackageName,
        /// Before.
        from: PackageVersion,
        /// After.
        to: PackageVersion,
    },
    /// A package keeps its version but its dependency edges change.
    EdgesChanged {
        /// Package name.
        name: PackageName,
        /// Its version.
        version: PackageVersion,
        /// Edges before, `name req -> version` joined.
        from: String,
        /// Edges after.
        to: String,
    },
    /// A package keeps its version but recorded fields (digests, path, yanked, ...) change.
    FieldsChanged {
        /// Package name.
        name: PackageName,
        /// Its version.
        version: PackageVersion,
        /// The fields that differ.
        fields: Vec<&'static str>,
    },
}

impl fmt::Display for LockChange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Registry { from, to } => write!(f, "registry: {from} -> {to}"),
            Self::RootAdded { req } => write!(f, "the project now requires {req}"),
            Self::RootRemoved { req } => write!(f, "the project no longer requires {req}"),
            Self::RootChanged { name, from, to } => {
                write!(f, "the project's requirement on {name}: {from} -> {to}")
            }
            Self::Added { name, version } => write!(f, "add {name} {version}"),
            Self::Removed { name, version } => write!(f, "remove {name} {version}"),
            Self::VersionChanged { name, from, to } => write!(f, "{name}: {from} -> {to}"),
            Self::EdgesChanged {
                name,
                version,
                from,
                to,
            } => {
                write!(f, "{name} {version}: dependencies [{from}] -> [{to}]")
            }
            Self::FieldsChanged {
                name,
                version,
                fields,
            } => {
                write!(f, "{name} {version}: {} changed", fields.join(", "))
            }
        }
    }
}

/// The lock would change, or is missing, under `--locked` / `--frozen`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LockCheckError {
    /// There is no lock to hold to.
    #[error(
        "{flag} needs an existing x07.lock.json; run `x07 pkg lock` without {flag} to create it"
    )]
    Missing {
        /// The flag given.
        flag: &'static str,
    },
    /// The lock would change.
    #[error("x07.lock.json needs these changes, which {flag} forbids:\n{}\nrun `x07 pkg lock` without {flag} to apply them", list(.changes))]
    Changes {
        /// The flag given.
        flag: &'static str,
        /// Every change, in a stable order.
        changes: Vec<LockChange>,
    },
}

fn list(changes: &[LockChange]) -> String {
    changes
        .iter()
        .map(|c| format!("  - {c}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Refuses any change under `--locked` / `--frozen`; always fine under [`LockMode::Update`].
pub fn check_unchanged(
    mode: LockMode,
    existing: Option<&Lock>,
    new: &Lock,
) -> Result<(), LockCheckError> {
    if mode == LockMode::Update {
        return Ok(());
    }
    let existing = existing.ok_or(LockCheckError::Missing { flag: mode.flag() })?;
    let changes = diff_locks(existing, new);
    if changes.is_empty() {
        Ok(())
    } else {
        Err(LockCheckError::Changes {
            flag: mode.flag(),
            changes,
        })
    }
}

/// Every difference between two locks (the signature aside), registry and project requirements
/// first, then packages by name.
pub fn diff_locks(old: &Lock, new: &Lock) -> Vec<LockChange> {
    let mut changes = Vec::new();
    let registry = |l: &Lock| match &l.registry {
        None => "none".to_string(),
        Some(r) => match &r.key_id {
            Some(k) => format!("{} (key {k})", r.index_url),
            None => r.index_url.clone(),
        },
    };
    if old.registry != new.registry {
        changes.push(LockChange::Registry {
            from: registry(old),
            to: registry(new),
        });
    }
    let root = |l: &Lock| {
        group(
            l.root_deps
                .iter()
                .map(|r| (r.name.clone(), r.req.to_string())),
        )
    };
    diff_roots(&root(old), &root(new), &mut changes);
    let (old_deps, new_deps) = (by_name(old), by_name(new));
    for (name, o) in &old_deps {
        match new_deps.get(name) {
            None => changes.push(LockChange::Removed {
                name: name.clone(),
                version: o.version.clone(),
            }),
            Some(n) if n.version != o.version => changes.push(LockChange::VersionChanged {
                name: name.clone(),
                from: o.version.clone(),
                to: n.version.clone(),
            }),
            Some(n) => {
                let (from, to) = (edges_text(o), edges_text(n));
                if from != to {
                    changes.push(LockChange::EdgesChanged {
                        name: name.clone(),
                        version: o.version.clone(),
                        from,
                        to,
                    });
                }
                let fields = changed_fields(o, n);
                if !fields.is_empty() {
                    changes.push(LockChange::FieldsChanged {
                        name: name.clone(),
                        version: o.version.clone(),
                        fields,
                    });
                }
            }
        }
    }
    for (name, n) in &new_deps {
        if !old_deps.contains_key(name) {
            changes.push(LockChange::Added {
                name: name.clone(),
                version: n.version.clone(),
            });
        }
    }
    changes
}

/// The differences between a lock and a fresh resolution of `root`: requirements, versions and
/// edges only (no digests, so nothing is read from disk) — the fast path of `pkg lock --check`.
pub fn diff_resolution(
    lock: &Lock,
    root: &[PackageReq],
    resolution: &Resolution,
) -> Vec<LockChange> {
    let mut changes = Vec::new();
    let old_root = group(
        lock.root_deps
            .iter()
            .map(|r| (r.name.clone(), r.req.to_string())),
    );
    let new_root = group(root.iter().map(|r| (r.name.clone(), r.req.to_string())));
    diff_roots(&old_root, &new_root, &mut changes);
    let version_of = |v: &semver::Version| {
        PackageVersion::new(v.to_string()).expect("semver versions are exact versions")
    };
    for dep in &lock.dependencies {
        match resolution.packages.get(&dep.name) {
            None => changes.push(LockChange::Removed {
                name: dep.name.clone(),
                version: dep.version.clone(),
            }),
            Some(v) if version_of(v) != dep.version => changes.push(LockChange::VersionChanged {
                name: dep.name.clone(),
                from: dep.version.clone(),
                to: version_of(v),
            }),
            Some(_) => {
                let mut new_edges: Vec<String> = resolution
                    .edges
                    .get(&dep.name)
                    .into_iter()
                    .flatten()
                    .map(|e| format!("{} {} -> {}", e.name, e.req, e.resolved))
                    .collect();
                new_edges.sort();
                let (from, to) = (edges_text(dep), new_edges.join(", "));
                if from != to {
                    changes.push(LockChange::EdgesChanged {
                        name: dep.name.clone(),
                        version: dep.version.clone(),
                        from,
                        to,
                    });
                }
            }
        }
    }
    for (name, v) in &resolution.packages {
        if lock.package(name).is_none() {
            changes.push(LockChange::Added {
                name: name.clone(),
                version: version_of(v),
            });
        }
    }
    changes
}

fn by_name(lock: &Lock) -> BTreeMap<PackageName, &LockedPackage> {
    lock.dependencies
        .iter()
        .map(|d| (d.name.clone(), d))
        .collect()
}

/// Requirements grouped by package name (several on one name joined with `, `).
fn group(reqs: impl Iterator<Item = (PackageName, String)>) -> BTreeMap<PackageName, String> {
    let mut out: BTreeMap<PackageName, Vec<String>> = BTreeMap::new();
    for (name, req) in reqs {
        out.entry(name).or_default().push(req);
    }
    out.into_iter()
        .map(|(n, mut reqs)| {
            reqs.sort();
            (n, reqs.join(", "))
        })
        .collect()
}

fn diff_roots(
    old: &BTreeMap<PackageName, String>,
    new: &BTreeMap<PackageName, String>,
    changes: &mut Vec<LockChange>,
) {
    for (name, req) in old {
        match new.get(name) {
            None => changes.push(LockChange::RootRemoved {
                req: format!("{name}@{req}"),
            }),
            Some(n) if n != req => changes.push(LockChange::RootChanged {
                name: name.clone(),
                from: req.clone(),
                to: n.clone(),
            }),
            Some(_) => {}
        }
    }
    for (name, req) in new {
        if !old.contains_key(name) {
            changes.push(LockChange::RootAdded {
                req: format!("{name}@{req}"),
            });
        }
    }
}

fn edges_text(dep: &LockedPackage) -> String {
    let mut edges: Vec<String> = dep
        .deps
        .iter()
        .map(|e| format!("{} {} -> {}", e.name, e.req, e.resolved))
        .collect();
    edges.sort();
    edges.join(", ")
}

/// The recorded fields (other than name, version and edges) that differ.
fn changed_fields(o: &LockedPackage, n: &LockedPackage) -> Vec<&'static str> {
    let mut fields = Vec::new();
    let mut check = |differs: bool, field| {
        if differs {
            fields.push(field)
        }
    };
    check(o.path != n.path, "path");
    check(o.source != n.source, "source");
    check(o.archive_sha256 != n.archive_sha256, "archive_sha256");
    check(o.index_signature != n.index_signature, "index_signature");
    check(
        o.package_manifest_sha256 != n.package_manifest_sha256,
        "package_manifest_sha256",
    );
    check(o.module_root != n.module_root, "module_root");
    check(o.modules_sha256 != n.modules_sha256, "modules_sha256");
    check(o.files_sha256 != n.files_sha256, "files_sha256");
    check(o.yanked != n.yanked, "yanked");
    check(o.advisories != n.advisories, "advisories");
    check(o.overridden_by != n.overridden_by, "overridden_by");
    fields
}
