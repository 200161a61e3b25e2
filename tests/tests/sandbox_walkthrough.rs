//! The sandbox policy walkthrough (seed 002) end to end with the `os` backend, set the way the
//! walkthrough sets it (`X07_SANDBOX_BACKEND=os X07_I_ACCEPT_WEAKER_ISOLATION=1`): step 1 (`x07
//! policy init --template cli`), step 2 (echo under `--profile sandbox`), step 3 (the program
//! writing `out/input.bin`), step 5 (the override flags; a TCP connect to a listener this test
//! starts on 127.0.0.1 stands in for the HTTP fetch of step 4) and step 6 (the env allowlist edited
//! in the base policy).
//!
//! Runs on the `os` backend need root (pids cgroup, network namespace); without it those tests
//! print why and pass without running. Set `X07_BIN` to test another build.

mod common;
mod common_sandbox;

use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use x07_tests::{X07Invocation, X07Output};

use common::{
    app_module, expect_exit, expect_stderr, expect_store_empty, run, solve_output, InitProject,
};
use common_sandbox::listener::LoopbackListener;
use common_sandbox::privileges::skip_without_os_backend;
use common_sandbox::run_view::{Denial, RunView};

/// The base policy `x07 policy init --template cli` writes, which the sandbox profile names.
const CLI_POLICY: &str = ".x07/policies/base/cli.sandbox.base.policy.json";
/// The net-enabled base policy of walkthrough step 4.2.
const HTTP_POLICY: &str = ".x07/policies/base/http-client.sandbox.base.policy.json";

/// The kernel layer's restrictions in the order the launcher applies them (docs/internals/sandbox.md).
const OS_RESTRICTIONS: [&str; 16] = [
    "env_cleared",
    "wall_clock",
    "userns",
    "mountns",
    "pidns",
    "ipcns",
    "utsns",
    "netns",
    "pids_cgroup",
    "memory_cgroup",
    "new_root",
    "rlimits",
    "landlock_fs",
    "landlock_net",
    "no_new_privs",
    "seccomp",
];

/// Step 3 of the walkthrough, byte for byte as the seed prints it.
const STEP3_APP: &str = include_str!("../fixtures/seed_step3_app.x07.json");

/// `x07 ...` in the project, sandboxed the way the walkthrough's prerequisites say.
fn sandboxed(p: &InitProject) -> X07Invocation {
    p.x07()
        .env("X07_SANDBOX_BACKEND", "os")
        .env("X07_I_ACCEPT_WEAKER_ISOLATION", "1")
}

/// `x07 run --profile sandbox --input-b64 <input> <extra...>` with the walkthrough's settings.
fn run_sandboxed(p: &InitProject, input: &[u8], extra: &[&str]) -> X07Output {
    run(sandboxed(p)
        .args([
            "run",
            "--profile",
            "sandbox",
            "--input-b64",
            &common::b64_encode(input),
        ])
        .args(extra))
}

fn view(out: &X07Output) -> RunView {
    RunView::from_cli(out).unwrap_or_else(|e| panic!("{e}"))
}

/// sha256 of a canonical policy file's JSON (the file minus its final newline), computed here.
fn digest_of_policy_file(bytes: &[u8]) -> String {
    let json = bytes.strip_suffix(b"\n").unwrap_or(bytes);
    format!("sha256:{}", hex::encode(Sha256::digest(json)))
}

/// Walkthrough step 4.2: the http-client base policy, named by the sandbox profile.
fn use_http_client_base(p: &InitProject) {
    expect_exit(
        &p.run_x07(["policy", "init", "--template", "http-client"]),
        0,
    );
    p.edit_manifest(|m| m["profiles"]["sandbox"]["policy"] = json!(HTTP_POLICY));
}

/// The connect app's input for `listener`.
fn target(listener: &LoopbackListener) -> Vec<u8> {
    format!("{}|127.0.0.1", listener.port()).into_bytes()
}

#[track_caller]
fn expect_denial(rv: &RunView, op: &str, target: &str, rule: &str) {
    let want = Denial {
        op: op.into(),
        target: target.into(),
        rule: rule.into(),
    };
    let found = rv.denials.as_ref().is_some_and(|d| d.contains(&want));
    assert!(found, "expected the denial {want:?}\n{}", rv.describe());
}

