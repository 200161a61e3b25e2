//! Test fixtures: a real registry server on loopback (optionally behind a fault-injecting HTTP
//! responder written on std::net), package directories, a private `$X07_HOME`, and index-line
//! re-signing with keys the registry does not own.
#![allow(dead_code)]

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use base64::Engine as _;
use ed25519_dalek::{Signer as _, SigningKey};
use serde_json::{json, Value};
use x07_registry_client::{key_id_of, ClientOptions, IndexUrl, RegistryClient, RetryPolicy};
use x07_registry_server::{OwnerName, RegistryRoot, Scope, ServerConfig, ServerHandle};
use x07_spec::{PackageName, PackageVersion};

pub fn name(s: &str) -> PackageName {
    PackageName::new(s).unwrap()
}

pub fn version(s: &str) -> PackageVersion {
    PackageVersion::new(s).unwrap()
}

/// Options with quick retries, so fault tests do not wait long.
pub fn options() -> ClientOptions {
    ClientOptions {
        retry: RetryPolicy {
            attempts: 3,
            initial_backoff: Duration::from_millis(20),
        },
        progress: false,
        ..ClientOptions::default()
    }
}

pub fn client(home: &Path, index: &IndexUrl) -> RegistryClient {
    RegistryClient::new(index.clone(), home, options()).unwrap()
}

pub fn client_with(
    home: &Path,
    index: &IndexUrl,
    edit: impl FnOnce(&mut ClientOptions),
) -> RegistryClient {
    let mut o = options();
    edit(&mut o);
    RegistryClient::new(index.clone(), home, o).unwrap()
}

/// Names of the files directly in `dir` (empty if it does not exist).
pub fn files_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = match fs_err::read_dir(dir) {
        Ok(entries) => entries
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect(),
        Err(_) => Vec::new(),
    };
    names.sort();
    names
}

/// `$X07_HOME/cache/sha256` of a home.
pub fn archive_dir(home: &Path) -> PathBuf {
    home.join("cache").join("sha256")
}

// ---------------------------------------------------------------------------------------------
// Packages

/// Writes a publishable package directory under `parent` and returns it.
pub fn write_package(parent: &Path, pkg: &str, ver: &str, requires: &[&str]) -> PathBuf {
    let dir = parent.join(format!("{pkg}-{ver}"));
    let module = format!("pkgmod.{}", pkg.replace('-', "_"));
    let manifest = json!({
        "schema_version": "x07.package@0.1.0",
        "name": pkg, "version": ver,
        "module_root": "modules", "modules": [module],
        "description": format!("test package {pkg}"), "docs": "# docs", "license": "MIT",
        "meta": {"x07c_compat": ">=0.1.0, <0.2.0", "requires_packages": requires, "ffi_libs": []},
    });
    fs_err::create_dir_all(dir.join("modules/pkgmod")).unwrap();
    fs_err::write(
        dir.join("x07-package.json"),
        serde_json::to_vec_pretty(&manifest).unwrap(),
    )
    .unwrap();
    let body = json!({"schema_version": "x07.x07ast@0.5.0", "kind": "module", "module_id": module, "imports": [], "decls": []});
    let file = format!("{}.x07.json", pkg.replace('-', "_"));
    fs_err::write(
        dir.join("modules/pkgmod").join(file),
        serde_json::to_vec(&body).unwrap(),
    )
    .unwrap();
    dir
}

/// The archive bytes of a package directory.
pub fn pack(dir: &Path) -> Vec<u8> {
    x07_spec::archive::pack(dir).unwrap().bytes
}

// ---------------------------------------------------------------------------------------------
// A minimal HTTP/1.1 responder

/// A request the responder received.
#[derive(Debug, Clone)]
pub struct Request {
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Request {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// What to answer.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// Send only this many body bytes (Content-Length still announces all), then close.
    pub cut_after: Option<usize>,
    /// Send this many body bytes, wait, then send the rest.
    pub pause_after: Option<(usize, Duration)>,
}

impl Reply {
    pub fn new(status: u16, body: impl Into<Vec<u8>>) -> Self {
        Self {
            status,
            headers: Vec::new(),
            body: body.into(),
            cut_after: None,
            pause_after: None,
        }
    }

