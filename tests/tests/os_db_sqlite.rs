//! `os.db.sqlite.*` end to end, beyond the conformance cases (tests/conformance/stdlib/
//! os_db_sqlite_*.json): what needs a large input or another world — the sandboxed world failing
//! closed without touching the filesystem, the permissive policy's 1000 queries per run and
//! 1 MiB of SQL — against the public `std.db.sqlite` driver's behaviour (docs/stdlib/os-db.md).

mod common_db;

use common_db::*;

const BUILTINS: &[&str] = &[
    "os.db.sqlite.open_v1",
    "os.db.sqlite.query_v1",
    "os.db.sqlite.exec_v1",
    "os.db.sqlite.close_v1",
];

const OPEN_FLAG_CREATE: u32 = 2;

fn open_req(path: &str, flags: u32) -> Vec<u8> {
    cat(&[b"X7SO", &u32le(1), &u32le(flags), &field(path.as_bytes())])
}

/// This driver's calls.
const SQL: SqlDriver = SqlDriver(b'S');

fn open(path: &str) -> Call {
    Call::new(1, open_req(path, OPEN_FLAG_CREATE), default_caps())
}

fn rows(cols: &[&str], rows: Vec<Vec<Dm>>) -> Resp {
    ok(
        OP_QUERY,
        &doc(&Dm::Map(vec![
            ("cols", Dm::Seq(cols.iter().map(|c| s(c)).collect())),
            ("rows", Dm::Seq(rows.into_iter().map(Dm::Seq).collect())),
        ])),
    )
}

fn exec_ok(last_insert_id: &'static str, rows_affected: &'static str) -> Resp {
    ok(
        OP_EXEC,
        &doc(&Dm::Map(vec![
            ("last_insert_id", Dm::Num(last_insert_id)),
            ("rows_affected", Dm::Num(rows_affected)),
        ])),
    )
}

#[test]
fn the_sandboxed_world_fails_closed_and_creates_no_file() {
    let p = Player::new(BUILTINS);
    let got = p.run_sandboxed(&[
        open("made.db"),
        SQL.query(1, "SELECT 1", &[]),
        SQL.exec(1, "CREATE TABLE t(x)", &[]),
        SQL.close(1),
    ]);
    expect(
        &got,
        &all_denied("os.db.sqlite", &[OP_OPEN, OP_QUERY, OP_EXEC, OP_CLOSE]),
    );
    // The same script in run-os creates the file: the denial is the world's, not the script's.
    let got = p.run(&[
        open("made.db"),
        SQL.exec(1, "CREATE TABLE t(x)", &[]),
        SQL.close(1),
    ]);
    expect(&got, &[opened(1), exec_ok("0", "0"), ok(OP_CLOSE, &[])]);
    assert!(p.path().join("made.db").is_file(), "run-os creates made.db");
}

#[test]
fn a_run_gets_1000_queries_and_execs_then_policy_denied() {
    let p = Player::new(BUILTINS);
    let got = p.run(&[
        open(":memory:"),
        // a malformed call counts too: the counter runs before the request is read
        Call::new(2, b"junk".to_vec(), default_caps()),
        SQL.exec(1, "CREATE TABLE t(x)", &[]),
        SQL.exec(1, "INSERT INTO t VALUES (?)", &[Dm::Num("7")])
            .times(498),
        SQL.query(1, "SELECT count(*) AS n FROM t", &[]).times(500),
        SQL.query(1, "SELECT 1", &[]),
        SQL.exec(1, "SELECT 1", &[]),
        // opening and closing are not queries
        SQL.close(1),
        open(":memory:"),
    ]);
    expect(
        &got,
        &[
            opened(1),
            err(OP_QUERY, BAD_REQ, ""),
            exec_ok("0", "0"),
            exec_ok("498", "1"),
            rows(&["n"], vec![vec![Dm::Num("498")]]),
            err(OP_QUERY, POLICY_DENIED, ""),
            err(OP_EXEC, POLICY_DENIED, ""),
            ok(OP_CLOSE, &[]),
            opened(1),
        ],
    );
}

#[test]
fn sql_over_one_mib_is_too_large_before_the_connection_is_looked_up() {
    let p = Player::new(BUILTINS);
    let limit = 1024 * 1024;
    let fits = format!("SELECT 1 AS x -- {}", "y".repeat(limit - 17));
    assert_eq!(fits.len(), limit);
    let over = format!("{fits}y");
    let got = p.run(&[
        open(":memory:"),
        SQL.query(1, &fits, &[]),
        SQL.query(1, &over, &[]),
        SQL.exec(1, &over, &[]),
        SQL.query(7, &over, &[]),
        SQL.query(7, &fits, &[]),
    ]);
    expect(
        &got,
        &[
            opened(1),
            rows(&["x"], vec![vec![Dm::Num("1")]]),
            err(OP_QUERY, TOO_LARGE, ""),
            err(OP_EXEC, TOO_LARGE, ""),
            err(OP_QUERY, TOO_LARGE, ""),
            err(OP_QUERY, BAD_CONN, ""),
        ],
    );
}

