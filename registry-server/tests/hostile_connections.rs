//! Slow and silent connections: silent sockets are closed after the header timeout and then a
//! normal client is served; a slow-loris on headers is cut; a stalled or trickling publish body is
//! cut (408) and leaves no file; a client that stops reading a download is closed after the idle
//! timeout; 256 connections from one address are served at once and more wait for a free slot.

mod common;

use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use common::raw::{closed_within, connect, publish_head, read_response, send_filler};
use common::{Fixture, Pkg};
use x07_registry_server::{ConnectionLimits, Scope, ServerConfig, ServerHandle};

fn limits(header: u64, body: u64, idle: u64, publish: u64) -> ConnectionLimits {
    ConnectionLimits {
        header_timeout: Duration::from_secs(header),
        body_timeout: Duration::from_secs(body),
        idle_timeout: Duration::from_secs(idle),
        publish_timeout: Duration::from_secs(publish),
        max_connections: 256,
    }
}

fn addr(fx: &Fixture) -> SocketAddr {
    fx.server.as_ref().unwrap().addr()
}

const GET_CONFIG: &[u8] = b"GET /index/config.json HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";

#[test]
fn silent_sockets_are_closed_then_a_normal_client_is_served() {
    let fx = Fixture::start_with_limits(limits(1, 1, 30, 30));
    // More silent sockets than the cap, all from 127.0.0.1.
    let mut silent: Vec<TcpStream> = (0..300)
        .map(|_| TcpStream::connect(addr(&fx)).unwrap())
        .collect();
    std::thread::sleep(Duration::from_millis(200));
    let started = Instant::now();
    let client = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap();
    let resp = client.get(fx.url("/index/config.json")).send().unwrap();
    assert_eq!(resp.status(), 200);
    let waited = started.elapsed();
    assert!(
        waited < Duration::from_secs(8),
        "served only after {waited:?}"
    );
    for (i, s) in silent.iter_mut().enumerate() {
        assert!(
            closed_within(s, Duration::from_secs(5)),
            "silent socket {i} is still open"
        );
    }
}

