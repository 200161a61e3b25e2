//! The sandbox attack suite: every program under `tests/sandbox/attacks/` tries to get out of
//! run-os-sandboxed, and each run must show both that it was stopped and that the report says why
//! (format: `tests/sandbox/README.md`).
//!
//! Trials, per attack `<name>`:
//! - `<name>/none`, `<name>/os`: `x07 run --profile sandbox --sandbox-backend B` with the normal
//!   build (in-process checks and, on `os`, the kernel layer); resource attacks run on `os` only;
//! - `<name>/os-kernel-only`: the same program built through the builder library with the
//!   in-process checks compiled out (a test-only switch) and launched on `os`: the kernel layer
//!   alone must stop it. Attacks only the in-process layer can stop say why in `kernel_skip`.
//!
//! - `<name>/vm` (attacks with an `os` trial that need no host executables; the network ones go
//!   through the host proxy):
//!   `x07 run --profile sandbox --sandbox-backend vm` in a fresh qemu guest (the suite builds x07's
//!   guest image once), judged the same way with time for the boot;
//! - `<name>/sealed-bundle` (attacks with an `os` trial): the program made into a policy-sealed
//!   bundle with the same policy and flags (`x07 bundle --profile sandbox --sandbox-backend os`),
//!   its entry adapted to take the attack's input as argument 1, and the bundle started on its own
//!   from the project directory: the same evidence must show the attack had no effect.
//!
//! The `os` trials need root (pids cgroup, network namespace); without it they are ignored and the
//! reason is printed. `X07_TEST_KEEP_DIRS=1` keeps the directories of failing trials.

mod common_sandbox;

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use libtest_mimic::{Arguments, Failed, Trial};
use serde_json::Value;
use x07_runner::RunLimits;
use x07_tests::{x07_bin, X07Home, X07Invocation, X07Output};

use common_sandbox::attack::{discover, merge_patch, Attack, Backend, Expectation};
use common_sandbox::kernel_only::{
    build_without_in_process_checks, effective_policy, launch, launcher_in, KernelOnlyLaunch,
};
use common_sandbox::privileges::os_backend_unavailable;
use common_sandbox::run_view::RunView;
use common_sandbox::stage::Stage;
use common_sandbox::verdict::{judge, judge_bundle};

/// The issue asks for at least this many attack programs.
const MIN_ATTACKS: usize = 25;

/// Set to keep the directories of a failing trial.
const KEEP_DIRS_VAR: &str = "X07_TEST_KEEP_DIRS";

/// Time limit of one `x07` command (the first run of a program compiles it).
const COMMAND_TIMEOUT: Duration = Duration::from_secs(120);

/// What all trials share: the binary and one `X07_HOME`, so the store and cc caches stay warm.
struct Suite {
    bin: PathBuf,
    home: X07Home,
}

fn main() {
    let args = Arguments::from_args();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("sandbox/attacks");
    let attacks = discover(&dir).unwrap_or_else(|e| panic!("{e}"));
    let os_unavailable = os_backend_unavailable();
    let suite = if args.list {
        None
    } else {
        if let Some(reason) = &os_unavailable {
            eprintln!("sandbox attacks: the os and os-kernel-only trials are ignored: {reason}");
        }
        let suite = Suite {
            bin: x07_bin(),
            home: X07Home::new().expect("create a temporary X07_HOME"),
        };
        if os_unavailable.is_none() {
            build_guest_image(&suite);
        }
        Some(Arc::new(suite))
    };

    let mut trials = vec![Trial::test("suite/enough_attacks", {
        let count = attacks.len();
        move || {
            if count >= MIN_ATTACKS {
                Ok(())
            } else {
                Err(format!("{count} attacks under tests/sandbox/attacks, at least {MIN_ATTACKS} are required").into())
            }
        }
    })];
    for attack in attacks {
        let attack = Arc::new(attack);
        for &backend in &attack.spec.backends {
            let (suite, attack) = (suite.clone(), attack.clone());
            let name = format!("{}/{}", attack.name, backend.as_str());
            trials.push(
                Trial::test(name, move || {
                    run_cli(
                        suite.as_deref().expect("set up unless listing"),
                        &attack,
                        backend,
                    )
                })
                .with_ignored_flag(backend == Backend::Os && os_unavailable.is_some()),
            );
        }
        // the vm backend: every os attack that does not need executables of the host (they are
        // not carried into the guest)
        if attack.spec.backends.contains(&Backend::Os) && !runs_host_executables(&attack) {
            let (suite, attack) = (suite.clone(), attack.clone());
            trials.push(
                Trial::test(format!("{}/vm", attack.name), move || {
                    run_cli(
                        suite.as_deref().expect("set up unless listing"),
                        &attack,
                        Backend::Vm,
                    )
                })
                .with_ignored_flag(os_unavailable.is_some()),
            );
        }
        if attack.spec.backends.contains(&Backend::Os) {
            let (suite, attack) = (suite.clone(), attack.clone());
            trials.push(
                Trial::test(format!("{}/sealed-bundle", attack.name), move || {
                    run_sealed_bundle(suite.as_deref().expect("set up unless listing"), &attack)
                })
                .with_ignored_flag(os_unavailable.is_some()),
            );
        }
        if attack.spec.kernel_expect.is_some() {
            let (suite, attack) = (suite.clone(), attack.clone());
            trials.push(
                Trial::test(format!("{}/os-kernel-only", attack.name), move || {
                    run_kernel_only(suite.as_deref().expect("set up unless listing"), &attack)
                })
                .with_ignored_flag(os_unavailable.is_some()),
            );
        }
    }
    let conclusion = libtest_mimic::run(&args, trials);
    // `exit` skips destructors: remove the temporary X07_HOME first.
    drop(suite);
    conclusion.exit();
}

