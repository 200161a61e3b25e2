//! The filters on the real kernel: a forked child sets no_new_privs, installs the filters with
//! the raw seccomp system call exactly as the launcher does, then probes system calls and
//! reports each result to the parent through a pipe; the parent checks them.

#[path = "../common/mod.rs"]
mod common;
mod table;

use std::net::TcpListener;

use common::{errno, in_child, report, set_errno, status_text, Prepared, DONE, INSTALL_FAILED};
use table::{probes, reap_if_forked, sc, Ctx, Expect};
use x07_syscall_filter::{program_filters, program_filters_bpf, FilterNeeds};

/// Runs every probe under the filters for `needs` and checks each result.
fn check_probes(needs: FilterNeeds) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("hello.txt");
    std::fs::write(&file, "hello").unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let ctx = Ctx {
        file: common::cstr(file.to_str().unwrap()),
        dir: common::cstr(dir.path().to_str().unwrap()),
        true_bin: common::cstr("/bin/true"),
        port: listener.local_addr().unwrap().port(),
        parent: std::process::id() as libc::pid_t,
    };
    let filters = Prepared::new(program_filters(&needs).unwrap());
    let probes = probes();
    let out = in_child(|fd| {
        let e = filters.install();
        if e != 0 {
            report(fd, INSTALL_FAILED, -1, e);
            return;
        }
        for (i, p) in probes.iter().enumerate() {
            set_errno(0);
            let r = (p.run)(&ctx);
            report(fd, i as u32, r, if r < 0 { errno() } else { 0 });
        }
    });
    if let Some(r) = out.records.iter().find(|r| r.id == INSTALL_FAILED) {
        panic!("the filters did not install: errno {}", r.errno);
    }
    let mut failures = Vec::new();
    for (i, p) in probes.iter().enumerate() {
        let want = (p.expect)(&needs);
        let Some(r) = out.records.iter().find(|r| r.id == i as u32) else {
            failures.push(format!(
                "{}: no result (child {})",
                p.name,
                status_text(out.status)
            ));
            continue;
        };
        let good = match want {
            Expect::Ok => r.ret >= 0,
            Expect::Errno(e) => r.ret == -1 && r.errno == e,
            Expect::Passed => r.ret >= 0 || (r.ret == -1 && r.errno != libc::EPERM),
        };
        if !good {
            failures.push(format!(
                "{}: wanted {want:?}, got ret {} errno {}",
                p.name, r.ret, r.errno
            ));
        }
    }
    assert!(
        out.finished(),
        "child did not finish: {}",
        status_text(out.status)
    );
    assert!(
        failures.is_empty(),
        "with {needs:?}:\n{}",
        failures.join("\n")
    );
    assert!(out.records.iter().any(|r| r.id == DONE));
}

#[test]
fn probes_without_network() {
    check_probes(FilterNeeds {
        net: false,
        tcp: false,
        udp: false,
    });
}

#[test]
fn probes_with_tcp_only() {
    check_probes(FilterNeeds {
        net: true,
        tcp: true,
        udp: false,
    });
}

#[test]
fn probes_with_udp_only() {
    check_probes(FilterNeeds {
        net: true,
        tcp: false,
        udp: true,
    });
}

#[test]
fn probes_with_tcp_and_udp() {
    check_probes(FilterNeeds {
        net: true,
        tcp: true,
        udp: true,
    });
}

/// A probe run in its own child that the filter must kill (SIGSYS).
fn assert_killed(what: &str, body: fn()) {
    let filters = Prepared::new(program_filters(&FilterNeeds::default()).unwrap());
    let out = in_child(|fd| {
        if filters.install() != 0 {
            report(fd, INSTALL_FAILED, -1, errno());
            return;
        }
        body();
    });
    assert!(
        libc::WIFSIGNALED(out.status) && libc::WTERMSIG(out.status) == libc::SIGSYS,
        "{what}: wanted death by SIGSYS, child {} (records {:?})",
        status_text(out.status),
        out.records
    );
}

#[cfg(target_arch = "x86_64")]
#[test]
fn x32_system_calls_kill_the_process() {
    assert_killed("x32 getpid", || {
        sc(0x4000_0000 | libc::SYS_getpid, [0; 6]);
    });
    // a number past the x32 table still cannot reach an allow rule
    let filters = Prepared::new(program_filters(&FilterNeeds::default()).unwrap());
    let out = in_child(|fd| {
        filters.install();
        let r = sc(0x4000_0000 | 1000, [0; 6]);
        report(fd, 0, r, errno());
    });
    let r = out.records.iter().find(|r| r.id == 0).expect("a result");
    assert_eq!((r.ret, r.errno), (-1, libc::EPERM));
}

#[cfg(target_arch = "x86_64")]
#[test]
fn i386_entry_point_kills_the_process() {
    assert_killed("int 0x80 getpid", || unsafe {
        // i386 getpid through the 32-bit entry point: audit arch is AUDIT_ARCH_I386.
        let mut eax: u32 = 20;
        std::arch::asm!("int 0x80", inout("eax") eax, options(nostack));
        let _ = eax;
    });
}

#[test]
fn clone3_gets_enosys_from_the_one_program() {
    // ENOSYS, not EPERM: glibc falls back to clone(2) only on ENOSYS, and clone's flags are
    // checked by the filter (clone3 keeps them in memory, out of its reach)
    let filters = program_filters(&FilterNeeds::default()).unwrap();
    assert_eq!(
        filters.len(),
        1,
        "one program: each filter costs its own install"
    );
    let p = Prepared::new(filters);
    let out = in_child(|fd| {
        p.install();
        let mut args = [0u64; 11];
        args[4] = libc::SIGCHLD as u64;
        let r = reap_if_forked(sc(libc::SYS_clone3, [args.as_ptr() as u64, 88, 0, 0, 0, 0]));
        report(fd, 0, r, errno());
    });
    assert_eq!(out.records[0].ret, -1);
    assert_eq!(out.records[0].errno, libc::ENOSYS);
}

#[test]
fn seccompiler_programs_install_in_process() {
    let progs = program_filters_bpf(&FilterNeeds::default()).unwrap();
    let out = in_child(|fd| {
        // SAFETY: prctl with constant arguments.
        unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) };
        for p in &progs {
            if seccompiler::apply_filter(p).is_err() {
                report(fd, INSTALL_FAILED, -1, errno());
                return;
            }
        }
        // SAFETY: plain system calls.
        let shm = unsafe { libc::shmget(libc::IPC_PRIVATE, 4096, libc::IPC_CREAT | 0o600) };
        report(fd, 0, i64::from(shm), errno());
        report(fd, 1, i64::from(unsafe { libc::getppid() }), 0);
    });
    assert!(out.finished(), "child {}", status_text(out.status));
    assert_eq!(
        (out.records[0].ret, out.records[0].errno),
        (-1, libc::EPERM)
    );
    assert!(out.records[1].ret > 0);
}
