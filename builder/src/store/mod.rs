//! The content-addressed store: `$X07_HOME/store/<hash>-<name>/` holds a binary and its
//! `build.json`, where `<hash>` covers every input of the build ([`DerivationInputs`]).
//!
//! Entries appear atomically (staged in a temp dir, renamed into place under a store-wide file
//! lock), are read-only once published, and are removed by [`StoreRoot::gc`] when no GC root
//! (`$X07_HOME/gcroots/`) refers to them. See docs/store.md.

mod entry;
mod fs_tree;
mod gc;
mod inputs;
mod lock;
mod publish;
mod substitute;
mod verify;

pub use crate::cc::X07Home;
pub use entry::{
    BuildRecord, OutputFile, StoreEntry, BUILD_RECORD_FILE, BUILD_RECORD_SCHEMA,
    BUILD_RECORD_SCHEMAS_READ, C_SOURCE_FILE,
};
pub use gc::{GcReport, GcRoot, GC_ROOT_SCHEMA, STALE_STAGING_AGE};
pub use inputs::{ArtifactName, DerivationHash, DerivationInputs};
pub use lock::LOCK_FILE;
pub use publish::{Produced, PublishError, Realized, Staging};
pub use substitute::{parse_entry_name, Substituter, Substitution, Wanted};
pub use verify::{verify_entry, VerifyProblem, VerifyProblemKind};

use std::path::{Path, PathBuf};

use x07_spec::{CanonicalError, Sha256Digest};

/// Why a store operation failed. Every variant names the path concerned.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A filesystem operation failed (the message names the path).
    #[error(
        "the store cannot be read or written: {0}; check the permissions of $X07_HOME or point X07_HOME elsewhere"
    )]
    Fs(#[from] std::io::Error),
    /// A filesystem operation failed whose error does not carry the path.
    #[error("the store cannot be read or written: cannot {action} {}: {source}; check the permissions of $X07_HOME or point X07_HOME elsewhere", path.display())]
    Io {
        /// What was being done.
        action: &'static str,
        /// The path concerned.
        path: PathBuf,
        /// The operating-system error.
        source: std::io::Error,
    },
    /// A value could not be written as canonical JSON (e.g. a path that is not UTF-8).
    #[error("cannot write {what} as canonical JSON: {source}")]
    Canonical {
        /// What was being written.
        what: &'static str,
        /// The underlying error.
        source: CanonicalError,
    },
    /// `build.json` of an entry is malformed.
    #[error("{} is not a valid build record: {reason}; run `x07 store verify`, then remove the entry with `x07 store gc`", path.display())]
    BadRecord {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The producer returned success without writing the binary.
    #[error("the build did not write its binary {}; this is an x07 bug, please report it", path.display())]
    MissingBinary {
        /// Where the binary was expected.
        path: PathBuf,
    },
    /// Another builder published the same inputs with a different binary (X07-STORE-0002).
    #[error(
        "store entry {} already holds a binary with digest {existing}, but this build produced {new}: the \
         same inputs gave different bytes. Run `x07 store verify`: if the entry was modified, remove it with \
         `x07 store gc`; otherwise the C compiler is not deterministic, please report it",
        entry.display()
    )]
    ConflictingOutput {
        /// The entry directory.
        entry: PathBuf,
        /// Digest of the binary already in the store.
        existing: Sha256Digest,
        /// Digest of the binary this build produced.
        new: Sha256Digest,
    },
    /// The entry was garbage-collected before a root could be registered for it.
    #[error("store entry {} no longer exists (collected by `x07 store gc`?); build again", entry.display())]
    EntryMissing {
        /// The entry directory.
        entry: PathBuf,
    },
    /// An artifact name that cannot name a store entry.
    #[error("invalid artifact name `{name}`: use 1 to 100 ASCII letters, digits, `.`, `_`, `-` or `+`, starting with a letter or digit (not `build.json` or `main.c`)")]
    InvalidName {
        /// The rejected name.
        name: String,
    },
    /// An entry from a binary cache failed the checks of `x07 store verify`; nothing was added.
    #[error("the entry {} from the binary cache was refused: {reason}", entry.display())]
    ImportRefused {
        /// The entry directory it would have become.
        entry: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// A string that is not a derivation hash.
    #[error("invalid store hash `{hash}`: expected 32 lowercase hex digits")]
    InvalidHash {
        /// The rejected string.
        hash: String,
    },
}

impl StoreError {
    /// The stable diagnostic code (see docs/diagnostics.md).
    pub fn code(&self) -> &'static str {
        match self {
            StoreError::ConflictingOutput { .. } => "X07-STORE-0002",
            _ => "X07-STORE-0001",
        }
    }
}

/// The store directory (`$X07_HOME/store`) together with its GC roots (`$X07_HOME/gcroots`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreRoot {
    dir: PathBuf,
    gcroots: PathBuf,
}

impl StoreRoot {
    /// The store of `home`; nothing is created until something is published.
    pub fn new(home: &X07Home) -> Self {
        Self {
            dir: home.store_dir(),
            gcroots: home.gcroots_dir(),
        }
    }

    /// The store directory (what `x07 store path` prints).
    pub fn path(&self) -> &Path {
        &self.dir
    }

    /// The GC roots directory.
    pub fn gcroots_dir(&self) -> &Path {
        &self.gcroots
    }

    /// The entry for `hash` and `name` if it is in the store: a single stat.
    pub fn lookup(&self, hash: &DerivationHash, name: &ArtifactName) -> Option<StoreEntry> {
        let entry = StoreEntry::at(&self.dir, hash, name);
        std::fs::metadata(&entry.dir)
            .is_ok_and(|m| m.is_dir())
            .then_some(entry)
    }

    /// All complete entries, sorted by directory name (staging and trash directories excluded).
    pub fn ls(&self) -> Result<Vec<StoreEntry>, StoreError> {
        let items = match fs_err::read_dir(&self.dir) {
            Ok(items) => items,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(e.into()),
        };
        let mut entries = Vec::new();
        for item in items {
            let item = item?;
            if !item.file_type()?.is_dir() {
                continue;
            }
            if let Some(entry) = item
                .file_name()
                .to_str()
                .and_then(|n| StoreEntry::from_dir_name(&self.dir, n))
            {
                entries.push(entry);
            }
        }
        entries.sort_by(|a, b| a.dir.cmp(&b.dir));
        Ok(entries)
    }
}
