//! Resource limits of one run and the environment the child starts with.

use std::ffi::OsString;
use std::time::Duration;

/// Limits applied to one run of a framed executable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunLimits {
    /// Fuel passed as `--solve-fuel=N`.
    pub solve_fuel: u64,
    /// Arena size passed as `--max-memory-bytes=N`.
    pub max_memory_bytes: u64,
    /// Largest accepted output payload.
    pub max_output_bytes: u64,
    /// RLIMIT_CPU in seconds (the kernel kills the child after it).
    pub cpu_time_limit_seconds: u64,
    /// Wall-clock limit; the whole process group is killed after it.
    pub wall_time_limit: Duration,
}

/// Default fuel: 50,000,000.
pub const DEFAULT_SOLVE_FUEL: u64 = 50_000_000;
/// Default arena: 64 MiB.
pub const DEFAULT_MAX_MEMORY_BYTES: u64 = 64 * 1024 * 1024;
/// Default output cap: 1 MiB.
pub const DEFAULT_MAX_OUTPUT_BYTES: u64 = 1024 * 1024;
/// Default CPU limit: 30 s.
pub const DEFAULT_CPU_TIME_LIMIT_SECONDS: u64 = 30;
/// Stderr bytes kept before the run is stopped.
pub const STDERR_CAP_BYTES: usize = 256 * 1024;

/// The wall-clock limit that goes with a CPU limit: twice the CPU time plus 5 s.
pub fn default_wall_time(cpu_time_limit_seconds: u64) -> Duration {
    Duration::from_secs(cpu_time_limit_seconds.saturating_mul(2).saturating_add(5))
}

impl Default for RunLimits {
    fn default() -> Self {
        Self::with_cpu_seconds(DEFAULT_CPU_TIME_LIMIT_SECONDS)
    }
}

impl RunLimits {
    /// Default limits with another CPU limit (and the wall limit that goes with it).
    pub fn with_cpu_seconds(cpu_time_limit_seconds: u64) -> Self {
        Self {
            solve_fuel: DEFAULT_SOLVE_FUEL,
            max_memory_bytes: DEFAULT_MAX_MEMORY_BYTES,
            max_output_bytes: DEFAULT_MAX_OUTPUT_BYTES,
            cpu_time_limit_seconds,
            wall_time_limit: default_wall_time(cpu_time_limit_seconds),
        }
    }

    /// Most stdout bytes read: a full frame plus one byte, to tell "too long" from "exactly full".
    pub(crate) fn stdout_read_cap(&self) -> usize {
        usize::try_from(self.max_output_bytes.saturating_add(5)).unwrap_or(usize::MAX)
    }
}

/// The environment the child starts with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EnvMode {
    /// x07's own environment plus these variables (run-os).
    Inherit(Vec<(OsString, OsString)>),
    /// Only these variables (sandboxed runs: the policy's allowed keys and the X07_* settings).
    Only(Vec<(OsString, OsString)>),
}

impl EnvMode {
    /// Inherit x07's environment unchanged.
    pub fn inherit() -> Self {
        EnvMode::Inherit(Vec::new())
    }

    /// Adds or replaces one variable.
    pub fn with(mut self, key: impl Into<OsString>, value: impl Into<OsString>) -> Self {
        let (key, value) = (key.into(), value.into());
        let vars = match &mut self {
            EnvMode::Inherit(vars) | EnvMode::Only(vars) => vars,
        };
        vars.retain(|(k, _)| *k != key);
        vars.push((key, value));
        self
    }

    pub(crate) fn apply(&self, cmd: &mut std::process::Command) {
        let vars = match self {
            EnvMode::Inherit(vars) => vars,
            EnvMode::Only(vars) => {
                cmd.env_clear();
                vars
            }
        };
        cmd.envs(vars.iter().map(|(k, v)| (k, v)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_match_the_documented_values() {
        let l = RunLimits::default();
        assert_eq!(
            (l.solve_fuel, l.max_memory_bytes, l.max_output_bytes),
            (50_000_000, 64 << 20, 1 << 20)
        );
        assert_eq!(
            (l.cpu_time_limit_seconds, l.wall_time_limit),
            (30, Duration::from_secs(65))
        );
        assert_eq!(
            RunLimits::with_cpu_seconds(1).wall_time_limit,
            Duration::from_secs(7)
        );
        assert_eq!(l.stdout_read_cap(), (1 << 20) + 5);
    }

    #[test]
    fn with_replaces_a_variable() {
        let env = EnvMode::inherit()
            .with("A", "1")
            .with("B", "2")
            .with("A", "3");
        assert_eq!(
            env,
            EnvMode::Inherit(vec![("B".into(), "2".into()), ("A".into(), "3".into())])
        );
    }
}
