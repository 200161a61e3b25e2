//! The one version grammar of x07 packages, shared by manifests, the registry server, its index and
//! its clients: semver 2.0 (`MAJOR.MINOR.PATCH[-PRE][+BUILD]`), each of MAJOR, MINOR and PATCH
//! fitting in a u64, the whole text at most [`MAX_VERSION_BYTES`] bytes.
//!
//! Build metadata is kept in the text but is not part of a version's identity: `4.0.0+a` and
//! `4.0.0+b` are equal, hash alike and order alike (semver 2.0 §10), so a registry holding one
//! refuses the other as a duplicate.

use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};

use serde::{Deserialize, Serialize};

/// The longest version text accepted, in bytes.
pub const MAX_VERSION_BYTES: usize = 128;

/// An exact semantic version (`1.2.3`, `0.1.0-rc.1+build.5`); equality, hashing and ordering
/// follow semver precedence and ignore build metadata.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PackageVersion {
    text: String,
    /// End of `MAJOR.MINOR.PATCH` in `text` (the text is at most 128 bytes).
    core_end: u8,
    /// End of the pre-release (equal to `core_end` when there is none), where `+BUILD` starts.
    pre_end: u8,
}

/// A string that is not a valid version, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "version `{shown}` must be an exact semantic version such as 1.2.3 ({reason}; semver 2.0, no ranges, \
     MAJOR.MINOR.PATCH each at most 18446744073709551615, at most 128 bytes in all)",
    shown = shown(text)
)]
pub struct PackageVersionError {
    /// The refused text.
    pub text: String,
    /// What is wrong with it.
    pub reason: String,
}

/// The start of a long text, for messages.
fn shown(text: &str) -> String {
    match text.char_indices().nth(64) {
        Some((i, _)) => format!("{}…", &text[..i]),
        None => text.to_string(),
    }
}

/// Parses a numeric identifier without leading zeros into a u64.
fn core_number(part: &str, which: &str) -> Result<u64, String> {
    if part.is_empty() {
        return Err(format!("{which} is empty"));
    }
    if !part.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("{which} `{}` is not a number", shown(part)));
    }
    if part.len() > 1 && part.starts_with('0') {
        return Err(format!("{which} `{}` has a leading zero", shown(part)));
    }
    part.parse::<u64>()
        .map_err(|_| format!("{which} `{}` does not fit in 64 bits", shown(part)))
}

/// Checks dot-separated identifiers of a pre-release (`numeric_leading_zero_ok` false) or build.
fn check_identifiers(s: &str, what: &str, numeric_leading_zero_ok: bool) -> Result<(), String> {
    for id in s.split('.') {
        if id.is_empty() {
            return Err(format!("the {what} has an empty identifier"));
        }
        if !id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
            return Err(format!(
                "the {what} identifier `{}` holds a character other than 0-9, A-Z, a-z and `-`",
                shown(id)
            ));
        }
        let numeric = id.bytes().all(|b| b.is_ascii_digit());
        if numeric && !numeric_leading_zero_ok && id.len() > 1 && id.starts_with('0') {
            return Err(format!(
                "the {what} identifier `{}` is a number with a leading zero",
                shown(id)
            ));
        }
    }
    Ok(())
}

impl PackageVersion {
    /// Checks and wraps an exact version.
    pub fn new(s: impl Into<String>) -> Result<Self, PackageVersionError> {
        let text = s.into();
        match Self::parse(&text) {
            Ok((core_end, pre_end)) => Ok(Self {
                text,
                core_end,
                pre_end,
            }),
            Err(reason) => Err(PackageVersionError { text, reason }),
        }
    }

