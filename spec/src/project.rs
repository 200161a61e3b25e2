//! The project manifest `x07.json` (`x07.project@0.5.0`, 0.2.0–0.4.0 read too), and
//! `x07.project@0.6.0`, x07's extension in which a dependency's `version` is a requirement and its
//! `path` is optional; 0.6.0 is written only when a dependency uses that.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::atomic::{write_if_changed, WriteOutcome};
use crate::canonical::CanonicalError;
use crate::dep_path::DepPath;
use crate::document::{
    decode_array, decode_value, expect_object, load_document, parse_document, DocumentError,
    FieldError, FieldPath, ObjectReader,
};
use crate::package_id::{PackageName, PackageVersion};
use crate::profile::{Profile, ProfileName};
use crate::rel_path::RelPath;
use crate::world::World;

/// The version manifests are written as unless a dependency needs [`PROJECT_SCHEMA_VERSION_REQS`].
pub const PROJECT_SCHEMA_VERSION: &str = "x07.project@0.5.0";
/// The version written when a dependency is a requirement or has no path.
pub const PROJECT_SCHEMA_VERSION_REQS: &str = "x07.project@0.6.0";
/// Versions accepted on read, oldest first.
pub const PROJECT_SCHEMA_VERSIONS_READ: [&str; 5] = [
    "x07.project@0.2.0",
    "x07.project@0.3.0",
    "x07.project@0.4.0",
    PROJECT_SCHEMA_VERSION,
    PROJECT_SCHEMA_VERSION_REQS,
];
/// Where registry packages are unpacked, relative to the project root.
pub const DEPS_DIR: &str = ".x07/deps";
/// The lockfile used when `lockfile` is absent.
pub const DEFAULT_LOCKFILE: &str = "x07.lock.json";
/// The file name `x07 init` writes and project discovery looks for.
pub const PROJECT_FILE_NAME: &str = "x07.json";
/// Base policy path of the `sandbox` profile that `x07 init` writes.
pub const INIT_SANDBOX_POLICY: &str = ".x07/policies/base/cli.sandbox.base.policy.json";

/// Native link flags for OS worlds.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LinkOptions {
    /// Libraries passed as `-l<name>`.
    #[serde(default)]
    pub libs: Vec<String>,
    /// Directories passed as `-L<dir>`.
    #[serde(default)]
    pub search_paths: Vec<String>,
    /// macOS frameworks.
    #[serde(default)]
    pub frameworks: Vec<String>,
    /// Link statically.
    #[serde(default, rename = "static")]
    pub static_link: bool,
}

/// One entry of `dependencies`: a package, the versions accepted, and where its tree is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProjectDependency {
    /// Package name.
    pub name: PackageName,
    /// Up to 0.5.0 an exact version; in 0.6.0 a requirement (`1.2.3` exact, `^1.2`, `>=1 <2`, ...;
    /// the grammar is the lock crate's `VersionReq`).
    pub version: String,
    /// Where its source tree is: `.x07/deps/<name>/<version>` for registry packages, any other
    /// project-relative directory for a local package. Optional in 0.6.0 (a registry package).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<DepPath>,
}

impl ProjectDependency {
    /// A local package (a `path` outside `.x07/deps/`), not one from the registry.
    pub fn local_path(&self) -> Option<&DepPath> {
        self.path
            .as_ref()
            .filter(|p| !p.starts_with_segments(&[".x07", "deps"]))
    }

    /// Whether writing this entry needs `x07.project@0.6.0`: no path, or a version that is not exact.
    pub fn needs_requirements_format(&self) -> bool {
        self.path.is_none() || PackageVersion::new(self.version.as_str()).is_err()
    }
}

/// One entry of `patch`: a transitive override.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PatchEntry {
    /// Version requirement the override must satisfy.
    pub version: String,
    /// Local source tree to use instead of the registry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<DepPath>,
}

