//! The lockfile `x07.lock.json`: read `x07.lock@0.3.0`–`0.5.0`, write `x07.lock@0.5.0`.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::atomic::{write_if_changed, WriteOutcome};
use crate::canonical::{canonical_file_bytes, to_canonical_vec, CanonicalError};
use crate::dep_path::DepPath;
use crate::digest::Sha256Digest;
use crate::document::{
    decode_array, decode_value, load_document, parse_document, DocumentError, FieldError,
    FieldPath, ObjectReader,
};
use crate::package_id::{PackageName, PackageVersion};
use crate::rel_path::RelPath;

/// The version every lockfile is written as.
pub const LOCK_SCHEMA_VERSION: &str = "x07.lock@0.5.0";
/// Versions accepted on read, oldest first.
pub const LOCK_SCHEMA_VERSIONS_READ: [&str; 3] =
    ["x07.lock@0.3.0", "x07.lock@0.4.0", LOCK_SCHEMA_VERSION];

/// A SHA-256 written as 64 bare lowercase hex digits (the lockfile's legacy spelling, no `sha256:`).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct HexSha256(pub Sha256Digest);

impl fmt::Debug for HexSha256 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.hex())
    }
}

impl Serialize for HexSha256 {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0.hex())
    }
}

impl<'de> Deserialize<'de> for HexSha256 {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Sha256Digest::from_hex(&s).map(HexSha256).map_err(|_| {
            serde::de::Error::custom(format!(
                "`{s}` must be a SHA-256 written as 64 lowercase hex digits"
            ))
        })
    }
}

/// The toolchain that wrote a 0.4.0 lockfile.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LockToolchain {
    /// x07 CLI version.
    pub x07_version: String,
    /// Compiler version.
    pub x07c_version: String,
    /// Language id, e.g. `x07-core@0.2.0`.
    pub lang_id: String,
    /// Compatibility mode.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compat: Option<String>,
}

/// The registry a lockfile was resolved against.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LockRegistry {
    /// Sparse index URL.
    pub index_url: String,
    /// Index snapshot hash (never populated by upstream; kept for round trips).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snapshot_hash: Option<String>,
}

/// What an advisory warns about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AdvisoryKind {
    /// The version does not work.
    Broken,
    /// The version has a security problem.
    Security,
    /// The version should no longer be used.
    Deprecated,
}

/// How bad an advisory is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AdvisorySeverity {
    /// Low.
    Low,
    /// Medium.
    Medium,
    /// High.
    High,
    /// Critical.
    Critical,
}

/// A registry advisory snapshot (`x07.pkg.advisory@0.1.0`) stored with a locked dependency.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Advisory {
    /// Format tag, when present.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schema_version: Option<String>,
    /// Advisory id (a UUID).
    pub id: String,
    /// Package the advisory is about.
    pub package: PackageName,
    /// Version the advisory is about.
    pub version: PackageVersion,
    /// What kind of problem.
    pub kind: AdvisoryKind,
    /// How bad.
    pub severity: AdvisorySeverity,
    /// One-line summary.
    pub summary: String,
    /// More information.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Longer description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<String>,
    /// When it was filed (RFC 3339, UTC).
    pub created_at_utc: String,
    /// When it was withdrawn, if it was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub withdrawn_at_utc: Option<String>,
}

/// One locked dependency: where it is and the hashes of what the build reads from it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LockedDependency {
    /// Package name.
    pub name: PackageName,
    /// Exact version.
    pub version: PackageVersion,
    /// Source tree: project-relative, or `$workspace/...`.
    pub path: DepPath,
    /// SHA-256 of the `x07-package.json` bytes.
    pub package_manifest_sha256: HexSha256,
    /// Module root inside the package, relative to `path`.
    pub module_root: RelPath,
    /// SHA-256 of each module file, by module id.
    pub modules_sha256: BTreeMap<String, HexSha256>,
    /// The package whose `patch` entry forced this version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub overridden_by: Option<PackageName>,
    /// Whether the registry has yanked this version (registry packages only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub yanked: Option<bool>,
    /// Advisories known when locking, sorted by id.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub advisories: Vec<Advisory>,
}

