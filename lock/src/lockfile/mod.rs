//! The lockfile `x07.lock.json`: the `x07.lock@0.5.0` types, reading 0.3/0.4 (converted), the
//! canonical write, the digest, and the checks against the files on disk and against a new resolution.

mod check;
mod legacy;
mod package_files;
mod verify;

use std::cmp::Ordering;
use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use semver::Version;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use x07_spec::document::{
    decode_array, decode_value, load_document, parse_document, FieldPath, ObjectReader,
};
use x07_spec::lock::Advisory;
use x07_spec::package::ModuleId;
use x07_spec::{
    canonical_file_bytes, to_canonical_vec, write_if_changed, CanonicalError, DepPath,
    DocumentError, FieldError, PackageName, PackageVersion, RelPath, Sha256Digest, WriteOutcome,
};

pub use check::{
    check_unchanged, diff_locks, diff_resolution, LockChange, LockCheckError, LockMode,
};
pub use package_files::{hash_package_dir, PackageDigests, PackageHashError};
pub use verify::{LockProblem, LockProblemKind};

use crate::req::VersionReq;
use crate::signing::{Ed25519Sig, KeyId};

/// The version every lockfile is written as.
pub const LOCK_SCHEMA_VERSION: &str = "x07.lock@0.5.0";
/// The lockfile's default name next to `x07.json`.
pub const LOCK_FILE_NAME: &str = "x07.lock.json";

const V03: &str = "x07.lock@0.3.0";
const V04: &str = "x07.lock@0.4.0";

/// The format a lock was read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum LockFormat {
    /// `x07.lock@0.3.0`: no toolchain or registry block; no archive, file or edge records.
    V0_3,
    /// `x07.lock@0.4.0`: as 0.3 plus toolchain and registry blocks.
    V0_4,
    /// `x07.lock@0.5.0`: the current format.
    V0_5,
}

/// The registry a lock was resolved against, and the key its index lines were verified with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LockRegistry {
    /// Sparse index URL (`sparse+http://…/index/`).
    pub index_url: String,
    /// The pinned registry signing key's id (absent in locks converted from 0.4).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_id: Option<KeyId>,
}

/// Where a locked package comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DepSource {
    /// Downloaded from the registry and unpacked under `.x07/deps/<name>/<version>`.
    Registry,
    /// A local directory named in x07.json.
    Path,
}

/// The registry's signature of the index line a package was downloaded by.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IndexSignature {
    /// The registry key's id.
    pub key_id: KeyId,
    /// The signature.
    pub sig: Ed25519Sig,
}

/// One resolved dependency edge of a locked package.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LockedEdge {
    /// The dependency.
    pub name: PackageName,
    /// The requirement as the package declares it.
    pub req: VersionReq,
    /// The version chosen.
    pub resolved: PackageVersion,
}

/// One of the project's own requirements.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RootDep {
    /// The package.
    pub name: PackageName,
    /// The requirement as written in x07.json.
    pub req: VersionReq,
}

/// One locked package: where it is, where it came from, and the digests of everything read from it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LockedPackage {
    /// Package name.
    pub name: PackageName,
    /// Exact version.
    pub version: PackageVersion,
    /// Its directory: `.x07/deps/<name>/<version>` for registry packages; project-relative or
    /// `$workspace/...` for local ones.
    pub path: DepPath,
    /// Registry or local path.
    pub source: DepSource,
    /// SHA-256 of the `.x07pkg` archive (registry packages; absent in converted 0.3/0.4 locks).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub archive_sha256: Option<Sha256Digest>,
    /// The registry's signature of the package's index line.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub index_signature: Option<IndexSignature>,
    /// SHA-256 of the `x07-package.json` bytes.
    pub package_manifest_sha256: Sha256Digest,
    /// Module root inside the package.
    pub module_root: RelPath,
    /// SHA-256 of each module file, by module id.
    pub modules_sha256: BTreeMap<ModuleId, Sha256Digest>,
    /// SHA-256 of every file of the package (manifest, modules and everything under `ffi/`),
    /// by package-relative path. Empty in locks converted from 0.3/0.4.
    pub files_sha256: BTreeMap<RelPath, Sha256Digest>,
    /// Its resolved requirements, sorted by name.
    pub deps: Vec<LockedEdge>,
    /// Whether the registry had yanked this version when it was locked.
    pub yanked: bool,
    /// Advisories known when locking, sorted by id.
    pub advisories: Vec<Advisory>,
    /// The package whose `patch` entry in x07.json forced this version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub overridden_by: Option<PackageName>,
}

