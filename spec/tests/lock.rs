//! x07.lock.json: the empty lock `x07 init` writes, reading older versions, and the lock digest.

use std::path::Path;

use serde_json::{json, Value};
use x07_spec::{Lockfile, Sha256Digest, LOCK_SCHEMA_VERSION};

const HEX_A: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
const HEX_B: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

fn parse(v: &Value) -> Result<Lockfile, String> {
    Lockfile::from_slice(&serde_json::to_vec(v).unwrap(), Path::new("x07.lock.json"))
        .map_err(|e| e.to_string())
}

pub fn v04_lock() -> Value {
    json!({
        "schema_version": "x07.lock@0.4.0",
        "toolchain": {"x07_version": "0.2.17", "x07c_version": "0.2.17", "lang_id": "x07-core@0.2.0", "compat": "0.5"},
        "registry": {"index_url": "sparse+https://registry.x07.io/index/"},
        "dependencies": [{
            "name": "ext-curl-c", "version": "0.1.6", "path": ".x07/deps/ext-curl-c/0.1.6",
            "package_manifest_sha256": HEX_A, "module_root": "modules",
            "modules_sha256": {"ext.curl.http": HEX_B, "ext.curl._ffi": HEX_A},
            "yanked": false,
            "advisories": [{
                "id": "8c7f0a4e-0000-4000-8000-000000000001", "package": "ext-curl-c", "version": "0.1.6",
                "kind": "security", "severity": "high", "summary": "redirects", "created_at_utc": "2026-01-01T00:00:00Z"
            }]
        }]
    })
}

#[test]
fn empty_lock_bytes_and_digest_are_stable() {
    let lock = Lockfile::empty();
    let bytes = lock.to_file_bytes().unwrap();
    assert_eq!(
        bytes,
        b"{\"dependencies\":[],\"schema_version\":\"x07.lock@0.5.0\"}\n"
    );
    assert_eq!(
        lock.digest().unwrap(),
        Sha256Digest::of(&bytes[..bytes.len() - 1])
    );
    assert_eq!(
        Lockfile::from_slice(&bytes, Path::new("x07.lock.json")).unwrap(),
        lock
    );
}

#[test]
fn reads_v03_and_v04_and_writes_v05() {
    let lock = parse(&v04_lock()).unwrap();
    assert_eq!(lock.read_schema_version, "x07.lock@0.4.0");
    let dep = &lock.dependencies[0];
    assert_eq!(
        (dep.name.as_str(), dep.version.as_str()),
        ("ext-curl-c", "0.1.6")
    );
    assert_eq!(dep.modules_sha256.len(), 2);
    assert_eq!(dep.advisories.len(), 1);

    let rewritten: Value = serde_json::from_slice(&lock.to_file_bytes().unwrap()).unwrap();
    assert_eq!(rewritten["schema_version"], LOCK_SCHEMA_VERSION);
    assert_eq!(rewritten["dependencies"], v04_lock()["dependencies"]);
    assert_eq!(parse(&rewritten).unwrap().dependencies, lock.dependencies);

    let mut v03 = v04_lock();
    v03["schema_version"] = json!("x07.lock@0.3.0");
    v03.as_object_mut().unwrap().remove("toolchain");
    v03.as_object_mut().unwrap().remove("registry");
    assert_eq!(parse(&v03).unwrap().dependencies, lock.dependencies);
}

#[test]
fn digest_changes_with_content() {
    let a = parse(&v04_lock()).unwrap();
    let mut b = a.clone();
    b.dependencies[0].yanked = Some(true);
    assert_ne!(a.digest().unwrap(), b.digest().unwrap());
    assert_ne!(a.digest().unwrap(), Lockfile::empty().digest().unwrap());
}

#[test]
fn errors_name_the_file_and_the_field() {
    let mut no_toolchain = v04_lock();
    no_toolchain.as_object_mut().unwrap().remove("toolchain");
    let mut bad_hex = v04_lock();
    bad_hex["dependencies"][0]["package_manifest_sha256"] = json!("ABC");
    let mut extra = v04_lock();
    extra["dependencies"][0]["archive"] = json!("x");
    let cases = [
        (no_toolchain, "x07.lock.json: toolchain: required field is missing"),
        (json!({"schema_version": "x07.lock@0.2.0", "dependencies": []}), "x07.lock.json: schema_version: unsupported version `x07.lock@0.2.0`"),
        (bad_hex, "x07.lock.json: dependencies[0]: `ABC` must be a SHA-256 written as 64 lowercase hex digits"),
        (extra, "x07.lock.json: dependencies[0]: unknown field `archive`"),
        (json!({"schema_version": LOCK_SCHEMA_VERSION}), "x07.lock.json: dependencies: required field is missing"),
    ];
    for (doc, expected) in cases {
        let err = parse(&doc).unwrap_err();
        assert!(
            err.starts_with(expected),
            "expected `{expected}`, got `{err}`"
        );
    }
}
