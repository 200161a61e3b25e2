//! `DIR/config.json`: the registry's settings, and the index `config.json` clients read.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::owners::OwnerName;
use crate::signing::IndexSigner;

/// Schema tag of `DIR/config.json`.
pub const REGISTRY_CONFIG_SCHEMA: &str = "x07.registry-config@0.1.0";

/// Default publish body limit: the archive format's 64 MiB unpacked cap bounds the compressed size too.
pub const DEFAULT_MAX_PUBLISH_BYTES: u64 = 64 * 1024 * 1024;

/// Default time a client has to send a request's headers, counted from the connection's start or
/// the end of the previous response (so it also bounds an idle kept-alive connection).
pub const DEFAULT_HEADER_TIMEOUT_SECS: u64 = 10;
/// Default longest wait for the next piece of a request body.
pub const DEFAULT_BODY_TIMEOUT_SECS: u64 = 30;
/// Default time after which a connection on which no byte moved either way is closed.
pub const DEFAULT_IDLE_TIMEOUT_SECS: u64 = 60;
/// Default time a whole publish body must arrive within.
pub const DEFAULT_PUBLISH_TIMEOUT_SECS: u64 = 300;
/// Default cap on connections served at once (more wait in the listen backlog).
pub const DEFAULT_MAX_CONNECTIONS: usize = 512;
/// Default cap of the bytes all uploads in progress may take together (1 GiB).
pub const DEFAULT_MAX_PENDING_UPLOAD_BYTES: u64 = 1 << 30;

/// Where `base_url` came from, which decides whether a restart on another address may replace it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum BaseUrlSource {
    /// Derived from the address the server listens on; follows `--addr` on every start.
    Addr,
    /// Given with `--public-url`; kept until another `--public-url` replaces it.
    PublicUrl,
}

/// The contents of `DIR/config.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegistryConfig {
    /// Always [`REGISTRY_CONFIG_SCHEMA`].
    pub schema_version: String,
    /// A label for this registry.
    pub name: String,
    /// The URL clients reach the server at, without a trailing `/` (e.g. `http://127.0.0.1:8080`).
    pub base_url: String,
    /// Where `base_url` came from.
    pub base_url_source: BaseUrlSource,
    /// Owners allowed to publish packages holding `std.*` modules.
    #[serde(default)]
    pub official_owners: Vec<OwnerName>,
    /// Largest accepted publish body in bytes.
    #[serde(default = "default_max_publish_bytes")]
    pub max_publish_bytes: u64,
    /// Seconds a client has to send a request's headers (from the connection's start or the end
    /// of the previous response).
    #[serde(default = "default_header_timeout_secs")]
    pub header_timeout_secs: u64,
    /// Longest wait, in seconds, for the next piece of a request body.
    #[serde(default = "default_body_timeout_secs")]
    pub body_timeout_secs: u64,
    /// Seconds after which a connection on which no byte moved either way is closed.
    #[serde(default = "default_idle_timeout_secs")]
    pub idle_timeout_secs: u64,
    /// Seconds a whole publish body must arrive within.
    #[serde(default = "default_publish_timeout_secs")]
    pub publish_timeout_secs: u64,
    /// Most connections served at once; more wait in the listen backlog until one closes.
    #[serde(default = "default_max_connections")]
    pub max_connections: usize,
    /// Bytes all publish bodies being received may take together on disk.
    #[serde(default = "default_max_pending_upload_bytes")]
    pub max_pending_upload_bytes: u64,
}

fn default_max_publish_bytes() -> u64 {
    DEFAULT_MAX_PUBLISH_BYTES
}

fn default_header_timeout_secs() -> u64 {
    DEFAULT_HEADER_TIMEOUT_SECS
}

fn default_body_timeout_secs() -> u64 {
    DEFAULT_BODY_TIMEOUT_SECS
}

fn default_idle_timeout_secs() -> u64 {
    DEFAULT_IDLE_TIMEOUT_SECS
}

fn default_publish_timeout_secs() -> u64 {
    DEFAULT_PUBLISH_TIMEOUT_SECS
}

fn default_max_pending_upload_bytes() -> u64 {
    DEFAULT_MAX_PENDING_UPLOAD_BYTES
}

fn default_max_connections() -> usize {
    DEFAULT_MAX_CONNECTIONS
}

/// How connections are bounded: timeouts and the cap on connections served at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionLimits {
    /// Time to send a request's headers, from the connection's start or the previous response.
    pub header_timeout: Duration,
    /// Longest wait for the next piece of a request body.
    pub body_timeout: Duration,
    /// A connection on which no byte moved either way for this long is closed.
    pub idle_timeout: Duration,
    /// Time a whole publish body must arrive within.
    pub publish_timeout: Duration,
    /// Most connections served at once (at least 1).
    pub max_connections: usize,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        RegistryConfig::initial(String::new(), BaseUrlSource::Addr).connection_limits()
    }
}

impl RegistryConfig {
    /// The settings written on first start.
    pub fn initial(base_url: String, source: BaseUrlSource) -> Self {
        Self {
            schema_version: REGISTRY_CONFIG_SCHEMA.to_string(),
            name: "x07-local".to_string(),
            base_url,
            base_url_source: source,
            official_owners: Vec::new(),
            max_publish_bytes: DEFAULT_MAX_PUBLISH_BYTES,
            header_timeout_secs: DEFAULT_HEADER_TIMEOUT_SECS,
            body_timeout_secs: DEFAULT_BODY_TIMEOUT_SECS,
            idle_timeout_secs: DEFAULT_IDLE_TIMEOUT_SECS,
            publish_timeout_secs: DEFAULT_PUBLISH_TIMEOUT_SECS,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            max_pending_upload_bytes: DEFAULT_MAX_PENDING_UPLOAD_BYTES,
        }
    }

    /// The connection limits this config sets (a zero timeout or cap counts as 1).
    pub fn connection_limits(&self) -> ConnectionLimits {
        let secs = |s: u64| Duration::from_secs(s.max(1));
        ConnectionLimits {
            header_timeout: secs(self.header_timeout_secs),
            body_timeout: secs(self.body_timeout_secs),
            idle_timeout: secs(self.idle_timeout_secs),
            publish_timeout: secs(self.publish_timeout_secs),
            max_connections: self.max_connections.max(1),
        }
    }

    /// Whether `owner` may publish `std.*` modules.
    pub fn is_official(&self, owner: &OwnerName) -> bool {
        self.official_owners.contains(owner)
    }

    /// The JSON served at `/index/config.json`.
    pub fn index_config_json(&self, signer: &IndexSigner) -> x07_spec::index::IndexConfig {
        use x07_spec::index::{IndexConfig, IndexSigning, OfferedKey};
        let base = self.base_url.trim_end_matches('/');
        IndexConfig {
            dl: format!("{base}/v1/packages/"),
            api: Some(format!("{base}/v1/")),
            auth_required: false,
            sparse: true,
            signing: Some(IndexSigning {
                kind: "ed25519".into(),
                public_keys: vec![OfferedKey {
                    id: signer.key_id().as_str().to_string(),
                    ed25519_pub: signer.public_key_b64(),
                }],
            }),
        }
    }
}
