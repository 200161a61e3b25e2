//! The official package ext-net (`packages/ext-net`): `std.net.http` over libcurl through the FFI,
//! against an HTTP/1.1 server this test runs on 127.0.0.1. run-os: status, headers, bodies, POST,
//! redirects, error codes, and walkthrough step 4 exactly as the seed prints it. run-os-sandboxed
//! (backend `os`, http-client base policy): the host allowlist, pinned IP allowlists and redirects.
//!
//! Sandboxed runs need root (pids cgroup, network namespace); without it those tests print why and
//! pass without running. Set `X07_BIN` to test another build.

#[path = "common_sandbox/privileges.rs"]
mod privileges;
// Shared with the sandbox tests, which use more of it.
#[allow(dead_code)]
#[path = "common_sandbox/run_view.rs"]
mod run_view;

#[path = "ext_net/loopback_http.rs"]
mod loopback_http;

use std::path::{Path, PathBuf};

use serde_json::{json, Value};
use x07_tests::{x07_bin, X07Home, X07Invocation, X07Output};

use loopback_http::{LoopbackHttp, BIG_BODY_LEN, INDEX_BODY, TARGET_BODY};
use privileges::skip_without_os_backend;
use run_view::{Denial, RunView};

// `/big` must be over the default max_body_bytes for the too_large case.
const _: () = assert!(BIG_BODY_LEN > 65536);

/// Where `x07 policy init --template http-client` writes the base policy.
const HTTP_POLICY: &str = ".x07/policies/base/http-client.sandbox.base.policy.json";

/// Walkthrough step 4.3 (seed 002), byte for byte as the seed prints it.
const STEP4_APP: &str = include_str!("../fixtures/seed_step4_app.x07.json");

/// The ext-net module root in this repository.
fn ext_net_modules() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../packages/ext-net/modules");
    fs_err::canonicalize(&root).unwrap_or_else(|e| panic!("{e}: the ext-net package is missing"))
}

/// A program directory (`main.x07.json` calling `app.solve`, plus `app.x07.json`), its own home.
struct Program {
    home: X07Home,
    dir: tempfile::TempDir,
}

