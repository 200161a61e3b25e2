//! The semantic checks of a policy: ranges, list sizes, string syntax and cross-field rules.
//! Each problem names its field and says what to write instead.

use crate::document::{FieldError, FieldPath};
use crate::policy::net::{MAX_HOSTS, MAX_HOST_BYTES, MAX_PORTS_PER_HOST};
use crate::policy::sections::MIB;
use crate::policy::{Db, Fs, Limits, Net, Policy, Process, Threads, Time, MAX_NOTES_CHARS};

/// Most entries in `fs.read_roots` or `fs.write_roots`.
pub const MAX_ROOTS: usize = 128;
/// Longest path in a root or executable list, in characters.
pub const MAX_PATH_CHARS: usize = 4096;
/// Longest `time.max_sleep_ms` (one day).
pub const MAX_SLEEP_MS: u32 = 86_400_000;

/// Collects problems with the path of the field each one is about.
struct Problems {
    found: Vec<FieldError>,
}

impl Problems {
    fn add(&mut self, field: FieldPath, message: impl Into<String>) {
        self.found.push(FieldError::new(field, message));
    }

    fn range<T: PartialOrd + std::fmt::Display>(
        &mut self,
        field: FieldPath,
        value: T,
        lo: T,
        hi: T,
        unit: &str,
    ) {
        if value < lo || value > hi {
            self.add(
                field,
                format!("{value} is out of range; write a value from {lo} to {hi}{unit}"),
            );
        }
    }

    fn max_len(&mut self, field: &FieldPath, len: usize, max: usize) {
        if len > max {
            self.add(
                field.clone(),
                format!("lists {len} entries; at most {max} are allowed"),
            );
        }
    }
}

/// Which characters a list value must not contain.
#[derive(Clone, Copy)]
enum Strings {
    /// Any non-empty text without `;` (the list separator of the runtime) or NUL.
    Plain,
    /// A path: as `Plain`, at most 4096 characters.
    Path,
    /// An environment key: as `Plain`, without `=`.
    EnvKey,
}

fn check_strings(p: &mut Problems, field: &FieldPath, values: &[String], kind: Strings) {
    for (i, v) in values.iter().enumerate() {
        let at = field.index(i);
        if v.is_empty() {
            p.add(at, "must not be empty");
        } else if v.contains(';') {
            p.add(
                at,
                format!("`{v}` must not contain `;` (it separates list entries at run time)"),
            );
        } else if v.contains('\0') {
            p.add(at, "must not contain a NUL character");
        } else if matches!(kind, Strings::Path) && v.chars().count() > MAX_PATH_CHARS {
            p.add(
                at,
                format!(
                    "is {} characters long; a path may have at most {MAX_PATH_CHARS}",
                    v.chars().count()
                ),
            );
        } else if matches!(kind, Strings::EnvKey) && v.contains('=') {
            p.add(
                at,
                format!("`{v}` is not an environment key: it must not contain `=`"),
            );
        }
    }
}

/// Every problem of `policy`, in field order; empty when the policy is valid.
pub fn problems(policy: &Policy) -> Vec<FieldError> {
    let root = FieldPath::root();
    let mut p = Problems { found: Vec::new() };
    if let Some(notes) = &policy.notes {
        let chars = notes.chars().count();
        if chars > MAX_NOTES_CHARS {
            p.add(
                root.key("notes"),
                format!("has {chars} characters; at most {MAX_NOTES_CHARS} are allowed"),
            );
        }
    }
    limits(&mut p, &root.key("limits"), &policy.limits);
    fs(&mut p, &root.key("fs"), &policy.fs);
    net(&mut p, &root.key("net"), &policy.net);
    if let Some(db) = &policy.db {
        self::db(&mut p, &root.key("db"), db);
    }
    let env = root.key("env");
    check_strings(
        &mut p,
        &env.key("allow_keys"),
        &policy.env.allow_keys,
        Strings::EnvKey,
    );
    check_strings(
        &mut p,
        &env.key("deny_keys"),
        &policy.env.deny_keys,
        Strings::EnvKey,
    );
    time(&mut p, &root.key("time"), &policy.time);
    threads(&mut p, &root.key("threads"), &policy.threads);
    process(&mut p, &root.key("process"), &policy.process);
    p.found
}

fn limits(p: &mut Problems, at: &FieldPath, l: &Limits) {
    p.range(at.key("cpu_ms"), l.cpu_ms, 1, 600_000, " ms");
    p.range(at.key("wall_ms"), l.wall_ms, 1, 600_000, " ms");
    p.range(
        at.key("mem_bytes"),
        l.mem_bytes,
        MIB,
        16 * 1024 * MIB,
        " bytes (1 MiB to 16 GiB)",
    );
    p.range(at.key("fds"), l.fds, 0, 1024, "");
    p.range(at.key("procs"), l.procs, 0, 1024, "");
}

fn fs(p: &mut Problems, at: &FieldPath, fs: &Fs) {
    for (key, roots) in [
        ("read_roots", &fs.read_roots),
        ("write_roots", &fs.write_roots),
    ] {
        let field = at.key(key);
        p.max_len(&field, roots.len(), MAX_ROOTS);
        check_strings(p, &field, roots, Strings::Path);
    }
}

