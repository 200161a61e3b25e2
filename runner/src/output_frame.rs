//! The output frame on stdout: exactly `u32_le len` followed by `len` bytes.

/// Why stdout is not a valid frame; the `Display` text is the report's trap.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    /// Nothing at all on stdout.
    #[error("framing error: no output frame on stdout")]
    Empty,
    /// Fewer than 4 bytes: not even the length prefix.
    #[error("framing error: stdout has {0} bytes, fewer than the 4-byte length prefix")]
    ShortHeader(usize),
    /// The declared length is over `max_output_bytes`.
    #[error("stdout exceeded cap")]
    OverCap {
        /// Length the frame declares.
        declared: u64,
    },
    /// The bytes after the prefix do not match the declared length.
    #[error("framing error: frame declares {declared} payload bytes but stdout has {actual}")]
    LengthMismatch {
        /// Length the frame declares.
        declared: u64,
        /// Bytes present after the prefix.
        actual: u64,
    },
}

/// The payload of a well-formed frame no larger than `max_output_bytes`.
pub fn parse_frame(stdout: &[u8], max_output_bytes: u64) -> Result<&[u8], FrameError> {
    if stdout.is_empty() {
        return Err(FrameError::Empty);
    }
    let Some((header, payload)) = stdout.split_first_chunk::<4>() else {
        return Err(FrameError::ShortHeader(stdout.len()));
    };
    let declared = u64::from(u32::from_le_bytes(*header));
    if declared > max_output_bytes {
        return Err(FrameError::OverCap { declared });
    }
    if payload.len() as u64 != declared {
        return Err(FrameError::LengthMismatch {
            declared,
            actual: payload.len() as u64,
        });
    }
    Ok(payload)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(len: u32, body: &[u8]) -> Vec<u8> {
        [&len.to_le_bytes()[..], body].concat()
    }

    #[test]
    fn accepts_exact_frames_only() {
        assert_eq!(parse_frame(&frame(2, b"hi"), 2), Ok(&b"hi"[..]));
        assert_eq!(parse_frame(&frame(0, b""), 0), Ok(&b""[..]));
        assert_eq!(parse_frame(b"", 9), Err(FrameError::Empty));
        assert_eq!(parse_frame(b"\x01\x00", 9), Err(FrameError::ShortHeader(2)));
        assert_eq!(
            parse_frame(&frame(3, b"hi"), 9),
            Err(FrameError::LengthMismatch {
                declared: 3,
                actual: 2
            })
        );
        assert_eq!(
            parse_frame(&frame(1, b"hi"), 9),
            Err(FrameError::LengthMismatch {
                declared: 1,
                actual: 2
            })
        );
        assert_eq!(
            parse_frame(&frame(3, b"abc"), 2),
            Err(FrameError::OverCap { declared: 3 })
        );
        assert_eq!(
            FrameError::OverCap { declared: 3 }.to_string(),
            "stdout exceeded cap"
        );
    }
}
