//! Derived policies: a base policy plus `x07 run` overrides, written to
//! `<root>/.x07/policies/_generated/<base_policy_id>.g<hex8>.policy.json` (only when its content
//! changes) so that what a run used can be read and promoted into a committed base policy.
//!
//! `hex8` is the first 8 hex digits of sha256 over four length-prefixed parts (u64 little-endian
//! length, then the bytes): the toolchain version, the policy schema version, the raw base policy
//! bytes, and the canonical JSON of the normalised overrides. A new toolchain or format therefore
//! never reuses an old derived file.

use std::path::{Path, PathBuf};

use x07_spec::policy::{PolicyId, MAX_NOTES_CHARS};
use x07_spec::{DocumentError, Policy, Sha256Hasher, WriteOutcome, POLICY_SCHEMA_VERSION};

use crate::policy::overrides::{OverrideError, PolicyOverrides};

/// The toolchain version that goes into the derivation hash.
pub const TOOLCHAIN_VERSION: &str = env!("CARGO_PKG_VERSION");
/// Where derived policies live, relative to the project root.
pub const GENERATED_DIR: &str = ".x07/policies/_generated";

/// What to derive from.
#[derive(Debug, Clone, Copy)]
pub struct DeriveRequest<'a> {
    /// The project root (or the current directory without a project); host files and the output
    /// directory are relative to it.
    pub project_root: &'a Path,
    /// The base policy file.
    pub base_path: &'a Path,
    /// The override flags.
    pub overrides: &'a PolicyOverrides,
    /// Usually [`TOOLCHAIN_VERSION`].
    pub toolchain_version: &'a str,
}

/// A derived policy and where it was written.
#[derive(Debug, Clone)]
pub struct DerivedPolicy {
    /// The file (`.x07/policies/_generated/<base id>.g<hex8>.policy.json` under the root).
    pub path: PathBuf,
    /// Its content.
    pub policy: Policy,
    /// The 8 hex digits naming the derivation.
    pub hex8: String,
    /// Whether the file was created, replaced, or already held these bytes.
    pub written: WriteOutcome,
}

/// Why a derived policy cannot be made.
#[derive(Debug, thiserror::Error)]
pub enum DeriveError {
    /// The base policy file cannot be read.
    #[error("cannot read the base policy: {0}")]
    ReadBase(DocumentError),
    /// The base policy is not valid JSON or not a valid policy.
    #[error("the base policy is not valid: {0}")]
    InvalidBase(DocumentError),
    /// An override cannot be applied.
    #[error(transparent)]
    Override(#[from] OverrideError),
    /// The derivation line does not fit in `notes`.
    #[error("{}: notes has {existing} characters, and the derivation line would make it {total}; notes may hold at most {MAX_NOTES_CHARS}; shorten notes in the base policy", .base.display())]
    NotesTooLong {
        /// The base policy file.
        base: PathBuf,
        /// Characters of the base notes.
        existing: usize,
        /// Characters with the line appended.
        total: usize,
    },
    /// The derived file cannot be written.
    #[error("cannot write the derived policy {}: {source}", .path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
}

impl DeriveError {
    /// The diagnostic code (docs/diagnostics.md).
    pub fn code(&self) -> &'static str {
        match self {
            Self::ReadBase(_) => "X07-POLICY-0004",
            Self::InvalidBase(_) => "X07-POLICY-SCHEMA-0001",
            Self::Override(e) => e.code(),
            Self::NotesTooLong { .. } => "X07-POLICY-0010",
            Self::Write { .. } => "X07-POLICY-0011",
        }
    }

    /// The exit code of `x07 run`: 3 for an invalid policy, else 2.
    pub fn exit_code(&self) -> u8 {
        match self {
            Self::InvalidBase(_) => 3,
            Self::Override(e) => e.exit_code(),
            _ => 2,
        }
    }
}

/// The first 8 hex digits of the derivation hash (see the module documentation).
pub fn derivation_hex8(
    toolchain_version: &str,
    base_bytes: &[u8],
    overrides_json: &[u8],
) -> String {
    let mut hasher = Sha256Hasher::new();
    for part in [
        toolchain_version.as_bytes(),
        POLICY_SCHEMA_VERSION.as_bytes(),
        base_bytes,
        overrides_json,
    ] {
        hasher.update(&(part.len() as u64).to_le_bytes());
        hasher.update(part);
    }
    hasher.finish().hex()[..8].to_string()
}

/// `<base id>.g<hex8>`, the base id shortened so that the whole stays within 64 characters.
pub fn derived_policy_id(base: &PolicyId, hex8: &str) -> PolicyId {
    let suffix = format!(".g{hex8}");
    let keep = base.as_str().len().min(64 - suffix.len());
    PolicyId::new(format!("{}{suffix}", &base.as_str()[..keep]))
        .expect("a valid id prefix plus .g<hex> is valid")
}

/// Reads the base policy, applies the overrides, and writes the derived file if its bytes changed.
pub fn derive_policy(req: &DeriveRequest<'_>) -> Result<DerivedPolicy, DeriveError> {
    let base_bytes = fs_err::read(req.base_path).map_err(|source| {
        DeriveError::ReadBase(DocumentError::Read {
            file: req.base_path.to_path_buf(),
            source,
        })
    })?;
    let base = Policy::from_slice(&base_bytes, req.base_path).map_err(DeriveError::InvalidBase)?;
    req.overrides.check_preconditions(&base)?;
    let normalized = req.overrides.normalize(req.project_root)?;
    let mut policy = normalized.apply(&base)?;

    let hex8 = derivation_hex8(
        req.toolchain_version,
        &base_bytes,
        &normalized.canonical_json(),
    );
    policy.policy_id = derived_policy_id(&base.policy_id, &hex8);
    let shown_base = req
        .base_path
        .strip_prefix(req.project_root)
        .unwrap_or(req.base_path);
    let line = format!(
        "Derived by x07 run from {} with command-line overrides (g{hex8}).",
        shown_base.display()
    );
    let notes = match base.notes.as_deref() {
        None | Some("") => line,
        Some(existing) => format!("{existing}\n{line}"),
    };
    let total = notes.chars().count();
    if total > MAX_NOTES_CHARS {
        let existing = base.notes.as_deref().map_or(0, |n| n.chars().count());
        return Err(DeriveError::NotesTooLong {
            base: req.base_path.to_path_buf(),
            existing,
            total,
        });
    }
    policy.notes = Some(notes);
    policy
        .validate()
        .map_err(|e| DeriveError::Override(OverrideError::Invalid(e)))?;

    let dir = req.project_root.join(GENERATED_DIR);
    let path = dir.join(format!("{}.g{hex8}.policy.json", base.policy_id));
    let write_err = |source| DeriveError::Write {
        path: path.clone(),
        source,
    };
    let bytes = policy
        .to_file_bytes()
        .map_err(|e| write_err(std::io::Error::other(e)))?;
    fs_err::create_dir_all(&dir).map_err(write_err)?;
    let written = x07_spec::write_if_changed(&path, &bytes).map_err(write_err)?;
    Ok(DerivedPolicy {
        path,
        policy,
        hex8,
        written,
    })
}
