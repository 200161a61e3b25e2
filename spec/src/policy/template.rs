//! The eight base policies of `x07 policy init --template T` (policy id `sandbox.<T>.base`).

use std::fmt;
use std::str::FromStr;

use crate::policy::db::{Db, DbDrivers, DbNet, DbSqlite};
use crate::policy::net::Net;
use crate::policy::process::Process;
use crate::policy::sections::{Env, Fs, Language, Limits, Threads, Time, MIB};
use crate::policy::{Policy, PolicyId, PolicySchemaVersion};

/// A starting point for a base policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Template {
    /// Local command-line tools: read the project, write `out/`, no network.
    Cli,
    /// Outbound HTTP(S) clients: DNS and TCP on, no hosts until `--allow-host`.
    HttpClient,
    /// Web services: like http-client, longer wall time, `PORT`/`HOST`/`LOG_LEVEL` readable.
    WebService,
    /// Formatters and generators: write `src/` and `out/`, large trees.
    FsTool,
    /// Local SQLite apps: one database file `out/app.sqlite` (and in-memory databases).
    SqliteApp,
    /// PostgreSQL clients: the driver on, its allowlists empty, TLS required.
    PostgresClient,
    /// Compute workers: no filesystem, network or environment; bounded sleep.
    Worker,
    /// Compute workers that run helper processes from `deps/x07/`.
    WorkerParallel,
}

/// A template name that is not one of the eight.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown policy template `{0}`; expected one of: {names}", names = Template::NAMES.join(", "))]
pub struct UnknownTemplate(pub String);

impl Template {
    /// Every template, in the order of the documentation.
    pub const ALL: [Template; 8] = [
        Template::Cli,
        Template::HttpClient,
        Template::WebService,
        Template::FsTool,
        Template::SqliteApp,
        Template::PostgresClient,
        Template::Worker,
        Template::WorkerParallel,
    ];

    /// Every template name, in the order of [`Template::ALL`].
    pub const NAMES: [&'static str; 8] = [
        "cli",
        "http-client",
        "web-service",
        "fs-tool",
        "sqlite-app",
        "postgres-client",
        "worker",
        "worker-parallel",
    ];

