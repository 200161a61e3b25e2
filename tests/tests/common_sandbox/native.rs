//! The native attack suite's machinery (`tests/sandbox/native/README.md`): a project whose program
//! calls a hostile package (`ffi/*.c` linked into the program), run through the `x07` CLI on the
//! `os` backend, and the places a test looks at afterwards to see what arrived outside.
//!
//! Each trial gets a [`NativeRun`]: a [`Stage`] (`<outer>/proj` with `out/` as the write root,
//! `<outer>/outside` for what no root covers), the package staged at `proj/pkg`, its C texts with
//! `@NAME@` placeholders replaced (paths, ports, pids: every attack is built for its own run).

use std::collections::BTreeMap;
use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::Value;
use x07_tests::{X07Home, X07Invocation, X07Output};

use super::attack::merge_patch;
use super::run_view::RunView;
use super::stage::Stage;

/// Time limit of one `x07` command (it builds the program first).
pub const COMMAND_TIMEOUT: Duration = Duration::from_secs(180);

/// Set to print what each passing trial's run showed (the probe's own report included).
pub const VERBOSE_VAR: &str = "X07_NATIVE_VERBOSE";

/// The package every attack shares unless its directory holds its own `x07-package.json`.
pub const SKELETON: &str = "_package";

/// What all trials share: the binary, one `X07_HOME` (store and caches stay warm) and the
/// directory of the attacks.
#[derive(Debug)]
pub struct NativeSuite {
    /// The `x07` binary under test.
    pub bin: PathBuf,
    /// The home of every command.
    pub home: X07Home,
    /// `tests/sandbox/native`.
    pub attacks: PathBuf,
    /// `x07 vm image build` in `home`, done once by the first vm trial (its error otherwise).
    pub guest_image: std::sync::OnceLock<Result<(), String>>,
}

impl NativeSuite {
    /// Builds the guest image the vm trials boot, once; the kernel package is fetched with apt,
    /// or taken from `X07_TEST_KERNEL_DEB`.
    pub fn ensure_guest_image(&self) -> Result<(), String> {
        self.guest_image
            .get_or_init(|| {
                let mut inv = X07Invocation::new(&self.bin)
                    .home(&self.home)
                    .args(["vm", "image", "build"])
                    .timeout(std::time::Duration::from_secs(600));
                if let Some(deb) = std::env::var_os("X07_TEST_KERNEL_DEB") {
                    inv = inv.arg("--kernel-deb").arg(deb);
                }
                match inv.run() {
                    Ok(out) if out.exit_code == Some(0) => Ok(()),
                    Ok(out) => Err(format!("x07 vm image build failed\n{}", out.describe())),
                    Err(e) => Err(format!("x07 vm image build: {e}")),
                }
            })
            .clone()
    }
}

/// The file name of a trial's sealed bundle (how its output is told from x07's).
pub const BUNDLE_NAME: &str = "x07-native-bundle";

/// How a trial's program is started: `x07 run`, as a sealed bundle (`x07 bundle --profile
/// sandbox --sandbox-backend os`, then the bundle itself from the project directory), or in a
/// guest on the vm backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Launch {
    /// `x07 run --profile sandbox --sandbox-backend os`.
    Run,
    /// A policy-sealed bundle.
    SealedBundle,
    /// `x07 run --profile sandbox` with no backend flags: the vm backend, the program in a guest.
    Vm,
}

/// Random lowercase hex from the kernel, `bytes` bytes of it.
pub fn random_hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    let mut file = fs_err::File::open("/dev/urandom").expect("open /dev/urandom");
    file.read_exact(&mut buf).expect("read /dev/urandom");
    hex::encode(buf)
}

/// A fresh secret: random, long enough that no path or number in a report contains it by chance.
pub fn new_secret(what: &str) -> String {
    format!("x07-native-{what}-{}", random_hex(12))
}

/// The checks of one trial that failed, each one sentence saying what arrived where.
#[derive(Debug, Default)]
pub struct Findings(Vec<String>);

impl Findings {
    /// Records a failed check.
    pub fn add(&mut self, finding: impl Into<String>) {
        self.0.push(finding.into());
    }

    /// Records `finding` unless `ok`.
    pub fn check(&mut self, ok: bool, finding: impl FnOnce() -> String) {
        if !ok {
            self.0.push(finding());
        }
    }