impl LockedPackage {
    /// An entry for a package directory just hashed: the registry fields (archive digest, index
    /// signature, yanked, advisories) and the edges are left for the caller to fill in.
    pub fn from_digests(digests: PackageDigests, path: DepPath, source: DepSource) -> Self {
        Self {
            name: digests.name,
            version: digests.version,
            path,
            source,
            archive_sha256: None,
            index_signature: None,
            package_manifest_sha256: digests.package_manifest_sha256,
            module_root: digests.module_root,
            modules_sha256: digests.modules_sha256,
            files_sha256: digests.files_sha256,
            deps: Vec::new(),
            yanked: false,
            advisories: Vec::new(),
            overridden_by: None,
        }
    }
}

/// The only signature kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SignatureKind {
    /// Ed25519 over the canonical bytes.
    Ed25519,
}

/// The whole-lock signature (`x07 pkg lock --sign`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LockSignature {
    /// Always `ed25519`.
    pub kind: SignatureKind,
    /// The signing key's id.
    pub key_id: KeyId,
    /// The signature of [`Lock::signing_bytes`].
    pub sig: Ed25519Sig,
}

/// A lockfile in memory (`x07.lock@0.5.0`, whatever it was read from).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lock {
    /// The format it was read from; [`LockFormat::V0_5`] for new locks.
    pub read_as: LockFormat,
    /// The registry it was resolved against (absent when no registry was used).
    pub registry: Option<LockRegistry>,
    /// Every package of the resolved graph.
    pub dependencies: Vec<LockedPackage>,
    /// The project's own requirements.
    pub root_deps: Vec<RootDep>,
    /// The signature, when signed.
    pub signature: Option<LockSignature>,
}

/// A lock whose contents break the format's rules (beyond field syntax).
fn rule_error(field: FieldPath, message: String) -> FieldError {
    FieldError::new(field, message)
}

impl Lock {
    /// A lock with no dependencies: what `x07 init` writes.
    pub fn empty() -> Self {
        Self {
            read_as: LockFormat::V0_5,
            registry: None,
            dependencies: Vec::new(),
            root_deps: Vec::new(),
            signature: None,
        }
    }

    /// Reads and checks a lockfile of any supported version.
    pub fn load(path: &Path) -> Result<Self, DocumentError> {
        load_document(path, Self::decode)
    }

    /// Parses and checks lockfile bytes; `file` names the source in errors.
    pub fn from_slice(bytes: &[u8], file: &Path) -> Result<Self, DocumentError> {
        parse_document(bytes, file, Self::decode)
    }

    /// Decodes a lockfile from JSON: 0.5 directly, 0.3/0.4 converted.
    pub fn decode(value: Value) -> Result<Self, FieldError> {
        match value.get("schema_version").and_then(Value::as_str) {
            Some(V03 | V04) => legacy::convert(x07_spec::lock::Lockfile::decode(value)?),
            _ => Self::decode_current(value),
        }
    }

    fn decode_current(value: Value) -> Result<Self, FieldError> {
        let mut r = ObjectReader::new(value, FieldPath::root())?;
        r.schema_version(&[V03, V04, LOCK_SCHEMA_VERSION], LOCK_SCHEMA_VERSION)?;
        let registry = r.optional("registry")?;
        let dependencies: Vec<LockedPackage> =
            r.required_with("dependencies", |v, p| decode_array(v, p, decode_value))?;
        let root_deps = r
            .optional_with("root_deps", |v, p| decode_array(v, p, decode_value))?
            .unwrap_or_default();
        let signature = r.optional("signature")?;
        r.finish()?;
        let lock = Self {
            read_as: LockFormat::V0_5,
            registry,
            dependencies,
            root_deps,
            signature,
        };
        lock.check_rules()?;
        Ok(lock)
    }

