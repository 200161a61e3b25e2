//! The OS runner report `x07-os-runner.report@0.5.0`: what `x07 run` prints by default.

use serde::{Deserialize, Serialize};

use crate::diagnostic::Diagnostic;
use crate::schema_tag::schema_tag;
use crate::solve_section::{SandboxSummary, SolveSection};
use crate::world::World;

schema_tag!(
    /// The `schema_version` of [`OsRunnerReport`].
    OsRunnerReportVersion = "x07-os-runner.report@0.5.0"
);

schema_tag!(
    /// The `schema_version` of [`NativeRequires`].
    NativeRequiresVersion = "x07.native-requires@0.1.0"
);

/// Which isolation the run actually had.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SandboxBackend {
    /// A virtual machine boundary.
    Vm,
    /// The kernel sandbox of the host (Landlock, seccomp, namespaces, rlimits).
    Os,
    /// No isolation.
    None,
}

/// How network access was configured for a sandboxed run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NetworkMode {
    /// No network device at all.
    None,
    /// A network exists but the policy disables it.
    Disabled,
    /// Only the policy's hosts are reachable.
    Allowlist,
}

/// Where the network allowlist was enforced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NetworkEnforcement {
    /// Nothing to enforce.
    None,
    /// At the VM boundary (host-side proxy).
    VmBoundaryAllowlist,
    /// Inside the guest.
    GuestAllowlist,
    /// The backend cannot enforce it.
    Unsupported,
}

/// Pointer to the runtime attestation written for a sandboxed run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuntimeAttestationRef {
    /// Where the attestation file is.
    pub path: String,
    /// The backend that ran the program.
    pub sandbox_backend: SandboxBackend,
    /// Whether the user accepted isolation weaker than a VM.
    pub weaker_isolation: bool,
    /// Network configuration.
    pub network_mode: NetworkMode,
    /// Network enforcement point.
    pub network_enforcement: NetworkEnforcement,
}

/// One native backend a compiled program needs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NativeRequirement {
    /// Backend id, e.g. `x07.ext.fs`.
    pub backend_id: String,
    /// ABI major version.
    pub abi_major: u32,
    /// Optional features used.
    pub features: Vec<String>,
}

/// The native backends a compiled program needs (`x07.native-requires@0.1.0`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NativeRequires {
    /// Format tag.
    pub schema_version: NativeRequiresVersion,
    /// The world compiled for.
    pub world: World,
    /// The backends.
    pub requires: Vec<NativeRequirement>,
}

/// The `compile` section: what building the program produced.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CompileSection {
    /// Whether an executable was produced.
    pub ok: bool,
    /// 0 when ok, 1 otherwise.
    pub exit_status: i32,
    /// Language id, e.g. `x07-core@0.2.0`.
    pub lang_id: String,
    /// Native backends needed (null when compilation stopped before it was known).
    pub native_requires: Option<NativeRequires>,
    /// Size of the generated C source.
    pub c_source_size: Option<u64>,
    /// Path of the executable.
    pub compiled_exe: Option<String>,
    /// Size of the executable.
    pub compiled_exe_size: Option<u64>,
    /// Why compilation failed, in one line.
    pub compile_error: Option<String>,
    /// Structured problems found while compiling.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub diagnostics: Option<Vec<Diagnostic>>,
    /// Compiler stdout, base64.
    pub stdout_b64: String,
    /// Compiler stderr, base64.
    pub stderr_b64: String,
    /// Fuel used at compile time (always null for the native compiler).
    pub fuel_used: Option<u64>,
    /// Compiler crash text.
    pub trap: Option<String>,
}

/// Report of `x07 run --program` / `--project`: a compile section and, if that succeeded, a solve section.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CompileRunReport {
    /// Format tag.
    pub schema_version: OsRunnerReportVersion,
    /// The world the program ran in.
    pub world: World,
    /// The exit code `x07 run` ends with.
    pub exit_code: i32,
    /// Compilation outcome.
    pub compile: CompileSection,
    /// Run outcome; null when compilation failed.
    pub solve: Option<SolveSection>,
    /// The program's output (a copy of `solve.solve_output_b64`, null when it did not run), so
    /// `r["solve_output_b64"]` works for every mode as the walkthrough decodes it.
    #[serde(default)]
    pub solve_output_b64: Option<String>,
    /// The isolation used (sandboxed runs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sandbox_backend: Option<SandboxBackend>,
    /// The runtime attestation (sandboxed runs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runtime_attestation: Option<RuntimeAttestationRef>,
    /// sha256 of the canonical JSON of the effective policy (sandboxed runs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub effective_policy_digest: Option<String>,
    /// What the sandbox applied (sandboxed runs that started).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sandbox: Option<SandboxSummary>,
    /// The guest image's digest, when the run happened in a VM (`sandbox_backend: "vm"`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vm_guest_image: Option<String>,
}

/// Report of `x07 run --artifact`: the solve fields at top level.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArtifactRunReport {
    /// Format tag.
    pub schema_version: OsRunnerReportVersion,
    /// The world the program ran in.
    pub world: World,
    /// The exit code `x07 run` ends with.
    pub exit_code: i32,
    /// Run outcome (its `ok` is the report's `ok`).
    #[serde(flatten)]
    pub solve: SolveSection,
    /// The isolation used (sandboxed runs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sandbox_backend: Option<SandboxBackend>,
    /// The runtime attestation (sandboxed runs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runtime_attestation: Option<RuntimeAttestationRef>,
}

/// `x07-os-runner.report@0.5.0`, one shape per `mode`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "mode")]
pub enum OsRunnerReport {
    /// `--artifact`: a prebuilt executable.
    #[serde(rename = "run-os")]
    RunOs(ArtifactRunReport),
    /// `--program`: a single entry file.
    #[serde(rename = "compile-run")]
    CompileRun(CompileRunReport),
    /// `--project`: a project manifest.
    #[serde(rename = "project-compile-run")]
    ProjectCompileRun(CompileRunReport),
}

impl OsRunnerReport {
    /// The `mode` string.
    pub fn mode(&self) -> &'static str {
        match self {
            OsRunnerReport::RunOs(_) => "run-os",
            OsRunnerReport::CompileRun(_) => "compile-run",
            OsRunnerReport::ProjectCompileRun(_) => "project-compile-run",
        }
    }

    /// The world the program ran in.
    pub fn world(&self) -> World {
        match self {
            OsRunnerReport::RunOs(r) => r.world,
            OsRunnerReport::CompileRun(r) | OsRunnerReport::ProjectCompileRun(r) => r.world,
        }
    }

    /// The exit code `x07 run` ends with.
    pub fn exit_code(&self) -> i32 {
        match self {
            OsRunnerReport::RunOs(r) => r.exit_code,
            OsRunnerReport::CompileRun(r) | OsRunnerReport::ProjectCompileRun(r) => r.exit_code,
        }
    }

    /// The run outcome, if the program ran.
    pub fn solve(&self) -> Option<&SolveSection> {
        match self {
            OsRunnerReport::RunOs(r) => Some(&r.solve),
            OsRunnerReport::CompileRun(r) | OsRunnerReport::ProjectCompileRun(r) => {
                r.solve.as_ref()
            }
        }
    }
}
