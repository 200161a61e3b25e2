//! The `db` section's kernel layer on its own: the program is built with the in-process checks
//! compiled out (the builder's test-only switch, `common_sandbox::kernel_only`) and linked with a
//! hostile package (`tests/sandbox/db_kernel`: C that calls connect, sendto and open directly),
//! then started through x07's launcher on the `os` backend. Each attack is judged by what arrived
//! outside — a listener's accepts, a datagram, files in a directory no policy field names — never
//! by what the program says. Where the kernel layer cannot be exact (Landlock's TCP rules are per
//! port; a read-write SQLite database opens its directory; DNS needs UDP), the test asserts the
//! limit documented in docs/internals/sandbox.md ("What the kernel layer does not cover").
//!
//! Harmless if the sandbox fails: loopback only, files only under the test's temporary directory.
//! Needs root (the `os` backend), like the other `os` runs of the `os_db_*` tests.

mod common_db;

mod common_sandbox {
    #![allow(dead_code)]
    pub mod kernel_only;
    pub mod listener;
    pub mod privileges;
    pub mod run_view;
}

use std::net::{TcpListener, UdpSocket};
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::{json, Value};
use x07_runner::RunLimits;
use x07_tests::postgres::{Postgres, PASSWORD, USER};
use x07_tests::{x07_bin, X07Home, X07Invocation};

use common_db::*;
use common_sandbox::kernel_only::{
    build_kernel_only_with_package, effective_policy, launch, launcher_in, KernelOnlyLaunch,
};
use common_sandbox::listener::LoopbackListener;
use common_sandbox::privileges::os_backend_unavailable;
use common_sandbox::run_view::RunView;

/// The player's builtins; a call's kind is the 1-based index.
const BUILTINS: &[&str] = &[
    "os.db.pg.open_v1",
    "os.db.sqlite.open_v1",
    "os.db.sqlite.exec_v1",
    "dbprobe.native",
    "dbprobe.tcp",
];
const PG_OPEN: u8 = 1;
const SQLITE_OPEN: u8 = 2;
const SQLITE_EXEC: u8 = 3;
const NATIVE: u8 = 4;
const NET_TCP: u8 = 5;

/// libpq's connect failure (docs/stdlib/os-db.md).
const PG_CONNECT: u32 = 53523;
/// SQLite's open failure.
const SQLITE_OPEN_FAILED: u32 = 53504;
/// `os.net.tcp_connect_v1`'s policy_denied, also its answer to the kernel's EACCES / EPERM.
const NET_POLICY_DENIED: u32 = 1;

/// One attack's project: `<outer>/proj` (read root `.`, write root `out`), `<outer>/outside`
/// (no root covers it), the hostile package at `proj/pkg`, one `X07_HOME`.
struct Attack {
    home: X07Home,
    outer: tempfile::TempDir,
}

impl Attack {
    fn new(name: &str) -> Self {
        if let Some(reason) = os_backend_unavailable() {
            panic!("this test needs the os backend: {reason}");
        }
        let outer = tempfile::Builder::new()
            .prefix(&format!("x07-db-kernel-{name}-"))
            .tempdir()
            .expect("create the test directory");
        let a = Self {
            home: X07Home::new().expect("create a temporary X07_HOME"),
            outer,
        };
        fs_err::create_dir_all(a.project()).unwrap();
        fs_err::create_dir_all(a.outside()).unwrap();
        for args in [&["init"][..], &["policy", "init", "--template", "cli"][..]] {
            let out = X07Invocation::new(x07_bin())
                .home(&a.home)
                .current_dir(a.project())
                .args(args)
                .timeout(Duration::from_secs(120))
                .run()
                .unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(out.exit_code, Some(0), "x07 {args:?}\n{}", out.describe());
        }
        let mut program =
            player_program(&BUILTINS.iter().map(|b| b.to_string()).collect::<Vec<_>>());
        program["imports"] = json!(["dbprobe"]);
        fs_err::write(
            a.project().join("src/main.x07.json"),
            serde_json::to_vec_pretty(&program).unwrap(),
        )
        .unwrap();
        let pkg = Path::new(env!("CARGO_MANIFEST_DIR")).join("sandbox/db_kernel");
        for rel in [
            "x07-package.json",
            "modules/dbprobe.x07.json",
            "ffi/dbprobe.c",
        ] {
            let dest = a.project().join("pkg").join(rel);
            fs_err::create_dir_all(dest.parent().unwrap()).unwrap();
            fs_err::copy(pkg.join(rel), dest).unwrap();
        }
        a
    }

