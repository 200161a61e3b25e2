//! x07.json: what `x07 init` writes, what is read, and how errors name the file and field.

use std::path::Path;

use serde_json::{json, Value};
use x07_spec::{DocumentError, ProjectManifest, World, PROJECT_SCHEMA_VERSION};

fn parse(v: &Value) -> Result<ProjectManifest, String> {
    ProjectManifest::from_slice(&serde_json::to_vec(v).unwrap(), Path::new("x07.json"))
        .map_err(|e| e.to_string())
}

fn init_json() -> Value {
    serde_json::from_slice(&ProjectManifest::new_init().to_file_bytes().unwrap()).unwrap()
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

#[test]
fn init_manifest_bytes_are_pretty_json_in_canonical_key_order() {
    let bytes = ProjectManifest::new_init().to_file_bytes().unwrap();
    let expected = r#"{
  "compat": "0.5",
  "default_profile": "os",
  "dependencies": [],
  "entry": "src/main.x07.json",
  "lockfile": "x07.lock.json",
  "module_roots": [
    "src"
  ],
  "profiles": {
    "os": {
      "world": "run-os"
    },
    "sandbox": {
      "policy": ".x07/policies/base/cli.sandbox.base.policy.json",
      "world": "run-os-sandboxed"
    }
  },
  "schema_version": "x07.project@0.5.0",
  "world": "run-os"
}
"#;
    assert_eq!(String::from_utf8(bytes.clone()).unwrap(), expected);
    assert_eq!(
        ProjectManifest::from_slice(&bytes, Path::new("x07.json")).unwrap(),
        ProjectManifest::new_init()
    );
}

#[test]
fn old_versions_are_read_and_written_as_current() {
    let old = json!({"schema_version": "x07.project@0.2.0", "world": "solve-pure", "entry": "main.x07.json", "module_roots": ["."]});
    let m = parse(&old).unwrap();
    assert_eq!(m.read_schema_version, "x07.project@0.2.0");
    assert_eq!(m.world, World::SolvePure);
    assert_eq!(
        m.lockfile.as_ref().map(|p| p.as_str()),
        Some("x07.lock.json")
    );
    assert!(m.profiles.is_empty() && m.dependencies.is_empty());
    let rewritten: Value = serde_json::from_slice(&m.to_file_bytes().unwrap()).unwrap();
    assert_eq!(rewritten["schema_version"], PROJECT_SCHEMA_VERSION);
    assert_eq!(
        parse(&rewritten).unwrap().read_schema_version,
        PROJECT_SCHEMA_VERSION
    );
}

#[test]
fn lockfile_null_disables_locking_and_survives_a_rewrite() {
    let m = parse(&with(init_json(), "/lockfile", Value::Null)).unwrap();
    assert!(m.lockfile.is_none() && m.lockfile_path(Path::new("/p")).is_none());
    let rewritten: Value = serde_json::from_slice(&m.to_file_bytes().unwrap()).unwrap();
    assert_eq!(rewritten["lockfile"], Value::Null);
    assert!(parse(&rewritten).unwrap().lockfile.is_none());
}

#[test]
fn schema_errors_name_the_file_and_the_field() {
    let cases: Vec<(Value, &str)> = vec![
        (
            with(init_json(), "/profiles/sandbox", json!({"world": "run-os-sandboxed"})),
            "x07.json: profiles.sandbox.policy: required when world is run-os-sandboxed",
        ),
        (with(init_json(), "/profiles/os/policy", json!("p.json")), "x07.json: profiles.os.policy: only allowed when world is run-os-sandboxed"),
        (with(init_json(), "/wrold", json!("run-os")), "x07.json: wrold: unknown field (did you mean `world`?); allowed fields here: "),
        (with(init_json(), "/schema_version", json!("x07.project@0.7.0")), "x07.json: schema_version: unsupported version `x07.project@0.7.0`"),
        (with(init_json(), "/entry", json!("src/main.json")), "x07.json: entry: `src/main.json` must name an x07AST file ending in .x07.json"),
        (with(init_json(), "/entry", json!("/abs/main.x07.json")), "x07.json: entry: path `/abs/main.x07.json` must be relative"),
        (with(init_json(), "/module_roots", json!([])), "x07.json: module_roots: must list at least one directory"),
        (with(init_json(), "/module_roots", json!(["src", "../lib"])), "x07.json: module_roots[1]: path `../lib` must not contain `..`"),
        (with(init_json(), "/module_roots", json!(["src", "./src/"])), "x07.json: module_roots[1]: `./src/` is listed twice"),
        (with(init_json(), "/module_roots", json!([".x07/deps/a/1.0.0/modules"])), "x07.json: module_roots[0]: `.x07/deps/a/1.0.0/modules` is a vendored package directory"),
        (with(init_json(), "/default_profile", json!("dev")), "x07.json: default_profile: names profile `dev`, which `profiles` does not define"),
        (with(init_json(), "/world", json!("run-linux")), "x07.json: world: unknown variant `run-linux`"),
        (with(init_json(), "/lockfile", json!(7)), "x07.json: lockfile: invalid type: integer `7`"),
        (
            with(init_json(), "/dependencies", json!([{"name": "ext-a", "version": "^1.0", "path": ".x07/deps/ext-a/1.0.0"}])),
            "x07.json: dependencies[0].version: version `^1.0` must be an exact semantic version",
        ),
        (
            with(init_json(), "/dependencies", json!([
                {"name": "ext-a", "version": "1.0.0", "path": ".x07/deps/ext-a/1.0.0"},
                {"name": "ext-a", "version": "1.1.0", "path": ".x07/deps/ext-a/1.1.0"}
            ])),
            "x07.json: dependencies[1].name: package `ext-a` is listed twice",
        ),
        (
            with(init_json(), "/dependencies", json!([{"name": "ext-a", "version": "1.0.0"}])),
            "x07.json: dependencies[0].path: required up to x07.project@0.5.0",
        ),
        (with(init_json(), "/profiles/os/solve_fuel", json!(-1)), "x07.json: profiles.os.solve_fuel: invalid value: integer `-1`"),
        (json!([1]), "x07.json: expected a JSON object, found an array"),
    ];
    for (doc, expected) in cases {
        let err = parse(&doc).unwrap_err();
        assert!(
            err.starts_with(expected),
            "expected `{expected}`, got `{err}`"
        );
    }
}

