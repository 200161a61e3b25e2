//! Budget scopes' limits: the `budget.cfg_v1` fields and the profile file
//! `arch/budgets/profiles/<id>.budget.json` (`x07.budget.profile@0.1.0`) that
//! `budget.scope_from_arch_v1` names. Profiles belong to the consuming project: they are read at
//! compile time from its `arch/` tree and become part of the build's derivation.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// The profile file's schema tag.
pub const BUDGET_PROFILE_SCHEMA: &str = "x07.budget.profile@0.1.0";

/// Where profiles live under an arch root.
pub const PROFILES_DIR: [&str; 3] = ["arch", "budgets", "profiles"];

/// What a scope does when a limit is exceeded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum BudgetMode {
    /// Trap `X07T_BUDGET_EXCEEDED_<LIMIT>`.
    #[serde(rename = "trap_v1")]
    Trap,
    /// The scope's value (a result) becomes the error `0x80000001..5`.
    #[serde(rename = "result_err_v1")]
    ResultErr,
    /// Only counted, never enforced.
    #[serde(rename = "stats_only_v1")]
    StatsOnly,
    /// Scheduler ticks over the limit yield (async code); the other limits trap.
    #[serde(rename = "yield_v1")]
    Yield,
}

impl BudgetMode {
    /// Every mode's spelling, for messages.
    pub const ALL: [&'static str; 4] = ["trap_v1", "result_err_v1", "stats_only_v1", "yield_v1"];

    /// Parses the spelling used in `budget.cfg_v1` and profile files.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "trap_v1" => Self::Trap,
            "result_err_v1" => Self::ResultErr,
            "stats_only_v1" => Self::StatsOnly,
            "yield_v1" => Self::Yield,
            _ => return None,
        })
    }

    /// The spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Trap => "trap_v1",
            Self::ResultErr => "result_err_v1",
            Self::StatsOnly => "stats_only_v1",
            Self::Yield => "yield_v1",
        }
    }
}

impl fmt::Display for BudgetMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One scope's configuration: its mode, label and limits (0 = unlimited).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BudgetCfg {
    /// What exceeding a limit does.
    pub mode: BudgetMode,
    /// A non-empty label (shown in traps).
    pub label: String,
    /// Bytes allocated inside the scope.
    #[serde(default)]
    pub alloc_bytes: u64,
    /// Allocation calls inside the scope.
    #[serde(default)]
    pub alloc_calls: u64,
    /// Reallocation calls inside the scope.
    #[serde(default)]
    pub realloc_calls: u64,
    /// Bytes copied inside the scope.
    #[serde(default)]
    pub memcpy_bytes: u64,
    /// Scheduler ticks inside the scope.
    #[serde(default)]
    pub sched_ticks: u64,
    /// Fuel the scope may use (it runs with at most this much).
    #[serde(default)]
    pub fuel: u64,
}

impl BudgetCfg {
    /// The names of the limit fields, in the order the runtime checks them.
    pub const LIMITS: [&'static str; 6] = [
        "alloc_bytes",
        "alloc_calls",
        "realloc_calls",
        "memcpy_bytes",
        "sched_ticks",
        "fuel",
    ];

    /// A limit by field name.
    pub fn limit_mut(&mut self, name: &str) -> Option<&mut u64> {
        Some(match name {
            "alloc_bytes" => &mut self.alloc_bytes,
            "alloc_calls" => &mut self.alloc_calls,
            "realloc_calls" => &mut self.realloc_calls,
            "memcpy_bytes" => &mut self.memcpy_bytes,
            "sched_ticks" => &mut self.sched_ticks,
            "fuel" => &mut self.fuel,
            _ => return None,
        })
    }
}

/// The profile file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BudgetProfile {
    /// Always [`BUDGET_PROFILE_SCHEMA`].
    pub schema_version: String,
    /// The profile id (the file name without `.budget.json`).
    pub id: String,
    /// The profile's own revision.
    #[serde(default)]
    pub v: u64,
    /// The limits.
    pub cfg: BudgetCfg,
}

