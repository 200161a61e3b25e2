//! Bad input to `x07`: each case checks its exact exit code, its diagnostic code (on stderr and,
//! for compile errors, in `compile.diagnostics[].code` of the report), that the message names the
//! file, field or flag, and that nothing was written to the store (docs/diagnostics.md).
//!
//! Every test has its own `X07_HOME` and project directory. Set `X07_BIN` to test another build.

mod common;

use serde_json::{json, Value};
use x07_tests::X07Output;

use common::{
    app_module, expect_exit, expect_stderr, expect_store_empty, report, run, x07_in, InitProject,
};

/// Runs `x07 run` on the project and checks the shape every compile error shares: exit 1, a
/// report with `compile.ok: false`, no solve, the code first in `compile.diagnostics`, the same
/// code on stderr, and an empty store. Returns the first diagnostic (as JSON) and the output.
#[track_caller]
fn expect_compile_error(p: &InitProject, code: &str) -> (Value, X07Output) {
    let out = p.run_x07(["run", "--input-b64", "aGk="]);
    expect_exit(&out, 1);
    let r = report(&out);
    let compile = r
        .fields
        .compile
        .as_ref()
        .unwrap_or_else(|| panic!("no compile section: {}", r.pretty()));
    assert!(!compile.ok, "compile.ok should be false: {}", r.pretty());
    assert_eq!(r.fields.exit_code, Some(1), "{}", r.pretty());
    assert!(
        r.raw["solve"].is_null(),
        "a program that did not compile has no solve: {}",
        r.pretty()
    );
    let codes: Vec<&str> = r.diagnostics().iter().map(|d| d.code.as_str()).collect();
    assert_eq!(
        codes.first().copied(),
        Some(code),
        "compile.diagnostics codes: {codes:?}\n{}",
        r.pretty()
    );
    expect_stderr(&out, code, &[]);
    expect_store_empty(&p.home, &out);
    (r.raw["compile"]["diagnostics"][0].clone(), out)
}

/// The string field `key` of a diagnostic.
fn field<'a>(diag: &'a Value, key: &str) -> &'a str {
    diag[key]
        .as_str()
        .unwrap_or_else(|| panic!("diagnostic has no string `{key}`: {diag:#}"))
}

/// An entry that imports `imports` and solves with `solve`.
fn entry(imports: &[&str], solve: Value) -> Value {
    json!({
        "schema_version": "x07.x07ast@0.5.0",
        "kind": "entry",
        "module_id": "main",
        "imports": imports,
        "decls": [],
        "solve": solve
    })
}

/// A module `id` exporting `<id>.f(x: bytes_view) -> bytes` with `body`.
fn module_f(id: &str, imports: &[&str], body: Value) -> Value {
    json!({
        "schema_version": "x07.x07ast@0.5.0",
        "kind": "module",
        "module_id": id,
        "imports": imports,
        "decls": [
            {"kind": "export", "names": [format!("{id}.f")]},
            {"kind": "defn", "name": format!("{id}.f"),
             "params": [{"name": "x", "ty": "bytes_view"}], "result": "bytes", "body": body}
        ]
    })
}

#[test]
fn malformed_json_in_a_module() {
    let p = InitProject::new();
    // Line 4 lacks its comma, so the parser stops at line 5, column 3.
    p.write(
        "src/app.x07.json",
        b"{\n  \"schema_version\": \"x07.x07ast@0.5.0\",\n  \"kind\": \"module\",\n  \"module_id\": \"app\"\n  \"imports\": [],\n  \"decls\": []\n}\n",
    );
    let (diag, out) = expect_compile_error(&p, "X07-JSON-0001");
    assert_eq!(field(&diag, "file"), "src/app.x07.json", "{diag:#}");
    assert_eq!(diag["line"], 5, "{diag:#}");
    assert_eq!(diag["column"], 3, "{diag:#}");
    expect_stderr(&out, "X07-JSON-0001", &["src/app.x07.json:5:3"]);
}

