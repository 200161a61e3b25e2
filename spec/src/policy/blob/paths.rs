//! Turning the policy's paths into the absolute ones a blob carries: roots resolved against the
//! project root and normalised lexically; executables and exec prefixes canonicalised when they
//! exist (so the runtime's `realpath` of argv0 can match them exactly).

use std::ffi::OsStr;
use std::path::{Component, Path, PathBuf};

use crate::document::FieldPath;

/// A policy path that cannot be made absolute.
#[derive(Debug, thiserror::Error)]
pub enum PathResolveError {
    /// The project root handed to the encoder is relative.
    #[error("the project root `{}` must be an absolute path", .0.display())]
    RootNotAbsolute(PathBuf),
    /// The result is not UTF-8 (the project root is not).
    #[error("{field}: `{}` is not valid UTF-8; move the project to a UTF-8 path", .path.display())]
    NotUtf8 {
        /// The policy field.
        field: FieldPath,
        /// The path.
        path: PathBuf,
    },
    /// A bare executable name is not on PATH.
    #[error("{field}: `{name}` has no `/` and is not an executable on PATH; write its path (absolute, or relative to the project root)")]
    NotOnPath {
        /// The policy field.
        field: FieldPath,
        /// The name.
        name: String,
    },
}

/// `path` joined to `root` when relative, with `.` dropped and `..` applied lexically, without a
/// trailing `/` (except for `/` itself).
pub fn lexical_absolute(root: &Path, path: &str) -> PathBuf {
    let joined = root.join(path);
    let mut out = PathBuf::from("/");
    for component in joined.components() {
        match component {
            Component::Normal(segment) => out.push(segment),
            Component::ParentDir => {
                out.pop();
            }
            Component::RootDir | Component::CurDir | Component::Prefix(_) => {}
        }
    }
    out
}

fn to_string(field: &FieldPath, path: PathBuf) -> Result<String, PathResolveError> {
    path.into_os_string()
        .into_string()
        .map_err(|p| PathResolveError::NotUtf8 {
            field: field.clone(),
            path: p.into(),
        })
}

/// What relative policy paths are taken from.
#[derive(Debug, Clone, Copy)]
pub enum PathBase<'a> {
    /// A directory known now: the project root (absolute).
    Dir(&'a Path),
    /// The working directory when a sealed bundle starts: relative paths stay relative,
    /// lexically normalised (leading `..` kept), and the launcher resolves them at start.
    StartCwd,
}

impl PathBase<'_> {
    /// `path` normalised lexically: absolute against this base, or (start cwd) still relative.
    fn lexical(self, path: &str) -> PathBuf {
        match self {
            PathBase::Dir(root) => lexical_absolute(root, path),
            PathBase::StartCwd if path.starts_with('/') => lexical_absolute(Path::new("/"), path),
            PathBase::StartCwd => lexical_relative(path),
        }
    }

    /// The canonical form of `path` when it can be known now and exists; its lexical form
    /// otherwise.
    fn canonical_or_lexical(self, path: &str) -> PathBuf {
        let now = match self {
            PathBase::Dir(root) => Some(root.join(path)),
            PathBase::StartCwd if path.starts_with('/') => Some(PathBuf::from(path)),
            PathBase::StartCwd => None,
        };
        now.and_then(|p| fs_err::canonicalize(p).ok())
            .unwrap_or_else(|| self.lexical(path))
    }
}

/// A relative path with `.` dropped and `..` applied lexically where a segment precedes it
/// (leading `..` segments stay); `.` when nothing is left.
pub fn lexical_relative(path: &str) -> PathBuf {
    let mut parts: Vec<&OsStr> = Vec::new();
    for component in Path::new(path).components() {
        match component {
            Component::Normal(segment) => parts.push(segment),
            Component::ParentDir if parts.last().is_some_and(|p| *p != "..") => {
                parts.pop();
            }
            Component::ParentDir => parts.push(OsStr::new("..")),
            Component::RootDir | Component::CurDir | Component::Prefix(_) => {}
        }
    }
    if parts.is_empty() {
        return PathBuf::from(".");
    }
    parts.iter().collect()
}

/// Resolves every entry of a root list (`fs.read_roots`, `process.allow_cwd_roots`, ...).
pub fn roots(
    base: PathBase<'_>,
    field: &FieldPath,
    items: &[String],
) -> Result<Vec<String>, PathResolveError> {
    items
        .iter()
        .enumerate()
        .map(|(i, p)| to_string(&field.index(i), base.lexical(p)))
        .collect()
}

