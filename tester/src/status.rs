//! The status bytes a test prints (`std.test.status_v1`): `u8 tag | u32le code`, tag 1 pass,
//! 0 fail, 2 skip; a failed `assert_bytes_eq` (code 1003) may append `"X7T1"` and the two
//! values' prefixes.

/// A parsed status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TestStatusBytes {
    /// Tag 1.
    Pass,
    /// Tag 0 with its failure code.
    Fail(u32),
    /// Tag 2.
    Skip,
}

/// The status in `out`, or why it is not one.
pub fn parse_status(out: &[u8]) -> Result<TestStatusBytes, String> {
    if out.len() < 5 {
        return Err(format!(
            "the test printed {} bytes; a status is 5 (u8 tag, u32le code)",
            out.len()
        ));
    }
    let code = u32::from_le_bytes([out[1], out[2], out[3], out[4]]);
    let status = match out[0] {
        1 => TestStatusBytes::Pass,
        0 => TestStatusBytes::Fail(code),
        2 => TestStatusBytes::Skip,
        tag => {
            return Err(format!(
                "status tag {tag}: expected 0 (fail), 1 (pass) or 2 (skip)"
            ))
        }
    };
    let detail_allowed = out[0] == 0 && code == 1003 && out[5..].starts_with(b"X7T1");
    if out.len() > 5 && !detail_allowed {
        return Err(format!(
            "{} bytes after the status; only a failed assert_bytes_eq (code 1003) appends details",
            out.len() - 5
        ));
    }
    Ok(status)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_codes_and_details() {
        assert_eq!(parse_status(&[1, 0, 0, 0, 0]), Ok(TestStatusBytes::Pass));
        assert_eq!(parse_status(&[2, 0, 0, 0, 0]), Ok(TestStatusBytes::Skip));
        assert_eq!(
            parse_status(&[0, 0xea, 3, 0, 0]),
            Ok(TestStatusBytes::Fail(1002))
        );
        let mut detail = vec![0, 0xeb, 3, 0, 0];
        detail.extend_from_slice(b"X7T1\x04");
        assert_eq!(parse_status(&detail), Ok(TestStatusBytes::Fail(1003)));
        assert!(parse_status(&[1, 0, 0]).is_err());
        assert!(parse_status(&[7, 0, 0, 0, 0]).is_err());
        assert!(parse_status(&[1, 0, 0, 0, 0, 9]).is_err());
    }
}
