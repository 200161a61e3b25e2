//! Test harness for the sandbox: a policy blob (version 3) writer written from the layout in
//! docs/internals/sandbox.md (cross-checked against `x07_spec::policy::blob`), C programs assembled
//! from the runtime fragments, the trusted launcher `x07-launch`, and runs that always clean up the
//! pids cgroup they leave behind.

use serde_json::Value;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};
use x07_builder::runtime::{self, MainKind};

/// Fragments every hostile program carries besides the sandbox ones.
const OS_FRAGMENTS: &[&str] = &[
    "vec",
    "codec",
    "fmt",
    "os_fs",
    "os_env",
    "os_time",
    "os_process",
    "os_net",
];

/// What a policy says; every field of the policy blob (version 3), in layout order.
#[derive(Debug, Clone)]
pub struct TestPolicy {
    pub backend: u32,
    pub accept_weaker: u32,
    pub digest: [u8; 32],
    pub cpu_ms: u32,
    pub wall_ms: u32,
    pub mem_bytes: u64,
    pub fds: u32,
    pub procs: u32,
    pub core_dumps: bool,
    pub fs_enabled: bool,
    pub deny_hidden: bool,
    pub allow_symlinks: bool,
    pub allow_mkdir: bool,
    pub allow_remove: bool,
    pub allow_rename: bool,
    pub allow_walk: bool,
    pub allow_glob: bool,
    pub max_read_bytes: u32,
    pub max_write_bytes: u32,
    pub max_entries: u32,
    pub max_depth: u32,
    pub read_roots: Vec<String>,
    pub write_roots: Vec<String>,
    pub net_enabled: bool,
    pub allow_dns: bool,
    pub allow_tcp: bool,
    pub allow_udp: bool,
    pub hosts: Vec<(String, Vec<u32>)>,
    pub env_enabled: bool,
    pub allow_keys: Vec<String>,
    pub deny_keys: Vec<String>,
    pub time_enabled: bool,
    pub allow_monotonic: bool,
    pub allow_wall_clock: bool,
    pub allow_sleep: bool,
    pub max_sleep_ms: u32,
    pub allow_local_tzid: bool,
    pub proc_enabled: bool,
    pub allow_spawn: bool,
    pub allow_exec: bool,
    pub allow_exit: bool,
    pub max_live: u32,
    pub max_spawns: u32,
    pub max_runtime_ms: u32,
    pub allow_execs: Vec<String>,
    pub allow_exec_prefixes: Vec<String>,
    pub allow_args_regex_lite: Vec<String>,
    pub allow_env_keys: Vec<String>,
    pub proc_caps: [u32; 10],
    pub kill_on_drop: bool,
    pub kill_tree: bool,
    pub allow_cwd: bool,
    pub allow_cwd_roots: Vec<String>,
    /// The `seccomp` list; `None`: what `x07 run` writes (the generated programs for backend os,
    /// none for backend none).
    pub seccomp: Option<Vec<Vec<u8>>>,
}

impl TestPolicy {
    /// Kernel layer on, generous limits, the filesystem limited to `read_roots` / `write_roots`,
    /// everything else off.
    pub fn new(read_roots: &[&Path], write_roots: &[&Path]) -> Self {
        let s = |ps: &[&Path]| ps.iter().map(|p| p.to_str().unwrap().to_owned()).collect();
        Self {
            backend: 1,
            accept_weaker: 0,
            digest: [0xab; 32],
            cpu_ms: 20_000,
            wall_ms: 20_000,
            mem_bytes: 1 << 30,
            fds: 64,
            procs: 16,
            core_dumps: false,
            fs_enabled: true,
            deny_hidden: true,
            allow_symlinks: false,
            allow_mkdir: false,
            allow_remove: false,
            allow_rename: false,
            allow_walk: true,
            allow_glob: false,
            max_read_bytes: 16 << 20,
            max_write_bytes: 16 << 20,
            max_entries: 10_000,
            max_depth: 64,
            read_roots: s(read_roots),
            write_roots: s(write_roots),
            net_enabled: false,
            allow_dns: false,
            allow_tcp: false,
            allow_udp: false,
            hosts: Vec::new(),
            env_enabled: false,
            allow_keys: Vec::new(),
            deny_keys: Vec::new(),
            time_enabled: true,
            allow_monotonic: true,
            allow_wall_clock: true,
            allow_sleep: true,
            max_sleep_ms: 1000,
            allow_local_tzid: false,
            proc_enabled: true,
            allow_spawn: false,
            allow_exec: false,
            allow_exit: true,
            max_live: 4,
            max_spawns: 8,
            max_runtime_ms: 10_000,
            allow_execs: Vec::new(),
            allow_exec_prefixes: Vec::new(),
            allow_args_regex_lite: Vec::new(),
            allow_env_keys: Vec::new(),
            proc_caps: [
                4096,
                64,
                4096,
                64,
                256,
                4096,
                1 << 20,
                1 << 20,
                2 << 20,
                1 << 20,
            ],
            kill_on_drop: true,
            kill_tree: true,
            allow_cwd: false,
            allow_cwd_roots: Vec::new(),
            seccomp: None,
        }
    }

