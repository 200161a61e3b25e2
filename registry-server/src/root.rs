//! The registry root directory: its layout, and initialisation on first start.

use std::path::{Path, PathBuf};

use x07_spec::{PackageName, PackageVersion};

use crate::config::{BaseUrlSource, RegistryConfig};
use crate::index_entry::shard_path;
use crate::owners::OwnersFile;
use crate::signing::IndexSigner;
use crate::tokens::{TokenError, TokenStore};
use crate::OwnerName;

/// Setting up or reading the registry root failed.
#[derive(Debug, thiserror::Error)]
pub enum RootError {
    /// A file operation failed (the error names the path).
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// A JSON file of the root is invalid.
    #[error("{0}: invalid JSON ({1}); fix the file or restore it from a backup")]
    Json(PathBuf, serde_json::Error),
    /// config.json has a schema this server does not know.
    #[error("{0}: schema_version `{1}` is not x07.registry-config@0.1.0")]
    ConfigSchema(PathBuf, String),
    /// The signing key is readable by group or others.
    #[error("{0}: the signing key must not be readable by group or others; run `chmod 600` on it")]
    KeyPermissions(PathBuf),
    /// The signing key file cannot be decoded.
    #[error("{0}: not an ed25519 pkcs8 key ({1}); restore the key (changing it invalidates clients' pinned key)")]
    KeyUnreadable(PathBuf, String),
    /// The token store is unusable.
    #[error(transparent)]
    Tokens(#[from] TokenError),
    /// Another server already serves this root.
    #[error("{0}: another `x07 registry serve` is already running on this root; stop it first (one server per root keeps the in-memory index exact)")]
    InUse(PathBuf),
}

/// A registry root directory (see docs/internals/packages.md for the layout).
#[derive(Debug, Clone)]
pub struct RegistryRoot {
    dir: PathBuf,
}

impl RegistryRoot {
    /// Wraps a root directory path (nothing is read or created).
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    /// The root directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// `DIR/config.json`.
    pub fn config_path(&self) -> PathBuf {
        self.dir.join("config.json")
    }

    /// `DIR/keys/signing.key`.
    pub fn signing_key_path(&self) -> PathBuf {
        self.dir.join("keys").join("signing.key")
    }

    /// `DIR/owners.json`.
    pub fn owners_path(&self) -> PathBuf {
        self.dir.join("owners.json")
    }

    /// `DIR/tmp`: scratch space for checking uploads, emptied on every start.
    pub fn scratch_dir(&self) -> PathBuf {
        self.dir.join("tmp")
    }

    /// `DIR/index`.
    pub fn index_dir(&self) -> PathBuf {
        self.dir.join("index")
    }

    /// `DIR/index/<shard>/<name>`.
    pub fn index_file(&self, name: &PackageName) -> PathBuf {
        self.index_dir().join(shard_path(name))
    }

    /// `DIR/dl`: the archives.
    pub fn dl_dir(&self) -> PathBuf {
        self.dir.join("dl")
    }

    /// `DIR/dl/<name>/<version>.x07pkg`.
    pub fn archive_path(&self, name: &PackageName, version: &PackageVersion) -> PathBuf {
        self.dl_dir()
            .join(name.as_str())
            .join(format!("{}.x07pkg", version.as_str()))
    }

    /// The token store of this root.
    pub fn tokens(&self) -> TokenStore {
        TokenStore::new(&self.dir)
    }

    /// Takes the root's server lock (`DIR/.serve.lock`), held as long as the returned file is open.
    pub fn lock_for_serving(&self) -> Result<std::fs::File, RootError> {
        fs_err::create_dir_all(&self.dir)?;
        let path = self.dir.join(".serve.lock");
        let file = fs_err::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)?
            .into_file();
        match file.try_lock() {
            Ok(()) => Ok(file),
            Err(std::fs::TryLockError::WouldBlock) => Err(RootError::InUse(self.dir.clone())),
            Err(std::fs::TryLockError::Error(e)) => Err(RootError::Io(e)),
        }
    }

    /// Reads config.json, or `None` if the root was never started.
    pub fn read_config(&self) -> Result<Option<RegistryConfig>, RootError> {
        let path = self.config_path();
        let bytes = match fs_err::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        let config: RegistryConfig =
            serde_json::from_slice(&bytes).map_err(|e| RootError::Json(path.clone(), e))?;
        if config.schema_version != crate::config::REGISTRY_CONFIG_SCHEMA {
            return Err(RootError::ConfigSchema(path, config.schema_version));
        }
        Ok(Some(config))
    }

    /// Writes config.json atomically in canonical form.
    pub fn write_config(&self, config: &RegistryConfig) -> Result<(), RootError> {
        let bytes = x07_spec::canonical_file_bytes(config).map_err(std::io::Error::other)?;
        x07_spec::write_if_changed(&self.config_path(), &bytes)?;
        Ok(())
    }

    /// Creates what is missing (directories, config.json, signing key, tokens.json, owners.json) and
    /// brings `base_url` up to date: `public_url` if given, else the listen address unless an earlier
    /// `--public-url` set it.
    pub fn open_or_init(
        &self,
        listen_url: &str,
        public_url: Option<&str>,
        official_owners: &[OwnerName],
    ) -> Result<(RegistryConfig, IndexSigner), RootError> {
        // Scratch left by a crash mid-publish is garbage: nothing refers to it.
        if self.scratch_dir().exists() {
            fs_err::remove_dir_all(self.scratch_dir())?;
        }
        for dir in [
            self.dir.clone(),
            self.dir.join("keys"),
            self.index_dir(),
            self.dir.join("dl"),
            self.scratch_dir(),
        ] {
            fs_err::create_dir_all(&dir)?;
        }
        let wanted = match public_url {
            Some(url) => (
                url.trim_end_matches('/').to_string(),
                BaseUrlSource::PublicUrl,
            ),
            None => (
                listen_url.trim_end_matches('/').to_string(),
                BaseUrlSource::Addr,
            ),
        };
        let mut config = match self.read_config()? {
            None => RegistryConfig::initial(wanted.0, wanted.1),
            Some(mut c) => {
                if public_url.is_some() || c.base_url_source == BaseUrlSource::Addr {
                    (c.base_url, c.base_url_source) = wanted;
                }
                c
            }
        };
        for owner in official_owners {
            if !config.official_owners.contains(owner) {
                config.official_owners.push(owner.clone());
            }
        }
        self.write_config(&config)?;
        let signer = IndexSigner::load_or_generate(&self.signing_key_path())?;
        self.tokens().ensure_exists()?;
        let owners_path = self.owners_path();
        if !owners_path.exists() {
            OwnersFile::default().save(&owners_path)?;
        }
        Ok((config, signer))
    }
}
