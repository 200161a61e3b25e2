//! The probes: one system call (or a short sequence) each, with what it must return under the
//! filters for a given policy. They run in a forked child, so they may only make system calls.

use std::ffi::CString;

use crate::common::{errno, set_errno};
use x07_syscall_filter::FilterNeeds;

/// What a probe should see.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Expect {
    /// The call succeeded.
    Ok,
    /// The call failed with this errno.
    Errno(i32),
    /// The filter let the call through: success, or a kernel error other than EPERM.
    Passed,
}

/// Everything a probe needs, made before fork so the child does not allocate.
pub struct Ctx {
    pub file: CString,
    pub dir: CString,
    pub true_bin: CString,
    pub port: u16,
    pub parent: libc::pid_t,
}

pub struct Probe {
    pub name: &'static str,
    pub run: fn(&Ctx) -> i64,
    pub expect: fn(&FilterNeeds) -> Expect,
}

pub const EPERM: Expect = Expect::Errno(libc::EPERM);

fn tcp(n: &FilterNeeds) -> Expect {
    if n.net && n.tcp {
        Expect::Ok
    } else {
        EPERM
    }
}

fn udp(n: &FilterNeeds) -> Expect {
    if n.net && n.udp {
        Expect::Ok
    } else {
        EPERM
    }
}

pub fn sc(nr: i64, a: [u64; 6]) -> i64 {
    // SAFETY: probes pass either valid pointers or values the kernel rejects before using them.
    unsafe { libc::syscall(nr, a[0], a[1], a[2], a[3], a[4], a[5]) }
}

fn socket(domain: i32, ty: i32, proto: i32) -> i64 {
    // SAFETY: plain system call.
    let fd = unsafe { libc::socket(domain, ty, proto) };
    if fd >= 0 {
        // SAFETY: closing the descriptor just made.
        unsafe { libc::close(fd) };
    }
    i64::from(fd)
}

/// A socketpair(AF_UNIX, SOCK_STREAM) end for socket-option probes (-1 if refused).
fn pair_fd() -> i32 {
    let mut sv = [-1i32; 2];
    // SAFETY: valid output array.
    unsafe { libc::socketpair(libc::AF_UNIX, libc::SOCK_STREAM, 0, sv.as_mut_ptr()) };
    sv[0]
}

/// Runs a fork-like raw clone / clone3 result: the new child exits at once, the parent reaps it.
pub fn reap_if_forked(r: i64) -> i64 {
    if r == 0 {
        // SAFETY: we are the accidental child: leave without touching anything.
        unsafe { libc::_exit(0) };
    }
    if r > 0 {
        // SAFETY: reaping our own child.
        unsafe { libc::waitpid(r as i32, std::ptr::null_mut(), 0) };
    }
    r
}

