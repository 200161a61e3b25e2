//! The sandbox the C compiler runs in (docs/internals/sandbox.md, "Sandboxed builds"), like
//! Nix's build sandbox: the same launcher and kernel layer as a sandboxed run, with a policy that
//! lets the compiler read only the toolchain, the system headers and libraries, and the build's
//! declared inputs (the packages' `ffi/` directories, whose files are hashed into the
//! derivation), write only the build's own temporary directory, and reach no network. An
//! `#include` or `.incbin` of any other path fails the build.

use std::path::{Path, PathBuf};

use serde_json::json;
use x07_spec::policy::blob::{AcceptWeaker, BlobBackend, PolicyBlob};
use x07_spec::policy::Policy;

use super::CcError;

/// Directories the toolchain reads (those that exist on this host are granted).
const TOOLCHAIN_READ: &[&str] = &[
    "/usr/include",
    "/usr/local/include",
    "/usr/lib",
    "/usr/lib64",
    "/usr/libexec",
    "/usr/share/gcc",
];
/// Directories whose programs the compiler driver may start (cc1, as, collect2, ld).
const TOOLCHAIN_EXEC: &[&str] = &["/usr/bin", "/usr/lib/gcc", "/usr/libexec/gcc"];

/// One sandboxed compiler invocation: the launcher, the policy blob and the build directory.
#[derive(Debug)]
pub struct BuildSandbox {
    /// The trusted launcher.
    pub launcher: PathBuf,
    /// The encoded build policy.
    pub blob: Vec<u8>,
    /// The only directory the compiler may write (also its TMPDIR).
    pub dir: tempfile::TempDir,
}

impl BuildSandbox {
    /// A sandbox whose declared inputs are `input_dirs`, writing into a fresh directory.
    pub fn new(launcher: &Path, input_dirs: &[PathBuf]) -> Result<Self, CcError> {
        fn io<'a>(
            action: &'static str,
            path: &'a Path,
        ) -> impl FnOnce(std::io::Error) -> CcError + 'a {
            move |source| CcError::Io {
                action,
                path: path.to_path_buf(),
                source,
            }
        }
        let tmp = std::env::temp_dir();
        let dir = tempfile::Builder::new()
            .prefix("x07-cc-")
            .tempdir_in(&tmp)
            .map_err(io("create", &tmp))?;
        let existing = |list: &[&str]| -> Vec<String> {
            list.iter()
                .filter(|p| Path::new(p).exists())
                .map(|p| p.to_string())
                .collect()
        };
        let mut read_roots = existing(TOOLCHAIN_READ);
        for d in input_dirs {
            let d = std::path::absolute(d).map_err(io("resolve", d))?;
            read_roots.push(d.to_string_lossy().into_owned());
        }
        let write = dir.path().to_string_lossy().into_owned();
        let policy = json!({
            "schema_version": "x07.run-os-policy@0.1.0",
            "policy_id": "x07.build.cc",
            "limits": {"cpu_ms": 600000, "wall_ms": 600000, "mem_bytes": 4u64 << 30, "fds": 1024, "procs": 64, "core_dumps": false},
            "fs": {"enabled": true, "read_roots": read_roots, "write_roots": [write], "deny_hidden": false, "allow_symlinks": true,
                   "allow_mkdir": true, "allow_remove": true, "allow_rename": true, "allow_walk": true, "allow_glob": true,
                   "max_read_bytes": 1u32 << 30, "max_write_bytes": 1u32 << 30, "max_entries": 100000, "max_depth": 64},
            "net": {"enabled": false, "allow_dns": false, "allow_tcp": false, "allow_udp": false, "allow_hosts": []},
            "env": {"enabled": true, "allow_keys": ["PATH", "LC_ALL", "SOURCE_DATE_EPOCH", "TMPDIR"], "deny_keys": []},
            "time": {"enabled": true, "allow_monotonic": true, "allow_wall_clock": true, "allow_sleep": true, "max_sleep_ms": 600000, "allow_local_tzid": false},
            "language": {"allow_ffi": false, "allow_unsafe": false},
            "process": {"enabled": true, "allow_spawn": true, "allow_exec": true, "allow_exit": true, "allow_execs": [],
                        "allow_exec_prefixes": existing(TOOLCHAIN_EXEC), "allow_args_regex_lite": [], "allow_env_keys": [],
                        "max_live": 16, "max_spawns": 64, "max_runtime_ms": 600000, "max_exe_bytes": 4096, "max_args": 4096,
                        "max_arg_bytes": 65536, "max_env": 64, "max_env_key_bytes": 256, "max_env_val_bytes": 4096,
                        "max_stdout_bytes": 16777216, "max_stderr_bytes": 16777216, "max_total_bytes": 33554432,
                        "max_stdin_bytes": 268435456, "kill_on_drop": true, "kill_tree": true, "allow_cwd": false, "allow_cwd_roots": []}
        });
        let invalid = |why: String| CcError::Sandbox { why };
        let policy = Policy::decode(policy)
            .map_err(|e| invalid(format!("the build policy is not valid: {e}")))?;
        let blob = PolicyBlob::resolve(
            &policy,
            dir.path(),
            None,
            BlobBackend::Os,
            // the cgroup bounds a build's resources, not what it can reach: RLIMIT_NPROC and
            // RLIMIT_AS stand in where the host has no writable cgroup hierarchy
            AcceptWeaker::NO_PIDS_CGROUP,
        )
        .map_err(|e| invalid(e.to_string()))?;
        Ok(Self {
            launcher: launcher.to_path_buf(),
            blob: blob.to_bytes(),
            dir,
        })
    }

    /// Where the compiler writes `name`.
    pub fn output(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
}
