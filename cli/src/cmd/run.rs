//! `x07 run`: resolve target, profile and input; build (usually a store hit); run; print the report.

use std::io::{IsTerminal, Read};
use std::path::Path;

use base64::Engine as _;
use x07_builder::build::BuildOutcome;
use x07_runner::{EnvMode, RunLimits};
use x07_spec::run_report::ReportRunner;
use x07_spec::{
    ArtifactRunReport, CompileRunReport, OsRunnerReport, OsRunnerReportVersion, RepairSummary,
    RunReport, RunReportVersion, RunTarget, SolveSection, TargetKind as ReportTargetKind, World,
};

use crate::args::{RepairMode, ReportMode, RunArgs};
use crate::compile::{self, RepairDone};
use crate::error::{CliError, CliResult};
use crate::sandbox::{self, SandboxLaunch};
use crate::target::{self, Target, TargetKind};
use x07_spec::report::SandboxBackend;

fn read_input_file(path: &Path) -> Result<Vec<u8>, CliError> {
    fs_err::read(path).map_err(|e| {
        CliError::setup("X07-INPUT-0001", format!("cannot read the input file: {e}"))
            .help("check the path passed to --input (or profiles.<name>.input)")
    })
}

/// Input precedence: --input, --stdin, --input-b64, -- args, profile input, empty.
fn input_bytes(args: &RunArgs, target: Option<&Target>) -> Result<Vec<u8>, CliError> {
    if let Some(p) = &args.input {
        return read_input_file(p);
    }
    if args.stdin {
        let mut buf = Vec::new();
        std::io::stdin().read_to_end(&mut buf).map_err(|e| {
            CliError::setup("X07-INPUT-0001", format!("cannot read standard input: {e}"))
        })?;
        return Ok(buf);
    }
    if let Some(b64) = &args.input_b64 {
        return base64::engine::general_purpose::STANDARD
            .decode(b64.trim())
            .map_err(|e| {
                CliError::setup(
                    "X07-CLI-0001",
                    format!("--input-b64 is not valid base64: {e}"),
                )
            });
    }
    if !args.args.is_empty() {
        return x07_runner::argv_v1::encode(args.args.iter().map(|a| a.as_bytes())).map_err(|e| {
            CliError::setup(
                "X07-CLI-0001",
                format!("cannot encode the arguments after -- as argv_v1: {e}"),
            )
        });
    }
    if let Some(t) = target {
        if let (Some(root), Some(rel)) = (
            t.project_root(),
            t.profile.as_ref().and_then(|p| p.input.as_ref()),
        ) {
            return read_input_file(&root.join(rel.as_str()));
        }
    }
    let _ = std::io::stdin().is_terminal();
    Ok(Vec::new())
}

fn limits(args: &RunArgs, target: Option<&Target>) -> RunLimits {
    let f = target::LimitFlags {
        solve_fuel: args.solve_fuel,
        max_memory_bytes: args.max_memory_bytes,
        max_output_bytes: args.max_output_bytes,
        cpu_time_limit_seconds: args.cpu_time_limit_seconds,
    }
    .or_profile(target);
    let mut l = RunLimits::with_cpu_seconds(
        f.cpu_time_limit_seconds
            .unwrap_or(x07_runner::limits::DEFAULT_CPU_TIME_LIMIT_SECONDS),
    );
    l.solve_fuel = f.solve_fuel.unwrap_or(l.solve_fuel);
    l.max_memory_bytes = f.max_memory_bytes.unwrap_or(l.max_memory_bytes);
    l.max_output_bytes = f.max_output_bytes.unwrap_or(l.max_output_bytes);
    l
}

