//! The JSON Schemas accept what the serde types write and reject malformed documents.

use std::path::Path;

use jsonschema::{Registry, Validator};
use serde_json::{json, Value};
use x07_spec::report::{
    NativeRequires, NativeRequiresVersion, NetworkEnforcement, NetworkMode, RuntimeAttestationRef,
};
use x07_spec::run_report::{RepairMode, ReportRunner};
use x07_spec::schemas::SCHEMAS;
use x07_spec::{
    schema, ArtifactRunReport, CompileRunReport, CompileSection, Diagnostic, Lockfile, MemStats,
    OsRunnerReport, OsRunnerReportVersion, ProjectManifest, RepairSummary, RunReport,
    RunReportVersion, RunTarget, SandboxBackend, SchedStats, SolveSection, TargetKind, World,
};

fn validator(name: &str) -> Validator {
    let mut registry = Registry::new();
    for s in SCHEMAS {
        let contents: Value = serde_json::from_str(s.text).unwrap();
        registry = registry
            .add(format!("https://x07.io/spec/{}", s.file_name), contents)
            .unwrap();
    }
    let registry = registry.prepare().unwrap();
    let schema_value: Value =
        serde_json::from_str(schema(name).unwrap_or_else(|| panic!("no schema {name}"))).unwrap();
    jsonschema::options()
        .with_draft(jsonschema::Draft::Draft202012)
        .with_registry(&registry)
        .build(&schema_value)
        .unwrap_or_else(|e| panic!("schema {name} does not compile: {e}"))
}

fn assert_valid(v: &Validator, doc: &Value) {
    let errors: Vec<String> = v
        .iter_errors(doc)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "document should validate: {errors:#?}\n{doc:#}"
    );
}

fn assert_invalid(v: &Validator, doc: &Value, why: &str) {
    assert!(
        !v.is_valid(doc),
        "document should be rejected ({why}):\n{doc:#}"
    );
}

fn with(mut v: Value, pointer: &str, new: Value) -> Value {
    let (parent, key) = pointer.rsplit_once('/').unwrap();
    match v.pointer_mut(parent).unwrap_or_else(|| panic!("{pointer}")) {
        Value::Object(map) => {
            map.insert(key.to_string(), new);
        }
        Value::Array(items) => items[key.parse::<usize>().unwrap()] = new,
        _ => panic!("{pointer}"),
    }
    v
}

fn without(mut v: Value, pointer: &str, key: &str) -> Value {
    v.pointer_mut(pointer)
        .unwrap()
        .as_object_mut()
        .unwrap()
        .remove(key);
    v
}

#[test]
fn every_schema_is_valid_draft_2020_12_and_found_by_id_and_file_name() {
    for s in SCHEMAS {
        let value: Value = serde_json::from_str(s.text).unwrap();
        assert_eq!(
            value["$schema"], "https://json-schema.org/draft/2020-12/schema",
            "{}",
            s.file_name
        );
        assert!(
            jsonschema::meta::is_valid(&value),
            "{} is not a valid schema",
            s.file_name
        );
        assert_eq!(schema(s.id), Some(s.text));
        assert_eq!(schema(s.file_name), Some(s.text));
        let _ = validator(s.id);
    }
    assert_eq!(schema("x07.project@9.9.9"), None);
}

// ---- x07.project@0.5.0 -------------------------------------------------------------------------

fn init_json() -> Value {
    serde_json::from_slice(&ProjectManifest::new_init().to_file_bytes().unwrap()).unwrap()
}

