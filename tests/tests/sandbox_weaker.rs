//! A kernel mechanism the host lacks stops a sandboxed run (exit 3, naming it) unless
//! `--sandbox-accept-weaker` names it; the report then says what held instead. The missing
//! mechanism is simulated by hiding the cgroup filesystem in a private mount namespace.

use std::path::Path;
use std::process::Command;

use base64::Engine as _;
use x07_tests::{x07_bin, X07Home};

fn can_unshare_mounts() -> bool {
    // SAFETY: geteuid has no preconditions.
    let root = unsafe { libc::geteuid() } == 0;
    root && Command::new("unshare")
        .args(["-m", "true"])
        .status()
        .is_ok_and(|s| s.success())
}

/// Runs `x07 run --profile sandbox` (os backend) with /sys/fs/cgroup hidden.
fn run_without_cgroups(home: &X07Home, project: &Path, extra: &[&str]) -> serde_json::Value {
    let mut script = format!(
        "mount -t tmpfs none /sys/fs/cgroup && exec '{}' run --profile sandbox --input-b64 aGk=",
        x07_bin().display()
    );
    for e in extra {
        script.push(' ');
        script.push_str(e);
    }
    let out = Command::new("unshare")
        .args(["-m", "sh", "-c", &script])
        .current_dir(project)
        .env("X07_HOME", home.path())
        .env("X07_SANDBOX_BACKEND", "os")
        .env("X07_I_ACCEPT_WEAKER_ISOLATION", "1")
        .output()
        .unwrap();
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("no report ({e}): {}", String::from_utf8_lossy(&out.stderr)))
}

#[test]
fn a_missing_pids_cgroup_fails_closed_unless_accepted() {
    if !can_unshare_mounts() {
        eprintln!("skipped: needs root and mount namespaces");
        return;
    }
    let home = X07Home::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let x07 = |args: &[&str]| {
        let st = Command::new(x07_bin())
            .args(args)
            .current_dir(dir.path())
            .env("X07_HOME", home.path())
            .status()
            .unwrap();
        assert!(st.success(), "x07 {args:?}");
    };
    x07(&["init"]);
    x07(&["policy", "init", "--template", "cli"]);

    let refused = run_without_cgroups(&home, dir.path(), &[]);
    let solve = &refused["solve"];
    assert_eq!(solve["ok"], false, "{refused}");
    assert_eq!(solve["exit_status"], 3);
    assert!(
        solve["trap"]
            .as_str()
            .unwrap_or("")
            .contains("cannot apply pids_cgroup"),
        "{refused}"
    );

    let accepted = run_without_cgroups(
        &home,
        dir.path(),
        &["--sandbox-accept-weaker", "pids-cgroup"],
    );
    assert_eq!(accepted["solve"]["ok"], true, "{accepted}");
    let out = base64::engine::general_purpose::STANDARD
        .decode(accepted["solve_output_b64"].as_str().unwrap())
        .unwrap();
    assert_eq!(out, b"hi");
    assert_eq!(accepted["sandbox"]["pids_mechanism"], "rlimit");
    assert_eq!(
        accepted["sandbox"]["weaker"],
        serde_json::json!(["pids_cgroup"])
    );
    let restrictions = accepted["sandbox"]["restrictions"].as_array().unwrap();
    assert!(
        restrictions.iter().any(|r| r == "landlock_fs")
            && restrictions.iter().any(|r| r == "seccomp"),
        "{accepted}"
    );
}
