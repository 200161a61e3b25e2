//! The registry's state and its non-publish operations: authentication, yank, owners, search.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};

use axum::body::Bytes;
use serde_json::{json, Value};
use x07_spec::{PackageName, PackageVersion, Sha256Digest};

use crate::api_error::{ApiError, ErrorCode};
use crate::config::{ConnectionLimits, RegistryConfig};
use crate::index_entry::{IndexEntry, SignedLine as _};
use crate::index_store::IndexStore;
use crate::owners::{OwnerName, OwnersFile};
use crate::recovery::{recover, Recovery};
use crate::root::{RegistryRoot, RootError};
use crate::signing::IndexSigner;
use crate::tokens::{Scope, TokenRecord, TokenStore};

/// Most search results one request may ask for.
const MAX_SEARCH_LIMIT: usize = 100;

/// A response body served from memory with its ETag.
#[derive(Debug, Clone)]
pub struct CachedBody {
    /// The bytes.
    pub body: Bytes,
    /// `"sha256:<hex>"`, quotes included.
    pub etag: String,
}

impl CachedBody {
    /// The canonical bytes of `value`.
    pub(crate) fn of_json(value: &impl serde::Serialize) -> std::io::Result<Self> {
        Ok(Self::new(
            x07_spec::canonical_file_bytes(value).map_err(std::io::Error::other)?,
        ))
    }

    fn new(body: Vec<u8>) -> Self {
        let etag = format!("\"{}\"", Sha256Digest::of(&body));
        Self {
            body: Bytes::from(body),
            etag,
        }
    }
}

/// Everything a running registry holds.
#[derive(Debug)]
pub struct Registry {
    /// config.json as read at start.
    pub config: RegistryConfig,
    /// Timeouts and the connection cap in force (config.json's, or the server config's).
    pub limits: ConnectionLimits,
    /// The index signing key.
    pub signer: IndexSigner,
    /// The index, in memory.
    pub index: IndexStore,
    /// `/index/config.json`.
    pub index_config: CachedBody,
    /// Where publish bodies are streamed to (this process's own directory).
    pub(crate) scratch: PathBuf,
    /// The space all uploads in progress may take together.
    pub(crate) uploads: Arc<crate::upload::UploadBudget>,
    /// Where the registry's state lives.
    pub(crate) backend: Backend,
}

/// The registry's state: one directory, or PostgreSQL plus an object store shared by any number
/// of server processes.
#[derive(Debug)]
pub(crate) enum Backend {
    /// `--root DIR`.
    Dir(DirState),
    /// `--database … --storage …`.
    Shared(crate::shared::SharedHandle),
}

/// The state of a directory registry.
#[derive(Debug)]
pub(crate) struct DirState {
    /// The root directory.
    pub(crate) root: RegistryRoot,
    /// owners.json, in memory; written through on every change.
    pub(crate) owners: Mutex<OwnersFile>,
    tokens: TokenStore,
    /// Held open for the server's lifetime: a second server on the same root is refused.
    _serve_lock: std::fs::File,
    /// Per canonical package name (`_` written `-`): serialises changes to one package.
    package_locks: Mutex<HashMap<String, Arc<Mutex<()>>>>,
    /// Serialises the final step of every publish, where names and module ids are checked
    /// against all packages and the version is stored.
    pub(crate) commit_lock: Mutex<()>,
    /// What start-up recovery found and did (logged once the server listens).
    pub(crate) recovery: Recovery,
}

impl DirState {
    /// The lock serialising every change to one package (publish, yank, owners); names that
    /// differ only by `-` versus `_` share it.
    pub(crate) fn package_lock(&self, name: &PackageName) -> Arc<Mutex<()>> {
        lock(&self.package_locks)
            .entry(name.canonical())
            .or_default()
            .clone()
    }
}

/// Locks a mutex, carrying on after a panic elsewhere (the guarded data is rewritten whole on each change).
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// A 500 saying which file operation failed (the error, with its paths, goes to the log only).
pub(crate) fn io_failure(what: &str, e: std::io::Error) -> ApiError {
    ApiError::internal(what, e)
}