    /// Programs may be started: exactly `execs`, any arguments.
    pub fn spawning(mut self, execs: &[&str]) -> Self {
        self.allow_spawn = true;
        self.allow_exec = true;
        self.allow_execs = execs.iter().map(|s| (*s).to_owned()).collect();
        self
    }

    /// The blob bytes (version 3).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut b = Blob(Vec::new());
        b.raw(b"X7P1");
        b.u32(3);
        b.u32(self.backend);
        b.u32(self.accept_weaker);
        b.raw(&self.digest);
        b.u32(self.cpu_ms);
        b.u32(self.wall_ms);
        b.raw(&self.mem_bytes.to_le_bytes());
        b.u32(self.fds);
        b.u32(self.procs);
        b.flag(self.core_dumps);
        for f in [
            self.fs_enabled,
            self.deny_hidden,
            self.allow_symlinks,
            self.allow_mkdir,
            self.allow_remove,
            self.allow_rename,
            self.allow_walk,
            self.allow_glob,
        ] {
            b.flag(f);
        }
        for c in [
            self.max_read_bytes,
            self.max_write_bytes,
            self.max_entries,
            self.max_depth,
        ] {
            b.u32(c);
        }
        b.strs(&self.read_roots);
        b.strs(&self.write_roots);
        for f in [
            self.net_enabled,
            self.allow_dns,
            self.allow_tcp,
            self.allow_udp,
        ] {
            b.flag(f);
        }
        b.u32(self.hosts.len() as u32);
        for (host, ports) in &self.hosts {
            b.str(host);
            b.u32(ports.len() as u32);
            for p in ports {
                b.u32(*p);
            }
        }
        b.flag(self.env_enabled);
        b.strs(&self.allow_keys);
        b.strs(&self.deny_keys);
        for f in [
            self.time_enabled,
            self.allow_monotonic,
            self.allow_wall_clock,
            self.allow_sleep,
        ] {
            b.flag(f);
        }
        b.u32(self.max_sleep_ms);
        b.flag(self.allow_local_tzid);
        for f in [
            self.proc_enabled,
            self.allow_spawn,
            self.allow_exec,
            self.allow_exit,
        ] {
            b.flag(f);
        }
        for c in [self.max_live, self.max_spawns, self.max_runtime_ms] {
            b.u32(c);
        }
        b.strs(&self.allow_execs);
        b.strs(&self.allow_exec_prefixes);
        b.strs(&self.allow_args_regex_lite);
        b.strs(&self.allow_env_keys);
        for c in self.proc_caps {
            b.u32(c);
        }
        for f in [self.kill_on_drop, self.kill_tree, self.allow_cwd] {
            b.flag(f);
        }
        b.strs(&self.allow_cwd_roots);
        // db: every driver off, the default limits, no files or destinations, TLS required
        for f in [false; 5] {
            b.flag(f);
        }
        for c in x07_spec::policy::blob::DB_DEFAULT_LIMITS {
            b.u32(c);
        }
        for f in [false; 3] {
            b.flag(f);
        }
        for _ in 0..3 {
            b.strs(&[]);
        }
        b.u32(0);
        b.flag(true);
        b.flag(true);
        // backend os: the launcher's seccomp programs, as `x07 run` generates them
        let filters = if let Some(list) = &self.seccomp {
            list.clone()
        } else if self.backend == 1 {
            let needs = x07_syscall_filter::FilterNeeds {
                net: self.net_enabled,
                tcp: self.net_enabled && self.allow_tcp,
                udp: self.net_enabled && (self.allow_udp || self.allow_dns),
            };
            x07_syscall_filter::program_filters(&needs).expect("generate the seccomp programs")
        } else {
            Vec::new()
        };
        b.u32(filters.len() as u32);
        for f in &filters {
            b.u32((f.len() / 8) as u32);
            b.raw(f);
        }
        b.raw(b"X7PE");
        b.0
    }
}

struct Blob(Vec<u8>);

