//! x07.lock.json: the 0.5 format round trip, canonical bytes, reading 0.3/0.4, the format's rules.

mod common;

use std::path::Path;

use common::*;
use serde_json::{json, Value};
use x07_lock::{DepSource, Lock, LockFormat, LOCK_SCHEMA_VERSION};
use x07_spec::{to_canonical_vec, Sha256Digest, WriteOutcome};

const HEX_A: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
const HEX_B: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

fn parse(v: &Value) -> Result<Lock, String> {
    Lock::from_slice(&serde_json::to_vec(v).unwrap(), Path::new("x07.lock.json"))
        .map_err(|e| e.to_string())
}

fn v04() -> Value {
    json!({
        "schema_version": "x07.lock@0.4.0",
        "toolchain": {"x07_version": "0.2.17", "x07c_version": "0.2.17", "lang_id": "x07-core@0.2.0", "compat": "0.5"},
        "registry": {"index_url": "sparse+https://registry.x07.io/index/"},
        "dependencies": [
            {"name": "ext-curl-c", "version": "0.1.6", "path": ".x07/deps/ext-curl-c/0.1.6",
             "package_manifest_sha256": HEX_A, "module_root": "modules",
             "modules_sha256": {"ext.curl.http": HEX_B}, "yanked": true},
            {"name": "local-util", "version": "1.0.0", "path": "libs/util",
             "package_manifest_sha256": HEX_B, "module_root": "src", "modules_sha256": {}}
        ]
    })
}

#[test]
fn empty_lock_and_the_init_placeholder() {
    let bytes = Lock::empty().to_file_bytes().unwrap();
    assert_eq!(
        bytes,
        b"{\"dependencies\":[],\"root_deps\":[],\"schema_version\":\"x07.lock@0.5.0\"}\n"
    );
    // What `x07 init` wrote before this crate existed still reads.
    let placeholder =
        parse(&json!({"schema_version": LOCK_SCHEMA_VERSION, "dependencies": []})).unwrap();
    assert_eq!(placeholder, Lock::empty());
}

#[test]
fn a_full_lock_round_trips_losslessly_in_canonical_form() {
    let lock = full_lock();
    let bytes = lock.to_file_bytes().unwrap();
    let value: Value = serde_json::from_slice(&bytes).unwrap();
    // Canonical: the file is exactly the JCS of its own JSON plus a newline.
    let mut jcs = to_canonical_vec(&value).unwrap();
    jcs.push(b'\n');
    assert_eq!(bytes, jcs);
    assert_eq!(
        value["dependencies"][0]["name"], "ext-net",
        "sorted by name"
    );
    assert_eq!(
        value["dependencies"][0]["archive_sha256"],
        json!(Sha256Digest::of(b"ext-net-0.1.6.x07pkg").to_string())
    );
    assert_eq!(value["dependencies"][1]["source"], "path");
    assert!(value["dependencies"][1].get("archive_sha256").is_none());
    assert_eq!(
        value["dependencies"][0]["deps"],
        json!([{"name": "ext-url", "req": "^0.2", "resolved": "0.2.3"}])
    );
    assert_eq!(
        value["root_deps"],
        json!([{"name": "ext-net", "req": ">=0.1.0, <0.2.0"}])
    );
    assert_eq!(value["registry"]["key_id"], "0123456789abcdef");
    let reread = Lock::from_slice(&bytes, Path::new("x07.lock.json")).unwrap();
    assert_eq!(reread, lock);
    // A pretty-printed copy of the same lock is the same lock.
    let pretty = serde_json::to_vec_pretty(&value).unwrap();
    assert_eq!(
        Lock::from_slice(&pretty, Path::new("x07.lock.json"))
            .unwrap()
            .to_file_bytes()
            .unwrap(),
        bytes
    );
}

#[test]
fn writes_atomically_and_only_when_the_bytes_change() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("x07.lock.json");
    let mut lock = full_lock();
    assert_eq!(lock.write(&path).unwrap(), WriteOutcome::Created);
    // Same content in another order: same bytes, no write.
    lock.dependencies.reverse();
    assert_eq!(lock.write(&path).unwrap(), WriteOutcome::Unchanged);
    lock.dependencies
        .iter_mut()
        .find(|d| d.name == name("ext-net"))
        .unwrap()
        .yanked = true;
    assert_eq!(lock.write(&path).unwrap(), WriteOutcome::Replaced);
    assert!(
        Lock::load(&path)
            .unwrap()
            .package(&name("ext-net"))
            .unwrap()
            .yanked
    );
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        1,
        "no temporary files left"
    );
}

#[test]
fn digest_covers_content_but_not_the_signature() {
    let lock = full_lock();
    assert_eq!(
        lock.digest().unwrap(),
        Sha256Digest::of(&lock.signing_bytes().unwrap())
    );
    let mut signed = lock.clone();
    x07_lock::sign_lock(
        &mut signed,
        &x07_lock::SigningKey::from_secret_bytes(&[1; 32]),
    )
    .unwrap();
    assert_eq!(signed.digest().unwrap(), lock.digest().unwrap());
    assert_ne!(
        signed.to_file_bytes().unwrap(),
        lock.to_file_bytes().unwrap()
    );
    let mut changed = lock.clone();
    changed.dependencies[0].files_sha256.clear();
    assert_ne!(changed.digest().unwrap(), lock.digest().unwrap());
}

