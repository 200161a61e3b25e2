//! The package manifest: what reads, what is refused (naming file and field), the checks against
//! a package directory and for publishing, and that the JSON Schema agrees with the loader.

use std::path::Path;

use jsonschema::Validator;
use serde_json::{json, Value};
use x07_spec::package::tree::FoundKind;
use x07_spec::package::{
    DeterminismTier, ImportMode, PackageManifest, PackageProblem, Visibility, PACKAGE_FILE_NAME,
};
use x07_spec::{schema, DocumentError, World};

fn full_manifest() -> Value {
    json!({
        "schema_version": "x07.package@0.1.0",
        "name": "ext-demo",
        "version": "0.2.1-rc.1",
        "module_root": "modules",
        "modules": ["ext.demo", "ext.demo.util"],
        "description": "A demo package",
        "docs": "# ext-demo\n\nUse it.",
        "license": "MIT OR Apache-2.0",
        "homepage": "https://example.invalid/demo",
        "meta": {
            "x07c_compat": ">=0.1.0, <0.2.0",
            "requires_packages": ["ext-base@^0.3", "ext-other@1.2.3"],
            "ffi_libs": ["m"],
            "import_mode": "ffi",
            "worlds_allowed": ["run-os", "run-os-sandboxed"],
            "determinism_tier": "os-world-only",
            "visibility": "experimental",
            "scale_tested": true
        }
    })
}

fn minimal_manifest() -> Value {
    json!({
        "schema_version": "x07.package@0.1.0",
        "name": "ext-min",
        "version": "1.0.0",
        "module_root": "modules",
        "modules": ["ext.min"]
    })
}

fn set(mut doc: Value, pointer: &str, value: Value) -> Value {
    let (parent, key) = pointer.rsplit_once('/').unwrap();
    match doc.pointer_mut(parent).unwrap() {
        Value::Object(map) => {
            map.insert(key.to_string(), value);
        }
        Value::Array(items) => items[key.parse::<usize>().unwrap()] = value,
        _ => panic!("{pointer}"),
    }
    doc
}

fn remove(mut doc: Value, pointer: &str) -> Value {
    let (parent, key) = pointer.rsplit_once('/').unwrap();
    doc.pointer_mut(parent)
        .unwrap()
        .as_object_mut()
        .unwrap()
        .remove(key);
    doc
}

fn validator() -> Validator {
    let text = schema("x07.package@0.1.0").expect("the package schema is embedded");
    let value: Value = serde_json::from_str(text).unwrap();
    jsonschema::options()
        .with_draft(jsonschema::Draft::Draft202012)
        .build(&value)
        .unwrap()
}

fn write_package(dir: &Path, manifest: &Value, module_files: &[&str]) {
    fs_err::write(
        dir.join(PACKAGE_FILE_NAME),
        serde_json::to_vec_pretty(manifest).unwrap(),
    )
    .unwrap();
    for rel in module_files {
        let path = dir.join(rel);
        fs_err::create_dir_all(path.parent().unwrap()).unwrap();
        fs_err::write(path, b"{}\n").unwrap();
    }
}

#[test]
fn a_full_manifest_reads_into_typed_fields_and_keeps_unknown_keys() {
    let m = PackageManifest::decode(full_manifest()).unwrap();
    assert_eq!(m.name.as_str(), "ext-demo");
    assert_eq!(m.version.as_str(), "0.2.1-rc.1");
    assert_eq!(m.module_root.as_str(), "modules");
    assert_eq!(
        m.modules.iter().map(|m| m.as_str()).collect::<Vec<_>>(),
        ["ext.demo", "ext.demo.util"]
    );
    assert_eq!(
        m.module_file(&m.modules[1]),
        "modules/ext/demo/util.x07.json"
    );
    assert_eq!(
        m.meta.x07c_compat.as_ref().unwrap().as_str(),
        ">=0.1.0, <0.2.0"
    );
    assert_eq!(m.meta.requires_packages[0].name.as_str(), "ext-base");
    assert_eq!(m.meta.requires_packages[0].req.as_str(), "^0.3");
    assert_eq!(m.meta.ffi_libs[0].as_str(), "m");
    assert_eq!(m.meta.import_mode, Some(ImportMode::Ffi));
    assert_eq!(m.meta.worlds_allowed, [World::RunOs, World::RunOsSandboxed]);
    assert_eq!(m.meta.determinism_tier, Some(DeterminismTier::OsWorldOnly));
    assert_eq!(m.meta.visibility, Some(Visibility::Experimental));
    assert_eq!(m.meta.other["scale_tested"], json!(true));
    assert_eq!(m.other["homepage"], json!("https://example.invalid/demo"));

    // Writing gives the same document back, canonical, and it reads to the same value.
    let bytes = m.to_file_bytes().unwrap();
    let written: Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(written, full_manifest());
    assert_eq!(
        PackageManifest::from_slice(&bytes, Path::new("x")).unwrap(),
        m
    );

    let min = PackageManifest::decode(minimal_manifest()).unwrap();
    assert!(min.meta.is_empty() && min.description.is_none());
    let written: Value = serde_json::from_slice(&min.to_file_bytes().unwrap()).unwrap();
    assert_eq!(written, minimal_manifest(), "an empty meta is left out");
}

