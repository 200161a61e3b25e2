//! Concurrent publishes keep every version exactly once; a restart keeps key, index, owners and tokens.

mod common;

use std::sync::{Arc, Barrier};

use common::{cksum, status_json, Fixture, Pkg};
use serde_json::{json, Value};
use x07_registry_server::{Scope, ServerConfig, ServerHandle};

#[test]
fn concurrent_publishes_store_each_version_exactly_once() {
    let fx = Arc::new(Fixture::start());
    let token = fx.token("alice", &[Scope::Publish]);
    // 8 distinct versions and 4 different archives of one more version, all released at once,
    // on a name nobody owns yet (so the ownership claim races too).
    let mut jobs: Vec<(String, Vec<u8>)> = (0..8)
        .map(|i| {
            let v = format!("1.{i}.0");
            let archive = Pkg::new("ext-race", &v, &["ext.race"]).archive();
            (v, archive)
        })
        .collect();
    for i in 0..4 {
        let mut pkg = Pkg::new("ext-race", "2.0.0", &["ext.race"]);
        pkg.description = format!("contender {i}");
        jobs.push(("2.0.0".into(), pkg.archive()));
    }
    let barrier = Arc::new(Barrier::new(jobs.len()));
    let threads: Vec<_> = jobs
        .into_iter()
        .map(|(version, archive)| {
            let (fx, barrier, token) = (fx.clone(), barrier.clone(), token.clone());
            std::thread::spawn(move || {
                barrier.wait();
                let (status, body) = status_json(fx.publish(Some(&token), &archive));
                (version, cksum(&archive), status, body)
            })
        })
        .collect();
    let results: Vec<_> = threads.into_iter().map(|t| t.join().unwrap()).collect();

    for (version, _, status, body) in results.iter().filter(|r| r.0 != "2.0.0") {
        assert_eq!(*status, 200, "{version}: {body}");
    }
    let same: Vec<_> = results.iter().filter(|r| r.0 == "2.0.0").collect();
    let winners: Vec<_> = same.iter().filter(|r| r.2 == 200).collect();
    assert_eq!(
        winners.len(),
        1,
        "exactly one publish of 2.0.0 succeeds: {same:?}"
    );
    for loser in same.iter().filter(|r| r.2 != 200) {
        assert_eq!(
            (loser.2, loser.3["code"].as_str()),
            (409, Some("X07REG_ALREADY_PUBLISHED"))
        );
    }

    let lines = fx.index_lines("ex/t-/ext-race");
    let mut versions: Vec<&str> = lines
        .iter()
        .map(|l| l["version"].as_str().unwrap())
        .collect();
    assert_eq!(versions.len(), 9, "{versions:?}");
    versions.dedup();
    assert_eq!(versions.len(), 9, "no version twice");
    let winner_line = lines.iter().find(|l| l["version"] == "2.0.0").unwrap();
    assert_eq!(
        winner_line["cksum"],
        winners[0].1.as_str(),
        "the index names the winning archive"
    );
    let dl = fx
        .get("/v1/packages/ext-race/2.0.0/download")
        .bytes()
        .unwrap();
    assert_eq!(cksum(&dl), winners[0].1);
    // The file on disk matches what is served.
    let on_disk = fs_err::read_to_string(fx.root().index_dir().join("ex/t-/ext-race")).unwrap();
    assert_eq!(on_disk, fx.get("/index/ex/t-/ext-race").text().unwrap());
    let (_, owners) = status_json(fx.get("/v1/packages/ext-race/owners"));
    assert_eq!(owners["owners"], json!(["alice"]));
    let scratch_left = fs_err::read_dir(fx.root().scratch_dir()).unwrap().count();
    assert_eq!(scratch_left, 0, "publish checks leave no scratch files");
}

#[test]
fn restart_keeps_key_index_owners_and_tokens() {
    let mut fx = Fixture::start();
    let alice = fx.token("alice", &[Scope::Publish, Scope::OwnerManage]);
    let archive = Pkg::new("ext-keep", "0.1.0", &["ext.keep"]).archive();
    assert_eq!(fx.publish(Some(&alice), &archive).status(), 200);
    assert_eq!(fx.yank(&alice, "ext-keep", "0.1.0", true).status(), 200);
    let add = fx
        .http
        .post(fx.url("/v1/packages/ext-keep/owners"))
        .bearer_auth(&alice)
        .body(r#"{"owner":"bob"}"#)
        .send()
        .unwrap();
    assert_eq!(add.status(), 200);
    let key_before = fx.public_key();
    let index_before = fx.get("/index/ex/t-/ext-keep");
    let etag_before = index_before.headers()["etag"].clone();
    let body_before = index_before.text().unwrap();
    let old_url = fx.url("");

    fx.restart(None);
    assert_ne!(fx.url(""), old_url, "a new port");
    assert_eq!(fx.public_key().0, key_before.0);
    let config: Value =
        serde_json::from_slice(&fx.get("/index/config.json").bytes().unwrap()).unwrap();
    assert_eq!(
        config["dl"],
        format!("{}/v1/packages/", fx.url("")),
        "base URL follows --addr"
    );
    let index_after = fx.get("/index/ex/t-/ext-keep");
    assert_eq!(index_after.headers()["etag"], etag_before);
    assert_eq!(index_after.text().unwrap(), body_before);
    assert_eq!(fx.index_lines("ex/t-/ext-keep")[0]["yanked"], true);
    assert_eq!(
        fx.get("/v1/packages/ext-keep/0.1.0/download")
            .bytes()
            .unwrap()
            .to_vec(),
        archive
    );
    let (_, owners) = status_json(fx.get("/v1/packages/ext-keep/owners"));
    assert_eq!(owners["owners"], json!(["alice", "bob"]));
    assert_eq!(
        fx.publish(
            Some(&alice),
            &Pkg::new("ext-keep", "0.2.0", &["ext.keep"]).archive()
        )
        .status(),
        200
    );
    let (status, _) = status_json(fx.publish(Some(&alice), &archive));
    assert_eq!(status, 409);

    let second = ServerHandle::start(ServerConfig::new(
        fx.root().dir(),
        "127.0.0.1:0".parse().unwrap(),
    ));
    let refused = second
        .expect_err("a second server on the same root is refused")
        .to_string();
    assert!(refused.contains("already running"), "{refused}");

    fx.restart(Some("https://registry.example.test/"));
    let config: Value =
        serde_json::from_slice(&fx.get("/index/config.json").bytes().unwrap()).unwrap();
    assert_eq!(config["api"], "https://registry.example.test/v1/");
    fx.restart(None);
    let config: Value =
        serde_json::from_slice(&fx.get("/index/config.json").bytes().unwrap()).unwrap();
    assert_eq!(
        config["api"], "https://registry.example.test/v1/",
        "--public-url is remembered"
    );
    assert_eq!(fx.index_lines("ex/t-/ext-keep").len(), 2);
}
