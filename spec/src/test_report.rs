//! The report of `x07 test` (`x07.x07test@0.4.0`, the public shape; fields it does not use are
//! left out).

use serde::Serialize;

/// The report's schema version.
pub const TEST_REPORT_SCHEMA: &str = "x07.x07test@0.4.0";

/// The whole report.
#[derive(Debug, Clone, Serialize)]
pub struct TestReport {
    /// [`TEST_REPORT_SCHEMA`].
    pub schema_version: &'static str,
    /// Which x07 made it.
    pub tool: Tool,
    /// How it was invoked.
    pub invocation: Invocation,
    /// Counts.
    pub summary: Summary,
    /// One entry per test, in id order.
    pub tests: Vec<TestResult>,
    /// Problems with the manifest itself (no test ran).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub diags: Vec<TestDiag>,
}

/// The tool.
#[derive(Debug, Clone, Serialize)]
pub struct Tool {
    /// `x07`.
    pub name: &'static str,
    /// Its version.
    pub version: &'static str,
}

/// The invocation.
#[derive(Debug, Clone, Serialize)]
pub struct Invocation {
    /// The manifest.
    pub manifest_path: String,
    /// Module roots, in search order.
    pub module_root: Vec<String>,
    /// Worker threads.
    pub jobs: usize,
    /// Runs per test (`--repeat`).
    pub repeat: u32,
}

/// Counts over all tests.
#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq, Eq)]
pub struct Summary {
    /// Status pass.
    pub passed: u32,
    /// Status fail.
    pub failed: u32,
    /// Status skip.
    pub skipped: u32,
    /// Status error.
    pub errors: u32,
    /// Expected to fail, and passed.
    pub xfail_passed: u32,
    /// Expected to fail, and failed.
    pub xfail_failed: u32,
    /// Whole run, milliseconds.
    pub duration_ms: u64,
    /// Tests whose program did not compile.
    pub compile_failures: u32,
    /// Tests whose program trapped or exited wrongly.
    pub run_failures: u32,
}

/// A test's outcome.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Passed as expected of a pass test.
    Pass,
    /// Failed (a pass test).
    Fail,
    /// Not run.
    Skip,
    /// Did not compile, trapped, or printed no valid status.
    Error,
    /// Expected to fail, and passed.
    XfailPass,
    /// Expected to fail, and failed.
    XfailFail,
}

/// One test.
#[derive(Debug, Clone, Serialize)]
pub struct TestResult {
    /// Its id.
    pub id: String,
    /// Its world.
    pub world: String,
    /// `pass`, `fail` or `skip`.
    pub expect: &'static str,
    /// What happened.
    pub status: Status,
    /// Build and run, milliseconds.
    pub duration_ms: u64,
    /// Always `defn`.
    pub entry_kind: &'static str,
    /// `<module>.<fn>`.
    pub entry: String,
    /// The build.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub compile: Option<CompileResult>,
    /// The run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub run: Option<RunResult>,
    /// Why it is an error or skipped.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub diags: Vec<TestDiag>,
}

/// A build.
#[derive(Debug, Clone, Serialize)]
pub struct CompileResult {
    /// Whether it built.
    pub ok: bool,
    /// The compiler's diagnostics.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub compiler_diags: Vec<TestDiag>,
    /// The stored executable.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub artifact_path: Option<String>,
}

/// A run.
#[derive(Debug, Clone, Serialize)]
pub struct RunResult {
    /// Whether it ended with a valid status.
    pub ok: bool,
    /// The process's exit code.
    pub exit_code: i32,
    /// Fuel used, when the runtime reported it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fuel_used: Option<u64>,
    /// The status bytes, base64.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub solve_output_b64: Option<String>,
    /// The status's failure code (a fail).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure_code_u32: Option<u32>,
    /// The trap line, when it trapped.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trap: Option<String>,
}

/// A diagnostic: a code and a message (`ETEST_COMPILE`, `X07T_RUN_TRAP`, `EBAD_STATUS`, ...).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct TestDiag {
    /// The code.
    pub code: String,
    /// What happened.
    pub message: String,
    /// Where, when it is about a file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
}
