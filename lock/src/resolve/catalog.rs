//! The in-memory catalog the resolver reads: every known version of every package, with what the
//! index line says about it. Filled by the registry client (tests fill it by hand); the solver
//! never does I/O.

use std::collections::{BTreeMap, HashMap};

use semver::Version;
use x07_spec::package::ModuleId;
use x07_spec::PackageName;

use crate::req::VersionReq;

/// What the catalog knows about one version of a package.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CatalogVersion {
    /// Its `meta.requires_packages`, as `(name, requirement)`.
    pub deps: Vec<(PackageName, VersionReq)>,
    /// Whether the registry has yanked it (skipped unless it is the locked version).
    pub yanked: bool,
    /// The toolchain versions it works with (`meta.x07c_compat`); `None` means any.
    pub x07c_compat: Option<VersionReq>,
    /// The module ids it provides.
    pub modules: Vec<ModuleId>,
}

/// Every known version of every package, sorted by version.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    packages: HashMap<PackageName, BTreeMap<Version, CatalogVersion>>,
}

impl Catalog {
    /// An empty catalog.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds (or replaces) one version of a package; returns the entry it replaced.
    pub fn insert(
        &mut self,
        name: PackageName,
        version: Version,
        entry: CatalogVersion,
    ) -> Option<CatalogVersion> {
        self.packages
            .entry(name)
            .or_default()
            .insert(version, entry)
    }

    /// Makes `version` the only version of `name` (a local package shadows the registry's).
    pub fn replace_package(&mut self, name: PackageName, version: Version, entry: CatalogVersion) {
        self.packages
            .insert(name, BTreeMap::from([(version, entry)]));
    }

    /// All versions of a package, lowest first; `None` when the package is unknown.
    pub fn versions(&self, name: &PackageName) -> Option<&BTreeMap<Version, CatalogVersion>> {
        self.packages.get(name)
    }

    /// One version of a package.
    pub fn get(&self, name: &PackageName, version: &Version) -> Option<&CatalogVersion> {
        self.packages.get(name)?.get(version)
    }

    /// Whether the catalog has any version of `name`.
    pub fn contains(&self, name: &PackageName) -> bool {
        self.packages.contains_key(name)
    }

    /// How many packages the catalog knows.
    pub fn package_count(&self) -> usize {
        self.packages.len()
    }
}
