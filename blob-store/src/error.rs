//! What can go wrong talking to a store; every message names the store and the key.

/// A store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum BlobError {
    /// The store URL is malformed.
    #[error("store URL `{url}`: {why}")]
    BadUrl {
        /// The URL as given (no credentials are ever part of one).
        url: String,
        /// What is wrong and how to write it.
        why: String,
    },
    /// No credentials for an S3 store.
    #[error("no S3 credentials: {0}")]
    NoCredentials(String),
    /// A key that is not a relative `/`-separated path.
    #[error("object key `{0}` is not a relative path of non-empty segments")]
    BadKey(String),
    /// The store could not be reached or answered with an error status.
    #[error("{store}: {op} `{key}` failed: {why}")]
    Request {
        /// The store.
        store: String,
        /// GET, PUT, HEAD, DELETE, LIST.
        op: &'static str,
        /// The key.
        key: String,
        /// The transport error or the status and the start of the body.
        why: String,
    },
    /// A local file operation failed.
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// The store cannot do this (a static HTTP server cannot be written).
    #[error("{store}: {what} is not possible on this kind of store")]
    Unsupported {
        /// The store.
        store: String,
        /// What was asked.
        what: &'static str,
    },
}
