//! A real PostgreSQL server for tests: a fresh cluster (`initdb`) in a temporary directory on a
//! free port of 127.0.0.1, a superuser `x07` that logs in with its SCRAM password; as root the
//! server runs as the `postgres` system user. Stopped (fast shutdown) when the guard drops.

use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::services::{free_port, is_root, log_tail, need_program, wait_for};

/// The superuser the cluster is created with.
pub const USER: &str = "x07";
/// Its password.
pub const PASSWORD: &str = "x07-secret";

/// The newest `/usr/lib/postgresql/<version>/bin` with initdb, postgres and pg_isready.
#[track_caller]
fn pg_bin_dir() -> PathBuf {
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .filter_map(|e| {
                    let version: u32 = e.file_name().to_str()?.parse().ok()?;
                    let bin = e.path().join("bin");
                    ["initdb", "postgres", "pg_isready"]
                        .iter()
                        .all(|p| bin.join(p).is_file())
                        .then_some((version, bin))
                })
                .collect()
        })
        .unwrap_or_default();
    found.sort();
    found.pop().map(|(_, bin)| bin).unwrap_or_else(|| {
        panic!("no PostgreSQL server under /usr/lib/postgresql/*/bin (initdb, postgres, pg_isready): this test needs the real server; apt-get install postgresql")
    })
}

/// uid and gid of the `postgres` system user, which runs the server when the test is root.
#[track_caller]
fn postgres_ids() -> (u32, u32) {
    // SAFETY: getpwnam returns static storage or NULL; it is read at once.
    unsafe {
        let pw = libc::getpwnam(c"postgres".as_ptr());
        assert!(
            !pw.is_null(),
            "running as root, the server needs the unprivileged `postgres` system user (apt-get install postgresql creates it)"
        );
        ((*pw).pw_uid, (*pw).pw_gid)
    }
}

/// A command that runs `program` as the server's user: `postgres` via setpriv (which execs it,
/// so the child is the program itself) when root, the current user otherwise.
fn as_server_user(program: &Path) -> Command {
    if !is_root() {
        return Command::new(program);
    }
    let (uid, gid) = postgres_ids();
    let mut cmd = Command::new(need_program("setpriv", "util-linux"));
    cmd.args([
        format!("--reuid={uid}"),
        format!("--regid={gid}"),
        "--clear-groups".to_owned(),
        "--".to_owned(),
    ])
    .arg(program);
    cmd
}

fn chown_to_server_user(path: &Path) {
    if is_root() {
        let (uid, gid) = postgres_ids();
        std::os::unix::fs::chown(path, Some(uid), Some(gid)).expect("chown to postgres");
    }
}

/// A running postgres in a temporary directory; shut down (and the directory removed) on drop.
pub struct Postgres {
    child: Child,
    /// The port on 127.0.0.1.
    pub port: u16,
    _dir: tempfile::TempDir,
}

impl Postgres {
    /// Starts a fresh cluster (initdb) on a free port of 127.0.0.1; panics with the log when it cannot.
    #[track_caller]
    pub fn start() -> Self {
        let bin = pg_bin_dir();
        let dir = tempfile::Builder::new()
            .prefix("x07-pg-")
            .tempdir()
            .expect("create the server directory");
        // the server's user must reach its files inside
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755))
            .expect("chmod the server directory");
        let data = dir.path().join("data");
        let pwfile = dir.path().join("pw");
        let log = dir.path().join("server.log");
        fs_err::create_dir(&data).expect("create the data directory");
        fs_err::write(&pwfile, PASSWORD).expect("write the password file");
        fs_err::write(&log, "").expect("create the log");
        for p in [&data, &pwfile, &log] {
            chown_to_server_user(p);
        }
        let out = as_server_user(&bin.join("initdb"))
            .arg("-D")
            .arg(&data)
            .args([
                "-U",
                USER,
                "--auth=scram-sha-256",
                "-E",
                "UTF8",
                "--locale=C",
                "-N",
            ])
            .arg(format!("--pwfile={}", pwfile.display()))
            .current_dir(dir.path())
            .output()
            .expect("run initdb");
        assert!(
            out.status.success(),
            "initdb failed:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let port = free_port();
        let log_file = fs_err::OpenOptions::new()
            .append(true)
            .open(&log)
            .expect("open the log");
        let child = as_server_user(&bin.join("postgres"))
            .arg("-D")
            .arg(&data)
            .args(["-p", &port.to_string()])
            .args(["-c", "listen_addresses=127.0.0.1"])
            .args(["-c", "unix_socket_directories="])
            .args(["-c", "fsync=off", "-c", "max_connections=100"])
            .current_dir(dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::from(log_file.into_parts().0))
            .spawn()
            .expect("start postgres");
        let mut pg = Postgres {
            child,
            port,
            _dir: dir,
        };
        wait_for(
            Duration::from_secs(60),
            "postgres accepting connections",
            || {
                if let Ok(Some(status)) = pg.child.try_wait() {
                    panic!("postgres exited ({status}):\n{}", log_tail(&log));
                }
                let out = Command::new(bin.join("pg_isready"))
                    .args(["-h", "127.0.0.1", "-p", &port.to_string(), "-U", USER])
                    .output()
                    .map_err(|e| e.to_string())?;
                if out.status.success() {
                    Ok(())
                } else {
                    Err(String::from_utf8_lossy(&out.stdout).into_owned())
                }
            },
        );
        pg
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        // Only the server this guard started: SIGINT is postgres's fast shutdown.
        // SAFETY: kill has no memory preconditions; the pid is our own child's.
        unsafe {
            libc::kill(self.child.id() as libc::pid_t, libc::SIGINT);
        }
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(15) {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Postgres {
    /// `postgres://x07@127.0.0.1:PORT/DB` (the password goes in `PGPASSWORD`).
    pub fn url(&self, db: &str) -> String {
        format!("postgres://{USER}@127.0.0.1:{}/{db}", self.port)
    }

    /// Creates database `name` (as the superuser, over `psql`).
    #[track_caller]
    pub fn create_database(&self, name: &str) {
        self.psql("postgres", &format!("CREATE DATABASE {name}"));
    }

    /// Runs `sql` in database `db` with `psql`; returns its unaligned, tuples-only output.
    #[track_caller]
    pub fn psql(&self, db: &str, sql: &str) -> String {
        let out = Command::new(need_program("psql", "postgresql-client"))
            .args([
                "-h",
                "127.0.0.1",
                "-p",
                &self.port.to_string(),
                "-U",
                USER,
                "-d",
                db,
            ])
            .args(["-v", "ON_ERROR_STOP=1", "-X", "-A", "-t", "-c", sql])
            .env("PGPASSWORD", PASSWORD)
            .output()
            .expect("run psql");
        assert!(
            out.status.success(),
            "psql {sql}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }
}
