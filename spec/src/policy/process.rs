//! `process`: spawning and executing other programs, and exiting.

use crate::policy::decode::policy_section;

policy_section! {
    /// `process`: what child processes the program may start, and their caps.
    pub struct Process {
        /// Master switch.
        enabled: bool,
        /// Spawn child processes.
        allow_spawn: bool,
        /// Children alive at once (non-zero when `allow_spawn`).
        max_live: u32,
        /// Children over the whole run (non-zero when `allow_spawn`).
        max_spawns: u32,
        /// Replace the program with another (`exec`).
        allow_exec: bool,
        /// Exit early with a status.
        allow_exit: bool,
        /// Executables allowed, matched exactly after resolution.
        allow_execs: Vec<String> = Vec::new(),
        /// Directories whose executables are allowed (component-wise prefix).
        allow_exec_prefixes: Vec<String> = Vec::new(),
        /// Patterns argv[1..] must match: literals, `.`, `\x` escapes, postfix `*`.
        allow_args_regex_lite: Vec<String> = Vec::new(),
        /// Environment keys a child may be given.
        allow_env_keys: Vec<String> = Vec::new(),
        /// Longest executable path in bytes.
        max_exe_bytes: u32 = 4096,
        /// Most arguments.
        max_args: u32 = 64,
        /// Longest argument in bytes.
        max_arg_bytes: u32 = 4096,
        /// Most environment entries.
        max_env: u32 = 64,
        /// Longest environment key in bytes.
        max_env_key_bytes: u32 = 256,
        /// Longest environment value in bytes.
        max_env_val_bytes: u32 = 4096,
        /// Longest child run in milliseconds (non-zero when `allow_spawn`).
        max_runtime_ms: u32 = 0,
        /// Child stdout cap in bytes (0: none may be captured).
        max_stdout_bytes: u32 = 0,
        /// Child stderr cap in bytes.
        max_stderr_bytes: u32 = 0,
        /// Child stdout + stderr cap in bytes.
        max_total_bytes: u32 = 0,
        /// Child stdin cap in bytes.
        max_stdin_bytes: u32 = 0,
        /// Kill a child when its handle is dropped.
        kill_on_drop: bool = true,
        /// Kill a child's whole process tree.
        kill_tree: bool = true,
        /// Let the program choose a child's working directory.
        allow_cwd: bool = false,
        /// Directories a child's working directory must lie beneath (non-empty when `allow_cwd`).
        allow_cwd_roots: Vec<String> = Vec::new(),
    }
}
