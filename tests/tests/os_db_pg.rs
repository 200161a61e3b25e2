//! `os.db.pg.*` against a real PostgreSQL server: each test starts its own `postgres` on
//! 127.0.0.1 (a fresh cluster from `initdb` in a temporary directory, a free port, a superuser
//! `x07` that must log in with its SCRAM password; as root the server runs as the `postgres`
//! system user), runs X07 programs through `x07 run`, and checks the exact bytes of every answer —
//! rows docs, exec docs, error codes and messages — against the public `std.db.pg` driver's
//! behaviour (docs/stdlib/os-db.md). The server stops when its guard drops.

mod common_db;

use std::time::{Duration, Instant};

use common_db::*;
use x07_tests::postgres::{Postgres, PASSWORD, USER};

const BUILTINS: &[&str] = &[
    "os.db.pg.open_v1",
    "os.db.pg.query_v1",
    "os.db.pg.exec_v1",
    "os.db.pg.close_v1",
];

/// Upstream's TLS-capable connector reports every connect failure with this code.
const CONNECT: u32 = 53523;
const QUERY: u32 = 53521;
const EXEC: u32 = 53522;

// ------------------------------------------------------------------ requests

/// This driver's calls.
const SQL: SqlDriver = SqlDriver(b'P');

fn open(port: u16) -> Call {
    Call::new(
        1,
        SQL.open_req(b"127.0.0.1", port as u32, USER, PASSWORD, "postgres"),
        default_caps(),
    )
}

