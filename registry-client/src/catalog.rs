//! The resolver's catalog from verified index lines: every version of the named packages and of
//! everything any of their versions may depend on.

use std::collections::{BTreeMap, BTreeSet};

use x07_lock::{Catalog, CatalogVersion, VersionReq};
use x07_spec::package::ModuleId;
use x07_spec::PackageName;

use crate::client::RegistryClient;
use crate::error::RegistryError;
use crate::index_entry::IndexEntry;

/// One package's index entries, or why they could not be had.
type Fetched = Result<Vec<IndexEntry>, RegistryError>;

/// A resolver catalog and the index entries it was built from.
#[derive(Debug, Clone, Default)]
pub struct RegistryCatalog {
    /// What `x07_lock::resolve` reads.
    pub catalog: Catalog,
    /// The verified entries per package (to download the chosen versions and record their signatures).
    pub entries: BTreeMap<PackageName, Vec<IndexEntry>>,
    /// Names the index does not have (the resolver reports them if they are needed).
    pub missing: BTreeSet<PackageName>,
}

impl RegistryCatalog {
    /// The entry of one version.
    pub fn entry(&self, name: &PackageName, version: &semver::Version) -> Option<&IndexEntry> {
        self.entries
            .get(name)?
            .iter()
            .find(|e| e.semver() == version)
    }
}

/// What the resolver needs to know about one index line.
pub fn catalog_version(entry: &IndexEntry) -> Result<CatalogVersion, String> {
    let deps = entry
        .deps
        .iter()
        .map(|d| {
            VersionReq::parse(&d.req)
                .map(|r| (d.name.clone(), r))
                .map_err(|e| format!("requirement `{}` of `{}`: {e}", d.req, d.name))
        })
        .collect::<Result<_, _>>()?;
    let x07c_compat = match entry.x07c_compat.trim() {
        "" => None,
        text => Some(VersionReq::parse(text).map_err(|e| format!("x07c_compat `{text}`: {e}"))?),
    };
    let modules = entry
        .modules
        .iter()
        .map(|m| ModuleId::new(m.as_str()).map_err(|e| format!("module `{m}`: {e}")))
        .collect::<Result<_, _>>()?;
    Ok(CatalogVersion {
        deps,
        yanked: entry.yanked,
        x07c_compat,
        modules,
    })
}

impl RegistryClient {
    /// Fetches the index entries of `roots` and, transitively, of every package any version of
    /// them depends on, into a resolver catalog. Packages the index lacks are listed in `missing`;
    /// any other failure (offline with a cold cache, a bad signature) is an error. The graph is
    /// walked a level at a time, each level's index files fetched on up to 8 threads (one round
    /// trip per level on a real network, not one per package).
    pub fn catalog<'a>(
        &self,
        roots: impl IntoIterator<Item = &'a PackageName>,
    ) -> Result<RegistryCatalog, RegistryError> {
        let mut out = RegistryCatalog::default();
        let mut seen: BTreeSet<PackageName> = BTreeSet::new();
        let mut level: Vec<PackageName> = Vec::new();
        for name in roots {
            if seen.insert(name.clone()) {
                level.push(name.clone());
            }
        }
        while !level.is_empty() {
            let mut next = Vec::new();
            for (name, fetched) in self.fetch_level(&level) {
                let entries = match fetched {
                    Ok(e) => e,
                    Err(e) if e.is_not_found() => {
                        out.missing.insert(name);
                        continue;
                    }
                    Err(e) => return Err(e),
                };
                for entry in &entries {
                    let version =
                        catalog_version(entry).map_err(|reason| RegistryError::Catalog {
                            name: entry.name.clone(),
                            version: entry.version.clone(),
                            index: self.index_url().clone(),
                            reason,
                        })?;
                    for dep in &entry.deps {
                        if seen.insert(dep.name.clone()) {
                            next.push(dep.name.clone());
                        }
                    }
                    out.catalog
                        .insert(name.clone(), entry.semver().clone(), version);
                }
                out.entries.insert(name, entries);
            }
            level = next;
        }
        Ok(out)
    }

    /// The index entries of every name in `names`, fetched concurrently, in the order given.
    fn fetch_level(&self, names: &[PackageName]) -> Vec<(PackageName, Fetched)> {
        let fetched = x07_spec::parallel::map(names, 8, |name| self.index_entries(name));
        names.iter().cloned().zip(fetched).collect()
    }
}
