//! Shared by the `os_db_*` end-to-end tests (sqlite, pg, mysql, redis): the public request/response
//! layouts built independently of the runtime (docs/stdlib/os-db.md), a `Player` that runs one X07
//! program playing a script of driver calls from its input (each answer framed in the output), and
//! the helpers that start real servers (programs on PATH, free ports, waiting, log tails).
#![allow(dead_code)]

use std::net::TcpListener;
use std::path::Path;
use std::time::Duration;

use serde_json::{json, Value};
use x07_tests::{describe_bytes, x07_bin, ProgramDir, X07Home, X07Invocation, X07Output};

pub const OP_OPEN: u32 = 1;
pub const OP_EXEC: u32 = 2;
pub const OP_QUERY: u32 = 3;
pub const OP_CLOSE: u32 = 4;

pub const POLICY_DENIED: u32 = 53_249;
pub const BAD_REQ: u32 = 53_250;
pub const BAD_CONN: u32 = 53_251;
pub const TOO_LARGE: u32 = 53_760;

/// What a driver answers in the sandboxed world when the policy has no `db` section
/// (sandbox_db.h): `prefix` is `os.db.sqlite`, `os.db.pg`, `os.db.mysql` or `os.db.redis`.
pub fn db_off_msg(prefix: &str) -> String {
    format!("{prefix}: denied by the run policy: db.enabled is false")
}

/// A refusal of the sandboxed world's policy: `op: denied by the run policy: why`.
pub fn denied_msg(op: &str, why: &str) -> String {
    format!("{op}: denied by the run policy: {why}")
}

/// A `db` section allowing one network driver (`postgres`, `mysql` or `redis`) on 127.0.0.1 and
/// `localhost`, port `port` only, TLS required or not.
pub fn net_db(driver: &str, port: u16, tls: bool) -> Value {
    let mut drivers = json!({"sqlite": false, "postgres": false, "mysql": false, "redis": false});
    drivers[driver] = true.into();
    json!({
        "enabled": true, "drivers": drivers,
        "max_live_conns": 2, "max_queries": 10, "connect_timeout_ms": 5000, "query_timeout_ms": 5000,
        "max_sql_bytes": 4096, "max_rows": 100, "max_resp_bytes": 65536,
        "net": {"allow_dns": ["localhost"], "allow_cidrs": ["127.0.0.1/32"], "allow_ports": [port],
                "require_tls": tls, "require_verify": tls}
    })
}

/// A listener on another port of 127.0.0.1 that must hear nothing from a sandboxed program.
pub struct OtherPort {
    listener: std::net::TcpListener,
    /// Its port.
    pub port: u16,
}

impl OtherPort {
    /// Binds a free port (non-blocking, so the final check does not wait).
    pub fn bind() -> Self {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        Self { listener, port }
    }

    /// Fails if any connection arrived.
    #[track_caller]
    pub fn assert_untouched(&self) {
        assert!(
            self.listener.accept().is_err(),
            "nothing may reach a port outside db.net.allow_ports"
        );
    }
}

/// What every call of a driver answers when its world refuses the driver: 53249 with the
/// "db section off" message of `driver` (`os.db.pg`), one answer per op.
pub fn all_denied(driver: &str, ops: &[u32]) -> Vec<Resp> {
    ops.iter()
        .map(|op| err(*op, POLICY_DENIED, &db_off_msg(driver)))
        .collect()
}

/// Fails unless the run went through the kernel layer (`sandbox_backend` `os` in the report).
#[track_caller]
pub fn assert_kernel_layer(out: &X07Output) {
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        all.contains("\"sandbox_backend\":\"os\""),
        "the run should be on the os backend (the kernel layer)\n{}",
        out.describe()
    );
}

// ------------------------------------------------------------------ bytes

pub fn u32le(x: u32) -> [u8; 4] {
    x.to_le_bytes()
}

