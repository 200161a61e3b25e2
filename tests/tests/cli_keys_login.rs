//! `x07 key generate` and `x07 pkg login/logout`: secrets land in files only their owner can read,
//! nothing is overwritten, and bad input is refused with its code.

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::process::{Command, Stdio};

use x07_tests::{x07_bin, X07Home};

fn mode(path: &std::path::Path) -> u32 {
    fs_err::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn key_generate_writes_an_owner_only_key_and_never_overwrites() {
    let home = X07Home::new().unwrap();
    let run = || {
        Command::new(x07_bin())
            .args(["key", "generate", "--json"])
            .env("X07_HOME", home.path())
            .output()
            .unwrap()
    };
    let out = run();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let path = std::path::PathBuf::from(report["path"].as_str().unwrap());
    assert_eq!(mode(&path), 0o600);
    assert_eq!(report["key_id"].as_str().unwrap().len(), 16);
    assert_eq!(
        report["public_key"].as_str().unwrap().len(),
        44,
        "base64 of 32 bytes"
    );
    let before = fs_err::read(&path).unwrap();

    let again = run();
    assert_eq!(again.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&again.stderr).contains("X07-KEY-0001"));
    assert_eq!(
        fs_err::read(&path).unwrap(),
        before,
        "the existing key is untouched"
    );
}

#[test]
fn login_stores_the_token_owner_only_and_logout_forgets_it() {
    let home = X07Home::new().unwrap();
    let index = "sparse+http://127.0.0.1:9/index/";
    let mut child = Command::new(x07_bin())
        .args([
            "pkg",
            "login",
            "--index",
            index,
            "--token-stdin",
            "--no-verify",
        ])
        .env("X07_HOME", home.path())
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"x07t_0123456789abcdef\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let creds = home.path().join("credentials.json");
    assert_eq!(mode(&creds), 0o600);
    let text = fs_err::read_to_string(&creds).unwrap();
    assert!(text.contains(index) && text.contains("x07t_0123456789abcdef"));

    let out = Command::new(x07_bin())
        .args(["pkg", "logout", "--index", index])
        .env("X07_HOME", home.path())
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(
        !fs_err::read_to_string(&creds)
            .unwrap()
            .contains("x07t_0123456789abcdef"),
        "the token is gone"
    );

    let bad = Command::new(x07_bin())
        .args(["pkg", "logout", "--index", "http://no-sparse-prefix/"])
        .env("X07_HOME", home.path())
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("X07-CLI-0001"));
}

#[test]
fn login_asks_the_registry_about_the_token_before_storing_it() {
    let home = X07Home::new().unwrap();
    let reg = x07_tests::registry::LocalRegistry::start(&[]);
    let login = |token: &str| {
        Command::new(x07_bin())
            .args(["pkg", "login", "--index", &reg.index, "--token", token])
            .env("X07_HOME", home.path())
            .output()
            .unwrap()
    };
    let out = login("x07t_not_a_token_the_registry_made");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("X07-PKG-0006")
            && err.contains("X07REG_UNAUTHORIZED")
            && err.contains("--no-verify"),
        "{err}"
    );
    assert!(
        !home.path().join("credentials.json").exists(),
        "nothing is stored for a refused token"
    );

    reg.login(home.path(), "carol");
    let stored = fs_err::read_to_string(home.path().join("credentials.json")).unwrap();
    let out = login(stored.split('"').find(|s| s.starts_with("x07t_")).unwrap());
    assert!(out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("`carol` (scopes: publish)"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
