//! Runs small C programs that speak the framed ABI by hand and checks the solve section.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use x07_runner::{run_framed, run_framed_in_dir, EnvMode, RunError, RunLimits};
use x07_spec::SolveSection;

/// Compiles `tests/programs/<name>.c` once per test process.
fn program(name: &str) -> PathBuf {
    static BUILT: Mutex<Option<HashMap<String, PathBuf>>> = Mutex::new(None);
    let mut built = BUILT.lock().unwrap_or_else(|e| e.into_inner());
    let built = built.get_or_insert_with(HashMap::new);
    if let Some(exe) = built.get(name) {
        return exe.clone();
    }
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("runner-programs-{}", std::process::id()));
    fs_err::create_dir_all(&dir).unwrap();
    let src = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/programs")
        .join(format!("{name}.c"));
    let exe = dir.join(name);
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".to_string());
    let out = Command::new(&cc)
        .args(["-std=c11", "-D_DEFAULT_SOURCE", "-O1", "-o"])
        .arg(&exe)
        .arg(&src)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{cc} failed on {}: {}",
        src.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    built.insert(name.to_string(), exe.clone());
    exe
}

fn run(name: &str, input: &[u8], limits: &RunLimits) -> SolveSection {
    run_framed(&program(name), input, limits, EnvMode::inherit()).unwrap()
}

fn output(s: &SolveSection) -> Vec<u8> {
    BASE64.decode(&s.solve_output_b64).unwrap()
}

fn frame(payload: &[u8]) -> Vec<u8> {
    [&(payload.len() as u32).to_le_bytes()[..], payload].concat()
}

#[test]
fn echo_returns_the_payload_the_raw_streams_and_the_metrics() {
    let s = run("echo", b"hello", &RunLimits::default());
    assert!(s.ok, "{s:?}");
    assert_eq!(s.exit_status, Some(0));
    assert_eq!(s.solve_output_b64, "aGVsbG8=");
    assert_eq!(BASE64.decode(&s.stdout_b64).unwrap(), frame(b"hello"));
    assert!(String::from_utf8(BASE64.decode(&s.stderr_b64).unwrap())
        .unwrap()
        .starts_with("{\"fuel_used\":5,"));
    assert_eq!(
        (s.fuel_used, s.heap_used, s.kv_set_calls),
        (Some(5), Some(4096), Some(0))
    );
    assert_eq!(
        s.sched_stats.as_ref().unwrap().sched_trace_hash,
        "0x0000000000000000"
    );
    assert_eq!(
        s.mem_stats
            .as_ref()
            .map(|m| (m.alloc_calls, m.memcpy_bytes)),
        Some((1, 5))
    );
    assert_eq!((s.debug_stats, s.trap, s.trap_help), (None, None, None));
}

#[test]
fn empty_and_large_inputs_round_trip() {
    let s = run("echo", b"", &RunLimits::default());
    assert!(s.ok && output(&s).is_empty(), "{s:?}");

    // Larger than any pipe buffer in both directions: stdin and stdout must be pumped together.
    let input: Vec<u8> = (0..3 * 1024 * 1024u32).map(|i| (i % 251) as u8).collect();
    let limits = RunLimits {
        max_output_bytes: 4 << 20,
        ..RunLimits::default()
    };
    let s = run("echo", &input, &limits);
    assert!(s.ok, "{:?}", s.trap);
    assert_eq!(output(&s), input);
}

