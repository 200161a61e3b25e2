//! `x07 test` end to end: a package with a tests manifest (no x07.json), every status a test
//! can end in, the exit codes, the JSON report, selection, fail-fast, and the errors that stop
//! everything before a test runs. Real builds with the system C compiler into a private store.

use std::path::Path;
use std::process::{Command, Output};

use serde_json::{json, Value};
use x07_tests::{x07_bin, X07Home};

#[allow(dead_code)]
mod common;
#[allow(dead_code)]
mod common_sandbox;

/// A package `ext-demo` in `dir`: ext.demo, its solve-pure tests module, an OS tests module.
fn write_package(dir: &Path, tests: Value) {
    let write = |rel: &str, v: Value| {
        let path = dir.join(rel);
        fs_err::create_dir_all(path.parent().unwrap()).unwrap();
        fs_err::write(path, serde_json::to_vec_pretty(&v).unwrap()).unwrap();
    };
    write(
        "x07-package.json",
        json!({"schema_version": "x07.package@0.1.0", "name": "ext-demo", "version": "0.1.0",
               "module_root": "modules", "modules": ["ext.demo", "ext.demo.tests", "ext.demo.os_tests"],
               "description": "demo", "docs": "d", "license": "MIT", "meta": {}}),
    );
    write(
        "modules/ext/demo.x07.json",
        json!({"schema_version": "x07.x07ast@0.5.0", "kind": "module", "module_id": "ext.demo", "imports": [],
               "decls": [{"kind": "export", "names": ["ext.demo.double"]},
                         {"kind": "defn", "name": "ext.demo.double", "params": [{"name": "x", "ty": "i32"}],
                          "result": "i32", "body": ["+", "x", "x"]}]}),
    );
    let defn = |name: &str, result: &str, body: Value| json!({"kind": "defn", "name": name, "params": [], "result": result, "body": body});
    write(
        "modules/ext/demo/tests.x07.json",
        json!({"schema_version": "x07.x07ast@0.5.0", "kind": "module", "module_id": "ext.demo.tests",
        "imports": ["ext.demo", "std.test"],
        "decls": [
          {"kind": "export", "names": ["ext.demo.tests.doubles", "ext.demo.tests.wrong",
                                       "ext.demo.tests.traps", "ext.demo.tests.skips", "ext.demo.tests.garbage"]},
          defn("ext.demo.tests.doubles", "result_i32",
               json!(["std.test.assert_i32_eq", ["ext.demo.double", 21], 42, ["std.test.code_assert_i32_eq"]])),
          defn("ext.demo.tests.wrong", "result_i32",
               json!(["std.test.assert_i32_eq", ["ext.demo.double", 2], 5, ["std.test.code_assert_i32_eq"]])),
          defn("ext.demo.tests.traps", "result_i32",
               json!(["begin", ["let", "b", ["bytes.lit", "ab"]], ["let", "x", ["bytes.get_u8", "b", 9]], ["std.test.pass"]])),
          defn("ext.demo.tests.skips", "bytes", json!(["std.test.status_skip"])),
          defn("ext.demo.tests.garbage", "bytes", json!(["bytes.lit", "hi"])),
        ]}),
    );
    write(
        "modules/ext/demo/os_tests.x07.json",
        json!({"schema_version": "x07.x07ast@0.5.0", "kind": "module", "module_id": "ext.demo.os_tests",
               "imports": ["std.test"],
               "decls": [{"kind": "export", "names": ["ext.demo.os_tests.clock"]},
                         defn("ext.demo.os_tests.clock", "result_i32",
                              json!(["begin", ["let", "t", ["os.time.now_unix_ms"]], ["std.test.pass"]]))]}),
    );
    write(
        "tests/tests.json",
        json!({"schema_version": "x07.tests_manifest@0.1.0", "tests": tests}),
    );
}

fn test(id: &str, world: &str, entry: &str) -> Value {
    json!({"id": id, "world": world, "entry": format!("ext.demo.{entry}")})
}

