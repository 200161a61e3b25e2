//! `x07 bundle` end to end: os bundles (argv_v1 edge cases, exit codes, traps, the output cap),
//! sealed sandbox bundles run on their own in fresh directories (relative roots, every widening
//! attempt, the wall clock), reproducibility across directories and homes, and the store (VM
//! bundles: cli_bundle_vm.rs).
//! The sandbox trials need root (cgroups, namespaces); without it they say why and are skipped.

mod common;
mod common_sandbox {
    #![allow(dead_code)]
    pub mod privileges;
}

use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use common::{app_module, expect_exit, sha256_file, stderr, stdout_json, InitProject};
use common_sandbox::privileges::skip_without_os_backend;
use serde_json::{json, Value};
use x07_tests::{X07Invocation, X07Output};

const BUNDLE_TIMEOUT: Duration = Duration::from_secs(60);

/// argv_v1: u32le count, then per token u32le length and the bytes.
fn argv_v1(tokens: &[&[u8]]) -> Vec<u8> {
    let mut out = (tokens.len() as u32).to_le_bytes().to_vec();
    for t in tokens {
        out.extend_from_slice(&(t.len() as u32).to_le_bytes());
        out.extend_from_slice(t);
    }
    out
}

/// `x07 bundle <args> --no-sign --out <out>` in the project (provenance signing is tested in
/// cli_bundle_provenance); must succeed; its report.
fn bundle(p: &InitProject, args: &[&str], out: &Path) -> Value {
    let o = p
        .x07()
        .arg("bundle")
        .args(args)
        .arg("--no-sign")
        .arg("--out")
        .arg(out)
        .run()
        .unwrap();
    expect_exit(&o, 0);
    stdout_json(&o)
}

fn sandbox_flags() -> Vec<&'static str> {
    vec![
        "--profile",
        "sandbox",
        "--sandbox-backend",
        "os",
        "--i-accept-weaker-isolation",
    ]
}

/// Runs a bundle with `args` in `cwd` (nothing of x07 in its environment).
fn run_bundle(exe: &Path, args: &[OsString], cwd: &Path) -> X07Output {
    exec(X07Invocation::new(exe).args(args).current_dir(cwd))
}

fn exec(inv: X07Invocation) -> X07Output {
    let out = inv.timeout(BUNDLE_TIMEOUT).run().expect("start the bundle");
    assert!(!out.timed_out, "the bundle hung\n{}", out.describe());
    out
}

#[test]
fn os_bundle_passes_arguments_as_argv_v1_with_its_own_name_first() {
    let p = InitProject::new();
    let exe = p.scratch().join("dist/echo");
    let report = bundle(&p, &["--profile", "os"], &exe);
    assert_eq!(report["schema_version"], "x07.bundle.report@0.5.0");
    assert_eq!(report["bundle"]["kind"], "native");
    assert_eq!(report["bundle"]["abi"]["kind"], "argv_v1");
    assert_eq!(report["bundle"]["name"], "echo");
    assert_eq!(report["bundle"]["policy"], Value::Null);
    assert_eq!(
        report["bundle"]["sha256"],
        format!("sha256:{}", sha256_file(&exe))
    );
    assert!(Path::new(report["bundle"]["store_path"].as_str().unwrap()).is_file());

    let long = vec![b'a'; 64 * 1024];
    let many: Vec<Vec<u8>> = (0..10_000).map(|i| format!("a{i}").into_bytes()).collect();
    let cases: Vec<Vec<Vec<u8>>> = vec![
        vec![],
        vec![b"".to_vec()],
        vec![b"one".to_vec(), b"".to_vec(), b"three four".to_vec()],
        // every argument is the program's, flags included
        vec![
            b"--help".to_vec(),
            b"--version".to_vec(),
            b"--x07-policy-fd=3".to_vec(),
        ],
        vec![long],
        vec![vec![0xff, 0xfe, b'x', 0x80]],
        many,
    ];
    // run from elsewhere, through a differently named link: token 0 stays the bundle's name
    let link = p.scratch().join("renamed");
    std::os::unix::fs::symlink(&exe, &link).unwrap();
    for args in cases {
        let os_args: Vec<OsString> = args.iter().cloned().map(OsString::from_vec).collect();
        let out = run_bundle(&link, &os_args, p.scratch());
        expect_exit(&out, 0);
        let mut tokens: Vec<&[u8]> = vec![b"echo"];
        tokens.extend(args.iter().map(Vec::as_slice));
        assert!(
            out.stdout == argv_v1(&tokens),
            "{} arguments: stdout is not their argv_v1 encoding",
            args.len()
        );
        assert!(out.stderr.is_empty(), "{}", out.describe());
    }
}

