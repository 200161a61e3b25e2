//! Conflict explanations in plain words: pubgrub's derivation-tree reporter with our own phrasing
//! (requirement text as written, concrete version lists, why versions were unusable).

use std::ops::Bound;
use std::sync::Arc;

use pubgrub::{
    DefaultStringReporter, DerivationTree, Derived, External, Map, Ranges, ReportFormatter,
    Reporter, Term,
};
use semver::Version;
use x07_spec::PackageName;

use super::provider::{Node, Provider, Unavailable, Unusable};

type Tree = DerivationTree<Node, Ranges<Version>, Unavailable>;
type Ext = External<Node, Ranges<Version>, Unavailable>;
type Der = Derived<Node, Ranges<Version>, Unavailable>;
type Terms = Map<Node, Term<Ranges<Version>>>;

/// The explanation of a failed solve, one sentence per line.
pub(crate) fn explain(tree: &Tree, provider: &Provider<'_>) -> String {
    let mut tree = tree.clone();
    drop_leftover_gaps(&mut tree, provider);
    let text = DefaultStringReporter::report_with_formatter(&tree, &PlainWords { provider });
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .collect::<Vec<_>>()
        .join("\n")
}

/// Removes the "no version of ext-a in >1.0.0, <2.0.0" facts pubgrub records after it has ruled
/// out the versions that exist one by one: they name a leftover gap between catalog versions, not
/// a reason. A gap that still holds unusable versions (yanked, wrong toolchain) is kept, and so is
/// a requirement no version meets (its bounds are not catalog versions).
fn drop_leftover_gaps(tree: &mut Tree, provider: &Provider<'_>) {
    let DerivationTree::Derived(derived) = tree else {
        return;
    };
    drop_leftover_gaps(Arc::make_mut(&mut derived.cause1), provider);
    drop_leftover_gaps(Arc::make_mut(&mut derived.cause2), provider);
    let merged = match (derived.cause1.as_ref(), derived.cause2.as_ref()) {
        (DerivationTree::External(External::NoVersions(Node::Package(p), gap)), other)
        | (other, DerivationTree::External(External::NoVersions(Node::Package(p), gap)))
            if is_leftover_gap(p, gap, provider) =>
        {
            absorb_gap(other, p, gap)
        }
        _ => None,
    };
    if let Some(merged) = merged {
        *tree = merged;
    }
}

fn is_leftover_gap(name: &PackageName, gap: &Ranges<Version>, provider: &Provider<'_>) -> bool {
    let Some(versions) = provider.catalog.versions(name) else {
        return false;
    };
    let bounded_by_catalog_version = gap.iter().any(|(lo, hi)| {
        // Pre-releases the requirement leaves out also bound its ranges; they were never tried.
        [lo, hi].into_iter().any(|b| {
            matches!(b, Bound::Excluded(v) if versions.contains_key(v) && (v.pre.is_empty() || provider.allow_prerelease))
        })
    });
    bounded_by_catalog_version && !versions.keys().any(|v| gap.contains(v))
}

/// The sibling fact with the gap folded in (or the sibling alone when it is derived).
fn absorb_gap(other: &Tree, name: &PackageName, gap: &Ranges<Version>) -> Option<Tree> {
    let is = |p: &Node| matches!(p, Node::Package(n) if n == name);
    let external = match other {
        DerivationTree::Derived(_) => return Some(other.clone()),
        DerivationTree::External(e) => e,
    };
    let merged = match external {
        External::FromDependencyOf(p1, r1, p2, r2) if is(p1) => {
            External::FromDependencyOf(p1.clone(), r1.union(gap), p2.clone(), r2.clone())
        }
        External::FromDependencyOf(p1, r1, p2, r2) if is(p2) => {
            External::FromDependencyOf(p1.clone(), r1.clone(), p2.clone(), r2.union(gap))
        }
        External::Custom(p, r, why) if is(p) => {
            External::Custom(p.clone(), r.union(gap), why.clone())
        }
        _ => return None,
    };
    Some(DerivationTree::External(merged))
}

/// Versions listed one by one up to this many; beyond it, as a range.
const LIST_LIMIT: usize = 4;

struct PlainWords<'p, 'a> {
    provider: &'p Provider<'a>,
}