    /// Whether nothing failed so far.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// `Ok` when nothing failed, else every finding followed by `context`.
    /// With `X07_NATIVE_VERBOSE=1` the context of a passing trial is printed too.
    pub fn finish(self, context: impl FnOnce() -> String) -> Result<(), String> {
        if self.0.is_empty() {
            if std::env::var_os(VERBOSE_VAR).is_some_and(|v| !v.is_empty()) {
                let _ = writeln!(
                    std::io::stderr(),
                    "--- passed; what the run showed ---\n{}",
                    context()
                );
            }
            return Ok(());
        }
        let list: Vec<String> = self.0.iter().map(|f| format!("- {f}")).collect();
        Err(format!("{}\n\n{}", list.join("\n"), context()))
    }
}

/// One attack run: its directories, placeholders and package.
#[derive(Debug)]
pub struct NativeRun<'a> {
    suite: &'a NativeSuite,
    /// How the program is started.
    pub launch: Launch,
    /// The attack's directory under `tests/sandbox/native`.
    pub name: &'static str,
    /// `<outer>/proj`, `<outer>/outside`, listeners.
    pub stage: Stage,
    placeholders: BTreeMap<String, String>,
}

impl<'a> NativeRun<'a> {
    /// `x07 init` in a fresh stage, `out/` made, the package's module root added to `x07.json`.
    pub fn new(suite: &'a NativeSuite, name: &'static str, launch: Launch) -> Result<Self, String> {
        let stage = Stage::new(&format!("x07-native-{name}-")).map_err(|e| e.to_string())?;
        let mut run = Self {
            suite,
            launch,
            name,
            stage,
            placeholders: BTreeMap::new(),
        };
        run.x07_ok(&["init"])?;
        fs_err::create_dir(run.out()).map_err(|e| e.to_string())?;
        let manifest = run.project().join("x07.json");
        let mut value: Value =
            serde_json::from_slice(&fs_err::read(&manifest).map_err(|e| e.to_string())?)
                .map_err(|e| format!("x07.json: {e}"))?;
        value["module_roots"] = serde_json::json!(["src", "pkg/modules"]);
        fs_err::write(
            &manifest,
            serde_json::to_vec_pretty(&value).expect("JSON serializes"),
        )
        .map_err(|e| e.to_string())?;
        let defaults = [
            ("OUTER", run.stage.outer().to_path_buf()),
            ("PROJECT", run.project().to_path_buf()),
            ("OUTSIDE", run.outside()),
            ("OUT", run.out()),
        ];
        for (key, path) in defaults {
            run.set(key, path.display().to_string());
        }
        Ok(run)
    }

    /// The project root (read root `.`, the program's working directory).
    pub fn project(&self) -> &Path {
        self.stage.project()
    }

    /// `<outer>/outside`: no root covers it.
    pub fn outside(&self) -> PathBuf {
        self.stage.outer().join("outside")
    }

    /// `<project>/out`: the write root.
    pub fn out(&self) -> PathBuf {
        self.project().join("out")
    }

    /// The home all commands use (holds the store).
    pub fn home(&self) -> &Path {
        self.suite.home.path()
    }

    /// Sets the value of `@KEY@` in the attack's C texts.
    pub fn set(&mut self, key: &str, value: impl Into<String>) {
        self.placeholders.insert(key.to_owned(), value.into());
    }

    /// An `x07` command in the project with the suite's home.
    pub fn x07(&self) -> X07Invocation {
        X07Invocation::new(&self.suite.bin)
            .home(&self.suite.home)
            .current_dir(self.project())
            .timeout(COMMAND_TIMEOUT)
    }

    /// Runs a preparation command, which must succeed.
    pub fn x07_ok(&self, args: &[&str]) -> Result<X07Output, String> {
        let out = self.x07().args(args).run().map_err(|e| e.to_string())?;
        if out.exit_code != Some(0) {
            return Err(format!("preparation step failed\n{}", out.describe()));
        }
        Ok(out)
    }

    /// `x07 policy init --template <template>` with `patch` (RFC 7396) applied, written as
    /// `.x07/policies/base/attack.policy.json`; returns its path.
    pub fn policy(&self, template: &str, patch: Value) -> Result<PathBuf, String> {
        self.x07_ok(&["policy", "init", "--template", template])?;
        let base = self.project().join(format!(
            ".x07/policies/base/{template}.sandbox.base.policy.json"
        ));
        let mut policy: Value =
            serde_json::from_slice(&fs_err::read(&base).map_err(|e| e.to_string())?)
                .map_err(|e| format!("{}: {e}", base.display()))?;
        merge_patch(&mut policy, &patch);
        let path = self.project().join(".x07/policies/base/attack.policy.json");
        fs_err::write(
            &path,
            serde_json::to_vec_pretty(&policy).expect("JSON serializes"),
        )
        .map_err(|e| e.to_string())?;
        Ok(path)
    }