#[test]
fn project_schema_agrees_with_the_loader() {
    let v = validator("x07.project@0.5.0");
    let full = json!({
        "schema_version": "x07.project@0.5.0", "compat": "strict", "world": "run-os-sandboxed",
        "entry": "src/main.x07.json", "module_roots": ["src", "lib"],
        "link": {"libs": ["curl"], "search_paths": ["/usr/lib"], "frameworks": [], "static": false},
        "dependencies": [{"name": "ext-net", "version": "0.1.11", "path": ".x07/deps/ext-net/0.1.11"}],
        "patch": {"ext-curl-c": {"version": ">=0.1.6 <0.2.0", "path": "vendor/curl"}},
        "lockfile": null, "default_profile": "sandbox",
        "profiles": {
            "sandbox": {"world": "run-os-sandboxed", "policy": "p.json", "runner": "os", "input": "in.bin",
                        "auto_ffi": true, "solve_fuel": 10, "cpu_time_limit_seconds": 2,
                        "max_memory_bytes": 1048576, "max_output_bytes": 0, "cc_profile": "size"},
            "pure": {"world": "solve-pure", "runner": "host"}
        }
    });
    let good = [init_json(), full.clone()];
    for doc in &good {
        assert_valid(&v, doc);
        let m = ProjectManifest::decode(doc.clone()).unwrap();
        // What the type writes back validates too.
        assert_valid(&v, &serde_json::to_value(&m).unwrap());
    }
    let bad = [
        (
            with(
                init_json(),
                "/profiles/sandbox",
                json!({"world": "run-os-sandboxed"}),
            ),
            "sandbox without policy",
        ),
        (
            with(init_json(), "/profiles/os/policy", json!("p.json")),
            "policy outside sandbox",
        ),
        (
            with(init_json(), "/profiles/os/runner", json!("host")),
            "host runner for an OS world",
        ),
        (
            with(init_json(), "/profiles/os/solve_fuel", json!(0)),
            "zero fuel",
        ),
        (
            with(init_json(), "/profiles/os/extra", json!(1)),
            "unknown profile field",
        ),
        (
            with(init_json(), "/extra", json!(1)),
            "unknown top-level field",
        ),
        (
            with(init_json(), "/world", json!("run-linux")),
            "unknown world",
        ),
        (
            with(init_json(), "/entry", json!("/abs/main.x07.json")),
            "absolute entry",
        ),
        (
            with(init_json(), "/entry", json!("C:/main.x07.json")),
            "drive entry",
        ),
        (
            with(init_json(), "/entry", json!("src/main.json")),
            "entry not .x07.json",
        ),
        (
            with(init_json(), "/module_roots", json!(["a/../b"])),
            "`..` in module root",
        ),
        (
            with(init_json(), "/module_roots", json!([])),
            "no module roots",
        ),
        (
            with(init_json(), "/module_roots", json!(["src", "src"])),
            "duplicate module roots",
        ),
        (
            with(init_json(), "/module_roots", json!([".x07/deps/x"])),
            "vendored module root",
        ),
        (with(init_json(), "/lockfile", json!(1)), "numeric lockfile"),
        (
            with(
                init_json(),
                "/dependencies",
                json!([{"name": "Ext", "version": "1.0.0", "path": "d"}]),
            ),
            "bad package name",
        ),
        (
            with(
                init_json(),
                "/dependencies",
                json!([{"name": "ext", "version": "1.0", "path": "d"}]),
            ),
            "inexact version",
        ),
        (
            with(init_json(), "/schema_version", json!("x07.project@0.4.0")),
            "old version is read, never written",
        ),
        (without(init_json(), "", "world"), "missing world"),
    ];
    for (doc, why) in &bad {
        assert_invalid(&v, doc, why);
        if *why != "old version is read, never written" {
            assert!(
                ProjectManifest::decode(doc.clone()).is_err(),
                "the loader should reject too ({why})"
            );
        }
    }
}

// ---- x07AST ------------------------------------------------------------------------------------

fn entry() -> Value {
    json!({"schema_version": "x07.x07ast@0.8.0", "kind": "entry", "module_id": "main", "imports": ["app"],
           "decls": [], "solve": ["app.solve", "input"]})
}

fn module() -> Value {
    json!({"schema_version": "x07.x07ast@0.5.0", "kind": "module", "module_id": "app", "imports": [],
    "decls": [
        {"kind": "export", "names": ["app.solve"]},
        {"kind": "defn", "name": "app.solve", "params": [{"name": "b", "ty": "bytes_view"}], "result": "bytes",
         "body": ["begin", ["let", "n", ["view.len", "b"]], ["if", ["<", "n", 3], ["bytes.alloc", 0], ["view.to_bytes", "b"]]]},
        {"kind": "extern", "abi": "C", "name": "app.c_len", "link_name": "c_len",
         "params": [{"name": "p", "ty": "ptr_const_u8"}], "result": "i32"}
    ]})
}