#[test]
fn passes_fuel_and_memory_flags_and_the_chosen_environment() {
    let limits = RunLimits {
        solve_fuel: 1234,
        max_memory_bytes: 5678,
        ..RunLimits::default()
    };
    let exe = program("args_env_cwd");
    let s = run_framed(
        &exe,
        b"",
        &limits,
        EnvMode::Only(vec![("X07_WORLD".into(), "run-os".into())]),
    )
    .unwrap();
    let text = String::from_utf8(output(&s)).unwrap();
    assert!(
        text.starts_with("--solve-fuel=1234\n--max-memory-bytes=5678|X07_WORLD=run-os|HOME=unset|"),
        "{text}"
    );

    let dir = tempfile::tempdir().unwrap();
    let env = EnvMode::inherit().with("X07_WORLD", "run-os-sandboxed");
    let s = run_framed_in_dir(&exe, b"", &limits, env, Some(dir.path())).unwrap();
    let text = String::from_utf8(output(&s)).unwrap();
    assert!(text.contains("|X07_WORLD=run-os-sandboxed|"), "{text}");
    let cwd = fs_err::canonicalize(dir.path()).unwrap();
    assert!(text.ends_with(&format!("|cwd={}", cwd.display())), "{text}");
}

#[test]
fn a_runtime_trap_reports_its_message_the_signal_status_and_a_hint() {
    let s = run("trap", b"x", &RunLimits::default());
    assert!(!s.ok);
    assert_eq!(s.trap.as_deref(), Some("fuel exhausted ptr=/solve/1"));
    if cfg!(target_arch = "x86_64") {
        assert_eq!(s.exit_status, Some(128 + libc::SIGILL));
    } else {
        assert!(s.exit_status.unwrap() > 128);
    }
    assert_eq!(
        s.trap_help.as_deref(),
        Some("the program ran out of fuel; raise --solve-fuel (current 50000000)")
    );
    assert_eq!(
        (
            s.solve_output_b64.as_str(),
            s.fuel_used,
            s.mem_stats.is_none()
        ),
        ("", None, true)
    );
}

#[test]
fn the_cpu_limit_stops_a_spinning_program() {
    let started = Instant::now();
    let s = run("spin", b"", &RunLimits::with_cpu_seconds(1));
    let took = started.elapsed();
    assert_eq!(s.trap.as_deref(), Some("cpu time limit exceeded"), "{s:?}");
    assert!(!s.ok);
    assert!(
        matches!(s.exit_status, Some(st) if st == 128 + libc::SIGXCPU || st == 128 + libc::SIGKILL)
    );
    assert!(s
        .trap_help
        .unwrap()
        .contains("--cpu-time-limit-seconds (current 1)"));
    assert!(took < Duration::from_secs(5), "took {took:?}");
}

#[test]
fn the_wall_clock_limit_kills_a_waiting_program() {
    let limits = RunLimits {
        wall_time_limit: Duration::from_millis(300),
        ..RunLimits::default()
    };
    let started = Instant::now();
    let s = run("sleeper", b"", &limits);
    let took = started.elapsed();
    assert_eq!(s.trap.as_deref(), Some("timed out"));
    assert_eq!(s.exit_status, Some(128 + libc::SIGKILL));
    assert!(!s.ok && s.solve_output_b64.is_empty());
    assert!(
        took >= Duration::from_millis(300) && took < Duration::from_secs(3),
        "took {took:?}"
    );
}

