//! The policy override flags of `x07 run` and how they merge into a base policy
//! (run-policy.md §3 "Overrides"):
//!
//! - host flags need `net.enabled` and `net.allow_tcp`; root flags need `fs.enabled`;
//! - hosts are lowercased and ports unioned per host; base entries keep their order and new hosts
//!   are appended in the order they were first named (host files before flags);
//! - deny wins: `HOST:*` drops the host, a port list removes those ports, a host left without
//!   ports is dropped;
//! - `net.allow_dns` is turned on when a host added by an allow spec is a DNS name;
//! - roots are appended unless already listed;
//! - the result keeps the limits: 64 ports per host, 256 hosts, 128 roots per list.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde::Serialize;
use x07_spec::document::FieldError;
use x07_spec::policy::net::{MAX_HOSTS, MAX_PORTS_PER_HOST};
use x07_spec::policy::validate::{MAX_PATH_CHARS, MAX_ROOTS};
use x07_spec::policy::{HostRule, Policy};

use crate::policy::host_spec::{
    parse_allow, parse_deny, read_host_file, DenyPorts, Host, HostFileError, HostSpecError,
};

/// The override flags as given on the command line (all repeatable).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PolicyOverrides {
    /// `--allow-host HOST:PORT[,PORT...]`.
    pub allow_hosts: Vec<String>,
    /// `--allow-host-file PATH` (relative to the project root).
    pub allow_host_files: Vec<PathBuf>,
    /// `--deny-host HOST:*|HOST:PORT[,PORT...]`.
    pub deny_hosts: Vec<String>,
    /// `--deny-host-file PATH` (relative to the project root).
    pub deny_host_files: Vec<PathBuf>,
    /// `--allow-read-root PATH` (as written into the policy: relative to the project root).
    pub allow_read_roots: Vec<String>,
    /// `--allow-write-root PATH`.
    pub allow_write_roots: Vec<String>,
}

/// Why overrides cannot be applied.
#[derive(Debug, thiserror::Error)]
pub enum OverrideError {
    /// A host spec is malformed.
    #[error("{flag} {source}")]
    HostSpec {
        /// The flag, or `<file>:<line>` for a host file line.
        flag: String,
        /// What is wrong.
        source: HostSpecError,
    },
    /// A host file cannot be read.
    #[error(transparent)]
    HostFile(#[from] HostFileError),
    /// A root is malformed.
    #[error("{flag} `{}`: {problem}", .root.escape_debug())]
    Root {
        /// `--allow-read-root` or `--allow-write-root`.
        flag: &'static str,
        /// The root as given.
        root: String,
        /// What is wrong.
        problem: String,
    },
    /// Host flags against a base policy whose networking is off.
    #[error("{flags} need networking, but base policy `{policy_id}` has net.enabled=false; start from a net-enabled base (e.g. `x07 policy init --template http-client`) or set net.enabled in the base policy")]
    NetDisabled {
        /// The host flags given.
        flags: String,
        /// The base policy.
        policy_id: String,
    },
    /// Host flags against a base policy that forbids TCP.
    #[error("{flags} need TCP, but base policy `{policy_id}` has net.allow_tcp=false; set net.allow_tcp in the base policy")]
    TcpDisabled {
        /// The host flags given.
        flags: String,
        /// The base policy.
        policy_id: String,
    },
    /// Root flags against a base policy whose filesystem access is off.
    #[error("{flags} need filesystem access, but base policy `{policy_id}` has fs.enabled=false; set fs.enabled in the base policy")]
    FsDisabled {
        /// The root flags given.
        flags: String,
        /// The base policy.
        policy_id: String,
    },
    /// The merged policy would list too many ports, hosts or roots.
    #[error("after the overrides, {what} would hold {count} entries; at most {max} are allowed")]
    TooMany {
        /// What overflows, e.g. `net.allow_hosts` or the ports of `example.com`.
        what: String,
        /// How many it would hold.
        count: usize,
        /// The limit.
        max: usize,
    },
    /// The merged policy fails a policy check (a bug if the base was valid).
    #[error("the policy derived with the overrides is not valid: {0}")]
    Invalid(FieldError),
}

impl OverrideError {
    /// The diagnostic code (docs/diagnostics.md).
    pub fn code(&self) -> &'static str {
        match self {
            Self::HostSpec { .. } => "X07-POLICY-0005",
            Self::HostFile(_) => "X07-POLICY-0006",
            Self::Root { .. } => "X07-POLICY-0007",
            Self::NetDisabled { .. } | Self::TcpDisabled { .. } | Self::FsDisabled { .. } => {
                "X07-POLICY-0008"
            }
            Self::TooMany { .. } => "X07-POLICY-0009",
            Self::Invalid(_) => "X07-POLICY-SCHEMA-0001",
        }
    }