/// The parsed and checked `x07.json`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProjectManifest {
    /// The `schema_version` the file was read as; writing always uses [`PROJECT_SCHEMA_VERSION`].
    pub read_schema_version: String,
    /// Language compatibility mode (`"0.5"`, `"strict"`).
    pub compat: Option<String>,
    /// Default world when no profile names one.
    pub world: World,
    /// The entry file (compiled as module `main`).
    pub entry: RelPath,
    /// Directories searched for modules, in order.
    pub module_roots: Vec<RelPath>,
    /// Native link flags.
    pub link: Option<LinkOptions>,
    /// The full, flat dependency list.
    pub dependencies: Vec<ProjectDependency>,
    /// Transitive overrides by package name.
    pub patch: BTreeMap<PackageName, PatchEntry>,
    /// The lockfile, or `None` when locking is disabled (`"lockfile": null`).
    pub lockfile: Option<RelPath>,
    /// Profile used when `--profile` is not given.
    pub default_profile: Option<ProfileName>,
    /// Run profiles by name.
    pub profiles: BTreeMap<ProfileName, Profile>,
    /// Entry symbol for operational runs (0.4.0+).
    pub operational_entry_symbol: Option<String>,
    /// Entry symbol for certification (0.4.0+).
    pub certification_entry_symbol: Option<String>,
}

/// `--profile` named a profile that `x07.json` does not define.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown profile `{name}`; x07.json defines: {}", if .defined.is_empty() { "(none)".to_string() } else { .defined.join(", ") })]
pub struct UnknownProfile {
    /// The requested name.
    pub name: String,
    /// The names that exist.
    pub defined: Vec<String>,
}

impl ProjectManifest {
    /// Exactly what `x07 init` writes.
    pub fn new_init() -> Self {
        let name = |s: &str| ProfileName::new(s).expect("static profile name");
        let path = |s: &str| RelPath::new(s).expect("static path");
        let mut profiles = BTreeMap::new();
        profiles.insert(name("os"), Profile::for_world(World::RunOs, None));
        profiles.insert(
            name("sandbox"),
            Profile::for_world(World::RunOsSandboxed, Some(path(INIT_SANDBOX_POLICY))),
        );
        Self {
            read_schema_version: PROJECT_SCHEMA_VERSION.to_string(),
            compat: Some("0.5".to_string()),
            world: World::RunOs,
            entry: path("src/main.x07.json"),
            module_roots: vec![path("src")],
            link: None,
            dependencies: Vec::new(),
            patch: BTreeMap::new(),
            lockfile: Some(path(DEFAULT_LOCKFILE)),
            default_profile: Some(name("os")),
            profiles,
            operational_entry_symbol: None,
            certification_entry_symbol: None,
        }
    }

    /// Reads and checks a manifest file.
    pub fn load(path: &Path) -> Result<Self, DocumentError> {
        load_document(path, Self::decode)
    }

    /// Parses and checks manifest bytes; `file` names the source in errors.
    pub fn from_slice(bytes: &[u8], file: &Path) -> Result<Self, DocumentError> {
        parse_document(bytes, file, Self::decode)
    }

    /// Decodes and checks a manifest from a JSON value.
    pub fn decode(value: Value) -> Result<Self, FieldError> {
        let mut r = ObjectReader::new(value, FieldPath::root())?;
        let read_schema_version =
            r.schema_version(&PROJECT_SCHEMA_VERSIONS_READ, PROJECT_SCHEMA_VERSION)?;
        let reqs = read_schema_version == PROJECT_SCHEMA_VERSION_REQS;
        let manifest = ProjectManifest {
            read_schema_version,
            compat: r.optional_with("compat", decode_compat)?,
            world: r.required("world")?,
            entry: r.required_with("entry", decode_entry)?,
            module_roots: r.required_with("module_roots", decode_module_roots)?,
            link: r.optional("link")?,
            dependencies: r
                .optional_with("dependencies", |v, p| decode_dependencies(v, p, reqs))?
                .unwrap_or_default(),
            patch: r.optional("patch")?.unwrap_or_default(),
            lockfile: match r.take("lockfile") {
                None => Some(RelPath::new(DEFAULT_LOCKFILE).expect("static path")),
                Some(Value::Null) => None,
                Some(v) => Some(decode_value(v, &FieldPath::root().key("lockfile"))?),
            },
            default_profile: r.optional("default_profile")?,
            profiles: r
                .optional_with("profiles", decode_profiles)?
                .unwrap_or_default(),
            operational_entry_symbol: r.optional("operational_entry_symbol")?,
            certification_entry_symbol: r.optional("certification_entry_symbol")?,
        };
        r.finish()?;
        if let Some(name) = &manifest.default_profile {
            if !manifest.profiles.contains_key(name) {
                return Err(FieldError::new(
                    FieldPath::root().key("default_profile"),
                    format!("names profile `{name}`, which `profiles` does not define"),
                ));
            }
        }
        Ok(manifest)
    }

