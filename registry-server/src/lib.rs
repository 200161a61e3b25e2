//! x07-registry-server: `x07 registry serve` — a directory-backed package registry with a signed
//! sparse index (docs/internals/packages.md is the contract: layout, HTTP API, index lines, signing).
//!
//! Index files are held in memory (bytes + ETag, replaced on every write) so index GETs never touch
//! the disk; mutations (publish, yank, owners) run on blocking threads under a per-package lock and
//! write temp-file-then-rename, archive before index line. Publish bodies stream to disk after the
//! token was checked from the headers; connections are capped and bounded by header, body and idle
//! timeouts; start-up removes what an interrupted publish left behind.

mod api_error;
pub mod config;
mod connection;
mod http;
pub mod index_entry;
mod index_store;
pub mod owners;
mod package_check;
mod publish;
pub mod recovery;
mod registry;
pub mod root;
mod server;
pub mod shared;
pub mod signing;
pub mod tokens;
mod upload;

pub use api_error::{ApiError, ErrorCode};
pub use config::{BaseUrlSource, ConnectionLimits, RegistryConfig};
pub use index_entry::{
    shard_path, EntrySignature, IndexDep, IndexEntry, SignedLine, INDEX_ENTRY_SCHEMA,
};
pub use owners::OwnerName;
pub use root::{RegistryRoot, RootError};
pub use server::{
    serve, serve_blocking, LimitOverrides, ServerConfig, ServerError, ServerHandle, Storage,
};
pub use signing::{key_id_of, IndexSigner, KeyId};
pub use tokens::{Scope, Token, TokenError, TokenRecord, TokenStore};
