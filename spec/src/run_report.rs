//! The wrapped run report `x07.run.report@0.3.0` (`x07 run --report wrapped`).

use serde::{Deserialize, Serialize};

use crate::report::OsRunnerReport;
use crate::schema_tag::schema_tag;
use crate::world::World;

schema_tag!(
    /// The `schema_version` of [`RunReport`].
    RunReportVersion = "x07.run.report@0.3.0"
);

/// Which runner executed the program.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ReportRunner {
    /// The deterministic fixture runner.
    Host,
    /// The OS runner.
    Os,
}

/// What kind of target `x07 run` was pointed at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TargetKind {
    /// A project manifest.
    Project,
    /// A single entry file.
    Program,
    /// A prebuilt executable.
    Artifact,
}

/// The target of the run and what it resolved to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunTarget {
    /// Target kind.
    pub kind: TargetKind,
    /// The manifest, entry file or executable.
    pub path: String,
    /// The project directory, when there is a project.
    pub project_root: Option<String>,
    /// The lockfile used, when there is one.
    pub lockfile: Option<String>,
    /// Module roots searched, in order (project roots, then dependency roots).
    pub resolved_module_roots: Vec<String>,
}

/// How auto-repair treats the source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RepairMode {
    /// Write repairs back to the source file.
    Write,
    /// Stage a repaired copy under `.x07/repair/_staged/`.
    Memory,
    /// No repair.
    Off,
}

/// What the repair loop did before compiling.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RepairSummary {
    /// Repair mode.
    pub mode: RepairMode,
    /// Iterations run.
    pub iterations: u32,
    /// Quick-fix operations applied.
    pub applied_ops_count: u32,
    /// Whether the last lint pass was clean.
    pub last_lint_ok: bool,
}

/// `x07.run.report@0.3.0`: the runner report plus what `x07 run` resolved around it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunReport {
    /// Format tag.
    pub schema_version: RunReportVersion,
    /// The runner used.
    pub runner: ReportRunner,
    /// The world the program ran in.
    pub world: World,
    /// The target.
    pub target: RunTarget,
    /// Repair summary, when repair was enabled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repair: Option<RepairSummary>,
    /// The runner report, unchanged.
    pub report: OsRunnerReport,
}
