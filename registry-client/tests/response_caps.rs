//! The client caps what it reads: a 300 MiB index file (declared or streamed without a length)
//! and an oversized config.json are refused with the URL and the cap, while memory stays near
//! the cap; a `file://` mirror's oversized index file is refused the same way. One test, so the
//! process's resident memory belongs to it alone.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};

use common::*;
use serde_json::json;
use x07_registry_client::{IndexUrl, RegistryError, MAX_CONFIG_BYTES, MAX_INDEX_FILE_BYTES};

const MIB: u64 = 1 << 20;

/// Resident memory of this process, in bytes.
fn rss() -> u64 {
    let status = fs_err::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    line.split_whitespace()
        .nth(1)
        .unwrap()
        .parse::<u64>()
        .unwrap()
        * 1024
}

/// A config.json offering `key`, with archives and the API at `base`.
fn config_body(base: &str) -> Vec<u8> {
    let key = foreign_key(3);
    let body = json!({"dl": format!("{base}/v1/packages/"), "api": format!("{base}/v1/"), "sparse": true,
        "signing": {"kind": "ed25519", "public_keys": [{"id": "", "ed25519_pub": ""}]}});
    config_with_key(&serde_json::to_vec(&body).unwrap(), &key)
}

/// Streams `len` bytes of index-like filler after `head`, until done or the client hangs up;
/// `chunked` sends them without a length.
fn stream_body(stream: &mut TcpStream, len: u64, chunked: bool) {
    let head = if chunked {
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n".to_string()
    } else {
        format!("HTTP/1.1 200 OK\r\nContent-Length: {len}\r\nConnection: close\r\n\r\n")
    };
    if stream.write_all(head.as_bytes()).is_err() {
        return;
    }
    let piece = vec![b'x'; 64 * 1024];
    let mut sent = 0;
    while sent < len {
        let ok = if chunked {
            write!(stream, "{:x}\r\n", piece.len()).is_ok()
                && stream.write_all(&piece).is_ok()
                && stream.write_all(b"\r\n").is_ok()
        } else {
            stream.write_all(&piece).is_ok()
        };
        if !ok {
            return;
        }
        sent += piece.len() as u64;
    }
    if chunked {
        let _ = stream.write_all(b"0\r\n\r\n");
    }
}

/// A hostile registry on loopback: `/<case>/index/...` behaves as the case says.
fn hostile_registry() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let me = base.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let me = me.clone();
            std::thread::spawn(move || {
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut request_line = String::new();
                if reader.read_line(&mut request_line).is_err() {
                    return;
                }
                loop {
                    let mut header = String::new();
                    if reader.read_line(&mut header).is_err() || header.trim().is_empty() {
                        break;
                    }
                }
                let path = request_line
                    .split_whitespace()
                    .nth(1)
                    .unwrap_or("")
                    .to_string();
                let case = path.split('/').nth(1).unwrap_or("").to_string();
                if path.ends_with("/config.json") {
                    match case.as_str() {
                        "big-config" => stream_body(&mut stream, 2 * MIB, false),
                        "big-config-chunked" => stream_body(&mut stream, 2 * MIB, true),
                        _ => {
                            let body = config_body(&format!("{me}/{case}"));
                            let head = format!(
                                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                                body.len()
                            );
                            let _ = stream.write_all(head.as_bytes());
                            let _ = stream.write_all(&body);
                        }
                    }
                } else {
                    stream_body(&mut stream, 300 * MIB, case == "chunked");
                }
            });
        }
    });
    base
}

#[track_caller]
fn assert_too_large(err: RegistryError, url_end: &str, what: &str, limit: u64) {
    let text = err.to_string();
    match &err {
        RegistryError::ResponseTooLarge {
            url,
            what: w,
            limit: l,
        } => {
            assert!(url.ends_with(url_end), "{text}");
            assert_eq!((*w, *l), (what, limit), "{text}");
        }
        other => panic!("expected a refusal for size, got: {other}"),
    }
    assert!(text.contains(&format!("{} MiB", limit / MIB)), "{text}");
}

#[test]
fn oversized_index_files_and_config_are_refused_within_the_cap() {
    let base = hostile_registry();
    let home = tempfile::tempdir().unwrap();
    let index = |case: &str| IndexUrl::parse(&format!("sparse+{base}/{case}/index/")).unwrap();

    // 300 MiB declared up front: refused from the header.
    let client = common::client(home.path(), &index("declared"));
    let err = client.index_entries(&name("ext-big")).unwrap_err();
    assert_too_large(
        err,
        "/declared/index/ex/t-/ext-big",
        "index file",
        MAX_INDEX_FILE_BYTES,
    );

    // 300 MiB streamed without a length: read up to the cap, then refused.
    let before = rss();
    let client = common::client(home.path(), &index("chunked"));
    let err = client.index_entries(&name("ext-big")).unwrap_err();
    let after = rss();
    assert_too_large(
        err,
        "/chunked/index/ex/t-/ext-big",
        "index file",
        MAX_INDEX_FILE_BYTES,
    );
    let peak = {
        let status = fs_err::read_to_string("/proc/self/status").unwrap();
        let line = status
            .lines()
            .find(|l| l.starts_with("VmHWM:"))
            .unwrap()
            .to_string();
        line.split_whitespace()
            .nth(1)
            .unwrap()
            .parse::<u64>()
            .unwrap()
            * 1024
    };
    assert!(
        peak < before + MAX_INDEX_FILE_BYTES + 48 * MIB,
        "peak RSS {peak} from {before}"
    );
    assert!(
        after < before + 16 * MIB,
        "the refused body is not kept: {before} -> {after}"
    );

    // config.json past 1 MiB, with and without a declared length.
    for case in ["big-config", "big-config-chunked"] {
        let client = common::client(home.path(), &index(case));
        let err = client.config().unwrap_err();
        assert_too_large(
            err,
            &format!("/{case}/index/config.json"),
            "config.json",
            MAX_CONFIG_BYTES,
        );
    }

    // A file:// mirror whose index file is 100 MiB (sparse: no disk is used).
    let mirror = tempfile::tempdir().unwrap();
    fs_err::write(
        mirror.path().join("config.json"),
        config_body("file:///nowhere"),
    )
    .unwrap();
    let file = mirror.path().join("ex/t-/ext-big");
    fs_err::create_dir_all(file.parent().unwrap()).unwrap();
    fs_err::File::create(&file)
        .unwrap()
        .set_len(100 * MIB)
        .unwrap();
    let mirror_index =
        IndexUrl::parse(&format!("sparse+file://{}/", mirror.path().display())).unwrap();
    let client = common::client(home.path(), &mirror_index);
    let err = client.index_entries(&name("ext-big")).unwrap_err();
    assert_too_large(err, "ex/t-/ext-big", "index file", MAX_INDEX_FILE_BYTES);
}
