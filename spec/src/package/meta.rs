//! The `meta` object of `x07-package.json`: typed keys x07 acts on, every other key kept as JSON.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::document::{decode_array, decode_value, expect_object, FieldError, FieldPath};
use crate::package_id::PackageName;
use crate::world::World;

/// A version requirement as written (`>=0.2.2, <0.3.0`, `^0.2`); its grammar is `x07_lock::req`'s.
///
/// Only the characters are checked here, so that a manifest can be read without the resolver.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct VersionReqText(String);

/// A string that cannot be a version requirement.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("version requirement `{0}` must be comparators such as `>=0.2.0, <0.3.0`, `^1.2`, `~1.2.3`, `1.*` or `1.2.3`")]
pub struct VersionReqTextError(pub String);

impl VersionReqText {
    /// Checks the characters of a requirement and wraps it.
    pub fn new(s: impl Into<String>) -> Result<Self, VersionReqTextError> {
        let s = s.into();
        let allowed = |c: char| c.is_ascii_alphanumeric() || " ,.*^~=<>+-".contains(c);
        let valid = s.len() <= 256
            && s.chars().all(allowed)
            && s.chars().any(|c| c.is_ascii_digit() || c == '*');
        if valid {
            Ok(Self(s))
        } else {
            Err(VersionReqTextError(s))
        }
    }

    /// The requirement as written.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for VersionReqText {
    type Error = VersionReqTextError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::new(s)
    }
}

impl From<VersionReqText> for String {
    fn from(r: VersionReqText) -> String {
        r.0
    }
}

impl fmt::Display for VersionReqText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// One `meta.requires_packages` entry: `"name@REQ"`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PackageRequirement {
    /// The package required.
    pub name: PackageName,
    /// The versions accepted.
    pub req: VersionReqText,
}

/// A string that is not `name@REQ`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{text}` is not `name@REQUIREMENT` (e.g. `ext-net@>=0.1.0, <0.2.0`): {reason}")]
pub struct PackageRequirementError {
    /// The text.
    pub text: String,
    /// What is wrong with it.
    pub reason: String,
}

impl PackageRequirement {
    /// Parses `name@REQ`.
    pub fn parse(text: &str) -> Result<Self, PackageRequirementError> {
        let fail = |reason: String| PackageRequirementError {
            text: text.to_string(),
            reason,
        };
        let (name, req) = text
            .split_once('@')
            .ok_or_else(|| fail("there is no `@`".to_string()))?;
        let name = PackageName::new(name).map_err(|e| fail(e.to_string()))?;
        let req = VersionReqText::new(req).map_err(|e| fail(e.to_string()))?;
        Ok(Self { name, req })
    }
}

impl TryFrom<String> for PackageRequirement {
    type Error = PackageRequirementError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<PackageRequirement> for String {
    fn from(r: PackageRequirement) -> String {
        r.to_string()
    }
}

impl fmt::Display for PackageRequirement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{}", self.name, self.req)
    }
}

/// A native library to link (`curl` → `-lcurl`): `^[A-Za-z0-9_][A-Za-z0-9_.+-]{0,127}$`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct FfiLibName(String);

/// A string that cannot be a library name (it could smuggle a compiler flag or a path).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("library name `{0}` must be letters, digits, `_`, `.`, `+` or `-`, not starting with `-` or `.` (e.g. \"curl\", \"ssl\"; at most 128 characters)")]
pub struct FfiLibNameError(pub String);

impl FfiLibName {
    /// Checks and wraps a library name.
    pub fn new(s: impl Into<String>) -> Result<Self, FfiLibNameError> {
        let s = s.into();
        let valid = s.len() <= 128
            && s.as_bytes()
                .first()
                .is_some_and(|b| b.is_ascii_alphanumeric() || *b == b'_')
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"_.+-".contains(&b));
        if valid {
            Ok(Self(s))
        } else {
            Err(FfiLibNameError(s))
        }
    }

    /// The name, without `-l`.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for FfiLibName {
    type Error = FfiLibNameError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::new(s)
    }
}

impl From<FfiLibName> for String {
    fn from(n: FfiLibName) -> String {
        n.0
    }
}

