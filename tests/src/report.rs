//! The JSON report `x07 run` prints on stdout (`x07-os-runner.report@0.5.0`), read leniently:
//! only the fields tests look at are typed, the whole document is kept for failure messages.

use base64::Engine as _;
use serde::Deserialize;
use serde_json::Value;

/// A parsed run report plus the raw JSON it came from.
#[derive(Debug, Clone)]
pub struct RunReport {
    /// The report as printed.
    pub raw: Value,
    /// The typed fields.
    pub fields: ReportFields,
}

/// The report fields tests check.
#[derive(Debug, Clone, Deserialize)]
pub struct ReportFields {
    /// `x07-os-runner.report@0.5.0`.
    #[serde(default)]
    pub schema_version: Option<String>,
    /// `compile-run`, `project-compile-run` or `run-os`.
    #[serde(default)]
    pub mode: Option<String>,
    /// The exit code x07 reports for the run.
    #[serde(default)]
    pub exit_code: Option<i64>,
    /// The compile step (absent in `run-os` mode).
    #[serde(default)]
    pub compile: Option<CompileSection>,
    /// The solve step (null when compilation failed).
    #[serde(default)]
    pub solve: Option<SolveSection>,
}

/// `compile` of a report.
#[derive(Debug, Clone, Deserialize)]
pub struct CompileSection {
    /// Whether the program compiled.
    pub ok: bool,
    /// Structured compile diagnostics.
    #[serde(default)]
    pub diagnostics: Vec<Diagnostic>,
    /// Free-text compile error.
    #[serde(default)]
    pub compile_error: Option<String>,
}

/// One compile diagnostic (`docs/diagnostics.md`).
#[derive(Debug, Clone, Deserialize)]
pub struct Diagnostic {
    /// Stable code such as `X07-OWN-0001`.
    pub code: String,
    /// The message.
    #[serde(default)]
    pub message: Option<String>,
    /// The x07AST file the diagnostic is about.
    #[serde(default)]
    pub file: Option<String>,
    /// JSON pointer of the offending node inside `file`.
    #[serde(default)]
    pub ptr: Option<String>,
}

/// `solve` of a report.
#[derive(Debug, Clone, Deserialize)]
pub struct SolveSection {
    /// Whether the program ran to completion and produced an output frame.
    pub ok: bool,
    /// The output bytes, base64.
    #[serde(default)]
    pub solve_output_b64: Option<String>,
    /// Everything the program wrote on stdout (the output frame), base64.
    #[serde(default)]
    pub stdout_b64: Option<String>,
    /// The program's exit status (128 + signal when killed).
    #[serde(default)]
    pub exit_status: Option<i64>,
    /// The trap text (`msg ptr=/json/pointer`) when the program trapped.
    #[serde(default)]
    pub trap: Option<String>,
    /// Fuel the program used.
    #[serde(default)]
    pub fuel_used: Option<u64>,
    /// Allocator counters of the run.
    #[serde(default)]
    pub mem_stats: Option<MemStats>,
}

/// `solve.mem_stats`: the allocator counters (only the fields tests check).
#[derive(Debug, Clone, Deserialize)]
pub struct MemStats {
    /// Bytes still allocated when the program finished.
    pub live_bytes: u64,
    /// Allocations still live when the program finished.
    pub live_allocs: u64,
}

/// Stdout of x07 is not a usable report.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// Not JSON at all.
    #[error("stdout is not a JSON document: {0}")]
    NotJson(serde_json::Error),
    /// JSON, but required report fields are missing or have the wrong type.
    #[error("stdout is JSON but not a run report (compile/solve fields): {0}")]
    WrongShape(serde_json::Error),
    /// `solve.solve_output_b64` or `solve.stdout_b64` is not valid base64.
    #[error("solve.solve_output_b64 or solve.stdout_b64 is not valid base64: {0}")]
    BadBase64(base64::DecodeError),
}

impl RunReport {
    /// Parses a report from the bytes x07 printed on stdout.
    pub fn parse(stdout: &[u8]) -> Result<Self, ReportError> {
        let raw: Value = serde_json::from_slice(stdout).map_err(ReportError::NotJson)?;
        let fields = ReportFields::deserialize(&raw).map_err(ReportError::WrongShape)?;
        Ok(Self { raw, fields })
    }

    /// The decoded solve output, or `None` when there is no solve section or output.
    pub fn solve_output(&self) -> Result<Option<Vec<u8>>, ReportError> {
        match self
            .fields
            .solve
            .as_ref()
            .and_then(|s| s.solve_output_b64.as_deref())
        {
            None => Ok(None),
            Some(b64) => base64::engine::general_purpose::STANDARD
                .decode(b64)
                .map(Some)
                .map_err(ReportError::BadBase64),
        }
    }

    /// The program's raw stdout (`solve.stdout_b64`), or `None` when the report has none.
    pub fn solve_stdout(&self) -> Result<Option<Vec<u8>>, ReportError> {
        match self
            .fields
            .solve
            .as_ref()
            .and_then(|s| s.stdout_b64.as_deref())
        {
            None => Ok(None),
            Some(b64) => base64::engine::general_purpose::STANDARD
                .decode(b64)
                .map(Some)
                .map_err(ReportError::BadBase64),
        }
    }

    /// The diagnostics of the compile step (empty when there is none).
    pub fn diagnostics(&self) -> &[Diagnostic] {
        self.fields
            .compile
            .as_ref()
            .map(|c| c.diagnostics.as_slice())
            .unwrap_or(&[])
    }

    /// The whole report, pretty-printed.
    pub fn pretty(&self) -> String {
        serde_json::to_string_pretty(&self.raw).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_compile_run_report() {
        let report = RunReport::parse(
            br#"{"schema_version":"x07-os-runner.report@0.5.0","mode":"compile-run","exit_code":0,
                "compile":{"ok":true,"diagnostics":[],"compile_error":null},
                "solve":{"ok":true,"solve_output_b64":"aGVsbG8=","trap":null,"fuel_used":1}}"#,
        )
        .unwrap();
        assert_eq!(report.solve_output().unwrap().unwrap(), b"hello");
        assert!(report.fields.compile.unwrap().ok);
    }

    #[test]
    fn reads_diagnostics_and_a_null_solve() {
        let report = RunReport::parse(
            br#"{"exit_code":1,"compile":{"ok":false,"compile_error":"x",
                "diagnostics":[{"code":"X07-OWN-0001","file":"main.x07.json","ptr":"/solve/3/1","severity":"error"}]},
                "solve":null}"#,
        )
        .unwrap();
        assert_eq!(report.diagnostics()[0].code, "X07-OWN-0001");
        assert!(report.fields.solve.is_none());
        assert_eq!(report.solve_output().unwrap(), None);
    }

    #[test]
    fn rejects_non_reports() {
        assert!(matches!(
            RunReport::parse(b"nope"),
            Err(ReportError::NotJson(_))
        ));
        assert!(matches!(
            RunReport::parse(br#"{"compile":{"ok":"yes"}}"#),
            Err(ReportError::WrongShape(_))
        ));
    }
}
