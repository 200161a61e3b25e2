//! Bundle provenance (docs/bundling.md, "Provenance"): an in-toto Statement v1 with an SLSA
//! provenance v1 predicate in a DSSE envelope, and a CycloneDX SBOM, carried in a provenance note
//! appended to the executable: `subject ‖ note JSON ‖ "X07PROV1" ‖ u64le offset ‖ u64le length`.
//! The statement's subject is the sha256 of the bytes before the note (the executable with the
//! note removed), which is also the bundle's store entry.

use base64::Engine as _;
use serde::{Deserialize, Serialize};

use crate::digest::Sha256Digest;
use crate::schema_tag::schema_tag;

/// The note trailer's magic.
pub const PROVENANCE_MAGIC: [u8; 8] = *b"X07PROV1";
/// The note trailer's length (magic, offset, length).
pub const PROVENANCE_TRAILER_LEN: usize = 24;
/// DSSE payload type of an in-toto statement.
pub const IN_TOTO_PAYLOAD_TYPE: &str = "application/vnd.in-toto+json";
/// in-toto Statement v1 `_type`.
pub const STATEMENT_TYPE: &str = "https://in-toto.io/Statement/v1";
/// SLSA provenance v1 predicate type.
pub const SLSA_PROVENANCE_V1: &str = "https://slsa.dev/provenance/v1";
/// Our build type.
pub const X07_BUNDLE_BUILD_TYPE: &str = "https://x07.dev/bundle/v1";

schema_tag!(
    /// `x07.bundle.provenance@0.1.0`.
    ProvenanceVersion = "x07.bundle.provenance@0.1.0"
);

/// The provenance note embedded in a bundle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProvenanceNote {
    /// Always [`ProvenanceVersion`].
    pub schema_version: ProvenanceVersion,
    /// The signed (or, with `--no-sign`, unsigned: no signatures) statement.
    pub envelope: DsseEnvelope,
    /// The signer's public key (base64 of 32 bytes), absent when unsigned. Verifying against it
    /// proves integrity; `verify --key` also proves who signed.
    pub public_key: Option<String>,
    /// The CycloneDX SBOM.
    pub sbom: serde_json::Value,
}

/// A DSSE envelope.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DsseEnvelope {
    /// [`IN_TOTO_PAYLOAD_TYPE`].
    #[serde(rename = "payloadType")]
    pub payload_type: String,
    /// Standard base64 of the statement's canonical JSON.
    pub payload: String,
    /// The signatures (one, or none when unsigned).
    pub signatures: Vec<DsseSignature>,
}

/// One DSSE signature.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DsseSignature {
    /// The signer's key id.
    pub keyid: String,
    /// Standard base64 of the ed25519 signature over [`pae`].
    pub sig: String,
}

impl DsseEnvelope {
    /// The envelope of `statement` bytes, not signed yet.
    pub fn unsigned(statement: &[u8]) -> Self {
        Self {
            payload_type: IN_TOTO_PAYLOAD_TYPE.to_string(),
            payload: base64::engine::general_purpose::STANDARD.encode(statement),
            signatures: Vec::new(),
        }
    }

    /// The statement bytes.
    pub fn payload_bytes(&self) -> Result<Vec<u8>, base64::DecodeError> {
        base64::engine::general_purpose::STANDARD.decode(&self.payload)
    }

    /// What is signed: the DSSE pre-authentication encoding of this envelope's payload.
    pub fn signed_bytes(&self) -> Result<Vec<u8>, base64::DecodeError> {
        Ok(pae(&self.payload_type, &self.payload_bytes()?))
    }
}

/// DSSE v1 pre-authentication encoding: `"DSSEv1" SP len(type) SP type SP len(body) SP body`.
pub fn pae(payload_type: &str, body: &[u8]) -> Vec<u8> {
    let mut out = format!(
        "DSSEv1 {} {} {} ",
        payload_type.len(),
        payload_type,
        body.len()
    )
    .into_bytes();
    out.extend_from_slice(body);
    out
}

