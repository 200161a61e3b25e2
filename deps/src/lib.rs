//! x07-deps: a project's package dependencies — the requirements in `x07.json` (edited in the
//! user's key order), the lock produced from a registry, and the package trees under `.x07/deps/`.
//!
//! Contract: docs/internals/packages.md ("Projects"). Every command that changes a project holds
//! [`ProjectGuard`] (an exclusive lock on `.x07/pkg.lock`), so two `x07 pkg add` at once serialize.

// Errors end the command that meets them and carry the paths and names the message needs;
// their size never matters on a hot path.
#![allow(clippy::result_large_err)]

mod error;
mod guard;
mod install;
mod local_path;
mod locking;
mod manifest_edit;
mod project;
mod sync;

pub use error::DepsError;
pub use guard::ProjectGuard;
pub use local_path::{local_dependency_path, LocalPathError};
pub use locking::{lock_project, LockOptions, LockOutcome};
pub use manifest_edit::{DependencySpec, ManifestChange, ManifestEdit};
pub use project::Project;
pub use sync::{prune_unlocked, sync_locked, SyncReport};
pub use x07_lock::{lock_satisfies, RootRequirement};
