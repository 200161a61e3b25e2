//! The attack file format (`tests/sandbox/README.md`): `tests/sandbox/attacks/<name>.x07.json` is
//! the program, `<name>.attack.json` says how to run it and what "stopped" and "the report says
//! why" mean — with the in-process checks (`expect`, on each of `backends`) and with them compiled
//! out on the `os` backend (`kernel_expect`, or `kernel_skip` saying why the kernel cannot).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::Value;

/// A backend the attack runs on through `x07 run`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Backend {
    /// In-process checks only.
    None,
    /// In-process checks and the kernel layer.
    Os,
    /// The same in a fresh qemu guest (the default backend; needs x07's guest image).
    Vm,
}

impl Backend {
    /// The value of `--sandbox-backend`.
    pub fn as_str(self) -> &'static str {
        match self {
            Backend::None => "none",
            Backend::Os => "os",
            Backend::Vm => "vm",
        }
    }
}

/// Files, links, directories, listeners and environment an attack needs before it runs.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Setup {
    /// Directories created inside the project.
    #[serde(default)]
    pub dirs: Vec<String>,
    /// Files inside the project: path → content.
    #[serde(default)]
    pub files: BTreeMap<String, String>,
    /// Files inside the `outside` directory (a sibling of the project): name → content.
    #[serde(default)]
    pub outside_files: BTreeMap<String, String>,
    /// Symbolic links: link path (project-relative, or absolute after placeholders) → target.
    #[serde(default)]
    pub symlinks: BTreeMap<String, String>,
    /// Loopback listeners to start, by name (`{port:NAME}` in the attack's text).
    #[serde(default)]
    pub listeners: Vec<String>,
    /// Variables set in the launcher's environment (the secrets a program should not see).
    #[serde(default)]
    pub env: BTreeMap<String, String>,
}

/// A `solve.policy_denials` record the run must contain.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DenialExpect {
    /// The builtin.
    pub op: String,
    /// The rule, or a list of acceptable rules.
    pub rule: OneOrMore,
    /// Text the record's target must contain (placeholders allowed).
    #[serde(default)]
    pub target_contains: Option<String>,
}

/// One string, or a list of acceptable ones.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum OneOrMore {
    /// Exactly this.
    One(String),
    /// Any of these.
    Any(Vec<String>),
}

impl OneOrMore {
    /// Whether `s` is acceptable.
    pub fn accepts(&self, s: &str) -> bool {
        match self {
            OneOrMore::One(one) => one == s,
            OneOrMore::Any(any) => any.iter().any(|a| a == s),
        }
    }
}

/// What a run must show. "Stopped" checks and "why" checks are both required (see `validate`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expectation {
    /// The run succeeds with exactly this output.
    #[serde(default)]
    pub output: Option<String>,
    /// The run succeeds with an output starting with this.
    #[serde(default)]
    pub output_prefix: Option<String>,
    /// The output contains each of these.
    #[serde(default)]
    pub output_contains: Vec<String>,
    /// The run traps with exactly this text.
    #[serde(default)]
    pub trap: Option<String>,
    /// The run traps with a text starting with this.
    #[serde(default)]
    pub trap_prefix: Option<String>,
    /// The trap text contains each of these.
    #[serde(default)]
    pub trap_contains: Vec<String>,
    /// The run (the `x07 run` command, or the launch) takes at most this long: a limit must be
    /// what stopped it, not a later fallback.
    #[serde(default)]
    pub max_run_seconds: Option<u64>,
    /// Texts (secrets) that must appear nowhere: output, program stdout, program stderr.
    #[serde(default)]
    pub never: Vec<String>,
    /// Paths that must not exist after the run.
    #[serde(default)]
    pub absent_paths: Vec<String>,
    /// Files that must hold exactly this content after the run.
    #[serde(default)]
    pub file_contents: BTreeMap<String, String>,
    /// Files whose line count must stay at or below the bound (a missing file counts 0).
    #[serde(default)]
    pub file_lines_at_most: BTreeMap<String, usize>,
    /// `name:number` tokens of the output whose number must stay at or below the bound.
    #[serde(default)]
    pub counts_at_most: BTreeMap<String, u64>,
    /// Listeners that must have accepted no connection.
    #[serde(default)]
    pub untouched_listeners: Vec<String>,
    /// Command-line texts no process may have once the run is over.
    #[serde(default)]
    pub no_processes_matching: Vec<String>,
    /// A denial record the report must hold.
    #[serde(default)]
    pub denial: Option<DenialExpect>,
    /// Restrictions the sandbox summary must list.
    #[serde(default)]
    pub restrictions: Vec<String>,
    /// Acceptable values of `sandbox.pids_mechanism`.
    #[serde(default)]
    pub pids_mechanism_in: Vec<String>,
}