/// Each invalid document, the field its error names, and a word of the message.
fn invalid_documents() -> Vec<(&'static str, Value, &'static str, &'static str)> {
    let m = minimal_manifest;
    vec![
        ("not an object", json!([1]), "", "expected a JSON object"),
        (
            "wrong schema version",
            set(m(), "/schema_version", json!("x07.package@0.2.0")),
            "schema_version",
            "unsupported version",
        ),
        (
            "no schema version",
            remove(m(), "/schema_version"),
            "schema_version",
            "required field is missing",
        ),
        (
            "no name",
            remove(m(), "/name"),
            "name",
            "required field is missing",
        ),
        (
            "upper-case name",
            set(m(), "/name", json!("Ext")),
            "name",
            "lowercase",
        ),
        (
            "65-character name",
            set(m(), "/name", json!("a".repeat(65))),
            "name",
            "longer than 64",
        ),
        (
            "range as version",
            set(m(), "/version", json!("^1.0")),
            "version",
            "exact semantic version",
        ),
        ("no version", remove(m(), "/version"), "version", "required"),
        (
            "absolute module root",
            set(m(), "/module_root", json!("/modules")),
            "module_root",
            "absolute",
        ),
        (
            "module root climbing out",
            set(m(), "/module_root", json!("../x")),
            "module_root",
            "..",
        ),
        (
            "module root with ./",
            set(m(), "/module_root", json!("./modules")),
            "module_root",
            "write `modules`",
        ),
        (
            "module root with trailing /",
            set(m(), "/module_root", json!("modules/")),
            "module_root",
            "trailing",
        ),
        (
            "module root `.`",
            set(m(), "/module_root", json!(".")),
            "module_root",
            "without `.`",
        ),
        (
            "module root under ffi",
            set(m(), "/module_root", json!("ffi/mods")),
            "module_root",
            "ffi/",
        ),
        (
            "module root with a variable",
            set(m(), "/module_root", json!("$workspace/m")),
            "module_root",
            "$",
        ),
        ("no modules", remove(m(), "/modules"), "modules", "required"),
        (
            "empty modules",
            set(m(), "/modules", json!([])),
            "modules",
            "at least one",
        ),
        (
            "bad module id",
            set(m(), "/modules", json!(["ext.min", "Ext.Bad"])),
            "modules[1]",
            "module id",
        ),
        (
            "module id with dash",
            set(m(), "/modules", json!(["ext-min"])),
            "modules[0]",
            "module id",
        ),
        (
            "duplicate module",
            set(m(), "/modules", json!(["ext.a", "ext.a"])),
            "modules[1]",
            "listed twice",
        ),
        (
            "null description",
            set(m(), "/description", Value::Null),
            "description",
            "must not be null",
        ),
        (
            "numeric license",
            set(m(), "/license", json!(3)),
            "license",
            "expected a string",
        ),
        (
            "meta not an object",
            set(m(), "/meta", json!([])),
            "meta",
            "expected a JSON object",
        ),
        (
            "bad compat",
            set(m(), "/meta", json!({"x07c_compat": "newest"})),
            "meta.x07c_compat",
            "version requirement",
        ),
        (
            "null compat",
            set(m(), "/meta", json!({"x07c_compat": null})),
            "meta.x07c_compat",
            "must not be null",
        ),
        (
            "requirement without @",
            set(m(), "/meta", json!({"requires_packages": ["ext-a"]})),
            "meta.requires_packages[0]",
            "no `@`",
        ),
        (
            "requirement with a bad name",
            set(m(), "/meta", json!({"requires_packages": ["Ext@1.0.0"]})),
            "meta.requires_packages[0]",
            "package name",
        ),
        (
            "flag as ffi lib",
            set(m(), "/meta", json!({"ffi_libs": ["-Wl,-rpath"]})),
            "meta.ffi_libs[0]",
            "library name",
        ),
        (
            "path as ffi lib",
            set(m(), "/meta", json!({"ffi_libs": ["../x"]})),
            "meta.ffi_libs[0]",
            "library name",
        ),
        (
            "duplicate ffi lib",
            set(m(), "/meta", json!({"ffi_libs": ["m", "m"]})),
            "meta.ffi_libs[1]",
            "listed twice",
        ),
        (
            "unknown import mode",
            set(m(), "/meta", json!({"import_mode": "magic"})),
            "meta.import_mode",
            "unknown variant",
        ),
        (
            "unknown world",
            set(m(), "/meta", json!({"worlds_allowed": ["run-anywhere"]})),
            "meta.worlds_allowed[0]",
            "unknown variant",
        ),
        (
            "unknown tier",
            set(m(), "/meta", json!({"determinism_tier": "chaotic"})),
            "meta.determinism_tier",
            "unknown variant",
        ),
        (
            "unknown visibility",
            set(m(), "/meta", json!({"visibility": "hidden"})),
            "meta.visibility",
            "unknown variant",
        ),
    ]
}

