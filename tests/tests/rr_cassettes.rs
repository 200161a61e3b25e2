//! Record/replay end to end: `std.rr.with_policy_v1` compiles the consumer's arch/rr policy into
//! the program; a replay scope answers `std.rr.next_v1` from `.x07_rr/<cassette>` (earliest unused
//! entry matching kind, op and key); a record scope appends frames the next replay reads; a
//! cassette that cannot be opened is the enclosing function's error; a missing policy or a mode
//! the index does not allow is a compile error.

#[allow(dead_code)]
mod common;

use serde_json::{json, Value};

use common::{app_module, solve_output, stdout_json, InitProject};

const POLICY: &str = "t_rr_v1";

/// The arch/rr index and one lookup policy with `max_entries`.
fn write_arch(p: &InitProject, modes: &[&str], max_entries: u32) {
    p.write_pretty(
        "arch/rr/index.x07rr.json",
        &json!({
            "schema_version": "x07.arch.rr.index@0.1.0",
            "policies": [{"id": POLICY, "policy_path": "arch/rr/policies/t.policy.json"}],
            "defaults": {"record_modes_allowed": modes}
        }),
    );
    p.write_pretty(
        "arch/rr/policies/t.policy.json",
        &json!({
            "schema_version": "x07.arch.rr.policy@0.1.0", "id": POLICY, "v": 1,
            "match_mode": "lookup_v1",
            "budgets": {"max_cassette_bytes": 65536, "max_entries": max_entries,
                        "max_req_bytes": 256, "max_resp_bytes": 256, "max_key_bytes": 64}
        }),
    );
}

/// A data-model entry doc: `01`, then the map with keys in byte order.
fn entry(kind: &str, op: &str, key: &str, resp: &str, err: i32) -> Vec<u8> {
    let s = |out: &mut Vec<u8>, tag: u8, text: &[u8]| {
        out.push(tag);
        out.extend_from_slice(&(text.len() as u32).to_le_bytes());
        out.extend_from_slice(text);
    };
    let mut out = vec![1, 5];
    out.extend_from_slice(&6u32.to_le_bytes());
    let err_text = err.to_string();
    let fields: [(&str, u8, &[u8]); 6] = [
        ("err", 2, err_text.as_bytes()),
        ("key", 3, key.as_bytes()),
        ("kind", 3, kind.as_bytes()),
        ("op", 3, op.as_bytes()),
        ("req", 3, b""),
        ("resp", 3, resp.as_bytes()),
    ];
    for (k, tag, v) in fields {
        out.extend_from_slice(&(k.len() as u32).to_le_bytes());
        out.extend_from_slice(k.as_bytes());
        s(&mut out, tag, v);
    }
    out
}

fn frame(doc: &[u8]) -> Vec<u8> {
    let mut out = (doc.len() as u32).to_le_bytes().to_vec();
    out.extend_from_slice(doc);
    out
}

/// `app.solve`: runs `app.inner(b)` inside a `mode` scope on cassette `c.rr`, then says `ok:` and
/// the value, or `err:` and the code; and `|cur=N` for `std.rr.current_v1` after the scope.
fn app(mode: i32, inner: Value) -> Value {
    let mut m = app_module(
        &["std.fmt", "std.rr"],
        json!([
            "begin",
            ["let", "r", ["app.scoped", "b"]],
            [
                "let",
                "head",
                [
                    "if",
                    ["result_bytes.is_ok", "r"],
                    [
                        "bytes.concat",
                        ["bytes.lit", "ok:"],
                        ["result_bytes.unwrap_or", "r", ["bytes.alloc", 0]]
                    ],
                    [
                        "bytes.concat",
                        ["bytes.lit", "err:"],
                        ["std.fmt.u32_to_dec", ["result_bytes.err_code", "r"]]
                    ]
                ]
            ],
            [
                "bytes.concat",
                ["bytes.concat", "head", ["bytes.lit", "|cur="]],
                ["std.fmt.u32_to_dec", ["std.rr.current_v1"]]
            ]
        ]),
    );
    let decls = m["decls"].as_array_mut().unwrap();
    decls.push(json!({
        "kind": "defn", "name": "app.scoped", "params": [{"name": "b", "ty": "bytes_view"}],
        "result": "result_bytes",
        "body": ["std.rr.with_policy_v1", ["bytes.lit", POLICY], ["bytes.lit", "c.rr"], ["i32.lit", mode], inner]
    }));
    m
}

/// Replays key = the input: the entry's `resp`.
fn replay_body() -> Value {
    json!([
        "begin",
        [
            "let",
            "e",
            [
                "std.rr.next_v1",
                ["std.rr.current_v1"],
                ["bytes.lit", "rr"],
                ["bytes.lit", "get"],
                "b"
            ]
        ],
        [
            "if",
            ["result_bytes.is_ok", "e"],
            [
                "begin",
                [
                    "let",
                    "doc",
                    ["result_bytes.unwrap_or", "e", ["bytes.alloc", 0]]
                ],
                [
                    "result_bytes.ok",
                    ["std.rr.entry_resp_v1", ["bytes.view", "doc"]]
                ]
            ],
            ["result_bytes.err", ["result_bytes.err_code", "e"]]
        ]
    ])
}

