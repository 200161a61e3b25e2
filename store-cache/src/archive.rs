//! An entry's files as one archive: a deterministic ustar (sorted paths, mode 0644 or 0755,
//! owner 0:0, mtime 0) compressed as one zstd frame. Unpacking trusts nothing in the archive:
//! every file must be one the signed record lists, with its size and digest.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use x07_spec::store_cache::CacheFile;
use x07_spec::{Sha256Digest, Sha256Hasher};

use crate::CacheError;

/// The zstd level archives are written with (fast; entries are mostly native code).
const ZSTD_LEVEL: i32 = 9;
/// Largest zstd window accepted when reading (64 MiB); level 9 uses far less.
const WINDOW_LOG_MAX: u32 = 26;

/// An entry packed for upload.
#[derive(Debug, Clone)]
pub struct PackedEntry {
    /// The archive bytes.
    pub bytes: Vec<u8>,
    /// Their digest.
    pub sha256: Sha256Digest,
    /// Every file, sorted by path.
    pub files: Vec<CacheFile>,
    /// Total bytes of the files.
    pub size: u64,
}

/// Every regular file under `dir` as (relative path, absolute path), sorted by path; anything
/// else (a symlink, a device) is refused.
pub(crate) fn entry_files(dir: &Path) -> Result<Vec<(String, PathBuf)>, CacheError> {
    let mut out = Vec::new();
    collect(dir, "", &mut out)?;
    out.sort();
    Ok(out)
}

fn collect(dir: &Path, rel: &str, out: &mut Vec<(String, PathBuf)>) -> Result<(), CacheError> {
    let io = |source| CacheError::Io {
        action: "list",
        path: dir.to_path_buf(),
        source,
    };
    for item in fs_err::read_dir(dir).map_err(io)? {
        let item = item.map_err(io)?;
        let path = item.path();
        let name = item
            .file_name()
            .into_string()
            .map_err(|n| CacheError::DamagedEntry {
                entry: dir.to_path_buf(),
                why: format!("file name {} is not UTF-8", n.to_string_lossy()),
            })?;
        let child = if rel.is_empty() {
            name
        } else {
            format!("{rel}/{name}")
        };
        let kind = item.file_type().map_err(io)?;
        if kind.is_dir() {
            collect(&path, &child, out)?;
        } else if kind.is_file() {
            out.push((child, path));
        } else {
            return Err(CacheError::DamagedEntry {
                entry: dir.to_path_buf(),
                why: format!("{} is not a regular file or directory", path.display()),
            });
        }
    }
    Ok(())
}

/// The files of the entry directory `dir` with their digests, sorted by path (no archive made).
pub fn file_list(dir: &Path) -> Result<Vec<CacheFile>, CacheError> {
    let mut files = Vec::new();
    for (rel, path) in entry_files(dir)? {
        let read = |source| CacheError::Io {
            action: "read",
            path: path.clone(),
            source,
        };
        let meta = fs_err::metadata(&path).map_err(read)?;
        let mut file = fs_err::File::open(&path).map_err(read)?;
        let mut hasher = Sha256Hasher::new();
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = file.read(&mut buf).map_err(read)?;
            if n == 0 {
                break;
            }
            hasher.update(&buf[..n]);
        }
        files.push(CacheFile {
            path: rel,
            sha256: hasher.finish(),
            size: meta.len(),
            executable: meta.permissions().mode() & 0o111 != 0,
        });
    }
    Ok(files)
}

/// Packs the entry directory `dir`.
pub fn pack_entry(dir: &Path) -> Result<PackedEntry, CacheError> {
    let mut builder = tar::Builder::new(Vec::new());
    let mut files = Vec::new();
    let mut size = 0u64;
    for (rel, path) in entry_files(dir)? {
        let read = |source| CacheError::Io {
            action: "read",
            path: path.clone(),
            source,
        };
        let data = fs_err::read(&path).map_err(read)?;
        let executable = fs_err::metadata(&path).map_err(read)?.permissions().mode() & 0o111 != 0;
        let mut header = tar::Header::new_ustar();
        header.set_entry_type(tar::EntryType::Regular);
        header.set_size(data.len() as u64);
        header.set_mode(if executable { 0o755 } else { 0o644 });
        header.set_uid(0);
        header.set_gid(0);
        header.set_mtime(0);
        let archive_err = |source| CacheError::Io {
            action: "archive",
            path: path.clone(),
            source,
        };
        // entry file names are short (artifact names, build.json); a long path gets a pax record
        builder
            .append_data(&mut header, &rel, data.as_slice())
            .map_err(archive_err)?;
        size += data.len() as u64;
        files.push(CacheFile {
            path: rel,
            sha256: Sha256Digest::of(&data),
            size: data.len() as u64,
            executable,
        });
    }
    let finish = |source| CacheError::Io {
        action: "archive",
        path: dir.to_path_buf(),
        source,
    };
    let tar_bytes = builder.into_inner().map_err(finish)?;
    let bytes = zstd::bulk::compress(&tar_bytes, ZSTD_LEVEL).map_err(finish)?;
    Ok(PackedEntry {
        sha256: Sha256Digest::of(&bytes),
        bytes,
        files,
        size,
    })
}