/// One line on stderr for a person per denial and for a trap (the report on stdout is the
/// same either way): what was refused and the flag that would allow it.
fn say_for_people(solve: &x07_spec::solve_section::SolveSection) {
    for d in solve.policy_denials.iter().flatten() {
        let hint = match d.rule.as_str() {
            "net.allow_hosts" => format!("; `--allow-host {}` would allow it", d.target),
            "fs.read_roots" => {
                "; `--allow-read-root DIR` (a directory holding it) would allow it".to_string()
            }
            "fs.write_roots" => {
                "; `--allow-write-root DIR` (a directory holding it) would allow it".to_string()
            }
            "env.allow_keys" => format!(
                "; add `{}` to env.allow_keys in the base policy to allow it",
                d.target
            ),
            _ => String::new(),
        };
        eprintln!(
            "x07 run: the policy refused {} {} ({}){hint}",
            d.op, d.target, d.rule
        );
    }
    if let Some(trap) = &solve.trap {
        let help = solve
            .trap_help
            .as_deref()
            .map(|h| format!(": {h}"))
            .unwrap_or_default();
        eprintln!("x07 run: the program stopped: {trap}{help}");
    }
}

fn emit_report(
    args: &RunArgs,
    target: Option<&Target>,
    repair: Option<RepairDone>,
    report: OsRunnerReport,
) -> CliResult {
    let exit = if report.exit_code() == 0 { 0 } else { 1 };
    let bytes = match args.report {
        ReportMode::Runner => x07_spec::canonical_file_bytes(&report),
        ReportMode::Wrapped => {
            let target_info = match target {
                Some(t) => target::report_target(t),
                None => RunTarget {
                    kind: ReportTargetKind::Artifact,
                    path: args
                        .artifact
                        .as_ref()
                        .map(|a| a.display().to_string())
                        .unwrap_or_default(),
                    project_root: None,
                    lockfile: None,
                    resolved_module_roots: Vec::new(),
                },
            };
            let repair = repair
                .filter(|r| r.mode != RepairMode::Off)
                .map(|r| RepairSummary {
                    mode: match r.mode {
                        RepairMode::Write => x07_spec::run_report::RepairMode::Write,
                        _ => x07_spec::run_report::RepairMode::Memory,
                    },
                    iterations: 1,
                    applied_ops_count: r.files_changed,
                    last_lint_ok: report.exit_code() == 0 || report.solve().is_some(),
                });
            let wrapped = RunReport {
                schema_version: RunReportVersion,
                runner: ReportRunner::Os,
                world: report.world(),
                target: target_info,
                repair,
                report,
            };
            x07_spec::canonical_file_bytes(&wrapped)
        }
    }
    .map_err(|e| CliError::setup("X07-RUN-0001", format!("cannot serialize the report: {e}")))?;
    if let Some(out) = &args.report_out {
        x07_spec::write_atomic(out, &bytes).map_err(|e| {
            CliError::setup(
                "X07-CLI-0001",
                format!("cannot write --report-out {}: {e}", out.display()),
            )
        })?;
    }
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    let _ = stdout.write_all(&bytes);
    let _ = stdout.flush();
    Ok(exit)
}

fn run_binary(
    exe: &Path,
    input: &[u8],
    limits: &RunLimits,
    cwd: Option<&Path>,
) -> Result<SolveSection, CliError> {
    launch(exe, input, limits, cwd, None).map(|r| r.solve)
}

fn launch(
    exe: &Path,
    input: &[u8],
    limits: &RunLimits,
    cwd: Option<&Path>,
    sandbox: Option<&SandboxLaunch>,
) -> Result<x07_runner::Launched, CliError> {
    let launch = x07_runner::Launch {
        env: sandbox
            .map(|s| s.prepared.env.clone())
            .unwrap_or_else(EnvMode::inherit),
        cwd,
        policy_blob: sandbox.map(|s| s.prepared.blob.as_slice()),
        launcher: sandbox.and_then(|s| s.launcher.as_deref()),
    };
    x07_runner::run_launch(exe, input, limits, &launch)
        .map_err(|e| CliError::setup("X07-RUN-0001", format!("cannot run {}: {e}", exe.display())))
}

