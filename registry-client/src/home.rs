//! The files this crate keeps under `$X07_HOME`.

use std::path::{Path, PathBuf};

use crate::index_url::IndexUrl;

/// `$X07_HOME` as the registry client sees it (nothing is created until needed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistryHome {
    dir: PathBuf,
}

impl RegistryHome {
    /// Wraps the `$X07_HOME` directory.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    /// `$X07_HOME` itself.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// `$X07_HOME/cache/sha256`: the global content-addressed archive cache.
    pub fn archive_cache_dir(&self) -> PathBuf {
        self.dir.join("cache").join("sha256")
    }

    /// `$X07_HOME/cache/index/<sha256 of the index URL>`: cached index files and config.json.
    pub fn index_cache_dir(&self, index: &IndexUrl) -> PathBuf {
        self.dir.join("cache").join("index").join(index.cache_key())
    }

    /// `$X07_HOME/registries`: one pinned signing key per registry.
    pub fn pins_dir(&self) -> PathBuf {
        self.dir.join("registries")
    }

    /// `$X07_HOME/registries/<sha256 of the index URL>.json`.
    pub fn pin_path(&self, index: &IndexUrl) -> PathBuf {
        self.pins_dir().join(format!("{}.json", index.cache_key()))
    }

    /// `$X07_HOME/credentials.json`: registry tokens (mode 0600).
    pub fn credentials_path(&self) -> PathBuf {
        self.dir.join("credentials.json")
    }
}
