//! `describe` against the compiled programs: every system call the filters allow is described
//! as allowed, everything described as refused is refused with the described errno, and the
//! catch-alls (default, x32, foreign architecture) hold. Checked by running the very bytes the
//! launcher installs through a BPF interpreter; the kernel tests check the kernel agrees.

mod common;

use common::bpf::{self, Data};
use x07_syscall_filter::{
    describe, program_filters, Action, CheckOp, FilterNeeds, RuleDescription,
};

const ALL_NEEDS: [FilterNeeds; 5] = [
    FilterNeeds {
        net: false,
        tcp: false,
        udp: false,
    },
    FilterNeeds {
        net: true,
        tcp: false,
        udp: false,
    },
    FilterNeeds {
        net: true,
        tcp: true,
        udp: false,
    },
    FilterNeeds {
        net: true,
        tcp: false,
        udp: true,
    },
    FilterNeeds {
        net: true,
        tcp: true,
        udp: true,
    },
];

fn programs(needs: &FilterNeeds) -> Vec<Vec<(u16, u8, u8, u32)>> {
    program_filters(needs)
        .unwrap()
        .iter()
        .map(|b| bpf::decode(b))
        .collect()
}

fn entry(d: &[RuleDescription], nr: i64) -> Option<&RuleDescription> {
    d.iter().find(|e| e.nr == Some(nr))
}

/// Arguments meeting every check of a group (Ne checks get a value none of them names).
fn satisfying(group: &[x07_syscall_filter::ArgCheck]) -> [u64; 6] {
    let mut args = [0u64; 6];
    for i in 0..6u8 {
        let checks: Vec<_> = group.iter().filter(|c| c.arg == i).collect();
        if let Some(eq) = checks.iter().find(|c| c.op == CheckOp::Eq) {
            args[i as usize] = u64::from(eq.value);
        } else if !checks.is_empty() {
            args[i as usize] = (0x1234u64..)
                .find(|v| checks.iter().all(|c| u64::from(c.value) != *v))
                .unwrap();
        }
    }
    args
}

#[test]
fn every_number_gets_what_describe_says() {
    for needs in &ALL_NEEDS {
        let progs = programs(needs);
        let d = describe(needs);
        for nr in 0..1024i64 {
            let got = bpf::verdict(&progs, &Data::call(nr, [0; 6]));
            match entry(&d, nr) {
                Some(e) if e.action == Action::Allow => {
                    assert_eq!(got, bpf::RET_ALLOW, "{} ({nr}) with {needs:?}", e.syscall)
                }
                Some(e) if e.action == Action::Errno => {
                    let want = if e.errno.as_deref() == Some("ENOSYS") {
                        libc::ENOSYS
                    } else {
                        libc::EPERM
                    };
                    assert_eq!(got, bpf::errno(want), "{} ({nr}) with {needs:?}", e.syscall);
                }
                Some(e) => {
                    // allow_if: each group's arguments pass, arguments matching no group fail
                    for g in &e.allow_if {
                        let v = bpf::verdict(&progs, &Data::call(nr, satisfying(g)));
                        assert_eq!(v, bpf::RET_ALLOW, "{} with {g:?}", e.syscall);
                    }
                    let bad = bpf::verdict(&progs, &Data::call(nr, [0xdead_beef; 6]));
                    assert_eq!(
                        bad,
                        bpf::errno(libc::EPERM),
                        "{} with junk arguments",
                        e.syscall
                    );
                }
                None => assert_eq!(
                    got,
                    bpf::errno(libc::EPERM),
                    "number {nr} is not described, so it must fall to the default (with {needs:?})"
                ),
            }
        }
    }
}

#[test]
fn foreign_architectures_are_killed() {
    let progs = programs(&ALL_NEEDS[4]);
    for arch in [
        0x4000_0003u32, /* i386 */
        0x4000_0028,    /* arm */
        0xc000_00f3,    /* riscv64 */
    ] {
        for nr in [0u32, 1, 3, 20, 39, 59] {
            let d = Data {
                nr,
                arch,
                args: [0; 6],
            };
            assert_eq!(
                bpf::verdict(&progs, &d),
                bpf::RET_KILL_PROCESS,
                "arch {arch:#x} nr {nr}"
            );
        }
    }
}

#[cfg(target_arch = "x86_64")]
#[test]
fn x32_numbers_are_killed_or_refused() {
    for needs in &ALL_NEEDS {
        let progs = programs(needs);
        for n in 0..2048u32 {
            let d = Data {
                nr: 0x4000_0000 | n,
                arch: bpf::NATIVE_ARCH,
                args: [0; 6],
            };
            let want = if n <= 547 {
                bpf::RET_KILL_PROCESS
            } else {
                bpf::errno(libc::EPERM)
            };
            assert_eq!(bpf::verdict(&progs, &d), want, "x32 number {n}");
        }
    }
}

