//! Bundle formats (docs/bundling.md): the sealed section a sandbox bundle carries after its
//! launcher, a VM bundle's manifest and pins, and the bundle report `x07 bundle` prints.

pub mod provenance;
mod report;
mod seal;
pub mod vm;

pub use report::{
    BundleAbi, BundleInfo, BundleKind, BundlePolicy, BundleReport, BundleReportVersion,
};
pub use seal::{
    seal, unseal, SealError, SealedParts, SEAL_MAGIC, SEAL_RELATIVE_ROOTS, SEAL_TRAILER_LEN,
};
