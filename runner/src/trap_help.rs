//! Hints for known traps: what to change so that the next run gets further.

use crate::limits::RunLimits;

/// Trap text the runner writes when the CPU limit killed the child.
pub const TRAP_CPU_LIMIT: &str = "cpu time limit exceeded";
/// Trap text the runner writes when the wall-clock limit killed the child.
pub const TRAP_TIMED_OUT: &str = "timed out";
/// Trap text the runner writes when stdout went past its cap.
pub const TRAP_STDOUT_CAP: &str = "stdout exceeded cap";
/// Trap text the runner writes when stderr went past its cap.
pub const TRAP_STDERR_CAP: &str = "stderr exceeded cap";
/// Trap text the runner writes when the stats line is missing.
pub const TRAP_MISSING_METRICS: &str = "missing metrics json line on stderr";

/// A hint for `trap`, or `None` when there is nothing useful to say.
pub fn trap_help(trap: &str, limits: &RunLimits) -> Option<String> {
    let help = if trap.starts_with("fuel exhausted") {
        format!(
            "the program ran out of fuel; raise --solve-fuel (current {})",
            limits.solve_fuel
        )
    } else if trap.contains("memory limit") || trap.starts_with("allocator.") {
        format!(
            "the program ran out of memory; raise --max-memory-bytes (current {})",
            limits.max_memory_bytes
        )
    } else if trap == TRAP_CPU_LIMIT {
        format!(
            "the program used all of its CPU time; raise --cpu-time-limit-seconds (current {})",
            limits.cpu_time_limit_seconds
        )
    } else if trap == TRAP_TIMED_OUT {
        format!(
            "the run went past its wall-clock limit of {} s (2 x cpu + 5 s) while using little CPU, so it was probably \
             waiting (sleep, network, a child process); raise --cpu-time-limit-seconds to allow longer runs",
            limits.wall_time_limit.as_secs_f64()
        )
    } else if trap == TRAP_STDOUT_CAP {
        format!(
            "the output is larger than --max-output-bytes (current {}); raise it",
            limits.max_output_bytes
        )
    } else if trap == TRAP_STDERR_CAP {
        "the program wrote more than 256 KiB to stderr; x07 programs report through their output bytes".to_string()
    } else if trap.starts_with("framing error") {
        "the executable did not write one u32_le length-prefixed frame on stdout; os.process.exit ends the program \
         without writing it, so return from solve instead"
            .to_string()
    } else if trap == TRAP_MISSING_METRICS {
        "the executable did not write its stats line on stderr; run only executables built by x07 with --artifact"
            .to_string()
    } else if trap.contains("not allowed")
        || trap.contains("disabled by policy")
        || trap.contains("denied by policy")
    {
        "the run policy forbids this operation; allow it in the policy file or with --allow-read-root, \
         --allow-write-root or --allow-host"
            .to_string()
    } else if trap.contains(" oob") {
        "an index or range was out of bounds; ptr= names the x07AST node in the source file"
            .to_string()
    } else {
        return None;
    };
    Some(help)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hints_name_the_flag_and_its_current_value() {
        let limits = RunLimits::default();
        assert_eq!(
            trap_help("fuel exhausted ptr=/solve/1", &limits).unwrap(),
            "the program ran out of fuel; raise --solve-fuel (current 50000000)"
        );
        assert!(trap_help(
            "allocator.alloc failed: memory limit of 64 bytes exceeded",
            &limits
        )
        .unwrap()
        .contains("--max-memory-bytes (current 67108864)"));
        assert!(trap_help(TRAP_TIMED_OUT, &limits).unwrap().contains("65 s"));
        assert!(
            trap_help("os.env.get key not allowed ptr=/solve/2", &limits)
                .unwrap()
                .contains("policy")
        );
        assert_eq!(trap_help("something else", &limits), None);
    }
}
