//! PolicyBlob (version 3): the binary form of an effective policy that the C runtime loads at start-up.
//! The layout is defined in docs/internals/sandbox.md ("PolicyBlob"); this module writes it and,
//! for tests and tools, reads it back with the same strictness as the runtime's reader.

mod db;
mod paths;
mod wire;

use std::ffi::OsStr;
use std::path::Path;

use serde::Serialize;

use crate::canonical::CanonicalError;
use crate::digest::Sha256Digest;
use crate::document::{FieldError, FieldPath};
use crate::policy::db::Db;
use crate::policy::net::{HostRule, Net, MAX_HOST_BYTES};
use crate::policy::process::Process;
use crate::policy::sections::{Env, Fs, Limits, Time};
use crate::policy::Policy;
use x07_syscall_filter::FilterNeeds;

pub use db::{canonical_cidr, db_net_on, DB_DEFAULT_LIMITS};
pub use paths::{lexical_absolute, lexical_relative, PathBase, PathResolveError};
pub use wire::BlobDecodeError;
use wire::{Reader, Writer};

/// First four bytes of every blob.
pub const MAGIC: [u8; 4] = *b"X7P1";
/// Last four bytes of every blob.
pub const END: [u8; 4] = *b"X7PE";
/// The layout version this module writes and reads.
pub const VERSION: u32 = 3;
/// The most seccomp programs one blob carries (an intersection of two blobs holds twice as many).
pub const MAX_SYSCALL_FILTERS: usize = 4;
/// The most instructions in one seccomp program (the kernel's BPF_MAXINSNS).
pub const MAX_FILTER_INSNS: usize = 4096;

/// Which enforcement the runtime applies (the `vm` backend never reaches a blob).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum BlobBackend {
    /// In-process checks only.
    None,
    /// In-process checks plus the kernel layer.
    Os,
}

impl BlobBackend {
    /// The layout's code: 0 none, 1 os.
    pub fn code(self) -> u32 {
        match self {
            Self::None => 0,
            Self::Os => 1,
        }
    }
}

/// The gaps of the kernel layer the user accepted to run without (bit flags).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(transparent)]
pub struct AcceptWeaker(u32);

impl AcceptWeaker {
    /// Accept nothing: every kernel mechanism must apply.
    pub const NONE: Self = Self(0);
    /// Run without Landlock network rules when the kernel lacks them.
    pub const NO_LANDLOCK_NET: Self = Self(1);
    /// Run without a pids cgroup (RLIMIT_NPROC only).
    pub const NO_PIDS_CGROUP: Self = Self(2);
    /// Run without Landlock at all.
    pub const NO_LANDLOCK: Self = Self(4);
    /// Run without a user namespace (so without the mount, pid, ipc and uts namespaces and the
    /// fresh root): Landlock, seccomp and rlimits only.
    pub const NO_USERNS: Self = Self(8);
    /// Every gap.
    pub const ALL: Self = Self(15);

    /// The flags from raw bits; `None` when an unknown bit is set.
    pub fn from_bits(bits: u32) -> Option<Self> {
        (bits & !Self::ALL.0 == 0).then_some(Self(bits))
    }

    /// The raw bits.
    pub fn bits(self) -> u32 {
        self.0
    }

    /// Whether every flag of `other` is set.
    pub fn contains(self, other: Self) -> bool {
        self.0 & other.0 == other.0
    }

    /// Both sets of flags.
    pub fn union(self, other: Self) -> Self {
        Self(self.0 | other.0)
    }
}

