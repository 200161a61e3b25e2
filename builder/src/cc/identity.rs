//! The identity of the C compiler (path and `--version` digest), cached by path, size and times.

use std::fs::Metadata;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};
use x07_spec::{canonical_file_bytes, write_atomic, Sha256Digest};

use super::{CcError, CcLocator, X07Home};

/// Schema of the files under `$X07_HOME/cache/cc-identity/`.
const CACHE_SCHEMA: &str = "x07.cc-identity@0.1.0";

/// What the builder knows about the C compiler: enough to key builds on it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CcIdentity {
    /// Absolute path of the compiler, as found (symlinks are not resolved).
    pub path: PathBuf,
    /// SHA-256 of what `cc --version` prints on stdout (stderr if stdout is empty).
    pub version_digest: Sha256Digest,
    /// The first line of that output, for messages and reports.
    pub version_line: String,
}

/// The stat fields that change whenever a file is replaced or edited.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct FileStamp {
    size: u64,
    mtime_sec: i64,
    mtime_nsec: i64,
    ctime_sec: i64,
    ctime_nsec: i64,
    dev: u64,
    ino: u64,
}

impl FileStamp {
    pub(super) fn of(m: &Metadata) -> Self {
        Self {
            size: m.size(),
            mtime_sec: m.mtime(),
            mtime_nsec: m.mtime_nsec(),
            ctime_sec: m.ctime(),
            ctime_nsec: m.ctime_nsec(),
            dev: m.dev(),
            ino: m.ino(),
        }
    }
}

/// One cache file: the identity plus the stamp it was learnt under.
#[derive(Debug, Serialize, Deserialize)]
struct CachedIdentity {
    schema_version: String,
    stamp: FileStamp,
    identity: CcIdentity,
}

impl CcIdentity {
    /// Finds the compiler from the process environment and returns its identity (cached).
    pub fn detect(home: &X07Home) -> Result<Self, CcError> {
        Self::detect_with(home, &CcLocator::from_env())
    }

    /// Like [`CcIdentity::detect`] with an explicit environment. A warm call does the `PATH`
    /// lookup, one stat of the compiler and one small file read; it never runs the compiler.
    pub fn detect_with(home: &X07Home, locator: &CcLocator) -> Result<Self, CcError> {
        if let Some(hit) = remembered(home, locator) {
            return Ok(hit);
        }
        let (path, meta) = locator.locate()?;
        let stamp = FileStamp::of(&meta);
        let cache_file = cache_file(home, &path);
        if let Some(hit) = read_cache(&cache_file, &path, &stamp) {
            remember(home, locator, stamp, &hit);
            return Ok(hit);
        }
        let identity = Self::probe(&path)?;
        // Only cache what we know belongs to this stamp: the file may have changed while it ran.
        let unchanged = std::fs::metadata(&path)
            .map(|m| FileStamp::of(&m) == stamp)
            .unwrap_or(false);
        if unchanged {
            // The cache is an optimisation; a read-only home must not make builds fail.
            let _ = write_cache(&cache_file, &stamp, &identity);
            remember(home, locator, stamp, &identity);
        }
        Ok(identity)
    }

    /// Runs `path --version` (no cache) and returns the identity.
    pub fn probe(path: &Path) -> Result<Self, CcError> {
        let out = Command::new(path)
            .arg("--version")
            .current_dir("/")
            .env("LC_ALL", "C")
            .stdin(Stdio::null())
            .output()
            .map_err(|source| CcError::Spawn {
                path: path.to_path_buf(),
                source,
            })?;
        if !out.status.success() {
            return Err(CcError::VersionFailed {
                path: path.to_path_buf(),
                status: out.status.to_string(),
                stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
            });
        }
        let text = if out.stdout.iter().all(u8::is_ascii_whitespace) {
            &out.stderr
        } else {
            &out.stdout
        };
        let version_line = String::from_utf8_lossy(text)
            .lines()
            .map(str::trim)
            .find(|l| !l.is_empty())
            .unwrap_or("")
            .to_string();
        Ok(Self {
            path: path.to_path_buf(),
            version_digest: Sha256Digest::of(text),
            version_line,
        })
    }
}

/// The identity this process found last, with what it was found from. A run looks the compiler
/// up twice (for the launcher, then for the program); the second lookup with the same home and
/// environment only checks that the compiler's file is unchanged (one stat) instead of searching
/// `PATH` and reading the cache file again.
static LAST: Mutex<Option<Remembered>> = Mutex::new(None);

struct Remembered {
    home: PathBuf,
    locator: CcLocator,
    stamp: FileStamp,
    identity: CcIdentity,
}

fn remembered(home: &X07Home, locator: &CcLocator) -> Option<CcIdentity> {
    let last = LAST.lock().ok()?;
    let r = last.as_ref()?;
    if r.home != home.path() || r.locator != *locator {
        return None;
    }
    let meta = std::fs::metadata(&r.identity.path).ok()?;
    (FileStamp::of(&meta) == r.stamp).then(|| r.identity.clone())
}

fn remember(home: &X07Home, locator: &CcLocator, stamp: FileStamp, identity: &CcIdentity) {
    if let Ok(mut last) = LAST.lock() {
        *last = Some(Remembered {
            home: home.path().to_path_buf(),
            locator: locator.clone(),
            stamp,
            identity: identity.clone(),
        });
    }
}

/// `$X07_HOME/cache/cc-identity/<first 32 hex of sha256(path)>.json`.
fn cache_file(home: &X07Home, path: &Path) -> PathBuf {
    let key = Sha256Digest::of(path.as_os_str().as_bytes()).hex();
    home.cache_dir()
        .join("cc-identity")
        .join(format!("{}.json", &key[..32]))
}

/// The cached identity if the file exists, parses, and matches both path and stamp.
fn read_cache(file: &Path, path: &Path, stamp: &FileStamp) -> Option<CcIdentity> {
    let bytes = std::fs::read(file).ok()?;
    let cached: CachedIdentity = serde_json::from_slice(&bytes).ok()?;
    (cached.schema_version == CACHE_SCHEMA
        && cached.stamp == *stamp
        && cached.identity.path == path)
        .then_some(cached.identity)
}

fn write_cache(file: &Path, stamp: &FileStamp, identity: &CcIdentity) -> std::io::Result<()> {
    let record = CachedIdentity {
        schema_version: CACHE_SCHEMA.to_string(),
        stamp: *stamp,
        identity: identity.clone(),
    };
    let bytes = canonical_file_bytes(&record).map_err(std::io::Error::other)?;
    if let Some(dir) = file.parent() {
        fs_err::create_dir_all(dir)?;
    }
    write_atomic(file, &bytes)
}
