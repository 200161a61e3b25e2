//! Publishing a build into the store: stage in a temp dir, record, seal, rename under the lock.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use x07_spec::{canonical_file_bytes, Sha256Digest};

use super::entry::{BUILD_RECORD_FILE, BUILD_RECORD_SCHEMA, C_SOURCE_FILE};
use super::fs_tree::{file_digest, seal_dirs, seal_files, sync_dir};
use super::lock::StoreLock;
use super::substitute::import_refused;
use super::verify::verify_entry;
use super::{
    ArtifactName, BuildRecord, DerivationHash, DerivationInputs, OutputFile, StoreEntry,
    StoreError, StoreRoot,
};

/// Prefix of staging directories inside the store; `gc` removes stale ones.
pub(crate) const STAGING_PREFIX: &str = ".tmp-";

/// The temporary directory a build writes into before it is published.
#[derive(Debug)]
pub struct Staging {
    dir: PathBuf,
    name: ArtifactName,
}

impl Staging {
    /// The staging directory (inside the store, on the same filesystem as the entry).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Where the build must write the executable.
    pub fn binary_path(&self) -> PathBuf {
        self.dir.join(self.name.as_str())
    }

    /// Where the build may write the generated C source to keep it in the entry.
    pub fn c_source_path(&self) -> PathBuf {
        self.dir.join(C_SOURCE_FILE)
    }
}

/// Facts about the build that only the producer knows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Produced {
    /// Digest of the C source the binary was compiled from.
    pub c_source_sha256: Sha256Digest,
    /// Its size in bytes.
    pub c_source_size: u64,
    /// The first line of the compiler's `--version` (recorded for people; the inputs name the
    /// compiler by the digest of that output).
    pub cc_version_line: Option<String>,
}

impl Produced {
    /// Describes the given C source.
    pub fn from_c_source(c_source: &str) -> Self {
        Self {
            c_source_sha256: Sha256Digest::of(c_source.as_bytes()),
            c_source_size: c_source.len() as u64,
            cc_version_line: None,
        }
    }

    /// Also records the compiler's version line.
    pub fn with_cc_version_line(mut self, line: &str) -> Self {
        self.cc_version_line = Some(line.to_string());
        self
    }
}

/// Publishing failed in the store or in the producer.
#[derive(Debug, thiserror::Error)]
pub enum PublishError<E> {
    /// The store could not be read or written.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The producer (compiler, emitter, ...) failed; nothing was added to the store.
    #[error(transparent)]
    Produce(E),
}

/// The result of [`StoreRoot::realize`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Realized {
    /// The entry holding the binary.
    pub entry: StoreEntry,
    /// Whether this call built it (false: it was already in the store).
    pub built: bool,
}

impl StoreRoot {
    /// A new staging directory for an entry of `hash` inside the store (removed when dropped).
    fn staging_dir(&self, hash: &DerivationHash) -> Result<tempfile::TempDir, StoreError> {
        fs_err::create_dir_all(self.path()).map_err(StoreError::from)?;
        tempfile::Builder::new()
            .prefix(&format!("{STAGING_PREFIX}{hash}-"))
            .tempdir_in(self.path())
            .map_err(|source| StoreError::Io {
                action: "create a staging directory in",
                path: self.path().to_path_buf(),
                source,
            })
    }

    /// Returns the entry for `inputs`, building it with `produce` when it is not in the store.
    ///
    /// `produce` writes the binary to [`Staging::binary_path`] (and optionally the C source to
    /// [`Staging::c_source_path`]). If it fails, the staging directory is removed and the store
    /// is unchanged. If another builder publishes the same entry first, its entry is kept
    /// (after checking that the binaries are identical).
    pub fn publish<E>(
        &self,
        inputs: &DerivationInputs,
        produce: impl FnOnce(&Staging) -> Result<Produced, E>,
    ) -> Result<StoreEntry, PublishError<E>> {
        let hash = inputs.hash()?;
        if let Some(entry) = self.lookup(&hash, &inputs.name) {
            return Ok(entry);
        }
        self.build_and_publish(inputs, None, produce)
    }

    /// Like [`StoreRoot::publish`], and also registers the entry as the GC root of `project_dir`
    /// in the same critical section, so a concurrent `gc` can never remove it in between.
    pub fn realize<E>(
        &self,
        inputs: &DerivationInputs,
        project_dir: &Path,
        produce: impl FnOnce(&Staging) -> Result<Produced, E>,
    ) -> Result<Realized, PublishError<E>> {
        self.realize_hashed(inputs, &inputs.hash()?, project_dir, produce)
    }

    /// [`StoreRoot::realize`] for a caller that already has `hash`, the hash of `inputs`.
    pub fn realize_hashed<E>(
        &self,
        inputs: &DerivationInputs,
        hash: &DerivationHash,
        project_dir: &Path,
        produce: impl FnOnce(&Staging) -> Result<Produced, E>,
    ) -> Result<Realized, PublishError<E>> {
        if let Some(entry) = self.lookup(hash, &inputs.name) {
            match self.register_root(project_dir, &entry) {
                Ok(()) => {
                    return Ok(Realized {
                        entry,
                        built: false,
                    })
                }
                // Collected between the lookup and the lock: build it again.
                Err(StoreError::EntryMissing { .. }) => {}
                Err(e) => return Err(e.into()),
            }
        }
        let entry = self.build_and_publish(inputs, Some(project_dir), produce)?;
        Ok(Realized { entry, built: true })
    }