pub fn probes() -> Vec<Probe> {
    macro_rules! p {
        ($name:expr, $expect:expr, $run:expr) => {
            Probe {
                name: $name,
                run: $run,
                expect: $expect,
            }
        };
    }
    let ok = |_: &FilterNeeds| Expect::Ok;
    let eperm = |_: &FilterNeeds| EPERM;
    let passed = |_: &FilterNeeds| Expect::Passed;
    let enosys = |_: &FilterNeeds| Expect::Errno(libc::ENOSYS);
    vec![
        // ---- files, memory, processes: allowed
        p!("open and read a file", ok, |c| unsafe {
            let fd = libc::open(c.file.as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC);
            if fd < 0 {
                return -1;
            }
            let mut buf = [0u8; 16];
            let n = libc::read(fd, buf.as_mut_ptr().cast(), buf.len());
            libc::close(fd);
            if n == 5 && &buf[..5] == b"hello" {
                0
            } else {
                -2
            }
        }),
        p!("create and write a file", ok, |c| unsafe {
            let d = libc::open(c.dir.as_ptr(), libc::O_DIRECTORY | libc::O_CLOEXEC);
            let fd = libc::openat(
                d,
                c"new".as_ptr(),
                libc::O_CREAT | libc::O_WRONLY | libc::O_CLOEXEC,
                0o600,
            );
            let r = if fd >= 0 {
                libc::write(fd, b"x".as_ptr().cast(), 1) as i64
            } else {
                -1
            };
            libc::close(fd);
            libc::close(d);
            r
        }),
        p!("mknodat a FIFO", ok, |c| unsafe {
            let d = libc::open(c.dir.as_ptr(), libc::O_DIRECTORY | libc::O_CLOEXEC);
            let r = libc::mknodat(d, c"fifo".as_ptr(), libc::S_IFIFO | 0o600, 0);
            libc::close(d);
            i64::from(r)
        }),
        p!("mknodat a character device", eperm, |c| unsafe {
            let d = libc::open(c.dir.as_ptr(), libc::O_DIRECTORY | libc::O_CLOEXEC);
            let r = libc::mknodat(
                d,
                c"null".as_ptr(),
                libc::S_IFCHR | 0o600,
                libc::makedev(1, 3),
            );
            libc::close(d);
            i64::from(r)
        }),
        p!("memfd_create, pipe2, eventfd, epoll", ok, |_| unsafe {
            let m = libc::memfd_create(c"probe".as_ptr(), libc::MFD_CLOEXEC);
            let mut p = [0i32; 2];
            let pr = libc::pipe2(p.as_mut_ptr(), libc::O_CLOEXEC);
            let e = libc::eventfd(0, libc::EFD_CLOEXEC);
            let ep = libc::epoll_create1(libc::EPOLL_CLOEXEC);
            let ok = m >= 0 && pr == 0 && e >= 0 && ep >= 0;
            for fd in [m, p[0], p[1], e, ep] {
                libc::close(fd);
            }
            if ok {
                0
            } else {
                -1
            }
        }),
        p!("FIONREAD on a pipe", ok, |_| unsafe {
            let mut p = [0i32; 2];
            libc::pipe2(p.as_mut_ptr(), libc::O_CLOEXEC);
            libc::write(p[1], b"abc".as_ptr().cast(), 3);
            let mut n: libc::c_int = 0;
            let r = libc::ioctl(p[0], libc::FIONREAD, &mut n);
            libc::close(p[0]);
            libc::close(p[1]);
            if r == 0 && n == 3 {
                0
            } else {
                -1
            }
        }),
        p!(
            "TCGETS on a file (ENOTTY from the kernel)",
            |_| Expect::Errno(libc::ENOTTY),
            |c| unsafe {
                let fd = libc::open(c.file.as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC);
                let mut t: libc::termios = std::mem::zeroed();
                let r = libc::ioctl(fd, libc::TCGETS, &mut t);
                let e = errno();
                libc::close(fd);
                set_errno(e);
                i64::from(r)
            }
        ),
        p!(
            "posix_spawn /bin/true (clone3 falls back to clone)",
            ok,
            |c| unsafe {
                let mut pid = 0;
                let argv = [
                    c.true_bin.as_ptr() as *mut libc::c_char,
                    std::ptr::null_mut(),
                ];
                let envp = [std::ptr::null_mut::<libc::c_char>()];
                let e = libc::posix_spawn(
                    &mut pid,
                    c.true_bin.as_ptr(),
                    std::ptr::null(),
                    std::ptr::null(),
                    argv.as_ptr(),
                    envp.as_ptr(),
                );
                if e != 0 {
                    set_errno(e);
                    return -1;
                }
                let mut st = 0;
                libc::waitpid(pid, &mut st, 0);
                if libc::WIFEXITED(st) && libc::WEXITSTATUS(st) == 0 {
                    0
                } else {
                    -2
                }
            }
        ),
        p!("pthread_create", ok, |_| unsafe {
            extern "C" fn body(_: *mut libc::c_void) -> *mut libc::c_void {
                7 as *mut libc::c_void
            }
            let mut t: libc::pthread_t = 0;
            let e = libc::pthread_create(&mut t, std::ptr::null(), body, std::ptr::null_mut());
            if e != 0 {
                set_errno(e);
                return -1;
            }
            let mut out = std::ptr::null_mut();
            libc::pthread_join(t, &mut out);
            if out as usize == 7 {
                0
            } else {
                -2
            }
        }),
        p!("fork", ok, |_| unsafe {
            let pid = libc::fork();
            if pid == 0 {
                libc::_exit(7);
            }
            let mut st = 0;
            libc::waitpid(pid, &mut st, 0);
            if pid > 0 && libc::WEXITSTATUS(st) == 7 {
                0
            } else {
                -1
            }
        }),
        p!("clone(SIGCHLD)", ok, |_| reap_if_forked(sc(
            libc::SYS_clone,
            [libc::SIGCHLD as u64, 0, 0, 0, 0, 0]
        ))
        .min(0)),
        p!("kill(self, 0)", ok, |_| i64::from(unsafe {
            libc::kill(libc::getpid(), 0)
        })),
        p!("getrandom", ok, |_| {
            let mut b = [0u8; 16];
            (unsafe { libc::getrandom(b.as_mut_ptr().cast(), 16, 0) }).min(0) as i64
        }),
        p!("prlimit64 on itself", ok, |_| unsafe {
            let mut old: libc::rlimit64 = std::mem::zeroed();
            i64::from(libc::prlimit64(
                0,
                libc::RLIMIT_NOFILE,
                std::ptr::null(),
                &mut old,
            ))
        }),
        p!("setpriority on itself", ok, |_| unsafe {
            i64::from(libc::setpriority(
                libc::PRIO_PROCESS,
                0,
                libc::getpriority(libc::PRIO_PROCESS, 0),
            ))
        }),
        p!("sched_setaffinity on itself", ok, |_| unsafe {
            let mut set: libc::cpu_set_t = std::mem::zeroed();
            libc::sched_getaffinity(0, std::mem::size_of_val(&set), &mut set);
            i64::from(libc::sched_setaffinity(
                0,
                std::mem::size_of_val(&set),
                &set,
            ))
        }),
        p!("personality query", passed, |_| i64::from(unsafe {
            libc::personality(0xffff_ffff)
        })),
        p!("prctl PR_SET_NAME", ok, |_| i64::from(unsafe {
            libc::prctl(libc::PR_SET_NAME, c"probe".as_ptr())
        })),
        p!("prctl PR_GET_NO_NEW_PRIVS", ok, |_| i64::from(unsafe {
            libc::prctl(libc::PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0)
        }) - 1),
        // ---- sockets
        p!(
            "socket AF_INET TCP + connect to the test listener",
            tcp,
            |c| unsafe {
                let fd = libc::socket(libc::AF_INET, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0);
                if fd < 0 {
                    return -1;
                }
                let addr = libc::sockaddr_in {
                    sin_family: libc::AF_INET as libc::sa_family_t,
                    sin_port: c.port.to_be(),
                    sin_addr: libc::in_addr {
                        s_addr: u32::from_be_bytes([127, 0, 0, 1]).to_be(),
                    },
                    sin_zero: [0; 8],
                };
                let r = libc::connect(
                    fd,
                    (&addr as *const libc::sockaddr_in).cast(),
                    std::mem::size_of_val(&addr) as u32,
                );
                let e = errno();
                libc::close(fd);
                set_errno(e);
                i64::from(r)
            }
        ),
        p!(
            "socket AF_INET6 SOCK_STREAM|NONBLOCK IPPROTO_TCP",
            tcp,
            |_| socket(
                libc::AF_INET6,
                libc::SOCK_STREAM | libc::SOCK_NONBLOCK,
                libc::IPPROTO_TCP
            )
        ),
        p!("socket AF_INET SOCK_DGRAM", udp, |_| socket(
            libc::AF_INET,
            libc::SOCK_DGRAM | libc::SOCK_CLOEXEC,
            0
        )),
        p!("socket AF_INET6 SOCK_DGRAM IPPROTO_UDP", udp, |_| socket(
            libc::AF_INET6,
            libc::SOCK_DGRAM,
            libc::IPPROTO_UDP
        )),
        p!("socket AF_INET IPPROTO_MPTCP", eperm, |_| socket(
            libc::AF_INET,
            libc::SOCK_STREAM,
            262
        )),
        p!(
            "socket AF_INET SOCK_STREAM with an unknown type bit",
            eperm,
            |_| socket(libc::AF_INET, libc::SOCK_STREAM | 0x100, 0)
        ),
        p!("socket AF_INET SOCK_RAW", eperm, |_| socket(
            libc::AF_INET,
            libc::SOCK_RAW,
            libc::IPPROTO_ICMP
        )),
        p!(
            "socket AF_INET ping (SOCK_DGRAM IPPROTO_ICMP)",
            eperm,
            |_| socket(libc::AF_INET, libc::SOCK_DGRAM, libc::IPPROTO_ICMP)
        ),
        p!("socket AF_NETLINK", eperm, |_| socket(
            libc::AF_NETLINK,
            libc::SOCK_RAW,
            libc::NETLINK_ROUTE
        )),
        p!("socket AF_VSOCK", eperm, |_| socket(
            libc::AF_VSOCK,
            libc::SOCK_STREAM,
            0
        )),
        p!("socket AF_PACKET", eperm, |_| socket(
            libc::AF_PACKET,
            libc::SOCK_RAW,
            0
        )),
        p!("socket AF_UNIX", eperm, |_| socket(
            libc::AF_UNIX,
            libc::SOCK_STREAM,
            0
        )),
        p!("socketpair AF_UNIX SOCK_STREAM", ok, |_| i64::from(
            pair_fd().min(0)
        )),
        p!("socketpair AF_UNIX SOCK_DGRAM", eperm, |_| unsafe {
            let mut sv = [0i32; 2];
            i64::from(libc::socketpair(
                libc::AF_UNIX,
                libc::SOCK_DGRAM,
                0,
                sv.as_mut_ptr(),
            ))
        }),
        p!("socketpair AF_UNIX SOCK_SEQPACKET", eperm, |_| unsafe {
            let mut sv = [0i32; 2];
            i64::from(libc::socketpair(
                libc::AF_UNIX,
                libc::SOCK_SEQPACKET,
                0,
                sv.as_mut_ptr(),
            ))
        }),
        p!("listen", eperm, |_| i64::from(unsafe {
            libc::listen(pair_fd(), 1)
        })),
        p!("accept4", eperm, |_| i64::from(unsafe {
            libc::accept4(pair_fd(), std::ptr::null_mut(), std::ptr::null_mut(), 0)
        })),
        p!("accept", eperm, |_| sc(
            libc::SYS_accept,
            [pair_fd() as u64, 0, 0, 0, 0, 0]
        )),
        p!("bind", eperm, |_| sc(
            libc::SYS_bind,
            [pair_fd() as u64, 0, 0, 0, 0, 0]
        )),
        p!("setsockopt SO_KEEPALIVE", ok, |_| unsafe {
            let one: libc::c_int = 1;
            i64::from(libc::setsockopt(
                pair_fd(),
                libc::SOL_SOCKET,
                libc::SO_KEEPALIVE,
                (&one as *const i32).cast(),
                4,
            ))
        }),
        p!("setsockopt SO_ATTACH_FILTER", eperm, |_| unsafe {
            let prog: libc::sock_fprog = std::mem::zeroed();
            i64::from(libc::setsockopt(
                pair_fd(),
                libc::SOL_SOCKET,
                libc::SO_ATTACH_FILTER,
                (&prog as *const libc::sock_fprog).cast(),
                std::mem::size_of_val(&prog) as u32,
            ))
        }),
        p!("setsockopt TCP_ULP", eperm, |_| unsafe {
            i64::from(libc::setsockopt(
                pair_fd(),
                libc::IPPROTO_TCP,
                31,
                c"tls".as_ptr().cast(),
                3,
            ))
        }),
        // ---- namespaces, mounts, IPC
        p!("shmget", eperm, |_| i64::from(unsafe {
            libc::shmget(libc::IPC_PRIVATE, 4096, libc::IPC_CREAT | 0o600)
        })),
        p!("msgget", eperm, |_| i64::from(unsafe {
            libc::msgget(libc::IPC_PRIVATE, libc::IPC_CREAT | 0o600)
        })),
        p!("semget", eperm, |_| i64::from(unsafe {
            libc::semget(libc::IPC_PRIVATE, 1, libc::IPC_CREAT | 0o600)
        })),
        p!("unshare(CLONE_NEWUSER)", eperm, |_| i64::from(unsafe {
            libc::unshare(libc::CLONE_NEWUSER)
        })),
        p!("unshare(CLONE_NEWNET)", eperm, |_| i64::from(unsafe {
            libc::unshare(libc::CLONE_NEWNET)
        })),
        p!("setns", eperm, |_| i64::from(unsafe { libc::setns(0, 0) })),
        p!("mount", eperm, |_| i64::from(unsafe {
            libc::mount(
                c"none".as_ptr(),
                c"/".as_ptr(),
                c"tmpfs".as_ptr(),
                0,
                std::ptr::null(),
            )
        })),
        p!("chroot", eperm, |_| i64::from(unsafe {
            libc::chroot(c"/".as_ptr())
        })),
        p!("pivot_root", eperm, |_| sc(libc::SYS_pivot_root, [0; 6])),
        p!("fsopen", eperm, |_| sc(libc::SYS_fsopen, [0; 6])),
        p!("open_tree", eperm, |_| sc(libc::SYS_open_tree, [0; 6])),
        p!("listmount", eperm, |_| sc(458, [0; 6])),
        p!("clone(CLONE_NEWUSER)", eperm, |_| reap_if_forked(sc(
            libc::SYS_clone,
            [(libc::CLONE_NEWUSER | libc::SIGCHLD) as u64, 0, 0, 0, 0, 0]
        ))),
        p!(
            "clone(CLONE_NEWNS|CLONE_NEWPID)",
            eperm,
            |_| reap_if_forked(sc(
                libc::SYS_clone,
                [
                    (libc::CLONE_NEWNS | libc::CLONE_NEWPID | libc::SIGCHLD) as u64,
                    0,
                    0,
                    0,
                    0,
                    0
                ]
            ))
        ),
        p!("clone(CLONE_NEWNET) with junk above bit 31", eperm, |_| {
            reap_if_forked(sc(
                libc::SYS_clone,
                [
                    (0xffff_0000_0000_0000 | (libc::CLONE_NEWNET | libc::SIGCHLD) as u64),
                    0,
                    0,
                    0,
                    0,
                    0,
                ],
            ))
        }),
        p!("clone3", enosys, |_| {
            let mut args = [0u64; 11];
            args[4] = libc::SIGCHLD as u64; // exit_signal
            reap_if_forked(sc(libc::SYS_clone3, [args.as_ptr() as u64, 88, 0, 0, 0, 0]))
        }),
        p!("clone3(CLONE_NEWUSER)", enosys, |_| {
            let mut args = [0u64; 11];
            args[0] = libc::CLONE_NEWUSER as u64;
            args[4] = libc::SIGCHLD as u64;
            reap_if_forked(sc(libc::SYS_clone3, [args.as_ptr() as u64, 88, 0, 0, 0, 0]))
        }),
        // ---- other processes
        p!("setpriority on the parent", eperm, |c| i64::from(unsafe {
            libc::setpriority(libc::PRIO_PROCESS, c.parent as u32, 0)
        })),
        p!("setpriority on the process group", eperm, |_| i64::from(
            unsafe { libc::setpriority(libc::PRIO_PGRP, 0, 0) }
        )),
        p!("prlimit64 on the parent", eperm, |c| unsafe {
            let mut old: libc::rlimit64 = std::mem::zeroed();
            i64::from(libc::prlimit64(
                c.parent,
                libc::RLIMIT_NOFILE,
                std::ptr::null(),
                &mut old,
            ))
        }),
        p!("sched_setaffinity on the parent", eperm, |c| unsafe {
            let set: libc::cpu_set_t = std::mem::zeroed();
            i64::from(libc::sched_setaffinity(
                c.parent,
                std::mem::size_of_val(&set),
                &set,
            ))
        }),
        p!("ioprio_set on the parent", eperm, |c| sc(
            libc::SYS_ioprio_set,
            [1, c.parent as u64, 0, 0, 0, 0]
        )),
        p!("ptrace(PTRACE_TRACEME)", eperm, |_| sc(
            libc::SYS_ptrace,
            [libc::PTRACE_TRACEME as u64, 0, 0, 0, 0, 0]
        )),
        p!("process_vm_readv", eperm, |c| sc(
            libc::SYS_process_vm_readv,
            [c.parent as u64, 0, 0, 0, 0, 0]
        )),
        p!("pidfd_getfd", eperm, |_| sc(libc::SYS_pidfd_getfd, [0; 6])),
        p!("kcmp", eperm, |_| sc(libc::SYS_kcmp, [0; 6])),
        // ---- kernel attack surface, terminals, personality, prctl
        p!("bpf", eperm, |_| sc(libc::SYS_bpf, [0; 6])),
        p!("perf_event_open", eperm, |_| sc(
            libc::SYS_perf_event_open,
            [0; 6]
        )),
        p!("userfaultfd", eperm, |_| sc(libc::SYS_userfaultfd, [0; 6])),
        p!("io_uring_setup", eperm, |_| sc(
            libc::SYS_io_uring_setup,
            [0; 6]
        )),
        p!("keyctl", eperm, |_| sc(libc::SYS_keyctl, [0; 6])),
        p!("name_to_handle_at", eperm, |_| sc(
            libc::SYS_name_to_handle_at,
            [0; 6]
        )),
        p!("ioctl TIOCSTI", eperm, |c| unsafe {
            let fd = libc::open(c.file.as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC);
            let ch = b'x';
            i64::from(libc::ioctl(fd, libc::TIOCSTI, &ch))
        }),
        p!("ioctl TIOCSTI with junk above bit 31", eperm, |_| sc(
            libc::SYS_ioctl,
            [0, 0xabcd_0000_0000_5412, 0, 0, 0, 0]
        )),
        p!("ioctl TIOCLINUX", eperm, |_| sc(
            libc::SYS_ioctl,
            [0, 0x541c, 0, 0, 0, 0]
        )),
        p!("ioctl TIOCSETD", eperm, |_| sc(
            libc::SYS_ioctl,
            [0, 0x5423, 0, 0, 0, 0]
        )),
        p!("personality(PER_LINUX32)", eperm, |_| i64::from(unsafe {
            libc::personality(0x0008)
        })),
        p!("personality(READ_IMPLIES_EXEC)", eperm, |_| i64::from(
            unsafe { libc::personality(0x0040_0000) }
        )),
        p!("prctl PR_SET_MM", eperm, |_| i64::from(unsafe {
            libc::prctl(libc::PR_SET_MM, 0, 0, 0, 0)
        })),
        p!("prctl PR_SET_PTRACER", eperm, |_| i64::from(unsafe {
            libc::prctl(0x5961_6d61, 0, 0, 0, 0)
        })),
        p!("settimeofday", eperm, |_| sc(
            libc::SYS_settimeofday,
            [0; 6]
        )),
    ]
}
