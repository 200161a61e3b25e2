//! A static HTTP(S) file server as a read-only store (a CDN or any web server in front of a cache).

use std::time::Duration;

use reqwest::blocking::Client;
use reqwest::StatusCode;
use url::Url;

use crate::{check_key, BlobError};

/// A read-only store at a base URL.
#[derive(Debug, Clone)]
pub struct HttpStore {
    base: Url,
    http: Client,
}

impl HttpStore {
    /// The store at `base` (ending in `/`).
    pub fn new(base: Url) -> Result<Self, BlobError> {
        let http = Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(300))
            .build()
            .map_err(|e| BlobError::BadUrl {
                url: base.to_string(),
                why: format!("cannot set up the HTTP client: {e}"),
            })?;
        Ok(Self { base, http })
    }

    /// The base URL.
    pub fn describe(&self) -> String {
        self.base.to_string()
    }

    pub(crate) fn read_only(&self) -> BlobError {
        BlobError::Unsupported {
            store: self.describe(),
            what: "writing",
        }
    }

    fn url(&self, key: &str) -> Result<Url, BlobError> {
        check_key(key)?;
        self.base
            .join(key)
            .map_err(|e| BlobError::BadKey(format!("{key} ({e})")))
    }

    fn failed(&self, op: &'static str, key: &str, why: String) -> BlobError {
        BlobError::Request {
            store: self.describe(),
            op,
            key: key.to_string(),
            why,
        }
    }

    /// The file's bytes, or `None` on 404.
    pub fn get(&self, key: &str) -> Result<Option<Vec<u8>>, BlobError> {
        let r = self
            .http
            .get(self.url(key)?)
            .send()
            .map_err(|e| self.failed("GET", key, e.to_string()))?;
        match r.status() {
            StatusCode::NOT_FOUND => Ok(None),
            s if s.is_success() => r
                .bytes()
                .map(|b| Some(b.to_vec()))
                .map_err(|e| self.failed("GET", key, e.to_string())),
            s => Err(self.failed("GET", key, format!("HTTP {s}"))),
        }
    }

    /// Whether the file exists (HEAD).
    pub fn exists(&self, key: &str) -> Result<bool, BlobError> {
        let r = self
            .http
            .head(self.url(key)?)
            .send()
            .map_err(|e| self.failed("HEAD", key, e.to_string()))?;
        match r.status() {
            StatusCode::NOT_FOUND => Ok(false),
            s if s.is_success() => Ok(true),
            s => Err(self.failed("HEAD", key, format!("HTTP {s}"))),
        }
    }
}
