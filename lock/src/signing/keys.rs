//! ed25519 keys: key ids, generation, saving (pkcs8 PEM or raw base64, mode 0600) and loading.

use std::fmt;
use std::path::{Path, PathBuf};

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use ed25519_dalek::pkcs8::{DecodePrivateKey, EncodePrivateKey};
use ed25519_dalek::Signer as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

pub use x07_spec::key_id::{KeyId, KeyIdError};

/// An ed25519 signature, written as standard base64 of its 64 bytes.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Ed25519Sig(pub [u8; 64]);

impl fmt::Display for Ed25519Sig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&BASE64.encode(self.0))
    }
}

impl fmt::Debug for Ed25519Sig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl Ed25519Sig {
    /// Parses standard base64 of 64 bytes.
    pub fn from_base64(s: &str) -> Result<Self, String> {
        let bytes = BASE64
            .decode(s)
            .map_err(|e| format!("signature `{s}` is not standard base64: {e}"))?;
        let bytes: [u8; 64] = bytes
            .try_into()
            .map_err(|b: Vec<u8>| format!("signature must be 64 bytes, found {}", b.len()))?;
        Ok(Self(bytes))
    }
}

impl Serialize for Ed25519Sig {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Ed25519Sig {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Self::from_base64(&String::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

/// How a secret key is stored on disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyFormat {
    /// PKCS#8 in PEM armour (`-----BEGIN PRIVATE KEY-----`): what other tools read.
    Pkcs8Pem,
    /// Standard base64 of the 32-byte secret, one line.
    RawBase64,
}

/// Why a key could not be saved or loaded.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// Reading or writing the file failed.
    #[error("{}: {source}", .path.display())]
    Io {
        /// The key file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// Saving would replace an existing key.
    #[error("{}: a key already exists there; move it away first if you mean to replace it", .path.display())]
    Exists {
        /// The key file.
        path: PathBuf,
    },
    /// The key file can be read by other users.
    #[error("{}: the secret key is readable by other users (mode {mode:o}); run `chmod 600 {}`", .path.display(), .path.display())]
    Permissions {
        /// The key file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// The file holds neither a PKCS#8 PEM ed25519 key nor base64 of a 32-byte secret.
    #[error("{}: not an ed25519 secret key ({why}); expected PKCS#8 PEM or base64 of the 32-byte secret", .path.display())]
    Format {
        /// The key file.
        path: PathBuf,
        /// What is wrong.
        why: String,
    },
}

/// An ed25519 secret key. Its `Debug` shows only the key id.
#[derive(Clone)]
pub struct SigningKey(ed25519_dalek::SigningKey);

/// An ed25519 public key.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct VerifyingKey(ed25519_dalek::VerifyingKey);

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SigningKey({})", self.key_id())
    }
}

impl fmt::Debug for VerifyingKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "VerifyingKey({})", self.key_id())
    }
}

impl SigningKey {
    /// A new random key from the operating system's generator.
    pub fn generate() -> Self {
        Self(ed25519_dalek::SigningKey::generate(&mut rand::rngs::OsRng))
    }

    /// The key with this 32-byte secret.
    pub fn from_secret_bytes(secret: &[u8; 32]) -> Self {
        Self(ed25519_dalek::SigningKey::from_bytes(secret))
    }

    /// The public half.
    pub fn verifying_key(&self) -> VerifyingKey {
        VerifyingKey(self.0.verifying_key())
    }

    /// The public key's id.
    pub fn key_id(&self) -> KeyId {
        self.verifying_key().key_id()
    }

    /// Signs `message`.
    pub fn sign(&self, message: &[u8]) -> Ed25519Sig {
        Ed25519Sig(self.0.sign(message).to_bytes())
    }

    /// The file text of the key in `format`.
    pub fn to_text(&self, format: KeyFormat) -> String {
        match format {
            KeyFormat::Pkcs8Pem => self
                .0
                .to_pkcs8_pem(Default::default())
                .map(|pem| pem.to_string())
                .expect("an ed25519 key always encodes as PKCS#8"),
            KeyFormat::RawBase64 => format!("{}\n", BASE64.encode(self.0.to_bytes())),
        }
    }

