//! The package manifest `x07-package.json` (`x07.package@0.1.0`): reading, checking, writing.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::canonical::{canonical_file_bytes, CanonicalError};
use crate::document::{
    decode_array, decode_value, expect_object, load_document, parse_document, DocumentError,
    FieldError, FieldPath,
};
use crate::package::contents::FFI_DIR;
use crate::package::meta::PackageMeta;
use crate::package::module_id::ModuleId;
use crate::package_id::{PackageName, PackageVersion};
use crate::rel_path::RelPath;

/// The only `schema_version` of a package manifest.
pub const PACKAGE_SCHEMA_VERSION: &str = "x07.package@0.1.0";
/// The manifest's file name at the root of a package directory and of an archive.
pub const PACKAGE_FILE_NAME: &str = "x07-package.json";
/// Package names are at most this long (shorter than the 128 a project dependency may name).
pub const PACKAGE_NAME_MAX_LEN: usize = 64;

/// The parsed and syntax-checked `x07-package.json`.
#[derive(Debug, Clone, PartialEq)]
pub struct PackageManifest {
    /// Package name, `^[a-z][a-z0-9_-]{0,63}$`.
    pub name: PackageName,
    /// Exact semantic version.
    pub version: PackageVersion,
    /// Directory (relative to the package) holding the module files, e.g. `modules`.
    pub module_root: RelPath,
    /// The modules the package provides; `a.b.c` lives at `<module_root>/a/b/c.x07.json`.
    pub modules: Vec<ModuleId>,
    /// One-line summary; required to publish.
    pub description: Option<String>,
    /// Markdown documentation; required to publish.
    pub docs: Option<String>,
    /// SPDX license expression; required to publish.
    pub license: Option<String>,
    /// Tool metadata (`x07c_compat`, `requires_packages`, `ffi_libs`, ...).
    pub meta: PackageMeta,
    /// Other top-level keys, kept as written (the format allows them).
    pub other: BTreeMap<String, Value>,
}

impl PackageManifest {
    /// Reads and checks a manifest file.
    pub fn load(path: &Path) -> Result<Self, DocumentError> {
        load_document(path, Self::decode)
    }

    /// Reads and checks `<package_dir>/x07-package.json`.
    pub fn load_from_dir(package_dir: &Path) -> Result<Self, DocumentError> {
        Self::load(&package_dir.join(PACKAGE_FILE_NAME))
    }

    /// Parses and checks manifest bytes; `file` names the source in errors.
    pub fn from_slice(bytes: &[u8], file: &Path) -> Result<Self, DocumentError> {
        parse_document(bytes, file, Self::decode)
    }

    /// Decodes and checks a manifest from a JSON value: field types and the syntax of names,
    /// versions, module ids and paths. Files are not looked at (see [`Self::validate`]).
    pub fn decode(value: Value) -> Result<Self, FieldError> {
        let root = FieldPath::root();
        let mut map = expect_object(value, &root)?;
        let mut take = |key: &str| {
            let path = root.key(key);
            match map.remove(key) {
                None => Ok(None),
                Some(Value::Null) => Err(FieldError::new(
                    path,
                    "must not be null; leave the field out instead",
                )),
                Some(v) => Ok(Some((v, path))),
            }
        };
        let required = |found: Option<(Value, FieldPath)>, key: &str| {
            found.ok_or_else(|| FieldError::new(root.key(key), "required field is missing"))
        };

        let (v, p) = required(take("schema_version")?, "schema_version")?;
        let schema_version: String = decode_value(v, &p)?;
        if schema_version != PACKAGE_SCHEMA_VERSION {
            return Err(FieldError::new(
                p,
                format!(
                    "unsupported version `{schema_version}`; expected {PACKAGE_SCHEMA_VERSION}"
                ),
            ));
        }
        let (v, p) = required(take("name")?, "name")?;
        let name = decode_name(v, &p)?;
        let (v, p) = required(take("version")?, "version")?;
        let version: PackageVersion = decode_value(v, &p)?;
        let (v, p) = required(take("module_root")?, "module_root")?;
        let module_root = decode_module_root(v, &p)?;
        let (v, p) = required(take("modules")?, "modules")?;
        let modules = decode_modules(v, &p)?;
        let description = take("description")?
            .map(|(v, p)| decode_value(v, &p))
            .transpose()?;
        let docs = take("docs")?
            .map(|(v, p)| decode_value(v, &p))
            .transpose()?;
        let license = take("license")?
            .map(|(v, p)| decode_value(v, &p))
            .transpose()?;
        let meta = match take("meta")? {
            Some((v, p)) => PackageMeta::decode(v, &p)?,
            None => PackageMeta::default(),
        };
        Ok(Self {
            name,
            version,
            module_root,
            modules,
            description,
            docs,
            license,
            meta,
            other: map.into_iter().collect(),
        })
    }

