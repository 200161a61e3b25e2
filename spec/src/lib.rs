//! x07-spec: the file formats of x07 — serde types, JSON Schemas, canonical JSON and digests.

pub mod atomic;
pub mod canonical;
pub mod digest;

pub use atomic::{write_atomic, write_if_changed, WriteOutcome};
pub use canonical::{canonical_file_bytes, to_canonical_vec, CanonicalError};
pub use digest::{DigestParseError, Sha256Digest, Sha256Hasher};
