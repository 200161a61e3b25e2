//! The binary cache of the store: the signed entry record (`x07.store.cache-entry@0.1.0`), the
//! layout of a cache (object keys), and the substituters config file (`x07.substituters@0.1.0`).
//! Contract: docs/store.md ("Binary cache"); schemas under `spec/schemas/`.
//!
//! A cache holds, under its URL:
//!
//! ```text
//! entries/<hash>-<name>.json             the signed record of one store entry
//! without-cc/<hash without cc>-<name>.json   the same record, found by the inputs minus the compiler
//! archives/<sha256 hex>.tar.zst          the entry's files (content-addressed)
//! ```
//!
//! The signature covers the record's *fingerprint*: the JCS bytes (RFC 8785) of the record as
//! received, without its `archive` and `signatures` members. The archive is transport (it may be
//! recompressed or moved without re-signing); every file it unpacks to is checked against the
//! signed `files` digests.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::canonical::{to_canonical_vec, CanonicalError};
use crate::digest::Sha256Digest;
use crate::key_id::KeyId;

/// `schema_version` of an entry record.
pub const CACHE_ENTRY_SCHEMA: &str = "x07.store.cache-entry@0.1.0";
/// `schema_version` of the substituters config file.
pub const SUBSTITUTERS_SCHEMA: &str = "x07.substituters@0.1.0";
/// `schema_version` of the signatures kept beside a local store entry.
pub const LOCAL_SIGNATURES_SCHEMA: &str = "x07.store.signatures@0.1.0";
/// File name of the substituters config file inside `$X07_HOME`.
pub const SUBSTITUTERS_FILE: &str = "substituters.json";
/// Members of a record that the signature does not cover.
pub const UNSIGNED_MEMBERS: [&str; 2] = ["archive", "signatures"];
/// The only archive compression written and read.
pub const ARCHIVE_COMPRESSION: &str = "zstd";

/// Object key of the record of entry `<hash>-<name>`.
pub fn record_key(entry: &str) -> String {
    format!("entries/{entry}.json")
}

/// Object key of the record found by the inputs without the compiler.
pub fn without_cc_key(hash_without_cc: &str, name: &str) -> String {
    format!("without-cc/{hash_without_cc}-{name}.json")
}

/// Object key of an archive with this digest.
pub fn archive_key(sha256: &Sha256Digest) -> String {
    format!("archives/{}.tar.zst", sha256.hex())
}

/// One store entry in a binary cache: what it is, what it holds, who signed it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CacheEntryRecord {
    /// Always [`CACHE_ENTRY_SCHEMA`].
    pub schema_version: String,
    /// The entry directory name, `<hash>-<name>`.
    pub entry: String,
    /// The derivation hash (32 lowercase hex digits): the hash of `inputs`.
    pub hash: String,
    /// The hash of `inputs` without the compiler (what a machine with no C compiler looks up).
    pub hash_without_cc: String,
    /// The artifact name.
    pub name: String,
    /// The derivation inputs, exactly as in the entry's `build.json`.
    pub inputs: BTreeMap<String, Value>,
    /// The C compiler that built the entry.
    pub compiler: CacheCompiler,
    /// Every file of the entry, sorted by path.
    pub files: Vec<CacheFile>,
    /// Total bytes of the files.
    pub size: u64,
    /// Other entries (`<hash>-<name>`) this one names in its files: fetched before it.
    pub references: Vec<String>,
    /// Where the files are (unsigned).
    pub archive: CacheArchive,
    /// Signatures of the fingerprint, at least one (unsigned, sorted by key id).
    pub signatures: Vec<CacheSignature>,
}

/// The compiler that built an entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CacheCompiler {
    /// SHA-256 of its `--version` output (the inputs' `cc_version_digest`).
    pub version_digest: Sha256Digest,
    /// The first line of that output, when the signer knew it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version_line: Option<String>,
}

/// One file of an entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CacheFile {
    /// Path relative to the entry directory (`/`-separated, no `.` or `..`).
    pub path: String,
    /// SHA-256 of its bytes.
    pub sha256: Sha256Digest,
    /// Its size in bytes.
    pub size: u64,
    /// Whether it is executable.
    pub executable: bool,
}

/// The archive holding an entry's files: a tar of the files, compressed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CacheArchive {
    /// Object key, always [`archive_key`] of `sha256`.
    pub key: String,
    /// SHA-256 of the archive's bytes.
    pub sha256: Sha256Digest,
    /// Size of the archive in bytes.
    pub size: u64,
    /// Always [`ARCHIVE_COMPRESSION`].
    pub compression: String,
}

/// An ed25519 signature of a record's fingerprint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CacheSignature {
    /// The signing key's id (first 16 hex digits of the SHA-256 of the public key).
    pub key_id: KeyId,
    /// Standard base64 of the 64-byte signature.
    pub sig: String,
}

impl CacheEntryRecord {
    /// The fingerprint: the bytes a signature covers (see the module docs).
    pub fn fingerprint(&self) -> Result<Vec<u8>, CanonicalError> {
        let bytes = to_canonical_vec(self)?;
        let value: Value = serde_json::from_slice(&bytes).expect("canonical JSON parses");
        fingerprint_of(&value)
    }
}

/// The fingerprint of a record given as parsed JSON (what a verifier computes from the bytes it
/// received, so that nothing it did not parse can escape the signature).
pub fn fingerprint_of(record: &Value) -> Result<Vec<u8>, CanonicalError> {
    let mut value = record.clone();
    if let Some(map) = value.as_object_mut() {
        for member in UNSIGNED_MEMBERS {
            map.remove(member);
        }
    }
    to_canonical_vec(&value)
}

/// `$X07_HOME/substituters.json`: where `x07 build` and `x07 run` look for prebuilt entries and
/// whose signatures they trust, when no flag or environment variable says otherwise.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubstitutersConfig {
    /// Always [`SUBSTITUTERS_SCHEMA`].
    pub schema_version: String,
    /// Cache URLs, tried in order (`s3://…`, `file:///…`, `https://…`).
    #[serde(default)]
    pub substituters: Vec<String>,
    /// Trusted public keys: a path to a `.pub` file (relative to `$X07_HOME`), or
    /// `ed25519:<base64 of the 32-byte key>`.
    #[serde(default)]
    pub trusted_public_keys: Vec<String>,
}

/// `$X07_HOME/signatures/<hash>-<name>.json`: signatures of a local entry's fingerprint, written
/// by `x07 store sign` and by substitution, and carried into the cache by `x07 store push`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LocalSignatures {
    /// Always [`LOCAL_SIGNATURES_SCHEMA`].
    pub schema_version: String,
    /// The entry directory name, `<hash>-<name>`.
    pub entry: String,
    /// SHA-256 of the fingerprint the signatures cover (they are void if it changed).
    pub fingerprint_sha256: Sha256Digest,
    /// The signatures, sorted by key id.
    pub signatures: Vec<CacheSignature>,
}
