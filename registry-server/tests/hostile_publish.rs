//! Hostile publishes: every refusal is a 4xx naming what is wrong without any server path, and
//! leaves the registry's state as it was (no name claimed, no archive, no index line, no temp
//! file). Covers the version grammar, over-long names inside archives, archive framing, names
//! that differ only by `-`/`_`, and module ids owned by another owner's package.

mod common;

use std::sync::{Arc, Barrier};
use std::time::Instant;

use common::raw::{tar_of, zstd, zstd_with_zeros};
use common::{assert_error, status_json, Fixture, Pkg};
use serde_json::Value;
use x07_registry_server::Scope;

/// Publishes and returns (status, code, message).
fn refusal(fx: &Fixture, token: &str, archive: &[u8]) -> (u16, String, String) {
    let (status, body) = status_json(fx.publish(Some(token), archive));
    let field = |k: &str| body[k].as_str().unwrap_or_default().to_string();
    (status, field("code"), field("message"))
}

/// Asserts a refusal with `status` and `code` whose message holds `words` and no server path.
#[track_caller]
fn assert_refused(fx: &Fixture, token: &str, archive: &[u8], status: u16, code: &str, words: &str) {
    let (got, got_code, message) = refusal(fx, token, archive);
    assert_eq!((got, got_code.as_str()), (status, code), "{message}");
    assert!(message.contains(words), "want `{words}` in: {message}");
    let root = fx.root().dir().display().to_string();
    assert!(
        !message.contains(&root) && !message.contains("/tmp/"),
        "a server path in: {message}"
    );
}

#[test]
fn versions_past_u64_or_128_bytes_are_400_and_claim_nothing() {
    let fx = Fixture::start();
    let alice = fx.token("alice", &[Scope::Publish]);
    let before = fx.state();
    let too_big = Pkg::new("ext-ver", "18446744073709551616.0.0", &["ext.ver"]);
    assert_refused(
        &fx,
        &alice,
        &too_big.archive(),
        400,
        "X07REG_INVALID_MANIFEST",
        "does not fit in 64 bits",
    );
    let long_pre = Pkg::new(
        "ext-ver",
        &format!("1.0.0-{}", "p".repeat(300)),
        &["ext.ver"],
    );
    assert_refused(
        &fx,
        &alice,
        &long_pre.archive(),
        400,
        "X07REG_INVALID_MANIFEST",
        "more than 128",
    );
    assert_eq!(
        fx.state(),
        before,
        "a refused publish changes nothing on disk"
    );
    assert_error(
        fx.get("/v1/packages/ext-ver/owners"),
        404,
        "X07REG_NOT_FOUND",
    );
    assert_error(fx.get("/index/ex/t-/ext-ver"), 404, "X07REG_NOT_FOUND");

    // The largest version that fits is an ordinary version.
    let largest = Pkg::new("ext-ver", "18446744073709551615.0.0", &["ext.ver"]);
    assert_eq!(fx.publish(Some(&alice), &largest.archive()).status(), 200);
    assert_eq!(
        fx.index_lines("ex/t-/ext-ver")[0]["version"],
        "18446744073709551615.0.0"
    );
}

#[test]
fn an_entry_name_longer_than_a_file_name_is_400_without_server_paths() {
    let fx = Fixture::start();
    let alice = fx.token("alice", &[Scope::Publish]);
    let before = fx.state();
    let mut pkg = Pkg::new("ext-long", "1.0.0", &["ext.long"]);
    pkg.extra_files
        .push((format!("ffi/{}.c", "n".repeat(300)), b"int x;".to_vec()));
    assert_refused(
        &fx,
        &alice,
        &pkg.archive(),
        400,
        "X07REG_INVALID_ARCHIVE",
        "path segment of 302 bytes",
    );
    assert_eq!(fx.state(), before);
    assert_error(
        fx.get("/v1/packages/ext-long/owners"),
        404,
        "X07REG_NOT_FOUND",
    );
}

