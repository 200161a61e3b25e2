//! Maintainer commands: `x07 pkg login`, `logout`, `publish`, `yank`, `owner`.

use std::path::PathBuf;

use clap::Args;
use x07_registry_client::{Credentials, PublishSource, Token};
use x07_spec::{PackageName, PackageVersion};

use super::{client_for, print_json, registry_error, registry_home, select_index, RegistryArgs};
use crate::error::{CliError, CliResult};

/// `x07 pkg publish`.
#[derive(Debug, Args)]
pub struct PkgPublishArgs {
    /// The registry index.
    #[arg(long, value_name = "URL")]
    pub index: Option<String>,
    /// The package directory (holding x07-package.json); default: the current directory.
    #[arg(long, value_name = "DIR")]
    pub package: Option<PathBuf>,
    /// Publish without running the package's tests (tests/tests.json) first.
    #[arg(long)]
    pub no_verify: bool,
}

/// `x07 pkg login`.
#[derive(Debug, Args)]
pub struct PkgLoginArgs {
    /// The registry index (sparse+http(s)://…/ or sparse+file:///…/).
    #[arg(long, value_name = "URL")]
    pub index: Option<String>,
    /// Read the token from standard input (keeps it out of the process list and shell history).
    #[arg(long, conflicts_with = "token")]
    pub token_stdin: bool,
    /// The token itself (prefer --token-stdin).
    #[arg(long, value_name = "TOKEN")]
    pub token: Option<String>,
    /// Store the token without asking the registry whether it knows it (e.g. a registry not reachable now).
    #[arg(long)]
    pub no_verify: bool,
}

/// `x07 pkg logout`.
#[derive(Debug, Args)]
pub struct PkgLogoutArgs {
    /// The registry index.
    #[arg(long, value_name = "URL")]
    pub index: Option<String>,
}

/// `x07 pkg yank`.
#[derive(Debug, Args)]
pub struct PkgYankArgs {
    /// NAME@VERSION.
    #[arg(value_name = "NAME@VERSION")]
    pub package: String,
    /// Restore a yanked version.
    #[arg(long)]
    pub undo: bool,
    /// The registry index.
    #[arg(long, value_name = "URL")]
    pub index: Option<String>,
}

/// `x07 pkg owner`.
#[derive(Debug, Args)]
pub struct PkgOwnerArgs {
    /// The package.
    pub name: String,
    /// Add an owner (a login known to the registry).
    #[arg(long, value_name = "LOGIN", conflicts_with = "remove")]
    pub add: Option<String>,
    /// Remove an owner (the last owner cannot be removed).
    #[arg(long, value_name = "LOGIN")]
    pub remove: Option<String>,
    /// The registry index.
    #[arg(long, value_name = "URL")]
    pub index: Option<String>,
}

fn registry(index: &Option<String>) -> RegistryArgs {
    RegistryArgs {
        index: index.clone(),
        offline: false,
    }
}

fn authed_client(index: &Option<String>) -> Result<x07_registry_client::RegistryClient, CliError> {
    let (url, _) = select_index(&registry(index), None)?;
    let creds = Credentials::load(&registry_home()?).map_err(registry_error)?;
    if creds.token_for(&url).is_none() {
        return Err(CliError::setup(
            "X07-PKG-0006",
            format!("no token stored for {}", url.as_str()),
        )
        .help(format!(
            "run `x07 pkg login --index {} --token-stdin` first",
            url.as_str()
        )));
    }
    client_for(url, false, true)
}

pub(super) fn package_name(text: &str) -> Result<PackageName, CliError> {
    PackageName::new(text).map_err(|e| {
        CliError::setup("X07-PKG-0008", format!("`{text}`: {e}"))
            .help("package names are lowercase: [a-z][a-z0-9_-]*")
    })
}

/// Runs `x07 pkg publish`.
pub fn publish(args: &PkgPublishArgs) -> CliResult {
    let client = authed_client(&args.index)?;
    let dir = args.package.clone().unwrap_or_else(|| PathBuf::from("."));
    if !args.no_verify {
        verify_tests(&dir)?;
    }
    let receipt = client
        .publish(PublishSource::PackageDir(&dir))
        .map_err(registry_error)?;
    print_json(&serde_json::json!({
        "schema_version": "x07.pkg.publish.report@0.1.0",
        "name": receipt.name.as_str(),
        "version": receipt.version.to_string(),
        "cksum": receipt.cksum.to_string(),
        "index_path": receipt.index_path,
    }))?;
    Ok(0)
}

