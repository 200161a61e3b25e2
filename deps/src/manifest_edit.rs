//! Editing `dependencies` in x07.json without disturbing the rest: keys stay in the user's order,
//! other fields are untouched, and the file keeps its style (canonical one-line JSON stays
//! canonical; anything else is pretty-printed). The schema version moves to
//! `x07.project@0.6.0` only while some dependency needs it (a requirement, or no path).

use std::path::{Path, PathBuf};

use serde_json::{Map, Value};
use x07_spec::{
    canonical_file_bytes, write_if_changed, DepPath, PackageName, PackageVersion, ProjectManifest,
    PROJECT_SCHEMA_VERSION, PROJECT_SCHEMA_VERSION_REQS,
};

use crate::error::DepsError;

/// A dependency to record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DependencySpec {
    /// The package.
    pub name: PackageName,
    /// An exact version or a requirement.
    pub version: String,
    /// Its tree; `None` for a registry package whose path is derived (needs 0.6.0).
    pub path: Option<DepPath>,
}

/// What an edit did to `dependencies`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ManifestChange {
    /// A new entry was appended.
    Added,
    /// An existing entry was changed in place.
    Replaced {
        /// The version it had.
        old_version: String,
    },
    /// The entry was already exactly this.
    Unchanged,
    /// The entry was removed.
    Removed,
    /// There was no such entry.
    NotPresent,
}

/// x07.json open for editing.
#[derive(Debug, Clone)]
pub struct ManifestEdit {
    path: PathBuf,
    was_canonical: bool,
    doc: Map<String, Value>,
}

impl ManifestEdit {
    /// Reads x07.json (it must be a valid manifest).
    pub fn load(path: &Path) -> Result<Self, DepsError> {
        let bytes = fs_err::read(path).map_err(|e| {
            DepsError::Manifest(Box::new(x07_spec::DocumentError::Read {
                file: path.to_path_buf(),
                source: e,
            }))
        })?;
        ProjectManifest::from_slice(&bytes, path).map_err(|e| DepsError::Manifest(Box::new(e)))?;
        let value: Value =
            serde_json::from_slice(&bytes).map_err(|e| DepsError::io("parse", path, e.into()))?;
        let was_canonical = canonical_file_bytes(&value).is_ok_and(|c| c == bytes);
        let Value::Object(doc) = value else {
            unreachable!("a valid manifest is an object")
        };
        Ok(Self {
            path: path.to_path_buf(),
            was_canonical,
            doc,
        })
    }

    fn deps_mut(&mut self) -> &mut Vec<Value> {
        let entry = self
            .doc
            .entry("dependencies")
            .or_insert_with(|| Value::Array(Vec::new()));
        if !entry.is_array() {
            *entry = Value::Array(Vec::new());
        }
        entry.as_array_mut().expect("just made an array")
    }

    /// Points profile `name` at the base policy `policy` (relative to the project root), creating
    /// the profile with world run-os-sandboxed when it does not exist; whether anything changed.
    pub fn set_profile_policy(&mut self, name: &str, policy: &str) -> bool {
        let profiles = self
            .doc
            .entry("profiles")
            .or_insert_with(|| Value::Object(Map::new()));
        if !profiles.is_object() {
            *profiles = Value::Object(Map::new());
        }
        let profile = profiles
            .as_object_mut()
            .expect("just made an object")
            .entry(name.to_string())
            .or_insert_with(|| serde_json::json!({"world": "run-os-sandboxed"}));
        let Some(profile) = profile.as_object_mut() else {
            return false;
        };
        let new = Value::String(policy.to_string());
        if profile.get("policy") == Some(&new) {
            return false;
        }
        profile.insert("policy".to_string(), new);
        true
    }

    /// Adds `spec`, or changes the entry of the same name in place.
    pub fn set_dependency(&mut self, spec: &DependencySpec) -> ManifestChange {
        let deps = self.deps_mut();
        let existing = deps
            .iter_mut()
            .find(|d| d.get("name").and_then(Value::as_str) == Some(spec.name.as_str()));
        match existing.and_then(Value::as_object_mut) {
            Some(entry) => {
                let old_version = entry
                    .get("version")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string();
                let old_path = entry.get("path").cloned();
                let new_path = spec.path.as_ref().map(|p| Value::String(p.to_string()));
                if old_version == spec.version && old_path == new_path {
                    return ManifestChange::Unchanged;
                }
                entry.insert("version".to_string(), Value::String(spec.version.clone()));
                match new_path {
                    Some(p) => {
                        entry.insert("path".to_string(), p);
                    }
                    None => {
                        entry.shift_remove("path");
                    }
                }
                ManifestChange::Replaced { old_version }
            }
            None => {
                let mut entry = Map::new();
                entry.insert("name".to_string(), Value::String(spec.name.to_string()));
                if let Some(p) = &spec.path {
                    entry.insert("path".to_string(), Value::String(p.to_string()));
                }
                entry.insert("version".to_string(), Value::String(spec.version.clone()));
                deps.push(Value::Object(entry));
                ManifestChange::Added
            }
        }
    }

    /// Removes the entry named `name`.
    pub fn remove_dependency(&mut self, name: &PackageName) -> ManifestChange {
        let deps = self.deps_mut();
        let before = deps.len();
        deps.retain(|d| d.get("name").and_then(Value::as_str) != Some(name.as_str()));
        if deps.len() == before {
            ManifestChange::NotPresent
        } else {
            ManifestChange::Removed
        }
    }

    /// The file bytes after the edits, checked to be a valid manifest.
    pub fn render(&self) -> Result<Vec<u8>, DepsError> {
        let mut doc = self.doc.clone();
        let needs_reqs = doc
            .get("dependencies")
            .and_then(Value::as_array)
            .is_some_and(|deps| {
                deps.iter().any(|d| {
                    d.get("path").is_none()
                        || d.get("version")
                            .and_then(Value::as_str)
                            .is_none_or(|v| PackageVersion::new(v).is_err())
                })
            });
        let current = doc
            .get("schema_version")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        if needs_reqs {
            doc.insert(
                "schema_version".to_string(),
                Value::String(PROJECT_SCHEMA_VERSION_REQS.to_string()),
            );
        } else if current == PROJECT_SCHEMA_VERSION_REQS {
            doc.insert(
                "schema_version".to_string(),
                Value::String(PROJECT_SCHEMA_VERSION.to_string()),
            );
        }
        let value = Value::Object(doc);
        let bytes = if self.was_canonical {
            canonical_file_bytes(&value)
                .map_err(|e| DepsError::io("write", &self.path, std::io::Error::other(e)))?
        } else {
            let mut b = serde_json::to_vec_pretty(&value)
                .map_err(|e| DepsError::io("write", &self.path, e.into()))?;
            b.push(b'\n');
            b
        };
        ProjectManifest::from_slice(&bytes, &self.path)
            .map_err(|e| DepsError::Manifest(Box::new(e)))?;
        Ok(bytes)
    }

    /// Writes the edits atomically (nothing when the bytes are the same); returns whether the
    /// file changed.
    pub fn save(&self) -> Result<bool, DepsError> {
        let bytes = self.render()?;
        let outcome = write_if_changed(&self.path, &bytes)
            .map_err(|e| DepsError::io("write", &self.path, e))?;
        Ok(outcome != x07_spec::WriteOutcome::Unchanged)
    }
}
