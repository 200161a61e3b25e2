//! Host specs of `--allow-host` / `--deny-host` and of host files: `HOST:PORT[,PORT...]`,
//! `[IPv6]:PORT`, and `HOST:*` (deny only). Anything else is refused with a message that says
//! what is wrong; nothing is guessed.

use std::collections::BTreeSet;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};

use x07_spec::policy::net::{MAX_HOST_BYTES, MAX_PORTS_PER_HOST};

/// Largest host file read, in bytes.
pub const MAX_HOST_FILE_BYTES: u64 = 1024 * 1024;

/// A host as an allowlist holds it: lowercase DNS name, IPv4 or IPv6 address (no brackets),
/// CIDR `addr/len`, or range `lo-hi` of two addresses.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(transparent)]
pub struct Host(String);

impl Host {
    /// The host text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether the host is a name that must be resolved (not an address, CIDR or range).
    pub fn is_dns_name(&self) -> bool {
        is_dns_name(&self.0)
    }
}

impl fmt::Display for Host {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Whether `host` (already lowercase) names something DNS must resolve.
pub fn is_dns_name(host: &str) -> bool {
    host.parse::<IpAddr>().is_err()
        && !host.contains('/')
        && !is_range(host)
        && host.bytes().any(|b| b.is_ascii_alphabetic())
}

fn is_range(host: &str) -> bool {
    host.split_once('-')
        .is_some_and(|(lo, hi)| lo.parse::<IpAddr>().is_ok() && hi.parse::<IpAddr>().is_ok())
}

/// The ports of a deny spec.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DenyPorts {
    /// `HOST:*`: the host is removed.
    All,
    /// Only these ports are removed.
    Some(BTreeSet<u16>),
}

/// A parsed `--allow-host` spec.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllowSpec {
    /// The host.
    pub host: Host,
    /// Its ports (1 to 64 distinct).
    pub ports: BTreeSet<u16>,
}

/// A parsed `--deny-host` spec.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DenySpec {
    /// The host.
    pub host: Host,
    /// The ports removed.
    pub ports: DenyPorts,
}

/// Why a spec is not `HOST:PORT[,PORT...]`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{}`: {problem}", .spec.escape_debug())]
pub struct HostSpecError {
    /// The spec as given.
    pub spec: String,
    /// What is wrong with it.
    pub problem: String,
}

/// Parses an allow spec; `*` is refused (there is no port wildcard in a policy).
pub fn parse_allow(spec: &str) -> Result<AllowSpec, HostSpecError> {
    let (host, ports) = parse(spec, false)?;
    match ports {
        DenyPorts::Some(ports) => Ok(AllowSpec { host, ports }),
        DenyPorts::All => unreachable!("`*` is refused for allow specs"),
    }
}

/// Parses a deny spec; `HOST:*` removes every port.
pub fn parse_deny(spec: &str) -> Result<DenySpec, HostSpecError> {
    let (host, ports) = parse(spec, true)?;
    Ok(DenySpec { host, ports })
}

fn parse(spec: &str, star_allowed: bool) -> Result<(Host, DenyPorts), HostSpecError> {
    let fail = |problem: String| HostSpecError {
        spec: spec.to_string(),
        problem,
    };
    if spec.is_empty() {
        return Err(fail("is empty; expected HOST:PORT[,PORT...]".into()));
    }
    if let Some(c) = spec
        .chars()
        .find(|c| c.is_whitespace() || c.is_control() || *c == ';')
    {
        return Err(fail(format!(
            "must not contain {c:?} (no whitespace, `;` or control characters)"
        )));
    }
    let (host, ports) = split_host_ports(spec).map_err(fail)?;
    let host = check_host(host, spec.starts_with('[')).map_err(fail)?;
    let ports = parse_ports(ports, star_allowed).map_err(fail)?;
    Ok((host, ports))
}

fn split_host_ports(spec: &str) -> Result<(&str, &str), String> {
    if let Some(rest) = spec.strip_prefix('[') {
        let close = rest.find(']').ok_or("has `[` without a closing `]`")?;
        let ports = rest[close + 1..]
            .strip_prefix(':')
            .ok_or("expected `:PORT` right after `]`")?;
        return Ok((&rest[..close], ports));
    }
    match spec.matches(':').count() {
        0 => Err("has no `:PORT`; expected HOST:PORT[,PORT...]".into()),
        1 => Ok(spec.split_once(':').expect("one colon")),
        _ => Err("has more than one `:`; write an IPv6 address in brackets, e.g. [::1]:443".into()),
    }
}