impl Blob {
    fn raw(&mut self, b: &[u8]) {
        self.0.extend_from_slice(b);
    }
    fn u32(&mut self, v: u32) {
        self.raw(&v.to_le_bytes());
    }
    fn flag(&mut self, v: bool) {
        self.u32(u32::from(v));
    }
    fn str(&mut self, s: &str) {
        self.u32(s.len() as u32);
        self.raw(s.as_bytes());
    }
    fn strs(&mut self, l: &[String]) {
        self.u32(l.len() as u32);
        for s in l {
            self.str(s);
        }
    }
}

// ------------------------------------------------------------------ building

fn cc() -> String {
    std::env::var("CC").unwrap_or_else(|_| "cc".to_owned())
}

/// Build products of this test file, reused across runs.
pub fn scratch() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("sandbox_c");
        fs_err::create_dir_all(&dir).expect("create the scratch folder");
        dir
    })
}

/// Every `sandbox_*` fragment, as the emitter adds them for world run-os-sandboxed.
pub fn sandbox_fragments() -> Vec<&'static str> {
    runtime::fragments()
        .iter()
        .map(|f| f.name)
        .filter(|n| n.starts_with("sandbox_"))
        .collect()
}

/// How a test binary is built.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    /// World run-os (no sandbox at all).
    Plain,
    /// World run-os-sandboxed: in-process checks and the kernel layer.
    Checked,
    /// run-os-sandboxed with `X07_TEST_DISABLE_IN_PROCESS_CHECKS`: the kernel layer alone.
    KernelOnly,
}

/// The translation unit the emitter would write: defines, fragments, the program, main.
pub fn program_source(
    flavor: Flavor,
    extra_defines: &str,
    fragments: &[&str],
    body: &str,
    with_main: bool,
) -> String {
    let mut src = String::from("/* sandbox test program */\n");
    let mut needed: Vec<&str> = fragments.to_vec();
    if flavor != Flavor::Plain {
        src.push_str("#define X07_SANDBOXED 1\n");
        needed.extend(sandbox_fragments());
    }
    if flavor == Flavor::KernelOnly {
        src.push_str("#define X07_TEST_DISABLE_IN_PROCESS_CHECKS 1\n");
    }
    src.push_str(extra_defines);
    src.push_str(&runtime::assemble(&needed).expect("assemble the runtime"));
    src.push_str(body);
    src.push('\n');
    if with_main {
        src.push_str(runtime::main_fragment(MainKind::Framed));
    }
    src
}

/// Compiles `source` warning-free into `scratch()/name`.
pub fn compile_source(name: &str, source: &str) -> PathBuf {
    let c_file = scratch().join(format!("{name}.c"));
    fs_err::write(&c_file, source).expect("write the C file");
    let exe = scratch().join(name);
    let out = Command::new(cc())
        .args(["-std=c11", "-O1", "-Wall", "-Wextra", "-Werror", "-o"])
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

fn test_program(file: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/sandbox_c")
        .join(file);
    fs_err::read_to_string(path).expect("read the C test program")
}

/// The trusted launcher, `x07-launch`, built statically once per test run.
pub fn launcher() -> &'static Path {
    static EXE: OnceLock<PathBuf> = OnceLock::new();
    EXE.get_or_init(|| {
        let c_file = scratch().join("x07-launch.c");
        fs_err::write(&c_file, x07_builder::launcher::launcher_source())
            .expect("write the launcher");
        let exe = scratch().join("x07-launch");
        let out = Command::new(cc())
            .args(["-std=c11", "-O2", "-static", "-o"])
            .arg(&exe)
            .arg(&c_file)
            .output()
            .expect("run the C compiler");
        assert!(
            out.status.success(),
            "x07-launch does not compile:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        exe
    })
}

/// The hostile program built as `flavor` (built once per test run).
pub fn hostile(flavor: Flavor) -> &'static Path {
    static EXES: [OnceLock<PathBuf>; 3] = [OnceLock::new(), OnceLock::new(), OnceLock::new()];
    let (slot, name) = match flavor {
        Flavor::Plain => (0, "hostile_plain"),
        Flavor::Checked => (1, "hostile_checked"),
        Flavor::KernelOnly => (2, "hostile_kernel"),
    };
    EXES[slot].get_or_init(|| {
        compile_source(
            name,
            &program_source(flavor, "", OS_FRAGMENTS, &test_program("hostile.c"), true),
        )
    })
}

