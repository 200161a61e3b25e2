//! Canonical JSON (RFC 8785, JCS): the one writer for every JSON file x07 writes or hashes.

use serde::Serialize;

/// Serialization to canonical JSON failed.
#[derive(Debug, thiserror::Error)]
#[error("cannot write canonical JSON: {0}")]
pub struct CanonicalError(String);

/// The JCS bytes of a value (no trailing newline): what is hashed and signed.
pub fn to_canonical_vec<T: Serialize>(value: &T) -> Result<Vec<u8>, CanonicalError> {
    serde_json_canonicalizer::to_vec(value).map_err(|e| CanonicalError(e.to_string()))
}

/// The bytes of a JSON file in canonical form: the JCS bytes plus one final newline.
pub fn canonical_file_bytes<T: Serialize>(value: &T) -> Result<Vec<u8>, CanonicalError> {
    let mut bytes = to_canonical_vec(value)?;
    bytes.push(b'\n');
    Ok(bytes)
}

/// The bytes of a JSON file a person edits: the canonical key order, indented two spaces, one
/// final newline (x07.json; x07AST modules keep [`canonical_file_bytes`]).
pub fn pretty_file_bytes<T: Serialize>(value: &T) -> Result<Vec<u8>, CanonicalError> {
    let canonical = to_canonical_vec(value)?;
    // preserve_order keeps the canonical (sorted) key order through the reparse
    let value: serde_json::Value =
        serde_json::from_slice(&canonical).expect("canonical JSON parses");
    let mut bytes = serde_json::to_vec_pretty(&value).expect("a Value serializes");
    bytes.push(b'\n');
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn pretty_files_keep_the_canonical_key_order() {
        let bytes = pretty_file_bytes(&json!({"b": [1, 2], "a": {"d": 1, "c": "x"}})).unwrap();
        assert_eq!(
            String::from_utf8(bytes).unwrap(),
            "{\n  \"a\": {\n    \"c\": \"x\",\n    \"d\": 1\n  },\n  \"b\": [\n    1,\n    2\n  ]\n}\n"
        );
    }

    #[test]
    fn sorts_keys_drops_whitespace_and_keeps_utf8() {
        let v = json!({"b": [1, {"z": 1, "a": "x"}], "a": "\u{e9}\n"});
        let expected = "{\"a\":\"\u{e9}\\n\",\"b\":[1,{\"a\":\"x\",\"z\":1}]}";
        assert_eq!(
            String::from_utf8(to_canonical_vec(&v).unwrap()).unwrap(),
            expected
        );
        assert_eq!(canonical_file_bytes(&v).unwrap().last(), Some(&b'\n'));
    }
}