    /// The name used on the command line and in file names.
    pub fn as_str(self) -> &'static str {
        Self::NAMES[self as usize]
    }

    /// `sandbox.<name>.base`.
    pub fn policy_id(self) -> PolicyId {
        PolicyId::new(format!("sandbox.{}.base", self.as_str())).expect("template ids are valid")
    }

    /// Where `x07 policy init` writes it, relative to the project root.
    pub fn default_rel_path(self) -> String {
        format!(
            ".x07/policies/base/{}.sandbox.base.policy.json",
            self.as_str()
        )
    }

    /// The base policy.
    pub fn policy(self) -> Policy {
        use Template::*;
        let policy = |notes: &str, limits, fs, net, db, env, time, language, process| Policy {
            schema_version: PolicySchemaVersion,
            policy_id: self.policy_id(),
            notes: Some(notes.to_string()),
            limits,
            fs,
            net,
            db,
            env,
            time,
            language,
            threads: Threads::default(),
            process,
        };
        match self {
            Cli => policy(
                "Local command-line tool: reads the project tree, writes under out/, no network.",
                limits(60_000, 120_000, 512 * MIB, 128, 16),
                project_fs(&["out"], true, [64, 64], 50_000, 64),
                net_off(),
                None,
                env_off(),
                clocks(true, None),
                SAFE,
                no_spawn(),
            ),
            HttpClient => policy(
                "Outbound HTTP(S) client: DNS and TCP are on but net.allow_hosts is empty; name each destination with `x07 run --allow-host HOST:PORT`.",
                limits(180_000, 300_000, 1024 * MIB, 256, 32),
                project_fs(&["out"], false, [64, 256], 20_000, 32),
                net_tcp(),
                None,
                env_off(),
                clocks(true, Some(5_000)),
                NATIVE,
                no_spawn(),
            ),
            WebService => policy(
                "Web service: DNS and TCP are on but net.allow_hosts is empty (allow listen and connect targets with `x07 run --allow-host`); reads PORT, HOST and LOG_LEVEL.",
                limits(180_000, 600_000, 1024 * MIB, 512, 64),
                project_fs(&["out"], true, [64, 128], 50_000, 64),
                net_tcp(),
                None,
                Env { enabled: true, allow_keys: strings(&["PORT", "HOST", "LOG_LEVEL"]), deny_keys: Vec::new() },
                clocks(true, Some(1_000)),
                NATIVE,
                no_spawn(),
            ),
            FsTool => policy(
                "Filesystem tool (formatter, generator): reads the project tree, writes under src/ and out/, no network.",
                limits(90_000, 180_000, 512 * MIB, 256, 16),
                project_fs(&["src", "out"], true, [256, 256], 200_000, 128),
                net_off(),
                None,
                env_off(),
                clocks(true, None),
                SAFE,
                no_spawn(),
            ),
            SqliteApp => policy(
                "Local SQLite app: one database file, out/app.sqlite (in-memory databases too), no network.",
                limits(120_000, 300_000, 1024 * MIB, 256, 32),
                project_fs(&["out"], true, [128, 256], 100_000, 64),
                net_off(),
                Some(Db {
                    sqlite: Some(DbSqlite {
                        allow_paths: strings(&["out/app.sqlite"]),
                        readonly_only: false,
                        allow_create: true,
                        allow_in_memory: true,
                    }),
                    ..db(DbDrivers { sqlite: true, postgres: false, mysql: false, redis: false }, 2_000)
                }),
                env_off(),
                clocks(true, None),
                NATIVE,
                no_spawn(),
            ),
            PostgresClient => policy(
                "PostgreSQL client: general networking is off; the postgres driver is on with empty db.net allowlists (add hosts, ranges and ports there); TLS with verification is required.",
                limits(120_000, 300_000, 1024 * MIB, 256, 32),
                project_fs(&["out"], true, [64, 64], 50_000, 64),
                net_off(),
                Some(Db {
                    net: Some(DbNet {
                        allow_dns: Vec::new(),
                        allow_cidrs: Vec::new(),
                        allow_ports: Vec::new(),
                        require_tls: true,
                        require_verify: true,
                    }),
                    ..db(DbDrivers { sqlite: false, postgres: true, mysql: false, redis: false }, 5_000)
                }),
                env_off(),
                clocks(true, None),
                NATIVE,
                no_spawn(),
            ),
            Worker => policy(
                "Compute worker: no filesystem, network or environment; monotonic clock and sleeps of up to 5 s for backoff.",
                limits(300_000, 300_000, 1024 * MIB, 64, 16),
                fs_off(),
                net_off(),
                None,
                env_off(),
                clocks(false, Some(5_000)),
                SAFE,
                no_spawn(),
            ),
            WorkerParallel => policy(
                "Compute worker that runs helper processes: as worker, plus spawning executables under deps/x07/ (16 at once, 64 in all, 60 s each).",
                limits(300_000, 300_000, 1024 * MIB, 128, 1024),
                fs_off(),
                net_off(),
                None,
                env_off(),
                clocks(false, Some(5_000)),
                SAFE,
                Process {
                    allow_spawn: true,
                    allow_exec: true,
                    max_live: 16,
                    max_spawns: 64,
                    max_runtime_ms: 60_000,
                    allow_exec_prefixes: strings(&["deps/x07/"]),
                    ..no_spawn()
                },
            ),
        }
    }
}

impl FromStr for Template {
    type Err = UnknownTemplate;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|t| t.as_str() == s)
            .ok_or_else(|| UnknownTemplate(s.to_string()))
    }
}

