//! What the binary cache refuses: a tampered record, a tampered file (with and without its
//! unsigned archive digest updated to match), a signature by another key claiming the trusted
//! key's id, a key nobody trusts, a truncated or missing archive, a record for another entry.
//! Each is refused and followed by a local build when there is a C compiler (the reason on
//! stderr and in the report), or by a clear error naming the reason when there is none — and
//! `x07 store verify --cache` reports it.

mod common;
mod common_cache;

use std::path::Path;

use common::{expect_exit, expect_stderr, run, stderr, stdout_json};
use common_cache::{
    assert_same_entry, build_json, substitute_args, verify_cache_args, FileCache, Puller, Pusher,
};
use serde_json::{json, Value};
use x07_lock::SigningKey;
use x07_spec::store_cache::fingerprint_of;

/// One way of damaging a cache, and what the refusal must say.
struct Case {
    name: &'static str,
    damage: fn(&Fixture, &FileCache),
    says: &'static str,
}

/// A pushed entry, a pristine cache, and a key nobody trusts.
struct Fixture {
    src: Pusher,
    cache: FileCache,
    stranger: std::path::PathBuf,
}

impl Fixture {
    fn new() -> Self {
        let src = Pusher::new();
        let cache = FileCache::new();
        src.push(&cache.url(), &[]);
        let stranger = src.p.scratch().join("stranger.pem");
        expect_exit(
            &run(src
                .p
                .x07()
                .args(["key", "generate", "--out"])
                .arg(&stranger)),
            0,
        );
        Self {
            src,
            cache,
            stranger,
        }
    }

    fn name(&self) -> String {
        self.src.entry_name()
    }
}

fn tamper_record(f: &Fixture, c: &FileCache) {
    // a signed field changed: another flag, as if to smuggle in another build
    c.edit_records(&f.name(), |r| {
        r["files"][0]["size"] = json!(r["files"][0]["size"].as_u64().unwrap() + 1);
    });
}

fn tamper_archive_bytes(f: &Fixture, c: &FileCache) {
    let path = c.archive(&f.name());
    let mut bytes = fs_err::read(&path).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x55;
    fs_err::write(&path, bytes).unwrap();
}

fn tamper_file_and_archive_digest(f: &Fixture, c: &FileCache) {
    // a consistent archive of a modified entry, and the record's (unsigned) archive fields
    // updated to it: only the signed file digests can catch this
    let copy = tempfile::tempdir().unwrap();
    x07_tests::copy_tree(&f.src.entry, copy.path()).unwrap();
    let binary = copy.path().join("main");
    let mut perms = fs_err::metadata(&binary).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o755);
    fs_err::set_permissions(&binary, perms).unwrap();
    let mut bytes = fs_err::read(&binary).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    fs_err::write(&binary, bytes).unwrap();
    let packed = x07_store_cache::pack_entry(copy.path()).unwrap();
    let key = format!("archives/{}.tar.zst", packed.sha256.hex());
    fs_err::write(c.path().join(&key), &packed.bytes).unwrap();
    c.edit_records(&f.name(), |r| {
        r["archive"] = json!({"key": key, "sha256": packed.sha256.to_string(),
                              "size": packed.bytes.len(), "compression": "zstd"});
    });
}

fn signed_by_another_key_claiming_the_trusted_id(f: &Fixture, c: &FileCache) {
    let stranger = SigningKey::load(&f.stranger).unwrap();
    c.edit_records(&f.name(), |r| {
        r["inputs"]["knobs"]["injected"] = json!("1");
        let fp = fingerprint_of(r).unwrap();
        let id = r["signatures"][0]["key_id"].clone();
        r["signatures"] = json!([{"key_id": id, "sig": stranger.sign(&fp).to_string()}]);
    });
}

fn signed_by_an_unknown_key(f: &Fixture, c: &FileCache) {
    let stranger = SigningKey::load(&f.stranger).unwrap();
    c.edit_records(&f.name(), |r| {
        let fp = fingerprint_of(r).unwrap();
        r["signatures"] =
            json!([{"key_id": stranger.key_id().as_str(), "sig": stranger.sign(&fp).to_string()}]);
    });
}

fn truncate_archive(f: &Fixture, c: &FileCache) {
    let path = c.archive(&f.name());
    let bytes = fs_err::read(&path).unwrap();
    fs_err::write(&path, &bytes[..bytes.len() / 3]).unwrap();
}

fn remove_archive(f: &Fixture, c: &FileCache) {
    fs_err::remove_file(c.archive(&f.name())).unwrap();
}

fn unsigned_record(f: &Fixture, c: &FileCache) {
    c.edit_records(&f.name(), |r| r["signatures"] = json!([]));
}

fn not_json(f: &Fixture, c: &FileCache) {
    for (path, _) in c.records(&f.name()) {
        fs_err::write(
            path,
            b"{\"schema_version\": \"x07.store.cache-entry@0.1.0\",",
        )
        .unwrap();
    }
}