#[test]
fn a_child_left_behind_does_not_hold_up_the_run_and_is_killed() {
    let limits = RunLimits {
        wall_time_limit: Duration::from_secs(20),
        ..RunLimits::default()
    };
    let started = Instant::now();
    let s = run("lingering_child", b"", &limits);
    assert!(s.ok, "{s:?}");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "took {:?}",
        started.elapsed()
    );
    let pid: libc::pid_t = String::from_utf8(output(&s)).unwrap().parse().unwrap();
    // The child was SIGKILLed with the group; its new parent reaps it shortly after.
    let gone_by = Instant::now() + Duration::from_secs(5);
    while unsafe { libc::kill(pid, 0) } == 0 {
        assert!(Instant::now() < gone_by, "process {pid} survived the run");
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn output_past_the_cap_is_refused() {
    let limits = RunLimits {
        max_output_bytes: 16,
        ..RunLimits::default()
    };
    let started = Instant::now();
    let s = run("big_output", b"", &limits);
    assert_eq!(s.trap.as_deref(), Some("stdout exceeded cap"));
    assert!(!s.ok && s.solve_output_b64.is_empty());
    assert_eq!(
        BASE64.decode(&s.stdout_b64).unwrap().len(),
        4 + 16 + 1,
        "reading stops one byte past a full frame"
    );
    assert!(s
        .trap_help
        .unwrap()
        .contains("--max-output-bytes (current 16)"));
    assert!(started.elapsed() < Duration::from_secs(5));

    // A frame that only declares too much is refused the same way.
    let s = run("bad_frame", b"huge", &limits);
    assert_eq!(s.trap.as_deref(), Some("stdout exceeded cap"));

    // Exactly at the cap is fine.
    let s = run("echo", &[7u8; 16], &limits);
    assert!(s.ok, "{s:?}");
}

#[test]
fn malformed_frames_are_framing_errors() {
    let s = run("bad_frame", b"short", &RunLimits::default());
    assert_eq!(
        s.trap.as_deref(),
        Some("framing error: frame declares 10 payload bytes but stdout has 3")
    );
    assert_eq!(
        (s.ok, s.exit_status, s.fuel_used),
        (false, Some(0), Some(0))
    );
    assert!(s.trap_help.unwrap().contains("os.process.exit"));

    let s = run("bad_frame", b"extra", &RunLimits::default());
    assert_eq!(
        s.trap.as_deref(),
        Some("framing error: frame declares 2 payload bytes but stdout has 3")
    );

    let s = run("bad_frame", b"none", &RunLimits::default());
    assert_eq!(
        s.trap.as_deref(),
        Some("framing error: no output frame on stdout")
    );
    assert!(!s.ok && s.solve_output_b64.is_empty());
}

#[test]
fn a_stderr_flood_is_cut_off() {
    let started = Instant::now();
    let s = run("stderr_flood", b"", &RunLimits::default());
    assert_eq!(s.trap.as_deref(), Some("stderr exceeded cap"));
    assert!(!s.ok);
    assert_eq!(BASE64.decode(&s.stderr_b64).unwrap().len(), 256 * 1024 + 1);
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[test]
fn a_missing_stats_line_is_reported() {
    let s = run("no_metrics", b"abc", &RunLimits::default());
    assert_eq!(
        s.trap.as_deref(),
        Some("missing metrics json line on stderr")
    );
    assert!(!s.ok);
    assert_eq!(output(&s), b"abc", "the output is still reported");
    assert_eq!(s.fuel_used, None);
}

#[test]
fn a_chosen_exit_code_is_not_a_trap() {
    let s = run("exit_code", b"", &RunLimits::default());
    assert_eq!(
        (s.ok, s.exit_status, s.trap.as_deref()),
        (false, Some(3), None)
    );
    assert_eq!(output(&s), b"partial");
    assert_eq!(s.fuel_used, Some(1));
}

#[test]
fn a_program_that_never_reads_its_input_is_fine() {
    let s = run("ignores_stdin", &vec![1u8; 1 << 20], &RunLimits::default());
    assert!(s.ok, "{s:?}");
    assert_eq!(output(&s), b"ok");
}

#[test]
fn a_signal_without_a_message_is_named() {
    let s = run("segfault", b"", &RunLimits::default());
    assert_eq!(
        s.trap,
        Some(format!("terminated by signal {}", libc::SIGSEGV))
    );
    assert_eq!(s.exit_status, Some(128 + libc::SIGSEGV));
}

#[test]
fn a_missing_executable_is_a_run_error_naming_it() {
    let err = run_framed(
        Path::new("/nonexistent/app"),
        b"",
        &RunLimits::default(),
        EnvMode::inherit(),
    )
    .unwrap_err();
    assert!(matches!(err, RunError::Spawn { .. }));
    assert!(
        err.to_string()
            .starts_with("cannot start /nonexistent/app: "),
        "{err}"
    );
}
