//! Spawns a framed executable in its own process group, feeds its stdin, collects stdout and stderr
//! under byte caps, enforces the wall-clock deadline, and reaps it with its resource usage.
//!
//! One thread does everything with `poll(2)`: the child's three pipes plus a pidfd that becomes
//! readable when the child exits. Nothing sleeps. Without pidfd support (old kernels) a watchdog
//! thread covers the one case poll cannot: a child that closed its pipes but keeps running.

use std::io::{ErrorKind, Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::process::CommandExt as _;
use std::path::Path;
use std::process::{Child, ChildStderr, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::launcher_end::{read_told_end, termination_of, PendingExit, ToldEnd};
use crate::limits::{EnvMode, RunLimits, STDERR_CAP_BYTES};

/// Why the supervisor stopped the child before it finished on its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StopReason {
    /// The wall-clock limit passed.
    TimedOut,
    /// Stdout went past the frame cap.
    StdoutCap,
    /// Stderr went past its cap.
    StderrCap,
}

/// How the child ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Termination {
    /// Normal exit with this code.
    Exited(i32),
    /// Killed by this signal.
    Signaled(i32),
}

/// Everything observed about one finished child.
#[derive(Debug)]
pub(crate) struct ChildOutcome {
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    pub termination: Termination,
    pub stopped: Option<StopReason>,
    /// User + system CPU time of the child and its reaped descendants.
    pub cpu_time: Duration,
}

/// Failures of the supervisor itself (not of the program).
#[derive(Debug, thiserror::Error)]
pub(crate) enum SuperviseError {
    #[error("cannot start: {0}")]
    Spawn(std::io::Error),
    #[error("lost track of the child process: {0}")]
    Wait(std::io::Error),
}

/// The stdin frame: `u32_le len` then the input, written as the pipe accepts it.
struct InputFeed<'a> {
    header: [u8; 4],
    body: &'a [u8],
    written: usize,
}

impl InputFeed<'_> {
    fn pending(&self) -> &[u8] {
        if self.written < 4 {
            &self.header[self.written..]
        } else {
            &self.body[self.written - 4..]
        }
    }
    fn done(&self) -> bool {
        self.written >= 4 + self.body.len()
    }
}

/// Runs the child to completion. `input.len()` must fit in a u32 (checked by the caller).
pub(crate) fn run_child(
    exe: &Path,
    input: &[u8],
    limits: &RunLimits,
    env: &EnvMode,
    cwd: Option<&Path>,
    policy_blob: Option<&[u8]>,
    launcher: Option<&Path>,
) -> Result<ChildOutcome, SuperviseError> {
    let deadline = Instant::now().checked_add(limits.wall_time_limit);
    // The blob travels in an inheritable memfd that lives only until the child has started.
    let policy_fd = policy_blob
        .map(policy_memfd)
        .transpose()
        .map_err(SuperviseError::Spawn)?;
    let policy_arg = policy_fd
        .as_ref()
        .map(|fd| format!("--x07-policy-fd={}", fd.as_raw_fd()));
    let spawned = spawn(exe, limits, env, cwd, policy_arg.as_deref(), launcher);
    drop(policy_fd);
    let mut child = spawned.map_err(SuperviseError::Spawn)?;
    supervise_to_end(&mut child, input, limits, deadline, None).map(|s| s.outcome)
}

/// A supervised run: what was observed, and the launcher still to wait for when it told the
/// run's end before its own (`--x07-end-fd`).
#[derive(Debug)]
pub(crate) struct Supervised {
    pub outcome: ChildOutcome,
    pub pending: Option<PendingExit>,
}

/// Supervises a started child to its end (or to the end `end` tells); a failure of the
/// supervisor does not leave its group running.
fn supervise_to_end(
    child: &mut Child,
    input: &[u8],
    limits: &RunLimits,
    deadline: Option<Instant>,
    end: Option<std::fs::File>,
) -> Result<Supervised, SuperviseError> {
    let pid = child.id() as libc::pid_t;
    let result = supervise(child, pid, open_pidfd(pid), input, limits, deadline, end);
    if result.is_err() {
        kill_group(pid);
        let _ = reap(pid);
    }
    result
}