#[test]
fn malformed_json_is_told_apart_from_schema_errors() {
    let err = ProjectManifest::from_slice(
        b"{\"world\": \"run-os\",\n\"entry\" \"x\"}",
        Path::new("x07.json"),
    )
    .unwrap_err();
    assert!(
        matches!(
            err,
            DocumentError::MalformedJson {
                line: 2,
                column: 9,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(!err.is_schema_error());
    let err = ProjectManifest::from_slice(b"{}", Path::new("x07.json")).unwrap_err();
    assert!(err.is_schema_error());
    assert_eq!(
        err.to_string(),
        "x07.json: schema_version: required field is missing"
    );
}

#[test]
fn load_and_write_go_through_the_file_system() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("x07.json");
    let err = ProjectManifest::load(&path).unwrap_err();
    assert!(matches!(err, DocumentError::Read { .. }));
    assert!(
        err.to_string().contains("x07.json: cannot read the file"),
        "{err}"
    );

    let m = ProjectManifest::new_init();
    assert_eq!(m.write(&path).unwrap(), x07_spec::WriteOutcome::Created);
    assert_eq!(m.write(&path).unwrap(), x07_spec::WriteOutcome::Unchanged);
    assert_eq!(ProjectManifest::load(&path).unwrap(), m);
}

#[test]
fn profile_selection_follows_flag_default_dev_os() {
    let m = ProjectManifest::new_init();
    assert_eq!(m.select_profile(None).unwrap().unwrap().0.as_str(), "os");
    assert_eq!(
        m.select_profile(Some("sandbox")).unwrap().unwrap().1.world,
        World::RunOsSandboxed
    );
    let err = m.select_profile(Some("prod")).unwrap_err();
    assert_eq!(
        err.to_string(),
        "unknown profile `prod`; x07.json defines: os, sandbox"
    );

    let mut no_default = m.clone();
    no_default.default_profile = None;
    assert_eq!(
        no_default.select_profile(None).unwrap().unwrap().0.as_str(),
        "os"
    );
    no_default.profiles.clear();
    assert!(no_default.select_profile(None).unwrap().is_none());
}

#[test]
fn project_0_6_takes_requirements_and_is_written_only_when_needed() {
    let doc = with(
        with(init_json(), "/schema_version", json!("x07.project@0.6.0")),
        "/dependencies",
        json!([{"name": "ext-a", "version": "^1.2"}, {"name": "ext-b", "version": "1.0.0", "path": "vendor/ext-b"}]),
    );
    let m = parse(&doc).unwrap();
    assert_eq!(m.dependencies[0].version, "^1.2");
    assert!(m.dependencies[0].path.is_none() && m.dependencies[0].needs_requirements_format());
    assert_eq!(
        m.dependencies[1].local_path().map(|p| p.to_string()),
        Some("vendor/ext-b".to_string())
    );
    assert_eq!(m.write_schema_version(), "x07.project@0.6.0");
    let written: Value = serde_json::from_slice(&m.to_file_bytes().unwrap()).unwrap();
    assert_eq!(written["schema_version"], "x07.project@0.6.0");
    assert_eq!(
        written["dependencies"][0],
        json!({"name": "ext-a", "version": "^1.2"})
    );

    // Without a requirement, the same manifest is written as 0.5.0.
    let mut exact = m.clone();
    exact.dependencies.remove(0);
    assert_eq!(exact.write_schema_version(), PROJECT_SCHEMA_VERSION);
    let registry = parse(&with(
        init_json(),
        "/dependencies",
        json!([{"name": "ext-a", "version": "1.0.0", "path": ".x07/deps/ext-a/1.0.0"}]),
    ))
    .unwrap();
    assert!(
        registry.dependencies[0].local_path().is_none(),
        "a .x07/deps path is a registry package"
    );
}
