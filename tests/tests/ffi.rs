//! FFI end to end: a package's `ffi/*.c` and `meta.ffi_libs` are compiled and linked with the
//! program (`--auto-ffi`, the default), hashed into the derivation, and gated by the sandbox
//! policy's `language` section at compile time.

use std::path::Path;
use std::process::Command;

use base64::Engine as _;
use serde_json::json;
use x07_tests::{x07_bin, X07Home};

fn write(path: &Path, bytes: &[u8]) {
    fs_err::create_dir_all(path.parent().unwrap()).unwrap();
    fs_err::write(path, bytes).unwrap();
}

/// A package `pkg/` with module `shim` (an extern bound to a C function of ffi/shim.c, which uses
/// libm's `sqrt`) and a program that calls it.
fn setup(dir: &Path, c_body: &str) {
    write(&dir.join("pkg/x07-package.json"), json!({"schema_version": "x07.package@0.1.0", "name": "shim", "version": "0.1.0",
        "module_root": "modules", "modules": ["shim"], "meta": {"ffi_libs": ["m"], "import_mode": "ffi"}}).to_string().as_bytes());
    write(&dir.join("pkg/ffi/shim.c"), format!("#include <math.h>\n#include <stdint.h>\nuint32_t x07shim_isqrt(uint32_t x) {{ {c_body} }}\n").as_bytes());
    write(&dir.join("pkg/modules/shim.x07.json"), json!({"schema_version": "x07.x07ast@0.5.0", "kind": "module", "module_id": "shim", "imports": [],
        "decls": [{"kind": "export", "names": ["shim.isqrt"]},
                  {"kind": "extern", "abi": "C", "name": "shim.isqrt_c", "link_name": "x07shim_isqrt", "params": [{"name": "x", "ty": "i32"}], "result": "i32"},
                  {"kind": "defn", "name": "shim.isqrt", "params": [{"name": "x", "ty": "i32"}], "result": "i32", "body": ["unsafe", ["shim.isqrt_c", "x"]]}]}).to_string().as_bytes());
    write(&dir.join("main.x07.json"), json!({"schema_version": "x07.x07ast@0.5.0", "kind": "entry", "module_id": "main", "imports": ["shim"], "decls": [],
        "solve": ["codec.write_u32_le", ["shim.isqrt", ["view.get_u8", "input", 0]]]}).to_string().as_bytes());
}

fn run(home: &X07Home, dir: &Path, extra: &[&str]) -> serde_json::Value {
    let out = Command::new(x07_bin())
        .args([
            "run",
            "--program",
            "main.x07.json",
            "--module-root",
            "pkg/modules",
            "--input-b64",
            "UQ==",
            "--repair",
            "off",
        ])
        .args(extra)
        .current_dir(dir)
        .env("X07_HOME", home.path())
        .output()
        .unwrap();
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)))
}

fn output(r: &serde_json::Value) -> Vec<u8> {
    base64::engine::general_purpose::STANDARD
        .decode(r["solve_output_b64"].as_str().unwrap_or_default())
        .unwrap()
}

#[test]
fn package_c_sources_and_libraries_are_built_linked_and_hashed() {
    let home = X07Home::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    setup(dir.path(), "return (uint32_t)sqrt((double)x);");
    // Input byte 0x51 = 81 → 9.
    let r = run(&home, dir.path(), &[]);
    assert_eq!(r["solve"]["ok"], true, "{r}");
    assert_eq!(output(&r), 9u32.to_le_bytes());
    let first = r["compile"]["compiled_exe"].as_str().unwrap().to_string();

    // Changing the C source changes the derivation (a new store entry) and the result.
    setup(dir.path(), "return (uint32_t)sqrt((double)x) + 1u;");
    let r2 = run(&home, dir.path(), &[]);
    assert_eq!(output(&r2), 10u32.to_le_bytes());
    assert_ne!(
        r2["compile"]["compiled_exe"].as_str().unwrap(),
        first,
        "the C source is an input of the build"
    );

    // Without auto-ffi the symbol is missing: a setup error (exit 2) naming it, not an x07 bug.
    let out = Command::new(x07_bin())
        .args([
            "run",
            "--program",
            "main.x07.json",
            "--module-root",
            "pkg/modules",
            "--input-b64",
            "UQ==",
            "--repair",
            "off",
            "--no-auto-ffi",
        ])
        .current_dir(dir.path())
        .env("X07_HOME", home.path())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("X07-CC-0004")
            && err.contains("nothing in the build defines: x07shim_isqrt")
            && !err.contains("x07 bug"),
        "{err}"
    );
}

