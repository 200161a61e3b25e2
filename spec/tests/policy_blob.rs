//! PolicyBlobV1 (docs/internals/sandbox.md): the encoder's bytes, the strict decoder, path
//! resolution, and the fixed test vector `tests/data/policy_blob_v3.{bin,json}` that the C
//! runtime's decoder is tested against too. Regenerate the vector with `X07_BLESS=1`.

use std::path::{Path, PathBuf};

use serde_json::{json, Value};
use x07_spec::policy::blob::{self, AcceptWeaker, BlobBackend, BlobError, PolicyBlob, END, MAGIC};
use x07_spec::policy::{HostRule, Template};
use x07_spec::{Policy, Sha256Digest};

const VECTOR_ROOT: &str = "/x07-test-vector/proj";

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

/// The policy of the test vector: every list non-empty, relative and absolute paths, `..`,
/// an uppercase host, paths that do not exist (so resolution is lexical on every machine).
fn vector_policy() -> Value {
    json!({
        "schema_version": "x07.run-os-policy@0.1.0",
        "policy_id": "vector.v1",
        "notes": "test vector for PolicyBlobV1",
        "limits": {"cpu_ms": 1500, "wall_ms": 3000, "mem_bytes": 5368709120u64, "fds": 64, "procs": 8, "core_dumps": true},
        "fs": {"enabled": true, "read_roots": [".", "data/../assets/", "/srv/x07-vector/ro"], "write_roots": ["out"],
               "deny_hidden": true, "allow_symlinks": false, "allow_mkdir": true, "allow_remove": false,
               "allow_rename": true, "allow_walk": false, "allow_glob": true,
               "max_read_bytes": 1048576, "max_write_bytes": 0, "max_entries": 100, "max_depth": 7},
        "net": {"enabled": true, "allow_dns": true, "allow_tcp": true, "allow_udp": false,
                "allow_hosts": [{"host": "Example.COM", "ports": [443, 80]}, {"host": "10.0.0.1", "ports": [8080]},
                                {"host": "::1", "ports": [65535]}]},
        "env": {"enabled": true, "allow_keys": ["HOME", "LANG"], "deny_keys": ["SECRET"]},
        "time": {"enabled": true, "allow_monotonic": true, "allow_wall_clock": false, "allow_sleep": true,
                 "max_sleep_ms": 250, "allow_local_tzid": true},
        "threads": {"enabled": true, "max_workers": 2, "max_blocking": 1, "max_queue": 10},
        "process": {"enabled": true, "allow_spawn": true, "max_live": 2, "max_spawns": 5, "allow_exec": false,
                    "allow_exit": true, "allow_execs": ["tools/run", "/opt/x07-vector/bin/../bin/tool"],
                    "allow_exec_prefixes": ["deps/x07/"], "allow_args_regex_lite": ["--x.*", "\\*"],
                    "allow_env_keys": ["PATH"], "max_exe_bytes": 512, "max_args": 8, "max_arg_bytes": 128,
                    "max_env": 4, "max_env_key_bytes": 32, "max_env_val_bytes": 64, "max_runtime_ms": 1000,
                    "max_stdout_bytes": 4096, "max_stderr_bytes": 2048, "max_total_bytes": 6144,
                    "max_stdin_bytes": 16, "kill_on_drop": true, "kill_tree": false, "allow_cwd": true,
                    "allow_cwd_roots": ["out/work"]},
        "db": {"enabled": true, "drivers": {"sqlite": true, "postgres": true, "mysql": false, "redis": false},
               "max_live_conns": 3, "max_queries": 0, "connect_timeout_ms": 1500, "query_timeout_ms": 0,
               "max_sql_bytes": 4096, "max_rows": 0, "max_resp_bytes": 65536,
               "sqlite": {"allow_paths": ["out/app.sqlite", "/srv/x07-vector/../ro.db"], "readonly_only": false,
                          "allow_create": true, "allow_in_memory": false},
               "net": {"allow_dns": ["DB.Example.com"], "allow_cidrs": ["10.1.2.3/8", "::1/128"],
                       "allow_ports": [5432, 6543], "require_tls": true, "require_verify": false}}
    })
}

