//! Fuel accounting is exact and documented (docs/internals/runtime-abi.md): one unit per call
//! (including solve) and one per loop iteration — also when the emitter charges a call-free `for`
//! loop up front.

use serde_json::json;
use x07_tests::{x07_bin, ProgramDir, RunReport, X07Home, X07Invocation};

fn run(solve: serde_json::Value, input: &[u8], fuel: Option<u64>) -> RunReport {
    let home = X07Home::new().unwrap();
    let dir = ProgramDir::new().unwrap();
    let entry = dir
        .write_entry(
            &json!({"schema_version": "x07.x07ast@0.5.0", "kind": "entry", "module_id": "main",
            "imports": [], "decls": [], "solve": solve}),
        )
        .unwrap();
    let input_file = dir.write_file("input.bin", input).unwrap();
    let mut inv = X07Invocation::new(x07_bin())
        .home(&home)
        .arg("run")
        .arg("--program")
        .arg(&entry)
        .arg("--input")
        .arg(&input_file)
        .args(["--repair", "off"]);
    if let Some(f) = fuel {
        inv = inv.arg("--solve-fuel").arg(f.to_string());
    }
    inv.run().unwrap().report().unwrap()
}

/// Sums the input bytes: a call-free loop (charged up front when fuel allows).
fn sum_loop() -> serde_json::Value {
    json!([
        "begin",
        ["let", "acc", 0],
        [
            "for",
            "i",
            0,
            ["view.len", "input"],
            ["set", "acc", ["+", "acc", ["view.get_u8", "input", "i"]]]
        ],
        ["codec.write_u32_le", "acc"]
    ])
}

#[test]
fn call_free_loop_charges_one_unit_per_iteration() {
    let r = run(sum_loop(), &[1u8; 10], None);
    let solve = r.fields.solve.as_ref().unwrap();
    assert!(solve.ok, "{}", r.pretty());
    assert_eq!(
        solve.fuel_used,
        Some(1 + 10),
        "solve's call plus ten iterations"
    );
}

#[test]
fn exhaustion_in_a_call_free_loop_traps_at_the_same_iteration() {
    // 1 (solve) + 10 iterations = 11: with 11 units it runs, with 10 it traps in the loop.
    let ok = run(sum_loop(), &[1u8; 10], Some(11));
    assert!(ok.fields.solve.as_ref().unwrap().ok, "{}", ok.pretty());
    let short = run(sum_loop(), &[1u8; 10], Some(10));
    let solve = short.fields.solve.as_ref().unwrap();
    assert!(!solve.ok);
    assert_eq!(
        solve.trap.as_deref(),
        Some("fuel exhausted ptr=/solve/2"),
        "{}",
        short.pretty()
    );
}

#[test]
fn while_loops_and_calls_are_charged_too() {
    let solve = json!([
        "begin",
        ["let", "n", 0],
        ["while", ["<u", "n", 5], ["set", "n", ["+", "n", 1]]],
        ["codec.write_u32_le", "n"]
    ]);
    let r = run(solve, b"", None);
    assert_eq!(
        r.fields.solve.as_ref().unwrap().fuel_used,
        Some(1 + 5),
        "{}",
        r.pretty()
    );
}