/// The exec doc: upstream's last_insert_id is always 0 for PostgreSQL.
fn exec_ok(rows_affected: &'static str) -> Resp {
    ok(
        OP_EXEC,
        &doc(&Dm::Map(vec![
            ("last_insert_id", Dm::Num("0")),
            ("rows_affected", Dm::Num(rows_affected)),
        ])),
    )
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

/// The message upstream gives a parameter the server typed as something other than text.
fn wrong_type(index: usize, pg_type: &str) -> String {
    format!(
        "error serializing parameter {index}: cannot convert between the Rust type \
         `core::option::Option<alloc::string::String>` and the Postgres type `{pg_type}`"
    )
}

// ------------------------------------------------------------------ tests

#[test]
fn rows_round_trip_through_bound_parameters() {
    let pg = Postgres::start();
    let p = Player::new(BUILTINS);
    let bobby = "Robert'); DROP TABLE items; --";
    let cols = [
        "id", "name", "qty", "price", "ratio", "big", "small", "ok", "raw", "note", "code",
        "amount", "born",
    ];
    let got = p.run(&[
        open(pg.port),
        SQL.exec(
            1,
            "CREATE TABLE items (id serial PRIMARY KEY, name text NOT NULL, qty int4, \
             price float8, ratio float4, big int8, small int2, ok bool, raw bytea, \
             note varchar(20), code char(3), amount numeric, born date)",
            &[],
        ),
        // upstream binds every value as text: non-text columns take it through a cast
        SQL.exec(
            1,
            "INSERT INTO items (name, qty, price, ratio, big, small, ok, raw, note, code, amount, born) \
             VALUES ($1, $2::text::int4, $3::text::float8, $4::text::float4, $5::text::int8, \
             $6::text::int2, $7::text::bool, decode($8, 'hex'), $9, $10, $11::text::numeric, \
             $12::text::date)",
            &[
                s(bobby),
                Dm::Num("7"),
                Dm::Num("2.5"),
                Dm::Num("0.1"),
                Dm::Num("9007199254740993"),
                Dm::Num("-3"),
                Dm::Bool(true),
                s("00ff0d0a"),
                s("zoë"),
                s("ab"),
                Dm::Num("12.50"),
                s("2024-02-29"),
            ],
        ),
        SQL.exec(
            1,
            "INSERT INTO items (name, note) VALUES ($1, $2), ($3, $4)",
            &[s("second"), Dm::Null, s("third"), s("x")],
        ),
        SQL.query(1, &format!("SELECT {} FROM items ORDER BY id", cols.join(", ")), &[]),
        SQL.query(1, "SELECT name FROM items WHERE name = $1", &[s(bobby)]),
        SQL.query(
            1,
            "SELECT $1 AS echo, $2::text IS NULL AS isnull",
            &[s("it's"), Dm::Null],
        ),
        SQL.exec(
            1,
            "UPDATE items SET qty = coalesce(qty, 0) + 1 WHERE id >= $1::text::int4",
            &[Dm::Num("2")],
        ),
        SQL.exec(1, "SELECT * FROM items", &[]),
        SQL.query(
            1,
            "SELECT 1e20::float8 AS a, 0.1::float4 AS b, 'NaN'::float8 AS c, \
             '-Infinity'::float8 AS d, 1.5e-7::float8 AS e, 16777217::float4 AS f, \
             0.30000000000000004::float8 AS g, 100::float8 AS h, '-0'::float8 AS i, true AS j, \
             32767::int2 AS k, (-2147483648)::int4 AS l, (-9223372036854775808)::int8 AS m, \
             'nm'::name AS n, '{1,2}'::int4[] AS o, '{\"a\": 1}'::jsonb AS q",
            &[],
        ),
        // extension types upstream reads as text, found by name; other custom types are not
        SQL.exec(1, "CREATE EXTENSION citext", &[]),
        SQL.exec(1, "CREATE EXTENSION ltree", &[]),
        SQL.query(
            1,
            "SELECT $1::citext AS c, $2::ltree AS l, 'Q'::citext = 'q' AS eq",
            &[s("MiXed"), s("top.child")],
        ),
        SQL.exec(1, "CREATE TYPE mood AS ENUM ('happy')", &[]),
        SQL.exec(1, "CREATE SCHEMA s2", &[]),
        SQL.exec(1, "CREATE TYPE s2.t AS ENUM ('a')", &[]),
        SQL.query(1, "SELECT 'happy'::mood AS m", &[]),
        SQL.query(1, "SELECT $1::mood AS m", &[s("happy")]),
        SQL.query(1, "SELECT $1::s2.t AS t", &[s("a")]),
        SQL.query(1, "SELECT name FROM items WHERE false", &[]),
        SQL.query(1, "", &[]),
        SQL.close(1),
        SQL.close(1),
        SQL.query(1, "SELECT 1", &[]),
    ]);
    let nulls = |n: usize| vec![Dm::Null; n];
    let row = |id: &'static str, name: &str, qty: Dm, note: Dm| {
        let mut r = vec![Dm::Num(id), s(name), qty];
        r.extend(nulls(6));
        r.push(note);
        r.extend(nulls(3));
        r
    };
    expect(
        &got,
        &[
            opened(1),
            exec_ok("0"),
            exec_ok("1"),
            exec_ok("2"),
            rows(
                &cols,
                vec![
                    vec![
                        Dm::Num("1"),
                        s(bobby),
                        Dm::Num("7"),
                        Dm::Num("2.5"),
                        Dm::Num("0.1"),
                        Dm::Num("9007199254740993"),
                        Dm::Num("-3"),
                        // a bool comes back as the number 1 or 0, as upstream writes it
                        Dm::Num("1"),
                        Dm::Str(vec![0, 255, b'\r', b'\n']),
                        s("zoë"),
                        s("ab "),
                        // types upstream does not convert (numeric, date, arrays, json) are null
                        Dm::Null,
                        Dm::Null,
                    ],
                    row("2", "second", Dm::Null, Dm::Null),
                    row("3", "third", Dm::Null, s("x")),
                ],
            ),
            rows(&["name"], vec![vec![s(bobby)]]),
            rows(&["echo", "isnull"], vec![vec![s("it's"), Dm::Num("1")]]),
            exec_ok("2"),
            exec_ok("3"),
            rows(
                &[
                    "a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l", "m", "n", "o", "q",
                ],
                vec![vec![
                    Dm::Num("1e20"),
                    Dm::Num("0.1"),
                    Dm::Num("NaN"),
                    Dm::Num("-inf"),
                    Dm::Num("1.5e-7"),
                    Dm::Num("16777216.0"),
                    Dm::Num("0.30000000000000004"),
                    Dm::Num("100.0"),
                    Dm::Num("-0.0"),
                    Dm::Num("1"),
                    Dm::Num("32767"),
                    Dm::Num("-2147483648"),
                    Dm::Num("-9223372036854775808"),
                    s("nm"),
                    Dm::Null,
                    Dm::Null,
                ]],
            ),
            exec_ok("0"),
            exec_ok("0"),
            rows(
                &["c", "l", "eq"],
                vec![vec![s("MiXed"), s("top.child"), Dm::Num("1")]],
            ),
            exec_ok("0"),
            exec_ok("0"),
            exec_ok("0"),
            rows(&["m"], vec![vec![Dm::Null]]),
            err(OP_QUERY, QUERY, &wrong_type(0, "mood")),
            err(OP_QUERY, QUERY, &wrong_type(0, "s2.t")),
            rows(&["name"], vec![]),
            rows(&[], vec![]),
            ok(OP_CLOSE, &[]),
            err(OP_CLOSE, BAD_CONN, ""),
            err(OP_QUERY, BAD_CONN, ""),
        ],
    );
}

