//! x07-store-cache: the signed binary cache of the content-addressed store, as Nix substituters
//! and Attic do it. Contract: docs/store.md ("Binary cache"); wire format:
//! [`x07_spec::store_cache`].
//!
//! - [`push`] uploads store entries (and the entries they refer to) to a cache: one
//!   content-addressed archive per entry, then its signed record, written last.
//! - [`BinaryCaches`] is the [`x07_builder::store::Substituter`] `x07 build` and `x07 run` consult
//!   before compiling: it verifies the record's signature against the trusted keys and every
//!   digest after download, and imports the entry atomically; any failure is a reason, never an
//!   error, so the build falls back to compiling.
//! - [`sign_entries`] signs local entries (`x07 store sign`), [`verify_cache`] checks a whole cache.

mod archive;
mod error;
mod local;
mod push;
mod record;
mod refs;
mod settings;
mod substitute;
mod verify;

pub use archive::{file_list, pack_entry, unpack_entry, PackedEntry};
pub use error::CacheError;
pub use local::{read_local_signatures, sign_entries, signatures_dir, SignedEntry};
pub use push::{push, PushOutcome, PushReport};
pub use record::{entry_record, verify_record, RecordProblem, TrustedKeys, VerifiedRecord};
pub use refs::{closure, references};
pub use settings::{CacheSettings, SettingsSource};
pub use substitute::BinaryCaches;
pub use verify::{verify_cache, CacheProblem, CacheVerifyReport};

use x07_blob_store::{BlobStore, StoreUrl};

/// Opens the cache at `url` (credentials for `s3://` are read here).
pub fn open_cache(url: &str) -> Result<BlobStore, CacheError> {
    let parsed = StoreUrl::parse(url).map_err(|source| CacheError::BadUrl {
        url: url.to_string(),
        source: Box::new(source),
    })?;
    BlobStore::open(&parsed).map_err(|source| CacheError::Unreachable {
        url: url.to_string(),
        source: Box::new(source),
    })
}
