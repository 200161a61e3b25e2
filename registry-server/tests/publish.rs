//! Publish, the signed index with ETags, downloads, and the publish error answers.

mod common;

use std::os::unix::fs::PermissionsExt as _;

use common::{assert_error, cksum, signature_valid, status_json, Fixture, Pkg};
use serde_json::{json, Value};
use sha2::Digest as _;
use x07_registry_server::Scope;

#[test]
fn first_start_writes_config_key_tokens_and_owners() {
    let fx = Fixture::start();
    let root = fx.root();
    let key_mode = fs_err::metadata(root.signing_key_path())
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(key_mode & 0o777, 0o600);
    assert_eq!(
        fs_err::read_to_string(root.dir().join("tokens.json")).unwrap(),
        "{}\n"
    );
    assert_eq!(fs_err::read_to_string(root.owners_path()).unwrap(), "{}\n");
    let stored: Value = serde_json::from_slice(&fs_err::read(root.config_path()).unwrap()).unwrap();
    assert_eq!(stored["base_url"], fx.url(""));

    let resp = fx.get("/index/config.json");
    assert_eq!(resp.status(), 200);
    let config: Value = serde_json::from_slice(&resp.bytes().unwrap()).unwrap();
    assert_eq!(config["dl"], format!("{}/v1/packages/", fx.url("")));
    assert_eq!(config["api"], format!("{}/v1/", fx.url("")));
    assert_eq!(
        (config["sparse"].clone(), config["auth-required"].clone()),
        (json!(true), json!(false))
    );
    let (key_id, key) = fx.public_key();
    assert_eq!(
        key_id,
        hex::encode(&sha2::Sha256::digest(key.as_bytes())[..8])
    );
}

#[test]
fn published_version_gets_a_signed_line_etag_and_download() {
    let fx = Fixture::start();
    let token = fx.token("alice", &[Scope::Publish]);
    let pkg = Pkg::new("ext-net", "0.1.0", &["ext.net.http", "std_like.err"]);
    let archive = pkg.archive();
    let (status, body) = status_json(fx.publish(Some(&token), &archive));
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body,
        json!({"ok": true, "name": "ext-net", "version": "0.1.0", "cksum": cksum(&archive), "index_path": "ex/t-/ext-net"})
    );

    let lines = fx.index_lines("ex/t-/ext-net");
    assert_eq!(lines.len(), 1);
    let line = &lines[0];
    assert_eq!(line["schema_version"], "x07.index-entry@0.2.0");
    assert_eq!(line["cksum"], cksum(&archive));
    assert_eq!(line["yanked"], false);
    assert_eq!(line["deps"], json!([{"name": "ext-foo", "req": "^0.2"}]));
    assert_eq!(line["x07c_compat"], ">=0.1.0, <0.2.0");
    assert_eq!(line["modules"], json!(["ext.net.http", "std_like.err"]));
    assert_eq!(line["description"], "test package ext-net");
    let (key_id, key) = fx.public_key();
    assert_eq!(line["signature"]["key_id"], key_id.as_str());
    assert!(signature_valid(line, &key));
    let mut tampered = line.clone();
    tampered["deps"] = json!([]);
    assert!(
        !signature_valid(&tampered, &key),
        "the signature must cover the requirements"
    );

    // ETag is the sha256 of the body; a matching If-None-Match gets a bare 304.
    let resp = fx.get("/index/ex/t-/ext-net");
    let etag = resp.headers()["etag"].to_str().unwrap().to_string();
    let body = resp.bytes().unwrap();
    assert_eq!(etag, format!("\"{}\"", cksum(&body)));
    let resp = fx
        .http
        .get(fx.url("/index/ex/t-/ext-net"))
        .header("If-None-Match", &etag)
        .send()
        .unwrap();
    assert_eq!(resp.status(), 304);
    assert!(resp.bytes().unwrap().is_empty());
    let resp = fx
        .http
        .get(fx.url("/index/ex/t-/ext-net"))
        .header("If-None-Match", "\"sha256:00\"")
        .send()
        .unwrap();
    assert_eq!(resp.status(), 200);

    let dl = fx.get("/v1/packages/ext-net/0.1.0/download");
    assert_eq!(dl.status(), 200);
    assert_eq!(dl.bytes().unwrap().to_vec(), archive);
    assert_error(
        fx.get("/v1/packages/ext-net/9.9.9/download"),
        404,
        "X07REG_NOT_FOUND",
    );
    assert_error(fx.get("/index/ot/he/other-pkg"), 404, "X07REG_NOT_FOUND");
    assert_error(fx.get("/index/xx/t-/ext-net"), 404, "X07REG_NOT_FOUND");

    // More versions: lines stay in semver order and the ETag changes.
    for v in ["0.10.0", "0.2.0", "0.2.0-rc.1"] {
        assert_eq!(
            fx.publish(
                Some(&token),
                &Pkg::new("ext-net", v, &["ext.net.http"]).archive()
            )
            .status(),
            200
        );
    }
    let versions: Vec<Value> = fx
        .index_lines("ex/t-/ext-net")
        .iter()
        .map(|l| l["version"].clone())
        .collect();
    assert_eq!(
        versions,
        vec![
            json!("0.1.0"),
            json!("0.2.0-rc.1"),
            json!("0.2.0"),
            json!("0.10.0")
        ]
    );
    let resp = fx
        .http
        .get(fx.url("/index/ex/t-/ext-net"))
        .header("If-None-Match", &etag)
        .send()
        .unwrap();
    assert_eq!(resp.status(), 200);

    let (_, found) = status_json(fx.get("/v1/search?q=NET&limit=5"));
    assert_eq!(
        found,
        json!({"packages": [{"name": "ext-net", "latest": "0.10.0", "description": "test package ext-net"}]})
    );
    let (_, none) = status_json(fx.get("/v1/search?q=nothing-like-this"));
    assert_eq!(none, json!({"packages": []}));
}

