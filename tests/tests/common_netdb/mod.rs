//! Shared by the network database driver tests (`os_db_mysql`, `os_db_redis`): an X07 program
//! that replays a script of builtin calls, the public request layouts, the expected data-model
//! docs, and the plumbing for the servers the tests start on 127.0.0.1.
//!
//! The program reads `u32 count` then `count` calls — `u8 builtin (1-based index into the list it
//! was generated for) | u32 repeat | u32 len | req | u32 len | caps` — performs each call `repeat`
//! times and answers, for every call, `u32 len | the last response`. Connection ids are
//! deterministic (the lowest free slot), so a script can name the id an open will return.
#![allow(dead_code)]

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use x07_tests::{x07_bin, ProgramDir, X07Home, X07Invocation, X07Output};

/// What the sandboxed world answers for every os.db call (builder/runtime/os_db.h).
pub const SANDBOX_MSG: &str = "os.db under run-os-sandboxed is not supported yet (the policy's db section is not enforced in the runtime); use world run-os";

pub const POLICY_DENIED: u32 = 53249;
pub const BAD_REQ: u32 = 53250;
pub const BAD_CONN: u32 = 53251;
pub const TOO_LARGE: u32 = 53760;

pub const OP_OPEN: u32 = 1;
pub const OP_EXEC: u32 = 2;
pub const OP_QUERY: u32 = 3;
pub const OP_CLOSE: u32 = 4;

pub fn u32le(x: u32) -> Vec<u8> {
    x.to_le_bytes().to_vec()
}

/// `u32 len | bytes`.
pub fn field(b: &[u8]) -> Vec<u8> {
    let mut v = u32le(b.len() as u32);
    v.extend_from_slice(b);
    v
}

