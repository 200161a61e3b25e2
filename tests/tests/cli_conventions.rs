//! CLI conventions: bare `x07` and bare command groups print their help on stdout and succeed;
//! `x07 completions <shell>` and `x07 man` are generated from the command-line definition.

mod common;

use common::{expect_exit, stdout, InitProject};

#[test]
fn bare_commands_print_help_and_succeed() {
    let p = InitProject::new();
    for (args, usage) in [
        (vec![], "Usage: x07 [OPTIONS] <COMMAND>"),
        (vec!["store"], "Usage: x07 store [OPTIONS] <COMMAND>"),
        (vec!["pkg"], "Usage: x07 pkg [OPTIONS] <COMMAND>"),
        (vec!["vm"], "Usage: x07 vm [OPTIONS] <COMMAND>"),
        (vec!["key"], "Usage: x07 key [OPTIONS] <COMMAND>"),
    ] {
        let out = p.run_x07(&args);
        expect_exit(&out, 0);
        let text = stdout(&out);
        assert!(text.contains(usage), "x07 {args:?}:\n{text}");
        assert!(
            !text.contains('\u{1b}'),
            "no colour when stdout is not a terminal:\n{text}"
        );
    }
}

#[test]
fn completions_and_the_man_page_cover_every_command() {
    let p = InitProject::new();
    for (shell, marker) in [
        ("bash", "_x07()"),
        ("zsh", "#compdef x07"),
        ("fish", "complete -c x07"),
    ] {
        let out = p.run_x07(["completions", shell]);
        expect_exit(&out, 0);
        let script = stdout(&out);
        assert!(script.contains(marker), "{shell}:\n{script}");
        for cmd in ["doctor", "bundle", "registry"] {
            assert!(script.contains(cmd), "{shell} completion lacks {cmd}");
        }
    }
    let out = p.run_x07(["completions", "tcsh"]);
    expect_exit(&out, 2);
    let out = p.run_x07(["man"]);
    expect_exit(&out, 0);
    let page = stdout(&out);
    assert!(page.contains(".TH x07 1"), "{page}");
    assert!(page.contains("doctor"), "{page}");
}

#[test]
fn a_sandboxed_run_right_after_init_names_every_missing_prerequisite_at_once() {
    let p = InitProject::new();
    let out = p.run_x07(["run", "--profile", "sandbox", "--input-b64", "aGk="]);
    expect_exit(&out, 2);
    common::expect_stderr(
        &out,
        "X07-SANDBOX-0001",
        &[
            "guest image",
            "x07 vm image build",
            "cli.sandbox.base.policy.json does not exist",
            "x07 policy init --template cli --profile sandbox",
        ],
    );
}

#[test]
fn registry_errors_point_at_the_settings_that_fix_them() {
    let p = InitProject::new();
    let dead = "sparse+http://127.0.0.1:9/index/";
    // an unreachable registry is reported as such, not as "no package provides"
    let out = p.run_x07(["pkg", "provides", "std.net.http", "--index", dead]);
    expect_exit(&out, 2);
    common::expect_stderr(
        &out,
        "X07-PKG-0006",
        &[
            "cannot reach",
            "--index",
            "X07_PKG_INDEX_URL",
            "x07 registry serve",
        ],
    );
    assert!(
        !common::stderr(&out).contains("no package"),
        "{}",
        out.describe()
    );
    // pack's hint names only what exists
    let out = p.run_x07(["pkg", "pack"]);
    expect_exit(&out, 2);
    assert!(
        !common::stderr(&out).contains("init --package"),
        "{}",
        out.describe()
    );
}

#[test]
fn commands_that_print_data_take_json() {
    let p = InitProject::new();
    let json = |args: &[&str]| -> serde_json::Value {
        let out = p.run_x07(args);
        expect_exit(&out, 0);
        serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("x07 {args:?}: {e}\n{}", out.describe()))
    };
    let fmt = json(&["fmt", "--check", "--json"]);
    assert_eq!(fmt["files"], 2, "{fmt}");
    assert_eq!(fmt["changed"], serde_json::json!([]));
    let verify = json(&["store", "verify", "--json"]);
    assert_eq!(verify["problems"], serde_json::json!([]), "{verify}");
    let gc = json(&["store", "gc", "--dry-run", "--json"]);
    assert_eq!(gc["dry_run"], true, "{gc}");
    let lock = json(&["pkg", "lock", "--json"]);
    assert_eq!(lock["outcome"], "up_to_date", "{lock}");
    assert_eq!(lock["packages"], 0);
    let pkg_verify = json(&["pkg", "verify", "--json"]);
    assert_eq!(pkg_verify["ok"], true, "{pkg_verify}");
    let doctor = p
        .x07()
        .args(["doctor", "--json"])
        .env("X07_PKG_INDEX_URL", "sparse+http://127.0.0.1:9/index/")
        .run()
        .unwrap();
    assert!(serde_json::from_slice::<serde_json::Value>(&doctor.stdout).is_ok());
}

