//! The sparse index format shared by the registry server and client — one definition of each wire
//! format: the line (`IndexLine`) with its dependency and signature records, Cargo's shard paths,
//! and `config.json` (`IndexConfig`) (docs/internals/packages.md).

use serde::{Deserialize, Serialize};

use crate::{PackageName, PackageVersion, Sha256Digest};

/// Schema tag of an index line.
pub const INDEX_ENTRY_SCHEMA: &str = "x07.index-entry@0.2.0";

/// The index path of a package relative to the index root: `1/a`, `2/ab`, `3/a/abc`, `ab/cd/abcd…`.
pub fn shard_path(name: &PackageName) -> String {
    let n = name.as_str();
    match n.len() {
        1 => format!("1/{n}"),
        2 => format!("2/{n}"),
        3 => format!("3/{}/{n}", &n[..1]),
        _ => format!("{}/{}/{n}", &n[..2], &n[2..4]),
    }
}

/// A dependency requirement of a version (`meta.requires_packages`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndexDep {
    /// The required package.
    pub name: PackageName,
    /// The version requirement (REQ grammar of docs/internals/packages.md).
    pub req: String,
}

/// The registry's signature on a line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntrySignature {
    /// Always `ed25519`.
    pub kind: String,
    /// Id of the signing key (16 hex digits).
    pub key_id: String,
    /// The 64-byte signature, standard base64.
    pub sig: String,
}

/// One line of a package's index file (`x07.index-entry@0.2.0`): one version. The registry
/// writes every field; readers ignore fields they do not know (the signature still covers them).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndexLine {
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
    #[serde(default)]
    pub deps: Vec<IndexDep>,
    /// The toolchain versions this version works with (empty when the line has none).
    #[serde(default)]
    pub x07c_compat: String,
    /// Module ids the version provides.
    #[serde(default)]
    pub modules: Vec<String>,
    /// Native libraries it links.
    #[serde(default)]
    pub ffi_libs: Vec<String>,
    /// One-line description.
    #[serde(default)]
    pub description: String,
    /// The registry's signature over the line without this field.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature: Option<EntrySignature>,
}

impl IndexLine {
    /// The signed message: JCS bytes of the line without `signature`.
    pub fn signed_bytes(&self) -> Vec<u8> {
        let unsigned = IndexLine {
            signature: None,
            ..self.clone()
        };
        crate::to_canonical_vec(&unsigned).expect("an index line serializes")
    }

    /// The NDJSON line (JCS, no newline).
    pub fn line_bytes(&self) -> Vec<u8> {
        crate::to_canonical_vec(self).expect("an index line serializes")
    }
}

/// The index's `config.json` (Cargo's sparse-registry shape plus the signing keys).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndexConfig {
    /// Archive download prefix: `{dl}{name}/{version}/download`.
    pub dl: String,
    /// API prefix; mirrors may have none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api: Option<String>,
    /// Whether index and download requests need the token.
    #[serde(default, rename = "auth-required")]
    pub auth_required: bool,
    /// Always true: the index is served as plain files.
    #[serde(default)]
    pub sparse: bool,
    /// The keys index lines are signed with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signing: Option<IndexSigning>,
}

/// `config.json`'s `signing`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndexSigning {
    /// Always `ed25519`.
    pub kind: String,
    /// The keys, current key first.
    #[serde(default)]
    pub public_keys: Vec<OfferedKey>,
}

/// One signing key as config.json lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OfferedKey {
    /// The key id (16 hex digits, [`crate::KeyId`]).
    pub id: String,
    /// The raw public key, standard base64.
    pub ed25519_pub: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_like_cargo() {
        let p = |n: &str| shard_path(&PackageName::new(n).unwrap());
        assert_eq!(p("a"), "1/a");
        assert_eq!(p("ab"), "2/ab");
        assert_eq!(p("abc"), "3/a/abc");
        assert_eq!(p("ext-net"), "ex/t-/ext-net");
    }
}