    /// Parses key file text: PKCS#8 PEM, or base64 of the 32-byte secret. `path` names it in errors.
    pub fn from_text(text: &str, path: &Path) -> Result<Self, KeyError> {
        let format_error = |why: String| KeyError::Format {
            path: path.to_path_buf(),
            why,
        };
        let trimmed = text.trim();
        if trimmed.starts_with("-----BEGIN") {
            return ed25519_dalek::SigningKey::from_pkcs8_pem(trimmed)
                .map(Self)
                .map_err(|e| format_error(format!("bad PKCS#8 PEM: {e}")));
        }
        let bytes = BASE64
            .decode(trimmed)
            .map_err(|e| format_error(format!("not base64: {e}")))?;
        let secret: [u8; 32] = bytes
            .try_into()
            .map_err(|b: Vec<u8>| format_error(format!("{} bytes instead of 32", b.len())))?;
        Ok(Self::from_secret_bytes(&secret))
    }

    /// Writes the key to a new file readable only by its owner (mode 0600), atomically;
    /// refuses to replace an existing file.
    pub fn save(&self, path: &Path, format: KeyFormat) -> Result<(), KeyError> {
        let io = |source| KeyError::Io {
            path: path.to_path_buf(),
            source,
        };
        if fs_err::symlink_metadata(path).is_ok() {
            return Err(KeyError::Exists {
                path: path.to_path_buf(),
            });
        }
        let private = x07_spec::AtomicWrite {
            mode: Some(0o600),
            no_clobber: true,
        };
        x07_spec::write_atomic_with(path, self.to_text(format).as_bytes(), private).map_err(
            |e| match e.kind() {
                std::io::ErrorKind::AlreadyExists => KeyError::Exists {
                    path: path.to_path_buf(),
                },
                _ => io(e),
            },
        )?;
        Ok(())
    }

    /// Reads a key file, refusing one that other users can read.
    pub fn load(path: &Path) -> Result<Self, KeyError> {
        let io = |source| KeyError::Io {
            path: path.to_path_buf(),
            source,
        };
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs_err::metadata(path).map_err(io)?.permissions().mode() & 0o777;
            if mode & 0o077 != 0 {
                return Err(KeyError::Permissions {
                    path: path.to_path_buf(),
                    mode,
                });
            }
        }
        let text = fs_err::read_to_string(path).map_err(io)?;
        Self::from_text(&text, path)
    }
}

impl VerifyingKey {
    /// The key with these raw 32 bytes.
    pub fn from_bytes(bytes: &[u8; 32]) -> Result<Self, String> {
        ed25519_dalek::VerifyingKey::from_bytes(bytes)
            .map(Self)
            .map_err(|e| format!("not an ed25519 public key: {e}"))
    }

    /// Parses standard base64 of the raw 32 bytes (the `ed25519_pub` of a registry config).
    pub fn from_base64(s: &str) -> Result<Self, String> {
        let bytes = BASE64
            .decode(s.trim())
            .map_err(|e| format!("public key `{s}` is not standard base64: {e}"))?;
        let bytes: [u8; 32] = bytes
            .try_into()
            .map_err(|b: Vec<u8>| format!("public key must be 32 bytes, found {}", b.len()))?;
        Self::from_bytes(&bytes)
    }

    /// Standard base64 of the raw 32 bytes.
    pub fn to_base64(&self) -> String {
        BASE64.encode(self.0.as_bytes())
    }

    /// The raw 32 bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        self.0.as_bytes()
    }

    /// This key's id.
    pub fn key_id(&self) -> KeyId {
        KeyId::of_public_key(self.0.as_bytes())
    }

    /// Whether `sig` is this key's signature of `message` (strict verification: no malleable forms).
    pub fn verify(&self, message: &[u8], sig: &Ed25519Sig) -> bool {
        self.0
            .verify_strict(message, &ed25519_dalek::Signature::from_bytes(&sig.0))
            .is_ok()
    }
}
