//! API tokens: `x07t_<64 hex>`, stored only as their sha256 in `DIR/tokens.json` with owner and scopes.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use rand::RngCore as _;
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use crate::owners::OwnerName;

/// The prefix of every token.
pub const TOKEN_PREFIX: &str = "x07t_";

/// What a token allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Scope {
    /// Publish new versions of owned (or new) packages, yank and unyank them.
    #[serde(rename = "publish")]
    Publish,
    /// Add and remove owners of owned packages.
    #[serde(rename = "owner.manage")]
    OwnerManage,
    /// Everything, on every package, whoever owns it.
    #[serde(rename = "admin")]
    Admin,
}

impl Scope {
    /// Parses `publish`, `owner.manage` or `admin`.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "publish" => Some(Self::Publish),
            "owner.manage" => Some(Self::OwnerManage),
            "admin" => Some(Self::Admin),
            _ => None,
        }
    }

    /// The scope as written in tokens.json.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Publish => "publish",
            Self::OwnerManage => "owner.manage",
            Self::Admin => "admin",
        }
    }
}

/// One stored token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenRecord {
    /// The account the token acts as.
    pub owner: OwnerName,
    /// What it may do.
    pub scopes: Vec<Scope>,
    /// Creation time, seconds since the Unix epoch.
    pub created: u64,
}

impl TokenRecord {
    /// Whether the token grants `scope` (`admin` grants every scope).
    pub fn allows(&self, scope: Scope) -> bool {
        self.scopes.contains(&scope) || self.scopes.contains(&Scope::Admin)
    }

    /// Whether the token has the `admin` scope.
    pub fn is_admin(&self) -> bool {
        self.scopes.contains(&Scope::Admin)
    }
}

/// A freshly created secret token; shown once, never stored.
#[derive(Clone, PartialEq, Eq)]
pub struct Token(String);

/// Seconds since the Unix epoch.
pub(crate) fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

impl Token {
    /// A new random token (`x07t_` + 64 hex digits).
    pub(crate) fn generate() -> Self {
        let mut raw = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut raw);
        Token(format!("{TOKEN_PREFIX}{}", hex::encode(raw)))
    }

    /// The token text (`x07t_…`).
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token(x07t_…)")
    }
}

/// Reading or writing tokens.json failed.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    /// A file operation on the token store failed.
    #[error("token store: {0}")]
    Io(#[from] std::io::Error),
    /// tokens.json is not valid.
    #[error("{0}: not a valid tokens file ({1}); fix or remove it (existing tokens stop working)")]
    Json(PathBuf, serde_json::Error),
}

/// The `sha256` hex under which a token is stored.
pub(crate) fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// The token file of a registry root.
#[derive(Debug, Clone)]
pub struct TokenStore {
    path: PathBuf,
    lock_path: PathBuf,
}

impl TokenStore {
    /// The store at `DIR/tokens.json`.
    pub fn new(root_dir: &Path) -> Self {
        Self {
            path: root_dir.join("tokens.json"),
            lock_path: root_dir.join(".tokens.lock"),
        }
    }

    /// Path of tokens.json.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Every stored token: its hash and record (a migration copies them).
    pub(crate) fn all(&self) -> Result<BTreeMap<String, TokenRecord>, TokenError> {
        self.read()
    }

    fn read(&self) -> Result<BTreeMap<String, TokenRecord>, TokenError> {
        match fs_err::read(&self.path) {
            Ok(bytes) => {
                serde_json::from_slice(&bytes).map_err(|e| TokenError::Json(self.path.clone(), e))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(BTreeMap::new()),
            Err(e) => Err(e.into()),
        }
    }

    /// Creates tokens.json (empty) if it does not exist.
    pub fn ensure_exists(&self) -> Result<(), TokenError> {
        if !self.path.exists() {
            let _guard = self.lock()?;
            if !self.path.exists() {
                self.write(&BTreeMap::new())?;
            }
        }
        Ok(())
    }

    fn write(&self, tokens: &BTreeMap<String, TokenRecord>) -> Result<(), TokenError> {
        let bytes = x07_spec::canonical_file_bytes(tokens).map_err(std::io::Error::other)?;
        x07_spec::write_private(&self.path, &bytes)?; // hashes only, still nobody else's business
        Ok(())
    }

    /// Holds an exclusive lock on the store so concurrent `token create` runs do not lose tokens.
    fn lock(&self) -> Result<std::fs::File, TokenError> {
        if let Some(parent) = self.path.parent() {
            fs_err::create_dir_all(parent)?;
        }
        let file = fs_err::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&self.lock_path)?;
        let file = file.into_file();
        file.lock()?;
        Ok(file)
    }

    /// Creates a token for `owner` with `scopes`, stores its hash, and returns the secret once.
    pub fn create(&self, owner: OwnerName, scopes: Vec<Scope>) -> Result<Token, TokenError> {
        let token = Token::generate();
        let created = now_secs();
        let mut scopes = scopes;
        scopes.sort();
        scopes.dedup();
        let _guard = self.lock()?;
        let mut tokens = self.read()?;
        tokens.insert(
            token_hash(token.as_str()),
            TokenRecord {
                owner,
                scopes,
                created,
            },
        );
        self.write(&tokens)?;
        Ok(token)
    }

    /// The record of a presented token, read fresh so tokens created while the server runs work at once.
    pub fn lookup(&self, token: &str) -> Result<Option<TokenRecord>, TokenError> {
        if !token.starts_with(TOKEN_PREFIX) {
            return Ok(None);
        }
        Ok(self.read()?.remove(&token_hash(token)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn created_tokens_are_stored_hashed_and_found_again() {
        let dir = tempfile::tempdir().unwrap();
        let store = TokenStore::new(dir.path());
        let owner = OwnerName::new("alice").unwrap();
        let token = store
            .create(owner.clone(), vec![Scope::Publish, Scope::Publish])
            .unwrap();
        let text = token.as_str();
        assert!(text.starts_with("x07t_") && text.len() == 5 + 64, "{text}");
        let stored = fs_err::read_to_string(store.path()).unwrap();
        assert!(
            !stored.contains(&text[5..]),
            "the secret must not be stored"
        );
        let rec = store.lookup(text).unwrap().expect("token is known");
        assert_eq!((rec.owner, rec.scopes), (owner, vec![Scope::Publish]));
        assert!(store.lookup("x07t_0000").unwrap().is_none());
        assert!(!rec_allows_owner_manage(&store, text));
    }

    fn rec_allows_owner_manage(store: &TokenStore, token: &str) -> bool {
        store
            .lookup(token)
            .unwrap()
            .unwrap()
            .allows(Scope::OwnerManage)
    }
}
