//! Reading JSON documents with errors that name the file, the field and, for bad syntax, line:column.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

/// Where a value sits in a document: `profiles.sandbox.policy`, `module_roots[1]`; empty for the root.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldPath(String);

impl FieldPath {
    /// The document itself.
    pub fn root() -> Self {
        Self(String::new())
    }

    /// The member `key` of the object at this path.
    pub fn key(&self, key: &str) -> Self {
        if self.0.is_empty() {
            Self(key.to_string())
        } else {
            Self(format!("{}.{key}", self.0))
        }
    }

    /// The element `index` of the array at this path.
    pub fn index(&self, index: usize) -> Self {
        Self(format!("{}[{index}]", self.0))
    }

    /// Whether this is the document root.
    pub fn is_root(&self) -> bool {
        self.0.is_empty()
    }

    /// The dotted path text (empty for the root).
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for FieldPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            f.write_str("(document)")
        } else {
            f.write_str(&self.0)
        }
    }
}

/// A value that does not fit the format: which field, and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// The field that is wrong.
    pub field: FieldPath,
    /// What is wrong and, where possible, what to write instead.
    pub message: String,
}

impl FieldError {
    /// An error about `field`.
    pub fn new(field: FieldPath, message: impl Into<String>) -> Self {
        Self {
            field,
            message: message.into(),
        }
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.field.is_root() {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.field, self.message)
        }
    }
}

impl std::error::Error for FieldError {}

/// Why a JSON document file could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum DocumentError {
    /// The file could not be read.
    #[error("{}: cannot read the file: {source}", .file.display())]
    Read {
        /// The file.
        file: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The bytes are not JSON.
    #[error("{}:{line}:{column}: malformed JSON: {message}", .file.display())]
    MalformedJson {
        /// The file.
        file: PathBuf,
        /// 1-based line of the error.
        line: usize,
        /// 1-based column of the error.
        column: usize,
        /// What the parser expected.
        message: String,
    },
    /// The JSON does not fit the format.
    #[error("{}: {error}", .file.display())]
    Schema {
        /// The file.
        file: PathBuf,
        /// The field and what is wrong with it.
        error: FieldError,
    },
}

impl DocumentError {
    /// Whether the document was read and parsed but does not fit the format.
    pub fn is_schema_error(&self) -> bool {
        matches!(self, Self::Schema { .. })
    }
}

/// Reads `file` and decodes it with `decode`, naming the file in every error.
pub fn load_document<T>(
    file: &Path,
    decode: impl FnOnce(Value) -> Result<T, FieldError>,
) -> Result<T, DocumentError> {
    let bytes = fs_err::read(file).map_err(|source| DocumentError::Read {
        file: file.to_path_buf(),
        source,
    })?;
    parse_document(&bytes, file, decode)
}

/// Parses `bytes` (the contents of `file`) and decodes them with `decode`.
pub fn parse_document<T>(
    bytes: &[u8],
    file: &Path,
    decode: impl FnOnce(Value) -> Result<T, FieldError>,
) -> Result<T, DocumentError> {
    let value: Value = serde_json::from_slice(bytes).map_err(|e| DocumentError::MalformedJson {
        file: file.to_path_buf(),
        line: e.line(),
        column: e.column(),
        message: strip_position(&e.to_string()),
    })?;
    decode(value).map_err(|error| DocumentError::Schema {
        file: file.to_path_buf(),
        error,
    })
}

/// serde_json appends " at line L column C"; the position is reported separately.
fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(i) => message[..i].to_string(),
        None => message.to_string(),
    }
}

/// The JSON type name of a value, for messages.
pub fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Decodes a leaf value with serde, attributing any error to `path`.
pub fn decode_value<T: DeserializeOwned>(value: Value, path: &FieldPath) -> Result<T, FieldError> {
    serde_json::from_value(value).map_err(|e| FieldError::new(path.clone(), e.to_string()))
}

/// Decodes an array element by element so that errors name the index.
pub fn decode_array<T>(
    value: Value,
    path: &FieldPath,
    mut decode: impl FnMut(Value, &FieldPath) -> Result<T, FieldError>,
) -> Result<Vec<T>, FieldError> {
    match value {
        Value::Array(items) => items
            .into_iter()
            .enumerate()
            .map(|(i, item)| decode(item, &path.index(i)))
            .collect(),
        other => Err(FieldError::new(
            path.clone(),
            format!("expected an array, found {}", json_kind(&other)),
        )),
    }
}

/// The members of the object at `path`; fails when `value` is not an object.
pub fn expect_object(value: Value, path: &FieldPath) -> Result<Map<String, Value>, FieldError> {
    match value {
        Value::Object(map) => Ok(map),
        other => Err(FieldError::new(
            path.clone(),
            format!("expected a JSON object, found {}", json_kind(&other)),
        )),
    }
}

/// Takes the members of a JSON object one by one; [`ObjectReader::finish`] rejects the ones not taken.
pub struct ObjectReader {
    path: FieldPath,
    map: Map<String, Value>,
    known: Vec<&'static str>,
}

