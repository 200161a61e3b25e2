//! `run_framed`: run a framed executable once and describe the run as a report's solve section.

use std::path::{Path, PathBuf};

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use x07_spec::{SandboxSummary, SolveSection};

use crate::launcher_end::PendingExit;
use crate::limits::{EnvMode, RunLimits};
use crate::output_frame::parse_frame;
use crate::stderr_lines::{find_denials, find_sandbox_line, find_stats_line, find_trap_line};
use crate::supervised_child::{
    run_child, ChildOutcome, EarlyChild, StopReason, SuperviseError, Termination,
};
use crate::trap_help::{
    trap_help, TRAP_CPU_LIMIT, TRAP_MISSING_METRICS, TRAP_STDERR_CAP, TRAP_STDOUT_CAP,
    TRAP_TIMED_OUT,
};

/// The run could not be carried out at all (as opposed to a program that failed).
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The executable could not be started.
    #[error("cannot start {}: {source}; check that the file exists and is executable", .exe.display())]
    Spawn {
        /// The executable.
        exe: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// Waiting for or talking to the child failed.
    #[error("lost track of {} while it ran: {source}", .exe.display())]
    Supervise {
        /// The executable.
        exe: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The input does not fit the u32 length prefix.
    #[error("the input is {len} bytes; framed input is limited to 4 GiB - 1")]
    InputTooLarge {
        /// Input size.
        len: usize,
    },
}

/// Runs `exe` once with the framed ABI: input on stdin, output frame on stdout, stats on stderr.
pub fn run_framed(
    exe: &Path,
    input: &[u8],
    limits: &RunLimits,
    env: EnvMode,
) -> Result<SolveSection, RunError> {
    run_framed_in_dir(exe, input, limits, env, None)
}

/// [`run_framed`] with the child's working directory set to `cwd` (the project root for `--project`).
pub fn run_framed_in_dir(
    exe: &Path,
    input: &[u8],
    limits: &RunLimits,
    env: EnvMode,
    cwd: Option<&Path>,
) -> Result<SolveSection, RunError> {
    run_launch(
        exe,
        input,
        limits,
        &Launch {
            env,
            cwd,
            policy_blob: None,
            launcher: None,
        },
    )
    .map(|r| r.solve)
}

/// How to start the program.
#[derive(Debug, Clone)]
pub struct Launch<'a> {
    /// The child's environment.
    pub env: EnvMode,
    /// The child's working directory (default: ours).
    pub cwd: Option<&'a Path>,
    /// A PolicyBlobV1 for a sandboxed binary, handed over as an inherited descriptor
    /// (`--x07-policy-fd=N`, docs/internals/sandbox.md).
    pub policy_blob: Option<&'a [u8]>,
    /// The trusted launcher (`x07-launch`) that confines a backend-`os` program before it runs;
    /// it receives the policy and starts `exe` itself.
    pub launcher: Option<&'a Path>,
}

/// The outcome of [`run_launch`].
#[derive(Debug, Clone)]
pub struct Launched {
    /// The report's solve section (with `policy_denials` for sandboxed runs).
    pub solve: SolveSection,
    /// What the sandbox applied, when the runtime reported it.
    pub sandbox: Option<SandboxSummary>,
}

/// Runs `exe` once as described by `launch`.
pub fn run_launch(
    exe: &Path,
    input: &[u8],
    limits: &RunLimits,
    launch: &Launch<'_>,
) -> Result<Launched, RunError> {
    check_input(input)?;
    let outcome = run_child(
        exe,
        input,
        limits,
        &launch.env,
        launch.cwd,
        launch.policy_blob,
        launch.launcher,
    )
    .map_err(|e| run_error(e, exe))?;
    Ok(launched(
        &outcome,
        limits,
        launch.policy_blob.is_some(),
        true,
    ))
}

/// A sandboxed run whose launcher starts before the program is built: the run's namespaces,
/// cgroups and root are made while the build finishes (`x07 run`, backend os). Dropped without
/// [`EarlyLaunch::run`], the run is called off: the launcher undoes what it made and is reaped.
pub struct EarlyLaunch {
    child: EarlyChild,
}

impl EarlyLaunch {
    /// Starts `launcher` with the run's policy blob, environment and working directory.
    pub fn start(
        launcher: &Path,
        policy_blob: &[u8],
        limits: &RunLimits,
        env: &EnvMode,
        cwd: Option<&Path>,
    ) -> Result<Self, RunError> {
        let child = EarlyChild::start(launcher, policy_blob, limits, env, cwd)
            .map_err(|e| run_error(e, launcher))?;
        Ok(Self { child })
    }

