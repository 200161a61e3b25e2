//! Whether a lock fits x07.json, decided from the two files alone (no registry, no downloads, no
//! network client): the fast path of `x07 pkg lock`, `lock --check`, and of every build and run.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use semver::Version;
use x07_spec::{DepPath, PackageName, ProjectManifest};

use crate::lockfile::{DepSource, Lock};
use crate::req::{PackageReq, ReqError, VersionReq};
use crate::resolve::{resolve, Catalog, CatalogVersion, ResolveOptions};

/// One requirement of the project, from `dependencies` in x07.json.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RootRequirement {
    /// The package.
    pub name: PackageName,
    /// The versions accepted.
    pub req: VersionReq,
    /// A local package's directory (a `path` outside `.x07/deps/`); `None` for registry packages.
    pub local: Option<DepPath>,
    /// Its position in `dependencies` (for error messages).
    pub index: usize,
}

impl RootRequirement {
    /// As the resolver takes it.
    pub fn package_req(&self) -> PackageReq {
        PackageReq {
            name: self.name.clone(),
            req: self.req.clone(),
        }
    }
}

/// The requirements of x07.json do not parse.
#[derive(Debug, thiserror::Error)]
pub enum RequirementError {
    /// A dependency's `version` in x07.json is not a requirement.
    #[error("{}: dependencies[{index}].version: `{text}` ({name}): {source}", .file.display())]
    Version {
        /// x07.json.
        file: PathBuf,
        /// Position in `dependencies`.
        index: usize,
        /// The package.
        name: PackageName,
        /// What is written.
        text: String,
        /// Why it does not parse.
        source: ReqError,
    },
    /// `patch` overrides in x07.json, which are not built yet.
    #[error("{}: `patch` (overrides for {names}) is not supported yet", .file.display())]
    PatchUnsupported {
        /// x07.json.
        file: PathBuf,
        /// The patched package names.
        names: String,
    },
}

/// Every requirement in `dependencies` of `manifest` (read from `manifest_path`), parsed.
/// `patch` overrides are refused (not built yet) rather than ignored.
pub fn root_requirements(
    manifest_path: &Path,
    manifest: &ProjectManifest,
) -> Result<Vec<RootRequirement>, RequirementError> {
    if !manifest.patch.is_empty() {
        let names: Vec<&str> = manifest.patch.keys().map(|n| n.as_str()).collect();
        return Err(RequirementError::PatchUnsupported {
            file: manifest_path.to_path_buf(),
            names: names.join(", "),
        });
    }
    manifest
        .dependencies
        .iter()
        .enumerate()
        .map(|(index, dep)| {
            let req =
                VersionReq::parse(&dep.version).map_err(|source| RequirementError::Version {
                    file: manifest_path.to_path_buf(),
                    index,
                    name: dep.name.clone(),
                    text: dep.version.clone(),
                    source,
                })?;
            Ok(RootRequirement {
                name: dep.name.clone(),
                req,
                local: dep.local_path().cloned(),
                index,
            })
        })
        .collect()
}

