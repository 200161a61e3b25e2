//! Why an archive is refused on reading, or a package directory cannot be packed.

use std::path::PathBuf;

use crate::archive::path::{shown_path, PathRefusal, MAX_SEGMENT_BYTES};
use crate::document::DocumentError;
use crate::package::{ModuleId, PackageInvalid};

/// An archive is refused (or could not be unpacked); each refusal of the contract has its own
/// variant, naming the entry.
#[derive(Debug, thiserror::Error)]
pub enum UnpackError {
    /// The bytes are not a zstd-compressed or plain tar archive, or are corrupt or truncated.
    #[error("the archive is not a readable tar (zstd-compressed or plain): {detail}")]
    Malformed {
        /// What the reader found.
        detail: String,
    },
    /// An entry path starts at the root or a drive.
    #[error("archive entry `{entry}` has an absolute path; entries must be relative")]
    AbsolutePath {
        /// The entry path.
        entry: String,
    },
    /// An entry path has a `..` segment.
    #[error("archive entry `{entry}` has a `..` segment; entries must stay inside the package")]
    ParentComponent {
        /// The entry path.
        entry: String,
    },
    /// An entry path has a `.` segment.
    #[error("archive entry `{entry}` has a `.` segment; entry paths must be written without `./`")]
    CurrentComponent {
        /// The entry path.
        entry: String,
    },
    /// An entry path is empty or has an empty segment.
    #[error("archive entry `{entry}` has an empty path segment (`//`, a leading or trailing `/`, or no name)")]
    EmptyComponent {
        /// The entry path.
        entry: String,
    },
    /// An entry path is not UTF-8 or holds `\`, NUL or control characters.
    #[error(
        "archive entry `{entry}` has a path that is not UTF-8 or holds `\\` or control characters"
    )]
    BadPathCharacters {
        /// The entry path (lossy).
        entry: String,
    },
    /// An entry path is longer than the limit.
    #[error("archive entry `{entry}` has a path of {len} bytes; at most {limit} are allowed")]
    PathTooLong {
        /// The entry path (its start, when it was never read whole).
        entry: String,
        /// Its length in bytes.
        len: u64,
        /// The limit.
        limit: usize,
    },
    /// A segment (file or directory name) of an entry path is longer than file systems allow.
    #[error("archive entry `{entry}` has a path segment of {len} bytes; at most {limit} are allowed (the longest file name file systems take)")]
    SegmentTooLong {
        /// The entry path (its start).
        entry: String,
        /// The length of the longest segment, in bytes.
        len: usize,
        /// The limit.
        limit: usize,
    },
    /// A symbolic link entry.
    #[error("archive entry `{entry}` is a symbolic link (to `{target}`); archives hold regular files only")]
    Symlink {
        /// The entry path.
        entry: String,
        /// The link target.
        target: String,
    },
    /// A hard link entry.
    #[error(
        "archive entry `{entry}` is a hard link (to `{target}`); archives hold regular files only"
    )]
    Hardlink {
        /// The entry path.
        entry: String,
        /// The link target.
        target: String,
    },
    /// A character or block device entry.
    #[error("archive entry `{entry}` is a device; archives hold regular files only")]
    Device {
        /// The entry path.
        entry: String,
    },
    /// A fifo entry.
    #[error("archive entry `{entry}` is a fifo; archives hold regular files only")]
    Fifo {
        /// The entry path.
        entry: String,
    },
    /// A directory entry.
    #[error("archive entry `{entry}` is a directory; archives hold regular files only (directories are implied by file paths)")]
    Directory {
        /// The entry path.
        entry: String,
    },
    /// Another tar entry type (sparse, contiguous, global header, GNU long link, ...).
    #[error("archive entry `{entry}` has tar type `{kind}`, which package archives do not use")]
    UnsupportedEntryType {
        /// The entry path.
        entry: String,
        /// The type flag, as a character.
        kind: char,
    },
    /// A pax extended header sets a key the reader does not accept (`size`, `linkpath`, ...).
    #[error(
        "a pax header sets `{key}`, which package archives do not use (only `path` and timestamps/ownership are read)"
    )]
    UnsupportedPaxKey {
        /// The key.
        key: String,
    },
    /// A pax or GNU long-name header is larger than any accepted path needs.
    #[error("an extended header of {size} bytes is larger than the {limit} a path needs")]
    ExtensionTooLarge {
        /// Declared size.
        size: u64,
        /// The limit.
        limit: u64,
    },
    /// Two entries have the same path.
    #[error("archive entry `{entry}` appears twice")]
    Duplicate {
        /// The entry path.
        entry: String,
    },
    /// Two entry paths differ only in letter case (they would collide on macOS and Windows).
    #[error("archive entries `{entry}` and `{other}` differ only in letter case")]
    CaseCollision {
        /// The later entry.
        entry: String,
        /// The earlier entry.
        other: String,
    },
    /// One entry is a file at a path another entry uses as a directory.
    #[error("archive entry `{entry}` conflicts with `{other}`: one would be both a file and a directory")]
    PathConflict {
        /// The later entry.
        entry: String,
        /// The earlier entry.
        other: String,
    },
    /// More entries than allowed.
    #[error("archive entry `{entry}` is past the limit of {limit} entries")]
    TooManyEntries {
        /// The first entry over the limit.
        entry: String,
        /// The limit.
        limit: usize,
    },
    /// One file is larger than allowed.
    #[error("archive entry `{entry}` holds {size} bytes; one file may hold at most {limit}")]
    FileTooLarge {
        /// The entry path.
        entry: String,
        /// Its declared size.
        size: u64,
        /// The limit.
        limit: u64,
    },
    /// The files together are larger than allowed.
    #[error("archive entry `{entry}` brings the unpacked size to {total} bytes; at most {limit} are allowed")]
    TotalTooLarge {
        /// The entry that crossed the limit.
        entry: String,
        /// The total with this entry.
        total: u64,
        /// The limit.
        limit: u64,
    },
    /// The archive has no `x07-package.json`.
    #[error("the archive has no x07-package.json at its root")]
    MissingManifest,
    /// The archive's manifest is invalid.
    #[error("the archive's manifest is invalid: {0}")]
    Manifest(#[source] DocumentError),
    /// A module the manifest lists is not in the archive.
    #[error("the archive lacks `{path}`, the file of module `{module}` that its manifest lists")]
    MissingModule {
        /// The module.
        module: ModuleId,
        /// The expected entry path.
        path: String,
    },
    /// An entry that is neither the manifest, a listed module, a top-level doc file, nor under
    /// `ffi/` or `tests/`.
    #[error(
        "archive entry `{entry}` is not a package file (x07-package.json, a listed module, a file under ffi/ or \
         tests/, or a top-level README, LICENSE, COPYING, CHANGELOG.md or NOTICE file)"
    )]
    UnexpectedEntry {
        /// The entry path.
        entry: String,
    },
    /// The destination already exists.
    #[error("{}: already exists; unpacking never writes over a directory", .dest.display())]
    DestinationExists {
        /// The destination.
        dest: PathBuf,
    },
    /// A local file-system operation failed.
    #[error("{}: cannot {action}: {source}", .path.display())]
    Io {
        /// The path worked on.
        path: PathBuf,
        /// What was being done.
        action: &'static str,
        /// The error.
        source: std::io::Error,
    },
}

