//! The generated entry of one test: imports `std.test` and the test's module, and makes the
//! program's output the test's status bytes.

use serde_json::json;
use x07_spec::tests_manifest::{Returns, TestCase};

/// The entry module (`kind: entry`, `module_id: main`) that runs `case`.
pub fn driver_source(case: &TestCase) -> Vec<u8> {
    let call = json!([case.entry]);
    let solve = match case.returns {
        Returns::ResultI32 => json!(["std.test.status_from_result_i32", call]),
        Returns::BytesStatusV1 => call,
    };
    let module = json!({
        "schema_version": "x07.x07ast@0.5.0",
        "kind": "entry",
        "module_id": "main",
        "imports": ["std.test", case.module],
        "decls": [],
        "solve": solve,
    });
    serde_json::to_vec(&module).expect("a JSON value serializes")
}
