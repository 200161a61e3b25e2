//! Building and running each test of a [`Plan`], and judging it: its status bytes against its
//! expectation, on up to `jobs` threads, stopping early (the rest skipped) after a miss when
//! fail-fast.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use x07_builder::build::{build, BuildOutcome, BuildRequest};
use x07_builder::cc::{CcProfile, NativeInputs, X07Home};
use x07_builder::frontend::resolve::load_program_from_bytes;
use x07_builder::store::{ArtifactName, StoreRoot};
use x07_runner::limits::{EnvMode, RunLimits};
use x07_runner::policy::PolicyOverrides;
use x07_runner::prepare::{prepare_sandbox, PreparedSandbox, SandboxRequest};
use x07_runner::Launch;
use x07_spec::test_report::{
    CompileResult, Invocation, RunResult, Status, Summary, TestDiag, TestReport, TestResult, Tool,
    TEST_REPORT_SCHEMA,
};
use x07_spec::tests_manifest::{Expect, TestCase};
use x07_spec::World;

use crate::driver::driver_source;
use crate::plan::Plan;
use crate::status::{parse_status, TestStatusBytes};

/// Memory and output caps of a test run (the public toolchain's).
const TEST_MEMORY_BYTES: u64 = 64 * 1024 * 1024;
const TEST_OUTPUT_BYTES: u64 = 1024 * 1024;

fn diag(code: &str, message: impl Into<String>) -> TestDiag {
    TestDiag {
        code: code.to_string(),
        message: message.into(),
        path: None,
    }
}

/// Runs every test of `plan` against the store of `home`; `version` names this x07.
pub fn run_plan(
    plan: &Plan,
    home: &X07Home,
    store: &StoreRoot,
    version: &'static str,
) -> TestReport {
    let started = Instant::now();
    let stop = AtomicBool::new(false);
    let tests = x07_spec::parallel::map(&plan.cases, plan.jobs, |case| {
        if stop.load(Ordering::SeqCst) {
            return skipped(case, diag("EFAIL_FAST", "not run: an earlier test missed its expectation (pass --no-fail-fast to run every test)"));
        }
        let result = run_case(plan, home, store, case);
        if plan.fail_fast && !meets_expectation(case.expect, result.status) {
            stop.store(true, Ordering::SeqCst);
        }
        result
    });
    let mut summary = Summary::default();
    for t in &tests {
        match t.status {
            Status::Pass => summary.passed += 1,
            Status::Fail => summary.failed += 1,
            Status::Skip => summary.skipped += 1,
            Status::Error => summary.errors += 1,
            Status::XfailPass => summary.xfail_passed += 1,
            Status::XfailFail => summary.xfail_failed += 1,
        }
        if t.compile.as_ref().is_some_and(|c| !c.ok) {
            summary.compile_failures += 1;
        } else if t.run.as_ref().is_some_and(|r| !r.ok) {
            summary.run_failures += 1;
        }
    }
    summary.duration_ms = millis(started.elapsed());
    TestReport {
        schema_version: TEST_REPORT_SCHEMA,
        tool: Tool {
            name: "x07",
            version,
        },
        invocation: Invocation {
            manifest_path: plan.manifest.display().to_string(),
            module_root: plan.root_displays.clone(),
            jobs: plan.jobs,
            repeat: plan.repeat,
        },
        summary,
        tests,
        diags: Vec::new(),
    }
}

/// The exit code of a report: 11 a test did not compile, 12 a test trapped or printed no status
/// (or the manifest was invalid), 10 a test missed its expectation, 0 all met theirs.
pub fn exit_code(report: &TestReport) -> i32 {
    if report.summary.compile_failures > 0 {
        11
    } else if report.summary.run_failures > 0 || !report.diags.is_empty() {
        12
    } else if report
        .tests
        .iter()
        .any(|t| !matches!(t.status, Status::Pass | Status::XfailFail | Status::Skip))
    {
        10
    } else {
        0
    }
}