#[test]
fn socket_follows_the_policy() {
    let stream = |family: i32, proto: i32| {
        [
            family as u64,
            (libc::SOCK_STREAM | libc::SOCK_CLOEXEC) as u64,
            proto as u64,
            0,
            0,
            0,
        ]
    };
    let dgram = |family: i32, proto: i32| {
        [
            family as u64,
            libc::SOCK_DGRAM as u64,
            proto as u64,
            0,
            0,
            0,
        ]
    };
    for needs in &ALL_NEEDS {
        let progs = programs(needs);
        let v = |args| bpf::verdict(&progs, &Data::call(libc::SYS_socket, args));
        let tcp = if needs.net && needs.tcp {
            bpf::RET_ALLOW
        } else {
            bpf::errno(libc::EPERM)
        };
        let udp = if needs.net && needs.udp {
            bpf::RET_ALLOW
        } else {
            bpf::errno(libc::EPERM)
        };
        assert_eq!(v(stream(libc::AF_INET, 0)), tcp, "{needs:?}");
        assert_eq!(
            v(stream(libc::AF_INET6, libc::IPPROTO_TCP)),
            tcp,
            "{needs:?}"
        );
        assert_eq!(v(dgram(libc::AF_INET, 0)), udp, "{needs:?}");
        assert_eq!(
            v(dgram(libc::AF_INET6, libc::IPPROTO_UDP)),
            udp,
            "{needs:?}"
        );
        let eperm = bpf::errno(libc::EPERM);
        assert_eq!(v(stream(libc::AF_INET, 262 /* IPPROTO_MPTCP */)), eperm);
        assert_eq!(v(dgram(libc::AF_INET, libc::IPPROTO_ICMP)), eperm);
        assert_eq!(v(stream(libc::AF_UNIX, 0)), eperm);
        assert_eq!(
            v(stream(libc::AF_INET, 0).map(|a| a | 0x100)),
            eperm,
            "unknown type bit"
        );
        assert_eq!(
            v([libc::AF_INET as u64, libc::SOCK_RAW as u64, 1, 0, 0, 0]),
            eperm
        );
        assert_eq!(
            v([libc::AF_NETLINK as u64, libc::SOCK_RAW as u64, 0, 0, 0, 0]),
            eperm
        );
        assert_eq!(
            v([libc::AF_PACKET as u64, libc::SOCK_RAW as u64, 0, 0, 0, 0]),
            eperm
        );
    }
}

#[test]
fn high_argument_bits_are_ignored_like_the_kernel_does() {
    // The kernel reads ioctl's request as an unsigned int: TIOCSTI with junk above bit 31 is
    // still TIOCSTI, and TCGETS with junk is still TCGETS.
    let progs = programs(&ALL_NEEDS[0]);
    let ioctl = |req: u64| bpf::verdict(&progs, &Data::call(libc::SYS_ioctl, [0, req, 0, 0, 0, 0]));
    assert_eq!(ioctl(0xffff_ffff_0000_5412), bpf::errno(libc::EPERM));
    assert_eq!(ioctl(0x1_0000_5401), bpf::RET_ALLOW);
}

#[test]
fn describe_lists_the_catch_alls_and_the_requested_denials() {
    let d = describe(&FilterNeeds {
        net: true,
        tcp: true,
        udp: false,
    });
    let action = |name: &str| {
        d.iter()
            .find(|e| e.syscall == name)
            .map(|e| (e.action, e.errno.clone()))
    };
    let eperm = Some((Action::Errno, Some("EPERM".to_string())));
    for name in [
        "listen",
        "accept",
        "accept4",
        "bind",
        "shmget",
        "unshare",
        "setns",
        "mount",
        "ptrace",
        "bpf",
        "perf_event_open",
        "userfaultfd",
        "io_uring_setup",
        "keyctl",
        "kcmp",
        "pidfd_getfd",
        "process_vm_readv",
        "open_by_handle_at",
        "fanotify_init",
        "listmount",
        "statmount",
        "settimeofday",
        "reboot",
    ] {
        assert_eq!(action(name), eperm, "{name}");
    }
    assert_eq!(
        action("clone3"),
        Some((Action::Errno, Some("ENOSYS".to_string())))
    );
    assert_eq!(action("<default>"), eperm);
    assert_eq!(
        action("<other arch>").map(|a| a.0),
        Some(Action::KillProcess)
    );
    assert_eq!(action("clone").map(|a| a.0), Some(Action::AllowIf));
    let without_net = describe(&FilterNeeds::default());
    assert!(without_net
        .iter()
        .any(|e| e.syscall == "socket" && e.action == Action::Errno));
}

/// One line per rule: what the generated docs will say, reviewed as a snapshot.
#[cfg(target_arch = "x86_64")]
#[test]
fn describe_snapshot_x86_64() {
    let d = describe(&FilterNeeds {
        net: true,
        tcp: true,
        udp: true,
    });
    let mut text = String::new();
    for e in &d {
        let nr = e.nr.map(|n| n.to_string()).unwrap_or_default();
        let action = match e.action {
            Action::Allow => "allow".to_string(),
            Action::AllowIf => {
                let groups: Vec<String> = e
                    .allow_if
                    .iter()
                    .map(|g| {
                        let checks: Vec<String> = g
                            .iter()
                            .map(|c| {
                                let op = if c.op == CheckOp::Eq { "==" } else { "!=" };
                                match c.mask {
                                    Some(m) => {
                                        format!("{} & {m:#x} {op} {}", c.arg_name, c.value_name)
                                    }
                                    None => format!("{} {op} {}", c.arg_name, c.value_name),
                                }
                            })
                            .collect();
                        checks.join(" && ")
                    })
                    .collect();
                format!(
                    "allow if ({}) else {}",
                    groups.join(") || ("),
                    e.errno.as_deref().unwrap_or("?")
                )
            }
            Action::Errno => format!("errno {}", e.errno.as_deref().unwrap_or("?")),
            Action::KillProcess => "kill process".to_string(),
        };
        text.push_str(&format!("[{}] {} {nr}: {action}\n", e.filter, e.syscall));
    }
    insta::assert_snapshot!(text);
}

#[test]
fn description_serializes_to_json() {
    let d = describe(&FilterNeeds {
        net: true,
        tcp: true,
        udp: true,
    });
    let json = serde_json::to_value(&d).unwrap();
    let clone = json
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["syscall"] == "clone")
        .unwrap();
    assert_eq!(clone["action"], "allow_if");
    assert_eq!(clone["allow_if"][0][0]["arg_name"], "flags");
}
