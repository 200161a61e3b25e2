//! The language conformance suite: one trial per case file `tests/conformance/<group>/<name>.json`
//! (format: `tests/conformance/README.md`), each run through the built `x07 run --program`.
//!
//! `cargo test -p x07-tests --test conformance -- lang/` runs one group; set `X07_BIN` to test
//! another build of x07, and `X07_TEST_KEEP_DIRS=1` to keep the program directories of failing files.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use libtest_mimic::{Arguments, Failed, Trial};
use x07_tests::conformance::{
    discover, CaseFile, CaseFileRef, ExpectedDiagnostic, FileExpectation, Outcome, RunCase,
};
use x07_tests::{
    describe_bytes, x07_bin, ProgramDir, RunReport, X07Home, X07Invocation, X07Output,
};

/// What all trials share: the binary and one `X07_HOME`, so the store and cc caches stay warm.
struct Suite {
    bin: PathBuf,
    home: X07Home,
}

fn main() {
    let args = Arguments::from_args();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("conformance");
    let files = discover(&root)
        .unwrap_or_else(|e| panic!("cannot list case files under {}: {e}", root.display()));
    let suite = if args.list {
        None
    } else {
        let home = X07Home::new().expect("create a temporary X07_HOME");
        Some(Arc::new(Suite {
            bin: x07_bin(),
            home,
        }))
    };
    let trials = files
        .into_iter()
        .map(|file| {
            let suite = suite.clone();
            Trial::test(file.name.clone(), move || {
                run_case_file(
                    suite
                        .as_deref()
                        .expect("the suite is set up unless listing"),
                    &file,
                )
            })
        })
        .collect();
    let conclusion = libtest_mimic::run(&args, trials);
    // `exit` skips destructors: remove the temporary X07_HOME first.
    drop(suite);
    conclusion.exit();
}

/// Set to keep the program directory of a failing case file.
const KEEP_DIRS_VAR: &str = "X07_TEST_KEEP_DIRS";

fn run_case_file(suite: &Suite, file_ref: &CaseFileRef) -> Result<(), Failed> {
    let file = CaseFile::load(&file_ref.path).map_err(|e| e.to_string())?;
    let dir = write_program(&file)
        .map_err(|e| format!("{}: cannot write the program: {e}", file_ref.path.display()))?;
    let mut failures = Vec::new();
    match &file.expectation {
        FileExpectation::Runs(cases) => {
            for (index, case) in cases.iter().enumerate() {
                match run_case(suite, &file, &dir, index, case) {
                    Ok(()) => {}
                    Err(CaseFailure::CompileFailed(message)) => {
                        // Every further case would repeat the same compile error.
                        let rest = cases.len() - index - 1;
                        failures.push(format!(
                            "{message}\n({rest} further cases not run: the program does not compile)"
                        ));
                        break;
                    }
                    Err(CaseFailure::Other(message)) => failures.push(message),
                }
            }
        }
        FileExpectation::CompileError(expected) => {
            failures.extend(check_compile_error(suite, &file, &dir, expected).err());
        }
    }
    if failures.is_empty() {
        return Ok(());
    }
    let kept = if std::env::var_os(KEEP_DIRS_VAR).is_some_and(|v| !v.is_empty()) {
        format!("program directory kept: {}", dir.keep().display())
    } else {
        format!("set {KEEP_DIRS_VAR}=1 to keep the program directory")
    };
    Err(format!(
        "{}\n  about: {}\n  {kept}\n\n{}",
        file_ref.path.display(),
        file.about,
        failures.join("\n\n")
    )
    .into())
}

/// Why one run case failed; after a compile failure the remaining cases are skipped.
enum CaseFailure {
    CompileFailed(String),
    Other(String),
}

fn write_program(file: &CaseFile) -> std::io::Result<ProgramDir> {
    let dir = ProgramDir::new()?;
    dir.write_entry(&file.entry)?;
    for (id, module) in &file.modules {
        dir.write_module(id, module)?;
    }
    for rel in &file.setup_dirs {
        let path = dir
            .resolve(rel)
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
        fs_err::create_dir_all(path)?;
    }
    Ok(dir)
}

fn invoke(
    suite: &Suite,
    file: &CaseFile,
    dir: &ProgramDir,
    input_name: &str,
    input: &[u8],
) -> Result<X07Output, String> {
    let input_path = dir
        .write_file(input_name, input)
        .map_err(|e| format!("cannot write the input file: {e}"))?;
    let mut run = X07Invocation::new(&suite.bin)
        .home(&suite.home)
        .current_dir(dir.path())
        .arg("run")
        .arg("--program")
        .arg(dir.entry_path())
        .arg("--input")
        .arg(input_path)
        .args(["--repair", "off"]);
    if let Some(fuel) = file.solve_fuel {
        run = run.arg("--solve-fuel").arg(fuel.to_string());
    }
    run.run().map_err(|e| e.to_string())
}