#[test]
fn unsupported_schema_version() {
    let p = InitProject::new();
    let mut app = p.read_json("src/app.x07.json");
    app["schema_version"] = json!("x07.x07ast@9.9.9");
    p.write_app(&app);
    let (diag, out) = expect_compile_error(&p, "X07-SCHEMA-0001");
    assert_eq!(field(&diag, "file"), "src/app.x07.json", "{diag:#}");
    expect_stderr(
        &out,
        "X07-SCHEMA-0001",
        &["x07.x07ast@9.9.9", "src/app.x07.json"],
    );
}

#[test]
fn unknown_builtin() {
    let p = InitProject::new();
    p.write_app(&app_module(&[], json!(["view.frobnicate", "b"])));
    let (diag, out) = expect_compile_error(&p, "X07-NAME-0003");
    assert_eq!(field(&diag, "file"), "src/app.x07.json", "{diag:#}");
    assert_eq!(field(&diag, "ptr"), "/decls/1/body", "{diag:#}");
    expect_stderr(&out, "X07-NAME-0003", &["view.frobnicate"]);
}

#[test]
fn wrong_arity() {
    let p = InitProject::new();
    p.write_app(&app_module(&[], json!(["view.to_bytes", "b", "b"])));
    let (diag, out) = expect_compile_error(&p, "X07-ARITY-0001");
    assert_eq!(field(&diag, "file"), "src/app.x07.json", "{diag:#}");
    assert_eq!(field(&diag, "ptr"), "/decls/1/body", "{diag:#}");
    expect_stderr(&out, "X07-ARITY-0001", &["view.to_bytes"]);
}

#[test]
fn wrong_argument_type() {
    let p = InitProject::new();
    p.write_app(&app_module(&[], json!(["view.to_bytes", 7])));
    let (diag, _) = expect_compile_error(&p, "X07-TYPE-0001");
    assert_eq!(field(&diag, "file"), "src/app.x07.json", "{diag:#}");
    assert_eq!(field(&diag, "ptr"), "/decls/1/body/1", "{diag:#}");
    let message = field(&diag, "message");
    assert!(
        message.contains("i32") && message.contains("bytes_view"),
        "expected/found types in: {message}"
    );
}

#[test]
fn missing_module_lists_the_searched_paths() {
    let p = InitProject::new();
    p.edit_manifest(|m| m["module_roots"] = json!(["src", "lib"]));
    fs_err::create_dir(p.path("lib")).unwrap();
    p.write_pretty(
        "src/main.x07.json",
        &entry(&["app", "nosuch.mod"], json!(["app.solve", "input"])),
    );
    let (diag, out) = expect_compile_error(&p, "X07-MOD-0001");
    assert_eq!(field(&diag, "file"), "src/main.x07.json", "{diag:#}");
    let message = field(&diag, "message");
    for searched in ["src/nosuch/mod.x07.json", "lib/nosuch/mod.x07.json"] {
        assert!(
            message.contains(searched),
            "the message should list {searched}: {message}"
        );
    }
    expect_stderr(&out, "X07-MOD-0001", &["nosuch.mod"]);
}

#[test]
fn import_cycle() {
    let p = InitProject::new();
    p.write_pretty(
        "src/main.x07.json",
        &entry(&["alpha"], json!(["alpha.f", "input"])),
    );
    p.write_pretty(
        "src/alpha.x07.json",
        &module_f("alpha", &["beta"], json!(["beta.f", "x"])),
    );
    p.write_pretty(
        "src/beta.x07.json",
        &module_f("beta", &["alpha"], json!(["view.to_bytes", "x"])),
    );
    let (diag, _) = expect_compile_error(&p, "X07-MOD-0002");
    let message = field(&diag, "message");
    // The module names in the order the message shows them must walk around the cycle.
    let names: Vec<&str> = message
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '.'))
        .filter(|w| *w == "alpha" || *w == "beta")
        .collect();
    let shows_cycle = names
        .windows(3)
        .any(|w| w == ["alpha", "beta", "alpha"] || w == ["beta", "alpha", "beta"]);
    assert!(
        shows_cycle,
        "the message should show the cycle alpha → beta → alpha: {message}"
    );
}

