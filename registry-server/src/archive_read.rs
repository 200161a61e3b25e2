//! A minimal, bounded reader of `.x07pkg` archives (zstd-compressed or plain ustar) for publish checks.
//! It enforces the unpack limits of docs/internals/packages.md while reading, and never touches the disk.

use std::collections::BTreeMap;
use std::io::Read;

/// zstd frame magic.
const ZSTD_MAGIC: [u8; 4] = [0x28, 0xb5, 0x2f, 0xfd];
/// Most entries an archive may hold.
const MAX_ENTRIES: usize = 4096;
/// Longest entry path in bytes.
const MAX_PATH_BYTES: usize = 1024;
/// Most file bytes in total.
const MAX_TOTAL_BYTES: u64 = 64 * 1024 * 1024;
/// Most bytes in one file.
const MAX_FILE_BYTES: u64 = 16 * 1024 * 1024;
/// Cap on the decompressed tar stream: the file cap plus headers and padding of the most entries.
const MAX_STREAM_BYTES: u64 = MAX_TOTAL_BYTES + (MAX_ENTRIES as u64 + 2) * 2048;

/// Why an archive was refused.
#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    /// The tar or zstd stream is corrupt or truncated.
    #[error("the archive cannot be read: {0}")]
    Corrupt(String),
    /// An entry is not a regular file.
    #[error("entry `{0}` is not a regular file; archives hold regular files only")]
    NotRegularFile(String),
    /// An entry path is unsafe or malformed.
    #[error("entry path `{0}` must be relative, `/`-separated, without empty, `.` or `..` components, at most 1024 bytes")]
    BadPath(String),
    /// The same path appears twice.
    #[error("entry `{0}` appears more than once")]
    Duplicate(String),
    /// Too many entries or too many bytes.
    #[error("the archive exceeds the limits (4096 entries, 16 MiB per file, 64 MiB in total): {0}")]
    TooBig(String),
}

/// The files of an archive by path.
pub type ArchiveFiles = BTreeMap<String, Vec<u8>>;

/// Reads every file of an archive into memory, enforcing the unpack rules.
pub fn read_archive(bytes: &[u8]) -> Result<ArchiveFiles, ArchiveError> {
    if bytes.starts_with(&ZSTD_MAGIC) {
        let decoder = zstd::stream::read::Decoder::new(bytes).map_err(|e| ArchiveError::Corrupt(e.to_string()))?;
        read_tar(CappedReader { inner: decoder, left: MAX_STREAM_BYTES })
    } else {
        read_tar(CappedReader { inner: bytes, left: MAX_STREAM_BYTES })
    }
}

/// Fails the read once more than the cap has come out of the decompressor (stops zip bombs early).
struct CappedReader<R> {
    inner: R,
    left: u64,
}

impl<R: Read> Read for CappedReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.left = self.left.checked_sub(n as u64).ok_or_else(|| std::io::Error::other(TooBigMarker))?;
        Ok(n)
    }
}

#[derive(Debug)]
struct TooBigMarker;

impl std::fmt::Display for TooBigMarker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("decompressed data exceeds the size cap")
    }
}

impl std::error::Error for TooBigMarker {}

fn io_error(e: std::io::Error) -> ArchiveError {
    if e.get_ref().is_some_and(|inner| inner.is::<TooBigMarker>()) {
        ArchiveError::TooBig("decompressed data exceeds the size cap".into())
    } else {
        ArchiveError::Corrupt(e.to_string())
    }
}

fn read_tar<R: Read>(reader: R) -> Result<ArchiveFiles, ArchiveError> {
    let mut archive = tar::Archive::new(reader);
    let mut files = ArchiveFiles::new();
    let mut total: u64 = 0;
    for entry in archive.entries().map_err(io_error)? {
        let mut entry = entry.map_err(io_error)?;
        let raw_path = entry.path_bytes().into_owned();
        let path = String::from_utf8(raw_path).map_err(|e| ArchiveError::BadPath(String::from_utf8_lossy(e.as_bytes()).into()))?;
        if !is_clean_path(&path) {
            return Err(ArchiveError::BadPath(path));
        }
        if entry.header().entry_type() != tar::EntryType::Regular {
            return Err(ArchiveError::NotRegularFile(path));
        }
        if files.len() >= MAX_ENTRIES {
            return Err(ArchiveError::TooBig(format!("more than {MAX_ENTRIES} entries")));
        }
        let size = entry.header().size().map_err(io_error)?;
        if size > MAX_FILE_BYTES {
            return Err(ArchiveError::TooBig(format!("`{path}` is {size} bytes")));
        }
        total += size;
        if total > MAX_TOTAL_BYTES {
            return Err(ArchiveError::TooBig(format!("{total} bytes of files")));
        }
        let mut data = Vec::with_capacity(size as usize);
        entry.read_to_end(&mut data).map_err(io_error)?;
        if files.contains_key(&path) {
            return Err(ArchiveError::Duplicate(path));
        }
        files.insert(path, data);
    }
    Ok(files)
}

pub(crate) fn is_clean_path(path: &str) -> bool {
    !path.is_empty()
        && path.len() <= MAX_PATH_BYTES
        && !path.starts_with('/')
        && !path.contains('\\')
        && !path.contains('\0')
        && path.split('/').all(|c| !c.is_empty() && c != "." && c != "..")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tar_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
        let mut b = tar::Builder::new(Vec::new());
        for (path, data) in entries {
            let mut h = tar::Header::new_ustar();
            h.set_size(data.len() as u64);
            h.set_mode(0o644);
            h.set_entry_type(tar::EntryType::Regular);
            // Write the name bytes directly so unsafe paths reach the reader unmodified.
            h.as_old_mut().name[..path.len()].copy_from_slice(path.as_bytes());
            h.set_cksum();
            b.append(&h, *data).unwrap();
        }
        b.into_inner().unwrap()
    }

    #[test]
    fn reads_plain_and_zstd_and_refuses_bad_paths_and_duplicates() {
        let plain = tar_of(&[("a/b.txt", b"hi"), ("x07-package.json", b"{}")]);
        let files = read_archive(&plain).unwrap();
        assert_eq!(files.get("a/b.txt").map(Vec::as_slice), Some(&b"hi"[..]));
        let compressed = zstd::encode_all(&plain[..], 3).unwrap();
        assert_eq!(read_archive(&compressed).unwrap(), files);
        for bad in ["../x", "a/./b", "a//b"] {
            assert!(matches!(read_archive(&tar_of(&[(bad, b"")])), Err(ArchiveError::BadPath(_))), "{bad}");
        }
        assert!(matches!(read_archive(&tar_of(&[("a", b"1"), ("a", b"2")])), Err(ArchiveError::Duplicate(_))));
    }

    #[test]
    fn refuses_highly_compressed_oversized_content_from_its_headers() {
        let big = vec![0u8; 15 * 1024 * 1024];
        let names = ["a", "b", "c", "d", "e"];
        let entries: Vec<(&str, &[u8])> = names.iter().map(|n| (*n, &big[..])).collect();
        let bomb = zstd::encode_all(&tar_of(&entries)[..], 1).unwrap();
        assert!(bomb.len() < 1024 * 1024, "{}", bomb.len());
        assert!(matches!(read_archive(&bomb), Err(ArchiveError::TooBig(_))));
        let one_big = vec![0u8; 17 * 1024 * 1024];
        assert!(matches!(read_archive(&tar_of(&[("f", &one_big[..])])), Err(ArchiveError::TooBig(_))));
    }
}