#[test]
fn x07ast_schema_accepts_entries_and_modules_and_rejects_bad_shapes() {
    let v = validator("x07.x07ast");
    assert_valid(&v, &entry());
    assert_valid(&v, &module());
    let bad = [
        (without(entry(), "", "solve"), "entry without solve"),
        (
            with(entry(), "/module_id", json!("app")),
            "entry not named main",
        ),
        (
            with(module(), "/solve", json!(["bytes.empty"])),
            "module with solve",
        ),
        (with(entry(), "/solve", json!([])), "empty list expression"),
        (
            with(entry(), "/solve", json!([1, 2])),
            "list head not a string",
        ),
        (
            with(entry(), "/solve", json!({"op": 1})),
            "object expression",
        ),
        (
            with(entry(), "/solve", json!(["f", ["g", []]])),
            "nested empty list",
        ),
        (
            with(entry(), "/schema_version", json!("x07.x07ast@0.2.0")),
            "old ast version",
        ),
        (with(entry(), "/kind", json!("library")), "unknown kind"),
        (
            with(entry(), "/imports", json!(["a", "a"])),
            "duplicate import",
        ),
        (with(entry(), "/extra", json!(1)), "unknown top-level field"),
        (
            with(module(), "/decls/1/kind", json!("defun")),
            "unknown decl kind",
        ),
        (without(module(), "/decls/1", "body"), "defn without body"),
        (
            with(module(), "/decls/1/name", json!("solve")),
            "function name without module prefix",
        ),
        (
            with(module(), "/decls/1/params/0/name", json!("1b")),
            "bad parameter name",
        ),
        (
            with(module(), "/decls/0/extra", json!(1)),
            "unknown export field",
        ),
        (
            with(module(), "/decls/2/abi", json!("Rust")),
            "extern with a non-C ABI",
        ),
    ];
    for (doc, why) in &bad {
        assert_invalid(&v, doc, why);
    }
}

// ---- x07.lock@0.5.0 ----------------------------------------------------------------------------

#[test]
fn lock_schema_accepts_written_locks_and_rejects_bad_ones() {
    let v = validator("x07.lock@0.5.0");
    let empty: Value = serde_json::from_slice(&Lockfile::empty().to_file_bytes().unwrap()).unwrap();
    assert_valid(&v, &empty);
    let hex = "ab".repeat(32);
    let v04 = json!({
        "schema_version": "x07.lock@0.4.0",
        "toolchain": {"x07_version": "0.2.17", "x07c_version": "0.2.17", "lang_id": "x07-core@0.2.0"},
        "registry": {"index_url": "sparse+https://registry.x07.io/index/"},
        "dependencies": [{"name": "ext-a", "version": "1.0.0", "path": ".x07/deps/ext-a/1.0.0",
                          "package_manifest_sha256": hex, "module_root": "modules",
                          "modules_sha256": {"ext.a": hex}, "overridden_by": "ext-b", "yanked": false}]
    });
    let lock = Lockfile::from_slice(
        &serde_json::to_vec(&v04).unwrap(),
        Path::new("x07.lock.json"),
    )
    .unwrap();
    let written: Value = serde_json::from_slice(&lock.to_file_bytes().unwrap()).unwrap();
    assert_valid(&v, &written);
    let bad = [
        (v04.clone(), "0.4.0 is read, never written"),
        (
            with(
                written.clone(),
                "/dependencies/0/modules_sha256/ext.a",
                json!("sha256:00"),
            ),
            "prefixed or short hash",
        ),
        (
            with(written.clone(), "/dependencies/0/path", json!("../x")),
            "path escapes",
        ),
        (
            without(written.clone(), "/dependencies/0", "module_root"),
            "missing module_root",
        ),
        (
            without(written.clone(), "", "dependencies"),
            "missing dependencies",
        ),
    ];
    for (doc, why) in &bad {
        assert_invalid(&v, doc, why);
    }
}

// ---- reports -----------------------------------------------------------------------------------

fn solve_ok() -> SolveSection {
    SolveSection {
        ok: true,
        exit_status: Some(0),
        solve_output_b64: "aGVsbG8=".into(),
        stdout_b64: "BQAAAGhlbGxv".into(),
        stderr_b64: "e30K".into(),
        fuel_used: Some(3),
        heap_used: Some(4096),
        fs_read_file_calls: Some(0),
        fs_list_dir_calls: Some(0),
        rr_open_calls: Some(0),
        rr_close_calls: Some(0),
        rr_stats_calls: Some(0),
        rr_next_calls: Some(0),
        rr_next_miss_calls: Some(0),
        rr_append_calls: Some(0),
        kv_get_calls: Some(0),
        kv_set_calls: Some(0),
        sched_stats: Some(SchedStats {
            sched_trace_hash: "0x0000000000000000".into(),
            ..SchedStats::default()
        }),
        mem_stats: Some(MemStats {
            alloc_calls: 3,
            free_calls: 3,
            ..MemStats::default()
        }),
        debug_stats: None,
        trap: None,
        trap_help: None,
        policy_denials: None,
    }
}

