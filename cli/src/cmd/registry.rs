//! `x07 registry serve`, `migrate` and `token create`: run a package registry from a directory, or
//! from PostgreSQL and S3 shared by any number of server processes.
//!
//! `serve` initialises DIR on first start (config.json, keys/signing.key, tokens.json, owners.json),
//! prints `listening on http://ADDR` on stderr and runs until SIGINT/SIGTERM. `token create` prints
//! the new token as the last line of stdout; only its sha256 is stored. Failures are X07-REGISTRY-0001
//! (the server cannot start or stopped with an error), X07-REGISTRY-0002 (the token cannot be
//! created) and X07-REGISTRY-0003 (the migration failed; the database is unchanged), exit 2.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Subcommand};
use x07_blob_store::StoreUrl;
use x07_registry_server::shared::{self, migrate_directory, DatabaseUrl, SharedConfig};
use x07_registry_server::{serve_blocking, OwnerName, RegistryRoot, Scope, ServerConfig, Storage};

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
    /// Serve a registry (sparse index, downloads, publish API) from DIR, or from PostgreSQL + S3 shared by any number of servers, until SIGINT/SIGTERM.
    Serve(ServeArgs),
    /// Move a directory registry into PostgreSQL + S3, every index line and signature intact.
    Migrate(MigrateArgs),
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

/// Where a shared registry keeps its state (`--database` and `--storage`).
#[derive(Debug, Args)]
pub struct SharedArgs {
    /// PostgreSQL for the registry's metadata: postgres://USER@HOST:PORT/DB (password in PGPASSWORD; default: $X07_REGISTRY_DATABASE_URL).
    #[arg(long, value_name = "URL")]
    pub database: Option<String>,
    /// The object store for archives and index files: s3://BUCKET?endpoint=URL&region=NAME (credentials from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY or the shared credentials file).
    #[arg(long, value_name = "URL")]
    pub storage: Option<String>,
}

/// `x07 registry serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The registry directory (created and initialised on first start); or use --database and --storage.
    #[arg(long, value_name = "DIR", required_unless_present_any = ["database", "storage"], conflicts_with_all = ["database", "storage"])]
    pub root: Option<PathBuf>,
    #[command(flatten)]
    pub shared: SharedArgs,
    /// Sign index lines with this ed25519 pkcs8 key (mode 0600) instead of the key kept in the database.
    #[arg(long, value_name = "FILE", requires = "database")]
    pub signing_key: Option<PathBuf>,
    /// Clients download archives and read index files from this URL (a CDN or the bucket's website in front of the bucket's dl/ and index/); the servers keep the API.
    #[arg(long, value_name = "URL", requires = "database")]
    pub cdn_url: Option<String>,
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
    /// Most bytes all publish bodies being received may take together on disk (this run; default 1 GiB, or config.json's).
    #[arg(long, value_name = "BYTES")]
    pub max_pending_upload_bytes: Option<u64>,
}

/// `x07 registry token ...`.
#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create a token and print it as the last line of stdout (it is shown only once).
    Create(TokenCreateArgs),
}

/// `x07 registry migrate`.
#[derive(Debug, Args)]
pub struct MigrateArgs {
    /// The directory registry to move (no server may be running on it; it is not changed).
    #[arg(long, value_name = "DIR")]
    pub from: PathBuf,
    /// The target PostgreSQL database (empty of packages; password in PGPASSWORD; default: $X07_REGISTRY_DATABASE_URL).
    #[arg(long = "to-database", value_name = "URL")]
    pub to_database: Option<String>,
    /// The target object store: s3://BUCKET?endpoint=URL&region=NAME.
    #[arg(long = "to-storage", value_name = "URL")]
    pub to_storage: String,
}

/// `x07 registry token create`.
#[derive(Debug, Args)]
pub struct TokenCreateArgs {
    /// The registry directory.
    #[arg(
        long,
        value_name = "DIR",
        required_unless_present = "database",
        conflicts_with = "database"
    )]
    pub root: Option<PathBuf>,
    /// A shared registry's PostgreSQL database instead (default: $X07_REGISTRY_DATABASE_URL).
    #[arg(long, value_name = "URL")]
    pub database: Option<String>,
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
        RegistryCommand::Migrate(args) => migrate(args),
        RegistryCommand::Token(TokenCommand::Create(args)) => create_token(args),
        RegistryCommand::Trust(args) => trust(args),
    }
}