/// `Ok` when resolving the requirements again would give exactly this lock: the same project
/// requirements, each local package at its x07.json path, the same registry (when `index` is
/// given), and a graph the resolver keeps as it is. Otherwise the reasons, one sentence each.
pub fn lock_satisfies(
    reqs: &[RootRequirement],
    lock: &Lock,
    index: Option<&str>,
    toolchain_version: &Version,
) -> Result<(), Vec<String>> {
    let mut reasons = Vec::new();
    let wanted: BTreeMap<String, String> = reqs
        .iter()
        .map(|r| (r.name.to_string(), r.req.to_string()))
        .collect();
    let locked: BTreeMap<String, String> = lock
        .root_deps
        .iter()
        .map(|r| (r.name.to_string(), r.req.to_string()))
        .collect();
    for (name, req) in &wanted {
        match locked.get(name) {
            None => reasons.push(format!(
                "x07.json requires {name} {req}, which the lock does not record"
            )),
            Some(l) if l != req => reasons.push(format!(
                "x07.json requires {name} {req}, the lock was made for {l}"
            )),
            Some(_) => {}
        }
    }
    for name in locked.keys().filter(|n| !wanted.contains_key(*n)) {
        reasons.push(format!(
            "the lock records a requirement on {name}, which x07.json no longer has"
        ));
    }
    for req in reqs {
        let Some(pkg) = lock.package(&req.name) else {
            continue;
        };
        match (&req.local, pkg.source) {
            (Some(path), DepSource::Path) if path.normalized() != pkg.path.normalized() => reasons
                .push(format!(
                    "x07.json has {} at {path}, the lock at {}",
                    req.name, pkg.path
                )),
            (Some(_), DepSource::Registry) => reasons.push(format!(
                "x07.json has {} as a local package, the lock from the registry",
                req.name
            )),
            (None, DepSource::Path) => reasons.push(format!(
                "x07.json has {} from the registry, the lock as a local package",
                req.name
            )),
            _ => {}
        }
    }
    let uses_registry = lock
        .dependencies
        .iter()
        .any(|d| d.source == DepSource::Registry);
    if let (Some(index), true) = (index, uses_registry) {
        match &lock.registry {
            Some(r) if r.index_url == index => {}
            Some(r) => reasons.push(format!(
                "the lock was made against {}, this command uses {index}",
                r.index_url
            )),
            None => reasons.push(format!(
                "the lock names no registry, this command uses {index}"
            )),
        }
    }
    if reasons.is_empty() {
        if let Err(reason) = graph_is_kept(reqs, lock, toolchain_version) {
            reasons.push(reason);
        }
    }
    if reasons.is_empty() {
        Ok(())
    } else {
        Err(reasons)
    }
}

/// Resolves against a catalog of only the locked versions and compares the result with the lock.
fn graph_is_kept(
    reqs: &[RootRequirement],
    lock: &Lock,
    toolchain_version: &Version,
) -> Result<(), String> {
    let mut catalog = Catalog::new();
    for pkg in &lock.dependencies {
        let version = Version::parse(pkg.version.as_str())
            .map_err(|e| format!("{} {}: {e}", pkg.name, pkg.version))?;
        let entry = CatalogVersion {
            deps: pkg
                .deps
                .iter()
                .map(|e| (e.name.clone(), e.req.clone()))
                .collect(),
            yanked: false,
            x07c_compat: None,
            modules: pkg.modules_sha256.keys().cloned().collect(),
        };
        catalog.insert(pkg.name.clone(), version, entry);
    }
    let root: Vec<_> = reqs.iter().map(RootRequirement::package_req).collect();
    let options = ResolveOptions {
        toolchain_version,
        allow_prerelease: true,
        locked: Some(lock),
    };
    let resolution = resolve(&root, &catalog, &options).map_err(|e| {
        format!(
            "the locked versions no longer satisfy the requirements ({})",
            first_line(&e.to_string())
        )
    })?;
    let mut extra = Vec::new();
    for pkg in &lock.dependencies {
        let chosen = resolution.packages.get(&pkg.name).map(ToString::to_string);
        if chosen.as_deref() != Some(pkg.version.as_str()) {
            extra.push(format!("{} {}", pkg.name, pkg.version));
        }
        let mut edges: Vec<String> = resolution
            .edges
            .get(&pkg.name)
            .into_iter()
            .flatten()
            .map(|e| format!("{}@{}", e.name, e.resolved))
            .collect();
        edges.sort();
        let mut recorded: Vec<String> = pkg
            .deps
            .iter()
            .map(|e| format!("{}@{}", e.name, e.resolved))
            .collect();
        recorded.sort();
        if chosen.is_some() && edges != recorded {
            return Err(format!(
                "the lock's edges of {} {} are not what its requirements resolve to",
                pkg.name, pkg.version
            ));
        }
    }
    if !extra.is_empty() {
        return Err(format!(
            "the lock holds packages nothing requires any more: {}",
            extra.join(", ")
        ));
    }
    if resolution.packages.len() != lock.dependencies.len() {
        return Err("the lock is missing packages the requirements need".to_string());
    }
    Ok(())
}

fn first_line(text: &str) -> &str {
    text.lines()
        .nth(1)
        .or_else(|| text.lines().next())
        .unwrap_or(text)
        .trim()
}