#[test]
fn archives_packed_by_x07_spec_publish_with_ffi_sources() {
    let fx = Fixture::start();
    let token = fx.token("alice", &[Scope::Publish]);
    let dir = fx.dir.path().join("ext-curl");
    let pkg = Pkg::new("ext-curl", "0.3.1", &["ext.curl.http"]);
    let mut manifest = pkg.manifest();
    manifest["meta"]["import_mode"] = json!("ffi");
    manifest["meta"]["ffi_libs"] = json!(["curl"]);
    fs_err::create_dir_all(dir.join("modules/ext/curl")).unwrap();
    fs_err::create_dir_all(dir.join("ffi")).unwrap();
    fs_err::write(dir.join("x07-package.json"), manifest.to_string()).unwrap();
    let module = json!({"kind": "module", "module_id": "ext.curl.http", "decls": []});
    fs_err::write(
        dir.join("modules/ext/curl/http.x07.json"),
        module.to_string(),
    )
    .unwrap();
    fs_err::write(
        dir.join("ffi/curl_shim.c"),
        "int x07_curl_shim(void) { return 0; }\n",
    )
    .unwrap();
    fs_err::write(dir.join("notes.txt"), "not packed").unwrap();
    let packed = x07_spec::archive::pack(&dir).unwrap();

    let (status, body) = status_json(fx.publish(Some(&token), &packed.bytes));
    assert_eq!(
        (status, body["cksum"].as_str()),
        (200, Some(packed.sha256.to_string().as_str())),
        "{body}"
    );
    let line = &fx.index_lines("ex/t-/ext-curl")[0];
    assert_eq!(line["ffi_libs"], json!(["curl"]));
    assert_eq!(
        fx.get("/v1/packages/ext-curl/0.3.1/download")
            .bytes()
            .unwrap()
            .to_vec(),
        packed.bytes
    );

    // An ffi package without C sources is refused.
    let mut no_c = Pkg::new("ext-curl", "0.3.2", &["ext.curl.http"]);
    no_c.manifest_edit = |m| m["meta"]["import_mode"] = json!("ffi");
    no_c.extra_files
        .push(("ffi/README".into(), b"no sources".to_vec()));
    assert_error(
        fx.publish(Some(&token), &no_c.archive()),
        400,
        "X07REG_INVALID_ARCHIVE",
    );
}

#[test]
fn short_names_use_cargo_shards() {
    let fx = Fixture::start();
    let token = fx.token("alice", &[Scope::Publish]);
    for (name, shard) in [("a", "1/a"), ("ab", "2/ab"), ("abc", "3/a/abc")] {
        let (status, body) =
            status_json(fx.publish(Some(&token), &Pkg::new(name, "1.0.0", &["m"]).archive()));
        assert_eq!((status, body["index_path"].as_str()), (200, Some(shard)));
        assert_eq!(fx.index_lines(shard).len(), 1);
    }
}