    /// The schema version this manifest is written as: 0.6.0 when a dependency needs it, else 0.5.0.
    pub fn write_schema_version(&self) -> &'static str {
        if self
            .dependencies
            .iter()
            .any(ProjectDependency::needs_requirements_format)
        {
            PROJECT_SCHEMA_VERSION_REQS
        } else {
            PROJECT_SCHEMA_VERSION
        }
    }

    /// The canonical (JCS) file bytes, as [`ProjectManifest::write_schema_version`].
    pub fn to_file_bytes(&self) -> Result<Vec<u8>, CanonicalError> {
        // a file people edit: pretty, in the canonical key order
        crate::pretty_file_bytes(self)
    }

    /// Writes the manifest atomically, leaving the file untouched when the bytes are the same.
    pub fn write(&self, path: &Path) -> std::io::Result<WriteOutcome> {
        let bytes = self.to_file_bytes().map_err(std::io::Error::other)?;
        write_if_changed(path, &bytes)
    }

    /// The profile to use: `requested`, else `default_profile`, else `dev`, else `os`, else none.
    pub fn select_profile(
        &self,
        requested: Option<&str>,
    ) -> Result<Option<(&ProfileName, &Profile)>, UnknownProfile> {
        if let Some(name) = requested {
            return self
                .profiles
                .get_key_value(name)
                .map(Some)
                .ok_or_else(|| UnknownProfile {
                    name: name.to_string(),
                    defined: self.profiles.keys().map(|k| k.to_string()).collect(),
                });
        }
        let fallbacks = self
            .default_profile
            .iter()
            .map(ProfileName::as_str)
            .chain(["dev", "os"]);
        Ok(fallbacks
            .filter_map(|n| self.profiles.get_key_value(n))
            .next())
    }

    /// The lockfile path under `project_root`, if locking is enabled.
    pub fn lockfile_path(&self, project_root: &Path) -> Option<PathBuf> {
        self.lockfile.as_ref().map(|p| p.resolve(project_root))
    }
}

fn decode_compat(value: Value, path: &FieldPath) -> Result<String, FieldError> {
    let s: String = decode_value(value, path)?;
    let is_version = s.split_once('.').is_some_and(|(a, b)| {
        !a.is_empty() && !b.is_empty() && a.bytes().chain(b.bytes()).all(|c| c.is_ascii_digit())
    });
    if s == "strict" || is_version {
        Ok(s)
    } else {
        Err(FieldError::new(
            path.clone(),
            format!("`{s}` is not a compatibility mode; write \"0.5\" or \"strict\""),
        ))
    }
}

fn decode_entry(value: Value, path: &FieldPath) -> Result<RelPath, FieldError> {
    let entry: RelPath = decode_value(value, path)?;
    if entry.as_str().ends_with(".x07.json") {
        Ok(entry)
    } else {
        Err(FieldError::new(
            path.clone(),
            format!("`{entry}` must name an x07AST file ending in .x07.json"),
        ))
    }
}