fn compile_ok() -> CompileSection {
    CompileSection {
        ok: true,
        exit_status: 0,
        lang_id: "x07-core@0.2.0".into(),
        native_requires: Some(NativeRequires {
            schema_version: NativeRequiresVersion,
            world: World::RunOs,
            requires: vec![],
        }),
        c_source_size: Some(1234),
        compiled_exe: Some("/store/abc-app/bin/app".into()),
        compiled_exe_size: Some(16000),
        compile_error: None,
        diagnostics: None,
        stdout_b64: String::new(),
        stderr_b64: String::new(),
        fuel_used: None,
        trap: None,
    }
}

fn project_report() -> OsRunnerReport {
    OsRunnerReport::ProjectCompileRun(CompileRunReport {
        schema_version: OsRunnerReportVersion,
        world: World::RunOsSandboxed,
        exit_code: 0,
        compile: compile_ok(),
        solve: Some(solve_ok()),
        solve_output_b64: Some("aGVsbG8=".into()),
        sandbox_backend: Some(SandboxBackend::Os),
        runtime_attestation: Some(RuntimeAttestationRef {
            path: ".x07/artifacts/attest.json".into(),
            sandbox_backend: SandboxBackend::Os,
            weaker_isolation: true,
            network_mode: NetworkMode::Disabled,
            network_enforcement: NetworkEnforcement::None,
        }),
        effective_policy_digest: None,
        sandbox: None,
        vm_guest_image: None,
    })
}

fn compile_failed_report() -> OsRunnerReport {
    let mut compile = compile_ok();
    compile.ok = false;
    compile.exit_status = 1;
    compile.native_requires = None;
    compile.c_source_size = None;
    compile.compiled_exe = None;
    compile.compiled_exe_size = None;
    compile.compile_error =
        Some("unknown module: \"ext.cli\" (searched: src/ext/cli.x07.json)".into());
    compile.diagnostics = Some(vec![Diagnostic::error(
        "X07-MOD-0001",
        "unknown module `ext.cli`",
    )
    .with_file("src/main.x07.json")
    .with_ptr("/imports/0")
    .with_help("x07 pkg add ext-cli --sync")]);
    OsRunnerReport::CompileRun(CompileRunReport {
        schema_version: OsRunnerReportVersion,
        world: World::RunOs,
        exit_code: 1,
        compile,
        solve: None,
        solve_output_b64: None,
        sandbox_backend: None,
        runtime_attestation: None,
        effective_policy_digest: None,
        sandbox: None,
        vm_guest_image: None,
    })
}

fn artifact_report() -> OsRunnerReport {
    let mut solve = SolveSection::failed("os.env.get key not allowed ptr=/solve/2");
    solve.exit_status = Some(132);
    solve.trap_help = Some("extend env.allow_keys in the policy".into());
    OsRunnerReport::RunOs(ArtifactRunReport {
        schema_version: OsRunnerReportVersion,
        world: World::RunOs,
        exit_code: 1,
        solve,
        sandbox_backend: None,
        runtime_attestation: None,
    })
}

#[test]
fn os_runner_reports_validate_and_round_trip() {
    let v = validator("x07-os-runner.report@0.5.0");
    for report in [project_report(), compile_failed_report(), artifact_report()] {
        let doc = serde_json::to_value(&report).unwrap();
        assert_eq!(doc["mode"], report.mode());
        assert_valid(&v, &doc);
        let back: OsRunnerReport = serde_json::from_value(doc).unwrap();
        assert_eq!(back, report);
    }
    let flat = serde_json::to_value(artifact_report()).unwrap();
    assert_eq!(flat["ok"], false);
    assert_eq!(flat["exit_status"], 132);
    assert!(flat.get("solve").is_none() && flat.get("compile").is_none());
    assert_eq!(
        serde_json::to_value(compile_failed_report()).unwrap()["solve"],
        Value::Null
    );
}

