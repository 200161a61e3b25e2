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
    write!(s, "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n").unwrap();
    let mut text = String::new();
    s.read_to_string(&mut text).unwrap();
    let status = text.split_whitespace().nth(1).unwrap().parse().unwrap();
    let body = text.split_once("\r\n\r\n").map(|(_, b)| b.to_string()).unwrap_or_default();
    (status, body)
}

#[test]
fn publish_to_a_local_registry_then_refuse_the_same_version() {
    let home = X07Home::new().unwrap();
    // Starts `x07 registry serve` on a free loopback port (it must say where it listens), creates
    // a token with `x07 registry token create` and stores it with `x07 pkg login --token`.
    let reg = LocalRegistry::start(&[]);
    reg.login(home.path(), "local");
    let (port, index) = (reg.port, reg.index.clone());

    let pkg = tempfile::tempdir().unwrap();
    let write = |rel: &str, v: serde_json::Value| {
        let p = pkg.path().join(rel);
        fs_err::create_dir_all(p.parent().unwrap()).unwrap();
        fs_err::write(p, v.to_string()).unwrap();
    };
    write("x07-package.json", json!({"schema_version": "x07.package@0.1.0", "name": "demo-util", "version": "0.1.0",
        "module_root": "modules", "modules": ["demo.util"], "description": "A demo.", "docs": "Demo docs.",
        "license": "MIT", "meta": {"x07c_compat": ">=0.1.0, <0.2.0"}}));
    write("modules/demo/util.x07.json", json!({"schema_version": "x07.x07ast@0.5.0", "kind": "module", "module_id": "demo.util",
        "imports": [], "decls": [{"kind": "export", "names": ["demo.util.one"]},
            {"kind": "defn", "name": "demo.util.one", "params": [], "result": "i32", "body": 1}]}));

    let publish = || {
        Command::new(x07_bin())
            .args(["pkg", "publish", "--index", &index, "--package"])
            .arg(pkg.path())
            .env("X07_HOME", home.path())
            .output()
            .unwrap()
    };
    let out = publish();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let receipt: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!((receipt["name"].as_str(), receipt["version"].as_str()), (Some("demo-util"), Some("0.1.0")));

    let (status, body) = http_get(port, &format!("/index/{}", receipt["index_path"].as_str().unwrap()));
    assert_eq!(status, 200);
    let line: serde_json::Value = serde_json::from_str(body.lines().next().unwrap()).unwrap();
    assert_eq!(line["cksum"], receipt["cksum"], "the signed index line names the published archive");
    assert_eq!(line["signature"]["kind"], "ed25519");

    let again = publish();
    assert_eq!(again.status.code(), Some(2));
    let err = String::from_utf8_lossy(&again.stderr);
    assert!(err.contains("X07-PKG-0006") && err.contains("X07REG_ALREADY_PUBLISHED"), "{err}");
}
