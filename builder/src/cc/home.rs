//! `$X07_HOME`: the directory holding the store, GC roots and caches.

use std::path::{Path, PathBuf};

/// The x07 state directory: `$X07_HOME`, or `~/.x07` when unset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct X07Home(PathBuf);

/// Why `$X07_HOME` could not be determined.
#[derive(Debug, thiserror::Error)]
pub enum HomeError {
    /// Neither `X07_HOME` nor `HOME` is set.
    #[error("neither X07_HOME nor HOME is set; set X07_HOME to a directory where x07 may keep its store and caches")]
    Unset,
    /// The configured directory cannot be made absolute.
    #[error("cannot resolve X07_HOME {}: {source}", path.display())]
    Resolve {
        /// The configured value.
        path: PathBuf,
        /// The operating-system error.
        source: std::io::Error,
    },
}

impl X07Home {
    /// Uses `dir` as the home (made absolute against the current directory; nothing is created).
    pub fn new(dir: impl AsRef<Path>) -> Result<Self, HomeError> {
        let dir = dir.as_ref();
        std::path::absolute(dir)
            .map(Self)
            .map_err(|source| HomeError::Resolve {
                path: dir.to_path_buf(),
                source,
            })
    }

    /// `$X07_HOME` if set and non-empty, otherwise `$HOME/.x07`.
    pub fn from_env() -> Result<Self, HomeError> {
        match std::env::var_os("X07_HOME") {
            Some(v) if !v.is_empty() => Self::new(PathBuf::from(v)),
            _ => match std::env::var_os("HOME") {
                Some(h) if !h.is_empty() => Self::new(PathBuf::from(h).join(".x07")),
                _ => Err(HomeError::Unset),
            },
        }
    }

    /// The home directory itself.
    pub fn path(&self) -> &Path {
        &self.0
    }

    /// `$X07_HOME/store`: the content-addressed build store.
    pub fn store_dir(&self) -> PathBuf {
        self.0.join("store")
    }

    /// `$X07_HOME/gcroots`: one file per project naming the store entries it uses.
    pub fn gcroots_dir(&self) -> PathBuf {
        self.0.join("gcroots")
    }

    /// `$X07_HOME/cache`: caches that can be deleted at any time.
    pub fn cache_dir(&self) -> PathBuf {
        self.0.join("cache")
    }
}