impl PlainWords<'_, '_> {
    fn catalog_versions_in<'s>(
        &'s self,
        name: &PackageName,
        set: &'s Ranges<Version>,
    ) -> Vec<&'s Version> {
        self.provider
            .catalog
            .versions(name)
            .map(|vs| vs.keys().filter(|v| set.contains(*v)).collect())
            .unwrap_or_default()
    }

    /// "ext-a 1.2.0", "every version of ext-a", "ext-a 1.0.0 and 1.1.0"; and whether it is plural.
    fn subject(&self, node: &Node, set: &Ranges<Version>) -> (String, bool) {
        let Node::Package(name) = node else {
            return ("the project".to_string(), false);
        };
        let inside = self.catalog_versions_in(name, set);
        let total = self
            .provider
            .catalog
            .versions(name)
            .map_or(0, |vs| vs.len());
        match inside.len() {
            1 => (format!("{name} {}", inside[0]), false),
            n if n == total && n > 1 => (format!("every version of {name}"), false),
            n if (2..=LIST_LIMIT).contains(&n) => {
                (format!("{name} {}", list(&inside, "and")), true)
            }
            _ => (format!("{name} {}", show_ranges(set)), false),
        }
    }

    /// "ext-b ^1" (the requirement as written when we know it), "ext-b 1.0.0 or 1.1.0", "ext-b".
    fn object(&self, node: &Node, set: &Ranges<Version>) -> String {
        let Node::Package(name) = node else {
            return "the project".to_string();
        };
        if let Some(text) = self.provider.requirement_text(name, set) {
            return format!("{name} {text}");
        }
        if set == &Ranges::full() {
            return name.to_string();
        }
        let inside = self.catalog_versions_in(name, set);
        match inside.len() {
            1..=LIST_LIMIT => format!("{name} {}", list(&inside, "or")),
            _ => format!("{name} {}", show_ranges(set)),
        }
    }

    /// Why no version of `name` in `set` can be used, as a clause.
    fn why_none(&self, name: &PackageName, set: &Ranges<Version>) -> String {
        let Some(all) = self.provider.catalog.versions(name) else {
            return format!("the registry has no package named {name}");
        };
        let wanted = requirement_part(&self.object(&Node::Package(name.clone()), set), name);
        let unusable: Vec<String> = all
            .iter()
            .filter(|(v, _)| set.contains(*v))
            .filter_map(|(v, e)| self.provider.unusable(name, v, e).map(|why| (v, why)))
            .map(|(v, why)| match why {
                Unusable::Yanked => format!("{v} is yanked"),
                Unusable::Toolchain(req) => format!(
                    "{v} needs toolchain {req} (this is {})",
                    self.provider.toolchain
                ),
            })
            .collect();
        if !unusable.is_empty() {
            return format!(
                "no version of {name} matching {wanted} is usable: {}",
                unusable.join("; ")
            );
        }
        let mut text = format!("no version of {name} matches {wanted}");
        let skipped_pre: Vec<&Version> = all
            .keys()
            .filter(|v| !v.pre.is_empty() && !set.contains(*v) && within_bounds(set, v))
            .collect();
        if !skipped_pre.is_empty() {
            let plural = if skipped_pre.len() == 1 {
                "is a pre-release"
            } else {
                "are pre-releases"
            };
            text.push_str(&format!(
                " ({} {plural}, used only when a requirement names one or pre-releases are allowed)",
                list(&skipped_pre, "and")
            ));
        } else {
            let newest: Vec<&Version> = all.keys().rev().take(LIST_LIMIT).collect();
            text.push_str(&format!(" (available: {})", list(&newest, "and")));
        }
        text
    }
}

/// Whether `v` lies between the lowest and highest bound of `set`.
fn within_bounds(set: &Ranges<Version>, v: &Version) -> bool {
    let Some((lo, hi)) = set.bounding_range() else {
        return false;
    };
    let above = match lo {
        Bound::Included(b) => v >= b,
        Bound::Excluded(b) => v > b,
        Bound::Unbounded => true,
    };
    let below = match hi {
        Bound::Included(b) => v <= b,
        Bound::Excluded(b) => v < b,
        Bound::Unbounded => true,
    };
    above && below
}

