//! Pinned registry signing keys: `$X07_HOME/registries/<sha256 of index url>.json`.
//!
//! The first use of a registry pins the key its config.json offers; afterwards only that key is
//! accepted until `x07 registry trust` replaces it. Index lines are verified against the pin,
//! never against whatever config.json says today.

use base64::Engine as _;
use ed25519_dalek::VerifyingKey;
use serde::{Deserialize, Serialize};

use crate::error::RegistryError;
use crate::home::RegistryHome;
use crate::index_url::IndexUrl;

/// The id of a public key (x07_spec::KeyId) as text.
pub fn key_id_of(key: &VerifyingKey) -> String {
    x07_spec::KeyId::of_public_key(key.as_bytes()).to_string()
}

/// The pin file's contents.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct PinFile {
    index_url: String,
    key_id: String,
    public_key: String,
}

/// A registry's trusted ed25519 key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PinnedKey {
    /// The registry it is trusted for.
    pub index_url: IndexUrl,
    /// Its key id.
    pub key_id: String,
    /// The raw public key, standard base64.
    pub public_key: String,
    key: VerifyingKey,
}

impl PinnedKey {
    /// A key for `index_url` from its standard-base64 32-byte public key.
    pub fn from_base64(index_url: IndexUrl, public_key: &str) -> Result<Self, String> {
        let raw = base64::engine::general_purpose::STANDARD
            .decode(public_key.trim())
            .map_err(|e| format!("not standard base64 ({e})"))?;
        let bytes: [u8; 32] = raw.try_into().map_err(|r: Vec<u8>| {
            format!(
                "an ed25519 public key has 32 bytes, this one has {}",
                r.len()
            )
        })?;
        let key = VerifyingKey::from_bytes(&bytes)
            .map_err(|_| "not a valid ed25519 public key".to_string())?;
        Ok(Self {
            index_url,
            key_id: key_id_of(&key),
            public_key: base64::engine::general_purpose::STANDARD.encode(bytes),
            key,
        })
    }

    /// The key, for verifying signatures.
    pub fn verifying_key(&self) -> &VerifyingKey {
        &self.key
    }
}

/// The pin files under `$X07_HOME/registries`.
#[derive(Debug, Clone)]
pub struct TrustStore {
    home: RegistryHome,
}

impl TrustStore {
    /// The trust store of a `$X07_HOME`.
    pub fn new(home: RegistryHome) -> Self {
        Self { home }
    }

    /// The key pinned for `index`, if any.
    pub fn load(&self, index: &IndexUrl) -> Result<Option<PinnedKey>, RegistryError> {
        let path = self.home.pin_path(index);
        let bytes = match fs_err::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        let bad = |reason: String| {
            RegistryError::BadKey {
            what: format!("pinned key {}", path.display()),
            reason: format!("{reason}; re-trust the registry with `x07 registry trust --index {index} --key <BASE64>`"),
        }
        };
        let file: PinFile =
            serde_json::from_slice(&bytes).map_err(|e| bad(format!("invalid JSON ({e})")))?;
        if file.index_url != index.as_str() {
            return Err(bad(format!(
                "the file is for `{}`, not this registry",
                file.index_url
            )));
        }
        let key = PinnedKey::from_base64(index.clone(), &file.public_key).map_err(bad)?;
        if key.key_id != file.key_id {
            return Err(bad(format!(
                "key_id `{}` does not belong to the public key (its id is `{}`)",
                file.key_id, key.key_id
            )));
        }
        Ok(Some(key))
    }

    /// Pins `key` for its registry, replacing any earlier pin (atomic write).
    pub fn pin(&self, key: &PinnedKey) -> Result<(), RegistryError> {
        let file = PinFile {
            index_url: key.index_url.as_str().to_string(),
            key_id: key.key_id.clone(),
            public_key: key.public_key.clone(),
        };
        let bytes = x07_spec::canonical_file_bytes(&file).map_err(std::io::Error::other)?;
        fs_err::create_dir_all(self.home.pins_dir())?;
        x07_spec::write_atomic(&self.home.pin_path(&key.index_url), &bytes)?;
        Ok(())
    }

    /// `x07 registry trust`: pins `public_key` (standard base64) for `index`, replacing any earlier pin.
    pub fn trust(&self, index: &IndexUrl, public_key: &str) -> Result<PinnedKey, RegistryError> {
        let key = PinnedKey::from_base64(index.clone(), public_key).map_err(|reason| {
            RegistryError::BadKey {
                what: format!("the key given for {index}"),
                reason,
            }
        })?;
        self.pin(&key)?;
        Ok(key)
    }

    /// Removes the pin of `index`; whether there was one.
    pub fn forget(&self, index: &IndexUrl) -> Result<bool, RegistryError> {
        match fs_err::remove_file(self.home.pin_path(index)) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(e.into()),
        }
    }
}