impl Registry {
    /// Initialises the root if needed, loads config, key, owners and index, and removes what an
    /// interrupted publish left behind (see [`crate::recovery`]).
    pub fn open(
        root: RegistryRoot,
        listen_url: &str,
        public_url: Option<&str>,
        official_owners: &[OwnerName],
    ) -> Result<Self, RootError> {
        let serve_lock = root.lock_for_serving()?;
        let (config, signer) = root.open_or_init(listen_url, public_url, official_owners)?;
        let (index, unreadable) = IndexStore::load(&root)?;
        let mut owners = OwnersFile::load(&root.owners_path())?;
        let recovery = recover(&root, &index, &mut owners, unreadable)?;
        let index_config = CachedBody::of_json(&config.index_config_json(&signer))?;
        Ok(Self {
            limits: config.connection_limits(),
            uploads: crate::upload::UploadBudget::new(config.max_pending_upload_bytes),
            config,
            signer,
            index,
            index_config,
            scratch: root.scratch_dir(),
            backend: Backend::Dir(DirState {
                tokens: root.tokens(),
                _serve_lock: serve_lock,
                root,
                owners: Mutex::new(owners),
                package_locks: Mutex::new(HashMap::new()),
                commit_lock: Mutex::new(()),
                recovery,
            }),
        })
    }

    /// Logs what start-up found (recovery of a directory, repairs of a shared registry).
    pub fn log_start(&self) {
        match &self.backend {
            Backend::Dir(d) => d.recovery.log(),
            Backend::Shared(s) => s.log_start(),
        }
    }