#[test]
fn os_runner_schema_rejects_malformed_reports() {
    let v = validator("x07-os-runner.report@0.5.0");
    let project = serde_json::to_value(project_report()).unwrap();
    let flat = serde_json::to_value(artifact_report()).unwrap();
    let bad = [
        (
            without(project.clone(), "/solve", "trap_help"),
            "solve field missing",
        ),
        (
            with(project.clone(), "/solve/extra", json!(1)),
            "unknown solve field",
        ),
        (
            with(project.clone(), "/solve/fuel_used", json!(-1)),
            "negative counter",
        ),
        (
            with(project.clone(), "/solve/stdout_b64", json!("not base64!")),
            "bad base64",
        ),
        (
            with(
                project.clone(),
                "/solve/sched_stats/sched_trace_hash",
                json!("0x1"),
            ),
            "short trace hash",
        ),
        (
            without(project.clone(), "/solve/mem_stats", "memcpy_bytes"),
            "mem_stats field missing",
        ),
        (
            without(project.clone(), "", "solve"),
            "solve missing (must be null, not absent)",
        ),
        (
            without(project.clone(), "/compile", "lang_id"),
            "compile field missing",
        ),
        (
            with(project.clone(), "/mode", json!("run-vm")),
            "unknown mode",
        ),
        (
            with(
                project.clone(),
                "/schema_version",
                json!("x07-os-runner.report@0.4.0"),
            ),
            "old version",
        ),
        (
            with(project.clone(), "/sandbox_backend", json!("docker")),
            "unknown backend",
        ),
        (
            with(
                project.clone(),
                "/compile/diagnostics",
                json!([{"code": "E1", "severity": "error", "message": "m"}]),
            ),
            "bad diagnostic code",
        ),
        (
            with(
                flat.clone(),
                "/compile",
                serde_json::to_value(compile_ok()).unwrap(),
            ),
            "compile in a run-os report",
        ),
        (
            with(flat.clone(), "/mode", json!("compile-run")),
            "flat report with a compile mode",
        ),
        (
            without(flat.clone(), "", "heap_used"),
            "flat report missing a solve field",
        ),
        (
            with(flat.clone(), "/exit_code", json!(300)),
            "exit code out of range",
        ),
    ];
    for (doc, why) in &bad {
        assert_invalid(&v, doc, why);
    }
}

fn wrapped() -> RunReport {
    RunReport {
        schema_version: RunReportVersion,
        runner: ReportRunner::Os,
        world: World::RunOsSandboxed,
        target: RunTarget {
            kind: TargetKind::Project,
            path: "/p/x07.json".into(),
            project_root: Some("/p".into()),
            lockfile: Some("/p/x07.lock.json".into()),
            resolved_module_roots: vec!["/p/src".into()],
        },
        repair: Some(RepairSummary {
            mode: RepairMode::Write,
            iterations: 1,
            applied_ops_count: 0,
            last_lint_ok: true,
        }),
        report: project_report(),
    }
}

#[test]
fn wrapped_run_report_validates_and_rejects_bad_targets() {
    let v = validator("x07.run.report@0.3.0");
    let doc = serde_json::to_value(wrapped()).unwrap();
    assert_valid(&v, &doc);
    assert_eq!(
        serde_json::from_value::<RunReport>(doc.clone()).unwrap(),
        wrapped()
    );
    let mut artifact = wrapped();
    artifact.target = RunTarget {
        kind: TargetKind::Artifact,
        path: "app".into(),
        project_root: None,
        lockfile: None,
        resolved_module_roots: vec![],
    };
    artifact.repair = None;
    artifact.report = artifact_report();
    assert_valid(&v, &serde_json::to_value(artifact).unwrap());
    let bad = [
        (with(doc.clone(), "/runner", json!("vm")), "unknown runner"),
        (
            without(doc.clone(), "/target", "lockfile"),
            "target.lockfile must be present (null when none)",
        ),
        (
            with(doc.clone(), "/target/kind", json!("bundle")),
            "unknown target kind",
        ),
        (
            with(doc.clone(), "/repair/mode", json!("auto")),
            "unknown repair mode",
        ),
        (
            with(doc.clone(), "/report/solve/ok", json!("yes")),
            "inner report is checked too",
        ),
        (
            with(
                doc.clone(),
                "/schema_version",
                json!("x07.run.report@0.1.0"),
            ),
            "old version",
        ),
    ];
    for (doc, why) in &bad {
        assert_invalid(&v, doc, why);
    }
}