    /// Checks `text`; the ends of its core and of its pre-release.
    fn parse(text: &str) -> Result<(u8, u8), String> {
        if text.len() > MAX_VERSION_BYTES {
            return Err(format!(
                "it is {} bytes long, more than {MAX_VERSION_BYTES}",
                text.len()
            ));
        }
        let (rest, build) = match text.split_once('+') {
            Some((rest, build)) => (rest, Some(build)),
            None => (text, None),
        };
        let (core, pre) = match rest.split_once('-') {
            Some((core, pre)) => (core, Some(pre)),
            None => (rest, None),
        };
        let parts: Vec<&str> = core.split('.').collect();
        let [major, minor, patch] = parts.as_slice() else {
            return Err(format!("`{}` is not MAJOR.MINOR.PATCH", shown(core)));
        };
        core_number(major, "MAJOR")?;
        core_number(minor, "MINOR")?;
        core_number(patch, "PATCH")?;
        if let Some(pre) = pre {
            check_identifiers(pre, "pre-release", false)?;
        }
        if let Some(build) = build {
            check_identifiers(build, "build metadata", true)?;
        }
        // Both fit in a u8: the whole text is at most MAX_VERSION_BYTES (128) bytes.
        Ok((core.len() as u8, rest.len() as u8))
    }

    /// The `i`th of MAJOR, MINOR, PATCH as text (checked digits, no leading zeros).
    fn core_part(&self, i: usize) -> &str {
        self.text[..usize::from(self.core_end)]
            .split('.')
            .nth(i)
            .unwrap_or("0")
    }

    /// The `i`th of MAJOR, MINOR, PATCH (checked to fit in a u64).
    fn core_value(&self, i: usize) -> u64 {
        self.core_part(i).parse().unwrap_or(0)
    }

    /// The version text, build metadata included.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// MAJOR.
    pub fn major(&self) -> u64 {
        self.core_value(0)
    }

    /// MINOR.
    pub fn minor(&self) -> u64 {
        self.core_value(1)
    }

    /// PATCH.
    pub fn patch(&self) -> u64 {
        self.core_value(2)
    }

    /// The pre-release identifiers (`rc.1`), empty when there are none.
    pub fn pre(&self) -> &str {
        self.text
            .get(usize::from(self.core_end) + 1..usize::from(self.pre_end))
            .unwrap_or("")
    }

    /// The build metadata (`build.5`), if any; not part of the version's identity.
    pub fn build(&self) -> Option<&str> {
        self.text.get(usize::from(self.pre_end) + 1..)
    }

    /// The text without build metadata: what identifies the version.
    pub fn identity(&self) -> &str {
        &self.text[..usize::from(self.pre_end)]
    }
}

/// Semver 2.0 precedence of two pre-release strings (both non-empty).
fn compare_pre(a: &str, b: &str) -> Ordering {
    let mut left = a.split('.');
    let mut right = b.split('.');
    loop {
        match (left.next(), right.next()) {
            (None, None) => return Ordering::Equal,
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(x), Some(y)) => {
                let xn = x.bytes().all(|c| c.is_ascii_digit());
                let yn = y.bytes().all(|c| c.is_ascii_digit());
                let order = match (xn, yn) {
                    // No leading zeros: the longer number is the larger one.
                    (true, true) => x.len().cmp(&y.len()).then_with(|| x.cmp(y)),
                    (true, false) => Ordering::Less,
                    (false, true) => Ordering::Greater,
                    (false, false) => x.cmp(y),
                };
                if order != Ordering::Equal {
                    return order;
                }
            }
        }
    }
}

impl Ord for PackageVersion {
    fn cmp(&self, other: &Self) -> Ordering {
        // Numbers without leading zeros: the longer is the larger; equal lengths compare as text.
        let core = (0..3).map(|i| {
            let (a, b) = (self.core_part(i), other.core_part(i));
            a.len().cmp(&b.len()).then_with(|| a.cmp(b))
        });
        core.fold(Ordering::Equal, Ordering::then)
            .then_with(|| match (self.pre(), other.pre()) {
                ("", "") => Ordering::Equal,
                ("", _) => Ordering::Greater,
                (_, "") => Ordering::Less,
                (a, b) => compare_pre(a, b),
            })
    }
}

impl PartialOrd for PackageVersion {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for PackageVersion {
    fn eq(&self, other: &Self) -> bool {
        self.identity() == other.identity()
    }
}

impl Eq for PackageVersion {}

impl Hash for PackageVersion {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.identity().hash(state);
    }
}

impl TryFrom<String> for PackageVersion {
    type Error = PackageVersionError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::new(s)
    }
}