    /// Runs `exe` (the built program) in the prepared sandbox, as [`run_launch`] would. The
    /// launcher tells how the run ended before it tears the namespaces down: the report can be
    /// written then, and [`LauncherExit::wait`] waits for the rest.
    pub fn run(
        self,
        exe: &Path,
        input: &[u8],
        limits: &RunLimits,
    ) -> Result<(Launched, Option<LauncherExit>), RunError> {
        check_input(input)?;
        let supervised = self
            .child
            .run(exe, input, limits)
            .map_err(|e| run_error(e, exe))?;
        let outcome = &supervised.outcome;
        let done = launched(outcome, limits, true, supervised.pending.is_none());
        let exit = supervised.pending.map(|pending| LauncherExit {
            pending,
            told: outcome.termination,
            pids_cgroup: done.sandbox.as_ref().and_then(|s| s.pids_cgroup.clone()),
        });
        Ok((done, exit))
    }
}

/// A launcher that told its run's end and is still tearing the run down (its namespaces and
/// cgroups). Nothing of the run is alive any more; waited for by [`LauncherExit::wait`], or
/// when dropped.
#[derive(Debug)]
pub struct LauncherExit {
    pending: PendingExit,
    told: Termination,
    pids_cgroup: Option<String>,
}

impl LauncherExit {
    /// Waits for the launcher. It ends the way it told; when it does not (killed during its
    /// teardown), the run's cgroups are removed here and what happened is returned, to be shown.
    pub fn wait(self) -> Option<String> {
        let ended = self.pending.wait();
        if matches!(ended, Ok(t) if t == self.told) {
            return None;
        }
        if let Some(dir) = &self.pids_cgroup {
            remove_run_cgroups(Path::new(dir));
        }
        Some(match ended {
            Ok(t) => format!(
                "the sandbox launcher ended with {t:?} after telling {:?}; its cgroups were removed",
                self.told
            ),
            Err(e) => format!("lost track of the sandbox launcher after the run ended: {e}"),
        })
    }
}

/// Framed input carries a u32 length.
fn check_input(input: &[u8]) -> Result<(), RunError> {
    match u32::try_from(input.len()) {
        Ok(_) => Ok(()),
        Err(_) => Err(RunError::InputTooLarge { len: input.len() }),
    }
}

fn run_error(e: SuperviseError, exe: &Path) -> RunError {
    match e {
        SuperviseError::Spawn(source) => RunError::Spawn {
            exe: exe.to_path_buf(),
            source,
        },
        SuperviseError::Wait(source) => RunError::Supervise {
            exe: exe.to_path_buf(),
            source,
        },
    }
}

/// The report sections of a finished run (`sandboxed`: the launcher's start-up line, denials;
/// `launcher_ended`: the launcher has been reaped, so its cgroups are checked now).
fn launched(
    outcome: &ChildOutcome,
    limits: &RunLimits,
    sandboxed: bool,
    launcher_ended: bool,
) -> Launched {
    let mut solve = solve_section(outcome, limits);
    let sandbox = sandboxed
        .then(|| find_sandbox_line(&outcome.stderr))
        .flatten();
    if let Some(dir) = sandbox.as_ref().and_then(|s| s.pids_cgroup.as_deref()) {
        if launcher_ended {
            remove_run_cgroups(Path::new(dir));
        }
    }
    if sandboxed {
        solve.policy_denials = Some(find_denials(&outcome.stderr));
    }
    Launched { solve, sandbox }
}

/// How a run elsewhere (in a VM guest) ended, as its host learned it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RemoteEnd {
    /// Exited with this code.
    Exited(i32),
    /// Killed by this signal.
    Signaled(i32),
    /// Stopped at the wall-clock limit.
    TimedOut,
}

/// The report of a sandboxed run that happened elsewhere (the VM backend): the program's framed
/// stdout and its stderr (start-up line, denials, stats line) read the same way as a local run's.
pub fn launched_from_output(
    stdout: Vec<u8>,
    stderr: Vec<u8>,
    end: RemoteEnd,
    limits: &RunLimits,
) -> Launched {
    let outcome = ChildOutcome {
        stdout,
        stderr,
        termination: match end {
            RemoteEnd::Exited(code) => Termination::Exited(code),
            RemoteEnd::Signaled(sig) => Termination::Signaled(sig),
            RemoteEnd::TimedOut => Termination::Signaled(libc::SIGKILL),
        },
        stopped: (end == RemoteEnd::TimedOut).then_some(StopReason::TimedOut),
        cpu_time: std::time::Duration::ZERO,
    };
    let mut solve = solve_section(&outcome, limits);
    solve.policy_denials = Some(find_denials(&outcome.stderr));
    Launched {
        solve,
        sandbox: find_sandbox_line(&outcome.stderr),
    }
}

/// The run's cgroups, normally gone already (the launcher removes or pools its groups); this covers
/// a launcher that was killed. Under cgroup v1 the run also has a memory group beside the pids one.
fn remove_run_cgroups(pids: &Path) {
    remove_run_cgroup(pids);
    if let Ok(rest) = pids.strip_prefix("/sys/fs/cgroup/pids") {
        remove_run_cgroup(&Path::new("/sys/fs/cgroup/memory").join(rest));
    }
}

