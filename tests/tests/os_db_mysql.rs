//! `os.db.mysql.*` against a real MariaDB server: each test starts its own `mariadbd` on
//! 127.0.0.1 (a fresh data directory from `mariadb-install-db`, a free port, a password account
//! made over the unix socket), runs X07 programs through `x07 run`, and checks the exact bytes of
//! every answer — rows docs, exec docs, error codes and messages — against the public
//! `std.db.mysql` driver's behaviour (docs/stdlib/os-db.md). The server stops when its guard drops.

mod common_db;

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common_db::*;

const BUILTINS: &[&str] = &[
    "os.db.mysql.open_v1",
    "os.db.mysql.query_v1",
    "os.db.mysql.exec_v1",
    "os.db.mysql.close_v1",
];
const PASSWORD: &str = "x07-secret";

const CONNECT: u32 = 53536;
const QUERY: u32 = 53537;
const EXEC: u32 = 53538;

/// A running mariadbd in a temporary directory; killed (and the directory removed) on drop.
struct MariaDb {
    child: Child,
    port: u16,
    dir: tempfile::TempDir,
}

impl MariaDb {
    fn start() -> Self {
        let install = need_program("mariadb-install-db", "mariadb-server");
        let server = need_program("mariadbd", "mariadb-server");
        let client = need_program("mariadb", "mariadb-client");
        let dir = tempfile::Builder::new()
            .prefix("x07-mariadb-")
            .tempdir()
            .expect("create the server directory");
        let data = dir.path().join("data");
        // root logs in over the unix socket as the OS user running the test; nothing listens
        // on TCP without a password
        let os_user = os_user_name();
        let mut install_cmd = Command::new(install);
        install_cmd.args([
            "--no-defaults".to_owned(),
            format!("--datadir={}", data.display()),
            "--auth-root-authentication-method=socket".to_owned(),
            format!("--auth-root-socket-user={os_user}"),
            "--skip-test-db".to_owned(),
        ]);
        if is_root() {
            install_cmd.arg("--user=root");
        }
        let out = install_cmd.output().expect("run mariadb-install-db");
        assert!(
            out.status.success(),
            "mariadb-install-db failed:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let port = free_port();
        let log = dir.path().join("err.log");
        let mut server_cmd = Command::new(server);
        server_cmd
            .args([
                "--no-defaults".to_owned(),
                format!("--datadir={}", data.display()),
                format!("--socket={}", dir.path().join("sock").display()),
                format!("--pid-file={}", dir.path().join("pid").display()),
                format!("--log-error={}", log.display()),
                format!("--port={port}"),
                "--bind-address=127.0.0.1".to_owned(),
                "--skip-networking=0".to_owned(),
                // error messages then name the client 'user'@'127.0.0.1', whatever /etc/hosts says
                "--skip-name-resolve".to_owned(),
                "--innodb-buffer-pool-size=16M".to_owned(),
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        if is_root() {
            server_cmd.arg("--user=root");
        }
        let child = server_cmd.spawn().expect("start mariadbd");
        let mut db = MariaDb { child, port, dir };
        wait_for(
            Duration::from_secs(60),
            "mariadbd accepting connections",
            || {
                if let Ok(Some(status)) = db.child.try_wait() {
                    panic!("mariadbd exited ({status}):\n{}", log_tail(&log));
                }
                db.sql_as_root(&client, "SELECT 1")
            },
        );
        db.sql_as_root(
            &client,
            &format!(
                "CREATE USER 'x07'@'%' IDENTIFIED BY '{PASSWORD}'; CREATE DATABASE app; \
                 GRANT ALL ON app.* TO 'x07'@'%';"
            ),
        )
        .unwrap_or_else(|e| panic!("create the test account: {e}"));
        db
    }

    fn sql_as_root(&self, client: &PathBuf, sql: &str) -> Result<(), String> {
        let out = Command::new(client)
            .args(["--no-defaults", "-u", &os_user_name(), "-e", sql])
            .arg(format!(
                "--socket={}",
                self.dir.path().join("sock").display()
            ))
            .output()
            .map_err(|e| e.to_string())?;
        if out.status.success() {
            Ok(())
        } else {
            Err(String::from_utf8_lossy(&out.stderr).into_owned())
        }
    }
}

impl Drop for MariaDb {
    fn drop(&mut self) {
        // Only the server this guard started.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn os_user_name() -> String {
    // SAFETY: getpwuid returns a pointer to static storage or NULL; it is read at once.
    unsafe {
        let pw = libc::getpwuid(libc::geteuid());
        assert!(!pw.is_null(), "the test's user has no passwd entry");
        std::ffi::CStr::from_ptr((*pw).pw_name)
            .to_string_lossy()
            .into_owned()
    }
}

// ------------------------------------------------------------------ requests

/// This driver's calls.
const SQL: SqlDriver = SqlDriver(b'M');

fn open(port: u16) -> Call {
    Call::new(
        1,
        SQL.open_req(b"127.0.0.1", port as u32, "x07", PASSWORD, "app"),
        default_caps(),
    )
}

/// The exec doc `{last_insert_id, rows_affected}`.
fn exec_ok(last_insert_id: &'static str, rows_affected: &'static str) -> Resp {
    ok(
        OP_EXEC,
        &doc(&Dm::Map(vec![
            ("last_insert_id", Dm::Num(last_insert_id)),
            ("rows_affected", Dm::Num(rows_affected)),
        ])),
    )
}

/// The query doc `{cols, rows}`.
fn rows(cols: &[&str], rows: Vec<Vec<Dm>>) -> Resp {
    ok(
        OP_QUERY,
        &doc(&Dm::Map(vec![
            ("cols", Dm::Seq(cols.iter().map(|c| s(c)).collect())),
            ("rows", Dm::Seq(rows.into_iter().map(Dm::Seq).collect())),
        ])),
    )
}

// ------------------------------------------------------------------ tests

#[test]
fn rows_round_trip_through_prepared_statements() {
    let db = MariaDb::start();
    let p = Player::new(BUILTINS);
    let bobby = "Robert'); DROP TABLE people; --";
    let got = p.run(&[
        open(db.port),
        SQL.exec(
            1,
            "CREATE TABLE people (id INT AUTO_INCREMENT PRIMARY KEY, name VARCHAR(40), \
             score DOUBLE, ratio FLOAT, born DATE, seen DATETIME(6), span TIME, \
             price DECIMAL(10,2), big BIGINT UNSIGNED, raw BLOB, flag BOOLEAN, note TEXT)",
            &[],
        ),
        SQL.exec(
            1,
            "INSERT INTO people (name, score, ratio, born, seen, span, price, big, raw, flag, note) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            &[
                s(bobby),
                Dm::Num("1.5"),
                Dm::Num("0.25"),
                s("2024-02-29"),
                s("2024-02-29 13:14:15.000016"),
                s("-27:01:02"),
                Dm::Num("12.5"),
                Dm::Num("9223372036854775807"),
                Dm::Str(vec![0, 255, b'\r', b'\n']),
                Dm::Bool(true),
                Dm::Null,
            ],
        ),
        SQL.exec(
            1,
            "INSERT INTO people (name, score) VALUES (?, ?)",
            &[s("zoë"), Dm::Num("1e300")],
        ),
        SQL.query(
            1,
            "SELECT id, name, score, ratio, born, seen, span, price, big, raw, flag, note \
             FROM people ORDER BY id",
            &[],
        ),
        SQL.query(1, "SELECT name FROM people WHERE id = ?", &[Dm::Num("2")]),
        SQL.exec(1, "UPDATE people SET flag = ? WHERE id = 1", &[Dm::Bool(false)]),
        SQL.query(
            1,
            "SELECT 1 AS one, NULL AS nothing, ? AS s, ? AS i, ? AS d, ? AS b, \
             18446744073709551615 AS umax, CAST(0.1 AS DOUBLE) AS tenth",
            &[s("x"), Dm::Num("-3"), Dm::Num("2.25"), Dm::Bool(false)],
        ),
        SQL.close(1),
    ]);
    let cols = [
        "id", "name", "score", "ratio", "born", "seen", "span", "price", "big", "raw", "flag",
        "note",
    ];
    expect(
        &got,
        &[
            opened(1),
            exec_ok("0", "0"),
            exec_ok("1", "1"),
            exec_ok("2", "1"),
            rows(
                &cols,
                vec![
                    vec![
                        Dm::Num("1"),
                        s(bobby),
                        Dm::Num("1.5"),
                        Dm::Num("0.25"),
                        // dates and times as the public driver prints them, quotes included
                        s("'2024-02-29'"),
                        s("'2024-02-29 13:14:15.000016'"),
                        s("'-027:01:02'"),
                        s("12.50"),
                        Dm::Num("9223372036854775807"),
                        Dm::Str(vec![0, 255, b'\r', b'\n']),
                        Dm::Num("1"),
                        Dm::Null,
                    ],
                    vec![
                        Dm::Num("2"),
                        s("zoë"),
                        Dm::Num("1e300"),
                        Dm::Null,
                        Dm::Null,
                        Dm::Null,
                        Dm::Null,
                        Dm::Null,
                        Dm::Null,
                        Dm::Null,
                        Dm::Null,
                        Dm::Null,
                    ],
                ],
            ),
            rows(&["name"], vec![vec![s("zoë")]]),
            exec_ok("0", "1"),
            rows(
                &["one", "nothing", "s", "i", "d", "b", "umax", "tenth"],
                vec![vec![
                    Dm::Num("1"),
                    Dm::Null,
                    s("x"),
                    Dm::Num("-3"),
                    Dm::Num("2.25"),
                    Dm::Num("0"),
                    Dm::Num("18446744073709551615"),
                    Dm::Num("0.1"),
                ]],
            ),
            ok(OP_CLOSE, &[]),
        ],
    );
}

#[test]
fn failures_are_answers_with_the_public_codes() {
    let db = MariaDb::start();
    let p = Player::new(BUILTINS);
    let mut bad_magic = SQL.open_req(b"127.0.0.1", db.port, "x07", PASSWORD, "app");
    bad_magic[0] = b'Y';
    let mut flags_set = SQL.open_req(b"127.0.0.1", db.port, "x07", PASSWORD, "app");
    flags_set[8] = 1;
    let mut trailing = SQL.open_req(b"127.0.0.1", db.port, "x07", PASSWORD, "app");
    trailing.push(0);
    let mut query_flags = sql_req(b"X7MQ", 1, b"SELECT 1", &[]);
    query_flags[12] = 1;
    let three = "SELECT x FROM (SELECT 1 AS x UNION ALL SELECT 2 UNION ALL SELECT 3) t ORDER BY x";
    let three_rows = rows(
        &["x"],
        vec![vec![Dm::Num("1")], vec![Dm::Num("2")], vec![Dm::Num("3")]],
    );
    let Resp::Ok { payload, .. } = &three_rows else {
        unreachable!()
    };
    let doc_len = payload.len() as u32;
    let huge_sql = format!("SELECT 1 -- {}", "x".repeat(1024 * 1024));
    let refused = free_port();
    let got = p.run(&[
        Call::new(
            1,
            SQL.open_req(b"127.0.0.1", db.port, "x07", "wrong", "app"),
            default_caps(),
        ),
        Call::new(
            1,
            SQL.open_req(b"127.0.0.1", refused, "x07", PASSWORD, "app"),
            default_caps(),
        ),
        Call::new(
            1,
            SQL.open_req(b"127.0.0.1", db.port, "", "", "app"),
            default_caps(),
        ),
        Call::new(1, bad_magic, default_caps()),
        Call::new(1, flags_set, default_caps()),
        Call::new(1, trailing, default_caps()),
        Call::new(
            1,
            SQL.open_req(b"127.0.0.1", db.port, "x07", PASSWORD, "app"),
            vec![0; 24],
        ),
        open(db.port),
        SQL.query(9, "SELECT 1", &[]),
        SQL.query(0, "SELECT 1", &[]),
        SQL.query(1, "SELECT * FROM missing", &[]),
        SQL.exec(1, "INSERT INTO missing VALUES (1)", &[]),
        SQL.query(1, "SELECT ?", &[]),
        SQL.query(1, "SELECT ?", &[Dm::Num("1.2.3")]),
        SQL.query(1, "SELECT ?", &[Dm::Num("99999999999999999999")]),
        Call::new(
            2,
            sql_req(b"X7MQ", 1, b"SELECT '\xff'", &[]),
            default_caps(),
        ),
        Call::new(2, query_flags, default_caps()),
        SQL.query_caps(1, three, &[], caps(0, 0, 3, 0)),
        SQL.query_caps(1, three, &[], caps(0, 0, 2, 0)),
        SQL.query_caps(1, three, &[], caps(0, 0, 0, doc_len)),
        SQL.query_caps(1, three, &[], caps(0, 0, 0, doc_len - 1)),
        SQL.query(1, &huge_sql, &[]),
        SQL.close(1),
        SQL.close(1),
        SQL.query(1, "SELECT 1", &[]),
    ]);
    expect(
        &got,
        &[
            err(
                OP_OPEN,
                CONNECT,
                "Server error: `ERROR 1045 (28000): Access denied for user 'x07'@'127.0.0.1' (using password: YES)'",
            ),
            err(
                OP_OPEN,
                CONNECT,
                "Input/output error: Input/output error: Connection refused (os error 111)",
            ),
            err(
                OP_OPEN,
                CONNECT,
                "an empty user name is not supported (libmariadb would send the OS login name)",
            ),
            err(OP_OPEN, BAD_REQ, ""),
            err(OP_OPEN, BAD_REQ, ""),
            err(OP_OPEN, BAD_REQ, ""),
            err(OP_OPEN, BAD_REQ, ""),
            opened(1),
            err(OP_QUERY, BAD_CONN, ""),
            err(OP_QUERY, BAD_CONN, ""),
            err(
                OP_QUERY,
                QUERY,
                "Server error: `ERROR 1146 (42S02): Table 'app.missing' doesn't exist'",
            ),
            err(
                OP_EXEC,
                EXEC,
                "Server error: `ERROR 1146 (42S02): Table 'app.missing' doesn't exist'",
            ),
            err(
                OP_QUERY,
                QUERY,
                "Driver error: `Statement takes 1 parameters but 0 was supplied.'",
            ),
            // numbers bind as i64 or double, as the public driver reads them
            err(OP_QUERY, BAD_REQ, ""),
            err(OP_QUERY, BAD_REQ, ""),
            err(OP_QUERY, BAD_REQ, ""),
            err(OP_QUERY, BAD_REQ, ""),
            three_rows.clone(),
            err(OP_QUERY, TOO_LARGE, ""),
            three_rows,
            err(OP_QUERY, TOO_LARGE, ""),
            err(OP_QUERY, TOO_LARGE, ""),
            ok(OP_CLOSE, &[]),
            err(OP_CLOSE, BAD_CONN, ""),
            err(OP_QUERY, BAD_CONN, ""),
        ],
    );
}

#[test]
fn connection_ids_and_the_permissive_limits() {
    let db = MariaDb::start();
    let p = Player::new(BUILTINS);
    let mut calls: Vec<Call> = (0..9).map(|_| open(db.port)).collect();
    calls.push(SQL.close(3));
    calls.push(open(db.port));
    // 1000 queries and execs per run, counted together; the next one is refused
    calls.push(SQL.query(1, "SELECT 1 AS x", &[]).times(999));
    calls.push(SQL.exec(2, "DO 1", &[]));
    calls.push(SQL.query(1, "SELECT 1 AS x", &[]));
    calls.push(SQL.exec(2, "DO 1", &[]));
    let got = p.run(&calls);
    let mut want: Vec<Resp> = (1..=8).map(opened).collect();
    want.push(err(OP_OPEN, TOO_LARGE, ""));
    want.push(ok(OP_CLOSE, &[]));
    want.push(opened(3));
    want.push(rows(&["x"], vec![vec![Dm::Num("1")]]));
    want.push(exec_ok("0", "0"));
    want.push(err(OP_QUERY, POLICY_DENIED, ""));
    want.push(err(OP_EXEC, POLICY_DENIED, ""));
    expect(&got, &want);
}

#[test]
fn timeouts_hold_and_cut_the_connection() {
    let db = MariaDb::start();
    let p = Player::new(BUILTINS);
    let silent = silent_listener();
    let silent_port = silent.local_addr().unwrap().port();
    // the first run builds the program; the timed one below only runs it
    expect(&p.run(&[SQL.close(1)]), &[err(OP_CLOSE, BAD_CONN, "")]);
    let started = Instant::now();
    let got = p.run(&[
        Call::new(
            1,
            SQL.open_req(b"127.0.0.1", silent_port, "x07", PASSWORD, "app"),
            caps(300, 0, 0, 0),
        ),
        open(db.port),
        SQL.query_caps(1, "SELECT SLEEP(10)", &[], caps(0, 300, 0, 0)),
        SQL.query(1, "SELECT 1", &[]),
        open(db.port),
        Call::new(
            3,
            sql_req(b"X7ME", 1, b"DO SLEEP(10)", &[]),
            caps(0, 300, 0, 0),
        ),
        SQL.exec(1, "DO 1", &[]),
    ]);
    let elapsed = started.elapsed();
    expect(
        &got,
        &[
            err(OP_OPEN, CONNECT, "timeout"),
            opened(1),
            err(OP_QUERY, QUERY, "timeout"),
            err(OP_QUERY, BAD_CONN, ""),
            opened(1),
            err(OP_EXEC, EXEC, "timeout"),
            err(OP_EXEC, BAD_CONN, ""),
        ],
    );
    assert!(
        elapsed < Duration::from_secs(8),
        "three 300 ms timeouts took {elapsed:?}"
    );
    drop(silent);
}

#[test]
fn the_sandboxed_world_fails_closed() {
    // No server: nothing may be contacted.
    let p = Player::new(BUILTINS);
    let got = p.run_sandboxed(&[
        open(3306),
        SQL.query(1, "SELECT 1", &[]),
        SQL.exec(1, "DO 1", &[]),
        SQL.close(1),
    ]);
    expect(
        &got,
        &all_denied("os.db.mysql", &[OP_OPEN, OP_QUERY, OP_EXEC, OP_CLOSE]),
    );
}

#[test]
fn mysql_works_under_the_kernel_layer_only_where_db_net_allows() {
    let db = MariaDb::start();
    // another port of 127.0.0.1: nothing may arrive there
    let other = OtherPort::bind();
    let other_port = other.port;
    let p = Player::new(BUILTINS);
    let out = p.run_sandboxed_with(
        Some(net_db("mysql", db.port, false)),
        "os",
        &[
            open(db.port),
            SQL.exec(
                1,
                "CREATE TABLE t (id INT PRIMARY KEY, name VARCHAR(20))",
                &[],
            ),
            SQL.exec(
                1,
                "INSERT INTO t VALUES (?, ?)",
                &[Dm::Num("7"), s("seven")],
            ),
            SQL.query(1, "SELECT id, name FROM t", &[]),
            SQL.close(1),
            open(other_port),
        ],
    );
    assert_kernel_layer(&out);
    expect(
        &answers(&out, 6),
        &[
            opened(1),
            exec_ok("0", "0"),
            exec_ok("0", "1"),
            rows(&["id", "name"], vec![vec![Dm::Num("7"), s("seven")]]),
            ok(OP_CLOSE, &[]),
            err(
                OP_OPEN,
                POLICY_DENIED,
                &denied_msg(
                    "os.db.mysql.open_v1",
                    &format!("port {other_port} is not in db.net.allow_ports"),
                ),
            ),
        ],
    );
    // TLS required against a server without TLS: refused with upstream's TLS code, never plaintext
    let got = answers(
        &p.run_sandboxed_with(Some(net_db("mysql", db.port, true)), "os", &[open(db.port)]),
        1,
    );
    assert!(
        matches!(
            &got[0],
            Resp::Err {
                op: OP_OPEN,
                code: 53539,
                ..
            }
        ),
        "require_tls must refuse a server without TLS with 53539, got {:?}",
        got[0]
    );
    other.assert_untouched();
}