/// The parsed lockfile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lockfile {
    /// The `schema_version` the file was read as; writing always uses [`LOCK_SCHEMA_VERSION`].
    pub read_schema_version: String,
    /// Toolchain block (required in 0.4.0, optional in 0.5.0, absent in 0.3.0).
    pub toolchain: Option<LockToolchain>,
    /// Registry block (required in 0.4.0, optional otherwise).
    pub registry: Option<LockRegistry>,
    /// Locked dependencies.
    pub dependencies: Vec<LockedDependency>,
}

impl Lockfile {
    /// A lockfile with no dependencies: what `x07 init` writes.
    pub fn empty() -> Self {
        Self {
            read_schema_version: LOCK_SCHEMA_VERSION.to_string(),
            toolchain: None,
            registry: None,
            dependencies: Vec::new(),
        }
    }

    /// Reads and checks a lockfile.
    pub fn load(path: &Path) -> Result<Self, DocumentError> {
        load_document(path, Self::decode)
    }

    /// Parses and checks lockfile bytes; `file` names the source in errors.
    pub fn from_slice(bytes: &[u8], file: &Path) -> Result<Self, DocumentError> {
        parse_document(bytes, file, Self::decode)
    }

    /// Decodes and checks a lockfile from a JSON value.
    pub fn decode(value: Value) -> Result<Self, FieldError> {
        let mut r = ObjectReader::new(value, FieldPath::root())?;
        let read_schema_version =
            r.schema_version(&LOCK_SCHEMA_VERSIONS_READ, LOCK_SCHEMA_VERSION)?;
        let is_v04 = read_schema_version == "x07.lock@0.4.0";
        let toolchain = if is_v04 {
            Some(r.required("toolchain")?)
        } else {
            r.optional("toolchain")?
        };
        let registry = if is_v04 {
            Some(r.required("registry")?)
        } else {
            r.optional("registry")?
        };
        let dependencies =
            r.required_with("dependencies", |v, p| decode_array(v, p, decode_value))?;
        r.finish()?;
        Ok(Self {
            read_schema_version,
            toolchain,
            registry,
            dependencies,
        })
    }

    /// The canonical (JCS) file bytes, always as [`LOCK_SCHEMA_VERSION`].
    pub fn to_file_bytes(&self) -> Result<Vec<u8>, CanonicalError> {
        canonical_file_bytes(self)
    }

    /// SHA-256 of the canonical bytes (without the final newline): the lockfile's identity in builds.
    pub fn digest(&self) -> Result<Sha256Digest, CanonicalError> {
        Ok(Sha256Digest::of(&to_canonical_vec(self)?))
    }

    /// Writes the lockfile atomically, leaving the file untouched when the bytes are the same.
    pub fn write(&self, path: &Path) -> std::io::Result<WriteOutcome> {
        let bytes = self.to_file_bytes().map_err(std::io::Error::other)?;
        write_if_changed(path, &bytes)
    }
}

/// How a lockfile is written: always the current version.
#[derive(Serialize)]
struct LockfileOut<'a> {
    schema_version: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    toolchain: &'a Option<LockToolchain>,
    #[serde(skip_serializing_if = "Option::is_none")]
    registry: &'a Option<LockRegistry>,
    dependencies: &'a [LockedDependency],
}

impl Serialize for Lockfile {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        LockfileOut {
            schema_version: LOCK_SCHEMA_VERSION,
            toolchain: &self.toolchain,
            registry: &self.registry,
            dependencies: &self.dependencies,
        }
        .serialize(s)
    }
}

impl<'de> Deserialize<'de> for Lockfile {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Self::decode(Value::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}
