//! `x07 policy init --template T`: write a base policy for run-os-sandboxed, idempotently.
//!
//! Status and exit code: `created` / `unchanged` / `overwritten` (with `--force`) exit 0;
//! `exists_different` leaves the file as it is and exits 2. A generated policy that fails its own
//! validation (e.g. a bad `--policy-id`) is X07-POLICY-SCHEMA-0001, exit 3. The report
//! (`x07.policy.init.report@0.1.0`) is one line of canonical JSON on stdout.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use clap::builder::{PossibleValuesParser, TypedValueParser as _};
use clap::{Args, Subcommand, ValueEnum};
use x07_spec::policy::{InitStatus, PolicyInitReport, PolicyInitReportVersion};
use x07_spec::{canonical_file_bytes, Policy, PolicyId, Template};

use crate::error::{CliError, CliResult};

/// `x07 policy ...`.
#[derive(Debug, Subcommand)]
pub enum PolicyCommand {
    /// Write a schema-valid base policy from a template (default: .x07/policies/base/<T>.sandbox.base.policy.json).
    Init(PolicyInitArgs),
}

/// What `x07 policy init` prints on stdout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PolicyEmit {
    /// The one-line x07.policy.init.report@0.1.0.
    Report,
    /// The policy bytes.
    Policy,
}

/// `x07 policy init`.
#[derive(Debug, Args)]
pub struct PolicyInitArgs {
    /// The template.
    #[arg(long, value_name = "TEMPLATE", value_parser = PossibleValuesParser::new(Template::NAMES).map(|s| s.parse::<Template>().expect("a listed template name")))]
    pub template: Template,
    /// The project manifest (x07.json) or its directory; default: found by walking up from the current directory, else the current directory.
    #[arg(long, value_name = "PATH")]
    pub project: Option<PathBuf>,
    /// Write here instead (relative to the project root); its directory must exist unless --mkdir-out.
    #[arg(long, value_name = "PATH")]
    pub out: Option<PathBuf>,
    /// Create the missing directories of --out.
    #[arg(long)]
    pub mkdir_out: bool,
    /// Replace an existing file whose content differs.
    #[arg(long)]
    pub force: bool,
    /// Use this policy_id instead of sandbox.<TEMPLATE>.base.
    #[arg(long, value_name = "ID")]
    pub policy_id: Option<String>,
    /// What to print on stdout.
    #[arg(long, value_enum, default_value = "report")]
    pub emit: PolicyEmit,
    /// Also point this profile of x07.json at the policy written (created with world
    /// run-os-sandboxed when missing), e.g. `--profile sandbox`.
    #[arg(long, value_name = "NAME")]
    pub profile: Option<String>,
}

/// Runs `x07 policy ...`.
pub fn run(command: &PolicyCommand) -> CliResult {
    match command {
        PolicyCommand::Init(args) => init(args),
    }
}

fn io_error(path: &Path, what: &str, e: impl std::fmt::Display) -> CliError {
    CliError::setup(
        "X07-POLICY-0003",
        format!("cannot {what} {}: {e}", path.display()),
    )
}

/// A policy that fails its own checks: exit 3.
fn invalid_policy(message: String) -> CliError {
    CliError {
        code: "X07-POLICY-SCHEMA-0001",
        message,
        help: None,
        exit: 3,
    }
    .help("choose another --policy-id, e.g. my-app.sandbox (see docs/policy.md)")
}

/// The project root: `--project` (a manifest or its directory), else the nearest directory
/// holding x07.json walking up, else the current directory. Always absolute.
fn project_root(project: Option<&Path>) -> Result<PathBuf, CliError> {
    let cwd = std::env::current_dir()
        .map_err(|e| io_error(Path::new("."), "read the current directory", e))?;
    let root = match project {
        Some(p) => {
            let p = cwd.join(p);
            let manifest = if p.is_dir() {
                p.join(x07_spec::PROJECT_FILE_NAME)
            } else {
                p
            };
            if !manifest.is_file() {
                return Err(CliError::setup(
                    "X07-PROJECT-0001",
                    format!("--project: {} does not exist", manifest.display()),
                )
                .help("pass the project's x07.json or its directory"));
            }
            manifest
                .parent()
                .map(Path::to_path_buf)
                .unwrap_or_else(|| cwd.clone())
        }
        None => match crate::target::discover_manifest(&cwd) {
            Some(manifest) => manifest
                .parent()
                .map(Path::to_path_buf)
                .unwrap_or_else(|| cwd.clone()),
            None => cwd,
        },
    };
    fs_err::canonicalize(&root).map_err(|e| io_error(&root, "resolve", e))
}

