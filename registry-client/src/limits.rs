//! Caps on what the client reads from a registry: a hostile or broken registry (or mirror, or
//! cache file) cannot make it hold more than a cap in memory. Bodies are streamed and refused as
//! soon as they pass the cap, naming the URL and the cap.

use std::io::Read;
use std::path::Path;

use crate::error::RegistryError;

/// Default cap on one index file (every version of one package).
pub const MAX_INDEX_FILE_BYTES: u64 = 64 * 1024 * 1024;
/// Default cap on the registry's `config.json`.
pub const MAX_CONFIG_BYTES: u64 = 1024 * 1024;
/// Cap on a JSON answer of the API (publish receipt, search, owners, …).
pub(crate) const MAX_API_ANSWER_BYTES: u64 = 1024 * 1024;
/// Cap on the body of an error answer (only its start is shown).
pub(crate) const MAX_ERROR_BODY_BYTES: u64 = 64 * 1024;

/// A cap on one kind of document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Cap {
    /// What is read, for messages (`index file`, `config.json`).
    pub what: &'static str,
    /// Most bytes accepted.
    pub bytes: u64,
}

impl Cap {
    /// The error for a document from `url` past this cap.
    pub(crate) fn exceeded(self, url: impl Into<String>) -> RegistryError {
        RegistryError::ResponseTooLarge {
            url: url.into(),
            what: self.what,
            limit: self.bytes,
        }
    }
}

/// Reads `reader` to its end, or `Ok(None)` as soon as it passes `limit` bytes.
pub(crate) fn read_capped(reader: impl Read, limit: u64) -> std::io::Result<Option<Vec<u8>>> {
    let mut bytes = Vec::new();
    reader
        .take(limit.saturating_add(1))
        .read_to_end(&mut bytes)?;
    Ok((bytes.len() as u64 <= limit).then_some(bytes))
}

/// Reads a local file (a `file://` mirror) within `cap`; `Ok(None)` if it does not exist.
pub(crate) fn read_file_capped(path: &Path, cap: Cap) -> Result<Option<Vec<u8>>, RegistryError> {
    let file = match fs_err::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    match read_capped(file, cap.bytes)? {
        Some(bytes) => Ok(Some(bytes)),
        None => Err(cap.exceeded(path.display().to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_up_to_the_cap_and_refuses_past_it() {
        assert_eq!(
            read_capped(&b"abcd"[..], 4).unwrap(),
            Some(b"abcd".to_vec())
        );
        assert_eq!(read_capped(&b"abcde"[..], 4).unwrap(), None);
        let err = Cap {
            what: "index file",
            bytes: 4,
        }
        .exceeded("http://127.0.0.1:1/index/x");
        let text = err.to_string();
        assert!(
            text.contains("http://127.0.0.1:1/index/x") && text.contains("4 bytes"),
            "{text}"
        );
    }
}
