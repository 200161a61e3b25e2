//! C identifiers and literals for emitted code.

use crate::frontend::tir::TFn;

/// The C name of user function number `index` (unique by construction, readable).
pub fn fn_name(f: &TFn, index: usize) -> String {
    if f.is_solve {
        return "x7_solve".to_string();
    }
    format!("x7u_{index}_{}", sanitize(&f.name))
}

/// The C name of a local.
pub fn local_name(f: &TFn, id: usize) -> String {
    format!("v{id}_{}", sanitize(&f.locals[id].name))
}

fn sanitize(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect()
}

/// A C string literal holding exactly `bytes` (octal escapes; no trigraphs).
pub fn c_string_literal(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() + 2);
    s.push('"');
    for &b in bytes {
        match b {
            b'"' => s.push_str("\\\""),
            b'\\' => s.push_str("\\\\"),
            b'?' => s.push_str("\\?"),
            0x20..=0x7e => s.push(b as char),
            _ => s.push_str(&format!("\\{b:03o}")),
        }
    }
    s.push('"');
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_escape_everything_ambiguous() {
        assert_eq!(
            c_string_literal(b"a\"b\\?\n\x001"),
            r#""a\"b\\\?\012\0001""#
        );
    }
}