fn run(p: &InitProject, input: &[u8]) -> x07_tests::X07Output {
    p.x07()
        .args(["run", "--input-b64", &common::b64_encode(input)])
        .run()
        .unwrap()
}

fn output(p: &InitProject, input: &[u8]) -> String {
    let out = run(p, input);
    assert_eq!(out.exit_code, Some(0), "{}", out.describe());
    String::from_utf8(solve_output(&out)).unwrap()
}

#[test]
fn replay_answers_from_the_cassette_and_each_entry_is_used_once() {
    let p = InitProject::new();
    write_arch(&p, &["replay_v1", "record_v1"], 16);
    p.write_app(&app(2, replay_body()));
    let mut cassette = frame(&entry("rr", "get", "a", "first-a", 0));
    cassette.extend(frame(&entry("rr", "get", "b", "only-b", 0)));
    cassette.extend(frame(&entry("rr", "get", "a", "second-a", 0)));
    p.write(".x07_rr/c.rr", &cassette);
    // each run opens the cassette afresh: the earliest unused entry for the key
    assert_eq!(output(&p, b"a"), "ok:first-a|cur=0");
    assert_eq!(output(&p, b"b"), "ok:only-b|cur=0");
    // a key with no entry is a miss (2009)
    assert_eq!(output(&p, b"zz"), "err:2009|cur=0");
}

#[test]
fn a_record_scope_appends_frames_that_a_replay_reads_back() {
    let p = InitProject::new();
    write_arch(&p, &["replay_v1", "record_v1"], 16);
    let doc = entry("rr", "get", "k", "recorded", 0);
    // record: the input is the entry doc to append
    let record = json!([
        "begin",
        ["let", "a", ["std.rr.append_v1", ["std.rr.current_v1"], "b"]],
        [
            "if",
            ["result_i32.is_ok", "a"],
            ["result_bytes.ok", ["bytes.lit", "appended"]],
            ["result_bytes.err", ["result_i32.err_code", "a"]]
        ]
    ]);
    p.write_app(&app(1, record.clone()));
    assert_eq!(output(&p, &doc), "ok:appended|cur=0");
    assert_eq!(p.read(".x07_rr/c.rr"), frame(&doc));
    // a malformed entry is refused (2008) and nothing is written
    assert_eq!(output(&p, b"\x01\x05junk"), "err:2008|cur=0");
    assert_eq!(p.read(".x07_rr/c.rr"), frame(&doc));

    p.write_app(&app(2, replay_body()));
    assert_eq!(output(&p, b"k"), "ok:recorded|cur=0");
}

#[test]
fn a_missing_cassette_is_the_functions_error_and_the_budget_holds() {
    let p = InitProject::new();
    write_arch(&p, &["replay_v1"], 1);
    p.write_app(&app(2, replay_body()));
    // replay without a cassette: open failed (2002) returned from app.scoped
    assert_eq!(output(&p, b"a"), "err:2002|cur=0");
    // two entries over a budget of one: 2004 at open
    let mut cassette = frame(&entry("rr", "get", "a", "x", 0));
    cassette.extend(frame(&entry("rr", "get", "a", "y", 0)));
    p.write(".x07_rr/c.rr", &cassette);
    assert_eq!(output(&p, b"a"), "err:2004|cur=0");
    // a torn frame (one whole frame, then 3 bytes of the next header): truncated (2014)
    p.write(".x07_rr/c.rr", &cassette[..cassette.len() / 2 + 3]);
    assert_eq!(output(&p, b"a"), "err:2014|cur=0");
}

#[test]
fn a_missing_policy_or_a_mode_the_index_forbids_is_a_compile_error() {
    let p = InitProject::new();
    p.write_app(&app(2, replay_body()));
    let report = stdout_json(&run(&p, b"a"));
    let diag = &report["compile"]["diagnostics"][0];
    assert_eq!(diag["code"], "X07-RR-0002", "{report:#}");
    assert!(
        diag["message"]
            .as_str()
            .unwrap()
            .contains("arch/rr/index.x07rr.json"),
        "{diag:#}"
    );

    write_arch(&p, &["replay_v1"], 4);
    p.write_app(&app(1, replay_body()));
    let report = stdout_json(&run(&p, b"a"));
    let diag = &report["compile"]["diagnostics"][0];
    assert_eq!(diag["code"], "X07-RR-0002", "{report:#}");
    assert!(
        diag["message"].as_str().unwrap().contains("record_v1"),
        "{diag:#}"
    );
}