#[test]
fn the_sandbox_policy_gates_unsafe_and_ffi_at_compile_time() {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("skipped: the os sandbox backend needs root here");
        return;
    }
    let home = X07Home::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    setup(dir.path(), "return (uint32_t)sqrt((double)x);");
    let policy_init = |t: &str| {
        let st = Command::new(x07_bin())
            .args(["policy", "init", "--template", t])
            .current_dir(dir.path())
            .env("X07_HOME", home.path())
            .status()
            .unwrap();
        assert!(st.success());
    };
    policy_init("cli"); // language: allow_unsafe false, allow_ffi false
    policy_init("http-client"); // language: allow_unsafe true, allow_ffi true
    let sandboxed = |policy: &str| {
        run(
            &home,
            dir.path(),
            &[
                "--profile",
                "sandbox",
                "--policy",
                policy,
                "--sandbox-backend",
                "os",
                "--i-accept-weaker-isolation",
            ],
        )
    };
    let refused = sandboxed(".x07/policies/base/cli.sandbox.base.policy.json");
    assert_eq!(refused["compile"]["ok"], false, "{refused}");
    let codes: Vec<&str> = refused["compile"]["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|d| d["code"].as_str())
        .collect();
    assert_eq!(codes, vec!["X07-WORLD-0003", "X07-WORLD-0003"], "{refused}");

    let allowed = sandboxed(".x07/policies/base/http-client.sandbox.base.policy.json");
    assert_eq!(allowed["solve"]["ok"], true, "{allowed}");
    assert_eq!(output(&allowed), 9u32.to_le_bytes());
}

#[test]
fn native_code_registers_a_reader_vtable_and_x07_reads_through_it() {
    // ext.sockets' pattern: C registers read/drop, x07 wraps its handle with iface.make_v1
    let home = X07Home::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(
        &d.join("pkg/x07-package.json"),
        json!({"schema_version": "x07.package@0.1.0", "name": "reader", "version": "0.1.0",
        "module_root": "modules", "modules": ["reader"], "meta": {"import_mode": "ffi"}})
        .to_string()
        .as_bytes(),
    );
    write(
        &d.join("pkg/ffi/reader.c"),
        br#"#include <stdint.h>
#include <string.h>
uint32_t x07_rt_register_io_reader_vtable_v1(uint32_t (*read)(uint32_t, uint8_t *, uint32_t), void (*drop)(uint32_t));
static uint32_t left[4];
/* reader `data` yields 'A' + data, left[data] times, at most cap per call */
static uint32_t rd(uint32_t data, uint8_t *dst, uint32_t cap) {
    uint32_t n = left[data & 3] < cap ? left[data & 3] : cap;
    memset(dst, 'A' + (int)(data & 3), n);
    left[data & 3] -= n;
    return n;
}
static void dr(uint32_t data) { (void)data; }
uint32_t x07reader_vtable(void) { return x07_rt_register_io_reader_vtable_v1(rd, dr); }
uint32_t x07reader_open(uint32_t data, uint32_t n) { left[data & 3] = n; return data & 3; }
"#,
    );
    write(&d.join("pkg/modules/reader.x07.json"), json!({"schema_version": "x07.x07ast@0.5.0", "kind": "module", "module_id": "reader", "imports": [],
        "decls": [{"kind": "export", "names": ["reader.make", "reader.vtable"]},
                  {"kind": "extern", "abi": "C", "name": "reader.vtable_c", "link_name": "x07reader_vtable", "params": [], "result": "i32"},
                  {"kind": "extern", "abi": "C", "name": "reader.open_c", "link_name": "x07reader_open",
                   "params": [{"name": "data", "ty": "i32"}, {"name": "n", "ty": "i32"}], "result": "i32"},
                  {"kind": "defn", "name": "reader.vtable", "params": [], "result": "i32", "body": ["unsafe", ["reader.vtable_c"]]},
                  {"kind": "defn", "name": "reader.make", "params": [{"name": "data", "ty": "i32"}, {"name": "n", "ty": "i32"}], "result": "iface",
                   "body": ["iface.make_v1", ["unsafe", ["reader.open_c", "data", "n"]], ["reader.vtable"]]}]}).to_string().as_bytes());
    // reads 5000 'B's in chunks through std.io.read_all, and registers the same pair twice
    write(&d.join("main.x07.json"), json!({"schema_version": "x07.x07ast@0.5.0", "kind": "entry", "module_id": "main",
        "imports": ["reader", "std.io"], "decls": [],
        "solve": ["begin",
            ["let", "all", ["std.io.read_all", ["reader.make", 1, 5000]]],
            ["let", "o", ["vec_u8.with_capacity", 8]],
            ["set", "o", ["vec_u8.extend_bytes", "o", ["codec.write_u32_le", ["bytes.len", "all"]]]],
            ["set", "o", ["vec_u8.push", "o", ["bytes.get_u8", "all", 4999]]],
            ["set", "o", ["vec_u8.push", "o", ["=", ["reader.vtable"], ["reader.vtable"]]]],
            ["set", "o", ["vec_u8.push", "o", [">=u", ["reader.vtable"], 2]]],
            ["vec_u8.into_bytes", "o"]]}).to_string().as_bytes());
    let r = run(&home, d, &[]);
    assert_eq!(r["solve"]["ok"], true, "{r}");
    let mut want = 5000u32.to_le_bytes().to_vec();
    want.extend([b'B', 1, 1]);
    assert_eq!(output(&r), want);
}

