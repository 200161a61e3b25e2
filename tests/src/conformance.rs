//! The conformance case format (`tests/conformance/<group>/<name>.json`, described in
//! `tests/conformance/README.md`): loading, validation and discovery.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::Value;

use crate::report::Diagnostic;
use crate::workdir::{InvalidModuleId, ModuleId};

/// One validated case file.
#[derive(Debug, Clone)]
pub struct CaseFile {
    /// One line: what this file checks.
    pub about: String,
    /// Where the example comes from, e.g. `language-core §6 item 4`.
    pub source: Option<String>,
    /// The x07AST entry file (written as `main.x07.json`).
    pub entry: Value,
    /// Module files, written at their id path beside the entry.
    pub modules: Vec<(ModuleId, Value)>,
    /// Passed as `--solve-fuel` when set.
    pub solve_fuel: Option<u64>,
    /// Whether successful runs must free everything they allocate (`solve.mem_stats`); default true.
    pub leak_free: bool,
    /// Directories (relative to the program dir, which is the working dir) created before the runs.
    pub setup_dirs: Vec<String>,
    /// What must happen.
    pub expectation: FileExpectation,
}

/// What a case file expects: runs with inputs, or a compile error.
#[derive(Debug, Clone)]
pub enum FileExpectation {
    /// The program compiles and each case runs with its input.
    Runs(Vec<RunCase>),
    /// The program does not compile; this diagnostic must be reported.
    CompileError(ExpectedDiagnostic),
}

/// One input and what running the program on it must give.
#[derive(Debug, Clone)]
pub struct RunCase {
    /// The input bytes.
    pub input: Vec<u8>,
    /// Output, trap, or no output frame.
    pub outcome: Outcome,
    /// The program's own exit status (`solve.exit_status`), when the case sets one; otherwise 0
    /// for [`Outcome::Output`] and unchecked for the others.
    pub exit_code: Option<i64>,
    /// Files (relative path → exact content) that must exist after the run.
    pub expect_files: Vec<(String, Vec<u8>)>,
}

/// The result of one run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Success with exactly these output bytes.
    Output(Vec<u8>),
    /// A trap with exactly this text (`solve.trap`).
    Trap(String),
    /// A trap whose text starts with this.
    TrapPrefix(String),
    /// The program ends without writing an output frame (e.g. `os.process.exit`).
    NoOutput,
}

/// A diagnostic a compile-error case expects.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExpectedDiagnostic {
    /// The code, e.g. `X07-OWN-0001`.
    pub code: String,
    /// JSON pointer of the node, when the convention clearly applies.
    #[serde(default)]
    pub ptr: Option<String>,
    /// The file, relative to the program dir (`main.x07.json`, `lib/util.x07.json`).
    #[serde(default)]
    pub file: Option<String>,
}

impl ExpectedDiagnostic {
    /// Whether `actual` has this code, and this ptr and file when they are given. A reported
    /// file matches when it equals the expected path or ends with `/<expected path>`.
    pub fn matches(&self, actual: &Diagnostic) -> bool {
        let ptr_ok = self
            .ptr
            .as_ref()
            .is_none_or(|p| actual.ptr.as_deref() == Some(p.as_str()));
        let file_ok = self.file.as_ref().is_none_or(|want| {
            actual.file.as_deref().is_some_and(|got| {
                let got = got.replace('\\', "/");
                got == *want || got.ends_with(&format!("/{want}"))
            })
        });
        actual.code == self.code && ptr_ok && file_ok
    }
}

