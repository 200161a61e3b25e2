//! A registry shared by any number of server processes: metadata (packages, versions, owners,
//! token hashes, yanks, the signing key and settings) in PostgreSQL, archives and the signed index
//! files in an object store (S3). A publish commits in one transaction under an advisory lock, so
//! it is exactly-once across processes; every process keeps the index in memory and learns of
//! changes through LISTEN/NOTIFY; the object store's copy of each index file is written after the
//! commit and repaired by any process that finds it behind (after a crash mid-publish).
//!
//! Object layout: `index/config.json`, `index/<shard path>`, `dl/<name>/<version>/download` (the
//! same paths clients request, so the bucket or a CDN in front of it can serve them directly).

mod database;
mod migrate_dir;
mod ops;
mod publish;
mod schema;
mod settings;
mod sync;

pub use database::DatabaseUrl;
pub use migrate_dir::{migrate_directory, MigrationReport};
pub use ops::create_token;

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use deadpool_postgres::Pool;
use x07_blob_store::{BlobError, BlobStore, StoreUrl};
use x07_spec::{PackageName, PackageVersion};

use crate::api_error::{ApiError, ErrorCode};
use crate::config::RegistryConfig;
use crate::index_store::IndexStore;
use crate::owners::OwnerName;
use crate::registry::{Backend, CachedBody, Registry};

/// How to reach a shared registry's state.
#[derive(Debug, Clone)]
pub struct SharedConfig {
    /// The PostgreSQL database.
    pub database: DatabaseUrl,
    /// The object store (`s3://BUCKET?endpoint=…&region=…`).
    pub storage: StoreUrl,
    /// `--signing-key FILE`: sign with this key instead of the one kept in the database.
    pub signing_key: Option<PathBuf>,
    /// `--cdn-url URL`: clients download archives (config.json `dl`) from here, where the
    /// bucket's `dl/` is served; the index files are at `URL/index/`.
    pub cdn_url: Option<String>,
}