#[test]
fn a_scope_in_a_function_that_cannot_return_its_error_is_refused() {
    let p = InitProject::new();
    write_arch(&p, &["replay_v1"], 4);
    p.write_app(&app_module(
        &["std.rr"],
        json!([
            "std.rr.with_policy_v1",
            ["bytes.lit", POLICY],
            ["bytes.lit", "c.rr"],
            2,
            ["view.to_bytes", "b"]
        ]),
    ));
    let report = stdout_json(&run(&p, b"a"));
    assert_eq!(
        report["compile"]["diagnostics"][0]["code"], "X07-RR-0001",
        "{report:#}"
    );
}

/// `x07 test` runs a solve-rr test against a copy of its fixture as `.x07_rr/` (the package's
/// files are not changed); a solve-pure test may not use the cassettes.
#[test]
fn x07_test_replays_a_solve_rr_fixture() {
    let home = x07_tests::X07Home::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let write = |rel: &str, bytes: &[u8]| {
        let path = dir.path().join(rel);
        fs_err::create_dir_all(path.parent().unwrap()).unwrap();
        fs_err::write(path, bytes).unwrap();
    };
    let replay = |key: &str, want: &str| {
        json!([
            "std.rr.with_policy_v1",
            ["bytes.lit", POLICY],
            ["bytes.lit", "c.rr"],
            ["i32.lit", 2],
            [
                "begin",
                [
                    "let",
                    "e",
                    [
                        "std.rr.next_v1",
                        ["std.rr.current_v1"],
                        ["bytes.lit", "rr"],
                        ["bytes.lit", "get"],
                        ["bytes.lit", key]
                    ]
                ],
                [
                    "let",
                    "doc",
                    ["result_bytes.unwrap_or", "e", ["bytes.alloc", 0]]
                ],
                [
                    "let",
                    "resp",
                    ["std.rr.entry_resp_v1", ["bytes.view", "doc"]]
                ],
                [
                    "std.test.assert_bytes_eq",
                    "resp",
                    ["bytes.lit", want],
                    ["std.test.code_assert_bytes_eq"]
                ]
            ]
        ])
    };
    let defn = |name: &str, body: Value| json!({"kind": "defn", "name": name, "params": [], "result": "result_i32", "body": body});
    write(
        "modules/ext/rrdemo/tests.x07.json",
        &serde_json::to_vec(&json!({"schema_version": "x07.x07ast@0.5.0", "kind": "module",
            "module_id": "ext.rrdemo.tests", "imports": ["std.rr", "std.test"],
            "decls": [{"kind": "export", "names": ["ext.rrdemo.tests.hit", "ext.rrdemo.tests.wrong"]},
                      defn("ext.rrdemo.tests.hit", replay("k", "v")),
                      defn("ext.rrdemo.tests.wrong", replay("k", "other"))]}))
        .unwrap(),
    );
    let t = |id: &str, world: &str, entry: &str| json!({"id": id, "world": world, "fixture_root": "fx", "entry": format!("ext.rrdemo.tests.{entry}")});
    let mut pure = t("pure", "solve-pure", "hit");
    pure.as_object_mut().unwrap().remove("fixture_root");
    write(
        "tests/tests.json",
        &serde_json::to_vec(
            &json!({"schema_version": "x07.tests_manifest@0.1.0", "tests": [
            t("hit", "solve-rr", "hit"), t("wrong", "solve-rr", "wrong"), pure]}),
        )
        .unwrap(),
    );
    let cassette = frame(&entry("rr", "get", "k", "v", 0));
    write("tests/fx/c.rr", &cassette);
    // the policy belongs to the package: its arch/ is above the manifest
    let index = json!({"schema_version": "x07.arch.rr.index@0.1.0",
        "policies": [{"id": POLICY, "policy_path": "arch/rr/p.json"}]});
    write(
        "arch/rr/index.x07rr.json",
        &serde_json::to_vec(&index).unwrap(),
    );
    let policy = json!({"schema_version": "x07.arch.rr.policy@0.1.0", "id": POLICY,
        "match_mode": "lookup_v1", "budgets": {"max_cassette_bytes": 4096, "max_entries": 8,
        "max_req_bytes": 64, "max_resp_bytes": 64, "max_key_bytes": 64}});
    write("arch/rr/p.json", &serde_json::to_vec(&policy).unwrap());

    let out = std::process::Command::new(x07_tests::x07_bin())
        .args([
            "test",
            "--json",
            "--no-fail-fast",
            "--module-root",
            "modules",
        ])
        .current_dir(dir.path())
        .env("X07_HOME", home.path())
        .output()
        .unwrap();
    let r: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)));
    let status = |i: usize| r["tests"][i]["status"].as_str().unwrap_or("?").to_string();
    assert_eq!(
        (status(0), status(1), status(2)),
        ("pass".into(), "error".into(), "fail".into()),
        "{r:#}"
    );
    assert_eq!(
        r["tests"][1]["compile"]["compiler_diags"][0]["code"], "X07-WORLD-0001",
        "{r:#}"
    );
    assert!(!dir.path().join("tests/fx/.x07_rr").exists());
    assert_eq!(
        fs_err::read(dir.path().join("tests/fx/c.rr")).unwrap(),
        cassette
    );
}
