//! x07-bundler: `x07 bundle` (docs/bundling.md). An os bundle is the program built with the
//! bundle entry point; a sandbox bundle is the trusted launcher with the program and its
//! effective policy sealed after it. Both are store entries, copied to `--out`.

mod closure;
mod error;
mod make;
mod out_path;
mod provenance;
mod verify;
pub mod vm;

pub use closure::{closure_of, guest_files, Closure, NET_DATA_FILES};
pub use error::BundleError;
pub use make::beside;
pub use make::{bundle, BundleLimits, BundleOutcome, BundleRequest, Bundled};
pub use out_path::out_path;
pub use provenance::{package_digest, Signing};
pub use verify::{inspect, verify, Inspection, Verified, VerifyError, VmInspection};
pub use x07_builder::emit::BUNDLE_TRAP_EXIT_CODE;