    fn project(&self) -> PathBuf {
        self.outer.path().join("proj")
    }

    fn outside(&self) -> PathBuf {
        self.outer.path().join("outside")
    }

    /// Runs `calls` kernel-only under the `cli` policy with `db` as its db section; the answers.
    #[track_caller]
    fn run(&self, db: Value, calls: &[Call]) -> (RunView, Vec<Vec<u8>>) {
        let project = self.project();
        let base = project.join(".x07/policies/base/cli.sandbox.base.policy.json");
        let mut policy: Value = serde_json::from_slice(&fs_err::read(&base).unwrap()).unwrap();
        policy["db"] = db;
        fs_err::write(&base, serde_json::to_vec_pretty(&policy).unwrap()).unwrap();
        let exe = build_kernel_only_with_package(self.home.path(), &project, Some("pkg"))
            .unwrap_or_else(|e| panic!("{e}"));
        let launcher = launcher_in(self.home.path()).unwrap_or_else(|e| panic!("{e}"));
        let policy = effective_policy(&project, &base, &[]).unwrap_or_else(|e| panic!("{e}"));
        let run = launch(&KernelOnlyLaunch {
            exe: &exe,
            launcher: &launcher,
            project: &project,
            policy: &policy,
            input: &player_input(calls),
            limits: RunLimits::default(),
            env: Vec::new(),
        })
        .unwrap_or_else(|e| panic!("{e}"));
        let backend = run.sandbox.as_ref().and_then(|s| s.get("backend"));
        assert!(
            run.ok && backend == Some(&json!("os")),
            "the run should end normally on the os backend\n{}",
            run.describe()
        );
        // no in-process check exists to write a denial: one would mean the switch did not work
        assert!(
            run.denials.as_ref().is_none_or(|d| d.is_empty()),
            "the in-process checks should be compiled out\n{}",
            run.describe()
        );
        let frames = frames(&run.output);
        assert_eq!(
            frames.len(),
            calls.len(),
            "one answer per call\n{}",
            run.describe()
        );
        (run, frames)
    }
}

/// `u32 len | bytes` frames.
fn frames(bytes: &[u8]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut i = 0;
    while i + 4 <= bytes.len() {
        let n = u32::from_le_bytes(bytes[i..i + 4].try_into().unwrap()) as usize;
        out.push(bytes[i + 4..(i + 4 + n).min(bytes.len())].to_vec());
        i += 4 + n;
    }
    out
}

fn text(frame: &[u8]) -> String {
    String::from_utf8_lossy(frame).into_owned()
}

fn native(cmd: &str) -> Call {
    Call::new(NATIVE, cmd.as_bytes().to_vec(), vec![])
}

fn pg_open(host: &str, port: u16) -> Call {
    let req = cat(&[
        b"X7PO",
        &u32le(1),
        &u32le(0),
        &field(host.as_bytes()),
        &u32le(port as u32),
        &field(USER.as_bytes()),
        &field(PASSWORD.as_bytes()),
        &field(b"postgres"),
    ]);
    Call::new(PG_OPEN, req, default_caps())
}

fn net_tcp(host: &str, port: u16) -> Call {
    Call::new(
        NET_TCP,
        host.as_bytes().to_vec(),
        u32le(port as u32).to_vec(),
    )
}

fn sqlite_open(path: &Path, flags: u32) -> Call {
    let req = cat(&[
        b"X7SO",
        &u32le(1),
        &u32le(flags),
        &field(path.to_str().unwrap().as_bytes()),
    ]);
    Call::new(SQLITE_OPEN, req, default_caps())
}

fn sqlite_exec(conn: u32, sql: &str) -> Call {
    let req = cat(&[
        b"X7SE",
        &u32le(1),
        &u32le(conn),
        &u32le(0),
        &field(sql.as_bytes()),
        &field(b""),
    ]);
    Call::new(SQLITE_EXEC, req, default_caps())
}

/// Whether a datagram arrives on `sock` within a short wait.
fn datagram_arrived(sock: &UdpSocket) -> bool {
    let mut buf = [0u8; 64];
    sock.recv_from(&mut buf).is_ok()
}

