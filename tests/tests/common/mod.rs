//! Helpers shared by the CLI end-to-end tests (`walkthrough`, `cli_errors`, `cli_build_store`):
//! a fresh `X07_HOME` plus a project made by `x07 init`, exit-code and diagnostic assertions,
//! store inspection, and an independent canonical-JSON (RFC 8785) encoder to check files against.
//!
//! Each test binary compiles this module and uses a different subset of it.
#![allow(dead_code)]

pub mod jcs;

use std::path::{Path, PathBuf};

use serde_json::Value;
use x07_tests::{x07_bin, RunReport, X07Home, X07Invocation, X07Output};

/// A fresh `X07_HOME` and a fresh directory in which `x07 init` created a project.
/// Both directories are removed when this value is dropped.
#[derive(Debug)]
pub struct InitProject {
    /// The home every command of this project runs with.
    pub home: X07Home,
    /// Holds the project directory (`root`), so a test can also create siblings in it.
    outer: tempfile::TempDir,
    root: PathBuf,
}

impl InitProject {
    /// Runs `x07 init` in a new empty directory and checks that it succeeded.
    pub fn new() -> Self {
        let home = X07Home::new().expect("create a temporary X07_HOME");
        let outer = tempfile::Builder::new()
            .prefix("x07-e2e-")
            .tempdir()
            .expect("create a temporary directory");
        let root = outer.path().join("proj");
        fs_err::create_dir(&root).expect("create the project directory");
        let out = run(x07_in(&home, &root).arg("init"));
        expect_exit(&out, 0);
        Self { home, outer, root }
    }

    /// The project directory (holds `x07.json`).
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// A scratch directory beside the project (same lifetime), for inputs and outputs.
    pub fn scratch(&self) -> &Path {
        self.outer.path()
    }

    /// An `x07` invocation in the project directory with this project's home.
    pub fn x07(&self) -> X07Invocation {
        x07_in(&self.home, &self.root)
    }

    /// `x07 <args>` in the project directory, run to completion.
    pub fn run_x07<I: IntoIterator<Item = S>, S: AsRef<std::ffi::OsStr>>(
        &self,
        args: I,
    ) -> X07Output {
        run(self.x07().args(args))
    }

    /// A path inside the project.
    pub fn path(&self, rel: &str) -> PathBuf {
        self.root.join(rel)
    }

    /// Writes `bytes` to a project-relative path, creating parent directories.
    pub fn write(&self, rel: &str, bytes: &[u8]) -> PathBuf {
        let path = self.path(rel);
        if let Some(parent) = path.parent() {
            fs_err::create_dir_all(parent).expect("create parent directories");
        }
        fs_err::write(&path, bytes).expect("write a project file");
        path
    }

    /// Writes `value` pretty-printed (2-space indent, not canonical) to a project-relative path.
    pub fn write_pretty(&self, rel: &str, value: &Value) -> PathBuf {
        self.write(rel, &pretty(value))
    }

    /// Reads a project file.
    pub fn read(&self, rel: &str) -> Vec<u8> {
        fs_err::read(self.path(rel)).expect("read a project file")
    }

    /// Reads a project file as JSON.
    pub fn read_json(&self, rel: &str) -> Value {
        serde_json::from_slice(&self.read(rel)).unwrap_or_else(|e| panic!("{rel} is not JSON: {e}"))
    }

    /// Reads `x07.json`, lets `edit` change it, and writes it back (pretty-printed).
    pub fn edit_manifest(&self, edit: impl FnOnce(&mut Value)) {
        let mut manifest = self.read_json("x07.json");
        edit(&mut manifest);
        self.write_pretty("x07.json", &manifest);
    }

    /// Replaces `src/app.x07.json` with `module` (pretty-printed).
    pub fn write_app(&self, module: &Value) {
        self.write_pretty("src/app.x07.json", module);
    }

    /// Names inside `$X07_HOME/store` (see [`store_entries`]).
    pub fn store_entries(&self) -> Vec<String> {
        store_entries(self.home.path())
    }
}

