//! The pubgrub `DependencyProvider` over a [`Catalog`]: version choice (locked first, then the
//! highest usable), dependency ranges (cached per requirement), and the reasons a version is unusable.

use std::cell::RefCell;
use std::cmp::Reverse;
use std::collections::HashMap;
use std::convert::Infallible;
use std::fmt;

use pubgrub::{
    Dependencies, DependencyConstraints, DependencyProvider, PackageResolutionStatistics, Ranges,
};
use semver::Version;
use x07_spec::PackageName;

use super::catalog::{Catalog, CatalogVersion};
use crate::req::VersionReq;

/// A node of the solver's graph: the project itself or a package.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum Node {
    /// The project whose requirements are being resolved.
    Root,
    /// A package by name.
    Package(PackageName),
}

impl fmt::Display for Node {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Node::Root => f.write_str("the project"),
            Node::Package(name) => write!(f, "{name}"),
        }
    }
}

/// Why the solver may not use a version it was offered (custom incompatibilities).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Unavailable {
    /// The version requires itself with a requirement it does not meet.
    SelfConflict(VersionReq),
}

impl fmt::Display for Unavailable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Unavailable::SelfConflict(req) => {
                write!(f, "requires itself at {req}, which it does not satisfy")
            }
        }
    }
}

/// Why a catalog version is never chosen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Unusable {
    /// Yanked, and not the locked version.
    Yanked,
    /// Its `x07c_compat` excludes the running toolchain.
    Toolchain(VersionReq),
}

/// The version every solve starts from: the project's own (meaningless) version.
pub(crate) fn root_version() -> Version {
    Version::new(0, 0, 0)
}

/// The solver's view of the catalog plus the resolve options.
pub(crate) struct Provider<'a> {
    pub(crate) catalog: &'a Catalog,
    pub(crate) root_deps: &'a [(PackageName, VersionReq)],
    pub(crate) toolchain: &'a Version,
    pub(crate) allow_prerelease: bool,
    pub(crate) locked: HashMap<PackageName, Version>,
    /// Requirement → ranges over the catalog's versions of the dependency.
    ranges: RefCell<HashMap<(PackageName, VersionReq), Ranges<Version>>>,
    /// Ranges handed to the solver → the requirement text they came from, for explanations.
    texts: RefCell<HashMap<(PackageName, Ranges<Version>), String>>,
}

impl<'a> Provider<'a> {
    pub(crate) fn new(
        catalog: &'a Catalog,
        root_deps: &'a [(PackageName, VersionReq)],
        toolchain: &'a Version,
        allow_prerelease: bool,
        locked: HashMap<PackageName, Version>,
    ) -> Self {
        Self {
            catalog,
            root_deps,
            toolchain,
            allow_prerelease,
            locked,
            ranges: RefCell::default(),
            texts: RefCell::default(),
        }
    }

    /// Why `version` of `name` cannot be chosen, if it cannot.
    pub(crate) fn unusable(
        &self,
        name: &PackageName,
        version: &Version,
        entry: &CatalogVersion,
    ) -> Option<Unusable> {
        if let Some(compat) = &entry.x07c_compat {
            if !compat.contains_by_precedence(self.toolchain) {
                return Some(Unusable::Toolchain(compat.clone()));
            }
        }
        let locked = self.locked.get(name) == Some(version);
        (entry.yanked && !locked).then_some(Unusable::Yanked)
    }

    /// The requirement text that produced `ranges` for `name`, when the solver got it from us.
    pub(crate) fn requirement_text(
        &self,
        name: &PackageName,
        ranges: &Ranges<Version>,
    ) -> Option<String> {
        self.texts
            .borrow()
            .get(&(name.clone(), ranges.clone()))
            .cloned()
    }

    /// The ranges of `req` over the catalog: its interval minus the catalog's pre-releases that
    /// the pre-release rule leaves out.
    fn ranges_of(&self, name: &PackageName, req: &VersionReq) -> Ranges<Version> {
        let key = (name.clone(), req.clone());
        if let Some(r) = self.ranges.borrow().get(&key) {
            return r.clone();
        }
        let mut ranges = req.to_ranges();
        if let Some(versions) = self.catalog.versions(name) {
            for v in versions.keys() {
                if !v.pre.is_empty() && ranges.contains(v) && !req.matches(v, self.allow_prerelease)
                {
                    ranges = ranges.intersection(&Ranges::singleton(v.clone()).complement());
                }
            }
        }
        self.ranges.borrow_mut().insert(key, ranges.clone());
        ranges
    }