#[test]
fn step1_policy_init_then_the_default_backend_fails_closed() {
    let p = InitProject::new();
    let out = p.run_x07(["policy", "init", "--template", "cli"]);
    expect_exit(&out, 0);
    assert!(p.path(CLI_POLICY).is_file(), "{}", out.describe());

    // "By default, run-os-sandboxed uses sandbox_backend=vm": without x07's guest image in this
    // home it fails closed, before anything is built.
    let out = p.run_x07(["run", "--profile", "sandbox", "--input-b64", "aGVsbG8="]);
    expect_exit(&out, 2);
    expect_stderr(
        &out,
        "X07-SANDBOX-0001",
        &["--sandbox-backend os", "--i-accept-weaker-isolation"],
    );
    assert!(
        out.stdout.is_empty(),
        "no report when nothing ran\n{}",
        out.describe()
    );
    expect_store_empty(&p.home, &out);

    // The os backend isolates less than a VM: it needs the explicit acceptance.
    let out = run(p
        .x07()
        .env("X07_SANDBOX_BACKEND", "os")
        .args(["run", "--profile", "sandbox"]));
    expect_exit(&out, 2);
    expect_stderr(&out, "X07-SANDBOX-0002", &[]);
    expect_store_empty(&p.home, &out);
}

#[test]
fn step2_echo_runs_in_the_sandbox_and_the_report_says_how() {
    if skip_without_os_backend("step2_echo_runs_in_the_sandbox_and_the_report_says_how") {
        return;
    }
    let p = InitProject::new();
    expect_exit(&p.run_x07(["policy", "init", "--template", "cli"]), 0);
    let input = p.scratch().join("in.bin");
    fs_err::write(&input, b"hello").unwrap();
    let out = run(sandboxed(&p)
        .args(["run", "--profile", "sandbox", "--input"])
        .arg(&input));
    expect_exit(&out, 0);
    assert_eq!(solve_output(&out), b"hello");

    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    // The walkthrough decodes the top-level solve_output_b64.
    assert_eq!(report["solve_output_b64"], "aGVsbG8=", "{report:#}");
    assert_eq!(report["world"], "run-os-sandboxed", "{report:#}");
    assert_eq!(report["sandbox_backend"], "os", "{report:#}");
    let digest = digest_of_policy_file(&p.read(CLI_POLICY));
    assert_eq!(
        report["effective_policy_digest"],
        digest.as_str(),
        "{report:#}"
    );

    let rv = view(&out);
    assert_eq!(rv.denials, Some(Vec::new()), "{}", rv.describe());
    let sandbox = rv
        .sandbox
        .clone()
        .unwrap_or_else(|| panic!("no sandbox summary\n{}", rv.describe()));
    assert_eq!(sandbox["backend"], "os", "{}", rv.describe());
    assert_eq!(
        sandbox["policy_digest"],
        digest.as_str(),
        "{}",
        rv.describe()
    );
    assert_eq!(rv.restrictions(), OS_RESTRICTIONS, "{}", rv.describe());
    assert_eq!(
        rv.sandbox_strings("weaker"),
        Vec::<String>::new(),
        "{}",
        rv.describe()
    );
    let pids = sandbox["pids_mechanism"].as_str().unwrap_or_default();
    assert!(
        pids.starts_with("cgroup-v"),
        "pids_mechanism {pids:?}\n{}",
        rv.describe()
    );
}

#[test]
fn step2_echo_on_the_none_backend_applies_no_kernel_layer() {
    // No kernel layer, no root needed.
    let p = InitProject::new();
    expect_exit(&p.run_x07(["policy", "init", "--template", "cli"]), 0);
    let out = run_sandboxed(&p, b"hello", &["--sandbox-backend", "none"]);
    expect_exit(&out, 0);
    assert_eq!(solve_output(&out), b"hello");
    let rv = view(&out);
    assert_eq!(
        rv.sandbox.as_ref().map(|s| s["backend"].clone()),
        Some(json!("none")),
        "{}",
        rv.describe()
    );
    assert_eq!(rv.restrictions(), ["env_cleared"], "{}", rv.describe());
}

