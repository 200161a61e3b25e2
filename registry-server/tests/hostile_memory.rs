//! Publish bodies never sit in memory: an unauthenticated (or oversized) publish is answered from
//! its headers without reading the body, and an accepted body streams to a temp file on disk.
//! One test, so that this process's resident memory belongs to it alone.

mod common;

use std::io::Write as _;
use std::time::{Duration, Instant};

use common::raw::{connect, publish_head, read_response, rss_bytes, send_filler, RssSampler};
use common::Fixture;
use x07_registry_server::Scope;

const MIB: u64 = 1 << 20;

/// Ten publishes at once, each declaring `len` bytes and sending filler until the server answers
/// or closes; returns each (status, bytes the client managed to send).
fn ten_publishes(fx: &Fixture, token: Option<&str>, len: u64) -> Vec<(Option<u16>, u64)> {
    let addr = fx.server.as_ref().unwrap().addr();
    let threads: Vec<_> = (0..10)
        .map(|_| {
            let token = token.map(str::to_string);
            std::thread::spawn(move || {
                let mut stream = connect(addr);
                stream
                    .write_all(publish_head(token.as_deref(), len).as_bytes())
                    .unwrap();
                let mut writer = stream.try_clone().unwrap();
                let sender = std::thread::spawn(move || send_filler(&mut writer, len, b'x'));
                let status = read_response(&mut stream).map(|r| r.status);
                drop(stream);
                (status, sender.join().unwrap())
            })
        })
        .collect();
    threads.into_iter().map(|t| t.join().unwrap()).collect()
}

#[test]
fn publish_bodies_are_never_buffered_in_memory() {
    let fx = Fixture::start();
    let alice = fx.token("alice", &[Scope::Publish]);
    assert_eq!(fx.get("/index/config.json").status(), 200);
    let addr = fx.server.as_ref().unwrap().addr();
    let tmp = fx.root().scratch_dir();

    // Unauthenticated: 401 from the headers; the 64 MiB bodies are not read.
    let base = rss_bytes();
    let sampler = RssSampler::start();
    for (status, sent) in ten_publishes(&fx, None, 64 * MIB) {
        assert_eq!(status, Some(401));
        assert!(
            sent < 32 * MIB,
            "the server read {sent} bytes of an unauthenticated body"
        );
    }
    let peak = sampler.finish();
    assert!(
        peak < base + 48 * MIB,
        "unauthenticated publishes raised RSS from {base} to {peak} bytes"
    );

    // Authorised but declared larger than the limit: 413 from the headers, body unread.
    let mut stream = connect(addr);
    stream
        .write_all(publish_head(Some(&alice), 65 * MIB).as_bytes())
        .unwrap();
    assert_eq!(read_response(&mut stream).unwrap().status, 413);

    // An accepted body goes to a temp file under DIR/tmp as it arrives.
    let mut stream = connect(addr);
    stream
        .write_all(publish_head(Some(&alice), 8 * MIB).as_bytes())
        .unwrap();
    assert_eq!(send_filler(&mut stream, 6 * MIB, b'x'), 6 * MIB);
    let deadline = Instant::now() + Duration::from_secs(10);
    let on_disk = loop {
        let sizes: Vec<u64> = fs_err::read_dir(&tmp)
            .unwrap()
            .map(|e| e.unwrap())
            .filter(|e| e.file_name().to_string_lossy().starts_with(".x07-upload-"))
            .map(|e| e.metadata().unwrap().len())
            .collect();
        if sizes.iter().any(|n| *n >= 4 * MIB) || Instant::now() > deadline {
            break sizes;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(
        on_disk.iter().any(|n| *n >= 4 * MIB),
        "no upload file growing in DIR/tmp: {on_disk:?}"
    );
    send_filler(&mut stream, 2 * MIB, b'x');
    let answer = read_response(&mut stream).unwrap();
    assert_eq!(
        (answer.status, answer.json()["code"].as_str()),
        (400, Some("X07REG_INVALID_ARCHIVE")),
        "{answer:?}"
    );

    // Ten accepted 16 MiB bodies at once (160 MiB): streamed to disk, not held in memory.
    let base = rss_bytes();
    let sampler = RssSampler::start();
    let started = Instant::now();
    for (status, sent) in ten_publishes(&fx, Some(&alice), 16 * MIB) {
        assert_eq!((status, sent), (Some(400), 16 * MIB));
    }
    let peak = sampler.finish();
    eprintln!(
        "ten 16 MiB uploads in {:?}, RSS {base} -> peak {peak}",
        started.elapsed()
    );
    assert!(
        peak < base + 64 * MIB,
        "accepted publishes raised RSS from {base} to {peak} bytes"
    );

    let (dl, index, scratch, owners) = fx.state();
    assert!(
        dl.is_empty() && index.is_empty() && scratch.is_empty(),
        "{dl:?} {index:?} {scratch:?}"
    );
    assert_eq!(owners, serde_json::json!({}));
}
