//! What can go wrong with the binary cache; every message names the URL, file, flag or entry.

use std::path::PathBuf;

use x07_blob_store::BlobError;
use x07_builder::store::StoreError;

/// A binary cache operation failed.
#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    /// A cache URL that does not parse (X07-CACHE-0001).
    #[error("cache URL `{url}` is not usable: {source}")]
    BadUrl {
        /// The URL as given.
        url: String,
        /// Why.
        source: Box<BlobError>,
    },
    /// A substituter URL that does not parse (X07-CACHE-0001).
    #[error("substituter `{url}` (from {from}) is not usable: {source}")]
    BadSubstituter {
        /// The URL as given.
        url: String,
        /// Where it was given.
        from: String,
        /// Why.
        source: Box<BlobError>,
    },
    /// A push to a read-only cache (a static HTTP server) (X07-CACHE-0001).
    #[error("cache {url} is read only (a static HTTP server): push to the s3:// bucket or file:// directory it serves")]
    ReadOnly {
        /// The URL.
        url: String,
    },
    /// A trusted public key that cannot be read (X07-CACHE-0001).
    #[error("trusted key `{key}` (from {from}) cannot be used: {why}; give the `.pub` file `x07 key generate` wrote, or `ed25519:<base64>`")]
    TrustedKey {
        /// The key or file as given.
        key: String,
        /// Where it was given (`--trusted-key`, `X07_TRUSTED_PUBLIC_KEYS`, the config file).
        from: String,
        /// What is wrong.
        why: String,
    },
    /// The substituters config file is malformed (X07-CACHE-0001).
    #[error("{}: {why}; fix the file (schema x07.substituters@0.1.0, see docs/store.md) or remove it", path.display())]
    BadConfig {
        /// The config file.
        path: PathBuf,
        /// What is wrong, naming the field.
        why: String,
    },
    /// The signing key cannot be read (X07-CACHE-0001).
    #[error("signing key {}: {why}", path.display())]
    SigningKey {
        /// The key file.
        path: PathBuf,
        /// What is wrong and what to do.
        why: String,
    },
    /// The cache cannot be reached, read or written (X07-CACHE-0002).
    #[error("cache {url}: {source}")]
    Unreachable {
        /// The cache URL.
        url: String,
        /// The store error, naming the key.
        source: Box<BlobError>,
    },
    /// A local entry cannot be pushed or signed: it fails `x07 store verify` (X07-CACHE-0003).
    #[error("store entry {} cannot be pushed: {why}; run `x07 store verify`, remove the entry (x07 store gc) and build it again", entry.display())]
    DamagedEntry {
        /// The entry directory.
        entry: PathBuf,
        /// What is wrong.
        why: String,
    },
    /// An entry to push has no signature and no key was given (X07-CACHE-0003).
    #[error("store entry {entry} has no signature and there is no signing key at {}: run `x07 key generate`, pass --key FILE, or sign it first with `x07 store sign --key FILE`", key.display())]
    Unsigned {
        /// The entry name.
        entry: String,
        /// Where the default key was looked for.
        key: PathBuf,
    },
    /// A path given on the command line is not a store entry (X07-CACHE-0003).
    #[error("`{given}` is not an entry of the store {}: give an entry directory (x07 store ls) or its name `<hash>-<name>`", store.display())]
    NotAnEntry {
        /// The argument.
        given: String,
        /// The store directory.
        store: PathBuf,
    },
    /// A local file could not be read or written.
    #[error("cannot {action} {}: {source}", path.display())]
    Io {
        /// What was being done.
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// The operating-system error.
        source: std::io::Error,
    },
    /// The store could not be read or written.
    #[error(transparent)]
    Store(#[from] Box<StoreError>),
}

impl CacheError {
    /// The stable diagnostic code (docs/diagnostics.md).
    pub fn code(&self) -> &'static str {
        match self {
            CacheError::BadUrl { .. }
            | CacheError::BadSubstituter { .. }
            | CacheError::ReadOnly { .. }
            | CacheError::TrustedKey { .. }
            | CacheError::BadConfig { .. }
            | CacheError::SigningKey { .. } => "X07-CACHE-0001",
            CacheError::Unreachable { .. } => "X07-CACHE-0002",
            CacheError::DamagedEntry { .. }
            | CacheError::Unsigned { .. }
            | CacheError::NotAnEntry { .. } => "X07-CACHE-0003",
            CacheError::Io { .. } => "X07-CACHE-0002",
            CacheError::Store(e) => e.code(),
        }
    }
}

impl From<StoreError> for CacheError {
    fn from(e: StoreError) -> Self {
        CacheError::Store(Box::new(e))
    }
}