    /// The solver constraints for a list of requirements (several on one name are intersected).
    fn constraints(
        &self,
        deps: &[(PackageName, VersionReq)],
    ) -> DependencyConstraints<Node, Ranges<Version>> {
        let mut grouped: Vec<(&PackageName, Ranges<Version>, String)> = Vec::new();
        for (name, req) in deps {
            let ranges = self.ranges_of(name, req);
            match grouped.iter_mut().find(|(n, _, _)| *n == name) {
                Some((_, r, text)) => {
                    *r = r.intersection(&ranges);
                    text.push_str(&format!(", {req}"));
                }
                None => grouped.push((name, ranges, req.to_string())),
            }
        }
        let mut out = DependencyConstraints::default();
        let mut texts = self.texts.borrow_mut();
        for (name, ranges, text) in grouped {
            texts.entry((name.clone(), ranges.clone())).or_insert(text);
            out.insert(Node::Package(name.clone()), ranges);
        }
        out
    }

    /// Usable versions of `name` inside `range`, highest first.
    fn usable_in<'s>(
        &'s self,
        name: &'s PackageName,
        range: &'s Ranges<Version>,
    ) -> impl Iterator<Item = &'s Version> + 's {
        self.catalog
            .versions(name)
            .into_iter()
            .flat_map(|vs| vs.iter().rev())
            .filter(move |(v, e)| range.contains(*v) && self.unusable(name, v, e).is_none())
            .map(|(v, _)| v)
    }
}

impl DependencyProvider for Provider<'_> {
    type P = Node;
    type V = Version;
    type VS = Ranges<Version>;
    type M = Unavailable;
    type Priority = (u32, Reverse<usize>);
    type Err = Infallible;

    fn prioritize(
        &self,
        package: &Node,
        range: &Ranges<Version>,
        stats: &PackageResolutionStatistics,
    ) -> Self::Priority {
        match package {
            Node::Root => (u32::MAX, Reverse(0)),
            // Most-conflicted first, then the package with the fewest candidates: decisions that are
            // most likely to fail are tried early, which keeps backtracking short.
            Node::Package(name) => (
                stats.conflict_count(),
                Reverse(self.usable_in(name, range).count()),
            ),
        }
    }

    fn choose_version(
        &self,
        package: &Node,
        range: &Ranges<Version>,
    ) -> Result<Option<Version>, Infallible> {
        let name = match package {
            Node::Root => return Ok(Some(root_version())),
            Node::Package(name) => name,
        };
        if let Some(locked) = self.locked.get(name) {
            if range.contains(locked) {
                if let Some(entry) = self.catalog.get(name, locked) {
                    if self.unusable(name, locked, entry).is_none() {
                        return Ok(Some(locked.clone()));
                    }
                }
            }
        }
        Ok(self.usable_in(name, range).next().cloned())
    }

    fn get_dependencies(
        &self,
        package: &Node,
        version: &Version,
    ) -> Result<Dependencies<Node, Ranges<Version>, Unavailable>, Infallible> {
        let name = match package {
            Node::Root => return Ok(Dependencies::Available(self.constraints(self.root_deps))),
            Node::Package(name) => name,
        };
        let Some(entry) = self.catalog.get(name, version) else {
            // choose_version only returns catalog versions.
            return Ok(Dependencies::Available(DependencyConstraints::default()));
        };
        let mut deps = Vec::with_capacity(entry.deps.len());
        for (dep, req) in &entry.deps {
            if dep == name {
                if req.matches(version, true) {
                    continue;
                }
                return Ok(Dependencies::Unavailable(Unavailable::SelfConflict(
                    req.clone(),
                )));
            }
            deps.push((dep.clone(), req.clone()));
        }
        Ok(Dependencies::Available(self.constraints(&deps)))
    }
}
