//! `x07 doctor [--json]`: prints x07-doctor's checks — for people by default, the
//! `x07.doctor.report@0.1.0` with `--json` — and exits 1 when something blocks the default
//! profile.

use clap::Args;
use x07_spec::doctor::CheckStatus;

use crate::error::{CliError, CliResult};

/// `x07 doctor`.
#[derive(Debug, Args)]
pub struct DoctorArgs {
    /// Print the x07.doctor.report@0.1.0 JSON instead of the table.
    #[arg(long)]
    pub json: bool,
}

/// Runs the checks for the project in the current directory.
pub fn run(args: &DoctorArgs) -> CliResult {
    let cwd = std::env::current_dir().map_err(|e| {
        CliError::setup(
            "X07-CLI-0001",
            format!("cannot read the working directory: {e}"),
        )
    })?;
    let report = x07_doctor::diagnose(&cwd);
    if args.json {
        let bytes = x07_spec::canonical_file_bytes(&report)
            .map_err(|e| CliError::setup("X07-CLI-0001", e.to_string()))?;
        print!("{}", String::from_utf8_lossy(&bytes));
        return Ok(u8::from(report.blocked));
    }
    match &report.project {
        Some(p) => println!(
            "x07 doctor: {p} — default profile {} (world {}{})",
            report.profile.as_deref().unwrap_or("?"),
            report.world,
            report
                .sandbox_backend
                .as_deref()
                .map(|b| format!(", backend {b}"))
                .unwrap_or_default()
        ),
        None => println!(
            "x07 doctor: not in a project — checking what `x07 init`'s defaults need (profile dev, world run-os)"
        ),
    }
    let paint = {
        use std::io::IsTerminal as _;
        std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none()
    };
    let width = report
        .checks
        .iter()
        .map(|c| c.title.len())
        .max()
        .unwrap_or(0);
    for c in &report.checks {
        let (mark, colour) = match c.status {
            CheckStatus::Ok => ("ok  ", "32"),
            CheckStatus::Warn => ("warn", "33"),
            CheckStatus::Fail => ("FAIL", "1;31"),
            CheckStatus::Skipped => ("skip", "2"),
        };
        let mark = if paint {
            format!("\u{1b}[{colour}m{mark}\u{1b}[0m")
        } else {
            mark.to_string()
        };
        println!("  {mark}  {:<width$}  {}", c.title, c.detail);
        if let Some(fix) = &c.fix {
            println!("        {:<width$}  fix: {fix}", "");
        }
    }
    let blocking = report
        .checks
        .iter()
        .filter(|c| c.blocks && c.status == CheckStatus::Fail)
        .count();
    if blocking == 0 {
        println!("nothing blocks the default profile");
    } else {
        println!("{blocking} problem(s) block the default profile: apply the fixes above");
    }
    Ok(u8::from(report.blocked))
}
