//! The seccomp filters a trusted launcher installs just before it execs an untrusted x07 program
//! (a C program linked with glibc, libcurl and package C code).
//!
//! The program already runs in new user / mount / pid / ipc / uts namespaces, without
//! capabilities, under Landlock and no_new_privs; these filters take away the kernel interfaces
//! that could still be used to get out or to attack the kernel. They are generated from one table
//! (rules.rs) into one program (compact.rs: a binary search over the system call number), which
//! [`program_filters`] returns:
//!
//! - listed system calls (some only with certain arguments) are allowed, everything else fails
//!   with EPERM;
//! - x86_64 only: any x32 ABI system call (number | 0x40000000, up to the last x32 number) kills
//!   the process;
//! - clone3 fails with ENOSYS, so glibc falls back to clone(2), whose flags the filter can
//!   inspect (clone3 keeps them in memory, out of a filter's reach);
//! - a system call from another architecture's entry point (i386 `int 0x80` on x86_64, arm32 on
//!   aarch64) kills the process.
//!
//! One program, not one per concern: every filter costs ~25 us to install on top of its length,
//! and the launcher installs them before every sandboxed program.

mod compact;
mod nr;
mod rules;

use serde::Serialize;

pub use seccompiler::{sock_filter, BpfProgram};

/// What the policy allows that changes the filter.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FilterNeeds {
    /// Networking at all: without it socket() and connect() are refused.
    pub net: bool,
    /// TCP sockets (AF_INET / AF_INET6, SOCK_STREAM), when `net`.
    pub tcp: bool,
    /// UDP sockets (AF_INET / AF_INET6, SOCK_DGRAM), when `net`; DNS needs them.
    pub udp: bool,
}

/// Why no filter could be produced.
#[derive(Debug, thiserror::Error)]
pub enum FilterError {
    /// The filters are written for x86_64 and aarch64 only.
    #[error("the seccomp filter for {0} is not supported yet")]
    UnsupportedArch(&'static str),
}

/// What a rule does with a system call.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Allowed whatever the arguments.
    Allow,
    /// Allowed when one of the `allow_if` groups holds; otherwise the errno.
    AllowIf,
    /// Fails with the errno.
    Errno,
    /// Kills the whole process (SECCOMP_RET_KILL_PROCESS).
    KillProcess,
}

/// How an argument check compares.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckOp {
    /// `(arg & mask) == value`.
    Eq,
    /// `(arg & mask) != value`.
    Ne,
}

/// One argument check, on the argument's low 32 bits.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ArgCheck {
    /// The argument's index (0 ..= 5).
    pub arg: u8,
    /// The argument's name in the man page.
    pub arg_name: String,
    /// The bits compared (all of them when absent).
    pub mask: Option<u32>,
    /// The comparison.
    pub op: CheckOp,
    /// The value compared with.
    pub value: u32,
    /// The value's symbolic name.
    pub value_name: String,
}

/// One line of the filters' documentation: a system call (or a catch-all) and what it gets.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RuleDescription {
    /// The system call's name, or `<default>`, `<x32 abi>`, `<other arch>` for the catch-alls.
    pub syscall: String,
    /// Its number on this architecture, for a single system call.
    pub nr: Option<i64>,
    /// What happens to it.
    pub action: Action,
    /// For `allow_if`: allowed when any group holds, a group holding when all its checks do.
    pub allow_if: Vec<Vec<ArgCheck>>,
    /// The errno name returned when refused (`EPERM`, `ENOSYS`), if refusal returns one.
    pub errno: Option<String>,
    /// The index in [`program_filters`] of the filter that decides it.
    pub filter: usize,
    /// Why the rule is what it is.
    pub why: String,
}

/// The filters as raw `struct sock_filter` arrays (8 bytes each: code u16 LE, jt u8, jf u8,
/// k u32 LE), each ready for SECCOMP_SET_MODE_FILTER, to be installed in this order.
pub fn program_filters(needs: &FilterNeeds) -> Result<Vec<Vec<u8>>, FilterError> {
    Ok(program_filters_bpf(needs)?
        .iter()
        .map(|p| to_bytes(p))
        .collect())
}

/// The same filters as seccompiler programs (for installing them in-process).
pub fn program_filters_bpf(needs: &FilterNeeds) -> Result<Vec<BpfProgram>, FilterError> {
    check_arch()?;
    let rules = rules::allowlist(needs);
    check_table(&rules);
    Ok(vec![compact::allowlist_program(
        &rules,
        &fixed_ranges(),
        audit_arch(),
        libc::EPERM as u32,
    )])
}

/// Numbers decided whatever the table says: clone3 (ENOSYS) and, on x86_64, the x32 ABI (kill).
fn fixed_ranges() -> Vec<compact::Fixed> {
    let clone3 = u32::try_from(libc::SYS_clone3).expect("system call numbers fit 32 bits");
    let mut out = vec![compact::Fixed {
        lo: clone3,
        hi: clone3,
        action: libc::SECCOMP_RET_ERRNO | libc::ENOSYS as u32,
    }];
    if cfg!(target_arch = "x86_64") {
        out.push(compact::Fixed {
            lo: nr::X32_SYSCALL_BIT,
            hi: nr::X32_SYSCALL_BIT | nr::X32_LAST,
            action: libc::SECCOMP_RET_KILL_PROCESS,
        });
    }
    out
}

