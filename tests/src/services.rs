//! Starting real servers in tests: free loopback ports, waiting for readiness, programs that must
//! be installed, and server logs in failure messages.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Whether the test runs as root (servers then run as an unprivileged user, or are told so).
pub fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// `name` on PATH (or in /usr/sbin, /usr/local/sbin, /sbin); a missing program fails the test
/// with the Debian package that provides it: the test needs the real server.
#[track_caller]
pub fn need_program(name: &str, package: &str) -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let dirs = std::env::split_paths(&path)
        .chain(["/usr/sbin", "/usr/local/sbin", "/sbin"].map(PathBuf::from));
    for dir in dirs {
        let cand = dir.join(name);
        if cand.is_file() {
            return cand;
        }
    }
    panic!("`{name}` is not installed (not on PATH nor in /usr/sbin): this test needs the real server; apt-get install {package}")
}

/// A TCP port on 127.0.0.1 that was free a moment ago.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("bind a free port on 127.0.0.1")
        .port()
}

/// Calls `ready` until it succeeds; after `limit` fails the test with `what` and the last error.
#[track_caller]
pub fn wait_for(limit: Duration, what: &str, mut ready: impl FnMut() -> Result<(), String>) {
    let started = Instant::now();
    loop {
        match ready() {
            Ok(()) => return,
            Err(e) if started.elapsed() > limit => {
                panic!("{what}: not ready after {limit:?}; last error: {e}")
            }
            Err(_) => std::thread::sleep(Duration::from_millis(100)),
        }
    }
}

/// The last 40 lines of a server log, for failure messages.
pub fn log_tail(path: &Path) -> String {
    match fs_err::read_to_string(path) {
        Ok(text) => {
            let lines: Vec<&str> = text.lines().collect();
            lines[lines.len().saturating_sub(40)..].join("\n")
        }
        Err(e) => format!("(no log: {e})"),
    }
}