/// A case file that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum CaseFileError {
    /// The file cannot be read.
    #[error("cannot read case file: {0}")]
    Read(#[from] std::io::Error),
    /// Not valid JSON or unknown/mistyped fields.
    #[error("{path}: not a valid case file ({source}); see tests/conformance/README.md")]
    Format {
        path: PathBuf,
        source: serde_json::Error,
    },
    /// Valid JSON, but the fields contradict each other or hold bad values.
    #[error("{path}: {problem}; see tests/conformance/README.md")]
    Invalid { path: PathBuf, problem: String },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CaseFileJson {
    about: String,
    #[serde(default)]
    source: Option<String>,
    entry: Value,
    #[serde(default)]
    modules: BTreeMap<String, Value>,
    #[serde(default)]
    solve_fuel: Option<u64>,
    #[serde(default)]
    leak_free: Option<bool>,
    #[serde(default)]
    setup_dirs: Vec<String>,
    #[serde(default)]
    cases: Option<Vec<RunCaseJson>>,
    #[serde(default)]
    compile_error: Option<ExpectedDiagnostic>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RunCaseJson {
    #[serde(default)]
    input: Option<String>,
    #[serde(default)]
    input_hex: Option<String>,
    #[serde(default)]
    output: Option<String>,
    #[serde(default)]
    output_hex: Option<String>,
    #[serde(default)]
    trap: Option<String>,
    #[serde(default)]
    trap_prefix: Option<String>,
    #[serde(default)]
    no_output: bool,
    #[serde(default)]
    exit_code: Option<i64>,
    #[serde(default)]
    expect_files: BTreeMap<String, String>,
}

impl CaseFile {
    /// Reads and validates a case file.
    pub fn load(path: &Path) -> Result<Self, CaseFileError> {
        let text = fs_err::read_to_string(path)?;
        Self::parse(path, &text)
    }

    /// Validates the text of a case file; `path` is only used in messages.
    pub fn parse(path: &Path, text: &str) -> Result<Self, CaseFileError> {
        let json: CaseFileJson =
            serde_json::from_str(text).map_err(|source| CaseFileError::Format {
                path: path.to_owned(),
                source,
            })?;
        let invalid = |problem: String| CaseFileError::Invalid {
            path: path.to_owned(),
            problem,
        };
        if !json.entry.is_object() {
            return Err(invalid(
                "`entry` must be a JSON object (an x07AST entry file)".into(),
            ));
        }
        let mut modules = Vec::new();
        for (id, module) in json.modules {
            let id = ModuleId::parse(&id).map_err(|InvalidModuleId(id)| {
                invalid(format!(
                    "`modules` key {id:?} is not a module id (dot-separated identifiers)"
                ))
            })?;
            if !module.is_object() {
                return Err(invalid(format!(
                    "`modules.{id}` must be a JSON object (an x07AST module file)"
                )));
            }
            modules.push((id, module));
        }
        let expectation = match (json.cases, json.compile_error) {
            (Some(cases), None) if !cases.is_empty() => FileExpectation::Runs(
                cases
                    .into_iter()
                    .enumerate()
                    .map(|(i, case)| {
                        case.validate()
                            .map_err(|p| invalid(format!("cases[{i}]: {p}")))
                    })
                    .collect::<Result<_, _>>()?,
            ),
            (None, Some(diag)) => FileExpectation::CompileError(diag),
            _ => {
                return Err(invalid(
                    "give either a non-empty `cases` list or `compile_error`, not both".into(),
                ))
            }
        };
        Ok(Self {
            about: json.about,
            source: json.source,
            entry: json.entry,
            modules,
            solve_fuel: json.solve_fuel,
            leak_free: json.leak_free.unwrap_or(true),
            setup_dirs: json.setup_dirs,
            expectation,
        })
    }
}

impl RunCaseJson {
    fn validate(self) -> Result<RunCase, String> {
        let input = match (self.input, self.input_hex) {
            (Some(text), None) => text.into_bytes(),
            (None, Some(hex)) => decode_hex("input_hex", &hex)?,
            (None, None) => Vec::new(),
            (Some(_), Some(_)) => return Err("give `input` or `input_hex`, not both".into()),
        };
        let given = [
            self.output.is_some(),
            self.output_hex.is_some(),
            self.trap.is_some(),
            self.trap_prefix.is_some(),
            self.no_output,
        ];
        if given.iter().filter(|g| **g).count() != 1 {
            return Err(
                "give exactly one of `output`, `output_hex`, `trap`, `trap_prefix`, `no_output`"
                    .into(),
            );
        }
        let outcome = if let Some(text) = self.output {
            Outcome::Output(text.into_bytes())
        } else if let Some(hex) = self.output_hex {
            Outcome::Output(decode_hex("output_hex", &hex)?)
        } else if let Some(trap) = self.trap {
            Outcome::Trap(trap)
        } else if let Some(prefix) = self.trap_prefix {
            Outcome::TrapPrefix(prefix)
        } else {
            Outcome::NoOutput
        };
        let expect_files = self
            .expect_files
            .into_iter()
            .map(|(p, text)| (p, text.into_bytes()))
            .collect();
        Ok(RunCase {
            input,
            outcome,
            exit_code: self.exit_code,
            expect_files,
        })
    }
}

fn decode_hex(field: &str, hex_text: &str) -> Result<Vec<u8>, String> {
    if hex_text.chars().any(|c| c.is_ascii_uppercase()) {
        return Err(format!("`{field}` must be lowercase hex"));
    }
    hex::decode(hex_text).map_err(|e| format!("`{field}` is not hex: {e}"))
}

/// A case file found on disk, named `<group>/<file stem>`.
#[derive(Debug, Clone)]
pub struct CaseFileRef {
    /// `<group>/<name>`, the trial name.
    pub name: String,
    /// The file.
    pub path: PathBuf,
}

/// All `<root>/<group>/<name>.json` files, sorted by name.
pub fn discover(root: &Path) -> std::io::Result<Vec<CaseFileRef>> {
    let mut found = Vec::new();
    for group in fs_err::read_dir(root)? {
        let group = group?;
        if !group.file_type()?.is_dir() {
            continue;
        }
        let group_name = group.file_name().to_string_lossy().into_owned();
        for file in fs_err::read_dir(group.path())? {
            let path = file?.path();
            if path.extension().is_some_and(|e| e == "json") {
                let stem = path
                    .file_stem()
                    .unwrap_or_default()
                    .to_string_lossy()
                    .into_owned();
                found.push(CaseFileRef {
                    name: format!("{group_name}/{stem}"),
                    path,
                });
            }
        }
    }
    found.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<CaseFile, CaseFileError> {
        CaseFile::parse(Path::new("t.json"), text)
    }

    #[test]
    fn reads_run_cases_in_text_and_hex() {
        let file = parse(
            r#"{"about":"a","entry":{},"modules":{"lib.util":{}},"solve_fuel":9,
                "cases":[{"input":"ab","output":"ba"},{"input_hex":"00ff","output_hex":"ff00"},
                         {"trap":"view.get_u8 oob ptr=/solve"},{"input":"x","trap_prefix":"fuel exhausted"},
                         {"no_output":true,"exit_code":7},{"output":"","exit_code":3}]}"#,
        )
        .unwrap();
        assert_eq!(
            file.modules[0].0.relative_path(),
            Path::new("lib/util.x07.json")
        );
        assert_eq!(file.solve_fuel, Some(9));
        let FileExpectation::Runs(cases) = file.expectation else {
            panic!("expected runs")
        };
        assert_eq!(cases[0].input, b"ab");
        assert_eq!(cases[1].input, [0, 255]);
        assert_eq!(cases[1].outcome, Outcome::Output(vec![255, 0]));
        assert_eq!(cases[2].input, b"");
        assert_eq!(
            cases[3].outcome,
            Outcome::TrapPrefix("fuel exhausted".into())
        );
        assert_eq!(cases[4].outcome, Outcome::NoOutput);
        assert_eq!(cases[4].exit_code, Some(7));
        assert_eq!(cases[5].exit_code, Some(3));
        assert!(!file.leak_free || cases[0].exit_code.is_none());
    }

    #[test]
    fn rejects_contradictions_and_typos() {
        assert!(parse(r#"{"about":"a","entry":{},"cases":[]}"#).is_err());
        assert!(parse(r#"{"about":"a","entry":{},"cases":[{"output":"x","trap":"y"}]}"#).is_err());
        assert!(parse(r#"{"about":"a","entry":{},"cases":[{"ouput":"x"}]}"#).is_err());
        assert!(parse(r#"{"about":"a","entry":{},"cases":[{"output_hex":"FF"}]}"#).is_err());
        assert!(
            parse(r#"{"about":"a","entry":{},"cases":[{"no_output":true,"trap":"t"}]}"#).is_err()
        );
        assert!(parse(r#"{"about":"a","entry":{},"cases":[{"no_output":false}]}"#).is_err());
        assert!(
            parse(r#"{"about":"a","entry":{},"modules":{"1x":{}},"cases":[{"output":""}]}"#)
                .is_err()
        );
        assert!(parse(
            r#"{"about":"a","entry":{},"cases":[{"output":""}],"compile_error":{"code":"X07-OWN-0001"}}"#
        )
        .is_err());
    }

    #[test]
    fn diagnostic_matching_checks_code_ptr_and_file_suffix() {
        let want = ExpectedDiagnostic {
            code: "X07-OWN-0001".into(),
            ptr: Some("/solve/3/1".into()),
            file: Some("main.x07.json".into()),
        };
        let got = |code: &str, ptr: &str, file: &str| Diagnostic {
            code: code.into(),
            message: None,
            file: Some(file.into()),
            ptr: Some(ptr.into()),
        };
        assert!(want.matches(&got("X07-OWN-0001", "/solve/3/1", "/tmp/x/main.x07.json")));
        assert!(want.matches(&got("X07-OWN-0001", "/solve/3/1", "main.x07.json")));
        assert!(!want.matches(&got(
            "X07-OWN-0001",
            "/solve/3/1",
            "/tmp/x/notmain.x07.json"
        )));
        assert!(!want.matches(&got("X07-OWN-0001", "/solve/3", "main.x07.json")));
        assert!(!want.matches(&got("X07-OWN-0002", "/solve/3/1", "main.x07.json")));
    }
}