/// The requirement part of an object phrase ("ext-b ^1" → "^1"; "ext-b" → "any version").
fn requirement_part(object: &str, name: &PackageName) -> String {
    match object.strip_prefix(name.as_str()).map(str::trim) {
        Some("") | None => "any version".to_string(),
        Some(rest) => rest.to_string(),
    }
}

fn list(versions: &[&Version], conjunction: &str) -> String {
    match versions {
        [] => String::new(),
        [one] => one.to_string(),
        [init @ .., last] => {
            let init: Vec<String> = init.iter().map(|v| v.to_string()).collect();
            format!("{} {conjunction} {last}", init.join(", "))
        }
    }
}

/// A version's text for a bound: `2.0.0-0` (our "below every 2.0.0 pre-release" marker) reads `2.0.0`.
fn bound_version(v: &Version) -> String {
    if v.pre.as_str() == "0" && v.build.is_empty() {
        Version::new(v.major, v.minor, v.patch).to_string()
    } else {
        v.to_string()
    }
}

/// Ranges as requirement-like text, alternatives joined by "or".
fn show_ranges(set: &Ranges<Version>) -> String {
    let parts: Vec<String> = set
        .iter()
        .map(|(lo, hi)| {
            let lo = match lo {
                Bound::Included(v) => Some(format!(">={}", bound_version(v))),
                Bound::Excluded(v) => Some(format!(">{}", bound_version(v))),
                Bound::Unbounded => None,
            };
            let hi = match hi {
                Bound::Included(v) => Some(format!("<={}", bound_version(v))),
                Bound::Excluded(v) => Some(format!("<{}", bound_version(v))),
                Bound::Unbounded => None,
            };
            match (lo, hi) {
                (None, None) => "*".to_string(),
                (Some(l), None) => l,
                (None, Some(h)) => h,
                (Some(l), Some(h)) => format!("{l}, {h}"),
            }
        })
        .collect();
    if parts.is_empty() {
        "(no version)".to_string()
    } else {
        parts.join(" or ")
    }
}

impl PlainWords<'_, '_> {
    fn needs(
        &self,
        p: &Node,
        set_p: &Ranges<Version>,
        dep: &Node,
        set_dep: &Ranges<Version>,
    ) -> String {
        let (subject, plural) = self.subject(p, set_p);
        let verb = if plural { "need" } else { "needs" };
        format!("{subject} {verb} {}", self.object(dep, set_dep))
    }

    fn conclusion(&self, terms: &Terms) -> String {
        let root = terms
            .iter()
            .any(|(p, t)| *p == Node::Root && matches!(t, Term::Positive(_)));
        let others: Vec<(&Node, &Term<Ranges<Version>>)> =
            terms.iter().filter(|(p, _)| **p != Node::Root).collect();
        match (root, others.as_slice()) {
            (_, []) => "no set of versions satisfies every requirement".to_string(),
            (true, [(p, Term::Positive(r))]) => {
                format!("the project cannot use {}", self.subject(p, r).0)
            }
            (true, [(p, Term::Negative(r))]) => format!("the project needs {}", self.object(p, r)),
            (false, [(p, Term::Positive(r))]) => format!("{} cannot be used", self.subject(p, r).0),
            (false, [(p, Term::Negative(r))]) => format!("{} is required", self.object(p, r)),
            (false, [(p1, Term::Positive(r1)), (p2, Term::Negative(r2))])
            | (false, [(p2, Term::Negative(r2)), (p1, Term::Positive(r1))]) => {
                self.needs(p1, r1, p2, r2)
            }
            (_, many) => {
                let parts: Vec<String> = many
                    .iter()
                    .map(|(p, t)| match t {
                        Term::Positive(r) => self.subject(p, r).0,
                        Term::Negative(r) => format!("anything but {}", self.object(p, r)),
                    })
                    .collect();
                let (init, last) = parts.split_at(parts.len() - 1);
                let joined = format!("{} and {}", init.join(", "), last[0]);
                if root {
                    format!("the project cannot use {joined} together")
                } else {
                    format!("{joined} cannot be used together")
                }
            }
        }
    }