/// The hostile program with `policy` embedded (X07_EMBEDDED_POLICY), in-process checks on.
pub fn hostile_embedded(name: &str, policy: &[u8]) -> PathBuf {
    let literal: String = policy.iter().map(|b| format!("\\{b:03o}")).collect();
    let define = format!("#define X07_EMBEDDED_POLICY \"{literal}\"\n");
    compile_source(
        name,
        &program_source(
            Flavor::Checked,
            &define,
            OS_FRAGMENTS,
            &test_program("hostile.c"),
            true,
        ),
    )
}

/// The unit driver (sandbox fragments, its own main).
pub fn unit() -> &'static Path {
    static EXE: OnceLock<PathBuf> = OnceLock::new();
    EXE.get_or_init(|| {
        compile_source(
            "unit",
            &program_source(Flavor::Checked, "", &[], &test_program("unit.c"), false),
        )
    })
}

// ------------------------------------------------------------------ inputs

/// A scenario byte followed by length-prefixed fields.
pub fn input(cmd: u8, fields: &[&[u8]]) -> Vec<u8> {
    let mut v = vec![cmd];
    for f in fields {
        v.extend_from_slice(&(f.len() as u32).to_le_bytes());
        v.extend_from_slice(f);
    }
    v
}

/// A ProcReqV1.
pub fn proc_req(argv: &[&str], env: &[(&str, &str)], cwd: &str, stdin: &[u8]) -> Vec<u8> {
    let mut v = vec![1u8];
    let s = |v: &mut Vec<u8>, b: &[u8]| {
        v.extend_from_slice(&(b.len() as u32).to_le_bytes());
        v.extend_from_slice(b);
    };
    v.extend_from_slice(&(argv.len() as u32).to_le_bytes());
    for a in argv {
        s(&mut v, a.as_bytes());
    }
    v.extend_from_slice(&(env.len() as u32).to_le_bytes());
    for (k, val) in env {
        s(&mut v, k.as_bytes());
        s(&mut v, val.as_bytes());
    }
    s(&mut v, cwd.as_bytes());
    s(&mut v, stdin);
    v
}

/// The framed stdin of a program run.
pub fn frame(input: &[u8]) -> Vec<u8> {
    let mut f = (input.len() as u32).to_le_bytes().to_vec();
    f.extend_from_slice(input);
    f
}

// ------------------------------------------------------------------ running

/// One finished run.
#[derive(Debug)]
pub struct Outcome {
    pub status: ExitStatus,
    pub stdout: Vec<u8>,
    pub stderr: String,
    pub elapsed: Duration,
}

impl Outcome {
    /// The solve output as text, checking the frame.
    pub fn text(&self) -> String {
        assert!(
            self.stdout.len() >= 4,
            "no output frame ({:?}); stderr:\n{}",
            self.status,
            self.stderr
        );
        let len = u32::from_le_bytes(self.stdout[..4].try_into().unwrap()) as usize;
        assert_eq!(
            self.stdout.len(),
            4 + len,
            "frame length does not match; stderr:\n{}",
            self.stderr
        );
        String::from_utf8_lossy(&self.stdout[4..]).into_owned()
    }

    /// The `x07_sandbox` start-up object.
    pub fn sandbox(&self) -> Value {
        self.json_lines()
            .into_iter()
            .find_map(|v| v.get("x07_sandbox").cloned())
            .unwrap_or_else(|| panic!("no x07_sandbox line; stderr:\n{}", self.stderr))
    }

    /// Every `x07_denial` object, in order.
    pub fn denials(&self) -> Vec<Value> {
        self.json_lines()
            .into_iter()
            .filter_map(|v| v.get("x07_denial").cloned())
            .collect()
    }

    /// Asserts exactly one denial with this op and rule, and gives its target.
    pub fn denied(&self, op: &str, rule: &str) -> String {
        let d = self.denials();
        assert_eq!(
            d.len(),
            1,
            "expected one denial ({op}, {rule}); stderr:\n{}",
            self.stderr
        );
        assert_eq!(d[0]["op"], op, "stderr:\n{}", self.stderr);
        assert_eq!(d[0]["rule"], rule, "stderr:\n{}", self.stderr);
        d[0]["target"].as_str().unwrap().to_owned()
    }

    fn json_lines(&self) -> Vec<Value> {
        self.stderr
            .lines()
            .filter(|l| l.starts_with('{'))
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }

    pub fn assert_ok(&self) -> &Self {
        assert!(
            self.status.success(),
            "run failed ({:?}); stderr:\n{}",
            self.status,
            self.stderr
        );
        self
    }
}

