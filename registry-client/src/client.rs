//! [`RegistryClient`]: one registry (index URL) seen from one `$X07_HOME`: its config and pinned key,
//! verified index entries with a conditional-request cache, and verified archive downloads.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use reqwest::Url;
use x07_spec::{PackageName, PackageVersion, Sha256Digest};

use crate::archive_cache::{ArchiveCache, Lookup, PendingArchive};
use crate::credentials::Token;
use crate::error::{ChecksumMismatch, RegistryError};
use crate::home::RegistryHome;
use crate::http::{Auth, Fetched, Http, RetryPolicy};
use crate::index_cache::{CachedFile, IndexCache};
use crate::index_entry::{shard_path, IndexEntry};
use crate::index_url::{IndexLocation, IndexUrl};
use crate::limits::{read_file_capped, Cap, MAX_CONFIG_BYTES, MAX_INDEX_FILE_BYTES};
use crate::pinning::{PinnedKey, TrustStore};
use crate::progress::DownloadProgress;
use crate::registry_config::RegistryConfig;

/// The largest archive accepted: the archive format caps unpacked contents at 64 MiB, and
/// compression only shrinks them.
pub const MAX_ARCHIVE_BYTES: u64 = 64 * 1024 * 1024;

/// How a client behaves.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// Use only what is cached; never touch the network.
    pub offline: bool,
    /// The registry token (for publish, yank, owners, and registries that require auth).
    pub token: Option<Token>,
    /// Retries of transient network failures.
    pub retry: RetryPolicy,
    /// Draw download progress bars (only ever when stderr is a terminal).
    pub progress: bool,
    /// Largest index file read (from the registry, a mirror or the cache), in bytes.
    pub max_index_file_bytes: u64,
    /// Largest `config.json` read, in bytes.
    pub max_config_bytes: u64,
}

impl Default for ClientOptions {
    fn default() -> Self {
        Self {
            offline: false,
            token: None,
            retry: RetryPolicy::default(),
            progress: true,
            max_index_file_bytes: MAX_INDEX_FILE_BYTES,
            max_config_bytes: MAX_CONFIG_BYTES,
        }
    }
}

/// Where an archive returned by [`RegistryClient::fetch_archive`] came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ArchiveOrigin {
    /// The cache already held it (re-hashed just now).
    Cache,
    /// Downloaded now.
    Downloaded,
    /// The cached file had been modified (it hashed to `found`); it was removed and downloaded again.
    Replaced {
        /// What the modified file hashed to.
        found: Sha256Digest,
    },
}

/// A verified archive in the cache.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchedArchive {
    /// `$X07_HOME/cache/sha256/<hex>.x07pkg`.
    pub path: PathBuf,
    /// Where it came from.
    pub origin: ArchiveOrigin,
}

/// The registry's config and the key its lines are checked against.
#[derive(Debug)]
struct Known {
    config: Option<RegistryConfig>,
    key: PinnedKey,
}

/// A client of one registry.
pub struct RegistryClient {
    index: IndexUrl,
    home: RegistryHome,
    options: ClientOptions,
    http: OnceLock<Http>,
    index_cache: IndexCache,
    archives: ArchiveCache,
    trust: TrustStore,
    known: Mutex<Option<Arc<Known>>>,
    /// Warnings already given (each is given once per client).
    warned: Mutex<HashSet<String>>,
}

impl std::fmt::Debug for RegistryClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RegistryClient")
            .field("index", &self.index)
            .field("offline", &self.options.offline)
            .finish_non_exhaustive()
    }
}

impl RegistryClient {
    /// A client of `index` keeping its state under `home_dir` (`$X07_HOME`). Temp files left by
    /// downloads of processes that died are removed here.
    pub fn new(
        index: IndexUrl,
        home_dir: &Path,
        options: ClientOptions,
    ) -> Result<Self, RegistryError> {
        let home = RegistryHome::new(home_dir);
        let archives = ArchiveCache::new(home.archive_cache_dir());
        archives.remove_abandoned()?;
        Ok(Self {
            index_cache: IndexCache::new(home.index_cache_dir(&index)),
            trust: TrustStore::new(home.clone()),
            index,
            home,
            options,
            http: OnceLock::new(),
            archives,
            known: Mutex::new(None),
            warned: Mutex::new(HashSet::new()),
        })
    }

