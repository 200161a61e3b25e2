//! Record/replay policies: the consumer's `arch/rr/index.x07rr.json` (`x07.arch.rr.index@0.1.0`),
//! the policy files it lists (`x07.arch.rr.policy@0.1.0`), and the config blob `X7RC` that
//! `std.rr.with_policy_v1` compiles into the program for the runtime's `rr.open_v1`.

use serde::{Deserialize, Serialize};

/// The index file's schema tag.
pub const RR_INDEX_SCHEMA: &str = "x07.arch.rr.index@0.1.0";
/// A policy file's schema tag.
pub const RR_POLICY_SCHEMA: &str = "x07.arch.rr.policy@0.1.0";
/// Where the index lives under an arch root.
pub const RR_INDEX_PATH: [&str; 3] = ["arch", "rr", "index.x07rr.json"];

/// The modes of `std.rr.with_policy_v1`, by their number in the form (0..=4).
pub const RR_MODES: [&str; 5] = [
    "off",
    "record_v1",
    "replay_v1",
    "record_missing_v1",
    "rewrite_v1",
];

/// `arch/rr/index.x07rr.json` (fields x07 does not use are kept out; unknown ones are ignored).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RrIndex {
    /// [`RR_INDEX_SCHEMA`].
    pub schema_version: String,
    /// The policies by id.
    pub policies: Vec<RrIndexEntry>,
    /// Project-wide defaults.
    #[serde(default)]
    pub defaults: RrDefaults,
}

/// One `policies[]` item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RrIndexEntry {
    /// The id `std.rr.with_policy_v1` names.
    pub id: String,
    /// The policy file, relative to the arch root.
    pub policy_path: String,
}

/// `defaults`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RrDefaults {
    /// The modes a program may compile in; empty means `replay_v1` only.
    #[serde(default)]
    pub record_modes_allowed: Vec<String>,
}

impl RrIndex {
    /// Whether mode `name` may be compiled in.
    pub fn mode_allowed(&self, name: &str) -> bool {
        if self.defaults.record_modes_allowed.is_empty() {
            return name == "replay_v1";
        }
        self.defaults.record_modes_allowed.iter().any(|m| m == name)
    }
}

/// A policy file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RrPolicy {
    /// [`RR_POLICY_SCHEMA`].
    pub schema_version: String,
    /// Must equal the id the index lists it under.
    pub id: String,
    /// `lookup_v1` (by kind, op and key) or `transcript_v1` (in order).
    pub match_mode: String,
    /// The limits the runtime enforces.
    pub budgets: RrBudgets,
}

/// `budgets` of a policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RrBudgets {
    /// Largest cassette file.
    pub max_cassette_bytes: u64,
    /// Most entries in a cassette.
    pub max_entries: u32,
    /// Largest `req` of an entry.
    pub max_req_bytes: u32,
    /// Largest `resp` of an entry.
    pub max_resp_bytes: u32,
    /// Largest `key` of an entry (and of a lookup).
    pub max_key_bytes: u32,
}

/// Why an index or policy cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RrPolicyError {
    /// Not JSON of the expected shape.
    #[error("not a valid {schema} document: {message}")]
    Shape {
        /// The schema expected.
        schema: &'static str,
        /// serde's message.
        message: String,
    },
    /// The schema tag is another one.
    #[error("schema_version is {found:?}; expected {expected:?}")]
    Schema {
        /// The tag found.
        found: String,
        /// The tag expected.
        expected: &'static str,
    },
    /// The policy file names another id.
    #[error("the policy file's id is {found:?}, but the index lists it as {expected:?}")]
    Id {
        /// The id in the file.
        found: String,
        /// The id in the index.
        expected: String,
    },
    /// `match_mode` is not one x07 knows.
    #[error("match_mode {0:?} is not supported (lookup_v1 or transcript_v1)")]
    MatchMode(String),
}

/// Parses an index file.
pub fn parse_index(bytes: &[u8]) -> Result<RrIndex, RrPolicyError> {
    let index: RrIndex = serde_json::from_slice(bytes).map_err(|e| RrPolicyError::Shape {
        schema: RR_INDEX_SCHEMA,
        message: e.to_string(),
    })?;
    if index.schema_version != RR_INDEX_SCHEMA {
        return Err(RrPolicyError::Schema {
            found: index.schema_version,
            expected: RR_INDEX_SCHEMA,
        });
    }
    Ok(index)
}