    /// Stages the hostile package at `proj/pkg` and the program at `src/main.x07.json`.
    ///
    /// An attack directory with its own `x07-package.json` is the whole package (the program is
    /// `_package/main.x07.json` unless it has its own `main.x07.json`); otherwise the package is `_package` (module `probe`, `ffi/probe_common.c`)
    /// plus the attack's files on top (`ffi/<attack>.c`). Every `@NAME@` in a `.c`/`.h` file is
    /// replaced; one left unknown is an error.
    pub fn stage_package(&self) -> Result<(), String> {
        let own = self.suite.attacks.join(self.name);
        if !own.is_dir() {
            return Err(format!("{} is missing", own.display()));
        }
        let pkg = self.project().join("pkg");
        let skeleton = self.suite.attacks.join(SKELETON);
        let mut sources = Vec::new();
        collect_files(&skeleton, &skeleton, &mut sources)?;
        if own.join("x07-package.json").is_file() {
            // A whole package of its own: only the program comes from the skeleton.
            sources.retain(|(rel, _)| rel == Path::new("main.x07.json"));
        }
        collect_files(&own, &own, &mut sources)?;
        for (rel, abs) in sources {
            let mut bytes = fs_err::read(&abs).map_err(|e| e.to_string())?;
            let dest = if rel == Path::new("main.x07.json") {
                self.project().join("src/main.x07.json")
            } else if rel == Path::new("ffi/probe_common.c") {
                // Compiled first (sources are sorted), so it reads as the package's base.
                pkg.join("ffi/00_probe_common.c")
            } else if rel == Path::new("README.md") {
                continue;
            } else {
                pkg.join(&rel)
            };
            if matches!(rel.extension().and_then(|e| e.to_str()), Some("c" | "h")) {
                let text =
                    String::from_utf8(bytes).map_err(|e| format!("{}: {e}", abs.display()))?;
                bytes = self
                    .expand(&text)
                    .map_err(|e| format!("{}: {e}", abs.display()))?
                    .into_bytes();
            }
            if let Some(parent) = dest.parent() {
                fs_err::create_dir_all(parent).map_err(|e| e.to_string())?;
            }
            fs_err::write(&dest, bytes).map_err(|e| e.to_string())?;
        }
        Ok(())
    }

    /// `text` with every `@NAME@` replaced.
    pub fn expand(&self, text: &str) -> Result<String, String> {
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        while let Some(start) = rest.find('@') {
            out.push_str(&rest[..start]);
            let after = &rest[start + 1..];
            let len = after
                .bytes()
                .take_while(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || *b == b'_')
                .count();
            if len > 0 && after.as_bytes().get(len) == Some(&b'@') {
                let key = &after[..len];
                let value = self
                    .placeholders
                    .get(key)
                    .ok_or_else(|| format!("placeholder @{key}@ has no value (NativeRun::set)"))?;
                out.push_str(value);
                rest = &after[len + 1..];
            } else {
                out.push('@');
                rest = after;
            }
        }
        out.push_str(rest);
        Ok(out)
    }

    /// `x07 run --profile sandbox --policy <policy> --sandbox-backend os
    /// --i-accept-weaker-isolation` with an empty input and `extra` arguments. For a sealed-bundle
    /// trial, `x07 bundle` with the same flags runs now, and the command returned starts the
    /// bundle from the project directory (or, when bundling failed, repeats `x07 bundle`, whose
    /// report then says `compile.ok: false`).
    pub fn sandboxed(&self, policy: &Path, extra: &[String]) -> X07Invocation {
        let common = |inv: X07Invocation| {
            let inv = inv
                .args(["--profile", "sandbox", "--repair", "off", "--policy"])
                .arg(policy);
            let inv = if self.launch == Launch::Vm {
                inv // the default backend
            } else {
                inv.args(["--sandbox-backend", "os", "--i-accept-weaker-isolation"])
            };
            inv.args(extra)
        };
        if self.launch == Launch::SealedBundle {
            let bundle = self.stage.outer().join("dist").join(BUNDLE_NAME);
            let make = common(self.x07().args(["bundle", "--no-sign"]))
                .arg("--out")
                .arg(&bundle);
            return match make.run() {
                Ok(out) if out.exit_code == Some(0) => X07Invocation::new(&bundle)
                    .current_dir(self.project())
                    .timeout(COMMAND_TIMEOUT),
                _ => make,
            };
        }
        let input = self.stage.outer().join("input.bin");
        let _ = fs_err::write(&input, b"");
        common(self.x07().arg("run")).arg("--input").arg(input)
    }
}