/// Why a policy cannot be encoded.
#[derive(Debug, thiserror::Error)]
pub enum BlobError {
    /// The policy fails a check of [`Policy::validate`].
    #[error("the policy is not valid: {0}")]
    Invalid(FieldError),
    /// A path cannot be made absolute.
    #[error(transparent)]
    Path(#[from] PathResolveError),
    /// The policy cannot be written as canonical JSON for its digest.
    #[error(transparent)]
    Canonical(#[from] CanonicalError),
    /// The seccomp programs cannot be generated for this machine.
    #[error("cannot generate the seccomp filter: {0}")]
    Filter(#[from] x07_syscall_filter::FilterError),
}

/// The content of a blob: the effective policy's enforced sections with absolute paths.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PolicyBlob {
    /// Enforcement backend.
    pub backend: BlobBackend,
    /// Accepted gaps.
    pub accept_weaker: AcceptWeaker,
    /// sha256 of the JCS of the effective policy (as written, before path resolution).
    pub digest: Sha256Digest,
    /// Resource ceilings.
    pub limits: Limits,
    /// Filesystem rules; roots absolute and normalised.
    pub fs: Fs,
    /// Network rules; hosts lowercase.
    pub net: Net,
    /// Environment rules.
    pub env: Env,
    /// Clock rules.
    pub time: Time,
    /// Process rules; executables, prefixes and cwd roots absolute.
    pub process: Process,
    /// Database rules: always present (`sqlite` and `net` too), limits resolved, SQLite paths
    /// absolute, hosts lowercase, ranges canonical.
    pub db: Db,
    /// Seccomp programs the launcher installs in this order, each raw `struct sock_filter` bytes
    /// (8 per instruction); empty for backend `none`.
    pub syscall_filters: Vec<Vec<u8>>,
}

/// Encodes `policy` for a run whose project root is `project_root` (absolute), looking up bare
/// executable names on this process's `PATH`.
pub fn encode(
    policy: &Policy,
    project_root: &Path,
    backend: BlobBackend,
    accept_weaker: AcceptWeaker,
) -> Result<Vec<u8>, BlobError> {
    let path = std::env::var_os("PATH");
    Ok(PolicyBlob::resolve(
        policy,
        project_root,
        path.as_deref(),
        backend,
        accept_weaker,
    )?
    .to_bytes())
}

/// Parses a blob, rejecting anything that is not exactly a PolicyBlobV1.
pub fn decode(bytes: &[u8]) -> Result<PolicyBlob, BlobDecodeError> {
    PolicyBlob::from_bytes(bytes)
}

impl PolicyBlob {
    /// The blob content of `policy`: validated, paths resolved against `project_root`, bare
    /// executable names looked up on `search_path`; for backend `os` with the seccomp programs
    /// the launcher installs (`x07-syscall-filter`, from what the network section allows).
    pub fn resolve(
        policy: &Policy,
        project_root: &Path,
        search_path: Option<&OsStr>,
        backend: BlobBackend,
        accept_weaker: AcceptWeaker,
    ) -> Result<Self, BlobError> {
        if !project_root.is_absolute() {
            return Err(PathResolveError::RootNotAbsolute(project_root.to_path_buf()).into());
        }
        Self::resolve_at(
            policy,
            PathBase::Dir(project_root),
            search_path,
            backend,
            accept_weaker,
        )
    }

    /// The blob content of `policy` with paths resolved against `base`: [`PolicyBlob::resolve`]
    /// for a project root, or relative paths kept for a sealed bundle's launcher to resolve
    /// against the working directory at start (docs/bundling.md).
    pub fn resolve_at(
        policy: &Policy,
        base: PathBase<'_>,
        search_path: Option<&OsStr>,
        backend: BlobBackend,
        accept_weaker: AcceptWeaker,
    ) -> Result<Self, BlobError> {
        policy.validate().map_err(BlobError::Invalid)?;
        let root = base;
        let fs_at = FieldPath::root().key("fs");
        let proc_at = FieldPath::root().key("process");
        let mut fs = policy.fs.clone();
        fs.read_roots = paths::roots(root, &fs_at.key("read_roots"), &policy.fs.read_roots)?;
        fs.write_roots = paths::roots(root, &fs_at.key("write_roots"), &policy.fs.write_roots)?;
        let mut net = policy.net.clone();
        for rule in &mut net.allow_hosts {
            rule.host.make_ascii_lowercase();
        }
        let p = &policy.process;
        let mut process = p.clone();
        process.allow_execs = paths::execs(
            root,
            search_path,
            &proc_at.key("allow_execs"),
            &p.allow_execs,
        )?;
        process.allow_exec_prefixes = paths::exec_prefixes(
            root,
            &proc_at.key("allow_exec_prefixes"),
            &p.allow_exec_prefixes,
        )?;
        process.allow_cwd_roots =
            paths::roots(root, &proc_at.key("allow_cwd_roots"), &p.allow_cwd_roots)?;
        let db = db::resolve(policy.db.as_ref(), root)?;
        // the network drivers need TCP (and DNS for names) even with `net.enabled` false; the
        // kernel layer opens only the `db.net` ports for them
        let db_net = db_net_on(&db);
        let db_dns = db_net && db.net.as_ref().is_some_and(|n| !n.allow_dns.is_empty());
        let syscall_filters = match backend {
            BlobBackend::Os => x07_syscall_filter::program_filters(&FilterNeeds {
                net: net.enabled || db_net,
                tcp: (net.enabled && net.allow_tcp) || db_net,
                udp: (net.enabled && (net.allow_udp || net.allow_dns)) || db_dns,
            })?,
            BlobBackend::None => Vec::new(),
        };
        Ok(Self {
            backend,
            accept_weaker,
            digest: policy.digest()?,
            limits: policy.limits.clone(),
            fs,
            net,
            env: policy.env.clone(),
            time: policy.time.clone(),
            process,
            db,
            syscall_filters,
        })
    }

    /// The blob bytes, in the order of the layout.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut w = Writer::default();
        w.raw(&MAGIC);
        w.u32(VERSION);
        w.u32(self.backend.code());
        w.u32(self.accept_weaker.bits());
        w.raw(self.digest.as_bytes());

        let l = &self.limits;
        w.u32(l.cpu_ms);
        w.u32(l.wall_ms);
        w.u64(l.mem_bytes);
        w.u32(l.fds);
        w.u32(l.procs);
        w.bool(l.core_dumps);

        let f = &self.fs;
        for flag in [
            f.enabled,
            f.deny_hidden,
            f.allow_symlinks,
            f.allow_mkdir,
            f.allow_remove,
            f.allow_rename,
            f.allow_walk,
            f.allow_glob,
        ] {
            w.bool(flag);
        }
        for cap in [
            f.max_read_bytes,
            f.max_write_bytes,
            f.max_entries,
            f.max_depth,
        ] {
            w.u32(cap);
        }
        w.strs(&f.read_roots);
        w.strs(&f.write_roots);

        let n = &self.net;
        for flag in [n.enabled, n.allow_dns, n.allow_tcp, n.allow_udp] {
            w.bool(flag);
        }
        w.len(n.allow_hosts.len());
        for rule in &n.allow_hosts {
            w.str(&rule.host);
            w.len(rule.ports.len());
            for port in &rule.ports {
                w.u32(u32::from(*port));
            }
        }

        let e = &self.env;
        w.bool(e.enabled);
        w.strs(&e.allow_keys);
        w.strs(&e.deny_keys);

        let t = &self.time;
        for flag in [
            t.enabled,
            t.allow_monotonic,
            t.allow_wall_clock,
            t.allow_sleep,
        ] {
            w.bool(flag);
        }
        w.u32(t.max_sleep_ms);
        w.bool(t.allow_local_tzid);

        let p = &self.process;
        for flag in [p.enabled, p.allow_spawn, p.allow_exec, p.allow_exit] {
            w.bool(flag);
        }
        for cap in [p.max_live, p.max_spawns, p.max_runtime_ms] {
            w.u32(cap);
        }
        w.strs(&p.allow_execs);
        w.strs(&p.allow_exec_prefixes);
        w.strs(&p.allow_args_regex_lite);
        w.strs(&p.allow_env_keys);
        for cap in [
            p.max_exe_bytes,
            p.max_args,
            p.max_arg_bytes,
            p.max_env,
            p.max_env_key_bytes,
            p.max_env_val_bytes,
            p.max_stdout_bytes,
            p.max_stderr_bytes,
            p.max_total_bytes,
            p.max_stdin_bytes,
        ] {
            w.u32(cap);
        }
        w.bool(p.kill_on_drop);
        w.bool(p.kill_tree);
        w.bool(p.allow_cwd);
        w.strs(&p.allow_cwd_roots);

        db::write(&mut w, &self.db);

        w.len(self.syscall_filters.len());
        for filter in &self.syscall_filters {
            w.len(filter.len() / 8);
            w.raw(filter);
        }

        w.raw(&END);
        w.bytes
    }

    /// Parses blob bytes; see [`decode`].
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, BlobDecodeError> {
        let mut r = Reader::new(bytes);
        if r.raw("magic", 4)? != MAGIC {
            return Err(BlobDecodeError {
                field: "magic".into(),
                offset: 0,
                problem: "not \"X7P1\": this is not a policy blob".into(),
            });
        }
        let version = r.u32("version")?;
        if version != VERSION {
            return Err(r.error(
                "version",
                format!("unknown version {version}; this reader knows version {VERSION}"),
            ));
        }
        let backend = match r.u32("backend")? {
            0 => BlobBackend::None,
            1 => BlobBackend::Os,
            other => {
                return Err(r.error(
                    "backend",
                    format!("unknown backend {other}; expected 0 (none) or 1 (os)"),
                ))
            }
        };
        let bits = r.u32("accept_weaker")?;
        let accept_weaker = AcceptWeaker::from_bits(bits).ok_or_else(|| {
            r.error(
                "accept_weaker",
                format!("unknown flag bits in {bits:#x}; known: 1, 2, 4, 8"),
            )
        })?;
        let mut digest = [0u8; 32];
        digest.copy_from_slice(r.raw("digest", 32)?);

        let limits = Limits {
            cpu_ms: r.u32("limits.cpu_ms")?,
            wall_ms: r.u32("limits.wall_ms")?,
            mem_bytes: r.u64("limits.mem_bytes")?,
            fds: r.u32("limits.fds")?,
            procs: r.u32("limits.procs")?,
            core_dumps: r.bool("limits.core_dumps")?,
        };
        let fs = Fs {
            enabled: r.bool("fs.enabled")?,
            deny_hidden: r.bool("fs.deny_hidden")?,
            allow_symlinks: r.bool("fs.allow_symlinks")?,
            allow_mkdir: r.bool("fs.allow_mkdir")?,
            allow_remove: r.bool("fs.allow_remove")?,
            allow_rename: r.bool("fs.allow_rename")?,
            allow_walk: r.bool("fs.allow_walk")?,
            allow_glob: r.bool("fs.allow_glob")?,
            max_read_bytes: r.u32("fs.max_read_bytes")?,
            max_write_bytes: r.u32("fs.max_write_bytes")?,
            max_entries: r.u32("fs.max_entries")?,
            max_depth: r.u32("fs.max_depth")?,
            read_roots: absolute_paths(&mut r, "fs.read_roots")?,
            write_roots: absolute_paths(&mut r, "fs.write_roots")?,
        };
        let net = Net {
            enabled: r.bool("net.enabled")?,
            allow_dns: r.bool("net.allow_dns")?,
            allow_tcp: r.bool("net.allow_tcp")?,
            allow_udp: r.bool("net.allow_udp")?,
            allow_hosts: hosts(&mut r)?,
        };
        let env = Env {
            enabled: r.bool("env.enabled")?,
            allow_keys: env_keys(&mut r, "env.allow_keys")?,
            deny_keys: env_keys(&mut r, "env.deny_keys")?,
        };
        let time = Time {
            enabled: r.bool("time.enabled")?,
            allow_monotonic: r.bool("time.allow_monotonic")?,
            allow_wall_clock: r.bool("time.allow_wall_clock")?,
            allow_sleep: r.bool("time.allow_sleep")?,
            max_sleep_ms: r.u32("time.max_sleep_ms")?,
            allow_local_tzid: r.bool("time.allow_local_tzid")?,
        };
        let process = Process {
            enabled: r.bool("process.enabled")?,
            allow_spawn: r.bool("process.allow_spawn")?,
            allow_exec: r.bool("process.allow_exec")?,
            allow_exit: r.bool("process.allow_exit")?,
            max_live: r.u32("process.max_live")?,
            max_spawns: r.u32("process.max_spawns")?,
            max_runtime_ms: r.u32("process.max_runtime_ms")?,
            allow_execs: absolute_paths(&mut r, "process.allow_execs")?,
            allow_exec_prefixes: absolute_paths(&mut r, "process.allow_exec_prefixes")?,
            allow_args_regex_lite: r.strs("process.allow_args_regex_lite")?,
            allow_env_keys: env_keys(&mut r, "process.allow_env_keys")?,
            max_exe_bytes: r.u32("process.max_exe_bytes")?,
            max_args: r.u32("process.max_args")?,
            max_arg_bytes: r.u32("process.max_arg_bytes")?,
            max_env: r.u32("process.max_env")?,
            max_env_key_bytes: r.u32("process.max_env_key_bytes")?,
            max_env_val_bytes: r.u32("process.max_env_val_bytes")?,
            max_stdout_bytes: r.u32("process.max_stdout_bytes")?,
            max_stderr_bytes: r.u32("process.max_stderr_bytes")?,
            max_total_bytes: r.u32("process.max_total_bytes")?,
            max_stdin_bytes: r.u32("process.max_stdin_bytes")?,
            kill_on_drop: r.bool("process.kill_on_drop")?,
            kill_tree: r.bool("process.kill_tree")?,
            allow_cwd: r.bool("process.allow_cwd")?,
            allow_cwd_roots: absolute_paths(&mut r, "process.allow_cwd_roots")?,
        };
        let db = db::read(&mut r, absolute_paths)?;
        let syscall_filters = filters(&mut r)?;
        if r.raw("end", 4)? != END {
            return Err(BlobDecodeError {
                field: "end".into(),
                offset: r.pos() - 4,
                problem: "not \"X7PE\"".into(),
            });
        }
        if !r.at_end() {
            return Err(r.error(
                "end",
                format!("{} trailing bytes after the end marker", r.remaining()),
            ));
        }
        Ok(Self {
            backend,
            accept_weaker,
            digest: Sha256Digest::from_bytes(digest),
            limits,
            fs,
            net,
            env,
            time,
            process,
            db,
            syscall_filters,
        })
    }
}

/// Whether `path` is absolute without empty, `.` or `..` components or a trailing `/`.
fn is_normal_absolute(path: &str) -> bool {
    path == "/"
        || (path.starts_with('/')
            && path[1..]
                .split('/')
                .all(|c| !c.is_empty() && c != "." && c != ".."))
}

/// A list of strings that must each satisfy `ok`.
fn checked_strs(
    r: &mut Reader<'_>,
    field: &str,
    ok: fn(&str) -> bool,
    what: &str,
) -> Result<Vec<String>, BlobDecodeError> {
    let start = r.pos();
    let items = r.strs(field)?;
    match items.iter().position(|s| !ok(s)) {
        None => Ok(items),
        Some(i) => Err(BlobDecodeError {
            field: format!("{field}[{i}]"),
            offset: start,
            problem: format!("`{}` is not {what}", items[i].escape_debug()),
        }),
    }
}

/// `seccomp`: up to [`MAX_SYSCALL_FILTERS`] programs of 1 to [`MAX_FILTER_INSNS`] instructions.
fn filters(r: &mut Reader<'_>) -> Result<Vec<Vec<u8>>, BlobDecodeError> {
    let n = r.count("seccomp", 4)?;
    if n > MAX_SYSCALL_FILTERS {
        return Err(r.error(
            "seccomp",
            format!("{n} seccomp programs; at most {MAX_SYSCALL_FILTERS}"),
        ));
    }
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let field = format!("seccomp[{i}]");
        let count = r.count(&field, 8)?;
        if count == 0 || count > MAX_FILTER_INSNS {
            return Err(r.error(
                &field,
                format!("{count} instructions; a program has 1 to {MAX_FILTER_INSNS}"),
            ));
        }
        out.push(r.raw(&field, count * 8)?.to_vec());
    }
    Ok(out)
}

