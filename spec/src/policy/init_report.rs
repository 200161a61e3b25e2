//! The one-line report of `x07 policy init` (`x07.policy.init.report@0.1.0`).

use serde::{Deserialize, Serialize};

use crate::policy::PolicyId;
use crate::schema_tag::schema_tag;

schema_tag!(
    /// `x07.policy.init.report@0.1.0`.
    PolicyInitReportVersion = "x07.policy.init.report@0.1.0"
);

/// What `x07 policy init` did with the output file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InitStatus {
    /// No file existed; it was written (exit 0).
    Created,
    /// The file already held exactly these bytes; it was not touched (exit 0).
    Unchanged,
    /// The file held other bytes and `--force` replaced them (exit 0).
    Overwritten,
    /// The file holds other bytes and was left as it is (exit 2).
    ExistsDifferent,
}

impl InitStatus {
    /// The exit code of `x07 policy init` for this status.
    pub fn exit_code(self) -> u8 {
        match self {
            Self::Created | Self::Unchanged | Self::Overwritten => 0,
            Self::ExistsDifferent => 2,
        }
    }
}

/// The report printed on stdout (one line of canonical JSON).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyInitReport {
    /// Format tag.
    pub schema_version: PolicyInitReportVersion,
    /// The template name (`cli`, ..., `worker-parallel`).
    pub template: String,
    /// The project root (absolute), or the current directory when there is no project.
    pub project_root: String,
    /// The output file, relative to `project_root` when it lies beneath it, else absolute.
    pub out: String,
    /// What happened to the file.
    pub status: InitStatus,
    /// The policy id written.
    pub policy_id: PolicyId,
}
