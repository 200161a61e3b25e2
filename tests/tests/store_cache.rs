//! The binary cache over `file://`: push from one home, substitute into another (with no C
//! compiler, so nothing can have been rebuilt), the entry identical; keys from flags, the
//! environment and `$X07_HOME/substituters.json`; `x07 store sign`; the compiler named by its
//! digest (not its path); an entry another compiler built, used only by a machine without one;
//! concurrent pushes of the same entry.

mod common;
mod common_cache;

use std::path::Path;

use common::{expect_exit, expect_stderr, run, solve_output, stderr, stdout_json, InitProject};
use common_cache::{
    assert_same_entry, build_json, substitute_args, verify_cache_args, FileCache, Puller, Pusher,
    NO_FLAGS,
};
use serde_json::{json, Value};

#[test]
fn pushed_entry_is_substituted_into_a_home_without_a_compiler_byte_for_byte() {
    let src = Pusher::new();
    let cache = FileCache::new();
    let report = src.push(&cache.url(), &[]);
    assert_eq!(report["schema_version"], "x07.store.push.report@0.1.0");
    let pushed: Vec<&str> = report["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["entry"].as_str().unwrap())
        .collect();
    assert!(pushed.contains(&src.entry_name().as_str()), "{report:#}");
    let name = src.entry_name();
    for f in [
        format!("entries/{name}.json"),
        cache.records(&name)[1]
            .0
            .strip_prefix(cache.path())
            .unwrap()
            .display()
            .to_string(),
    ] {
        assert!(
            cache.files().contains(&f),
            "{f} missing from {:?}",
            cache.files()
        );
    }
    // every record carries a valid signature by the pusher's key
    let record = &cache.records(&name)[0].1;
    assert_eq!(
        record["signatures"].as_array().unwrap().len(),
        1,
        "{record:#}"
    );
    assert_eq!(
        record["compiler"]["version_digest"],
        record["inputs"]["cc_version_digest"]
    );
    assert!(
        record["inputs"].get("cc_path").is_none(),
        "the inputs name no compiler path"
    );

    let dst = Puller::new(&src.p);
    let (out, built) = build_json(dst.x07_no_cc(), substitute_args(&cache.url(), &src.public));
    expect_exit(&out, 0);
    assert_eq!(built["schema_version"], "x07.build.report@0.2.0");
    assert_eq!(
        built["substitution"]["from"],
        json!(cache.url()),
        "{built:#}"
    );
    assert_eq!(built["cache_hit"], false);
    let pulled = Path::new(built["store_path"].as_str().unwrap());
    assert_same_entry(&src.entry, pulled);
    assert!(
        stderr(&out).contains(&format!("x07: {name}: substituted from {}", cache.url())),
        "one line on stderr says where the entry came from\n{}",
        out.describe()
    );
    // nothing was compiled: no launcher (a compile needs it), no staging directory
    assert_eq!(
        dst.store(),
        vec![name.clone()],
        "only the substituted entry"
    );

    // it runs, still without a compiler, and now without the cache either (found locally)
    let ran = run(dst
        .x07_no_cc()
        .args(["run", "--input-b64", &common::b64_encode(b"hello")]));
    expect_exit(&ran, 0);
    assert_eq!(solve_output(&ran), b"hello");
    let again = build_json(dst.x07_no_cc(), NO_FLAGS);
    expect_exit(&again.0, 0);
    assert_eq!(again.1["cache_hit"], true);
    assert_eq!(again.1["substitution"], Value::Null);

    // the pulled store verifies, and the entry can be pushed on without any key: its signatures
    // came along (x07 store push carries them)
    expect_exit(&run(dst.x07().args(["store", "verify"])), 0);
    let relay = FileCache::new();
    let out = run(dst
        .x07()
        .args(["store", "push", "--json", "--to", &relay.url()]));
    expect_exit(&out, 0);
    assert_eq!(
        relay.records(&name)[0].1["signatures"],
        record["signatures"],
        "relayed with the original signature"
    );
}

#[test]
fn trust_comes_from_flags_the_environment_or_the_config_file() {
    let src = Pusher::new();
    let cache = FileCache::new();
    src.push(&cache.url(), &[]);

    // environment variables
    let dst = Puller::new(&src.p);
    let (out, built) = build_json(
        dst.x07_no_cc()
            .env(
                "X07_SUBSTITUTERS",
                format!("file:///nonexistent-x07-cache {}", cache.url()),
            )
            .env("X07_TRUSTED_PUBLIC_KEYS", src.public.display().to_string()),
        NO_FLAGS,
    );
    expect_exit(&out, 0);
    assert_eq!(
        built["substitution"]["from"],
        json!(cache.url()),
        "{built:#}"
    );

    // the config file, its key path relative to X07_HOME
    let dst = Puller::new(&src.p);
    fs_err::create_dir_all(dst.home.path().join("keys")).unwrap();
    fs_err::copy(&src.public, dst.home.path().join("keys/ci.pub")).unwrap();
    let config = json!({"schema_version": "x07.substituters@0.1.0",
        "substituters": [cache.url()], "trusted_public_keys": ["keys/ci.pub"]});
    fs_err::write(
        dst.home.path().join("substituters.json"),
        config.to_string(),
    )
    .unwrap();
    let (out, built) = build_json(dst.x07_no_cc(), NO_FLAGS);
    expect_exit(&out, 0);
    assert_eq!(
        built["substitution"]["from"],
        json!(cache.url()),
        "{built:#}"
    );

    // an inline key works too
    let inline = format!(
        "ed25519:{}",
        fs_err::read_to_string(&src.public).unwrap().trim()
    );
    let dst2 = Puller::new(&src.p);
    let (out, _) = build_json(
        dst2.x07_no_cc(),
        ["--substituter", &cache.url(), "--trusted-key", &inline],
    );
    expect_exit(&out, 0);

    // a bad config file is an error naming the file and the field
    fs_err::write(
        dst.home.path().join("substituters.json"),
        json!({"schema_version": "x07.substituters@0.1.0", "substituter": []}).to_string(),
    )
    .unwrap();
    let out = run(dst.x07().args(["build"]));
    expect_exit(&out, 2);
    expect_stderr(
        &out,
        "X07-CACHE-0001",
        &["substituters.json", "substituter"],
    );

    // bad flags: an unknown URL scheme, a secret key given as a trusted key, a missing file
    let p = &src.p;
    let cases: [(&[&str], &str); 3] = [
        (&["--substituter", "ftp://host/cache"], "ftp"),
        (&["--trusted-key", src.key.to_str().unwrap()], "secret key"),
        (
            &["--trusted-key", "/nonexistent/key.pub"],
            "/nonexistent/key.pub",
        ),
    ];
    for (flags, needle) in cases {
        let out = run(p.x07().arg("build").args(flags));
        expect_exit(&out, 2);
        expect_stderr(&out, "X07-CACHE-0001", &[needle]);
    }
}

#[test]
fn store_sign_then_push_without_a_key_and_unsigned_push_is_refused() {
    let src = Pusher::new();
    let name = src.entry_name();
    // no key at all: refused, naming the entry and what to do
    let nokey = InitProject::new();
    expect_exit(&run(nokey.x07().arg("build")), 0);
    let cache = FileCache::new();
    let out = run(nokey.x07().args(["store", "push", "--to", &cache.url()]));
    expect_exit(&out, 2);
    expect_stderr(
        &out,
        "X07-CACHE-0003",
        &["no signature", "x07 key generate"],
    );
    assert!(
        cache.files().is_empty(),
        "nothing written: {:?}",
        cache.files()
    );

    // sign with the key, move the key away, push: the kept signature is used
    let out = run(src
        .p
        .x07()
        .args(["store", "sign", "--json", src.entry.to_str().unwrap()]));
    expect_exit(&out, 0);
    let signed = stdout_json(&out);
    assert_eq!(signed["entries"][0]["entry"], json!(name));
    let moved = src.p.scratch().join("key.pem");
    fs_err::rename(&src.key, &moved).unwrap();
    let out = run(src
        .p
        .x07()
        .args(["store", "push", "--json", "--to", &cache.url(), &name]));
    expect_exit(&out, 0);
    let dst = Puller::new(&src.p);
    let (out, _) = build_json(dst.x07_no_cc(), substitute_args(&cache.url(), &src.public));
    expect_exit(&out, 0);

    // pushing again changes nothing
    let report = src.push(&cache.url(), &[&name]);
    assert_eq!(report["entries"][0]["uploaded"], false, "{report:#}");

    // not an entry
    let out = run(src
        .p
        .x07()
        .args(["store", "push", "--to", &cache.url(), "no-such-entry"]));
    expect_exit(&out, 2);
    expect_stderr(&out, "X07-CACHE-0003", &["no-such-entry", "x07 store ls"]);
    // an explicit key that is not a key
    let out = run(src
        .p
        .x07()
        .args(["store", "push", "--to", &cache.url(), "--key"])
        .arg(&src.public));
    expect_exit(&out, 2);
    expect_stderr(&out, "X07-KEY-0002", &[".pub"]);
}

#[test]
fn the_compiler_is_named_by_its_version_digest_not_its_path() {
    // /bin is /usr/bin on merged-/usr systems: the same compiler at two paths
    if !Path::new("/bin/cc").exists() || !Path::new("/usr/bin/cc").exists() {
        panic!("this test needs /usr/bin/cc and /bin/cc (merged /usr): apt-get install gcc");
    }
    let p = InitProject::new();
    let a = build_json(p.x07().env("CC", "/usr/bin/cc"), NO_FLAGS);
    expect_exit(&a.0, 0);
    let other = InitProject::new();
    let b = build_json(
        x07_tests_in(&other, p.root()).env("CC", "/bin/cc"),
        NO_FLAGS,
    );
    expect_exit(&b.0, 0);
    assert_eq!(a.1["derivation_hash"], b.1["derivation_hash"]);
    assert_eq!(a.1["output_sha256"], b.1["output_sha256"]);
}

/// `x07` with `other`'s home in `dir`.
fn x07_tests_in(other: &InitProject, dir: &Path) -> x07_tests::X07Invocation {
    common::x07_in(&other.home, dir)
}

#[test]
fn an_entry_another_compiler_built_is_used_only_without_a_compiler() {
    let src = Pusher::new();
    // the pushing machine's compiler identity, as x07 learnt it, now claims another compiler:
    // the next build is keyed (and recorded) as built by "othercc 9.9"
    let dir = src.p.home.path().join("cache/cc-identity");
    for item in fs_err::read_dir(&dir).unwrap() {
        let path = item.unwrap().path();
        let mut v: Value = serde_json::from_slice(&fs_err::read(&path).unwrap()).unwrap();
        v["identity"]["version_digest"] = json!(format!("sha256:{}", "ab".repeat(32)));
        v["identity"]["version_line"] = json!("othercc 9.9 (x07 test)");
        fs_err::write(&path, serde_json::to_vec(&v).unwrap()).unwrap();
    }
    let rebuilt = build_json(src.p.x07(), NO_FLAGS);
    expect_exit(&rebuilt.0, 0);
    assert_ne!(
        rebuilt.1["derivation_hash"],
        json!(src.entry_name()[..32]),
        "another compiler digest is another entry"
    );
    let other_entry = Path::new(rebuilt.1["store_path"].as_str().unwrap()).to_path_buf();
    let cache = FileCache::new();
    let other_name = other_entry
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    src.push(&cache.url(), &[&other_name]);

    // a machine with the real compiler: no entry for its compiler in the cache, builds itself
    let with_cc = Puller::new(&src.p);
    let (out, built) = build_json(with_cc.x07(), substitute_args(&cache.url(), &src.public));
    expect_exit(&out, 0);
    assert_eq!(
        built["store_path"]
            .as_str()
            .map(|s| s.ends_with(&src.entry_name())),
        Some(true)
    );
    let failures = built["substitution"]["failures"].to_string();
    assert!(failures.contains("no entry"), "{built:#}");

    // a machine without a compiler: takes the entry "othercc" built, and says so
    let no_cc = Puller::new(&src.p);
    let (out, built) = build_json(
        no_cc.x07_no_cc(),
        substitute_args(&cache.url(), &src.public),
    );
    expect_exit(&out, 0);
    assert_eq!(
        built["substitution"]["compiler"], "othercc 9.9 (x07 test)",
        "{built:#}"
    );
    assert_same_entry(
        &other_entry,
        Path::new(built["store_path"].as_str().unwrap()),
    );
    assert!(
        stderr(&out).contains("built by othercc 9.9"),
        "{}",
        out.describe()
    );
}

#[test]
fn concurrent_pushes_of_the_same_entry_leave_one_consistent_copy() {
    let src = Pusher::new();
    let second = src.p.scratch().join("second.pem");
    expect_exit(
        &run(src.p.x07().args(["key", "generate", "--out"]).arg(&second)),
        0,
    );
    let cache = FileCache::new();
    let url = cache.url();
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..6)
            .map(|i| {
                let key = if i % 2 == 0 {
                    src.key.clone()
                } else {
                    second.clone()
                };
                let url = url.clone();
                let p = &src.p;
                s.spawn(move || {
                    run(p
                        .x07()
                        .args(["store", "push", "--to", &url, "--key"])
                        .arg(&key))
                })
            })
            .collect();
        for h in handles {
            expect_exit(&h.join().unwrap(), 0);
        }
    });
    let files = cache.files();
    let archives = files.iter().filter(|f| f.starts_with("archives/")).count();
    let records = files.iter().filter(|f| f.starts_with("entries/")).count();
    assert_eq!(records, archives, "one archive per entry: {files:?}");
    assert!(
        files
            .iter()
            .all(|f| !f.rsplit('/').next().unwrap().starts_with('.')),
        "no temporary files left: {files:?}"
    );
    let mut second_pub = second.clone().into_os_string();
    second_pub.push(".pub");
    let out = run(src
        .p
        .x07()
        .args(verify_cache_args(&url, &src.public))
        .arg("--trusted-key")
        .arg(&second_pub));
    expect_exit(&out, 0);
    let report = stdout_json(&out);
    assert_eq!(report["problems"], json!([]), "{report:#}");
    assert_eq!(report["ok_entries"], json!(records), "{report:#}");
    let dst = Puller::new(&src.p);
    let mut flags = substitute_args(&url, &src.public);
    flags.extend([
        "--trusted-key".to_string(),
        second_pub.to_string_lossy().into_owned(),
    ]);
    let (out, _) = build_json(dst.x07_no_cc(), flags);
    expect_exit(&out, 0);
}