/// A launcher started before the program is known (`--x07-program-fd`, docs/internals/sandbox.md):
/// it makes the run's namespaces and cgroups while the caller finishes the build, then runs the
/// program [`EarlyChild::run`] names. Dropped unused, it is called off and reaped.
pub(crate) struct EarlyChild {
    child: Option<Child>,
    /// The write end of the program descriptor: the program and its arguments, then EOF.
    program: Option<std::fs::File>,
    /// The read end of the end descriptor: how the run ended, told before the teardown.
    end: Option<std::fs::File>,
}

impl EarlyChild {
    /// Starts `launcher` with the policy, the environment and the working directory of the run.
    pub(crate) fn start(
        launcher: &Path,
        policy_blob: &[u8],
        limits: &RunLimits,
        env: &EnvMode,
        cwd: Option<&Path>,
    ) -> Result<Self, SuperviseError> {
        let policy_fd = policy_memfd(policy_blob).map_err(SuperviseError::Spawn)?;
        let (read, write) = pipe_to_child(Direction::ToChild).map_err(SuperviseError::Spawn)?;
        let (end_read, end_write) =
            pipe_to_child(Direction::FromChild).map_err(SuperviseError::Spawn)?;
        let args = [
            format!("--x07-policy-fd={}", policy_fd.as_raw_fd()),
            format!("--x07-program-fd={}", read.as_raw_fd()),
            format!("--x07-end-fd={}", end_write.as_raw_fd()),
        ];
        let spawned = spawn_command(launcher, &args, limits, env, cwd);
        drop((policy_fd, read, end_write));
        Ok(Self {
            child: Some(spawned.map_err(SuperviseError::Spawn)?),
            program: Some(std::fs::File::from(write)),
            end: Some(std::fs::File::from(end_read)),
        })
    }

    /// Names the program (`exe` with the run's flags) and supervises the run to its end, or to
    /// the end the launcher tells before its teardown (then still [`Supervised::pending`]).
    pub(crate) fn run(
        mut self,
        exe: &Path,
        input: &[u8],
        limits: &RunLimits,
    ) -> Result<Supervised, SuperviseError> {
        let mut child = self.child.take().expect("an early child runs once");
        let mut spec = exe.as_os_str().as_encoded_bytes().to_vec();
        spec.push(0);
        for flag in run_flags(limits) {
            spec.extend_from_slice(flag.as_bytes());
            spec.push(0);
        }
        if let Some(mut program) = self.program.take() {
            // A launcher that already failed (no user namespace...) has closed its end: what it
            // said is on its stderr, which supervise collects like any run's.
            let _ = program.write_all(&spec);
        }
        let deadline = Instant::now().checked_add(limits.wall_time_limit);
        supervise_to_end(&mut child, input, limits, deadline, self.end.take())
    }
}

impl Drop for EarlyChild {
    fn drop(&mut self) {
        // called off: EOF on the program descriptor; the launcher undoes what it made and ends
        self.program = None;
        if let Some(mut child) = self.child.take() {
            let _ = child.wait();
        }
    }
}

/// Which way a pipe to the launcher carries bytes.
enum Direction {
    /// We write, the launcher reads (the program descriptor).
    ToChild,
    /// The launcher writes, we read (the end descriptor).
    FromChild,
}

/// A pipe `(read, write)` whose launcher's end (per `direction`) is inherited and ours is not.
fn pipe_to_child(direction: Direction) -> std::io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0 as RawFd; 2];
    // SAFETY: pipe2 fills two descriptors we then own; the result is checked.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: fresh descriptors from pipe2.
    let (read, write) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    let theirs = match direction {
        Direction::ToChild => &read,
        Direction::FromChild => &write,
    };
    // SAFETY: fcntl on a descriptor we own: clear close-on-exec so the launcher inherits it.
    if unsafe { libc::fcntl(theirs.as_raw_fd(), libc::F_SETFD, 0) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok((read, write))
}

/// The flags every framed run gets.
fn run_flags(limits: &RunLimits) -> [String; 2] {
    [
        format!("--solve-fuel={}", limits.solve_fuel),
        format!("--max-memory-bytes={}", limits.max_memory_bytes),
    ]
}

