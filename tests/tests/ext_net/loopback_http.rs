//! A small HTTP/1.1 server on 127.0.0.1 for the ext-net tests: fixed answers per path, one request
//! per connection, and a log of every request line it saw (so a test can tell that a redirect was
//! not followed, or that a denied request never arrived).

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// Body of `GET /`.
pub const INDEX_BODY: &[u8] = b"hello from the loopback server\n";
/// Body of `GET /target`, where `/redirect` points.
pub const TARGET_BODY: &[u8] = b"you followed the redirect\n";
/// Size of the body of `GET /big` (over the default max_body_bytes of 65536).
pub const BIG_BODY_LEN: usize = 100_000;

/// The server; it stops when dropped.
#[derive(Debug)]
pub struct LoopbackHttp {
    port: u16,
    seen: Arc<Mutex<Vec<String>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl LoopbackHttp {
    /// Binds a free port on 127.0.0.1 and starts answering.
    pub fn start() -> std::io::Result<Self> {
        let listener = TcpListener::bind(("127.0.0.1", 0))?;
        let port = listener.local_addr()?.port();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (seen, stop) = (seen.clone(), stop.clone());
            std::thread::spawn(move || {
                for stream in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    if let Ok(stream) = stream {
                        // A client that misbehaves only loses its own answer.
                        let _ = serve(stream, &seen);
                    }
                }
            })
        };
        Ok(Self {
            port,
            seen,
            stop,
            thread: Some(thread),
        })
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `http://127.0.0.1:<port><path>`.
    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// The request lines seen so far (`GET /redirect`, ...).
    pub fn requests(&self) -> Vec<String> {
        self.seen
            .lock()
            .expect("the server thread never panics holding the log")
            .clone()
    }
}

impl Drop for LoopbackHttp {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the blocking accept so the thread sees the flag.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// One parsed request.
struct Request {
    method: String,
    path: String,
    content_type: Option<String>,
    body: Vec<u8>,
}

fn read_request(stream: &mut TcpStream) -> std::io::Result<Option<Request>> {
    let mut data = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(i) = data.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        let n = stream.read(&mut chunk)?;
        if n == 0 || data.len() > 64 * 1024 {
            return Ok(None);
        }
        data.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&data[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let mut first = lines.next().unwrap_or_default().split(' ');
    let method = first.next().unwrap_or_default().to_owned();
    let path = first.next().unwrap_or_default().to_owned();
    let mut content_length = 0usize;
    let mut content_type = None;
    for line in lines {
        if let Some((name, value)) = line.split_once(':') {
            match name.trim().to_ascii_lowercase().as_str() {
                "content-length" => content_length = value.trim().parse().unwrap_or(0),
                "content-type" => content_type = Some(value.trim().to_owned()),
                _ => {}
            }
        }
    }
    let mut body = data[head_end..].to_vec();
    while body.len() < content_length {
        let n = stream.read(&mut chunk)?;
        if n == 0 {
            break;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    Ok(Some(Request {
        method,
        path,
        content_type,
        body,
    }))
}

fn response(status: &str, extra_headers: &[(&str, &str)], body: &[u8]) -> Vec<u8> {
    let mut out = format!(
        "HTTP/1.1 {status}\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (name, value) in extra_headers {
        out.push_str(&format!("{name}: {value}\r\n"));
    }
    out.push_str("Connection: close\r\n\r\n");
    let mut bytes = out.into_bytes();
    bytes.extend_from_slice(body);
    bytes
}

fn answer(req: &Request) -> Vec<u8> {
    match (req.method.as_str(), req.path.as_str()) {
        ("GET", "/") => response("200 OK", &[("X-Test", "  yes  ")], INDEX_BODY),
        ("GET", "/redirect") => response("302 Found", &[("Location", "/target")], b"moved\n"),
        ("GET", "/target") => response("200 OK", &[], TARGET_BODY),
        ("GET", "/big") => response("200 OK", &[], &vec![b'x'; BIG_BODY_LEN]),
        ("POST", "/echo") => {
            let ctype = req.content_type.clone().unwrap_or_default();
            response("200 OK", &[("X-Request-Content-Type", &ctype)], &req.body)
        }
        _ => response("404 Not Found", &[], b"no such page\n"),
    }
}

fn serve(mut stream: TcpStream, seen: &Mutex<Vec<String>>) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    let Some(req) = read_request(&mut stream)? else {
        return Ok(());
    };
    seen.lock()
        .expect("the log lock is never poisoned")
        .push(format!("{} {}", req.method, req.path));
    stream.write_all(&answer(&req))?;
    stream.shutdown(Shutdown::Write)
}
