//! The binary cache over `s3://` against a real S3 server (s3s-fs, SigV4, path-style): push,
//! `x07 store verify --cache`, substitution into a home without a C compiler, concurrent pushes,
//! a key prefix, a tampered object refused and built locally, and missing credentials.

mod common;
mod common_cache;

use std::path::Path;

use common::{expect_exit, expect_stderr, run, stdout_json};
use common_cache::{
    assert_same_entry, build_json, substitute_args, verify_cache_args, Puller, Pusher,
};
use serde_json::json;
use x07_tests::s3::S3Server;
use x07_tests::X07Invocation;

/// The invocation with the server's credentials.
fn with_creds(inv: X07Invocation, s3: &S3Server) -> X07Invocation {
    s3.env().into_iter().fold(inv, |inv, (k, v)| inv.env(k, v))
}

#[test]
fn push_verify_and_substitute_over_s3() {
    let s3 = S3Server::start();
    s3.create_bucket("x07-cache");
    let url = s3.url("x07-cache");
    let src = Pusher::new();
    let name = src.entry_name();

    // several pushes of the same entries at once
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..4)
            .map(|_| {
                let inv = with_creds(src.p.x07(), &s3).args(["store", "push", "--to", &url]);
                s.spawn(move || run(inv))
            })
            .collect();
        for h in handles {
            expect_exit(&h.join().unwrap(), 0);
        }
    });
    let bucket = s3.root().join("x07-cache");
    assert!(bucket.join(format!("entries/{name}.json")).is_file());
    let archives = fs_err::read_dir(bucket.join("archives")).unwrap().count();
    let records = fs_err::read_dir(bucket.join("entries")).unwrap().count();
    assert_eq!(archives, records, "one archive per entry");

    let out = run(with_creds(src.p.x07(), &s3).args(verify_cache_args(&url, &src.public)));
    expect_exit(&out, 0);
    let report = stdout_json(&out);
    assert_eq!(report["problems"], json!([]));
    assert_eq!(report["ok_entries"], json!(records));

    let dst = Puller::new(&src.p);
    let (out, built) = build_json(
        with_creds(dst.x07_no_cc(), &s3),
        substitute_args(&url, &src.public),
    );
    expect_exit(&out, 0);
    assert_eq!(built["substitution"]["from"], json!(url), "{built:#}");
    assert_same_entry(&src.entry, Path::new(built["store_path"].as_str().unwrap()));
    assert_eq!(dst.store(), vec![name.clone()], "nothing was compiled");

    // a tampered object in the bucket: refused, built locally
    let record: serde_json::Value =
        serde_json::from_slice(&fs_err::read(bucket.join(format!("entries/{name}.json"))).unwrap())
            .unwrap();
    let archive = bucket.join(record["archive"]["key"].as_str().unwrap());
    let mut bytes = fs_err::read(&archive).unwrap();
    let n = bytes.len();
    bytes.truncate(n - 7);
    fs_err::write(&archive, &bytes).unwrap();
    let dst = Puller::new(&src.p);
    let (out, built) = build_json(
        with_creds(dst.x07(), &s3),
        substitute_args(&url, &src.public),
    );
    expect_exit(&out, 0);
    assert!(
        built["substitution"]["failures"]
            .to_string()
            .contains("corrupt or truncated"),
        "{built:#}"
    );
    assert_same_entry(&src.entry, Path::new(built["store_path"].as_str().unwrap()));
}

#[test]
fn a_key_prefix_in_the_bucket_and_missing_credentials() {
    let s3 = S3Server::start();
    s3.create_bucket("shared");
    let url = format!(
        "s3://shared/team/x07?endpoint={}&region=us-east-1",
        s3.endpoint()
    );
    let src = Pusher::new();
    let report = src.push_with(&url, |inv| with_creds(inv, &s3));
    assert!(!report["entries"].as_array().unwrap().is_empty());
    assert!(s3
        .root()
        .join(format!("shared/team/x07/entries/{}.json", src.entry_name()))
        .is_file());
    let dst = Puller::new(&src.p);
    let (out, _) = build_json(
        with_creds(dst.x07_no_cc(), &s3),
        substitute_args(&url, &src.public),
    );
    expect_exit(&out, 0);

    // push without credentials: a setup error that says where credentials come from
    let out = run(src
        .p
        .x07()
        .env("AWS_ACCESS_KEY_ID", "")
        .env("AWS_SECRET_ACCESS_KEY", "")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/credentials")
        .args(["store", "push", "--to", &url]));
    expect_exit(&out, 2);
    expect_stderr(&out, "X07-CACHE-0002", &["AWS_ACCESS_KEY_ID"]);
    // a substituter without credentials: the build goes on and says why
    let dst = Puller::new(&src.p);
    let (out, built) = build_json(
        dst.x07()
            .env("AWS_ACCESS_KEY_ID", "")
            .env("AWS_SECRET_ACCESS_KEY", "")
            .env("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/credentials"),
        substitute_args(&url, &src.public),
    );
    expect_exit(&out, 0);
    assert!(
        built["substitution"]["failures"]
            .to_string()
            .contains("credentials"),
        "{built:#}"
    );
}

/// `python3 -m http.server` over a directory, killed on drop.
struct StaticServer(std::process::Child);

impl Drop for StaticServer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn substitute_from_a_static_http_server() {
    let src = Pusher::new();
    let cache = common_cache::FileCache::new();
    src.push(&cache.url(), &[]);
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = std::process::Command::new("python3")
        .args([
            "-m",
            "http.server",
            &port.to_string(),
            "--bind",
            "127.0.0.1",
            "--directory",
        ])
        .arg(cache.path())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("python3 (apt-get install python3) serves the cache over HTTP");
    let _server = StaticServer(child);
    let started = std::time::Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            started.elapsed().as_secs() < 20,
            "http.server did not start"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let url = format!("http://127.0.0.1:{port}/");
    let dst = Puller::new(&src.p);
    let (out, built) = build_json(dst.x07_no_cc(), substitute_args(&url, &src.public));
    expect_exit(&out, 0);
    assert_eq!(built["substitution"]["from"], json!(url), "{built:#}");
    assert_same_entry(&src.entry, Path::new(built["store_path"].as_str().unwrap()));
    // a static server cannot be pushed to or listed
    let out = run(src.p.x07().args(["store", "push", "--to", &url]));
    expect_exit(&out, 2);
    expect_stderr(&out, "X07-CACHE-0001", &["read only"]);
}