/// A machine-readable description of every rule (empty on an unsupported architecture).
pub fn describe(needs: &FilterNeeds) -> Vec<RuleDescription> {
    if check_arch().is_err() {
        return Vec::new();
    }
    let has_x32 = cfg!(target_arch = "x86_64");
    let mut out: Vec<RuleDescription> = rules::allowlist(needs)
        .into_iter()
        .map(|r| {
            let (action, allow_if, errno) = match r.when {
                rules::When::Always => (Action::Allow, Vec::new(), None),
                rules::When::AnyOf(groups) => (
                    Action::AllowIf,
                    groups
                        .iter()
                        .map(|g| g.iter().map(describe_check).collect())
                        .collect(),
                    Some("EPERM".to_string()),
                ),
            };
            RuleDescription {
                syscall: r.name.to_string(),
                nr: Some(r.nr),
                action,
                allow_if,
                errno,
                filter: 0,
                why: r.why.to_string(),
            }
        })
        .collect();
    let allowed: Vec<i64> = out.iter().filter_map(|d| d.nr).collect();
    let refused =
        |syscall: &str, nr: Option<i64>, errno: &str, filter: usize, why: &str| RuleDescription {
            syscall: syscall.to_string(),
            nr,
            action: Action::Errno,
            allow_if: Vec::new(),
            errno: Some(errno.to_string()),
            filter,
            why: why.to_string(),
        };
    // Conditional rules for calls the policy leaves out entirely (socket, connect without
    // networking) are documented as refusals like the rest.
    let mut denials: Vec<RuleDescription> = rules::notable_denials()
        .into_iter()
        .filter(|d| !allowed.contains(&d.nr))
        .map(|d| refused(d.name, Some(d.nr), "EPERM", 0, d.why))
        .collect();
    if !allowed.contains(&libc::SYS_socket) {
        let why = "networking (or TCP and UDP both) is off in the policy";
        denials.push(refused("socket", Some(libc::SYS_socket), "EPERM", 0, why));
        denials.push(refused("connect", Some(libc::SYS_connect), "EPERM", 0, why));
    }
    out.extend(denials);
    out.push(refused(
        "clone3",
        Some(libc::SYS_clone3),
        "ENOSYS",
        0,
        "its flags live in memory the filter cannot read; ENOSYS makes glibc fall back to clone",
    ));
    out.push(refused(
        "<default>",
        None,
        "EPERM",
        0,
        "anything not listed",
    ));
    if has_x32 {
        out.push(RuleDescription {
            syscall: "<x32 abi>".to_string(),
            nr: None,
            action: Action::KillProcess,
            allow_if: Vec::new(),
            errno: None,
            filter: 0,
            why: format!(
                "x32 numbers 0x{:x} ..= 0x{:x} kill the process; higher ones match no rule (EPERM)",
                nr::X32_SYSCALL_BIT,
                nr::X32_SYSCALL_BIT | nr::X32_LAST
            ),
        });
    }
    out.push(RuleDescription {
        syscall: "<other arch>".to_string(),
        nr: None,
        action: Action::KillProcess,
        allow_if: Vec::new(),
        errno: None,
        filter: 0,
        why: "a system call from another architecture's entry point".to_string(),
    });
    out
}

fn describe_check(c: &rules::Check) -> ArgCheck {
    ArgCheck {
        arg: c.arg,
        arg_name: c.arg_name.to_string(),
        mask: c.mask,
        op: match c.op {
            rules::Op::Eq => CheckOp::Eq,
            rules::Op::Ne => CheckOp::Ne,
        },
        value: c.value,
        value_name: c.value_name.to_string(),
    }
}

/// The filter is written for x86_64 and aarch64 only.
fn check_arch() -> Result<(), FilterError> {
    if cfg!(any(target_arch = "x86_64", target_arch = "aarch64")) {
        Ok(())
    } else {
        Err(FilterError::UnsupportedArch(std::env::consts::ARCH))
    }
}

/// The table's invariants: no number twice, none in the x32 range.
fn check_table(rules: &[rules::Rule]) {
    let mut seen = std::collections::BTreeSet::new();
    for r in rules {
        // The allowlist compares the whole 32-bit number, so no x32 number (bit 30 set) can
        // match one; a number that large here would be a table mistake.
        assert!(
            (0..i64::from(nr::X32_SYSCALL_BIT)).contains(&r.nr),
            "{} has number {}",
            r.name,
            r.nr
        );
        assert!(seen.insert(r.nr), "{} is listed twice", r.name);
    }
}

/// The `AUDIT_ARCH_*` value of this architecture's native entry point.
fn audit_arch() -> u32 {
    if cfg!(target_arch = "aarch64") {
        0xc000_00b7
    } else {
        0xc000_003e
    }
}

/// x86_64: the x32 numbers `X32_SYSCALL_BIT | 0..=X32_LAST` kill the process. Eight
/// instructions with two range checks: seccompiler would compare each number on its own (about
/// 2,700 instructions the kernel must check and translate at every launch).
fn to_bytes(program: &[sock_filter]) -> Vec<u8> {
    let mut out = Vec::with_capacity(program.len() * 8);
    for ins in program {
        out.extend_from_slice(&ins.code.to_le_bytes());
        out.push(ins.jt);
        out.push(ins.jf);
        out.extend_from_slice(&ins.k.to_le_bytes());
    }
    out
}
