//! Run profiles of `x07.json`: a world plus an optional policy and resource defaults.

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::document::{decode_value, FieldError, FieldPath, ObjectReader};
use crate::rel_path::RelPath;
use crate::world::World;

/// A profile name: 1 to 64 characters of `A-Z a-z 0-9 _ . -`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ProfileName(String);

/// A string that is not a valid profile name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("profile name `{0}` must be 1 to 64 characters of A-Z, a-z, 0-9, `_`, `.` and `-`")]
pub struct ProfileNameError(pub String);

impl ProfileName {
    /// Checks and wraps a profile name.
    pub fn new(s: impl Into<String>) -> Result<Self, ProfileNameError> {
        let s = s.into();
        let valid = (1..=64).contains(&s.len())
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'));
        if valid {
            Ok(Self(s))
        } else {
            Err(ProfileNameError(s))
        }
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for ProfileName {
    type Error = ProfileNameError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::new(s)
    }
}

impl From<ProfileName> for String {
    fn from(n: ProfileName) -> String {
        n.0
    }
}

impl std::borrow::Borrow<str> for ProfileName {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ProfileName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Which runner a profile asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RunnerChoice {
    /// Pick from the world: host for `solve-*`, os otherwise.
    Auto,
    /// The deterministic fixture runner (`solve-*` worlds).
    Host,
    /// The OS runner (`run-os`, `run-os-sandboxed`).
    Os,
}

impl RunnerChoice {
    /// Whether this runner can run programs of `world`.
    pub fn supports(self, world: World) -> bool {
        match self {
            RunnerChoice::Auto => true,
            RunnerChoice::Host => world.is_fixture(),
            RunnerChoice::Os => world.is_os(),
        }
    }
}

/// C compiler flag set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CcProfile {
    /// Optimise for speed (`-O2`).
    #[default]
    Default,
    /// Optimise for size (`-Os`).
    Size,
}

/// One entry of `profiles` in `x07.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Profile {
    /// The world programs run in under this profile.
    pub world: World,
    /// Base run policy (project-relative); present exactly when the world is `run-os-sandboxed`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub policy: Option<RelPath>,
    /// Runner override.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub runner: Option<RunnerChoice>,
    /// Default input file (project-relative) when the command line gives none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub input: Option<RelPath>,
    /// Whether to compile and link C FFI sources of dependencies.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auto_ffi: Option<bool>,
    /// Fuel for `solve`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub solve_fuel: Option<u64>,
    /// CPU time limit in seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpu_time_limit_seconds: Option<u64>,
    /// Memory arena size in bytes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_memory_bytes: Option<u64>,
    /// Largest output payload in bytes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_output_bytes: Option<u64>,
    /// C compiler flag set.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cc_profile: Option<CcProfile>,
}

impl Profile {
    /// A profile with only a world (and, for `run-os-sandboxed`, the given policy).
    pub fn for_world(world: World, policy: Option<RelPath>) -> Self {
        Self {
            world,
            policy,
            runner: None,
            input: None,
            auto_ffi: None,
            solve_fuel: None,
            cpu_time_limit_seconds: None,
            max_memory_bytes: None,
            max_output_bytes: None,
            cc_profile: None,
        }
    }

    /// Decodes and checks one profile object found at `path`.
    pub fn decode(value: Value, path: &FieldPath) -> Result<Self, FieldError> {
        let mut r = ObjectReader::new(value, path.clone())?;
        let profile = Profile {
            world: r.required("world")?,
            policy: r.optional("policy")?,
            runner: r.optional("runner")?,
            input: r.optional("input")?,
            auto_ffi: r.optional("auto_ffi")?,
            solve_fuel: r.optional_with("solve_fuel", positive)?,
            cpu_time_limit_seconds: r.optional_with("cpu_time_limit_seconds", positive)?,
            max_memory_bytes: r.optional_with("max_memory_bytes", positive)?,
            max_output_bytes: r.optional("max_output_bytes")?,
            cc_profile: r.optional("cc_profile")?,
        };
        r.finish()?;
        match (&profile.policy, profile.world.is_sandboxed()) {
            (None, true) => {
                return Err(FieldError::new(
                    path.key("policy"),
                    "required when world is run-os-sandboxed; point it at a policy file (x07 policy init --template cli)",
                ))
            }
            (Some(_), false) => {
                return Err(FieldError::new(
                    path.key("policy"),
                    format!("only allowed when world is run-os-sandboxed (this profile's world is {})", profile.world),
                ))
            }
            _ => {}
        }
        if let Some(runner) = profile.runner {
            if !runner.supports(profile.world) {
                return Err(FieldError::new(
                    path.key("runner"),
                    format!(
                        "runner `{}` cannot run world {}; use `auto`",
                        serde_json::to_value(runner)
                            .ok()
                            .and_then(|v| v.as_str().map(str::to_owned))
                            .unwrap_or_default(),
                        profile.world
                    ),
                ));
            }
        }
        Ok(profile)
    }
}

/// Decodes a u64 that must be at least 1.
fn positive(value: Value, path: &FieldPath) -> Result<u64, FieldError> {
    match decode_value::<u64>(value, path)? {
        0 => Err(FieldError::new(path.clone(), "must be at least 1")),
        n => Ok(n),
    }
}

impl<'de> Deserialize<'de> for Profile {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Profile::decode(Value::deserialize(d)?, &FieldPath::root())
            .map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn decode(v: Value) -> Result<Profile, String> {
        Profile::decode(v, &FieldPath::root().key("profiles").key("p")).map_err(|e| e.to_string())
    }

    #[test]
    fn policy_is_required_exactly_for_the_sandboxed_world() {
        assert_eq!(
            decode(json!({"world": "run-os-sandboxed"})).unwrap_err(),
            "profiles.p.policy: required when world is run-os-sandboxed; point it at a policy file (x07 policy init --template cli)"
        );
        assert!(decode(json!({"world": "run-os", "policy": "p.json"}))
            .unwrap_err()
            .starts_with("profiles.p.policy: only allowed"));
        let p = decode(json!({"world": "run-os-sandboxed", "policy": "p.json", "solve_fuel": 5, "cc_profile": "size"})).unwrap();
        assert_eq!(
            (p.solve_fuel, p.cc_profile),
            (Some(5), Some(CcProfile::Size))
        );
    }

    #[test]
    fn rejects_unknown_fields_bad_values_and_runner_mismatch() {
        assert!(decode(json!({"world": "run-os", "fuel": 1}))
            .unwrap_err()
            .starts_with("profiles.p.fuel: unknown field"));
        assert!(decode(json!({"world": "run-os", "solve_fuel": 0}))
            .unwrap_err()
            .starts_with("profiles.p.solve_fuel: must be at least 1"));
        assert!(decode(json!({"world": "run-os", "input": "/etc/passwd"}))
            .unwrap_err()
            .starts_with("profiles.p.input: path `/etc/passwd` must be relative"));
        assert!(decode(json!({"world": "run-os", "runner": "host"}))
            .unwrap_err()
            .starts_with("profiles.p.runner: runner `host` cannot run world run-os"));
        assert!(decode(json!({"world": "mars"}))
            .unwrap_err()
            .starts_with("profiles.p.world: unknown variant `mars`"));
    }
}
