//! Start-up recovery: a server killed with SIGKILL mid-upload leaves a temp file that the next
//! start removes; temp files, archives no index line names and claims of names without a version
//! are removed too, while index lines, their archives, unknown files and lines this server cannot
//! read are kept.

mod common;

use std::io::{BufRead as _, BufReader, Write as _};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::raw::{connect, files_under, publish_head, send_filler};
use common::{assert_error, cksum, loopback, Fixture, Pkg};
use serde_json::json;
use x07_registry_server::{OwnerName, RegistryRoot, Scope, ServerConfig, ServerHandle};

/// Set in the environment of the child process that runs a server.
const CHILD_ROOT: &str = "X07_REGISTRY_TEST_CHILD_ROOT";

/// Not a test of its own: the body of the child server process (see the kill test).
#[test]
fn child_server_process() {
    let Ok(root) = std::env::var(CHILD_ROOT) else {
        return;
    };
    x07_registry_server::serve_blocking(ServerConfig::new(root, loopback())).unwrap();
}

#[test]
fn a_server_killed_mid_upload_leaves_nothing_after_restart() {
    let dir = tempfile::tempdir().unwrap();
    let root = RegistryRoot::new(dir.path().join("reg"));
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "child_server_process",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ROOT, root.dir())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let first = lines.next().unwrap().unwrap();
    let addr: std::net::SocketAddr = first
        .strip_prefix("listening on http://")
        .unwrap_or_else(|| panic!("{first}"))
        .parse()
        .unwrap();
    std::thread::spawn(move || for _ in lines {});
    let token = root
        .tokens()
        .create(OwnerName::new("alice").unwrap(), vec![Scope::Publish])
        .unwrap();
    let token = token.as_str().to_string();

    // A version published before the crash must survive it.
    let kept = Pkg::new("ext-kept", "1.0.0", &["ext.kept"]).archive();
    let http = reqwest::blocking::Client::new();
    let resp = http
        .post(format!("http://{addr}/v1/packages/publish"))
        .bearer_auth(&token)
        .body(kept.clone())
        .send();
    assert_eq!(resp.unwrap().status(), 200);

    // Half of an 8 MiB upload is on disk when the server is killed.
    let mut stream = connect(addr);
    stream
        .write_all(publish_head(Some(&token), 8 << 20).as_bytes())
        .unwrap();
    send_filler(&mut stream, 4 << 20, b'x');
    let deadline = Instant::now() + Duration::from_secs(20);
    while !files_under(&root.scratch_dir())
        .iter()
        .any(|f| f.starts_with(".x07-upload-"))
    {
        assert!(
            Instant::now() < deadline,
            "no upload file appeared in DIR/tmp"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    drop(stream);
    assert!(
        !files_under(&root.scratch_dir()).is_empty(),
        "the killed server left its upload behind"
    );

    let server = ServerHandle::start(ServerConfig::new(root.dir(), loopback())).unwrap();
    assert_eq!(
        files_under(&root.scratch_dir()),
        Vec::<String>::new(),
        "the upload was removed on start"
    );
    assert_eq!(
        files_under(&root.dir().join("dl")),
        vec!["ext-kept/1.0.0.x07pkg".to_string()]
    );
    let dl = http
        .get(format!(
            "{}/v1/packages/ext-kept/1.0.0/download",
            server.url()
        ))
        .send()
        .unwrap();
    assert_eq!(dl.bytes().unwrap().to_vec(), kept);
    let index = http
        .get(format!("{}/index/ex/t-/ext-kept", server.url()))
        .send()
        .unwrap()
        .text()
        .unwrap();
    assert!(index.contains(&cksum(&kept)));
}

#[test]
fn start_up_removes_leftovers_and_keeps_valid_data() {
    let mut fx = Fixture::start();
    let alice = fx.token("alice", &[Scope::Publish]);
    let archive = Pkg::new("ext-keep", "1.0.0", &["ext.keep"]).archive();
    assert_eq!(fx.publish(Some(&alice), &archive).status(), 200);
    let index_before = fx.get("/index/ex/t-/ext-keep").text().unwrap();
    fx.server.take().unwrap().shutdown().unwrap();

    // What a server killed between writes leaves, and things that are not leftovers.
    let root = fx.root();
    let put = |rel: &str, bytes: &[u8]| {
        let path = root.dir().join(rel);
        fs_err::create_dir_all(path.parent().unwrap()).unwrap();
        fs_err::write(path, bytes).unwrap();
    };
    put(
        "dl/ext-keep/1.1.0.x07pkg",
        b"orphan: renamed into place, index line never written",
    );
    put("dl/ext-keep/.x07-tmp-a1b2c3", b"half an archive");
    put(
        "dl/ext-orphan/0.1.0.x07pkg",
        b"an orphan of a first publish",
    );
    put("dl/ext-keep/notes.txt", b"not ours: left alone");
    put("index/ex/t-/.x07-tmp-d4e5f6", b"half an index file");
    put(".x07-tmp-owners", b"half of owners.json");
    put("keys/.x07-tmp-key", b"half a key");
    put("tmp/.x07-upload-zzz", b"half an upload");
    // A line an older server accepted but this one cannot read, with its archive.
    let legacy = json!({"schema_version": "x07.index-entry@0.2.0", "name": "ext-keep",
        "version": "18446744073709551616.0.0", "cksum": cksum(b"legacy"), "yanked": false});
    let index_file = root.index_dir().join("ex/t-/ext-keep");
    fs_err::write(&index_file, format!("{index_before}{legacy}\n")).unwrap();
    put("dl/ext-keep/18446744073709551616.0.0.x07pkg", b"legacy");
    // A first publish that claimed its name and died before storing anything.
    let mut owners: serde_json::Value =
        serde_json::from_slice(&fs_err::read(root.owners_path()).unwrap()).unwrap();
    owners["ext-ghost"] = json!(["mallory"]);
    fs_err::write(root.owners_path(), owners.to_string()).unwrap();

    fx.server = Some(ServerHandle::start(ServerConfig::new(root.dir(), loopback())).unwrap());
    assert_eq!(
        files_under(&root.dir().join("dl")),
        [
            "ext-keep/1.0.0.x07pkg",
            "ext-keep/18446744073709551616.0.0.x07pkg",
            "ext-keep/notes.txt"
        ]
    );
    assert_eq!(files_under(&root.index_dir()), ["ex/t-/ext-keep"]);
    assert!(files_under(&root.scratch_dir()).is_empty());
    let at_top: Vec<String> = files_under(root.dir())
        .into_iter()
        .filter(|f| f.contains(".x07-tmp-"))
        .collect();
    assert!(at_top.is_empty(), "{at_top:?}");
    let owners: serde_json::Value =
        serde_json::from_slice(&fs_err::read(root.owners_path()).unwrap()).unwrap();
    assert_eq!(owners, json!({"ext-keep": ["alice"]}));
    assert_error(
        fx.get("/v1/packages/ext-ghost/owners"),
        404,
        "X07REG_NOT_FOUND",
    );

    // Valid data is untouched; the unreadable line is served as it was and kept on rewrites.
    assert_eq!(
        fx.get("/v1/packages/ext-keep/1.0.0/download")
            .bytes()
            .unwrap()
            .to_vec(),
        archive
    );
    let served = fx.get("/index/ex/t-/ext-keep").text().unwrap();
    assert_eq!(served, format!("{index_before}{legacy}\n"));
    assert_eq!(
        fx.publish(
            Some(&alice),
            &Pkg::new("ext-keep", "1.2.0", &["ext.keep"]).archive()
        )
        .status(),
        200
    );
    let served = fx.get("/index/ex/t-/ext-keep").text().unwrap();
    assert_eq!(served.lines().count(), 3);
    assert_eq!(served.lines().last().unwrap(), legacy.to_string());
    // The dropped claim is free again.
    let bob = fx.token("bob", &[Scope::Publish]);
    assert_eq!(
        fx.publish(
            Some(&bob),
            &Pkg::new("ext-ghost", "0.1.0", &["ext.ghost"]).archive()
        )
        .status(),
        200
    );
}