impl ObjectReader {
    /// Reads `schema_version`, which must be one of `read` (`written` is the version x07 writes;
    /// the error names it and the older versions still read).
    pub fn schema_version(&mut self, read: &[&str], written: &str) -> Result<String, FieldError> {
        self.required_with("schema_version", |v, p| {
            let s: String = decode_value(v, p)?;
            if read.contains(&s.as_str()) {
                return Ok(s);
            }
            let older: Vec<&str> = read.iter().copied().filter(|r| *r != written).collect();
            Err(FieldError::new(
                p.clone(),
                format!(
                    "unsupported version `{s}`; expected {written} ({} read too)",
                    older.join(", ")
                ),
            ))
        })
    }

    /// Starts reading the object at `path`; fails when `value` is not an object.
    pub fn new(value: Value, path: FieldPath) -> Result<Self, FieldError> {
        let map = expect_object(value, &path)?;
        Ok(Self {
            path,
            map,
            known: Vec::new(),
        })
    }

    /// The path of the member `key`.
    pub fn field(&self, key: &str) -> FieldPath {
        self.path.key(key)
    }

    /// The path of the object itself.
    pub fn path(&self) -> &FieldPath {
        &self.path
    }

    /// Removes and returns the raw member `key`, if present (null included).
    pub fn take(&mut self, key: &'static str) -> Option<Value> {
        self.known.push(key);
        self.map.remove(key)
    }

    /// A member that must be present and not null, decoded with serde.
    pub fn required<T: DeserializeOwned>(&mut self, key: &'static str) -> Result<T, FieldError> {
        self.required_with(key, decode_value)
    }

    /// A member that must be present and not null, decoded with `decode`.
    pub fn required_with<T>(
        &mut self,
        key: &'static str,
        decode: impl FnOnce(Value, &FieldPath) -> Result<T, FieldError>,
    ) -> Result<T, FieldError> {
        let path = self.field(key);
        match self.take(key) {
            None => {
                // a member present under a near spelling is most likely this field
                let near = crate::suggest::did_you_mean(key, self.map.keys().map(String::as_str))
                    .map(|k| format!(" (`{k}` is here: a misspelling of `{key}`?)"))
                    .unwrap_or_default();
                Err(FieldError::new(
                    path,
                    format!("required field is missing{near}"),
                ))
            }
            Some(Value::Null) => Err(FieldError::new(path, "must not be null")),
            Some(value) => decode(value, &path),
        }
    }

    /// A member that may be absent or null, decoded with serde.
    pub fn optional<T: DeserializeOwned>(
        &mut self,
        key: &'static str,
    ) -> Result<Option<T>, FieldError> {
        self.optional_with(key, decode_value)
    }

    /// A member that may be absent or null, decoded with `decode`.
    pub fn optional_with<T>(
        &mut self,
        key: &'static str,
        decode: impl FnOnce(Value, &FieldPath) -> Result<T, FieldError>,
    ) -> Result<Option<T>, FieldError> {
        let path = self.field(key);
        match self.take(key) {
            None | Some(Value::Null) => Ok(None),
            Some(value) => decode(value, &path).map(Some),
        }
    }

    /// Ends reading: any member not taken is an unknown field.
    pub fn finish(self) -> Result<(), FieldError> {
        match self.map.keys().next() {
            None => Ok(()),
            Some(extra) => {
                let mut allowed = self.known.clone();
                allowed.sort_unstable();
                allowed.dedup();
                let hint = crate::suggest::did_you_mean(extra, allowed.iter().copied())
                    .map(|s| format!(" (did you mean `{s}`?)"))
                    .unwrap_or_default();
                Err(FieldError::new(
                    self.path.key(extra),
                    format!(
                        "unknown field{hint}; allowed fields here: {}",
                        allowed.join(", ")
                    ),
                ))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn names_missing_unknown_and_mistyped_fields() {
        let mut r =
            ObjectReader::new(json!({"a": 1, "zz": true}), FieldPath::root().key("p")).unwrap();
        assert_eq!(r.required::<u32>("a").unwrap(), 1);
        assert_eq!(
            r.required::<u32>("b").unwrap_err().to_string(),
            "p.b: required field is missing"
        );
        assert_eq!(
            r.finish().unwrap_err().to_string(),
            "p.zz: unknown field; allowed fields here: a, b"
        );

        let mut r = ObjectReader::new(json!({"a": "x"}), FieldPath::root()).unwrap();
        let err = r.required::<u32>("a").unwrap_err();
        assert_eq!(err.field.as_str(), "a");
        assert!(err.message.contains("expected u32"), "{err}");
    }

    #[test]
    fn malformed_json_reports_line_and_column() {
        let err = parse_document(b"{\n  \"a\": ,\n}", Path::new("x07.json"), Ok).unwrap_err();
        match &err {
            DocumentError::MalformedJson { line, column, .. } => {
                assert_eq!((*line, *column), (2, 8))
            }
            other => panic!("unexpected {other:?}"),
        }
        assert!(
            err.to_string()
                .starts_with("x07.json:2:8: malformed JSON: "),
            "{err}"
        );
        assert!(!err.is_schema_error());
    }
}