fn vector_blob() -> PolicyBlob {
    let policy = Policy::decode(vector_policy()).unwrap();
    PolicyBlob::resolve(
        &policy,
        Path::new(VECTOR_ROOT),
        None,
        BlobBackend::Os,
        AcceptWeaker::NO_LANDLOCK_NET.union(AcceptWeaker::NO_PIDS_CGROUP),
    )
    .map(|mut b| {
        // two seccomp programs: "load the syscall number; allow" and "allow"
        b.syscall_filters = vec![
            [0x20u8, 0, 0, 0, 0, 0, 0, 0, 0x06, 0, 0, 0, 0, 0, 0xff, 0x7f].to_vec(),
            [0x06u8, 0, 0, 0, 0, 0, 0xff, 0x7f].to_vec(),
        ];
        b
    })
    .unwrap()
}

fn vector_json(blob: &PolicyBlob) -> Value {
    json!({
        "about": "PolicyBlob version 3 test vector: `policy` encoded with project root `project_root` gives policy_blob_v3.bin; `decoded` is what a reader must return. Layout: docs/internals/sandbox.md.",
        "project_root": VECTOR_ROOT,
        "backend": blob.backend,
        "accept_weaker": blob.accept_weaker,
        "policy": vector_policy(),
        "decoded": serde_json::to_value(blob).unwrap(),
    })
}

#[test]
fn the_fixed_test_vector_matches_the_encoder() {
    let blob = vector_blob();
    let bytes = blob.to_bytes();
    let expected_json = vector_json(&blob);
    if std::env::var_os("X07_BLESS").is_some() {
        fs_err::create_dir_all(data("")).unwrap();
        fs_err::write(data("policy_blob_v3.bin"), &bytes).unwrap();
        let mut text = serde_json::to_vec_pretty(&expected_json).unwrap();
        text.push(b'\n');
        fs_err::write(data("policy_blob_v3.json"), text).unwrap();
    }
    let on_disk = fs_err::read(data("policy_blob_v3.bin"))
        .expect("run with X07_BLESS=1 to create the vector");
    assert_eq!(
        bytes, on_disk,
        "the encoder no longer produces the test vector; a layout change needs a new version"
    );
    let json_on_disk: Value =
        serde_json::from_slice(&fs_err::read(data("policy_blob_v3.json")).unwrap()).unwrap();
    assert_eq!(json_on_disk, expected_json);
    assert_eq!(blob::decode(&on_disk).unwrap(), blob);

    // Spot checks of the resolved values, independent of the encoder's own view.
    let d = &json_on_disk["decoded"];
    assert_eq!(
        d["fs"]["read_roots"],
        json!([
            "/x07-test-vector/proj",
            "/x07-test-vector/proj/assets",
            "/srv/x07-vector/ro"
        ])
    );
    assert_eq!(d["fs"]["write_roots"], json!(["/x07-test-vector/proj/out"]));
    assert_eq!(
        d["net"]["allow_hosts"][0],
        json!({"host": "example.com", "ports": [443, 80]})
    );
    assert_eq!(
        d["process"]["allow_execs"],
        json!([
            "/x07-test-vector/proj/tools/run",
            "/opt/x07-vector/bin/tool"
        ])
    );
    assert_eq!(
        d["process"]["allow_exec_prefixes"],
        json!(["/x07-test-vector/proj/deps/x07"])
    );
    assert_eq!(
        d["process"]["allow_cwd_roots"],
        json!(["/x07-test-vector/proj/out/work"])
    );
    assert_eq!(d["accept_weaker"], 3);
    // db: 0 limits take the drivers' defaults, paths resolve like roots, hosts lowercase,
    // ranges canonical
    assert_eq!(d["db"]["max_queries"], 1000);
    assert_eq!(d["db"]["max_live_conns"], 3);
    assert_eq!(
        d["db"]["sqlite"]["allow_paths"],
        json!(["/x07-test-vector/proj/out/app.sqlite", "/srv/ro.db"])
    );
    assert_eq!(d["db"]["net"]["allow_dns"], json!(["db.example.com"]));
    assert_eq!(
        d["db"]["net"]["allow_cidrs"],
        json!(["10.0.0.0/8", "::1/128"])
    );
    assert_eq!(d["backend"], "os");
    let policy = Policy::decode(vector_policy()).unwrap();
    assert_eq!(d["digest"], policy.digest().unwrap().to_string());

    // The header, byte by byte.
    assert_eq!(&on_disk[..4], b"X7P1");
    assert_eq!(&on_disk[4..16], &[3, 0, 0, 0, 1, 0, 0, 0, 3, 0, 0, 0]);
    // the seccomp list right before the end marker: 2 programs of 2 and 1 instructions
    let tail = &on_disk[on_disk.len() - 4 - (4 + 4 + 16 + 4 + 8)..on_disk.len() - 4];
    assert_eq!(&tail[..8], &[2, 0, 0, 0, 2, 0, 0, 0]);
    assert_eq!(&tail[24..28], &[1, 0, 0, 0]);
    assert_eq!(&on_disk[16..48], policy.digest().unwrap().as_bytes());
    assert_eq!(&on_disk[48..52], &1500u32.to_le_bytes());
    assert_eq!(&on_disk[56..64], &5_368_709_120u64.to_le_bytes());
    assert_eq!(&on_disk[on_disk.len() - 4..], b"X7PE");
}

