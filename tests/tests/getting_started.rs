//! The newcomer transcript of docs/getting-started.md ("A first session, as the tests run it"):
//! every `$ ` command of its console block is run with `sh -c` in a fresh directory, with a fresh
//! `X07_HOME` and this build's `x07` first on `PATH`, and its output (stdout and stderr) must be
//! the lines shown; a `...` line stands for any number of lines.

use std::path::Path;
use std::process::Command;

/// (command, expected lines) of the transcript.
fn transcript() -> Vec<(String, Vec<String>)> {
    let doc = fs_err::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/getting-started.md"),
    )
    .unwrap();
    let section = doc
        .split("## A first session, as the tests run it")
        .nth(1)
        .expect("the transcript section is in docs/getting-started.md");
    let block = section
        .split("```console\n")
        .nth(1)
        .and_then(|b| b.split("\n```").next())
        .expect("a console block");
    let mut steps: Vec<(String, Vec<String>)> = Vec::new();
    for line in block.lines() {
        match line.strip_prefix("$ ") {
            Some(cmd) => steps.push((cmd.to_string(), Vec::new())),
            None => steps
                .last_mut()
                .expect("the block starts with a command")
                .1
                .push(line.to_string()),
        }
    }
    steps
}

/// Whether `actual` matches `expected`, where a `...` line matches any number of lines.
fn matches(expected: &[String], actual: &[&str]) -> bool {
    match expected.split_first() {
        None => actual.is_empty(),
        Some((first, rest)) if first == "..." => {
            (0..=actual.len()).any(|skip| matches(rest, &actual[skip..]))
        }
        Some((first, rest)) => actual
            .split_first()
            .is_some_and(|(a, more)| a == first && matches(rest, more)),
    }
}

#[test]
fn the_getting_started_transcript_runs_as_written() {
    let steps = transcript();
    assert!(
        steps.len() >= 5,
        "the transcript has its commands: {steps:?}"
    );
    let dir = tempfile::tempdir().unwrap();
    let home = tempfile::tempdir().unwrap();
    let bin_dir = x07_tests::x07_bin().parent().unwrap().to_path_buf();
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    for (cmd, expected) in steps {
        let out = Command::new("sh")
            .arg("-c")
            .arg(format!("({cmd}) 2>&1"))
            .current_dir(dir.path())
            .env("PATH", &path)
            .env("X07_HOME", home.path())
            // tests reach loopback only: the index doctor asks is one nothing listens on
            .env("X07_PKG_INDEX_URL", "sparse+http://127.0.0.1:9/index/")
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        let lines: Vec<&str> = text.lines().collect();
        assert!(
            matches(&expected, &lines),
            "`{cmd}` printed:\n{text}\nthe transcript shows:\n{}",
            expected.join("\n")
        );
    }
}

#[test]
fn dots_match_any_number_of_lines() {
    let e = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    assert!(matches(&e(&["a", "...", "z"]), &["a", "b", "c", "z"]));
    assert!(matches(&e(&["a", "...", "z"]), &["a", "z"]));
    assert!(!matches(&e(&["a", "z"]), &["a", "b", "z"]));
    assert!(!matches(&e(&["a"]), &[]));
}