/// Runs the package's tests (tests/tests.json, when it has one) before it is published, as
/// `cargo publish` builds first; nothing is uploaded unless every test meets its expectation.
fn verify_tests(dir: &std::path::Path) -> Result<(), CliError> {
    let manifest = dir.join(x07_tester::DEFAULT_MANIFEST);
    if !manifest.is_file() {
        return Ok(());
    }
    let skip = "fix them, or pass --no-verify to publish without running them";
    let plan = x07_tester::plan(&x07_tester::TestOptions {
        manifest: Some(manifest.clone()),
        fail_fast: true,
        ..x07_tester::TestOptions::default()
    })
    .map_err(|e| {
        CliError::setup(
            "X07-TEST-0001",
            format!("the package's tests cannot run: {e}"),
        )
        .help(skip)
    })?;
    crate::output::note!(
        "x07: running {} tests of {} before publishing",
        plan.cases.len(),
        manifest.display()
    );
    let home = crate::compile::home()?;
    let store = x07_builder::store::StoreRoot::new(&home);
    let report = x07_tester::run_plan(&plan, &home, &store, env!("CARGO_PKG_VERSION"));
    if x07_tester::exit_code(&report) == 0 {
        return Ok(());
    }
    let missed: Vec<String> = report
        .tests
        .iter()
        .filter(|t| {
            !matches!(
                t.status,
                x07_spec::test_report::Status::Pass
                    | x07_spec::test_report::Status::XfailFail
                    | x07_spec::test_report::Status::Skip
            )
        })
        .map(|t| format!("{} ({:?})", t.id, t.status).to_lowercase())
        .collect();
    Err(CliError::failure(
        "X07-TEST-0003",
        format!(
            "not published: {} of {} tests missed their expectation: {}",
            missed.len(),
            report.tests.len(),
            missed.join(", ")
        ),
    )
    .help(format!("run `x07 test` in the package for details; {skip}")))
}

/// Runs `x07 pkg login`.
pub fn login(args: &PkgLoginArgs) -> CliResult {
    let (index, _) = select_index(&registry(&args.index), None)?;
    let text = match (&args.token, args.token_stdin) {
        (Some(t), _) => t.clone(),
        (None, true) => {
            let mut s = String::new();
            std::io::Read::read_to_string(&mut std::io::stdin(), &mut s).map_err(|e| {
                CliError::setup(
                    "X07-CLI-0001",
                    format!("cannot read the token from standard input: {e}"),
                )
            })?;
            s
        }
        (None, false) => {
            return Err(CliError::setup(
                "X07-CLI-0001",
                "pass --token-stdin (or --token TOKEN)",
            ))
        }
    };
    let token = Token::new(&text).map_err(registry_error)?;
    if !args.no_verify {
        let home = crate::compile::home()?;
        let options = x07_registry_client::ClientOptions {
            token: Some(token.clone()),
            ..Default::default()
        };
        let client = x07_registry_client::RegistryClient::new(index.clone(), home.path(), options)
            .map_err(registry_error)?;
        let (owner, scopes) = client.whoami().map_err(|e| {
            registry_error(e).help("check the token (x07 registry token create prints it once), or pass --no-verify to store it unchecked")
        })?;
        eprintln!(
            "x07 pkg login: the registry knows this token as `{owner}` (scopes: {})",
            scopes.join(", ")
        );
    }
    Credentials::login(&registry_home()?, &index, &token).map_err(registry_error)?;
    crate::output::note!("x07 pkg login: token stored for {}", index.as_str());
    Ok(0)
}

/// Runs `x07 pkg logout`.
pub fn logout(args: &PkgLogoutArgs) -> CliResult {
    let (index, _) = select_index(&registry(&args.index), None)?;
    let had = Credentials::logout(&registry_home()?, &index).map_err(registry_error)?;
    eprintln!(
        "x07 pkg logout: {} {}",
        if had {
            "removed the token of"
        } else {
            "no token was stored for"
        },
        index.as_str()
    );
    Ok(0)
}

/// Runs `x07 pkg yank`.
pub fn yank(args: &PkgYankArgs) -> CliResult {
    let (name, version) = args.package.split_once('@').ok_or_else(|| {
        CliError::setup(
            "X07-PKG-0008",
            format!("`{}` is not NAME@VERSION", args.package),
        )
        .help("e.g. x07 pkg yank ext-net@0.1.0")
    })?;
    let name = package_name(name)?;
    let version = PackageVersion::new(version).map_err(|e| {
        CliError::setup("X07-PKG-0008", format!("`{}`: {e}", args.package))
            .help("yank names one exact version")
    })?;
    let client = authed_client(&args.index)?;
    client
        .yank(&name, &version, !args.undo)
        .map_err(registry_error)?;
    eprintln!(
        "x07 pkg yank: {name} {version} {}",
        if args.undo { "restored" } else { "yanked" }
    );
    Ok(0)
}

/// Runs `x07 pkg owner`.
pub fn owner(args: &PkgOwnerArgs) -> CliResult {
    let name = package_name(&args.name)?;
    let owners = match (&args.add, &args.remove) {
        (Some(login), _) => authed_client(&args.index)?.change_owner(&name, login, true),
        (None, Some(login)) => authed_client(&args.index)?.change_owner(&name, login, false),
        (None, None) => {
            let (url, _) = select_index(&registry(&args.index), None)?;
            client_for(url, false, false)?.owners(&name)
        }
    }
    .map_err(registry_error)?;
    for o in &owners {
        println!("{o}");
    }
    Ok(0)
}