pub fn cat(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

/// Caps "X7DC" | 1 | connect_timeout_ms | query_timeout_ms | max_rows | max_resp_bytes.
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

/// Caps with every field 0: the driver's own limits.
pub fn default_caps() -> Vec<u8> {
    caps(0, 0, 0, 0)
}

/// A data-model value, encoded exactly as written (map entries in the order given).
#[derive(Debug, Clone)]
pub enum Dm {
    Null,
    Bool(bool),
    Num(&'static str),
    Str(Vec<u8>),
    Seq(Vec<Dm>),
    Map(Vec<(&'static str, Dm)>),
}

/// A string value.
pub fn s(text: &str) -> Dm {
    Dm::Str(text.as_bytes().to_vec())
}

impl Dm {
    pub fn encode(&self, out: &mut Vec<u8>) {
        match self {
            Dm::Null => out.push(0),
            Dm::Bool(b) => out.extend_from_slice(&[1, *b as u8]),
            Dm::Num(t) => {
                out.push(2);
                out.extend(field(t.as_bytes()));
            }
            Dm::Str(b) => {
                out.push(3);
                out.extend(field(b));
            }
            Dm::Seq(items) => {
                out.push(4);
                out.extend(u32le(items.len() as u32));
                for i in items {
                    i.encode(out);
                }
            }
            Dm::Map(entries) => {
                out.push(5);
                out.extend(u32le(entries.len() as u32));
                for (k, v) in entries {
                    out.extend(field(k.as_bytes()));
                    v.encode(out);
                }
            }
        }
    }
}

/// An ok doc: `01` then the value.
pub fn doc(v: &Dm) -> Vec<u8> {
    let mut out = vec![1];
    v.encode(&mut out);
    out
}

/// A params doc: `01 04 count` then the scalars.
pub fn params(values: &[Dm]) -> Vec<u8> {
    doc(&Dm::Seq(values.to_vec()))
}

/// One decoded "X7DB" response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resp {
    Ok { op: u32, payload: Vec<u8> },
    Err { op: u32, code: u32, msg: String },
}

impl Resp {
    pub fn parse(b: &[u8]) -> Resp {
        let u = |off: usize| u32::from_le_bytes(b[off..off + 4].try_into().unwrap());
        assert!(
            b.len() >= 20 && &b[..4] == b"X7DB" && u(4) == 1,
            "not an X7DB v1 response: {b:?}"
        );
        let (ok, op) = (u(8), u(12));
        if ok == 1 {
            assert_eq!(b.len(), 20 + u(16) as usize, "ok response length: {b:?}");
            Resp::Ok {
                op,
                payload: b[20..].to_vec(),
            }
        } else {
            assert_eq!(ok, 0, "{b:?}");
            assert_eq!(b.len(), 24 + u(20) as usize, "err response length: {b:?}");
            Resp::Err {
                op,
                code: u(16),
                msg: String::from_utf8_lossy(&b[24..]).into_owned(),
            }
        }
    }
}

/// The ok response of `op` with this payload.
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

/// The ok answer of an open: the connection id.
pub fn opened(id: u32) -> Resp {
    ok(OP_OPEN, &u32le(id))
}

/// One call of a script.
#[derive(Debug, Clone)]
pub struct Call {
    builtin: u8,
    repeat: u32,
    req: Vec<u8>,
    caps: Vec<u8>,
}

impl Call {
    pub fn new(builtin: u8, req: Vec<u8>, caps: Vec<u8>) -> Self {
        Self {
            builtin,
            repeat: 1,
            req,
            caps,
        }
    }

    /// The same call made `n` times in a row; the script answers the last response.
    pub fn times(mut self, n: u32) -> Self {
        self.repeat = n;
        self
    }
}

/// The script player for the given builtins (call kind k is `builtins[k - 1]`).
fn player(builtins: &[&str]) -> Value {
    let mut dispatch = json!(["bytes.alloc", 0]);
    for (i, name) in builtins.iter().enumerate().rev() {
        dispatch = json!(["if", ["=", "kind", i + 1], [name, "req", "caps"], dispatch]);
    }
    json!({
        "schema_version": "x07.x07ast@0.5.0", "kind": "entry", "module_id": "main",
        "imports": [], "decls": [],
        "solve": ["begin",
            ["let", "n", ["codec.read_u32_le", "input", 0]],
            ["let", "pos", 4],
            ["let", "out", ["vec_u8.with_capacity", 64]],
            ["for", "i", 0, "n", ["begin",
                ["let", "kind", ["view.get_u8", "input", "pos"]],
                ["let", "rep", ["codec.read_u32_le", "input", ["+", "pos", 1]]],
                ["let", "rlen", ["codec.read_u32_le", "input", ["+", "pos", 5]]],
                ["let", "req", ["view.slice", "input", ["+", "pos", 9], "rlen"]],
                ["let", "cpos", ["+", ["+", "pos", 9], "rlen"]],
                ["let", "clen", ["codec.read_u32_le", "input", "cpos"]],
                ["let", "caps", ["view.slice", "input", ["+", "cpos", 4], "clen"]],
                ["set", "pos", ["+", ["+", "cpos", 4], "clen"]],
                ["let", "resp", ["bytes.alloc", 0]],
                ["for", "j", 0, "rep", ["begin", ["set", "resp", dispatch], 0]],
                ["set", "out", ["vec_u8.extend_bytes", "out", ["codec.write_u32_le", ["bytes.len", "resp"]]]],
                ["set", "out", ["vec_u8.extend_bytes", "out", "resp"]],
                0]],
            ["vec_u8.into_bytes", "out"]]
    })
}

/// A script player program in its own directory, with its own X07_HOME (its build is cached
/// there after the first run).
pub struct Player {
    pub dir: ProgramDir,
    pub home: X07Home,
    runs: std::cell::Cell<u32>,
}

impl Player {
    pub fn new(builtins: &[&str]) -> Self {
        let dir = ProgramDir::new().expect("create a program directory");
        dir.write_entry(&player(builtins))
            .expect("write main.x07.json");
        Self {
            dir,
            home: X07Home::new().expect("create a temporary X07_HOME"),
            runs: std::cell::Cell::new(0),
        }
    }

    fn invocation(&self, calls: &[Call], extra: &[&str]) -> X07Invocation {
        let mut input = u32le(calls.len() as u32);
        for c in calls {
            input.push(c.builtin);
            input.extend(u32le(c.repeat));
            input.extend(field(&c.req));
            input.extend(field(&c.caps));
        }
        // a file, not --input-b64: requests can be larger than one command-line argument may be
        let n = self.runs.get() + 1;
        self.runs.set(n);
        let name = format!("input-{n}.bin");
        self.dir.write_file(&name, &input).expect("write the input");
        X07Invocation::new(x07_bin())
            .current_dir(self.dir.path())
            .home(&self.home)
            .args(["run", "--program", "main.x07.json", "--repair", "off"])
            .args(["--input", &name])
            .args(extra)
    }

    /// Runs the script in world run-os; one response per call.
    pub fn run(&self, calls: &[Call]) -> Vec<Resp> {
        self.run_with(calls, &[])
    }

    pub fn run_with(&self, calls: &[Call], extra: &[&str]) -> Vec<Resp> {
        let out = self.invocation(calls, extra).run().expect("start x07 run");
        let resps = responses(&out);
        assert_eq!(resps.len(), calls.len(), "{}", out.describe());
        resps
    }

    /// Runs the script in world run-os-sandboxed (a cli base policy, backend none: the
    /// in-process checks only, no root needed).
    pub fn run_sandboxed(&self, calls: &[Call]) -> Vec<Resp> {
        let policy = ".x07/policies/base/cli.sandbox.base.policy.json";
        if !self.dir.path().join(policy).is_file() {
            let out = X07Invocation::new(x07_bin())
                .current_dir(self.dir.path())
                .home(&self.home)
                .args(["policy", "init", "--template", "cli"])
                .run()
                .expect("start x07 policy init");
            assert_eq!(out.exit_code, Some(0), "{}", out.describe());
        }
        self.run_with(
            calls,
            &[
                "--profile",
                "sandbox",
                "--policy",
                policy,
                "--sandbox-backend",
                "none",
                "--i-accept-weaker-isolation",
            ],
        )
    }
}

/// The responses a run printed, checking that it ran to completion.
fn responses(out: &X07Output) -> Vec<Resp> {
    assert!(!out.timed_out, "x07 run timed out\n{}", out.describe());
    let report = out
        .report()
        .unwrap_or_else(|e| panic!("{e}\n{}", out.describe()));
    assert!(
        report.fields.solve.as_ref().is_some_and(|s| s.ok),
        "the program did not run to completion\n{}",
        out.describe()
    );
    let bytes = report
        .solve_output()
        .unwrap_or_else(|e| panic!("{e}"))
        .unwrap_or_default();
    let mut resps = Vec::new();
    let mut p = 0;
    while p < bytes.len() {
        let n = u32::from_le_bytes(bytes[p..p + 4].try_into().unwrap()) as usize;
        resps.push(Resp::parse(&bytes[p + 4..p + 4 + n]));
        p += 4 + n;
    }
    resps
}

/// Asserts responses one by one, naming the call that differs.
#[track_caller]
pub fn expect(got: &[Resp], want: &[Resp]) {
    assert_eq!(got.len(), want.len(), "response count; got {got:#?}");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert_eq!(g, w, "call #{i} (0-based)");
    }
}

/// A port nothing listens on right now (bound, then released).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("bind an ephemeral port on 127.0.0.1")
        .port()
}

/// `name` on PATH or in the sbin directories, or a failure that says how to get it: a test
/// whose server is missing must fail, not pass.
pub fn need_program(name: &str, package: &str) -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let dirs = std::env::split_paths(&path)
        .chain(["/usr/sbin", "/usr/local/sbin", "/sbin"].map(PathBuf::from));
    for dir in dirs {
        let p = dir.join(name);
        if p.is_file() {
            return p;
        }
    }
    panic!("{name} is not installed; this test needs a real server: apt-get install {package}")
}

/// Polls `ready` every 100 ms until it holds or `limit` passes (then fails with `what`).
pub fn wait_for(limit: Duration, what: &str, mut ready: impl FnMut() -> Result<(), String>) {
    let start = Instant::now();
    loop {
        match ready() {
            Ok(()) => return,
            Err(e) if start.elapsed() > limit => panic!("no {what} within {limit:?}: {e}"),
            Err(_) => std::thread::sleep(Duration::from_millis(100)),
        }
    }
}

/// Whether this process runs as root (servers then need to be told which user to run as).
pub fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// The last lines of a log file, for failure messages.
pub fn log_tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(20)..].join("\n")
}

/// A TCP listener that never accepts: the kernel completes each connection from its backlog
/// and nothing is ever said — a server that hangs before its greeting.
pub fn silent_listener() -> TcpListener {
    TcpListener::bind("127.0.0.1:0").expect("bind a silent listener on 127.0.0.1")
}
