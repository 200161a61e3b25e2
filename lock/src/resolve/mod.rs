//! Dependency resolution: pubgrub over an in-memory [`Catalog`], one version per package name.
//!
//! Yanked versions are skipped unless they are the locked version; versions whose `x07c_compat`
//! excludes the running toolchain are skipped; pre-releases are used only when a requirement names
//! one (of the same release) or the caller asks for them. A failed solve is explained in plain words.

mod catalog;
mod explain;
mod provider;

use std::collections::{BTreeMap, HashMap};

use pubgrub::PubGrubError;
use semver::Version;
use x07_spec::package::ModuleId;
use x07_spec::PackageName;

pub use catalog::{Catalog, CatalogVersion};
use provider::{root_version, Node, Provider};

use crate::lockfile::Lock;
use crate::req::{PackageReq, VersionReq};

/// How to resolve.
#[derive(Debug, Clone, Copy)]
pub struct ResolveOptions<'a> {
    /// The running toolchain's version, checked against each version's `x07c_compat`.
    pub toolchain_version: &'a Version,
    /// Whether any pre-release inside a requirement's interval may be chosen (`--pre`).
    pub allow_prerelease: bool,
    /// The existing lock: its versions are preferred, and a yanked locked version stays allowed.
    pub locked: Option<&'a Lock>,
}

/// One resolved dependency edge: who was asked for, with which requirement, and what was chosen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedDep {
    /// The dependency.
    pub name: PackageName,
    /// The requirement as declared.
    pub req: VersionReq,
    /// The version chosen for it.
    pub resolved: Version,
}

/// A successful resolution: one version per package, and the edges that led to each.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Resolution {
    /// Chosen version of every package in the graph.
    pub packages: BTreeMap<PackageName, Version>,
    /// The project's own requirements, resolved, in the order given.
    pub root: Vec<ResolvedDep>,
    /// Each package's requirements, resolved, in declaration order.
    pub edges: BTreeMap<PackageName, Vec<ResolvedDep>>,
}

/// Why resolution failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResolveError {
    /// No set of versions satisfies every requirement.
    #[error("cannot resolve the dependencies:\n{explanation}\nchange a requirement in x07.json (or ask the package's author) so that they overlap")]
    Conflict {
        /// The reasons, one sentence per line.
        explanation: String,
    },
    /// Two chosen packages provide the same module id.
    #[error("{0}")]
    ModuleCollision(Box<ModuleCollision>),
}

/// One module id provided by two chosen packages.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("module `{module}` is provided by both {first} {first_version} and {second} {second_version}; remove one of the packages from the dependencies")]
pub struct ModuleCollision {
    /// The module id.
    pub module: ModuleId,
    /// The first package providing it (by name order).
    pub first: PackageName,
    /// Its version.
    pub first_version: Version,
    /// The second package providing it.
    pub second: PackageName,
    /// Its version.
    pub second_version: Version,
}

/// Resolves the project's requirements against the catalog.
pub fn resolve(
    root: &[PackageReq],
    catalog: &Catalog,
    options: &ResolveOptions<'_>,
) -> Result<Resolution, ResolveError> {
    let root_deps: Vec<(PackageName, VersionReq)> = root
        .iter()
        .map(|r| (r.name.clone(), r.req.clone()))
        .collect();
    let locked: HashMap<PackageName, Version> = options
        .locked
        .map(Lock::locked_versions)
        .unwrap_or_default();
    let provider = Provider::new(
        catalog,
        &root_deps,
        options.toolchain_version,
        options.allow_prerelease,
        locked,
    );
    let selected = match pubgrub::resolve(&provider, Node::Root, root_version()) {
        Ok(selected) => selected,
        Err(PubGrubError::NoSolution(tree)) => {
            return Err(ResolveError::Conflict {
                explanation: explain::explain(&tree, &provider),
            });
        }
        Err(PubGrubError::ErrorRetrievingDependencies { source, .. }) => match source {},
        Err(PubGrubError::ErrorChoosingVersion { source, .. }) => match source {},
        Err(PubGrubError::ErrorInShouldCancel(source)) => match source {},
    };
    let packages: BTreeMap<PackageName, Version> = selected
        .into_iter()
        .filter_map(|(node, v)| match node {
            Node::Root => None,
            Node::Package(name) => Some((name, v)),
        })
        .collect();
    let resolved = |deps: &[(PackageName, VersionReq)]| -> Vec<ResolvedDep> {
        deps.iter()
            .filter_map(|(name, req)| {
                packages.get(name).map(|v| ResolvedDep {
                    name: name.clone(),
                    req: req.clone(),
                    resolved: v.clone(),
                })
            })
            .collect()
    };
    let root = resolved(&root_deps);
    let mut edges = BTreeMap::new();
    for (name, version) in &packages {
        let entry = catalog
            .get(name, version)
            .expect("the solver only picks catalog versions");
        // A self-requirement the version satisfies was dropped by the solver; leave it out here too.
        let deps: Vec<(PackageName, VersionReq)> = entry
            .deps
            .iter()
            .filter(|(d, _)| d != name)
            .cloned()
            .collect();
        edges.insert(name.clone(), resolved(&deps));
    }
    check_module_collisions(catalog, &packages)?;
    Ok(Resolution {
        packages,
        root,
        edges,
    })
}

/// One module id provided by two chosen packages is an error.
fn check_module_collisions(
    catalog: &Catalog,
    packages: &BTreeMap<PackageName, Version>,
) -> Result<(), ResolveError> {
    let mut providers: HashMap<&ModuleId, (&PackageName, &Version)> = HashMap::new();
    for (name, version) in packages {
        let entry = catalog
            .get(name, version)
            .expect("the solver only picks catalog versions");
        for module in &entry.modules {
            if let Some((first, first_version)) = providers.insert(module, (name, version)) {
                if first != name {
                    return Err(ResolveError::ModuleCollision(Box::new(ModuleCollision {
                        module: module.clone(),
                        first: first.clone(),
                        first_version: first_version.clone(),
                        second: name.clone(),
                        second_version: version.clone(),
                    })));
                }
            }
        }
    }
    Ok(())
}
