//! Downloads stream: an archive is read in pieces as the client takes them, so ten clients
//! fetching a 12 MiB archive at once do not raise the server's memory by ten archives.
//! One test, so that this process's resident memory belongs to it alone.

mod common;

use std::io::{Read as _, Write as _};

use common::raw::{connect, rss_bytes, RssSampler};
use common::{Fixture, Pkg};
use sha2::{Digest as _, Sha256};
use x07_registry_server::Scope;

const MIB: usize = 1 << 20;

/// Incompressible bytes (xorshift), so the archive is as large as its content.
fn noise(len: usize) -> Vec<u8> {
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

#[test]
fn downloads_are_streamed_not_buffered() {
    let fx = Fixture::start();
    let alice = fx.token("alice", &[Scope::Publish]);
    let mut pkg = Pkg::new("ext-big", "1.0.0", &["ext.big"]);
    pkg.extra_files = vec![("ffi/blob.bin".into(), noise(12 * MIB))];
    let archive = pkg.archive();
    assert!(archive.len() > 11 * MIB, "{}", archive.len());
    assert_eq!(fx.publish(Some(&alice), &archive).status(), 200);
    let addr = fx.server.as_ref().unwrap().addr();

    let base = rss_bytes();
    let sampler = RssSampler::start();
    let clients: Vec<_> = (0..10)
        .map(|_| {
            std::thread::spawn(move || {
                let mut s = connect(addr);
                s.write_all(
                    b"GET /v1/packages/ext-big/1.0.0/download HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
                )
                .unwrap();
                // The head is kept; the body is only hashed and counted (the test holds no copy).
                let mut head = Vec::new();
                let mut body = Sha256::new();
                let mut body_len = 0usize;
                let mut head_done = false;
                let mut buf = vec![0u8; 64 * 1024];
                loop {
                    let n = s.read(&mut buf).unwrap();
                    if n == 0 {
                        break;
                    }
                    if head_done {
                        body.update(&buf[..n]);
                        body_len += n;
                    } else {
                        head.extend_from_slice(&buf[..n]);
                        if let Some(at) = head.windows(4).position(|w| w == b"\r\n\r\n") {
                            let rest = head.split_off(at + 4);
                            body.update(&rest);
                            body_len += rest.len();
                            head_done = true;
                        }
                    }
                    // a slow client: the server must wait for it rather than read ahead
                    std::thread::sleep(std::time::Duration::from_millis(2));
                }
                (String::from_utf8_lossy(&head).to_lowercase(), body_len, hex::encode(body.finalize()))
            })
        })
        .collect();
    let answers: Vec<(String, usize, String)> =
        clients.into_iter().map(|c| c.join().unwrap()).collect();
    let peak = sampler.finish();
    let want = hex::encode(Sha256::digest(&archive));
    for (head, len, digest) in &answers {
        assert!(head.starts_with("http/1.1 200"), "{head}");
        assert!(
            head.contains(&format!("content-length: {}", archive.len())),
            "{head}"
        );
        assert_eq!(
            (*len, digest),
            (archive.len(), &want),
            "the archive arrives whole and unchanged"
        );
    }
    eprintln!("RSS {base} -> peak {peak}");
    assert!(
        peak < base + 48 * MIB as u64,
        "ten downloads of a 12 MiB archive raised RSS from {base} to {peak} bytes"
    );
}
