//! `x07 policy init`: step 1 of the sandbox policy walkthrough, every status with its exit code
//! (created / unchanged / overwritten 0, exists_different 2, an invalid generated policy 3), the
//! output path rules (`--out`, `--mkdir-out`, `--project`, discovery, no project) and the
//! one-line `x07.policy.init.report@0.1.0`.
//!
//! Every test has its own `X07_HOME` and project directory. Set `X07_BIN` to test another build.

mod common;

use std::path::Path;

use serde_json::Value;
use x07_tests::{X07Home, X07Output};

use common::{expect_exit, expect_stderr, is_canonical_file, run, stdout, x07_in, InitProject};

const CLI_POLICY: &str = ".x07/policies/base/cli.sandbox.base.policy.json";
const TEMPLATES: [&str; 8] = [
    "cli",
    "http-client",
    "web-service",
    "fs-tool",
    "sqlite-app",
    "postgres-client",
    "worker",
    "worker-parallel",
];

/// The report: exactly one line of canonical JSON with the six fields.
#[track_caller]
fn report(out: &X07Output) -> Value {
    let text = stdout(out);
    assert!(
        text.ends_with('\n') && text.matches('\n').count() == 1,
        "one line expected\n{}",
        out.describe()
    );
    assert!(
        is_canonical_file(&out.stdout),
        "the report is canonical JSON\n{}",
        out.describe()
    );
    let v: Value = serde_json::from_str(&text).unwrap();
    let mut keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "out",
            "policy_id",
            "project_root",
            "schema_version",
            "status",
            "template"
        ]
    );
    assert_eq!(v["schema_version"], "x07.policy.init.report@0.1.0");
    v
}

fn canonical_dir(p: &Path) -> String {
    fs_err::canonicalize(p).unwrap().display().to_string()
}

fn mtime(p: &Path) -> std::time::SystemTime {
    fs_err::metadata(p).unwrap().modified().unwrap()
}

#[test]
fn walkthrough_step_1_creates_the_policy_the_sandbox_profile_names() {
    let p = InitProject::new();
    let manifest = p.read_json("x07.json");
    assert_eq!(
        manifest["profiles"]["sandbox"]["policy"], CLI_POLICY,
        "x07 init points the sandbox profile at it"
    );
    assert!(
        !p.path(CLI_POLICY).exists(),
        "x07 init does not create the policy itself"
    );

    let out = p.run_x07(["policy", "init", "--template", "cli"]);
    expect_exit(&out, 0);
    let r = report(&out);
    assert_eq!(r["status"], "created");
    assert_eq!(r["template"], "cli");
    assert_eq!(r["out"], CLI_POLICY);
    assert_eq!(r["policy_id"], "sandbox.cli.base");
    assert_eq!(r["project_root"], canonical_dir(p.root()));

    let bytes = p.read(CLI_POLICY);
    assert!(
        is_canonical_file(&bytes),
        "the policy file is canonical JSON plus a newline"
    );
    let policy: Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(policy["schema_version"], "x07.run-os-policy@0.1.0");
    assert_eq!(policy["policy_id"], "sandbox.cli.base");
    assert_eq!(policy["net"]["enabled"], false);
    assert_eq!(policy["fs"]["read_roots"], serde_json::json!(["."]));
    assert_eq!(policy["fs"]["write_roots"], serde_json::json!(["out"]));
    assert_eq!(policy["limits"]["cpu_ms"], 60000);

    // --emit policy prints exactly the file's bytes.
    let out = p.run_x07(["policy", "init", "--template", "cli", "--emit", "policy"]);
    expect_exit(&out, 0);
    assert_eq!(out.stdout, bytes);
}

