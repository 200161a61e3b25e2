//! The sealed section of a sandbox bundle: `launcher ‖ payload ‖ policy blob ‖ policy JSON ‖
//! trailer`. The trailer (64 bytes, little-endian) is `X07SEAL1`, then u64 payload offset and
//! length, blob offset and length, JSON offset and length, and flags (bit 0: relative policy
//! paths resolve against the working directory at start). The launcher
//! (builder/runtime/launch_sealed.h) reads the same layout from its own file.

/// The trailer's first eight bytes.
pub const SEAL_MAGIC: [u8; 8] = *b"X07SEAL1";
/// The trailer's length.
pub const SEAL_TRAILER_LEN: usize = 64;
/// Flag: the policy's relative paths resolve against the working directory at start.
pub const SEAL_RELATIVE_ROOTS: u64 = 1;
/// The largest policy blob the launcher accepts.
const MAX_POLICY_BYTES: u64 = 16 << 20;

/// The parts of a sealed bundle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SealedParts<'a> {
    /// The launcher (everything before the payload).
    pub launcher: &'a [u8],
    /// The program built for run-os-sandboxed.
    pub payload: &'a [u8],
    /// The PolicyBlob the launcher applies.
    pub blob: &'a [u8],
    /// The effective policy's canonical JSON.
    pub policy_json: &'a [u8],
    /// Trailer flags.
    pub flags: u64,
}

/// A file that carries a trailer but not a consistent sealed section.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SealError {
    /// An offset or length points outside the file, or the parts are out of order.
    #[error("the sealed section is damaged: {0}")]
    Damaged(&'static str),
}

/// Appends the sealed section to `launcher`.
pub fn seal(
    launcher: &[u8],
    payload: &[u8],
    blob: &[u8],
    policy_json: &[u8],
    flags: u64,
) -> Vec<u8> {
    let mut out = Vec::with_capacity(
        launcher.len() + payload.len() + blob.len() + policy_json.len() + SEAL_TRAILER_LEN,
    );
    out.extend_from_slice(launcher);
    let mut part = |bytes: &[u8]| {
        let off = out.len() as u64;
        out.extend_from_slice(bytes);
        (off, bytes.len() as u64)
    };
    let (p_off, p_len) = part(payload);
    let (b_off, b_len) = part(blob);
    let (j_off, j_len) = part(policy_json);
    out.extend_from_slice(&SEAL_MAGIC);
    for v in [p_off, p_len, b_off, b_len, j_off, j_len, flags] {
        out.extend_from_slice(&v.to_le_bytes());
    }
    out
}

/// The sealed parts of `bytes`; `Ok(None)` when it has no trailer (a plain executable).
pub fn unseal(bytes: &[u8]) -> Result<Option<SealedParts<'_>>, SealError> {
    let Some(body_len) = bytes.len().checked_sub(SEAL_TRAILER_LEN) else {
        return Ok(None);
    };
    let trailer = &bytes[body_len..];
    if trailer[..8] != SEAL_MAGIC {
        return Ok(None);
    }
    let word = |i: usize| {
        let mut b = [0u8; 8];
        b.copy_from_slice(&trailer[8 + 8 * i..16 + 8 * i]);
        u64::from_le_bytes(b)
    };
    let (p_off, p_len, b_off, b_len, j_off, j_len, flags) = (
        word(0),
        word(1),
        word(2),
        word(3),
        word(4),
        word(5),
        word(6),
    );
    let body = body_len as u64;
    let within = |off: u64, len: u64| off <= body && len <= body - off;
    if !within(p_off, p_len) || !within(b_off, b_len) || !within(j_off, j_len) {
        return Err(SealError::Damaged("a part lies outside the file"));
    }
    if p_len == 0 || b_len > MAX_POLICY_BYTES || flags & !SEAL_RELATIVE_ROOTS != 0 {
        return Err(SealError::Damaged(
            "empty payload, oversized policy or unknown flags",
        ));
    }
    if p_off + p_len != b_off || b_off + b_len != j_off || j_off + j_len != body {
        return Err(SealError::Damaged("the parts are not contiguous"));
    }
    let slice = |off: u64, len: u64| &bytes[off as usize..(off + len) as usize];
    Ok(Some(SealedParts {
        launcher: &bytes[..p_off as usize],
        payload: slice(p_off, p_len),
        blob: slice(b_off, b_len),
        policy_json: slice(j_off, j_len),
        flags,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealing_round_trips_and_a_plain_file_has_no_section() {
        let bytes = seal(b"LAUNCHER", b"PAYLOAD", b"BLOB", b"{}", SEAL_RELATIVE_ROOTS);
        let parts = unseal(&bytes).unwrap().unwrap();
        assert_eq!(parts.launcher, b"LAUNCHER");
        assert_eq!(parts.payload, b"PAYLOAD");
        assert_eq!(parts.blob, b"BLOB");
        assert_eq!(parts.policy_json, b"{}");
        assert_eq!(parts.flags, SEAL_RELATIVE_ROOTS);
        assert_eq!(unseal(b"\x7fELF plain executable").unwrap(), None);
    }

    #[test]
    fn a_damaged_trailer_is_refused() {
        let mut bytes = seal(b"L", b"P", b"B", b"J", 0);
        let n = bytes.len();
        bytes[n - 56] = 0xff; // payload offset far past the end
        assert!(unseal(&bytes).is_err());
        let mut bytes = seal(b"L", b"P", b"B", b"J", 0);
        bytes[n - 8] = 2; // unknown flag
        assert!(unseal(&bytes).is_err());
    }
}
