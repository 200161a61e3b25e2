//! The C runtime, tested for real: fragments are assembled with `runtime::assemble`, a hand-written
//! C program from `tests/runtime_c/` is appended (it defines `x7_solve` the way emitted code does),
//! the system C compiler builds it with `-Werror`, and the binary runs with framed input.

use serde_json::Value;
use std::io::Write as _;
use std::os::unix::process::ExitStatusExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};
use x07_builder::runtime::{self, MainKind, RuntimeError};

const SIGILL: i32 = 4;
const PURE_FRAGMENTS: &[&str] = &["bytes", "vec", "codec", "fmt", "parse", "optres"];
const OS_FRAGMENTS: &[&str] = &[
    "vec",
    "codec",
    "fmt",
    "parse",
    "optres",
    "os_fs",
    "os_env",
    "os_time",
    "os_process",
];

fn cc() -> String {
    std::env::var("CC").unwrap_or_else(|_| "cc".to_owned())
}

/// Build products of this test file; cargo's per-target scratch folder, reused across runs.
fn scratch() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("runtime_c");
        fs_err::create_dir_all(&dir).expect("create the scratch folder");
        dir
    })
}

/// The assembled runtime + the test program + main, as one C file.
fn program_source(fragments: &[&str], body: &str) -> String {
    let mut src = runtime::assemble(fragments).expect("assemble the runtime");
    src.push_str(body);
    src.push('\n');
    src.push_str(runtime::main_fragment(MainKind::Framed));
    src
}

fn compile(name: &str, fragments: &[&str]) -> PathBuf {
    let test_src = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/runtime_c")
        .join(format!("{name}.c"));
    let body = fs_err::read_to_string(&test_src).expect("read the C test program");
    let c_file = scratch().join(format!("{name}.c"));
    fs_err::write(&c_file, program_source(fragments, &body)).expect("write the C file");
    let exe = scratch().join(name);
    let out = Command::new(cc())
        .args(["-std=c11", "-O2", "-Wall", "-Wextra", "-Werror", "-o"])
        .arg(&exe)
        .arg(&c_file)
        .output()
        .expect("run the C compiler");
    assert!(
        out.status.success(),
        "{name}.c does not compile:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    exe
}

fn pure_exe() -> &'static Path {
    static EXE: OnceLock<PathBuf> = OnceLock::new();
    EXE.get_or_init(|| compile("pure", PURE_FRAGMENTS))
}

fn os_exe() -> &'static Path {
    static EXE: OnceLock<PathBuf> = OnceLock::new();
    EXE.get_or_init(|| compile("os", OS_FRAGMENTS))
}

/// One finished run of a test binary.
struct Run {
    status: ExitStatus,
    stdout: Vec<u8>,
    stderr: String,
}

impl Run {
    /// The solve output, checking the frame.
    fn output(&self) -> &[u8] {
        assert!(
            self.stdout.len() >= 4,
            "no output frame; stderr: {}",
            self.stderr
        );
        let len = u32::from_le_bytes(self.stdout[..4].try_into().unwrap()) as usize;
        assert_eq!(
            self.stdout.len(),
            4 + len,
            "frame length does not match the bytes written"
        );
        &self.stdout[4..]
    }

    fn output_text(&self) -> String {
        String::from_utf8_lossy(self.output()).into_owned()
    }

    /// The stats line: the last stderr line, parsed as JSON.
    fn stats(&self) -> Value {
        let line = self
            .stderr
            .lines()
            .last()
            .unwrap_or_else(|| panic!("no stats line on stderr"));
        serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("stats line is not JSON ({e}): {line}"))
    }

    /// Asserts the run trapped (SIGILL, nothing on stdout) and gives the trap line.
    fn trap(&self) -> &str {
        assert_eq!(
            self.status.signal(),
            Some(SIGILL),
            "expected a trap; stderr: {}",
            self.stderr
        );
        assert!(
            self.stdout.is_empty(),
            "a trapped run must not write an output frame"
        );
        self.stderr.trim_end_matches('\n')
    }

    fn assert_ok(&self) -> &Self {
        assert!(
            self.status.success(),
            "run failed ({:?}); stderr: {}",
            self.status,
            self.stderr
        );
        self
    }
}

