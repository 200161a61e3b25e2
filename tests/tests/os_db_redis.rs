//! `os.db.redis.*` against real Redis servers: each test starts its own `redis-server` on
//! 127.0.0.1 (a free port, no persistence, optionally `--requirepass` and a unix socket), runs
//! X07 programs through `x07 run`, and checks the exact bytes of every answer — the RESP3 replies
//! as data-model docs, error codes and messages — against the public `std.db.redis` driver's
//! behaviour (docs/stdlib/os-db.md). The server stops when its guard drops.

mod common_db;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common_db::*;

const BUILTINS: &[&str] = &[
    "os.db.redis.open_v1",
    "os.db.redis.cmd_v1",
    "os.db.redis.close_v1",
];
const PASSWORD: &str = "x07-secret";

const CONNECT: u32 = 53552;
const CMD: u32 = 53553;
const PROTOCOL: u32 = 53554;
const SERVER: u32 = 53556;

/// A running redis-server; killed (and its directory removed) on drop.
struct Redis {
    child: Child,
    port: u16,
    dir: tempfile::TempDir,
}

impl Redis {
    fn start(password: Option<&str>) -> Self {
        let server = need_program("redis-server", "redis-server");
        let dir = tempfile::Builder::new()
            .prefix("x07-redis-")
            .tempdir()
            .expect("create the server directory");
        let port = free_port();
        let mut cmd = Command::new(server);
        cmd.args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no", "--daemonize", "no"])
            .arg("--dir")
            .arg(dir.path())
            .arg("--unixsocket")
            .arg(dir.path().join("redis.sock"))
            .args(["--unixsocketperm", "700"])
            .arg("--logfile")
            .arg(dir.path().join("redis.log"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        if let Some(pw) = password {
            cmd.args(["--requirepass", pw]);
        }
        let child = cmd.spawn().expect("start redis-server");
        let mut r = Redis { child, port, dir };
        let log = r.dir.path().join("redis.log");
        wait_for(
            Duration::from_secs(30),
            "redis-server accepting connections",
            || {
                if let Ok(Some(status)) = r.child.try_wait() {
                    panic!("redis-server exited ({status}):\n{}", log_tail(&log));
                }
                // an inline PING: +PONG, or -NOAUTH from a server with a password, means it is up
                let reply = r.raw("PING\r\n")?;
                if reply.starts_with("+PONG") || reply.starts_with("-NOAUTH") {
                    Ok(())
                } else {
                    Err(reply)
                }
            },
        );
        r
    }

    /// Sends inline commands over a plain TCP connection and returns what came back.
    fn raw(&self, commands: &str) -> Result<String, String> {
        let mut s = TcpStream::connect(("127.0.0.1", self.port)).map_err(|e| e.to_string())?;
        s.set_read_timeout(Some(Duration::from_secs(5)))
            .map_err(|e| e.to_string())?;
        s.write_all(commands.as_bytes())
            .map_err(|e| e.to_string())?;
        let mut buf = [0u8; 4096];
        let n = s.read(&mut buf).map_err(|e| e.to_string())?;
        Ok(String::from_utf8_lossy(&buf[..n]).into_owned())
    }

    fn socket(&self) -> PathBuf {
        self.dir.path().join("redis.sock")
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        // Only the server this guard started.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

// ------------------------------------------------------------------ requests

fn open_req(port: u16, user: &str, pass: &str, db: u32) -> Vec<u8> {
    cat(&[
        b"X7RO",
        &u32le(1),
        &u32le(0),
        &u32le(1),
        &field(b"127.0.0.1"),
        &u32le(port as u32),
        &field(user.as_bytes()),
        &field(pass.as_bytes()),
        &u32le(db),
    ])
}

fn argv(args: &[&[u8]]) -> Vec<u8> {
    let mut v = cat(&[b"X7RV", &u32le(1), &u32le(args.len() as u32)]);
    for a in args {
        v.extend(field(a));
    }
    v
}

fn cmd_req(conn: u32, argv_doc: &[u8]) -> Vec<u8> {
    cat(&[
        b"X7RQ",
        &u32le(1),
        &u32le(0),
        &u32le(conn),
        &field(argv_doc),
    ])
}

fn open(port: u16) -> Call {
    Call::new(1, open_req(port, "", "", 0), default_caps())
}

fn cmd(conn: u32, args: &[&str]) -> Call {
    let args: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
    Call::new(2, cmd_req(conn, &argv(&args)), default_caps())
}

fn cmd_caps(conn: u32, args: &[&[u8]], caps: Vec<u8>) -> Call {
    Call::new(2, cmd_req(conn, &argv(args)), caps)
}

fn close(conn: u32) -> Call {
    Call::new(
        3,
        cat(&[b"X7RX", &u32le(1), &u32le(0), &u32le(conn)]),
        vec![],
    )
}

/// The ok answer of a command: the reply as a doc.
fn reply(v: Dm) -> Resp {
    ok(OP_QUERY, &doc(&v))
}

fn nested(levels: usize) -> Dm {
    let mut v = Dm::Seq(vec![Dm::Num("1")]);
    for _ in 1..levels {
        v = Dm::Seq(vec![v]);
    }
    v
}

// ------------------------------------------------------------------ tests

#[test]
fn replies_are_encoded_as_the_public_driver_encodes_them() {
    let r = Redis::start(None);
    let p = Player::new(BUILTINS);
    let sneaky: &[u8] = b"a b\r\nSET injected yes\r\n\x00end";
    let deep = |n: usize| format!("local t = {{1}}; for i=2,{n} do t = {{t}} end; return t");
    let got = p.run(&[
        open(r.port),
        cmd(1, &["SET", "k", "v1"]),
        cmd(1, &["GET", "k"]),
        cmd(1, &["GET", "missing"]),
        // one argument stays one argument, whatever bytes it holds
        cmd_caps(1, &[b"SET", b"raw", sneaky], default_caps()),
        cmd(1, &["GET", "raw"]),
        cmd(1, &["GET", "injected"]),
        cmd(1, &["INCR", "n"]),
        cmd(1, &["INCRBYFLOAT", "fl", "1.5"]),
        cmd(1, &["RPUSH", "l", "a", "b", "c"]),
        cmd(1, &["LRANGE", "l", "0", "-1"]),
        cmd(1, &["HSET", "h", "z", "1", "a", "2"]),
        // a RESP3 map: keys sorted
        cmd(1, &["HGETALL", "h"]),
        cmd(1, &["SADD", "s", "b", "ab", "a"]),
        // a RESP3 set: elements sorted by their encoding (length before bytes)
        cmd(1, &["SMEMBERS", "s"]),
        cmd(1, &["ZADD", "z", "2.5", "m", "1", "n"]),
        cmd(1, &["ZSCORE", "z", "m"]),
        cmd(1, &["ZRANGE", "z", "0", "-1", "WITHSCORES"]),
        cmd(
            1,
            &[
                "EVAL",
                "redis.setresp(3); return {map={[true]=\"yes\", [7]=\"x\", f=false}}",
                "0",
            ],
        ),
        cmd(1, &["EVAL", "return {set={[1]=true, a=true}}", "0"]),
        cmd(
            1,
            &[
                "EVAL",
                "return {big_number=\"123456789012345678901234567890\"}",
                "0",
            ],
        ),
        cmd(
            1,
            &[
                "EVAL",
                "return {verbatim_string={format=\"txt\",string=\"hi\"}}",
                "0",
            ],
        ),
        cmd(1, &["EVAL", "return {ok=\"FINE\"}", "0"]),
        cmd(1, &["EVAL", &deep(63), "0"]),
        // a map key must be a string, number or bool
        cmd(
            1,
            &["EVAL", "return {map={[{1}]=\"x\", a=\"y\", b=\"z\"}}", "0"],
        ),
        cmd(1, &["NOPE"]),
        cmd(1, &["EVAL", "return {err=\"E1 bad thing\"}", "0"]),
        // an error inside a reply is data the model cannot hold
        cmd(
            1,
            &["EVAL", "return {1, redis.error_reply(\"inner\")}", "0"],
        ),
        // 64 levels: the public reader stops at the innermost value and leaves it unread …
        cmd(1, &["EVAL", &deep(64), "0"]),
        // … so the next reply read is that leftover 1, as with the public driver
        cmd(1, &["PING"]),
        close(1),
    ]);
    expect(
        &got,
        &[
            opened(1),
            reply(s("OK")),
            reply(s("v1")),
            reply(Dm::Null),
            reply(s("OK")),
            reply(Dm::Str(sneaky.to_vec())),
            reply(Dm::Null),
            reply(Dm::Num("1")),
            reply(s("1.5")),
            reply(Dm::Num("3")),
            reply(Dm::Seq(vec![s("a"), s("b"), s("c")])),
            reply(Dm::Num("2")),
            reply(Dm::Map(vec![("a", s("2")), ("z", s("1"))])),
            reply(Dm::Num("3")),
            reply(Dm::Seq(vec![s("a"), s("b"), s("ab")])),
            reply(Dm::Num("2")),
            reply(Dm::Num("2.5")),
            reply(Dm::Seq(vec![
                Dm::Seq(vec![s("n"), Dm::Num("1")]),
                Dm::Seq(vec![s("m"), Dm::Num("2.5")]),
            ])),
            reply(Dm::Map(vec![
                ("7", s("x")),
                ("f", Dm::Bool(false)),
                ("true", s("yes")),
            ])),
            reply(Dm::Seq(vec![Dm::Num("1"), s("a")])),
            reply(Dm::Num("123456789012345678901234567890")),
            reply(s("txt:hi")),
            reply(s("FINE")),
            reply(nested(63)),
            err(OP_QUERY, PROTOCOL, ""),
            err(
                OP_QUERY,
                SERVER,
                "ERR unknown command 'NOPE', with args beginning with: ",
            ),
            err(OP_QUERY, SERVER, "E1 bad thing"),
            err(OP_QUERY, PROTOCOL, ""),
            err(OP_QUERY, PROTOCOL, ""),
            reply(Dm::Num("1")),
            ok(OP_CLOSE, &[]),
        ],
    );
}

#[test]
fn auth_select_and_unix_sockets() {
    let r = Redis::start(Some(PASSWORD));
    let acl = r
        .raw(&format!(
            "AUTH {PASSWORD}\r\nACL SETUSER alice on >alice-pw ~* +@all\r\n"
        ))
        .expect("create an ACL user");
    assert!(acl.starts_with("+OK"), "{acl}");
    let p = Player::new(BUILTINS);
    let unix = |user: &str, pass: &str, db: u32| {
        let path = r.socket();
        let path = path.to_str().unwrap().as_bytes();
        let req = cat(&[
            b"X7RO",
            &u32le(1),
            &u32le(0),
            &u32le(2),
            &field(path),
            &field(user.as_bytes()),
            &field(pass.as_bytes()),
            &u32le(db),
        ]);
        Call::new(1, req, default_caps())
    };
    let got = p.run(&[
        Call::new(1, open_req(r.port, "", PASSWORD, 3), default_caps()),
        cmd(1, &["SET", "where", "db3"]),
        cmd(1, &["ACL", "WHOAMI"]),
        Call::new(1, open_req(r.port, "alice", "alice-pw", 0), default_caps()),
        cmd(2, &["ACL", "WHOAMI"]),
        cmd(2, &["GET", "where"]),
        unix("", PASSWORD, 3),
        cmd(3, &["GET", "where"]),
        Call::new(1, open_req(r.port, "", "wrong", 0), default_caps()),
        Call::new(1, open_req(r.port, "alice", "wrong", 0), default_caps()),
    ]);
    expect(
        &got[..8],
        &[
            opened(1),
            reply(s("OK")),
            reply(s("default")),
            opened(2),
            reply(s("alice")),
            reply(Dm::Null),
            opened(3),
            reply(s("db3")),
        ],
    );
    let wrongpass = "WRONGPASS invalid username-password pair or user is disabled.";
    expect(
        &got[8..],
        &[
            err(OP_OPEN, SERVER, wrongpass),
            err(OP_OPEN, SERVER, wrongpass),
        ],
    );
    // Without credentials the server refuses HELLO (the message varies between versions).
    let got = p.run(&[open(r.port)]);
    match &got[0] {
        Resp::Err { op, code, msg } => {
            assert_eq!((*op, *code), (OP_OPEN, SERVER), "{got:?}");
            assert!(msg.starts_with("NOAUTH "), "{msg}");
        }
        other => panic!("an open without credentials succeeded: {other:?}"),
    }
}

#[test]
fn failures_are_answers_with_the_public_codes() {
    let r = Redis::start(None);
    let p = Player::new(BUILTINS);
    let refused = free_port();
    let mut bad_magic = open_req(r.port, "", "", 0);
    bad_magic[0] = b'Y';
    let mut bad_kind = open_req(r.port, "", "", 0);
    bad_kind[12] = 3;
    let mut flags_set = open_req(r.port, "", "", 0);
    flags_set[8] = 1;
    let mut short_argv = argv(&[b"PING"]);
    short_argv[8] = 2; // says two arguments, holds one
    let mut trailing = cmd_req(1, &argv(&[b"PING"]));
    trailing.push(0);
    let big = "x".repeat(100);
    let doc_len = doc(&s(&big)).len() as u32;
    let huge = vec![b'y'; 1024 * 1024];
    let got = p.run(&[
        Call::new(1, open_req(refused, "", "", 0), default_caps()),
        Call::new(1, open_req(r.port, "", "", 0), vec![0; 24]),
        Call::new(1, bad_magic, default_caps()),
        Call::new(1, bad_kind, default_caps()),
        Call::new(1, flags_set, default_caps()),
        Call::new(1, open_req(0, "", "", 0), default_caps()),
        open(r.port),
        cmd(9, &["PING"]),
        cmd(0, &["PING"]),
        Call::new(2, cmd_req(1, &short_argv), default_caps()),
        Call::new(2, trailing, default_caps()),
        cmd_caps(1, &[b"SET", b"big", &huge], default_caps()),
        cmd(1, &["SET", "big", &big]),
        cmd_caps(1, &[b"GET", b"big"], caps(0, 0, 0, doc_len)),
        cmd_caps(1, &[b"GET", b"big"], caps(0, 0, 0, doc_len - 1)),
        cmd(1, &["MULTI"]),
        cmd(1, &["HSET", "big", "f", "v"]),
        // EXEC answers an array holding the WRONGTYPE error
        cmd(1, &["EXEC"]),
        // RESP3 pushes are not replies the public reader takes
        cmd(1, &["SUBSCRIBE", "news"]),
        close(1),
        close(1),
        cmd(1, &["PING"]),
    ]);
    expect(
        &got,
        &[
            err(OP_OPEN, CONNECT, "Connection refused (os error 111)"),
            err(OP_OPEN, BAD_REQ, ""),
            err(OP_OPEN, BAD_REQ, ""),
            err(OP_OPEN, BAD_REQ, ""),
            err(OP_OPEN, BAD_REQ, ""),
            err(OP_OPEN, BAD_REQ, ""),
            opened(1),
            err(OP_QUERY, BAD_CONN, ""),
            err(OP_QUERY, BAD_CONN, ""),
            err(OP_QUERY, BAD_REQ, ""),
            err(OP_QUERY, BAD_REQ, ""),
            err(OP_QUERY, TOO_LARGE, ""),
            reply(s("OK")),
            reply(s(&big)),
            err(OP_QUERY, TOO_LARGE, ""),
            reply(s("OK")),
            reply(s("QUEUED")),
            err(OP_QUERY, PROTOCOL, ""),
            err(OP_QUERY, PROTOCOL, ""),
            ok(OP_CLOSE, &[]),
            err(OP_CLOSE, BAD_CONN, ""),
            err(OP_QUERY, BAD_CONN, ""),
        ],
    );
}

#[test]
fn connection_ids_and_the_permissive_limits() {
    let r = Redis::start(None);
    let p = Player::new(BUILTINS);
    let mut calls: Vec<Call> = (0..9).map(|_| open(r.port)).collect();
    calls.push(close(3));
    calls.push(open(r.port));
    // 1000 commands per run; the next one is refused
    calls.push(cmd(1, &["PING"]).times(1000));
    calls.push(cmd(2, &["PING"]));
    let got = p.run(&calls);
    let mut want: Vec<Resp> = (1..=8).map(opened).collect();
    want.push(err(OP_OPEN, TOO_LARGE, ""));
    want.push(ok(OP_CLOSE, &[]));
    want.push(opened(3));
    want.push(reply(s("PONG")));
    want.push(err(OP_QUERY, POLICY_DENIED, ""));
    expect(&got, &want);
}

#[test]
fn timeouts_hold_and_cut_the_connection() {
    let r = Redis::start(None);
    let p = Player::new(BUILTINS);
    let silent = silent_listener();
    let silent_port = silent.local_addr().unwrap().port();
    // the first run builds the program; the timed one below only runs it
    expect(&p.run(&[close(1)]), &[err(OP_CLOSE, BAD_CONN, "")]);
    let started = Instant::now();
    let got = p.run(&[
        Call::new(1, open_req(silent_port, "", "", 0), caps(300, 0, 0, 0)),
        open(r.port),
        cmd_caps(1, &[b"BLPOP", b"queue", b"10"], caps(0, 300, 0, 0)),
        cmd(1, &["PING"]),
        open(r.port),
        // an empty argv: the server waits for a command, the call for its reply
        cmd_caps(1, &[], caps(0, 300, 0, 0)),
        cmd(1, &["PING"]),
    ]);
    let elapsed = started.elapsed();
    expect(
        &got,
        &[
            err(OP_OPEN, CONNECT, "timeout"),
            opened(1),
            err(OP_QUERY, CMD, "timeout"),
            err(OP_QUERY, BAD_CONN, ""),
            opened(1),
            err(OP_QUERY, CMD, "timeout"),
            err(OP_QUERY, BAD_CONN, ""),
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
    let got = p.run_sandboxed(&[open(6379), cmd(1, &["PING"]), close(1)]);
    expect(
        &got,
        &all_denied("os.db.redis", &[OP_OPEN, OP_QUERY, OP_CLOSE]),
    );
}

#[test]
fn redis_works_under_the_kernel_layer_only_where_db_net_allows() {
    let r = Redis::start(None);
    // another port of 127.0.0.1: nothing may arrive there
    let other = OtherPort::bind();
    let other_port = other.port;
    let p = Player::new(BUILTINS);
    let op = "os.db.redis.open_v1";
    let out = p.run_sandboxed_with(
        Some(net_db("redis", r.port, false)),
        "os",
        &[
            open(r.port),
            cmd(1, &["SET", "k", "v"]),
            cmd(1, &["GET", "k"]),
            close(1),
            open(other_port),
        ],
    );
    assert_kernel_layer(&out);
    expect(
        &answers(&out, 5),
        &[
            opened(1),
            reply(s("OK")),
            reply(s("v")),
            ok(OP_CLOSE, &[]),
            err(
                OP_OPEN,
                POLICY_DENIED,
                &denied_msg(
                    op,
                    &format!("port {other_port} is not in db.net.allow_ports"),
                ),
            ),
        ],
    );
    assert_eq!(
        r.raw("GET k\r\n").unwrap(),
        "$1\r\nv\r\n",
        "the sandboxed SET reached the real server"
    );
    // TLS required: this driver has none, so it refuses before connecting
    let got = answers(
        &p.run_sandboxed_with(Some(net_db("redis", r.port, true)), "os", &[open(r.port)]),
        1,
    );
    expect(
        &got,
        &[err(
            OP_OPEN,
            POLICY_DENIED,
            &denied_msg(
                op,
                "db.net.require_tls is true, and this redis driver cannot use TLS (hiredis 0.14 has none); set db.net.require_tls to false to allow plaintext",
            ),
        )],
    );
    other.assert_untouched();
}
