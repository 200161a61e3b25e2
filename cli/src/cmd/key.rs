//! `x07 key generate`: an ed25519 key for signing lockfiles (`x07 pkg lock --sign`) and bundle
//! provenance (`x07 bundle`), with its public half written beside it as `<path>.pub`.

use std::path::PathBuf;

use clap::{Args, Subcommand};
use x07_lock::{KeyFormat, SigningKey};

use crate::error::{CliError, CliResult};

/// `x07 key ...`.
#[derive(Debug, Subcommand)]
pub enum KeyCommand {
    /// Generate a new signing key (mode 0600; never overwrites), write its public key to <path>.pub, print its id.
    Generate(KeyGenerateArgs),
}

/// `x07 key generate`.
#[derive(Debug, Args)]
pub struct KeyGenerateArgs {
    /// Where to write the key; default: $X07_HOME/keys/lock-signing.pem.
    #[arg(long, value_name = "PATH")]
    pub out: Option<PathBuf>,
    /// Print the x07.key.generate.report@0.1.0 JSON instead of lines for people.
    #[arg(long)]
    pub json: bool,
}

/// Runs `x07 key ...`.
pub fn run(command: &KeyCommand) -> CliResult {
    match command {
        KeyCommand::Generate(args) => {
            let path = match &args.out {
                Some(p) => p.clone(),
                None => crate::compile::home()?.path().join("keys/lock-signing.pem"),
            };
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                fs_err::create_dir_all(dir)
                    .map_err(|e| CliError::setup("X07-KEY-0001", e.to_string()))?;
            }
            let key = SigningKey::generate();
            key.save(&path, KeyFormat::Pkcs8Pem).map_err(|e| {
                CliError::setup("X07-KEY-0001", e.to_string())
                    .help("choose another --out, or remove the old key deliberately")
            })?;
            // the public half beside it: what `x07 bundle verify --key` and trust lists take
            let mut public = path.as_os_str().to_owned();
            public.push(".pub");
            let public = PathBuf::from(public);
            x07_spec::write_atomic(
                &public,
                format!("{}\n", key.verifying_key().to_base64()).as_bytes(),
            )
            .map_err(|e| {
                CliError::setup(
                    "X07-KEY-0001",
                    format!("cannot write {}: {e}", public.display()),
                )
            })?;
            let report = serde_json::json!({
                "schema_version": "x07.key.generate.report@0.1.0",
                "path": path.display().to_string(),
                "public_key_path": public.display().to_string(),
                "key_id": key.key_id().as_str(),
                "public_key": key.verifying_key().to_base64(),
            });
            if args.json {
                let bytes = x07_spec::canonical_file_bytes(&report)
                    .map_err(|e| CliError::setup("X07-KEY-0001", e.to_string()))?;
                print!("{}", String::from_utf8_lossy(&bytes));
            } else {
                println!(
                    "wrote {} (mode 0600), key id {}",
                    path.display(),
                    key.key_id()
                );
                println!(
                    "public key: {} (give this file to whoever verifies: x07 bundle verify --key, x07 pkg verify-lock --key)",
                    public.display()
                );
            }
            Ok(0)
        }
    }
}