/// A `db` section allowing the sqlite driver on `out/app.db` (limits: 3 queries).
fn sqlite_db(readonly_only: bool, allow_create: bool) -> serde_json::Value {
    serde_json::json!({
        "enabled": true,
        "drivers": {"sqlite": true, "postgres": false, "mysql": false, "redis": false},
        "max_live_conns": 2, "max_queries": 3, "connect_timeout_ms": 1000, "query_timeout_ms": 1000,
        "max_sql_bytes": 4096, "max_rows": 100, "max_resp_bytes": 65536,
        "sqlite": {"allow_paths": ["out/app.db"], "readonly_only": readonly_only,
                   "allow_create": allow_create, "allow_in_memory": false}
    })
}

fn open_flags(path: &str, flags: u32) -> Call {
    Call::new(1, open_req(path, flags), default_caps())
}

#[test]
fn sqlite_works_under_the_kernel_layer_within_the_db_section() {
    let p = Player::new(BUILTINS);
    // the directory of a database must exist when the run starts (the kernel layer grants it)
    fs_err::create_dir_all(p.project_dir().join("out")).unwrap();
    let out = p.run_sandboxed_with(
        Some(sqlite_db(false, true)),
        "os",
        &[
            open("out/app.db"),
            SQL.exec(1, "CREATE TABLE t(x)", &[]),
            SQL.exec(1, "INSERT INTO t VALUES (?)", &[Dm::Num("7")]),
            SQL.query(1, "SELECT x FROM t", &[]),
            SQL.query(1, "SELECT 1", &[]),
            SQL.close(1),
        ],
    );
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        all.contains("\"sandbox_backend\":\"os\""),
        "the kernel layer ran\n{}",
        out.describe()
    );
    let got = answers(&out, 6);
    expect(
        &got,
        &[
            opened(1),
            exec_ok("0", "0"),
            exec_ok("1", "1"),
            rows(&["x"], vec![vec![Dm::Num("7")]]),
            err(
                OP_QUERY,
                POLICY_DENIED,
                "denied by the run policy: db.max_queries reached",
            ),
            ok(OP_CLOSE, &[]),
        ],
    );
    assert!(p.project_dir().join("out/app.db").is_file());
}

#[test]
fn each_sqlite_rule_of_the_db_section_refuses_with_its_field() {
    let p = Player::new(BUILTINS);
    let dir = p.project_dir().to_path_buf();
    let abs = |rel: &str| dir.join(rel).to_str().unwrap().to_owned();
    let open_op = "os.db.sqlite.open_v1";
    let got = answers(
        &p.run_sandboxed_with(
            Some(sqlite_db(false, false)),
            "os",
            &[
                open("out/app.db"),
                open_flags("out/other.db", 0),
                open_flags(":memory:", 0),
                open_flags("", 0),
            ],
        ),
        4,
    );
    expect(
        &got,
        &[
            err(
                OP_OPEN,
                POLICY_DENIED,
                &denied_msg(open_op, "db.sqlite.allow_create is false"),
            ),
            err(
                OP_OPEN,
                POLICY_DENIED,
                &denied_msg(
                    open_op,
                    &format!("{} is not in db.sqlite.allow_paths", abs("out/other.db")),
                ),
            ),
            err(
                OP_OPEN,
                POLICY_DENIED,
                &denied_msg(open_op, "db.sqlite.allow_in_memory is false"),
            ),
            err(
                OP_OPEN,
                POLICY_DENIED,
                &denied_msg(open_op, "an empty path is not in db.sqlite.allow_paths"),
            ),
        ],
    );
    // made in run-os, then opened read-only: writing fails in SQLite, not in the policy
    fs_err::create_dir_all(dir.join("out")).unwrap();
    let made = p.run(&[
        open(&abs("out/app.db")),
        SQL.exec(1, "CREATE TABLE t(x)", &[]),
    ]);
    expect(&made, &[opened(1), exec_ok("0", "0")]);
    let got = answers(
        &p.run_sandboxed_with(
            Some(sqlite_db(true, false)),
            "os",
            &[
                open_flags("out/app.db", 0),
                open_flags("out/app.db", 1),
                SQL.exec(1, "INSERT INTO t VALUES (1)", &[]),
                SQL.query(1, "SELECT count(*) AS n FROM t", &[]),
            ],
        ),
        4,
    );
    expect(
        &got,
        &[
            err(
                OP_OPEN,
                POLICY_DENIED,
                &denied_msg(
                    open_op,
                    "db.sqlite.readonly_only is true; open with the read-only flag",
                ),
            ),
            opened(1),
            err(OP_EXEC, 53506, ""),
            rows(&["n"], vec![vec![Dm::Num("0")]]),
        ],
    );
    // the driver switched off
    let mut db = sqlite_db(false, true);
    db["drivers"]["sqlite"] = false.into();
    db["drivers"]["postgres"] = true.into();
    let got = answers(
        &p.run_sandboxed_with(Some(db), "none", &[open("out/app.db")]),
        1,
    );
    expect(
        &got,
        &[err(
            OP_OPEN,
            POLICY_DENIED,
            &denied_msg("os.db.sqlite", "db.drivers.sqlite is false"),
        )],
    );
}