    /// The exit code of `x07 run`.
    pub fn exit_code(&self) -> u8 {
        match self {
            Self::Invalid(_) => 3,
            _ => 2,
        }
    }
}

/// Overrides parsed and merged among themselves: what the derived policy's hash covers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NormalizedOverrides {
    /// Allowed hosts in the order first named, with their ports.
    pub allow: Vec<(Host, BTreeSet<u16>)>,
    /// Denied hosts in the order first named.
    pub deny: Vec<(Host, DenyPorts)>,
    /// Read roots to add, in order, without duplicates.
    pub read_roots: Vec<String>,
    /// Write roots to add, in order, without duplicates.
    pub write_roots: Vec<String>,
}

impl PolicyOverrides {
    /// Whether no override flag was given.
    pub fn is_empty(&self) -> bool {
        self == &Self::default()
    }

    fn host_flags(&self) -> Vec<&'static str> {
        let named = [
            ("--allow-host", !self.allow_hosts.is_empty()),
            ("--allow-host-file", !self.allow_host_files.is_empty()),
            ("--deny-host", !self.deny_hosts.is_empty()),
            ("--deny-host-file", !self.deny_host_files.is_empty()),
        ];
        named
            .into_iter()
            .filter(|(_, given)| *given)
            .map(|(f, _)| f)
            .collect()
    }

    fn root_flags(&self) -> Vec<&'static str> {
        let named = [
            ("--allow-read-root", !self.allow_read_roots.is_empty()),
            ("--allow-write-root", !self.allow_write_roots.is_empty()),
        ];
        named
            .into_iter()
            .filter(|(_, given)| *given)
            .map(|(f, _)| f)
            .collect()
    }

    /// Checks that `base` allows what the given flags extend.
    pub fn check_preconditions(&self, base: &Policy) -> Result<(), OverrideError> {
        let policy_id = base.policy_id.to_string();
        let host_flags = self.host_flags();
        if !host_flags.is_empty() {
            let flags = host_flags.join("/");
            if !base.net.enabled {
                return Err(OverrideError::NetDisabled { flags, policy_id });
            }
            if !base.net.allow_tcp {
                return Err(OverrideError::TcpDisabled { flags, policy_id });
            }
        }
        let root_flags = self.root_flags();
        if !root_flags.is_empty() && !base.fs.enabled {
            return Err(OverrideError::FsDisabled {
                flags: root_flags.join("/"),
                policy_id,
            });
        }
        Ok(())
    }

    /// Parses every spec, reading host files relative to `project_root`, and merges them:
    /// ports unioned per host, a `*` deny absorbing port denies, roots de-duplicated.
    pub fn normalize(&self, project_root: &Path) -> Result<NormalizedOverrides, OverrideError> {
        let mut allow: Vec<(Host, BTreeSet<u16>)> = Vec::new();
        let mut add_allow = |flag: String, spec: &str| -> Result<(), OverrideError> {
            let parsed =
                parse_allow(spec).map_err(|source| OverrideError::HostSpec { flag, source })?;
            match allow.iter_mut().find(|(h, _)| *h == parsed.host) {
                Some((_, ports)) => ports.extend(parsed.ports),
                None => allow.push((parsed.host, parsed.ports)),
            }
            Ok(())
        };
        for file in &self.allow_host_files {
            let path = project_root.join(file);
            for line in read_host_file(&path)? {
                add_allow(format!("{}:{}:", path.display(), line.line), &line.spec)?;
            }
        }
        for spec in &self.allow_hosts {
            add_allow("--allow-host".into(), spec)?;
        }

        let mut deny: Vec<(Host, DenyPorts)> = Vec::new();
        let mut add_deny = |flag: String, spec: &str| -> Result<(), OverrideError> {
            let parsed =
                parse_deny(spec).map_err(|source| OverrideError::HostSpec { flag, source })?;
            match deny.iter_mut().find(|(h, _)| *h == parsed.host) {
                None => deny.push((parsed.host, parsed.ports)),
                Some((_, existing)) => match (existing, parsed.ports) {
                    (DenyPorts::All, _) => {}
                    (existing, DenyPorts::All) => *existing = DenyPorts::All,
                    (DenyPorts::Some(old), DenyPorts::Some(new)) => old.extend(new),
                },
            }
            Ok(())
        };
        for file in &self.deny_host_files {
            let path = project_root.join(file);
            for line in read_host_file(&path)? {
                add_deny(format!("{}:{}:", path.display(), line.line), &line.spec)?;
            }
        }
        for spec in &self.deny_hosts {
            add_deny("--deny-host".into(), spec)?;
        }

        Ok(NormalizedOverrides {
            allow,
            deny,
            read_roots: normalize_roots("--allow-read-root", &self.allow_read_roots)?,
            write_roots: normalize_roots("--allow-write-root", &self.allow_write_roots)?,
        })
    }
}