#[test]
fn publish_refusals_carry_their_status_and_code() {
    let fx = Fixture::start_with(|c| c.max_publish_bytes = Some(64 * 1024));
    let alice = fx.token("alice", &[Scope::Publish]);
    let good = Pkg::new("ext-json", "1.0.0", &["ext.json"]);

    assert_error(
        fx.publish(None, &good.archive()),
        401,
        "X07REG_UNAUTHORIZED",
    );
    assert_error(
        fx.publish(Some("x07t_not-a-token"), &good.archive()),
        401,
        "X07REG_UNAUTHORIZED",
    );
    let manage_only = fx.token("alice", &[Scope::OwnerManage]);
    assert_error(
        fx.publish(Some(&manage_only), &good.archive()),
        403,
        "X07REG_SCOPE_MISSING",
    );

    assert_error(
        fx.publish(Some(&alice), b"not an archive at all"),
        400,
        "X07REG_INVALID_ARCHIVE",
    );
    let mut no_license = good.clone();
    no_license.manifest_edit = |m| {
        m.as_object_mut().unwrap().remove("license");
    };
    assert_error(
        fx.publish(Some(&alice), &no_license.archive()),
        400,
        "X07REG_INVALID_MANIFEST",
    );
    let mut no_compat = good.clone();
    no_compat.manifest_edit = |m| m["meta"] = json!({});
    assert_error(
        fx.publish(Some(&alice), &no_compat.archive()),
        400,
        "X07REG_INVALID_MANIFEST",
    );
    let mut bad_req = good.clone();
    bad_req.manifest_edit = |m| m["meta"]["requires_packages"] = json!(["ext-foo"]);
    assert_error(
        fx.publish(Some(&alice), &bad_req.archive()),
        400,
        "X07REG_INVALID_MANIFEST",
    );
    let mut extra = good.clone();
    extra.extra_files.push(("notes.txt".into(), b"hi".to_vec()));
    assert_error(
        fx.publish(Some(&alice), &extra.archive()),
        400,
        "X07REG_INVALID_ARCHIVE",
    );
    let mut listed_missing = good.clone();
    listed_missing
        .extra_files
        .push(("ffi/x.c".into(), b"int x;".to_vec()));
    listed_missing.manifest_edit = |m| m["modules"] = json!(["ext.json", "ext.missing"]);
    assert_error(
        fx.publish(Some(&alice), &listed_missing.archive()),
        400,
        "X07REG_INVALID_ARCHIVE",
    );

    // A module whose module_id differs from the listed id.
    let mut mislabeled = good.clone();
    mislabeled.modules = vec![];
    mislabeled.manifest_edit = |m| m["modules"] = json!(["ext.json"]);
    mislabeled.extra_files.push((
        "modules/ext/json.x07.json".into(),
        br#"{"kind":"module","module_id":"ext.nope"}"#.to_vec(),
    ));
    assert_error(
        fx.publish(Some(&alice), &mislabeled.archive()),
        400,
        "X07REG_PUBLISH_LINT_FAILED",
    );
    let mut not_module = good.clone();
    not_module.modules = vec![];
    not_module.manifest_edit = |m| m["modules"] = json!(["ext.json"]);
    not_module.extra_files.push((
        "modules/ext/json.x07.json".into(),
        br#"{"kind":"entry","module_id":"ext.json"}"#.to_vec(),
    ));
    assert_error(
        fx.publish(Some(&alice), &not_module.archive()),
        400,
        "X07REG_PUBLISH_LINT_FAILED",
    );

    let big = vec![7u8; 100 * 1024];
    assert_error(fx.publish(Some(&alice), &big), 413, "X07REG_TOO_LARGE");

    // Nothing above reached the index or claimed the name.
    assert_error(fx.get("/index/ex/t-/ext-json"), 404, "X07REG_NOT_FOUND");
    assert_error(
        fx.get("/v1/packages/ext-json/owners"),
        404,
        "X07REG_NOT_FOUND",
    );

    assert_eq!(fx.publish(Some(&alice), &good.archive()).status(), 200);
    let mut changed = good.clone();
    changed.description = "different bytes, same version".into();
    assert_error(
        fx.publish(Some(&alice), &changed.archive()),
        409,
        "X07REG_ALREADY_PUBLISHED",
    );
    let bob = fx.token("bob", &[Scope::Publish]);
    assert_error(
        fx.publish(
            Some(&bob),
            &Pkg::new("ext-json", "1.0.1", &["ext.json"]).archive(),
        ),
        403,
        "X07REG_NOT_OWNER",
    );
    let lines = fx.index_lines("ex/t-/ext-json");
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["cksum"], cksum(&good.archive()));
    assert_error(fx.get("/v1/nothing/here"), 404, "X07REG_NOT_FOUND");
}

#[test]
fn std_modules_need_an_official_owner() {
    let fx = Fixture::start_with_official(&["core"]);
    let alice = fx.token("alice", &[Scope::Publish]);
    let core = fx.token("core", &[Scope::Publish]);
    let pkg = Pkg::new("ext-net", "0.1.0", &["ext.net", "std.net.http"]);
    assert_error(
        fx.publish(Some(&alice), &pkg.archive()),
        403,
        "X07REG_STD_RESERVED",
    );
    let admin = fx.token("root", &[Scope::Admin]);
    assert_error(
        fx.publish(Some(&admin), &pkg.archive()),
        403,
        "X07REG_STD_RESERVED",
    );
    assert_error(
        fx.get("/v1/packages/ext-net/owners"),
        404,
        "X07REG_NOT_FOUND",
    );
    assert_eq!(fx.publish(Some(&core), &pkg.archive()).status(), 200);
    let (_, owners) = status_json(fx.get("/v1/packages/ext-net/owners"));
    assert_eq!(owners["owners"], json!(["core"]));
    // A module id that merely starts with the letters `std` is not in the namespace.
    assert_eq!(
        fx.publish(
            Some(&alice),
            &Pkg::new("stdish", "0.1.0", &["stdlib_extra.x"]).archive()
        )
        .status(),
        200
    );
}