/// Whether the attack's policy lets it run executables of the host (the vm backend's guest does
/// not hold them yet).
fn runs_host_executables(attack: &Attack) -> bool {
    let Some(policy) = &attack.spec.policy else {
        return false;
    };
    ["/process/allow_execs", "/process/allow_exec_prefixes"]
        .iter()
        .any(|p| {
            policy
                .pointer(p)
                .and_then(Value::as_array)
                .is_some_and(|a| !a.is_empty())
        })
}

/// Seconds a vm trial may take on top of the attack's bound: booting and powering off the guest
/// under software emulation.
const VM_BOOT_ALLOWANCE_SECONDS: u64 = 30;

/// `x07 vm image build` once for the whole suite (the vm trials boot it); the kernel package is
/// fetched with apt, or taken from `X07_TEST_KERNEL_DEB`.
fn build_guest_image(suite: &Suite) {
    let mut inv = X07Invocation::new(&suite.bin)
        .home(&suite.home)
        .args(["vm", "image", "build"])
        .timeout(Duration::from_secs(600));
    if let Some(deb) = std::env::var_os("X07_TEST_KERNEL_DEB") {
        inv = inv.arg("--kernel-deb").arg(deb);
    }
    let out = inv.run().expect("run x07 vm image build");
    assert_eq!(
        out.exit_code,
        Some(0),
        "x07 vm image build failed\n{}",
        out.describe()
    );
}

/// Runs one `x07` command of the preparation and requires exit 0.
fn x07_step(suite: &Suite, stage: &Stage, args: &[&str]) -> Result<X07Output, String> {
    let out = X07Invocation::new(&suite.bin)
        .home(&suite.home)
        .current_dir(stage.project())
        .args(args)
        .timeout(COMMAND_TIMEOUT)
        .run()
        .map_err(|e| e.to_string())?;
    if out.exit_code != Some(0) {
        return Err(format!("preparation step failed\n{}", out.describe()));
    }
    Ok(out)
}

/// Replaces placeholders in every string of a policy patch.
fn expand_strings(value: &mut Value, stage: &Stage) -> Result<(), String> {
    match value {
        Value::String(s) => *s = stage.expand(s)?,
        Value::Array(items) => items
            .iter_mut()
            .try_for_each(|v| expand_strings(v, stage))?,
        Value::Object(map) => map
            .values_mut()
            .try_for_each(|v| expand_strings(v, stage))?,
        _ => {}
    }
    Ok(())
}

/// Makes the project (`x07 init`, `x07 policy init`), writes the patched base policy and the
/// attack program, plants the setup. Returns the base policy's path.
fn prepare(suite: &Suite, stage: &mut Stage, attack: &Attack) -> Result<PathBuf, String> {
    let spec = &attack.spec;
    x07_step(suite, stage, &["init"])?;
    x07_step(
        suite,
        stage,
        &["policy", "init", "--template", &spec.template],
    )?;
    let template = stage.project().join(format!(
        ".x07/policies/base/{}.sandbox.base.policy.json",
        spec.template
    ));
    let mut policy: Value =
        serde_json::from_slice(&fs_err::read(&template).map_err(|e| e.to_string())?)
            .map_err(|e| format!("{}: {e}", template.display()))?;
    if let Some(patch) = &spec.policy {
        let mut patch = patch.clone();
        expand_strings(&mut patch, stage)?;
        merge_patch(&mut policy, &patch);
    }
    let base = stage
        .project()
        .join(".x07/policies/base/attack.policy.json");
    let pretty = serde_json::to_vec_pretty(&policy).expect("a JSON value serializes");
    fs_err::write(&base, pretty).map_err(|e| e.to_string())?;
    fs_err::copy(&attack.program, stage.project().join("src/main.x07.json"))
        .map_err(|e| e.to_string())?;
    stage.plant(&spec.setup)?;
    Ok(base)
}