impl Program {
    fn new(app: &[u8]) -> Self {
        let home = X07Home::new().expect("create a temporary X07_HOME");
        let dir = tempfile::Builder::new()
            .prefix("x07-ext-net-")
            .tempdir()
            .expect("create a program directory");
        let main = json!({"schema_version": "x07.x07ast@0.5.0", "kind": "entry", "module_id": "main",
                          "imports": ["app"], "decls": [], "solve": ["app.solve", "input"]});
        fs_err::write(dir.path().join("main.x07.json"), main.to_string()).unwrap();
        fs_err::write(dir.path().join("app.x07.json"), app).unwrap();
        fs_err::create_dir(dir.path().join("out")).unwrap();
        Self { home, dir }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn x07(&self) -> X07Invocation {
        X07Invocation::new(x07_bin())
            .home(&self.home)
            .current_dir(self.path())
    }

    /// `x07 run` of the program with `input` (written to a file, passed with `--input`) and extra
    /// flags, in run-os unless the flags say otherwise.
    fn run(&self, input: &[u8], extra: &[&str]) -> RunView {
        let input_file = self.path().join("input.bin");
        fs_err::write(&input_file, input).unwrap();
        let modules = ext_net_modules();
        let out = self
            .x07()
            .args(["run", "--program", "main.x07.json", "--module-root"])
            .arg(&modules)
            .arg("--input")
            .arg(&input_file)
            .args(["--repair", "off"])
            .args(extra)
            .run()
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(
            !out.timed_out,
            "x07 did not finish in time\n{}",
            out.describe()
        );
        view(&out)
    }

    /// The same, sandboxed: http-client base policy, backend os.
    fn run_sandboxed(&self, input: &[u8], extra: &[&str]) -> RunView {
        if !self.path().join(HTTP_POLICY).is_file() {
            let out = self
                .x07()
                .args(["policy", "init", "--template", "http-client"])
                .run()
                .unwrap();
            assert_eq!(out.exit_code, Some(0), "{}", out.describe());
        }
        let mut args = vec![
            "--profile",
            "sandbox",
            "--policy",
            HTTP_POLICY,
            "--sandbox-backend",
            "os",
            "--i-accept-weaker-isolation",
        ];
        args.extend_from_slice(extra);
        self.run(input, &args)
    }
}

fn view(out: &X07Output) -> RunView {
    RunView::from_cli(out).unwrap_or_else(|e| panic!("{e}"))
}

#[track_caller]
fn expect_output(rv: &RunView, want: &[u8]) {
    assert!(rv.ok, "the run failed\n{}", rv.describe());
    assert_eq!(
        String::from_utf8_lossy(&rv.output),
        String::from_utf8_lossy(want),
        "\n{}",
        rv.describe()
    );
}

/// A probe app. Input: one mode byte (`G` GET with default caps, `F` GET following up to 5
/// redirects, `P` POST), the URL, then for `P` a newline and the body. Output:
/// `status=..;headers=..;x-test=..;content-length=..;req-type=..;body=..` or `err=<code>`.
fn probe_app() -> Vec<u8> {
    let header = |name: &str| {
        json!([
            "std.net.http.resp_header_get_v1",
            "v",
            ["bytes.view_lit", name]
        ])
    };
    let put = |what: Value| json!(["set", "out", ["vec_u8.extend_bytes", "out", what]]);
    let put_bytes = |name: &str, value: Value| {
        json!([
            "begin",
            ["let", name, value],
            ["set", "out", ["vec_u8.extend_bytes", "out", name]]
        ])
    };
    let ok_branch = json!([
        "begin",
        ["let", "out", ["vec_u8.with_capacity", 64]],
        put(json!(["bytes.view_lit", "status="])),
        put_bytes(
            "s",
            json!(["std.fmt.u32_to_dec", ["std.net.http.resp_status_v1", "v"]])
        ),
        put(json!(["bytes.view_lit", ";headers="])),
        put_bytes(
            "n",
            json!([
                "std.fmt.u32_to_dec",
                ["std.net.http.resp_header_count_v1", "v"]
            ])
        ),
        put(json!(["bytes.view_lit", ";x-test="])),
        // Looked up in another case than the server wrote it.
        put_bytes("xt", header("x-TEST")),
        put(json!(["bytes.view_lit", ";content-length="])),
        put_bytes("cl", header("content-length")),
        put(json!(["bytes.view_lit", ";req-type="])),
        put_bytes("rt", header("X-Request-Content-Type")),
        put(json!(["bytes.view_lit", ";body="])),
        put_bytes("body", json!(["std.net.http.resp_body_v1", "v"])),
        ["vec_u8.into_bytes", "out"]
    ]);
    let body = json!([
        "begin",
        ["let", "mode", ["view.get_u8", "b", 0]],
        ["let", "nl", ["std.bytes.find_u8", "b", 10]],
        [
            "let",
            "url_end",
            ["if", ["=", "nl", -1], ["view.len", "b"], "nl"]
        ],
        [
            "let",
            "url",
            ["view.to_bytes", ["view.slice", "b", 1, ["-", "url_end", 1]]]
        ],
        [
            "let",
            "body_at",
            ["if", ["=", "nl", -1], ["view.len", "b"], ["+", "nl", 1]]
        ],
        [
            "let",
            "req_body",
            [
                "view.to_bytes",
                [
                    "view.slice",
                    "b",
                    "body_at",
                    ["-", ["view.len", "b"], "body_at"]
                ]
            ]
        ],
        [
            "let",
            "caps",
            [
                "if",
                ["=", "mode", 70],
                ["std.net.http.spec.caps_v1", 1, 30, 5, 4096, 64, 65536],
                ["std.net.http.spec.caps_default_v1"]
            ]
        ],
        [
            "let",
            "resp",
            [
                "if",
                ["=", "mode", 80],
                ["std.net.http.post_v1", "url", "req_body", "caps"],
                ["std.net.http.get_v1", "url", "caps"]
            ]
        ],
        ["let", "v", ["bytes.view", "resp"]],
        [
            "if",
            ["std.net.http.resp_is_err_v1", "v"],
            [
                "bytes.concat",
                ["bytes.lit", "err="],
                ["std.fmt.u32_to_dec", ["std.net.http.resp_err_code_v1", "v"]]
            ],
            ok_branch
        ]
    ]);
    let module = json!({
        "schema_version": "x07.x07ast@0.5.0", "kind": "module", "module_id": "app",
        "imports": ["std.bytes", "std.fmt", "std.net.http", "std.net.http.spec"],
        "decls": [
            {"kind": "export", "names": ["app.solve"]},
            {"kind": "defn", "name": "app.solve", "params": [{"name": "b", "ty": "bytes_view"}], "result": "bytes", "body": body}
        ]
    });
    module.to_string().into_bytes()
}

fn probe_input(mode: char, url: &str, body: &[u8]) -> Vec<u8> {
    let mut input = format!("{mode}{url}").into_bytes();
    if mode == 'P' {
        input.push(b'\n');
        input.extend_from_slice(body);
    }
    input
}

/// The ok line the probe prints for a response.
fn probe_ok(
    status: u32,
    headers: u32,
    x_test: &str,
    content_length: usize,
    req_type: &str,
    body: &[u8],
) -> Vec<u8> {
    let mut line = format!(
        "status={status};headers={headers};x-test={x_test};content-length={content_length};req-type={req_type};body="
    )
    .into_bytes();
    line.extend_from_slice(body);
    line
}

/// A TCP port on 127.0.0.1 with nothing listening (bound, then released).
fn refused_port() -> u16 {
    let listener = std::net::TcpListener::bind(("127.0.0.1", 0)).unwrap();
    listener.local_addr().unwrap().port()
}

#[test]
fn caps_and_error_docs_have_the_documented_bytes() {
    let put = |what: Value| json!(["set", "out", ["vec_u8.extend_bytes", "out", what]]);
    let put_u32 = |what: Value| put(json!(["codec.write_u32_le", what]));
    // An ok doc claiming 5 headers that are not there: accessors must not trap.
    let truncated = json!(["view.slice", "b", 0, 10]);
    let body = json!([
        "begin",
        ["let", "out", ["vec_u8.with_capacity", 64]],
        ["let", "caps", ["std.net.http.spec.caps_default_v1"]],
        put(json!("caps")),
        [
            "let",
            "doc",
            ["std.net.err.make_doc_v1", ["std.net.err.code_too_large_v1"]]
        ],
        put(json!("doc")),
        put_u32(json!(["std.net.http.spec.caps_max_body_bytes_v1", "caps"])),
        put_u32(json!(["std.net.http.spec.caps_timeout_s_v1", "caps"])),
        put_u32(json!(["std.net.err.is_err_doc_v1", "doc"])),
        put_u32(json!(["std.net.err.err_code_v1", "doc"])),
        put_u32(json!(["std.net.http.resp_err_code_v1", "doc"])),
        put_u32(json!(["std.net.http.resp_status_v1", "doc"])),
        put_u32(json!(["std.net.http.resp_status_v1", truncated])),
        put_u32(json!(["std.net.http.resp_header_count_v1", truncated])),
        ["let", "tb", ["std.net.http.resp_body_v1", truncated]],
        put_u32(json!(["view.len", ["bytes.view", "tb"]])),
        ["vec_u8.into_bytes", "out"]
    ]);
    let module = json!({
        "schema_version": "x07.x07ast@0.5.0", "kind": "module", "module_id": "app",
        "imports": ["std.net.err", "std.net.http", "std.net.http.spec"],
        "decls": [
            {"kind": "export", "names": ["app.solve"]},
            {"kind": "defn", "name": "app.solve", "params": [{"name": "b", "ty": "bytes_view"}], "result": "bytes", "body": body}
        ]
    });
    let p = Program::new(module.to_string().as_bytes());
    let rv = p.run(&[1, 2, 200, 0, 0, 0, 5, 0, 0, 0], &[]);
    let mut want = Vec::new();
    for field in [1u32, 0, 30, 0, 4096, 64, 65536] {
        want.extend_from_slice(&field.to_le_bytes());
    }
    want.extend_from_slice(&[0, 4, 0, 0, 0, 0, 0, 0, 0]);
    for value in [65536u32, 30, 1, 4, 4, 0, 200, 5, 0] {
        want.extend_from_slice(&value.to_le_bytes());
    }
    assert!(rv.ok, "{}", rv.describe());
    assert_eq!(rv.output, want, "{}", rv.describe());
}

#[test]
fn get_returns_status_headers_and_body() {
    let server = LoopbackHttp::start().unwrap();
    let p = Program::new(&probe_app());
    let rv = p.run(&probe_input('G', &server.url("/"), b""), &[]);
    // Content-Type, Content-Length, X-Test (its value trimmed) and Connection.
    expect_output(
        &rv,
        &probe_ok(200, 4, "yes", INDEX_BODY.len(), "", INDEX_BODY),
    );
    assert_eq!(server.requests(), ["GET /"]);
}

#[test]
fn a_missing_page_is_a_404_response_not_an_error() {
    let server = LoopbackHttp::start().unwrap();
    let p = Program::new(&probe_app());
    let rv = p.run(&probe_input('G', &server.url("/nowhere"), b""), &[]);
    expect_output(&rv, &probe_ok(404, 3, "", 13, "", b"no such page\n"));
}

#[test]
fn post_sends_the_body_as_octet_stream() {
    let server = LoopbackHttp::start().unwrap();
    let p = Program::new(&probe_app());
    let sent = b"line one\nline two \x00\xff end";
    let rv = p.run(&probe_input('P', &server.url("/echo"), sent), &[]);
    expect_output(
        &rv,
        &probe_ok(200, 4, "", sent.len(), "application/octet-stream", sent),
    );
    assert_eq!(server.requests(), ["POST /echo"]);
}

#[test]
fn walkthrough_step4_fetches_and_writes_out_body_bin_in_run_os() {
    let server = LoopbackHttp::start().unwrap();
    let p = Program::new(STEP4_APP.as_bytes());
    let rv = p.run(server.url("/").as_bytes(), &[]);
    expect_output(&rv, INDEX_BODY);
    assert_eq!(
        fs_err::read(p.path().join("out/body.bin")).unwrap(),
        INDEX_BODY
    );
}

#[test]
fn walkthrough_step4_in_the_sandbox_needs_the_host_on_the_allowlist() {
    if skip_without_os_backend("walkthrough_step4_in_the_sandbox_needs_the_host_on_the_allowlist") {
        return;
    }
    let server = LoopbackHttp::start().unwrap();
    let p = Program::new(STEP4_APP.as_bytes());
    let url = server.url("/");
    let allow = format!("127.0.0.1:{}", server.port());

    let rv = p.run_sandboxed(url.as_bytes(), &["--allow-host", &allow]);
    expect_output(&rv, INDEX_BODY);
    assert_eq!(rv.denials, Some(Vec::new()), "{}", rv.describe());
    assert_eq!(
        fs_err::read(p.path().join("out/body.bin")).unwrap(),
        INDEX_BODY
    );
    assert_eq!(server.requests(), ["GET /"]);

    fs_err::remove_file(p.path().join("out/body.bin")).unwrap();
    let rv = p.run_sandboxed(url.as_bytes(), &[]);
    expect_output(&rv, b"http_error_code=1");
    let want = Denial {
        op: "std.net.http".into(),
        target: allow.clone(),
        rule: "net.allow_hosts".into(),
    };
    assert_eq!(rv.denials, Some(vec![want]), "{}", rv.describe());
    assert!(!p.path().join("out/body.bin").exists());
    assert_eq!(
        server.requests(),
        ["GET /"],
        "the denied request never reached the server"
    );
}

/// Walkthrough step 4 on the vm backend with no backend flags: the program (dynamic, linking
/// libcurl) runs in a guest with its closure and CA certificates carried in; its only way out is
/// the host-side proxy. The allowlisted server is reached by address and by name, another port
/// of the host's loopback is not.
#[test]
fn walkthrough_step4_on_the_vm_backend() {
    let p = Program::new(STEP4_APP.as_bytes());
    let mut build = p
        .x07()
        .args(["vm", "image", "build"])
        .timeout(std::time::Duration::from_secs(600));
    if let Some(deb) = std::env::var_os("X07_TEST_KERNEL_DEB") {
        build = build.arg("--kernel-deb").arg(deb);
    }
    let out = build.run().unwrap();
    assert_eq!(out.exit_code, Some(0), "{}", out.describe());
    let out = p
        .x07()
        .args(["policy", "init", "--template", "http-client"])
        .run()
        .unwrap();
    assert_eq!(out.exit_code, Some(0), "{}", out.describe());
    let server = LoopbackHttp::start().unwrap();
    let other = LoopbackHttp::start().unwrap();
    let vm = |url: String, allow: &str| {
        let rv = p.run(
            url.as_bytes(),
            &[
                "--profile",
                "sandbox",
                "--policy",
                HTTP_POLICY,
                "--allow-host",
                allow,
            ],
        );
        assert!(
            rv.context.contains(r#""sandbox_backend": "vm""#),
            "{}",
            rv.describe()
        );
        rv
    };

    let rv = vm(server.url("/"), &format!("127.0.0.1:{}", server.port()));
    expect_output(&rv, INDEX_BODY);
    assert_eq!(
        fs_err::read(p.path().join("out/body.bin")).unwrap(),
        INDEX_BODY
    );
    assert_eq!(server.requests(), ["GET /"]);

    let by_name = format!("http://localhost:{}/", server.port());
    let rv = vm(by_name, &format!("localhost:{}", server.port()));
    expect_output(&rv, INDEX_BODY);
    assert_eq!(server.requests(), ["GET /", "GET /"]);

    fs_err::remove_file(p.path().join("out/body.bin")).unwrap();
    let rv = vm(other.url("/"), &format!("127.0.0.1:{}", server.port()));
    expect_output(&rv, b"http_error_code=1");
    assert!(
        other.requests().is_empty(),
        "another port of the host was reached"
    );
    assert!(!p.path().join("out/body.bin").exists());

    // step 5 as a VM bundle: the command-line variant, libcurl and its closure in the sidecar,
    // copied to a fresh directory and run there without x07
    let app = include_str!("../fixtures/seed_step4_cli_app.x07.json");
    fs_err::write(p.path().join("app.x07.json"), app).unwrap();
    let dist = p.path().join("dist/fetch");
    let allow = format!("127.0.0.1:{}", server.port());
    let out = p
        .x07()
        .args([
            "bundle",
            "--no-sign",
            "--program",
            "main.x07.json",
            "--module-root",
        ])
        .arg(ext_net_modules())
        .args([
            "--profile",
            "sandbox",
            "--policy",
            HTTP_POLICY,
            "--allow-host",
            &allow,
        ])
        .arg("--out")
        .arg(&dist)
        .timeout(std::time::Duration::from_secs(300))
        .run()
        .unwrap();
    assert_eq!(out.exit_code, Some(0), "{}", out.describe());
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["bundle"]["kind"], "vm", "{report:#}");
    let fresh = tempfile::tempdir().unwrap();
    fs_err::create_dir(fresh.path().join("out")).unwrap();
    let exe = fresh.path().join("fetch");
    fs_err::copy(&dist, &exe).unwrap();
    x07_tests::copy_tree(
        &p.path().join("dist/fetch.vm"),
        &fresh.path().join("fetch.vm"),
    )
    .unwrap();
    let run = |url: &str| {
        X07Invocation::new(&exe)
            .arg(url)
            .current_dir(fresh.path())
            .timeout(std::time::Duration::from_secs(180))
            .run()
            .unwrap()
    };
    let out = run(&server.url("/"));
    assert_eq!(out.exit_code, Some(0), "{}", out.describe());
    assert_eq!(out.stdout, INDEX_BODY, "{}", out.describe());
    assert_eq!(
        fs_err::read(fresh.path().join("out/body.bin")).unwrap(),
        INDEX_BODY
    );
    let out = run(&other.url("/"));
    assert_eq!(out.stdout, b"http_error_code=1", "{}", out.describe());
    assert!(
        other.requests().is_empty(),
        "another port of the host was reached"
    );
}

#[test]
fn redirects_follow_only_when_asked_and_never_in_the_sandbox() {
    let server = LoopbackHttp::start().unwrap();
    let p = Program::new(&probe_app());
    let url = server.url("/redirect");

    let rv = p.run(&probe_input('G', &url, b""), &[]);
    expect_output(&rv, &probe_ok(302, 4, "", 6, "", b"moved\n"));
    let rv = p.run(&probe_input('F', &url, b""), &[]);
    expect_output(
        &rv,
        &probe_ok(200, 3, "", TARGET_BODY.len(), "", TARGET_BODY),
    );
    assert_eq!(
        server.requests(),
        ["GET /redirect", "GET /redirect", "GET /target"]
    );

    if skip_without_os_backend(
        "redirects_follow_only_when_asked_and_never_in_the_sandbox (sandboxed part)",
    ) {
        return;
    }
    let allow = format!("127.0.0.1:{}", server.port());
    let rv = p.run_sandboxed(&probe_input('F', &url, b""), &["--allow-host", &allow]);
    expect_output(&rv, &probe_ok(302, 4, "", 6, "", b"moved\n"));
    assert_eq!(
        server.requests().last().map(String::as_str),
        Some("GET /redirect"),
        "the Location was not fetched"
    );
}

#[test]
fn failures_map_to_the_net_error_codes() {
    let server = LoopbackHttp::start().unwrap();
    let p = Program::new(&probe_app());
    let cases = [
        // `.invalid` never resolves (RFC 6761).
        (
            format!("http://no-such-host.invalid:{}/", server.port()),
            "err=5",
        ),
        (format!("http://127.0.0.1:{}/", refused_port()), "err=6"),
        // TLS to a plain-text server: the handshake fails.
        (format!("https://127.0.0.1:{}/", server.port()), "err=7"),
        (format!("ftp://127.0.0.1:{}/", server.port()), "err=2"),
        ("not a url".to_string(), "err=2"),
        // Over the default max_body_bytes (65536).
        (server.url("/big"), "err=4"),
    ];
    for (url, want) in cases {
        let rv = p.run(&probe_input('G', &url, b""), &[]);
        assert!(rv.ok, "{url}: the run failed\n{}", rv.describe());
        assert_eq!(
            String::from_utf8_lossy(&rv.output),
            want,
            "{url}\n{}",
            rv.describe()
        );
    }
}

#[test]
fn a_pinned_ip_allowlist_refuses_names_that_resolve_elsewhere() {
    if skip_without_os_backend("a_pinned_ip_allowlist_refuses_names_that_resolve_elsewhere") {
        return;
    }
    let server = LoopbackHttp::start().unwrap();
    let p = Program::new(&probe_app());
    let port = server.port();
    let input = probe_input('G', &format!("http://localhost:{port}/"), b"");
    let by_name = format!("localhost:{port}");

    // The name alone is enough when the allowlist names no address.
    let rv = p.run_sandboxed(&input, &["--allow-host", &by_name]);
    expect_output(
        &rv,
        &probe_ok(200, 4, "yes", INDEX_BODY.len(), "", INDEX_BODY),
    );

    // With addresses pinned, localhost's 127.0.0.1 must be one of them.
    let elsewhere = format!("192.0.2.1:{port}");
    let rv = p.run_sandboxed(
        &input,
        &["--allow-host", &by_name, "--allow-host", &elsewhere],
    );
    expect_output(&rv, b"err=1");
    let want = Denial {
        op: "std.net.http".into(),
        target: format!("localhost:{port}=127.0.0.1"),
        rule: "net.allow_hosts".into(),
    };
    assert!(
        rv.denials.as_ref().is_some_and(|d| d.contains(&want)),
        "expected {want:?}\n{}",
        rv.describe()
    );

    let loopback = format!("127.0.0.1:{port}");
    let rv = p.run_sandboxed(
        &input,
        &[
            "--allow-host",
            &by_name,
            "--allow-host",
            &elsewhere,
            "--allow-host",
            &loopback,
        ],
    );
    expect_output(
        &rv,
        &probe_ok(200, 4, "yes", INDEX_BODY.len(), "", INDEX_BODY),
    );
    assert_eq!(
        server.requests().len(),
        2,
        "the refused request never reached the server"
    );
}

/// Walkthrough step 4 as the seed runs it: ext-net published to a local `x07 registry serve`,
/// `x07 pkg add ext-net@0.1.0 --sync`, the http-client base policy in the sandbox profile, the
/// seed's program in src/app.x07.json; run-os fetches, and the sandbox (os backend, as root)
/// needs `--allow-host` and prints `http_error_code=1` without it.
#[test]
fn walkthrough_step4_via_pkg_add_from_a_local_registry() {
    use x07_tests::registry::LocalRegistry;
    let home = X07Home::new().unwrap();
    let reg = LocalRegistry::start(&["x07"]);
    reg.login(home.path(), "x07");
    reg.publish_ok(
        home.path(),
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("../packages/ext-net"),
    );

    let dir = tempfile::tempdir().unwrap();
    let x07 = |args: &[&str]| {
        let out = X07Invocation::new(x07_bin())
            .home(&home)
            .current_dir(dir.path())
            .args(args)
            .run()
            .unwrap();
        assert!(!out.timed_out, "{}", out.describe());
        out
    };
    let ok = |args: &[&str]| {
        let out = x07(args);
        assert_eq!(
            out.exit_code,
            Some(0),
            "x07 {}\n{}",
            args.join(" "),
            out.describe()
        );
        out
    };
    ok(&["init"]);
    ok(&[
        "pkg",
        "add",
        "ext-net@0.1.0",
        "--sync",
        "--index",
        &reg.index,
    ]);
    ok(&["policy", "init", "--template", "http-client"]);
    let manifest_path = dir.path().join("x07.json");
    let mut manifest: Value =
        serde_json::from_slice(&fs_err::read(&manifest_path).unwrap()).unwrap();
    assert_eq!(
        manifest["dependencies"],
        json!([{"name": "ext-net", "path": ".x07/deps/ext-net/0.1.0", "version": "0.1.0"}])
    );
    manifest["profiles"]["sandbox"]["policy"] = json!(HTTP_POLICY);
    fs_err::write(&manifest_path, serde_json::to_vec(&manifest).unwrap()).unwrap();
    fs_err::write(dir.path().join("src/app.x07.json"), STEP4_APP).unwrap();
    fs_err::create_dir(dir.path().join("out")).unwrap();

    let server = LoopbackHttp::start().unwrap();
    let url_file = dir.path().join("url.bin");
    fs_err::write(&url_file, server.url("/")).unwrap();
    let url_arg = url_file.to_str().unwrap();
    let rv = view(&ok(&["run", "--input", url_arg]));
    expect_output(&rv, INDEX_BODY);
    assert_eq!(
        fs_err::read(dir.path().join("out/body.bin")).unwrap(),
        INDEX_BODY
    );
    fs_err::remove_file(dir.path().join("out/body.bin")).unwrap();

    if skip_without_os_backend(
        "walkthrough_step4_via_pkg_add_from_a_local_registry (sandboxed part)",
    ) {
        return;
    }
    let allow = format!("127.0.0.1:{}", server.port());
    let sandboxed = [
        "run",
        "--profile",
        "sandbox",
        "--sandbox-backend",
        "os",
        "--i-accept-weaker-isolation",
        "--input",
        url_arg,
    ];
    let rv = view(&x07(&[&sandboxed[..], &["--allow-host", &allow]].concat()));
    expect_output(&rv, INDEX_BODY);
    assert_eq!(
        fs_err::read(dir.path().join("out/body.bin")).unwrap(),
        INDEX_BODY
    );
    fs_err::remove_file(dir.path().join("out/body.bin")).unwrap();
    let rv = view(&x07(&sandboxed));
    expect_output(&rv, b"http_error_code=1");
    assert!(!dir.path().join("out/body.bin").exists());
}

/// The step-4 app as a command-line tool (the URL is argument 1), bundled sealed with the
/// http-client policy and `--allow-host`, copied to a fresh directory and run there on its own:
/// the allowlisted server answers, another loopback server is never reached.
#[test]
fn walkthrough_step4_as_a_sealed_bundle_in_a_fresh_directory() {
    if skip_without_os_backend("walkthrough_step4_as_a_sealed_bundle_in_a_fresh_directory") {
        return;
    }
    let allowed = LoopbackHttp::start().unwrap();
    let other = LoopbackHttp::start().unwrap();
    let app = include_str!("../fixtures/seed_step4_cli_app.x07.json");
    let p = Program::new(app.as_bytes());
    let out = p
        .x07()
        .args(["policy", "init", "--template", "http-client"])
        .run()
        .unwrap();
    assert_eq!(out.exit_code, Some(0), "{}", out.describe());
    let dist = p.path().join("dist/fetch");
    let allow = format!("127.0.0.1:{}", allowed.port());
    let out = p
        .x07()
        .args([
            "bundle",
            "--no-sign",
            "--program",
            "main.x07.json",
            "--module-root",
        ])
        .arg(ext_net_modules())
        .args(["--profile", "sandbox", "--policy", HTTP_POLICY])
        .args(["--sandbox-backend", "os", "--i-accept-weaker-isolation"])
        .args(["--allow-host", &allow, "--out"])
        .arg(&dist)
        .run()
        .unwrap();
    assert_eq!(out.exit_code, Some(0), "{}", out.describe());
    let fresh = tempfile::tempdir().unwrap();
    let exe = fresh.path().join("fetch");
    fs_err::copy(&dist, &exe).unwrap();
    let run = |url: &str| {
        X07Invocation::new(&exe)
            .arg(url)
            .current_dir(fresh.path())
            .run()
            .unwrap()
    };
    let out = run(&allowed.url("/"));
    assert_eq!(out.exit_code, Some(0), "{}", out.describe());
    assert_eq!(out.stdout, INDEX_BODY, "{}", out.describe());
    assert_eq!(
        fs_err::read(fresh.path().join("out/body.bin")).unwrap(),
        INDEX_BODY
    );
    let out = run(&other.url("/"));
    assert_eq!(out.stdout, b"http_error_code=1", "{}", out.describe());
    assert_eq!(allowed.requests(), ["GET /"]);
    // the person running it narrows the network away: the allowlisted server is not reached either
    fs_err::write(
        fresh.path().join("offline.json"),
        br#"{"net": {"allow_hosts": []}}"#,
    )
    .unwrap();
    let out = X07Invocation::new(&exe)
        .arg(allowed.url("/"))
        .current_dir(fresh.path())
        .env("X07_BUNDLE_POLICY", "offline.json")
        .run()
        .unwrap();
    assert_eq!(out.stdout, b"http_error_code=1", "{}", out.describe());
    assert_eq!(
        allowed.requests(),
        ["GET /"],
        "a narrowed-away host was reached"
    );
    assert!(
        other.requests().is_empty(),
        "a port the sealed policy does not allow was reached"
    );
}