/// `--profile NAME`: profiles.NAME.policy in the project's x07.json names `out`.
fn point_profile(root: &Path, profile: &str, out: &Path) -> Result<(), CliError> {
    let manifest = root.join(x07_spec::PROJECT_FILE_NAME);
    if !manifest.is_file() {
        return Err(CliError::setup(
            "X07-PROJECT-0001",
            format!(
                "--profile {profile}: there is no {} to edit",
                manifest.display()
            ),
        )
        .help("run x07 init first, or drop --profile"));
    }
    let deps_error = |e: x07_deps::DepsError| CliError::setup("X07-PROJECT-0001", e.to_string());
    let mut edit = x07_deps::ManifestEdit::load(&manifest).map_err(deps_error)?;
    let rel = out.strip_prefix(root).unwrap_or(out).display().to_string();
    if edit.set_profile_policy(profile, &rel) {
        edit.save().map_err(deps_error)?;
        crate::output::note!("x07 policy init: profiles.{profile}.policy in x07.json is now {rel}");
    }
    Ok(())
}

/// `path` relative to `root` when beneath it, else as it is.
fn shown(root: &Path, path: &Path) -> String {
    path.strip_prefix(root)
        .unwrap_or(path)
        .display()
        .to_string()
}

fn init(args: &PolicyInitArgs) -> CliResult {
    let mut policy: Policy = args.template.policy();
    if let Some(id) = &args.policy_id {
        policy.policy_id =
            PolicyId::new(id.as_str()).map_err(|e| invalid_policy(format!("--policy-id: {e}")))?;
    }
    let problems = policy.problems();
    if !problems.is_empty() {
        let list: Vec<String> = problems.iter().map(ToString::to_string).collect();
        return Err(invalid_policy(format!(
            "the generated policy is not valid: {}",
            list.join("; ")
        )));
    }
    let bytes = policy.to_file_bytes().map_err(|e| CliError {
        code: "X07-POLICY-SCHEMA-0001",
        message: e.to_string(),
        help: None,
        exit: 3,
    })?;

    let root = project_root(args.project.as_deref())?;
    let out = match &args.out {
        Some(p) => root.join(p),
        None => root.join(args.template.default_rel_path()),
    };
    if out.is_dir() {
        return Err(CliError::setup(
            "X07-POLICY-0003",
            format!("{} is a directory", out.display()),
        )
        .help("pass --out with a file path"));
    }
    let status = match fs_err::read(&out) {
        Ok(existing) if existing == bytes => InitStatus::Unchanged,
        Ok(_) if !args.force => InitStatus::ExistsDifferent,
        Ok(_) => {
            x07_spec::write_atomic(&out, &bytes).map_err(|e| io_error(&out, "write", e))?;
            InitStatus::Overwritten
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            prepare_parent(&root, &out, args)?;
            x07_spec::write_atomic(&out, &bytes).map_err(|e| io_error(&out, "write", e))?;
            InitStatus::Created
        }
        Err(e) => return Err(io_error(&out, "read", e)),
    };

    if let Some(profile) = &args.profile {
        point_profile(&root, profile, &out)?;
    }
    let stdout_bytes = match args.emit {
        PolicyEmit::Policy => bytes,
        PolicyEmit::Report => {
            let report = PolicyInitReport {
                schema_version: PolicyInitReportVersion,
                template: args.template.as_str().to_string(),
                project_root: root.display().to_string(),
                out: shown(&root, &out),
                status,
                policy_id: policy.policy_id.clone(),
            };
            canonical_file_bytes(&report).map_err(|e| io_error(&out, "report on", e))?
        }
    };
    let mut stdout = std::io::stdout().lock();
    let _ = stdout.write_all(&stdout_bytes);
    let _ = stdout.flush();
    if status == InitStatus::ExistsDifferent {
        let e = CliError::setup(
            "X07-POLICY-0001",
            format!(
                "{} exists with different content; it was left as it is",
                shown(&root, &out)
            ),
        )
        .help("pass --force to overwrite it, or --out PATH to write elsewhere");
        eprintln!("{e}");
    }
    Ok(status.exit_code())
}

/// The default location's directories are created; an explicit `--out` needs `--mkdir-out` for that.
fn prepare_parent(root: &Path, out: &Path, args: &PolicyInitArgs) -> Result<(), CliError> {
    let Some(parent) = out.parent() else {
        return Ok(());
    };
    if parent.is_dir() {
        return Ok(());
    }
    if args.out.is_some() && !args.mkdir_out {
        return Err(CliError::setup(
            "X07-POLICY-0002",
            format!(
                "the directory {} of --out does not exist",
                shown(root, parent)
            ),
        )
        .help("create it first, or pass --mkdir-out"));
    }
    fs_err::create_dir_all(parent).map_err(|e| io_error(parent, "create the directory", e))
}