/// Resolves `process.allow_exec_prefixes`: directories, canonical when they exist.
pub fn exec_prefixes(
    base: PathBase<'_>,
    field: &FieldPath,
    items: &[String],
) -> Result<Vec<String>, PathResolveError> {
    items
        .iter()
        .enumerate()
        .map(|(i, p)| to_string(&field.index(i), base.canonical_or_lexical(p)))
        .collect()
}

/// Resolves `process.allow_execs`: a name without `/` is looked up on `search_path` like a shell
/// would; a path is taken relative to the base. Both are canonical when they exist.
pub fn execs(
    base: PathBase<'_>,
    search_path: Option<&OsStr>,
    field: &FieldPath,
    items: &[String],
) -> Result<Vec<String>, PathResolveError> {
    items
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let at = field.index(i);
            let resolved = if p.contains('/') {
                base.canonical_or_lexical(p)
            } else {
                on_search_path(search_path, p).ok_or_else(|| PathResolveError::NotOnPath {
                    field: at.clone(),
                    name: p.clone(),
                })?
            };
            to_string(&at, resolved)
        })
        .collect()
}

fn on_search_path(search_path: Option<&OsStr>, name: &str) -> Option<PathBuf> {
    let dirs = std::env::split_paths(search_path?);
    dirs.filter(|d| d.is_absolute())
        .map(|d| d.join(name))
        .find(|c| is_executable(c))
        .and_then(|c| fs_err::canonicalize(c).ok())
}

#[cfg(unix)]
fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    fs_err::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

#[cfg(not(unix))]
fn is_executable(path: &Path) -> bool {
    path.is_file()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lexical_resolution_joins_drops_dots_and_applies_parent_segments() {
        let root = Path::new("/p/proj");
        assert_eq!(lexical_absolute(root, "."), PathBuf::from("/p/proj"));
        assert_eq!(lexical_absolute(root, "out/"), PathBuf::from("/p/proj/out"));
        assert_eq!(
            lexical_absolute(root, "./a/./b//c"),
            PathBuf::from("/p/proj/a/b/c")
        );
        assert_eq!(lexical_absolute(root, "../x"), PathBuf::from("/p/x"));
        assert_eq!(
            lexical_absolute(root, "/etc/../../../tmp/"),
            PathBuf::from("/tmp")
        );
        assert_eq!(lexical_absolute(root, "/"), PathBuf::from("/"));
    }

    #[test]
    fn start_cwd_paths_stay_relative_and_normalised() {
        assert_eq!(lexical_relative("."), PathBuf::from("."));
        assert_eq!(lexical_relative("./out/"), PathBuf::from("out"));
        assert_eq!(lexical_relative("a/../../b/./c"), PathBuf::from("../b/c"));
        assert_eq!(lexical_relative("a/.."), PathBuf::from("."));
        let field = FieldPath::root().key("read_roots");
        let got = roots(
            PathBase::StartCwd,
            &field,
            &[
                "data/".to_string(),
                "/etc/../tmp".to_string(),
                "../x".to_string(),
            ],
        )
        .unwrap();
        assert_eq!(got, vec!["data", "/tmp", "../x"]);
    }

    #[test]
    fn bare_exec_names_are_found_on_the_search_path_or_rejected() {
        let dir = tempfile::tempdir().unwrap();
        let tool = dir.path().join("mytool");
        fs_err::write(&tool, b"#!/bin/sh\n").unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            fs_err::set_permissions(&tool, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        let path = std::env::join_paths([Path::new("/nonexistent-x07"), dir.path()]).unwrap();
        let field = FieldPath::root().key("allow_execs");
        let got = execs(
            PathBase::Dir(Path::new("/p")),
            Some(&path),
            &field,
            &["mytool".to_string()],
        )
        .unwrap();
        assert_eq!(
            got,
            vec![fs_err::canonicalize(&tool)
                .unwrap()
                .to_str()
                .unwrap()
                .to_string()]
        );
        let err = execs(
            PathBase::Dir(Path::new("/p")),
            Some(&path),
            &field,
            &["nope".to_string()],
        )
        .unwrap_err();
        assert!(
            err.to_string()
                .starts_with("allow_execs[0]: `nope` has no `/`"),
            "{err}"
        );
    }
}
