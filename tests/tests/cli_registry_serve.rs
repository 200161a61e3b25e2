//! `x07 registry serve` connection limits given on the command line: they apply to this run
//! (a client that sends no request is closed after `--header-timeout`), and config.json keeps its
//! own values.

use std::io::{BufRead, BufReader, Read};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use x07_tests::x07_bin;

#[test]
fn header_timeout_flag_closes_a_silent_connection() {
    let home = tempfile::tempdir().unwrap();
    let root = home.path().join("registry");
    let mut server = Command::new(x07_bin())
        .args([
            "registry",
            "serve",
            "--addr",
            "127.0.0.1:0",
            "--header-timeout",
            "1",
            "--root",
        ])
        .arg(&root)
        .env("X07_HOME", home.path())
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(server.stderr.take().unwrap()).lines();
    let addr = loop {
        let line = lines
            .next()
            .expect("the server printed where it listens")
            .unwrap();
        if let Some(rest) = line.split("listening on http://").nth(1) {
            break rest.split_whitespace().next().unwrap().to_string();
        }
    };
    let mut silent = TcpStream::connect(&addr).unwrap();
    silent
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let started = Instant::now();
    let mut buf = [0u8; 64];
    let n = silent.read(&mut buf).unwrap_or(0);
    let waited = started.elapsed();
    let _ = server.kill();
    let _ = server.wait();
    assert_eq!(n, 0, "the server answered a request that was never sent");
    assert!(
        waited < Duration::from_secs(8),
        "the silent connection stayed open {waited:?}; --header-timeout 1 should close it"
    );
    let config: serde_json::Value =
        serde_json::from_slice(&fs_err::read(root.join("config.json")).unwrap()).unwrap();
    assert_ne!(
        config["header_timeout_secs"], 1,
        "a run's flag is not remembered"
    );
}