const CASES: &[Case] = &[
    Case {
        name: "tampered record",
        damage: tamper_record,
        says: "does not match the record",
    },
    Case {
        name: "tampered archive bytes",
        damage: tamper_archive_bytes,
        says: "corrupt or truncated",
    },
    Case {
        name: "tampered file, archive digest updated",
        damage: tamper_file_and_archive_digest,
        says: "the signed record says",
    },
    Case {
        name: "wrong key (signature by another key under the trusted id)",
        damage: signed_by_another_key_claiming_the_trusted_id,
        says: "does not match the record",
    },
    Case {
        name: "unknown key",
        damage: signed_by_an_unknown_key,
        says: "untrusted key",
    },
    Case {
        name: "truncated download",
        damage: truncate_archive,
        says: "corrupt or truncated",
    },
    Case {
        name: "missing archive",
        damage: remove_archive,
        says: "is missing",
    },
    Case {
        name: "unsigned record",
        damage: unsigned_record,
        says: "not signed",
    },
    Case {
        name: "truncated record",
        damage: not_json,
        says: "not JSON",
    },
];

#[test]
fn every_damaged_cache_is_refused_then_built_locally_or_reported() {
    let f = Fixture::new();
    let name = f.name();
    for case in CASES {
        let cache = f.cache.copy();
        (case.damage)(&f, &cache);
        let trust = substitute_args(&cache.url(), &f.src.public);

        // with a compiler: refused, said on one line, built locally to the same bytes
        let dst = Puller::new(&f.src.p);
        let (out, built) = build_json(dst.x07(), &trust);
        expect_exit(&out, 0);
        let failures = built["substitution"]["failures"].to_string();
        assert!(
            failures.contains(case.says),
            "{}: the report should say {:?}: {built:#}",
            case.name,
            case.says
        );
        let line = stderr(&out)
            .lines()
            .find(|l| l.starts_with(&format!("x07: {name}: no usable binary cache entry")))
            .map(str::to_string);
        assert!(
            line.as_deref()
                .is_some_and(|l| l.contains(case.says) && l.ends_with("built locally")),
            "{}: one stderr line should give the reason\n{}",
            case.name,
            out.describe()
        );
        assert_eq!(built["cache_hit"], false);
        assert_same_entry(
            &f.src.entry,
            Path::new(built["store_path"].as_str().unwrap()),
        );

        // without one: a clear error with the reason, and nothing in the store
        let dst = Puller::new(&f.src.p);
        let out = run(dst.x07_no_cc().arg("build").args(&trust));
        expect_exit(&out, 2);
        expect_stderr(&out, "X07-CC-0001", &["no C compiler", case.says]);
        assert_eq!(
            dst.store(),
            Vec::<String>::new(),
            "{}: nothing may be left in the store\n{}",
            case.name,
            out.describe()
        );

        // and the cache check finds it
        let out = run(f
            .src
            .p
            .x07()
            .args(verify_cache_args(&cache.url(), &f.src.public)));
        expect_exit(&out, 1);
        let report = stdout_json(&out);
        assert!(
            report["problems"].to_string().contains(case.says),
            "{}: x07 store verify --cache should report {:?}: {report:#}",
            case.name,
            case.says
        );
    }
}

#[test]
fn a_record_stored_under_another_entry_is_refused() {
    let f = Fixture::new();
    let name = f.name();
    // the launcher's (valid, signed) record where the program's belongs
    let launcher = f
        .cache
        .files()
        .into_iter()
        .find(|k| k.starts_with("entries/") && k.ends_with("-x07-launch.json"))
        .expect("the launcher was pushed with the program");
    let cache = f.cache.copy();
    let bytes = fs_err::read(cache.path().join(&launcher)).unwrap();
    for (path, _) in cache.records(&name) {
        fs_err::write(path, &bytes).unwrap();
    }
    let dst = Puller::new(&f.src.p);
    let out = run(dst
        .x07_no_cc()
        .arg("build")
        .args(substitute_args(&cache.url(), &f.src.public)));
    expect_exit(&out, 2);
    expect_stderr(&out, "X07-CC-0001", &["not the one asked for"]);
    let out = run(f
        .src
        .p
        .x07()
        .args(verify_cache_args(&cache.url(), &f.src.public)));
    expect_exit(&out, 1);
    let report: Value = stdout_json(&out);
    assert!(report["problems"].to_string().contains(&name), "{report:#}");
}

#[test]
fn no_trusted_key_means_nothing_is_used_and_an_unreachable_cache_is_not_fatal() {
    let f = Fixture::new();
    let dst = Puller::new(&f.src.p);
    let (out, built) = build_json(dst.x07(), ["--substituter", &f.cache.url()]);
    expect_exit(&out, 0);
    assert!(
        built["substitution"]["failures"]
            .to_string()
            .contains("no trusted public keys"),
        "{built:#}"
    );
    // a bucket on a port nobody listens on: the build goes on
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let url = format!("s3://nothing-here?endpoint=http://127.0.0.1:{port}&region=us-east-1");
    let dst = Puller::new(&f.src.p);
    let (out, built) = build_json(
        dst.x07()
            .env("AWS_ACCESS_KEY_ID", "x")
            .env("AWS_SECRET_ACCESS_KEY", "y"),
        substitute_args(&url, &f.src.public),
    );
    expect_exit(&out, 0);
    assert!(
        built["substitution"]["failures"].to_string().contains(&url),
        "{built:#}"
    );
    // x07 store verify --cache without keys is a usage error
    let out = run(f
        .src
        .p
        .x07()
        .args(["store", "verify", "--cache", &f.cache.url()]));
    expect_exit(&out, 2);
    expect_stderr(&out, "X07-CACHE-0001", &["--trusted-key"]);
}