impl From<PackageVersion> for String {
    fn from(v: PackageVersion) -> String {
        v.text
    }
}

impl fmt::Display for PackageVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl std::str::FromStr for PackageVersion {
    type Err = PackageVersionError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::new(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> PackageVersion {
        PackageVersion::new(s).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn accepts_semver_and_refuses_the_rest_with_a_reason() {
        for ok in [
            "0.1.0",
            "1.22.333",
            "1.0.0-rc.1",
            "1.0.0-alpha-1+build.007",
            "18446744073709551615.0.0",
            "1.0.0-0A",
        ] {
            assert_eq!(v(ok).as_str(), ok);
        }
        let long_ok = format!("1.0.0-{}", "a".repeat(MAX_VERSION_BYTES - 6));
        assert_eq!(v(&long_ok).as_str().len(), MAX_VERSION_BYTES);
        let cases = [
            ("1.0", "not MAJOR.MINOR.PATCH"),
            ("01.0.0", "leading zero"),
            (">=1.0.0", "not a number"),
            ("1.0.0-01", "leading zero"),
            ("1.0.0-", "empty identifier"),
            ("1.0.0+", "empty identifier"),
            ("1.0.0-a..b", "empty identifier"),
            ("v1.0.0", "not a number"),
            ("1.0.0.0", "not MAJOR.MINOR.PATCH"),
            ("1.0.0-a_b", "character other than"),
            ("18446744073709551616.0.0", "does not fit in 64 bits"),
            ("0.99999999999999999999.0", "does not fit in 64 bits"),
        ];
        for (bad, why) in cases {
            let e = PackageVersion::new(bad).unwrap_err();
            assert!(e.reason.contains(why), "{bad}: {e}");
        }
        let long = format!("1.0.0-{}", "a".repeat(300));
        let e = PackageVersion::new(long.as_str()).unwrap_err();
        assert!(e.reason.contains("more than 128"), "{e}");
        assert!(
            e.to_string().len() < 400,
            "the message shows only the start of a long text: {e}"
        );
    }

    #[test]
    fn build_metadata_is_not_identity_and_precedence_is_semvers() {
        assert_eq!(v("4.0.0+a"), v("4.0.0+b"));
        assert_eq!(v("4.0.0+a").cmp(&v("4.0.0")), Ordering::Equal);
        let hash = |x: &PackageVersion| {
            let mut h = std::collections::hash_map::DefaultHasher::new();
            x.hash(&mut h);
            h.finish()
        };
        assert_eq!(hash(&v("4.0.0+a")), hash(&v("4.0.0+b")));
        assert_eq!(v("4.0.0+a").build(), Some("a"));
        assert_eq!(v("4.0.0-rc.1+a").identity(), "4.0.0-rc.1");
        assert_eq!(v("4.0.0-rc.1+a").pre(), "rc.1");
        let big = v("18446744073709551615.2.30-x");
        assert_eq!((big.major(), big.minor(), big.patch()), (u64::MAX, 2, 30));
        assert_eq!(std::mem::size_of::<PackageVersion>(), 32);
        assert_ne!(v("4.0.0-rc.1"), v("4.0.0"));
        let ordered = [
            "1.0.0-alpha",
            "1.0.0-alpha.1",
            "1.0.0-alpha.beta",
            "1.0.0-beta",
            "1.0.0-beta.2",
            "1.0.0-beta.11",
            "1.0.0-rc.1",
            "1.0.0",
            "1.0.1",
            "1.2.0",
            "1.10.0",
            "18446744073709551615.0.0",
        ];
        for pair in ordered.windows(2) {
            assert!(v(pair[0]) < v(pair[1]), "{} < {}", pair[0], pair[1]);
        }
    }

    #[test]
    fn serde_round_trips_the_text() {
        let parsed: PackageVersion = serde_json::from_str("\"1.2.3-rc.1+b\"").unwrap();
        assert_eq!(serde_json::to_string(&parsed).unwrap(), "\"1.2.3-rc.1+b\"");
        assert!(serde_json::from_str::<PackageVersion>("\"18446744073709551616.0.0\"").is_err());
    }
}