impl Expectation {
    fn validate(&self) -> Result<(), String> {
        let outputs = self.output.is_some() as u8 + self.output_prefix.is_some() as u8;
        let traps = self.trap.is_some() as u8 + self.trap_prefix.is_some() as u8;
        if outputs + traps > 1 {
            return Err("give at most one of output, output_prefix, trap, trap_prefix".into());
        }
        if traps > 0 && !self.output_contains.is_empty() {
            return Err("output_contains needs a run that succeeds, not a trap".into());
        }
        if traps == 0 && !self.trap_contains.is_empty() {
            return Err("trap_contains needs trap or trap_prefix".into());
        }
        // A trap is both: the program did not finish, and the trap text names the reason.
        let stopped = outputs > 0
            || traps > 0
            || !self.never.is_empty()
            || !self.absent_paths.is_empty()
            || !self.file_contents.is_empty()
            || !self.file_lines_at_most.is_empty()
            || !self.counts_at_most.is_empty()
            || !self.untouched_listeners.is_empty()
            || !self.no_processes_matching.is_empty();
        if !stopped {
            return Err(
                "no check shows that the attack was stopped (output, trap, never, \
                        absent_paths, file_contents, file_lines_at_most, counts_at_most, \
                        untouched_listeners, no_processes_matching)"
                    .into(),
            );
        }
        let why = traps > 0
            || self.denial.is_some()
            || !self.restrictions.is_empty()
            || !self.pids_mechanism_in.is_empty();
        if !why {
            return Err(
                "no check shows that the report says why (trap, trap_prefix, denial, \
                 restrictions, pids_mechanism_in)"
                    .into(),
            );
        }
        Ok(())
    }
}

/// The `<name>.attack.json` sidecar.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AttackSpec {
    /// One line: what the program tries.
    pub about: String,
    /// The `x07 policy init` template of the base policy.
    pub template: String,
    /// A JSON merge patch (RFC 7396) applied to the template's policy.
    #[serde(default)]
    pub policy: Option<Value>,
    /// `--allow-host` specs (placeholders allowed).
    #[serde(default)]
    pub allow_hosts: Vec<String>,
    /// The program's input (placeholders allowed).
    #[serde(default)]
    pub input: String,
    /// What to prepare.
    #[serde(default)]
    pub setup: Setup,
    /// `--solve-fuel`.
    #[serde(default)]
    pub solve_fuel: Option<u64>,
    /// `--max-output-bytes`.
    #[serde(default)]
    pub max_output_bytes: Option<u64>,
    /// Backends of the runs with the in-process checks (`none` and `os`, or only `os` for the
    /// resource attacks).
    pub backends: Vec<Backend>,
    /// What those runs must show.
    pub expect: Expectation,
    /// What the `os` backend must show with the in-process checks compiled out.
    #[serde(default)]
    pub kernel_expect: Option<Expectation>,
    /// Why the kernel layer alone cannot stop this attack (instead of `kernel_expect`).
    #[serde(default)]
    pub kernel_skip: Option<String>,
}

/// One attack on disk.
#[derive(Debug, Clone)]
pub struct Attack {
    /// The file stem, e.g. `fs_read_abs_outside`.
    pub name: String,
    /// The program (`<name>.x07.json`).
    pub program: PathBuf,
    /// The sidecar's content.
    pub spec: AttackSpec,
}

