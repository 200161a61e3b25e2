//! The musl libc that static builds link (Debian's musl-tools): its gcc specs file and `libc.a`
//! are build inputs, keyed by content. The trusted launcher is built against it when it is
//! installed (a static musl binary starts in about half the time of a static glibc one, and the
//! launcher runs before every sandboxed program); its content digest is cached by stat so a warm
//! run never re-reads the archive.

use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use x07_spec::{canonical_file_bytes, write_atomic, Sha256Digest};

use super::identity::FileStamp;
use super::{musl_specs, X07Home};

/// Schema of the files under `$X07_HOME/cache/musl-identity/`.
const CACHE_SCHEMA: &str = "x07.musl-identity@0.1.0";

/// An installed musl: where its specs file is and what its files contain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MuslLibc {
    /// The musl-gcc specs file (`-specs`).
    pub specs: PathBuf,
    /// The derivation knob `libc`: `musl specs=<sha256> libc.a=<sha256>`.
    pub knob: String,
}

/// One cache file: the knob plus the stamps of both files it was computed from.
#[derive(Debug, Serialize, Deserialize)]
struct CachedMusl {
    schema_version: String,
    specs: PathBuf,
    stamps: [FileStamp; 2],
    knob: String,
}

impl MuslLibc {
    /// The installed musl, if any, with its content digest (cached under `home` by stat).
    pub fn detect(home: &X07Home) -> Option<Self> {
        let specs = musl_specs()?;
        let libc_a = specs.with_file_name("libc.a");
        let stamps = [stamp(&specs)?, stamp(&libc_a)?];
        let file = cache_file(home, &specs);
        if let Some(knob) = read_cache(&file, &specs, &stamps) {
            return Some(Self { specs, knob });
        }
        let knob = musl_knob(&specs);
        // only a digest known to belong to these stamps is kept (a file may change meanwhile)
        if [stamp(&specs), stamp(&libc_a)] == [Some(stamps[0]), Some(stamps[1])] {
            // the cache is an optimisation: a read-only home must not fail the build
            let _ = write_cache(&file, &specs, stamps, &knob);
        }
        Some(Self { specs, knob })
    }
}

/// The derivation knob for the musl of `specs`: both of its files by content (not cached).
pub fn musl_knob(specs: &Path) -> String {
    let digest = |p: &Path| {
        fs_err::read(p)
            .map(|b| Sha256Digest::of(&b).to_string())
            .unwrap_or_else(|e| format!("unreadable: {e}"))
    };
    let libc_a = specs.with_file_name("libc.a");
    format!("musl specs={} libc.a={}", digest(specs), digest(&libc_a))
}

fn stamp(path: &Path) -> Option<FileStamp> {
    std::fs::metadata(path).ok().map(|m| FileStamp::of(&m))
}

/// `$X07_HOME/cache/musl-identity/<first 32 hex of sha256(specs path)>.json`.
fn cache_file(home: &X07Home, specs: &Path) -> PathBuf {
    let key = Sha256Digest::of(specs.as_os_str().as_bytes()).hex();
    home.cache_dir()
        .join("musl-identity")
        .join(format!("{}.json", &key[..32]))
}

fn read_cache(file: &Path, specs: &Path, stamps: &[FileStamp; 2]) -> Option<String> {
    let bytes = std::fs::read(file).ok()?;
    let cached: CachedMusl = serde_json::from_slice(&bytes).ok()?;
    (cached.schema_version == CACHE_SCHEMA && cached.specs == specs && cached.stamps == *stamps)
        .then_some(cached.knob)
}

fn write_cache(
    file: &Path,
    specs: &Path,
    stamps: [FileStamp; 2],
    knob: &str,
) -> std::io::Result<()> {
    let record = CachedMusl {
        schema_version: CACHE_SCHEMA.to_string(),
        specs: specs.to_path_buf(),
        stamps,
        knob: knob.to_string(),
    };
    let bytes = canonical_file_bytes(&record).map_err(std::io::Error::other)?;
    if let Some(dir) = file.parent() {
        fs_err::create_dir_all(dir)?;
    }
    write_atomic(file, &bytes)
}
