//! Judging one run of an attack against its expectation: every failed check is listed, followed
//! by what the run printed, so one failure message says everything.

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::Value;

use super::attack::Expectation;
use super::run_view::RunView;
use super::stage::Stage;

/// Output that proves an attack got through; no attack run may ever start with it.
pub const LEAK_MARKER: &[u8] = b"LEAKED";

/// Checks `run` against `expect`; `Err` lists every check that failed.
pub fn judge(expect: &Expectation, run: &RunView, stage: &Stage) -> Result<(), String> {
    let mut failures = Vec::new();
    let mut fail = |msg: String| failures.push(msg);

    if run.output.starts_with(LEAK_MARKER) {
        fail("the program got through: its output starts with LEAKED".into());
    }
    check_ending(expect, run, stage, &mut fail);
    check_stopped(expect, run, stage, &mut fail);
    check_why(expect, run, stage, &mut fail);

    conclude(&failures, run)
}

/// The verdict on a sealed bundle's run of an attack: the same evidence that the attack had no
/// effect, the same outputs and denial records; an expected trap only as "it did not succeed"
/// (a limit kills a bundle without a report to name it), and no start-up summary to check.
pub fn judge_bundle(expect: &Expectation, run: &RunView, stage: &Stage) -> Result<(), String> {
    let mut failures = Vec::new();
    let mut fail = |msg: String| failures.push(msg);
    if run.output.starts_with(LEAK_MARKER) {
        fail("the program got through: its output starts with LEAKED".into());
    }
    let wants_trap =
        expect.trap.is_some() || expect.trap_prefix.is_some() || !expect.trap_contains.is_empty();
    let mut relaxed = expect.clone();
    relaxed.trap = None;
    relaxed.trap_prefix = None;
    relaxed.trap_contains.clear();
    relaxed.restrictions.clear();
    relaxed.pids_mechanism_in.clear();
    if wants_trap && run.ok {
        fail("the bundle should have been stopped (trap or limit), but it exited 0".into());
    }
    check_ending(&relaxed, run, stage, &mut fail);
    check_stopped(expect, run, stage, &mut fail);
    check_why(&relaxed, run, stage, &mut fail);
    conclude(&failures, run)
}