#[test]
fn os_bundle_exits_with_the_program_code_and_70_on_a_trap() {
    let p = InitProject::new();
    // exit code = the argument count (argv_v1's first byte); token 2 present → out-of-bounds trap
    p.write_app(&app_module(
        &["std.process"],
        json!([
            "begin",
            [
                "let",
                "z",
                ["std.process.set_exit_code_v1", ["view.get_u8", "b", 0]]
            ],
            [
                "if",
                ["=", ["view.get_u8", "b", 0], 3],
                ["bytes1", ["view.get_u8", "b", 100000]],
                ["bytes.lit", "done"]
            ]
        ]),
    ));
    let exe = p.scratch().join("app");
    bundle(&p, &["--profile", "os"], &exe);
    let out = run_bundle(&exe, &["x".into()], p.scratch());
    expect_exit(&out, 2);
    assert_eq!(out.stdout, b"done");
    let out = run_bundle(&exe, &["x".into(), "y".into(), "z".into()], p.scratch());
    expect_exit(&out, 4);
    let out = run_bundle(&exe, &["x".into(), "y".into()], p.scratch());
    expect_exit(&out, 70);
    assert!(out.stdout.is_empty(), "{}", out.describe());
    let lines: Vec<&str> = std::str::from_utf8(&out.stderr).unwrap().lines().collect();
    assert_eq!(lines.len(), 1, "{}", out.describe());
    assert!(
        lines[0].starts_with("app: trap: view.get_u8 oob"),
        "{}",
        out.describe()
    );
}

#[test]
fn os_bundle_output_over_the_cap_exits_70_and_writes_nothing() {
    let p = InitProject::new();
    let exe = p.scratch().join("capped");
    bundle(&p, &["--profile", "os", "--max-output-bytes", "40"], &exe);
    let out = run_bundle(&exe, &["short".into()], p.scratch());
    expect_exit(&out, 0);
    let out = run_bundle(&exe, &["a".repeat(64).into()], p.scratch());
    expect_exit(&out, 70);
    assert!(out.stdout.is_empty());
    assert!(
        stderr(&out).contains("max_output_bytes"),
        "{}",
        out.describe()
    );
}

#[test]
fn out_as_a_directory_takes_the_project_name_and_the_store_keeps_what_dist_roots() {
    let p = InitProject::new();
    let dist = p.scratch().join("dist");
    fs_err::create_dir(&dist).unwrap();
    let report = bundle(&p, &["--profile", "os"], &dist);
    assert_eq!(
        report["bundle"]["out"],
        dist.join("proj").display().to_string()
    );
    assert!(dist.join("proj").is_file());
    let entry = PathBuf::from(report["bundle"]["store_path"].as_str().unwrap());
    let entry_dir = entry.parent().unwrap().to_path_buf();
    let ls = p.run_x07(["store", "ls"]);
    assert!(
        common::stdout(&ls).contains(&entry_dir.display().to_string()),
        "{}",
        ls.describe()
    );
    expect_exit(&p.run_x07(["store", "gc"]), 0);
    assert!(entry_dir.is_dir(), "gc removed a bundle dist/ still roots");
    fs_err::remove_dir_all(&dist).unwrap();
    expect_exit(&p.run_x07(["store", "gc"]), 0);
    assert!(!entry_dir.exists(), "gc kept a bundle whose dist/ is gone");
}

