//! Budget profiles end to end: `budget.scope_from_arch_v1` reads the consuming project's
//! `arch/budgets/profiles/<id>.budget.json` at compile time; the profile is part of the build's
//! derivation (an edit rebuilds, so the limits that run are the file's current ones); a missing
//! profile is a compile error naming the file to create; `x07 test` finds the profiles above a
//! package's test manifest, as the ecosystem's layout puts them.

#[allow(dead_code)]
mod common;

use std::path::Path;
use std::process::Command;

use serde_json::{json, Value};
use x07_tests::{x07_bin, X07Home};

use common::{app_module, expect_exit, solve_output, stdout_json, InitProject};

/// A profile file with `mode` and `alloc_bytes`.
fn profile(id: &str, mode: &str, alloc_bytes: u64) -> Vec<u8> {
    serde_json::to_vec_pretty(&json!({
        "schema_version": "x07.budget.profile@0.1.0", "id": id, "v": 1,
        "cfg": {"mode": mode, "label": id, "alloc_bytes": alloc_bytes}
    }))
    .unwrap()
}

/// `app.copy(b) -> result_bytes`: a copy of the input inside the profile `id`'s scope; the app
/// says `ok` or the error code.
fn budgeted_app(id: &str) -> Value {
    let mut m = app_module(
        &["std.fmt"],
        json!([
            "begin",
            ["let", "r", ["app.copy", "b"]],
            [
                "if",
                ["result_bytes.is_ok", "r"],
                ["bytes.lit", "ok"],
                ["std.fmt.u32_to_dec", ["result_bytes.err_code", "r"]]
            ]
        ]),
    );
    m["decls"].as_array_mut().unwrap().push(json!({
        "kind": "defn", "name": "app.copy", "params": [{"name": "b", "ty": "bytes_view"}],
        "result": "result_bytes",
        "body": ["budget.scope_from_arch_v1", ["bytes.lit", id],
                 ["result_bytes.ok", ["view.to_bytes", "b"]]]
    }));
    m
}