    /// The rules every lock obeys: one version per package name, one provider per module id.
    pub fn check_rules(&self) -> Result<(), FieldError> {
        let deps_path = FieldPath::root().key("dependencies");
        let mut names: HashMap<&PackageName, &PackageVersion> = HashMap::new();
        let mut modules: HashMap<&ModuleId, &PackageName> = HashMap::new();
        for (i, dep) in self.dependencies.iter().enumerate() {
            if let Some(other) = names.insert(&dep.name, &dep.version) {
                return Err(rule_error(
                    deps_path.index(i).key("name"),
                    format!("`{}` is locked twice ({other} and {}); a lock holds one version per package, re-run `x07 pkg lock`", dep.name, dep.version),
                ));
            }
            for module in dep.modules_sha256.keys() {
                if let Some(first) = modules.insert(module, &dep.name) {
                    return Err(rule_error(
                        deps_path.index(i).key("modules_sha256"),
                        format!("module `{module}` is provided by both {first} and {}; remove one of the packages from the dependencies", dep.name),
                    ));
                }
            }
        }
        Ok(())
    }

    /// Exact version of every locked package, for preferring them when resolving again.
    pub fn locked_versions(&self) -> HashMap<PackageName, Version> {
        self.dependencies
            .iter()
            .filter_map(|d| {
                Version::parse(d.version.as_str())
                    .ok()
                    .map(|v| (d.name.clone(), v))
            })
            .collect()
    }

    /// The locked package named `name`.
    pub fn package(&self, name: &PackageName) -> Option<&LockedPackage> {
        self.dependencies.iter().find(|d| &d.name == name)
    }

    /// Puts dependencies, edges and root requirements in their canonical order (what is written).
    pub fn sort(&mut self) {
        self.dependencies.sort_by(compare_packages);
        for dep in &mut self.dependencies {
            dep.deps.sort_by(|a, b| a.name.cmp(&b.name));
            dep.advisories.sort_by(|a, b| a.id.cmp(&b.id));
        }
        self.root_deps.sort_by(|a, b| {
            a.name
                .cmp(&b.name)
                .then_with(|| a.req.to_string().cmp(&b.req.to_string()))
        });
    }

    fn sorted(&self) -> std::borrow::Cow<'_, Self> {
        let mut copy = self.clone();
        copy.sort();
        if &copy == self {
            std::borrow::Cow::Borrowed(self)
        } else {
            std::borrow::Cow::Owned(copy)
        }
    }

    /// The canonical (JCS) bytes of the lock without its signature: what is signed, and what
    /// [`Lock::digest`] hashes.
    pub fn signing_bytes(&self) -> Result<Vec<u8>, CanonicalError> {
        to_canonical_vec(&LockOut::of(&self.sorted(), false))
    }

    /// SHA-256 of [`Lock::signing_bytes`]: the lock's identity in builds (signing does not change it).
    pub fn digest(&self) -> Result<Sha256Digest, CanonicalError> {
        Ok(Sha256Digest::of(&self.signing_bytes()?))
    }

    /// The file bytes: canonical JSON of the whole lock (signature included) plus a newline.
    pub fn to_file_bytes(&self) -> Result<Vec<u8>, CanonicalError> {
        canonical_file_bytes(&LockOut::of(&self.sorted(), true))
    }

    /// Writes the lock atomically (temp file + rename), leaving the file alone when the bytes are
    /// the same.
    pub fn write(&self, path: &Path) -> std::io::Result<WriteOutcome> {
        let bytes = self.to_file_bytes().map_err(std::io::Error::other)?;
        write_if_changed(path, &bytes)
    }
}

/// Dependencies sort by name, then version (semver order), then path.
fn compare_packages(a: &LockedPackage, b: &LockedPackage) -> Ordering {
    let version = |d: &LockedPackage| Version::parse(d.version.as_str()).ok();
    a.name
        .cmp(&b.name)
        .then_with(|| version(a).cmp(&version(b)))
        .then_with(|| a.path.cmp(&b.path))
}

/// What is written: always the current schema version.
#[derive(Serialize)]
struct LockOut<'a> {
    schema_version: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    registry: Option<&'a LockRegistry>,
    dependencies: &'a [LockedPackage],
    root_deps: &'a [RootDep],
    #[serde(skip_serializing_if = "Option::is_none")]
    signature: Option<&'a LockSignature>,
}

impl<'a> LockOut<'a> {
    fn of(lock: &'a Lock, with_signature: bool) -> Self {
        Self {
            schema_version: LOCK_SCHEMA_VERSION,
            registry: lock.registry.as_ref(),
            dependencies: &lock.dependencies,
            root_deps: &lock.root_deps,
            signature: lock.signature.as_ref().filter(|_| with_signature),
        }
    }
}
