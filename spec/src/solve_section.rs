//! The `solve` section of a runner report: what one run of a framed executable did.

use serde::{Deserialize, Serialize};

/// Scheduler counters from the runtime's stats line (all zero for single-task programs).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SchedStats {
    /// Tasks created.
    pub tasks_spawned: u64,
    /// Spawn calls.
    pub spawn_calls: u64,
    /// Join calls.
    pub join_calls: u64,
    /// Yield calls.
    pub yield_calls: u64,
    /// Sleep calls.
    pub sleep_calls: u64,
    /// Channel sends.
    pub chan_send_calls: u64,
    /// Channel receives.
    pub chan_recv_calls: u64,
    /// Context switches.
    pub ctx_switches: u64,
    /// Wake-ups.
    pub wake_events: u64,
    /// Waits that blocked.
    pub blocked_waits: u64,
    /// Virtual clock at the end of the run.
    pub virtual_time_end: u64,
    /// Hash of the scheduling trace, `0x` + 16 hex digits.
    pub sched_trace_hash: String,
}

/// Allocator counters for `solve` (requested sizes; reset after the input is read).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MemStats {
    /// Allocations.
    pub alloc_calls: u64,
    /// Reallocations.
    pub realloc_calls: u64,
    /// Frees.
    pub free_calls: u64,
    /// Bytes allocated in total.
    pub bytes_alloc_total: u64,
    /// Bytes freed in total.
    pub bytes_freed_total: u64,
    /// Bytes still live at the end.
    pub live_bytes: u64,
    /// Most bytes live at once.
    pub peak_live_bytes: u64,
    /// Allocations still live at the end.
    pub live_allocs: u64,
    /// Most allocations live at once.
    pub peak_live_allocs: u64,
    /// Bytes copied by the runtime's memcpy.
    pub memcpy_bytes: u64,
}

/// Counters of builds with debug checks (`-DX07_DEBUG_BORROW`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct DebugStats {
    /// Borrow rule violations caught at run time.
    pub borrow_violations: u64,
}

/// The outcome of running a framed executable. Every field is always written; unknown ones are null.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SolveSection {
    /// Exit status 0, a well-formed output frame, the stats line present, and no trap.
    pub ok: bool,
    /// Exit code, or 128 + signal number when the process was killed by a signal.
    pub exit_status: Option<i32>,
    /// The output payload (inside the frame), base64; empty when the frame is invalid.
    pub solve_output_b64: String,
    /// Raw stdout bytes (frame included), base64.
    pub stdout_b64: String,
    /// Raw stderr bytes, base64.
    pub stderr_b64: String,
    /// Fuel spent by `solve`.
    pub fuel_used: Option<u64>,
    /// Peak heap use in bytes, input included.
    pub heap_used: Option<u64>,
    /// `os.fs.read_file` calls.
    pub fs_read_file_calls: Option<u64>,
    /// Directory listings.
    pub fs_list_dir_calls: Option<u64>,
    /// Request/response fixture opens.
    pub rr_open_calls: Option<u64>,
    /// Request/response fixture closes.
    pub rr_close_calls: Option<u64>,
    /// Request/response fixture stats calls.
    pub rr_stats_calls: Option<u64>,
    /// Request/response fixture next calls.
    pub rr_next_calls: Option<u64>,
    /// Request/response fixture misses.
    pub rr_next_miss_calls: Option<u64>,
    /// Request/response fixture appends.
    pub rr_append_calls: Option<u64>,
    /// Key-value gets.
    pub kv_get_calls: Option<u64>,
    /// Key-value sets.
    pub kv_set_calls: Option<u64>,
    /// Scheduler counters.
    pub sched_stats: Option<SchedStats>,
    /// Allocator counters.
    pub mem_stats: Option<MemStats>,
    /// Debug-build counters.
    pub debug_stats: Option<DebugStats>,
    /// Why the run failed: the runtime's trap line or a condition the runner detected.
    pub trap: Option<String>,
    /// What to do about the trap, when the runner knows.
    pub trap_help: Option<String>,
    /// Operations the run policy denied (sandboxed runs only), in the order they happened.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy_denials: Option<Vec<PolicyDenial>>,
}

/// One operation the run policy refused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyDenial {
    /// The builtin (`os.fs.read_file`, `os.net.tcp_connect_v1`, ...).
    pub op: String,
    /// What it was applied to (a path, a key, `host:port`, an executable).
    pub target: String,
    /// The policy rule that refused it (`fs.read_roots`, `env.allow_keys`, ...).
    pub rule: String,
}

/// What the sandbox applied, as the runtime reported it at start-up (docs/internals/sandbox.md).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SandboxSummary {
    /// `os` or `none`.
    pub backend: String,
    /// sha256 of the canonical JSON of the effective policy.
    pub policy_digest: String,
    /// Restrictions applied, in order.
    pub restrictions: Vec<String>,
    /// Restrictions that ran in a weaker form the policy accepted.
    #[serde(default)]
    pub weaker: Vec<String>,
    /// How the process limit is held: `cgroup-v1`, `cgroup-v2` or `rlimit`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pids_mechanism: Option<String>,
    /// Filesystem roots that did not exist when the run started.
    #[serde(default)]
    pub unreachable_roots: Vec<String>,
    /// Read roots whose hidden entries only the in-process layer protects.
    #[serde(default)]
    pub hidden_in_process_only: Vec<String>,
    /// The pids cgroup the program runs in (the launcher removes it after the run).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pids_cgroup: Option<String>,
    /// Digest of the policy embedded in the binary, when it had one (bundles).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub embedded_policy_digest: Option<String>,
}

impl SolveSection {
    /// A failed run with nothing measured: every counter null, no output.
    pub fn failed(trap: impl Into<String>) -> Self {
        Self {
            ok: false,
            exit_status: None,
            solve_output_b64: String::new(),
            stdout_b64: String::new(),
            stderr_b64: String::new(),
            fuel_used: None,
            heap_used: None,
            fs_read_file_calls: None,
            fs_list_dir_calls: None,
            rr_open_calls: None,
            rr_close_calls: None,
            rr_stats_calls: None,
            rr_next_calls: None,
            rr_next_miss_calls: None,
            rr_append_calls: None,
            kv_get_calls: None,
            kv_set_calls: None,
            sched_stats: None,
            mem_stats: None,
            debug_stats: None,
            trap: Some(trap.into()),
            trap_help: None,
            policy_denials: None,
        }
    }
}