fn check_host(host: &str, bracketed: bool) -> Result<Host, String> {
    if host.is_empty() {
        return Err("the host is empty".into());
    }
    if host.len() > MAX_HOST_BYTES {
        return Err(format!(
            "the host is {} bytes long; at most {MAX_HOST_BYTES} are allowed",
            host.len()
        ));
    }
    let lower = host.to_ascii_lowercase();
    if bracketed {
        return if is_ipv6_or_cidr(&lower) {
            Ok(Host(lower))
        } else {
            Err(format!(
                "`[{host}]` must hold an IPv6 address (optionally /LEN)"
            ))
        };
    }
    if host.contains('*') {
        return Err("host wildcards are not supported; list each host".into());
    }
    if let Some(c) = host
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '/')))
    {
        return Err(format!(
            "the host must not contain {c:?}; use letters, digits, `.`, `-`, `_` (and `/` for a CIDR), internationalised names as xn--"
        ));
    }
    if lower.contains('/') {
        return if is_ipv4_cidr(&lower) {
            Ok(Host(lower))
        } else {
            Err(format!("`{host}` is not a CIDR ADDRESS/LEN"))
        };
    }
    if lower.parse::<Ipv4Addr>().is_ok() || is_range(&lower) {
        return Ok(Host(lower));
    }
    check_dns_name(&lower).map_err(|p| format!("`{host}` is not a host name: {p}"))?;
    Ok(Host(lower))
}

fn is_ipv6_or_cidr(text: &str) -> bool {
    match text.split_once('/') {
        None => text.parse::<Ipv6Addr>().is_ok(),
        Some((addr, len)) => {
            addr.parse::<Ipv6Addr>().is_ok() && prefix_len(len).is_some_and(|n| n <= 128)
        }
    }
}

fn is_ipv4_cidr(text: &str) -> bool {
    text.split_once('/').is_some_and(|(addr, len)| {
        addr.parse::<Ipv4Addr>().is_ok() && prefix_len(len).is_some_and(|n| n <= 32)
    })
}

fn prefix_len(text: &str) -> Option<u32> {
    (!text.is_empty() && text.len() <= 3 && text.bytes().all(|b| b.is_ascii_digit()))
        .then(|| text.parse().ok())
        .flatten()
}

fn check_dns_name(name: &str) -> Result<(), String> {
    for label in name.split('.') {
        if label.is_empty() {
            return Err("it has an empty label (a leading, trailing or doubled `.`)".into());
        }
        if label.len() > 63 {
            return Err(format!("the label `{label}` is longer than 63 characters"));
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err(format!("the label `{label}` starts or ends with `-`"));
        }
    }
    Ok(())
}

fn parse_ports(text: &str, star_allowed: bool) -> Result<DenyPorts, String> {
    if text == "*" {
        return if star_allowed {
            Ok(DenyPorts::All)
        } else {
            Err("`*` (every port) is only valid for --deny-host; list the ports to allow".into())
        };
    }
    let mut ports = BTreeSet::new();
    for part in text.split(',') {
        if part.is_empty() {
            return Err("has an empty port (a leading, trailing or doubled `,`)".into());
        }
        if part == "*" {
            return Err("`*` must stand alone (HOST:*), not inside a port list".into());
        }
        if part.len() > 5 || !part.bytes().all(|b| b.is_ascii_digit()) {
            return Err(format!("`{part}` is not a port number (1 to 65535)"));
        }
        match part.parse::<u32>() {
            Ok(p @ 1..=65535) => {
                ports.insert(p as u16);
            }
            _ => return Err(format!("port {part} is out of range; ports are 1 to 65535")),
        }
    }
    if ports.len() > MAX_PORTS_PER_HOST {
        return Err(format!(
            "lists {} ports; at most {MAX_PORTS_PER_HOST} per host are allowed",
            ports.len()
        ));
    }
    Ok(DenyPorts::Some(ports))
}

/// One spec line of a host file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostFileLine {
    /// 1-based line number.
    pub line: usize,
    /// The spec, without comment and surrounding whitespace.
    pub spec: String,
}

/// A host file that cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum HostFileError {
    /// Reading failed.
    #[error("cannot read host file {}: {source}", .path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is larger than [`MAX_HOST_FILE_BYTES`].
    #[error("host file {} is {size} bytes; at most {MAX_HOST_FILE_BYTES} are read", .path.display())]
    TooLarge {
        /// The file.
        path: PathBuf,
        /// Its size.
        size: u64,
    },
    /// The file is not UTF-8.
    #[error("host file {} is not UTF-8 text", .path.display())]
    NotUtf8 {
        /// The file.
        path: PathBuf,
    },
}

/// The spec lines of a host file: one spec per line; `#` starts a comment; blank lines skipped.
pub fn read_host_file(path: &Path) -> Result<Vec<HostFileLine>, HostFileError> {
    let read_err = |source| HostFileError::Read {
        path: path.to_path_buf(),
        source,
    };
    let size = fs_err::metadata(path).map_err(read_err)?.len();
    if size > MAX_HOST_FILE_BYTES {
        return Err(HostFileError::TooLarge {
            path: path.to_path_buf(),
            size,
        });
    }
    let bytes = fs_err::read(path).map_err(read_err)?;
    let text = String::from_utf8(bytes).map_err(|_| HostFileError::NotUtf8 {
        path: path.to_path_buf(),
    })?;
    Ok(host_file_lines(&text))
}

/// The spec lines of host-file text (see [`read_host_file`]).
pub fn host_file_lines(text: &str) -> Vec<HostFileLine> {
    text.lines()
        .enumerate()
        .filter_map(|(i, line)| {
            let spec = line.split('#').next().unwrap_or("").trim();
            (!spec.is_empty()).then(|| HostFileLine {
                line: i + 1,
                spec: spec.to_string(),
            })
        })
        .collect()
}