#[test]
fn bundles_are_identical_across_directories_and_homes() {
    let digests = |sandbox: bool| -> Vec<String> {
        (0..2)
            .map(|_| {
                let p = InitProject::new();
                let mut args = vec!["--profile", "os"];
                if sandbox {
                    expect_exit(&p.run_x07(["policy", "init", "--template", "cli"]), 0);
                    args = sandbox_flags();
                }
                let exe = p.scratch().join("app");
                bundle(&p, &args, &exe);
                sha256_file(&exe)
            })
            .collect()
    };
    let os = digests(false);
    assert_eq!(os[0], os[1], "os bundles differ");
    let sealed = digests(true);
    assert_eq!(sealed[0], sealed[1], "sealed bundles differ");
}

// ---------------------------------------------------------------------------------------------
// Sealed bundles

/// A project whose program writes its input to `out/in.bin` (a write root of the cli template)
/// and to `<outside>/escape.bin`, and says `in=<rc> esc=<rc>`; bundled sealed into `dist/app`.
struct Sealed {
    p: InitProject,
    exe: PathBuf,
    outside: PathBuf,
}

impl Sealed {
    fn new(policy_patch: Value) -> Self {
        Self::with_flags(policy_patch, &sandbox_flags())
    }

    fn with_flags(policy_patch: Value, flags: &[&str]) -> Self {
        let p = InitProject::new();
        expect_exit(&p.run_x07(["policy", "init", "--template", "cli"]), 0);
        let policy_path = p
            .root()
            .join(".x07/policies/base/cli.sandbox.base.policy.json");
        let mut policy: Value =
            serde_json::from_slice(&fs_err::read(&policy_path).unwrap()).unwrap();
        merge(&mut policy, &policy_patch);
        fs_err::write(&policy_path, serde_json::to_vec(&policy).unwrap()).unwrap();
        let outside = p.scratch().join("outside");
        fs_err::create_dir(&outside).unwrap();
        let escape = outside.join("escape.bin").display().to_string();
        p.write_app(&common::write_in_and_escape_app(&escape));
        let exe = p.scratch().join("dist/app");
        let report = bundle(&p, flags, &exe);
        let backend = flags
            .windows(2)
            .find(|w| w[0] == "--sandbox-backend")
            .map(|w| w[1])
            .unwrap();
        assert_eq!(report["bundle"]["sandbox_backend"], backend);
        assert_eq!(report["bundle"]["policy"]["sealed"], true);
        Self { p, exe, outside }
    }

    /// A fresh directory beside the project to run the bundle in.
    fn fresh_dir(&self, name: &str) -> PathBuf {
        let d = self.p.scratch().join(name);
        fs_err::create_dir_all(&d).unwrap();
        d
    }

    fn escaped(&self) -> bool {
        self.outside.join("escape.bin").exists()
    }
}

/// The program wrote inside its roots and was refused outside them (`in=0 esc=<error code>`).
fn refused_escape(out: &X07Output) -> bool {
    let said = String::from_utf8_lossy(&out.stdout);
    said.starts_with("in=0 esc=") && !said.ends_with("esc=0")
}

fn merge(target: &mut Value, patch: &Value) {
    match (target, patch) {
        (Value::Object(t), Value::Object(p)) => {
            for (k, v) in p {
                merge(t.entry(k.clone()).or_insert(Value::Null), v);
            }
        }
        (t, p) => *t = p.clone(),
    }
}

#[test]
fn sealed_bundle_copied_elsewhere_resolves_roots_against_its_working_directory() {
    if skip_without_os_backend(
        "sealed_bundle_copied_elsewhere_resolves_roots_against_its_working_directory",
    ) {
        return;
    }
    let s = Sealed::new(json!({}));
    // copied to a fresh directory, run from another: out/ is created there, nothing escapes
    let copy = s.fresh_dir("elsewhere").join("tool");
    fs_err::copy(&s.exe, &copy).unwrap();
    let cwd = s.fresh_dir("work");
    let out = run_bundle(&copy, &["hello".into()], &cwd);
    expect_exit(&out, 0);
    let said = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        said.starts_with("in=0 esc=") && !said.ends_with("esc=0"),
        "{said}\n{}",
        out.describe()
    );
    let written = fs_err::read(cwd.join("out/in.bin")).unwrap();
    assert_eq!(
        written,
        argv_v1(&[b"app", b"hello"]),
        "token 0 is the baked name"
    );
    assert!(
        !s.escaped(),
        "the sealed bundle wrote outside its write roots"
    );
    assert!(
        !stderr(&out).contains("x07: sandbox:"),
        "{}",
        out.describe()
    );
}