#[test]
fn unchanged_exists_different_and_overwritten() {
    let p = InitProject::new();
    expect_exit(&p.run_x07(["policy", "init", "--template", "cli"]), 0);
    let path = p.path(CLI_POLICY);
    let original = p.read(CLI_POLICY);
    let before = mtime(&path);
    std::thread::sleep(std::time::Duration::from_millis(30));

    let out = p.run_x07(["policy", "init", "--template", "cli"]);
    expect_exit(&out, 0);
    assert_eq!(report(&out)["status"], "unchanged");
    assert_eq!(mtime(&path), before, "an identical file is not rewritten");

    // Another template's bytes at the same path: left as it is, exit 2.
    let edited = b"{\"edited\": true}\n";
    p.write(CLI_POLICY, edited);
    let out = p.run_x07(["policy", "init", "--template", "cli"]);
    expect_exit(&out, 2);
    assert_eq!(report(&out)["status"], "exists_different");
    expect_stderr(&out, "X07-POLICY-0001", &[CLI_POLICY, "--force"]);
    assert_eq!(p.read(CLI_POLICY), edited, "the file is left as it is");

    let out = p.run_x07(["policy", "init", "--template", "cli", "--force"]);
    expect_exit(&out, 0);
    assert_eq!(report(&out)["status"], "overwritten");
    assert_eq!(p.read(CLI_POLICY), original);

    // --force with identical bytes is still `unchanged`.
    let out = p.run_x07(["policy", "init", "--template", "cli", "--force"]);
    expect_exit(&out, 0);
    assert_eq!(report(&out)["status"], "unchanged");
}

#[test]
fn an_invalid_policy_id_is_a_schema_error_with_exit_3_and_writes_nothing() {
    let p = InitProject::new();
    for bad in ["bad id", "", &"x".repeat(65), "a/b"] {
        let out = p.run_x07(["policy", "init", "--template", "cli", "--policy-id", bad]);
        expect_exit(&out, 3);
        expect_stderr(&out, "X07-POLICY-SCHEMA-0001", &["--policy-id"]);
        assert!(out.stdout.is_empty(), "{}", out.describe());
        assert!(!p.path(".x07/policies").exists(), "nothing is written");
    }
    let out = p.run_x07([
        "policy",
        "init",
        "--template",
        "worker",
        "--policy-id",
        "my-app.worker_1",
    ]);
    expect_exit(&out, 0);
    assert_eq!(report(&out)["policy_id"], "my-app.worker_1");
    let policy: Value =
        serde_json::from_slice(&p.read(".x07/policies/base/worker.sandbox.base.policy.json"))
            .unwrap();
    assert_eq!(policy["policy_id"], "my-app.worker_1");
}

#[test]
fn out_is_relative_to_the_project_root_and_needs_its_directory_or_mkdir_out() {
    let p = InitProject::new();
    fs_err::create_dir_all(p.path("src/nested")).unwrap();
    let in_subdir = |args: &[&str]| run(p.x07().current_dir(p.path("src/nested")).args(args));

    let out = in_subdir(&[
        "policy",
        "init",
        "--template",
        "http-client",
        "--out",
        "policies/net.json",
    ]);
    expect_exit(&out, 2);
    expect_stderr(&out, "X07-POLICY-0002", &["policies", "--mkdir-out"]);
    assert!(!p.path("policies").exists());

    let out = in_subdir(&[
        "policy",
        "init",
        "--template",
        "http-client",
        "--out",
        "policies/net.json",
        "--mkdir-out",
    ]);
    expect_exit(&out, 0);
    let r = report(&out);
    assert_eq!(
        (r["status"].as_str(), r["out"].as_str()),
        (Some("created"), Some("policies/net.json"))
    );
    assert_eq!(
        r["project_root"],
        canonical_dir(p.root()),
        "found by walking up from src/nested"
    );
    let policy: Value = serde_json::from_slice(&p.read("policies/net.json")).unwrap();
    assert_eq!(policy["policy_id"], "sandbox.http-client.base");

    // An existing directory needs no flag; an absolute --out outside the project is reported as is.
    let elsewhere = p.scratch().join("elsewhere");
    fs_err::create_dir_all(&elsewhere).unwrap();
    let target = elsewhere.join("w.json");
    let out = p.run_x07([
        "policy",
        "init",
        "--template",
        "worker-parallel",
        "--out",
        target.to_str().unwrap(),
    ]);
    expect_exit(&out, 0);
    assert_eq!(report(&out)["out"], target.display().to_string());
    let policy: Value = serde_json::from_slice(&fs_err::read(&target).unwrap()).unwrap();
    assert_eq!(
        policy["process"]["allow_exec_prefixes"],
        serde_json::json!(["deps/x07/"])
    );

    // The default location creates its own directories, from anywhere in the project.
    let out = in_subdir(&["policy", "init", "--template", "fs-tool"]);
    expect_exit(&out, 0);
    assert!(p
        .path(".x07/policies/base/fs-tool.sandbox.base.policy.json")
        .is_file());

    // --out naming a directory is refused.
    let out = p.run_x07(["policy", "init", "--template", "cli", "--out", "src"]);
    expect_exit(&out, 2);
    expect_stderr(&out, "X07-POLICY-0003", &["is a directory"]);
}

