//! Entry paths of a package archive: relative, `/`-separated, UTF-8, at most 1024 bytes, each
//! segment at most 255 bytes (the longest file name file systems take).

use std::fmt;

/// The longest segment (file or directory name) of an entry path, in bytes.
pub const MAX_SEGMENT_BYTES: usize = 255;

/// A checked archive entry path (`modules/ext/net.x07.json`, `ffi/curl.c`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ArchivePath(String);

impl ArchivePath {
    /// The path text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The directories above the entry: `a/b/c` → `a`, `a/b`.
    pub fn parent_dirs(&self) -> impl Iterator<Item = &str> {
        self.0.match_indices('/').map(|(i, _)| &self.0[..i])
    }
}

impl fmt::Display for ArchivePath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl serde::Serialize for ArchivePath {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

/// Why an entry path is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PathRefusal {
    /// Longer than the limit.
    TooLong,
    /// One segment is longer than [`MAX_SEGMENT_BYTES`].
    SegmentTooLong,
    /// Starts at `/`, `\` or a drive letter.
    Absolute,
    /// Has a `..` segment.
    Parent,
    /// Has a `.` segment.
    Current,
    /// Is empty or has an empty segment (`a//b`, a trailing `/`).
    Empty,
    /// Is not UTF-8, or holds `\`, NUL or another control character.
    Characters,
}

/// Checks raw entry path bytes against the archive rules.
pub fn check_entry_path(raw: &[u8], max_len: usize) -> Result<ArchivePath, PathRefusal> {
    if raw.len() > max_len {
        return Err(PathRefusal::TooLong);
    }
    let text = std::str::from_utf8(raw).map_err(|_| PathRefusal::Characters)?;
    let bytes = text.as_bytes();
    let drive = bytes.len() >= 2 && bytes[1] == b':' && bytes[0].is_ascii_alphabetic();
    if text.starts_with('/') || text.starts_with('\\') || drive {
        return Err(PathRefusal::Absolute);
    }
    for segment in text.split('/') {
        match segment {
            "" => return Err(PathRefusal::Empty),
            "." => return Err(PathRefusal::Current),
            ".." => return Err(PathRefusal::Parent),
            s if s.len() > MAX_SEGMENT_BYTES => return Err(PathRefusal::SegmentTooLong),
            _ => {}
        }
    }
    if text.chars().any(|c| c == '\\' || c.is_control()) {
        return Err(PathRefusal::Characters);
    }
    Ok(ArchivePath(text.to_string()))
}

/// Entry path bytes as text for messages (lossy, control characters escaped).
pub fn shown_path(raw: &[u8]) -> String {
    String::from_utf8_lossy(raw).escape_debug().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_each_kind_of_unsafe_path() {
        assert_eq!(
            check_entry_path(b"ffi/a.c", 1024).unwrap().as_str(),
            "ffi/a.c"
        );
        assert_eq!(
            check_entry_path(b"a..b/.c", 1024).unwrap().as_str(),
            "a..b/.c"
        );
        let cases: [(&[u8], PathRefusal); 12] = [
            (b"/etc/passwd", PathRefusal::Absolute),
            (b"\\x", PathRefusal::Absolute),
            (b"C:/x", PathRefusal::Absolute),
            (b"a/../b", PathRefusal::Parent),
            (b"..", PathRefusal::Parent),
            (b"./a", PathRefusal::Current),
            (b"a//b", PathRefusal::Empty),
            (b"a/", PathRefusal::Empty),
            (b"", PathRefusal::Empty),
            (b"a\\b", PathRefusal::Characters),
            (b"a\nb", PathRefusal::Characters),
            (b"a\xffb", PathRefusal::Characters),
        ];
        for (raw, want) in cases {
            assert_eq!(
                check_entry_path(raw, 1024),
                Err(want),
                "{}",
                shown_path(raw)
            );
        }
        assert_eq!(
            check_entry_path(&[b'a'; 1025], 1024),
            Err(PathRefusal::TooLong)
        );
        assert_eq!(
            check_entry_path(&[b'a'; 1024], 1024),
            Err(PathRefusal::SegmentTooLong)
        );
        let long_but_split = format!("{}/{}", "a".repeat(255), "b".repeat(255));
        assert!(check_entry_path(long_but_split.as_bytes(), 1024).is_ok());
        assert_eq!(
            check_entry_path(format!("ffi/{}", "c".repeat(256)).as_bytes(), 1024),
            Err(PathRefusal::SegmentTooLong)
        );
        let p = check_entry_path(b"a/b/c", 10).unwrap();
        assert_eq!(p.parent_dirs().collect::<Vec<_>>(), ["a", "a/b"]);
    }
}