/// Removes a cgroup of a sandboxed run that is still there after it: kills whatever is still in
/// it, then removes the directory. Only directories of x07's own cgroup trees
/// are touched, whatever the child claimed.
fn remove_run_cgroup(dir: &Path) {
    let owned = dir.starts_with("/sys/fs/cgroup/")
        && dir
            .components()
            .any(|c| c.as_os_str().to_string_lossy().starts_with("x07"));
    if !owned
        || dir
            .components()
            .any(|c| matches!(c, std::path::Component::ParentDir))
    {
        return;
    }
    for _ in 0..50 {
        let procs = std::fs::read_to_string(dir.join("cgroup.procs")).unwrap_or_default();
        let pids: Vec<i32> = procs
            .lines()
            .filter_map(|l| l.trim().parse().ok())
            .collect();
        if pids.is_empty() {
            break;
        }
        for pid in pids {
            // SAFETY: plain kill(2) of processes left in the run's own cgroup.
            unsafe {
                libc::kill(pid, libc::SIGKILL);
            }
        }
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    let _ = std::fs::remove_dir(dir);
}

/// Whether the kernel's CPU limit is what ended the child.
fn hit_cpu_limit(outcome: &ChildOutcome, limits: &RunLimits) -> bool {
    match outcome.termination {
        Termination::Signaled(sig) if sig == libc::SIGXCPU => true,
        // Past the soft limit the kernel sends SIGKILL at the hard limit (one second later).
        Termination::Signaled(sig) if sig == libc::SIGKILL => {
            outcome.stopped.is_none()
                && outcome.cpu_time.as_secs() >= limits.cpu_time_limit_seconds.max(1)
        }
        _ => false,
    }
}

/// Turns what was observed into the report's solve section.
fn solve_section(outcome: &ChildOutcome, limits: &RunLimits) -> SolveSection {
    let (exit_status, abnormal) = match outcome.termination {
        Termination::Exited(code) => (code, code != 0),
        Termination::Signaled(sig) => (128 + sig, true),
    };
    let frame = parse_frame(&outcome.stdout, limits.max_output_bytes);
    let stats = find_stats_line(&outcome.stderr);

    let trap: Option<String> = match outcome.stopped {
        Some(StopReason::TimedOut) => Some(TRAP_TIMED_OUT.to_string()),
        Some(StopReason::StdoutCap) => Some(TRAP_STDOUT_CAP.to_string()),
        Some(StopReason::StderrCap) => Some(TRAP_STDERR_CAP.to_string()),
        None if hit_cpu_limit(outcome, limits) => Some(TRAP_CPU_LIMIT.to_string()),
        None if abnormal => find_trap_line(&outcome.stderr).or_else(|| match outcome.termination {
            Termination::Signaled(sig) => Some(format!("terminated by signal {sig}")),
            // A chosen exit code (process.set_exit_code_v1) with nothing on stderr is not a trap.
            Termination::Exited(_) => None,
        }),
        None => match (&frame, &stats) {
            (Err(e), _) => Some(e.to_string()),
            (Ok(_), None) => Some(TRAP_MISSING_METRICS.to_string()),
            (Ok(_), Some(_)) => None,
        },
    };
    let payload: &[u8] = frame.as_ref().map_or(&[], |p| p);
    let counter = |name: &str| stats.as_ref().and_then(|s| s.counter(name));
    SolveSection {
        ok: !abnormal && frame.is_ok() && trap.is_none(),
        exit_status: Some(exit_status),
        solve_output_b64: BASE64.encode(payload),
        stdout_b64: BASE64.encode(&outcome.stdout),
        stderr_b64: BASE64.encode(&outcome.stderr),
        fuel_used: counter("fuel_used"),
        heap_used: counter("heap_used"),
        fs_read_file_calls: counter("fs_read_file_calls"),
        fs_list_dir_calls: counter("fs_list_dir_calls"),
        rr_open_calls: counter("rr_open_calls"),
        rr_close_calls: counter("rr_close_calls"),
        rr_stats_calls: counter("rr_stats_calls"),
        rr_next_calls: counter("rr_next_calls"),
        rr_next_miss_calls: counter("rr_next_miss_calls"),
        rr_append_calls: counter("rr_append_calls"),
        kv_get_calls: counter("kv_get_calls"),
        kv_set_calls: counter("kv_set_calls"),
        sched_stats: stats.as_ref().and_then(|s| s.sched_stats.clone()),
        mem_stats: stats.as_ref().and_then(|s| s.mem_stats.clone()),
        debug_stats: stats.as_ref().and_then(|s| s.debug_stats.clone()),
        trap_help: trap.as_deref().and_then(|t| trap_help(t, limits)),
        policy_denials: None,
        trap,
    }
}