    /// The registry's index URL.
    pub fn index_url(&self) -> &IndexUrl {
        &self.index
    }

    /// The `$X07_HOME` layout in use.
    pub fn home(&self) -> &RegistryHome {
        &self.home
    }

    /// Whether the client is offline.
    pub fn is_offline(&self) -> bool {
        self.options.offline
    }

    pub(crate) fn http(&self) -> Result<&Http, RegistryError> {
        if let Some(h) = self.http.get() {
            return Ok(h);
        }
        let h = Http::new(self.options.retry)?;
        Ok(self.http.get_or_init(|| h))
    }

    pub(crate) fn token(&self) -> Option<&Token> {
        self.options.token.as_ref()
    }

    fn config_cap(&self) -> Cap {
        Cap {
            what: "config.json",
            bytes: self.options.max_config_bytes,
        }
    }

    fn index_cap(&self) -> Cap {
        Cap {
            what: "index file",
            bytes: self.options.max_index_file_bytes,
        }
    }

    /// Tells the user something once per client: through `tracing` when a subscriber listens,
    /// else on stderr.
    fn warn(&self, message: String) {
        if !self
            .warned
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(message.clone())
        {
            return;
        }
        if tracing::enabled!(tracing::Level::WARN) {
            tracing::warn!("{message}");
        } else {
            eprintln!("warning: {message}");
        }
    }

    /// Pins `public_key` (standard base64) for this registry (`x07 registry trust`).
    pub fn trust(&self, public_key: &str) -> Result<PinnedKey, RegistryError> {
        let key = self.trust.trust(&self.index, public_key)?;
        *self.known.lock().unwrap_or_else(|p| p.into_inner()) = None;
        Ok(key)
    }

    /// The registry's config.json (fetched once per client, revalidated with its ETag; offline:
    /// the cached copy). Pins the signing key on first use and refuses a changed key.
    pub fn config(&self) -> Result<RegistryConfig, RegistryError> {
        match &self.known()?.config {
            Some(c) => Ok(c.clone()),
            None => Err(RegistryError::OfflineRegistryUnknown {
                index: self.index.clone(),
            }),
        }
    }

    /// The key index lines must be signed with.
    pub fn pinned_key(&self) -> Result<PinnedKey, RegistryError> {
        Ok(self.known()?.key.clone())
    }

    fn known(&self) -> Result<Arc<Known>, RegistryError> {
        let mut slot = self.known.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(k) = slot.as_ref() {
            return Ok(k.clone());
        }
        let known = Arc::new(self.load_known()?);
        *slot = Some(known.clone());
        Ok(known)
    }

    fn load_known(&self) -> Result<Known, RegistryError> {
        let config = match self.fetch_config() {
            Ok(c) => Some(c),
            // Offline, a pin alone is enough to verify cached index lines.
            Err(RegistryError::OfflineRegistryUnknown { .. }) if self.options.offline => None,
            Err(e) => return Err(e),
        };
        let pinned = self.trust.load(&self.index)?;
        let key = match (pinned, &config) {
            (Some(pin), Some(config)) => {
                let offers_pin = config.public_keys.iter().any(|k| {
                    PinnedKey::from_base64(self.index.clone(), &k.ed25519_pub)
                        .is_ok_and(|offered| offered.verifying_key() == pin.verifying_key())
                });
                if !offers_pin {
                    return Err(RegistryError::KeyChanged {
                        index: self.index.clone(),
                        pinned: pin.key_id,
                        offered: config.public_keys.iter().map(|k| k.id.clone()).collect(),
                        pin_file: self.home.pin_path(&self.index),
                    });
                }
                pin
            }
            (Some(pin), None) => pin,
            (None, Some(config)) => {
                let offered =
                    config
                        .public_keys
                        .first()
                        .ok_or_else(|| RegistryError::NoSigningKey {
                            index: self.index.clone(),
                        })?;
                let key = PinnedKey::from_base64(self.index.clone(), &offered.ed25519_pub)
                    .map_err(|reason| RegistryError::BadKey {
                        what: format!(
                            "the signing key `{}` in config.json of {}",
                            offered.id, self.index
                        ),
                        reason,
                    })?;
                if key.key_id != offered.id {
                    return Err(RegistryError::BadKey {
                        what: format!(
                            "the signing key `{}` in config.json of {}",
                            offered.id, self.index
                        ),
                        reason: format!("its id is `{}`, not the one listed", key.key_id),
                    });
                }
                self.trust.pin(&key)?;
                key
            }
            (None, None) => {
                return Err(RegistryError::OfflineRegistryUnknown {
                    index: self.index.clone(),
                })
            }
        };
        Ok(Known { config, key })
    }

