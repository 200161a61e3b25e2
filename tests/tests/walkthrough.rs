//! The sandbox policy walkthrough (seed 002) and `x07 run` (seed 004) in world run-os, driven
//! through the built `x07` binary: `x07 init`, running with input, the file-writing program,
//! report shapes, input precedence, repair modes, `--compiled-out`/`--artifact`, fuel, discovery.
//!
//! Every test has its own `X07_HOME` and project directory. Set `X07_BIN` to test another build.

mod common;

use std::time::{Duration, SystemTime};

use serde_json::{json, Value};

use common::{
    app_module, b64_encode, canonical_file, expect_exit, expect_stderr, expect_store_empty,
    is_canonical_file, pretty, report, run, solve_output, stdout_json, x07_in, InitProject,
};

/// The policy path `x07 init` puts in the sandbox profile (seed 002, step 0).
const SANDBOX_POLICY: &str = ".x07/policies/base/cli.sandbox.base.policy.json";

/// The files `x07 init` writes.
const INIT_FILES: [&str; 5] = [
    "x07.json",
    "x07.lock.json",
    "src/main.x07.json",
    "src/app.x07.json",
    ".gitignore",
];

/// Step 3 of the walkthrough, byte for byte as the seed prints it.
const STEP3_APP: &str = include_str!("../fixtures/seed_step3_app.x07.json");

/// An `app.solve` that never returns: `while 1` bumping a counter.
fn looping_app() -> Value {
    app_module(
        &[],
        json!([
            "begin",
            ["let", "x", 0],
            ["while", 1, ["set", "x", ["+", "x", 1]]],
            ["view.to_bytes", "b"]
        ]),
    )
}

#[test]
fn init_creates_the_project_files() {
    let home = x07_tests::X07Home::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let out = run(x07_in(&home, dir.path()).arg("init"));
    expect_exit(&out, 0);

    for file in INIT_FILES {
        assert!(
            dir.path().join(file).is_file(),
            "x07 init should create {file}\n{}",
            out.describe()
        );
    }
    let manifest: Value =
        serde_json::from_slice(&fs_err::read(dir.path().join("x07.json")).unwrap()).unwrap();
    assert_eq!(
        manifest["schema_version"], "x07.project@0.5.0",
        "{manifest:#}"
    );
    assert_eq!(
        manifest["profiles"]["os"]["world"], "run-os",
        "{manifest:#}"
    );
    assert_eq!(
        manifest["profiles"]["sandbox"]["world"], "run-os-sandboxed",
        "{manifest:#}"
    );
    assert_eq!(
        manifest["profiles"]["sandbox"]["policy"], SANDBOX_POLICY,
        "{manifest:#}"
    );
    // Seed 002: "The profile exists immediately, but the policy file does not until you generate it."
    assert!(
        !dir.path().join(SANDBOX_POLICY).exists(),
        "x07 init should not create the policy file"
    );

    let lock: Value =
        serde_json::from_slice(&fs_err::read(dir.path().join("x07.lock.json")).unwrap()).unwrap();
    assert_eq!(lock["schema_version"], "x07.lock@0.5.0", "{lock:#}");
    assert_eq!(lock["dependencies"], json!([]), "{lock:#}");

    for file in ["x07.lock.json", "src/main.x07.json", "src/app.x07.json"] {
        let bytes = fs_err::read(dir.path().join(file)).unwrap();
        assert!(
            is_canonical_file(&bytes),
            "{file} should be canonical JSON plus a newline:\n{}",
            String::from_utf8_lossy(&bytes)
        );
    }
    // x07.json is edited by people: indented, in the canonical key order
    let text = fs_err::read_to_string(dir.path().join("x07.json")).unwrap();
    let pretty = serde_json::to_string_pretty(&manifest).unwrap() + "\n";
    assert_eq!(text, pretty, "x07.json should be pretty-printed");
    assert!(text.starts_with("{\n  \"compat\""), "{text}");
    // files get the usual modes: 0666 less the umask, as an editor or `touch` would make them
    let status = fs_err::read_to_string("/proc/self/status").unwrap();
    let umask = status
        .lines()
        .find_map(|l| l.strip_prefix("Umask:"))
        .map(|v| u32::from_str_radix(v.trim(), 8).unwrap())
        .unwrap();
    for file in INIT_FILES {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = fs_err::metadata(dir.path().join(file))
            .unwrap()
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(mode, 0o666 & !umask, "{file} has mode {mode:o}");
    }
    expect_store_empty(&home, &out);
}

