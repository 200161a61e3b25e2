//! What a build depends on ([`DerivationInputs`]) and the hash that names its store entry.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use x07_spec::{to_canonical_vec, Sha256Digest, World};

use super::StoreError;

/// File names inside an entry that an artifact may not take.
const RESERVED_NAMES: &[&str] = &["build.json", "main.c"];
/// Longest accepted artifact name, so entry paths stay well under `NAME_MAX`.
const MAX_NAME_LEN: usize = 100;

/// The name of a built artifact: the binary's file name and the suffix of its entry directory.
///
/// ASCII letters, digits, `.`, `_`, `-`, `+`; starts with a letter or digit; at most 100 bytes.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ArtifactName(String);

impl ArtifactName {
    /// Validates `name`.
    pub fn new(name: impl Into<String>) -> Result<Self, StoreError> {
        let name = name.into();
        let ok_char = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '+');
        let valid = name.len() <= MAX_NAME_LEN
            && name.starts_with(|c: char| c.is_ascii_alphanumeric())
            && name.chars().all(ok_char)
            && !RESERVED_NAMES.contains(&name.as_str());
        if valid {
            Ok(Self(name))
        } else {
            Err(StoreError::InvalidName { name })
        }
    }

    /// The name as a string.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for ArtifactName {
    type Error = StoreError;
    fn try_from(s: String) -> Result<Self, StoreError> {
        Self::new(s)
    }
}

impl From<ArtifactName> for String {
    fn from(n: ArtifactName) -> String {
        n.0
    }
}

impl fmt::Display for ArtifactName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Everything that determines a build's output. Its JCS bytes are hashed into the entry name,
/// so adding a field changes every hash (bump the record's schema version when you do).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DerivationInputs {
    /// Version of the x07 toolchain that emitted the C.
    pub toolchain_version: String,
    /// Digest of the embedded C runtime and standard library.
    pub embedded_digest: Sha256Digest,
    /// Module id → canonical digest of that module's x07AST.
    pub modules: BTreeMap<String, Sha256Digest>,
    /// Digest of the canonical lockfile, if the project has one.
    #[serde(default)]
    pub lock_digest: Option<Sha256Digest>,
    /// The world the program is built for.
    pub world: World,
    /// Absolute path of the C compiler: only in records written before `x07.store.build@0.2.0`.
    /// The compiler is named by its version digest alone since, so that machines with the same
    /// compiler at different paths share entries (and binary caches).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cc_path: Option<PathBuf>,
    /// Digest of the compiler's `--version` output: the compiler's identity.
    pub cc_version_digest: Sha256Digest,
    /// The exact compiler flags.
    pub cc_flags: Vec<String>,
    /// Compile-time knobs (limits, features, ...) as strings.
    #[serde(default)]
    pub knobs: BTreeMap<String, String>,
    /// The artifact name.
    pub name: ArtifactName,
}

impl DerivationInputs {
    /// The derivation hash: the first 32 hex digits of sha256 over the JCS bytes of `self`.
    pub fn hash(&self) -> Result<DerivationHash, StoreError> {
        let bytes = to_canonical_vec(self).map_err(|source| StoreError::Canonical {
            what: "the derivation inputs",
            source,
        })?;
        Ok(DerivationHash(
            Sha256Digest::of(&bytes).hex()[..DerivationHash::LEN].to_string(),
        ))
    }
}

/// The members of [`DerivationInputs`] that name the C compiler.
const COMPILER_FIELDS: [&str; 2] = ["cc_path", "cc_version_digest"];

impl DerivationInputs {
    /// The hash of these inputs without the compiler (`cc_version_digest`, and `cc_path` of old
    /// records): what a machine with no C compiler can compute, to find a trusted entry some
    /// compiler built from the same program (same 32-hex form as [`DerivationInputs::hash`]).
    pub fn hash_without_cc(&self) -> Result<DerivationHash, StoreError> {
        let canonical = |source| StoreError::Canonical {
            what: "the derivation inputs",
            source,
        };
        let full = to_canonical_vec(self).map_err(canonical)?;
        let mut value: serde_json::Value =
            serde_json::from_slice(&full).expect("canonical JSON parses");
        if let Some(map) = value.as_object_mut() {
            for field in COMPILER_FIELDS {
                map.remove(field);
            }
        }
        let bytes = to_canonical_vec(&value).map_err(canonical)?;
        Ok(DerivationHash(
            Sha256Digest::of(&bytes).hex()[..DerivationHash::LEN].to_string(),
        ))
    }

    /// Whether `other` has the same inputs as `self` but for the compiler.
    pub fn same_except_compiler(&self, other: &DerivationInputs) -> bool {
        let strip = |i: &DerivationInputs| DerivationInputs {
            cc_path: None,
            cc_version_digest: Sha256Digest::of(b""),
            ..i.clone()
        };
        strip(self) == strip(other)
    }
}

/// The hash naming a store entry: 32 lowercase hex digits (128 bits of sha256).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct DerivationHash(String);

impl DerivationHash {
    /// Number of hex digits.
    pub const LEN: usize = 32;

    /// The hex digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for DerivationHash {
    type Err = StoreError;
    fn from_str(s: &str) -> Result<Self, StoreError> {
        let valid = s.len() == Self::LEN
            && s.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        if valid {
            Ok(Self(s.to_string()))
        } else {
            Err(StoreError::InvalidHash {
                hash: s.to_string(),
            })
        }
    }
}

impl TryFrom<String> for DerivationHash {
    type Error = StoreError;
    fn try_from(s: String) -> Result<Self, StoreError> {
        s.parse()
    }
}

impl From<DerivationHash> for String {
    fn from(h: DerivationHash) -> String {
        h.0
    }
}

impl fmt::Display for DerivationHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