/// A list of absolute, normalised paths.
fn absolute_paths(r: &mut Reader<'_>, field: &str) -> Result<Vec<String>, BlobDecodeError> {
    checked_strs(
        r,
        field,
        is_normal_absolute,
        "an absolute path without empty, `.` or `..` components or a trailing `/`",
    )
}

/// A list of environment keys: non-empty, without `=`.
fn env_keys(r: &mut Reader<'_>, field: &str) -> Result<Vec<String>, BlobDecodeError> {
    checked_strs(
        r,
        field,
        |k| !k.is_empty() && !k.contains('='),
        "an environment key (non-empty, no `=`)",
    )
}

/// `net.hosts`: each a lowercase host and 1..=65535 ports.
fn hosts(r: &mut Reader<'_>) -> Result<Vec<HostRule>, BlobDecodeError> {
    let n = r.count("net.hosts", 8)?;
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let field = format!("net.hosts[{i}]");
        let host = r.str(&format!("{field}.host"))?;
        let bad_byte = host
            .bytes()
            .any(|b| b.is_ascii_uppercase() || b.is_ascii_whitespace() || b == b';');
        if host.is_empty() || host.len() > MAX_HOST_BYTES || bad_byte {
            return Err(r.error(
                &format!("{field}.host"),
                format!(
                    "`{}` must be 1 to 255 bytes, lowercase, without spaces or `;`",
                    host.escape_debug()
                ),
            ));
        }
        let count = r.count(&format!("{field}.ports"), 4)?;
        if count == 0 {
            return Err(r.error(&format!("{field}.ports"), "a host needs at least one port"));
        }
        let mut ports = Vec::with_capacity(count);
        for j in 0..count {
            let at = format!("{field}.ports[{j}]");
            let port = r.u32(&at)?;
            match u16::try_from(port) {
                Ok(p) if p != 0 => ports.push(p),
                _ => return Err(r.error(&at, format!("{port} is not a port (1..65535)"))),
            }
        }
        out.push(HostRule { host, ports });
    }
    Ok(out)
}
