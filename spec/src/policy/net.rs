//! `net`: outbound networking and the host allowlist. There is no deny list in the file; `x07 run
//! --deny-host` removes entries when it derives a policy.

use crate::policy::decode::policy_section;

/// Most entries in `net.allow_hosts`.
pub const MAX_HOSTS: usize = 256;
/// Most ports one host entry may list.
pub const MAX_PORTS_PER_HOST: usize = 64;
/// Longest host text, in bytes.
pub const MAX_HOST_BYTES: usize = 255;

policy_section! {
    /// `net`: master switch, protocols, and the hosts that may be reached.
    pub struct Net {
        /// Master switch.
        enabled: bool,
        /// Resolve names.
        allow_dns: bool,
        /// Open TCP connections.
        allow_tcp: bool,
        /// Send UDP datagrams.
        allow_udp: bool,
        /// Destinations that may be reached; at most 256.
        allow_hosts: Vec<HostRule>,
    }
}

policy_section! {
    /// One allowlist entry: a host and the ports it may be reached on.
    pub struct HostRule {
        /// An exact DNS name (case-insensitive), an IP, a CIDR `a/n` or a range `lo-hi`; at most 255 bytes.
        host: String,
        /// Ports 1..=65535; 1 to 64 of them. There is no port wildcard.
        ports: Vec<u16>,
    }
}
