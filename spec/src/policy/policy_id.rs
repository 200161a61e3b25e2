//! Policy ids: `^[a-zA-Z0-9_.-]{1,64}$`, also used in derived policy file names.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Longest policy id.
pub const MAX_POLICY_ID_LEN: usize = 64;

/// A policy id: 1 to 64 characters of `A-Z a-z 0-9 _ . -`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PolicyId(String);

/// A string that is not a valid policy id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("policy id `{0}` must be 1 to 64 characters of A-Z, a-z, 0-9, `_`, `.` and `-`")]
pub struct PolicyIdError(pub String);

impl PolicyId {
    /// Checks and wraps a policy id.
    pub fn new(s: impl Into<String>) -> Result<Self, PolicyIdError> {
        let s = s.into();
        let valid = (1..=MAX_POLICY_ID_LEN).contains(&s.len())
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'));
        if valid {
            Ok(Self(s))
        } else {
            Err(PolicyIdError(s))
        }
    }

    /// The id.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for PolicyId {
    type Error = PolicyIdError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::new(s)
    }
}

impl From<PolicyId> for String {
    fn from(id: PolicyId) -> Self {
        id.0
    }
}

impl fmt::Display for PolicyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
