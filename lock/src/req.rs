//! Version requirements (`^1.2`, `>=0.2.2, <0.3.0`, `1.*`, `=1.0.0-rc.1`) and `name@REQ` strings.
//!
//! A requirement is an AND of comparators separated by commas or spaces. Matching has two parts:
//! the comparators' interval by semver precedence, and the pre-release rule: a pre-release matches
//! only when a comparator names a pre-release of the same `major.minor.patch`, or when the caller
//! asks for pre-releases. Build metadata never affects matching.

use std::cmp::Ordering;
use std::fmt;
use std::ops::Bound;
use std::str::FromStr;

use pubgrub::Ranges;
use semver::{BuildMetadata, Prerelease, Version};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use x07_spec::PackageName;

/// How a comparator relates a version to its operand.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Op {
    /// `=V`, or a bare `V`.
    Exact,
    /// `>V`.
    Greater,
    /// `>=V`.
    GreaterEq,
    /// `<V`.
    Less,
    /// `<=V`.
    LessEq,
    /// `^V`: changes that do not touch the leftmost non-zero part.
    Caret,
    /// `~V`: patch-level changes (minor-level when only the major is given).
    Tilde,
    /// `*`, `1.*`, `1.2.*`.
    Wildcard,
}

impl Op {
    fn symbol(self) -> &'static str {
        match self {
            Op::Exact => "=",
            Op::Greater => ">",
            Op::GreaterEq => ">=",
            Op::Less => "<",
            Op::LessEq => "<=",
            Op::Caret => "^",
            Op::Tilde => "~",
            Op::Wildcard => "",
        }
    }
}

/// One comparator: an operator and a possibly partial version (`^1`, `>=1.2`, `=1.0.0-rc.1`, `1.*`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Comparator {
    /// The operator.
    pub op: Op,
    /// Major part; `None` only for the bare wildcard `*`.
    pub major: Option<u64>,
    /// Minor part, when written.
    pub minor: Option<u64>,
    /// Patch part, when written.
    pub patch: Option<u64>,
    /// Pre-release part; only present with all three numbers.
    pub pre: Prerelease,
}

/// A version requirement: an AND of comparators. Displays as canonical text (`>=1.2.0, <2.0.0`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct VersionReq {
    comparators: Vec<Comparator>,
}

/// A requirement text that does not parse: the text and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("requirement `{req}`: {kind}")]
pub struct ReqError {
    /// The requirement as written.
    pub req: String,
    /// What is wrong.
    pub kind: ReqErrorKind,
}

/// What is wrong with a requirement text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReqErrorKind {
    /// Nothing but separators.
    #[error("it is empty; write `*` to accept any version")]
    Empty,
    /// `||` or another way of writing OR.
    #[error("`||` is not supported; a requirement is an AND of comparators (widen it, e.g. `>=1.0.0, <3.0.0`)")]
    Or,
    /// An operator with no version after it.
    #[error("operator `{0}` must be followed by a version")]
    MissingVersion(String),
    /// A part that is not a version.
    #[error("`{part}` is not a version: {why} (expected MAJOR[.MINOR[.PATCH[-PRE]]])")]
    BadVersion {
        /// The offending part.
        part: String,
        /// Why it is not a version.
        why: &'static str,
    },
    /// A wildcard combined with an operator or followed by more parts.
    #[error("`{0}` misuses `*`; write `*`, `1.*` or `1.2.*` on its own")]
    BadWildcard(String),
    /// Build metadata in a requirement.
    #[error("`{0}` carries build metadata (`+...`), which never affects matching; remove it")]
    BuildMetadata(String),
}

/// A `name@REQ` string, as listed in `meta.requires_packages` (`ext-net@^0.1`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PackageReq {
    /// The package.
    pub name: PackageName,
    /// The versions accepted.
    pub req: VersionReq,
}

/// A `name@REQ` string that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PackageReqError {
    /// No `@` separates the name from the requirement.
    #[error("dependency `{0}` must be written NAME@REQ, e.g. `{0}@^1.0`")]
    MissingAt(String),
    /// The name part is not a package name.
    #[error("dependency `{text}`: {source}")]
    Name {
        /// The whole string.
        text: String,
        /// Why the name is invalid.
        source: x07_spec::package_id::PackageNameError,
    },
    /// The requirement part does not parse.
    #[error("dependency `{text}`: {source}")]
    Req {
        /// The whole string.
        text: String,
        /// Why the requirement is invalid.
        source: ReqError,
    },
}