/// A memfd holding `blob`, positioned at its start, *without* close-on-exec (so the child inherits it).
fn policy_memfd(blob: &[u8]) -> std::io::Result<OwnedFd> {
    // SAFETY: memfd_create with a static NUL-terminated name; the result is checked.
    let raw = unsafe { libc::memfd_create(c"x07-policy".as_ptr(), 0) };
    if raw < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: `raw` is a fresh descriptor we own.
    let fd = unsafe { OwnedFd::from_raw_fd(raw) };
    let mut file = std::fs::File::from(fd);
    std::io::Write::write_all(&mut file, blob)?;
    std::io::Seek::seek(&mut file, std::io::SeekFrom::Start(0))?;
    Ok(OwnedFd::from(file))
}

/// Starts `exe`, or `launcher -- exe` (the launcher takes the policy and hands it on).
fn spawn(
    exe: &Path,
    limits: &RunLimits,
    env: &EnvMode,
    cwd: Option<&Path>,
    policy_arg: Option<&str>,
    launcher: Option<&Path>,
) -> std::io::Result<Child> {
    let mut args: Vec<std::ffi::OsString> = policy_arg.into_iter().map(Into::into).collect();
    if launcher.is_some() {
        args.push("--".into());
        args.push(exe.into());
    }
    args.extend(run_flags(limits).map(Into::into));
    spawn_command(launcher.unwrap_or(exe), &args, limits, env, cwd)
}