#[test]
fn step3_the_program_writes_out_input_bin_without_policy_changes() {
    if skip_without_os_backend("step3_the_program_writes_out_input_bin_without_policy_changes") {
        return;
    }
    let p = InitProject::new();
    expect_exit(&p.run_x07(["policy", "init", "--template", "cli"]), 0);
    let policy_before = p.read(CLI_POLICY);
    p.write("src/app.x07.json", STEP3_APP.as_bytes());
    let input = b"hello\x00\xff";

    // out/ does not exist yet: the write fails, and nothing creates out/.
    let out = run_sandboxed(&p, input, &[]);
    expect_exit(&out, 0);
    assert_eq!(solve_output(&out), b"write_failed");
    assert!(
        !p.path("out").exists(),
        "the sandboxed program must not create out/"
    );
    let rv = view(&out);
    let out_root = p.path("out").display().to_string();
    assert!(
        rv.sandbox_strings("unreachable_roots").contains(&out_root),
        "the report should list {out_root} as unreachable\n{}",
        rv.describe()
    );

    // "mkdir -p out" and run again.
    fs_err::create_dir(p.path("out")).unwrap();
    let out = run_sandboxed(&p, input, &[]);
    expect_exit(&out, 0);
    assert_eq!(solve_output(&out), b"ok");
    assert_eq!(p.read("out/input.bin"), input);
    let rv = view(&out);
    assert_eq!(rv.denials, Some(Vec::new()), "{}", rv.describe());
    assert_eq!(
        p.read(CLI_POLICY),
        policy_before,
        "step 3 needs no policy change"
    );
}

#[test]
fn a_write_root_beneath_dev_shm_is_reachable_in_the_new_root() {
    // the new root has its own /dev; a root beneath it must be mounted on top, not hidden
    if skip_without_os_backend("a_write_root_beneath_dev_shm_is_reachable_in_the_new_root") {
        return;
    }
    let shm = tempfile::Builder::new()
        .prefix("x07-test-")
        .tempdir_in("/dev/shm")
        .expect("a directory in /dev/shm");
    let target = shm.path().join("w.bin");
    let p = InitProject::new();
    expect_exit(&p.run_x07(["policy", "init", "--template", "cli"]), 0);
    p.write_app(&common::write_in_and_escape_app(
        &target.display().to_string(),
    ));
    let root = shm.path().display().to_string();
    let out = run_sandboxed(&p, b"in-shm", &["--allow-write-root", &root]);
    expect_exit(&out, 0);
    assert!(
        String::from_utf8_lossy(&solve_output(&out)).ends_with(" esc=0"),
        "{}",
        out.describe()
    );
    assert_eq!(fs_err::read(&target).unwrap(), b"in-shm");
}