#[test]
fn module_without_export() {
    let p = InitProject::new();
    let mut app = p.read_json("src/app.x07.json");
    app["decls"].as_array_mut().unwrap().remove(0);
    p.write_app(&app);
    let (diag, _) = expect_compile_error(&p, "X07-MOD-0004");
    assert_eq!(field(&diag, "file"), "src/app.x07.json", "{diag:#}");
}

#[test]
fn call_of_a_function_that_is_not_exported() {
    let p = InitProject::new();
    let mut app = app_module(&[], json!(["app.helper", "b"]));
    app["decls"].as_array_mut().unwrap().push(json!(
        {"kind": "defn", "name": "app.helper", "params": [{"name": "x", "ty": "bytes_view"}],
         "result": "bytes", "body": ["view.to_bytes", "x"]}));
    p.write_app(&app);
    p.write_pretty(
        "src/main.x07.json",
        &entry(&["app"], json!(["app.helper", "input"])),
    );
    let (diag, out) = expect_compile_error(&p, "X07-MOD-0006");
    assert_eq!(field(&diag, "file"), "src/main.x07.json", "{diag:#}");
    expect_stderr(&out, "X07-MOD-0006", &["app.helper"]);
}

#[test]
fn build_of_a_program_that_does_not_compile_exits_1() {
    let p = InitProject::new();
    p.write_app(&app_module(&[], json!(["view.frobnicate", "b"])));
    let out = p.run_x07(["build"]);
    expect_exit(&out, 1);
    expect_stderr(&out, "X07-NAME-0003", &["src/app.x07.json"]);
    expect_store_empty(&p.home, &out);

    let out = p.run_x07(["build", "--json"]);
    expect_exit(&out, 1);
    let r = common::stdout_json(&out);
    assert_eq!(r["ok"], false, "{r:#}");
    assert_eq!(r["diagnostics"][0]["code"], "X07-NAME-0003", "{r:#}");
    expect_store_empty(&p.home, &out);
}

#[test]
fn no_project_found() {
    let home = x07_tests::X07Home::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let out = run(x07_in(&home, dir.path()).args(["run", "--input-b64", "aGk="]));
    expect_exit(&out, 2);
    expect_stderr(
        &out,
        "X07-PROJECT-0001",
        &["x07.json", &dir.path().display().to_string()],
    );
    assert!(
        out.stdout.is_empty(),
        "no report for a setup error\n{}",
        out.describe()
    );
    expect_store_empty(&home, &out);
}

#[test]
fn unreadable_input_file() {
    let p = InitProject::new();
    let missing = p.scratch().join("no-such-input.bin");
    let out = run(p.x07().arg("run").arg("--input").arg(&missing));
    expect_exit(&out, 2);
    expect_stderr(&out, "X07-INPUT-0001", &[&missing.display().to_string()]);
    expect_store_empty(&p.home, &out);

    // A directory is not a readable input file either.
    let out = run(p.x07().arg("run").arg("--input").arg(p.scratch()));
    expect_exit(&out, 2);
    expect_stderr(
        &out,
        "X07-INPUT-0001",
        &[&p.scratch().display().to_string()],
    );
    expect_store_empty(&p.home, &out);
}

#[test]
fn unreadable_profile_input_file() {
    let p = InitProject::new();
    p.edit_manifest(|m| m["profiles"]["os"]["input"] = json!("fixtures/missing.bin"));
    let out = p.run_x07(["run"]);
    expect_exit(&out, 2);
    expect_stderr(&out, "X07-INPUT-0001", &["fixtures/missing.bin"]);
    expect_store_empty(&p.home, &out);
}