impl fmt::Display for Template {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

const SAFE: Language = Language {
    allow_unsafe: false,
    allow_ffi: false,
};
/// The native networking and database packages need FFI.
const NATIVE: Language = Language {
    allow_unsafe: true,
    allow_ffi: true,
};

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

fn limits(cpu_ms: u32, wall_ms: u32, mem_bytes: u64, fds: u32, procs: u32) -> Limits {
    Limits {
        cpu_ms,
        wall_ms,
        mem_bytes,
        fds,
        procs,
        core_dumps: false,
    }
}

/// Reads `.`, writes `write_roots`; mkdir, rename and walk on; remove and symlinks off.
/// `max_mib` is `[read, write]` in MiB.
fn project_fs(
    write_roots: &[&str],
    allow_glob: bool,
    max_mib: [u32; 2],
    max_entries: u32,
    max_depth: u32,
) -> Fs {
    Fs {
        enabled: true,
        read_roots: strings(&["."]),
        write_roots: strings(write_roots),
        deny_hidden: true,
        allow_symlinks: false,
        allow_mkdir: true,
        allow_remove: false,
        allow_rename: true,
        allow_walk: true,
        allow_glob,
        max_read_bytes: max_mib[0] * 1024 * 1024,
        max_write_bytes: max_mib[1] * 1024 * 1024,
        max_entries,
        max_depth,
    }
}

fn fs_off() -> Fs {
    Fs {
        enabled: false,
        read_roots: Vec::new(),
        write_roots: Vec::new(),
        deny_hidden: true,
        allow_symlinks: false,
        allow_mkdir: false,
        allow_remove: false,
        allow_rename: false,
        allow_walk: false,
        allow_glob: false,
        max_read_bytes: 0,
        max_write_bytes: 0,
        max_entries: 0,
        max_depth: 0,
    }
}

fn net_off() -> Net {
    Net {
        enabled: false,
        allow_dns: false,
        allow_tcp: false,
        allow_udp: false,
        allow_hosts: Vec::new(),
    }
}

fn net_tcp() -> Net {
    Net {
        enabled: true,
        allow_dns: true,
        allow_tcp: true,
        allow_udp: false,
        allow_hosts: Vec::new(),
    }
}

fn env_off() -> Env {
    Env {
        enabled: false,
        allow_keys: Vec::new(),
        deny_keys: Vec::new(),
    }
}

/// Time on, the monotonic clock readable; sleeping up to `sleep_ms` when given.
fn clocks(wall_clock: bool, sleep_ms: Option<u32>) -> Time {
    Time {
        enabled: true,
        allow_monotonic: true,
        allow_wall_clock: wall_clock,
        allow_sleep: sleep_ms.is_some(),
        max_sleep_ms: sleep_ms.unwrap_or(0),
        allow_local_tzid: false,
    }
}

fn db(drivers: DbDrivers, connect_timeout_ms: u32) -> Db {
    Db {
        enabled: true,
        drivers,
        max_live_conns: 8,
        max_queries: 10_000,
        connect_timeout_ms,
        query_timeout_ms: 30_000,
        max_sql_bytes: 1024 * 1024,
        max_rows: 100_000,
        max_resp_bytes: 16 * 1024 * 1024,
        sqlite: None,
        net: None,
    }
}

/// Process on, spawn and exec off, exit allowed; child caps 10 MiB stdout and stderr, 16 MiB in
/// all, 1 MiB stdin.
fn no_spawn() -> Process {
    Process {
        enabled: true,
        allow_spawn: false,
        max_live: 0,
        max_spawns: 0,
        allow_exec: false,
        allow_exit: true,
        allow_execs: Vec::new(),
        allow_exec_prefixes: Vec::new(),
        allow_args_regex_lite: Vec::new(),
        allow_env_keys: Vec::new(),
        max_exe_bytes: 4096,
        max_args: 64,
        max_arg_bytes: 4096,
        max_env: 64,
        max_env_key_bytes: 256,
        max_env_val_bytes: 4096,
        max_runtime_ms: 0,
        max_stdout_bytes: 10 * 1024 * 1024,
        max_stderr_bytes: 10 * 1024 * 1024,
        max_total_bytes: 16 * 1024 * 1024,
        max_stdin_bytes: 1024 * 1024,
        kill_on_drop: true,
        kill_tree: true,
        allow_cwd: false,
        allow_cwd_roots: Vec::new(),
    }
}