/// What a run actually gave.
enum Actual {
    CompileFailed(String),
    Ran(Ran),
    Unexpected(String),
}

/// The solve step of a program that compiled.
struct Ran {
    ok: bool,
    output: Vec<u8>,
    stdout: Option<Vec<u8>>,
    trap: Option<String>,
    exit_status: Option<i64>,
}

impl Actual {
    fn of(report: &RunReport) -> Self {
        let Some(compile) = &report.fields.compile else {
            return Self::Unexpected("the report has no `compile` section".into());
        };
        if !compile.ok {
            let codes: Vec<String> = report
                .diagnostics()
                .iter()
                .map(|d| {
                    format!(
                        "{} at {} {}",
                        d.code,
                        d.file.as_deref().unwrap_or("?"),
                        d.ptr.as_deref().unwrap_or("?")
                    )
                })
                .collect();
            return Self::CompileFailed(format!(
                "compile failed: [{}] {}",
                codes.join(", "),
                compile.compile_error.as_deref().unwrap_or("")
            ));
        }
        let Some(solve) = &report.fields.solve else {
            return Self::Unexpected("compile.ok is true but there is no `solve` section".into());
        };
        let (output, stdout) = match (report.solve_output(), report.solve_stdout()) {
            (Ok(output), Ok(stdout)) => (output.unwrap_or_default(), stdout),
            (Err(e), _) | (_, Err(e)) => return Self::Unexpected(e.to_string()),
        };
        Self::Ran(Ran {
            ok: solve.ok,
            output,
            stdout,
            trap: solve.trap.clone(),
            exit_status: solve.exit_status,
        })
    }

    fn describe(&self) -> String {
        match self {
            Self::CompileFailed(text) | Self::Unexpected(text) => text.clone(),
            Self::Ran(ran) => {
                let result = match (&ran.trap, &ran.stdout) {
                    (Some(trap), _) => format!("trap {trap:?}"),
                    (None, Some(stdout)) if stdout.is_empty() => "no output frame".to_string(),
                    (None, _) => format!("output {}", describe_bytes(&ran.output)),
                };
                let status = ran.exit_status.map_or("?".to_string(), |s| s.to_string());
                format!("{result} (solve.ok {}, exit status {status})", ran.ok)
            }
        }
    }
}

fn describe_outcome(case: &RunCase) -> String {
    let result = match &case.outcome {
        Outcome::Output(bytes) => format!("output {}", describe_bytes(bytes)),
        Outcome::Trap(trap) => format!("trap {trap:?}"),
        Outcome::TrapPrefix(prefix) => format!("trap starting with {prefix:?}"),
        Outcome::NoOutput => "no output frame".to_string(),
    };
    match case.exit_code {
        Some(code) => format!("{result} (exit status {code})"),
        None => result,
    }
}

/// Whether a run that compiled gave what the case expects.
fn outcome_matches(case: &RunCase, ran: &Ran) -> bool {
    let status_ok = |default: Option<i64>| {
        case.exit_code
            .or(default)
            .is_none_or(|want| ran.exit_status == Some(want))
    };
    match &case.outcome {
        Outcome::Output(want) => {
            // A chosen nonzero exit status makes the run not ok, but the frame is still written.
            let chosen_status = case.exit_code.is_some_and(|c| c != 0);
            ran.trap.is_none()
                && ran.output == *want
                && status_ok(Some(0))
                && (ran.ok || chosen_status)
        }
        Outcome::Trap(want) => ran.trap.as_deref() == Some(want.as_str()) && status_ok(None),
        Outcome::TrapPrefix(prefix) => {
            ran.trap
                .as_deref()
                .is_some_and(|t| t.starts_with(prefix.as_str()))
                && status_ok(None)
        }
        Outcome::NoOutput => {
            !ran.ok && ran.stdout.as_deref().is_some_and(|s| s.is_empty()) && status_ok(None)
        }
    }
}

