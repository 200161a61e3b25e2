//! A store entry (`<hash>-<name>/`) and its build record (`build.json`).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use x07_spec::Sha256Digest;

use super::{ArtifactName, DerivationHash, DerivationInputs, StoreError};

/// `schema_version` of `build.json` (0.2.0: the inputs name the compiler by its digest only).
pub const BUILD_RECORD_SCHEMA: &str = "x07.store.build@0.2.0";
/// Earlier `schema_version`s of `build.json` that are still read (0.1.0 inputs carry `cc_path`).
pub const BUILD_RECORD_SCHEMAS_READ: [&str; 2] = ["x07.store.build@0.1.0", BUILD_RECORD_SCHEMA];
/// File name of the build record inside an entry.
pub const BUILD_RECORD_FILE: &str = "build.json";
/// File name of the (optional) generated C source inside an entry.
pub const C_SOURCE_FILE: &str = "main.c";

/// `build.json`: what went in and what came out, written as canonical JSON.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BuildRecord {
    /// Always [`BUILD_RECORD_SCHEMA`].
    pub schema_version: String,
    /// The derivation hash of `inputs` (also the entry directory's prefix).
    pub hash: DerivationHash,
    /// The inputs the hash was computed from.
    pub inputs: DerivationInputs,
    /// The binary.
    pub output: OutputFile,
    /// Digest of the C translation unit the binary was compiled from.
    pub c_source_sha256: Sha256Digest,
    /// Size in bytes of that C source.
    pub c_source_size: u64,
    /// The first line of the compiler's `--version` (0.2.0; for people, the digest is in the inputs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cc_version_line: Option<String>,
}

/// One output file of a build, named relative to its entry directory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutputFile {
    /// File name inside the entry (the artifact name).
    pub file: String,
    /// SHA-256 of the file's bytes.
    pub sha256: Sha256Digest,
    /// Size in bytes.
    pub size: u64,
}

/// A complete entry in the store. Entry directories appear only by an atomic rename once every
/// file in them is written, so an existing directory is a complete entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreEntry {
    /// `<store>/<hash>-<name>`.
    pub dir: PathBuf,
    /// The artifact name.
    pub name: ArtifactName,
    /// The derivation hash.
    pub hash: DerivationHash,
}

impl StoreEntry {
    /// The entry for `hash` and `name` under `store_dir` (whether or not it exists).
    pub fn at(store_dir: &Path, hash: &DerivationHash, name: &ArtifactName) -> Self {
        Self {
            dir: store_dir.join(format!("{hash}-{name}")),
            name: name.clone(),
            hash: hash.clone(),
        }
    }

    /// Parses a directory name of the form `<32 hex>-<name>`.
    pub fn from_dir_name(store_dir: &Path, dir_name: &str) -> Option<Self> {
        let (hash, name) = dir_name.split_at_checked(DerivationHash::LEN)?;
        let name = name.strip_prefix('-')?;
        Some(Self::at(
            store_dir,
            &hash.parse().ok()?,
            &ArtifactName::new(name).ok()?,
        ))
    }

    /// The directory's file name, `<hash>-<name>`: how GC roots refer to the entry.
    pub fn dir_name(&self) -> String {
        format!("{}-{}", self.hash, self.name)
    }

    /// The executable.
    pub fn binary_path(&self) -> PathBuf {
        self.dir.join(self.name.as_str())
    }

    /// The generated C source, if the build kept it.
    pub fn c_source_path(&self) -> PathBuf {
        self.dir.join(C_SOURCE_FILE)
    }

    /// `build.json`.
    pub fn build_record_path(&self) -> PathBuf {
        self.dir.join(BUILD_RECORD_FILE)
    }

    /// Reads and parses `build.json`.
    pub fn build_record(&self) -> Result<BuildRecord, StoreError> {
        let path = self.build_record_path();
        let bytes = fs_err::read(&path)?;
        BuildRecord::parse(&bytes, &path)
    }
}

impl BuildRecord {
    /// Parses the bytes of a `build.json`; `path` names it in errors.
    pub fn parse(bytes: &[u8], path: &Path) -> Result<Self, StoreError> {
        let path = path.to_path_buf();
        let record: BuildRecord =
            serde_json::from_slice(bytes).map_err(|e| StoreError::BadRecord {
                path: path.clone(),
                reason: e.to_string(),
            })?;
        if !BUILD_RECORD_SCHEMAS_READ.contains(&record.schema_version.as_str()) {
            let reason = format!(
                "schema_version is `{}`, expected `{BUILD_RECORD_SCHEMA}`",
                record.schema_version
            );
            return Err(StoreError::BadRecord { path, reason });
        }
        Ok(record)
    }
}
