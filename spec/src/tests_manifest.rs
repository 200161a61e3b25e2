//! A package's test list, `tests/tests.json` (`x07.tests_manifest@0.1.0` / `@0.2.0`), checked
//! into [`TestCase`]s: ids unique and printable, a known world, an entry `<module>.<fn>`, the
//! expectation and the input. Unknown fields are ignored, as the public toolchain does.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::world::World;

/// The manifest versions read.
pub const TESTS_MANIFEST_SCHEMAS: [&str; 2] =
    ["x07.tests_manifest@0.1.0", "x07.tests_manifest@0.2.0"];

/// Default fuel of a test run (the public toolchain's).
pub const DEFAULT_TEST_FUEL: u64 = 400_000_000;

/// Default time limit of a test run.
pub const DEFAULT_TEST_TIMEOUT_MS: u64 = 5_000;

/// What a test is expected to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    /// Its status is pass.
    Pass,
    /// Its status is fail (an xfail).
    Fail,
    /// Not run at all.
    Skip,
}

impl Expect {
    /// The manifest's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Expect::Pass => "pass",
            Expect::Fail => "fail",
            Expect::Skip => "skip",
        }
    }
}

/// What the entry function returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Returns {
    /// `result_i32`: ok is pass, err(code) is fail with that code.
    ResultI32,
    /// The status bytes themselves (`std.test.status_*`).
    BytesStatusV1,
}

/// One checked test.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestCase {
    /// Unique id (printable ASCII).
    pub id: String,
    /// The world it is built for.
    pub world: World,
    /// The entry function's module.
    pub module: String,
    /// The entry function's full name (`<module>.<fn>`).
    pub entry: String,
    /// Expected outcome.
    pub expect: Expect,
    /// Return convention.
    pub returns: Returns,
    /// The input bytes.
    pub input: Vec<u8>,
    /// Time limit.
    pub timeout_ms: u64,
    /// Fuel.
    pub solve_fuel: u64,
    /// The policy of a run-os-sandboxed test, resolved against the manifest directory.
    pub policy: Option<PathBuf>,
    /// The fixture directory of a solve-fs test, resolved against the manifest directory.
    pub fixture_root: Option<PathBuf>,
}

/// A problem with the manifest or one of its tests.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}: {pointer}: {message}")]
pub struct ManifestProblem {
    /// The manifest file.
    pub file: String,
    /// JSON pointer of the field (`/tests/3/world`).
    pub pointer: String,
    /// What is wrong and what to write instead.
    pub message: String,
}

#[derive(Deserialize)]
struct RawManifest {
    schema_version: String,
    tests: Vec<serde_json::Value>,
}

#[derive(Deserialize)]
struct RawTest {
    id: Option<String>,
    world: Option<String>,
    entry: Option<String>,
    expect: Option<String>,
    returns: Option<String>,
    input_b64: Option<String>,
    input_path: Option<String>,
    fixture_root: Option<String>,
    policy_json: Option<String>,
    timeout_ms: Option<u64>,
    solve_fuel: Option<u64>,
}

