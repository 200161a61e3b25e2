//! x07-registry-client: talks to x07 registries and keeps the content-addressed archive cache.
//!
//! Contract: docs/internals/packages.md. A registry is named by its sparse index URL
//! ([`IndexUrl`]); a [`RegistryClient`] fetches its `config.json` (pinning the signing key on first
//! use, refusing a changed key), serves verified [`IndexEntry`] lines through an ETag-revalidated
//! cache under `$X07_HOME/cache/index/`, and downloads archives into
//! `$X07_HOME/cache/sha256/<hex>.x07pkg` only when they hash to the signed `cksum`.

mod api;
mod archive_cache;
mod catalog;
mod client;
mod credentials;
mod error;
mod home;
mod http;
mod index_cache;
mod index_entry;
mod index_url;
mod limits;
mod pinning;
mod progress;
mod registry_config;

pub use api::{PublishSource, Published, SearchHit};
pub use archive_cache::TEMP_PREFIX as DOWNLOAD_TEMP_PREFIX;
pub use catalog::{catalog_version, RegistryCatalog};
pub use client::{ArchiveOrigin, ClientOptions, FetchedArchive, RegistryClient, MAX_ARCHIVE_BYTES};
pub use credentials::{Credentials, Token, CREDENTIALS_SCHEMA};
pub use error::{ChecksumMismatch, RegistryError};
pub use home::RegistryHome;
pub use http::RetryPolicy;
pub use index_entry::{
    shard_path, EntrySignature, IndexDep, IndexEntry, LineProblem, INDEX_ENTRY_SCHEMA,
};
pub use index_url::{
    select_index_url, select_index_url_from_env, IndexLocation, IndexUrl, IndexUrlError,
    IndexUrlSource, DEFAULT_INDEX_URL, INDEX_URL_ENV,
};
pub use limits::{MAX_CONFIG_BYTES, MAX_INDEX_FILE_BYTES};
pub use pinning::{key_id_of, PinnedKey, TrustStore};
pub use registry_config::{OfferedKey, RegistryConfig};