#[test]
fn nothing_the_runner_controls_widens_a_sealed_policy() {
    if skip_without_os_backend("nothing_the_runner_controls_widens_a_sealed_policy") {
        return;
    }
    let s = Sealed::new(json!({}));
    let cwd = s.fresh_dir("work");
    // a permissive policy and blob a runner might try to slip in
    let permissive = s.p.scratch().join("permissive.policy.json");
    fs_err::write(&permissive, br#"{"fs":{"write_roots":["/"]}}"#).unwrap();
    let attempts: Vec<(&str, Vec<(&str, String)>, Vec<OsString>, PathBuf)> = vec![
        (
            "env X07_OS_FS_WRITE_ROOTS",
            vec![
                ("X07_OS_FS_WRITE_ROOTS", "/".into()),
                ("X07_OS_FS", "1".into()),
            ],
            vec![],
            s.exe.clone(),
        ),
        (
            "env X07_SANDBOX_BACKEND=none",
            vec![
                ("X07_SANDBOX_BACKEND", "none".into()),
                ("X07_I_ACCEPT_WEAKER_ISOLATION", "1".into()),
            ],
            vec![],
            s.exe.clone(),
        ),
        (
            "env LD_PRELOAD",
            vec![("LD_PRELOAD", "/nonexistent/x07-preload.so".into())],
            vec![],
            s.exe.clone(),
        ),
        (
            "argument --x07-policy-file",
            vec![],
            vec![format!("--x07-policy-file={}", permissive.display()).into()],
            s.exe.clone(),
        ),
        (
            "argument --plain-exec --",
            vec![],
            vec!["--plain-exec".into(), "--".into(), "/bin/true".into()],
            s.exe.clone(),
        ),
    ];
    for (what, env, args, exe) in attempts {
        let mut inv = X07Invocation::new(&exe).args(&args).current_dir(&cwd);
        for (k, v) in env {
            inv = inv.env(k, v);
        }
        let out = exec(inv);
        expect_exit(&out, 0);
        assert!(refused_escape(&out), "{what}: {}", out.describe());
        assert!(!s.escaped(), "{what}: the program wrote outside its roots");
    }
    // files beside the executable, renamed copies and links are not read
    fs_err::write(
        s.exe.with_extension("policy.json"),
        br#"{"fs":{"write_roots":["/"]}}"#,
    )
    .unwrap();
    fs_err::create_dir_all(s.exe.with_extension("vm")).unwrap();
    let renamed = s.fresh_dir("other").join("x07-launch");
    fs_err::copy(&s.exe, &renamed).unwrap();
    let link = s.fresh_dir("links").join("app");
    std::os::unix::fs::symlink(&s.exe, &link).unwrap();
    for exe in [s.exe.clone(), renamed, link] {
        let out = run_bundle(&exe, &[], &cwd);
        expect_exit(&out, 0);
        assert!(refused_escape(&out), "{}", out.describe());
        assert!(
            !s.escaped(),
            "{}: the program wrote outside its roots",
            exe.display()
        );
    }
}

#[test]
fn a_backend_none_bundle_carries_its_policy_and_checks_in_process() {
    let s = Sealed::with_flags(
        json!({}),
        &[
            "--profile",
            "sandbox",
            "--sandbox-backend",
            "none",
            "--i-accept-weaker-isolation",
        ],
    );
    let cwd = s.fresh_dir("work");
    let out = run_bundle(&s.exe, &["x".into()], &cwd);
    expect_exit(&out, 0);
    assert!(refused_escape(&out), "{}", out.describe());
    assert!(
        cwd.join("out/in.bin").is_file(),
        "the relative write root resolves at start"
    );
    let permissive = s.p.scratch().join("permissive.policy.json");
    fs_err::write(&permissive, br#"{"fs":{"write_roots":["/"]}}"#).unwrap();
    let attempts: Vec<(Vec<(&str, String)>, Vec<OsString>)> = vec![
        (
            vec![
                ("X07_OS_FS_WRITE_ROOTS", "/".into()),
                ("X07_SANDBOX_BACKEND", "none".into()),
            ],
            vec![],
        ),
        (
            vec![],
            vec![format!("--x07-policy-file={}", permissive.display()).into()],
        ),
    ];
    for (env, args) in attempts {
        let mut inv = X07Invocation::new(&s.exe).args(&args).current_dir(&cwd);
        for (k, v) in env {
            inv = inv.env(k, v);
        }
        let out = exec(inv);
        expect_exit(&out, 0);
        assert!(refused_escape(&out), "{}", out.describe());
        assert!(!s.escaped());
    }
    // narrowing applies to these bundles too: file writes off
    fs_err::remove_file(cwd.join("out/in.bin")).unwrap();
    fs_err::write(cwd.join("off.json"), br#"{"fs": {"enabled": false}}"#).unwrap();
    let out = exec(
        X07Invocation::new(&s.exe)
            .current_dir(&cwd)
            .env("X07_BUNDLE_POLICY", "off.json"),
    );
    expect_exit(&out, 0);
    assert!(!cwd.join("out/in.bin").exists(), "{}", out.describe());
}

#[test]
fn x07_bundle_policy_narrows_and_never_widens() {
    if skip_without_os_backend("x07_bundle_policy_narrows_and_never_widens") {
        return;
    }
    let s = Sealed::new(json!({}));
    let run_with = |name: &str, policy: &[u8]| {
        let cwd = s.fresh_dir(name);
        let file = cwd.join("narrow.json");
        fs_err::write(&file, policy).unwrap();
        let out = exec(
            X07Invocation::new(&s.exe)
                .current_dir(&cwd)
                .env("X07_BUNDLE_POLICY", "narrow.json"),
        );
        (cwd, out)
    };
    // narrowed to out/sub: out/in.bin is now outside the write roots (out/sub is created)
    let (cwd, out) = run_with("narrow", br#"{"fs": {"write_roots": ["out/sub"]}}"#);
    expect_exit(&out, 0);
    let said = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        said.starts_with("in=") && !said.starts_with("in=0"),
        "{}",
        out.describe()
    );
    assert!(!cwd.join("out/in.bin").exists());
    assert!(cwd.join("out/sub").is_dir());
    // file writes switched off altogether
    let (cwd, out) = run_with("fs-off", br#"{"fs": {"enabled": false}}"#);
    expect_exit(&out, 0);
    assert!(!cwd.join("out/in.bin").exists(), "{}", out.describe());
    // the db switches narrow (the seal has no db section: they stay off, never widened)
    let (_, out) = run_with(
        "db-switches",
        br#"{"db": {"enabled": true, "drivers": {"sqlite": true, "redis": false}}}"#,
    );
    expect_exit(&out, 0);
    // wider than the seal: intersected back to the sealed policy
    let wide = br#"{"schema_version": "x07.run-os-policy@0.1.0",
        "fs": {"write_roots": ["/", "."], "read_roots": ["/"]},
        "limits": {"wall_ms": 4000000000, "mem_bytes": 1099511627776},
        "net": {"enabled": true, "allow_tcp": true, "allow_hosts": [{"host": "127.0.0.1", "ports": [1]}]}}"#;
    let (cwd, out) = run_with("wide", wide);
    expect_exit(&out, 0);
    assert!(refused_escape(&out), "{}", out.describe());
    assert!(cwd.join("out/in.bin").is_file());
    assert!(
        !s.escaped(),
        "a wider X07_BUNDLE_POLICY let the program write outside its roots"
    );
    // anything malformed or unknown refuses to start: the program never runs
    for (name, bad, needle) in [
        ("json", &b"{"[..], "not valid JSON"),
        (
            "type",
            br#"{"fs": {"write_roots": "out"}}"#,
            "fs.write_roots",
        ),
        (
            "unknown",
            br#"{"fs": {"write_rootz": []}}"#,
            "unknown field: fs.write_rootz",
        ),
        ("deny", br#"{"net": {"deny_hosts": []}}"#, "net.deny_hosts"),
        (
            "schema",
            br#"{"schema_version": "x07.run-os-policy@9.0.0"}"#,
            "schema_version",
        ),
        // db: only the switches narrow; limits and allowlists are refused by name
        (
            "db-limit",
            br#"{"db": {"max_queries": 1}}"#,
            "db.max_queries",
        ),
        ("db-sqlite", br#"{"db": {"sqlite": {}}}"#, "db.sqlite"),
        (
            "db-net",
            br#"{"db": {"net": {"allow_ports": [1]}}}"#,
            "db.net",
        ),
        (
            "db-driver",
            br#"{"db": {"drivers": {"oracle": true}}}"#,
            "unknown field: db.drivers.oracle",
        ),
        ("db-type", br#"{"db": {"enabled": 1}}"#, "db.enabled"),
    ] {
        let (cwd, out) = run_with(name, bad);
        expect_exit(&out, 2);
        assert!(
            stderr(&out).contains("X07_BUNDLE_POLICY") && stderr(&out).contains(needle),
            "{name}: {}",
            out.describe()
        );
        assert!(
            !cwd.join("out/in.bin").exists(),
            "{name}: the program ran although it was refused"
        );
    }
}

#[test]
fn sealed_bundle_enforces_the_policy_wall_clock() {
    if skip_without_os_backend("sealed_bundle_enforces_the_policy_wall_clock") {
        return;
    }
    let p = InitProject::new();
    expect_exit(&p.run_x07(["policy", "init", "--template", "cli"]), 0);
    let policy_path = p
        .root()
        .join(".x07/policies/base/cli.sandbox.base.policy.json");
    let mut policy: Value = serde_json::from_slice(&fs_err::read(&policy_path).unwrap()).unwrap();
    policy["limits"]["wall_ms"] = json!(1000);
    fs_err::write(&policy_path, serde_json::to_vec(&policy).unwrap()).unwrap();
    p.write_app(&common::clock_loop_app());
    let exe = p.scratch().join("spin");
    bundle(
        &p,
        &[&sandbox_flags()[..], &["--solve-fuel", "100000000000"]].concat(),
        &exe,
    );
    let started = std::time::Instant::now();
    let out = run_bundle(&exe, &[], p.scratch());
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "the wall clock did not stop it"
    );
    assert_ne!(out.exit_code, Some(0), "{}", out.describe());
    assert!(stderr(&out).contains("timed out"), "{}", out.describe());
}

// ---------------------------------------------------------------------------------------------
// --static and the closure (chroot needs root)

/// Runs `exe_in_root` (a path inside `root`) under `chroot root`.
fn run_chrooted(root: &Path, exe_in_root: &str, args: &[&str]) -> X07Output {
    exec(
        X07Invocation::new("/usr/sbin/chroot")
            .arg(root)
            .arg(exe_in_root)
            .args(args),
    )
}

#[test]
fn a_static_bundle_runs_in_an_empty_chroot() {
    if skip_without_os_backend("a_static_bundle_runs_in_an_empty_chroot") {
        return;
    }
    let p = InitProject::new();
    let exe = p.scratch().join("dist/hello");
    let report = bundle(&p, &["--profile", "os", "--static"], &exe);
    assert_eq!(report["bundle"]["static_link"], true, "{report:#}");
    assert_eq!(report["bundle"]["closure"], json!([]));
    let root = p.scratch().join("empty-root");
    fs_err::create_dir(&root).unwrap();
    fs_err::copy(&exe, root.join("hello")).unwrap();
    let out = run_chrooted(&root, "/hello", &["world"]);
    expect_exit(&out, 0);
    assert_eq!(
        out.stdout,
        argv_v1(&[b"hello", b"world"]),
        "{}",
        out.describe()
    );
}

#[test]
fn a_dynamic_bundle_runs_in_a_chroot_holding_only_its_closure() {
    if skip_without_os_backend("a_dynamic_bundle_runs_in_a_chroot_holding_only_its_closure") {
        return;
    }
    let p = InitProject::new();
    let exe = p.scratch().join("dist/hello");
    let report = bundle(&p, &["--profile", "os"], &exe);
    assert_eq!(report["bundle"]["static_link"], false);
    let closure: Vec<String> = report["bundle"]["closure"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    assert!(closure.iter().any(|l| l.contains("libc.so")), "{closure:?}");
    let root = p.scratch().join("closure-root");
    for lib in &closure {
        assert!(!lib.contains("not found"), "{closure:?}");
        let dest = root.join(lib.trim_start_matches('/'));
        fs_err::create_dir_all(dest.parent().unwrap()).unwrap();
        fs_err::copy(lib, &dest).unwrap();
    }
    fs_err::copy(&exe, root.join("hello")).unwrap();
    let out = run_chrooted(&root, "/hello", &["world"]);
    expect_exit(&out, 0);
    assert_eq!(
        out.stdout,
        argv_v1(&[b"hello", b"world"]),
        "{}",
        out.describe()
    );
    // without its closure the same bundle cannot start: the closure is what it needs
    let bare = p.scratch().join("bare-root");
    fs_err::create_dir(&bare).unwrap();
    fs_err::copy(&exe, bare.join("hello")).unwrap();
    let out = run_chrooted(&bare, "/hello", &["world"]);
    assert_ne!(out.exit_code, Some(0), "{}", out.describe());
}

#[test]
fn static_bundles_refuse_native_libraries() {
    let p = InitProject::new();
    p.edit_manifest(|m| m["link"] = json!({"libs": ["m"]}));
    let out = p
        .x07()
        .args([
            "bundle",
            "--no-sign",
            "--profile",
            "os",
            "--static",
            "--out",
        ])
        .arg(p.scratch().join("app"))
        .run()
        .unwrap();
    expect_exit(&out, 2);
    assert!(
        stderr(&out).contains("X07-BUNDLE-0005") && stderr(&out).contains("(m)"),
        "{}",
        out.describe()
    );
    assert!(!p.scratch().join("app").exists());
}

#[test]
fn a_sealed_static_bundle_runs_confined() {
    if skip_without_os_backend("a_sealed_static_bundle_runs_confined") {
        return;
    }
    let p = InitProject::new();
    expect_exit(&p.run_x07(["policy", "init", "--template", "cli"]), 0);
    let exe = p.scratch().join("dist/app");
    let mut args = sandbox_flags();
    args.push("--static");
    let report = bundle(&p, &args, &exe);
    assert_eq!(report["bundle"]["static_link"], true);
    let out = run_bundle(&exe, &["x".into()], p.scratch());
    expect_exit(&out, 0);
    assert_eq!(out.stdout, argv_v1(&[b"app", b"x"]), "{}", out.describe());
}

#[test]
fn max_c_bytes_refuses_and_emit_attestation_writes_the_envelope() {
    let p = InitProject::new();
    let exe = p.scratch().join("app");
    let out = p
        .x07()
        .args([
            "bundle",
            "--no-sign",
            "--profile",
            "os",
            "--max-c-bytes",
            "100",
            "--out",
        ])
        .arg(&exe)
        .run()
        .unwrap();
    expect_exit(&out, 1);
    assert!(
        stderr(&out).contains("X07-BUNDLE-0006"),
        "{}",
        out.describe()
    );
    assert!(!exe.exists(), "a refused bundle was written");
    let att = p.scratch().join("att.json");
    let r = bundle(
        &p,
        &[
            "--profile",
            "os",
            "--emit-attestation",
            att.to_str().unwrap(),
        ],
        &exe,
    );
    let beside = fs_err::read(p.scratch().join("app.intoto.jsonl")).unwrap();
    assert_eq!(fs_err::read(&att).unwrap(), beside);
    assert_eq!(r["world"], "run-os");
    let out = p
        .x07()
        .args(["bundle", "--no-sign", "--debug-borrow-checks", "--out"])
        .arg(&exe)
        .run()
        .unwrap();
    expect_exit(&out, 2);
    assert!(
        stderr(&out).contains("not supported yet"),
        "{}",
        out.describe()
    );
}