/// Parses and checks the manifest at `path` (its bytes `bytes`); input files are read relative
/// to its directory. Every problem is reported, not only the first.
pub fn parse_manifest(path: &Path, bytes: &[u8]) -> Result<Vec<TestCase>, Vec<ManifestProblem>> {
    let file = path.display().to_string();
    let problem = |pointer: String, message: String| ManifestProblem {
        file: file.clone(),
        pointer,
        message,
    };
    let raw: RawManifest = serde_json::from_slice(bytes).map_err(|e| {
        vec![problem(
            String::new(),
            format!("not a tests manifest ({e}); expected {{\"schema_version\": \"x07.tests_manifest@0.1.0\", \"tests\": [...]}}"),
        )]
    })?;
    if !TESTS_MANIFEST_SCHEMAS.contains(&raw.schema_version.as_str()) {
        return Err(vec![problem(
            "/schema_version".into(),
            format!(
                "`{}` is not a tests manifest version this x07 reads ({})",
                raw.schema_version,
                TESTS_MANIFEST_SCHEMAS.join(", ")
            ),
        )]);
    }
    let v2 = raw.schema_version.ends_with("@0.2.0");
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut problems = Vec::new();
    let mut cases: Vec<TestCase> = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    for (i, value) in raw.tests.into_iter().enumerate() {
        let at = |field: &str| format!("/tests/{i}/{field}");
        let t: RawTest = match serde_json::from_value(value) {
            Ok(t) => t,
            Err(e) => {
                problems.push(problem(format!("/tests/{i}"), e.to_string()));
                continue;
            }
        };
        let before = problems.len();
        let id = t.id.unwrap_or_default();
        if id.is_empty() || !id.bytes().all(|b| (0x21..0x7f).contains(&b)) {
            problems.push(problem(
                at("id"),
                "a non-empty id of printable ASCII without spaces is required".into(),
            ));
        } else if !seen.insert(id.clone()) {
            problems.push(problem(at("id"), format!("`{id}` is used by another test")));
        }
        let world = match t.world.as_deref().map(str::parse::<World>) {
            Some(Ok(w)) => Some(w),
            Some(Err(e)) => {
                problems.push(problem(at("world"), e.to_string()));
                None
            }
            None => {
                problems.push(problem(at("world"), "required".into()));
                None
            }
        };
        let entry = t.entry.unwrap_or_default();
        let module = match entry.rsplit_once('.') {
            Some((m, f)) if !m.is_empty() && !f.is_empty() => m.to_string(),
            _ => {
                problems.push(problem(
                    at("entry"),
                    format!("`{entry}` is not `<module>.<function>`"),
                ));
                String::new()
            }
        };
        let expect = match t.expect.as_deref() {
            None | Some("pass") => Expect::Pass,
            Some("fail") => Expect::Fail,
            Some("skip") => Expect::Skip,
            Some(other) => {
                problems.push(problem(
                    at("expect"),
                    format!("`{other}`: expected pass, fail or skip"),
                ));
                Expect::Pass
            }
        };
        let returns = match t.returns.as_deref() {
            None | Some("result_i32") => Returns::ResultI32,
            Some("bytes_status_v1") => Returns::BytesStatusV1,
            Some(other) => {
                problems.push(problem(
                    at("returns"),
                    format!("`{other}`: expected result_i32 or bytes_status_v1"),
                ));
                Returns::ResultI32
            }
        };
        let solve = world.is_some_and(|w| !w.is_os());
        let mut input = Vec::new();
        match (&t.input_b64, &t.input_path) {
            (Some(_), Some(_)) => problems.push(problem(
                at("input_path"),
                "give input_b64 or input_path, not both".into(),
            )),
            (Some(b64), None) => {
                use base64::Engine as _;
                match base64::engine::general_purpose::STANDARD.decode(b64) {
                    Ok(bytes) => input = bytes,
                    Err(e) => problems.push(problem(at("input_b64"), format!("not base64: {e}"))),
                }
            }
            (None, Some(rel)) if !v2 => problems.push(problem(
                at("input_path"),
                format!(
                    "input_path needs x07.tests_manifest@0.2.0 (this file is {})",
                    raw.schema_version
                ),
            )),
            (None, Some(rel)) => match fs_err::read(dir.join(rel)) {
                Ok(bytes) => input = bytes,
                Err(e) => problems.push(problem(at("input_path"), e.to_string())),
            },
            (None, None) => {}
        }
        if (t.input_b64.is_some() || t.input_path.is_some()) && world.is_some() && !solve {
            problems.push(problem(
                at("input_b64"),
                "input is for solve worlds only".into(),
            ));
        }
        if t.fixture_root.is_some()
            && matches!(world, Some(w) if w.is_os() || w == World::SolvePure)
        {
            problems.push(problem(
                at("fixture_root"),
                "fixture_root is for solve-fs, solve-rr, solve-kv and solve-full only".into(),
            ));
        }
        let fixture_root = t.fixture_root.as_ref().map(|p| dir.join(p));
        if world == Some(World::SolveFs) && !fixture_root.as_ref().is_some_and(|p| p.is_dir()) {
            problems.push(problem(
                at("fixture_root"),
                "a solve-fs test names its fixture directory (relative to the manifest)".into(),
            ));
        }
        let policy = t.policy_json.as_ref().map(|p| dir.join(p));
        if world == Some(World::RunOsSandboxed) && policy.is_none() {
            problems.push(problem(
                at("policy_json"),
                "a run-os-sandboxed test names its policy file".into(),
            ));
        }
        if t.timeout_ms == Some(0) {
            problems.push(problem(at("timeout_ms"), "must be at least 1".into()));
        }
        if t.solve_fuel == Some(0) {
            problems.push(problem(at("solve_fuel"), "must be at least 1".into()));
        }
        if problems.len() == before {
            cases.push(TestCase {
                id,
                world: world.expect("checked above"),
                module,
                entry,
                expect,
                returns,
                input,
                timeout_ms: t.timeout_ms.unwrap_or(DEFAULT_TEST_TIMEOUT_MS),
                solve_fuel: t.solve_fuel.unwrap_or(DEFAULT_TEST_FUEL),
                policy,
                fixture_root,
            });
        }
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    cases.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(cases)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Vec<TestCase>, Vec<ManifestProblem>> {
        parse_manifest(Path::new("/nowhere/tests/tests.json"), text.as_bytes())
    }

    #[test]
    fn reads_tests_in_id_order_with_defaults() {
        let cases = parse(
            r#"{"schema_version":"x07.tests_manifest@0.1.0","extra":1,"tests":[
            {"id":"b","world":"solve-pure","entry":"ext.a.tests.two","expect":"fail"},
            {"id":"a","world":"run-os","entry":"ext.a.tests.one","unknown":true}]}"#,
        )
        .unwrap();
        assert_eq!(cases.len(), 2);
        assert_eq!(cases[0].id, "a");
        assert_eq!(cases[0].module, "ext.a.tests");
        assert_eq!(cases[0].expect, Expect::Pass);
        assert_eq!(cases[0].returns, Returns::ResultI32);
        assert_eq!(cases[0].solve_fuel, DEFAULT_TEST_FUEL);
        assert_eq!(cases[1].expect, Expect::Fail);
        assert_eq!(cases[1].world, World::SolvePure);
    }

    #[test]
    fn every_problem_is_reported_with_its_field() {
        let problems = parse(
            r#"{"schema_version":"x07.tests_manifest@0.1.0","tests":[
            {"id":"a","world":"mars","entry":"x"},
            {"id":"a","world":"run-os","entry":"m.f","input_b64":"aGk="},
            {"id":"c","world":"run-os-sandboxed","entry":"m.f","expect":"maybe"},
            {"id":"d","world":"solve-pure","entry":"m.f","input_path":"in.bin"}]}"#,
        )
        .unwrap_err();
        let at: Vec<&str> = problems.iter().map(|p| p.pointer.as_str()).collect();
        assert_eq!(
            at,
            [
                "/tests/0/world",
                "/tests/0/entry",
                "/tests/1/id",
                "/tests/1/input_b64",
                "/tests/2/expect",
                "/tests/2/policy_json",
                "/tests/3/input_path"
            ]
        );
        assert!(
            problems[6].message.contains("0.2.0"),
            "{}",
            problems[6].message
        );
        let bad = parse(r#"{"schema_version":"x07.tests_manifest@9.0.0","tests":[]}"#).unwrap_err();
        assert!(bad[0].message.contains("x07.tests_manifest@0.1.0"));
    }
}
