//! What one sandboxed run reported, read the same way whether it came from `x07 run` (the JSON
//! report on stdout) or from the runner library (the kernel-only variant): the solve fields, the
//! denial records (`solve.policy_denials`) and the start-up summary (`sandbox`).

use std::time::Duration;

use base64::Engine as _;
use serde_json::Value;
use x07_tests::{describe_bytes, X07Output};

/// One denial record of `solve.policy_denials`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Denial {
    /// The builtin, e.g. `os.fs.read_file`.
    pub op: String,
    /// What it was applied to.
    pub target: String,
    /// The policy rule, e.g. `fs.read_roots`.
    pub rule: String,
}

/// A sandboxed run as the tests see it.
#[derive(Debug, Clone)]
pub struct RunView {
    /// Whether the program ran to completion with an output frame (`solve.ok`).
    pub ok: bool,
    /// The decoded output bytes (`solve.solve_output_b64`).
    pub output: Vec<u8>,
    /// Everything the program wrote on stdout.
    pub stdout: Vec<u8>,
    /// Everything the program wrote on stderr (denial and sandbox lines included).
    pub stderr: Vec<u8>,
    /// `solve.trap`.
    pub trap: Option<String>,
    /// `solve.policy_denials`; `None` when the report has no such field.
    pub denials: Option<Vec<Denial>>,
    /// The report's `sandbox` object; `None` when absent.
    pub sandbox: Option<Value>,
    /// How long the run took (the `x07 run` command, or the launch), when measured.
    pub elapsed: Option<Duration>,
    /// The whole report (or launch result) pretty-printed, with the command, for messages.
    pub context: String,
}

/// A report that cannot be read as a sandboxed run.
#[derive(Debug, thiserror::Error)]
#[error("{problem}\n{context}")]
pub struct RunViewError {
    problem: String,
    context: String,
}

fn b64(v: &Value, field: &str) -> Result<Vec<u8>, String> {
    match v.get(field) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::String(s)) => base64::engine::general_purpose::STANDARD
            .decode(s)
            .map_err(|e| format!("solve.{field} is not base64: {e}")),
        Some(other) => Err(format!("solve.{field} is not a string: {other}")),
    }
}

fn denials(solve: &Value) -> Result<Option<Vec<Denial>>, String> {
    let Some(list) = solve.get("policy_denials") else {
        return Ok(None);
    };
    let Some(items) = list.as_array() else {
        return Err(format!("solve.policy_denials is not a list: {list}"));
    };
    let text = |d: &Value, k: &str| {
        d.get(k)
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| format!("a policy denial lacks the string `{k}`: {d}"))
    };
    items
        .iter()
        .map(|d| {
            Ok(Denial {
                op: text(d, "op")?,
                target: text(d, "target")?,
                rule: text(d, "rule")?,
            })
        })
        .collect::<Result<_, String>>()
        .map(Some)
}

impl RunView {
    /// Reads a report: `solve` holds the run, `sandbox` sits beside it (compile-run reports).
    pub fn from_report(report: &Value, context: String) -> Result<Self, RunViewError> {
        let fail = |problem: String| RunViewError {
            problem,
            context: context.clone(),
        };
        let solve = report
            .get("solve")
            .filter(|s| s.is_object())
            .ok_or_else(|| fail("the report has no solve section (did the build fail?)".into()))?;
        Ok(Self {
            ok: solve.get("ok").and_then(Value::as_bool).unwrap_or(false),
            output: b64(solve, "solve_output_b64").map_err(fail)?,
            stdout: b64(solve, "stdout_b64").map_err(fail)?,
            stderr: b64(solve, "stderr_b64").map_err(fail)?,
            trap: solve.get("trap").and_then(Value::as_str).map(str::to_owned),
            denials: denials(solve).map_err(fail)?,
            sandbox: report.get("sandbox").filter(|s| !s.is_null()).cloned(),
            elapsed: None,
            context,
        })
    }

    /// Reads the report `x07 run` printed.
    pub fn from_cli(out: &X07Output) -> Result<Self, RunViewError> {
        let report: Value = serde_json::from_slice(&out.stdout).map_err(|e| RunViewError {
            problem: format!("x07 run did not print a JSON report: {e}"),
            context: out.describe(),
        })?;
        let context = format!(
            "{}\nreport: {}",
            out.describe(),
            serde_json::to_string_pretty(&report).unwrap_or_default()
        );
        Self::from_report(&report, context)
    }

    /// Reads a sealed bundle's run: its stdout is the program's output, its stderr carries the
    /// payload's denial lines and, when it was stopped, a trap or "timed out" line. A bundle
    /// prints no start-up summary.
    pub fn from_bundle(out: &X07Output, elapsed: Duration) -> Self {
        let denials = x07_runner::stderr_lines::find_denials(&out.stderr)
            .into_iter()
            .map(|d| Denial {
                op: d.op,
                target: d.target,
                rule: d.rule,
            })
            .collect();
        Self {
            ok: out.exit_code == Some(0),
            output: out.stdout.clone(),
            stdout: out.stdout.clone(),
            stderr: out.stderr.clone(),
            trap: x07_runner::stderr_lines::find_trap_line(&out.stderr),
            denials: Some(denials),
            sandbox: None,
            elapsed: Some(elapsed),
            context: out.describe(),
        }
    }

    /// The restrictions the start-up line listed (empty without a sandbox summary).
    pub fn restrictions(&self) -> Vec<String> {
        self.sandbox_strings("restrictions")
    }

    /// A list of strings inside the sandbox summary.
    pub fn sandbox_strings(&self, field: &str) -> Vec<String> {
        self.sandbox
            .as_ref()
            .and_then(|s| s.get(field))
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The output, stdout and stderr of the program as text, for failure messages.
    pub fn describe(&self) -> String {
        format!(
            "solve.ok: {}\ntook: {:?}\ntrap: {:?}\noutput: {}\nprogram stderr:\n{}\npolicy_denials: {:?}\nsandbox: {}\n--- context ---\n{}",
            self.ok,
            self.elapsed,
            self.trap,
            describe_bytes(&self.output),
            String::from_utf8_lossy(&self.stderr),
            self.denials,
            self.sandbox
                .as_ref()
                .map(|s| s.to_string())
                .unwrap_or_else(|| "(none)".into()),
            self.context
        )
    }
}
