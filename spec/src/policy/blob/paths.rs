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

/// Resolves every entry of a root list (`fs.read_roots`, `process.allow_cwd_roots`, ...).
pub fn roots(
    root: &Path,
    field: &FieldPath,
    items: &[String],
) -> Result<Vec<String>, PathResolveError> {
    items
        .iter()
        .enumerate()
        .map(|(i, p)| to_string(&field.index(i), lexical_absolute(root, p)))
        .collect()
}

/// The canonical form of `path` when it exists; its lexical form otherwise.
fn canonical_or_lexical(root: &Path, path: &str) -> PathBuf {
    fs_err::canonicalize(root.join(path)).unwrap_or_else(|_| lexical_absolute(root, path))
}

/// Resolves `process.allow_exec_prefixes`: directories, canonical when they exist.
pub fn exec_prefixes(
    root: &Path,
    field: &FieldPath,
    items: &[String],
) -> Result<Vec<String>, PathResolveError> {
    items
        .iter()
        .enumerate()
        .map(|(i, p)| to_string(&field.index(i), canonical_or_lexical(root, p)))
        .collect()
}

/// Resolves `process.allow_execs`: a name without `/` is looked up on `search_path` like a shell
/// would; a path is taken relative to the project root. Both are canonical when they exist.
pub fn execs(
    root: &Path,
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
                canonical_or_lexical(root, p)
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
            Path::new("/p"),
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
        let err = execs(Path::new("/p"), Some(&path), &field, &["nope".to_string()]).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("allow_execs[0]: `nope` has no `/`"),
            "{err}"
        );
    }
}