#[test]
fn init_creates_a_missing_directory_argument() {
    let home = x07_tests::X07Home::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let out = run(x07_in(&home, dir.path()).args(["init", "nested/demo"]));
    expect_exit(&out, 0);
    assert!(
        dir.path().join("nested/demo/x07.json").is_file(),
        "{}",
        out.describe()
    );
    assert!(
        dir.path().join("nested/demo/src/app.x07.json").is_file(),
        "{}",
        out.describe()
    );
    assert!(
        !dir.path().join("x07.json").exists(),
        "init DIR must not write into the current directory"
    );
}

#[test]
fn run_with_input_file_echoes_the_bytes() {
    let p = InitProject::new();
    let input = p.scratch().join("in.bin");
    fs_err::write(&input, b"hello").unwrap();
    let out = run(p.x07().arg("run").arg("--input").arg(&input));
    expect_exit(&out, 0);
    let r = report(&out);
    assert_eq!(
        r.fields.schema_version.as_deref(),
        Some("x07-os-runner.report@0.5.0"),
        "{}",
        r.pretty()
    );
    assert_eq!(
        r.fields.mode.as_deref(),
        Some("project-compile-run"),
        "{}",
        r.pretty()
    );
    assert_eq!(r.fields.exit_code, Some(0), "{}", r.pretty());
    assert!(
        r.fields.compile.as_ref().is_some_and(|c| c.ok),
        "{}",
        r.pretty()
    );
    assert!(
        r.fields.solve.as_ref().is_some_and(|s| s.ok),
        "{}",
        r.pretty()
    );
    assert_eq!(r.raw["world"], "run-os", "{}", r.pretty());
    assert_eq!(solve_output(&out), b"hello");
}

#[test]
fn step3_program_writes_out_input_bin_once_out_exists() {
    let p = InitProject::new();
    p.write("src/app.x07.json", STEP3_APP.as_bytes());
    let input = p.scratch().join("in.bin");
    fs_err::write(&input, b"hello\x00\xff").unwrap();
    let run_it = || run(p.x07().arg("run").arg("--input").arg(&input));

    let before = run_it();
    expect_exit(&before, 0);
    assert_eq!(
        solve_output(&before),
        b"write_failed",
        "without out/ the write must fail"
    );
    assert!(!p.path("out").exists(), "the program must not create out/");

    fs_err::create_dir(p.path("out")).unwrap();
    let after = run_it();
    expect_exit(&after, 0);
    assert_eq!(solve_output(&after), b"ok");
    assert_eq!(
        fs_err::read(p.path("out/input.bin")).unwrap(),
        b"hello\x00\xff"
    );
}

#[test]
fn wrapped_report_holds_the_runner_report() {
    let p = InitProject::new();
    let out = p.run_x07([
        "run",
        "--input-b64",
        &b64_encode(b"wrap me"),
        "--report",
        "wrapped",
    ]);
    expect_exit(&out, 0);
    let w = stdout_json(&out);
    assert_eq!(w["schema_version"], "x07.run.report@0.3.0", "{w:#}");
    assert_eq!(w["world"], "run-os", "{w:#}");
    assert_eq!(w["target"]["kind"], "project", "{w:#}");
    let manifest = p.path("x07.json");
    assert_eq!(w["target"]["path"], manifest.display().to_string(), "{w:#}");
    let inner = &w["report"];
    assert_eq!(
        inner["schema_version"], "x07-os-runner.report@0.5.0",
        "{w:#}"
    );
    assert_eq!(inner["compile"]["ok"], true, "{w:#}");
    let b64 = inner["solve"]["solve_output_b64"]
        .as_str()
        .unwrap_or_else(|| panic!("no report.solve.solve_output_b64: {w:#}"));
    assert_eq!(common::b64_decode(b64), b"wrap me");
}

#[test]
fn report_out_writes_the_printed_bytes() {
    let p = InitProject::new();
    for mode in ["runner", "wrapped"] {
        let file = p.scratch().join(format!("report-{mode}.json"));
        let out = run(p
            .x07()
            .args([
                "run",
                "--input-b64",
                "aGk=",
                "--report",
                mode,
                "--report-out",
            ])
            .arg(&file));
        expect_exit(&out, 0);
        let written = fs_err::read(&file)
            .unwrap_or_else(|e| panic!("--report-out {mode}: {e}\n{}", out.describe()));
        assert_eq!(
            written, out.stdout,
            "--report {mode}: the file must hold exactly the printed report"
        );
        assert!(
            is_canonical_file(&written),
            "--report {mode}: report should be canonical JSON"
        );
    }
}

