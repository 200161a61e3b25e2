//! x07-blob-store: where the registry keeps archives and index files and where the binary cache
//! keeps store entries — an S3 bucket (SigV4, path-style with an explicit endpoint), a local
//! directory (`file://`), or a read-only static HTTP(S) server.
//!
//! Keys are `/`-separated relative paths (`index/3/x/xyz`); the store never sees credentials in
//! its URL: they come from the standard AWS environment variables or the shared credentials file.

mod credentials;
mod error;
mod file;
mod http_static;
mod s3;
mod store_url;

pub use credentials::{load_credentials, CredentialSource};
pub use error::BlobError;
pub use file::DirStore;
pub use http_static::HttpStore;
pub use s3::S3Store;
pub use store_url::{S3Location, StoreUrl};

/// An object being read: bytes arrive as the reader asks for them.
pub type BlobReader = Box<dyn std::io::Read + Send>;

/// One object store, whatever its kind.
#[derive(Debug)]
pub enum BlobStore {
    /// An S3 bucket.
    S3(S3Store),
    /// A local directory.
    Dir(DirStore),
    /// A static HTTP(S) server (read only).
    Http(HttpStore),
}

impl BlobStore {
    /// Opens the store a URL names (credentials for `s3://` are read here).
    pub fn open(url: &StoreUrl) -> Result<Self, BlobError> {
        Ok(match url {
            StoreUrl::S3(loc) => Self::S3(S3Store::open(loc)?),
            StoreUrl::File(dir) => Self::Dir(DirStore::new(dir.clone())),
            StoreUrl::Http(base) => Self::Http(HttpStore::new(base.clone())?),
        })
    }

    /// The object's bytes, or `None` when there is no such key.
    pub fn get(&self, key: &str) -> Result<Option<Vec<u8>>, BlobError> {
        match self {
            Self::S3(s) => s.get(key),
            Self::Dir(d) => d.get(key),
            Self::Http(h) => h.get(key),
        }
    }

    /// The object as a stream with its length when known, or `None` when there is no such key.
    pub fn get_stream(&self, key: &str) -> Result<Option<(BlobReader, Option<u64>)>, BlobError> {
        match self {
            Self::S3(s) => s.get_stream(key),
            Self::Dir(d) => d.get_stream(key),
            Self::Http(h) => Ok(h.get(key)?.map(|b| {
                let len = b.len() as u64;
                (Box::new(std::io::Cursor::new(b)) as BlobReader, Some(len))
            })),
        }
    }

    /// Stores `bytes` under `key` (whole or not at all).
    pub fn put(&self, key: &str, bytes: &[u8]) -> Result<(), BlobError> {
        match self {
            Self::S3(s) => s.put(key, bytes),
            Self::Dir(d) => d.put(key, bytes),
            Self::Http(h) => Err(h.read_only()),
        }
    }

    /// Stores the file at `path` under `key`, streamed (S3) or copied then renamed (directory).
    pub fn put_file(&self, key: &str, path: &std::path::Path) -> Result<(), BlobError> {
        match self {
            Self::S3(s) => s.put_file(key, path),
            Self::Dir(d) => d.put_file(key, path),
            Self::Http(h) => Err(h.read_only()),
        }
    }

    /// Whether `key` exists.
    pub fn exists(&self, key: &str) -> Result<bool, BlobError> {
        match self {
            Self::S3(s) => s.exists(key),
            Self::Dir(d) => d.exists(key),
            Self::Http(h) => h.exists(key),
        }
    }

    /// Removes `key` (no error when it is already gone).
    pub fn delete(&self, key: &str) -> Result<(), BlobError> {
        match self {
            Self::S3(s) => s.delete(key),
            Self::Dir(d) => d.delete(key),
            Self::Http(h) => Err(h.read_only()),
        }
    }

    /// Every key under `prefix`, sorted (static HTTP servers cannot list).
    pub fn list(&self, prefix: &str) -> Result<Vec<String>, BlobError> {
        match self {
            Self::S3(s) => s.list(prefix),
            Self::Dir(d) => d.list(prefix),
            Self::Http(h) => Err(BlobError::Unsupported {
                store: h.describe(),
                what: "listing keys",
            }),
        }
    }

    /// A short description for messages (`s3://bucket`, `file:///dir`, `https://host/…`).
    pub fn describe(&self) -> String {
        match self {
            Self::S3(s) => s.describe(),
            Self::Dir(d) => d.describe(),
            Self::Http(h) => h.describe(),
        }
    }
}

/// Checks a key: relative, `/`-separated, no empty, `.` or `..` segments.
pub(crate) fn check_key(key: &str) -> Result<(), BlobError> {
    let bad = key.is_empty()
        || key.starts_with('/')
        || key
            .split('/')
            .any(|s| s.is_empty() || s == "." || s == "..")
        || key.contains('\\')
        || key.chars().any(|c| c.is_control());
    if bad {
        Err(BlobError::BadKey(key.to_string()))
    } else {
        Ok(())
    }
}
