//! Index lines (`x07.index-entry@0.2.0`): parsing, and the signature check every line must pass.
//!
//! The signature is checked over the JCS bytes of the line *as received* minus `signature`, so
//! fields this client does not know are still covered. It is checked before the fields are read:
//! a line that is unsigned or not signed by the pinned key is refused (the file was tampered
//! with); a line the registry did sign but this client cannot read (a version outside the
//! grammar, a newer line format) is skipped with a warning, and the rest of the file is used.

use base64::Engine as _;
use ed25519_dalek::{Signature, Verifier as _};
use serde_json::Value;
use x07_spec::{PackageName, PackageVersion, Sha256Digest};

use crate::pinning::PinnedKey;

use x07_spec::index::IndexLine;
pub use x07_spec::index::{shard_path, EntrySignature, IndexDep, INDEX_ENTRY_SCHEMA};

/// One version of a package as the index describes it, with a signature already verified against
/// the registry's pinned key (only this crate can make one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexEntry {
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
    /// The toolchain versions this version works with (empty when the line has none).
    pub x07c_compat: String,
    /// Module ids the version provides.
    pub modules: Vec<String>,
    /// Native libraries it links.
    pub ffi_libs: Vec<String>,
    /// One-line description.
    pub description: String,
    /// The registry's signature (recorded in the lockfile as `index_signature`).
    pub signature: EntrySignature,
    /// JCS bytes of the line without `signature`: what the signature covers.
    signed_bytes: Vec<u8>,
    /// `version` parsed.
    semver: semver::Version,
}

/// Why a line was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LineProblem {
    /// Not a JSON object, or its signature record is malformed.
    Malformed(String),
    /// Correctly signed (or not JSON at all), but its fields cannot be read by this client: the
    /// line is skipped, not the file.
    Unreadable(String),
    /// `schema_version` is not [`INDEX_ENTRY_SCHEMA`].
    Schema(String),
    /// The line is for another package than the file it is in.
    WrongName(String),
    /// The line has no `signature`.
    Unsigned,
    /// Signed with a key other than the pinned one.
    OtherKey(String),
    /// The signature does not verify (the line was changed after signing).
    BadSignature,
}

impl std::fmt::Display for LineProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Malformed(e) => write!(f, "not a valid index line ({e})"),
            Self::Unreadable(e) => write!(f, "this client cannot read the line ({e})"),
            Self::Schema(s) => write!(f, "schema_version `{s}` is not {INDEX_ENTRY_SCHEMA}"),
            Self::WrongName(n) => write!(f, "the line describes package `{n}`"),
            Self::Unsigned => f.write_str("the line is not signed"),
            Self::OtherKey(k) => {
                write!(f, "the line is signed by key `{k}`, not by the pinned key")
            }
            Self::BadSignature => {
                f.write_str("the signature does not match the line (it was modified after signing)")
            }
        }
    }
}

impl LineProblem {
    /// Whether the line is skipped (with a warning) rather than the whole file refused: it could
    /// not be read, but nothing says it was tampered with.
    pub fn is_skippable(&self) -> bool {
        matches!(self, Self::Unreadable(_) | Self::Schema(_))
    }
}

/// Checks `signature` over `signed_bytes` against `key`.
fn verify_signature(
    signature: &EntrySignature,
    signed_bytes: &[u8],
    key: &PinnedKey,
) -> Result<(), LineProblem> {
    if signature.kind != "ed25519" {
        return Err(LineProblem::Malformed(format!(
            "signature kind `{}` is not ed25519",
            signature.kind
        )));
    }
    if signature.key_id != key.key_id {
        return Err(LineProblem::OtherKey(signature.key_id.clone()));
    }
    let raw = base64::engine::general_purpose::STANDARD
        .decode(&signature.sig)
        .map_err(|_| LineProblem::BadSignature)?;
    let sig = Signature::from_slice(&raw).map_err(|_| LineProblem::BadSignature)?;
    key.verifying_key()
        .verify(signed_bytes, &sig)
        .map_err(|_| LineProblem::BadSignature)
}

impl IndexEntry {
    /// Parses one NDJSON line of `expected`'s index file, verifying its signature with `key`
    /// before reading its fields.
    pub(crate) fn parse_verified(
        line: &str,
        expected: &PackageName,
        key: &PinnedKey,
    ) -> Result<Self, (Option<PackageVersion>, LineProblem)> {
        let unreadable = |e: String| (None, LineProblem::Unreadable(e));
        let mut value: Value = serde_json::from_str(line).map_err(|e| unreadable(e.to_string()))?;
        let object = value
            .as_object_mut()
            .ok_or_else(|| unreadable("not a JSON object".into()))?;
        let signature: EntrySignature = match object.remove("signature") {
            None | Some(Value::Null) => return Err((None, LineProblem::Unsigned)),
            Some(s) => serde_json::from_value(s)
                .map_err(|e| (None, LineProblem::Malformed(format!("signature: {e}"))))?,
        };
        let signed_bytes = x07_spec::to_canonical_vec(&value)
            .map_err(|e| (None, LineProblem::Malformed(e.to_string())))?;
        verify_signature(&signature, &signed_bytes, key).map_err(|p| (None, p))?;

        // the one definition of a line; fields this client does not know are ignored here but
        // were covered by the signature above
        let fields: IndexLine =
            serde_json::from_value(value).map_err(|e| unreadable(e.to_string()))?;
        let version = Some(fields.version.clone());
        if fields.schema_version != INDEX_ENTRY_SCHEMA {
            return Err((version, LineProblem::Schema(fields.schema_version)));
        }
        if &fields.name != expected {
            return Err((version, LineProblem::WrongName(fields.name.to_string())));
        }
        let semver = semver::Version::parse(fields.version.as_str()).map_err(|e| {
            (
                version.clone(),
                LineProblem::Unreadable(format!("version: {e}")),
            )
        })?;
        Ok(Self {
            name: fields.name,
            version: fields.version,
            cksum: fields.cksum,
            yanked: fields.yanked,
            deps: fields.deps,
            x07c_compat: fields.x07c_compat,
            modules: fields.modules,
            ffi_libs: fields.ffi_libs,
            description: fields.description,
            signature,
            signed_bytes,
            semver,
        })
    }

    /// Checks the signature against `key`.
    pub(crate) fn verify(&self, key: &PinnedKey) -> Result<(), LineProblem> {
        verify_signature(&self.signature, &self.signed_bytes, key)
    }

    /// The version as a semver value.
    pub fn semver(&self) -> &semver::Version {
        &self.semver
    }
}