fn run_case(
    suite: &Suite,
    file: &CaseFile,
    dir: &ProgramDir,
    index: usize,
    case: &RunCase,
) -> Result<(), CaseFailure> {
    let header = format!("case #{index}\n  input:    {}", describe_bytes(&case.input));
    let output = invoke(suite, file, dir, &format!("input-{index}.bin"), &case.input)
        .map_err(|e| CaseFailure::Other(format!("{header}\n  {e}")))?;
    let report = match output.report() {
        Ok(report) => report,
        Err(e) => {
            return Err(CaseFailure::Other(format!(
                "{header}\n  {e}\n{}",
                output.describe()
            )))
        }
    };
    let actual = Actual::of(&report);
    let outcome_ok = match &actual {
        Actual::Ran(ran) => outcome_matches(case, ran),
        Actual::CompileFailed(_) | Actual::Unexpected(_) => false,
    };
    let succeeds = matches!(case.outcome, Outcome::Output(_)) && case.exit_code.unwrap_or(0) == 0;
    let wanted_exit = if succeeds { 0 } else { 1 };
    let mut problems = Vec::new();
    if !outcome_ok {
        problems.push(format!(
            "  expected: {}\n  actual:   {}",
            describe_outcome(case),
            actual.describe()
        ));
    }
    if output.exit_code != Some(wanted_exit) {
        problems.push(format!(
            "  expected x07 to exit with {wanted_exit}, got {:?}",
            output.exit_code
        ));
    }
    if file.leak_free && matches!(case.outcome, Outcome::Output(_)) && outcome_ok {
        problems.extend(leak_problem(&report));
    }
    for (rel, want) in &case.expect_files {
        let got = dir
            .resolve(rel)
            .map_err(|e| e.to_string())
            .and_then(|p| fs_err::read(p).map_err(|e| e.to_string()));
        match got {
            Ok(got) if got == *want => {}
            Ok(got) => problems.push(format!(
                "  file {rel}: expected {}\n  file {rel}: actual   {}",
                describe_bytes(want),
                describe_bytes(&got)
            )),
            Err(e) => problems.push(format!(
                "  file {rel}: expected {}, but {e}",
                describe_bytes(want)
            )),
        }
    }
    if problems.is_empty() {
        return Ok(());
    }
    let message = format!(
        "{header}\n{}\n{}",
        problems.join("\n"),
        report_dump(&report, &output)
    );
    if matches!(actual, Actual::CompileFailed(_)) {
        Err(CaseFailure::CompileFailed(message))
    } else {
        Err(CaseFailure::Other(message))
    }
}

/// A successful run of a `leak_free` file must end with nothing allocated.
fn leak_problem(report: &RunReport) -> Option<String> {
    let stats = report
        .fields
        .solve
        .as_ref()
        .and_then(|s| s.mem_stats.as_ref());
    match stats {
        None => Some("  expected solve.mem_stats (the file is leak_free), found none".into()),
        Some(m) if m.live_bytes == 0 && m.live_allocs == 0 => None,
        Some(m) => Some(format!(
            "  leak: {} bytes in {} allocations still live at exit (drop glue missed an owned value; \
             set \"leak_free\": false only if this is intended)",
            m.live_bytes, m.live_allocs
        )),
    }
}

fn check_compile_error(
    suite: &Suite,
    file: &CaseFile,
    dir: &ProgramDir,
    expected: &ExpectedDiagnostic,
) -> Result<(), String> {
    let header = format!(
        "compile error\n  expected: {} at {} {}",
        expected.code,
        expected.file.as_deref().unwrap_or("(any file)"),
        expected.ptr.as_deref().unwrap_or("(any ptr)")
    );
    let output =
        invoke(suite, file, dir, "input.bin", b"").map_err(|e| format!("{header}\n  {e}"))?;
    let report = match output.report() {
        Ok(report) => report,
        Err(e) => return Err(format!("{header}\n  {e}\n{}", output.describe())),
    };
    let mut problems = Vec::new();
    let compiled = report.fields.compile.as_ref().map(|c| c.ok);
    if compiled != Some(false) || !report.diagnostics().iter().any(|d| expected.matches(d)) {
        problems.push(format!("  actual:   {}", Actual::of(&report).describe()));
    }
    if output.exit_code != Some(1) {
        problems.push(format!(
            "  expected x07 to exit with 1, got {:?}",
            output.exit_code
        ));
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "{header}\n{}\n{}",
            problems.join("\n"),
            report_dump(&report, &output)
        ))
    }
}

fn report_dump(report: &RunReport, output: &X07Output) -> String {
    format!(
        "  command: {}\n  report:\n{}\n  stderr:\n{}",
        output.command,
        report.pretty(),
        String::from_utf8_lossy(&output.stderr)
    )
}
