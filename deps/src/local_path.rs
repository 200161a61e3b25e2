//! How x07.json records a local package's directory: project-relative when the directory is
//! inside the project, `$workspace/...` when it is elsewhere in the workspace (the nearest git
//! repository above the project, or `X07_WORKSPACE_ROOT`), as cargo records a path dependency
//! outside its package.

use std::path::{Path, PathBuf};

use x07_spec::dep_path::workspace_root;
use x07_spec::{DepPath, RelPath, WorkspaceError, DEPS_DIR, WORKSPACE_ROOT_ENV};

/// Why a directory cannot be recorded as a local package's path.
#[derive(Debug, thiserror::Error)]
pub enum LocalPathError {
    /// The directory does not exist.
    #[error("{}: no such directory ({source})", .dir.display())]
    Missing {
        /// The directory given.
        dir: PathBuf,
        /// Why it cannot be read.
        source: std::io::Error,
    },
    /// The directory is the project itself.
    #[error("{}: this is the project itself; pass the directory of the package", .dir.display())]
    IsProject {
        /// The directory given.
        dir: PathBuf,
    },
    /// The directory is where registry packages are unpacked.
    #[error("{}: {DEPS_DIR} holds registry packages; pass a directory of your own", .dir.display())]
    InDepsDir {
        /// The directory given.
        dir: PathBuf,
    },
    /// The directory is outside the project and there is no workspace root.
    #[error(
        "{}: outside the project ({}) and there is no workspace to record it against: keep both \
         in one git repository, or set {WORKSPACE_ROOT_ENV} to a directory holding both",
        .dir.display(), .project.display()
    )]
    NoWorkspace {
        /// The directory given.
        dir: PathBuf,
        /// The project root.
        project: PathBuf,
    },
    /// The directory is outside the workspace root.
    #[error(
        "{}: outside the workspace root {}; move it inside, or set {WORKSPACE_ROOT_ENV} to a \
         directory holding both it and the project",
        .dir.display(), .root.display()
    )]
    OutsideWorkspace {
        /// The directory given.
        dir: PathBuf,
        /// The workspace root.
        root: PathBuf,
    },
    /// `X07_WORKSPACE_ROOT` is unusable.
    #[error(transparent)]
    Workspace(#[from] WorkspaceError),
    /// A path segment cannot be written in x07.json.
    #[error("{}: {source}", .dir.display())]
    Unwritable {
        /// The directory given.
        dir: PathBuf,
        /// Why.
        source: x07_spec::RelPathError,
    },
}

/// The `path` to record in x07.json for the package in `dir` (relative to the current
/// directory when relative), for the project at `project_root`.
pub fn local_dependency_path(project_root: &Path, dir: &Path) -> Result<DepPath, LocalPathError> {
    let abs = dir
        .canonicalize()
        .map_err(|source| LocalPathError::Missing {
            dir: dir.to_path_buf(),
            source,
        })?;
    let project = project_root
        .canonicalize()
        .unwrap_or_else(|_| project_root.to_path_buf());
    let relative = |base: &Path| -> Option<Result<RelPath, LocalPathError>> {
        let rel = abs.strip_prefix(base).ok()?;
        let text: Vec<String> = rel
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect();
        if text.is_empty() {
            return Some(Err(LocalPathError::IsProject {
                dir: dir.to_path_buf(),
            }));
        }
        Some(
            RelPath::new(text.join("/")).map_err(|source| LocalPathError::Unwritable {
                dir: dir.to_path_buf(),
                source,
            }),
        )
    };
    if let Some(rel) = relative(&project) {
        let rel = rel?;
        if rel.starts_with_segments(&[".x07", "deps"]) {
            return Err(LocalPathError::InDepsDir {
                dir: dir.to_path_buf(),
            });
        }
        return Ok(DepPath::Project(rel));
    }
    let root = workspace_root(&project).ok_or_else(|| LocalPathError::NoWorkspace {
        dir: dir.to_path_buf(),
        project: project.clone(),
    })??;
    match relative(&root) {
        Some(rel) => Ok(DepPath::Workspace(rel?)),
        None => Err(LocalPathError::OutsideWorkspace {
            dir: dir.to_path_buf(),
            root,
        }),
    }
}