    /// Two facts worded as one sentence when they read better that way: two requirements on one
    /// package that cannot both hold, a requirement no version meets, or two of the project's own.
    fn combine(&self, a: &Ext, b: &Ext, terms: &Terms) -> Option<String> {
        match (a, b) {
            (External::FromDependencyOf(_, _, d1, _), External::FromDependencyOf(_, _, d2, _))
                if d1 == d2 && !terms.contains_key(d1) =>
            {
                // The project's own requirement reads best last: "X needs d ^2, but the project needs d ^1".
                let (first, second) = match a {
                    External::FromDependencyOf(Node::Root, ..) => (b, a),
                    _ => (a, b),
                };
                Some(format!(
                    "{}, but {}; no version satisfies both",
                    self.format_external(first),
                    self.format_external(second)
                ))
            }
            (
                External::FromDependencyOf(Node::Root, _, d1, r1),
                External::FromDependencyOf(Node::Root, _, d2, r2),
            ) => Some(format!(
                "the project needs {} and {}",
                self.object(d1, r1),
                self.object(d2, r2)
            )),
            (
                External::FromDependencyOf(p, sp, d, sd),
                External::NoVersions(Node::Package(n), set),
            )
            | (
                External::NoVersions(Node::Package(n), set),
                External::FromDependencyOf(p, sp, d, sd),
            ) if *d == Node::Package(n.clone()) => Some(format!(
                "{}, but {}",
                self.needs(p, sp, d, sd),
                self.why_none(n, set)
            )),
            _ => None,
        }
    }
}

impl ReportFormatter<Node, Ranges<Version>, Unavailable> for PlainWords<'_, '_> {
    type Output = String;

    fn format_external(&self, external: &Ext) -> String {
        match external {
            External::NotRoot(_, _) => "the project is being resolved".to_string(),
            External::NoVersions(Node::Package(name), set) => self.why_none(name, set),
            External::NoVersions(Node::Root, _) => "the project is unavailable".to_string(),
            External::Custom(p, set, why) => format!("{} {why}", self.subject(p, set).0),
            External::FromDependencyOf(p, set_p, dep, set_dep) => {
                self.needs(p, set_p, dep, set_dep)
            }
        }
    }

    fn format_terms(&self, terms: &Terms) -> String {
        self.conclusion(terms)
    }

    fn explain_both_external(&self, e1: &Ext, e2: &Ext, terms: &Terms) -> String {
        let conclusion = self.conclusion(terms);
        match self.combine(e1, e2, terms) {
            Some(both) => format!("{both}, so {conclusion}."),
            None => format!(
                "Because {} and {}, {conclusion}.",
                self.format_external(e1),
                self.format_external(e2)
            ),
        }
    }

    fn explain_both_ref(
        &self,
        id1: usize,
        d1: &Der,
        id2: usize,
        d2: &Der,
        terms: &Terms,
    ) -> String {
        format!(
            "Because {} ({id1}) and {} ({id2}), {}.",
            self.conclusion(&d1.terms),
            self.conclusion(&d2.terms),
            self.conclusion(terms)
        )
    }

    fn explain_ref_and_external(&self, id: usize, d: &Der, e: &Ext, terms: &Terms) -> String {
        format!(
            "Because {} ({id}) and {}, {}.",
            self.conclusion(&d.terms),
            self.format_external(e),
            self.conclusion(terms)
        )
    }

    fn and_explain_external(&self, e: &Ext, terms: &Terms) -> String {
        format!(
            "And because {}, {}.",
            self.format_external(e),
            self.conclusion(terms)
        )
    }

    fn and_explain_ref(&self, id: usize, d: &Der, terms: &Terms) -> String {
        format!(
            "And because {} ({id}), {}.",
            self.conclusion(&d.terms),
            self.conclusion(terms)
        )
    }

    fn and_explain_prior_and_external(&self, prior: &Ext, e: &Ext, terms: &Terms) -> String {
        let conclusion = self.conclusion(terms);
        match self.combine(prior, e, terms) {
            Some(both) => format!("And since {both}, {conclusion}."),
            None => format!(
                "And because {} and {}, {conclusion}.",
                self.format_external(prior),
                self.format_external(e)
            ),
        }
    }
}
