//! Key ids: the first 16 lowercase hex digits of the SHA-256 of a raw 32-byte ed25519 public key.
//! One definition for lockfile signatures, registry index signatures, pinned registry keys and
//! bundle provenance.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::Sha256Digest;

/// A key id: the first 16 lowercase hex digits of the SHA-256 of the raw 32-byte public key.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KeyId(String);

/// A string that is not a key id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("key id `{0}` must be 16 lowercase hex digits")]
pub struct KeyIdError(pub String);

impl KeyId {
    /// Checks and wraps a key id.
    pub fn new(s: impl Into<String>) -> Result<Self, KeyIdError> {
        let s = s.into();
        if s.len() == 16
            && s.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        {
            Ok(Self(s))
        } else {
            Err(KeyIdError(s))
        }
    }

    /// The id of a raw 32-byte ed25519 public key.
    pub fn of_public_key(key: &[u8; 32]) -> Self {
        Self(Sha256Digest::of(key).hex()[..16].to_string())
    }

    /// The id text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Serialize for KeyId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for KeyId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Self::new(String::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}
