//! Everything that can go wrong talking to a registry; every message names the registry, package,
//! URL or file involved and says what to do.

use std::path::PathBuf;

use x07_spec::{PackageName, PackageVersion, Sha256Digest};

use crate::index_entry::LineProblem;
use crate::index_url::{IndexUrl, IndexUrlError};

/// A registry operation failed.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    /// The index URL is malformed.
    #[error(transparent)]
    IndexUrl(#[from] IndexUrlError),
    /// A local file operation failed (the message names the path).
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// The registry could not be reached, even after retrying.
    #[error("cannot reach {url} after {attempts} attempt(s): {reason}; check the network, or name another registry with --index URL or X07_PKG_INDEX_URL (`x07 registry serve --root DIR` runs one locally); --offline only helps for what is already cached")]
    Unreachable {
        /// The URL requested.
        url: String,
        /// How many times it was tried.
        attempts: u32,
        /// The last failure.
        reason: String,
    },
    /// The registry answered with an error status.
    #[error("{url}: HTTP {status}{}: {message}", code.as_deref().map(|c| format!(" {c}")).unwrap_or_default())]
    Api {
        /// The URL requested.
        url: String,
        /// The HTTP status.
        status: u16,
        /// The registry's `X07REG_*` code, when it sent one.
        code: Option<String>,
        /// The registry's message, or the start of the body.
        message: String,
    },
    /// The registry's `config.json` is unusable.
    #[error("{url}: invalid registry config.json: {reason}")]
    Config {
        /// Where it came from.
        url: String,
        /// What is wrong.
        reason: String,
    },
    /// The index has no file for this package.
    #[error("package `{name}` is not in the index {index}; check the name (`x07 pkg search`) or the --index URL")]
    PackageNotFound {
        /// The package.
        name: PackageName,
        /// The index.
        index: IndexUrl,
    },
    /// The index has the package but not this version.
    #[error("package `{name}` has no version {version} in the index {index}")]
    VersionNotFound {
        /// The package.
        name: PackageName,
        /// The version asked for.
        version: PackageVersion,
        /// The index.
        index: IndexUrl,
    },
    /// Offline, and the index file of this package was never fetched.
    #[error("offline: the index entry of package `{name}` from {index} was never fetched, so --offline cannot help; reach the registry (check the network, or name another with --index URL or X07_PKG_INDEX_URL)")]
    OfflineIndexNotCached {
        /// The package.
        name: PackageName,
        /// The index.
        index: IndexUrl,
    },
    /// Offline, and the registry's config.json (or signing key) was never fetched.
    #[error("offline: nothing is known about the registry {index} (no cached config.json or pinned key), so --offline cannot help; reach it once, or name another with --index URL or X07_PKG_INDEX_URL (`x07 registry serve --root DIR` runs one locally)")]
    OfflineRegistryUnknown {
        /// The index.
        index: IndexUrl,
    },
    /// Offline, and the archive is not in the cache.
    #[error("offline: the archive of {name} {version} ({cksum}) was never downloaded, so --offline cannot help; reach the registry (check the network, or name another with --index URL or X07_PKG_INDEX_URL)")]
    OfflineArchiveNotCached {
        /// The package.
        name: PackageName,
        /// The version.
        version: PackageVersion,
        /// The archive digest.
        cksum: Sha256Digest,
    },
    /// The operation needs the network but the client is offline.
    #[error("offline: cannot {action} on {index} without the network; drop --offline")]
    Offline {
        /// What was attempted.
        action: &'static str,
        /// The registry.
        index: IndexUrl,
    },
    /// config.json offers no ed25519 key to pin.
    #[error("the registry {index} publishes no ed25519 signing key in config.json; it cannot be used (its index lines cannot be verified)")]
    NoSigningKey {
        /// The registry.
        index: IndexUrl,
    },
    /// The registry no longer offers the pinned key.
    #[error(
        "the signing key of {index} changed: pinned key {pinned}, the registry now offers {}; if the registry \
         operator rotated the key on purpose, trust the new one with `x07 registry trust --index {index} --key <BASE64>` \
         (or delete {} to pin on next use); otherwise someone may be impersonating the registry",
        offered.join(", "), pin_file.display()
    )]
    KeyChanged {
        /// The registry.
        index: IndexUrl,
        /// The pinned key id.
        pinned: String,
        /// The key ids config.json now lists.
        offered: Vec<String>,
        /// The pin file.
        pin_file: PathBuf,
    },
    /// A pinned key or a key given to `trust` is malformed.
    #[error("{what}: {reason}")]
    BadKey {
        /// Which key.
        what: String,
        /// What is wrong.
        reason: String,
    },
    /// An index line is malformed or fails verification.
    #[error(
        "index entry of `{name}`{} (line {line}) from {index}: {problem}; the index or its cache was tampered \
         with or corrupted — refusing to use it",
        version.as_ref().map(|v| format!(" {v}")).unwrap_or_default()
    )]
    BadIndexLine {
        /// The package.
        name: PackageName,
        /// The version, when the line got that far.
        version: Option<PackageVersion>,
        /// 1-based line number.
        line: usize,
        /// The registry.
        index: IndexUrl,
        /// What is wrong.
        problem: LineProblem,
    },
    /// The downloaded bytes do not hash to the index cksum.
    #[error(transparent)]
    ChecksumMismatch(Box<ChecksumMismatch>),
    /// The download is larger than any valid archive.
    #[error("{url}: the download exceeds {limit} bytes, more than any package archive may hold; refusing it")]
    TooLarge {
        /// The URL.
        url: String,
        /// The cap.
        limit: u64,
    },
    /// A document the registry (or mirror) sent is larger than this client reads.
    #[error(
        "{url}: the {what} is larger than this client's cap of {limit} bytes ({} MiB); refusing it without \
         reading on (the registry is misbehaving, or the URL is not an x07 index)",
        limit / (1024 * 1024)
    )]
    ResponseTooLarge {
        /// Where it came from.
        url: String,
        /// What it is (`index file`, `config.json`, `API answer`).
        what: &'static str,
        /// The cap, in bytes.
        limit: u64,
    },
    /// Authentication is needed and no token is stored.
    #[error("no token for {index}; run `x07 pkg login --index {index} --token-stdin`")]
    NotLoggedIn {
        /// The registry.
        index: IndexUrl,
    },
    /// The registry points authenticated requests at another origin.
    #[error("refusing to send the token for {index} to {url}: it is on another origin (scheme, host or port); fix the registry's config.json `api`")]
    CrossOriginToken {
        /// The registry.
        index: IndexUrl,
        /// The foreign URL.
        url: String,
    },
    /// A token is not usable in an HTTP header.
    #[error("invalid token: {0}")]
    BadToken(String),
    /// The registry's answer to a publish does not describe what was sent.
    #[error("the registry {index} answered the publish with {field} `{got}`, but `{expected}` was sent; check the registry")]
    PublishMismatch {
        /// The registry.
        index: IndexUrl,
        /// The field that differs (`name`, `version` or `cksum`).
        field: &'static str,
        /// The registry's value.
        got: String,
        /// The value sent.
        expected: String,
    },
    /// Packing the package directory failed.
    #[error(transparent)]
    Pack(#[from] x07_spec::archive::PackError),
    /// `$X07_HOME/credentials.json` is unusable.
    #[error("{path}: {reason}", path = path.display())]
    Credentials {
        /// The file.
        path: PathBuf,
        /// What is wrong and what to do.
        reason: String,
    },
    /// An index entry cannot be turned into a resolver catalog entry.
    #[error("index entry of {name} {version} from {index}: {reason}")]
    Catalog {
        /// The package.
        name: PackageName,
        /// The version.
        version: PackageVersion,
        /// The registry.
        index: IndexUrl,
        /// What is wrong.
        reason: String,
    },
}

impl RegistryError {
    /// Whether this error means "no such package or version" (as opposed to a failure).
    pub fn is_not_found(&self) -> bool {
        matches!(
            self,
            Self::PackageNotFound { .. } | Self::VersionNotFound { .. }
        )
    }
}

/// A download whose bytes are not the ones the signed index line names.
#[derive(Debug, thiserror::Error)]
#[error("the archive of {name} {version} downloaded from {url} has {actual}, but the signed index says {expected}; it was not stored")]
pub struct ChecksumMismatch {
    /// The package.
    pub name: PackageName,
    /// The version.
    pub version: PackageVersion,
    /// The download URL.
    pub url: String,
    /// The index cksum.
    pub expected: Sha256Digest,
    /// What arrived.
    pub actual: Sha256Digest,
}