#[test]
fn a_slow_loris_on_headers_is_cut() {
    let fx = Fixture::start_with_limits(limits(1, 1, 30, 30));
    let mut stream = connect(addr(&fx));
    let mut reader = stream.try_clone().unwrap();
    let watcher = std::thread::spawn(move || {
        let started = Instant::now();
        let mut buf = [0u8; 1024];
        let mut got = Vec::new();
        loop {
            match reader.read(&mut buf) {
                Ok(0) | Err(_) => return (started.elapsed(), got),
                Ok(n) => got.extend_from_slice(&buf[..n]),
            }
        }
    });
    stream
        .write_all(b"GET /index/config.json HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
        .unwrap();
    // One header byte every 100 ms, never finishing the headers.
    let started = Instant::now();
    while !watcher.is_finished() && started.elapsed() < Duration::from_secs(8) {
        if stream.write_all(b"a").is_err() {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let (closed_after, got) = watcher.join().unwrap();
    assert!(
        closed_after < Duration::from_secs(4),
        "the slow-loris was cut only after {closed_after:?}"
    );
    assert!(
        !String::from_utf8_lossy(&got).starts_with("HTTP/1.1 200"),
        "it was served"
    );
}

#[test]
fn stalled_or_trickling_publish_bodies_are_cut_and_leave_no_file() {
    let fx = Fixture::start_with_limits(limits(5, 1, 30, 3));
    let token = fx.token("alice", &[Scope::Publish]);
    // Stalled: 100 KiB of a declared MiB, then nothing.
    let mut stream = connect(addr(&fx));
    stream
        .write_all(publish_head(Some(&token), 1 << 20).as_bytes())
        .unwrap();
    send_filler(&mut stream, 100 * 1024, b'x');
    let started = Instant::now();
    let answer = read_response(&mut stream).expect("an answer");
    assert_eq!(
        (answer.status, answer.json()["code"].as_str()),
        (408, Some("X07REG_TIMEOUT")),
        "{answer:?}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "{:?}",
        started.elapsed()
    );
    assert!(answer.json()["message"]
        .as_str()
        .unwrap()
        .contains("no part of the request body arrived for 1 s"));
    assert!(closed_within(&mut stream, Duration::from_secs(3)));

    // Trickling: a byte every 300 ms keeps each piece in time, but not the whole.
    let mut stream = connect(addr(&fx));
    stream
        .write_all(publish_head(Some(&token), 1000).as_bytes())
        .unwrap();
    let mut reader = stream.try_clone().unwrap();
    let answer = std::thread::spawn(move || read_response(&mut reader));
    let started = Instant::now();
    while !answer.is_finished() && started.elapsed() < Duration::from_secs(10) {
        if stream.write_all(b"x").is_err() {
            break;
        }
        std::thread::sleep(Duration::from_millis(300));
    }
    let answer = answer.join().unwrap().expect("an answer");
    assert_eq!(answer.status, 408, "{answer:?}");
    assert!(answer.json()["message"]
        .as_str()
        .unwrap()
        .contains("did not arrive within 3 s"));
    let (dl, index, scratch, _) = fx.state();
    assert!(
        dl.is_empty() && index.is_empty() && scratch.is_empty(),
        "{dl:?} {index:?} {scratch:?}"
    );
}

#[test]
fn a_client_that_stops_reading_is_closed_after_the_idle_timeout() {
    let mut fx = Fixture::start();
    let token = fx.token("alice", &[Scope::Publish]);
    // 15 MiB that do not compress: more than loopback socket buffers hold.
    let mut pkg = Pkg::new("ext-big", "1.0.0", &["ext.big"]);
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let noise: Vec<u8> = (0..15 << 20)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect();
    pkg.extra_files.push(("ffi/blob.bin".into(), noise));
    let archive = pkg.archive();
    assert_eq!(fx.publish(Some(&token), &archive).status(), 200);
    fx.server.take().unwrap().shutdown().unwrap();
    let mut config = ServerConfig::new(fx.root().dir(), common::loopback());
    config.limits = Some(limits(5, 5, 2, 30));
    fx.server = Some(ServerHandle::start(config).unwrap());

    let mut stream = connect(addr(&fx));
    stream
        .write_all(b"GET /v1/packages/ext-big/1.0.0/download HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        .unwrap();
    let mut first = [0u8; 4096];
    let n = stream.read(&mut first).unwrap();
    assert!(String::from_utf8_lossy(&first[..n]).starts_with("HTTP/1.1 200"));
    // Read nothing for longer than the idle timeout; then take what is left.
    std::thread::sleep(Duration::from_secs(4));
    let mut rest = Vec::new();
    let _ = stream.read_to_end(&mut rest);
    assert!(
        ((n + rest.len()) as u64) < archive.len() as u64,
        "the whole archive arrived ({} bytes): the stalled connection was not closed",
        n + rest.len()
    );
}

#[test]
fn the_cap_admits_256_connections_from_one_address_and_the_next_waits() {
    let fx = Fixture::start_with_limits(limits(6, 5, 30, 30));
    let mut held: Vec<TcpStream> = (0..256).map(|_| connect(addr(&fx))).collect();
    for s in &mut held {
        s.write_all(GET_CONFIG).unwrap();
    }
    for (i, s) in held.iter_mut().enumerate() {
        let r = read_response(s).unwrap_or_else(|| panic!("connection {i} was not served"));
        assert_eq!(r.status, 200, "connection {i}");
    }
    // All 256 slots are taken by kept-alive connections: the 257th waits in the backlog.
    let mut next = connect(addr(&fx));
    next.write_all(GET_CONFIG).unwrap();
    next.set_read_timeout(Some(Duration::from_millis(1500)))
        .unwrap();
    let mut byte = [0u8; 1];
    let early = next.read(&mut byte);
    assert!(
        early.is_err(),
        "the 257th connection was served while 256 were open: {early:?}"
    );
    // One slot frees up: it is served at once.
    drop(held.pop());
    next.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
    let started = Instant::now();
    let mut rest = [0u8; 4096];
    let n = next.read(&mut rest).unwrap();
    assert!(n > 0 && started.elapsed() < Duration::from_secs(3));
    let answer = String::from_utf8_lossy(&rest[..n]);
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    drop(held);
}
