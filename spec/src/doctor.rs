//! `x07.doctor.report@0.1.0`: what `x07 doctor --json` prints — every check, whether it holds,
//! the exact fix, and whether it blocks the default profile of the project (outside a project:
//! `x07 init`'s defaults).

use serde::{Deserialize, Serialize};

use crate::schema_tag::schema_tag;

schema_tag!(
    /// `x07.doctor.report@0.1.0`.
    DoctorReportVersion = "x07.doctor.report@0.1.0"
);

/// How one check came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CheckStatus {
    /// It holds.
    Ok,
    /// It does not hold, and it is not needed by the default profile (or there is a fallback).
    Warn,
    /// It does not hold.
    Fail,
    /// Not checked (what it depends on failed, or it does not apply).
    Skipped,
}

/// One check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DoctorCheck {
    /// A stable id (`cc`, `libc-headers`, `native-lib:curl`, `userns`, `qemu`, ...).
    pub id: String,
    /// What was checked, for people.
    pub title: String,
    /// The outcome.
    pub status: CheckStatus,
    /// What was found.
    pub detail: String,
    /// The exact fix (a Debian package and command, or an x07 command), when it does not hold.
    pub fix: Option<String>,
    /// Whether this failure stops the default profile.
    pub blocks: bool,
}

/// The whole report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DoctorReport {
    /// Always [`DoctorReportVersion`].
    pub schema_version: DoctorReportVersion,
    /// The project checked (its x07.json), or `None` outside a project.
    pub project: Option<String>,
    /// The default profile checked against (outside a project: `x07 init`'s, `dev`).
    pub profile: Option<String>,
    /// Its world.
    pub world: String,
    /// Its sandbox backend (run-os-sandboxed only).
    pub sandbox_backend: Option<String>,
    /// Every check, in order.
    pub checks: Vec<DoctorCheck>,
    /// Whether anything blocks the default profile (then `x07 doctor` exits 1).
    pub blocked: bool,
}