#[test]
fn every_template_round_trips_through_the_blob() {
    for t in Template::ALL {
        let policy = t.policy();
        for (backend, accept) in [
            (BlobBackend::None, AcceptWeaker::NONE),
            (BlobBackend::Os, AcceptWeaker::ALL),
        ] {
            let bytes = blob::encode(&policy, Path::new("/p/proj"), backend, accept).unwrap();
            let decoded = blob::decode(&bytes).unwrap();
            assert_eq!(decoded.backend, backend);
            assert_eq!(decoded.accept_weaker, accept);
            assert_eq!(decoded.digest, policy.digest().unwrap());
            assert_eq!(decoded.limits, policy.limits, "{t}");
            assert_eq!(decoded.time, policy.time, "{t}");
            assert_eq!(decoded.env, policy.env, "{t}");
            assert_eq!(decoded.net, policy.net, "{t}");
            let abs = |v: &[String]| {
                v.iter()
                    .map(|r| {
                        blob::lexical_absolute(Path::new("/p/proj"), r)
                            .display()
                            .to_string()
                    })
                    .collect::<Vec<_>>()
            };
            assert_eq!(decoded.fs.read_roots, abs(&policy.fs.read_roots), "{t}");
            assert_eq!(decoded.fs.write_roots, abs(&policy.fs.write_roots), "{t}");
            assert_eq!(
                decoded.to_bytes(),
                bytes,
                "{t}: re-encoding the decoded blob gives the same bytes"
            );
            // Deterministic: the same policy always gives the same bytes.
            assert_eq!(
                blob::encode(&policy, Path::new("/p/proj"), backend, accept).unwrap(),
                bytes
            );
        }
    }
}