fn collect_files(
    root: &Path,
    dir: &Path,
    into: &mut Vec<(PathBuf, PathBuf)>,
) -> Result<(), String> {
    let mut entries: Vec<PathBuf> = fs_err::read_dir(dir)
        .map_err(|e| e.to_string())?
        .map(|e| e.map(|e| e.path()).map_err(|e| e.to_string()))
        .collect::<Result<_, _>>()?;
    entries.sort();
    for path in entries {
        if path.is_dir() {
            collect_files(root, &path, into)?;
        } else {
            let rel = path.strip_prefix(root).expect("below root").to_path_buf();
            into.retain(|(r, _)| *r != rel);
            into.push((rel, path));
        }
    }
    Ok(())
}

/// A finished `x07 run`: what it printed, its report, and the run as the sandbox tests see it.
#[derive(Debug)]
pub struct Outcome {
    /// The command's output.
    pub out: X07Output,
    /// Its JSON report, when stdout was one.
    pub report: Option<Value>,
    /// The run, when the report has a solve section.
    pub view: Option<RunView>,
    /// A sealed bundle's own stdout (the program's output), when that is what ran.
    pub bundle_output: Option<Vec<u8>>,
}

impl Outcome {
    /// Runs `inv` to completion; a time-out is an error.
    pub fn run(inv: X07Invocation) -> Result<Self, String> {
        let out = inv.run().map_err(|e| e.to_string())?;
        Self::from_output(out)
    }

    /// Reads what a finished command printed.
    pub fn from_output(out: X07Output) -> Result<Self, String> {
        if out.timed_out {
            return Err(format!(
                "x07 run did not finish in {COMMAND_TIMEOUT:?}\n{}",
                out.describe()
            ));
        }
        let report: Option<Value> = serde_json::from_slice(&out.stdout)
            .ok()
            .filter(Value::is_object);
        let view = report
            .as_ref()
            .and_then(|r| RunView::from_report(r, String::new()).ok());
        let ran_bundle = out
            .command
            .split_whitespace()
            .next()
            .is_some_and(|bin| bin.ends_with(&format!("/{BUNDLE_NAME}")));
        let bundle_output = ran_bundle.then(|| out.stdout.clone());
        Ok(Self {
            out,
            report,
            view,
            bundle_output,
        })
    }

    /// Whether the build succeeded (`compile.ok`).
    pub fn built(&self) -> bool {
        if self.bundle_output.is_some() {
            return true; // the bundle exists, so its program was built
        }
        self.report
            .as_ref()
            .and_then(|r| r.pointer("/compile/ok"))
            .and_then(Value::as_bool)
            .unwrap_or(false)
    }

    /// The program's output (its report of what it did), as text.
    pub fn output(&self) -> String {
        if let Some(raw) = &self.bundle_output {
            return String::from_utf8_lossy(raw).into_owned();
        }
        self.view
            .as_ref()
            .map(|v| String::from_utf8_lossy(&v.output).into_owned())
            .unwrap_or_default()
    }

    /// The `key=value` lines of the program's output.
    pub fn said(&self) -> Vec<(String, String)> {
        self.output()
            .lines()
            .flat_map(|line| line.split_whitespace())
            .filter_map(|tok| {
                tok.split_once('=')
                    .map(|(k, v)| (k.to_owned(), v.to_owned()))
            })
            .collect()
    }