/// Runs `check` on a fresh stage; keeps the directories of a failure when asked.
fn with_stage(
    attack: &Attack,
    check: impl FnOnce(&mut Stage) -> Result<(), String>,
) -> Result<(), Failed> {
    let mut stage =
        Stage::new(&format!("x07-attack-{}-", attack.name)).map_err(|e| e.to_string())?;
    match check(&mut stage) {
        Ok(()) => Ok(()),
        Err(message) => {
            let kept = if std::env::var_os(KEEP_DIRS_VAR).is_some_and(|v| !v.is_empty()) {
                format!("\n(kept {})", stage.keep().display())
            } else {
                format!("\n(set {KEEP_DIRS_VAR}=1 to keep the directories)")
            };
            Err(format!(
                "attack {}: {}\n{message}{kept}",
                attack.name, attack.spec.about
            )
            .into())
        }
    }
}

/// Every sandboxed run must report the backend it ran on.
fn check_backend(run: &RunView, backend: &str) -> Result<(), String> {
    let got = run
        .sandbox
        .as_ref()
        .and_then(|s| s.get("backend"))
        .and_then(Value::as_str);
    if got == Some(backend) {
        Ok(())
    } else {
        Err(format!(
            "sandbox.backend should be {backend:?}, is {got:?}\n\n{}",
            run.describe()
        ))
    }
}

/// A kernel-only binary has no in-process checks, so it cannot write a denial record; one would
/// mean the test-only switch did not take effect and the run proves nothing about the kernel.
fn check_no_denials(run: &RunView) -> Result<(), String> {
    match &run.denials {
        Some(list) if list.is_empty() => Ok(()),
        other => Err(format!(
            "the in-process checks should be compiled out, yet the report has denials {other:?}\n\n{}",
            run.describe()
        )),
    }
}

fn run_cli(suite: &Suite, attack: &Attack, backend: Backend) -> Result<(), Failed> {
    with_stage(attack, |stage| {
        let base = prepare(suite, stage, attack)?;
        let spec = &attack.spec;
        let input = stage.outer().join("input.bin");
        fs_err::write(&input, stage.expand(&spec.input)?).map_err(|e| e.to_string())?;
        let mut inv = X07Invocation::new(&suite.bin)
            .home(&suite.home)
            .current_dir(stage.project())
            .args(["run", "--profile", "sandbox", "--repair", "off", "--policy"])
            .arg(&base)
            .args(["--sandbox-backend", backend.as_str()])
            .args(if backend == Backend::Vm {
                &[][..]
            } else {
                &["--i-accept-weaker-isolation"][..]
            })
            .arg("--input")
            .arg(&input)
            .timeout(COMMAND_TIMEOUT);
        for host in &spec.allow_hosts {
            inv = inv.arg("--allow-host").arg(stage.expand(host)?);
        }
        if let Some(fuel) = spec.solve_fuel {
            inv = inv.arg(format!("--solve-fuel={fuel}"));
        }
        if let Some(max) = spec.max_output_bytes {
            inv = inv.arg(format!("--max-output-bytes={max}"));
        }
        for (key, value) in &spec.setup.env {
            inv = inv.env(key, stage.expand(value)?);
        }
        let started = Instant::now();
        let out = inv.run().map_err(|e| e.to_string())?;
        let elapsed = started.elapsed();
        if out.timed_out {
            return Err(format!(
                "x07 run did not finish in {COMMAND_TIMEOUT:?}\n{}",
                out.describe()
            ));
        }
        let mut run = RunView::from_cli(&out).map_err(|e| e.to_string())?;
        run.elapsed = Some(elapsed);
        let mut expect = spec.expect.clone();
        if backend == Backend::Vm {
            expect.max_run_seconds = expect
                .max_run_seconds
                .map(|s| s + VM_BOOT_ALLOWANCE_SECONDS);
        }
        judge(&expect, &run, stage)?;
        if backend == Backend::Vm {
            // inside the guest the launcher applies the os layer; the report says where it ran
            let report: Value = serde_json::from_slice(&out.stdout).map_err(|e| e.to_string())?;
            if report["sandbox_backend"] != "vm" {
                return Err(format!(
                    "the run did not happen on the vm backend\n{}",
                    run.describe()
                ));
            }
            return check_backend(&run, "os");
        }
        check_backend(&run, backend.as_str())
    })
}