/// Runs `x07 run`.
pub fn run(args: &RunArgs) -> CliResult {
    if let Some(artifact) = &args.artifact {
        if args.target.project.is_some() || args.target.program.is_some() {
            return Err(CliError::setup(
                "X07-CLI-0001",
                "--artifact cannot be combined with --project or --program",
            ));
        }
        if args.target.profile.as_deref().is_some_and(|p| p != "os") {
            return Err(CliError::setup("X07-CLI-0001", "--artifact runs in world run-os only (a sandboxed run must compile the program itself)"));
        }
        let input = input_bytes(args, None)?;
        let solve = run_binary(artifact, &input, &limits(args, None), None)?;
        let exit_code = if solve.ok { 0 } else { 1 };
        let report = OsRunnerReport::RunOs(ArtifactRunReport {
            schema_version: OsRunnerReportVersion,
            world: World::RunOs,
            exit_code,
            solve,
            sandbox_backend: None,
            runtime_attestation: None,
        });
        return emit_report(args, None, None, report);
    }
    let target = target::resolve(&args.target)?;
    compile::require_supported_world(&target)?;
    compile::configure_substituters(&args.cache)?;
    sandbox::reject_outside_sandbox(&args.sandbox, &target, target.world)?;
    let root = target::work_root(&target)?;
    let sandbox = if target.world == World::RunOsSandboxed {
        Some(sandbox::prepare(&args.sandbox, &target, &root, "x07 run")?)
    } else {
        None
    };
    let limits = limits(args, Some(&target));
    // backend os: the launcher makes the run's namespaces, cgroups and root while the program
    // is loaded and built (from the store, usually); dropped on any early return, it is called off
    let early = match sandbox
        .as_ref()
        .filter(|sb| sb.prepared.backend == SandboxBackend::Os)
    {
        Some(sb) => match sb.launcher.as_deref() {
            Some(launcher) => Some(
                x07_runner::EarlyLaunch::start(
                    launcher,
                    &sb.prepared.blob,
                    &limits,
                    &sb.prepared.env,
                    Some(&root),
                )
                .map_err(|e| CliError::setup("X07-RUN-0001", e.to_string()))?,
            ),
            None => None,
        },
        None => None,
    };
    let input = input_bytes(args, Some(&target))?;
    let (loaded, repair) = compile::load_and_repair(&target, args.repair)?;
    let project = matches!(target.kind, TargetKind::Project { .. });
    let wrap = |r: CompileRunReport| {
        if project {
            OsRunnerReport::ProjectCompileRun(r)
        } else {
            OsRunnerReport::CompileRun(r)
        }
    };
    // the report of a program that did not compile: its diagnostics, or (a setup failure of the
    // C build) the error itself
    let failed_with = |diags: Vec<x07_builder::frontend::Diagnostic>, error: Option<String>| {
        compile::print_diagnostics(&diags);
        let mut c = compile::compile_section(false, target.world);
        c.compile_error = error.or_else(|| {
            diags
                .first()
                .map(|d| format!("{}: {}", d.code.0, d.message))
        });
        c.diagnostics = Some(compile::report_diagnostics(&diags));
        wrap(CompileRunReport {
            schema_version: OsRunnerReportVersion,
            world: target.world,
            exit_code: 1,
            compile: c,
            solve: None,
            solve_output_b64: None,
            sandbox_backend: None,
            runtime_attestation: None,
            effective_policy_digest: None,
            sandbox: None,
            vm_guest_image: None,
        })
    };
    let failed = |diags| failed_with(diags, None);
    let program = match loaded {
        Ok(p) => p,
        Err(diags) => return emit_report(args, Some(&target), Some(repair), failed(diags)),
    };
    if let Some(sb) = &sandbox {
        // Package C sources and the libraries packages link (`meta.ffi_libs`) are both native
        // code; the project's own link libraries are the user's choice, not a package's.
        let native = target.uses_package_native();
        let gate = sb.gate().check(&program, native);
        if !gate.is_empty() {
            return emit_report(args, Some(&target), Some(repair), failed(gate));
        }
    }
    let vm = sandbox
        .as_ref()
        .filter(|sb| sb.prepared.backend == x07_spec::report::SandboxBackend::Vm);
    let image = match vm {
        Some(_) => Some(crate::sandbox::guest_image()?),
        None => None,
    };
    // static (musl) for the guest when the program is x07 code only; native code (package C,
    // libraries such as ext-net's libcurl) is written against the host's libc, so such a program
    // is built as on the os backend and carried into the guest with its closure
    let loaded_native = target.native_for(&program).map_err(CliError::from)?;
    let native_code = !loaded_native.sources.is_empty() || !loaded_native.libs.is_empty();
    let built = match compile::build_target_for(
        vm.is_some() && !native_code,
        &target,
        &program,
        target.cc_profile(crate::target::cc_profile_flag(args.cc_profile)),
    ) {
        // a header or library missing from this host: a setup error, and the report still says
        // which one (docs/doctor.md checks the same)
        Err(e) if e.code == "X07-CC-0003" || e.code == "X07-CC-0004" => {
            eprintln!("{e}");
            let report = failed_with(Vec::new(), Some(format!("{}: {}", e.code, e.message)));
            emit_report(args, Some(&target), Some(repair), report)?;
            return Ok(2);
        }
        Err(e) => return Err(e),
        Ok(BuildOutcome::Built(b)) => b,
        Ok(BuildOutcome::Rejected(diags)) => {
            return emit_report(args, Some(&target), Some(repair), failed(diags))
        }
    };
    let exe = built.entry.binary_path();
    if let Some(out) = &args.compiled_out {
        let bytes =
            fs_err::read(&exe).map_err(|e| CliError::setup("X07-STORE-0001", e.to_string()))?;
        x07_spec::write_atomic(out, &bytes)
            .and_then(|()| {
                use std::os::unix::fs::PermissionsExt;
                std::fs::set_permissions(out, std::fs::Permissions::from_mode(0o755))
            })
            .map_err(|e| {
                CliError::setup(
                    "X07-CLI-0001",
                    format!("cannot write --compiled-out {}: {e}", out.display()),
                )
            })?;
    }
    let record = built.entry.build_record().ok();
    let vm_guest_image = image.as_ref().map(|i| i.digest.to_string());
    // an early-started launcher tells the run's end before it tears the run down: the report is
    // written meanwhile, and the launcher waited for after it
    let (launched, launcher_exit) = match (&image, &sandbox, early) {
        (Some(image), Some(sb), _) => (
            crate::sandbox::run_in_vm(image, sb, &exe, &input, &limits, &root, args.vm_cpus)?,
            None,
        ),
        (_, _, Some(early)) => early.run(&exe, &input, &limits).map_err(|e| {
            CliError::setup("X07-RUN-0001", format!("cannot run {}: {e}", exe.display()))
        })?,
        _ => (
            launch(&exe, &input, &limits, Some(&root), sandbox.as_ref())?,
            None,
        ),
    };
    let solve = launched.solve;
    say_for_people(&solve);
    let mut c = compile::compile_section(true, target.world);
    c.c_source_size = record.as_ref().map(|r| r.c_source_size);
    c.compiled_exe = Some(exe.display().to_string());
    c.compiled_exe_size = record.as_ref().map(|r| r.output.size);
    let exit_code = if solve.ok { 0 } else { 1 };
    let report = wrap(CompileRunReport {
        schema_version: OsRunnerReportVersion,
        world: target.world,
        exit_code,
        compile: c,
        solve_output_b64: Some(solve.solve_output_b64.clone()),
        solve: Some(solve),
        sandbox_backend: sandbox.as_ref().map(|s| s.prepared.backend),
        runtime_attestation: None,
        effective_policy_digest: sandbox.as_ref().map(|s| s.prepared.digest.to_string()),
        sandbox: launched.sandbox,
        vm_guest_image,
    });
    let emitted = emit_report(args, Some(&target), Some(repair), report);
    if let Some(warning) = launcher_exit.and_then(x07_runner::LauncherExit::wait) {
        eprintln!("x07 run: warning: {warning}");
    }
    emitted
}