/// Why a shared registry cannot start or an operation on it failed.
#[derive(Debug, thiserror::Error)]
pub enum SharedError {
    /// The database URL is malformed.
    #[error("--database {url}: {why}")]
    DatabaseUrl {
        /// The URL, password hidden.
        url: String,
        /// What is wrong.
        why: String,
    },
    /// A database operation failed.
    #[error("database {url}: {what} failed: {why}")]
    Database {
        /// The URL, password hidden.
        url: String,
        /// What was being done.
        what: &'static str,
        /// The server's or the driver's error.
        why: String,
    },
    /// The database was set up by a newer x07.
    #[error("database {url}: its registry schema is at migration {found}, newer than this x07 knows ({known}); upgrade x07")]
    SchemaTooNew {
        /// The URL, password hidden.
        url: String,
        /// The migration found.
        found: i32,
        /// The newest migration this x07 has.
        known: i32,
    },
    /// The object store failed.
    #[error("--storage: {0}")]
    Storage(#[from] BlobError),
    /// The database holds something this x07 cannot use.
    #[error("database {url}: {why}")]
    BadState {
        /// The URL, password hidden.
        url: String,
        /// What is wrong and what to do.
        why: String,
    },
    /// A local file (the signing key, a directory registry being migrated) is unusable.
    #[error("{0}")]
    Root(#[from] crate::root::RootError),
}

impl From<SharedError> for ApiError {
    fn from(e: SharedError) -> Self {
        ApiError::unavailable(e.to_string())
    }
}

/// What a running shared registry holds besides what every registry holds.
#[derive(Debug)]
pub(crate) struct SharedState {
    url: DatabaseUrl,
    pool: Pool,
    bucket: Arc<BlobStore>,
    rt: tokio::runtime::Handle,
    index: IndexStore,
    /// Packages whose object-store index was behind at start and was written again.
    repaired_at_start: Mutex<Vec<PackageName>>,
}

/// Connects, migrates, loads the index and starts the change listener and the repair task.
pub(crate) async fn open(
    config: &SharedConfig,
    listen_url: &str,
    public_url: Option<&str>,
    official_owners: &[OwnerName],
) -> Result<Registry, SharedError> {
    let url = config.database.clone();
    let storage = config.storage.clone();
    let bucket = tokio::task::spawn_blocking(move || -> Result<BlobStore, BlobError> {
        let store = BlobStore::open(&storage)?;
        store.list("index/config.json")?;
        Ok(store)
    })
    .await
    .map_err(|e| SharedError::BadState {
        url: url.to_string(),
        why: e.to_string(),
    })??;
    let bucket = Arc::new(bucket);
    let (mut client, connection) = url.connect().await?;
    tokio::spawn(async move {
        let _ = connection.await;
    });
    let applied = database::migrate(&mut client, &url).await?;
    if !applied.is_empty() {
        tracing::info!(?applied, "applied registry migrations");
    }
    let signer = settings::signer(&client, &url, config.signing_key.as_deref()).await?;
    let mut registry_config = settings::registry_config(&mut client, &url, official_owners).await?;
    drop(client);
    let (base, source) = match public_url {
        Some(u) => (u, crate::config::BaseUrlSource::PublicUrl),
        None => (listen_url, crate::config::BaseUrlSource::Addr),
    };
    registry_config.base_url = base.trim_end_matches('/').to_string();
    registry_config.base_url_source = source;
    let mut index_config = registry_config.index_config_json(&signer);
    if let Some(cdn) = &config.cdn_url {
        index_config.dl = format!("{}/dl/", cdn.trim_end_matches('/'));
    }
    let index_config = CachedBody::of_json(&index_config).map_err(|e| SharedError::BadState {
        url: url.to_string(),
        why: e.to_string(),
    })?;
    let pool = url.pool()?;
    let index = IndexStore::default();
    let state = SharedState {
        url: url.clone(),
        pool,
        bucket,
        rt: tokio::runtime::Handle::current(),
        index: index.clone(),
        repaired_at_start: Mutex::new(Vec::new()),
    };
    state.load_all().await?;
    let state = Arc::new(state);
    let repaired = {
        let state = state.clone();
        let config_body = index_config.body.clone();
        tokio::task::spawn_blocking(move || -> Result<Vec<PackageName>, SharedError> {
            state.put_if_changed("index/config.json", &config_body)?;
            state.repair_bucket()
        })
        .await
        .map_err(|e| SharedError::BadState {
            url: url.to_string(),
            why: e.to_string(),
        })??
    };
    *state
        .repaired_at_start
        .lock()
        .unwrap_or_else(|p| p.into_inner()) = repaired;
    sync::spawn_listener(state.clone());
    sync::spawn_repairer(state.clone());
    remove_dead_scratch_dirs();
    let scratch_dir = tempfile::Builder::new()
        .prefix(&format!("{SCRATCH_PREFIX}{}-", std::process::id()))
        .tempdir()
        .map_err(|e| SharedError::BadState {
            url: url.to_string(),
            why: format!("cannot create a directory for uploads: {e}"),
        })?;
    let scratch = scratch_dir.path().to_path_buf();
    Ok(Registry {
        limits: registry_config.connection_limits(),
        uploads: crate::upload::UploadBudget::new(registry_config.max_pending_upload_bytes),
        config: registry_config,
        signer,
        index,
        index_config,
        scratch,
        backend: Backend::Shared(SharedHandle {
            state,
            _scratch: scratch_dir,
        }),
    })
}

/// The shared state as the registry holds it (the listener and repair tasks hold it too), and
/// this process's upload directory (removed when the registry is dropped).
#[derive(Debug)]
pub(crate) struct SharedHandle {
    state: Arc<SharedState>,
    _scratch: tempfile::TempDir,
}

/// The name prefix of a shared server's upload directory in the temp dir (then `<pid>-`).
const SCRATCH_PREFIX: &str = "x07-registry-uploads-";

/// Removes the upload directories of shared servers that were killed (their pid is gone): a
/// killed server cannot clean up after itself, the next one on this machine does.
fn remove_dead_scratch_dirs() {
    let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(rest) = name.to_str().and_then(|n| n.strip_prefix(SCRATCH_PREFIX)) else {
            continue;
        };
        let Some(pid) = rest.split('-').next().and_then(|p| p.parse::<u32>().ok()) else {
            continue;
        };
        if !std::path::Path::new(&format!("/proc/{pid}")).exists() {
            if let Err(e) = std::fs::remove_dir_all(entry.path()) {
                tracing::warn!(dir = %entry.path().display(), "cannot remove a dead server's upload directory: {e}");
            }
        }
    }
}

impl std::ops::Deref for SharedHandle {
    type Target = SharedState;
    fn deref(&self) -> &SharedState {
        &self.state
    }
}

impl SharedHandle {
    /// Logs what start-up repaired.
    pub(crate) fn log_start(&self) {
        let repaired = self
            .state
            .repaired_at_start
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        for name in repaired.iter() {
            tracing::info!(package = %name, "wrote the object store's index file, which was behind the database (a publish was interrupted)");
        }
        tracing::info!(database = %self.state.url, storage = %self.state.bucket.describe(), "serving a shared registry");
    }
}

/// The object key of an index file.
pub(crate) fn index_key(name: &PackageName) -> String {
    format!("index/{}", crate::index_entry::shard_path(name))
}

/// The object key of an archive (the path clients download from, under `dl/`).
pub(crate) fn archive_key(name: &PackageName, version: &PackageVersion) -> String {
    format!("dl/{}/{}/download", name.as_str(), version.as_str())
}

/// The 503 for an object store that failed.
pub(crate) fn storage_unavailable(e: BlobError) -> ApiError {
    tracing::error!("object store: {e}");
    ApiError::new(
        ErrorCode::Unavailable,
        format!("the registry's object store failed ({e}); nothing was changed, try again later"),
    )
}

/// Whether `RegistryConfig` may be stored as the shared settings.
pub(crate) fn stored_config(config: &RegistryConfig) -> RegistryConfig {
    let mut c = config.clone();
    c.base_url = String::new();
    c.base_url_source = crate::config::BaseUrlSource::Addr;
    c
}
