//! x07-lock: version requirements, dependency resolution, the lockfile and its signature.
//! Contract: docs/internals/packages.md (REQ grammar, `x07.lock@0.5.0`, signatures).

pub mod fits;
pub mod lockfile;
pub mod req;
pub mod resolve;
pub mod signing;

pub use fits::{lock_satisfies, root_requirements, RequirementError, RootRequirement};
pub use lockfile::{
    check_unchanged, diff_locks, diff_resolution, hash_package_dir, DepSource, IndexSignature,
    Lock, LockChange, LockCheckError, LockFormat, LockMode, LockProblem, LockProblemKind,
    LockRegistry, LockSignature, LockedEdge, LockedPackage, PackageDigests, PackageHashError,
    RootDep, SignatureKind, LOCK_FILE_NAME, LOCK_SCHEMA_VERSION,
};
pub use req::{Comparator, Op, PackageReq, PackageReqError, ReqError, ReqErrorKind, VersionReq};
pub use resolve::{
    resolve, Catalog, CatalogVersion, Resolution, ResolveError, ResolveOptions, ResolvedDep,
};
pub use signing::{
    sign_lock, verify_lock, Ed25519Sig, KeyError, KeyFormat, KeyId, LockSignatureError, SigningKey,
    VerifyingKey,
};