#[test]
fn failures_are_answers_with_the_public_codes() {
    let pg = Postgres::start();
    let p = Player::new(BUILTINS);
    let port = pg.port as u32;
    let good = || SQL.open_req(b"127.0.0.1", port, USER, PASSWORD, "postgres");
    let mut flags_set = good();
    flags_set[8] = 1;
    let mut trailing = good();
    trailing.push(0);
    let mut query_flags = sql_req(b"X7PQ", 1, b"SELECT 1", &[]);
    query_flags[12] = 1;
    let three = "SELECT x FROM generate_series(1, 3) AS g(x)";
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
    let auth_failed =
        |user: &str| format!("db error: FATAL: password authentication failed for user \"{user}\"");
    let got = p.run(&[
        Call::new(
            1,
            SQL.open_req(b"127.0.0.1", port, USER, "wrong", "postgres"),
            default_caps(),
        ),
        Call::new(
            1,
            SQL.open_req(b"127.0.0.1", port, "nobody", PASSWORD, "postgres"),
            default_caps(),
        ),
        Call::new(
            1,
            SQL.open_req(b"127.0.0.1", refused as u32, USER, PASSWORD, "postgres"),
            default_caps(),
        ),
        Call::new(
            1,
            SQL.open_req(b"", port, USER, PASSWORD, "postgres"),
            default_caps(),
        ),
        Call::new(1, flags_set, default_caps()),
        Call::new(1, trailing, default_caps()),
        Call::new(
            1,
            SQL.open_req(b"127.0.0.1", 0u32, USER, PASSWORD, "postgres"),
            default_caps(),
        ),
        Call::new(
            1,
            SQL.open_req(b"127.0.0.1", 65536u32, USER, PASSWORD, "postgres"),
            default_caps(),
        ),
        Call::new(
            1,
            SQL.open_req(b"\xff", port, USER, PASSWORD, "postgres"),
            default_caps(),
        ),
        Call::new(1, good(), vec![0; 24]),
        open(pg.port),
        SQL.query(9, "SELECT 1", &[]),
        SQL.query(0, "SELECT 1", &[]),
        Call::new(2, query_flags, default_caps()),
        SQL.query(1, "SELEC 1", &[]),
        SQL.exec(1, "INSERT INTO missing VALUES (1)", &[]),
        SQL.query(1, "SELECT $1::int4 + 1", &[Dm::Num("1")]),
        SQL.exec(1, "SELECT $1, $2", &[s("a"), Dm::Null]),
        SQL.query(1, "SELECT $1, $2", &[s("a")]),
        SQL.query(1, "SELECT 1\0", &[]),
        Call::new(
            2,
            sql_req(b"X7PQ", 1, b"SELECT '\xff'", &[]),
            default_caps(),
        ),
        SQL.query(1, "SELECT $1", &[Dm::Str(vec![0xc3])]),
        SQL.query(1, "SELECT $1", &[Dm::Seq(vec![])]),
        SQL.exec(1, "CREATE TABLE u (id int4 PRIMARY KEY)", &[]),
        SQL.exec(1, "INSERT INTO u VALUES (1)", &[]),
        SQL.exec(1, "INSERT INTO u VALUES (1)", &[]),
        SQL.query(1, "SELECT 1/0", &[]),
        SQL.exec(1, "BEGIN", &[]),
        SQL.exec(1, "SELECT 1/0", &[]),
        SQL.query(1, "SELECT 1 AS x", &[]),
        SQL.exec(1, "ROLLBACK", &[]),
        SQL.query(1, "SELECT 1 AS x", &[]),
        SQL.query_caps(1, three, &[], caps(0, 0, 3, 0)),
        SQL.query_caps(1, three, &[], caps(0, 0, 2, 0)),
        SQL.query_caps(1, three, &[], caps(0, 0, 0, doc_len)),
        SQL.query_caps(1, three, &[], caps(0, 0, 0, doc_len - 1)),
        SQL.query(1, &huge_sql, &[]),
        SQL.close(1),
    ]);
    // the refused connection's text is libpq's (it names the address); the code is upstream's
    match &got[2] {
        Resp::Err { op, code, msg } => {
            assert_eq!((*op, *code), (OP_OPEN, CONNECT), "{got:?}");
            assert!(msg.starts_with("error connecting to server: "), "{msg}");
            assert!(msg.contains("Connection refused"), "{msg}");
        }
        other => panic!("an open to a closed port succeeded: {other:?}"),
    }
    let mut got = got;
    got[2] = err(OP_OPEN, CONNECT, "(refused)");
    expect(
        &got,
        &[
            err(OP_OPEN, CONNECT, &auth_failed(USER)),
            err(OP_OPEN, CONNECT, &auth_failed("nobody")),
            err(OP_OPEN, CONNECT, "(refused)"),
            err(
                OP_OPEN,
                CONNECT,
                "error connecting to server: failed to lookup address information: Name or service not known",
            ),
            err(OP_OPEN, BAD_REQ, ""),
            err(OP_OPEN, BAD_REQ, ""),
            err(OP_OPEN, BAD_REQ, ""),
            err(OP_OPEN, BAD_REQ, ""),
            err(OP_OPEN, BAD_REQ, ""),
            err(OP_OPEN, BAD_REQ, ""),
            opened(1),
            err(OP_QUERY, BAD_CONN, ""),
            err(OP_QUERY, BAD_CONN, ""),
            err(OP_QUERY, BAD_REQ, ""),
            err(OP_QUERY, QUERY, "db error: ERROR: syntax error at or near \"SELEC\""),
            err(OP_EXEC, EXEC, "db error: ERROR: relation \"missing\" does not exist"),
            err(OP_QUERY, QUERY, &wrong_type(0, "int4")),
            // `SELECT $1, $2`: both untyped, so the server makes them text; null binds as null
            exec_ok("1"),
            err(OP_QUERY, QUERY, "expected 2 parameters but got 1"),
            err(
                OP_QUERY,
                QUERY,
                "error encoding message to server: string contains embedded null",
            ),
            err(OP_QUERY, BAD_REQ, ""),
            err(OP_QUERY, BAD_REQ, ""),
            err(OP_QUERY, BAD_REQ, ""),
            exec_ok("0"),
            exec_ok("1"),
            err(
                OP_EXEC,
                EXEC,
                "db error: ERROR: duplicate key value violates unique constraint \"u_pkey\"\nDETAIL: Key (id)=(1) already exists.",
            ),
            err(OP_QUERY, QUERY, "db error: ERROR: division by zero"),
            exec_ok("0"),
            err(OP_EXEC, EXEC, "db error: ERROR: division by zero"),
            err(
                OP_QUERY,
                QUERY,
                "db error: ERROR: current transaction is aborted, commands ignored until end of transaction block",
            ),
            exec_ok("0"),
            rows(&["x"], vec![vec![Dm::Num("1")]]),
            three_rows.clone(),
            err(OP_QUERY, TOO_LARGE, ""),
            three_rows,
            err(OP_QUERY, TOO_LARGE, ""),
            err(OP_QUERY, TOO_LARGE, ""),
            ok(OP_CLOSE, &[]),
        ],
    );
}

