//! Substitution: fetching a prebuilt entry (from a binary cache) instead of building it.
//!
//! The builder only defines the hook ([`Substituter`]) and the store side of it: importing an
//! entry whose files come from elsewhere ([`StoreRoot::import`], checked like `x07 store verify`
//! before it is renamed into place) and the local index that lets a machine without a C compiler
//! find entries by [`DerivationInputs::hash_without_cc`]. The binary cache itself (signatures,
//! archives, S3) lives in the `x07-store-cache` crate.

use std::fmt;
use std::path::PathBuf;

use x07_spec::write_atomic;

use super::{ArtifactName, DerivationHash, DerivationInputs, StoreEntry, StoreError, StoreRoot};
use crate::cc::X07Home;

/// What a build asks a substituter for.
#[derive(Debug, Clone, Copy)]
pub enum Wanted<'a> {
    /// The entry of exactly these inputs (this machine has a C compiler and knows its identity).
    Exact(&'a DerivationInputs),
    /// Any trusted entry whose inputs equal these in everything but the compiler (this machine
    /// has no C compiler); the `cc_version_digest` given is meaningless.
    WithoutCompiler(&'a DerivationInputs),
}

impl Wanted<'_> {
    /// The inputs asked for.
    pub fn inputs(&self) -> &DerivationInputs {
        match self {
            Wanted::Exact(i) | Wanted::WithoutCompiler(i) => i,
        }
    }
}

/// What a substituter did.
#[derive(Debug, Clone)]
pub enum Substitution {
    /// The entry is now in the store.
    Fetched {
        /// The entry.
        entry: StoreEntry,
        /// Where it came from (a cache URL).
        from: String,
        /// The compiler that built it, as its signed record names it (`--version` line or digest).
        compiler: String,
    },
    /// Nothing usable: one line per cache saying why (not there, untrusted, corrupt, unreachable).
    Missed(Vec<String>),
}

/// A source of prebuilt entries consulted before compiling (`x07 build --substituter URL`).
///
/// Implementations must only return entries they have verified (signature by a trusted key, every
/// digest) and must never fail the build: every problem is a [`Substitution::Missed`] reason.
pub trait Substituter: fmt::Debug + Send + Sync {
    /// Tries to bring the entry for `want` into `store`.
    fn substitute(&self, store: &StoreRoot, want: Wanted<'_>) -> Substitution;
}

/// `$X07_HOME/cache/without-cc/`: `<hash without cc>-<name>` → the entry directory name.
fn index_dir(home: &X07Home) -> PathBuf {
    home.cache_dir().join("without-cc")
}

impl StoreRoot {
    /// Remembers that `entry` (whose build record has `inputs`) serves the inputs without the
    /// compiler, so a machine without a C compiler finds it locally. A cache: failures are ignored.
    pub fn remember_without_cc(
        &self,
        home: &X07Home,
        inputs: &DerivationInputs,
        entry: &StoreEntry,
    ) {
        let Ok(hash) = inputs.hash_without_cc() else {
            return;
        };
        let dir = index_dir(home);
        let _ = fs_err::create_dir_all(&dir);
        let _ = write_atomic(
            &dir.join(format!("{hash}-{}", inputs.name)),
            entry.dir_name().as_bytes(),
        );
    }

    /// A local entry whose inputs equal `inputs` in everything but the compiler, found through
    /// the index [`StoreRoot::remember_without_cc`] keeps (and checked against its build.json).
    pub fn lookup_without_cc(
        &self,
        home: &X07Home,
        inputs: &DerivationInputs,
    ) -> Option<StoreEntry> {
        let hash: DerivationHash = inputs.hash_without_cc().ok()?;
        let file = index_dir(home).join(format!("{hash}-{}", inputs.name));
        let dir_name = fs_err::read_to_string(file).ok()?;
        let entry = StoreEntry::from_dir_name(self.path(), dir_name.trim())?;
        let record = entry.build_record().ok()?;
        (record.hash == entry.hash && record.inputs.same_except_compiler(inputs)).then_some(entry)
    }
}

/// The entry directory name `<hash>-<name>` parsed, for cache keys and references.
pub fn parse_entry_name(dir_name: &str) -> Option<(DerivationHash, ArtifactName)> {
    let e = StoreEntry::from_dir_name(std::path::Path::new(""), dir_name)?;
    Some((e.hash, e.name))
}

/// Why an imported entry was refused.
pub(crate) fn import_refused(entry: &StoreEntry, reason: impl Into<String>) -> StoreError {
    StoreError::ImportRefused {
        entry: entry.dir.clone(),
        reason: reason.into(),
    }
}