#[test]
fn a_project_profile_limits_the_scope_and_an_edit_rebuilds() {
    let p = InitProject::new();
    p.write_app(&budgeted_app("copy_v1"));
    let rel = "arch/budgets/profiles/copy_v1.budget.json";
    let input = [b'x'; 300];
    let run = |p: &InitProject| {
        p.x07()
            .args(["run", "--input-b64", &common::b64_encode(&input)])
            .run()
            .unwrap()
    };

    // no profile: a compile error naming the file to create
    let out = run(&p);
    assert_ne!(out.exit_code, Some(0), "{}", out.describe());
    let report = stdout_json(&out);
    let diag = &report["compile"]["diagnostics"][0];
    assert_eq!(diag["code"], "X07-BUDGET-0002", "{report:#}");
    assert!(
        diag["message"]
            .as_str()
            .unwrap()
            .contains("arch/budgets/profiles/copy_v1.budget.json"),
        "{diag:#}"
    );

    // 300 bytes over a 100-byte budget: the scope's result is the alloc-bytes error
    p.write(rel, &profile("copy_v1", "result_err_v1", 100));
    let out = run(&p);
    expect_exit(&out, 0);
    assert_eq!(solve_output(&out), b"2147483649");

    // the same program, the profile raised: rebuilt, not served from the store
    p.write(rel, &profile("copy_v1", "result_err_v1", 1000));
    let out = run(&p);
    expect_exit(&out, 0);
    assert_eq!(solve_output(&out), b"ok");

    // a profile that is not one: the error names the file and what is wrong
    p.write(rel, br#"{"schema_version":"x07.budget.profile@0.1.0","id":"other_v1","cfg":{"mode":"trap_v1","label":"x"}}"#);
    let out = run(&p);
    let report = stdout_json(&out);
    let message = report["compile"]["diagnostics"][0]["message"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(
        message.contains("copy_v1.budget.json") && message.contains("other_v1"),
        "{report:#}"
    );
}

/// `<root>/packages/ext-budget/`: a package whose tests run its budgeted function within the
/// profile `<root>/arch/budgets/profiles/copy_v1.budget.json` sets (the value comes through) and
/// over it (the scope's result is the alloc-bytes error).
fn write_budget_package(pkg: &Path) {
    let write = |rel: &str, v: Value| {
        let path = pkg.join(rel);
        fs_err::create_dir_all(path.parent().unwrap()).unwrap();
        fs_err::write(path, serde_json::to_vec_pretty(&v).unwrap()).unwrap();
    };
    write(
        "x07-package.json",
        json!({"schema_version": "x07.package@0.1.0", "name": "ext-budget", "version": "0.1.0",
               "module_root": "modules", "modules": ["ext.budget", "ext.budget.tests"],
               "description": "d", "docs": "d", "license": "MIT", "meta": {}}),
    );
    write(
        "modules/ext/budget.x07.json",
        json!({"schema_version": "x07.x07ast@0.5.0", "kind": "module", "module_id": "ext.budget", "imports": [],
               "decls": [{"kind": "export", "names": ["ext.budget.alloc"]},
                         {"kind": "defn", "name": "ext.budget.alloc", "params": [{"name": "n", "ty": "i32"}],
                          "result": "result_i32",
                          "body": ["budget.scope_from_arch_v1", ["bytes.lit", "copy_v1"],
                                   ["begin", ["let", "b", ["bytes.alloc", "n"]],
                                    ["result_i32.ok", ["bytes.len", "b"]]]]}]}),
    );
    let case = |name: &str, got: Value, want: i32| {
        json!({"kind": "defn", "name": format!("ext.budget.tests.{name}"), "params": [], "result": "result_i32",
               "body": ["std.test.assert_i32_eq", got, want, ["std.test.code_assert_i32_eq"]]})
    };
    // within: the length; over: the alloc-bytes error 0x80000001 (as an i32 literal)
    let within = case(
        "within",
        json!(["result_i32.unwrap_or", ["ext.budget.alloc", 50], 0]),
        50,
    );
    let over = case(
        "over",
        json!(["result_i32.err_code", ["ext.budget.alloc", 500]]),
        0x8000_0001_u32 as i32,
    );
    write(
        "modules/ext/budget/tests.x07.json",
        json!({"schema_version": "x07.x07ast@0.5.0", "kind": "module", "module_id": "ext.budget.tests",
               "imports": ["ext.budget", "std.test"],
               "decls": [{"kind": "export", "names": ["ext.budget.tests.within", "ext.budget.tests.over"]},
                         within, over]}),
    );
    write(
        "tests/tests.json",
        json!({"schema_version": "x07.tests_manifest@0.1.0", "tests": [
            {"id": "within", "world": "solve-pure", "entry": "ext.budget.tests.within"},
            {"id": "over", "world": "solve-pure", "entry": "ext.budget.tests.over"}]}),
    );
}

#[test]
fn x07_test_reads_profiles_above_the_package() {
    let home = X07Home::new().unwrap();
    let root = tempfile::tempdir().unwrap();
    let pkg = root.path().join("packages/ext-budget");
    write_budget_package(&pkg);
    fs_err::create_dir_all(root.path().join("arch/budgets/profiles")).unwrap();
    fs_err::write(
        root.path()
            .join("arch/budgets/profiles/copy_v1.budget.json"),
        profile("copy_v1", "result_err_v1", 100),
    )
    .unwrap();
    let out = Command::new(x07_bin())
        .args(["test", "--json"])
        .current_dir(&pkg)
        .env("X07_HOME", home.path())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    let status = |id: &str| {
        r["tests"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["id"] == id)
            .map(|t| t["status"].as_str().unwrap().to_string())
    };
    assert_eq!(status("within").as_deref(), Some("pass"), "{text}");
    assert_eq!(status("over").as_deref(), Some("pass"), "{text}");
}

#[test]
fn a_generic_function_finds_its_profile_too() {
    // the profile named inside a generic body is found before the body is instantiated
    let p = InitProject::new();
    let mut m = app_module(
        &["std.fmt"],
        json!([
            "begin",
            [
                "let",
                "r",
                ["tapp", "app.alloc_g", "u32", ["view.len", "b"]]
            ],
            ["std.fmt.u32_to_dec", ["result_i32.err_code", "r"]]
        ]),
    );
    m["decls"].as_array_mut().unwrap().push(json!({
        "kind": "defn", "name": "app.alloc_g", "type_params": [{"name": "A", "bound": "num_like"}],
        "params": [{"name": "n", "ty": ["t", "A"]}], "result": "result_i32",
        "body": ["budget.scope_from_arch_v1", ["bytes.lit", "small_v1"],
                 ["begin", ["let", "x", ["bytes.alloc", "n"]], ["result_i32.ok", ["bytes.len", "x"]]]]
    }));
    p.write_app(&m);
    p.write(
        "arch/budgets/profiles/small_v1.budget.json",
        &profile("small_v1", "result_err_v1", 10),
    );
    let out = p
        .x07()
        .args(["run", "--input-b64", &common::b64_encode(&[b'x'; 50])])
        .run()
        .unwrap();
    expect_exit(&out, 0);
    assert_eq!(solve_output(&out), b"2147483649");
}
