//! `x07 store push`: entries and their references into a cache. The archive goes first under its
//! content address, the signed record last, so a reader never sees a record whose archive is not
//! there; concurrent pushes of one entry write the same archive key and whole records.

use serde_json::Value;
use x07_blob_store::{BlobError, BlobStore};
use x07_builder::cc::X07Home;
use x07_builder::store::{StoreEntry, StoreRoot};
use x07_lock::{KeyId, SigningKey};
use x07_spec::canonical_file_bytes;
use x07_spec::store_cache::{
    fingerprint_of, record_key, without_cc_key, CacheEntryRecord, CacheSignature,
};

use crate::archive::pack_entry;
use crate::local::{check_entry, fingerprint, read_local_signatures, unpacked_record};
use crate::record::{archive_of, entry_record, merge_signatures, sign};
use crate::refs::closure;
use crate::{open_cache, CacheError};

/// What happened to one entry.
#[derive(Debug, Clone)]
pub struct PushOutcome {
    /// The entry directory name.
    pub entry: String,
    /// False when the cache already had it with these signatures (nothing was written).
    pub uploaded: bool,
    /// Size of its archive in bytes (0 when skipped).
    pub archive_bytes: u64,
    /// Key ids of the signatures in the record written.
    pub signers: Vec<KeyId>,
}

/// What `push` did.
#[derive(Debug, Clone)]
pub struct PushReport {
    /// The cache.
    pub url: String,
    /// Every entry of the closure, references first.
    pub entries: Vec<PushOutcome>,
}

/// Pushes `roots` and every entry they refer to into the cache at `url`, signed with `key` (if
/// given) and with the signatures kept locally by `x07 store sign`. `key_hint` is where a key
/// would have been looked for, for the error when an entry ends up with no signature at all.
pub fn push(
    home: &X07Home,
    store: &StoreRoot,
    url: &str,
    roots: &[StoreEntry],
    key: Option<&SigningKey>,
    key_hint: &std::path::Path,
) -> Result<PushReport, CacheError> {
    let cache = open_cache(url)?;
    if matches!(cache, BlobStore::Http(_)) {
        return Err(CacheError::ReadOnly {
            url: url.to_string(),
        });
    }
    let unreachable = |source: BlobError| CacheError::Unreachable {
        url: url.to_string(),
        source: Box::new(source),
    };
    let local = store.ls()?;
    let mut entries = Vec::new();
    for (entry, _refs) in closure(store, roots)? {
        let name = entry.dir_name();
        let unsigned = unpacked_record(&entry, &local)?;
        let fp = fingerprint(&unsigned)?;
        let mut signatures = read_local_signatures(home, &name, &fp);
        if let Some(key) = key {
            merge_signatures(&mut signatures, &[sign(key, &fp)]);
        }
        if signatures.is_empty() {
            return Err(CacheError::Unsigned {
                entry: name,
                key: key_hint.to_path_buf(),
            });
        }
        let existing = existing_record(&cache, &name, &fp).map_err(unreachable)?;
        if let Some(existing) = &existing {
            let has_all = signatures
                .iter()
                .all(|s| existing.signatures.iter().any(|e| e.key_id == s.key_id));
            if has_all && cache.exists(&existing.archive.key).map_err(unreachable)? {
                entries.push(PushOutcome {
                    entry: name,
                    uploaded: false,
                    archive_bytes: 0,
                    signers: existing
                        .signatures
                        .iter()
                        .map(|s| s.key_id.clone())
                        .collect(),
                });
                continue;
            }
        }
        let record =
            upload(&cache, &entry, unsigned, signatures, existing).map_err(|e| match e {
                Upload::Blob(source) => unreachable(source),
                Upload::Cache(e) => e,
            })?;
        entries.push(PushOutcome {
            entry: name,
            uploaded: true,
            archive_bytes: record.archive.size,
            signers: record.signatures.iter().map(|s| s.key_id.clone()).collect(),
        });
    }
    Ok(PushReport {
        url: url.to_string(),
        entries,
    })
}

enum Upload {
    Blob(BlobError),
    Cache(CacheError),
}

/// Packs and uploads one entry: the archive if the cache lacks it, then the record under both
/// of its keys. The signatures of an existing record for the same fingerprint are kept.
fn upload(
    cache: &BlobStore,
    entry: &StoreEntry,
    unsigned: CacheEntryRecord,
    signatures: Vec<CacheSignature>,
    existing: Option<CacheEntryRecord>,
) -> Result<CacheEntryRecord, Upload> {
    check_entry(entry).map_err(Upload::Cache)?;
    let packed = pack_entry(&entry.dir).map_err(Upload::Cache)?;
    let build = entry.build_record().map_err(|e| Upload::Cache(e.into()))?;
    let mut record = entry_record(
        entry,
        &build,
        packed.files.clone(),
        unsigned.references.clone(),
        archive_of(&packed),
    )
    .map_err(Upload::Cache)?;
    // the entry cannot have changed (it is read-only and verified), but the signatures are only
    // ever attached to the fingerprint they were made over
    if fingerprint(&record).map_err(Upload::Cache)?
        != fingerprint(&unsigned).map_err(Upload::Cache)?
    {
        return Err(Upload::Cache(CacheError::DamagedEntry {
            entry: entry.dir.clone(),
            why: "its files changed while it was being pushed".into(),
        }));
    }
    if let Some(existing) = existing {
        record.signatures = existing.signatures;
    }
    merge_signatures(&mut record.signatures, &signatures);
    if !cache.exists(&record.archive.key).map_err(Upload::Blob)? {
        cache
            .put(&record.archive.key, &packed.bytes)
            .map_err(Upload::Blob)?;
    }
    let bytes = canonical_file_bytes(&record).map_err(|e| {
        Upload::Cache(CacheError::Io {
            action: "write the record of",
            path: entry.dir.clone(),
            source: std::io::Error::other(e),
        })
    })?;
    cache
        .put(&record_key(&record.entry), &bytes)
        .map_err(Upload::Blob)?;
    cache
        .put(
            &without_cc_key(&record.hash_without_cc, &record.name),
            &bytes,
        )
        .map_err(Upload::Blob)?;
    Ok(record)
}

/// The cache's record of `entry` if it is there, parses, and has the same fingerprint.
fn existing_record(
    cache: &BlobStore,
    entry: &str,
    fp: &[u8],
) -> Result<Option<CacheEntryRecord>, BlobError> {
    let Some(bytes) = cache.get(&record_key(entry))? else {
        return Ok(None);
    };
    let Ok(value) = serde_json::from_slice::<Value>(&bytes) else {
        return Ok(None);
    };
    if fingerprint_of(&value).ok().as_deref() != Some(fp) {
        return Ok(None);
    }
    Ok(serde_json::from_value(value).ok())
}