#[test]
fn build_metadata_is_not_part_of_a_version() {
    let fx = Fixture::start();
    let alice = fx.token("alice", &[Scope::Publish]);
    let first = Pkg::new("ext-build", "4.0.0+a", &["ext.build"]).archive();
    assert_eq!(fx.publish(Some(&alice), &first).status(), 200);
    let before = fx.state();
    let second = Pkg::new("ext-build", "4.0.0+b", &["ext.build"]);
    assert_refused(
        &fx,
        &alice,
        &second.archive(),
        409,
        "X07REG_ALREADY_PUBLISHED",
        "the same version as the published 4.0.0+a",
    );
    assert_eq!(fx.state(), before);
    let lines = fx.index_lines("ex/t-/ext-build");
    assert_eq!(
        lines
            .iter()
            .map(|l| l["version"].clone())
            .collect::<Vec<_>>(),
        vec![Value::from("4.0.0+a")]
    );
    assert_eq!(before.0, vec!["ext-build/4.0.0+a.x07pkg".to_string()]);
    // The version is found whatever build metadata a request spells.
    for spelled in ["4.0.0+a", "4.0.0", "4.0.0+b"] {
        let dl = fx.get(&format!("/v1/packages/ext-build/{spelled}/download"));
        assert_eq!(dl.bytes().unwrap().to_vec(), first, "{spelled}");
    }
    // Pre-releases are distinct versions.
    assert_eq!(
        fx.publish(
            Some(&alice),
            &Pkg::new("ext-build", "4.0.0-rc.1", &["ext.build"]).archive()
        )
        .status(),
        200
    );
}

#[test]
fn broken_archive_framing_is_400_and_stores_nothing() {
    let fx = Fixture::start();
    let alice = fx.token("alice", &[Scope::Publish]);
    let pkg = Pkg::new("ext-frame", "1.0.0", &["ext.frame"]);
    let files = pkg.files();
    let before = fx.state();

    let good = pkg.archive();
    let truncated = &good[..good.len() - 3];
    assert_refused(
        &fx,
        &alice,
        truncated,
        400,
        "X07REG_INVALID_ARCHIVE",
        "not a readable tar",
    );
    assert_refused(
        &fx,
        &alice,
        &zstd(&tar_of(&files, false)),
        400,
        "X07REG_INVALID_ARCHIVE",
        "no end-of-archive blocks",
    );
    let mut garbage_in_tar = tar_of(&files, true);
    garbage_in_tar.extend_from_slice(b"garbage after the end blocks");
    assert_refused(
        &fx,
        &alice,
        &zstd(&garbage_in_tar),
        400,
        "X07REG_INVALID_ARCHIVE",
        "data follows the end-of-archive blocks",
    );
    let mut after_frame = good.clone();
    after_frame.extend_from_slice(b"junk");
    assert_refused(
        &fx,
        &alice,
        &after_frame,
        400,
        "X07REG_INVALID_ARCHIVE",
        "bytes follow the zstd frame",
    );
    // 130 KiB that would inflate to 4 GiB of zeros after the end blocks.
    let bomb = zstd_with_zeros(&tar_of(&files, true), 4 << 30);
    assert!(bomb.len() < 256 * 1024, "{}", bomb.len());
    let started = Instant::now();
    assert_refused(
        &fx,
        &alice,
        &bomb,
        400,
        "X07REG_INVALID_ARCHIVE",
        "padding follow the end of the tar",
    );
    assert!(
        started.elapsed().as_secs() < 10,
        "the bomb was inflated: {:?}",
        started.elapsed()
    );

    assert_eq!(fx.state(), before, "no refused archive left anything");
    assert_eq!(
        fx.publish(Some(&alice), &good).status(),
        200,
        "the well-framed archive is accepted"
    );
}