pub fn cat(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

/// u32 len | bytes.
pub fn field(b: &[u8]) -> Vec<u8> {
    cat(&[&u32le(b.len() as u32), b])
}

/// Caps: "X7DC" | 1 | connect_timeout_ms | query_timeout_ms | max_rows | max_resp_bytes.
pub fn caps(connect_ms: u32, query_ms: u32, max_rows: u32, max_resp: u32) -> Vec<u8> {
    cat(&[
        b"X7DC",
        &u32le(1),
        &u32le(connect_ms),
        &u32le(query_ms),
        &u32le(max_rows),
        &u32le(max_resp),
    ])
}

/// Caps with every field 0: the policy's limits apply.
pub fn default_caps() -> Vec<u8> {
    caps(0, 0, 0, 0)
}

/// A data-model value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Dm {
    Null,
    Bool(bool),
    /// A number as its ASCII text.
    Num(&'static str),
    Str(Vec<u8>),
    Seq(Vec<Dm>),
    /// Written with its keys sorted bytewise, as the data model requires.
    Map(Vec<(&'static str, Dm)>),
}

/// A string value.
pub fn s(text: &str) -> Dm {
    Dm::Str(text.as_bytes().to_vec())
}

impl Dm {
    pub fn encode(&self) -> Vec<u8> {
        match self {
            Dm::Null => vec![0],
            Dm::Bool(b) => vec![1, *b as u8],
            Dm::Num(t) => cat(&[&[2], &field(t.as_bytes())]),
            Dm::Str(b) => cat(&[&[3], &field(b)]),
            Dm::Seq(items) => {
                let mut out = cat(&[&[4], &u32le(items.len() as u32)]);
                for v in items {
                    out.extend(v.encode());
                }
                out
            }
            Dm::Map(entries) => {
                let mut sorted: Vec<&(&str, Dm)> = entries.iter().collect();
                sorted.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
                let mut out = cat(&[&[5], &u32le(sorted.len() as u32)]);
                for (k, v) in sorted {
                    out.extend(field(k.as_bytes()));
                    out.extend(v.encode());
                }
                out
            }
        }
    }
}

/// An ok doc: 01 | value.
pub fn doc(v: &Dm) -> Vec<u8> {
    cat(&[&[1], &v.encode()])
}

/// A params doc: 01 | seq of the values.
/// A query or exec request of the SQL drivers: magic | 1 | conn | flags 0 | sql | params doc.
pub fn sql_req(magic: &[u8; 4], conn: u32, sql: &[u8], params_doc: &[u8]) -> Vec<u8> {
    cat(&[
        magic,
        &u32le(1),
        &u32le(conn),
        &u32le(0),
        &field(sql),
        &field(params_doc),
    ])
}

/// One SQL driver's query / exec / close calls, told apart by the third magic byte
/// (`X7SQ`, `X7MQ`, `X7PQ`, …).
pub struct SqlDriver(pub u8);

impl SqlDriver {
    fn magic(&self, op: u8) -> [u8; 4] {
        [b'X', b'7', self.0, op]
    }

    /// A query with the default caps.
    pub fn query(&self, conn: u32, sql: &str, ps: &[Dm]) -> Call {
        self.query_caps(conn, sql, ps, default_caps())
    }

    /// A query with `caps`.
    pub fn query_caps(&self, conn: u32, sql: &str, ps: &[Dm], caps: Vec<u8>) -> Call {
        let p = if ps.is_empty() { vec![] } else { params(ps) };
        Call::new(
            2,
            sql_req(&self.magic(b'Q'), conn, sql.as_bytes(), &p),
            caps,
        )
    }

    /// An exec with the default caps.
    pub fn exec(&self, conn: u32, sql: &str, ps: &[Dm]) -> Call {
        self.exec_caps(conn, sql, ps, default_caps())
    }

    /// An exec with `caps`.
    pub fn exec_caps(&self, conn: u32, sql: &str, ps: &[Dm], caps: Vec<u8>) -> Call {
        let p = if ps.is_empty() { vec![] } else { params(ps) };
        Call::new(
            3,
            sql_req(&self.magic(b'E'), conn, sql.as_bytes(), &p),
            caps,
        )
    }

    /// The open request of a network driver (mysql, pg): magic | 1 | flags 0 | host | port |
    /// user | password | database.
    pub fn open_req(
        &self,
        host: &[u8],
        port: impl Into<u32>,
        user: &str,
        pass: &str,
        db: &str,
    ) -> Vec<u8> {
        cat(&[
            &self.magic(b'O'),
            &u32le(1),
            &u32le(0),
            &field(host),
            &u32le(port.into()),
            &field(user.as_bytes()),
            &field(pass.as_bytes()),
            &field(db.as_bytes()),
        ])
    }

    /// A close.
    pub fn close(&self, conn: u32) -> Call {
        Call::new(
            4,
            cat(&[&self.magic(b'C'), &u32le(1), &u32le(conn)]),
            vec![],
        )
    }
}

pub fn params(values: &[Dm]) -> Vec<u8> {
    doc(&Dm::Seq(values.to_vec()))
}

// ------------------------------------------------------------------ responses

/// A decoded response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resp {
    /// "X7DB" | 1 | 1 | op | u32 len | payload.
    Ok { op: u32, payload: Vec<u8> },
    /// "X7DB" | 1 | 0 | op | code | u32 len | msg.
    Err { op: u32, code: u32, msg: String },
    /// Anything else (a broken response), kept whole.
    Raw(Vec<u8>),
}

pub fn ok(op: u32, payload: &[u8]) -> Resp {
    Resp::Ok {
        op,
        payload: payload.to_vec(),
    }
}

pub fn err(op: u32, code: u32, msg: &str) -> Resp {
    Resp::Err {
        op,
        code,
        msg: msg.to_owned(),
    }
}

/// ok(open) with connection id `id`.
pub fn opened(id: u32) -> Resp {
    ok(OP_OPEN, &u32le(id))
}

impl Resp {
    /// Decodes one response; exact layouts only (a length that disagrees is `Raw`).
    pub fn parse(b: &[u8]) -> Resp {
        let u = |off: usize| u32::from_le_bytes(b[off..off + 4].try_into().unwrap());
        if b.len() >= 20 && &b[..4] == b"X7DB" && u(4) == 1 {
            let (tag, op) = (u(8), u(12));
            if tag == 1 && b.len() == 20 + u(16) as usize {
                return Resp::Ok {
                    op,
                    payload: b[20..].to_vec(),
                };
            }
            if tag == 0 && b.len() >= 24 && b.len() == 24 + u(20) as usize {
                if let Ok(msg) = String::from_utf8(b[24..].to_vec()) {
                    return Resp::Err {
                        op,
                        code: u(16),
                        msg,
                    };
                }
            }
        }
        Resp::Raw(b.to_vec())
    }

    /// The response bytes.
    pub fn encode(&self) -> Vec<u8> {
        match self {
            Resp::Ok { op, payload } => {
                cat(&[b"X7DB", &u32le(1), &u32le(1), &u32le(*op), &field(payload)])
            }
            Resp::Err { op, code, msg } => cat(&[
                b"X7DB",
                &u32le(1),
                &u32le(0),
                &u32le(*op),
                &u32le(*code),
                &field(msg.as_bytes()),
            ]),
            Resp::Raw(b) => b.clone(),
        }
    }

    fn describe(&self) -> String {
        match self {
            Resp::Ok { op, payload } => format!("ok op {op} payload {}", describe_bytes(payload)),
            Resp::Err { op, code, msg } => format!("err op {op} code {code} msg {msg:?}"),
            Resp::Raw(b) => format!("not a response: {}", describe_bytes(b)),
        }
    }
}

/// Checks every answer, naming the first that differs.
#[track_caller]
pub fn expect(got: &[Resp], want: &[Resp]) {
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!(
            g == w,
            "answer {i} differs:\n  got  {}\n  want {}",
            g.describe(),
            w.describe()
        );
    }
    assert_eq!(
        got.len(),
        want.len(),
        "{} answers, {} expected",
        got.len(),
        want.len()
    );
}

// ------------------------------------------------------------------ the script program

/// One driver call: `kind` is the 1-based index of the builtin in the player's list.
#[derive(Debug, Clone)]
pub struct Call {
    pub kind: u8,
    pub req: Vec<u8>,
    pub caps: Vec<u8>,
    /// How many times the program makes the call; only the last answer is reported.
    pub times: u32,
}

impl Call {
    pub fn new(kind: u8, req: Vec<u8>, caps: Vec<u8>) -> Self {
        Self {
            kind,
            req,
            caps,
            times: 1,
        }
    }

    /// The same call made `n` times (n ≥ 1); one answer, the last.
    pub fn times(mut self, n: u32) -> Self {
        assert!(n >= 1, "a call is made at least once");
        self.times = n;
        self
    }
}

/// Runs scripts of calls to `builtins` (each `(bytes req, bytes caps) -> bytes`) through
/// `x07 run`, with one home and program directory for all its runs (so only the first builds).
pub struct Player {
    builtins: Vec<String>,
    pub home: X07Home,
    pub dir: ProgramDir,
    project: std::cell::OnceCell<tempfile::TempDir>,
}

/// The player's program: per call in the input `u8 kind | u32 times | u32 len | req | u32 len |
/// caps`, it calls builtin `kind` that many times and writes `u32 len | answer` of the last.
pub fn player_program(builtins: &[String]) -> Value {
    let mut dispatch = json!(["bytes.lit", ""]);
    for (i, name) in builtins.iter().enumerate().rev() {
        dispatch = json!(["if", ["=", "kind", i + 1], [name, "req", "caps"], dispatch]);
    }
    json!({
        "schema_version": "x07.x07ast@0.8.0", "kind": "entry", "module_id": "main",
        "imports": [], "decls": [],
        "solve": ["begin",
            ["let", "out", ["vec_u8.with_capacity", 64]],
            ["let", "off", 0],
            ["while", ["<u", "off", ["view.len", "input"]],
             ["begin",
              ["let", "kind", ["view.get_u8", "input", "off"]],
              ["let", "times", ["codec.read_u32_le", "input", ["+", "off", 1]]],
              ["let", "rl", ["codec.read_u32_le", "input", ["+", "off", 5]]],
              ["let", "req", ["view.slice", "input", ["+", "off", 9], "rl"]],
              ["let", "cl", ["codec.read_u32_le", "input", ["+", ["+", "off", 9], "rl"]]],
              ["let", "caps", ["view.slice", "input", ["+", ["+", "off", 13], "rl"], "cl"]],
              ["set", "off", ["+", ["+", ["+", "off", 13], "rl"], "cl"]],
              ["let", "resp", ["bytes.lit", ""]],
              ["for", "i", 0, "times", ["set", "resp", dispatch]],
              ["set", "out", ["vec_u8.extend_bytes", "out",
                              ["codec.write_u32_le", ["bytes.len", "resp"]]]],
              ["set", "out", ["vec_u8.extend_bytes", "out", "resp"]]]],
            ["vec_u8.into_bytes", "out"]]
    })
}

/// The player's input for `calls`.
pub fn player_input(calls: &[Call]) -> Vec<u8> {
    let mut out = Vec::new();
    for c in calls {
        out.push(c.kind);
        out.extend(u32le(c.times));
        out.extend(field(&c.req));
        out.extend(field(&c.caps));
    }
    out
}

impl Player {
    pub fn new(builtins: &[&str]) -> Self {
        let builtins: Vec<String> = builtins.iter().map(|b| b.to_string()).collect();
        let dir = ProgramDir::new().expect("create the program directory");
        dir.write_entry(&player_program(&builtins))
            .expect("write the program");
        Self {
            builtins,
            home: X07Home::new().expect("create a temporary X07_HOME"),
            dir,
            project: std::cell::OnceCell::new(),
        }
    }

    /// The program directory, also the working directory of `run` (relative paths land here).
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    fn invocation(&self, cwd: &Path) -> X07Invocation {
        X07Invocation::new(x07_bin())
            .home(&self.home)
            .current_dir(cwd)
            .timeout(Duration::from_secs(300))
    }

    /// Runs the calls in world run-os (`x07 run --program`).
    #[track_caller]
    pub fn run(&self, calls: &[Call]) -> Vec<Resp> {
        let input = self
            .dir
            .write_file("input.bin", &player_input(calls))
            .expect("write the input");
        let out = self
            .invocation(self.dir.path())
            .args(["run", "--program"])
            .arg(self.dir.entry_path())
            .arg("--input")
            .arg(&input)
            .args(["--repair", "off"])
            .run()
            .unwrap_or_else(|e| panic!("{e}"));
        answers(&out, calls.len())
    }

    /// Runs the calls in world run-os-sandboxed: a project made by `x07 init` with the `cli`
    /// policy template, on the `none` backend (the in-process checks, no kernel layer).
    #[track_caller]
    pub fn run_sandboxed(&self, calls: &[Call]) -> Vec<Resp> {
        answers(&self.run_sandboxed_with(None, "none", calls), calls.len())
    }

    /// The project of the sandboxed runs (made on first use).
    pub fn project_dir(&self) -> &Path {
        self.project().path()
    }

    /// Runs the calls in world run-os-sandboxed with the `cli` policy given `db` as its db
    /// section (None: no db section) on `backend` (`none` or `os`); the whole output.
    #[track_caller]
    pub fn run_sandboxed_with(
        &self,
        db: Option<Value>,
        backend: &str,
        calls: &[Call],
    ) -> X07Output {
        let project = self.project();
        let policy_path = project
            .path()
            .join(".x07/policies/base/cli.sandbox.base.policy.json");
        let mut policy: Value =
            serde_json::from_slice(&fs_err::read(&policy_path).expect("read the policy")).unwrap();
        match db {
            Some(db) => policy["db"] = db,
            None => {
                policy.as_object_mut().unwrap().remove("db");
            }
        }
        fs_err::write(&policy_path, serde_json::to_vec_pretty(&policy).unwrap())
            .expect("write the policy");
        let input = project.path().join("input.bin");
        fs_err::write(&input, player_input(calls)).expect("write the input");
        self.invocation(project.path())
            .args(["run", "--profile", "sandbox", "--sandbox-backend", backend])
            .arg("--i-accept-weaker-isolation")
            .arg("--input")
            .arg(&input)
            .run()
            .unwrap_or_else(|e| panic!("{e}"))
    }

    fn project(&self) -> &tempfile::TempDir {
        self.project.get_or_init(|| {
            let outer = tempfile::Builder::new()
                .prefix("x07-db-sandbox-")
                .tempdir()
                .expect("create the project directory");
            for args in [&["init"][..], &["policy", "init", "--template", "cli"][..]] {
                let out = self
                    .invocation(outer.path())
                    .args(args)
                    .run()
                    .unwrap_or_else(|e| panic!("{e}"));
                assert_eq!(out.exit_code, Some(0), "x07 {args:?}\n{}", out.describe());
            }
            let entry = serde_json::to_vec_pretty(&player_program(&self.builtins)).unwrap();
            fs_err::write(outer.path().join("src/main.x07.json"), entry).expect("write the entry");
            outer
        })
    }
}

/// The answers of a successful run of the player program.
#[track_caller]
pub fn answers(out: &X07Output, calls: usize) -> Vec<Resp> {
    let report = out
        .report()
        .unwrap_or_else(|e| panic!("{e}\n{}", out.describe()));
    assert_eq!(
        out.exit_code,
        Some(0),
        "x07 run failed\n{}",
        report.pretty()
    );
    let bytes = report
        .solve_output()
        .unwrap_or_else(|e| panic!("{e}"))
        .unwrap_or_else(|| panic!("no solve output\n{}", report.pretty()));
    let mut frames = Vec::new();
    let mut i = 0;
    while i + 4 <= bytes.len() {
        let n = u32::from_le_bytes(bytes[i..i + 4].try_into().unwrap()) as usize;
        frames.push(Resp::parse(&bytes[i + 4..(i + 4 + n).min(bytes.len())]));
        i += 4 + n;
    }
    assert_eq!(
        frames.len(),
        calls,
        "one answer per call\n{}",
        report.pretty()
    );
    frames
}

// ------------------------------------------------------------------ servers

#[allow(unused_imports)] // each test binary uses some of them
pub use x07_tests::services::{free_port, is_root, log_tail, need_program, wait_for};

/// A listener on 127.0.0.1 that never accepts: connections complete (the backlog takes them) and
/// then hear nothing, so a client waits for the server's first bytes until its timeout.
pub fn silent_listener() -> TcpListener {
    TcpListener::bind("127.0.0.1:0").expect("bind a listener on 127.0.0.1")
}