/// Starts `program` with `args`: piped stdio, its own process group, the CPU limit.
fn spawn_command(
    program: &Path,
    args: &[impl AsRef<std::ffi::OsStr>],
    limits: &RunLimits,
    env: &EnvMode,
    cwd: Option<&Path>,
) -> std::io::Result<Child> {
    let mut cmd = Command::new(program);
    cmd.args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    env.apply(&mut cmd);
    // Only when it differs: a working directory to change to makes std fork (a static x07
    // cannot look up posix_spawn_file_actions_addchdir_np) where it would posix_spawn.
    if let Some(dir) = cwd.filter(|d| std::env::current_dir().ok().as_deref() != Some(*d)) {
        cmd.current_dir(dir);
    }
    // No pre_exec closure: it would force fork+exec, and std spawns with posix_spawn (vfork)
    // otherwise, which is measurably cheaper for a warm `x07 run`. The limits are set on the
    // child right after it starts: RLIMIT_CORE is inherited from this process (set once, x07
    // dumps no core of its own either), and RLIMIT_CPU counts the CPU time the child used
    // before prlimit took effect, so nothing escapes it.
    set_rlimit(0, libc::RLIMIT_CORE, 0, 0)?;
    let child = cmd.spawn()?;
    // RLIMIT_CPU of 0 would kill at once; 1 s is the smallest real limit.
    let cpu = limits.cpu_time_limit_seconds.max(1) as libc::rlim_t;
    // Soft limit: SIGXCPU; hard limit one second later: SIGKILL.
    if let Err(e) = set_rlimit(child.id(), libc::RLIMIT_CPU, cpu, cpu.saturating_add(1)) {
        let mut child = child;
        let _ = child.kill();
        let _ = child.wait();
        return Err(e);
    }
    Ok(child)
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
type RlimitResource = libc::__rlimit_resource_t;
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
type RlimitResource = libc::c_int;

/// Sets a limit of process `pid` (0: this process) with prlimit(2), never above this process's
/// own hard limit.
fn set_rlimit(
    pid: u32,
    resource: RlimitResource,
    soft: libc::rlim_t,
    hard: libc::rlim_t,
) -> std::io::Result<()> {
    let mut current = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: plain syscalls on stack values.
    unsafe {
        if libc::getrlimit(resource, &mut current) != 0 {
            return Err(std::io::Error::last_os_error());
        }
        let hard = hard.min(current.rlim_max);
        let limit = libc::rlimit {
            rlim_cur: soft.min(hard),
            rlim_max: hard,
        };
        if libc::prlimit(pid as libc::pid_t, resource, &limit, std::ptr::null_mut()) != 0 {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(())
}

fn set_nonblocking(fd: RawFd) -> std::io::Result<()> {
    // SAFETY: fcntl on a descriptor we own.
    unsafe {
        let flags = libc::fcntl(fd, libc::F_GETFL);
        if flags < 0 || libc::fcntl(fd, libc::F_SETFL, flags | libc::O_NONBLOCK) < 0 {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(())
}

#[cfg(target_os = "linux")]
pub(crate) fn open_pidfd(pid: libc::pid_t) -> Option<OwnedFd> {
    // SAFETY: pidfd_open returns a new descriptor we then own, or -1.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    (fd >= 0).then(|| unsafe { OwnedFd::from_raw_fd(fd as RawFd) })
}

#[cfg(not(target_os = "linux"))]
pub(crate) fn open_pidfd(_pid: libc::pid_t) -> Option<OwnedFd> {
    None
}

pub(crate) fn kill_group(pid: libc::pid_t) {
    // SAFETY: signals the group led by our own, not yet reaped, child; the zombie keeps the id.
    unsafe {
        libc::kill(-pid, libc::SIGKILL);
    }
}

/// Output collected from one pipe, bounded by `cap` bytes.
struct Capture<R> {
    pipe: Option<R>,
    buf: Vec<u8>,
    cap: usize,
}

enum Pumped {
    Open,
    Closed,
    OverCap,
}

impl<R: Read + AsRawFd> Capture<R> {
    fn new(pipe: R, cap: usize) -> std::io::Result<Self> {
        set_nonblocking(pipe.as_raw_fd())?;
        Ok(Self {
            pipe: Some(pipe),
            buf: Vec::new(),
            cap,
        })
    }

    /// Reads whatever is available now, up to the cap.
    fn pump(&mut self) -> std::io::Result<Pumped> {
        let Some(pipe) = self.pipe.as_mut() else {
            return Ok(Pumped::Closed);
        };
        loop {
            if self.buf.len() >= self.cap {
                self.pipe = None;
                return Ok(Pumped::OverCap);
            }
            // a chunk on the stack: growing `buf` by a zeroed 64 KiB per pipe cost a warm
            // `x07 run` 32 page faults for a few bytes of output
            let mut chunk = [0u8; 16 * 1024];
            let want = (self.cap - self.buf.len()).min(chunk.len());
            match pipe.read(&mut chunk[..want]) {
                Ok(0) => {
                    self.pipe = None;
                    return Ok(Pumped::Closed);
                }
                Ok(n) => {
                    self.buf.extend_from_slice(&chunk[..n]);
                    continue;
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => return Ok(Pumped::Open),
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        }
    }
}

fn supervise(
    child: &mut Child,
    pid: libc::pid_t,
    pidfd: Option<OwnedFd>,
    input: &[u8],
    limits: &RunLimits,
    deadline: Option<Instant>,
    mut end: Option<std::fs::File>,
) -> Result<Supervised, SuperviseError> {
    let io_err = SuperviseError::Wait;
    let take = |what: &str| std::io::Error::other(format!("child {what} pipe missing"));
    let mut stdin: Option<ChildStdin> =
        Some(child.stdin.take().ok_or_else(|| io_err(take("stdin")))?);
    let stdout: ChildStdout = child.stdout.take().ok_or_else(|| io_err(take("stdout")))?;
    let stderr: ChildStderr = child.stderr.take().ok_or_else(|| io_err(take("stderr")))?;
    set_nonblocking(stdin.as_ref().map_or(-1, |s| s.as_raw_fd())).map_err(io_err)?;
    let mut out = Capture::new(stdout, limits.stdout_read_cap()).map_err(io_err)?;
    let mut err = Capture::new(stderr, STDERR_CAP_BYTES + 1).map_err(io_err)?;
    let len = u32::try_from(input.len()).expect("input length checked by the caller");
    let mut feed = InputFeed {
        header: len.to_le_bytes(),
        body: input,
        written: 0,
    };

    let mut stopped = None;
    let mut exited = false;
    let mut told: Option<ToldEnd> = None;
    loop {
        if feed.done() {
            stdin = None; // EOF for the child
        }
        // Slots: 0 stdin, 1 stdout, 2 stderr, 3 pidfd, 4 the launcher's end; fd -1 is ignored.
        let mut fds = [
            pollfd(stdin.as_ref().map(AsRawFd::as_raw_fd), libc::POLLOUT),
            pollfd(out.pipe.as_ref().map(AsRawFd::as_raw_fd), libc::POLLIN),
            pollfd(err.pipe.as_ref().map(AsRawFd::as_raw_fd), libc::POLLIN),
            pollfd(pidfd.as_ref().map(AsRawFd::as_raw_fd), libc::POLLIN),
            pollfd(end.as_ref().map(AsRawFd::as_raw_fd), libc::POLLIN),
        ];
        if pidfd.is_none() && out.pipe.is_none() && err.pipe.is_none() {
            break; // only the exit is left to wait for: see wait_without_pidfd
        }
        let timeout = poll_timeout(deadline);
        // SAFETY: fds is a valid array of pollfd for its length.
        let n = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, timeout) };
        if n < 0 {
            let e = std::io::Error::last_os_error();
            if e.kind() == ErrorKind::Interrupted {
                continue;
            }
            return Err(io_err(e));
        }
        if n == 0 {
            if deadline.is_some_and(|d| Instant::now() >= d) {
                stopped = Some(StopReason::TimedOut);
                break;
            }
            continue;
        }
        if fds[0].revents != 0 {
            if let Some(pipe) = stdin.as_mut() {
                match pipe.write(feed.pending()) {
                    Ok(n) => feed.written += n,
                    Err(e)
                        if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::Interrupted) => {}
                    // EPIPE and the like: the child stopped reading; that is its business.
                    Err(_) => stdin = None,
                }
            }
        }
        if fds[1].revents != 0 && matches!(out.pump().map_err(io_err)?, Pumped::OverCap) {
            stopped = Some(StopReason::StdoutCap);
            break;
        }
        if fds[2].revents != 0 && matches!(err.pump().map_err(io_err)?, Pumped::OverCap) {
            stopped = Some(StopReason::StderrCap);
            break;
        }
        if fds[3].revents != 0 {
            exited = true;
            break;
        }
        if fds[4].revents != 0 {
            if let Some(pipe) = end.as_mut() {
                // EOF: the launcher ends without telling; its own exit then says how
                told = read_told_end(pipe).map_err(io_err)?;
                end = None;
                if told.is_some() {
                    break;
                }
            }
        }
    }
    drop(stdin);

    if told.is_none() {
        if stopped.is_none() && !exited {
            // No pidfd and both pipes closed: wait for the exit with a watchdog for the deadline.
            if wait_without_pidfd(pid, deadline).map_err(io_err)? {
                stopped = Some(StopReason::TimedOut);
            }
        }
        // The leader is a zombie or about to die: kill the rest of its group (a child that
        // outlives the program would keep our pipes open), then take what the pipes still hold.
        // A launcher that told the run's end is not killed: every process of the run has ended
        // (what they wrote is in the pipes already) and it is still tearing the run down.
        kill_group(pid);
    }
    if stopped.is_none() && matches!(out.pump().map_err(io_err)?, Pumped::OverCap) {
        stopped = Some(StopReason::StdoutCap);
    }
    // Stderr is drained whatever stopped the run: it carries the trap text, the sandbox start-up
    // line and the denial records, which the report needs most when a run was cut short.
    if !matches!(stopped, Some(StopReason::StderrCap)) {
        let over_cap = matches!(err.pump().map_err(io_err)?, Pumped::OverCap);
        if over_cap && stopped.is_none() {
            stopped = Some(StopReason::StderrCap);
        }
    }
    let (termination, cpu_time, pending) = match told {
        // waited for afterwards
        Some(told) => (told.termination, told.cpu_time, Some(PendingExit::new(pid))),
        None => {
            let (termination, cpu_time) = reap(pid).map_err(io_err)?;
            (termination, cpu_time, None)
        }
    };
    Ok(Supervised {
        outcome: ChildOutcome {
            stdout: out.buf,
            stderr: err.buf,
            termination,
            stopped,
            cpu_time,
        },
        pending,
    })
}

fn pollfd(fd: Option<RawFd>, events: libc::c_short) -> libc::pollfd {
    libc::pollfd {
        fd: fd.unwrap_or(-1),
        events,
        revents: 0,
    }
}

/// Milliseconds until the deadline, rounded up so that poll never wakes early; -1 without one.
pub(crate) fn poll_timeout(deadline: Option<Instant>) -> libc::c_int {
    match deadline {
        None => -1,
        Some(d) => {
            let left = d.saturating_duration_since(Instant::now());
            let ms = left.as_nanos().div_ceil(1_000_000);
            libc::c_int::try_from(ms).unwrap_or(libc::c_int::MAX)
        }
    }
}

/// Blocks until the child exits without reaping it; kills the group at the deadline.
/// Returns whether the deadline was what ended it.
pub(crate) fn wait_without_pidfd(
    pid: libc::pid_t,
    deadline: Option<Instant>,
) -> std::io::Result<bool> {
    if wait_exited(pid, libc::WNOHANG)? {
        return Ok(false);
    }
    let (done, cancelled) = mpsc::channel::<()>();
    let watchdog = deadline.map(|d| {
        std::thread::spawn(move || {
            let left = d.saturating_duration_since(Instant::now());
            if cancelled.recv_timeout(left) == Err(mpsc::RecvTimeoutError::Timeout) {
                kill_group(pid);
                true
            } else {
                false
            }
        })
    });
    wait_exited(pid, 0)?;
    let _ = done.send(());
    Ok(watchdog.is_some_and(|w| w.join().unwrap_or(false)))
}

/// `waitid(WEXITED | WNOWAIT | extra)`: whether the child has exited, leaving it unreaped.
fn wait_exited(pid: libc::pid_t, extra_flags: libc::c_int) -> std::io::Result<bool> {
    loop {
        // SAFETY: siginfo_t is plain data; waitid fills it.
        let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
        let rc = unsafe {
            libc::waitid(
                libc::P_PID,
                pid as libc::id_t,
                &mut info,
                libc::WEXITED | libc::WNOWAIT | extra_flags,
            )
        };
        if rc == 0 {
            // With WNOHANG and no state change, si_pid stays 0.
            return Ok(unsafe { info.si_pid() } != 0);
        }
        let e = std::io::Error::last_os_error();
        if e.kind() != ErrorKind::Interrupted {
            return Err(e);
        }
    }
}

/// Reaps the child: how it ended and the CPU time it used.
pub(crate) fn reap(pid: libc::pid_t) -> std::io::Result<(Termination, Duration)> {
    loop {
        let mut status: libc::c_int = 0;
        // SAFETY: rusage is plain data; wait4 fills it.
        let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
        let rc = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
        if rc == pid {
            let termination = termination_of(status);
            let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, (t.tv_usec as u32) * 1000);
            return Ok((termination, tv(usage.ru_utime) + tv(usage.ru_stime)));
        }
        let e = std::io::Error::last_os_error();
        if e.kind() != ErrorKind::Interrupted {
            return Err(e);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    /// Runs a shell script through the poll loop without a pidfd, as on kernels older than 5.3.
    fn run_script_without_pidfd(script: &str, limits: &RunLimits) -> ChildOutcome {
        let dir = tempfile::tempdir().unwrap();
        let exe = dir.path().join("prog.sh");
        fs_err::write(&exe, format!("#!/bin/sh\n{script}\n")).unwrap();
        fs_err::set_permissions(&exe, std::fs::Permissions::from_mode(0o755)).unwrap();
        // A parallel test's fork may briefly hold the script open for writing (ETXTBSY): retry.
        let mut child = loop {
            match spawn(&exe, limits, &EnvMode::inherit(), None, None, None) {
                Err(e) if e.raw_os_error() == Some(libc::ETXTBSY) => std::thread::yield_now(),
                other => break other.unwrap(),
            }
        };
        let pid = child.id() as libc::pid_t;
        let deadline = Instant::now().checked_add(limits.wall_time_limit);
        supervise(&mut child, pid, None, b"in", limits, deadline, None)
            .unwrap()
            .outcome
    }

    #[test]
    fn without_pidfd_a_normal_exit_is_collected() {
        let out = run_script_without_pidfd(
            "cat >/dev/null; printf 'ok'; echo err >&2",
            &RunLimits::default(),
        );
        assert_eq!(
            (out.stdout.as_slice(), out.stderr.as_slice()),
            (&b"ok"[..], &b"err\n"[..])
        );
        assert_eq!(
            (out.termination, out.stopped),
            (Termination::Exited(0), None)
        );
    }

    #[test]
    fn without_pidfd_the_deadline_still_holds_after_the_pipes_close() {
        let limits = RunLimits {
            wall_time_limit: Duration::from_millis(300),
            ..RunLimits::default()
        };
        let started = Instant::now();
        let out = run_script_without_pidfd("exec >&- 2>&- <&-; sleep 30", &limits);
        assert_eq!(out.stopped, Some(StopReason::TimedOut));
        assert_eq!(out.termination, Termination::Signaled(libc::SIGKILL));
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "took {:?}",
            started.elapsed()
        );
    }
}
