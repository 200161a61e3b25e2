//! `x07 store verify`: recompute every entry's digests and compare them with `build.json`.

use std::path::PathBuf;

use x07_spec::Sha256Digest;

use super::fs_tree::file_digest;
use super::{DerivationHash, StoreEntry, StoreError, StoreRoot};

/// One thing wrong with one entry.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}: {kind}", entry.display())]
pub struct VerifyProblem {
    /// The entry directory.
    pub entry: PathBuf,
    /// What is wrong.
    pub kind: VerifyProblemKind,
}

/// What can be wrong with an entry.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyProblemKind {
    /// `build.json` is missing, unreadable or malformed.
    #[error(
        "build.json cannot be used: {reason}; remove the entry (x07 store gc) and build again"
    )]
    BadRecord {
        /// Why.
        reason: String,
    },
    /// The inputs in `build.json` do not hash to the entry's name.
    #[error(
        "build.json inputs hash to {actual}, not to the entry's hash {expected}; the entry was edited or misplaced"
    )]
    WrongHash {
        /// The hash in the directory name.
        expected: DerivationHash,
        /// The hash of the recorded inputs.
        actual: DerivationHash,
    },
    /// The binary is missing.
    #[error("the binary {} is missing", path.display())]
    MissingBinary {
        /// Where it should be.
        path: PathBuf,
    },
    /// The binary's bytes differ from what was recorded.
    #[error("the binary {} has digest {actual}, but build.json records {recorded}; it was modified after the build", path.display())]
    BinaryModified {
        /// The binary.
        path: PathBuf,
        /// Digest in `build.json`.
        recorded: Sha256Digest,
        /// Digest of the file now.
        actual: Sha256Digest,
    },
    /// The kept C source differs from what was recorded.
    #[error("the C source {} has digest {actual}, but build.json records {recorded}", path.display())]
    CSourceModified {
        /// The C source.
        path: PathBuf,
        /// Digest in `build.json`.
        recorded: Sha256Digest,
        /// Digest of the file now.
        actual: Sha256Digest,
    },
}

impl StoreRoot {
    /// Checks every entry; an empty list means the store is intact.
    pub fn verify(&self) -> Result<Vec<VerifyProblem>, StoreError> {
        let mut problems = Vec::new();
        for entry in self.ls()? {
            let found = verify_entry(&entry);
            // An entry that vanished while we looked was collected by a concurrent gc, not damaged.
            if !found.is_empty() && entry.dir.exists() {
                problems.extend(found);
            }
        }
        Ok(problems)
    }
}

/// Checks one entry against its `build.json`.
pub fn verify_entry(entry: &StoreEntry) -> Vec<VerifyProblem> {
    let problem = |kind| VerifyProblem {
        entry: entry.dir.clone(),
        kind,
    };
    let record = match entry.build_record() {
        Ok(r) => r,
        Err(e) => {
            return vec![problem(VerifyProblemKind::BadRecord {
                reason: e.to_string(),
            })]
        }
    };
    let mut problems = Vec::new();
    match record.inputs.hash() {
        Ok(actual)
            if actual == entry.hash
                && record.hash == entry.hash
                && record.inputs.name == entry.name => {}
        Ok(actual) => problems.push(problem(VerifyProblemKind::WrongHash {
            expected: entry.hash.clone(),
            actual,
        })),
        Err(e) => problems.push(problem(VerifyProblemKind::BadRecord {
            reason: e.to_string(),
        })),
    }
    let binary = entry.binary_path();
    match file_digest(&binary) {
        Ok((actual, _)) if actual == record.output.sha256 => {}
        Ok((actual, _)) => problems.push(problem(VerifyProblemKind::BinaryModified {
            path: binary,
            recorded: record.output.sha256,
            actual,
        })),
        Err(_) => problems.push(problem(VerifyProblemKind::MissingBinary { path: binary })),
    }
    let c_source = entry.c_source_path();
    if let Ok((actual, _)) = file_digest(&c_source) {
        if actual != record.c_source_sha256 {
            problems.push(problem(VerifyProblemKind::CSourceModified {
                path: c_source,
                recorded: record.c_source_sha256,
                actual,
            }));
        }
    }
    problems
}
