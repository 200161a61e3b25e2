//! The run's end as the launcher tells it (`--x07-end-fd`, docs/internals/sandbox.md): once the
//! run's init has killed and reaped every process of the run, the launcher says how the program
//! ended before it tears the namespaces down and releases the cgroups. The report can be written
//! meanwhile; the launcher is waited for afterwards ([`PendingExit`]).

use std::io::{ErrorKind, Read};
use std::os::fd::{AsRawFd, OwnedFd};
use std::time::{Duration, Instant};

use crate::supervised_child::{
    kill_group, open_pidfd, poll_timeout, reap, wait_without_pidfd, Termination,
};

/// Bytes of the message: the program's wait status (i32) and its CPU time in microseconds (u64),
/// native byte order (launch_run.h, `x7_launch_end_encode`).
const END_LEN: usize = 12;

/// How long the launcher may take to tear the run down after telling its end.
const TEARDOWN_GRACE: Duration = Duration::from_secs(10);

/// What the launcher told: how the program ended and the CPU time it and its children used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ToldEnd {
    pub termination: Termination,
    pub cpu_time: Duration,
}

/// Reads the launcher's message from `end`: `Some` when told, `None` at EOF (the launcher ended
/// without telling: its own exit says how the run ended).
pub(crate) fn read_told_end(end: &mut std::fs::File) -> std::io::Result<Option<ToldEnd>> {
    let mut msg = [0u8; END_LEN];
    let mut got = 0;
    while got < END_LEN {
        match end.read(&mut msg[got..]) {
            Ok(0) => return Ok(None),
            Ok(n) => got += n,
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
    let status = i32::from_ne_bytes(msg[..4].try_into().expect("4 bytes"));
    let cpu_us = u64::from_ne_bytes(msg[4..].try_into().expect("8 bytes"));
    Ok(Some(ToldEnd {
        termination: termination_of(status),
        cpu_time: Duration::from_micros(cpu_us),
    }))
}

/// A wait(2) status as a [`Termination`].
pub(crate) fn termination_of(status: libc::c_int) -> Termination {
    if libc::WIFSIGNALED(status) {
        Termination::Signaled(libc::WTERMSIG(status))
    } else {
        Termination::Exited(libc::WEXITSTATUS(status))
    }
}

/// A launcher that told its run's end and is still tearing the run down: waited for, its group
/// killed and reaped by [`PendingExit::wait`] (or when dropped).
#[derive(Debug)]
pub(crate) struct PendingExit {
    pid: Option<libc::pid_t>,
}

impl PendingExit {
    pub(crate) fn new(pid: libc::pid_t) -> Self {
        Self { pid: Some(pid) }
    }

    /// Waits for the launcher (killing it after [`TEARDOWN_GRACE`]), then kills what is left of
    /// its process group and reaps it: how it ended.
    pub(crate) fn wait(mut self) -> std::io::Result<Termination> {
        self.finish().expect("a pending exit is finished once")
    }

    fn finish(&mut self) -> Option<std::io::Result<Termination>> {
        let pid = self.pid.take()?;
        let deadline = Instant::now() + TEARDOWN_GRACE;
        let waited = match open_pidfd(pid) {
            Some(fd) => wait_pidfd(&fd, pid, deadline),
            None => wait_without_pidfd(pid, Some(deadline)).map(|_| ()),
        };
        // as after any run: the group goes while its leader's id is still held by the zombie
        kill_group(pid);
        Some(
            waited
                .and_then(|()| reap(pid))
                .map(|(termination, _)| termination),
        )
    }
}

impl Drop for PendingExit {
    fn drop(&mut self) {
        let _ = self.finish();
    }
}

/// Polls `pidfd` until the process exits; kills its group at `deadline`.
fn wait_pidfd(fd: &OwnedFd, pid: libc::pid_t, deadline: Instant) -> std::io::Result<()> {
    loop {
        let mut p = libc::pollfd {
            fd: fd.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd.
        let n = unsafe { libc::poll(&mut p, 1, poll_timeout(Some(deadline))) };
        if n > 0 {
            return Ok(());
        }
        if n < 0 {
            let e = std::io::Error::last_os_error();
            if e.kind() == ErrorKind::Interrupted {
                continue;
            }
            return Err(e);
        }
        if Instant::now() >= deadline {
            kill_group(pid);
            return Ok(());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wait_statuses_read_as_terminations() {
        assert_eq!(termination_of(0), Termination::Exited(0));
        assert_eq!(termination_of(3 << 8), Termination::Exited(3));
        assert_eq!(
            termination_of(libc::SIGKILL),
            Termination::Signaled(libc::SIGKILL)
        );
        assert_eq!(
            termination_of(libc::SIGSEGV | 0x80),
            Termination::Signaled(libc::SIGSEGV)
        );
    }

    #[test]
    fn a_told_end_is_read_and_eof_means_none() {
        let (r, mut w) = std::io::pipe().expect("pipe");
        let mut msg = (7i32 << 8).to_ne_bytes().to_vec();
        msg.extend_from_slice(&1_500_000u64.to_ne_bytes());
        std::io::Write::write_all(&mut w, &msg).expect("write");
        drop(w);
        let mut file = std::fs::File::from(OwnedFd::from(r));
        let told = read_told_end(&mut file).expect("read");
        assert_eq!(
            told,
            Some(ToldEnd {
                termination: Termination::Exited(7),
                cpu_time: Duration::from_micros(1_500_000),
            })
        );
        assert_eq!(read_told_end(&mut file).expect("read at EOF"), None);
    }
}