    fn build_and_publish<E>(
        &self,
        inputs: &DerivationInputs,
        root_for: Option<&Path>,
        produce: impl FnOnce(&Staging) -> Result<Produced, E>,
    ) -> Result<StoreEntry, PublishError<E>> {
        let hash = inputs.hash()?;
        // Dropping `tmp` removes it: every early return below leaves nothing behind.
        let tmp = self.staging_dir(&hash)?;
        let staging = Staging {
            dir: tmp.path().to_path_buf(),
            name: inputs.name.clone(),
        };
        let produced = produce(&staging).map_err(PublishError::Produce)?;

        let binary = staging.binary_path();
        if !std::fs::symlink_metadata(&binary).is_ok_and(|m| m.is_file()) {
            return Err(StoreError::MissingBinary { path: binary }.into());
        }
        // Sealing keeps execute bits; make sure the binary has them whatever the producer did.
        fs_err::set_permissions(&binary, std::fs::Permissions::from_mode(0o755))
            .map_err(StoreError::from)?;
        let (sha256, size) = file_digest(&binary).map_err(StoreError::from)?;
        let record = BuildRecord {
            schema_version: BUILD_RECORD_SCHEMA.to_string(),
            hash: hash.clone(),
            inputs: inputs.clone(),
            output: OutputFile {
                file: inputs.name.to_string(),
                sha256,
                size,
            },
            c_source_sha256: produced.c_source_sha256,
            c_source_size: produced.c_source_size,
            cc_version_line: produced.cc_version_line,
        };
        let record_bytes =
            canonical_file_bytes(&record).map_err(|source| StoreError::Canonical {
                what: "build.json",
                source,
            })?;
        fs_err::write(tmp.path().join(BUILD_RECORD_FILE), record_bytes)
            .map_err(StoreError::from)?;
        seal_files(tmp.path()).map_err(StoreError::from)?;

        let _lock = StoreLock::acquire(self.path())?;
        let entry = StoreEntry::at(self.path(), &hash, &inputs.name);
        self.commit_locked(tmp, &entry, &sha256)?;
        if let Some(project_dir) = root_for {
            self.write_root_locked(project_dir, &entry)?;
        }
        Ok(entry)
    }

    /// Renames the sealed staging directory to `entry` (the store lock is held), or keeps an
    /// entry already there after checking that it holds the same binary.
    fn commit_locked(
        &self,
        tmp: tempfile::TempDir,
        entry: &StoreEntry,
        sha256: &Sha256Digest,
    ) -> Result<(), StoreError> {
        if std::fs::symlink_metadata(&entry.dir).is_ok() {
            let existing = entry.build_record()?;
            if existing.output.sha256 != *sha256 {
                return Err(StoreError::ConflictingOutput {
                    entry: entry.dir.clone(),
                    existing: existing.output.sha256,
                    new: *sha256,
                });
            }
            // `tmp` is removed when dropped (its files are read-only, its directories not yet).
        } else {
            fs_err::rename(tmp.path(), &entry.dir)?;
            // The staging path no longer exists; stop `TempDir` from trying to remove it.
            let _ = tmp.keep();
            sync_dir(self.path())?;
            seal_dirs(&entry.dir)?;
        }
        Ok(())
    }

    /// Publishes an entry whose files come from elsewhere (a binary cache).
    ///
    /// `fill` writes the entry's files into a staging directory inside the store. They are then
    /// checked as `x07 store verify` checks an entry (build.json reads, its inputs hash to
    /// `hash` and name `name`, the binary and the kept C source have the recorded digests), sealed
    /// read-only and renamed into place under the store lock. An entry already present is kept
    /// after checking that it holds the same binary. On any error nothing is added to the store.
    pub fn import<E>(
        &self,
        hash: &DerivationHash,
        name: &ArtifactName,
        fill: impl FnOnce(&Path) -> Result<(), E>,
    ) -> Result<StoreEntry, PublishError<E>> {
        let entry = StoreEntry::at(self.path(), hash, name);
        let tmp = self.staging_dir(hash)?;
        fill(tmp.path()).map_err(PublishError::Produce)?;
        let staged = StoreEntry {
            dir: tmp.path().to_path_buf(),
            name: name.clone(),
            hash: hash.clone(),
        };
        let problems = verify_entry(&staged);
        if !problems.is_empty() {
            let reasons: Vec<String> = problems.iter().map(|p| p.kind.to_string()).collect();
            return Err(import_refused(&entry, reasons.join("; ")).into());
        }
        let record = staged.build_record()?;
        let binary = staged.binary_path();
        if !fs_err::symlink_metadata(&binary).is_ok_and(|m| m.is_file()) {
            return Err(import_refused(&entry, "the binary is not a regular file").into());
        }
        fs_err::set_permissions(&binary, std::fs::Permissions::from_mode(0o755))
            .map_err(StoreError::from)?;
        seal_files(tmp.path()).map_err(StoreError::from)?;
        let _lock = StoreLock::acquire(self.path())?;
        self.commit_locked(tmp, &entry, &record.output.sha256)?;
        Ok(entry)
    }
}