#[test]
fn invalid_manifests_are_refused_naming_the_file_and_the_field() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join(PACKAGE_FILE_NAME);
    for (why, doc, field, needle) in invalid_documents() {
        fs_err::write(&file, serde_json::to_vec(&doc).unwrap()).unwrap();
        let err = PackageManifest::load(&file).expect_err(why);
        match &err {
            DocumentError::Schema { file: f, error } => {
                assert_eq!(f, &file, "{why}");
                assert_eq!(error.field.as_str(), field, "{why}: {err}");
                assert!(
                    error.message.contains(needle),
                    "{why}: {err} should mention {needle:?}"
                );
            }
            other => panic!("{why}: expected a schema error, got {other}"),
        }
        assert!(
            err.to_string().starts_with(&file.display().to_string()),
            "{why}: {err}"
        );
    }

    fs_err::write(&file, b"{\n  \"name\": \n}").unwrap();
    let err = PackageManifest::load(&file).unwrap_err();
    assert!(
        matches!(err, DocumentError::MalformedJson { line: 3, .. }),
        "{err}"
    );
    let err = PackageManifest::load(&dir.path().join("missing.json")).unwrap_err();
    assert!(matches!(err, DocumentError::Read { .. }), "{err}");
}

#[test]
fn the_schema_and_the_loader_agree() {
    let v = validator();
    let mut accepted = vec![
        ("full", full_manifest()),
        ("minimal", minimal_manifest()),
        (
            "nested module root",
            set(minimal_manifest(), "/module_root", json!("src/x07")),
        ),
        (
            "dotted directory name",
            set(minimal_manifest(), "/module_root", json!(".hidden/m")),
        ),
        (
            "module root `ffix`",
            set(minimal_manifest(), "/module_root", json!("ffix")),
        ),
        (
            "module ids with digits and _",
            set(minimal_manifest(), "/modules", json!(["a.0b", "x9_y._z"])),
        ),
        (
            "64-character name",
            set(
                minimal_manifest(),
                "/name",
                json!(format!("a{}", "b".repeat(63))),
            ),
        ),
        (
            "build metadata",
            set(minimal_manifest(), "/version", json!("1.0.0+build.007")),
        ),
        (
            "wildcard compat",
            set(minimal_manifest(), "/meta", json!({"x07c_compat": "0.1.*"})),
        ),
        (
            "empty texts",
            set(
                set(minimal_manifest(), "/docs", json!("")),
                "/license",
                json!(""),
            ),
        ),
    ];
    accepted.push((
        "unknown meta key of any type",
        set(minimal_manifest(), "/meta", json!({"x": null})),
    ));
    for (why, doc) in &accepted {
        let errors: Vec<String> = v
            .iter_errors(doc)
            .map(|e| format!("{e} at {}", e.instance_path()))
            .collect();
        assert!(errors.is_empty(), "schema should accept {why}: {errors:?}");
        assert!(
            PackageManifest::decode(doc.clone()).is_ok(),
            "loader should accept {why}"
        );
    }
    // Duplicate package names in requires_packages are a loader rule JSON Schema cannot express.
    for (why, doc, _, _) in invalid_documents() {
        assert!(!v.is_valid(&doc), "schema should refuse: {why}");
        assert!(
            PackageManifest::decode(doc).is_err(),
            "loader should refuse: {why}"
        );
    }
}

