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

fn sql_req(magic: &[u8; 4], conn: u32, sql: &[u8], params_doc: &[u8]) -> Vec<u8> {
    cat(&[
        magic,
        &u32le(1),
        &u32le(conn),
        &u32le(0),
        &field(sql),
        &field(params_doc),
    ])
}

fn open(path: &str) -> Call {
    Call::new(1, open_req(path, OPEN_FLAG_CREATE), default_caps())
}

fn query(conn: u32, sql: &str, ps: &[Dm]) -> Call {
    let p = if ps.is_empty() { vec![] } else { params(ps) };
    Call::new(
        2,
        sql_req(b"X7SQ", conn, sql.as_bytes(), &p),
        default_caps(),
    )
}

fn exec(conn: u32, sql: &str, ps: &[Dm]) -> Call {
    let p = if ps.is_empty() { vec![] } else { params(ps) };
    Call::new(
        3,
        sql_req(b"X7SE", conn, sql.as_bytes(), &p),
        default_caps(),
    )
}

fn close(conn: u32) -> Call {
    Call::new(4, cat(&[b"X7SC", &u32le(1), &u32le(conn)]), vec![])
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
        query(1, "SELECT 1", &[]),
        exec(1, "CREATE TABLE t(x)", &[]),
        close(1),
    ]);
    expect(
        &got,
        &[
            err(OP_OPEN, POLICY_DENIED, SANDBOX_MSG),
            err(OP_QUERY, POLICY_DENIED, SANDBOX_MSG),
            err(OP_EXEC, POLICY_DENIED, SANDBOX_MSG),
            err(OP_CLOSE, POLICY_DENIED, SANDBOX_MSG),
        ],
    );
    // The same script in run-os creates the file: the denial is the world's, not the script's.
    let got = p.run(&[open("made.db"), exec(1, "CREATE TABLE t(x)", &[]), close(1)]);
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
        exec(1, "CREATE TABLE t(x)", &[]),
        exec(1, "INSERT INTO t VALUES (?)", &[Dm::Num("7")]).times(498),
        query(1, "SELECT count(*) AS n FROM t", &[]).times(500),
        query(1, "SELECT 1", &[]),
        exec(1, "SELECT 1", &[]),
        // opening and closing are not queries
        close(1),
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
        query(1, &fits, &[]),
        query(1, &over, &[]),
        exec(1, &over, &[]),
        query(7, &over, &[]),
        query(7, &fits, &[]),
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