    pub fn json(value: &Value) -> Self {
        let mut r = Self::new(200, serde_json::to_vec(value).unwrap());
        r.headers
            .push(("Content-Type".into(), "application/json".into()));
        r
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

type Handler = Arc<dyn Fn(&Request) -> Reply + Send + Sync>;

/// An HTTP server on a std TcpListener; answers each request with `handler` and logs it.
pub struct Responder {
    addr: SocketAddr,
    log: Arc<Mutex<Vec<(Request, u16)>>>,
    stop: Arc<AtomicBool>,
}

impl Responder {
    pub fn start(handler: impl Fn(&Request) -> Reply + Send + Sync + 'static) -> Self {
        Self::on(TcpListener::bind("127.0.0.1:0").unwrap(), Arc::new(handler))
    }

    fn on(listener: TcpListener, handler: Handler) -> Self {
        let addr = listener.local_addr().unwrap();
        let log = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (log2, stop2) = (log.clone(), stop.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                if stop2.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                let (handler, log, stop) = (handler.clone(), log2.clone(), stop2.clone());
                std::thread::spawn(move || serve_connection(stream, &*handler, &log, &stop));
            }
        });
        Self { addr, log, stop }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Requests so far with the status answered.
    pub fn requests(&self) -> Vec<(Request, u16)> {
        self.log.lock().unwrap().clone()
    }

    /// Statuses answered to requests whose path starts with `prefix`.
    pub fn statuses(&self, prefix: &str) -> Vec<u16> {
        self.requests()
            .into_iter()
            .filter(|(r, _)| r.path.starts_with(prefix))
            .map(|(_, s)| s)
            .collect()
    }
}

impl Drop for Responder {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(self.addr);
    }
}

fn read_request(stream: &TcpStream) -> Option<Request> {
    let mut reader = BufReader::new(stream.try_clone().ok()?);
    let mut line = String::new();
    reader.read_line(&mut line).ok()?;
    let mut parts = line.split_whitespace();
    let (method, path) = (parts.next()?.to_string(), parts.next()?.to_string());
    let mut headers = Vec::new();
    loop {
        let mut h = String::new();
        reader.read_line(&mut h).ok()?;
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        let (k, v) = h.split_once(':')?;
        headers.push((k.trim().to_string(), v.trim().to_string()));
    }
    let len: usize = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
        .map_or(0, |(_, v)| v.parse().unwrap_or(0));
    let mut body = vec![0u8; len];
    reader.read_exact(&mut body).ok()?;
    Some(Request {
        method,
        path,
        headers,
        body,
    })
}

fn serve_connection(
    mut stream: TcpStream,
    handler: &(dyn Fn(&Request) -> Reply + Send + Sync),
    log: &Mutex<Vec<(Request, u16)>>,
    stop: &AtomicBool,
) {
    let Some(request) = read_request(&stream) else {
        return;
    };
    let reply = handler(&request);
    log.lock().unwrap().push((request, reply.status));
    let mut head = format!(
        "HTTP/1.1 {} Test\r\nContent-Length: {}\r\nConnection: close\r\n",
        reply.status,
        reply.body.len()
    );
    for (k, v) in &reply.headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    if stream.write_all(head.as_bytes()).is_err() {
        return;
    }
    let body = &reply.body;
    if let Some(n) = reply.cut_after {
        let _ = stream.write_all(&body[..n.min(body.len())]);
        let _ = stream.flush();
        let _ = stream.shutdown(std::net::Shutdown::Both);
        return;
    }
    if let Some((n, pause)) = reply.pause_after {
        let n = n.min(body.len());
        let _ = stream.write_all(&body[..n]);
        let _ = stream.flush();
        let deadline = std::time::Instant::now() + pause;
        while std::time::Instant::now() < deadline && !stop.load(Ordering::SeqCst) {
            std::thread::sleep(Duration::from_millis(10));
        }
        let _ = stream.write_all(&body[n..]);
    } else {
        let _ = stream.write_all(body);
    }
    let _ = stream.flush();
    let _ = stream.shutdown(std::net::Shutdown::Write);
}

// ---------------------------------------------------------------------------------------------
// The real registry, directly or behind a responder

/// Forwards requests to the real server.
#[derive(Clone)]
pub struct Upstream {
    url: Arc<OnceLock<String>>,
    http: reqwest::blocking::Client,
}

impl Upstream {
    /// The real server's answer to `request`.
    pub fn forward(&self, request: &Request) -> Reply {
        let url = format!(
            "{}{}",
            self.url.get().expect("server started"),
            request.path
        );
        let method = reqwest::Method::from_bytes(request.method.as_bytes()).unwrap();
        let mut builder = self.http.request(method, url).body(request.body.clone());
        for (k, v) in &request.headers {
            if !["host", "connection", "content-length"].contains(&k.to_ascii_lowercase().as_str())
            {
                builder = builder.header(k, v);
            }
        }
        let resp = builder.send().unwrap();
        let status = resp.status().as_u16();
        let headers = resp
            .headers()
            .iter()
            .filter(|(k, _)| {
                !["content-length", "connection", "transfer-encoding"].contains(&k.as_str())
            })
            .map(|(k, v)| (k.to_string(), v.to_str().unwrap().to_string()))
            .collect();
        Reply {
            status,
            headers,
            body: resp.bytes().unwrap().to_vec(),
            cut_after: None,
            pause_after: None,
        }
    }
}

/// A registry root in a temp dir, its server, and optionally a responder in front of it.
pub struct Registry {
    pub dir: tempfile::TempDir,
    pub server: Option<ServerHandle>,
    pub front: Option<Responder>,
}

impl Registry {
    /// The server alone.
    pub fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let server = ServerHandle::start(ServerConfig::new(
            dir.path().join("reg"),
            "127.0.0.1:0".parse().unwrap(),
        ))
        .unwrap();
        Self {
            dir,
            server: Some(server),
            front: None,
        }
    }

