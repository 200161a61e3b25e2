//! The caps an archive must stay under, on packing and unpacking alike.

/// Caps on an archive's contents; [`Default`] gives the contract's values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UnpackLimits {
    /// Most file entries.
    pub max_entries: usize,
    /// Longest entry path, in bytes.
    pub max_path_bytes: usize,
    /// Most bytes of all files together.
    pub max_total_bytes: u64,
    /// Most bytes of one file.
    pub max_file_bytes: u64,
}

impl UnpackLimits {
    /// 4096 entries, 1024-byte paths, 64 MiB in total, 16 MiB per file.
    pub const CONTRACT: Self = Self {
        max_entries: 4096,
        max_path_bytes: 1024,
        max_total_bytes: 64 << 20,
        max_file_bytes: 16 << 20,
    };

    /// The largest pax or GNU long-name header accepted: room for one path and a few
    /// timestamp or ownership records.
    pub fn max_extension_bytes(&self) -> u64 {
        self.max_path_bytes as u64 + 1024
    }
}

impl Default for UnpackLimits {
    fn default() -> Self {
        Self::CONTRACT
    }
}
