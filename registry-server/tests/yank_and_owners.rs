//! Yank / unyank re-sign the line; owners add / remove with their scope and ownership rules.

mod common;

use common::{assert_error, signature_valid, status_json, Fixture, Pkg};
use serde_json::{json, Value};
use x07_registry_server::Scope;

fn line_of<'a>(lines: &'a [Value], version: &str) -> &'a Value {
    lines
        .iter()
        .find(|l| l["version"] == version)
        .expect("version listed")
}

#[test]
fn yank_and_unyank_resign_the_line() {
    let fx = Fixture::start();
    let alice = fx.token("alice", &[Scope::Publish]);
    let archive = Pkg::new("ext-yank", "1.0.0", &["ext.yank"]).archive();
    assert_eq!(fx.publish(Some(&alice), &archive).status(), 200);
    assert_eq!(
        fx.publish(
            Some(&alice),
            &Pkg::new("ext-yank", "1.1.0", &["ext.yank"]).archive()
        )
        .status(),
        200
    );
    let (_, key) = fx.public_key();
    let before = fx.index_lines("ex/t-/ext-yank");
    let old = line_of(&before, "1.0.0").clone();
    let etag_before = fx.get("/index/ex/t-/ext-yank").headers()["etag"].clone();

    let (status, body) = status_json(fx.yank(&alice, "ext-yank", "1.0.0", true));
    assert_eq!(
        (status, body),
        (
            200,
            json!({"ok": true, "name": "ext-yank", "version": "1.0.0", "yanked": true})
        )
    );
    let after = fx.index_lines("ex/t-/ext-yank");
    let new = line_of(&after, "1.0.0");
    assert_eq!(new["yanked"], true);
    assert!(signature_valid(new, &key), "the re-signed line verifies");
    let mut new_with_old_sig = new.clone();
    new_with_old_sig["signature"] = old["signature"].clone();
    assert!(
        !signature_valid(&new_with_old_sig, &key),
        "the old signature must not cover the yanked line"
    );
    assert_eq!(
        line_of(&after, "1.1.0"),
        line_of(&before, "1.1.0"),
        "other lines are untouched"
    );
    assert_ne!(
        fx.get("/index/ex/t-/ext-yank").headers()["etag"],
        etag_before
    );
    // Yanked versions stay downloadable.
    assert_eq!(
        fx.get("/v1/packages/ext-yank/1.0.0/download")
            .bytes()
            .unwrap()
            .to_vec(),
        archive
    );
    let (_, found) = status_json(fx.get("/v1/search?q=ext-yank"));
    assert_eq!(found["packages"][0]["latest"], "1.1.0");

    let bob = fx.token("bob", &[Scope::Publish]);
    assert_error(
        fx.yank(&bob, "ext-yank", "1.0.0", false),
        403,
        "X07REG_NOT_OWNER",
    );
    let manage_only = fx.token("alice", &[Scope::OwnerManage]);
    assert_error(
        fx.yank(&manage_only, "ext-yank", "1.0.0", false),
        403,
        "X07REG_SCOPE_MISSING",
    );
    assert_error(
        fx.yank(&alice, "ext-yank", "3.0.0", true),
        404,
        "X07REG_NOT_FOUND",
    );
    assert_error(
        fx.yank(&alice, "ext-none", "1.0.0", true),
        404,
        "X07REG_NOT_FOUND",
    );
    let bad = fx
        .http
        .post(fx.url("/v1/packages/ext-yank/1.0.0/yank"))
        .bearer_auth(&alice)
        .body("{\"yank\":1}")
        .send()
        .unwrap();
    assert_error(bad, 400, "X07REG_BAD_REQUEST");

    assert_eq!(fx.yank(&alice, "ext-yank", "1.0.0", false).status(), 200);
    let restored = fx.index_lines("ex/t-/ext-yank");
    assert_eq!(
        line_of(&restored, "1.0.0"),
        &old,
        "unyanking restores the original line and signature"
    );
    let admin = fx.token("root", &[Scope::Admin]);
    assert_eq!(fx.yank(&admin, "ext-yank", "1.1.0", true).status(), 200);
}

fn change_owner(
    fx: &Fixture,
    token: &str,
    package: &str,
    owner: &str,
    add: bool,
) -> reqwest::blocking::Response {
    let url = fx.url(&format!("/v1/packages/{package}/owners"));
    let req = if add {
        fx.http.post(url)
    } else {
        fx.http.delete(url)
    };
    req.bearer_auth(token)
        .body(json!({"owner": owner}).to_string())
        .send()
        .unwrap()
}

#[test]
fn owners_are_managed_by_owners_with_the_scope() {
    let fx = Fixture::start();
    let alice = fx.token("alice", &[Scope::Publish, Scope::OwnerManage]);
    let alice_publish = fx.token("alice", &[Scope::Publish]);
    let bob = fx.token("bob", &[Scope::Publish, Scope::OwnerManage]);
    assert_eq!(
        fx.publish(
            Some(&alice),
            &Pkg::new("ext-own", "0.1.0", &["ext.own"]).archive()
        )
        .status(),
        200
    );
    let (_, owners) = status_json(fx.get("/v1/packages/ext-own/owners"));
    assert_eq!(owners["owners"], json!(["alice"]));

    assert_error(
        change_owner(&fx, &bob, "ext-own", "bob", true),
        403,
        "X07REG_NOT_OWNER",
    );
    assert_error(
        change_owner(&fx, &alice_publish, "ext-own", "bob", true),
        403,
        "X07REG_SCOPE_MISSING",
    );
    assert_error(
        change_owner(&fx, &alice, "ext-own", "Bad Name", true),
        400,
        "X07REG_BAD_REQUEST",
    );
    assert_error(
        change_owner(&fx, &alice, "ext-missing", "bob", true),
        404,
        "X07REG_NOT_FOUND",
    );
    let (status, body) = status_json(change_owner(&fx, &alice, "ext-own", "bob", true));
    assert_eq!((status, &body["owners"]), (200, &json!(["alice", "bob"])));
    assert_eq!(
        fx.publish(
            Some(&bob),
            &Pkg::new("ext-own", "0.2.0", &["ext.own"]).archive()
        )
        .status(),
        200
    );

    assert_eq!(
        change_owner(&fx, &bob, "ext-own", "alice", false).status(),
        200
    );
    assert_error(
        fx.publish(
            Some(&alice),
            &Pkg::new("ext-own", "0.3.0", &["ext.own"]).archive(),
        ),
        403,
        "X07REG_NOT_OWNER",
    );
    assert_error(
        change_owner(&fx, &bob, "ext-own", "bob", false),
        409,
        "X07REG_LAST_OWNER",
    );
    let stored: Value =
        serde_json::from_slice(&fs_err::read(fx.root().owners_path()).unwrap()).unwrap();
    assert_eq!(stored, json!({"ext-own": ["bob"]}));
    let (_, detail) = status_json(fx.get("/v1/packages/ext-own"));
    assert_eq!(
        (detail["latest"].clone(), detail["owners"].clone()),
        (json!("0.2.0"), json!(["bob"]))
    );
    assert_eq!(detail["versions"].as_array().unwrap().len(), 2);
}
