//! The registry's ed25519 index-signing key (`DIR/keys/signing.key`, pkcs8 DER, mode 0600).

use std::fmt;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use base64::Engine as _;
use ed25519_dalek::pkcs8::{DecodePrivateKey, EncodePrivateKey};
use ed25519_dalek::{Signer as _, SigningKey, VerifyingKey};

use crate::root::RootError;

pub use x07_spec::KeyId;

/// The key id of a public key.
pub fn key_id_of(public: &VerifyingKey) -> KeyId {
    KeyId::of_public_key(public.as_bytes())
}

/// The server's signing key and its id.
pub struct IndexSigner {
    key: SigningKey,
    key_id: KeyId,
}

impl fmt::Debug for IndexSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IndexSigner")
            .field("key_id", &self.key_id)
            .finish_non_exhaustive()
    }
}

impl IndexSigner {
    /// Loads the key at `path`, or generates one there (mode 0600) if the file does not exist.
    pub fn load_or_generate(path: &Path) -> Result<Self, RootError> {
        match fs_err::metadata(path) {
            Ok(meta) => {
                if meta.permissions().mode() & 0o077 != 0 {
                    return Err(RootError::KeyPermissions(path.to_path_buf()));
                }
                let der = fs_err::read(path).map_err(RootError::Io)?;
                let key = SigningKey::from_pkcs8_der(&der)
                    .map_err(|e| RootError::KeyUnreadable(path.to_path_buf(), e.to_string()))?;
                Ok(Self::from_key(key))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let key = SigningKey::generate(&mut rand::rngs::OsRng);
                let der = key
                    .to_pkcs8_der()
                    .map_err(|e| RootError::KeyUnreadable(path.to_path_buf(), e.to_string()))?;
                write_secret(path, der.as_bytes()).map_err(RootError::Io)?;
                Ok(Self::from_key(key))
            }
            Err(e) => Err(RootError::Io(e)),
        }
    }

    /// Reads an existing key file (pkcs8, DER or PEM as `x07 key generate` writes it; mode
    /// 0600); a missing file is an error.
    pub fn load(path: &Path) -> Result<Self, RootError> {
        let meta = fs_err::metadata(path).map_err(RootError::Io)?;
        if meta.permissions().mode() & 0o077 != 0 {
            return Err(RootError::KeyPermissions(path.to_path_buf()));
        }
        let bytes = fs_err::read(path).map_err(RootError::Io)?;
        let key = match std::str::from_utf8(&bytes).map(str::trim) {
            Ok(pem) if pem.starts_with("-----BEGIN") => SigningKey::from_pkcs8_pem(pem)
                .map(Self::from_key)
                .map_err(|e| e.to_string()),
            _ => Self::from_pkcs8_der(&bytes),
        };
        key.map_err(|e| RootError::KeyUnreadable(path.to_path_buf(), e))
    }

    /// A key from its pkcs8 DER bytes.
    pub fn from_pkcs8_der(der: &[u8]) -> Result<Self, String> {
        SigningKey::from_pkcs8_der(der)
            .map(Self::from_key)
            .map_err(|e| e.to_string())
    }

    /// A new random key.
    pub fn generate() -> Self {
        Self::from_key(SigningKey::generate(&mut rand::rngs::OsRng))
    }

    /// The key as pkcs8 DER (to keep it in a shared registry's database).
    pub fn to_pkcs8_der(&self) -> Result<Vec<u8>, String> {
        self.key
            .to_pkcs8_der()
            .map(|d| d.as_bytes().to_vec())
            .map_err(|e| e.to_string())
    }

    fn from_key(key: SigningKey) -> Self {
        let key_id = key_id_of(&key.verifying_key());
        Self { key, key_id }
    }

    /// The key id published in the index config and in every signature.
    pub fn key_id(&self) -> &KeyId {
        &self.key_id
    }

    /// The public key.
    pub fn verifying_key(&self) -> VerifyingKey {
        self.key.verifying_key()
    }

    /// The raw public key in standard base64.
    pub fn public_key_b64(&self) -> String {
        base64::engine::general_purpose::STANDARD.encode(self.key.verifying_key().as_bytes())
    }

    /// Signs `message`; the 64-byte signature in standard base64.
    pub fn sign_b64(&self, message: &[u8]) -> String {
        base64::engine::general_purpose::STANDARD.encode(self.key.sign(message).to_bytes())
    }
}

/// Writes a secret atomically with mode 0600 set before any byte is written.
fn write_secret(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    x07_spec::write_private(path, bytes)
}