    /// The server behind a responder running `handler`; config.json points clients at the responder.
    pub fn start_behind(
        handler: impl Fn(&Request, &Upstream) -> Reply + Send + Sync + 'static,
    ) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let front_url = format!("http://{}", listener.local_addr().unwrap());
        let upstream = Upstream {
            url: Arc::new(OnceLock::new()),
            http: reqwest::blocking::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
        };
        let up = upstream.clone();
        let front = Responder::on(listener, Arc::new(move |r: &Request| handler(r, &up)));
        let mut config = ServerConfig::new(dir.path().join("reg"), "127.0.0.1:0".parse().unwrap());
        config.public_url = Some(front_url);
        let server = ServerHandle::start(config).unwrap();
        upstream.url.set(server.url()).unwrap();
        Self {
            dir,
            server: Some(server),
            front: Some(front),
        }
    }

    /// The URL clients use (the responder's, when there is one).
    pub fn base_url(&self) -> String {
        match &self.front {
            Some(f) => f.url(),
            None => self.server.as_ref().unwrap().url(),
        }
    }

    pub fn index_url(&self) -> IndexUrl {
        IndexUrl::parse(&format!("sparse+{}/index/", self.base_url())).unwrap()
    }

    pub fn root(&self) -> RegistryRoot {
        RegistryRoot::new(self.dir.path().join("reg"))
    }

    /// A new token (text) for `owner` with the publish and owner.manage scopes.
    pub fn token(&self, owner: &str) -> String {
        let t = self
            .root()
            .tokens()
            .create(
                OwnerName::new(owner).unwrap(),
                vec![Scope::Publish, Scope::OwnerManage],
            )
            .unwrap();
        t.as_str().to_string()
    }

    pub fn front(&self) -> &Responder {
        self.front.as_ref().expect("started behind a responder")
    }

    /// Publishes a package straight to the server (not through the client under test).
    pub fn publish_direct(&self, token: &str, archive: &[u8]) {
        let url = format!(
            "{}/v1/packages/publish",
            self.server.as_ref().unwrap().url()
        );
        let resp = reqwest::blocking::Client::new()
            .post(url)
            .header("Authorization", format!("Bearer {token}"))
            .body(archive.to_vec())
            .send()
            .unwrap();
        assert_eq!(resp.status(), 200, "{}", resp.text().unwrap());
    }

    /// Stops the server (the responder, if any, keeps running).
    pub fn stop(&mut self) {
        if let Some(s) = self.server.take() {
            s.shutdown().unwrap();
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Keys the registry does not own

/// A deterministic signing key for tests.
pub fn foreign_key(seed: u8) -> SigningKey {
    SigningKey::from_bytes(&[seed; 32])
}

pub fn public_b64(key: &SigningKey) -> String {
    base64::engine::general_purpose::STANDARD.encode(key.verifying_key().as_bytes())
}

/// Re-signs one index line with `key` (JCS of the line without `signature`).
pub fn resign_line(line: &str, key: &SigningKey) -> String {
    let mut v: Value = serde_json::from_str(line).unwrap();
    v.as_object_mut().unwrap().remove("signature");
    let sig = key.sign(&x07_spec::to_canonical_vec(&v).unwrap());
    v["signature"] = json!({
        "kind": "ed25519",
        "key_id": key_id_of(&key.verifying_key()),
        "sig": base64::engine::general_purpose::STANDARD.encode(sig.to_bytes()),
    });
    String::from_utf8(x07_spec::to_canonical_vec(&v).unwrap()).unwrap()
}

/// Applies `edit` to every line of an NDJSON body.
pub fn map_lines(body: &[u8], edit: impl Fn(&str) -> String) -> Vec<u8> {
    let text = std::str::from_utf8(body).unwrap();
    let mut out = String::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        out.push_str(&edit(line));
        out.push('\n');
    }
    out.into_bytes()
}

/// A config.json body offering `key` instead of the registry's own.
pub fn config_with_key(config_body: &[u8], key: &SigningKey) -> Vec<u8> {
    let mut v: Value = serde_json::from_slice(config_body).unwrap();
    v["signing"]["public_keys"] =
        json!([{"id": key_id_of(&key.verifying_key()), "ed25519_pub": public_b64(key)}]);
    serde_json::to_vec(&v).unwrap()
}