    /// A hint naming how tokens are created for this registry.
    fn token_hint(&self) -> &'static str {
        match &self.backend {
            Backend::Dir(_) => "send `Authorization: Bearer x07t_…`; create a token with `x07 registry token create --root DIR`",
            Backend::Shared(_) => "send `Authorization: Bearer x07t_…`; create a token with `x07 registry token create --database URL`",
        }
    }

    /// Checks the bearer token of a request and that it grants `scope`.
    pub fn authenticate(
        &self,
        authorization: Option<&str>,
        scope: Scope,
    ) -> Result<TokenRecord, ApiError> {
        let record = self.identify(authorization)?;
        if !record.allows(scope) {
            return Err(ApiError::new(
                ErrorCode::ScopeMissing,
                format!(
                    "this token lacks the `{}` scope; create one with `--scope {}`",
                    scope.as_str(),
                    scope.as_str()
                ),
            ));
        }
        Ok(record)
    }

    /// The token's record, whatever its scopes (`GET /v1/me`, which `x07 pkg login` checks tokens with).
    pub fn identify(&self, authorization: Option<&str>) -> Result<TokenRecord, ApiError> {
        let hint = self.token_hint();
        let token = authorization
            .and_then(|h| h.split_once(' '))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, t)| t.trim())
            .ok_or_else(|| {
                ApiError::new(ErrorCode::Unauthorized, format!("no bearer token; {hint}"))
            })?;
        let record = match &self.backend {
            Backend::Dir(d) => d
                .tokens
                .lookup(token)
                .map_err(|e| ApiError::internal("reading the token store", e))?,
            Backend::Shared(s) => s.lookup_token(token)?,
        };
        let record = record.ok_or_else(|| {
            ApiError::new(ErrorCode::Unauthorized, format!("unknown token; {hint}"))
        })?;
        Ok(record)
    }

    /// Fails unless `who` owns `name` or is an admin (directory registries).
    fn require_owner(
        dir: &DirState,
        who: &TokenRecord,
        name: &PackageName,
    ) -> Result<(), ApiError> {
        if who.is_admin() || lock(&dir.owners).is_owner(name, &who.owner) {
            Ok(())
        } else {
            Err(not_an_owner(who, name))
        }
    }

    /// The package `name` names, if this registry has it (a version, or a claim on the name).
    fn known_package(&self, name: &str) -> Result<PackageName, ApiError> {
        let not_found = || {
            ApiError::new(
                ErrorCode::NotFound,
                format!("no package `{name}` in this registry"),
            )
        };
        let name = PackageName::new(name).map_err(|_| not_found())?;
        let has_owners = match &self.backend {
            Backend::Dir(d) => !lock(&d.owners).owners_of(&name).is_empty(),
            // A shared registry claims a name in the transaction that stores its first version.
            Backend::Shared(_) => false,
        };
        if has_owners || self.index.get(&name).is_some() {
            Ok(name)
        } else {
            Err(not_found())
        }
    }

    /// Sets the yank flag of a version and re-signs its line.
    pub fn set_yanked(
        &self,
        who: &TokenRecord,
        name: &str,
        version: &str,
        yanked: bool,
    ) -> Result<Value, ApiError> {
        let name = self.known_package(name)?;
        let missing = || no_such_version(&name, version);
        let parsed = PackageVersion::new(version).map_err(|_| missing())?;
        let version = match &self.backend {
            Backend::Shared(s) => s.set_yanked(self, who, &name, &parsed, yanked)?,
            Backend::Dir(d) => {
                let guard = d.package_lock(&name);
                let _held = lock(&guard);
                Self::require_owner(d, who, &name)?;
                let file = self.index.get(&name).ok_or_else(missing)?;
                let current = file.entry(&parsed).ok_or_else(missing)?;
                let version = current.version.as_str().to_string();
                if current.yanked != yanked {
                    let entries = with_yank(&file.entries, &parsed, yanked, &self.signer);
                    self.index
                        .replace(&d.root, &name, entries)
                        .map_err(|e| io_failure("writing the index file", e))?;
                }
                version
            }
        };
        Ok(json!({"ok": true, "name": name.as_str(), "version": version, "yanked": yanked}))
    }

    /// The owners of a package.
    pub fn owners(&self, name: &str) -> Result<Value, ApiError> {
        let name = self.known_package(name)?;
        let owners = self.owners_of(&name)?;
        Ok(json!({"ok": true, "name": name.as_str(), "owners": owners}))
    }

    /// The owners of `name`, sorted.
    fn owners_of(&self, name: &PackageName) -> Result<Vec<OwnerName>, ApiError> {
        match &self.backend {
            Backend::Dir(d) => Ok(lock(&d.owners).owners_of(name).to_vec()),
            Backend::Shared(s) => s.owners_of(name),
        }
    }

    /// Adds (`add`) or removes an owner; the caller must own the package and hold `owner.manage`.
    pub fn change_owner(
        &self,
        who: &TokenRecord,
        name: &str,
        owner: &str,
        add: bool,
    ) -> Result<Value, ApiError> {
        let name = self.known_package(name)?;
        let owner = OwnerName::new(owner)
            .map_err(|e| ApiError::new(ErrorCode::BadRequest, e.to_string()))?;
        let owners = match &self.backend {
            Backend::Shared(s) => s.change_owner(who, &name, owner, add)?,
            Backend::Dir(d) => {
                let guard = d.package_lock(&name);
                let _held = lock(&guard);
                Self::require_owner(d, who, &name)?;
                let mut owners = lock(&d.owners);
                let mut next = owners.clone();
                if add {
                    next.add(&name, owner);
                } else {
                    next.remove(&name, &owner);
                    if next.owners_of(&name).is_empty() {
                        return Err(last_owner(&owner, &name));
                    }
                }
                if next != *owners {
                    next.save(&d.root.owners_path())
                        .map_err(|e| io_failure("writing owners.json", e))?;
                    *owners = next;
                }
                owners.owners_of(&name).to_vec()
            }
        };
        Ok(json!({"ok": true, "name": name.as_str(), "owners": owners}))
    }

    /// Packages whose name or description contains `query` (case-insensitive), by name.
    pub fn search(&self, query: &str, limit: Option<usize>) -> Value {
        let limit = limit.unwrap_or(20).min(MAX_SEARCH_LIMIT);
        let needle = query.to_lowercase();
        let mut hits: Vec<Value> = Vec::new();
        let mut files = self.index.snapshot();
        files.sort_by(|a, b| a.0.cmp(&b.0));
        for (name, file) in files {
            let Some(latest) = file.latest() else {
                continue;
            };
            if name.as_str().contains(&needle)
                || latest.description.to_lowercase().contains(&needle)
            {
                hits.push(json!({"name": name.as_str(), "latest": latest.version.as_str(), "description": latest.description}));
                if hits.len() == limit {
                    break;
                }
            }
        }
        json!({"packages": hits})
    }

    /// A package's versions and owners.
    pub fn package_detail(&self, name: &str) -> Result<Value, ApiError> {
        let name = self.known_package(name)?;
        let file = self.index.get(&name);
        let versions: Vec<Value> = file
            .iter()
            .flat_map(|f| f.entries.iter())
            .map(|e| json!({"version": e.version.as_str(), "cksum": e.cksum, "yanked": e.yanked}))
            .collect();
        let latest = file
            .as_ref()
            .and_then(|f| f.latest())
            .map(|e| e.version.as_str().to_string());
        let owners = self.owners_of(&name)?;
        Ok(
            json!({"ok": true, "name": name.as_str(), "latest": latest, "owners": owners, "versions": versions}),
        )
    }

    /// The stored archive of a published version, opened for streaming: the reader, its
    /// length when known, and its checksum (the ETag). Blocking.
    pub fn archive(
        &self,
        name: &str,
        version: &str,
    ) -> Result<(x07_blob_store::BlobReader, Option<u64>, Sha256Digest), ApiError> {
        let not_found = || {
            ApiError::new(
                ErrorCode::NotFound,
                format!("no version `{version}` of package `{name}`"),
            )
        };
        let name = PackageName::new(name).map_err(|_| not_found())?;
        let version = PackageVersion::new(version).map_err(|_| not_found())?;
        let file = self.index.get(&name).ok_or_else(not_found)?;
        let entry = file.entry(&version).ok_or_else(not_found)?;
        let (reader, len) = match &self.backend {
            Backend::Dir(d) => {
                let path = d.root.archive_path(&name, &entry.version);
                let f = fs_err::File::open(&path)
                    .map_err(|e| io_failure("opening a stored archive", e))?
                    .into_parts()
                    .0;
                let len = f.metadata().ok().map(|m| m.len());
                (Box::new(f) as x07_blob_store::BlobReader, len)
            }
            Backend::Shared(s) => s.open_archive(&name, &entry.version)?,
        };
        Ok((reader, len, entry.cksum))
    }
}

