//! x07-lock: version requirements, resolution, the lockfile and its signature.

pub mod req;

pub use req::{Comparator, Op, PackageReq, PackageReqError, ReqError, ReqErrorKind, VersionReq};
