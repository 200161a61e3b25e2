//! The allowlist as data: every allowed system call with its argument conditions and the reason
//! it is there. Both the BPF programs and `describe` are generated from this one table, so the
//! documentation cannot drift from the filter.
//!
//! Every argument check compares the low 32 bits (seccompiler's `Dword`): each examined argument
//! is an `int` / `unsigned int` in the kernel's prototype (clone's flags are read with
//! `lower_32_bits`), so the kernel ignores the high half exactly as the filter does.

use crate::nr::{self, *};

/// How one check compares an argument.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Op {
    Eq,
    Ne,
}

/// One argument check: `(arg & mask) <op> value`, on the low 32 bits.
#[derive(Clone, Debug)]
pub(crate) struct Check {
    pub arg: u8,
    pub arg_name: &'static str,
    pub mask: Option<u32>,
    pub op: Op,
    pub value: u32,
    pub value_name: &'static str,
}

/// When an allowed system call is allowed.
#[derive(Clone, Debug)]
pub(crate) enum When {
    /// Whatever its arguments.
    Always,
    /// When any group holds, a group holding when each of its checks does.
    AnyOf(Vec<Vec<Check>>),
}

/// One allowed system call.
#[derive(Clone, Debug)]
pub(crate) struct Rule {
    pub name: &'static str,
    pub nr: i64,
    pub when: When,
    pub why: &'static str,
}

/// A system call refused on purpose (by the default action), listed for the documentation.
#[derive(Clone, Debug)]
pub(crate) struct Denial {
    pub name: &'static str,
    pub nr: i64,
    pub why: &'static str,
}

fn eq(arg: u8, arg_name: &'static str, value: u32, value_name: &'static str) -> Check {
    Check {
        arg,
        arg_name,
        mask: None,
        op: Op::Eq,
        value,
        value_name,
    }
}

fn ne(arg: u8, arg_name: &'static str, value: u32, value_name: &'static str) -> Check {
    Check {
        arg,
        arg_name,
        mask: None,
        op: Op::Ne,
        value,
        value_name,
    }
}

fn masked_eq(
    arg: u8,
    arg_name: &'static str,
    mask: u32,
    value: u32,
    value_name: &'static str,
) -> Check {
    Check {
        arg,
        arg_name,
        mask: Some(mask),
        op: Op::Eq,
        value,
        value_name,
    }
}

/// `(name, number)` for each named `SYS_*` constant.
macro_rules! sys {
    ($($c:ident),* $(,)?) => {
        [$((&stringify!($c)[4..], nr::$c as i64)),*]
    };
}

/// Adds unconditional rules for a group of system calls sharing one reason.
fn always(out: &mut Vec<Rule>, why: &'static str, calls: &[(&'static str, i64)]) {
    out.extend(calls.iter().map(|&(name, nr)| Rule {
        name,
        nr,
        when: When::Always,
        why,
    }));
}

