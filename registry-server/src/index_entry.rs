//! Index lines (`x07.index-entry@0.2.0`), their signatures, and Cargo-style shard paths.

use base64::Engine as _;
use ed25519_dalek::{Signature, Verifier as _, VerifyingKey};

use crate::signing::IndexSigner;

pub use x07_spec::index::{shard_path, EntrySignature, IndexDep, INDEX_ENTRY_SCHEMA};

/// One version of a package as the index describes it (the wire format's one definition).
pub type IndexEntry = x07_spec::index::IndexLine;

/// Signing and checking index lines with the server's key.
pub trait SignedLine {
    /// Replaces the signature with a fresh one over the current contents.
    fn sign(&mut self, signer: &IndexSigner);
    /// Whether the signature is a valid ed25519 signature of this line by `key`.
    fn verify(&self, key: &VerifyingKey) -> bool;
}

impl SignedLine for IndexEntry {
    fn sign(&mut self, signer: &IndexSigner) {
        let sig = signer.sign_b64(&self.signed_bytes());
        self.signature = Some(EntrySignature {
            kind: "ed25519".into(),
            key_id: signer.key_id().as_str().to_string(),
            sig,
        });
    }

    fn verify(&self, key: &VerifyingKey) -> bool {
        let Some(sig) = &self.signature else {
            return false;
        };
        let Ok(bytes) = base64::engine::general_purpose::STANDARD.decode(&sig.sig) else {
            return false;
        };
        let Ok(sig) = Signature::from_slice(&bytes) else {
            return false;
        };
        key.verify(&self.signed_bytes(), &sig).is_ok()
    }
}
