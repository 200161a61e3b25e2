//! Snapshot tests of what the compiler emits: the program part of the C translation unit, and
//! rendered diagnostics. Review changes with `cargo insta review`.

use serde_json::{json, Value};
use x07_builder::emit::emit_functions;
use x07_builder::frontend::check::{check_program, CheckOptions};
use x07_builder::frontend::resolve::{load_program, ModuleRoots};

/// Writes the entry (and modules) into a temp dir and loads + checks it.
fn compile(entry: Value, modules: &[(&str, Value)]) -> Result<String, String> {
    let dir = tempfile::tempdir().unwrap();
    let write = |rel: &str, v: &Value| {
        let p = dir.path().join(rel);
        fs_err::create_dir_all(p.parent().unwrap()).unwrap();
        fs_err::write(p, serde_json::to_vec_pretty(v).unwrap()).unwrap();
    };
    write("main.x07.json", &entry);
    for (id, m) in modules {
        write(&format!("{}.x07.json", id.replace('.', "/")), m);
    }
    let mut roots = ModuleRoots::new();
    roots.push(dir.path().to_path_buf(), "");
    let program = load_program(&dir.path().join("main.x07.json"), "main.x07.json", &roots)
        .map_err(|d| d.iter().map(|d| d.render()).collect::<String>())?;
    let typed = check_program(
        &program,
        &CheckOptions {
            os_world: true,
            fs_world: true,
            rr_world: true,
        },
    )
    .map_err(|d| d.iter().map(|d| d.render()).collect::<String>())?;
    Ok(emit_functions(&typed))
}

fn entry(imports: &[&str], decls: Value, solve: Value) -> Value {
    json!({"schema_version": "x07.x07ast@0.5.0", "kind": "entry", "module_id": "main", "imports": imports, "decls": decls, "solve": solve})
}

#[test]
fn echo() {
    insta::assert_snapshot!(compile(
        entry(&[], json!([]), json!(["view.to_bytes", "input"])),
        &[]
    )
    .unwrap());
}

#[test]
fn loop_with_moves_and_in_place_push() {
    let solve = json!([
        "begin",
        ["let", "v", ["vec_u8.with_capacity", 4]],
        [
            "for",
            "i",
            0,
            ["view.len", "input"],
            [
                "set",
                "v",
                ["vec_u8.push", "v", ["+", ["view.get_u8", "input", "i"], 1]]
            ]
        ],
        ["vec_u8.into_bytes", "v"]
    ]);
    insta::assert_snapshot!(compile(entry(&[], json!([]), solve), &[]).unwrap());
}

#[test]
fn budget_scope_result_err_and_return_inside() {
    // the body's value, the code replacing it, and the fuel given back on the early return
    let decls = json!([{"kind": "defn", "name": "main.copy", "params": [{"name": "b", "ty": "bytes_view"}],
        "result": "result_bytes",
        "body": ["budget.scope_v1",
            ["budget.cfg_v1", ["mode", "result_err_v1"], ["label", ["bytes.lit", "copy"]],
             ["alloc_bytes", 64], ["fuel", 100]],
            ["begin",
             ["if", ["=", ["view.len", "b"], 0], ["return", ["result_bytes.err", 1]], 0],
             ["result_bytes.ok", ["view.to_bytes", "b"]]]]}]);
    insta::assert_snapshot!(compile(
        entry(
            &[],
            decls,
            json!([
                "result_bytes.unwrap_or",
                ["main.copy", "input"],
                ["bytes.lit", ""]
            ])
        ),
        &[]
    )
    .unwrap());
}

#[test]
fn early_return_drops_live_values() {
    let decls = json!([{"kind": "defn", "name": "main.pick", "params": [{"name": "b", "ty": "bytes"}], "result": "bytes",
        "body": ["begin",
            ["let", "extra", ["bytes.lit", "x"]],
            ["if", ["=", ["bytes.len", "b"], 0], ["return", "extra"], 0],
            "b"]}]);
    insta::assert_snapshot!(compile(
        entry(&[], decls, json!(["main.pick", ["view.to_bytes", "input"]])),
        &[]
    )
    .unwrap());
}

#[test]
fn try_and_short_circuit() {
    let decls = json!([{"kind": "defn", "name": "main.first", "params": [{"name": "b", "ty": "bytes_view"}], "result": "result_i32",
        "body": ["begin",
            ["let", "r", ["if", ["&&", [">u", ["view.len", "b"], 0], ["!=", ["view.get_u8", "b", 0], 0]],
                ["result_i32.ok", ["view.get_u8", "b", 0]], ["result_i32.err", 7]]],
            ["result_i32.ok", ["+", ["try", "r"], 1]]]}]);
    let solve = json!([
        "codec.write_u32_le",
        ["result_i32.unwrap_or", ["main.first", "input"], 0]
    ]);
    insta::assert_snapshot!(compile(entry(&[], decls, solve), &[]).unwrap());
}

#[test]
fn diagnostics_ownership() {
    let solve = json!([
        "begin",
        ["let", "a", ["view.to_bytes", "input"]],
        ["let", "v", ["bytes.view", "a"]],
        ["let", "b", "a"],
        ["let", "c", ["bytes.view", ["bytes.lit", "t"]]],
        "a"
    ]);
    insta::assert_snapshot!(compile(entry(&[], json!([]), solve), &[]).unwrap_err());
}

#[test]
fn diagnostics_modules_and_types() {
    let m = json!({"schema_version": "x07.x07ast@0.5.0", "kind": "module", "module_id": "lib", "imports": [],
        "decls": [{"kind": "export", "names": ["lib.pub"]},
                  {"kind": "defn", "name": "lib.pub", "params": [], "result": "i32", "body": 1},
                  {"kind": "defn", "name": "lib.hidden", "params": [], "result": "i32", "body": 2}]});
    let solve = json!([
        "begin",
        ["let", "x", ["lib.hidden"]],
        ["let", "y", ["bytes.len", 3]],
        ["let", "z", ["view.slice", "input", 0]],
        ["nope.f", 1],
        ["bytes.nope", 1],
        ["view.to_bytes", "input"]
    ]);
    insta::assert_snapshot!(compile(entry(&["lib"], json!([]), solve), &[("lib", m)]).unwrap_err());
}

#[test]
fn diagnostics_malformed_json_points_at_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    fs_err::write(
        dir.path().join("main.x07.json"),
        "{\n  \"kind\": \"entry\",\n  \"solve\": [1,,2]\n}\n",
    )
    .unwrap();
    let err = load_program(
        &dir.path().join("main.x07.json"),
        "main.x07.json",
        &ModuleRoots::new(),
    )
    .unwrap_err();
    insta::assert_snapshot!(err.iter().map(|d| d.render()).collect::<String>());
}