#[test]
fn names_differing_only_by_dash_and_underscore_are_one_package() {
    let fx = Fixture::start();
    let alice = fx.token("alice", &[Scope::Publish]);
    let bob = fx.token("bob", &[Scope::Publish]);
    assert_eq!(
        fx.publish(
            Some(&alice),
            &Pkg::new("conf-name", "0.1.0", &["conf.a"]).archive()
        )
        .status(),
        200
    );
    let before = fx.state();
    let other = Pkg::new("conf_name", "0.1.0", &["conf.b"]).archive();
    assert_refused(
        &fx,
        &bob,
        &other,
        409,
        "X07REG_NAME_CONFLICT",
        "publish it as `conf-name`",
    );
    // The owner too: crates.io refuses a second spelling of an existing name.
    let mine = Pkg::new("conf_name", "0.2.0", &["conf.a"]).archive();
    assert_refused(
        &fx,
        &alice,
        &mine,
        409,
        "X07REG_NAME_CONFLICT",
        "`-` and `_` are the same",
    );
    assert_eq!(fx.state(), before);
    assert_error(
        fx.get("/v1/packages/conf_name/owners"),
        404,
        "X07REG_NOT_FOUND",
    );

    // Two first publishes of the two spellings at once: exactly one name is claimed.
    let fx = Arc::new(fx);
    let barrier = Arc::new(Barrier::new(2));
    let racers: Vec<_> = [("race-x", alice.clone()), ("race_x", bob.clone())]
        .into_iter()
        .map(|(name, token)| {
            let (fx, barrier) = (fx.clone(), barrier.clone());
            std::thread::spawn(move || {
                let archive =
                    Pkg::new(name, "1.0.0", &[&format!("{}.m", name.replace('-', "_"))]).archive();
                barrier.wait();
                status_json(fx.publish(Some(&token), &archive)).0
            })
        })
        .collect();
    let mut statuses: Vec<u16> = racers.into_iter().map(|t| t.join().unwrap()).collect();
    statuses.sort();
    assert_eq!(statuses, vec![200, 409]);
    let owners = fx.state().3;
    let claimed: Vec<&String> = owners
        .as_object()
        .unwrap()
        .keys()
        .filter(|k| k.starts_with("race"))
        .collect();
    assert_eq!(claimed.len(), 1, "{owners}");
}

#[test]
fn a_module_id_belongs_to_the_packages_of_its_owners() {
    let fx = Fixture::start_with_official(&["core"]);
    let alice = fx.token("alice", &[Scope::Publish]);
    let bob = fx.token("bob", &[Scope::Publish]);
    let core = fx.token("core", &[Scope::Publish]);
    assert_eq!(
        fx.publish(
            Some(&alice),
            &Pkg::new("pkg-one", "1.0.0", &["shared.util"]).archive()
        )
        .status(),
        200
    );
    let before = fx.state();
    let squat = Pkg::new("pkg-two", "1.0.0", &["bob.own", "shared.util"]).archive();
    assert_refused(
        &fx,
        &bob,
        &squat,
        403,
        "X07REG_MODULE_TAKEN",
        "module `shared.util` is already provided by package `pkg-one` (owners: alice)",
    );
    assert_eq!(fx.state(), before, "the refused publish claimed nothing");
    // The same owner may provide the module from another package; bob may use his own ids.
    assert_eq!(
        fx.publish(
            Some(&alice),
            &Pkg::new("pkg-three", "1.0.0", &["shared.util"]).archive()
        )
        .status(),
        200
    );
    assert_eq!(
        fx.publish(
            Some(&bob),
            &Pkg::new("pkg-two", "1.0.0", &["bob.own"]).archive()
        )
        .status(),
        200
    );
    // A module of bob's cannot be added to a new version of alice's package either.
    let grab = Pkg::new("pkg-one", "1.1.0", &["bob.own", "shared.util"]).archive();
    assert_refused(
        &fx,
        &alice,
        &grab,
        403,
        "X07REG_MODULE_TAKEN",
        "module `bob.own`",
    );

    // `std.*` stays reserved to official owners, and an official owner's std module is theirs.
    let std_pkg = Pkg::new("core-std", "1.0.0", &["std.text"]).archive();
    assert_refused(
        &fx,
        &alice,
        &std_pkg,
        403,
        "X07REG_STD_RESERVED",
        "official owners",
    );
    assert_eq!(fx.publish(Some(&core), &std_pkg).status(), 200);
    let lines = fx.index_lines("co/re/core-std");
    assert_eq!(lines[0]["modules"], serde_json::json!(["std.text"]));
}