#[test]
fn only_the_packages_a_program_loads_bring_their_c() {
    // pkg/ffi/shim.c does not even compile; a program that never imports `shim` is built without it
    let home = X07Home::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    setup(dir.path(), "this is not C;");
    write(
        &dir.path().join("main.x07.json"),
        json!({"schema_version": "x07.x07ast@0.5.0", "kind": "entry", "module_id": "main", "imports": [], "decls": [],
               "solve": ["view.to_bytes", "input"]})
        .to_string()
        .as_bytes(),
    );
    let r = run(&home, dir.path(), &[]);
    assert_eq!(r["solve"]["ok"], true, "{r}");
    assert_eq!(output(&r), b"Q");
    // importing it brings the broken C in, and the build fails on it
    setup(dir.path(), "this is not C;");
    let out = Command::new(x07_bin())
        .args([
            "run",
            "--program",
            "main.x07.json",
            "--module-root",
            "pkg/modules",
            "--input-b64",
            "UQ==",
            "--repair",
            "off",
        ])
        .current_dir(dir.path())
        .env("X07_HOME", home.path())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("X07-CC-0002"),
        "{err}"
    );
}

#[test]
fn package_c_can_register_a_reader_even_when_the_program_uses_no_io_builtin() {
    // the runtime's C API (x07_rt_register_io_reader_vtable_v1) is linked whenever package C is
    let home = X07Home::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    setup(dir.path(), "return x;");
    write(
        &dir.path().join("pkg/ffi/reg.c"),
        b"#include <stdint.h>\nuint32_t x07_rt_register_io_reader_vtable_v1(uint32_t (*r)(uint32_t, uint8_t *, uint32_t), void (*d)(uint32_t));\nstatic uint32_t rd(uint32_t a, uint8_t *p, uint32_t n) { (void)a; (void)p; (void)n; return 0; }\nuint32_t x07shim_reg(void) { return x07_rt_register_io_reader_vtable_v1(rd, 0); }\n",
    );
    write(&dir.path().join("pkg/modules/shim.x07.json"), json!({"schema_version": "x07.x07ast@0.5.0", "kind": "module", "module_id": "shim", "imports": [],
        "decls": [{"kind": "export", "names": ["shim.isqrt"]},
                  {"kind": "extern", "abi": "C", "name": "shim.reg_c", "link_name": "x07shim_reg", "params": [], "result": "i32"},
                  {"kind": "defn", "name": "shim.isqrt", "params": [{"name": "x", "ty": "i32"}], "result": "i32", "body": ["unsafe", ["shim.reg_c"]]}]}).to_string().as_bytes());
    let r = run(&home, dir.path(), &[]);
    assert_eq!(r["solve"]["ok"], true, "{r}");
    assert_eq!(
        output(&r),
        2u32.to_le_bytes(),
        "the first registered vtable is id 2"
    );
}
