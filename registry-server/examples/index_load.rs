//! Load check of index GETs (not a test): starts a registry on loopback, publishes packages, then
//! either drives it with a small keep-alive HTTP/1.1 load generator or waits for an external tool.
//!
//! cargo run --release -p x07-registry-server --example index_load -- [--seconds 10] [--connections 32]
//! cargo run --release -p x07-registry-server --example index_load -- --serve-only   # then: wrk -t2 -c64 -d10s URL

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;
use x07_registry_server::{shard_path, OwnerName, RegistryRoot, Scope, ServerConfig, ServerHandle};
use x07_spec::PackageName;

const PACKAGES: usize = 20;
const VERSIONS: usize = 3;

fn archive(name: &str, version: &str) -> Vec<u8> {
    let manifest = json!({"schema_version": "x07.package@0.1.0", "name": name, "version": version,
        "module_root": "modules", "modules": ["ext.load"], "description": "load test package", "docs": "#",
        "license": "MIT", "meta": {"x07c_compat": ">=0.1.0", "requires_packages": ["ext-base@^1.2"]}});
    let module = json!({"kind": "module", "module_id": "ext.load", "decls": []});
    let mut tar = tar::Builder::new(Vec::new());
    for (path, data) in [
        ("modules/ext/load.x07.json", module.to_string()),
        ("x07-package.json", manifest.to_string()),
    ] {
        let mut h = tar::Header::new_ustar();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        tar.append_data(&mut h, path, data.as_bytes()).unwrap();
    }
    zstd::encode_all(&tar.into_inner().unwrap()[..], 3).unwrap()
}

fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

/// One keep-alive connection issuing GETs of `paths` in turn until `stop`; counts 200s and everything else.
fn drive(
    addr: std::net::SocketAddr,
    paths: Arc<Vec<String>>,
    stop: Arc<AtomicBool>,
    ok: Arc<AtomicU64>,
    bad: Arc<AtomicU64>,
) {
    let stream = TcpStream::connect(addr).unwrap();
    stream.set_nodelay(true).unwrap();
    let mut writer = stream.try_clone().unwrap();
    let mut reader = BufReader::new(stream);
    let mut i = 0usize;
    let mut line = String::new();
    while !stop.load(Ordering::Relaxed) {
        let path = &paths[i % paths.len()];
        i += 1;
        write!(writer, "GET {path} HTTP/1.1\r\nHost: registry\r\n\r\n").unwrap();
        line.clear();
        reader.read_line(&mut line).unwrap();
        let status_ok = line.split(' ').nth(1) == Some("200");
        let mut length = 0usize;
        loop {
            line.clear();
            reader.read_line(&mut line).unwrap();
            if line == "\r\n" {
                break;
            }
            if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                length = v.trim().parse().unwrap();
            }
        }
        let mut body = vec![0u8; length];
        reader.read_exact(&mut body).unwrap();
        if status_ok && length > 0 {
            ok.fetch_add(1, Ordering::Relaxed)
        } else {
            bad.fetch_add(1, Ordering::Relaxed)
        };
    }
}

fn main() {
    let dir = tempfile::tempdir().unwrap();
    let server = ServerHandle::start(ServerConfig::new(
        dir.path().join("reg"),
        "127.0.0.1:0".parse().unwrap(),
    ))
    .unwrap();
    let token = RegistryRoot::new(dir.path().join("reg"))
        .tokens()
        .create(OwnerName::new("load").unwrap(), vec![Scope::Publish])
        .unwrap();
    let http = reqwest::blocking::Client::new();
    let mut paths = Vec::new();
    for p in 0..PACKAGES {
        let name = format!("ext-load-{p:02}");
        for v in 0..VERSIONS {
            let resp = http
                .post(format!("{}/v1/packages/publish", server.url()))
                .bearer_auth(token.as_str())
                .body(archive(&name, &format!("1.{v}.0")))
                .send()
                .unwrap();
            assert_eq!(resp.status(), 200, "{}", resp.text().unwrap());
        }
        paths.push(format!(
            "/index/{}",
            shard_path(&PackageName::new(name).unwrap())
        ));
    }
    if std::env::args().any(|a| a == "--serve-only") {
        eprintln!(
            "serving {PACKAGES} packages; try: wrk -t2 -c64 -d10s {}{}",
            server.url(),
            paths[0]
        );
        eprintln!("press Enter to stop");
        let _ = std::io::stdin().read_line(&mut String::new());
        return;
    }
    let seconds: u64 = arg("--seconds").map_or(10, |s| s.parse().unwrap());
    let connections: usize = arg("--connections").map_or(32, |s| s.parse().unwrap());
    let (paths, stop) = (Arc::new(paths), Arc::new(AtomicBool::new(false)));
    let (ok, bad) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let started = Instant::now();
    let workers: Vec<_> = (0..connections)
        .map(|_| {
            let (addr, paths, stop, ok, bad) = (
                server.addr(),
                paths.clone(),
                stop.clone(),
                ok.clone(),
                bad.clone(),
            );
            std::thread::spawn(move || drive(addr, paths, stop, ok, bad))
        })
        .collect();
    std::thread::sleep(Duration::from_secs(seconds));
    stop.store(true, Ordering::Relaxed);
    for w in workers {
        w.join().unwrap();
    }
    let elapsed = started.elapsed().as_secs_f64();
    let (ok, bad) = (ok.load(Ordering::Relaxed), bad.load(Ordering::Relaxed));
    println!(
        "{connections} connections, {elapsed:.1}s: {ok} index GETs ok, {bad} errors, {:.0} requests/s",
        ok as f64 / elapsed
    );
}