#[test]
fn no_c_compiler_when_x07_cc_points_nowhere() {
    let p = InitProject::new();
    let out = run(p
        .x07()
        .env("X07_CC", "/nonexistent/cc")
        .args(["run", "--input-b64", "aGk="]));
    expect_exit(&out, 2);
    expect_stderr(&out, "X07-CC-0001", &["X07_CC", "/nonexistent/cc"]);
    assert!(
        out.stdout.is_empty(),
        "no report for a setup error\n{}",
        out.describe()
    );
    expect_store_empty(&p.home, &out);
}

#[test]
fn no_c_compiler_on_path_and_cc_unset() {
    let p = InitProject::new();
    let empty_path = p.scratch().join("empty-bin");
    fs_err::create_dir(&empty_path).unwrap();
    // X07Invocation cannot unset variables, so start x07 directly with CC and X07_* removed.
    let mut cmd = std::process::Command::new(x07_tests::x07_bin());
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("X07_") {
            cmd.env_remove(&key);
        }
    }
    let output = cmd
        .env_remove("CC")
        .env("PATH", &empty_path)
        .env("X07_HOME", p.home.path())
        .current_dir(p.root())
        .args(["run", "--input-b64", "aGk="])
        .stdin(std::process::Stdio::null())
        .output()
        .expect("start x07");
    let out = X07Output {
        command: format!("PATH={} CC= x07 run --input-b64 aGk=", empty_path.display()),
        exit_code: output.status.code(),
        stdout: output.stdout,
        stderr: output.stderr,
        timed_out: false,
    };
    expect_exit(&out, 2);
    expect_stderr(&out, "X07-CC-0001", &["PATH"]);
    expect_store_empty(&p.home, &out);
}

#[test]
fn invalid_manifest_field_is_named() {
    let cases: [(&str, Value, &str); 3] = [
        ("entry", json!(7), "entry"),
        ("module_roots", json!([5]), "module_roots[0]"),
        ("world", json!("mars"), "world"),
    ];
    for (key, bad, named) in cases {
        let p = InitProject::new();
        p.edit_manifest(|m| m[key] = bad.clone());
        let out = p.run_x07(["run", "--input-b64", "aGk="]);
        expect_exit(&out, 2);
        expect_stderr(&out, "X07-PROJECT-0002", &["x07.json", named]);
        expect_store_empty(&p.home, &out);
    }
}

#[test]
fn invalid_profile_field_is_named() {
    let p = InitProject::new();
    p.edit_manifest(|m| m["profiles"]["os"]["world"] = json!("mars"));
    let out = p.run_x07(["run", "--input-b64", "aGk="]);
    expect_exit(&out, 2);
    expect_stderr(
        &out,
        "X07-PROJECT-0002",
        &["x07.json", "profiles.os.world", "mars"],
    );
    expect_store_empty(&p.home, &out);
}

#[test]
fn unknown_profile() {
    let p = InitProject::new();
    let out = p.run_x07(["run", "--profile", "nope", "--input-b64", "aGk="]);
    expect_exit(&out, 2);
    expect_stderr(&out, "X07-PROJECT-0003", &["nope", "os", "sandbox"]);
    expect_store_empty(&p.home, &out);
}

#[test]
fn init_refuses_to_overwrite() {
    let home = x07_tests::X07Home::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mine = b"{\"mine\": true}\n";
    fs_err::write(dir.path().join("x07.json"), mine).unwrap();
    let out = run(x07_in(&home, dir.path()).arg("init"));
    expect_exit(&out, 2);
    expect_stderr(&out, "X07-INIT-0001", &["x07.json"]);
    assert_eq!(
        fs_err::read(dir.path().join("x07.json")).unwrap(),
        mine,
        "the existing x07.json must be unchanged"
    );
    for created in ["x07.lock.json", "src", ".gitignore"] {
        assert!(
            !dir.path().join(created).exists(),
            "a refused init must not create {created}"
        );
    }
    expect_store_empty(&home, &out);
}