#[test]
fn input_and_input_b64_together_are_a_usage_error() {
    let p = InitProject::new();
    let input = p.scratch().join("in.bin");
    fs_err::write(&input, b"x").unwrap();
    let out = run(p
        .x07()
        .arg("run")
        .arg("--input")
        .arg(&input)
        .args(["--input-b64", "eA=="]));
    expect_exit(&out, 2);
    let err = common::stderr(&out);
    assert!(
        err.contains("--input") && err.contains("--input-b64"),
        "the message should name both flags\n{}",
        out.describe()
    );
    assert!(
        out.stdout.is_empty(),
        "no report on a usage error\n{}",
        out.describe()
    );
    expect_store_empty(&p.home, &out);
    // docs/diagnostics.md: every error carries a code; an invalid flag combination is X07-CLI-0001.
    expect_stderr(&out, "X07-CLI-0001", &[]);
}

#[test]
fn trailing_args_are_encoded_as_argv_v1() {
    let p = InitProject::new();
    let out = p.run_x07(["run", "--", "a", "bc", ""]);
    expect_exit(&out, 0);
    // argv_v1: u32_le argc, then u32_le len + bytes per argument; no implicit argv0.
    let expected: &[u8] = b"\x03\x00\x00\x00\x01\x00\x00\x00a\x02\x00\x00\x00bc\x00\x00\x00\x00";
    assert_eq!(solve_output(&out), expected);
}

#[test]
fn profile_input_is_used_only_when_no_input_is_given() {
    let p = InitProject::new();
    p.write("fixtures/default.bin", b"from profile");
    p.edit_manifest(|m| m["profiles"]["os"]["input"] = json!("fixtures/default.bin"));

    let out = p.run_x07(["run"]);
    expect_exit(&out, 0);
    assert_eq!(solve_output(&out), b"from profile");

    let out = p.run_x07(["run", "--input-b64", &b64_encode(b"from flag")]);
    expect_exit(&out, 0);
    assert_eq!(
        solve_output(&out),
        b"from flag",
        "--input-b64 outranks profiles.os.input"
    );

    let out = p.run_x07(["run", "--", "x"]);
    expect_exit(&out, 0);
    assert_eq!(
        solve_output(&out),
        b"\x01\x00\x00\x00\x01\x00\x00\x00x",
        "-- args outrank profiles.os.input"
    );
}

#[test]
fn no_input_means_empty_bytes() {
    let p = InitProject::new();
    let out = p.run_x07(["run"]);
    expect_exit(&out, 0);
    assert_eq!(solve_output(&out), b"");
}

#[test]
fn sandbox_profile_fails_closed_without_a_guest_image() {
    let p = InitProject::new();
    let out = p.run_x07(["run", "--profile", "sandbox", "--input-b64", "aGk="]);
    expect_exit(&out, 2);
    expect_stderr(
        &out,
        "X07-SANDBOX-0001",
        &[
            "the VM backend needs x07's guest image",
            "x07 vm image build",
            "--sandbox-backend os --i-accept-weaker-isolation",
        ],
    );
    expect_store_empty(&p.home, &out);
}

#[test]
fn repair_write_canonicalizes_a_pretty_module() {
    let p = InitProject::new();
    let app = p.read_json("src/app.x07.json");
    p.write_pretty("src/app.x07.json", &app);
    let out = p.run_x07(["run", "--repair", "write", "--input-b64", "aGk="]);
    expect_exit(&out, 0);
    assert_eq!(solve_output(&out), b"hi");
    assert_eq!(
        p.read("src/app.x07.json"),
        canonical_file(&app),
        "--repair write should leave JCS + newline"
    );
}

#[test]
fn repair_write_leaves_a_canonical_file_untouched() {
    let p = InitProject::new();
    let path = p.path("src/app.x07.json");
    let before = p.read("src/app.x07.json");
    assert!(
        is_canonical_file(&before),
        "x07 init writes canonical modules"
    );
    // An old mtime makes any rewrite visible whatever the file system's timestamp granularity.
    let old = SystemTime::now() - Duration::from_secs(3600);
    fs_err::File::options()
        .write(true)
        .open(&path)
        .unwrap()
        .set_modified(old)
        .unwrap();
    let mtime_before = fs_err::metadata(&path).unwrap().modified().unwrap();

    let out = p.run_x07(["run", "--repair", "write", "--input-b64", "aGk="]);
    expect_exit(&out, 0);
    assert_eq!(p.read("src/app.x07.json"), before);
    assert_eq!(
        fs_err::metadata(&path).unwrap().modified().unwrap(),
        mtime_before,
        "a canonical file must not be rewritten"
    );
}