impl AttackSpec {
    fn validate(&self) -> Result<(), String> {
        if self.backends.is_empty() {
            return Err("`backends` must name `none`, `os` or both".into());
        }
        self.expect.validate().map_err(|e| format!("expect: {e}"))?;
        if self.backends.contains(&Backend::None) && self.expect.denial.is_none() {
            return Err(
                "expect: an attack the in-process layer stops must name its denial record".into(),
            );
        }
        match (&self.kernel_expect, &self.kernel_skip) {
            (Some(k), None) => k.validate().map_err(|e| format!("kernel_expect: {e}")),
            (None, Some(reason)) if !reason.trim().is_empty() => Ok(()),
            _ => Err("give exactly one of kernel_expect and kernel_skip (a reason)".into()),
        }
    }
}

/// Every `<name>.attack.json` under `dir` with its program, sorted by name.
pub fn discover(dir: &Path) -> Result<Vec<Attack>, String> {
    let entries = fs_err::read_dir(dir)
        .map_err(|e| format!("cannot list the attacks in {}: {e}", dir.display()))?;
    let mut attacks = Vec::new();
    for entry in entries {
        let path = entry.map_err(|e| e.to_string())?.path();
        let Some(name) = path
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.strip_suffix(".attack.json"))
        else {
            continue;
        };
        let text = fs_err::read_to_string(&path).map_err(|e| e.to_string())?;
        let spec: AttackSpec = serde_json::from_str(&text).map_err(|e| {
            format!(
                "{}: not a valid attack file ({e}); see tests/sandbox/README.md",
                path.display()
            )
        })?;
        spec.validate()
            .map_err(|e| format!("{}: {e}; see tests/sandbox/README.md", path.display()))?;
        let program = dir.join(format!("{name}.x07.json"));
        if !program.is_file() {
            return Err(format!(
                "{}: its program {} is missing",
                path.display(),
                program.display()
            ));
        }
        attacks.push(Attack {
            name: name.to_owned(),
            program,
            spec,
        });
    }
    attacks.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(attacks)
}

/// Applies a JSON merge patch (RFC 7396): objects merge key by key, `null` removes, anything
/// else replaces.
pub fn merge_patch(target: &mut Value, patch: &Value) {
    let Value::Object(patch_map) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = Value::Object(Default::default());
    }
    let map = target.as_object_mut().expect("made an object above");
    for (key, value) in patch_map {
        if value.is_null() {
            map.remove(key);
        } else {
            merge_patch(map.entry(key.clone()).or_insert(Value::Null), value);
        }
    }
}

// Run by the sandbox_walkthrough binary; the attack harness has no libtest, so there they are unused.
#[cfg(test)]
#[allow(unused_imports)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn merge_patch_follows_rfc_7396() {
        let mut doc = json!({"a": {"b": 1, "c": 2}, "d": [1], "e": 5});
        merge_patch(
            &mut doc,
            &json!({"a": {"b": null, "x": 3}, "d": [2, 3], "f": {"g": 1}}),
        );
        assert_eq!(
            doc,
            json!({"a": {"c": 2, "x": 3}, "d": [2, 3], "e": 5, "f": {"g": 1}})
        );
    }

    #[test]
    fn an_expectation_needs_a_stop_check_and_a_reason() {
        let only_output: Expectation = serde_json::from_value(json!({"output": "x"})).unwrap();
        assert!(only_output.validate().is_err());
        let only_trap: Expectation = serde_json::from_value(json!({"trap": "timed out"})).unwrap();
        assert!(only_trap.validate().is_ok());
        let only_denial: Expectation =
            serde_json::from_value(json!({"denial": {"op": "o", "rule": "r"}})).unwrap();
        assert!(only_denial.validate().is_err());
        let both: Expectation = serde_json::from_value(
            json!({"output": "denied:1", "denial": {"op": "o", "rule": ["r", "s"]}}),
        )
        .unwrap();
        assert!(both.validate().is_ok());
        assert!(both.denial.unwrap().rule.accepts("s"));
    }
}