/// `Ok` without failures; otherwise one line per failure and what the run showed.
fn conclude(failures: &[String], run: &RunView) -> Result<(), String> {
    if failures.is_empty() {
        return Ok(());
    }
    let list: Vec<String> = failures.iter().map(|f| format!("- {f}")).collect();
    Err(format!("{}\n\n{}", list.join("\n"), run.describe()))
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Output, trap and duration: how the run ended. Expected texts may hold placeholders.
fn check_ending(expect: &Expectation, run: &RunView, stage: &Stage, fail: &mut impl FnMut(String)) {
    let expand = |t: &str| stage.expand(t).unwrap_or_else(|e| format!("<{e}>"));
    let output = text(&run.output);
    let wants_output = expect.output.is_some() || expect.output_prefix.is_some();
    if wants_output && !run.ok {
        fail(format!(
            "the run should succeed with an output, but it ended with trap {:?}",
            run.trap
        ));
    }
    if let Some(want) = expect.output.as_deref().map(expand) {
        if output != want {
            fail(format!("output should be {want:?}, was {output:?}"));
        }
    }
    if let Some(prefix) = expect.output_prefix.as_deref().map(expand) {
        if !output.starts_with(&prefix) {
            fail(format!(
                "output should start with {prefix:?}, was {output:?}"
            ));
        }
    }
    for needle in expect.output_contains.iter().map(|n| expand(n)) {
        if !output.contains(&needle) {
            fail(format!("output should contain {needle:?}, was {output:?}"));
        }
    }
    let trap = run.trap.as_deref().unwrap_or_default();
    if let Some(want) = expect.trap.as_deref().map(expand) {
        if run.ok || trap != want {
            fail(format!(
                "the run should trap with {want:?}; ok={}, trap={:?}",
                run.ok, run.trap
            ));
        }
    }
    if let Some(prefix) = expect.trap_prefix.as_deref().map(expand) {
        if run.ok || !trap.starts_with(&prefix) {
            fail(format!(
                "the run should trap with {prefix:?}…; ok={}, trap={:?}",
                run.ok, run.trap
            ));
        }
    }
    for needle in expect.trap_contains.iter().map(|n| expand(n)) {
        if !trap.contains(&needle) {
            fail(format!(
                "the trap should contain {needle:?}; trap={:?}",
                run.trap
            ));
        }
    }
    if let Some(max) = expect.max_run_seconds {
        match run.elapsed {
            Some(took) if took > Duration::from_secs(max) => fail(format!(
                "the run took {took:?}, the bound is {max} s: the policy's limit did not stop it"
            )),
            Some(_) => {}
            None => fail("the run's duration was not measured".into()),
        }
    }
}

/// The evidence that the attack had no effect.
fn check_stopped(
    expect: &Expectation,
    run: &RunView,
    stage: &Stage,
    fail: &mut impl FnMut(String),
) {
    for secret in &expect.never {
        for (place, bytes) in [
            ("output", &run.output),
            ("stdout", &run.stdout),
            ("stderr", &run.stderr),
        ] {
            if text(bytes).contains(secret.as_str()) {
                fail(format!("{secret:?} leaked into the program's {place}"));
            }
        }
    }
    for p in &expect.absent_paths {
        match stage.path(p) {
            Err(e) => fail(e),
            Ok(path) if path.symlink_metadata().is_ok() => {
                fail(format!("{} should not exist after the run", path.display()))
            }
            Ok(_) => {}
        }
    }
    for (p, want) in &expect.file_contents {
        match stage.path(p) {
            Err(e) => fail(e),
            Ok(path) => match fs_err::read(&path) {
                Ok(got) if got == want.as_bytes() => {}
                Ok(got) => fail(format!(
                    "{} should hold {want:?}, holds {:?}",
                    path.display(),
                    text(&got)
                )),
                Err(e) => fail(format!("{} should hold {want:?}: {e}", path.display())),
            },
        }
    }
    for (p, max) in &expect.file_lines_at_most {
        match stage.path(p) {
            Err(e) => fail(e),
            Ok(path) => {
                let lines = fs_err::read(&path)
                    .map(|b| b.iter().filter(|c| **c == b'\n').count())
                    .unwrap_or(0);
                if lines > *max {
                    fail(format!(
                        "{} has {lines} lines, the bound is {max}",
                        path.display()
                    ));
                }
            }
        }
    }
    for (name, max) in &expect.counts_at_most {
        match count_in_output(&run.output, name) {
            None => fail(format!(
                "the output has no `{name}:<number>` token: {:?}",
                text(&run.output)
            )),
            Some(n) if n > *max => fail(format!("{name} reached {n}, the bound is {max}")),
            Some(_) => {}
        }
    }
    for name in &expect.untouched_listeners {
        match stage.listener(name) {
            Err(e) => fail(e),
            Ok(l) => match l.accepted() {
                0 => {}
                n => fail(format!(
                    "listener {name} (port {}) accepted {n} connection(s)",
                    l.port()
                )),
            },
        }
    }
    for pattern in &expect.no_processes_matching {
        match stage.expand(pattern) {
            Err(e) => fail(e),
            Ok(pattern) => {
                let left = processes_matching(&pattern, Duration::from_secs(2));
                if !left.is_empty() {
                    fail(format!(
                        "processes matching {pattern:?} outlived the run: {left:?}"
                    ));
                }
            }
        }
    }
}

/// The report's explanation.
fn check_why(expect: &Expectation, run: &RunView, stage: &Stage, fail: &mut impl FnMut(String)) {
    if let Some(want) = &expect.denial {
        let target = match want
            .target_contains
            .as_deref()
            .map(|t| stage.expand(t))
            .transpose()
        {
            Ok(t) => t,
            Err(e) => {
                fail(e);
                None
            }
        };
        match &run.denials {
            None => fail("the report has no solve.policy_denials".into()),
            Some(list) => {
                let found = list.iter().any(|d| {
                    d.op == want.op
                        && want.rule.accepts(&d.rule)
                        && target.as_deref().is_none_or(|t| d.target.contains(t))
                });
                if !found {
                    fail(format!(
                        "solve.policy_denials should hold op {:?}, rule {:?}{}; it holds {list:?}",
                        want.op,
                        want.rule,
                        target
                            .map(|t| format!(", target containing {t:?}"))
                            .unwrap_or_default()
                    ));
                }
            }
        }
    }
    if !expect.restrictions.is_empty() {
        let have = run.restrictions();
        if run.sandbox.is_none() {
            fail("the report has no `sandbox` summary (the runtime's start-up line)".into());
        }
        for r in &expect.restrictions {
            if !have.contains(r) {
                fail(format!(
                    "sandbox.restrictions should list {r:?}; it lists {have:?}"
                ));
            }
        }
    }
    if !expect.pids_mechanism_in.is_empty() {
        let got = run
            .sandbox
            .as_ref()
            .and_then(|s| s.get("pids_mechanism"))
            .and_then(Value::as_str);
        if !got.is_some_and(|g| expect.pids_mechanism_in.iter().any(|w| w == g)) {
            fail(format!(
                "sandbox.pids_mechanism should be one of {:?}, is {got:?}",
                expect.pids_mechanism_in
            ));
        }
    }
}

/// The number after `name:` in the whitespace-separated tokens of `output`.
pub fn count_in_output(output: &[u8], name: &str) -> Option<u64> {
    let text = String::from_utf8_lossy(output);
    text.split_whitespace()
        .filter_map(|tok| tok.strip_prefix(name)?.strip_prefix(':')?.parse().ok())
        .next()
}

/// Command lines (arguments joined by spaces) of live processes containing `pattern`, waiting up
/// to `patience` for them to go away.
pub fn processes_matching(pattern: &str, patience: Duration) -> Vec<String> {
    let deadline = Instant::now() + patience;
    loop {
        let found = scan_processes(pattern);
        if found.is_empty() || Instant::now() >= deadline {
            return found;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn scan_processes(pattern: &str) -> Vec<String> {
    let Ok(entries) = fs_err::read_dir("/proc") else {
        return Vec::new();
    };
    let me = std::process::id().to_string();
    entries
        .filter_map(Result::ok)
        .filter(|e| {
            e.file_name()
                .to_str()
                .is_some_and(|n| n.bytes().all(|b| b.is_ascii_digit()) && n != me)
        })
        .filter_map(|e| {
            let raw = fs_err::read(Path::new("/proc").join(e.file_name()).join("cmdline")).ok()?;
            let line = text(&raw).replace('\0', " ").trim().to_owned();
            line.contains(pattern)
                .then(|| format!("pid {}: {line}", e.file_name().to_string_lossy()))
        })
        .collect()
}

// Run by the sandbox_walkthrough binary; the attack harness has no libtest, so there they are unused.
#[cfg(test)]
#[allow(unused_imports)]
mod tests {
    use super::*;

    #[test]
    fn counts_are_read_from_name_number_tokens() {
        assert_eq!(
            count_in_output(b"spawned:3 refused:7 code:1", "refused"),
            Some(7)
        );
        assert_eq!(count_in_output(b"spawned:3", "code"), None);
        assert_eq!(count_in_output(b"spawnedx:3", "spawned"), None);
    }

    #[test]
    fn finds_a_live_process_by_its_arguments() {
        let mut child = std::process::Command::new("sleep")
            .arg("7.25")
            .spawn()
            .unwrap();
        // Right after fork the child still shows our command line: wait for its exec.
        let deadline = Instant::now() + Duration::from_secs(5);
        while processes_matching("sleep 7.25", Duration::ZERO).is_empty()
            && Instant::now() < deadline
        {
            std::thread::sleep(Duration::from_millis(10));
        }
        assert!(!processes_matching("sleep 7.25", Duration::ZERO).is_empty());
        // Only the child this test started.
        child.kill().unwrap();
        child.wait().unwrap();
        assert!(processes_matching("sleep 7.25", Duration::from_secs(1)).is_empty());
    }
}