#[test]
fn step5_allow_host_opens_exactly_the_named_port() {
    if skip_without_os_backend("step5_allow_host_opens_exactly_the_named_port") {
        return;
    }
    let p = InitProject::new();
    use_http_client_base(&p);
    p.write_app(&common::connect_app());
    let (a, b) = (
        LoopbackListener::start().unwrap(),
        LoopbackListener::start().unwrap(),
    );

    // The template names no hosts.
    let out = run_sandboxed(&p, &target(&a), &[]);
    expect_exit(&out, 0);
    assert_eq!(solve_output(&out), b"denied:1");
    expect_denial(
        &view(&out),
        "os.net.tcp_connect_v1",
        &format!("127.0.0.1:{}", a.port()),
        "net.allow_hosts",
    );
    assert_eq!(a.accepted(), 0);
    // one line for a person on stderr, naming the flag that would allow it
    let hint = format!("`--allow-host 127.0.0.1:{}` would allow it", a.port());
    assert!(common::stderr(&out).contains(&hint), "{}", out.describe());

    let allow = format!("127.0.0.1:{}", a.port());
    let out = run_sandboxed(&p, &target(&a), &["--allow-host", &allow]);
    expect_exit(&out, 0);
    assert_eq!(solve_output(&out), b"connected", "{}", out.describe());
    assert_eq!(a.accepted(), 1);

    // The derived policy: announced, written under _generated/, and the one the run used.
    let err = common::stderr(&out);
    let announced = err
        .lines()
        .find_map(|l| l.strip_prefix("x07 run: using derived policy "))
        .unwrap_or_else(|| panic!("stderr should name the derived policy\n{}", out.describe()));
    let derived_path = std::path::Path::new(announced.trim());
    assert!(
        derived_path.starts_with(p.path(".x07/policies/_generated")),
        "derived policy at {announced}"
    );
    let derived_bytes = fs_err::read(derived_path).unwrap();
    let derived: Value = serde_json::from_slice(&derived_bytes).unwrap();
    assert_eq!(
        derived["net"]["allow_hosts"],
        json!([{"host": "127.0.0.1", "ports": [a.port()]}]),
        "{derived:#}"
    );
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        report["effective_policy_digest"],
        digest_of_policy_file(&derived_bytes).as_str()
    );

    // Only that port: the other listener stays unreached.
    let out = run_sandboxed(&p, &target(&b), &["--allow-host", &allow]);
    expect_exit(&out, 0);
    assert_eq!(solve_output(&out), b"denied:1");
    expect_denial(
        &view(&out),
        "os.net.tcp_connect_v1",
        &format!("127.0.0.1:{}", b.port()),
        "net.allow_hosts",
    );
    assert_eq!(b.accepted(), 0);
}

#[test]
fn step5_allow_host_takes_a_port_list() {
    if skip_without_os_backend("step5_allow_host_takes_a_port_list") {
        return;
    }
    let p = InitProject::new();
    use_http_client_base(&p);
    p.write_app(&common::connect_app());
    let (a, b) = (
        LoopbackListener::start().unwrap(),
        LoopbackListener::start().unwrap(),
    );
    let allow = format!("127.0.0.1:{},{}", a.port(), b.port());
    for l in [&a, &b] {
        let out = run_sandboxed(&p, &target(l), &["--allow-host", &allow]);
        assert_eq!(solve_output(&out), b"connected", "{}", out.describe());
    }
    assert_eq!((a.accepted(), b.accepted()), (1, 1));
}

#[test]
fn step5_deny_host_wins_after_merge() {
    if skip_without_os_backend("step5_deny_host_wins_after_merge") {
        return;
    }
    let p = InitProject::new();
    use_http_client_base(&p);
    p.write_app(&common::connect_app());
    let (a, b) = (
        LoopbackListener::start().unwrap(),
        LoopbackListener::start().unwrap(),
    );
    let allow_both = format!("127.0.0.1:{},{}", a.port(), b.port());
    let deny_b = format!("127.0.0.1:{}", b.port());

    let out = run_sandboxed(
        &p,
        &target(&a),
        &["--allow-host", &allow_both, "--deny-host", &deny_b],
    );
    assert_eq!(solve_output(&out), b"connected", "{}", out.describe());
    let out = run_sandboxed(
        &p,
        &target(&b),
        &["--allow-host", &allow_both, "--deny-host", &deny_b],
    );
    assert_eq!(solve_output(&out), b"denied:1", "{}", out.describe());
    expect_denial(
        &view(&out),
        "os.net.tcp_connect_v1",
        &deny_b,
        "net.allow_hosts",
    );
    assert_eq!((a.accepted(), b.accepted()), (1, 0));

    // HOST:* removes every port of the host.
    let out = run_sandboxed(
        &p,
        &target(&a),
        &["--allow-host", &allow_both, "--deny-host", "127.0.0.1:*"],
    );
    assert_eq!(solve_output(&out), b"denied:1", "{}", out.describe());
    assert_eq!(a.accepted(), 1, "no second connection");
}

