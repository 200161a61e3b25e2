//! `DIR/config.json`: the registry's settings, and the index `config.json` clients read.

use serde::{Deserialize, Serialize};

use crate::owners::OwnerName;
use crate::signing::IndexSigner;

/// Schema tag of `DIR/config.json`.
pub const REGISTRY_CONFIG_SCHEMA: &str = "x07.registry-config@0.1.0";

/// Default publish body limit: the archive format's 64 MiB unpacked cap bounds the compressed size too.
pub const DEFAULT_MAX_PUBLISH_BYTES: u64 = 64 * 1024 * 1024;

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
}

fn default_max_publish_bytes() -> u64 {
    DEFAULT_MAX_PUBLISH_BYTES
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
        }
    }

    /// Whether `owner` may publish `std.*` modules.
    pub fn is_official(&self, owner: &OwnerName) -> bool {
        self.official_owners.contains(owner)
    }

    /// The JSON served at `/index/config.json`.
    pub fn index_config_json(&self, signer: &IndexSigner) -> serde_json::Value {
        let base = self.base_url.trim_end_matches('/');
        serde_json::json!({
            "dl": format!("{base}/v1/packages/"),
            "api": format!("{base}/v1/"),
            "auth-required": false,
            "sparse": true,
            "signing": {
                "kind": "ed25519",
                "public_keys": [{"id": signer.key_id().as_str(), "ed25519_pub": signer.public_key_b64()}],
            },
        })
    }
}
