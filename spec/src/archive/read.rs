//! Streaming through an archive: every refusal is decided from a header before its data is read,
//! so a decompression bomb stops at its first oversized header without being inflated.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufReader, Read};

use serde::Serialize;
use tar::EntryType;

use crate::archive::error::UnpackError;
use crate::archive::framing::{check_no_trailing_input, max_tar_bytes, TarStream};
use crate::archive::limits::UnpackLimits;
use crate::archive::path::{check_entry_path, shown_path, ArchivePath};
use crate::digest::{Sha256Digest, Sha256Hasher};

/// The zstd frame magic, little-endian `0xFD2FB528`.
pub const ZSTD_MAGIC: [u8; 4] = [0x28, 0xb5, 0x2f, 0xfd];
/// Largest zstd window accepted (16 MiB): level 19 uses at most 8 MiB, and a hostile frame
/// must not make the decoder reserve more.
const ZSTD_WINDOW_LOG_MAX: u32 = 24;
/// pax keys that carry metadata x07 ignores; any other key is refused.
const IGNORED_PAX_KEYS: [&str; 8] = [
    "mtime", "atime", "ctime", "uid", "gid", "uname", "gname", "comment",
];

/// One file of an archive.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ArchiveEntry {
    /// Its path inside the archive.
    pub path: ArchivePath,
    /// Its size in bytes.
    pub size: u64,
    /// The digest of its bytes.
    pub sha256: Sha256Digest,
}

/// Receives the files of an archive as they stream by.
pub(crate) trait FileSink {
    /// A file starts.
    fn begin(&mut self, path: &ArchivePath) -> Result<(), UnpackError>;
    /// The next bytes of the current file.
    fn write(&mut self, chunk: &[u8]) -> Result<(), UnpackError>;
    /// The current file is complete.
    fn end(&mut self) -> Result<(), UnpackError>;
}

/// A sink that keeps nothing (listing).
pub(crate) struct Discard;

impl FileSink for Discard {
    fn begin(&mut self, _: &ArchivePath) -> Result<(), UnpackError> {
        Ok(())
    }
    fn write(&mut self, _: &[u8]) -> Result<(), UnpackError> {
        Ok(())
    }
    fn end(&mut self) -> Result<(), UnpackError> {
        Ok(())
    }
}