    /// Where module `id`'s file sits relative to the package directory (`modules/a/b.x07.json`).
    pub fn module_file(&self, id: &ModuleId) -> String {
        format!("{}/{}", self.module_root.as_str(), id.file_rel_path())
    }

    /// The canonical (JCS) file bytes.
    pub fn to_file_bytes(&self) -> Result<Vec<u8>, CanonicalError> {
        canonical_file_bytes(self)
    }
}

fn decode_name(value: Value, path: &FieldPath) -> Result<PackageName, FieldError> {
    let name: PackageName = decode_value(value, path)?;
    if name.as_str().len() > PACKAGE_NAME_MAX_LEN {
        return Err(FieldError::new(
            path.clone(),
            format!("package name `{name}` is longer than {PACKAGE_NAME_MAX_LEN} characters"),
        ));
    }
    Ok(name)
}

fn decode_module_root(value: Value, path: &FieldPath) -> Result<RelPath, FieldError> {
    let root: RelPath = decode_value(value, path)?;
    let normalized = root.normalized();
    if normalized != root.as_str() {
        let hint = if normalized.is_empty() {
            "a directory such as `modules`".to_string()
        } else {
            format!("`{normalized}`")
        };
        return Err(FieldError::new(
            path.clone(),
            format!(
                "`{root}` must be written without `.` segments or a trailing `/`; write {hint}"
            ),
        ));
    }
    if root.starts_with_segments(&[FFI_DIR]) {
        return Err(FieldError::new(
            path.clone(),
            format!("`{root}` is inside `{FFI_DIR}/`, which holds C sources only; keep modules in another directory such as `modules`"),
        ));
    }
    Ok(root)
}

fn decode_modules(value: Value, path: &FieldPath) -> Result<Vec<ModuleId>, FieldError> {
    let modules: Vec<ModuleId> = decode_array(value, path, decode_value)?;
    if modules.is_empty() {
        return Err(FieldError::new(
            path.clone(),
            "must list at least one module id",
        ));
    }
    let mut seen = BTreeSet::new();
    for (i, m) in modules.iter().enumerate() {
        if !seen.insert(m.as_str()) {
            return Err(FieldError::new(
                path.index(i),
                format!("module `{m}` is listed twice"),
            ));
        }
    }
    Ok(modules)
}

impl Serialize for PackageManifest {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map: Map<String, Value> = self.other.clone().into_iter().collect();
        let mut put =
            |key: &str, value: Result<Value, serde_json::Error>| -> Result<(), S::Error> {
                map.insert(key.to_string(), value.map_err(serde::ser::Error::custom)?);
                Ok(())
            };
        put("schema_version", Ok(Value::from(PACKAGE_SCHEMA_VERSION)))?;
        put("name", serde_json::to_value(&self.name))?;
        put("version", serde_json::to_value(&self.version))?;
        put("module_root", serde_json::to_value(&self.module_root))?;
        put("modules", serde_json::to_value(&self.modules))?;
        for (key, text) in [
            ("description", &self.description),
            ("docs", &self.docs),
            ("license", &self.license),
        ] {
            if let Some(text) = text {
                put(key, Ok(Value::from(text.as_str())))?;
            }
        }
        if !self.meta.is_empty() {
            put("meta", serde_json::to_value(&self.meta))?;
        }
        map.serialize(s)
    }
}

impl<'de> Deserialize<'de> for PackageManifest {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Self::decode(Value::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}
