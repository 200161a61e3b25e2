//! `x07 store verify --cache URL`: every record in a cache checked as a substitution would check
//! it (a trusted signature, self-consistency), and every archive downloaded and unpacked into a
//! scratch directory against the signed digests.

use std::collections::BTreeSet;

use x07_blob_store::BlobStore;
use x07_spec::store_cache::record_key;
use x07_spec::Sha256Digest;

use crate::archive::unpack_entry;
use crate::record::{verify_record, TrustedKeys};
use crate::{open_cache, CacheError};

/// One thing wrong in a cache.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CacheProblem {
    /// The object key concerned.
    pub key: String,
    /// What is wrong.
    pub problem: String,
}

/// What [`verify_cache`] found.
#[derive(Debug, Clone, Default)]
pub struct CacheVerifyReport {
    /// Records checked (under `entries/` and `without-cc/`).
    pub records: usize,
    /// Entries whose record and archive passed every check.
    pub ok_entries: usize,
    /// Everything that did not.
    pub problems: Vec<CacheProblem>,
}

/// Checks every record and archive of the cache at `url`. The cache must be listable
/// (`s3://` or `file://`).
pub fn verify_cache(url: &str, trusted: &TrustedKeys) -> Result<CacheVerifyReport, CacheError> {
    let cache = open_cache(url)?;
    let unreachable = |source| CacheError::Unreachable {
        url: url.to_string(),
        source: Box::new(source),
    };
    let mut report = CacheVerifyReport::default();
    let mut checked_archives = BTreeSet::new();
    let entries = cache.list("entries/").map_err(unreachable)?;
    let without = cache.list("without-cc/").map_err(unreachable)?;
    for key in entries.iter().chain(&without) {
        report.records += 1;
        let problem = |problem: String| CacheProblem {
            key: key.clone(),
            problem,
        };
        let Some(bytes) = cache.get(key).map_err(unreachable)? else {
            report
                .problems
                .push(problem("vanished while listing".into()));
            continue;
        };
        let verified = match verify_record(&bytes, trusted) {
            Ok(v) => v,
            Err(p) => {
                report.problems.push(problem(p.to_string()));
                continue;
            }
        };
        let record = &verified.record;
        let from_entries = key.starts_with("entries/");
        if from_entries && *key != record_key(&record.entry) {
            report.problems.push(problem(format!(
                "holds the record of {}, not of the entry its key names",
                record.entry
            )));
            continue;
        }
        if !from_entries {
            let expected =
                x07_spec::store_cache::without_cc_key(&record.hash_without_cc, &record.name);
            if *key != expected {
                report.problems.push(problem(format!(
                    "holds a record whose inputs without the compiler are {expected}"
                )));
            }
            continue;
        }
        if checked_archives.insert(record.archive.key.clone()) {
            if let Err(why) = check_archive(&cache, &verified.record) {
                report.problems.push(CacheProblem {
                    key: record.archive.key.clone(),
                    problem: why,
                });
                continue;
            }
        }
        report.ok_entries += 1;
    }
    Ok(report)
}

fn check_archive(
    cache: &BlobStore,
    record: &x07_spec::store_cache::CacheEntryRecord,
) -> Result<(), String> {
    let bytes = cache
        .get(&record.archive.key)
        .map_err(|e| e.to_string())?
        .ok_or(
            "the archive is missing (the record points to an archive the cache does not have)",
        )?;
    let digest = Sha256Digest::of(&bytes);
    if digest != record.archive.sha256 || bytes.len() as u64 != record.archive.size {
        return Err(format!(
            "corrupt or truncated: {} bytes with digest {digest}, the record of {} says {} bytes with {}",
            bytes.len(),
            record.entry,
            record.archive.size,
            record.archive.sha256
        ));
    }
    let scratch =
        tempfile::tempdir().map_err(|e| format!("cannot make a scratch directory: {e}"))?;
    unpack_entry(&bytes, &record.files, scratch.path()).map_err(|why| {
        format!(
            "does not hold the files the record of {} signs: {why}",
            record.entry
        )
    })
}
