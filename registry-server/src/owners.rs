//! Owner names and `DIR/owners.json` (`{package: [owner...]}`).

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

use serde::{Deserialize, Serialize};
use x07_spec::PackageName;

/// An owner (account) name: `^[a-z0-9][a-z0-9_-]{0,63}$`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct OwnerName(String);

/// A string that is not a valid owner name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("owner name `{0}` must be 1-64 characters of a-z, 0-9, `_` and `-`, starting with a letter or digit")]
pub struct OwnerNameError(pub String);

impl OwnerName {
    /// Checks and wraps an owner name.
    pub fn new(s: impl Into<String>) -> Result<Self, OwnerNameError> {
        let s = s.into();
        let valid = s.len() <= 64
            && s.as_bytes()
                .first()
                .is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
            && s.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
        if valid {
            Ok(Self(s))
        } else {
            Err(OwnerNameError(s))
        }
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for OwnerName {
    type Error = OwnerNameError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::new(s)
    }
}

impl From<OwnerName> for String {
    fn from(n: OwnerName) -> String {
        n.0
    }
}

impl fmt::Display for OwnerName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The owners of every package, as stored in `DIR/owners.json`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct OwnersFile(BTreeMap<PackageName, Vec<OwnerName>>);

impl OwnersFile {
    /// Reads `path`; a missing file means no package has owners yet.
    pub fn load(path: &Path) -> Result<Self, crate::root::RootError> {
        match fs_err::read(path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map_err(|e| crate::root::RootError::Json(path.to_path_buf(), e)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Self::default()),
            Err(e) => Err(crate::root::RootError::Io(e)),
        }
    }

    /// Writes the file atomically in canonical form.
    pub fn save(&self, path: &Path) -> std::io::Result<()> {
        let bytes = x07_spec::canonical_file_bytes(self).map_err(std::io::Error::other)?;
        x07_spec::write_atomic(path, &bytes)
    }

    /// The owners of `package` (empty if nobody has published it).
    pub fn owners_of(&self, package: &PackageName) -> &[OwnerName] {
        self.0.get(package).map(Vec::as_slice).unwrap_or(&[])
    }

    /// Whether `owner` owns `package`.
    pub fn is_owner(&self, package: &PackageName, owner: &OwnerName) -> bool {
        self.owners_of(package).contains(owner)
    }

    /// Adds an owner (kept sorted, no duplicates); returns whether the set changed.
    pub fn add(&mut self, package: &PackageName, owner: OwnerName) -> bool {
        let list = self.0.entry(package.clone()).or_default();
        match list.binary_search(&owner) {
            Ok(_) => false,
            Err(at) => {
                list.insert(at, owner);
                true
            }
        }
    }

    /// Every package that has owners.
    pub fn packages(&self) -> impl Iterator<Item = &PackageName> {
        self.0.keys()
    }

    /// Forgets every owner of `package` (start-up recovery drops claims of names with no version).
    pub fn drop_package(&mut self, package: &PackageName) -> bool {
        self.0.remove(package).is_some()
    }

    /// Removes an owner; returns whether the set changed.
    pub fn remove(&mut self, package: &PackageName, owner: &OwnerName) -> bool {
        let Some(list) = self.0.get_mut(package) else {
            return false;
        };
        let before = list.len();
        list.retain(|o| o != owner);
        before != list.len()
    }
}