/// Parses the policy file the index lists as `id`.
pub fn parse_policy(bytes: &[u8], id: &str) -> Result<RrPolicy, RrPolicyError> {
    let policy: RrPolicy = serde_json::from_slice(bytes).map_err(|e| RrPolicyError::Shape {
        schema: RR_POLICY_SCHEMA,
        message: e.to_string(),
    })?;
    if policy.schema_version != RR_POLICY_SCHEMA {
        return Err(RrPolicyError::Schema {
            found: policy.schema_version,
            expected: RR_POLICY_SCHEMA,
        });
    }
    if policy.id != id {
        return Err(RrPolicyError::Id {
            found: policy.id,
            expected: id.to_string(),
        });
    }
    policy.match_mode_code()?;
    Ok(policy)
}

impl RrPolicy {
    /// 0 for lookup_v1, 1 for transcript_v1.
    pub fn match_mode_code(&self) -> Result<u8, RrPolicyError> {
        match self.match_mode.as_str() {
            "lookup_v1" => Ok(0),
            "transcript_v1" => Ok(1),
            other => Err(RrPolicyError::MatchMode(other.to_string())),
        }
    }

    /// The runtime config: `"X7RC" | u16 1 | u16 0 | u8 mode | u8 match | u16 0 |
    /// u64 max_cassette_bytes | u32 max_entries | u32 max_req_bytes | u32 max_resp_bytes |
    /// u32 max_key_bytes | u32 path_len | path` (little-endian).
    pub fn config_blob(&self, mode: u8, cassette: &str) -> Vec<u8> {
        let b = &self.budgets;
        let mut out = Vec::with_capacity(40 + cassette.len());
        out.extend_from_slice(b"X7RC");
        out.extend_from_slice(&1u16.to_le_bytes());
        out.extend_from_slice(&0u16.to_le_bytes());
        out.push(mode);
        out.push(self.match_mode_code().unwrap_or(0));
        out.extend_from_slice(&0u16.to_le_bytes());
        out.extend_from_slice(&b.max_cassette_bytes.to_le_bytes());
        for x in [
            b.max_entries,
            b.max_req_bytes,
            b.max_resp_bytes,
            b.max_key_bytes,
            cassette.len() as u32,
        ] {
            out.extend_from_slice(&x.to_le_bytes());
        }
        out.extend_from_slice(cassette.as_bytes());
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_config_blob_has_the_public_layout() {
        let p = parse_policy(
            br#"{"schema_version":"x07.arch.rr.policy@0.1.0","id":"p","v":1,"match_mode":"transcript_v1",
                "budgets":{"max_cassette_bytes":4294967297,"max_entries":2,"max_req_bytes":3,"max_resp_bytes":4,"max_key_bytes":5}}"#,
            "p",
        )
        .unwrap();
        let b = p.config_blob(2, "c.rr");
        assert_eq!(&b[..12], b"X7RC\x01\x00\x00\x00\x02\x01\x00\x00");
        assert_eq!(&b[12..20], &4294967297u64.to_le_bytes());
        assert_eq!(
            &b[20..40],
            &[2, 0, 0, 0, 3, 0, 0, 0, 4, 0, 0, 0, 5, 0, 0, 0, 4, 0, 0, 0]
        );
        assert_eq!(&b[40..], b"c.rr");
    }

    #[test]
    fn a_policy_listed_under_another_id_or_with_an_unknown_match_mode_is_refused() {
        let doc = br#"{"schema_version":"x07.arch.rr.policy@0.1.0","id":"a","match_mode":"lookup_v1",
            "budgets":{"max_cassette_bytes":1,"max_entries":1,"max_req_bytes":1,"max_resp_bytes":1,"max_key_bytes":1}}"#;
        assert!(matches!(
            parse_policy(doc, "b"),
            Err(RrPolicyError::Id { .. })
        ));
        let odd = String::from_utf8_lossy(doc).replace("lookup_v1", "fuzzy");
        assert!(matches!(
            parse_policy(odd.as_bytes(), "a"),
            Err(RrPolicyError::MatchMode(_))
        ));
    }

    #[test]
    fn without_defaults_only_replay_may_be_compiled_in() {
        let i =
            parse_index(br#"{"schema_version":"x07.arch.rr.index@0.1.0","policies":[]}"#).unwrap();
        assert!(i.mode_allowed("replay_v1"));
        assert!(!i.mode_allowed("record_v1"));
    }
}