/// An in-toto Statement v1 with an SLSA provenance v1 predicate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Statement {
    /// [`STATEMENT_TYPE`].
    #[serde(rename = "_type")]
    pub statement_type: String,
    /// The bundle.
    pub subject: Vec<Subject>,
    /// [`SLSA_PROVENANCE_V1`].
    #[serde(rename = "predicateType")]
    pub predicate_type: String,
    /// The provenance.
    pub predicate: Provenance,
}

/// A statement's subject.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subject {
    /// The bundle's name.
    pub name: String,
    /// `{"sha256": hex}` of the executable without its provenance note.
    pub digest: std::collections::BTreeMap<String, String>,
}

/// SLSA provenance v1.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Provenance {
    /// What was built and from what.
    #[serde(rename = "buildDefinition")]
    pub build_definition: BuildDefinition,
    /// Who built it.
    #[serde(rename = "runDetails")]
    pub run_details: RunDetails,
}

/// SLSA `buildDefinition`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BuildDefinition {
    /// [`X07_BUNDLE_BUILD_TYPE`].
    #[serde(rename = "buildType")]
    pub build_type: String,
    /// Profile, world, kind, backend, policy digest, flags.
    #[serde(rename = "externalParameters")]
    pub external_parameters: serde_json::Value,
    /// The store derivations.
    #[serde(rename = "internalParameters")]
    pub internal_parameters: serde_json::Value,
    /// Locked package archives, the runtime and stdlib, the C compiler.
    #[serde(rename = "resolvedDependencies")]
    pub resolved_dependencies: Vec<ResourceDescriptor>,
}

/// An SLSA resource descriptor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResourceDescriptor {
    /// A short name.
    pub name: String,
    /// `pkg:x07/<name>@<version>`, `file://...`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uri: Option<String>,
    /// `{"sha256": hex}`.
    pub digest: std::collections::BTreeMap<String, String>,
}

/// SLSA `runDetails`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunDetails {
    /// `{"id": ..., "version": {"x07": ...}}`.
    pub builder: serde_json::Value,
    /// `{"invocationId": <derivation hash>}` (no timestamps: bundles are reproducible).
    pub metadata: serde_json::Value,
}

/// `{"sha256": hex}` of `digest`.
pub fn digest_set(digest: &Sha256Digest) -> std::collections::BTreeMap<String, String> {
    std::collections::BTreeMap::from([("sha256".to_string(), digest.hex())])
}

/// Appends the note to `subject`.
pub fn append_note(subject: &[u8], note_json: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(subject.len() + note_json.len() + PROVENANCE_TRAILER_LEN);
    out.extend_from_slice(subject);
    out.extend_from_slice(note_json);
    out.extend_from_slice(&PROVENANCE_MAGIC);
    out.extend_from_slice(&(subject.len() as u64).to_le_bytes());
    out.extend_from_slice(&(note_json.len() as u64).to_le_bytes());
    out
}

/// `(subject, note JSON)` of a bundle; `None` when it carries no note.
pub fn split_note(bytes: &[u8]) -> Option<(&[u8], &[u8])> {
    let body = bytes.len().checked_sub(PROVENANCE_TRAILER_LEN)?;
    let t = &bytes[body..];
    if t[..8] != PROVENANCE_MAGIC {
        return None;
    }
    let off = u64::from_le_bytes(t[8..16].try_into().ok()?) as usize;
    let len = u64::from_le_bytes(t[16..24].try_into().ok()?) as usize;
    if off.checked_add(len)? != body {
        return None;
    }
    Some((&bytes[..off], &bytes[off..body]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_note_splits_off_exactly_what_was_appended() {
        let bytes = append_note(b"\x7fELF....", b"{\"a\":1}");
        assert_eq!(
            split_note(&bytes),
            Some((&b"\x7fELF...."[..], &b"{\"a\":1}"[..]))
        );
        assert_eq!(split_note(b"\x7fELF plain"), None);
        let mut bad = bytes.clone();
        let n = bad.len();
        bad[n - 9] ^= 1; // the length no longer meets the trailer
        assert_eq!(split_note(&bad), None);
    }

    #[test]
    fn pae_is_the_dsse_v1_encoding() {
        assert_eq!(
            pae("http://example.com/HelloWorld", b"hello world"),
            b"DSSEv1 29 http://example.com/HelloWorld 11 hello world"
        );
    }
}