/// Whether `listener` (non-blocking) has a connection waiting, polled for a short while.
fn connection_arrived(listener: &TcpListener) -> bool {
    for _ in 0..20 {
        if listener.accept().is_ok() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    false
}

#[test]
fn db_net_lets_only_the_allowed_port_through_the_kernel_layer() {
    let pg = Postgres::start();
    // port Q of 127.0.0.1, which db.net does not list
    let q = LoopbackListener::start().expect("a listener on 127.0.0.1");
    let udp = UdpSocket::bind("127.0.0.1:0").expect("a UDP socket on 127.0.0.1");
    udp.set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    let udp_port = udp.local_addr().unwrap().port();
    // the allowed port P on another loopback address: Landlock's rules name ports, not addresses
    let other_addr = TcpListener::bind(("127.0.0.2", pg.port)).expect("bind 127.0.0.2:P");
    other_addr.set_nonblocking(true).unwrap();
    let a = Attack::new("net");
    // only addresses listed, no names: no DNS, so no UDP at all
    let mut db = net_db("postgres", pg.port, false);
    db["net"]["allow_dns"] = json!([]);
    let (run, got) = a.run(
        db,
        &[
            pg_open("127.0.0.1", pg.port),
            pg_open("127.0.0.1", q.port()),
            net_tcp("127.0.0.1", q.port()),
            native(&format!("tcp 127.0.0.1 {}", q.port())),
            native(&format!("tcp ::ffff:127.0.0.1 {}", q.port())),
            native(&format!("udp 127.0.0.1 {udp_port}")),
            native(&format!("tcp 127.0.0.1 {}", pg.port)),
            native(&format!("tcp 127.0.0.2 {}", pg.port)),
        ],
    );
    let said: Vec<String> = got.iter().map(|f| text(f)).collect();
    let context = || format!("answers: {said:?}\n{}", run.describe());
    // the controls: the allowed destination is reachable, by the driver and by the C
    assert_eq!(
        Resp::parse(&got[0]),
        opened(1),
        "control: the driver reaches P\n{}",
        context()
    );
    assert_eq!(said[6], "ok", "control: the C reaches P\n{}", context());
    assert_eq!(
        q.accepted(),
        0,
        "port Q (not in db.net.allow_ports) accepted a connection\n{}",
        context()
    );
    assert!(
        matches!(
            Resp::parse(&got[1]),
            Resp::Err {
                op: OP_OPEN,
                code: PG_CONNECT,
                ..
            }
        ),
        "os.db.pg.open_v1 to Q must fail to connect\n{}",
        context()
    );
    assert_eq!(
        got[2],
        u32le(NET_POLICY_DENIED),
        "os.net.tcp_connect_v1 to Q must be refused by the kernel (its EACCES reads policy_denied)\n{}",
        context()
    );
    for i in [3, 4] {
        assert!(
            said[i].starts_with("err:connect:"),
            "connect() to Q must fail\n{}",
            context()
        );
    }
    assert_eq!(
        said[5],
        "err:socket:EPERM",
        "without db.net.allow_dns no UDP socket may exist\n{}",
        context()
    );
    assert!(
        !datagram_arrived(&udp),
        "a datagram arrived on 127.0.0.1:{udp_port}\n{}",
        context()
    );
    // documented limit: the allowed port is reachable on any address
    assert_eq!(
        said[7],
        "ok",
        "documented: P on another address connects\n{}",
        context()
    );
    assert!(
        connection_arrived(&other_addr),
        "documented limit (Landlock TCP rules are per port): 127.0.0.2:P should have been reached\n{}",
        context()
    );
}

#[test]
fn db_net_names_need_udp_for_dns_as_documented() {
    let udp = UdpSocket::bind("127.0.0.1:0").expect("a UDP socket on 127.0.0.1");
    udp.set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    let udp_port = udp.local_addr().unwrap().port();
    let tcp_port = free_port();
    let a = Attack::new("dns");
    // a name listed: DNS is allowed, over UDP as glibc asks for it
    let (run, got) = a.run(
        net_db("postgres", tcp_port, false),
        &[native(&format!("udp 127.0.0.1 {udp_port}"))],
    );
    let said = text(&got[0]);
    assert_eq!(said, "ok", "{}", run.describe());
    assert!(
        datagram_arrived(&udp),
        "documented limit (db.net.allow_dns lets UDP out for DNS): the datagram should arrive\n{}",
        run.describe()
    );
}

#[test]
fn db_sqlite_grants_only_the_listed_database_to_the_kernel_layer() {
    let a = Attack::new("sqlite");
    let dir_a = a.project().join("dbs");
    fs_err::create_dir_all(&dir_a).unwrap();
    let app = dir_a.join("app.db");
    let b = a.outside();
    let existing = b.join("existing.txt");
    fs_err::write(&existing, b"untouched").unwrap();
    let db = |readonly_only: bool| {
        json!({
            "enabled": true,
            "drivers": {"sqlite": true, "postgres": false, "mysql": false, "redis": false},
            "sqlite": {"allow_paths": [app.to_str().unwrap()], "readonly_only": readonly_only,
                       "allow_create": !readonly_only, "allow_in_memory": false}
        })
    };
    let (run, got) = a.run(
        db(false),
        &[
            sqlite_open(&app, 2),
            sqlite_exec(1, "CREATE TABLE t(x)"),
            sqlite_exec(1, "INSERT INTO t VALUES (1)"),
            sqlite_open(&b.join("evil.db"), 2),
            native(&format!("create {}", b.join("evil.txt").display())),
            native(&format!("write {}", existing.display())),
            native(&format!(
                "create {}",
                a.project().join("planted.txt").display()
            )),
            native(&format!("create {}", dir_a.join("sibling.txt").display())),
        ],
    );
    let said: Vec<String> = got.iter().map(|f| text(f)).collect();
    let context = || format!("answers: {said:?}\n{}", run.describe());
    assert_eq!(
        Resp::parse(&got[0]),
        opened(1),
        "control: the listed file opens\n{}",
        context()
    );
    assert!(
        matches!(Resp::parse(&got[2]), Resp::Ok { op: OP_EXEC, .. }),
        "control: the listed file is writable\n{}",
        context()
    );
    assert!(
        matches!(
            Resp::parse(&got[3]),
            Resp::Err {
                op: OP_OPEN,
                code: SQLITE_OPEN_FAILED,
                ..
            }
        ),
        "os.db.sqlite.open_v1 of a file in another directory must fail\n{}",
        context()
    );
    let in_b: Vec<String> = fs_err::read_dir(&b)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        in_b,
        ["existing.txt"],
        "something was created in {}\n{}",
        b.display(),
        context()
    );
    assert_eq!(
        fs_err::read(&existing).unwrap(),
        b"untouched",
        "{}",
        context()
    );
    assert!(
        !a.project().join("planted.txt").exists(),
        "the C wrote into the read root\n{}",
        context()
    );
    // documented limit: a read-write database opens its whole directory
    assert_eq!(
        said[7],
        "ok",
        "documented: the directory of a read-write database is writable\n{}",
        context()
    );
    assert!(dir_a.join("sibling.txt").is_file(), "{}", context());

    // readonly_only: only the file, read-only; its bytes stay as they are
    let before = fs_err::read(&app).unwrap();
    let (run, got) = a.run(
        db(true),
        &[
            sqlite_open(&app, 0),
            sqlite_exec(1, "INSERT INTO t VALUES (2)"),
            native(&format!("write {}", app.display())),
            native(&format!("read {}", app.display())),
            native(&format!("create {}", dir_a.join("sibling2.txt").display())),
        ],
    );
    let said: Vec<String> = got.iter().map(|f| text(f)).collect();
    let context = || format!("answers: {said:?}\n{}", run.describe());
    assert!(
        !matches!(Resp::parse(&got[1]), Resp::Ok { .. }),
        "an INSERT into a readonly_only database must fail\n{}",
        context()
    );
    assert!(
        said[2].starts_with("err:open:"),
        "the C opened the database for writing\n{}",
        context()
    );
    assert_eq!(
        said[3],
        "ok:16",
        "control: the database is readable\n{}",
        context()
    );
    assert!(said[4].starts_with("err:"), "{}", context());
    assert!(!dir_a.join("sibling2.txt").exists(), "{}", context());
    assert_eq!(
        fs_err::read(&app).unwrap(),
        before,
        "the database changed\n{}",
        context()
    );
    let journal = dir_a.join("app.db-journal");
    assert!(
        !journal.exists(),
        "{} was made\n{}",
        journal.display(),
        context()
    );
}