#[test]
fn step5_allow_host_file_keeps_the_allowlist_in_a_file() {
    if skip_without_os_backend("step5_allow_host_file_keeps_the_allowlist_in_a_file") {
        return;
    }
    let p = InitProject::new();
    use_http_client_base(&p);
    p.write_app(&common::connect_app());
    let (a, b, c) = (
        LoopbackListener::start().unwrap(),
        LoopbackListener::start().unwrap(),
        LoopbackListener::start().unwrap(),
    );
    p.write(
        ".x07/allow-hosts.dev.txt",
        format!(
            "# dev hosts\n127.0.0.1:{}\n\n127.0.0.1:{}\n",
            a.port(),
            b.port()
        )
        .as_bytes(),
    );
    let flags = ["--allow-host-file", ".x07/allow-hosts.dev.txt"];
    for l in [&a, &b] {
        let out = run_sandboxed(&p, &target(l), &flags);
        assert_eq!(solve_output(&out), b"connected", "{}", out.describe());
    }
    let out = run_sandboxed(&p, &target(&c), &flags);
    assert_eq!(solve_output(&out), b"denied:1", "{}", out.describe());
    assert_eq!((a.accepted(), b.accepted(), c.accepted()), (1, 1, 0));
}

#[test]
fn step5_allow_write_root_extends_the_roots_for_one_run() {
    if skip_without_os_backend("step5_allow_write_root_extends_the_roots_for_one_run") {
        return;
    }
    let p = InitProject::new();
    expect_exit(&p.run_x07(["policy", "init", "--template", "cli"]), 0);
    p.write_app(&app_module(
        &["std.os.fs"],
        json!([
            "begin",
            [
                "let",
                "rc",
                ["std.os.fs.write_file", ["bytes.lit", "tmp/x.bin"], "b"]
            ],
            [
                "if",
                ["=", "rc", 0],
                ["bytes.lit", "ok"],
                ["bytes.lit", "write_failed"]
            ]
        ]),
    ));
    fs_err::create_dir(p.path("tmp")).unwrap();

    let out = run_sandboxed(&p, b"data", &[]);
    assert_eq!(solve_output(&out), b"write_failed", "{}", out.describe());
    expect_denial(
        &view(&out),
        "os.fs.write_file",
        "tmp/x.bin",
        "fs.write_roots",
    );
    assert!(!p.path("tmp/x.bin").exists());

    let out = run_sandboxed(&p, b"data", &["--allow-write-root", "tmp"]);
    assert_eq!(solve_output(&out), b"ok", "{}", out.describe());
    assert_eq!(p.read("tmp/x.bin"), b"data");
    assert!(
        common::stderr(&out).contains("x07 run: using derived policy"),
        "{}",
        out.describe()
    );
}

#[test]
fn step5_allow_host_against_the_cli_base_is_refused() {
    // Refused before anything runs: no root needed.
    let p = InitProject::new();
    expect_exit(&p.run_x07(["policy", "init", "--template", "cli"]), 0);
    p.write_app(&common::connect_app());
    let a = LoopbackListener::start().unwrap();
    let allow = format!("127.0.0.1:{}", a.port());
    let out = run_sandboxed(&p, &target(&a), &["--allow-host", &allow]);
    expect_exit(&out, 2);
    expect_stderr(&out, "X07-POLICY-0008", &[]);
    assert!(out.stdout.is_empty(), "{}", out.describe());
    assert!(
        !p.path(".x07/policies/_generated").exists(),
        "no derived policy is written"
    );
    expect_store_empty(&p.home, &out);
    assert_eq!(a.accepted(), 0);
}

