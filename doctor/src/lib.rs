//! x07-doctor: `x07 doctor` (docs/doctor.md). Every check says what it found and, when it does
//! not hold, the exact fix; whether a failure blocks depends on what the default profile of the
//! project in the current directory needs (outside a project: `x07 init`'s defaults).

mod host;
mod native;
mod needs;
mod toolchain;

pub use needs::{needs_of, Needs};

use x07_spec::doctor::{CheckStatus, DoctorCheck, DoctorReport, DoctorReportVersion};

/// Runs every check for the project found from `start` (or `x07 init`'s defaults outside one).
pub fn diagnose(start: &std::path::Path) -> DoctorReport {
    let needs = needs_of(start);
    let mut checks: Vec<DoctorCheck> = needs.problems.clone();
    let cc = toolchain::check_cc(&mut checks, &needs);
    native::check_libraries(&mut checks, &needs, cc.as_deref());
    host::check_sandbox(&mut checks, &needs);
    host::check_vm(&mut checks, &needs);
    host::check_vm_launcher(&mut checks);
    toolchain::check_musl(&mut checks, &needs);
    host::check_registry(&mut checks, &needs);
    let blocked = checks
        .iter()
        .any(|c| c.blocks && c.status == CheckStatus::Fail);
    DoctorReport {
        schema_version: DoctorReportVersion,
        project: needs.project.as_ref().map(|p| p.display().to_string()),
        profile: needs.profile.clone(),
        world: needs.world.as_str().to_string(),
        sandbox_backend: needs.backend.map(|b| {
            match b {
                x07_spec::report::SandboxBackend::Os => "os",
                x07_spec::report::SandboxBackend::Vm => "vm",
                x07_spec::report::SandboxBackend::None => "none",
            }
            .to_string()
        }),
        checks,
        blocked,
    }
}

/// A check's result: `Ok(detail)`, or `Err((detail, fix))` — a failure when the default profile
/// needs it (`blocks`), a warning otherwise.
pub(crate) fn check(
    id: impl Into<String>,
    title: impl Into<String>,
    outcome: Result<String, (String, String)>,
    blocks: bool,
) -> DoctorCheck {
    match outcome {
        Ok(detail) => DoctorCheck {
            id: id.into(),
            title: title.into(),
            status: CheckStatus::Ok,
            detail,
            fix: None,
            blocks: false,
        },
        Err((detail, fix)) => DoctorCheck {
            id: id.into(),
            title: title.into(),
            status: if blocks {
                CheckStatus::Fail
            } else {
                CheckStatus::Warn
            },
            detail,
            fix: Some(fix),
            blocks,
        },
    }
}