#[test]
fn existing_executables_and_prefixes_are_canonicalised() {
    let dir = tempfile::tempdir().unwrap();
    let root = fs_err::canonicalize(dir.path()).unwrap();
    fs_err::create_dir_all(root.join("real/bin")).unwrap();
    fs_err::write(root.join("real/bin/tool"), b"").unwrap();
    std::os::unix::fs::symlink(root.join("real"), root.join("link")).unwrap();
    let mut policy = Template::WorkerParallel.policy();
    policy.process.allow_execs = vec!["link/bin/tool".into(), "missing/../bin/x".into()];
    policy.process.allow_exec_prefixes = vec!["link/bin/".into()];
    let decoded =
        blob::decode(&blob::encode(&policy, &root, BlobBackend::Os, AcceptWeaker::NONE).unwrap())
            .unwrap();
    let real = |p: &str| root.join(p).display().to_string();
    assert_eq!(
        decoded.process.allow_execs,
        vec![real("real/bin/tool"), real("bin/x")]
    );
    assert_eq!(decoded.process.allow_exec_prefixes, vec![real("real/bin")]);
}

#[test]
fn encoding_refuses_invalid_policies_and_relative_roots() {
    let mut bad = Template::Cli.policy();
    bad.limits.cpu_ms = 0;
    let err = blob::encode(&bad, Path::new("/p"), BlobBackend::Os, AcceptWeaker::NONE).unwrap_err();
    assert!(
        matches!(err, BlobError::Invalid(_)) && err.to_string().contains("limits.cpu_ms"),
        "{err}"
    );
    let err = blob::encode(
        &Template::Cli.policy(),
        Path::new("proj"),
        BlobBackend::Os,
        AcceptWeaker::NONE,
    )
    .unwrap_err();
    assert!(
        err.to_string().contains("must be an absolute path"),
        "{err}"
    );
    let mut bare = Template::WorkerParallel.policy();
    bare.process.allow_execs = vec!["x07-surely-not-on-path".into()];
    let err = PolicyBlob::resolve(
        &bare,
        Path::new("/p"),
        Some("/nonexistent".as_ref()),
        BlobBackend::Os,
        AcceptWeaker::NONE,
    )
    .unwrap_err();
    assert!(
        err.to_string()
            .contains("process.allow_execs[0]: `x07-surely-not-on-path` has no `/`"),
        "{err}"
    );
}

fn patched(bytes: &[u8], at: usize, value: &[u8]) -> Vec<u8> {
    let mut out = bytes.to_vec();
    out[at..at + value.len()].copy_from_slice(value);
    out
}

#[track_caller]
fn rejects(bytes: &[u8], field: &str, needle: &str) {
    let err = blob::decode(bytes).expect_err(field);
    assert!(
        err.field.starts_with(field),
        "expected field {field}, got {err}"
    );
    assert!(
        err.problem.contains(needle),
        "{err} should mention {needle:?}"
    );
}