/// Why a profile file is not usable.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum BudgetProfileError {
    /// Not JSON of the profile's shape.
    #[error("not a budget profile: {0}")]
    Shape(String),
    /// Another schema.
    #[error("schema_version is `{found}`, expected `{BUDGET_PROFILE_SCHEMA}`")]
    Schema {
        /// What the file says.
        found: String,
    },
    /// The id inside differs from the file name's.
    #[error("id is `{found}` but the file is named for `{expected}`")]
    Id {
        /// The file's id.
        found: String,
        /// The id asked for.
        expected: String,
    },
    /// An empty label.
    #[error("cfg.label is empty; give the scope a name to show in traps")]
    EmptyLabel,
}

/// Whether `id` can name a profile file: ASCII letters, digits, `_`, `-`, `.`, not starting with
/// `.` (so a module can never point the compiler outside `arch/budgets/profiles/`).
pub fn is_valid_profile_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 128
        && !id.starts_with('.')
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
}

/// `<arch_root>/arch/budgets/profiles/<id>.budget.json`.
pub fn profile_path(arch_root: &Path, id: &str) -> PathBuf {
    let mut p = arch_root.to_path_buf();
    p.extend(PROFILES_DIR);
    p.join(format!("{id}.budget.json"))
}

/// Parses a profile file's bytes for the profile `expected_id`.
pub fn parse_profile(bytes: &[u8], expected_id: &str) -> Result<BudgetCfg, BudgetProfileError> {
    let p: BudgetProfile =
        serde_json::from_slice(bytes).map_err(|e| BudgetProfileError::Shape(e.to_string()))?;
    if p.schema_version != BUDGET_PROFILE_SCHEMA {
        return Err(BudgetProfileError::Schema {
            found: p.schema_version,
        });
    }
    if p.id != expected_id {
        return Err(BudgetProfileError::Id {
            found: p.id,
            expected: expected_id.to_string(),
        });
    }
    if p.cfg.label.is_empty() {
        return Err(BudgetProfileError::EmptyLabel);
    }
    Ok(p.cfg)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(id: &str, cfg: &str) -> Vec<u8> {
        format!(r#"{{"schema_version":"{BUDGET_PROFILE_SCHEMA}","id":"{id}","v":1,"cfg":{cfg}}}"#)
            .into_bytes()
    }

    #[test]
    fn a_profile_parses_with_unset_limits_as_unlimited() {
        let cfg = parse_profile(
            &doc(
                "p_v1",
                r#"{"mode":"result_err_v1","label":"p","alloc_bytes":7}"#,
            ),
            "p_v1",
        )
        .unwrap();
        assert_eq!(cfg.mode, BudgetMode::ResultErr);
        assert_eq!((cfg.alloc_bytes, cfg.alloc_calls, cfg.fuel), (7, 0, 0));
    }

    #[test]
    fn a_profile_for_another_id_an_unknown_mode_or_field_or_empty_label_is_refused() {
        let ok = r#"{"mode":"trap_v1","label":"p"}"#;
        assert!(matches!(
            parse_profile(&doc("q_v1", ok), "p_v1"),
            Err(BudgetProfileError::Id { .. })
        ));
        for cfg in [
            r#"{"mode":"panic_v1","label":"p"}"#,
            r#"{"mode":"trap_v1","label":"p","alloc_byte":1}"#,
            r#"{"mode":"trap_v1","label":"p","fuel":-1}"#,
        ] {
            assert!(
                matches!(
                    parse_profile(&doc("p_v1", cfg), "p_v1"),
                    Err(BudgetProfileError::Shape(_))
                ),
                "{cfg}"
            );
        }
        assert_eq!(
            parse_profile(&doc("p_v1", r#"{"mode":"trap_v1","label":""}"#), "p_v1"),
            Err(BudgetProfileError::EmptyLabel)
        );
        let other = br#"{"schema_version":"x07.budget.profile@9.0.0","id":"p_v1","cfg":{"mode":"trap_v1","label":"p"}}"#;
        assert!(matches!(
            parse_profile(other, "p_v1"),
            Err(BudgetProfileError::Schema { .. })
        ));
    }

    #[test]
    fn profile_ids_cannot_leave_the_profiles_directory() {
        for bad in ["", "../x", "a/b", ".hidden", "a\\b", "a b"] {
            assert!(!is_valid_profile_id(bad), "{bad:?}");
        }
        assert!(is_valid_profile_id("cli_ux_v1"));
        assert_eq!(
            profile_path(Path::new("/p"), "cli_ux_v1"),
            PathBuf::from("/p/arch/budgets/profiles/cli_ux_v1.budget.json")
        );
    }
}