impl UnpackError {
    /// The refusal for an entry path that broke a path rule.
    pub(crate) fn from_path_refusal(refusal: PathRefusal, raw: &[u8], limit: usize) -> Self {
        let entry = shown_path(raw);
        match refusal {
            PathRefusal::TooLong => Self::PathTooLong {
                entry: truncated(&entry),
                len: raw.len() as u64,
                limit,
            },
            PathRefusal::SegmentTooLong => Self::SegmentTooLong {
                entry: truncated(&entry),
                len: raw
                    .split(|b| *b == b'/')
                    .map(<[u8]>::len)
                    .max()
                    .unwrap_or(0),
                limit: MAX_SEGMENT_BYTES,
            },
            PathRefusal::Absolute => Self::AbsolutePath { entry },
            PathRefusal::Parent => Self::ParentComponent { entry },
            PathRefusal::Current => Self::CurrentComponent { entry },
            PathRefusal::Empty => Self::EmptyComponent { entry },
            PathRefusal::Characters => Self::BadPathCharacters { entry },
        }
    }

    pub(crate) fn malformed(e: impl std::fmt::Display) -> Self {
        Self::Malformed {
            detail: e.to_string(),
        }
    }
}

/// The first 80 characters of an over-long path, marked as cut.
pub(crate) fn truncated(text: &str) -> String {
    match text.char_indices().nth(80) {
        Some((i, _)) => format!("{}…", &text[..i]),
        None => text.to_string(),
    }
}

/// A package directory cannot be packed.
#[derive(Debug, thiserror::Error)]
pub enum PackError {
    /// `x07-package.json` is missing or invalid.
    #[error(transparent)]
    Manifest(DocumentError),
    /// The manifest does not fit the package directory (e.g. a module file is missing).
    #[error("{}: {source}", .manifest.display())]
    Invalid {
        /// The manifest file.
        manifest: PathBuf,
        /// What is wrong.
        source: PackageInvalid,
    },
    /// A package file (under `ffi/` or `tests/`, or a doc file) is not a regular file, or `ffi`
    /// or `tests` is not a plain directory.
    #[error(
        "{}: is {found}; packages hold regular files in plain directories only (replace a link with a copy of what it points to)",
        .path.display()
    )]
    NotRegular {
        /// The offending path.
        path: PathBuf,
        /// What it is.
        found: &'static str,
    },
    /// The directory holds what the archive may not (a name or a size unpacking would refuse).
    #[error("the package cannot be packed, because unpacking would refuse it: {0}")]
    WouldBeRefused(UnpackError),
    /// Reading a file or compressing failed.
    #[error("{}: cannot {action}: {source}", .path.display())]
    Io {
        /// The path worked on.
        path: PathBuf,
        /// What was being done.
        action: &'static str,
        /// The error.
        source: std::io::Error,
    },
}