/// Host text: 1 to 255 printable ASCII characters other than `;` (no whitespace or control
/// characters; write internationalised names in their `xn--` form).
pub fn host_problem(host: &str) -> Option<String> {
    if host.is_empty() {
        return Some("must not be empty".to_string());
    }
    if host.len() > MAX_HOST_BYTES {
        return Some(format!(
            "is {} bytes long; a host may have at most {MAX_HOST_BYTES}",
            host.len()
        ));
    }
    if let Some(c) = host.chars().find(|c| *c == ';' || !c.is_ascii_graphic()) {
        return Some(format!(
            "`{}` must not contain {c:?}: a host is printable ASCII without `;` or whitespace (write internationalised names as xn--)",
            host.escape_debug()
        ));
    }
    None
}

fn net(p: &mut Problems, at: &FieldPath, net: &Net) {
    let hosts = at.key("allow_hosts");
    p.max_len(&hosts, net.allow_hosts.len(), MAX_HOSTS);
    for (i, rule) in net.allow_hosts.iter().enumerate() {
        let entry = hosts.index(i);
        if let Some(problem) = host_problem(&rule.host) {
            p.add(entry.key("host"), problem);
        }
        let ports = entry.key("ports");
        if rule.ports.is_empty() {
            p.add(
                ports.clone(),
                "must list at least one port (there is no wildcard; write each port)",
            );
        }
        p.max_len(&ports, rule.ports.len(), MAX_PORTS_PER_HOST);
        for (j, port) in rule.ports.iter().enumerate() {
            if *port == 0 {
                p.add(
                    ports.index(j),
                    "port 0 is not a port; write a value from 1 to 65535",
                );
            }
        }
    }
}

fn db(p: &mut Problems, at: &FieldPath, db: &Db) {
    let d = &db.drivers;
    if db.enabled && !(d.sqlite || d.postgres || d.mysql || d.redis) {
        p.add(at.key("drivers"), "db.enabled is true but no driver is allowed; set one of sqlite, postgres, mysql, redis to true (or disable db)");
    }
    if let Some(sqlite) = &db.sqlite {
        check_strings(
            p,
            &at.key("sqlite").key("allow_paths"),
            &sqlite.allow_paths,
            Strings::Path,
        );
    }
    if let Some(net) = &db.net {
        let n = at.key("net");
        check_strings(p, &n.key("allow_dns"), &net.allow_dns, Strings::Plain);
        check_strings(p, &n.key("allow_cidrs"), &net.allow_cidrs, Strings::Plain);
        for (j, port) in net.allow_ports.iter().enumerate() {
            if *port == 0 {
                p.add(
                    n.key("allow_ports").index(j),
                    "port 0 is not a port; write a value from 1 to 65535",
                );
            }
        }
    }
}

fn time(p: &mut Problems, at: &FieldPath, t: &Time) {
    p.range(
        at.key("max_sleep_ms"),
        t.max_sleep_ms,
        0,
        MAX_SLEEP_MS,
        " ms (one day)",
    );
}

fn threads(p: &mut Problems, at: &FieldPath, t: &Threads) {
    p.range(at.key("max_workers"), t.max_workers, 0, 256, "");
    p.range(at.key("max_blocking"), t.max_blocking, 0, 4096, "");
    p.range(at.key("max_queue"), t.max_queue, 0, 1_000_000, "");
}

fn process(p: &mut Problems, at: &FieldPath, pr: &Process) {
    check_strings(p, &at.key("allow_execs"), &pr.allow_execs, Strings::Path);
    check_strings(
        p,
        &at.key("allow_exec_prefixes"),
        &pr.allow_exec_prefixes,
        Strings::Path,
    );
    check_strings(
        p,
        &at.key("allow_env_keys"),
        &pr.allow_env_keys,
        Strings::EnvKey,
    );
    check_strings(
        p,
        &at.key("allow_cwd_roots"),
        &pr.allow_cwd_roots,
        Strings::Path,
    );
    let patterns = at.key("allow_args_regex_lite");
    check_strings(p, &patterns, &pr.allow_args_regex_lite, Strings::Plain);
    for (i, pattern) in pr.allow_args_regex_lite.iter().enumerate() {
        if let Some(problem) = regex_lite_problem(pattern) {
            p.add(patterns.index(i), problem);
        }
    }
    if pr.allow_spawn {
        if pr.allow_execs.is_empty() && pr.allow_exec_prefixes.is_empty() {
            p.add(at.key("allow_execs"), "allow_spawn is true, so allow_execs or allow_exec_prefixes must list what may be run");
        }
        for (key, value) in [
            ("max_live", pr.max_live),
            ("max_spawns", pr.max_spawns),
            ("max_runtime_ms", pr.max_runtime_ms),
        ] {
            if value == 0 {
                p.add(
                    at.key(key),
                    "must be greater than 0 when allow_spawn is true",
                );
            }
        }
    }
    if pr.allow_cwd && pr.allow_cwd_roots.is_empty() {
        p.add(
            at.key("allow_cwd_roots"),
            "allow_cwd is true, so allow_cwd_roots must list at least one directory",
        );
    }
}

/// Why `pattern` is not a regex-lite pattern (literals, `.`, `\x` escapes, each optionally
/// followed by one `*`), or `None` when it is one.
pub fn regex_lite_problem(pattern: &str) -> Option<String> {
    let bytes = pattern.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'*' => {
                return Some(format!(
                    "`{pattern}`: `*` at byte {i} has nothing to repeat"
                ))
            }
            b'\\' if i + 1 >= bytes.len() => {
                return Some(format!("`{pattern}`: a trailing `\\` escapes nothing"))
            }
            b'\\' => i += 2,
            _ => i += 1,
        }
        if bytes.get(i) == Some(&b'*') {
            i += 1;
        }
    }
    None
}
