//! qemu itself runs confined on the host, as Firecracker's jailer confines firecracker: through
//! x07's trusted launcher (`--plain-exec`) with a policy that lets it read only the image, the
//! files qemu loads (its firmware directory and libraries), the job's state and the shared roots,
//! write only the job's state and the write roots, and reach no network; plus qemu's own
//! `-sandbox on`. The launcher kills qemu when it is killed (parent-death signal, pid namespace).

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::json;
use x07_spec::policy::blob::{AcceptWeaker, BlobBackend, PolicyBlob};
use x07_spec::policy::Policy;

/// Directories qemu reads besides the image and the job (those that exist are granted).
const QEMU_READ: &[&str] = &[
    "/usr/share/qemu",
    "/usr/share/seabios",
    "/usr/lib/ipxe",
    "/usr/share/ipxe",
];

/// What qemu may touch for one boot.
#[derive(Debug)]
pub struct Confinement<'a> {
    /// The qemu binary (canonical).
    pub qemu: &'a Path,
    /// Read-only: the image directory, the read-only shares.
    pub read: Vec<PathBuf>,
    /// Read-write: the job's state directory, the write roots.
    pub write: Vec<PathBuf>,
    /// Guest memory in MiB (qemu's own memory limit is this plus room for itself).
    pub memory_mb: u32,
    /// The boot's wall-clock limit.
    pub limit: Duration,
}

/// The launcher's policy blob for this boot (`x07-launch --plain-exec` runs qemu under it).
pub fn policy_blob(c: &Confinement<'_>) -> Result<Vec<u8>, String> {
    let s = |p: &Path| p.to_string_lossy().into_owned();
    let mut read: Vec<String> = c.read.iter().map(|p| s(p)).collect();
    read.extend(
        QEMU_READ
            .iter()
            .filter(|p| Path::new(p).exists())
            .map(|p| p.to_string()),
    );
    let write: Vec<String> = c.write.iter().map(|p| s(p)).collect();
    let wall_ms = u64::try_from(c.limit.as_millis())
        .unwrap_or(u64::MAX)
        .min(3_600_000)
        + 5_000;
    let mem_bytes = (u64::from(c.memory_mb) + 1024) << 20;
    let policy = json!({
        "schema_version": "x07.run-os-policy@0.1.0",
        "policy_id": "x07.vm.qemu",
        "limits": {"cpu_ms": wall_ms, "wall_ms": wall_ms, "mem_bytes": mem_bytes, "fds": 1024, "procs": 256, "core_dumps": false},
        "fs": {"enabled": true, "read_roots": read, "write_roots": write, "deny_hidden": false, "allow_symlinks": true,
               "allow_mkdir": true, "allow_remove": true, "allow_rename": true, "allow_walk": true, "allow_glob": true,
               "max_read_bytes": 1u32 << 30, "max_write_bytes": 1u32 << 30, "max_entries": 100000, "max_depth": 64},
        "net": {"enabled": false, "allow_dns": false, "allow_tcp": false, "allow_udp": false, "allow_hosts": []},
        "env": {"enabled": false, "allow_keys": [], "deny_keys": []},
        "time": {"enabled": true, "allow_monotonic": true, "allow_wall_clock": true, "allow_sleep": true, "max_sleep_ms": 3600000, "allow_local_tzid": false},
        "language": {"allow_ffi": false, "allow_unsafe": false},
        "process": {"enabled": true, "allow_spawn": false, "allow_exec": true, "allow_exit": true, "allow_execs": [s(c.qemu)],
                    "allow_exec_prefixes": [], "allow_args_regex_lite": [], "allow_env_keys": [],
                    "max_live": 0, "max_spawns": 0, "max_runtime_ms": 0, "max_exe_bytes": 4096, "max_args": 4096,
                    "max_arg_bytes": 65536, "max_env": 64, "max_env_key_bytes": 256, "max_env_val_bytes": 4096,
                    "max_stdout_bytes": 16777216, "max_stderr_bytes": 16777216, "max_total_bytes": 33554432,
                    "max_stdin_bytes": 1048576, "kill_on_drop": true, "kill_tree": true, "allow_cwd": false, "allow_cwd_roots": []}
    });
    let policy =
        Policy::decode(policy).map_err(|e| format!("the qemu policy is not valid: {e}"))?;
    let blob = PolicyBlob::resolve(
        &policy,
        Path::new("/"),
        None,
        BlobBackend::Os,
        // qemu's resources are bounded by rlimits where the host has no writable cgroup tree
        AcceptWeaker::NO_PIDS_CGROUP,
    )
    .map_err(|e| e.to_string())?;
    Ok(blob.to_bytes())
}