impl VersionReq {
    /// `*`: every version (pre-releases still only when asked for).
    pub fn any() -> Self {
        Self {
            comparators: vec![Comparator::new(
                Op::Wildcard,
                None,
                None,
                None,
                Prerelease::EMPTY,
            )],
        }
    }

    /// `=V` for an exact version.
    pub fn exact(v: &Version) -> Self {
        Self {
            comparators: vec![Comparator::new(
                Op::Exact,
                Some(v.major),
                Some(v.minor),
                Some(v.patch),
                v.pre.clone(),
            )],
        }
    }

    /// Parses requirement text (see the module docs for the grammar).
    pub fn parse(text: &str) -> Result<Self, ReqError> {
        let fail = |kind| ReqError {
            req: text.to_string(),
            kind,
        };
        if text.contains('|') {
            return Err(fail(ReqErrorKind::Or));
        }
        let mut comparators = Vec::new();
        let mut pending_op: Option<&str> = None;
        for token in text.split([',', ' ', '\t']).filter(|t| !t.is_empty()) {
            let token_owned;
            let token = match pending_op.take() {
                Some(op) => {
                    token_owned = format!("{op}{token}");
                    token_owned.as_str()
                }
                None => token,
            };
            let (op, rest) = split_op(token);
            if rest.is_empty() {
                match op {
                    Some(op) => {
                        pending_op = Some(op.symbol());
                        continue;
                    }
                    None => return Err(fail(ReqErrorKind::Empty)),
                }
            }
            comparators.push(parse_comparator(op, rest, token).map_err(fail)?);
        }
        if let Some(op) = pending_op {
            return Err(fail(ReqErrorKind::MissingVersion(op.to_string())));
        }
        if comparators.is_empty() {
            return Err(fail(ReqErrorKind::Empty));
        }
        Ok(Self { comparators })
    }

    /// The comparators, in the order written.
    pub fn comparators(&self) -> &[Comparator] {
        &self.comparators
    }

    /// Whether `v` satisfies every comparator and the pre-release rule; `allow_prerelease` lets any
    /// pre-release inside the interval match.
    pub fn matches(&self, v: &Version, allow_prerelease: bool) -> bool {
        self.comparators.iter().all(|c| c.contains(v))
            && (v.pre.is_empty() || allow_prerelease || self.names_prerelease_of(v))
    }

    /// Whether `v` lies inside the interval, ignoring the pre-release rule (how `x07c_compat` is
    /// checked, so that a development build of the toolchain still counts).
    pub fn contains_by_precedence(&self, v: &Version) -> bool {
        self.comparators.iter().all(|c| c.contains(v))
    }

    /// Whether a comparator names a pre-release of `v`'s `major.minor.patch`.
    fn names_prerelease_of(&self, v: &Version) -> bool {
        self.comparators.iter().any(|c| {
            !c.pre.is_empty()
                && c.major == Some(v.major)
                && c.minor == Some(v.minor)
                && c.patch == Some(v.patch)
        })
    }

    /// The interval as pubgrub ranges over [`Version`] order (build metadata included in that order,
    /// so bounds step over every `+build` of a version). The pre-release rule is not expressible as
    /// finitely many intervals; the resolver removes the excluded pre-releases it knows of.
    pub fn to_ranges(&self) -> Ranges<Version> {
        self.comparators.iter().fold(Ranges::full(), |acc, c| {
            let (lo, hi) = c.bounds();
            acc.intersection(&Ranges::from_range_bounds((lo, hi)))
        })
    }
}

impl Comparator {
    fn new(
        op: Op,
        major: Option<u64>,
        minor: Option<u64>,
        patch: Option<u64>,
        pre: Prerelease,
    ) -> Self {
        Self {
            op,
            major,
            minor,
            patch,
            pre,
        }
    }

    /// The full version the comparator's operand stands for (missing parts are zero).
    fn floor(&self) -> Version {
        Version {
            major: self.major.unwrap_or(0),
            minor: self.minor.unwrap_or(0),
            patch: self.patch.unwrap_or(0),
            pre: self.pre.clone(),
            build: BuildMetadata::EMPTY,
        }
    }

    /// The first version past the operand's written precision: `1` → 2.0.0, `1.2` → 1.3.0.
    /// Only called when the operand is partial.
    fn past_partial(&self) -> Version {
        match (self.major, self.minor) {
            (Some(m), None) => Version::new(m + 1, 0, 0),
            (Some(m), Some(n)) => Version::new(m, n + 1, 0),
            (None, _) => unreachable!("`*` has no upper bound"),
        }
    }

    fn is_full(&self) -> bool {
        self.patch.is_some()
    }

