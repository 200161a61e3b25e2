//! A small RFC 8785 (JCS) encoder, written independently of x07's so that tests check x07's
//! canonical files against the standard rather than against x07's own code.
//!
//! Covers what x07 writes: objects, arrays, strings, booleans, null and integers. A number with
//! a fraction or exponent panics, since no x07 file format uses one.

use serde_json::Value;

/// The canonical bytes of `value`.
pub fn encode(value: &Value) -> Vec<u8> {
    let mut out = String::new();
    write_value(value, &mut out);
    out.into_bytes()
}

fn write_value(value: &Value, out: &mut String) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                out.push_str(&i.to_string());
            } else if let Some(u) = n.as_u64() {
                out.push_str(&u.to_string());
            } else {
                panic!("JCS of the non-integer number {n} is not needed by these tests");
            }
        }
        Value::String(s) => write_string(s, out),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_value(item, out);
            }
            out.push(']');
        }
        Value::Object(map) => {
            // RFC 8785 §3.2.3: members sorted by the UTF-16 code units of their names.
            let mut members: Vec<(&String, &Value)> = map.iter().collect();
            members.sort_by(|a, b| a.0.encode_utf16().cmp(b.0.encode_utf16()));
            out.push('{');
            for (i, (key, item)) in members.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_string(key, out);
                out.push(':');
                write_value(item, out);
            }
            out.push('}');
        }
    }
}

/// RFC 8785 §3.2.2.2 (ECMAScript JSON.stringify): only `"`, `\` and controls are escaped.
fn write_string(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{8}' => out.push_str("\\b"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\u{c}' => out.push_str("\\f"),
            '\r' => out.push_str("\\r"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sorts_keys_by_utf16_and_escapes_like_ecmascript() {
        let v: Value = serde_json::from_str(
            r#"{"b": [1, -2, true, null], "a": {"z": "x\u0001\n\"é", "\ufb33": 1, "\ud83d\ude00": 2}}"#,
        )
        .unwrap();
        // U+1F600 is the surrogate pair D83D DE00: before U+FB33 in UTF-16, after it by code point.
        assert_eq!(
            String::from_utf8(encode(&v)).unwrap(),
            "{\"a\":{\"z\":\"x\\u0001\\n\\\"é\",\"\u{1F600}\":2,\"\u{fb33}\":1},\"b\":[1,-2,true,null]}"
        );
    }
}
