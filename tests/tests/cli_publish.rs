//! `x07 pkg publish` against a real `x07 registry serve` process on loopback: token, login,
//! publish, the index line carries the archive digest, versions are immutable.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Command;

use serde_json::json;
use x07_tests::registry::LocalRegistry;
use x07_tests::{x07_bin, X07Home};

fn http_get(port: u16, path: &str) -> (u16, String) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut text = String::new();
    s.read_to_string(&mut text).unwrap();
    let status = text.split_whitespace().nth(1).unwrap().parse().unwrap();
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, body)
}

/// A home logged in to a fresh registry and an empty package directory: `x07 registry serve` on a
/// free loopback port (it must say where it listens), a token from `x07 registry token create`,
/// stored with `x07 pkg login --token`.
fn logged_in() -> (X07Home, LocalRegistry, tempfile::TempDir) {
    let home = X07Home::new().unwrap();
    let reg = LocalRegistry::start(&[]);
    reg.login(home.path(), "local");
    (home, reg, tempfile::tempdir().unwrap())
}

/// Writes `v` at `rel` under `dir`, parents created.
fn write_json(dir: &std::path::Path, rel: &str, v: serde_json::Value) {
    let p = dir.join(rel);
    fs_err::create_dir_all(p.parent().unwrap()).unwrap();
    fs_err::write(p, v.to_string()).unwrap();
}

#[test]
fn publish_to_a_local_registry_then_refuse_the_same_version() {
    let (home, reg, pkg) = logged_in();
    let (port, index) = (reg.port, reg.index.clone());
    let write = |rel: &str, v: serde_json::Value| write_json(pkg.path(), rel, v);
    write(
        "x07-package.json",
        json!({"schema_version": "x07.package@0.1.0", "name": "demo-util", "version": "0.1.0",
        "module_root": "modules", "modules": ["demo.util"], "description": "A demo.", "docs": "Demo docs.",
        "license": "MIT", "meta": {"x07c_compat": ">=0.1.0, <0.2.0"}}),
    );
    write(
        "modules/demo/util.x07.json",
        json!({"schema_version": "x07.x07ast@0.5.0", "kind": "module", "module_id": "demo.util",
        "imports": [], "decls": [{"kind": "export", "names": ["demo.util.one"]},
            {"kind": "defn", "name": "demo.util.one", "params": [], "result": "i32", "body": 1}]}),
    );

    let publish = || {
        Command::new(x07_bin())
            .args(["pkg", "publish", "--index", &index, "--package"])
            .arg(pkg.path())
            .env("X07_HOME", home.path())
            .output()
            .unwrap()
    };
    let out = publish();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let receipt: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (receipt["name"].as_str(), receipt["version"].as_str()),
        (Some("demo-util"), Some("0.1.0"))
    );

    let (status, body) = http_get(
        port,
        &format!("/index/{}", receipt["index_path"].as_str().unwrap()),
    );
    assert_eq!(status, 200);
    let line: serde_json::Value = serde_json::from_str(body.lines().next().unwrap()).unwrap();
    assert_eq!(
        line["cksum"], receipt["cksum"],
        "the signed index line names the published archive"
    );
    assert_eq!(line["signature"]["kind"], "ed25519");

    let again = publish();
    assert_eq!(again.status.code(), Some(2));
    let err = String::from_utf8_lossy(&again.stderr);
    assert!(
        err.contains("X07-PKG-0006") && err.contains("X07REG_ALREADY_PUBLISHED"),
        "{err}"
    );
}

/// Starts `x07 registry serve` on `root`; the child and the port from its first stderr line.
fn serve(root: &std::path::Path) -> (std::process::Child, u16) {
    use std::io::BufRead as _;
    let mut child = Command::new(x07_bin())
        .args(["registry", "serve", "--root"])
        .arg(root)
        .args(["--addr", "127.0.0.1:0"])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufReader::new(child.stderr.take().unwrap()).lines();
    let first = lines.next().unwrap().unwrap();
    let port = first
        .strip_prefix("listening on http://127.0.0.1:")
        .unwrap_or_else(|| panic!("the first line must say where it listens: {first}"))
        .parse()
        .unwrap();
    std::thread::spawn(move || for _ in lines {});
    (child, port)
}