    /// Lower and upper bound of the comparator's interval.
    fn bounds(&self) -> (Bound<Version>, Bound<Version>) {
        use Bound::{Excluded, Included, Unbounded};
        let floor = self.floor();
        match self.op {
            Op::Wildcard if self.major.is_none() => (Unbounded, Unbounded),
            Op::Exact | Op::Wildcard if !self.is_full() => {
                (Included(floor), Excluded(lowest_pre(self.past_partial())))
            }
            Op::Exact | Op::Wildcard => (Included(floor.clone()), Excluded(after_builds(&floor))),
            Op::Greater if self.is_full() => (Included(after_builds(&floor)), Unbounded),
            Op::Greater => (Included(self.past_partial()), Unbounded),
            Op::GreaterEq => (Included(floor), Unbounded),
            Op::Less => (Unbounded, Excluded(floor)),
            Op::LessEq if self.is_full() => (Unbounded, Excluded(after_builds(&floor))),
            Op::LessEq => (Unbounded, Excluded(lowest_pre(self.past_partial()))),
            Op::Caret => {
                let major = self.major.unwrap_or(0);
                let upper = match (major, self.minor, self.patch) {
                    (0, None, _) => Version::new(1, 0, 0),
                    (0, Some(0), None) => Version::new(0, 1, 0),
                    (0, Some(0), Some(p)) => Version::new(0, 0, p + 1),
                    (0, Some(m), _) => Version::new(0, m + 1, 0),
                    (m, _, _) => Version::new(m + 1, 0, 0),
                };
                (Included(floor), Excluded(lowest_pre(upper)))
            }
            Op::Tilde => {
                let major = self.major.unwrap_or(0);
                let upper = match self.minor {
                    None => Version::new(major + 1, 0, 0),
                    Some(m) => Version::new(major, m + 1, 0),
                };
                (Included(floor), Excluded(lowest_pre(upper)))
            }
        }
    }

    /// Whether `v` lies inside the interval (semver precedence, build metadata ignored).
    fn contains(&self, v: &Version) -> bool {
        let (lo, hi) = self.bounds();
        let above = match &lo {
            Bound::Included(b) => cmp_ignoring_build(v, b) != Ordering::Less,
            Bound::Excluded(b) => cmp_ignoring_build(v, b) == Ordering::Greater,
            Bound::Unbounded => true,
        };
        let below = match &hi {
            Bound::Included(b) => cmp_ignoring_build(v, b) != Ordering::Greater,
            Bound::Excluded(b) => cmp_ignoring_build(v, b) == Ordering::Less,
            Bound::Unbounded => true,
        };
        above && below
    }
}

/// Compares by semver precedence: build metadata ignored.
fn cmp_ignoring_build(a: &Version, b: &Version) -> Ordering {
    a.cmp_precedence(b)
}

/// The lowest pre-release of a release (`2.0.0` → `2.0.0-0`): an upper bound written this way
/// keeps the next release's pre-releases out.
fn lowest_pre(mut v: Version) -> Version {
    v.pre = Prerelease::new("0").expect("`0` is a valid pre-release");
    v
}

/// The smallest version above every `+build` of `v` (by [`Version`]'s total order).
fn after_builds(v: &Version) -> Version {
    if v.pre.is_empty() {
        lowest_pre(Version::new(v.major, v.minor, v.patch + 1))
    } else {
        let mut next = v.clone();
        next.pre = Prerelease::new(&format!("{}.0", v.pre))
            .expect("appending `.0` keeps a pre-release valid");
        next.build = BuildMetadata::EMPTY;
        next
    }
}

/// Splits a leading operator off a token.
fn split_op(token: &str) -> (Option<Op>, &str) {
    for (sym, op) in [
        (">=", Op::GreaterEq),
        ("<=", Op::LessEq),
        (">", Op::Greater),
        ("<", Op::Less),
        ("=", Op::Exact),
        ("^", Op::Caret),
        ("~", Op::Tilde),
    ] {
        if let Some(rest) = token.strip_prefix(sym) {
            return (Some(op), rest);
        }
    }
    (None, token)
}

