//! Project-relative paths: the only kind of path x07.json, lockfiles and profiles may hold.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// A relative path written with `/`, never absolute and never climbing out with `..`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct RelPath(String);

/// Why a string is not a [`RelPath`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RelPathError {
    /// The string is empty.
    #[error("path must not be empty")]
    Empty,
    /// The path starts at the file-system root or a drive.
    #[error("path `{0}` must be relative to the project directory, not absolute")]
    Absolute(String),
    /// A segment is `..`.
    #[error("path `{0}` must not contain `..`; keep it inside the project directory")]
    ParentSegment(String),
    /// The path uses `\` or holds a NUL or an empty segment.
    #[error("path `{0}` must use `/` as separator, without empty segments or NUL bytes")]
    BadSyntax(String),
    /// The path starts with a `$variable`.
    #[error("path `{0}` must not start with `$`: write it relative to the project (a dependency's `path` may also start with `$workspace/`)")]
    Variable(String),
}

impl RelPath {
    /// Checks and wraps a path string.
    pub fn new(s: impl Into<String>) -> Result<Self, RelPathError> {
        let s = s.into();
        if s.is_empty() {
            return Err(RelPathError::Empty);
        }
        let bytes = s.as_bytes();
        if bytes[0] == b'/'
            || (bytes.len() >= 2 && bytes[1] == b':' && bytes[0].is_ascii_alphabetic())
        {
            return Err(RelPathError::Absolute(s));
        }
        if s.contains('\\') || s.contains('\0') {
            return Err(RelPathError::BadSyntax(s));
        }
        if s.starts_with('$') {
            return Err(RelPathError::Variable(s));
        }
        let body = s.strip_suffix('/').unwrap_or(&s);
        for segment in body.split('/') {
            if segment == ".." {
                return Err(RelPathError::ParentSegment(s));
            }
            if segment.is_empty() {
                return Err(RelPathError::BadSyntax(s));
            }
        }
        Ok(Self(s))
    }

    /// The path as written.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The path as a [`Path`].
    pub fn as_path(&self) -> &Path {
        Path::new(&self.0)
    }

    /// The path resolved against a base directory (usually the project root).
    pub fn resolve(&self, base: &Path) -> PathBuf {
        base.join(&self.0)
    }

    /// The path without `.` segments and without a trailing `/` (`./src/` → `src`; `.` → empty).
    pub fn normalized(&self) -> String {
        self.0
            .split('/')
            .filter(|s| !s.is_empty() && *s != ".")
            .collect::<Vec<_>>()
            .join("/")
    }

    /// Whether the path, once `.` segments are dropped, starts with the segments of `prefix`.
    pub fn starts_with_segments(&self, prefix: &[&str]) -> bool {
        let mut segments = self.0.split('/').filter(|s| !s.is_empty() && *s != ".");
        prefix.iter().all(|p| segments.next() == Some(p))
    }
}

impl TryFrom<String> for RelPath {
    type Error = RelPathError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::new(s)
    }
}

impl From<RelPath> for String {
    fn from(p: RelPath) -> String {
        p.0
    }
}

impl fmt::Display for RelPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_relative_and_rejects_escapes() {
        for ok in [
            "src",
            "src/",
            "./src",
            ".x07/policies/base/cli.sandbox.base.policy.json",
            "a/.b/c",
        ] {
            assert!(RelPath::new(ok).is_ok(), "{ok}");
        }
        assert_eq!(RelPath::new(""), Err(RelPathError::Empty));
        assert!(matches!(
            RelPath::new("/etc/passwd"),
            Err(RelPathError::Absolute(_))
        ));
        assert!(matches!(
            RelPath::new("C:/x"),
            Err(RelPathError::Absolute(_))
        ));
        assert!(matches!(
            RelPath::new("a/../../b"),
            Err(RelPathError::ParentSegment(_))
        ));
        assert!(matches!(
            RelPath::new(".."),
            Err(RelPathError::ParentSegment(_))
        ));
        assert!(matches!(
            RelPath::new("a\\b"),
            Err(RelPathError::BadSyntax(_))
        ));
        assert!(matches!(
            RelPath::new("a//b"),
            Err(RelPathError::BadSyntax(_))
        ));
        assert!(matches!(
            RelPath::new("$workspace/x"),
            Err(RelPathError::Variable(_))
        ));
        assert_eq!(
            RelPath::new("./src/./lib/").unwrap().normalized(),
            "src/lib"
        );
        assert!(RelPath::new("./.x07/deps/a")
            .unwrap()
            .starts_with_segments(&[".x07", "deps"]));
        assert!(!RelPath::new(".x07/depsx")
            .unwrap()
            .starts_with_segments(&[".x07", "deps"]));
    }
}