/// Adds an exported `ext.demo.os_tests.<name>` returning result_i32 with `body`.
fn add_os_test(dir: &Path, name: &str, body: Value) {
    let module = dir.join("modules/ext/demo/os_tests.x07.json");
    let mut m: Value = serde_json::from_slice(&fs_err::read(&module).unwrap()).unwrap();
    let full = format!("ext.demo.os_tests.{name}");
    m["decls"][0]["names"]
        .as_array_mut()
        .unwrap()
        .push(json!(full));
    m["decls"].as_array_mut().unwrap().push(json!({
        "kind": "defn", "name": full, "params": [], "result": "result_i32", "body": body}));
    fs_err::write(&module, serde_json::to_vec(&m).unwrap()).unwrap();
}

/// [`test`] with one more manifest field.
fn test_with(id: &str, world: &str, entry: &str, field: &str, value: Value) -> Value {
    let mut t = test(id, world, entry);
    t[field] = value;
    t
}

fn x07(home: &X07Home, cwd: &Path, args: &[&str]) -> Output {
    Command::new(x07_bin())
        .arg("test")
        .args(args)
        .current_dir(cwd)
        .env("X07_HOME", home.path())
        .output()
        .unwrap()
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn report(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", stdout(out)))
}

fn statuses(r: &Value) -> Vec<(String, String)> {
    r["tests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["id"].as_str().unwrap().to_string(),
                t["status"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn pair(id: &str, status: &str) -> (String, String) {
    (id.to_string(), status.to_string())
}

#[test]
fn every_status_and_the_report_of_a_package_without_a_project() {
    let home = X07Home::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut xfail = test("wrong_expected", "solve-pure", "tests.wrong");
    xfail["expect"] = json!("fail");
    let mut skipped = test("zz_skipped", "solve-pure", "tests.doubles");
    skipped["expect"] = json!("skip");
    let mut skips = test("skips", "run-os", "tests.skips");
    skips["returns"] = json!("bytes_status_v1");
    write_package(
        dir.path(),
        json!([
            test("doubles", "solve-pure", "tests.doubles"),
            test("clock", "run-os", "os_tests.clock"),
            test("wrong", "solve-pure", "tests.wrong"),
            xfail,
            skipped,
            skips,
        ]),
    );
    // from the package directory: tests/tests.json is found, the package's module root used
    let out = x07(&home, dir.path(), &["--json", "--no-fail-fast"]);
    assert_eq!(
        out.status.code(),
        Some(10),
        "a failed test: {}",
        stderr(&out)
    );
    let r = report(&out);
    assert_eq!(r["schema_version"], "x07.x07test@0.4.0");
    assert_eq!(
        statuses(&r),
        [
            pair("clock", "pass"),
            pair("doubles", "pass"),
            pair("skips", "skip"),
            pair("wrong", "fail"),
            pair("wrong_expected", "xfail_fail"),
            pair("zz_skipped", "skip"),
        ],
        "in id order"
    );
    let wrong = &r["tests"][3];
    assert_eq!(wrong["run"]["failure_code_u32"], 1002, "{wrong}");
    assert_eq!(wrong["world"], "solve-pure");
    assert_eq!(wrong["entry"], "ext.demo.tests.wrong");
    let s = &r["summary"];
    assert_eq!(
        [
            &s["passed"],
            &s["failed"],
            &s["skipped"],
            &s["errors"],
            &s["xfail_failed"]
        ],
        [2, 1, 2, 0, 1]
    );
    assert!(r["tests"][0]["compile"]["artifact_path"]
        .as_str()
        .unwrap()
        .starts_with(home.path().to_str().unwrap()));

    // the human lines, and selection
    let out = x07(&home, dir.path(), &["--filter", "doubles"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("test doubles ... ok"), "{text}");
    assert!(text.contains("1 passed; 0 failed"), "{text}");
    let out = x07(
        &home,
        dir.path(),
        &["--filter", "wrong", "--exact", "--list"],
    );
    assert_eq!(
        stdout(&out),
        "wrong\tsolve-pure\tpass\text.demo.tests.wrong\n"
    );
    let out = x07(&home, dir.path(), &["--filter", "nothing"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("--allow-empty"), "{}", stderr(&out));
    let out = x07(&home, dir.path(), &["--filter", "nothing", "--allow-empty"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

#[test]
fn compile_errors_traps_and_bad_status_have_their_exit_codes() {
    let home = X07Home::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut garbage = test("garbage", "solve-pure", "tests.garbage");
    garbage["returns"] = json!("bytes_status_v1");
    write_package(
        dir.path(),
        json!([
            test("a_traps", "solve-pure", "tests.traps"),
            garbage,
            test("os_in_pure", "solve-pure", "os_tests.clock"),
        ]),
    );
    let out = x07(
        &home,
        dir.path(),
        &["--json", "--no-fail-fast", "--jobs", "1"],
    );
    assert_eq!(
        out.status.code(),
        Some(11),
        "a compile failure wins: {}",
        stderr(&out)
    );
    let r = report(&out);
    assert_eq!(
        statuses(&r),
        [
            pair("a_traps", "error"),
            pair("garbage", "error"),
            pair("os_in_pure", "error")
        ]
    );
    let codes: Vec<&str> = r["tests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["diags"][0]["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, ["X07T_RUN_TRAP", "EBAD_STATUS", "ETEST_COMPILE"]);
    let compiler = &r["tests"][2]["compile"]["compiler_diags"][0];
    assert_eq!(compiler["code"], "X07-WORLD-0001", "{compiler}");
    assert!(r["tests"][0]["run"]["trap"]
        .as_str()
        .unwrap()
        .contains("bytes.get_u8"));
    assert_eq!(r["summary"]["compile_failures"], 1);
    assert_eq!(r["summary"]["run_failures"], 2);

    let out = x07(&home, dir.path(), &["--filter", "a_traps"]);
    assert_eq!(out.status.code(), Some(12), "{}", stderr(&out));
    assert!(stdout(&out).contains("X07T_RUN_TRAP"), "{}", stdout(&out));

    // fail-fast (the default): after the first miss, tests not yet started are skipped
    let out = x07(&home, dir.path(), &["--json", "--jobs", "1"]);
    let r = report(&out);
    assert_eq!(
        statuses(&r),
        [
            pair("a_traps", "error"),
            pair("garbage", "skip"),
            pair("os_in_pure", "skip")
        ]
    );
    assert_eq!(r["tests"][1]["diags"][0]["code"], "EFAIL_FAST");
}

#[test]
fn problems_before_any_test_runs_are_setup_errors_naming_the_field() {
    let home = X07Home::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let out = x07(&home, dir.path(), &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("tests/tests.json") && stderr(&out).contains("--manifest"),
        "{}",
        stderr(&out)
    );

    write_package(
        dir.path(),
        json!([
            test("a", "mars", "tests.doubles"),
            test("b", "solve-pure", "nowhere.x")
        ]),
    );
    let out = x07(&home, dir.path(), &[]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains("/tests/0/world") && err.contains("unknown world `mars`"),
        "{err}"
    );

    write_package(dir.path(), json!([test("b", "solve-pure", "nowhere.x")]));
    let out = x07(&home, dir.path(), &[]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.contains("no module ext.demo.nowhere"), "{err}");

    // --module-root replaces the defaults: without the package's modules nothing resolves
    write_package(
        dir.path(),
        json!([test("d", "solve-pure", "tests.doubles")]),
    );
    let out = x07(&home, dir.path(), &["--module-root", "tests"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let out = x07(&home, dir.path(), &["--module-root", "modules"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

#[test]
fn run_os_sandboxed_tests_run_confined_by_their_policy_on_the_os_backend() {
    if common_sandbox::privileges::skip_without_os_backend(
        "run_os_sandboxed_tests_run_confined_by_their_policy_on_the_os_backend",
    ) {
        return;
    }
    let home = X07Home::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    // the policy `x07 policy init --template cli` writes, next to the manifest
    let scratch = tempfile::tempdir().unwrap();
    for args in [&["init"][..], &["policy", "init", "--template", "cli"][..]] {
        let out = Command::new(x07_bin())
            .args(args)
            .current_dir(scratch.path())
            .env("X07_HOME", home.path())
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
    }
    let secret = dir.path().join("outside-secret.txt");
    fs_err::write(&secret, "secret").unwrap();
    let sandboxed = |id: &str, entry: &str| {
        test_with(
            id,
            "run-os-sandboxed",
            entry,
            "policy_json",
            json!("cli.policy.json"),
        )
    };
    write_package(
        dir.path(),
        json!([
            sandboxed("clock", "os_tests.clock"),
            sandboxed("reads", "os_tests.reads")
        ]),
    );
    fs_err::copy(
        scratch
            .path()
            .join(".x07/policies/base/cli.sandbox.base.policy.json"),
        dir.path().join("tests/cli.policy.json"),
    )
    .unwrap();
    // a test that reads a file outside the policy's roots
    add_os_test(
        dir.path(),
        "reads",
        json!([
            "begin",
            [
                "let",
                "b",
                ["os.fs.read_file", ["bytes.lit", secret.to_str().unwrap()]]
            ],
            ["std.test.fail", ["view.len", "b"]]
        ]),
    );

    let out = x07(&home, dir.path(), &["--json", "--no-fail-fast"]);
    let r = report(&out);
    assert_eq!(
        statuses(&r),
        [pair("clock", "pass"), pair("reads", "error")],
        "{}",
        stdout(&out)
    );
    let trap = r["tests"][1]["run"]["trap"].as_str().unwrap();
    assert!(
        trap.contains("os.fs.read_file"),
        "the read was refused: {trap}"
    );
    assert!(
        r["tests"][1]["run"]["failure_code_u32"].is_null(),
        "nothing was read"
    );
}

#[test]
fn repeat_catches_a_test_that_ends_differently_and_no_run_only_builds() {
    let home = X07Home::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    write_package(
        dir.path(),
        json!([
            test("doubles", "solve-pure", "tests.doubles"),
            test("flips", "run-os", "os_tests.flips"),
            test("wrong", "solve-pure", "tests.wrong"),
        ]),
    );
    // a test whose status alternates: it appends to a file in its working directory (the
    // manifest's) and fails on every other run
    add_os_test(
        dir.path(),
        "flips",
        json!([
            "begin",
            [
                "let",
                "b",
                ["os.fs.read_file", ["bytes.lit", "counter.bin"]]
            ],
            ["let", "n", ["view.len", "b"]],
            [
                "let",
                "w",
                [
                    "os.fs.write_file",
                    ["bytes.lit", "counter.bin"],
                    ["bytes.alloc", ["+", "n", 1]]
                ]
            ],
            [
                "if",
                ["=", ["&", "n", 1], 0],
                ["std.test.pass"],
                ["std.test.fail", 5]
            ]
        ]),
    );
    fs_err::write(dir.path().join("tests/counter.bin"), b"").unwrap();

    let out = x07(
        &home,
        dir.path(),
        &["--json", "--filter", "flips", "--repeat", "3"],
    );
    assert_eq!(
        out.status.code(),
        Some(12),
        "a run failure: {}",
        stderr(&out)
    );
    let r = report(&out);
    assert_eq!(r["invocation"]["repeat"], 3);
    assert_eq!(statuses(&r), [pair("flips", "error")]);
    assert_eq!(r["tests"][0]["diags"][0]["code"], "EDETERMINISM");
    let out = x07(
        &home,
        dir.path(),
        &["--json", "--filter", "doubles", "--repeat", "3"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));

    // --no-run: everything built, nothing run (the failing test is not judged)
    let runs_before = fs_err::read(dir.path().join("tests/counter.bin"))
        .unwrap()
        .len();
    let out = x07(&home, dir.path(), &["--json", "--no-run", "--no-fail-fast"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let r = report(&out);
    assert_eq!(
        statuses(&r),
        [
            pair("doubles", "skip"),
            pair("flips", "skip"),
            pair("wrong", "skip")
        ]
    );
    assert!(r["tests"][2]["compile"]["ok"].as_bool().unwrap());
    assert_eq!(
        fs_err::read(dir.path().join("tests/counter.bin"))
            .unwrap()
            .len(),
        runs_before,
        "nothing ran"
    );
}

#[test]
fn solve_fs_tests_read_their_fixture_and_nothing_outside_it() {
    let home = X07Home::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let fs_test =
        |id: &str, entry: &str| test_with(id, "solve-fs", entry, "fixture_root", json!("fx"));
    write_package(
        dir.path(),
        json!([
            fs_test("reads", "fs_tests.reads"),
            fs_test("climbs", "fs_tests.climbs"),
            fs_test("absolute", "fs_tests.absolute"),
            test("pure_cannot", "solve-pure", "fs_tests.reads"),
        ]),
    );
    fs_err::create_dir_all(dir.path().join("tests/fx/root")).unwrap();
    fs_err::write(dir.path().join("tests/fx/root/data.txt"), "fixture").unwrap();
    let read = |path: &str| {
        json!([
            "begin",
            ["let", "b", ["std.fs.read", ["bytes.lit", path]]],
            [
                "std.test.assert_bytes_eq",
                "b",
                ["bytes.lit", "fixture"],
                ["std.test.code_assert_bytes_eq"]
            ]
        ])
    };
    let module = json!({"schema_version": "x07.x07ast@0.5.0", "kind": "module", "module_id": "ext.demo.fs_tests",
        "imports": ["std.fs", "std.test"],
        "decls": [{"kind": "export", "names": ["ext.demo.fs_tests.reads", "ext.demo.fs_tests.climbs", "ext.demo.fs_tests.absolute"]},
                  {"kind": "defn", "name": "ext.demo.fs_tests.reads", "params": [], "result": "result_i32", "body": read("data.txt")},
                  {"kind": "defn", "name": "ext.demo.fs_tests.climbs", "params": [], "result": "result_i32", "body": read("../../x07-package.json")},
                  {"kind": "defn", "name": "ext.demo.fs_tests.absolute", "params": [], "result": "result_i32",
                   "body": read(dir.path().join("tests/fx/root/data.txt").to_str().unwrap())}]});
    fs_err::write(
        dir.path().join("modules/ext/demo/fs_tests.x07.json"),
        serde_json::to_vec(&module).unwrap(),
    )
    .unwrap();
    let out = x07(&home, dir.path(), &["--json", "--no-fail-fast"]);
    let r = report(&out);
    assert_eq!(
        statuses(&r),
        [
            pair("absolute", "error"),
            pair("climbs", "error"),
            pair("pure_cannot", "error"),
            pair("reads", "pass"),
        ],
        "{}",
        stdout(&out)
    );
    for i in [0, 1] {
        let trap = r["tests"][i]["run"]["trap"].as_str().unwrap();
        assert!(trap.contains("fs.read unsafe path"), "{trap}");
    }
    assert_eq!(
        r["tests"][2]["compile"]["compiler_diags"][0]["code"],
        "X07-WORLD-0001"
    );

    // a solve-fs test names its fixture
    write_package(
        dir.path(),
        json!([test("no_fixture", "solve-fs", "fs_tests.reads")]),
    );
    let out = x07(&home, dir.path(), &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("/tests/0/fixture_root"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn world_capabilities_are_checked_in_reachable_code_only() {
    // ext.demo.os_tests holds `clock` (os.time) and an unsafe block nobody calls from the
    // solve-pure entry: the module still builds for solve-pure, as on the public toolchain
    let home = X07Home::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    write_package(
        dir.path(),
        json!([
            test("pure_entry", "solve-pure", "os_tests.pure_here"),
            test("os_entry", "solve-pure", "os_tests.clock"),
        ]),
    );
    add_os_test(dir.path(), "pure_here", json!(["std.test.pass"]));
    add_os_test(
        dir.path(),
        "raw",
        json!(["begin", ["let", "x", ["unsafe", 1]], ["std.test.pass"]]),
    );
    let out = x07(&home, dir.path(), &["--json", "--no-fail-fast"]);
    let r = report(&out);
    assert_eq!(
        statuses(&r),
        [pair("os_entry", "error"), pair("pure_entry", "pass")],
        "{}",
        stdout(&out)
    );
    assert_eq!(
        r["tests"][0]["compile"]["compiler_diags"][0]["code"],
        "X07-WORLD-0001",
        "{}",
        stdout(&out)
    );
}

/// The cli template's policy with `read_roots` replaced.
fn cli_policy_with_read_roots(home: &X07Home, roots: Value) -> Vec<u8> {
    let scratch = tempfile::tempdir().unwrap();
    for args in [&["init"][..], &["policy", "init", "--template", "cli"][..]] {
        let out = Command::new(x07_bin())
            .args(args)
            .current_dir(scratch.path())
            .env("X07_HOME", home.path())
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
    }
    let path = scratch
        .path()
        .join(".x07/policies/base/cli.sandbox.base.policy.json");
    let mut policy: Value = serde_json::from_slice(&fs_err::read(path).unwrap()).unwrap();
    policy["fs"]["read_roots"] = roots;
    serde_json::to_vec_pretty(&policy).unwrap()
}

#[test]
fn package_tests_link_the_c_of_the_packages_they_load_and_run_where_their_policy_roots_are() {
    // the ecosystem's layout: <root>/arch/, <root>/data/, <root>/packages/<pkg>/tests/tests.json;
    // a sandboxed test's policy names `data` (relative), which only the arch root has
    if common_sandbox::privileges::skip_without_os_backend(
        "package_tests_link_the_c_of_the_packages_they_load_and_run_where_their_policy_roots_are",
    ) {
        return;
    }
    let home = X07Home::new().unwrap();
    let root = tempfile::tempdir().unwrap();
    fs_err::create_dir_all(root.path().join("arch")).unwrap();
    fs_err::create_dir_all(root.path().join("data")).unwrap();
    fs_err::write(root.path().join("data/x.txt"), "from-data").unwrap();
    // a package with C: lib.triple is an extern of ffi/lib.c
    let lib = root.path().join("packages/lib");
    fs_err::create_dir_all(lib.join("modules")).unwrap();
    fs_err::create_dir_all(lib.join("ffi")).unwrap();
    fs_err::write(
        lib.join("x07-package.json"),
        json!({"schema_version": "x07.package@0.1.0", "name": "lib", "version": "0.1.0",
        "module_root": "modules", "modules": ["lib"], "meta": {"import_mode": "ffi"}})
        .to_string(),
    )
    .unwrap();
    fs_err::write(
        lib.join("ffi/lib.c"),
        "#include <stdint.h>\nuint32_t x07lib_triple(uint32_t x) { return 3u * x; }\n",
    )
    .unwrap();
    fs_err::write(lib.join("modules/lib.x07.json"), json!({"schema_version": "x07.x07ast@0.5.0", "kind": "module", "module_id": "lib", "imports": [],
        "decls": [{"kind": "export", "names": ["lib.triple"]},
                  {"kind": "extern", "abi": "C", "name": "lib.triple_c", "link_name": "x07lib_triple", "params": [{"name": "x", "ty": "i32"}], "result": "i32"},
                  {"kind": "defn", "name": "lib.triple", "params": [{"name": "x", "ty": "i32"}], "result": "i32", "body": ["unsafe", ["lib.triple_c", "x"]]}]}).to_string()).unwrap();
    let pkg = root.path().join("packages/ext-demo");
    write_package(
        &pkg,
        json!([
            test("native", "run-os", "os_tests.native"),
            test_with(
                "reads_data",
                "run-os-sandboxed",
                "os_tests.reads_data",
                "policy_json",
                json!("data.policy.json")
            ),
        ]),
    );
    fs_err::write(
        pkg.join("tests/data.policy.json"),
        cli_policy_with_read_roots(&home, json!(["data"])),
    )
    .unwrap();
    let module = pkg.join("modules/ext/demo/os_tests.x07.json");
    let mut m: Value = serde_json::from_slice(&fs_err::read(&module).unwrap()).unwrap();
    m["imports"].as_array_mut().unwrap().push(json!("lib"));
    fs_err::write(&module, serde_json::to_vec(&m).unwrap()).unwrap();
    add_os_test(
        &pkg,
        "native",
        json!([
            "std.test.assert_i32_eq",
            ["lib.triple", 14],
            42,
            ["std.test.code_assert_i32_eq"]
        ]),
    );
    add_os_test(
        &pkg,
        "reads_data",
        json!([
            "begin",
            ["let", "b", ["os.fs.read_file", ["bytes.lit", "data/x.txt"]]],
            [
                "std.test.assert_bytes_eq",
                "b",
                ["bytes.lit", "from-data"],
                ["std.test.code_assert_bytes_eq"]
            ]
        ]),
    );
    let lib_root = lib.join("modules").display().to_string();
    let own_root = pkg.join("modules").display().to_string();
    let out = x07(
        &home,
        &pkg,
        &[
            "--json",
            "--no-fail-fast",
            "--filter",
            "native",
            "--module-root",
            &own_root,
            "--module-root",
            &lib_root,
        ],
    );
    assert_eq!(
        statuses(&report(&out)),
        [pair("native", "pass")],
        "{}",
        stdout(&out)
    );
    let out = x07(
        &home,
        &pkg,
        &[
            "--json",
            "--no-fail-fast",
            "--filter",
            "reads_data",
            "--module-root",
            &own_root,
            "--module-root",
            &lib_root,
        ],
    );
    assert_eq!(
        statuses(&report(&out)),
        [pair("reads_data", "pass")],
        "{}",
        stdout(&out)
    );
}