/// Unpacks `archive` into the empty directory `dest`, accepting exactly the files `expected`
/// lists (each once, with its size and digest; modes from the list, not the archive). The
/// reason for a refusal names the file.
pub fn unpack_entry(archive: &[u8], expected: &[CacheFile], dest: &Path) -> Result<(), String> {
    let wanted: BTreeMap<&str, &CacheFile> =
        expected.iter().map(|f| (f.path.as_str(), f)).collect();
    let total: u64 = expected.iter().map(|f| f.size).sum();
    let mut decoder = zstd::stream::read::Decoder::new(archive)
        .map_err(|e| format!("the archive is not zstd: {e}"))?;
    decoder
        .window_log_max(WINDOW_LOG_MAX)
        .map_err(|e| format!("cannot set up zstd: {e}"))?;
    // a tar of these files is their bytes plus at most 3 KiB per file (headers, pax, padding)
    // plus the end blocks: never inflate more
    let limit = total + 3072 * (expected.len() as u64 + 1) + 10240;
    let mut tar = tar::Archive::new(decoder.take(limit));
    let mut seen = BTreeMap::new();
    let entries = tar
        .entries()
        .map_err(|e| format!("the archive cannot be read: {e}"))?;
    for item in entries {
        let mut item = item.map_err(|e| format!("the archive is corrupt or truncated: {e}"))?;
        if item.header().entry_type() != tar::EntryType::Regular {
            return Err(format!(
                "the archive holds a {:?} entry; only regular files are allowed",
                item.header().entry_type()
            ));
        }
        let path = item
            .path()
            .map_err(|e| format!("an archive path cannot be read: {e}"))?
            .to_str()
            .ok_or("an archive path is not UTF-8")?
            .to_string();
        let Some(file) = wanted.get(path.as_str()) else {
            return Err(format!(
                "the archive holds `{path}`, which the signed record does not list"
            ));
        };
        if seen.insert(path.clone(), ()).is_some() {
            return Err(format!("the archive holds `{path}` twice"));
        }
        check_rel_path(&path)?;
        let size = item.header().size().map_err(|e| format!("`{path}`: {e}"))?;
        if size != file.size {
            return Err(format!(
                "`{path}` is {size} bytes in the archive, the signed record says {}",
                file.size
            ));
        }
        let target = dest.join(&path);
        if let Some(parent) = target.parent() {
            fs_err::create_dir_all(parent).map_err(|e| e.to_string())?;
        }
        let mut out = fs_err::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&target)
            .map_err(|e| e.to_string())?;
        let mut hasher = Sha256Hasher::new();
        let mut buf = vec![0u8; 64 * 1024];
        let mut got = 0u64;
        loop {
            let n = item
                .read(&mut buf)
                .map_err(|e| format!("`{path}` is corrupt or truncated: {e}"))?;
            if n == 0 {
                break;
            }
            hasher.update(&buf[..n]);
            out.write_all(&buf[..n]).map_err(|e| e.to_string())?;
            got += n as u64;
        }
        let digest = hasher.finish();
        if got != file.size || digest != file.sha256 {
            return Err(format!(
                "`{path}` has digest {digest} ({got} bytes), the signed record says {} ({} bytes)",
                file.sha256, file.size
            ));
        }
        out.sync_all().map_err(|e| e.to_string())?;
        let mode = if file.executable { 0o755 } else { 0o644 };
        fs_err::set_permissions(&target, std::fs::Permissions::from_mode(mode))
            .map_err(|e| e.to_string())?;
    }
    if let Some(missing) = expected.iter().find(|f| !seen.contains_key(&f.path)) {
        return Err(format!(
            "the archive lacks `{}`, which the signed record lists (truncated?)",
            missing.path
        ));
    }
    Ok(())
}

/// A record's file path: relative, `/`-separated, no empty, `.` or `..` segment.
pub(crate) fn check_rel_path(path: &str) -> Result<(), String> {
    let bad = path.is_empty()
        || path.starts_with('/')
        || path.contains('\\')
        || path.chars().any(char::is_control)
        || path
            .split('/')
            .any(|s| s.is_empty() || s == "." || s == "..");
    if bad {
        Err(format!("file path `{path}` is not a plain relative path"))
    } else {
        Ok(())
    }
}