/// The files directly in `dir` (empty if it does not exist).
fn names_in(dir: &std::path::Path) -> Vec<String> {
    let mut names: Vec<String> = fs_err::read_dir(dir)
        .map(|items| {
            items
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

#[test]
fn a_registry_killed_mid_upload_removes_the_leftovers_on_restart() {
    let root = tempfile::tempdir().unwrap();
    let (mut child, port) = serve(root.path());
    let out = Command::new(x07_bin())
        .args(["registry", "token", "create", "--root"])
        .arg(root.path())
        .args(["--owner", "local"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let token = String::from_utf8_lossy(&out.stdout)
        .lines()
        .last()
        .unwrap()
        .to_string();

    // Half of an 8 MiB publish is on the server's disk when it is killed with SIGKILL.
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(
        s,
        "POST /v1/packages/publish HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\nContent-Length: {}\r\n\r\n",
        8 << 20
    )
    .unwrap();
    s.write_all(&vec![b'x'; 4 << 20]).unwrap();
    let tmp = root.path().join("tmp");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while !names_in(&tmp).iter().any(|n| n.starts_with(".x07-upload-")) {
        assert!(
            std::time::Instant::now() < deadline,
            "no upload in {}",
            tmp.display()
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    drop(s);
    assert!(!names_in(&tmp).is_empty());
    // And an archive that no index line names, as a kill between the two writes leaves.
    fs_err::create_dir_all(root.path().join("dl/ghost-pkg")).unwrap();
    fs_err::write(root.path().join("dl/ghost-pkg/1.0.0.x07pkg"), b"orphan").unwrap();

    let (mut child, port) = serve(root.path());
    assert_eq!(names_in(&tmp), Vec::<String>::new());
    assert_eq!(names_in(&root.path().join("dl")), Vec::<String>::new());
    let (status, body) = http_get(port, "/index/config.json");
    assert_eq!(status, 200, "{body}");
    child.kill().unwrap();
    child.wait().unwrap();
}

#[test]
fn publish_runs_the_package_tests_first_and_uploads_nothing_when_one_fails() {
    let (home, reg, pkg) = logged_in();
    let (port, index) = (reg.port, reg.index.clone());
    let write = |rel: &str, v: serde_json::Value| write_json(pkg.path(), rel, v);
    let package = |version: &str| {
        json!({"schema_version": "x07.package@0.1.0", "name": "demo-tested", "version": version,
        "module_root": "modules", "modules": ["demo.tested", "demo.tested.tests"], "description": "A demo.",
        "docs": "Demo docs.", "license": "MIT", "meta": {"x07c_compat": ">=0.1.0, <0.2.0"}})
    };
    write("x07-package.json", package("0.1.0"));
    write(
        "modules/demo/tested.x07.json",
        json!({"schema_version": "x07.x07ast@0.5.0", "kind": "module", "module_id": "demo.tested",
        "imports": [], "decls": [{"kind": "export", "names": ["demo.tested.one"]},
            {"kind": "defn", "name": "demo.tested.one", "params": [], "result": "i32", "body": 2}]}),
    );
    write(
        "modules/demo/tested/tests.x07.json",
        json!({"schema_version": "x07.x07ast@0.5.0", "kind": "module", "module_id": "demo.tested.tests",
        "imports": ["demo.tested", "std.test"], "decls": [{"kind": "export", "names": ["demo.tested.tests.one"]},
            {"kind": "defn", "name": "demo.tested.tests.one", "params": [], "result": "result_i32",
             "body": ["std.test.assert_i32_eq", ["demo.tested.one"], 1, ["std.test.code_assert_i32_eq"]]}]}),
    );
    write(
        "tests/tests.json",
        json!({"schema_version": "x07.tests_manifest@0.1.0",
               "tests": [{"id": "one", "world": "solve-pure", "entry": "demo.tested.tests.one"}]}),
    );
    let publish = |extra: &[&str]| {
        Command::new(x07_bin())
            .args(["pkg", "publish", "--index", &index, "--package"])
            .arg(pkg.path())
            .args(extra)
            .env("X07_HOME", home.path())
            .output()
            .unwrap()
    };
    let published = || http_get(port, "/index/de/mo/demo-tested").0 == 200;

    let out = publish(&[]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("X07-TEST-0003") && err.contains("one (fail)") && err.contains("--no-verify"),
        "{err}"
    );
    assert!(!published(), "a package whose tests fail is not uploaded");

    // fixed: the tests pass and the package goes up
    write(
        "modules/demo/tested.x07.json",
        json!({"schema_version": "x07.x07ast@0.5.0", "kind": "module", "module_id": "demo.tested",
        "imports": [], "decls": [{"kind": "export", "names": ["demo.tested.one"]},
            {"kind": "defn", "name": "demo.tested.one", "params": [], "result": "i32", "body": 1}]}),
    );
    let out = publish(&[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(published());

    // --no-verify publishes without running them (the tests fail again here)
    write("x07-package.json", package("0.2.0"));
    write(
        "modules/demo/tested.x07.json",
        json!({"schema_version": "x07.x07ast@0.5.0", "kind": "module", "module_id": "demo.tested",
        "imports": [], "decls": [{"kind": "export", "names": ["demo.tested.one"]},
            {"kind": "defn", "name": "demo.tested.one", "params": [], "result": "i32", "body": 3}]}),
    );
    assert_eq!(publish(&[]).status.code(), Some(1));
    let out = publish(&["--no-verify"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (_, body) = http_get(port, "/index/de/mo/demo-tested");
    assert_eq!(body.lines().count(), 2, "{body}");
}
