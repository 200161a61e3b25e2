//! x07-spec: the file formats of x07 — serde types, JSON Schemas, canonical JSON and digests.

pub mod archive;
pub mod atomic;
pub mod budget_profile;
pub mod bundle;
pub mod canonical;
pub mod dep_path;
pub mod diagnostic;
pub mod digest;
pub mod doctor;
pub mod document;
pub mod index;
pub mod key_id;
pub mod lock;
pub mod package;
pub mod package_id;
pub mod parallel;
pub mod policy;
pub mod profile;
pub mod project;
pub mod rel_path;
pub mod report;
pub mod rr_policy;
pub mod run_report;
mod schema_tag;
pub mod schemas;
pub mod solve_section;
pub mod store_cache;
pub mod suggest;
pub mod test_report;
pub mod tests_manifest;
pub mod version;
pub mod world;

pub use atomic::{
    write_atomic, write_atomic_with, write_if_changed, write_private, AtomicWrite, WriteOutcome,
};
pub use canonical::{canonical_file_bytes, pretty_file_bytes, to_canonical_vec, CanonicalError};
pub use dep_path::{DepPath, WorkspaceError, WORKSPACE_ROOT_ENV};
pub use diagnostic::{Diagnostic, Severity};
pub use digest::{DigestParseError, Sha256Digest, Sha256Hasher};
pub use document::{DocumentError, FieldError, FieldPath};
pub use key_id::KeyId;
pub use lock::{HexSha256, LockedDependency, Lockfile, LOCK_SCHEMA_VERSION};
pub use package_id::{PackageName, PackageVersion};
pub use policy::{Policy, PolicyId, Template, POLICY_SCHEMA_VERSION};
pub use profile::{CcProfile, Profile, ProfileName, RunnerChoice};
pub use project::{
    ProjectDependency, ProjectManifest, UnknownProfile, DEPS_DIR, PROJECT_FILE_NAME,
    PROJECT_SCHEMA_VERSION, PROJECT_SCHEMA_VERSION_REQS,
};
pub use rel_path::{RelPath, RelPathError};
pub use report::{
    ArtifactRunReport, CompileRunReport, CompileSection, NativeRequires, OsRunnerReport,
    OsRunnerReportVersion, SandboxBackend,
};
pub use run_report::{RepairSummary, RunReport, RunReportVersion, RunTarget, TargetKind};
pub use schemas::schema;
pub use solve_section::{
    DebugStats, MemStats, PolicyDenial, SandboxSummary, SchedStats, SolveSection,
};
pub use world::World;
