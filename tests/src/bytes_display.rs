//! Human-readable rendering of byte strings for failure messages.

/// Renders bytes as `<n> bytes: hex <lowercase hex> text "<escaped text>"`.
pub fn describe_bytes(bytes: &[u8]) -> String {
    const MAX_SHOWN: usize = 512;
    let shown = &bytes[..bytes.len().min(MAX_SHOWN)];
    let more = if bytes.len() > MAX_SHOWN { " …" } else { "" };
    format!(
        "{} bytes: hex {}{more} text \"{}\"{more}",
        bytes.len(),
        hex::encode(shown),
        shown.escape_ascii()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shows_hex_and_escaped_text() {
        assert_eq!(
            describe_bytes(b"a\n\xff"),
            "3 bytes: hex 610aff text \"a\\n\\xff\""
        );
        assert_eq!(describe_bytes(b""), "0 bytes: hex  text \"\"");
    }
}
