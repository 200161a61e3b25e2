//! Registry tokens in `$X07_HOME/credentials.json` (`x07.credentials@0.1.0`), keyed by index URL.
//!
//! The file is created with mode 0600 before any byte is written and replaced atomically; a file
//! that group or others can read is refused, like ssh refuses a readable private key.

use std::collections::BTreeMap;
use std::fmt;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::RegistryError;
use crate::home::RegistryHome;
use crate::index_url::IndexUrl;

/// Schema tag of the credentials file.
pub const CREDENTIALS_SCHEMA: &str = "x07.credentials@0.1.0";

/// A registry API token; never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct Token(String);

impl Token {
    /// Checks that `text` (trimmed) is non-empty and safe in an HTTP header.
    pub fn new(text: &str) -> Result<Self, RegistryError> {
        let t = text.trim();
        if t.is_empty() {
            return Err(RegistryError::BadToken("the token is empty".into()));
        }
        if !t.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(RegistryError::BadToken(
                "a token holds printable ASCII only, without spaces".into(),
            ));
        }
        Ok(Self(t.to_string()))
    }

    /// The secret text, for the `Authorization` header.
    pub(crate) fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token(…)")
    }
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct CredentialsFile {
    schema_version: String,
    tokens: BTreeMap<String, String>,
}

/// The stored tokens of one `$X07_HOME`.
#[derive(Debug)]
pub struct Credentials {
    path: PathBuf,
    tokens: BTreeMap<String, String>,
}

impl Credentials {
    /// Reads `$X07_HOME/credentials.json` (no file: no tokens).
    pub fn load(home: &RegistryHome) -> Result<Self, RegistryError> {
        let path = home.credentials_path();
        let bad = |reason: String| RegistryError::Credentials {
            path: path.clone(),
            reason,
        };
        let meta = match fs_err::metadata(&path) {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(Self {
                    path,
                    tokens: BTreeMap::new(),
                })
            }
            Err(e) => return Err(e.into()),
        };
        if meta.permissions().mode() & 0o077 != 0 {
            return Err(bad(format!(
                "readable by group or others (mode {:o}); run `chmod 600 {}`, and consider revoking the tokens in it",
                meta.permissions().mode() & 0o777,
                path.display()
            )));
        }
        let file: CredentialsFile = serde_json::from_slice(&fs_err::read(&path)?).map_err(|e| {
            bad(format!(
                "invalid JSON ({e}); delete the file and log in again"
            ))
        })?;
        if file.schema_version != CREDENTIALS_SCHEMA {
            return Err(bad(format!(
                "schema_version `{}` is not {CREDENTIALS_SCHEMA}",
                file.schema_version
            )));
        }
        Ok(Self {
            path,
            tokens: file.tokens,
        })
    }

    /// The token stored for `index`.
    pub fn token_for(&self, index: &IndexUrl) -> Option<Token> {
        self.tokens
            .get(index.as_str())
            .and_then(|t| Token::new(t).ok())
    }

    /// The registries a token is stored for.
    pub fn registries(&self) -> impl Iterator<Item = &str> {
        self.tokens.keys().map(String::as_str)
    }

    /// `x07 pkg login`: stores `token` for `index`, replacing an earlier one.
    pub fn login(
        home: &RegistryHome,
        index: &IndexUrl,
        token: &Token,
    ) -> Result<(), RegistryError> {
        let mut creds = Self::load(home)?;
        creds
            .tokens
            .insert(index.as_str().to_string(), token.expose().to_string());
        creds.save()
    }

    /// `x07 pkg logout`: forgets the token of `index`; whether there was one.
    pub fn logout(home: &RegistryHome, index: &IndexUrl) -> Result<bool, RegistryError> {
        let mut creds = Self::load(home)?;
        let had = creds.tokens.remove(index.as_str()).is_some();
        if had {
            creds.save()?;
        }
        Ok(had)
    }

    fn save(&self) -> Result<(), RegistryError> {
        let file = CredentialsFile {
            schema_version: CREDENTIALS_SCHEMA.to_string(),
            tokens: self.tokens.clone(),
        };
        let bytes = x07_spec::canonical_file_bytes(&file).map_err(std::io::Error::other)?;
        write_private(&self.path, &bytes)?;
        Ok(())
    }
}

/// Writes `bytes` to `path` atomically, mode 0600 from the temp file's creation.
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let parent = path.parent().unwrap_or(Path::new("."));
    fs_err::create_dir_all(parent)?;
    x07_spec::write_private(path, bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn login_logout_round_trip_with_mode_0600() {
        let dir = tempfile::tempdir().unwrap();
        let home = RegistryHome::new(dir.path().join("home"));
        let a = IndexUrl::parse("sparse+http://127.0.0.1:1/index/").unwrap();
        let b = IndexUrl::parse("sparse+http://127.0.0.1:2/index/").unwrap();
        assert!(Credentials::load(&home).unwrap().token_for(&a).is_none());
        Credentials::login(&home, &a, &Token::new(" x07t_abc\n").unwrap()).unwrap();
        Credentials::login(&home, &b, &Token::new("x07t_def").unwrap()).unwrap();
        let path = home.credentials_path();
        assert_eq!(
            fs_err::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
        let creds = Credentials::load(&home).unwrap();
        assert_eq!(creds.token_for(&a).unwrap().expose(), "x07t_abc");
        assert!(Credentials::logout(&home, &a).unwrap());
        assert!(!Credentials::logout(&home, &a).unwrap());
        let creds = Credentials::load(&home).unwrap();
        assert!(creds.token_for(&a).is_none());
        assert_eq!(creds.token_for(&b).unwrap().expose(), "x07t_def");
        assert_eq!(format!("{:?}", creds.token_for(&b).unwrap()), "Token(…)");

        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let err = Credentials::load(&home).unwrap_err().to_string();
        assert!(err.contains("chmod 600"), "{err}");
        assert!(Token::new("a b").is_err() && Token::new("  ").is_err());
    }
}
