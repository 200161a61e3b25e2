//! Package names and exact versions as they appear in x07.json and lockfiles.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A package name: `^[a-z][a-z0-9_-]{0,127}$`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PackageName(String);

/// A string that is not a valid package name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("package name `{0}` must start with a lowercase letter and hold only a-z, 0-9, `_` and `-` (at most 128 characters)")]
pub struct PackageNameError(pub String);

impl PackageName {
    /// Checks and wraps a package name.
    pub fn new(s: impl Into<String>) -> Result<Self, PackageNameError> {
        let s = s.into();
        let valid = s.len() <= 128
            && s.as_bytes().first().is_some_and(u8::is_ascii_lowercase)
            && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
        if valid {
            Ok(Self(s))
        } else {
            Err(PackageNameError(s))
        }
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for PackageName {
    type Error = PackageNameError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::new(s)
    }
}

impl From<PackageName> for String {
    fn from(n: PackageName) -> String {
        n.0
    }
}

impl fmt::Display for PackageName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An exact semantic version (`1.2.3`, `0.1.0-rc.1+build.5`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PackageVersion(String);

/// A string that is not an exact semantic version.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("version `{0}` must be an exact semantic version such as 1.2.3 (no ranges)")]
pub struct PackageVersionError(pub String);

impl PackageVersion {
    /// Checks and wraps an exact version.
    pub fn new(s: impl Into<String>) -> Result<Self, PackageVersionError> {
        let s = s.into();
        if is_exact_semver(&s) {
            Ok(Self(s))
        } else {
            Err(PackageVersionError(s))
        }
    }

    /// The version text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

fn is_numeric_identifier(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) && (s == "0" || !s.starts_with('0'))
}

fn is_dotted_identifiers(s: &str, numeric_leading_zero_ok: bool) -> bool {
    s.split('.').all(|id| {
        !id.is_empty()
            && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && (numeric_leading_zero_ok || !id.bytes().all(|b| b.is_ascii_digit()) || is_numeric_identifier(id))
    })
}

fn is_exact_semver(s: &str) -> bool {
    let (rest, build) = match s.split_once('+') {
        Some((rest, build)) => (rest, Some(build)),
        None => (s, None),
    };
    let (core, pre) = match rest.split_once('-') {
        Some((core, pre)) => (core, Some(pre)),
        None => (rest, None),
    };
    let parts: Vec<&str> = core.split('.').collect();
    parts.len() == 3
        && parts.iter().all(|p| is_numeric_identifier(p))
        && pre.is_none_or(|p| is_dotted_identifiers(p, false))
        && build.is_none_or(|b| is_dotted_identifiers(b, true))
}

impl TryFrom<String> for PackageVersion {
    type Error = PackageVersionError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::new(s)
    }
}

impl From<PackageVersion> for String {
    fn from(v: PackageVersion) -> String {
        v.0
    }
}

impl fmt::Display for PackageVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validates_names_and_exact_versions() {
        assert!(PackageName::new("ext-net").is_ok());
        assert!(PackageName::new("a_b9").is_ok());
        for bad in ["", "Ext", "9a", "a.b", &"a".repeat(129)] {
            assert!(PackageName::new(bad).is_err(), "{bad}");
        }
        for ok in ["0.1.0", "1.22.333", "1.0.0-rc.1", "1.0.0-alpha-1+build.007"] {
            assert!(PackageVersion::new(ok).is_ok(), "{ok}");
        }
        for bad in ["1.0", "01.0.0", ">=1.0.0", "1.0.0-01", "1.0.0-", "1.0.0+", "v1.0.0", "1.0.0.0"] {
            assert!(PackageVersion::new(bad).is_err(), "{bad}");
        }
    }
}
