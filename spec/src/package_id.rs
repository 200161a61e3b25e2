//! Package names and exact versions as they appear in x07.json and lockfiles.

use std::fmt;

use serde::{Deserialize, Serialize};

pub use crate::version::{PackageVersion, PackageVersionError};

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
            && s.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
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

    /// The name with every `_` written `-`: two names with the same canonical form name the same
    /// package (as on crates.io), so a registry holds at most one of them.
    pub fn canonical(&self) -> String {
        self.0.replace('_', "-")
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
        for bad in [
            "1.0", "01.0.0", ">=1.0.0", "1.0.0-01", "1.0.0-", "1.0.0+", "v1.0.0", "1.0.0.0",
        ] {
            assert!(PackageVersion::new(bad).is_err(), "{bad}");
        }
        let canonical = |n: &str| PackageName::new(n).unwrap().canonical();
        assert_eq!(canonical("conf_name"), canonical("conf-name"));
        assert_ne!(canonical("conf_name"), canonical("confname"));
    }
}
