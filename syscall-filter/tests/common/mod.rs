//! Helpers shared by the integration tests: installing the filters in a forked child with the raw
//! seccomp system call, reporting probe results back through a pipe, and a classic-BPF
//! interpreter for checking the programs against `describe`.

#![allow(dead_code)]

pub mod bpf;

use std::ffi::CString;

/// The filters as the launcher gets them, with `sock_fprog`s pointing at the bytes, prepared
/// before `fork` so the child does not allocate.
pub struct Prepared {
    bytes: Vec<Vec<u8>>,
    progs: Vec<libc::sock_fprog>,
}

impl Prepared {
    /// Wraps raw filter byte arrays.
    pub fn new(bytes: Vec<Vec<u8>>) -> Self {
        let progs = bytes
            .iter()
            .map(|b| {
                assert_eq!(
                    b.len() % 8,
                    0,
                    "a filter is a whole number of 8-byte instructions"
                );
                libc::sock_fprog {
                    len: u16::try_from(b.len() / 8)
                        .expect("a filter has at most 4096 instructions"),
                    filter: b.as_ptr() as *mut libc::sock_filter,
                }
            })
            .collect();
        Prepared { bytes, progs }
    }

    /// In the child: no_new_privs, then each filter in order; 0 or the failing errno.
    pub fn install(&self) -> i32 {
        // SAFETY: plain system calls on memory owned by self.
        unsafe {
            if libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 {
                return errno();
            }
            for p in &self.progs {
                let r = libc::syscall(
                    libc::SYS_seccomp,
                    libc::SECCOMP_SET_MODE_FILTER,
                    0,
                    p as *const libc::sock_fprog,
                );
                if r != 0 {
                    return errno();
                }
            }
        }
        0
    }
}

/// The calling thread's errno.
pub fn errno() -> i32 {
    // SAFETY: __errno_location always returns the thread's errno slot.
    unsafe { *libc::__errno_location() }
}

/// Sets the calling thread's errno (probes clear it before a call).
pub fn set_errno(v: i32) {
    // SAFETY: as above.
    unsafe { *libc::__errno_location() = v }
}

/// One probe result as sent through the pipe: id, errno, return value.
#[derive(Clone, Copy, Debug)]
pub struct Record {
    pub id: u32,
    pub errno: i32,
    pub ret: i64,
}

const RECORD_LEN: usize = 16;
/// The id a child writes last, so the parent can tell a finished child from a dead one.
pub const DONE: u32 = u32::MAX;
/// The id a child writes when the filters would not install (errno = why).
pub const INSTALL_FAILED: u32 = u32::MAX - 1;

/// Writes one record to fd (child side; no allocation).
pub fn report(fd: i32, id: u32, ret: i64, err: i32) {
    let mut buf = [0u8; RECORD_LEN];
    buf[..4].copy_from_slice(&id.to_le_bytes());
    buf[4..8].copy_from_slice(&err.to_le_bytes());
    buf[8..].copy_from_slice(&ret.to_le_bytes());
    // SAFETY: writing a stack buffer to a pipe we own.
    unsafe {
        libc::write(fd, buf.as_ptr().cast(), RECORD_LEN);
    }
}

/// What the parent learns from a child.
pub struct ChildOutcome {
    pub records: Vec<Record>,
    /// waitpid status.
    pub status: i32,
}

impl ChildOutcome {
    /// True when the child wrote its DONE record.
    pub fn finished(&self) -> bool {
        self.records.iter().any(|r| r.id == DONE)
    }
}

/// Forks; the child runs `body(write_fd)` then exits 0 (it must not return otherwise). The
/// parent collects the records and the exit status.
pub fn in_child(body: impl FnOnce(i32)) -> ChildOutcome {
    let mut fds = [0i32; 2];
    // SAFETY: pipe2 / fork / waitpid with valid pointers; the child only runs `body` and _exit.
    unsafe {
        assert_eq!(libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC), 0);
        let pid = libc::fork();
        assert!(pid >= 0, "fork failed");
        if pid == 0 {
            libc::close(fds[0]);
            body(fds[1]);
            report(fds[1], DONE, 0, 0);
            libc::_exit(0);
        }
        libc::close(fds[1]);
        let mut raw = Vec::new();
        let mut buf = [0u8; 4096];
        loop {
            let n = libc::read(fds[0], buf.as_mut_ptr().cast(), buf.len());
            if n < 0 && errno() == libc::EINTR {
                continue;
            }
            if n <= 0 {
                break;
            }
            raw.extend_from_slice(&buf[..n as usize]);
        }
        libc::close(fds[0]);
        let mut status = 0;
        while libc::waitpid(pid, &mut status, 0) < 0 && errno() == libc::EINTR {}
        let records = raw
            .chunks_exact(RECORD_LEN)
            .map(|c| Record {
                id: u32::from_le_bytes(c[..4].try_into().unwrap()),
                errno: i32::from_le_bytes(c[4..8].try_into().unwrap()),
                ret: i64::from_le_bytes(c[8..].try_into().unwrap()),
            })
            .collect();
        ChildOutcome { records, status }
    }
}

/// A C string (test setup only, before fork).
pub fn cstr(s: &str) -> CString {
    CString::new(s).expect("no NUL in test strings")
}

/// Describes a waitpid status for messages.
pub fn status_text(status: i32) -> String {
    if libc::WIFEXITED(status) {
        format!("exited {}", libc::WEXITSTATUS(status))
    } else if libc::WIFSIGNALED(status) {
        format!("killed by signal {}", libc::WTERMSIG(status))
    } else {
        format!("status {status:#x}")
    }
}
