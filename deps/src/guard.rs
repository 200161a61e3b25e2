//! One dependency-changing command per project at a time.

use std::fs::File;
use std::path::Path;

use crate::error::DepsError;

/// An exclusive lock on `<project>/.x07/pkg.lock`, released when dropped.
#[derive(Debug)]
pub struct ProjectGuard {
    _file: File,
}

impl ProjectGuard {
    /// Waits for the project's lock (saying so on stderr when another command holds it).
    pub fn acquire(project_root: &Path) -> Result<Self, DepsError> {
        let dir = project_root.join(".x07");
        fs_err::create_dir_all(&dir).map_err(|e| DepsError::io("create", &dir, e))?;
        let path = dir.join("pkg.lock");
        let file = fs_err::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|e| DepsError::io("open", &path, e))?
            .into_parts()
            .0;
        match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                eprintln!(
                    "x07: waiting for another x07 pkg command in {} to finish",
                    project_root.display()
                );
                file.lock().map_err(|e| DepsError::io("lock", &path, e))?;
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(DepsError::io("lock", &path, e)),
        }
        Ok(Self { _file: file })
    }
}