#[test]
fn validate_finds_every_missing_or_non_regular_module_file() {
    let dir = tempfile::tempdir().unwrap();
    let doc = set(
        minimal_manifest(),
        "/modules",
        json!(["ext.a", "ext.b", "ext.c", "ext.d.e"]),
    );
    write_package(dir.path(), &doc, &["modules/ext/a.x07.json"]);
    fs_err::create_dir_all(dir.path().join("modules/ext/c.x07.json")).unwrap();
    let outside = tempfile::tempdir().unwrap();
    fs_err::create_dir_all(outside.path().join("e")).unwrap();
    fs_err::write(outside.path().join("e.x07.json"), b"{}").unwrap();
    std::os::unix::fs::symlink(outside.path(), dir.path().join("modules/ext/d")).unwrap();
    std::os::unix::fs::symlink(
        outside.path().join("e.x07.json"),
        dir.path().join("modules/ext/d.x07.json"),
    )
    .unwrap();

    let m = PackageManifest::load_from_dir(dir.path()).unwrap();
    let err = m.validate(dir.path()).unwrap_err();
    assert!(err.has_module_file_problem());
    let p = &err.problems;
    assert_eq!(p.len(), 3, "{err}");
    assert!(
        matches!(&p[0], PackageProblem::ModuleFileMissing { field, path, .. }
        if field.as_str() == "modules[1]" && path == "modules/ext/b.x07.json"),
        "{err}"
    );
    assert!(
        matches!(&p[1], PackageProblem::ModuleFileNotRegular { field, found, .. }
        if field.as_str() == "modules[2]" && found.describe() == "a directory"),
        "{err}"
    );
    // modules/ext/d is a symlink to a directory outside: refused, not followed.
    assert!(
        matches!(&p[2], PackageProblem::ModuleFileNotRegular { field, found, .. }
        if field.as_str() == "modules[3]" && found.describe() == "a symbolic link"),
        "{err}"
    );
    assert!(
        err.to_string()
            .contains("module `ext.b` has no file modules/ext/b.x07.json"),
        "{err}"
    );

    // With every file present the package is valid.
    let doc = set(minimal_manifest(), "/modules", json!(["ext.a"]));
    write_package(dir.path(), &doc, &[]);
    PackageManifest::load_from_dir(dir.path())
        .unwrap()
        .validate(dir.path())
        .unwrap();
}

#[test]
fn an_ffi_package_needs_c_sources() {
    let dir = tempfile::tempdir().unwrap();
    let doc = set(
        minimal_manifest(),
        "/meta",
        json!({"import_mode": "ffi", "ffi_libs": ["m"]}),
    );
    write_package(dir.path(), &doc, &["modules/ext/min.x07.json"]);
    let m = PackageManifest::load_from_dir(dir.path()).unwrap();
    let err = m.validate(dir.path()).unwrap_err();
    assert!(
        matches!(
            err.problems[..],
            [PackageProblem::FfiSourcesMissing {
                found: FoundKind::Missing
            }]
        ),
        "{err}"
    );
    assert!(
        err.to_string().contains("there is no ffi/ directory"),
        "{err}"
    );
    assert!(!err.has_module_file_problem());
    fs_err::create_dir_all(dir.path().join("ffi/sub")).unwrap();
    fs_err::write(dir.path().join("ffi/sub/deep.c"), b"").unwrap();
    assert!(
        m.validate(dir.path()).is_err(),
        "only top-level ffi/*.c files are compiled"
    );
    fs_err::write(dir.path().join("ffi/min.c"), b"int x;\n").unwrap();
    m.validate(dir.path()).unwrap();

    // A symlinked ffi/ is not followed.
    fs_err::rename(dir.path().join("ffi"), dir.path().join("ffi-real")).unwrap();
    std::os::unix::fs::symlink("ffi-real", dir.path().join("ffi")).unwrap();
    let err = m.validate(dir.path()).unwrap_err();
    assert!(
        matches!(
            err.problems[..],
            [PackageProblem::FfiSourcesMissing {
                found: FoundKind::Symlink
            }]
        ),
        "{err}"
    );
    assert!(err.to_string().contains("ffi is a symbolic link"), "{err}");
}

#[test]
fn publishing_needs_description_docs_license_and_compat() {
    let m = PackageManifest::decode(minimal_manifest()).unwrap();
    let err = m.validate_for_publish().unwrap_err();
    let fields: Vec<String> = err
        .problems
        .iter()
        .map(|p| match p {
            PackageProblem::Field(f) => f.field.as_str().to_string(),
            other => panic!("unexpected {other}"),
        })
        .collect();
    assert_eq!(
        fields,
        ["description", "docs", "license", "meta.x07c_compat"]
    );
    assert!(err.to_string().contains("publishing needs"), "{err}");

    let blank = set(full_manifest(), "/docs", json!("  \n"));
    let err = PackageManifest::decode(blank)
        .unwrap()
        .validate_for_publish()
        .unwrap_err();
    assert_eq!(err.problems.len(), 1);
    assert!(err.to_string().starts_with("docs: "), "{err}");

    PackageManifest::decode(full_manifest())
        .unwrap()
        .validate_for_publish()
        .unwrap();
}