#[test]
fn a_sandboxed_run_without_a_compiler_substitutes_the_trusted_launcher_too() {
    let src = Pusher::new();
    let out = run(src.p.x07().args([
        "policy",
        "init",
        "--template",
        "cli",
        "--profile",
        "sandbox",
    ]));
    expect_exit(&out, 0);
    let sandbox = [
        "run",
        "--profile",
        "sandbox",
        "--sandbox-backend",
        "os",
        "--i-accept-weaker-isolation",
        "--input-b64",
        "aGk=",
    ];
    let ran = run(src.p.x07().args(sandbox));
    expect_exit(&ran, 0);
    let cache = FileCache::new();
    src.push(&cache.url(), &[]);

    let dst = Puller::new(&src.p);
    let ran = run(dst
        .x07_no_cc()
        .args(sandbox)
        .args(substitute_args(&cache.url(), &src.public)));
    expect_exit(&ran, 0);
    assert_eq!(solve_output(&ran), b"hi");
    let err = stderr(&ran);
    assert!(
        err.contains("x07: x07-launch: substituted from")
            && err.contains("-main-sandboxed: substituted from"),
        "{}",
        ran.describe()
    );
    let store = dst.store();
    assert_eq!(
        store.len(),
        2,
        "the launcher and the program, nothing else: {store:?}"
    );
}