/// An `x07` invocation with `X07_HOME=home`, running in `cwd`.
pub fn x07_in(home: &X07Home, cwd: &Path) -> X07Invocation {
    X07Invocation::new(x07_bin()).home(home).current_dir(cwd)
}

/// Runs an invocation to completion; panics when x07 cannot be started or exceeds its time limit.
pub fn run(invocation: X07Invocation) -> X07Output {
    let out = invocation.run().unwrap_or_else(|e| panic!("{e}"));
    assert!(
        !out.timed_out,
        "x07 did not finish in time\n{}",
        out.describe()
    );
    out
}

/// Asserts the exact exit code, showing everything x07 printed otherwise.
#[track_caller]
pub fn expect_exit(out: &X07Output, code: i32) {
    assert_eq!(
        out.exit_code,
        Some(code),
        "expected exit code {code}\n{}",
        out.describe()
    );
}

/// Stderr as text.
pub fn stderr(out: &X07Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Stdout as text.
pub fn stdout(out: &X07Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Asserts that stderr carries `error[<code>]` and every one of `needles`.
#[track_caller]
pub fn expect_stderr(out: &X07Output, code: &str, needles: &[&str]) {
    let err = stderr(out);
    assert!(
        err.contains(&format!("error[{code}]")),
        "stderr should carry error[{code}]\n{}",
        out.describe()
    );
    for needle in needles {
        assert!(
            err.contains(needle),
            "stderr should mention {needle:?}\n{}",
            out.describe()
        );
    }
}

/// Parses stdout as a run report, failing with the full output when it is not one.
#[track_caller]
pub fn report(out: &X07Output) -> RunReport {
    out.report()
        .unwrap_or_else(|e| panic!("{e}\n{}", out.describe()))
}

/// Stdout parsed as any JSON document.
#[track_caller]
pub fn stdout_json(out: &X07Output) -> Value {
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("stdout is not JSON: {e}\n{}", out.describe()))
}

/// The decoded `solve.solve_output_b64` of a compile-run report that ran successfully.
#[track_caller]
pub fn solve_output(out: &X07Output) -> Vec<u8> {
    let r = report(out);
    r.solve_output()
        .unwrap_or_else(|e| panic!("{e}\n{}", out.describe()))
        .unwrap_or_else(|| {
            panic!(
                "the report has no solve.solve_output_b64\n{}",
                out.describe()
            )
        })
}

/// Decodes standard base64 text.
pub fn b64_decode(text: &str) -> Vec<u8> {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD
        .decode(text)
        .unwrap_or_else(|e| panic!("not base64: {text:?}: {e}"))
}

/// Encodes bytes as standard base64.
pub fn b64_encode(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// Everything inside `$X07_HOME/store` except its `.lock` file and the trusted launcher
/// (`<hash>-x07-launch`, built on first use by every build and sandboxed run): entries, temporary
/// build directories, anything else a command left behind. Empty when the store does not exist.
pub fn store_entries(home: &Path) -> Vec<String> {
    let store = home.join("store");
    let Ok(read) = fs_err::read_dir(&store) else {
        return Vec::new();
    };
    let mut names: Vec<String> = read
        .map(|e| {
            e.expect("read a store directory entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .filter(|n| n != ".lock" && !n.ends_with("-x07-launch"))
        .collect();
    names.sort();
    names
}

/// Asserts that a command wrote nothing into the store of `home`.
#[track_caller]
pub fn expect_store_empty(home: &X07Home, out: &X07Output) {
    let entries = store_entries(home.path());
    assert!(
        entries.is_empty(),
        "nothing should be written to the store, found {entries:?}\n{}",
        out.describe()
    );
}

/// `value` pretty-printed with a final newline: valid JSON that is not in canonical form.
pub fn pretty(value: &Value) -> Vec<u8> {
    let mut bytes = serde_json::to_vec_pretty(value).expect("a JSON value always serializes");
    bytes.push(b'\n');
    bytes
}

/// Whether `bytes` is the canonical file form: the RFC 8785 bytes of its own value plus "\n".
pub fn is_canonical_file(bytes: &[u8]) -> bool {
    match serde_json::from_slice::<Value>(bytes) {
        Ok(value) => canonical_file(&value) == bytes,
        Err(_) => false,
    }
}

/// The canonical file form of `value`: RFC 8785 bytes plus "\n".
pub fn canonical_file(value: &Value) -> Vec<u8> {
    let mut bytes = jcs::encode(value);
    bytes.push(b'\n');
    bytes
}

/// The last non-empty line of stdout.
#[track_caller]
pub fn last_stdout_line(out: &X07Output) -> String {
    stdout(out)
        .lines()
        .rfind(|l| !l.trim().is_empty())
        .unwrap_or_else(|| panic!("stdout is empty\n{}", out.describe()))
        .to_owned()
}

/// The sha256 of a file as lowercase hex, computed by coreutils' `sha256sum` (independent of x07).
pub fn sha256_file(path: &Path) -> String {
    let out = std::process::Command::new("sha256sum")
        .arg(path)
        .output()
        .expect("run sha256sum");
    assert!(out.status.success(), "sha256sum {} failed", path.display());
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .expect("sha256sum prints a digest")
        .to_owned()
}

/// The x07AST module `app` exporting `app.solve(b: bytes_view) -> bytes` with `body`.
pub fn app_module(imports: &[&str], body: Value) -> Value {
    serde_json::json!({
        "schema_version": "x07.x07ast@0.5.0",
        "kind": "module",
        "module_id": "app",
        "imports": imports,
        "decls": [
            {"kind": "export", "names": ["app.solve"]},
            {"kind": "defn", "name": "app.solve",
             "params": [{"name": "b", "ty": "bytes_view"}], "result": "bytes",
             "body": body}
        ]
    })
}

/// A program that never ends on its own: it reads the clock each turn, so the compiler cannot
/// fold the loop away (the wall-clock tests stop it).
pub fn clock_loop_app() -> Value {
    app_module(
        &[],
        serde_json::json!([
            "begin",
            ["let", "n", 0],
            [
                "while",
                ["=", 0, 0],
                ["set", "n", ["+", "n", ["os.time.now_unix_ms"]]]
            ],
            ["bytes.lit", "never"]
        ]),
    )
}

/// The app that connects to `<port>|<host>` (its input) and answers `connected` or
/// `denied:<net error code>`.
pub fn connect_app() -> Value {
    app_module(
        &["std.bytes", "std.parse", "std.fmt"],
        serde_json::json!([
            "begin",
            ["let", "i", ["std.bytes.find_u8", "b", 124]],
            ["let", "port", ["std.parse.u32_dec_at", "b", 0]],
            [
                "let",
                "host",
                [
                    "view.slice",
                    "b",
                    ["+", "i", 1],
                    ["-", ["view.len", "b"], ["+", "i", 1]]
                ]
            ],
            ["let", "r", ["os.net.tcp_connect_v1", "host", "port"]],
            [
                "if",
                ["result_i32.is_ok", "r"],
                ["bytes.lit", "connected"],
                [
                    "bytes.concat",
                    ["bytes.lit", "denied:"],
                    ["std.fmt.u32_to_dec", ["result_i32.err_code", "r"]]
                ]
            ]
        ]),
    )
}

/// The app that writes its input to `out/in.bin` (a write root of the cli template) and to
/// `escape` (outside every root), and says `in=<rc> esc=<rc>`.
pub fn write_in_and_escape_app(escape: &str) -> Value {
    app_module(
        &["std.os.fs", "std.fmt"],
        serde_json::json!([
            "begin",
            [
                "let",
                "a",
                ["std.os.fs.write_file", ["bytes.lit", "out/in.bin"], "b"]
            ],
            [
                "let",
                "c",
                ["std.os.fs.write_file", ["bytes.lit", escape], "b"]
            ],
            [
                "bytes.concat",
                [
                    "bytes.concat",
                    ["bytes.lit", "in="],
                    ["std.fmt.s32_to_dec", "a"]
                ],
                [
                    "bytes.concat",
                    ["bytes.lit", " esc="],
                    ["std.fmt.s32_to_dec", "c"]
                ]
            ]
        ]),
    )
}