/// Where and how to run a binary.
pub struct Launch<'a> {
    pub exe: &'a Path,
    pub policy: Option<&'a [u8]>,
    pub cwd: &'a Path,
    pub env: Vec<(&'a str, &'a str)>,
    pub args: Vec<String>,
    /// Started through the trusted launcher; `None`: exactly when the policy is backend os (as
    /// `x07 run` does).
    pub launcher: Option<bool>,
}

impl<'a> Launch<'a> {
    pub fn new(exe: &'a Path, policy: Option<&'a [u8]>, cwd: &'a Path) -> Self {
        Self {
            exe,
            policy,
            cwd,
            env: Vec::new(),
            args: Vec::new(),
            launcher: None,
        }
    }

    /// Runs with the framed `input`; the policy goes in a file named by `--x07-policy-file`.
    pub fn run(&self, input: &[u8]) -> Outcome {
        let policy_file = self.policy.map(|p| {
            let f = tempfile::Builder::new()
                .prefix("x07-policy-")
                .tempfile_in(scratch())
                .expect("policy file");
            fs_err::write(f.path(), p).expect("write the policy");
            f
        });
        // backend os (bytes 8..12 of the blob): started through the trusted launcher, as by x07 run
        let via_launcher = self.launcher.unwrap_or_else(|| {
            self.policy
                .is_some_and(|p| p.get(8..12) == Some(&1u32.to_le_bytes()[..]))
        });
        let mut cmd = Command::new(if via_launcher { launcher() } else { self.exe });
        if let Some(f) = &policy_file {
            cmd.arg(format!("--x07-policy-file={}", f.path().display()));
        }
        if via_launcher {
            cmd.arg("--").arg(self.exe);
        }
        cmd.args(&self.args)
            .current_dir(self.cwd)
            .envs(self.env.iter().copied());
        run_command(cmd, input)
    }
}

/// Spawns, feeds the frame, waits, and removes the pids cgroup of the run.
pub fn run_command(mut cmd: Command, input: &[u8]) -> Outcome {
    let start = Instant::now();
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the test binary");
    let pid = child.id();
    let mut stdin = child.stdin.take().unwrap();
    // a binary that stops at start-up never reads its input
    let _ = stdin.write_all(&frame(input));
    drop(stdin);
    let out = child.wait_with_output().expect("wait for the test binary");
    let elapsed = start.elapsed();
    remove_run_cgroup(pid);
    Outcome {
        status: out.status,
        stdout: out.stdout,
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        elapsed,
    }
}

/// What the launcher does after a run, in case it could not: kill what is left in the run's
/// cgroups (pids, memory), remove them.
pub fn remove_run_cgroup(pid: u32) {
    for controller in ["pids", "memory"] {
        remove_cgroup(&PathBuf::from(format!(
            "/sys/fs/cgroup/{controller}/x07/run-{pid}"
        )));
    }
}

fn remove_cgroup(dir: &Path) {
    if !dir.exists() {
        return;
    }
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let procs = std::fs::read_to_string(dir.join("cgroup.procs")).unwrap_or_default();
        let pids: Vec<i32> = procs
            .lines()
            .filter_map(|l| l.trim().parse().ok())
            .collect();
        if pids.is_empty() || Instant::now() > deadline {
            break;
        }
        for p in pids {
            // SAFETY: kill(2) has no memory effects; the pids are the run's leftovers.
            unsafe { libc::kill(p, libc::SIGKILL) };
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    while std::fs::remove_dir(dir).is_err() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Fails with a clear message when this host cannot run the kernel-layer tests: they need root
/// (pids cgroup, network namespaces), Landlock ABI >= 4 and a cgroup v1 pids hierarchy.
pub fn require_kernel_layer() {
    static CHECKED: OnceLock<()> = OnceLock::new();
    CHECKED.get_or_init(|| {
        // SAFETY: geteuid has no preconditions; landlock_create_ruleset with a NULL attribute and
        // the VERSION flag only reports the ABI.
        let (euid, abi) = unsafe {
            (
                libc::geteuid(),
                libc::syscall(444, std::ptr::null::<u8>(), 0usize, 1u32),
            )
        };
        assert!(
            euid == 0 && abi >= 4 && Path::new("/sys/fs/cgroup/pids").is_dir(),
            "the sandbox tests need root (euid {euid}), Landlock ABI >= 4 (found {abi}) and \
             /sys/fs/cgroup/pids (cgroup v1); run them on a host that has all three"
        );
    });
}

/// A temporary directory without hidden components (`/tmp/x07-sb-XXXX`).
pub fn workdir() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("x07-sb-")
        .tempdir()
        .expect("create a temporary directory")
}