/// A package directory with one solve-pure test (`x07 test` runs from it without a project).
fn write_test_package(dir: &Path) {
    let write = |rel: &str, v: Value| {
        let path = dir.join(rel);
        fs_err::create_dir_all(path.parent().unwrap()).unwrap();
        fs_err::write(path, serde_json::to_vec_pretty(&v).unwrap()).unwrap();
    };
    write(
        "x07-package.json",
        json!({"schema_version": "x07.package@0.1.0", "name": "ext-cachedemo", "version": "0.1.0",
               "module_root": "modules", "modules": ["ext.cachedemo"],
               "description": "demo", "docs": "d", "license": "MIT", "meta": {}}),
    );
    write(
        "modules/ext/cachedemo.x07.json",
        json!({"schema_version": "x07.x07ast@0.5.0", "kind": "module", "module_id": "ext.cachedemo",
               "imports": ["std.test"],
               "decls": [{"kind": "export", "names": ["ext.cachedemo.adds"]},
                         {"kind": "defn", "name": "ext.cachedemo.adds", "params": [], "result": "result_i32",
                          "body": ["std.test.assert_i32_eq", ["+", 40, 2], 42, ["std.test.code_assert_i32_eq"]]}]}),
    );
    write(
        "tests/tests.json",
        json!({"schema_version": "x07.tests_manifest@0.1.0",
               "tests": [{"id": "adds", "world": "solve-pure", "entry": "ext.cachedemo.adds"}]}),
    );
}

#[test]
fn x07_test_substitutes_its_drivers_too() {
    let src = Pusher::new();
    let pkg = tempfile::tempdir().unwrap();
    write_test_package(pkg.path());
    let out = run(src.p.x07().current_dir(pkg.path()).args(["test"]));
    expect_exit(&out, 0);
    let cache = FileCache::new();
    src.push(&cache.url(), &[]);

    // A home without a compiler cannot build the test's driver on its own ...
    let without = Puller::new(&src.p);
    let out = run(without.x07_no_cc().current_dir(pkg.path()).args(["test"]));
    assert_ne!(out.exit_code, Some(0), "{}", stderr(&out));
    assert!(
        !without.store().iter().any(|n| n.ends_with("-x07test")),
        "{:?}",
        without.store()
    );
    // ... and with the cache it runs the pushed one.
    let out = run(without
        .x07_no_cc()
        .current_dir(pkg.path())
        .args(["test", "--json"])
        .args(substitute_args(&cache.url(), &src.public)));
    expect_exit(&out, 0);
    let report = stdout_json(&out);
    assert_eq!(report["summary"]["passed"], 1, "{report:#}");
    assert!(
        without.store().iter().any(|n| n.ends_with("-x07test")),
        "{:?}",
        without.store()
    );
}