fn run_with(exe: &Path, args: &[&str], input: &[u8], env: &[(&str, &str)]) -> Run {
    let mut child = Command::new(exe)
        .args(args)
        .envs(env.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the test binary");
    let mut stdin = child.stdin.take().unwrap();
    let mut frame = (input.len() as u32).to_le_bytes().to_vec();
    frame.extend_from_slice(input);
    // a binary that rejects its command line exits without reading stdin
    if let Err(e) = stdin.write_all(&frame) {
        assert_eq!(
            e.kind(),
            std::io::ErrorKind::BrokenPipe,
            "write the input frame: {e}"
        );
    }
    drop(stdin);
    let out = child.wait_with_output().expect("wait for the test binary");
    Run {
        status: out.status,
        stdout: out.stdout,
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn run(exe: &Path, args: &[&str], input: &[u8]) -> Run {
    run_with(exe, args, input, &[])
}

/// A temporary directory whose path has no hidden component (`tempdir()` gives `/tmp/.tmpXXXX`,
/// which the default caps rightly refuse).
fn visible_tempdir() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("x07-rt-")
        .tempdir()
        .expect("create a temporary directory")
}

/// A scenario byte followed by length-prefixed fields.
fn fields(cmd: u8, fields: &[&[u8]]) -> Vec<u8> {
    let mut v = vec![cmd];
    for f in fields {
        v.extend_from_slice(&(f.len() as u32).to_le_bytes());
        v.extend_from_slice(f);
    }
    v
}

// ------------------------------------------------------------------ assembly

fn order(needed: &[&str]) -> Vec<&'static str> {
    runtime::assembly_order(needed)
        .unwrap()
        .iter()
        .map(|f| f.name)
        .collect()
}

#[test]
fn assembly_puts_core_first_and_adds_transitive_requires() {
    assert_eq!(order(&[]), ["core"]);
    assert_eq!(order(&["core"]), ["core"]);
    assert_eq!(order(&["os_fs"]), ["core", "bytes", "os_fs"]);
    assert_eq!(order(&["vec", "bytes", "vec"]), ["core", "bytes", "vec"]);
    // ties are broken by name, requirements always come first
    assert_eq!(
        order(&["os_process", "codec"]),
        ["core", "codec", "bytes", "os_process"]
    );
    // main fragments are appended by the emitter, but what they require is kept
    assert_eq!(order(&["main_framed", "fmt"]), ["core", "fmt"]);
    let text = runtime::assemble(&["os_fs"]).unwrap();
    let at = |name: &str| text.find(runtime::fragment(name).unwrap().source).unwrap();
    let (core_at, bytes_at, fs_at) = (at("core"), at("bytes"), at("os_fs"));
    assert!(core_at < bytes_at && bytes_at < fs_at);
    assert!(!text.contains("int main("));
}

#[test]
fn unknown_fragment_is_an_error_naming_it() {
    let err = runtime::assemble(&["bytes", "no_such"]).unwrap_err();
    assert!(matches!(&err, RuntimeError::UnknownFragment { name, .. } if name == "no_such"));
    assert!(err.to_string().contains("`no_such`") && err.to_string().contains("os_fs"));
}

#[test]
fn fragment_headers_are_parsed() {
    let core = runtime::fragment("core").unwrap();
    assert!(core.requires.is_empty());
    assert!(core.source.starts_with("/* x07-fragment: requires= */"));
    assert_eq!(
        runtime::fragment("os_fs").unwrap().requires,
        ["core", "bytes"]
    );
    for frag in runtime::fragments() {
        assert!(
            frag.source.starts_with("/* x07-fragment: requires="),
            "{} lacks its header",
            frag.name
        );
        if frag.name != "core" {
            assert!(
                frag.requires.contains(&"core"),
                "{} must require core",
                frag.name
            );
        }
        for req in &frag.requires {
            assert!(
                runtime::fragment(req).is_some(),
                "{} requires unknown {req}",
                frag.name
            );
        }
    }
    for name in [
        "core",
        "bytes",
        "vec",
        "codec",
        "fmt",
        "parse",
        "optres",
        "os_fs",
        "os_env",
        "os_time",
        "os_process",
        "main_framed",
    ] {
        assert!(
            runtime::fragment(name).is_some(),
            "fragment {name} is missing"
        );
    }
    assert!(runtime::main_fragment(MainKind::Framed).contains("int main(int argc, char **argv)"));
}

#[test]
fn embedded_digest_and_stdlib_ids_are_well_formed() {
    let digest = runtime::embedded_digest();
    let hex = digest
        .strip_prefix("sha256:")
        .expect("digest starts with sha256:");
    assert_eq!(hex.len(), 64);
    assert!(hex
        .bytes()
        .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
    let ids: Vec<&str> = runtime::stdlib_sources()
        .iter()
        .map(|(id, _)| *id)
        .collect();
    let mut sorted = ids.clone();
    sorted.sort();
    assert_eq!(ids, sorted, "stdlib modules are sorted by id");
    for (id, text) in runtime::stdlib_sources() {
        assert!(
            !id.contains('/') && !id.ends_with(".x07.json"),
            "bad module id {id}"
        );
        assert!(text.trim_start().starts_with('{'), "{id} is not JSON text");
    }
}

/// Every fragment with what it requires (and, separately, core alone) compiles warning-free:
/// unused helpers must not warn, whatever subset a program pulls in.
#[test]
fn every_fragment_compiles_alone_without_warnings() {
    let trivial = "static x7_bytes x7_solve(void) { return X7_EMPTY_BYTES; }";
    for frag in runtime::fragments().iter().filter(|f| !f.is_main()) {
        let file = scratch().join(format!("alone_{}.c", frag.name));
        fs_err::write(&file, program_source(&[frag.name], trivial)).unwrap();
        let out = Command::new(cc())
            .args([
                "-std=c11",
                "-O0",
                "-Wall",
                "-Wextra",
                "-Werror",
                "-fsyntax-only",
            ])
            .arg(&file)
            .output()
            .expect("run the C compiler");
        assert!(
            out.status.success(),
            "fragment {} alone:\n{}",
            frag.name,
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

// ------------------------------------------------------------------ core, allocator, main

#[test]
fn echo_frames_output_and_reports_stats() {
    let r = run(pure_exe(), &[], b"eabc");
    r.assert_ok();
    assert_eq!(r.output(), b"abc");
    let s = r.stats();
    assert_eq!(s["fuel_used"], 1);
    assert_eq!(
        s["heap_used"], 7,
        "input (4) + output (3) are live at the peak"
    );
    assert_eq!(s["fs_read_file_calls"], 0);
    assert_eq!(s["sched_stats"]["sched_trace_hash"], "0x0000000000000000");
    let m = &s["mem_stats"];
    assert_eq!(m["alloc_calls"], 1);
    assert_eq!(m["free_calls"], 1);
    assert_eq!(m["bytes_alloc_total"], 3);
    assert_eq!(m["live_bytes"], 0);
    assert_eq!(m["live_allocs"], 0);
    assert_eq!(m["peak_live_bytes"], 3);
    assert_eq!(m["memcpy_bytes"], 3);
    let keys: Vec<&str> = s.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(keys.len(), 14, "fields: {keys:?}");
    assert_eq!(m.as_object().unwrap().len(), 10);
    assert_eq!(s["sched_stats"].as_object().unwrap().len(), 12);
}

#[test]
fn bytes_builtins() {
    let r = run(pure_exe(), &[], b"b");
    assert_eq!(
        r.assert_ok().output(),
        b"world|1|0|-1|1|0|111|3|0|A|xy\0\0|lit|1103527590|42".as_slice()
    );
    assert_eq!(r.stats()["mem_stats"]["live_bytes"], 0);
}

#[test]
fn vec_builtins() {
    let r = run(pure_exe(), &[], b"v");
    assert_eq!(
        r.assert_ok().output(),
        b"|1000|1024|231|7|1008|1024|1108|abcell\0\0|0|abababab".as_slice()
    );
    let m = &r.stats()["mem_stats"];
    assert_eq!(m["live_bytes"], 0);
    assert_eq!(m["live_allocs"], 0);
    assert!(
        m["realloc_calls"].as_u64().unwrap() >= 8,
        "growth goes through realloc: {m}"
    );
}

#[test]
fn codec_fmt_parse_builtins() {
    let r = run(pure_exe(), &[], b"c\x04\x03\x02\x01\x00");
    assert_eq!(
        r.assert_ok().output(),
        b"|16909060|66051|\xef\xbe\xad\xde|4294967295|-2147483648|-1|0|12345|4294967295|7|123|9"
            .as_slice()
    );
}

#[test]
fn option_and_result_builtins() {
    let r = run(pure_exe(), &[], b"o");
    assert_eq!(
        r.assert_ok().output_text(),
        "|5|9|0|1|ob|dflt|ov|0|3|77|0|0|60010|d|1|rb|5|1|rv"
    );
    assert_eq!(
        r.stats()["mem_stats"]["live_bytes"],
        0,
        "unwrap_or frees the unused side"
    );
}

#[test]
fn allocator_keeps_blocks_intact_zeroes_reused_memory_and_frees_everything() {
    let r = run(pure_exe(), &[], b"A");
    assert_eq!(r.assert_ok().output_text(), "bad|0");
    let m = &r.stats()["mem_stats"];
    assert_eq!(m["live_bytes"], 0);
    assert_eq!(m["live_allocs"], 0);
    assert_eq!(m["bytes_alloc_total"], m["bytes_freed_total"]);
    // deterministic: the same program and input give the same counters
    assert_eq!(run(pure_exe(), &[], b"A").stats(), r.stats());
}

#[test]
fn freed_memory_is_reused_under_a_small_limit() {
    let r = run(pure_exe(), &["--max-memory-bytes=1048576"], b"R");
    assert_eq!(r.assert_ok().output(), b"reused");
}

#[test]
fn memory_limit_traps() {
    let r = run(pure_exe(), &["--max-memory-bytes=1048576"], b"M2000000");
    assert_eq!(
        r.trap(),
        "allocator.alloc failed: memory limit of 1048576 bytes exceeded"
    );
}

#[test]
fn fuel_counts_calls_and_iterations_and_runs_out() {
    let r = run(pure_exe(), &[], b"L100");
    assert_eq!(r.assert_ok().output(), b"4950");
    assert_eq!(r.stats()["fuel_used"], 101);
    let r = run(pure_exe(), &["--solve-fuel=1000"], b"L100000");
    assert_eq!(r.trap(), "fuel exhausted ptr=/loop");
    let r = run(pure_exe(), &["--solve-fuel=101"], b"L100");
    assert_eq!(r.assert_ok().stats()["fuel_used"], 101);
}

#[test]
fn traps_name_the_builtin_and_the_node() {
    assert_eq!(run(pure_exe(), &[], b"T").trap(), "view.get_u8 oob ptr=/x");
    assert_eq!(
        run(pure_exe(), &[], b"U12").trap(),
        "codec.read_u32_le oob ptr=/codec"
    );
    assert_eq!(
        run(pure_exe(), &[], b"P12x").trap(),
        "parse.u32_dec non-digit ptr=/parse"
    );
    assert_eq!(
        run(pure_exe(), &[], b"P4294967296").trap(),
        "parse.u32_dec overflow ptr=/parse"
    );
    assert_eq!(
        run(pure_exe(), &[], b"P").trap(),
        "parse.u32_dec empty ptr=/parse"
    );
    assert_eq!(
        run(pure_exe(), &[], b"Kabc").trap(),
        "bytes.slice oob ptr=/slice"
    );
    assert_eq!(
        run(pure_exe(), &[], b"P4294967295").assert_ok().output(),
        b"4294967295"
    );
}

#[test]
fn exit_code_is_clamped_to_a_byte() {
    let r = run(pure_exe(), &[], b"X");
    assert_eq!(r.status.code(), Some(300 & 255));
    assert_eq!(r.output(), b"x");
    assert_eq!(r.stats()["fuel_used"], 1);
}

#[test]
fn bad_command_line_and_short_input_exit_2() {
    let r = run(pure_exe(), &["--bogus"], b"e");
    assert_eq!(r.status.code(), Some(2));
    assert!(r.stderr.contains("--bogus"), "{}", r.stderr);
    let r = run(pure_exe(), &["--solve-fuel=12x"], b"e");
    assert_eq!(r.status.code(), Some(2));
    let mut child = Command::new(pure_exe())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(&[9, 0, 0, 0, b'e'])
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
}

// ------------------------------------------------------------------ os_fs

#[test]
fn filesystem_builtins_follow_fs_caps() {
    let dir = visible_tempdir();
    std::os::unix::fs::symlink("a.txt", dir.path().join("flink")).unwrap();
    std::os::unix::fs::symlink("sub", dir.path().join("link")).unwrap();
    let d = dir.path().to_str().unwrap();
    let r = run(os_exe(), &[], &fields(b'f', &[d.as_bytes()]));
    let expected = "\
write_file 0
read_file hello
read_all missing err 60010
write_all no-overwrite atomic err 60011
write_all no-overwrite plain err 60011
write_all ok 6
append_all ok 2
read_all ok world!++
write_all parents ok 1
write_all no-parents err 60010
write_all hidden err 60003
write_all hidden allowed ok 1
read_all hidden dir err 60003
read_all symlink err 60009
read_all symlink allowed ok world!++
read_all via dir symlink err 60009
read_all via dir symlink allowed ok b
read_all too large err 60006
write_all too large err 60006
stat file ok v=1 kind=1 size=8 mtime=recent
stat dir ok v=1 kind=2 size=SIZE mtime=recent
stat symlink err 60009
stat symlink allowed ok v=1 kind=1 size=8 mtime=recent
list ok a.txt,flink,link,sub,
list hidden ok .hidden,a.txt,flink,link,sub,
list too many err 60007
list file err 60014
mkdirs ok 0
mkdirs again ok 0
mkdirs over file err 60011
rename ok 0
rename no-overwrite err 60011
read_all renamed ok world!++
copy_file ok 8
read_all copy ok world!++
copy_file too large err 60006
remove_file ok 0
remove_file again err 60010
remove_file dir err 60013
remove_dir_all too deep err 60008
remove_dir_all symlink err 60009
remove_dir_all ok 0
stat removed err 60010
read_all bad caps err 60002
read_all empty path err 60001
write_file missing dir 60010
list end ok .hidden,flink,link,sub,
";
    let output = r.assert_ok().output_text();
    let dir_size = fs_err::metadata(dir.path().join("sub")).unwrap().len();
    assert_eq!(
        output,
        expected.replace("size=SIZE", &format!("size={dir_size}"))
    );
    let s = r.stats();
    assert_eq!(
        s["fs_read_file_calls"], 13,
        "read_file and read_all_v1 calls"
    );
    assert_eq!(s["fs_list_dir_calls"], 5);
    assert_eq!(s["mem_stats"]["live_bytes"], 0);
    assert!(
        dir.path().join("sub/deep/b.txt").is_file(),
        "the refused moves left b.txt alone"
    );
}

#[test]
fn read_file_traps_with_path_and_code() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("nope\nline");
    let r = run(
        os_exe(),
        &[],
        &fields(b'r', &[p.to_str().unwrap().as_bytes()]),
    );
    let shown = p.to_str().unwrap().replace('\n', "\\x0a");
    assert_eq!(
        r.trap(),
        format!("os.fs.read_file failed path={shown} code=60010 ptr=/read")
    );
}

// ------------------------------------------------------------------ os_env, os_time

#[test]
fn env_get_reads_the_environment() {
    let r = run_with(
        os_exe(),
        &[],
        &fields(b'e', &[b"X07_RT_TEST"]),
        &[("X07_RT_TEST", "value 1")],
    );
    assert_eq!(r.assert_ok().output(), b"value 1");
    let r = run(os_exe(), &[], &fields(b'e', &[b"X07_RT_TEST_UNSET"]));
    assert_eq!(r.assert_ok().output(), b"");
    let r = run(os_exe(), &[], &fields(b'e', &[b"A=B"]));
    assert_eq!(r.assert_ok().output(), b"");
}

#[test]
fn time_now_and_sleep() {
    let r = run(os_exe(), &[], &fields(b't', &[b"50"]));
    let text = r.assert_ok().output_text();
    let (elapsed, t0) = text.split_once(' ').unwrap();
    let elapsed: u32 = elapsed.parse().unwrap();
    assert!((50..2000).contains(&elapsed), "slept {elapsed} ms");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u32;
    let t0: u32 = t0.parse().unwrap();
    assert!(
        now.wrapping_sub(t0) < 10_000,
        "now_unix_ms is the low 32 bits of Unix ms"
    );
}

// ------------------------------------------------------------------ os_process

fn proc_req(argv: &[&str], env: &[(&str, &str)], cwd: &str, stdin: &[u8]) -> Vec<u8> {
    fn put(v: &mut Vec<u8>, b: &[u8]) {
        v.extend_from_slice(&(b.len() as u32).to_le_bytes());
        v.extend_from_slice(b);
    }
    let mut v = vec![1u8];
    v.extend_from_slice(&(argv.len() as u32).to_le_bytes());
    for a in argv {
        put(&mut v, a.as_bytes());
    }
    v.extend_from_slice(&(env.len() as u32).to_le_bytes());
    for (k, val) in env {
        put(&mut v, k.as_bytes());
        put(&mut v, val.as_bytes());
    }
    put(&mut v, cwd.as_bytes());
    put(&mut v, stdin);
    v
}

fn proc_caps(max_out: u32, max_err: u32, timeout_ms: u32) -> Vec<u8> {
    [1, max_out, max_err, timeout_ms]
        .iter()
        .flat_map(|x| x.to_le_bytes())
        .collect()
}

/// A decoded ProcRespV1.
#[derive(Debug, PartialEq)]
struct Resp {
    exit_code: u32,
    flags: u32,
    stdout: Vec<u8>,
    stderr: Vec<u8>,
}

fn le32(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().unwrap())
}

fn decode_resp(b: &[u8]) -> Result<Resp, u32> {
    if b[0] == 0 {
        assert_eq!(b.len(), 5, "error responses are 5 bytes");
        return Err(le32(b, 1));
    }
    assert_eq!((b[0], b[1]), (1, 1), "tag and version");
    let out_len = le32(b, 10) as usize;
    let err_at = 14 + out_len;
    let err_len = le32(b, err_at) as usize;
    assert_eq!(b.len(), err_at + 4 + err_len, "response length");
    Ok(Resp {
        exit_code: le32(b, 2),
        flags: le32(b, 6),
        stdout: b[14..14 + out_len].to_vec(),
        stderr: b[err_at + 4..].to_vec(),
    })
}

fn run_capture(req: &[u8], caps: &[u8]) -> Result<Resp, u32> {
    let r = run(os_exe(), &[], &fields(b'R', &[req, caps]));
    assert_eq!(r.assert_ok().stats()["mem_stats"]["live_bytes"], 0);
    decode_resp(r.output())
}

fn default_caps() -> Vec<u8> {
    proc_caps(1 << 20, 1 << 20, 30_000)
}

#[test]
fn run_capture_echo() {
    let resp = run_capture(
        &proc_req(&["/bin/echo", "hello", "world"], &[], "", b""),
        &default_caps(),
    )
    .unwrap();
    assert_eq!(
        resp,
        Resp {
            exit_code: 0,
            flags: 0,
            stdout: b"hello world\n".to_vec(),
            stderr: vec![]
        }
    );
    // no '/': searched in PATH
    let resp = run_capture(
        &proc_req(&["echo", "via path"], &[], "", b""),
        &default_caps(),
    )
    .unwrap();
    assert_eq!(resp.stdout, b"via path\n");
}

#[test]
fn run_capture_passes_stdin_env_and_cwd() {
    let resp = run_capture(&proc_req(&["/bin/cat"], &[], "", b"abc"), &default_caps()).unwrap();
    assert_eq!(resp.stdout, b"abc");
    let resp = run_capture(
        &proc_req(&["/usr/bin/env"], &[("FOO", "bar")], "", b""),
        &default_caps(),
    )
    .unwrap();
    assert_eq!(
        resp.stdout, b"FOO=bar\n",
        "the request's env is the whole environment"
    );
    let dir = tempfile::tempdir().unwrap();
    let real = dir.path().canonicalize().unwrap();
    let resp = run_capture(
        &proc_req(&["/bin/pwd"], &[], real.to_str().unwrap(), b""),
        &default_caps(),
    )
    .unwrap();
    assert_eq!(resp.stdout, format!("{}\n", real.display()).as_bytes());
}

#[test]
fn run_capture_reports_exit_codes_signals_and_truncation() {
    let req = proc_req(&["/bin/sh", "-c", "echo err >&2; exit 3"], &[], "", b"");
    let resp = run_capture(&req, &default_caps()).unwrap();
    assert_eq!(
        (resp.exit_code, resp.flags, resp.stderr.as_slice()),
        (3, 0, b"err\n".as_slice())
    );
    let resp = run_capture(
        &proc_req(&["/bin/sh", "-c", "kill -9 $$"], &[], "", b""),
        &default_caps(),
    )
    .unwrap();
    assert_eq!((resp.exit_code, resp.flags), (128 + 9, 1));
    let req = proc_req(
        &["/bin/sh", "-c", "echo 0123456789; echo abcdef >&2"],
        &[],
        "",
        b"",
    );
    let resp = run_capture(&req, &proc_caps(4, 100, 30_000)).unwrap();
    assert_eq!(resp.stdout, b"0123");
    assert_eq!(resp.stderr, b"abcdef\n");
    assert_eq!(resp.flags, 4, "stdout truncated");
}

#[test]
fn run_capture_timeout_kills_the_child() {
    let started = Instant::now();
    let req = proc_req(&["/bin/sh", "-c", "sleep 5"], &[], "", b"");
    let resp = run_capture(&req, &proc_caps(1 << 20, 1 << 20, 200)).unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "took {:?}",
        started.elapsed()
    );
    assert_eq!(resp.flags & 2, 2, "timed out: {resp:?}");
    assert_eq!(resp.exit_code, 128 + 9);
}

#[test]
fn run_capture_errors() {
    assert_eq!(
        run_capture(
            &proc_req(&["/nonexistent/prog"], &[], "", b""),
            &default_caps()
        ),
        Err(3)
    );
    assert_eq!(
        run_capture(&[2, 0, 0], &default_caps()),
        Err(2),
        "bad version"
    );
    let mut trailing = proc_req(&["/bin/echo"], &[], "", b"");
    trailing.push(0);
    assert_eq!(
        run_capture(&trailing, &default_caps()),
        Err(2),
        "trailing bytes"
    );
    assert_eq!(
        run_capture(&proc_req(&["/bin/echo"], &[], "", b""), b"short"),
        Err(2),
        "bad caps"
    );
    assert_eq!(
        run_capture(
            &proc_req(&["/bin/echo"], &[("A=B", "c")], "", b""),
            &default_caps()
        ),
        Err(2)
    );
}

#[test]
fn spawn_capture_and_try_join() {
    let req = proc_req(&["/bin/sh", "-c", "sleep 0.2; echo joined"], &[], "", b"");
    let r = run(os_exe(), &[], &fields(b'J', &[&req, &default_caps()]));
    let out = r.assert_ok().output();
    assert_eq!(
        out[0], 1,
        "try_join_capture_v1 returned none while the child ran"
    );
    assert_eq!(decode_resp(&out[1..]).unwrap().stdout, b"joined\n");
}

#[test]
fn spawn_piped_streams() {
    let req = proc_req(&["/bin/cat"], &[], "", b"");
    let r = run(os_exe(), &[], &fields(b'I', &[&req, &default_caps()]));
    assert_eq!(
        r.assert_ok().output_text(),
        "write=0 close=0 out=piped data err= exit=0 waited=1 drop=0 after=-6"
    );
    let req = proc_req(&["/bin/sleep", "10"], &[], "", b"");
    let started = Instant::now();
    let r = run(os_exe(), &[], &fields(b'K', &[&req, &default_caps()]));
    assert_eq!(
        r.assert_ok().output_text(),
        "running=0 kill=0 exit=143 drop=0"
    );
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[test]
fn unknown_process_handles() {
    let r = run(os_exe(), &[], b"H");
    assert_eq!(r.assert_ok().output_text(), "-6 -6 6 6 6 6 0 join=1,6");
}

#[test]
fn process_exit_skips_the_frame_but_writes_stats() {
    let r = run(os_exe(), &[], b"x");
    assert_eq!(r.status.code(), Some(5));
    assert!(r.stdout.is_empty());
    assert_eq!(r.stats()["fuel_used"], 1);
}
