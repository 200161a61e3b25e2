//! Signatures of local entries, kept in `$X07_HOME/signatures/<hash>-<name>.json`: written by
//! `x07 store sign` and by substitution (the cache's signatures), carried by `x07 store push`.

use std::path::{Path, PathBuf};

use x07_builder::cc::X07Home;
use x07_builder::store::{verify_entry, StoreEntry, StoreRoot};
use x07_lock::{KeyId, SigningKey};
use x07_spec::store_cache::{
    CacheArchive, CacheEntryRecord, CacheSignature, LocalSignatures, ARCHIVE_COMPRESSION,
    LOCAL_SIGNATURES_SCHEMA,
};
use x07_spec::{canonical_file_bytes, write_atomic, Sha256Digest};

use crate::archive::file_list;
use crate::record::{entry_record, merge_signatures, sign};
use crate::refs::references;
use crate::CacheError;

/// `$X07_HOME/signatures`.
pub fn signatures_dir(home: &X07Home) -> PathBuf {
    home.path().join("signatures")
}

fn signatures_file(home: &X07Home, entry: &str) -> PathBuf {
    signatures_dir(home).join(format!("{entry}.json"))
}

/// The signatures kept for `entry` that cover `fingerprint` (none if the file is missing,
/// unreadable, or for another fingerprint).
pub fn read_local_signatures(
    home: &X07Home,
    entry: &str,
    fingerprint: &[u8],
) -> Vec<CacheSignature> {
    let Ok(bytes) = fs_err::read(signatures_file(home, entry)) else {
        return Vec::new();
    };
    match serde_json::from_slice::<LocalSignatures>(&bytes) {
        Ok(s)
            if s.schema_version == LOCAL_SIGNATURES_SCHEMA
                && s.entry == entry
                && s.fingerprint_sha256 == Sha256Digest::of(fingerprint) =>
        {
            s.signatures
        }
        _ => Vec::new(),
    }
}

/// Adds `signatures` to those kept for `entry` (replacing any kept for another fingerprint).
pub(crate) fn write_local_signatures(
    home: &X07Home,
    entry: &str,
    fingerprint: &[u8],
    signatures: &[CacheSignature],
) -> Result<(), CacheError> {
    let mut all = read_local_signatures(home, entry, fingerprint);
    merge_signatures(&mut all, signatures);
    let doc = LocalSignatures {
        schema_version: LOCAL_SIGNATURES_SCHEMA.to_string(),
        entry: entry.to_string(),
        fingerprint_sha256: Sha256Digest::of(fingerprint),
        signatures: all,
    };
    let path = signatures_file(home, entry);
    let io = |source| CacheError::Io {
        action: "write",
        path: path.clone(),
        source,
    };
    fs_err::create_dir_all(signatures_dir(home)).map_err(io)?;
    let bytes = canonical_file_bytes(&doc).map_err(|e| io(std::io::Error::other(e)))?;
    write_atomic(&path, &bytes).map_err(io)
}

/// The record of a local entry without its archive (enough for the fingerprint), after checking
/// the entry as `x07 store verify` does.
pub(crate) fn unpacked_record(
    entry: &StoreEntry,
    local: &[StoreEntry],
) -> Result<CacheEntryRecord, CacheError> {
    check_entry(entry)?;
    let build = entry.build_record()?;
    let files = file_list(&entry.dir)?;
    let refs = references(entry, local)?;
    // the fingerprint leaves the archive out; this one is never written
    let archive = CacheArchive {
        key: String::new(),
        sha256: Sha256Digest::of(b""),
        size: 0,
        compression: ARCHIVE_COMPRESSION.to_string(),
    };
    entry_record(entry, &build, files, refs, archive)
}

/// Refuses an entry that fails `x07 store verify`.
pub(crate) fn check_entry(entry: &StoreEntry) -> Result<(), CacheError> {
    let problems = verify_entry(entry);
    if problems.is_empty() {
        return Ok(());
    }
    let why: Vec<String> = problems.iter().map(|p| p.kind.to_string()).collect();
    Err(CacheError::DamagedEntry {
        entry: entry.dir.clone(),
        why: why.join("; "),
    })
}

/// One entry `x07 store sign` signed.
#[derive(Debug, Clone)]
pub struct SignedEntry {
    /// The entry directory name.
    pub entry: String,
    /// The key that signed it.
    pub key_id: KeyId,
    /// The signatures file.
    pub file: PathBuf,
}

/// Signs each of `entries` with `key` and keeps the signature in `$X07_HOME/signatures/`.
pub fn sign_entries(
    home: &X07Home,
    store: &StoreRoot,
    entries: &[StoreEntry],
    key: &SigningKey,
) -> Result<Vec<SignedEntry>, CacheError> {
    let local = store.ls()?;
    let mut out = Vec::new();
    for entry in entries {
        let record = unpacked_record(entry, &local)?;
        let fingerprint = fingerprint(&record)?;
        let name = entry.dir_name();
        write_local_signatures(home, &name, &fingerprint, &[sign(key, &fingerprint)])?;
        out.push(SignedEntry {
            file: signatures_file(home, &name),
            entry: name,
            key_id: key.key_id(),
        });
    }
    Ok(out)
}

/// The fingerprint of a record this x07 made.
pub(crate) fn fingerprint(record: &CacheEntryRecord) -> Result<Vec<u8>, CacheError> {
    record.fingerprint().map_err(|e| CacheError::Io {
        action: "canonicalize the record of",
        path: Path::new(&record.entry).to_path_buf(),
        source: std::io::Error::other(e),
    })
}