/// Rewrites the entry so that what the attack reads as `input` is argument 1 of the bundle's
/// argv_v1 (`input` renamed in `solve`, bound to token 1 first).
fn adapt_entry_to_argv(entry: &Path) -> Result<(), String> {
    fn rename(v: &mut Value) {
        match v {
            Value::String(s) if s == "input" => *s = "attack_input".into(),
            Value::Array(items) => items.iter_mut().for_each(rename),
            _ => {}
        }
    }
    let mut module: Value =
        serde_json::from_slice(&fs_err::read(entry).map_err(|e| e.to_string())?)
            .map_err(|e| format!("{}: {e}", entry.display()))?;
    let mut solve = module["solve"].take();
    rename(&mut solve);
    let len0 = serde_json::json!(["codec.read_u32_le", "input", 4]);
    let at = serde_json::json!(["+", 8, len0]);
    module["solve"] = serde_json::json!([
        "begin",
        [
            "let",
            "attack_input",
            [
                "view.slice",
                "input",
                ["+", at.clone(), 4],
                ["codec.read_u32_le", "input", at]
            ]
        ],
        solve
    ]);
    fs_err::write(entry, serde_json::to_vec(&module).expect("serializes"))
        .map_err(|e| e.to_string())
}

fn run_sealed_bundle(suite: &Suite, attack: &Attack) -> Result<(), Failed> {
    with_stage(attack, |stage| {
        let base = prepare(suite, stage, attack)?;
        adapt_entry_to_argv(&stage.project().join("src/main.x07.json"))?;
        let spec = &attack.spec;
        let exe = stage.outer().join("dist").join("attack");
        let mut make = X07Invocation::new(&suite.bin)
            .home(&suite.home)
            .current_dir(stage.project())
            .args([
                "bundle",
                "--no-sign",
                "--profile",
                "sandbox",
                "--repair",
                "off",
                "--policy",
            ])
            .arg(&base)
            .args([
                "--sandbox-backend",
                "os",
                "--i-accept-weaker-isolation",
                "--out",
            ])
            .arg(&exe)
            .timeout(COMMAND_TIMEOUT);
        for host in &spec.allow_hosts {
            make = make.arg("--allow-host").arg(stage.expand(host)?);
        }
        if let Some(fuel) = spec.solve_fuel {
            make = make.arg(format!("--solve-fuel={fuel}"));
        }
        if let Some(max) = spec.max_output_bytes {
            make = make.arg(format!("--max-output-bytes={max}"));
        }
        let made = make.run().map_err(|e| e.to_string())?;
        if made.exit_code != Some(0) {
            return Err(format!("x07 bundle failed\n{}", made.describe()));
        }
        let input = stage.expand(&spec.input)?;
        if input.contains('\0') {
            return Err("the attack's input holds a NUL byte, which no argument can carry".into());
        }
        let mut inv = X07Invocation::new(&exe)
            .arg(&input)
            .current_dir(stage.project())
            .timeout(COMMAND_TIMEOUT);
        for (key, value) in &spec.setup.env {
            inv = inv.env(key, stage.expand(value)?);
        }
        let started = Instant::now();
        let out = inv.run().map_err(|e| e.to_string())?;
        if out.timed_out {
            return Err(format!(
                "the bundle did not finish in {COMMAND_TIMEOUT:?}\n{}",
                out.describe()
            ));
        }
        let run = RunView::from_bundle(&out, started.elapsed());
        judge_bundle(&spec.expect, &run, stage)?;
        Ok(())
    })
}

fn run_kernel_only(suite: &Suite, attack: &Attack) -> Result<(), Failed> {
    let expect: &Expectation = attack
        .spec
        .kernel_expect
        .as_ref()
        .expect("only made for kernel_expect");
    with_stage(attack, |stage| {
        let base = prepare(suite, stage, attack)?;
        let spec = &attack.spec;
        let exe = build_without_in_process_checks(suite.home.path(), stage.project())?;
        let launcher = launcher_in(suite.home.path())?;
        let hosts = spec
            .allow_hosts
            .iter()
            .map(|h| stage.expand(h))
            .collect::<Result<Vec<_>, _>>()?;
        let policy = effective_policy(stage.project(), &base, &hosts)?;
        let mut limits = RunLimits::default();
        limits.solve_fuel = spec.solve_fuel.unwrap_or(limits.solve_fuel);
        limits.max_output_bytes = spec.max_output_bytes.unwrap_or(limits.max_output_bytes);
        let env = spec
            .setup
            .env
            .iter()
            .map(|(k, v)| Ok((OsString::from(k), OsString::from(stage.expand(v)?))))
            .collect::<Result<Vec<_>, String>>()?;
        let input = stage.expand(&spec.input)?;
        let started = Instant::now();
        let mut run = launch(&KernelOnlyLaunch {
            exe: &exe,
            launcher: &launcher,
            project: stage.project(),
            policy: &policy,
            input: input.as_bytes(),
            limits,
            env,
        })?;
        run.elapsed = Some(started.elapsed());
        judge(expect, &run, stage)?;
        check_backend(&run, "os")?;
        check_no_denials(&run)
    })
}