#[test]
fn the_decoder_rejects_anything_that_is_not_exactly_a_blob() {
    let good = vector_blob().to_bytes();
    // Every truncation fails, at a named field.
    for len in 0..good.len() {
        let err = blob::decode(&good[..len]).expect_err("a truncated blob");
        assert!(!err.field.is_empty(), "{err}");
    }
    let mut trailing = good.clone();
    trailing.push(0);
    rejects(&trailing, "end", "1 trailing bytes");
    rejects(&patched(&good, 0, b"X7P2"), "magic", "not a policy blob");
    rejects(
        &patched(&good, 4, &1u32.to_le_bytes()),
        "version",
        "unknown version 1",
    );
    rejects(
        &patched(&good, 8, &2u32.to_le_bytes()),
        "backend",
        "unknown backend 2",
    );
    rejects(
        &patched(&good, 12, &16u32.to_le_bytes()),
        "accept_weaker",
        "unknown flag bits",
    );
    rejects(
        &patched(&good, 72, &2u32.to_le_bytes()),
        "limits.core_dumps",
        "0 or 1",
    );
    rejects(&patched(&good, good.len() - 4, b"X7PF"), "end", "X7PE");
    // fs.read_roots' count sits after 8 flags and 4 caps (byte 76 + 48).
    rejects(
        &patched(&good, 124, &u32::MAX.to_le_bytes()),
        "fs.read_roots",
        "does not fit",
    );

    let base = vector_blob();
    let mut relative = base.clone();
    relative.fs.write_roots = vec!["out".into()];
    rejects(
        &relative.to_bytes(),
        "fs.write_roots[0]",
        "not an absolute path",
    );
    let mut exec = base.clone();
    exec.process.allow_execs.push("tool".into());
    rejects(
        &exec.to_bytes(),
        "process.allow_execs[2]",
        "not an absolute path",
    );
    for unnormal in ["/a/./b", "/a/../b", "/a//b", "/a/", ""] {
        let mut roots = base.clone();
        roots.process.allow_cwd_roots = vec![unnormal.into()];
        rejects(
            &roots.to_bytes(),
            "process.allow_cwd_roots[0]",
            "not an absolute path",
        );
    }
    let mut root_only = base.clone();
    root_only.fs.read_roots = vec!["/".into()];
    assert_eq!(blob::decode(&root_only.to_bytes()).unwrap(), root_only);
    let mut key = base.clone();
    key.process.allow_env_keys = vec!["A=B".into()];
    rejects(
        &key.to_bytes(),
        "process.allow_env_keys[0]",
        "environment key",
    );
    let mut empty_key = base.clone();
    empty_key.env.deny_keys = vec![String::new()];
    rejects(&empty_key.to_bytes(), "env.deny_keys[0]", "environment key");
    let mut spaced = base.clone();
    spaced.net.allow_hosts[0].host = "a b".into();
    rejects(&spaced.to_bytes(), "net.hosts[0].host", "without spaces");
    let mut portless = base.clone();
    portless.net.allow_hosts[0].ports.clear();
    rejects(
        &portless.to_bytes(),
        "net.hosts[0].ports",
        "at least one port",
    );
    let mut upper = base.clone();
    upper.net.allow_hosts[1].host = "Example.org".into();
    rejects(&upper.to_bytes(), "net.hosts[1].host", "lowercase");
    let mut port = base.clone();
    port.net.allow_hosts.push(HostRule {
        host: "a".into(),
        ports: vec![1, 0],
    });
    rejects(&port.to_bytes(), "net.hosts[3].ports[1]", "not a port");
    let mut nul = base.clone();
    nul.env.allow_keys.push("A\u{0}B".into());
    rejects(&nul.to_bytes(), "env.allow_keys[2]", "NUL");
    // A string that is not UTF-8: patch the first byte of "HOME" (env.allow_keys[0]).
    let at = good.windows(4).position(|w| w == b"HOME").unwrap();
    rejects(&patched(&good, at, &[0xff]), "env.allow_keys[0]", "UTF-8");

    assert_eq!(MAGIC, *b"X7P1");
    assert_eq!(END, *b"X7PE");
}

#[test]
fn digest_and_flags_helpers() {
    assert_eq!(AcceptWeaker::from_bits(15), Some(AcceptWeaker::ALL));
    assert_eq!(AcceptWeaker::from_bits(16), None);
    assert!(AcceptWeaker::ALL.contains(AcceptWeaker::NO_USERNS));
    assert!(AcceptWeaker::ALL.contains(AcceptWeaker::NO_LANDLOCK));
    assert!(!AcceptWeaker::NO_LANDLOCK_NET.contains(AcceptWeaker::NO_PIDS_CGROUP));
    assert_eq!(BlobBackend::None.code(), 0);
    assert_eq!(BlobBackend::Os.code(), 1);
    let p = Template::Cli.policy();
    let b = blob::decode(
        &blob::encode(&p, Path::new("/"), BlobBackend::None, AcceptWeaker::NONE).unwrap(),
    )
    .unwrap();
    let bytes = p.to_file_bytes().unwrap();
    assert_eq!(b.digest, Sha256Digest::of(&bytes[..bytes.len() - 1]));
    assert_eq!(b.fs.read_roots, vec!["/".to_string()]);
}
