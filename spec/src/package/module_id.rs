//! Module ids as packages list them (`std.net.http`) and where their files live in a package.

use std::fmt;

use serde::{Deserialize, Serialize};

/// The longest module id accepted, so that `<module_root>/<a/b/c>.x07.json` stays a short path.
pub const MODULE_ID_MAX_LEN: usize = 255;

/// A package module id: `^[a-z][a-z0-9_]*(\.[a-z0-9_]+)*$`, at most 255 bytes.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ModuleId(String);

/// A string that is not a valid package module id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("module id `{0}` must be dot-separated segments of a-z, 0-9 and `_`, the first starting with a letter (e.g. ext.net.http; at most 255 characters)")]
pub struct ModuleIdError(pub String);

impl ModuleId {
    /// Checks and wraps a module id.
    pub fn new(s: impl Into<String>) -> Result<Self, ModuleIdError> {
        let s = s.into();
        let segment_ok = |seg: &str| {
            !seg.is_empty()
                && seg
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        };
        let valid = s.len() <= MODULE_ID_MAX_LEN
            && s.as_bytes().first().is_some_and(u8::is_ascii_lowercase)
            && s.split('.').all(segment_ok);
        if valid {
            Ok(Self(s))
        } else {
            Err(ModuleIdError(s))
        }
    }

    /// The id text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The module's file relative to its module root: `a.b.c` → `a/b/c.x07.json`.
    pub fn file_rel_path(&self) -> String {
        format!("{}.x07.json", self.0.replace('.', "/"))
    }
}

impl TryFrom<String> for ModuleId {
    type Error = ModuleIdError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::new(s)
    }
}

impl From<ModuleId> for String {
    fn from(m: ModuleId) -> String {
        m.0
    }
}

impl fmt::Display for ModuleId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_dotted_lowercase_ids_and_maps_them_to_files() {
        for ok in ["ext", "std.net.http", "ext.curl._ffi", "a.0b", "x9_y.z"] {
            assert!(ModuleId::new(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "Ext",
            "9a",
            "_a",
            "a..b",
            "a.",
            ".a",
            "a-b",
            "a/b",
            "a.B",
            &"a".repeat(256),
        ] {
            assert!(ModuleId::new(bad).is_err(), "{bad}");
        }
        assert_eq!(
            ModuleId::new("std.net.http").unwrap().file_rel_path(),
            "std/net/http.x07.json"
        );
    }
}