#[test]
fn step6_the_env_allowlist_lives_in_the_base_policy() {
    if skip_without_os_backend("step6_the_env_allowlist_lives_in_the_base_policy") {
        return;
    }
    let p = InitProject::new();
    expect_exit(&p.run_x07(["policy", "init", "--template", "cli"]), 0);
    p.write_app(&app_module(
        &["std.os.env"],
        json!([
            "bytes.concat",
            ["bytes.lit", "value:"],
            ["std.os.env.get", ["view.to_bytes", "b"]]
        ]),
    ));
    let with_env = |input: &[u8]| {
        run(sandboxed(&p)
            .env("APP_MODE", "production")
            .env("APP_SECRET", "TOPSECRET-step6")
            .args([
                "run",
                "--profile",
                "sandbox",
                "--input-b64",
                &common::b64_encode(input),
            ]))
    };

    // The cli template turns env off: even APP_MODE is refused.
    let out = with_env(b"APP_MODE");
    expect_exit(&out, 1);
    let rv = view(&out);
    assert!(
        rv.trap
            .as_deref()
            .is_some_and(|t| t.starts_with("os.env.get key not allowed key=APP_MODE")),
        "{}",
        rv.describe()
    );
    expect_denial(&rv, "os.env.get", "APP_MODE", "env.enabled");

    // "Edit the base policy file. Set env.enabled=true. Add specific keys to env.allow_keys."
    let mut policy = p.read_json(CLI_POLICY);
    policy["env"]["enabled"] = json!(true);
    policy["env"]["allow_keys"] = json!(["APP_MODE"]);
    p.write_pretty(CLI_POLICY, &policy);

    let out = with_env(b"APP_MODE");
    expect_exit(&out, 0);
    assert_eq!(solve_output(&out), b"value:production");

    let out = with_env(b"APP_SECRET");
    expect_exit(&out, 1);
    let rv = view(&out);
    assert!(
        rv.trap
            .as_deref()
            .is_some_and(|t| t.starts_with("os.env.get key not allowed key=APP_SECRET")),
        "{}",
        rv.describe()
    );
    expect_denial(&rv, "os.env.get", "APP_SECRET", "env.allow_keys");
    assert!(
        !String::from_utf8_lossy(&out.stdout).contains("TOPSECRET")
            && !String::from_utf8_lossy(&rv.stderr).contains("TOPSECRET"),
        "the secret's value must appear nowhere\n{}",
        rv.describe()
    );
    // There is no command-line override for env.
    let out = run(sandboxed(&p).args(["run", "--profile", "sandbox", "--allow-env", "APP_SECRET"]));
    expect_exit(&out, 2);
}

/// `x07-launch` processes whose parent is neither an `x07` nor another `x07-launch` (a run's init
/// and helper are the monitor's children): launchers their x07 did not wait for (handed to a
/// subreaper, or to pid 1).
fn orphaned_launchers() -> Vec<String> {
    let stat_of = |pid: &str| -> Option<(String, String, String)> {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        // pid (comm) state ppid ...
        let (head, rest) = stat.rsplit_once(") ")?;
        let comm = head.split_once(" (")?.1.to_string();
        let mut fields = rest.split(' ');
        Some((comm, fields.next()?.to_string(), fields.next()?.to_string()))
    };
    let mut found = Vec::new();
    for entry in fs_err::read_dir("/proc").unwrap().flatten() {
        let pid = entry.file_name().to_string_lossy().into_owned();
        let Some((comm, state, ppid)) = stat_of(&pid) else {
            continue;
        };
        let parent = stat_of(&ppid).map(|(c, _, _)| c).unwrap_or_default();
        if comm == "x07-launch" && parent != "x07" && parent != "x07-launch" {
            found.push(format!("{pid} {state} (parent {ppid} {parent})"));
        }
    }
    found
}

#[test]
fn a_program_that_does_not_compile_calls_the_early_launcher_off() {
    if skip_without_os_backend("a_program_that_does_not_compile_calls_the_early_launcher_off") {
        return;
    }
    let p = InitProject::new();
    expect_exit(&p.run_x07(["policy", "init", "--template", "cli"]), 0);
    // x07 run starts the launcher before the program is loaded; the load then fails
    p.write("src/app.x07.json", b"{ \"schema_version\": ");
    let before = orphaned_launchers();
    let out = run_sandboxed(&p, b"hi", &[]);
    expect_exit(&out, 1);
    let r = common::report(&out);
    assert!(
        r.raw["compile"]["ok"] == json!(false) && r.raw["solve"].is_null(),
        "{}",
        r.pretty()
    );
    assert_eq!(
        r.diagnostics().first().map(|d| d.code.as_str()),
        Some("X07-JSON-0001"),
        "{}",
        r.pretty()
    );
    // the launcher was told the run is off and waited for: none is left behind
    let after = orphaned_launchers();
    let left: Vec<&String> = after.iter().filter(|l| !before.contains(l)).collect();
    assert!(left.is_empty(), "launchers left orphaned: {left:?}");
}
