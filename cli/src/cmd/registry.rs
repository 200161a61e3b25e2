//! `x07 registry serve` and `x07 registry token create`: run a package registry from a directory.
//!
//! `serve` initialises DIR on first start (config.json, keys/signing.key, tokens.json, owners.json),
//! prints `listening on http://ADDR` on stderr and runs until SIGINT/SIGTERM. `token create` prints
//! the new token as the last line of stdout; only its sha256 is stored. Failures are X07-REGISTRY-0001
//! (the server cannot start or stopped with an error) and X07-REGISTRY-0002 (the token cannot be
//! created), exit 2.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Subcommand};
use x07_registry_server::{serve_blocking, OwnerName, RegistryRoot, Scope, ServerConfig};

use crate::cmd::pkg::{plain_client, registry_error, RegistryArgs};
use crate::error::{CliError, CliResult};

fn trust(args: &TrustArgs) -> CliResult {
    let client = plain_client(
        &RegistryArgs {
            index: args.index.clone(),
            offline: args.key.is_some(),
        },
        false,
    )?;
    let key = match &args.key {
        Some(k) => {
            let pinned = client.trust(k).map_err(registry_error)?;
            eprintln!(
                "x07 registry trust: {} now trusts key {}",
                client.index_url().as_str(),
                pinned.key_id
            );
            pinned
        }
        None => client.pinned_key().map_err(registry_error)?,
    };
    crate::cmd::pkg::print_json(&serde_json::json!({
        "schema_version": "x07.registry.trust@0.1.0",
        "index_url": client.index_url().as_str(),
        "key_id": key.key_id,
        "public_key": key.public_key,
    }))?;
    Ok(0)
}

/// `x07 registry ...`.
#[derive(Debug, Subcommand)]
pub enum RegistryCommand {
    /// Serve a registry (sparse index, downloads, publish API) from DIR until SIGINT/SIGTERM.
    Serve(ServeArgs),
    /// Manage API tokens.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Pin a registry's signing key (replacing the key pinned on first use), or show the pinned key.
    Trust(TrustArgs),
}

/// `x07 registry trust`.
#[derive(Debug, Args)]
pub struct TrustArgs {
    /// The registry index.
    #[arg(long, value_name = "URL")]
    pub index: Option<String>,
    /// The registry's ed25519 public key, standard base64 (the `signing.public_key` of its config.json,
    /// obtained out of band). Without it, the pinned key is printed.
    #[arg(long, value_name = "BASE64")]
    pub key: Option<String>,
}

/// `x07 registry serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The registry directory (created and initialised on first start).
    #[arg(long, value_name = "DIR")]
    pub root: PathBuf,
    /// Address to listen on, e.g. 127.0.0.1:8080 (port 0 picks a free port).
    #[arg(long, value_name = "IP:PORT")]
    pub addr: SocketAddr,
    /// The base URL clients reach the server at, if not http://ADDR (behind a proxy); remembered in DIR/config.json.
    #[arg(long, value_name = "URL")]
    pub public_url: Option<String>,
    /// Let this owner publish packages with `std.*` modules (repeatable; remembered in DIR/config.json).
    #[arg(long = "official-owner", value_name = "NAME")]
    pub official_owners: Vec<String>,
    /// Seconds a client has to send a request's headers (this run; default: config.json's).
    #[arg(long, value_name = "SECS")]
    pub header_timeout: Option<u64>,
    /// Longest wait in seconds for the next piece of a request body (this run).
    #[arg(long, value_name = "SECS")]
    pub body_timeout: Option<u64>,
    /// Seconds after which a silent connection is closed (this run).
    #[arg(long, value_name = "SECS")]
    pub idle_timeout: Option<u64>,
    /// Seconds a whole publish body must arrive within (this run).
    #[arg(long, value_name = "SECS")]
    pub publish_timeout: Option<u64>,
    /// Most connections served at once (this run).
    #[arg(long, value_name = "N")]
    pub max_connections: Option<usize>,
}

/// `x07 registry token ...`.
#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create a token and print it as the last line of stdout (it is shown only once).
    Create(TokenCreateArgs),
}

/// `x07 registry token create`.
#[derive(Debug, Args)]
pub struct TokenCreateArgs {
    /// The registry directory.
    #[arg(long, value_name = "DIR")]
    pub root: PathBuf,
    /// What the token may do (repeatable): publish (publish, yank), owner.manage (add/remove owners), admin (everything).
    #[arg(long = "scope", value_name = "SCOPE", value_parser = ["publish", "owner.manage", "admin"], default_value = "publish")]
    pub scopes: Vec<String>,
    /// The owner (account) the token acts as; the first publisher of a package name owns it.
    #[arg(long, value_name = "NAME", default_value = "local")]
    pub owner: String,
}

/// Runs `x07 registry ...`.
pub fn run(cmd: &RegistryCommand) -> CliResult {
    match cmd {
        RegistryCommand::Serve(args) => serve(args),
        RegistryCommand::Token(TokenCommand::Create(args)) => create_token(args),
        RegistryCommand::Trust(args) => trust(args),
    }
}

fn serve(args: &ServeArgs) -> CliResult {
    let mut config = ServerConfig::new(&args.root, args.addr);
    config.public_url.clone_from(&args.public_url);
    config.limit_overrides = x07_registry_server::LimitOverrides {
        header_timeout_secs: args.header_timeout,
        body_timeout_secs: args.body_timeout,
        idle_timeout_secs: args.idle_timeout,
        publish_timeout_secs: args.publish_timeout,
        max_connections: args.max_connections,
    };
    for name in &args.official_owners {
        let owner = OwnerName::new(name.as_str()).map_err(|e| {
            CliError::setup("X07-REGISTRY-0001", format!("--official-owner {name}: {e}"))
        })?;
        config.official_owners.push(owner);
    }
    serve_blocking(config).map_err(|e| CliError::setup("X07-REGISTRY-0001", e.to_string()))?;
    Ok(0)
}

fn create_token(args: &TokenCreateArgs) -> CliResult {
    let fail = |message: String| CliError::setup("X07-REGISTRY-0002", message);
    let owner = OwnerName::new(args.owner.as_str()).map_err(|e| fail(format!("--owner: {e}")))?;
    // clap restricts the values to the known scopes.
    let scopes: Vec<Scope> = args.scopes.iter().filter_map(|s| Scope::parse(s)).collect();
    let root = RegistryRoot::new(&args.root);
    let token = root
        .tokens()
        .create(owner.clone(), scopes.clone())
        .map_err(|e| fail(e.to_string()))?;
    let scope_list: Vec<&str> = scopes.iter().map(|s| s.as_str()).collect();
    eprintln!(
        "created a token for owner `{owner}` with scopes {} (stored hashed in {}; it is not shown again)",
        scope_list.join(", "),
        root.tokens().path().display()
    );
    println!("{}", token.as_str());
    Ok(0)
}