#[test]
fn repair_memory_and_off_leave_a_pretty_file_as_is() {
    let p = InitProject::new();
    let app = p.read_json("src/app.x07.json");
    let pretty_bytes = pretty(&app);
    p.write("src/app.x07.json", &pretty_bytes);
    for mode in ["memory", "off"] {
        let out = p.run_x07(["run", "--repair", mode, "--input-b64", "aGk="]);
        expect_exit(&out, 0);
        assert_eq!(solve_output(&out), b"hi", "--repair {mode}");
        assert_eq!(
            p.read("src/app.x07.json"),
            pretty_bytes,
            "--repair {mode} must not touch the file"
        );
    }
}

#[test]
fn compiled_out_is_a_framed_executable_that_artifact_runs() {
    let p = InitProject::new();
    let exe = p.scratch().join("echo-exe");
    let out = run(p
        .x07()
        .args(["run", "--input-b64", "aGk=", "--compiled-out"])
        .arg(&exe));
    expect_exit(&out, 0);
    assert!(
        exe.is_file(),
        "--compiled-out should write {}\n{}",
        exe.display(),
        out.describe()
    );

    // Framed I/O (seed 004): stdin u32_le(len) + bytes, stdout u32_le(len) + bytes.
    let direct = run_framed(&exe, b"framed!");
    assert_eq!(
        direct, b"\x07\x00\x00\x00framed!",
        "stdout of the executable run directly"
    );

    // --artifact needs no project: run it from an empty directory.
    let empty = tempfile::tempdir().unwrap();
    let out = run(x07_in(&p.home, empty.path())
        .arg("run")
        .arg("--artifact")
        .arg(&exe)
        .args(["--input-b64", &b64_encode(b"art")]));
    expect_exit(&out, 0);
    let r = stdout_json(&out);
    assert_eq!(r["mode"], "run-os", "{r:#}");
    assert_eq!(r["schema_version"], "x07-os-runner.report@0.5.0", "{r:#}");
    assert_eq!(r["exit_code"], 0, "{r:#}");
    let b64 = r["solve_output_b64"]
        .as_str()
        .unwrap_or_else(|| panic!("run-os reports carry solve_output_b64 at the top: {r:#}"));
    assert_eq!(common::b64_decode(b64), b"art");
}

/// Runs a framed executable directly with `input`, returning its raw stdout.
fn run_framed(exe: &std::path::Path, input: &[u8]) -> Vec<u8> {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let mut child = Command::new(exe)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", exe.display()));
    let mut stdin = child.stdin.take().unwrap();
    let mut framed = (input.len() as u32).to_le_bytes().to_vec();
    framed.extend_from_slice(input);
    stdin.write_all(&framed).unwrap();
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{} exited with {}: {}",
        exe.display(),
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

#[test]
fn solve_fuel_limit_traps_a_loop() {
    let p = InitProject::new();
    p.write_app(&looping_app());
    let out = p.run_x07(["run", "--solve-fuel", "10", "--input-b64", "aGk="]);
    expect_exit(&out, 1);
    let r = report(&out);
    assert_eq!(r.fields.exit_code, Some(1), "{}", r.pretty());
    assert!(
        r.fields.compile.as_ref().is_some_and(|c| c.ok),
        "{}",
        r.pretty()
    );
    let solve = r
        .fields
        .solve
        .as_ref()
        .unwrap_or_else(|| panic!("no solve section: {}", r.pretty()));
    assert!(!solve.ok, "{}", r.pretty());
    let trap = solve.trap.as_deref().unwrap_or_default();
    assert!(
        trap.starts_with("fuel exhausted"),
        "trap should start with `fuel exhausted`: {}",
        r.pretty()
    );
}

#[test]
fn run_from_a_subdirectory_finds_the_project() {
    let p = InitProject::new();
    let deep = p.path("src/deeper/still");
    fs_err::create_dir_all(&deep).unwrap();
    let out =
        run(x07_in(&p.home, &deep).args(["run", "--input-b64", "dXA=", "--report", "wrapped"]));
    expect_exit(&out, 0);
    let w = stdout_json(&out);
    assert_eq!(
        w["target"]["path"],
        p.path("x07.json").display().to_string(),
        "{w:#}"
    );
    let b64 = w["report"]["solve"]["solve_output_b64"]
        .as_str()
        .unwrap_or_default();
    assert_eq!(common::b64_decode(b64), b"up");
}
