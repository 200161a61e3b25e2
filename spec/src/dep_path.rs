//! Where a dependency's source tree is: a project-relative path, or `$workspace/...` for a package
//! outside the project (the public format's workspace paths): resolved against
//! `X07_WORKSPACE_ROOT`, or else the nearest directory above the project that holds `.git`, and
//! never leaving that root.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::rel_path::{RelPath, RelPathError};

/// The prefix of a path written against the workspace root.
pub const WORKSPACE_PREFIX: &str = "$workspace/";

/// The environment variable naming the workspace root.
pub const WORKSPACE_ROOT_ENV: &str = "X07_WORKSPACE_ROOT";

/// A dependency path: project-relative, or `$workspace/`-relative.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum DepPath {
    /// Relative to the project root.
    Project(RelPath),
    /// Relative to the workspace root (`$workspace/<path>`).
    Workspace(RelPath),
}

/// Why a `$workspace/` path cannot be resolved.
#[derive(Debug, thiserror::Error)]
pub enum WorkspaceError {
    /// Neither the variable nor a `.git` above the project says where the workspace is.
    #[error(
        "`{path}`: no workspace root for the project at {}: set {WORKSPACE_ROOT_ENV} to the \
         directory `$workspace` stands for, or keep the project in a git repository (the nearest \
         directory above it holding `.git` is the workspace root)",
        project.display()
    )]
    NoRoot {
        /// The path as written.
        path: String,
        /// The project root it was resolved from.
        project: PathBuf,
    },
    /// `X07_WORKSPACE_ROOT` names no directory.
    #[error("{WORKSPACE_ROOT_ENV}={}: not a directory ({source}); set it to the directory `$workspace` stands for", value.display())]
    BadRoot {
        /// The variable's value.
        value: PathBuf,
        /// Why it cannot be used.
        source: std::io::Error,
    },
    /// A symbolic link takes the path out of the workspace root.
    #[error("`{path}` resolves to {}, outside the workspace root {}", target.display(), root.display())]
    Escapes {
        /// The path as written.
        path: String,
        /// Where it leads.
        target: PathBuf,
        /// The workspace root.
        root: PathBuf,
    },
}

impl DepPath {
    /// Checks and wraps a path string.
    pub fn new(s: impl Into<String>) -> Result<Self, RelPathError> {
        let s = s.into();
        match s.strip_prefix(WORKSPACE_PREFIX) {
            Some(rest) => Ok(Self::Workspace(RelPath::new(rest)?)),
            None => Ok(Self::Project(RelPath::new(s)?)),
        }
    }

    /// The project-relative path, if that is what this is.
    pub fn project_relative(&self) -> Option<&RelPath> {
        match self {
            Self::Project(p) => Some(p),
            Self::Workspace(_) => None,
        }
    }

    /// The path without `.` segments and without a trailing `/`, with its `$workspace/` prefix.
    pub fn normalized(&self) -> String {
        match self {
            Self::Project(p) => p.normalized(),
            Self::Workspace(p) => format!("{WORKSPACE_PREFIX}{}", p.normalized()),
        }
    }

    /// Whether the path, project-relative and without `.` segments, starts with `prefix`.
    pub fn starts_with_segments(&self, prefix: &[&str]) -> bool {
        self.project_relative()
            .is_some_and(|p| p.starts_with_segments(prefix))
    }

    /// The directory this names, for a project at `project_root`.
    pub fn resolve(&self, project_root: &Path) -> Result<PathBuf, WorkspaceError> {
        match self {
            Self::Project(p) => Ok(p.resolve(project_root)),
            Self::Workspace(p) => {
                let root =
                    workspace_root(project_root).ok_or_else(|| WorkspaceError::NoRoot {
                        path: self.to_string(),
                        project: project_root.to_path_buf(),
                    })??;
                let target = p.resolve(&root);
                // `..` is refused by RelPath; a symbolic link is the only way out
                if let Ok(real) = target.canonicalize() {
                    if !real.starts_with(&root) {
                        return Err(WorkspaceError::Escapes {
                            path: self.to_string(),
                            target: real,
                            root,
                        });
                    }
                }
                Ok(target)
            }
        }
    }
}

/// The workspace root for a project at `project_root`: `X07_WORKSPACE_ROOT` (relative to the
/// current directory when relative), else the nearest directory at or above the project holding
/// `.git`; canonical. `None`: neither exists.
pub fn workspace_root(project_root: &Path) -> Option<Result<PathBuf, WorkspaceError>> {
    if let Some(value) = std::env::var_os(WORKSPACE_ROOT_ENV).filter(|v| !v.is_empty()) {
        let value = PathBuf::from(value);
        return Some(match value.canonicalize() {
            Ok(root) if root.is_dir() => Ok(root),
            Ok(_) => Err(WorkspaceError::BadRoot {
                value,
                source: std::io::Error::from(std::io::ErrorKind::NotADirectory),
            }),
            Err(source) => Err(WorkspaceError::BadRoot { value, source }),
        });
    }
    let start = project_root.canonicalize().ok()?;
    start
        .ancestors()
        .find(|dir| dir.join(".git").symlink_metadata().is_ok())
        .map(|dir| Ok(dir.to_path_buf()))
}

impl From<RelPath> for DepPath {
    fn from(p: RelPath) -> Self {
        Self::Project(p)
    }
}

impl TryFrom<String> for DepPath {
    type Error = RelPathError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::new(s)
    }
}

impl From<DepPath> for String {
    fn from(p: DepPath) -> String {
        p.to_string()
    }
}

impl fmt::Display for DepPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Project(p) => write!(f, "{p}"),
            Self::Workspace(p) => write!(f, "{WORKSPACE_PREFIX}{p}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_both_kinds_and_writes_them_back() {
        let p = DepPath::new("libs/a").unwrap();
        assert_eq!(p.project_relative().map(RelPath::as_str), Some("libs/a"));
        let w = DepPath::new("$workspace/libs/a").unwrap();
        assert_eq!(w, DepPath::Workspace(RelPath::new("libs/a").unwrap()));
        assert_eq!(w.to_string(), "$workspace/libs/a");
        assert!(!w.starts_with_segments(&["libs"]));
        for bad in [
            "$workspace/../x",
            "$workspace/",
            "$home/x",
            "/abs",
            "a/../b",
        ] {
            assert!(DepPath::new(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_workspace_path_resolves_under_the_nearest_git_root_and_stays_there() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().canonicalize().unwrap();
        fs_err::create_dir_all(root.join(".git")).unwrap();
        fs_err::create_dir_all(root.join("apps/app")).unwrap();
        fs_err::create_dir_all(root.join("libs/a")).unwrap();
        let project = root.join("apps/app");
        // the variable is not set in this test process: the nearest .git decides
        if std::env::var_os(WORKSPACE_ROOT_ENV).is_some() {
            return;
        }
        let w = DepPath::new("$workspace/libs/a").unwrap();
        assert_eq!(w.resolve(&project).unwrap(), root.join("libs/a"));
        std::os::unix::fs::symlink("/", root.join("libs/out")).unwrap();
        let out = DepPath::new("$workspace/libs/out").unwrap();
        assert!(matches!(
            out.resolve(&project),
            Err(WorkspaceError::Escapes { .. })
        ));
        let lonely = tempfile::tempdir().unwrap();
        let err = w.resolve(lonely.path()).unwrap_err().to_string();
        assert!(err.contains("X07_WORKSPACE_ROOT"), "{err}");
    }
}
