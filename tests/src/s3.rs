//! A real S3 server for end-to-end tests: `s3s-fs` (a filesystem-backed S3 implementation) on a
//! free loopback port, serving a temporary directory in which every bucket is a subdirectory.
//!
//! CI installs it with `cargo install s3s-fs --version 0.14.1 --features binary --locked --root
//! /usr/local`; a missing binary fails the test with that line, since the test needs the real server.

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Access key the server accepts (clients get it as `AWS_ACCESS_KEY_ID`, see [`S3Server::env`]).
pub const ACCESS_KEY: &str = "x07testaccesskey";
/// Secret key the server accepts (clients get it as `AWS_SECRET_ACCESS_KEY`).
pub const SECRET_KEY: &str = "x07testsecretkey0123456789";
/// The region the URLs of [`S3Server::url`] name.
pub const REGION: &str = "us-east-1";

/// A running `s3s-fs` server; stopped (and its directory removed) when dropped.
pub struct S3Server {
    child: Option<Child>,
    port: u16,
    root: PathBuf,
    log: PathBuf,
    // holds `root` and `log`; removed on drop
    _dir: tempfile::TempDir,
}

impl S3Server {
    /// Starts `s3s-fs` on a free port of 127.0.0.1 over a fresh directory; panics (naming the
    /// install command, or with the server's log) when it cannot.
    #[track_caller]
    pub fn start() -> Self {
        let bin = s3s_fs_bin();
        let dir = tempfile::tempdir().expect("temp dir for the S3 server");
        let root = dir.path().join("data");
        let log = dir.path().join("s3s-fs.log");
        fs_err::create_dir_all(&root).expect("create the S3 data directory");
        let mut server = Self {
            child: None,
            port: 0,
            root,
            log,
            _dir: dir,
        };
        let mut last = String::new();
        // a port that was free a moment ago may be taken by the time the server binds: retry
        for _attempt in 0..5 {
            server.port = free_port();
            let out = fs_err::File::create(&server.log).expect("create the S3 server log");
            let (out, _) = out.into_parts();
            let err = out.try_clone().expect("clone the log handle");
            let child = Command::new(&bin)
                .args(["--host", "127.0.0.1", "--port", &server.port.to_string()])
                .args(["--access-key", ACCESS_KEY, "--secret-key", SECRET_KEY])
                .arg(&server.root)
                .stdin(Stdio::null())
                .stdout(Stdio::from(out))
                .stderr(Stdio::from(err))
                .spawn()
                .unwrap_or_else(|e| panic!("start {}: {e}", bin.display()));
            server.child = Some(child);
            match server.wait_ready(Duration::from_secs(20)) {
                Ok(()) => return server,
                Err(e) => {
                    server.stop();
                    last = format!("{e}; log:\n{}", server.log_tail());
                }
            }
        }
        panic!("s3s-fs did not start: {last}")
    }

    fn wait_ready(&mut self, limit: Duration) -> Result<(), String> {
        let started = Instant::now();
        loop {
            if let Some(child) = self.child.as_mut() {
                if let Ok(Some(status)) = child.try_wait() {
                    return Err(format!("s3s-fs exited with {status}"));
                }
            }
            if TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return Ok(());
            }
            if started.elapsed() > limit {
                return Err(format!("port {} not accepting after {limit:?}", self.port));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The port the server listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The server's endpoint, `http://127.0.0.1:PORT`.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The store URL of `bucket` on this server: `s3://BUCKET?endpoint=http://127.0.0.1:PORT&region=us-east-1`.
    pub fn url(&self, bucket: &str) -> String {
        format!("s3://{bucket}?endpoint={}&region={REGION}", self.endpoint())
    }

    /// Creates the bucket `name` (a directory under [`S3Server::root`]).
    #[track_caller]
    pub fn create_bucket(&self, name: &str) {
        fs_err::create_dir_all(self.root.join(name)).expect("create the bucket directory");
    }

    /// The credentials a client needs: `AWS_ACCESS_KEY_ID` and `AWS_SECRET_ACCESS_KEY`.
    pub fn env(&self) -> [(String, String); 2] {
        [
            ("AWS_ACCESS_KEY_ID".to_string(), ACCESS_KEY.to_string()),
            ("AWS_SECRET_ACCESS_KEY".to_string(), SECRET_KEY.to_string()),
        ]
    }

    /// The directory the server serves: `root()/<bucket>/<key>` holds an object's bytes.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The last 40 lines of the server's log, for failure messages.
    pub fn log_tail(&self) -> String {
        match fs_err::read_to_string(&self.log) {
            Ok(text) => {
                let lines: Vec<&str> = text.lines().collect();
                lines[lines.len().saturating_sub(40)..].join("\n")
            }
            Err(e) => format!("(no log: {e})"),
        }
    }

    /// Stops the server (also done on drop); calling it again does nothing.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        self.stop();
    }
}

/// `s3s-fs` on PATH or in /usr/local/bin; panics with the install command when it is missing.
#[track_caller]
pub fn s3s_fs_bin() -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let dirs = std::env::split_paths(&path).chain([PathBuf::from("/usr/local/bin")]);
    for dir in dirs {
        let cand = dir.join("s3s-fs");
        if cand.is_file() {
            return cand;
        }
    }
    panic!("`s3s-fs` is not installed: this test needs a real S3 server; install it with `cargo install s3s-fs --version 0.14.1 --features binary --locked --root /usr/local`")
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("bind a free port on 127.0.0.1")
        .port()
}