    /// Reads config.json from the mirror, the network (with the cache's ETag) or, offline, the cache.
    fn fetch_config(&self) -> Result<RegistryConfig, RegistryError> {
        const REL: &str = "config.json";
        let (body, source) = match self.index.location() {
            IndexLocation::File(root) => {
                let path = root.join(REL);
                let body = read_file_capped(&path, self.config_cap())?.ok_or_else(|| {
                    RegistryError::Config {
                        url: path.display().to_string(),
                        reason: "missing; a file index needs a config.json with `dl` and `signing`"
                            .into(),
                    }
                })?;
                (body, path.display().to_string())
            }
            IndexLocation::Http(base) => {
                let url = join(&base, REL)?;
                let cached = self.index_cache.read(REL, self.config_cap().bytes)?;
                if self.options.offline {
                    let cached = cached.ok_or_else(|| RegistryError::OfflineRegistryUnknown {
                        index: self.index.clone(),
                    })?;
                    (cached.body, url.to_string())
                } else {
                    let etag = cached.as_ref().and_then(|c| c.etag.as_deref());
                    let cap = self.config_cap();
                    let fetched = match self.http()?.get_conditional(&url, etag, Auth::None, cap) {
                        Err(RegistryError::Api { status: 401, .. }) if self.token().is_some() => {
                            let token = self.token().expect("checked above");
                            self.http()?.get_conditional(
                                &url,
                                etag,
                                Auth::Required(&self.index, token),
                                cap,
                            )?
                        }
                        other => other?,
                    };
                    let body = match (fetched, cached) {
                        (Fetched::Body { body, etag }, _) => {
                            RegistryConfig::parse(&body).map_err(|reason| {
                                RegistryError::Config {
                                    url: url.to_string(),
                                    reason,
                                }
                            })?;
                            self.index_cache.write(REL, etag.as_deref(), &body)?;
                            body
                        }
                        (Fetched::NotModified, Some(cached)) => cached.body,
                        (Fetched::NotModified, None) => {
                            return Err(RegistryError::Config {
                                url: url.to_string(),
                                reason: "answered 304 to an unconditional request".into(),
                            })
                        }
                        (Fetched::NotFound, _) => {
                            return Err(RegistryError::Config {
                                url: url.to_string(),
                                reason: "not found (404); is this an x07 sparse index URL?".into(),
                            })
                        }
                    };
                    (body, url.to_string())
                }
            }
        };
        RegistryConfig::parse(&body).map_err(|reason| RegistryError::Config {
            url: source,
            reason,
        })
    }