/// How the package's modules were made (`meta.import_mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ImportMode {
    /// Written by hand in x07AST.
    Handwritten,
    /// Bindings to C sources under `ffi/` and the libraries of `meta.ffi_libs`.
    Ffi,
}

/// How deterministic the package's code is (`meta.determinism_tier`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DeterminismTier {
    /// Deterministic in every world.
    Pure,
    /// Some modules reach the OS.
    Mixed,
    /// Usable in OS worlds only.
    OsWorldOnly,
}

/// How prominently a package is offered (`meta.visibility`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Visibility {
    /// The recommended package for its capability.
    Canonical,
    /// For users who know they need it.
    Advanced,
    /// Not stable yet.
    Experimental,
}

/// The parsed `meta` object.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PackageMeta {
    /// Toolchain versions the package compiles with; required to publish.
    pub x07c_compat: Option<VersionReqText>,
    /// Packages this one needs, each with a requirement.
    pub requires_packages: Vec<PackageRequirement>,
    /// Native libraries to link.
    pub ffi_libs: Vec<FfiLibName>,
    /// How the modules were made.
    pub import_mode: Option<ImportMode>,
    /// Worlds the package is meant for (none listed: every world).
    pub worlds_allowed: Vec<World>,
    /// How deterministic the code is.
    pub determinism_tier: Option<DeterminismTier>,
    /// How prominently the package is offered.
    pub visibility: Option<Visibility>,
    /// Every other key, kept as written.
    pub other: BTreeMap<String, Value>,
}

impl PackageMeta {
    /// Decodes the `meta` object at `path`, naming the key (and index) of any bad value.
    pub fn decode(value: Value, path: &FieldPath) -> Result<Self, FieldError> {
        let mut map = expect_object(value, path)?;
        let mut take = |key: &str| {
            let field = path.key(key);
            match map.remove(key) {
                None => Ok(None),
                Some(Value::Null) => Err(FieldError::new(
                    field,
                    "must not be null; leave the key out instead",
                )),
                Some(v) => Ok(Some((v, field))),
            }
        };
        let x07c_compat = take("x07c_compat")?
            .map(|(v, p)| decode_value(v, &p))
            .transpose()?;
        let requires_packages = match take("requires_packages")? {
            Some((v, p)) => decode_requirements(v, &p)?,
            None => Vec::new(),
        };
        let ffi_libs = match take("ffi_libs")? {
            Some((v, p)) => decode_unique(v, &p, "library")?,
            None => Vec::new(),
        };
        let import_mode = take("import_mode")?
            .map(|(v, p)| decode_value(v, &p))
            .transpose()?;
        let worlds_allowed = match take("worlds_allowed")? {
            Some((v, p)) => decode_unique(v, &p, "world")?,
            None => Vec::new(),
        };
        let determinism_tier = take("determinism_tier")?
            .map(|(v, p)| decode_value(v, &p))
            .transpose()?;
        let visibility = take("visibility")?
            .map(|(v, p)| decode_value(v, &p))
            .transpose()?;
        Ok(Self {
            x07c_compat,
            requires_packages,
            ffi_libs,
            import_mode,
            worlds_allowed,
            determinism_tier,
            visibility,
            other: map.into_iter().collect(),
        })
    }

