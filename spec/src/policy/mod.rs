//! Run policies (`x07.run-os-policy@0.1.0`): what a program in world `run-os-sandboxed` may do.
//!
//! [`Policy`] is the file as read and written (canonical JSON); [`Policy::validate`] adds the
//! checks a JSON Schema cannot express well; [`Template`] holds the eight starting points of
//! `x07 policy init`; [`blob`] is the binary form the C runtime loads (docs/internals/sandbox.md).

pub mod blob;
pub mod db;
pub(crate) mod decode;
pub mod init_report;
pub mod net;
mod policy_id;
pub mod process;
pub mod sections;
pub mod template;
pub mod validate;

use std::path::Path;

use serde::Deserialize;
use serde_json::Value;

use crate::canonical::{canonical_file_bytes, to_canonical_vec, CanonicalError};
use crate::digest::Sha256Digest;
use crate::document::{load_document, parse_document, DocumentError, FieldError, FieldPath};
use crate::schema_tag::schema_tag;
use decode::{leaf_decode, policy_section, Decode};

pub use db::{Db, DbDrivers, DbNet, DbSqlite};
pub use init_report::{InitStatus, PolicyInitReport, PolicyInitReportVersion};
pub use net::{HostRule, Net};
pub use policy_id::{PolicyId, PolicyIdError};
pub use process::Process;
pub use sections::{Env, Fs, Language, Limits, Threads, Time};
pub use template::{Template, UnknownTemplate};

/// The one policy format version read and written.
pub const POLICY_SCHEMA_VERSION: &str = "x07.run-os-policy@0.1.0";
/// Longest `notes`, in characters.
pub const MAX_NOTES_CHARS: usize = 4096;

schema_tag!(
    /// The `schema_version` of a policy file: exactly `x07.run-os-policy@0.1.0`.
    PolicySchemaVersion = "x07.run-os-policy@0.1.0"
);

leaf_decode!(PolicySchemaVersion, PolicyId);

policy_section! {
    /// A run policy, as read from and written to a `*.policy.json` file.
    pub struct Policy {
        /// Format tag.
        schema_version: PolicySchemaVersion,
        /// Name of the policy (`^[a-zA-Z0-9_.-]{1,64}$`).
        policy_id: PolicyId,
        /// Free text for people (at most 4096 characters); derived policies append a line here.
        #[serde(skip_serializing_if = "Option::is_none")]
        notes: Option<String> = None,
        /// Resource ceilings.
        limits: Limits,
        /// Filesystem access.
        fs: Fs,
        /// Network access.
        net: Net,
        /// Database access (absent: no databases).
        #[serde(skip_serializing_if = "Option::is_none")]
        db: Option<Db> = None,
        /// Environment variables.
        env: Env,
        /// Clocks and sleeping.
        time: Time,
        /// Compile-time gates (absent: unsafe and FFI are off).
        language: Language = Language::default(),
        /// The blocking-operation worker pool (absent: enabled, 0 workers, 4 blocking, 1024 queued).
        threads: Threads = Threads::default(),
        /// Child processes and exit.
        process: Process,
    }
}

impl Policy {
    /// Reads, decodes and validates a policy file; errors name the file and the field.
    pub fn load(path: &Path) -> Result<Self, DocumentError> {
        load_document(path, Self::decode)
    }

    /// Decodes and validates policy bytes; `file` names the source in errors.
    pub fn from_slice(bytes: &[u8], file: &Path) -> Result<Self, DocumentError> {
        parse_document(bytes, file, Self::decode)
    }

    /// Decodes a policy from a JSON value and runs every semantic check.
    pub fn decode(value: Value) -> Result<Self, FieldError> {
        let policy = <Self as Decode>::decode(value, &FieldPath::root())?;
        policy.validate()?;
        Ok(policy)
    }

    /// The first problem [`Policy::problems`] finds, if any.
    pub fn validate(&self) -> Result<(), FieldError> {
        match validate::problems(self).into_iter().next() {
            None => Ok(()),
            Some(first) => Err(first),
        }
    }

    /// Every semantic problem of the policy, in field order (empty when valid).
    pub fn problems(&self) -> Vec<FieldError> {
        validate::problems(self)
    }

    /// The canonical file bytes: JCS plus one final newline.
    pub fn to_file_bytes(&self) -> Result<Vec<u8>, CanonicalError> {
        canonical_file_bytes(self)
    }

    /// sha256 of the policy's canonical JSON (JCS, no newline): the digest a blob carries.
    pub fn digest(&self) -> Result<Sha256Digest, CanonicalError> {
        Ok(Sha256Digest::of(&to_canonical_vec(self)?))
    }
}

impl<'de> Deserialize<'de> for Policy {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Self::decode(Value::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}
