//! The store-wide lock (`<store>/.lock`) held around renames into the store and during GC.

use std::path::Path;

use super::StoreError;

/// File name of the lock file inside the store directory.
pub const LOCK_FILE: &str = ".lock";

/// An exclusive lock on the store; released when dropped (the file is closed).
#[derive(Debug)]
pub struct StoreLock {
    _file: fs_err::File,
}

impl StoreLock {
    /// Blocks until this process holds the store lock (creating the store directory if needed).
    pub fn acquire(store_dir: &Path) -> Result<Self, StoreError> {
        fs_err::create_dir_all(store_dir)?;
        let file = fs_err::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(store_dir.join(LOCK_FILE))?;
        file.lock()?;
        Ok(Self { _file: file })
    }
}