/// The refusal for a caller who does not own `name`.
pub(crate) fn not_an_owner(who: &TokenRecord, name: &PackageName) -> ApiError {
    ApiError::new(
        ErrorCode::NotOwner,
        format!("`{}` is not an owner of package `{name}`", who.owner),
    )
}

/// The refusal for a version a package does not have.
pub(crate) fn no_such_version(name: &PackageName, version: &str) -> ApiError {
    ApiError::new(
        ErrorCode::NotFound,
        format!("package `{name}` has no version `{version}`"),
    )
}

/// The refusal to remove a package's last owner.
pub(crate) fn last_owner(owner: &OwnerName, name: &PackageName) -> ApiError {
    ApiError::new(
        ErrorCode::LastOwner,
        format!("`{owner}` is the last owner of `{name}`; add another owner first"),
    )
}

/// `entries` with the yank flag of `version` set to `yanked` and its line signed again.
pub(crate) fn with_yank(
    entries: &[IndexEntry],
    version: &PackageVersion,
    yanked: bool,
    signer: &IndexSigner,
) -> Vec<IndexEntry> {
    entries
        .iter()
        .map(|e| {
            let mut e = e.clone();
            if &e.version == version && e.yanked != yanked {
                e.yanked = yanked;
                e.sign(signer);
            }
            e
        })
        .collect()
}
