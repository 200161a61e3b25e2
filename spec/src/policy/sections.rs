//! The small policy sections: limits, fs, env, time, language, threads.
//!
//! Ranges and cross-field rules are checked by [`crate::policy::validate`], not here.

use crate::policy::decode::policy_section;

/// 1 MiB, the smallest `limits.mem_bytes`.
pub const MIB: u64 = 1024 * 1024;
/// Default `fs.max_read_bytes` / `fs.max_write_bytes` when the field is absent (16 MiB).
pub const DEFAULT_FS_MAX_BYTES: u32 = 16 * 1024 * 1024;
/// Default `fs.max_entries` when the field is absent.
pub const DEFAULT_FS_MAX_ENTRIES: u32 = 10_000;
/// Default `fs.max_depth` when the field is absent.
pub const DEFAULT_FS_MAX_DEPTH: u32 = 64;

policy_section! {
    /// `limits`: resource ceilings of the whole run.
    pub struct Limits {
        /// CPU time in milliseconds (1..=600000).
        cpu_ms: u32,
        /// Wall-clock time in milliseconds (1..=600000).
        wall_ms: u32,
        /// Address-space ceiling in bytes (1 MiB..=16 GiB).
        mem_bytes: u64,
        /// Open file descriptors (0..=1024).
        fds: u32,
        /// Processes (0..=1024).
        procs: u32,
        /// Whether a crash may write a core file.
        core_dumps: bool = false,
    }
}

policy_section! {
    /// `fs`: which directories the program may read and write, and how.
    pub struct Fs {
        /// Master switch.
        enabled: bool,
        /// Directories readable beneath (relative to the project root, or absolute); at most 128.
        read_roots: Vec<String>,
        /// Directories writable beneath; at most 128.
        write_roots: Vec<String>,
        /// Deny any path component that starts with `.`.
        deny_hidden: bool,
        /// Follow symbolic links beneath a root.
        allow_symlinks: bool = false,
        /// Create directories under write roots.
        allow_mkdir: bool = false,
        /// Remove files and directories under write roots.
        allow_remove: bool = false,
        /// Rename under write roots.
        allow_rename: bool = false,
        /// List directories recursively.
        allow_walk: bool = false,
        /// Match glob patterns.
        allow_glob: bool = false,
        /// Largest file read, in bytes (absent: 16 MiB; 0 means nothing may be read).
        max_read_bytes: u32 = DEFAULT_FS_MAX_BYTES,
        /// Largest file written, in bytes (absent: 16 MiB; 0 means nothing may be written).
        max_write_bytes: u32 = DEFAULT_FS_MAX_BYTES,
        /// Most directory entries one listing returns (absent: 10000).
        max_entries: u32 = DEFAULT_FS_MAX_ENTRIES,
        /// Deepest recursion of a walk (absent: 64).
        max_depth: u32 = DEFAULT_FS_MAX_DEPTH,
    }
}

policy_section! {
    /// `env`: which environment variables the program may read.
    pub struct Env {
        /// Master switch.
        enabled: bool,
        /// Keys that may be read (exact match).
        allow_keys: Vec<String>,
        /// Keys that may never be read; wins over `allow_keys`.
        deny_keys: Vec<String>,
    }
}

policy_section! {
    /// `time`: clocks and sleeping.
    pub struct Time {
        /// Master switch.
        enabled: bool,
        /// Read the monotonic clock.
        allow_monotonic: bool,
        /// Read the wall clock.
        allow_wall_clock: bool,
        /// Sleep.
        allow_sleep: bool,
        /// Longest single sleep in milliseconds (at most 86400000).
        max_sleep_ms: u32,
        /// Read the local time-zone id.
        allow_local_tzid: bool,
    }
}

policy_section! {
    /// `language`: compile-time gates.
    #[derive(Default)]
    pub struct Language {
        /// Allow `unsafe` blocks.
        allow_unsafe: bool = false,
        /// Allow `extern` (C FFI) declarations.
        allow_ffi: bool = false,
    }
}

policy_section! {
    /// `threads`: the worker pool for blocking operations.
    pub struct Threads {
        /// Master switch.
        enabled: bool = true,
        /// Worker threads (0..=256; 0 means the runtime's default).
        max_workers: u32 = 0,
        /// Blocking operations in flight (0..=4096; 0 disables blocking I/O).
        max_blocking: u32 = 4,
        /// Queued tasks (0..=1000000).
        max_queue: u32 = 1024,
    }
}

impl Default for Threads {
    fn default() -> Self {
        Self {
            enabled: true,
            max_workers: 0,
            max_blocking: 4,
            max_queue: 1024,
        }
    }
}