/// Root text as compared for de-duplication: without a trailing `/` (except `/` itself).
fn root_key(root: &str) -> &str {
    match root.strip_suffix('/') {
        Some(stripped) if !stripped.is_empty() => stripped,
        _ => root,
    }
}

fn normalize_roots(flag: &'static str, roots: &[String]) -> Result<Vec<String>, OverrideError> {
    let mut out: Vec<String> = Vec::new();
    for root in roots {
        let problem = if root.is_empty() {
            Some("a root must not be empty (write `.` for the project root)".to_string())
        } else if let Some(c) = root.chars().find(|c| *c == ';' || c.is_control()) {
            Some(format!(
                "must not contain {c:?} (no `;` or control characters)"
            ))
        } else if root.chars().count() > MAX_PATH_CHARS {
            Some(format!("is longer than {MAX_PATH_CHARS} characters"))
        } else {
            None
        };
        if let Some(problem) = problem {
            return Err(OverrideError::Root {
                flag,
                root: root.clone(),
                problem,
            });
        }
        let key = root_key(root);
        if !out.iter().any(|r| r == key) {
            out.push(key.to_string());
        }
    }
    Ok(out)
}

/// The hashed form: allow hosts sorted by host, deny hosts sorted, roots sorted.
#[derive(Serialize)]
struct HashedOverrides<'a> {
    allow_hosts: Vec<HashedAllow<'a>>,
    deny_hosts: Vec<HashedDeny<'a>>,
    allow_read_roots: BTreeSet<&'a str>,
    allow_write_roots: BTreeSet<&'a str>,
}

#[derive(Serialize)]
struct HashedAllow<'a> {
    host: &'a Host,
    ports: &'a BTreeSet<u16>,
}

#[derive(Serialize)]
struct HashedDeny<'a> {
    host: &'a Host,
    all_ports: bool,
    ports: Vec<u16>,
}