#[test]
fn every_command_help_ends_with_the_exit_codes() {
    let p = InitProject::new();
    for args in [
        vec!["--help"],
        vec!["store", "ls", "--help"],
        vec!["store", "gc", "--help"],
        vec!["pkg", "add", "--help"],
        vec!["pkg", "search", "--help"],
        vec!["key", "generate", "--help"],
        vec!["vm", "image", "build", "--help"],
        vec!["registry", "serve", "--help"],
        vec!["doctor", "--help"],
        vec!["completions", "--help"],
        vec!["policy", "init", "--help"],
    ] {
        let out = p.run_x07(&args);
        expect_exit(&out, 0);
        let text = stdout(&out);
        assert!(text.contains("Exit codes:"), "x07 {args:?}:\n{text}");
    }
    // and --program is described for build as what it is
    let text = stdout(&p.run_x07(["build", "--help"]));
    assert!(!text.contains("Compile and run"), "{text}");
}

#[test]
fn misspelled_builtins_and_keys_get_a_did_you_mean() {
    let p = InitProject::new();
    p.write_app(&common::app_module(
        &[],
        serde_json::json!(["bytes.concta", ["bytes.lit", "a"], ["bytes.lit", "b"]]),
    ));
    let out = p.run_x07(["run", "--input-b64", ""]);
    expect_exit(&out, 1);
    assert!(
        common::stderr(&out).contains("did you mean `bytes.concat`?"),
        "{}",
        out.describe()
    );
    // a policy key one letter off
    expect_exit(&p.run_x07(["policy", "init", "--template", "cli"]), 0);
    let path = p.path(".x07/policies/base/cli.sandbox.base.policy.json");
    let mut policy: serde_json::Value =
        serde_json::from_slice(&fs_err::read(&path).unwrap()).unwrap();
    let net = policy["net"].as_object_mut().unwrap();
    let hosts = net.remove("allow_hosts").unwrap();
    net.insert("allow_host".into(), hosts);
    fs_err::write(&path, serde_json::to_vec(&policy).unwrap()).unwrap();
    let out = p.run_x07([
        "run",
        "--profile",
        "sandbox",
        "--sandbox-backend",
        "none",
        "--i-accept-weaker-isolation",
        "--input-b64",
        "",
    ]);
    assert_ne!(out.exit_code, Some(0));
    assert!(
        common::stderr(&out).contains("`allow_host` is here: a misspelling of `allow_hosts`?"),
        "{}",
        out.describe()
    );
}

#[test]
fn quiet_silences_notes_and_verbose_shows_decisions() {
    let p = InitProject::new();
    let out = p.run_x07(["policy", "init", "--template", "cli", "--profile", "a"]);
    expect_exit(&out, 0);
    assert!(
        common::stderr(&out).contains("profiles.a.policy"),
        "{}",
        out.describe()
    );
    let out = p.run_x07([
        "-q",
        "policy",
        "init",
        "--template",
        "cli",
        "--profile",
        "b",
    ]);
    expect_exit(&out, 0);
    assert_eq!(common::stderr(&out), "", "{}", out.describe());
    // errors still show under -q
    let out = p.run_x07(["-q", "run", "--profile", "nope"]);
    assert_ne!(out.exit_code, Some(0));
    assert!(
        common::stderr(&out).contains("error["),
        "{}",
        out.describe()
    );
    // -v: the build's decision, once built and once a store hit
    let out = p.run_x07(["-v", "build"]);
    expect_exit(&out, 0);
    assert!(
        common::stderr(&out).contains("built into the store"),
        "{}",
        out.describe()
    );
    let out = p.run_x07(["build", "-v"]);
    expect_exit(&out, 0);
    assert!(
        common::stderr(&out).contains("store hit"),
        "{}",
        out.describe()
    );
    let out = p.run_x07(["build"]);
    assert!(
        !common::stderr(&out).contains("store hit"),
        "{}",
        out.describe()
    );
}

#[test]
fn run_and_build_parse_the_same_on_their_fast_path() {
    let p = InitProject::new();
    for args in [
        vec!["run", "--no-such-flag"],
        vec!["build", "--no-such-flag"],
        vec!["-q", "-v", "run"],
    ] {
        let out = p.run_x07(&args);
        expect_exit(&out, 2);
        assert!(
            common::stderr(&out).contains("error[X07-CLI-0001]"),
            "{args:?}: {}",
            out.describe()
        );
    }
    let out = p.run_x07(["-q", "build"]);
    expect_exit(&out, 0);
    assert_eq!(common::stderr(&out), "");
    let out = p.run_x07(["run", "-v", "--input-b64", "aGk="]);
    expect_exit(&out, 0);
    assert!(
        common::stderr(&out).contains("store hit"),
        "{}",
        out.describe()
    );
    assert_eq!(common::solve_output(&out), b"hi");
}
