//! Package archives `.x07pkg`: a deterministic ustar tar compressed with zstd.
//!
//! Contract: docs/internals/packages.md. [`pack`] writes one from a package directory;
//! [`unpack`] and [`list`] read zstd-compressed or plain tar and refuse, entry by entry and
//! before reading the data, anything that is not a plain relative regular file within the limits.

mod error;
mod framing;
mod limits;
mod pack;
mod path;
mod read;
mod unpack;

pub use error::{PackError, UnpackError};
pub use limits::UnpackLimits;
pub use pack::{pack, PackedArchive, ZSTD_LEVEL};
pub use path::ArchivePath;
pub use read::{ArchiveEntry, ZSTD_MAGIC};
pub use unpack::{list, list_from, unpack, unpack_from, UnpackedPackage};

/// The file extension of package archives.
pub const ARCHIVE_EXTENSION: &str = "x07pkg";
