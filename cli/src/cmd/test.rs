//! `x07 test`: runs a tests manifest (x07-tester) and prints one line per test, or the
//! `x07.x07test@0.4.0` report with `--json`.

use std::path::PathBuf;

use clap::Args;
use x07_spec::test_report::{Status, TestReport};

use crate::error::{CliError, CliResult};

/// `x07 test`.
#[derive(Debug, Args)]
pub struct TestArgs {
    /// The tests manifest (default: tests/tests.json here or in a directory above).
    #[arg(long, value_name = "FILE")]
    pub manifest: Option<PathBuf>,
    /// A module root (repeatable); replaces the default roots (the project's and its locked packages', then the project and manifest directories; without a project the manifest directory and its package's module root).
    #[arg(long = "module-root", value_name = "DIR")]
    pub module_roots: Vec<PathBuf>,
    /// Run only the tests whose id contains this text.
    #[arg(long, value_name = "TEXT")]
    pub filter: Option<String>,
    /// With --filter: the id must equal the text.
    #[arg(long, requires = "filter")]
    pub exact: bool,
    /// Selecting no test is not an error.
    #[arg(long)]
    pub allow_empty: bool,
    /// Print `id<TAB>world<TAB>expect<TAB>entry` for each selected test and run nothing.
    #[arg(long)]
    pub list: bool,
    /// Keep running after a test misses its expectation (default: the rest are skipped).
    #[arg(long)]
    pub no_fail_fast: bool,
    /// Tests built and run at once (default: the machine's parallelism, at most 4).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=256))]
    pub jobs: Option<u32>,
    /// Run each test N times; a test whose runs end differently is an error (EDETERMINISM).
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub repeat: u32,
    /// Build every selected test and run none (compile failures still exit 11).
    #[arg(long)]
    pub no_run: bool,
    /// Print the x07.x07test@0.4.0 report instead of one line per test.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub cache: crate::args::CacheArgs,
}

/// Plans, runs and reports.
pub fn run(args: &TestArgs) -> CliResult {
    let opts = x07_tester::TestOptions {
        manifest: args.manifest.clone(),
        module_roots: args.module_roots.clone(),
        filter: args.filter.clone(),
        exact: args.exact,
        allow_empty: args.allow_empty,
        jobs: args.jobs.map(|n| n as usize),
        fail_fast: !args.no_fail_fast,
        repeat: args.repeat,
        no_run: args.no_run,
    };
    crate::compile::configure_substituters(&args.cache)?;
    let mut plan = x07_tester::plan(&opts).map_err(|e| {
        let code = match e {
            x07_tester::PlanError::Manifest(_) => "X07-TEST-0001",
            x07_tester::PlanError::Project(ref p) => p.code(),
            _ => "X07-TEST-0002",
        };
        let help = e.help();
        let err = CliError::setup(code, e.to_string());
        match help {
            Some(h) => err.help(h),
            None => err,
        }
    })?;
    if args.list {
        for c in &plan.cases {
            println!(
                "{}\t{}\t{}\t{}",
                c.id,
                c.world.as_str(),
                c.expect.as_str(),
                c.entry
            );
        }
        return Ok(0);
    }
    let home = crate::compile::home()?;
    let store = x07_builder::store::StoreRoot::new(&home);
    plan.substituter = crate::compile::substituter();
    let report = x07_tester::run_plan(&plan, &home, &store, env!("CARGO_PKG_VERSION"));
    if args.json {
        let bytes = x07_spec::canonical_file_bytes(&report)
            .map_err(|e| CliError::setup("X07-CLI-0001", e.to_string()))?;
        print!("{}", String::from_utf8_lossy(&bytes));
    } else {
        print_for_people(&report);
    }
    Ok(u8::try_from(x07_tester::exit_code(&report)).unwrap_or(12))
}

/// A test's status as printed, coloured when `colour` (green ok, red failures, yellow skips).
fn status_word(status: Status, colour: bool) -> String {
    use crate::output::{tint, Tone};
    let (word, tone) = match status {
        Status::Pass => ("ok", Tone::Good),
        Status::Fail => ("FAILED", Tone::Bad),
        Status::Skip => ("skipped", Tone::Neutral),
        Status::Error => ("ERROR", Tone::Bad),
        Status::XfailPass => ("FAILED (expected to fail, passed)", Tone::Bad),
        Status::XfailFail => ("ok (expected failure)", Tone::Good),
    };
    tint(word, tone, colour)
}

fn print_for_people(report: &TestReport) {
    let colour = crate::output::stdout_colour();
    for t in &report.tests {
        let word = status_word(t.status, colour);
        let code = t
            .run
            .as_ref()
            .and_then(|r| r.failure_code_u32)
            .map(|c| format!(", code {c}"))
            .unwrap_or_default();
        println!("test {} ... {word} ({} ms{code})", t.id, t.duration_ms);
        if matches!(t.status, Status::Error | Status::Fail | Status::XfailPass) {
            for d in &t.diags {
                println!("    {}: {}", d.code, d.message);
            }
            for d in t.compile.iter().flat_map(|c| &c.compiler_diags) {
                println!("    {}", d.message.trim_end().replace('\n', "\n    "));
            }
        }
    }
    let s = &report.summary;
    println!(
        "\ntest result: {} passed; {} failed; {} errors; {} skipped; {} expected failures; {} ms",
        s.passed,
        s.failed + s.xfail_passed,
        s.errors,
        s.skipped,
        s.xfail_failed,
        s.duration_ms
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_words_are_coloured_only_when_asked() {
        assert_eq!(status_word(Status::Pass, false), "ok");
        assert_eq!(status_word(Status::Pass, true), "\u{1b}[32mok\u{1b}[0m");
        assert_eq!(
            status_word(Status::Error, true),
            "\u{1b}[1;31mERROR\u{1b}[0m"
        );
        assert_eq!(
            status_word(Status::Skip, true),
            "\u{1b}[33mskipped\u{1b}[0m"
        );
    }
}