    /// The first value the program said for `key`.
    pub fn said_value(&self, key: &str) -> Option<String> {
        self.said()
            .into_iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v)
    }

    /// Whether the probe reached `probe_main` (`probe_ran=1`): without it a run proves nothing.
    pub fn probe_ran(&self) -> bool {
        self.said_value("probe_ran").as_deref() == Some("1")
    }

    /// The report's `sandbox` summary.
    pub fn sandbox(&self) -> Option<&Value> {
        self.report
            .as_ref()
            .and_then(|r| r.get("sandbox"))
            .filter(|s| !s.is_null())
    }

    /// Every text x07 printed, with each base64 field of the report decoded: (place, bytes).
    pub fn texts(&self) -> Vec<(String, Vec<u8>)> {
        let mut texts = vec![
            (
                "x07 stdout (the report)".to_owned(),
                self.out.stdout.clone(),
            ),
            ("x07 stderr".to_owned(), self.out.stderr.clone()),
        ];
        if let Some(report) = &self.report {
            decoded_fields(report, "report", &mut texts);
        }
        texts
    }

    /// Everything about the run, for a failure message.
    pub fn describe(&self) -> String {
        let mut text = format!("program output:\n{}\n", self.output());
        if let Some(view) = &self.view {
            text.push_str(&format!(
                "program stderr:\n{}\ntrap: {:?}\n",
                String::from_utf8_lossy(&view.stderr),
                view.trap
            ));
        }
        let status = match (self.out.timed_out, self.out.exit_code) {
            (true, _) => "killed after the time limit".to_owned(),
            (false, Some(code)) => format!("exit code {code}"),
            (false, None) => "killed by a signal".to_owned(),
        };
        let report = match &self.report {
            Some(r) => serde_json::to_string_pretty(&compact(r)).unwrap_or_default(),
            None => String::from_utf8_lossy(&self.out.stdout).into_owned(),
        };
        text.push_str(&format!(
            "--- x07 ---\ncommand: {}\nstatus: {status}\nreport (base64 fields shortened):\n{report}\nstderr:\n{}",
            self.out.command,
            String::from_utf8_lossy(&self.out.stderr)
        ));
        text
    }
}

/// `value` with each base64 field replaced by its decoded length (the texts are shown decoded).
fn compact(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| {
                    let v = match v {
                        Value::String(s) if k.ends_with("_b64") => {
                            let n = base64::engine::general_purpose::STANDARD
                                .decode(s)
                                .map(|b| b.len())
                                .unwrap_or(0);
                            Value::String(format!("<{n} bytes>"))
                        }
                        _ => compact(v),
                    };
                    (k.clone(), v)
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(compact).collect()),
        other => other.clone(),
    }
}

fn decoded_fields(value: &Value, path: &str, into: &mut Vec<(String, Vec<u8>)>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                let here = format!("{path}.{k}");
                match v {
                    Value::String(s) if k.ends_with("_b64") => {
                        if let Ok(bytes) = base64::engine::general_purpose::STANDARD.decode(s) {
                            into.push((here, bytes));
                        }
                    }
                    _ => decoded_fields(v, &here, into),
                }
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                decoded_fields(v, &format!("{path}[{i}]"), into);
            }
        }
        _ => {}
    }
}

/// Files below `dir` (recursively, symlinks not followed) whose bytes contain `needle`.
pub fn files_containing(dir: &Path, needle: &[u8]) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let Ok(ft) = entry.file_type() else { continue };
            if ft.is_dir() {
                stack.push(path);
            } else if ft.is_file() {
                if let Ok(bytes) = std::fs::read(&path) {
                    if contains(&bytes, needle) {
                        found.push(path);
                    }
                }
            }
        }
    }
    found
}

/// Whether `haystack` contains `needle`.
pub fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && haystack.windows(needle.len()).any(|w| w == needle)
}

/// Where `secret` arrived: every text x07 printed (report fields decoded) and every file below
/// `dirs`. Empty when it arrived nowhere.
pub fn secret_places(outcome: &Outcome, secret: &str, dirs: &[&Path]) -> Vec<String> {
    let mut places: Vec<String> = outcome
        .texts()
        .into_iter()
        .filter(|(_, bytes)| contains(bytes, secret.as_bytes()))
        .map(|(place, _)| place)
        .collect();
    for dir in dirs {
        places.extend(
            files_containing(dir, secret.as_bytes())
                .into_iter()
                .map(|p| format!("file {}", p.display())),
        );
    }
    places
}

/// Live processes whose `comm` (the name set with PR_SET_NAME) is exactly `name`: (pid, comm).
pub fn processes_named(name: &str) -> Vec<(i32, String)> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter_map(|pid| {
            let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).ok()?;
            let comm = comm.trim_end().to_owned();
            (comm == name).then_some((pid, comm))
        })
        .collect()
}

/// Whether signal 0 reaches `pid` (it exists and may be signalled). Signal 0 only: nothing is sent.
pub fn pid_alive(pid: i32) -> bool {
    // SAFETY: kill with signal 0 performs only the existence and permission checks.
    pid > 0 && unsafe { libc::kill(pid, 0) } == 0
}

/// Waits until `cond` holds or `limit` passes; returns whether it held.
pub fn wait_until(limit: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    loop {
        if cond() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}