#[test]
fn reads_v04_and_v03_and_converts_them() {
    let lock = parse(&v04()).unwrap();
    assert_eq!(lock.read_as, LockFormat::V0_4);
    assert_eq!(
        lock.registry.as_ref().unwrap().index_url,
        "sparse+https://registry.x07.io/index/"
    );
    let curl = lock.package(&name("ext-curl-c")).unwrap();
    assert_eq!(curl.source, DepSource::Registry);
    assert!(curl.yanked);
    assert_eq!(
        curl.package_manifest_sha256.to_string(),
        format!("sha256:{HEX_A}")
    );
    assert!(curl.archive_sha256.is_none() && curl.files_sha256.is_empty() && curl.deps.is_empty());
    assert_eq!(
        lock.package(&name("local-util")).unwrap().source,
        DepSource::Path
    );

    let written: Value = serde_json::from_slice(&lock.to_file_bytes().unwrap()).unwrap();
    assert_eq!(written["schema_version"], LOCK_SCHEMA_VERSION);
    assert!(
        written.get("toolchain").is_none(),
        "the toolchain block is not carried into 0.5"
    );
    assert_eq!(
        written["dependencies"][0]["modules_sha256"]["ext.curl.http"],
        format!("sha256:{HEX_B}")
    );
    let reread = parse(&written).unwrap();
    assert_eq!(reread.dependencies, lock.dependencies);
    assert_eq!(reread.read_as, LockFormat::V0_5);

    let mut v03 = v04();
    v03["schema_version"] = json!("x07.lock@0.3.0");
    v03.as_object_mut().unwrap().remove("toolchain");
    v03.as_object_mut().unwrap().remove("registry");
    let old = parse(&v03).unwrap();
    assert_eq!(old.read_as, LockFormat::V0_3);
    assert_eq!(old.dependencies, lock.dependencies);
}

#[test]
fn errors_name_the_field_and_what_to_do() {
    let full: Value = serde_json::from_slice(&full_lock().to_file_bytes().unwrap()).unwrap();
    let with = |edit: &dyn Fn(&mut Value)| {
        let mut v = full.clone();
        edit(&mut v);
        v
    };
    let mut collision_v04 = v04();
    collision_v04["dependencies"][1]["modules_sha256"] = json!({"ext.curl.http": HEX_A});
    let cases: Vec<(Value, &str)> = vec![
        (json!({"schema_version": "x07.lock@0.6.0", "dependencies": []}), "x07.lock.json: schema_version: unsupported version `x07.lock@0.6.0`; expected x07.lock@0.5.0 (x07.lock@0.3.0, x07.lock@0.4.0 read too)"),
        (with(&|v| v["dependencies"][1]["name"] = json!("ext-net")), "x07.lock.json: dependencies[1].name: `ext-net` is locked twice (0.1.6 and 0.2.3)"),
        (with(&|v| v["dependencies"][1]["modules_sha256"] = json!({"std.net.http": Sha256Digest::of(b"x").to_string()})), "x07.lock.json: dependencies[1].modules_sha256: module `std.net.http` is provided by both ext-net and ext-url"),
        (collision_v04, "x07.lock.json: dependencies[1].modules_sha256: module `ext.curl.http` is provided by both ext-curl-c and local-util"),
        (with(&|v| v["dependencies"][0]["archive_sha256"] = json!(HEX_A)), "x07.lock.json: dependencies[0]: digest `aaaa"),
        (with(&|v| v["dependencies"][0]["deps"][0]["req"] = json!("^^1")), "x07.lock.json: dependencies[0]: requirement `^^1`"),
        (with(&|v| v["registry"]["key_id"] = json!("k1")), "x07.lock.json: registry: key id `k1` must be 16 lowercase hex digits"),
        (with(&|v| v["dependencies"][0]["source"] = json!("git")), "x07.lock.json: dependencies[0]: unknown variant `git`"),
        (with(&|v| v["dependencies"][0]["extra"] = json!(1)), "x07.lock.json: dependencies[0]: unknown field `extra`"),
        (with(&|v| { v.as_object_mut().unwrap().insert("toolchain".into(), json!({})); }), "x07.lock.json: toolchain: unknown field; allowed fields here:"),
        (with(&|v| { v["dependencies"][0].as_object_mut().unwrap().remove("files_sha256"); }), "x07.lock.json: dependencies[0]: missing field `files_sha256`"),
        (with(&|v| v["signature"] = json!({"kind": "rsa", "key_id": "0123456789abcdef", "sig": ""})), "x07.lock.json: signature: unknown variant `rsa`"),
    ];
    for (doc, expected) in cases {
        let err = parse(&doc).unwrap_err();
        assert!(
            err.starts_with(expected),
            "expected `{expected}`, got `{err}`"
        );
    }
}