impl NormalizedOverrides {
    /// The canonical JSON (JCS) of the overrides in an order-independent form.
    pub fn canonical_json(&self) -> Vec<u8> {
        let sorted_allow: BTreeMap<&Host, &BTreeSet<u16>> =
            self.allow.iter().map(|(h, p)| (h, p)).collect();
        let sorted_deny: BTreeMap<&Host, &DenyPorts> =
            self.deny.iter().map(|(h, p)| (h, p)).collect();
        let hashed = HashedOverrides {
            allow_hosts: sorted_allow
                .into_iter()
                .map(|(host, ports)| HashedAllow { host, ports })
                .collect(),
            deny_hosts: sorted_deny
                .into_iter()
                .map(|(host, ports)| match ports {
                    DenyPorts::All => HashedDeny {
                        host,
                        all_ports: true,
                        ports: Vec::new(),
                    },
                    DenyPorts::Some(p) => HashedDeny {
                        host,
                        all_ports: false,
                        ports: p.iter().copied().collect(),
                    },
                })
                .collect(),
            allow_read_roots: self.read_roots.iter().map(String::as_str).collect(),
            allow_write_roots: self.write_roots.iter().map(String::as_str).collect(),
        };
        x07_spec::to_canonical_vec(&hashed).expect("override JSON is plain strings and numbers")
    }

    /// `base` with these overrides merged in (preconditions are checked by
    /// [`PolicyOverrides::check_preconditions`]). `policy_id` and `notes` are left as they are.
    pub fn apply(&self, base: &Policy) -> Result<Policy, OverrideError> {
        let mut policy = base.clone();
        if !self.allow.is_empty() || !self.deny.is_empty() {
            merge_hosts(&mut policy, self)?;
        }
        for (field, list, add) in [
            ("fs.read_roots", &mut policy.fs.read_roots, &self.read_roots),
            (
                "fs.write_roots",
                &mut policy.fs.write_roots,
                &self.write_roots,
            ),
        ] {
            for root in add {
                if !list.iter().any(|r| root_key(r) == root) {
                    list.push(root.clone());
                }
            }
            if list.len() > MAX_ROOTS {
                return Err(OverrideError::TooMany {
                    what: field.into(),
                    count: list.len(),
                    max: MAX_ROOTS,
                });
            }
        }
        policy.validate().map_err(OverrideError::Invalid)?;
        Ok(policy)
    }
}

fn merge_hosts(policy: &mut Policy, o: &NormalizedOverrides) -> Result<(), OverrideError> {
    let mut hosts: Vec<(String, BTreeSet<u16>)> = Vec::new();
    let mut add = |host: &str, ports: &mut dyn Iterator<Item = u16>| {
        let host = host.to_ascii_lowercase();
        match hosts.iter_mut().find(|(h, _)| *h == host) {
            Some((_, set)) => set.extend(ports),
            None => hosts.push((host, ports.collect())),
        }
    };
    for rule in &policy.net.allow_hosts {
        add(&rule.host, &mut rule.ports.iter().copied());
    }
    for (host, ports) in &o.allow {
        add(host.as_str(), &mut ports.iter().copied());
    }
    for (host, denied) in &o.deny {
        let Some(i) = hosts.iter().position(|(h, _)| h == host.as_str()) else {
            continue;
        };
        match denied {
            DenyPorts::All => {
                hosts.remove(i);
            }
            DenyPorts::Some(ports) => {
                hosts[i].1.retain(|p| !ports.contains(p));
                if hosts[i].1.is_empty() {
                    hosts.remove(i);
                }
            }
        }
    }
    if let Some((host, ports)) = hosts.iter().find(|(_, p)| p.len() > MAX_PORTS_PER_HOST) {
        return Err(OverrideError::TooMany {
            what: format!("the ports of `{host}`"),
            count: ports.len(),
            max: MAX_PORTS_PER_HOST,
        });
    }
    if hosts.len() > MAX_HOSTS {
        return Err(OverrideError::TooMany {
            what: "net.allow_hosts".into(),
            count: hosts.len(),
            max: MAX_HOSTS,
        });
    }
    let added_name = o
        .allow
        .iter()
        .any(|(h, _)| h.is_dns_name() && hosts.iter().any(|(kept, _)| kept == h.as_str()));
    policy.net.allow_dns |= added_name;
    policy.net.allow_hosts = hosts
        .into_iter()
        .map(|(host, ports)| HostRule {
            host,
            ports: ports.into_iter().collect(),
        })
        .collect();
    Ok(())
}