#[test]
fn project_flag_and_no_project() {
    let p = InitProject::new();
    let home = X07Home::new().unwrap();
    let outside = tempfile::tempdir().unwrap();

    // --project with the manifest or with its directory, from anywhere.
    for project in [p.path("x07.json"), p.root().to_path_buf()] {
        let out = run(x07_in(&home, outside.path())
            .args(["policy", "init", "--template", "sqlite-app", "--project"])
            .arg(&project));
        expect_exit(&out, 0);
        assert_eq!(report(&out)["project_root"], canonical_dir(p.root()));
    }
    assert!(p
        .path(".x07/policies/base/sqlite-app.sandbox.base.policy.json")
        .is_file());
    assert!(!outside.path().join(".x07").exists());

    let out = run(x07_in(&home, outside.path()).args([
        "policy",
        "init",
        "--template",
        "cli",
        "--project",
        "missing/x07.json",
    ]));
    expect_exit(&out, 2);
    expect_stderr(&out, "X07-PROJECT-0001", &["missing/x07.json"]);

    // No project anywhere above: the current directory is the root.
    let out = run(x07_in(&home, outside.path()).args(["policy", "init", "--template", "cli"]));
    expect_exit(&out, 0);
    let r = report(&out);
    assert_eq!(r["project_root"], canonical_dir(outside.path()));
    assert_eq!(r["out"], CLI_POLICY);
    assert!(outside.path().join(CLI_POLICY).is_file());
}

#[test]
fn every_template_is_written_with_its_id() {
    let p = InitProject::new();
    for t in TEMPLATES {
        let out = p.run_x07(["policy", "init", "--template", t]);
        expect_exit(&out, 0);
        let r = report(&out);
        assert_eq!(r["template"], t);
        let rel = format!(".x07/policies/base/{t}.sandbox.base.policy.json");
        assert_eq!(r["out"], rel.as_str());
        let bytes = p.read(&rel);
        assert!(is_canonical_file(&bytes), "{t}");
        let policy: Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(policy["policy_id"], format!("sandbox.{t}.base"));
        assert_eq!(policy["schema_version"], "x07.run-os-policy@0.1.0");
    }
    let out = p.run_x07(["policy", "init", "--template", "lambda"]);
    expect_exit(&out, 2);
    expect_stderr(&out, "X07-CLI-0001", &["lambda", "worker-parallel"]);
    let out = p.run_x07(["policy", "init"]);
    expect_exit(&out, 2);
    expect_stderr(&out, "X07-CLI-0001", &["--template"]);
}

#[test]
fn policy_init_can_point_a_profile_at_the_policy_it_wrote() {
    let p = common::InitProject::new();
    let out = p.run_x07([
        "policy",
        "init",
        "--template",
        "http-client",
        "--profile",
        "sandbox",
    ]);
    common::expect_exit(&out, 0);
    let text = fs_err::read_to_string(p.path("x07.json")).unwrap();
    let manifest: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        manifest["profiles"]["sandbox"]["policy"],
        ".x07/policies/base/http-client.sandbox.base.policy.json"
    );
    assert!(text.contains("\n  \""), "x07.json stays pretty:\n{text}");
    // a profile that does not exist yet is made, sandboxed
    let out = p.run_x07(["policy", "init", "--template", "cli", "--profile", "strict"]);
    common::expect_exit(&out, 0);
    let manifest: serde_json::Value =
        serde_json::from_slice(&fs_err::read(p.path("x07.json")).unwrap()).unwrap();
    assert_eq!(manifest["profiles"]["strict"]["world"], "run-os-sandboxed");
    assert_eq!(
        manifest["profiles"]["strict"]["policy"],
        ".x07/policies/base/cli.sandbox.base.policy.json"
    );
}