    /// Whether nothing is set (the manifest then omits `meta`).
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

fn decode_requirements(
    value: Value,
    path: &FieldPath,
) -> Result<Vec<PackageRequirement>, FieldError> {
    let reqs: Vec<PackageRequirement> = decode_array(value, path, decode_value)?;
    let mut seen = BTreeSet::new();
    for (i, req) in reqs.iter().enumerate() {
        if !seen.insert(req.name.as_str()) {
            return Err(FieldError::new(
                path.index(i),
                format!(
                    "package `{}` is required twice; merge the requirements into one entry",
                    req.name
                ),
            ));
        }
    }
    Ok(reqs)
}

fn decode_unique<T>(value: Value, path: &FieldPath, what: &str) -> Result<Vec<T>, FieldError>
where
    T: serde::de::DeserializeOwned + PartialEq + Serialize,
{
    let items: Vec<T> = decode_array(value, path, decode_value)?;
    for (i, item) in items.iter().enumerate() {
        if items[..i].contains(item) {
            let shown = serde_json::to_string(item).unwrap_or_default();
            return Err(FieldError::new(
                path.index(i),
                format!("{what} {shown} is listed twice"),
            ));
        }
    }
    Ok(items)
}

impl Serialize for PackageMeta {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map: Map<String, Value> = self.other.clone().into_iter().collect();
        let mut put =
            |key: &str, value: Result<Value, serde_json::Error>| -> Result<(), S::Error> {
                let value = value.map_err(serde::ser::Error::custom)?;
                map.insert(key.to_string(), value);
                Ok(())
            };
        if let Some(c) = &self.x07c_compat {
            put("x07c_compat", serde_json::to_value(c))?;
        }
        if !self.requires_packages.is_empty() {
            put(
                "requires_packages",
                serde_json::to_value(&self.requires_packages),
            )?;
        }
        if !self.ffi_libs.is_empty() {
            put("ffi_libs", serde_json::to_value(&self.ffi_libs))?;
        }
        if let Some(m) = self.import_mode {
            put("import_mode", serde_json::to_value(m))?;
        }
        if !self.worlds_allowed.is_empty() {
            put("worlds_allowed", serde_json::to_value(&self.worlds_allowed))?;
        }
        if let Some(t) = self.determinism_tier {
            put("determinism_tier", serde_json::to_value(t))?;
        }
        if let Some(v) = self.visibility {
            put("visibility", serde_json::to_value(v))?;
        }
        map.serialize(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn decodes_typed_keys_and_keeps_the_rest() {
        let meta = PackageMeta::decode(
            json!({"x07c_compat": ">=0.1.0, <0.2.0", "requires_packages": ["ext-foo@^0.2", "ext-bar@1.0.0"],
                   "ffi_libs": ["curl", "ssl"], "import_mode": "ffi", "worlds_allowed": ["run-os"],
                   "determinism_tier": "os-world-only", "visibility": "canonical", "capabilities": ["ffi"]}),
            &FieldPath::root().key("meta"),
        )
        .unwrap();
        assert_eq!(
            meta.x07c_compat.as_ref().unwrap().as_str(),
            ">=0.1.0, <0.2.0"
        );
        assert_eq!(meta.requires_packages[0].name.as_str(), "ext-foo");
        assert_eq!(meta.requires_packages[0].req.as_str(), "^0.2");
        assert_eq!(meta.import_mode, Some(ImportMode::Ffi));
        assert_eq!(meta.determinism_tier, Some(DeterminismTier::OsWorldOnly));
        assert_eq!(meta.other["capabilities"], json!(["ffi"]));
        let back = serde_json::to_value(&meta).unwrap();
        assert_eq!(
            back["requires_packages"],
            json!(["ext-foo@^0.2", "ext-bar@1.0.0"])
        );
        assert_eq!(back["capabilities"], json!(["ffi"]));
    }

    #[test]
    fn names_the_bad_key_and_index() {
        let p = FieldPath::root().key("meta");
        let err = PackageMeta::decode(json!({"ffi_libs": ["curl", "-Wl,--evil"]}), &p).unwrap_err();
        assert_eq!(err.field.as_str(), "meta.ffi_libs[1]");
        let err = PackageMeta::decode(json!({"requires_packages": ["ext-foo"]}), &p).unwrap_err();
        assert_eq!(err.field.as_str(), "meta.requires_packages[0]");
        assert!(err.message.contains("no `@`"), "{err}");
        let err = PackageMeta::decode(json!({"requires_packages": ["a@1.0.0", "a@2.0.0"]}), &p)
            .unwrap_err();
        assert_eq!(err.field.as_str(), "meta.requires_packages[1]");
        let err = PackageMeta::decode(json!({"import_mode": "x07import"}), &p).unwrap_err();
        assert_eq!(err.field.as_str(), "meta.import_mode");
        let err =
            PackageMeta::decode(json!({"worlds_allowed": ["run-os", "run-os"]}), &p).unwrap_err();
        assert_eq!(err.field.as_str(), "meta.worlds_allowed[1]");
        assert!(PackageMeta::decode(json!({"x07c_compat": "latest please"}), &p).is_err());
    }
}