    /// The token to offer for index and download requests: only when the registry requires auth,
    /// and (enforced by the transport) only to the index's origin.
    fn read_auth(&self, known: &Known) -> Auth<'_> {
        match (
            known.config.as_ref().is_some_and(|c| c.auth_required),
            self.token(),
        ) {
            (true, Some(token)) => Auth::IfSameOrigin(&self.index, token),
            _ => Auth::None,
        }
    }

    /// Every version of `name` in the index, lowest first, each line's signature verified against
    /// the pinned key. Online: a conditional request revalidates the cached file; offline: the
    /// cached file only.
    pub fn index_entries(&self, name: &PackageName) -> Result<Vec<IndexEntry>, RegistryError> {
        let known = self.known()?;
        let rel = shard_path(name);
        let not_found = || RegistryError::PackageNotFound {
            name: name.clone(),
            index: self.index.clone(),
        };
        let body = match self.index.location() {
            IndexLocation::File(root) => {
                read_file_capped(&root.join(&rel), self.index_cap())?.ok_or_else(not_found)?
            }
            IndexLocation::Http(base) => {
                let cached = self.index_cache.read(&rel, self.index_cap().bytes)?;
                if self.options.offline {
                    cached
                        .ok_or_else(|| RegistryError::OfflineIndexNotCached {
                            name: name.clone(),
                            index: self.index.clone(),
                        })?
                        .body
                } else {
                    return self.revalidate_index_file(name, &rel, &base, cached, &known);
                }
            }
        };
        self.parse_index_file(name, &body, &known.key)
    }

    /// Online: a conditional GET against the cached copy (dropped first if it no longer verifies);
    /// a new body is cached only when every line verifies.
    fn revalidate_index_file(
        &self,
        name: &PackageName,
        rel: &str,
        base: &Url,
        cached: Option<CachedFile>,
        known: &Known,
    ) -> Result<Vec<IndexEntry>, RegistryError> {
        let cached = match cached {
            Some(c) => match self.parse_index_file(name, &c.body, &known.key) {
                Ok(entries) => Some((c.etag, entries)),
                Err(_) => {
                    // Modified on disk: fetch afresh rather than let a 304 bless it.
                    self.index_cache.remove(rel)?;
                    None
                }
            },
            None => None,
        };
        let url = join(base, rel)?;
        let etag = cached.as_ref().and_then(|(etag, _)| etag.as_deref());
        match (
            self.http()?
                .get_conditional(&url, etag, self.read_auth(known), self.index_cap())?,
            cached,
        ) {
            (Fetched::Body { body, etag }, _) => {
                let entries = self.parse_index_file(name, &body, &known.key)?;
                self.index_cache.write(rel, etag.as_deref(), &body)?;
                Ok(entries)
            }
            (Fetched::NotModified, Some((_, entries))) => Ok(entries),
            (Fetched::NotModified, None) => Err(RegistryError::Api {
                url: url.to_string(),
                status: 304,
                code: None,
                message: "answered 304 to an unconditional request".into(),
            }),
            (Fetched::NotFound, _) => {
                self.index_cache.remove(rel)?;
                Err(RegistryError::PackageNotFound {
                    name: name.clone(),
                    index: self.index.clone(),
                })
            }
        }
    }

    /// The verified lines of an index file. A line that is not signed by the pinned key refuses
    /// the whole file; a line this client cannot read is skipped with a warning.
    fn parse_index_file(
        &self,
        name: &PackageName,
        body: &[u8],
        key: &PinnedKey,
    ) -> Result<Vec<IndexEntry>, RegistryError> {
        let bad =
            |line: usize, version: Option<PackageVersion>, problem| RegistryError::BadIndexLine {
                name: name.clone(),
                version,
                line,
                index: self.index.clone(),
                problem,
            };
        let text = std::str::from_utf8(body).map_err(|e| {
            bad(
                0,
                None,
                crate::index_entry::LineProblem::Malformed(format!("not UTF-8 ({e})")),
            )
        })?;
        let mut entries = Vec::new();
        for (i, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            match IndexEntry::parse_verified(line, name, key) {
                Ok(entry) => entries.push(entry),
                Err((_, problem)) if problem.is_skippable() => self.warn(format!(
                    "skipping line {} of the index file of `{name}` from {}: {problem}; the other \
                     versions are used (a newer x07 may read it)",
                    i + 1,
                    self.index
                )),
                Err((v, p)) => return Err(bad(i + 1, v, p)),
            }
        }
        entries.sort_by(|a, b| a.semver().cmp(b.semver()));
        Ok(entries)
    }

    /// The index entry of one version.
    pub fn index_entry(
        &self,
        name: &PackageName,
        version: &PackageVersion,
    ) -> Result<IndexEntry, RegistryError> {
        self.index_entries(name)?
            .into_iter()
            .find(|e| &e.version == version)
            .ok_or_else(|| RegistryError::VersionNotFound {
                name: name.clone(),
                version: version.clone(),
                index: self.index.clone(),
            })
    }

    /// [`fetch_archive`](Self::fetch_archive), returning only the path.
    pub fn download(&self, entry: &IndexEntry) -> Result<PathBuf, RegistryError> {
        self.fetch_archive(entry).map(|f| f.path)
    }

    /// The archive of `entry` in the cache: a cached file whose bytes still hash to the signed
    /// `cksum`, or a fresh download stored only if it does. Nothing partial is ever left behind.
    pub fn fetch_archive(&self, entry: &IndexEntry) -> Result<FetchedArchive, RegistryError> {
        let known = self.known()?;
        entry
            .verify(&known.key)
            .map_err(|problem| RegistryError::BadIndexLine {
                name: entry.name.clone(),
                version: Some(entry.version.clone()),
                line: 0,
                index: self.index.clone(),
                problem,
            })?;
        let replaced = match self.archives.lookup(&entry.cksum)? {
            Lookup::Hit(path) => {
                return Ok(FetchedArchive {
                    path,
                    origin: ArchiveOrigin::Cache,
                })
            }
            Lookup::Missing => None,
            Lookup::Corrupt(found) => Some(found),
        };
        if self.options.offline {
            return Err(RegistryError::OfflineArchiveNotCached {
                name: entry.name.clone(),
                version: entry.version.clone(),
                cksum: entry.cksum,
            });
        }
        let config =
            known
                .config
                .as_ref()
                .ok_or_else(|| RegistryError::OfflineRegistryUnknown {
                    index: self.index.clone(),
                })?;
        let url = config
            .download_url(&entry.name, &entry.version)
            .map_err(|reason| RegistryError::Config {
                url: config.dl.to_string(),
                reason,
            })?;
        let mut pending = self.archives.begin()?;
        let progress = DownloadProgress::new(
            &format!("{} {}", entry.name, entry.version),
            self.options.progress,
        );
        if url.scheme() == "file" {
            copy_local(&url, &mut pending, &progress)?;
        } else {
            let pending = std::cell::RefCell::new(&mut pending);
            self.http()?.download(
                &url,
                self.read_auth(&known),
                MAX_ARCHIVE_BYTES,
                |total| {
                    progress.start(total);
                    pending.borrow_mut().restart().map_err(RegistryError::from)
                },
                |chunk| {
                    progress.advance(chunk.len());
                    pending
                        .borrow_mut()
                        .write(chunk)
                        .map_err(RegistryError::from)
                },
            )?;
        }
        match pending.finish(&self.archives, &entry.cksum)? {
            Ok(path) => Ok(FetchedArchive {
                path,
                origin: match replaced {
                    Some(found) => ArchiveOrigin::Replaced { found },
                    None => ArchiveOrigin::Downloaded,
                },
            }),
            Err(actual) => Err(RegistryError::ChecksumMismatch(Box::new(
                ChecksumMismatch {
                    name: entry.name.clone(),
                    version: entry.version.clone(),
                    url: url.to_string(),
                    expected: entry.cksum,
                    actual,
                },
            ))),
        }
    }
}

/// `base` joined with a relative path, as a registry URL error when that fails.
pub(crate) fn join(base: &Url, rel: &str) -> Result<Url, RegistryError> {
    base.join(rel).map_err(|e| RegistryError::Config {
        url: base.to_string(),
        reason: format!("cannot form the URL of `{rel}`: {e}"),
    })
}

/// Copies an archive from a `file://` download URL (a local mirror) into `pending`.
fn copy_local(
    url: &Url,
    pending: &mut PendingArchive,
    progress: &DownloadProgress,
) -> Result<(), RegistryError> {
    use std::io::Read as _;
    let path = url.to_file_path().map_err(|()| RegistryError::Config {
        url: url.to_string(),
        reason: "not a local file URL".into(),
    })?;
    let mut file = fs_err::File::open(&path)?;
    progress.start(file.metadata().ok().map(|m| m.len()));
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            return Ok(());
        }
        if pending.len() + n as u64 > MAX_ARCHIVE_BYTES {
            return Err(RegistryError::TooLarge {
                url: url.to_string(),
                limit: MAX_ARCHIVE_BYTES,
            });
        }
        progress.advance(n);
        pending.write(&buf[..n])?;
    }
}
