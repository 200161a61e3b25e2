//! Which program a command works on, prepared once for `x07 build`, `x07 run`, `x07 bundle` and
//! the VM backend: a project (found by walking up, or named) or a single entry file, the profile
//! and world that apply, the lock checked against x07.json and the files on disk, and the native
//! inputs of its packages.

mod error;
mod gate;
mod lock_check;
mod native;
mod target;

pub use error::ProjectError;
pub use gate::LanguageGate;
pub use native::discover_native;
pub use target::{
    artifact_name, discover_manifest, find_manifest, resolve_target, Target, TargetKind,
    TargetRequest,
};
