//! Signing: ed25519 keys, and the lockfile signature over the lock's canonical bytes without
//! its `signature` member.

mod keys;

pub use keys::{Ed25519Sig, KeyError, KeyFormat, KeyId, KeyIdError, SigningKey, VerifyingKey};

use x07_spec::CanonicalError;

use crate::lockfile::{Lock, LockSignature, SignatureKind};

/// Why a lock's signature does not check out.
#[derive(Debug, thiserror::Error)]
pub enum LockSignatureError {
    /// The lock carries no signature.
    #[error("the lockfile is not signed; sign it with `x07 pkg lock --sign`")]
    Unsigned,
    /// The lock was signed with another key.
    #[error("the lockfile is signed with key {found}, not the expected key {expected}; check which key you trust, or re-sign with `x07 pkg lock --sign`")]
    OtherKey {
        /// The key id in the lock.
        found: KeyId,
        /// The key id checked against.
        expected: KeyId,
    },
    /// The signature does not match the lock's contents.
    #[error("the lockfile signature by key {key_id} does not match its contents: the file changed after signing; re-lock and re-sign it if the change is intended")]
    Invalid {
        /// The signing key's id.
        key_id: KeyId,
    },
    /// The lock could not be serialized.
    #[error(transparent)]
    Canonical(#[from] CanonicalError),
}

/// Signs the lock in place (replacing any earlier signature).
pub fn sign_lock(lock: &mut Lock, key: &SigningKey) -> Result<(), CanonicalError> {
    let sig = key.sign(&lock.signing_bytes()?);
    lock.signature = Some(LockSignature {
        kind: SignatureKind::Ed25519,
        key_id: key.key_id(),
        sig,
    });
    Ok(())
}

/// Checks the lock's signature against a trusted public key.
pub fn verify_lock(lock: &Lock, key: &VerifyingKey) -> Result<(), LockSignatureError> {
    let signature = lock
        .signature
        .as_ref()
        .ok_or(LockSignatureError::Unsigned)?;
    let expected = key.key_id();
    if signature.key_id != expected {
        return Err(LockSignatureError::OtherKey {
            found: signature.key_id.clone(),
            expected,
        });
    }
    if !key.verify(&lock.signing_bytes()?, &signature.sig) {
        return Err(LockSignatureError::Invalid { key_id: expected });
    }
    Ok(())
}