/// Streams every file of `input` (zstd-compressed or plain tar) into `sink`, checking each
/// header against the rules and `limits` first, then the framing: the tar's end blocks, nothing
/// but zero padding after them, and for zstd one complete frame with nothing after it. Never
/// inflates more than a tar within `limits` can hold.
pub(crate) fn walk_files(
    input: impl Read,
    limits: &UnpackLimits,
    sink: &mut dyn FileSink,
) -> Result<Vec<ArchiveEntry>, UnpackError> {
    let mut input = input;
    let mut magic = [0u8; 4];
    let mut got = 0;
    while got < magic.len() {
        match input.read(&mut magic[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(UnpackError::malformed(e)),
        }
    }
    let input = BufReader::with_capacity(64 * 1024, (&magic[..got]).chain(input));
    let cap = max_tar_bytes(limits);
    if magic[..got] == ZSTD_MAGIC {
        let mut decoder = zstd::stream::read::Decoder::with_buffer(input)
            .map_err(UnpackError::malformed)?
            .single_frame();
        decoder
            .window_log_max(ZSTD_WINDOW_LOG_MAX)
            .map_err(UnpackError::malformed)?;
        let mut tar = TarStream::new(&mut decoder, cap);
        let files = walk_tar(&mut tar, limits, sink)?;
        tar.check_end()?;
        check_no_trailing_input(decoder.finish())?;
        Ok(files)
    } else {
        let mut tar = TarStream::new(input, cap);
        let files = walk_tar(&mut tar, limits, sink)?;
        tar.check_end()?;
        Ok(files)
    }
}

/// A path announced by a pax or GNU long-name header for the next entry.
#[derive(Default)]
struct PendingPath {
    path: Option<Vec<u8>>,
    had_pax: bool,
    had_long_name: bool,
}

fn walk_tar<R: Read>(
    reader: R,
    limits: &UnpackLimits,
    sink: &mut dyn FileSink,
) -> Result<Vec<ArchiveEntry>, UnpackError> {
    let mut archive = tar::Archive::new(reader);
    // Raw entries: pax and GNU long-name headers come to us, so their size is checked before
    // they are read (the crate would read them whole).
    let entries = archive.entries().map_err(UnpackError::malformed)?.raw(true);
    let mut seen = SeenPaths::default();
    let mut files = Vec::new();
    let mut total: u64 = 0;
    let mut pending = PendingPath::default();
    let mut buffer = vec![0u8; 64 * 1024];
    for entry in entries {
        let mut entry = entry.map_err(UnpackError::malformed)?;
        let header = entry.header().clone();
        let size = header.entry_size().map_err(UnpackError::malformed)?;
        match header.entry_type() {
            EntryType::XHeader => {
                let data = read_extension(&mut entry, size, limits)?;
                if std::mem::replace(&mut pending.had_pax, true) {
                    return Err(UnpackError::malformed("two pax headers in a row"));
                }
                if let Some(path) = pax_path(&data)? {
                    pending.path = Some(path);
                }
                continue;
            }
            EntryType::GNULongName => {
                if size > limits.max_extension_bytes() {
                    return Err(UnpackError::PathTooLong {
                        entry: format!("(GNU long name of {size} bytes)"),
                        len: size,
                        limit: limits.max_path_bytes,
                    });
                }
                let mut data = read_extension(&mut entry, size, limits)?;
                if std::mem::replace(&mut pending.had_long_name, true) {
                    return Err(UnpackError::malformed("two GNU long-name headers in a row"));
                }
                while data.last() == Some(&0) {
                    data.pop();
                }
                // A pax path, when both are given, is the one POSIX readers use.
                if pending.path.is_none() {
                    pending.path = Some(data);
                }
                continue;
            }
            _ => {}
        }
        let raw_path = std::mem::take(&mut pending)
            .path
            .unwrap_or_else(|| header.path_bytes().into_owned());
        refuse_non_regular(&header, &raw_path)?;
        let path = check_entry_path(&raw_path, limits.max_path_bytes)
            .map_err(|r| UnpackError::from_path_refusal(r, &raw_path, limits.max_path_bytes))?;
        if files.len() == limits.max_entries {
            return Err(UnpackError::TooManyEntries {
                entry: path.to_string(),
                limit: limits.max_entries,
            });
        }
        seen.insert(&path)?;
        if size > limits.max_file_bytes {
            return Err(UnpackError::FileTooLarge {
                entry: path.to_string(),
                size,
                limit: limits.max_file_bytes,
            });
        }
        total = total.saturating_add(size);
        if total > limits.max_total_bytes {
            return Err(UnpackError::TotalTooLarge {
                entry: path.to_string(),
                total,
                limit: limits.max_total_bytes,
            });
        }

        sink.begin(&path)?;
        let mut hasher = Sha256Hasher::new();
        let mut read: u64 = 0;
        loop {
            let n = entry.read(&mut buffer).map_err(UnpackError::malformed)?;
            if n == 0 {
                break;
            }
            read += n as u64;
            hasher.update(&buffer[..n]);
            sink.write(&buffer[..n])?;
        }
        if read != size {
            return Err(UnpackError::malformed(format!(
                "entry `{path}` is truncated: {read} of {size} bytes"
            )));
        }
        sink.end()?;
        files.push(ArchiveEntry {
            path,
            size,
            sha256: hasher.finish(),
        });
    }
    if pending.had_pax || pending.had_long_name {
        return Err(UnpackError::malformed(
            "the archive ends with an extended header and no entry",
        ));
    }
    Ok(files)
}

/// Reads a pax or GNU long-name header's data, refusing it first if it is larger than a path needs.
fn read_extension(
    entry: &mut impl Read,
    size: u64,
    limits: &UnpackLimits,
) -> Result<Vec<u8>, UnpackError> {
    let limit = limits.max_extension_bytes();
    if size > limit {
        return Err(UnpackError::ExtensionTooLarge { size, limit });
    }
    let mut data = Vec::with_capacity(size as usize);
    entry
        .take(size)
        .read_to_end(&mut data)
        .map_err(UnpackError::malformed)?;
    if data.len() as u64 != size {
        return Err(UnpackError::malformed("an extended header is truncated"));
    }
    Ok(data)
}

/// The `path` of a pax header; keys other than `path` and plain metadata are refused, so that
/// no reader can see a different size or a link where this one sees a file.
fn pax_path(data: &[u8]) -> Result<Option<Vec<u8>>, UnpackError> {
    let mut path = None;
    for record in tar::PaxExtensions::new(data) {
        let record = record.map_err(UnpackError::malformed)?;
        let key = record
            .key()
            .map_err(|_| UnpackError::malformed("a pax key is not UTF-8"))?;
        if key == "path" {
            path = Some(record.value_bytes().to_vec());
        } else if !IGNORED_PAX_KEYS.contains(&key) {
            return Err(UnpackError::UnsupportedPaxKey {
                key: key.to_string(),
            });
        }
    }
    Ok(path)
}

fn refuse_non_regular(header: &tar::Header, raw_path: &[u8]) -> Result<(), UnpackError> {
    let entry = shown_path(raw_path);
    let target = || {
        header
            .link_name_bytes()
            .map(|t| shown_path(&t))
            .unwrap_or_default()
    };
    match header.entry_type() {
        EntryType::Regular => Ok(()),
        EntryType::Symlink => Err(UnpackError::Symlink {
            entry,
            target: target(),
        }),
        EntryType::Link => Err(UnpackError::Hardlink {
            entry,
            target: target(),
        }),
        EntryType::Char | EntryType::Block => Err(UnpackError::Device { entry }),
        EntryType::Fifo => Err(UnpackError::Fifo { entry }),
        EntryType::Directory => Err(UnpackError::Directory { entry }),
        other => Err(UnpackError::UnsupportedEntryType {
            entry,
            kind: char::from(other.as_byte()),
        }),
    }
}

/// The paths seen so far, to refuse duplicates, file/directory conflicts and case collisions.
#[derive(Default)]
pub(crate) struct SeenPaths {
    files: BTreeSet<String>,
    dirs: BTreeSet<String>,
    /// Lower-cased file or directory path → the path as first seen.
    folded: BTreeMap<String, String>,
}

impl SeenPaths {
    /// Records `path`, refusing a duplicate, a file/directory conflict or a case collision.
    pub(crate) fn insert(&mut self, path: &ArchivePath) -> Result<(), UnpackError> {
        let text = path.as_str();
        if self.files.contains(text) {
            return Err(UnpackError::Duplicate {
                entry: text.to_string(),
            });
        }
        if self.dirs.contains(text) {
            let prefix = format!("{text}/");
            let other = self
                .files
                .range(prefix.clone()..)
                .next()
                .filter(|f| f.starts_with(&prefix))
                .cloned();
            return Err(UnpackError::PathConflict {
                entry: text.to_string(),
                other: other.unwrap_or(prefix),
            });
        }
        for dir in path.parent_dirs() {
            if self.files.contains(dir) {
                return Err(UnpackError::PathConflict {
                    entry: text.to_string(),
                    other: dir.to_string(),
                });
            }
        }
        for name in path.parent_dirs().chain([text]) {
            let folded = name.to_lowercase();
            match self.folded.get(&folded) {
                Some(first) if first != name => {
                    return Err(UnpackError::CaseCollision {
                        entry: text.to_string(),
                        other: first.clone(),
                    })
                }
                Some(_) => {}
                None => {
                    self.folded.insert(folded, name.to_string());
                }
            }
        }
        self.dirs.extend(path.parent_dirs().map(str::to_string));
        self.files.insert(text.to_string());
        Ok(())
    }
}