fn parse_comparator(op: Option<Op>, text: &str, token: &str) -> Result<Comparator, ReqErrorKind> {
    let bad = |why| ReqErrorKind::BadVersion {
        part: text.to_string(),
        why,
    };
    if text.contains('+') {
        return Err(ReqErrorKind::BuildMetadata(token.to_string()));
    }
    if text.contains('*') {
        if op.is_some() {
            return Err(ReqErrorKind::BadWildcard(token.to_string()));
        }
        let parts: Vec<&str> = text.split('.').collect();
        let wildcard = |major, minor| {
            Ok(Comparator::new(
                Op::Wildcard,
                major,
                minor,
                None,
                Prerelease::EMPTY,
            ))
        };
        return match parts.as_slice() {
            ["*"] => wildcard(None, None),
            [m, "*"] => wildcard(Some(parse_number(m).map_err(bad)?), None),
            [m, n, "*"] => wildcard(
                Some(parse_number(m).map_err(bad)?),
                Some(parse_number(n).map_err(bad)?),
            ),
            _ => Err(ReqErrorKind::BadWildcard(token.to_string())),
        };
    }
    let (core, pre) = match text.split_once('-') {
        Some((core, pre)) => (core, Some(pre)),
        None => (text, None),
    };
    let numbers: Vec<&str> = core.split('.').collect();
    if numbers.len() > 3 {
        return Err(bad("it has more than three numbers"));
    }
    let mut parsed = [None; 3];
    for (slot, n) in parsed.iter_mut().zip(&numbers) {
        *slot = Some(parse_number(n).map_err(bad)?);
    }
    let pre = match pre {
        None => Prerelease::EMPTY,
        Some(_) if numbers.len() < 3 => {
            return Err(bad("a pre-release needs all of MAJOR.MINOR.PATCH"))
        }
        Some(p) => Prerelease::new(p)
            .ok()
            .filter(|p| !p.is_empty() && p.split('.').all(valid_pre_identifier))
            .ok_or_else(|| {
                bad("the pre-release part must be dot-separated [0-9A-Za-z-] identifiers")
            })?,
    };
    Ok(Comparator::new(
        op.unwrap_or(Op::Exact),
        parsed[0],
        parsed[1],
        parsed[2],
        pre,
    ))
}

fn valid_pre_identifier(id: &str) -> bool {
    !id.is_empty() && (!id.bytes().all(|b| b.is_ascii_digit()) || id == "0" || !id.starts_with('0'))
}

fn parse_number(s: &str) -> Result<u64, &'static str> {
    if s.is_empty() {
        return Err("a number is missing");
    }
    if !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err("a part is not a number");
    }
    if s.len() > 1 && s.starts_with('0') {
        return Err("a number has a leading zero");
    }
    s.parse().map_err(|_| "a number is too large")
}

impl fmt::Display for Comparator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.op == Op::Wildcard {
            return match (self.major, self.minor) {
                (None, _) => f.write_str("*"),
                (Some(m), None) => write!(f, "{m}.*"),
                (Some(m), Some(n)) => write!(f, "{m}.{n}.*"),
            };
        }
        f.write_str(self.op.symbol())?;
        let mut parts = [self.major, self.minor, self.patch]
            .into_iter()
            .map_while(|p| p);
        if let Some(first) = parts.next() {
            write!(f, "{first}")?;
        }
        for p in parts {
            write!(f, ".{p}")?;
        }
        if !self.pre.is_empty() {
            write!(f, "-{}", self.pre)?;
        }
        Ok(())
    }
}

impl fmt::Display for VersionReq {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, c) in self.comparators.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{c}")?;
        }
        Ok(())
    }
}

impl FromStr for VersionReq {
    type Err = ReqError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl Serialize for VersionReq {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for VersionReq {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::parse(&s).map_err(serde::de::Error::custom)
    }
}

impl PackageReq {
    /// Parses `name@REQ`.
    pub fn parse(text: &str) -> Result<Self, PackageReqError> {
        let (name, req) = text
            .split_once('@')
            .ok_or_else(|| PackageReqError::MissingAt(text.to_string()))?;
        let name = PackageName::new(name).map_err(|source| PackageReqError::Name {
            text: text.to_string(),
            source,
        })?;
        let req = VersionReq::parse(req).map_err(|source| PackageReqError::Req {
            text: text.to_string(),
            source,
        })?;
        Ok(Self { name, req })
    }
}

impl TryFrom<&x07_spec::package::PackageRequirement> for PackageReq {
    type Error = PackageReqError;
    /// Parses the requirement of a manifest's `meta.requires_packages` entry.
    fn try_from(r: &x07_spec::package::PackageRequirement) -> Result<Self, Self::Error> {
        let req = VersionReq::parse(r.req.as_str()).map_err(|source| PackageReqError::Req {
            text: r.to_string(),
            source,
        })?;
        Ok(Self {
            name: r.name.clone(),
            req,
        })
    }
}

impl fmt::Display for PackageReq {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{}", self.name, self.req)
    }
}

impl FromStr for PackageReq {
    type Err = PackageReqError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

#[cfg(test)]
mod tests;