/// Adds a conditional rule; with no group it adds nothing (an empty rule list would make
/// seccompiler allow the call unconditionally).
fn allow_if(
    out: &mut Vec<Rule>,
    call: (&'static str, i64),
    groups: Vec<Vec<Check>>,
    why: &'static str,
) {
    if !groups.is_empty() {
        out.push(Rule {
            name: call.0,
            nr: call.1,
            when: When::AnyOf(groups),
            why,
        });
    }
}

/// The allowlist for one policy.
#[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
pub(crate) fn allowlist(needs: &crate::FilterNeeds) -> Vec<Rule> {
    let mut r = Vec::new();
    always(
        &mut r,
        "files and descriptors: the mount namespace and Landlock bound what they reach",
        &sys! {
            SYS_read, SYS_write, SYS_readv, SYS_writev, SYS_pread64, SYS_pwrite64, SYS_preadv,
            SYS_pwritev, SYS_preadv2, SYS_pwritev2, SYS_openat, SYS_openat2, SYS_close,
            SYS_close_range, SYS_fstat, SYS_newfstatat, SYS_statx, SYS_statfs, SYS_fstatfs,
            SYS_lseek, SYS_faccessat, SYS_faccessat2, SYS_getdents64, SYS_getcwd, SYS_chdir,
            SYS_fchdir, SYS_mkdirat, SYS_unlinkat, SYS_renameat, SYS_renameat2, SYS_linkat,
            SYS_symlinkat, SYS_readlinkat, SYS_fchmod, SYS_fchmodat, SYS_fchmodat2, SYS_fchown,
            SYS_fchownat, SYS_utimensat, SYS_truncate, SYS_ftruncate, SYS_fallocate, SYS_fsync,
            SYS_fdatasync, SYS_sync_file_range, SYS_flock, SYS_fcntl, SYS_dup, SYS_dup3, SYS_pipe2,
            SYS_getxattr, SYS_lgetxattr, SYS_fgetxattr, SYS_listxattr, SYS_llistxattr,
            SYS_flistxattr, SYS_getxattrat, SYS_listxattrat, SYS_inotify_init1,
            SYS_inotify_add_watch, SYS_inotify_rm_watch, SYS_fadvise64, SYS_readahead, SYS_sendfile,
            SYS_copy_file_range, SYS_splice, SYS_tee, SYS_umask, SYS_memfd_create,
        },
    );
    always(
        &mut r,
        "memory of the process itself (malloc, the loader, thread stacks)",
        &sys! {
            SYS_brk, SYS_mmap, SYS_munmap, SYS_mprotect, SYS_mremap, SYS_madvise, SYS_msync,
            SYS_mincore, SYS_mlock, SYS_mlock2, SYS_munlock, SYS_mseal,
        },
    );
    always(
        &mut r,
        "processes and threads: the pid namespace bounds whom signals and waits reach",
        &sys! {
            SYS_execve, SYS_execveat, SYS_exit, SYS_exit_group, SYS_wait4, SYS_waitid, SYS_kill,
            SYS_tgkill, SYS_tkill, SYS_pidfd_open, SYS_pidfd_send_signal, SYS_getpid, SYS_getppid,
            SYS_gettid, SYS_getpgid, SYS_setpgid, SYS_getsid, SYS_setsid, SYS_set_tid_address,
            SYS_set_robust_list, SYS_rseq, SYS_futex, SYS_futex_waitv, SYS_futex_wake,
            SYS_futex_wait, SYS_futex_requeue, SYS_restart_syscall,
        },
    );
    always(
        &mut r,
        "identities and capabilities: without capabilities these can only keep or drop",
        &sys! {
            SYS_getuid, SYS_geteuid, SYS_getgid, SYS_getegid, SYS_getresuid, SYS_getresgid,
            SYS_getgroups, SYS_setuid, SYS_setgid, SYS_setreuid, SYS_setregid, SYS_setresuid,
            SYS_setresgid, SYS_setfsuid, SYS_setfsgid, SYS_setgroups, SYS_capget, SYS_capset,
        },
    );
    always(
        &mut r,
        "self-restriction only: Landlock and seccomp can narrow, never widen",
        &sys! {
            SYS_landlock_create_ruleset, SYS_landlock_add_rule, SYS_landlock_restrict_self,
            SYS_seccomp,
        },
    );
    always(
        &mut r,
        "scheduling and limits: reading, and yielding",
        &sys! {
            SYS_sched_yield, SYS_sched_getaffinity, SYS_sched_getparam, SYS_sched_getscheduler,
            SYS_sched_getattr, SYS_sched_get_priority_max, SYS_sched_get_priority_min,
            SYS_sched_rr_get_interval, SYS_getpriority, SYS_ioprio_get, SYS_getcpu, SYS_getrlimit,
            SYS_setrlimit, SYS_getrusage, SYS_times, SYS_sysinfo, SYS_uname, SYS_getrandom,
        },
    );
    always(
        &mut r,
        "signals, timers and clocks (reading clocks only)",
        &sys! {
            SYS_rt_sigaction, SYS_rt_sigprocmask, SYS_rt_sigreturn, SYS_rt_sigsuspend,
            SYS_rt_sigpending, SYS_rt_sigtimedwait, SYS_sigaltstack, SYS_signalfd4, SYS_setitimer,
            SYS_getitimer, SYS_timer_create, SYS_timer_settime, SYS_timer_gettime,
            SYS_timer_getoverrun, SYS_timer_delete, SYS_timerfd_create, SYS_timerfd_settime,
            SYS_timerfd_gettime, SYS_clock_gettime, SYS_clock_getres, SYS_clock_nanosleep,
            SYS_nanosleep, SYS_gettimeofday,
        },
    );
    always(
        &mut r,
        "waiting on descriptors (libcurl's poll loop, the runtime's child pipes)",
        &sys! {
            SYS_ppoll, SYS_pselect6, SYS_epoll_create1, SYS_epoll_ctl, SYS_epoll_pwait,
            SYS_epoll_pwait2, SYS_eventfd2,
        },
    );
    always(
        &mut r,
        "I/O on sockets the filter let the program create (or inherit)",
        &sys! {
            SYS_sendto, SYS_recvfrom, SYS_sendmsg, SYS_recvmsg, SYS_sendmmsg, SYS_recvmmsg,
            SYS_shutdown, SYS_getsockname, SYS_getpeername, SYS_getsockopt,
        },
    );
    legacy(&mut r);
    conditional(&mut r, needs);
    r
}

/// x86_64's older system calls, each a variant of one allowed above.
#[cfg(target_arch = "x86_64")]
fn legacy(r: &mut Vec<Rule>) {
    always(
        r,
        "x86_64's older forms of allowed calls (glibc and older binaries still use some)",
        &sys! {
            SYS_open, SYS_creat, SYS_stat, SYS_lstat, SYS_access, SYS_pipe, SYS_select, SYS_poll,
            SYS_dup2, SYS_pause, SYS_alarm, SYS_getdents, SYS_rename, SYS_mkdir, SYS_rmdir,
            SYS_link, SYS_unlink, SYS_symlink, SYS_readlink, SYS_chmod, SYS_chown, SYS_lchown,
            SYS_utime, SYS_utimes, SYS_futimesat, SYS_time, SYS_epoll_create, SYS_epoll_wait,
            SYS_inotify_init, SYS_eventfd, SYS_signalfd, SYS_getpgrp,
        },
    );
    always(
        r,
        "fork and vfork cannot ask for namespaces (they take no flags)",
        &sys![SYS_fork, SYS_vfork],
    );
    always(
        r,
        "thread pointer and CET state of the process itself (the loader sets FS)",
        &sys![SYS_arch_prctl, SYS_map_shadow_stack],
    );
}

#[cfg(target_arch = "aarch64")]
fn legacy(_r: &mut Vec<Rule>) {}

/// The system calls allowed only with certain arguments.
fn conditional(r: &mut Vec<Rule>, needs: &crate::FilterNeeds) {
    allow_if(
        r,
        sys![SYS_clone][0],
        vec![vec![masked_eq(
            0,
            "flags",
            CLONE_NS_FLAGS,
            0,
            "no CLONE_NEW* flag",
        )]],
        "threads and fork: never a new namespace (clone3 hides its flags in memory, so it gets \
         ENOSYS and glibc falls back to clone)",
    );
    let self_only = |call, why| (call, vec![vec![eq(0, "pid", 0, "0 (the caller)")]], why);
    for (call, groups, why) in [
        self_only(
            sys![SYS_prlimit64][0],
            "resource limits of the process itself (glibc's getrlimit / setrlimit)",
        ),
        self_only(
            sys![SYS_sched_setaffinity][0],
            "CPU affinity of the calling thread only",
        ),
        self_only(
            sys![SYS_sched_setscheduler][0],
            "scheduling of the calling thread only",
        ),
        self_only(
            sys![SYS_sched_setparam][0],
            "scheduling of the calling thread only",
        ),
        self_only(
            sys![SYS_sched_setattr][0],
            "scheduling of the calling thread only",
        ),
    ] {
        allow_if(r, call, groups, why);
    }
    allow_if(
        r,
        sys![SYS_setpriority][0],
        vec![vec![
            eq(0, "which", PRIO_PROCESS_NR, "PRIO_PROCESS"),
            eq(1, "who", 0, "0 (the caller)"),
        ]],
        "nice value of the calling thread only",
    );
    allow_if(
        r,
        sys![SYS_ioprio_set][0],
        vec![vec![
            eq(0, "which", 1, "IOPRIO_WHO_PROCESS"),
            eq(1, "who", 0, "0 (the caller)"),
        ]],
        "I/O priority of the calling thread only",
    );
    allow_if(
        r,
        sys![SYS_personality][0],
        vec![
            vec![eq(0, "persona", 0xffff_ffff, "0xffffffff (query)")],
            vec![eq(0, "persona", 0, "PER_LINUX")],
        ],
        "reading the execution domain; setting one (READ_IMPLIES_EXEC, ADDR_NO_RANDOMIZE) is \
         refused",
    );
    let mknod_types = |arg| {
        vec![
            vec![masked_eq(arg, "mode", S_IFMT, S_IFREG, "S_IFREG")],
            vec![masked_eq(arg, "mode", S_IFMT, S_IFIFO, "S_IFIFO")],
            vec![masked_eq(arg, "mode", S_IFMT, 0, "0 (a regular file)")],
        ]
    };
    allow_if(
        r,
        sys![SYS_mknodat][0],
        mknod_types(2),
        "regular files and FIFOs only, never device nodes or sockets",
    );
    #[cfg(target_arch = "x86_64")]
    allow_if(
        r,
        sys![SYS_mknod][0],
        mknod_types(1),
        "regular files and FIFOs only, never device nodes or sockets",
    );
    allow_if(
        r,
        sys![SYS_ioctl][0],
        ioctl_groups(),
        "terminal queries, descriptor flags and reflinks; never TIOCSTI, TIOCLINUX, TIOCSETD",
    );
    allow_if(
        r,
        sys![SYS_prctl][0],
        prctl_groups(),
        "options that name, read or narrow the process itself",
    );
    allow_if(
        r,
        sys![SYS_socketpair][0],
        vec![vec![
            eq(0, "domain", AF_UNIX as u32, "AF_UNIX"),
            masked_eq(1, "type", !SOCK_FLAGS, SOCK_STREAM as u32, "SOCK_STREAM"),
            eq(2, "protocol", 0, "0"),
        ]],
        "libcurl's wake-up pair: a connected stream pair cannot reach a named socket",
    );
    allow_if(
        r,
        sys![SYS_setsockopt][0],
        setsockopt_groups(),
        "socket options, but nothing that loads a BPF program or an upper-layer protocol",
    );
    if needs.net {
        allow_if(
            r,
            sys![SYS_socket][0],
            socket_groups(needs),
            "IPv4 / IPv6 TCP or UDP only, as the policy allows",
        );
        always(
            r,
            "connecting the sockets socket() allowed; Landlock and the policy bound where to",
            &sys![SYS_connect],
        );
    }
}

/// socket(): AF_INET / AF_INET6, TCP and/or UDP by type and protocol. The type may carry
/// SOCK_NONBLOCK / SOCK_CLOEXEC; any other bit fails the masked compare.
fn socket_groups(needs: &crate::FilterNeeds) -> Vec<Vec<Check>> {
    let mut kinds: Vec<(u32, &'static str, u32, &'static str)> = Vec::new();
    if needs.tcp {
        kinds.push((
            SOCK_STREAM as u32,
            "SOCK_STREAM",
            IPPROTO_TCP as u32,
            "IPPROTO_TCP",
        ));
    }
    if needs.udp {
        kinds.push((
            SOCK_DGRAM as u32,
            "SOCK_DGRAM",
            IPPROTO_UDP as u32,
            "IPPROTO_UDP",
        ));
    }
    let mut groups = Vec::new();
    for (family, family_name) in [(AF_INET as u32, "AF_INET"), (AF_INET6 as u32, "AF_INET6")] {
        for &(ty, ty_name, proto, proto_name) in &kinds {
            for (p, p_name) in [(0, "0"), (proto, proto_name)] {
                groups.push(vec![
                    eq(0, "domain", family, family_name),
                    masked_eq(1, "type", !SOCK_FLAGS, ty, ty_name),
                    eq(2, "protocol", p, p_name),
                ]);
            }
        }
    }
    groups
}

/// ioctl(): the allowed request numbers.
fn ioctl_groups() -> Vec<Vec<Check>> {
    [
        (TCGETS as u32, "TCGETS"),
        (TCGETS2, "TCGETS2"),
        (TIOCGWINSZ as u32, "TIOCGWINSZ"),
        (TIOCGPGRP as u32, "TIOCGPGRP"),
        (FIONREAD as u32, "FIONREAD"),
        (FIONBIO as u32, "FIONBIO"),
        (FIOCLEX as u32, "FIOCLEX"),
        (FIONCLEX as u32, "FIONCLEX"),
        (FICLONE, "FICLONE"),
        (FICLONERANGE, "FICLONERANGE"),
    ]
    .into_iter()
    .map(|(v, n)| vec![eq(1, "request", v, n)])
    .collect()
}

/// prctl(): the allowed options.
fn prctl_groups() -> Vec<Vec<Check>> {
    [
        (PR_SET_PDEATHSIG as u32, "PR_SET_PDEATHSIG"),
        (PR_GET_PDEATHSIG as u32, "PR_GET_PDEATHSIG"),
        (PR_GET_DUMPABLE as u32, "PR_GET_DUMPABLE"),
        (PR_SET_DUMPABLE as u32, "PR_SET_DUMPABLE"),
        (PR_SET_NAME as u32, "PR_SET_NAME"),
        (PR_GET_NAME as u32, "PR_GET_NAME"),
        (PR_GET_SECCOMP as u32, "PR_GET_SECCOMP"),
        (PR_SET_SECCOMP as u32, "PR_SET_SECCOMP"),
        (PR_CAPBSET_READ as u32, "PR_CAPBSET_READ"),
        (PR_CAPBSET_DROP as u32, "PR_CAPBSET_DROP"),
        (PR_GET_SECUREBITS as u32, "PR_GET_SECUREBITS"),
        (PR_SET_TIMERSLACK as u32, "PR_SET_TIMERSLACK"),
        (PR_GET_TIMERSLACK as u32, "PR_GET_TIMERSLACK"),
        (PR_SET_NO_NEW_PRIVS as u32, "PR_SET_NO_NEW_PRIVS"),
        (PR_GET_NO_NEW_PRIVS as u32, "PR_GET_NO_NEW_PRIVS"),
        (PR_CAP_AMBIENT as u32, "PR_CAP_AMBIENT"),
        (PR_SET_VMA_NR, "PR_SET_VMA"),
    ]
    .into_iter()
    .map(|(v, n)| vec![eq(0, "option", v, n)])
    .collect()
}

/// setsockopt(): the usual levels, minus the options that hand the kernel code to run.
fn setsockopt_groups() -> Vec<Vec<Check>> {
    let mut sol_socket = vec![eq(1, "level", SOL_SOCKET as u32, "SOL_SOCKET")];
    sol_socket.extend(SO_BPF_OPTIONS.iter().map(|&(v, n)| ne(2, "optname", v, n)));
    vec![
        sol_socket,
        vec![
            eq(1, "level", IPPROTO_TCP as u32, "IPPROTO_TCP"),
            ne(2, "optname", TCP_ULP_NR, "TCP_ULP"),
        ],
        vec![eq(1, "level", IPPROTO_IP as u32, "IPPROTO_IP")],
        vec![eq(1, "level", IPPROTO_IPV6 as u32, "IPPROTO_IPV6")],
    ]
}

/// No table for other architectures (the caller reports them as unsupported).
#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
pub(crate) fn allowlist(_needs: &crate::FilterNeeds) -> Vec<Rule> {
    Vec::new()
}

/// No table for other architectures.
#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
pub(crate) fn notable_denials() -> Vec<Denial> {
    Vec::new()
}

/// System calls refused on purpose (not on the allowlist), with the reason, for the docs.
#[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
pub(crate) fn notable_denials() -> Vec<Denial> {
    let mut d = Vec::new();
    let mut add = |why: &'static str, calls: &[(&'static str, i64)]| {
        d.extend(calls.iter().map(|&(name, nr)| Denial { name, nr, why }));
    };
    add(
        "namespaces and mounts: the launcher already made the namespaces; no new ones, no joining",
        &sys! {
            SYS_unshare, SYS_setns, SYS_mount, SYS_umount2, SYS_pivot_root, SYS_chroot, SYS_fsopen,
            SYS_fsconfig, SYS_fsmount, SYS_fspick, SYS_move_mount, SYS_open_tree, SYS_mount_setattr,
            SYS_statmount, SYS_listmount,
        },
    );
    add(
        "reaching into other processes",
        &sys! {
            SYS_ptrace, SYS_process_vm_readv, SYS_process_vm_writev, SYS_pidfd_getfd, SYS_kcmp,
            SYS_process_madvise, SYS_get_robust_list,
        },
    );
    add(
        "kernel attack surface the programs do not need",
        &sys! {
            SYS_bpf, SYS_perf_event_open, SYS_userfaultfd, SYS_io_uring_setup, SYS_io_uring_enter,
            SYS_io_uring_register, SYS_keyctl, SYS_add_key, SYS_request_key, SYS_memfd_secret,
            SYS_vmsplice,
        },
    );
    add(
        "System V IPC (memfd and pipes cover the runtime's needs)",
        &sys! {
            SYS_shmget, SYS_shmat, SYS_shmctl, SYS_shmdt, SYS_msgget, SYS_msgsnd, SYS_msgrcv,
            SYS_msgctl, SYS_semget, SYS_semop, SYS_semtimedop, SYS_semctl,
        },
    );
    add(
        "listening and accepting: programs are clients only",
        &sys![SYS_bind, SYS_listen, SYS_accept, SYS_accept4],
    );
    add(
        "the machine's state: kernel, modules, clocks, swap, quotas, logs",
        &sys! {
            SYS_kexec_load, SYS_kexec_file_load, SYS_init_module, SYS_finit_module,
            SYS_delete_module, SYS_reboot, SYS_swapon, SYS_swapoff, SYS_syslog, SYS_acct,
            SYS_settimeofday, SYS_clock_settime, SYS_adjtimex, SYS_clock_adjtime, SYS_quotactl,
            SYS_vhangup, SYS_lookup_dcookie, SYS_nfsservctl, SYS_sync, SYS_syncfs,
        },
    );
    add(
        "handles and notification outside the Landlock model",
        &sys! {
            SYS_name_to_handle_at, SYS_open_by_handle_at, SYS_fanotify_init, SYS_fanotify_mark,
        },
    );
    add(
        "xattr writes",
        &sys! {
            SYS_setxattr, SYS_lsetxattr, SYS_fsetxattr, SYS_removexattr, SYS_lremovexattr,
            SYS_fremovexattr,
        },
    );
    #[cfg(target_arch = "x86_64")]
    add(
        "x86_64 relics: port I/O, LDT, libraries, old sysfs / ustat",
        &sys! {
            SYS_iopl, SYS_ioperm, SYS_modify_ldt, SYS_uselib, SYS_sysfs, SYS_ustat, SYS__sysctl,
        },
    );
    d
}