#[test]
fn connection_ids_and_the_permissive_limits() {
    let pg = Postgres::start();
    let p = Player::new(BUILTINS);
    let mut calls: Vec<Call> = (0..9).map(|_| open(pg.port)).collect();
    calls.push(SQL.close(3));
    calls.push(open(pg.port));
    // 1000 queries and execs per run, counted together; the next one is refused
    calls.push(SQL.query(1, "SELECT 1 AS x", &[]).times(999));
    calls.push(SQL.exec(2, "SELECT 1", &[]));
    calls.push(SQL.query(1, "SELECT 1 AS x", &[]));
    calls.push(SQL.exec(2, "SELECT 1", &[]));
    let got = p.run(&calls);
    let mut want: Vec<Resp> = (1..=8).map(opened).collect();
    want.push(err(OP_OPEN, TOO_LARGE, ""));
    want.push(ok(OP_CLOSE, &[]));
    want.push(opened(3));
    want.push(rows(&["x"], vec![vec![Dm::Num("1")]]));
    want.push(exec_ok("1"));
    want.push(err(OP_QUERY, POLICY_DENIED, ""));
    want.push(err(OP_EXEC, POLICY_DENIED, ""));
    expect(&got, &want);
}

#[test]
fn timeouts_hold_and_cut_the_connection() {
    let pg = Postgres::start();
    let p = Player::new(BUILTINS);
    let silent = silent_listener();
    let silent_port = silent.local_addr().unwrap().port() as u32;
    // the first run builds the program; the timed one below only runs it
    expect(&p.run(&[SQL.close(1)]), &[err(OP_CLOSE, BAD_CONN, "")]);
    let started = Instant::now();
    let got = p.run(&[
        Call::new(
            1,
            SQL.open_req(b"127.0.0.1", silent_port, USER, PASSWORD, "postgres"),
            caps(300, 0, 0, 0),
        ),
        open(pg.port),
        SQL.query_caps(1, "SELECT pg_sleep(10)", &[], caps(0, 300, 0, 0)),
        SQL.query(1, "SELECT 1", &[]),
        open(pg.port),
        SQL.exec_caps(1, "SELECT pg_sleep(10)", &[], caps(0, 300, 0, 0)),
        SQL.exec(1, "SELECT 1", &[]),
        // a timeout that is not reached changes nothing
        open(pg.port),
        SQL.query_caps(1, "SELECT 2 AS x", &[], caps(0, 5000, 0, 0)),
    ]);
    let elapsed = started.elapsed();
    expect(
        &got,
        &[
            err(
                OP_OPEN,
                CONNECT,
                "error connecting to server: connection timed out",
            ),
            opened(1),
            err(OP_QUERY, QUERY, "timeout"),
            err(OP_QUERY, BAD_CONN, ""),
            opened(1),
            err(OP_EXEC, EXEC, "timeout"),
            err(OP_EXEC, BAD_CONN, ""),
            opened(1),
            rows(&["x"], vec![vec![Dm::Num("2")]]),
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
        open(5432),
        SQL.query(1, "SELECT 1", &[]),
        SQL.exec(1, "SELECT 1", &[]),
        SQL.close(1),
    ]);
    expect(
        &got,
        &all_denied("os.db.pg", &[OP_OPEN, OP_QUERY, OP_EXEC, OP_CLOSE]),
    );
}