/// The database URL of `--database` (which may not carry a password: command lines are visible
/// to every user in `ps`) or of `$X07_REGISTRY_DATABASE_URL`.
fn database_url(
    flag: &str,
    given: Option<&str>,
    code: &'static str,
) -> Result<DatabaseUrl, CliError> {
    let fail = |m: String| CliError::setup(code, m);
    let text = match given {
        Some(t) => {
            if DatabaseUrl::text_has_password(t) {
                return Err(fail(format!(
                    "{flag}: a password on the command line is visible to every user (ps, shell history); put it in PGPASSWORD or give the whole URL in X07_REGISTRY_DATABASE_URL"
                )));
            }
            t.to_string()
        }
        None => std::env::var("X07_REGISTRY_DATABASE_URL").map_err(|_| {
            fail(format!(
                "{flag} URL is missing (or set X07_REGISTRY_DATABASE_URL)"
            ))
        })?,
    };
    DatabaseUrl::parse(&text).map_err(|e| fail(e.to_string()))
}

fn storage_url(flag: &str, text: &str, code: &'static str) -> Result<StoreUrl, CliError> {
    StoreUrl::parse(text).map_err(|e| CliError::setup(code, format!("{flag}: {e}")))
}

fn serve(args: &ServeArgs) -> CliResult {
    const CODE: &str = "X07-REGISTRY-0001";
    let storage = match &args.root {
        Some(root) => Storage::Dir(root.clone()),
        None => {
            let database = database_url("--database", args.shared.database.as_deref(), CODE)?;
            let storage = args.shared.storage.as_deref().ok_or_else(|| {
                CliError::setup(CODE, "--storage s3://BUCKET?endpoint=…&region=… is needed with --database (archives and index files live there)")
            })?;
            Storage::Shared(SharedConfig {
                database,
                storage: storage_url("--storage", storage, CODE)?,
                signing_key: args.signing_key.clone(),
                cdn_url: args.cdn_url.clone(),
            })
        }
    };
    let mut config = ServerConfig::new(PathBuf::new(), args.addr);
    config.storage = storage;
    config.public_url.clone_from(&args.public_url);
    config.max_pending_upload_bytes = args.max_pending_upload_bytes;
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
    let scope_list: Vec<&str> = scopes.iter().map(|s| s.as_str()).collect();
    let (token, place) = match &args.root {
        Some(root) => {
            let root = RegistryRoot::new(root);
            let token = root
                .tokens()
                .create(owner.clone(), scopes.clone())
                .map_err(|e| fail(e.to_string()))?;
            (token, root.tokens().path().display().to_string())
        }
        None => {
            let url = database_url("--database", args.database.as_deref(), "X07-REGISTRY-0002")?;
            let token = shared::create_token(&url, owner.clone(), scopes.clone())
                .map_err(|e| fail(e.to_string()))?;
            (token, format!("{url}"))
        }
    };
    eprintln!(
        "created a token for owner `{owner}` with scopes {} (stored hashed in {place}; it is not shown again)",
        scope_list.join(", "),
    );
    println!("{}", token.as_str());
    Ok(0)
}

fn migrate(args: &MigrateArgs) -> CliResult {
    const CODE: &str = "X07-REGISTRY-0003";
    let database = database_url("--to-database", args.to_database.as_deref(), CODE)?;
    let storage = storage_url("--to-storage", &args.to_storage, CODE)?;
    let report = migrate_directory(&args.from, &database, &storage)
        .map_err(|e| CliError::setup(CODE, e.to_string()))?;
    eprintln!(
        "moved {} packages ({} versions, {} archives, {} tokens) from {} to {database} and {storage}; signing key {} kept",
        report.packages,
        report.versions,
        report.archives,
        report.tokens,
        args.from.display(),
        report.key_id
    );
    let mut value =
        serde_json::to_value(&report).map_err(|e| CliError::setup(CODE, e.to_string()))?;
    if let Some(obj) = value.as_object_mut() {
        obj.insert(
            "schema_version".into(),
            serde_json::Value::String("x07.registry.migrate@0.1.0".into()),
        );
    }
    crate::cmd::pkg::print_json(&value)?;
    Ok(0)
}
