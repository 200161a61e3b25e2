//! Substitution from binary caches: the [`Substituter`] `x07 build` and `x07 run` consult.
//! Nothing from a cache is used unless a trusted key signed its record and every file matches
//! the signed digests; every failure is a one-line reason and the build goes on without it.

use std::sync::OnceLock;

use x07_blob_store::BlobStore;
use x07_builder::cc::X07Home;
use x07_builder::store::{
    parse_entry_name, PublishError, StoreEntry, StoreRoot, Substituter, Substitution, Wanted,
};
use x07_spec::store_cache::{fingerprint_of, record_key, without_cc_key};
use x07_spec::Sha256Digest;

use crate::archive::unpack_entry;
use crate::local::write_local_signatures;
use crate::open_cache;
use crate::record::{verify_record, TrustedKeys, VerifiedRecord};
use crate::settings::CacheSettings;

/// How deep references are followed (entries refer to few others; this only stops a loop).
const MAX_REFERENCE_DEPTH: usize = 16;

/// One cache, opened on first use.
#[derive(Debug)]
struct Cache {
    url: String,
    store: OnceLock<Result<BlobStore, String>>,
}

impl Cache {
    fn open(&self) -> Result<&BlobStore, String> {
        self.store
            .get_or_init(|| open_cache(&self.url).map_err(|e| e.to_string()))
            .as_ref()
            .map_err(Clone::clone)
    }
}

/// The caches of [`CacheSettings`] with the keys they trust.
#[derive(Debug)]
pub struct BinaryCaches {
    home: X07Home,
    caches: Vec<Cache>,
    trusted: TrustedKeys,
}

impl BinaryCaches {
    /// The substituters of `settings`, or `None` when there are none.
    pub fn new(home: &X07Home, settings: &CacheSettings) -> Option<Self> {
        if settings.substituters.is_empty() {
            return None;
        }
        Some(Self {
            home: home.clone(),
            caches: settings
                .substituters
                .iter()
                .map(|url| Cache {
                    url: url.clone(),
                    store: OnceLock::new(),
                })
                .collect(),
            trusted: settings.trusted.clone(),
        })
    }

    /// Fetches, checks and imports the entry the record at `key` describes, if it is what
    /// `want` asks for.
    fn fetch(
        &self,
        cache: &BlobStore,
        store: &StoreRoot,
        key: &str,
        want: Want<'_>,
        depth: usize,
    ) -> Result<(StoreEntry, VerifiedRecord), String> {
        let bytes = cache
            .get(key)
            .map_err(|e| e.to_string())?
            .ok_or_else(|| format!("no entry `{key}`"))?;
        let verified = verify_record(&bytes, &self.trusted).map_err(|p| format!("`{key}`: {p}"))?;
        let record = &verified.record;
        let fits = match want {
            Want::Entry(name) => record.entry == name,
            Want::Exact(inputs) => inputs
                .hash()
                .is_ok_and(|h| h.as_str() == record.hash && verified.inputs == *inputs),
            Want::WithoutCompiler(inputs) => {
                inputs
                    .hash_without_cc()
                    .is_ok_and(|h| h.as_str() == record.hash_without_cc)
                    && verified.inputs.same_except_compiler(inputs)
            }
        };
        if !fits {
            return Err(format!(
                "`{key}` describes entry {}, not the one asked for",
                record.entry
            ));
        }
        for reference in &record.references {
            if depth >= MAX_REFERENCE_DEPTH {
                return Err(format!("references nest deeper than {MAX_REFERENCE_DEPTH}"));
            }
            let (hash, name) = parse_entry_name(reference)
                .ok_or_else(|| format!("reference `{reference}` is not an entry name"))?;
            if store.lookup(&hash, &name).is_none() {
                self.fetch(
                    cache,
                    store,
                    &record_key(reference),
                    Want::Entry(reference),
                    depth + 1,
                )
                .map_err(|e| format!("its reference {reference}: {e}"))?;
            }
        }
        let entry = self.install(cache, store, &verified)?;
        // keep the signatures, so this machine can push the entry on without a key
        if let Ok(value) = serde_json::from_slice(&bytes) {
            if let Ok(fp) = fingerprint_of(&value) {
                let _ = write_local_signatures(&self.home, &record.entry, &fp, &record.signatures);
            }
        }
        Ok((entry, verified))
    }

    /// Downloads the archive, checks it and imports the entry (nothing if it is already there).
    fn install(
        &self,
        cache: &BlobStore,
        store: &StoreRoot,
        verified: &VerifiedRecord,
    ) -> Result<StoreEntry, String> {
        let record = &verified.record;
        let hash = verified.inputs.hash().map_err(|e| e.to_string())?;
        if let Some(entry) = store.lookup(&hash, &verified.inputs.name) {
            return Ok(entry);
        }
        let archive = &record.archive;
        let bytes = cache
            .get(&archive.key)
            .map_err(|e| e.to_string())?
            .ok_or_else(|| format!("the archive `{}` is missing", archive.key))?;
        let digest = Sha256Digest::of(&bytes);
        if bytes.len() as u64 != archive.size || digest != archive.sha256 {
            return Err(format!(
                "the archive `{}` is corrupt or truncated: {} bytes with digest {digest}, the record says {} bytes with {}",
                archive.key,
                bytes.len(),
                archive.size,
                archive.sha256
            ));
        }
        store
            .import(&hash, &verified.inputs.name, |dir| {
                unpack_entry(&bytes, &record.files, dir)
            })
            .map_err(|e| match e {
                PublishError::Produce(why) => format!("the archive `{}`: {why}", archive.key),
                PublishError::Store(e) => e.to_string(),
            })
    }
}

/// What one lookup must find.
#[derive(Clone, Copy)]
enum Want<'a> {
    Entry(&'a str),
    Exact(&'a x07_builder::store::DerivationInputs),
    WithoutCompiler(&'a x07_builder::store::DerivationInputs),
}

impl Substituter for BinaryCaches {
    fn substitute(&self, store: &StoreRoot, want: Wanted<'_>) -> Substitution {
        let inputs = want.inputs();
        let (key, want) = match want {
            Wanted::Exact(i) => match i.hash() {
                Ok(h) => (record_key(&format!("{h}-{}", i.name)), Want::Exact(i)),
                Err(e) => return Substitution::Missed(vec![e.to_string()]),
            },
            Wanted::WithoutCompiler(i) => match i.hash_without_cc() {
                Ok(h) => (
                    without_cc_key(h.as_str(), i.name.as_str()),
                    Want::WithoutCompiler(i),
                ),
                Err(e) => return Substitution::Missed(vec![e.to_string()]),
            },
        };
        if self.trusted.is_empty() {
            return Substitution::Missed(vec![
                "no trusted public keys, so no cache entry can be used (pass --trusted-key FILE or set X07_TRUSTED_PUBLIC_KEYS)".into(),
            ]);
        }
        let mut reasons = Vec::new();
        for cache in &self.caches {
            let result = cache
                .open()
                .and_then(|blobs| self.fetch(blobs, store, &key, want, 0));
            match result {
                Ok((entry, verified)) => {
                    tracing::info!(entry = %entry.dir.display(), from = %cache.url, signer = %verified.signer, "substituted");
                    return Substitution::Fetched {
                        entry,
                        from: cache.url.clone(),
                        compiler: verified.compiler(),
                    };
                }
                Err(why) => reasons.push(format!("{}: {why}", cache.url)),
            }
        }
        tracing::info!(name = %inputs.name, ?reasons, "not substituted");
        Substitution::Missed(reasons)
    }
}