fn open_to(host: &[u8], port: u16) -> Call {
    Call::new(
        1,
        SQL.open_req(host, port as u32, USER, PASSWORD, "postgres"),
        default_caps(),
    )
}

#[test]
fn postgres_works_under_the_kernel_layer_only_where_db_net_allows() {
    let pg = Postgres::start();
    // another port of 127.0.0.1: nothing may arrive there
    let other = OtherPort::bind();
    let other_port = other.port;
    let p = Player::new(BUILTINS);
    let op = "os.db.pg.open_v1";
    let got = answers(
        &p.run_sandboxed_with(
            Some(net_db("postgres", pg.port, false)),
            "os",
            &[
                open(pg.port),
                SQL.query(1, "SELECT 1 AS x", &[]),
                SQL.close(1),
                open_to(b"localhost", pg.port),
                SQL.close(1),
                open(other_port),
                open_to(b"10.0.0.1", pg.port),
                open_to(b"db.example.com", pg.port),
                open_to(b"/tmp", pg.port),
            ],
        ),
        9,
    );
    expect(
        &got,
        &[
            opened(1),
            rows(&["x"], vec![vec![Dm::Num("1")]]),
            ok(OP_CLOSE, &[]),
            opened(1),
            ok(OP_CLOSE, &[]),
            err(
                OP_OPEN,
                POLICY_DENIED,
                &denied_msg(op, &format!("port {other_port} is not in db.net.allow_ports")),
            ),
            err(
                OP_OPEN,
                POLICY_DENIED,
                &denied_msg(op, "address 10.0.0.1 is not in db.net.allow_cidrs"),
            ),
            err(
                OP_OPEN,
                POLICY_DENIED,
                &denied_msg(op, "host db.example.com is not in db.net.allow_dns"),
            ),
            err(
                OP_OPEN,
                POLICY_DENIED,
                &denied_msg(
                    op,
                    "unix sockets and the default host are not allowed under run-os-sandboxed (db.net lists TCP destinations)",
                ),
            ),
        ],
    );
    // TLS required against a server without TLS: refused, never plaintext
    let got = answers(
        &p.run_sandboxed_with(
            Some(net_db("postgres", pg.port, true)),
            "os",
            &[open(pg.port)],
        ),
        1,
    );
    match &got[0] {
        Resp::Err {
            op: OP_OPEN,
            code: CONNECT,
            msg,
        } => assert!(
            msg.contains("SSL"),
            "the refusal should be libpq's TLS message: {msg}"
        ),
        other => panic!("require_tls must refuse a server without TLS, got {other:?}"),
    }
    other.assert_untouched();
}
