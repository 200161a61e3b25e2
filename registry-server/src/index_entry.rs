//! Index lines (`x07.index-entry@0.2.0`), their signatures, and Cargo-style shard paths.

use base64::Engine as _;
use ed25519_dalek::{Signature, Verifier as _, VerifyingKey};
use serde::{Deserialize, Serialize};
use x07_spec::{PackageName, PackageVersion, Sha256Digest};

use crate::signing::IndexSigner;

pub use x07_spec::index::{shard_path, EntrySignature, IndexDep, INDEX_ENTRY_SCHEMA};

/// One version of a package as the index describes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndexEntry {
    /// Always [`INDEX_ENTRY_SCHEMA`].
    pub schema_version: String,
    /// Package name.
    pub name: PackageName,
    /// Exact version.
    pub version: PackageVersion,
    /// sha256 of the `.x07pkg` bytes.
    pub cksum: Sha256Digest,
    /// Whether the version is yanked (still downloadable, not picked for new resolutions).
    pub yanked: bool,
    /// Dependency requirements.
    pub deps: Vec<IndexDep>,
    /// The toolchain versions this version works with.
    pub x07c_compat: String,
    /// Module ids the version provides.
    pub modules: Vec<String>,
    /// Native libraries it links.
    pub ffi_libs: Vec<String>,
    /// One-line description.
    pub description: String,
    /// The registry's signature over the line without this field.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature: Option<EntrySignature>,
}

impl IndexEntry {
    /// The signed message: JCS bytes of the line without `signature`.
    pub fn signed_bytes(&self) -> Vec<u8> {
        let unsigned = IndexEntry {
            signature: None,
            ..self.clone()
        };
        // Serializing plain strings, bools and vectors cannot fail.
        x07_spec::to_canonical_vec(&unsigned).expect("index entry serializes")
    }

    /// Replaces the signature with a fresh one over the current contents.
    pub fn sign(&mut self, signer: &IndexSigner) {
        let sig = signer.sign_b64(&self.signed_bytes());
        self.signature = Some(EntrySignature {
            kind: "ed25519".into(),
            key_id: signer.key_id().as_str().to_string(),
            sig,
        });
    }

    /// Whether the signature is a valid ed25519 signature of this line by `key`.
    pub fn verify(&self, key: &VerifyingKey) -> bool {
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

    /// The NDJSON line (JCS, no newline).
    pub fn line_bytes(&self) -> Vec<u8> {
        x07_spec::to_canonical_vec(self).expect("index entry serializes")
    }
}