fn meets_expectation(expect: Expect, status: Status) -> bool {
    matches!(
        (expect, status),
        (Expect::Pass, Status::Pass) | (Expect::Fail, Status::XfailFail) | (_, Status::Skip)
    )
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

fn result(case: &TestCase, status: Status) -> TestResult {
    TestResult {
        id: case.id.clone(),
        world: case.world.as_str().to_string(),
        expect: case.expect.as_str(),
        status,
        duration_ms: 0,
        entry_kind: "defn",
        entry: case.entry.clone(),
        compile: None,
        run: None,
        diags: Vec::new(),
    }
}

fn skipped(case: &TestCase, why: TestDiag) -> TestResult {
    let mut r = result(case, Status::Skip);
    r.diags.push(why);
    r
}

/// Builds and runs one test.
fn run_case(plan: &Plan, home: &X07Home, store: &StoreRoot, case: &TestCase) -> TestResult {
    if case.expect == Expect::Skip {
        return skipped(case, diag("ESKIP", "expect: skip"));
    }
    let started = Instant::now();
    let mut r = result(case, Status::Error);
    if !matches!(
        case.world,
        World::SolvePure | World::SolveFs | World::SolveRr | World::RunOs | World::RunOsSandboxed
    ) {
        r.diags.push(diag(
            "ETEST_WORLD_UNSUPPORTED",
            format!(
                "world {} is not supported by x07 test yet (solve-pure, solve-fs, solve-rr, run-os and run-os-sandboxed are)",
                case.world.as_str()
            ),
        ));
        return r;
    }
    let compiled = compile(plan, home, store, case);
    r.compile = Some(match &compiled {
        Ok(exe) => CompileResult {
            ok: true,
            compiler_diags: Vec::new(),
            artifact_path: Some(exe.display().to_string()),
        },
        Err(diags) => CompileResult {
            ok: false,
            compiler_diags: diags.clone(),
            artifact_path: None,
        },
    });
    let exe = match compiled {
        Ok(exe) => exe,
        Err(_) => {
            r.diags
                .push(diag("ETEST_COMPILE", "the test did not compile"));
            r.duration_ms = millis(started.elapsed());
            return r;
        }
    };
    if plan.no_run {
        r.status = Status::Skip;
        r.diags.push(diag("ENO_RUN", "built, not run (--no-run)"));
        r.duration_ms = millis(started.elapsed());
        return r;
    }
    let cpu_seconds = case.timeout_ms.div_ceil(1000).max(1);
    let limits = RunLimits {
        solve_fuel: case.solve_fuel,
        max_memory_bytes: TEST_MEMORY_BYTES,
        max_output_bytes: TEST_OUTPUT_BYTES,
        cpu_time_limit_seconds: cpu_seconds,
        wall_time_limit: Duration::from_millis(case.timeout_ms.saturating_mul(2).max(1000)),
    };
    let sandbox = if case.world == World::RunOsSandboxed {
        match sandboxed(plan, home, store, case) {
            Ok(s) => Some(s),
            Err(message) => {
                r.diags.push(diag("ETEST_SANDBOX", message));
                r.duration_ms = millis(started.elapsed());
                return r;
            }
        }
    } else {
        None
    };
    // a solve-fs test reads its fixture: `<fixture_root>/root` when there is one, else the root;
    // a sandboxed test runs where its policy's roots are (sandboxed_cwd)
    // a solve-rr test replays its fixture's cassettes: a copy of the fixture as `.x07_rr/` in a
    // directory of its own (the run may not change the package's files)
    let rr_dir = match (&case.fixture_root, case.world) {
        (Some(f), World::SolveRr) => match rr_fixture_dir(f) {
            Ok(d) => Some(d),
            Err(e) => {
                r.diags.push(diag(
                    "ETEST_FIXTURE",
                    format!("cannot copy the rr fixture {}: {e}", f.display()),
                ));
                r.duration_ms = millis(started.elapsed());
                return r;
            }
        },
        _ => None,
    };
    let cwd = match (&case.fixture_root, &case.policy) {
        _ if rr_dir.is_some() => rr_dir
            .as_ref()
            .map(|d| d.path().to_path_buf())
            .unwrap_or_default(),
        (Some(f), _) if f.join("root").is_dir() => f.join("root"),
        (Some(f), _) => f.clone(),
        (None, Some(policy)) if case.world == World::RunOsSandboxed => sandboxed_cwd(plan, policy),
        (None, _) => plan.dir.clone(),
    };
    let run_once = || match &sandbox {
        Some((prepared, launcher)) => x07_runner::run_launch(
            &exe,
            &case.input,
            &limits,
            &Launch {
                env: prepared.env.clone(),
                cwd: Some(&cwd),
                policy_blob: Some(&prepared.blob),
                launcher: Some(launcher),
            },
        )
        .map(|l| l.solve),
        None => x07_runner::run::run_framed_in_dir(
            &exe,
            &case.input,
            &limits,
            EnvMode::inherit(),
            Some(&cwd),
        ),
    };
    let run = run_once();
    // --repeat: every further run must end the same way (status bytes, trap, exit code)
    if let Ok(first) = &run {
        for n in 2..=plan.repeat {
            let again = run_once();
            let same = again.as_ref().is_ok_and(|a| {
                (&a.solve_output_b64, &a.trap, a.exit_status)
                    == (&first.solve_output_b64, &first.trap, first.exit_status)
            });
            if !same {
                r.diags.push(diag(
                    "EDETERMINISM",
                    format!("run {n} of {} ended differently from run 1", plan.repeat),
                ));
                // a run failure: the test's outcome cannot be trusted
                r.run = Some(RunResult {
                    ok: false,
                    exit_code: first.exit_status.unwrap_or(-1),
                    fuel_used: first.fuel_used,
                    solve_output_b64: Some(first.solve_output_b64.clone()),
                    failure_code_u32: None,
                    trap: first.trap.clone(),
                });
                r.duration_ms = millis(started.elapsed());
                return r;
            }
        }
    }
    r.duration_ms = millis(started.elapsed());
    let solve = match run {
        Ok(s) => s,
        Err(e) => {
            r.run = Some(RunResult {
                ok: false,
                exit_code: -1,
                fuel_used: None,
                solve_output_b64: None,
                failure_code_u32: None,
                trap: Some(e.to_string()),
            });
            r.diags.push(diag("X07T_RUN_TRAP", e.to_string()));
            return r;
        }
    };
    let output = BASE64.decode(&solve.solve_output_b64).unwrap_or_default();
    let mut run = RunResult {
        ok: false,
        exit_code: solve.exit_status.unwrap_or(-1),
        fuel_used: solve.fuel_used,
        solve_output_b64: (!output.is_empty()).then(|| solve.solve_output_b64.clone()),
        failure_code_u32: None,
        trap: solve.trap.clone(),
    };
    if let Some(trap) = &solve.trap {
        r.diags
            .push(diag("X07T_RUN_TRAP", format!("the test trapped: {trap}")));
        r.run = Some(run);
        return r;
    }
    if !solve.ok {
        r.diags.push(diag(
            "X07T_RUN_TRAP",
            format!("the test exited with status {}", run.exit_code),
        ));
        r.run = Some(run);
        return r;
    }
    let status = match parse_status(&output) {
        Ok(s) => s,
        Err(why) => {
            r.diags.push(diag("EBAD_STATUS", why));
            r.run = Some(run);
            return r;
        }
    };
    run.ok = true;
    r.status = match (case.expect, status) {
        (_, TestStatusBytes::Skip) => Status::Skip,
        (Expect::Fail, TestStatusBytes::Pass) => Status::XfailPass,
        (Expect::Fail, TestStatusBytes::Fail(_)) => Status::XfailFail,
        (_, TestStatusBytes::Pass) => Status::Pass,
        (_, TestStatusBytes::Fail(_)) => Status::Fail,
    };
    if let TestStatusBytes::Fail(code) = status {
        run.failure_code_u32 = Some(code);
    }
    r.run = Some(run);
    r
}

/// Where a run-os-sandboxed test runs (and its policy's relative roots resolve), as the public
/// `x07 test` chooses: the first of the arch root (the nearest ancestor of the manifest's
/// directory holding `arch/`), the manifest's directory and the current directory in which every
/// read root of the policy exists; else the manifest's directory.
/// A temporary directory holding a copy of `fixture` as `.x07_rr/`.
fn rr_fixture_dir(fixture: &std::path::Path) -> std::io::Result<tempfile::TempDir> {
    fn copy(from: &std::path::Path, to: &std::path::Path) -> std::io::Result<()> {
        fs_err::create_dir_all(to)?;
        for entry in fs_err::read_dir(from)? {
            let entry = entry?;
            let target = to.join(entry.file_name());
            // fixtures are plain files and directories; a link is not followed out of them
            let kind = entry.file_type()?;
            if kind.is_dir() {
                copy(&entry.path(), &target)?;
            } else if kind.is_file() {
                fs_err::copy(entry.path(), &target)?;
            }
        }
        Ok(())
    }
    let dir = tempfile::Builder::new().prefix("x07-test-rr-").tempdir()?;
    copy(fixture, &dir.path().join(".x07_rr"))?;
    Ok(dir)
}

fn sandboxed_cwd(plan: &Plan, policy: &std::path::Path) -> std::path::PathBuf {
    let read_roots: Vec<std::path::PathBuf> = fs_err::read(policy)
        .ok()
        .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
        .and_then(|v| v.pointer("/fs/read_roots").cloned())
        .and_then(|v| serde_json::from_value::<Vec<String>>(v).ok())
        .unwrap_or_default()
        .into_iter()
        .map(std::path::PathBuf::from)
        .collect();
    let arch_root = plan
        .dir
        .ancestors()
        .find(|d| d.join("arch").is_dir())
        .map(std::path::Path::to_path_buf);
    let candidates = arch_root
        .into_iter()
        .chain([plan.dir.clone()])
        .chain(std::env::current_dir().ok());
    for dir in candidates {
        if read_roots.iter().all(|r| dir.join(r).exists()) {
            return dir;
        }
    }
    plan.dir.clone()
}

/// The sandbox of a run-os-sandboxed test: its policy (relative roots taken from the manifest's
/// directory) on the os backend — a VM boot per test would be too slow — and the trusted
/// launcher that applies it.
fn sandboxed(
    plan: &Plan,
    home: &X07Home,
    store: &StoreRoot,
    case: &TestCase,
) -> Result<(PreparedSandbox, std::path::PathBuf), String> {
    let policy = case.policy.as_deref().ok_or("no policy_json")?;
    let overrides = PolicyOverrides::default();
    let root = sandboxed_cwd(plan, policy);
    let prepared = prepare_sandbox(&SandboxRequest {
        backend: Some("os"),
        accept_weaker_isolation: true,
        accept_weaker: &[],
        policy: Some(policy),
        profile_policy: None,
        overrides: &overrides,
        root: &root,
    })
    .map_err(|e| e.to_string())?;
    let launcher =
        x07_builder::launcher::ensure_launcher(home, store).map_err(|e| e.to_string())?;
    Ok((prepared, launcher))
}

/// The test's driver built into the store: the stored executable, or the diagnostics.
fn compile(
    plan: &Plan,
    home: &X07Home,
    store: &StoreRoot,
    case: &TestCase,
) -> Result<std::path::PathBuf, Vec<TestDiag>> {
    let driver_path = plan.dir.join("__x07test_main.x07.json");
    let shown = format!("<test {}>", case.id);
    let program = load_program_from_bytes(&driver_path, &shown, driver_source(case), &plan.roots)
        .map_err(|diags| compiler_diags(&diags))?;
    let name = ArtifactName::new("x07test").expect("a valid artifact name");
    let mut req = BuildRequest::new(
        &program,
        case.world,
        CcProfile::Default,
        plan.lock_digest,
        name,
        None,
    );
    // packages' C code is linked only where the world allows native code: the project's, plus
    // that of every package whose modules this test's program loads (module roots given with
    // --module-root, or a package tested without a project)
    req.substituter = plan.substituter;
    req.native = if case.world.is_os() {
        program_native(&program, &plan.native)
            .map_err(|e| vec![diag("X07-PKG-0001", e.to_string())])?
    } else {
        NativeInputs::default()
    };
    match build(home, store, &req) {
        Ok(BuildOutcome::Built(b)) => Ok(b.entry.binary_path()),
        Ok(BuildOutcome::Rejected(diags)) => Err(compiler_diags(&diags)),
        Err(e) => Err(vec![diag(e.code(), e.to_string())]),
    }
}

/// `base` plus the native inputs of the packages the program's modules come from.
fn program_native(
    program: &x07_builder::frontend::LoadedProgram,
    base: &NativeInputs,
) -> Result<NativeInputs, x07_builder::project::ProjectError> {
    let mut roots: Vec<&std::path::Path> = Vec::new();
    for m in program.all() {
        if let x07_builder::frontend::ModuleOrigin::Root(dir) = &m.origin {
            if !roots.contains(&dir.as_path()) {
                roots.push(dir);
            }
        }
    }
    let found = x07_builder::project::discover_native(roots.into_iter(), &[])?;
    let mut native = base.clone();
    for s in found.sources {
        if !native.sources.contains(&s) {
            native.sources.push(s);
        }
    }
    for l in found.libs {
        if !native.libs.contains(&l) {
            native.libs.push(l);
        }
    }
    Ok(native)
}

/// The compiler's diagnostics as the report shows them.
fn compiler_diags(diags: &[x07_builder::frontend::Diagnostic]) -> Vec<TestDiag> {
    diags
        .iter()
        .map(|d| TestDiag {
            code: d.code.0.to_string(),
            message: d.to_string(),
            path: d.file.clone(),
        })
        .collect()
}