fn decode_module_roots(value: Value, path: &FieldPath) -> Result<Vec<RelPath>, FieldError> {
    let roots = decode_array(value, path, |v, p| {
        let root: RelPath = decode_value(v, p)?;
        if root.starts_with_segments(&[".x07", "deps"]) {
            return Err(FieldError::new(
                p.clone(),
                format!("`{root}` is a vendored package directory; list the package in `dependencies` instead"),
            ));
        }
        Ok(root)
    })?;
    if roots.is_empty() {
        return Err(FieldError::new(
            path.clone(),
            "must list at least one directory (usually \"src\")",
        ));
    }
    let mut seen = BTreeSet::new();
    for (i, root) in roots.iter().enumerate() {
        if !seen.insert(root.normalized()) {
            return Err(FieldError::new(
                path.index(i),
                format!("`{root}` is listed twice"),
            ));
        }
    }
    Ok(roots)
}

fn decode_dependencies(
    value: Value,
    path: &FieldPath,
    requirements: bool,
) -> Result<Vec<ProjectDependency>, FieldError> {
    let deps: Vec<ProjectDependency> = decode_array(value, path, decode_value)?;
    let mut seen = BTreeSet::new();
    for (i, dep) in deps.iter().enumerate() {
        if dep.version.trim().is_empty() {
            return Err(FieldError::new(
                path.index(i).key("version"),
                "must not be empty",
            ));
        }
        if !requirements {
            if let Err(e) = PackageVersion::new(dep.version.as_str()) {
                return Err(FieldError::new(
                    path.index(i).key("version"),
                    format!("{e}; up to x07.project@0.5.0 a dependency names an exact version (requirements such as ^1.2 need x07.project@0.6.0, which `x07 pkg add NAME@REQ` writes)"),
                ));
            }
            if dep.path.is_none() {
                return Err(FieldError::new(
                    path.index(i).key("path"),
                    format!("required up to x07.project@0.5.0 (registry packages live at .x07/deps/{}/{})", dep.name, dep.version),
                ));
            }
        }
        if !seen.insert(dep.name.as_str()) {
            return Err(FieldError::new(
                path.index(i).key("name"),
                format!(
                    "package `{}` is listed twice; each package may appear at one version only",
                    dep.name
                ),
            ));
        }
    }
    Ok(deps)
}

fn decode_profiles(
    value: Value,
    path: &FieldPath,
) -> Result<BTreeMap<ProfileName, Profile>, FieldError> {
    let mut out = BTreeMap::new();
    for (name, v) in expect_object(value, path)? {
        let field = path.key(&name);
        let key =
            ProfileName::new(name).map_err(|e| FieldError::new(field.clone(), e.to_string()))?;
        out.insert(key, Profile::decode(v, &field)?);
    }
    Ok(out)
}

/// How a manifest is written: always the current version, fields in JCS order.
#[derive(Serialize)]
struct ManifestOut<'a> {
    schema_version: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    compat: &'a Option<String>,
    world: World,
    entry: &'a RelPath,
    module_roots: &'a [RelPath],
    #[serde(skip_serializing_if = "Option::is_none")]
    link: &'a Option<LinkOptions>,
    dependencies: &'a [ProjectDependency],
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    patch: &'a BTreeMap<PackageName, PatchEntry>,
    lockfile: &'a Option<RelPath>,
    #[serde(skip_serializing_if = "Option::is_none")]
    default_profile: &'a Option<ProfileName>,
    profiles: &'a BTreeMap<ProfileName, Profile>,
    #[serde(skip_serializing_if = "Option::is_none")]
    operational_entry_symbol: &'a Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    certification_entry_symbol: &'a Option<String>,
}

impl Serialize for ProjectManifest {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        ManifestOut {
            schema_version: self.write_schema_version(),
            compat: &self.compat,
            world: self.world,
            entry: &self.entry,
            module_roots: &self.module_roots,
            link: &self.link,
            dependencies: &self.dependencies,
            patch: &self.patch,
            lockfile: &self.lockfile,
            default_profile: &self.default_profile,
            profiles: &self.profiles,
            operational_entry_symbol: &self.operational_entry_symbol,
            certification_entry_symbol: &self.certification_entry_symbol,
        }
        .serialize(s)
    }
}

impl<'de> Deserialize<'de> for ProjectManifest {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Self::decode(Value::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}
