//! Little-endian primitives of PolicyBlobV1: `u32`, `u64`, booleans as `u32` 0/1, `str` as
//! `u32 len` + bytes, `list<T>` as `u32 count` + items. The reader rejects anything else.

/// Appends blob primitives to a byte vector.
#[derive(Default)]
pub(super) struct Writer {
    pub(super) bytes: Vec<u8>,
}

impl Writer {
    pub(super) fn raw(&mut self, bytes: &[u8]) {
        self.bytes.extend_from_slice(bytes);
    }

    pub(super) fn u32(&mut self, v: u32) {
        self.raw(&v.to_le_bytes());
    }

    pub(super) fn u64(&mut self, v: u64) {
        self.raw(&v.to_le_bytes());
    }

    pub(super) fn bool(&mut self, v: bool) {
        self.u32(u32::from(v));
    }

    pub(super) fn len(&mut self, n: usize) {
        self.u32(u32::try_from(n).expect("policy lists and strings are far below 4 GiB"));
    }

    pub(super) fn str(&mut self, s: &str) {
        self.len(s.len());
        self.raw(s.as_bytes());
    }

    pub(super) fn strs(&mut self, items: &[String]) {
        self.len(items.len());
        for s in items {
            self.str(s);
        }
    }
}

/// Why a blob does not parse: the field being read, its byte offset, and the problem.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("policy blob: {field} (byte {offset}): {problem}")]
pub struct BlobDecodeError {
    /// The field of the layout being read, e.g. `fs.read_roots[2]`.
    pub field: String,
    /// Byte offset where it starts.
    pub offset: usize,
    /// What is wrong.
    pub problem: String,
}

/// Reads blob primitives from a byte slice, naming the field in every error.
pub(super) struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub(super) fn new(bytes: &'a [u8]) -> Self {
        Self { bytes, pos: 0 }
    }

    pub(super) fn error(&self, field: &str, problem: impl Into<String>) -> BlobDecodeError {
        BlobDecodeError {
            field: field.to_string(),
            offset: self.pos,
            problem: problem.into(),
        }
    }

    pub(super) fn remaining(&self) -> usize {
        self.bytes.len() - self.pos
    }

    pub(super) fn raw(&mut self, field: &str, n: usize) -> Result<&'a [u8], BlobDecodeError> {
        if self.remaining() < n {
            return Err(self.error(
                field,
                format!(
                    "needs {n} bytes, only {} left (truncated blob)",
                    self.remaining()
                ),
            ));
        }
        let out = &self.bytes[self.pos..self.pos + n];
        self.pos += n;
        Ok(out)
    }

    pub(super) fn u32(&mut self, field: &str) -> Result<u32, BlobDecodeError> {
        let b = self.raw(field, 4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    pub(super) fn u64(&mut self, field: &str) -> Result<u64, BlobDecodeError> {
        let b = self.raw(field, 8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(u64::from_le_bytes(a))
    }

    pub(super) fn bool(&mut self, field: &str) -> Result<bool, BlobDecodeError> {
        let start = self.pos;
        match self.u32(field)? {
            0 => Ok(false),
            1 => Ok(true),
            other => {
                self.pos = start;
                Err(self.error(field, format!("a boolean must be 0 or 1, found {other}")))
            }
        }
    }

    /// A count of items that each take at least `min_item_bytes`; rejects counts the rest of
    /// the blob cannot hold, so a hostile count cannot make the reader allocate.
    pub(super) fn count(
        &mut self,
        field: &str,
        min_item_bytes: usize,
    ) -> Result<usize, BlobDecodeError> {
        let start = self.pos;
        let n = self.u32(field)? as usize;
        let left = self.remaining();
        if n.saturating_mul(min_item_bytes) > left {
            self.pos = start;
            return Err(self.error(
                field,
                format!("count {n} does not fit in the {left} bytes left"),
            ));
        }
        Ok(n)
    }

    pub(super) fn str(&mut self, field: &str) -> Result<String, BlobDecodeError> {
        let len = self.count(field, 1)?;
        let start = self.pos;
        let bytes = self.raw(field, len)?;
        if bytes.contains(&0) {
            self.pos = start;
            return Err(self.error(field, "a string must not contain NUL"));
        }
        String::from_utf8(bytes.to_vec()).map_err(|_| BlobDecodeError {
            field: field.to_string(),
            offset: start,
            problem: "a string must be UTF-8".to_string(),
        })
    }

    pub(super) fn strs(&mut self, field: &str) -> Result<Vec<String>, BlobDecodeError> {
        let n = self.count(field, 4)?;
        (0..n).map(|i| self.str(&format!("{field}[{i}]"))).collect()
    }

    pub(super) fn at_end(&self) -> bool {
        self.pos == self.bytes.len()
    }

    pub(super) fn pos(&self) -> usize {
        self.pos
    }
}
