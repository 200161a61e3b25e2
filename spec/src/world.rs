//! Worlds: the capability sets a program is compiled for and run in.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A world name as written in `x07.json` and in reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum World {
    /// Deterministic, no I/O beyond the input bytes.
    SolvePure,
    /// Deterministic with a fixture filesystem.
    SolveFs,
    /// Deterministic with request/response fixtures.
    SolveRr,
    /// Deterministic with a fixture key-value store.
    SolveKv,
    /// Deterministic with all fixtures.
    SolveFull,
    /// Native OS access, no policy.
    RunOs,
    /// Native OS access under a run policy.
    RunOsSandboxed,
}

/// A string that is not one of the seven world names.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown world `{0}`; expected one of: solve-pure, solve-fs, solve-rr, solve-kv, solve-full, run-os, run-os-sandboxed")]
pub struct UnknownWorld(pub String);

impl World {
    /// Every world, fixture worlds first.
    pub const ALL: [World; 7] = [
        World::SolvePure,
        World::SolveFs,
        World::SolveRr,
        World::SolveKv,
        World::SolveFull,
        World::RunOs,
        World::RunOsSandboxed,
    ];

    /// The name as written in files and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            World::SolvePure => "solve-pure",
            World::SolveFs => "solve-fs",
            World::SolveRr => "solve-rr",
            World::SolveKv => "solve-kv",
            World::SolveFull => "solve-full",
            World::RunOs => "run-os",
            World::RunOsSandboxed => "run-os-sandboxed",
        }
    }

    /// Whether programs in this world reach the real OS (`run-os`, `run-os-sandboxed`).
    pub fn is_os(self) -> bool {
        matches!(self, World::RunOs | World::RunOsSandboxed)
    }

    /// Whether this world runs under a policy (and so needs one).
    pub fn is_sandboxed(self) -> bool {
        self == World::RunOsSandboxed
    }

    /// Whether this is one of the deterministic fixture worlds (`solve-*`).
    pub fn is_fixture(self) -> bool {
        !self.is_os()
    }
}

impl fmt::Display for World {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for World {
    type Err = UnknownWorld;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        World::ALL
            .into_iter()
            .find(|w| w.as_str() == s)
            .ok_or_else(|| UnknownWorld(s.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_through_str_and_serde() {
        for w in World::ALL {
            assert_eq!(w.as_str().parse::<World>().unwrap(), w);
            assert_eq!(
                serde_json::to_value(w).unwrap(),
                serde_json::Value::String(w.as_str().into())
            );
        }
        assert_eq!(World::ALL.iter().filter(|w| w.is_os()).count(), 2);
        assert!(World::RunOsSandboxed.is_sandboxed() && !World::RunOs.is_sandboxed());
        assert!("run_os".parse::<World>().is_err());
    }
}
