//! An S3 bucket over SigV4 presigned requests (rusty-s3 signs, reqwest sends). Path-style
//! addressing when an endpoint is given (S3-compatible servers), virtual-host style on AWS.
//! Transient failures (connection errors, 5xx, 429) are retried a few times with backoff.

use std::time::Duration;

use reqwest::blocking::{Client, Response};
use reqwest::StatusCode;
use rusty_s3::actions::ListObjectsV2;
use rusty_s3::{Bucket, Credentials, S3Action as _, UrlStyle};
use url::Url;

use crate::credentials::load_credentials;
use crate::{check_key, BlobError, S3Location};

/// How long a presigned request stays valid (it is sent at once).
const SIGNED_FOR: Duration = Duration::from_secs(600);
/// Attempts per request when the failure looks transient.
const ATTEMPTS: u32 = 3;

/// An S3 bucket (or a prefix of one).
pub struct S3Store {
    bucket: Bucket,
    credentials: Credentials,
    prefix: String,
    http: Client,
}

impl std::fmt::Debug for S3Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Store")
            .field("bucket", &self.bucket.name())
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

impl S3Store {
    /// A store for `loc` with credentials from the environment or the shared file.
    pub fn open(loc: &S3Location) -> Result<Self, BlobError> {
        let (credentials, source) = load_credentials()?;
        tracing::debug!(bucket = %loc.bucket, ?source, "S3 credentials found");
        Self::with_credentials(loc, credentials)
    }

    /// A store for `loc` with an access key and secret given directly (tests, tools).
    pub fn with_keys(loc: &S3Location, key: &str, secret: &str) -> Result<Self, BlobError> {
        Self::with_credentials(loc, Credentials::new(key, secret))
    }

    /// A store for `loc` with the given credentials.
    pub fn with_credentials(loc: &S3Location, credentials: Credentials) -> Result<Self, BlobError> {
        let bad = |why: String| BlobError::BadUrl {
            url: format!("s3://{}", loc.bucket),
            why,
        };
        let (endpoint, style) = match &loc.endpoint {
            Some(e) => (e.clone(), UrlStyle::Path),
            None => (
                Url::parse(&format!("https://s3.{}.amazonaws.com", loc.region))
                    .map_err(|e| bad(e.to_string()))?,
                UrlStyle::VirtualHost,
            ),
        };
        let bucket = Bucket::new(endpoint, style, loc.bucket.clone(), loc.region.clone())
            .map_err(|e| bad(e.to_string()))?;
        let http = Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(300))
            .build()
            .map_err(|e| bad(format!("cannot set up the HTTP client: {e}")))?;
        Ok(Self {
            bucket,
            credentials,
            prefix: loc.prefix.clone(),
            http,
        })
    }

    /// `s3://bucket[/prefix]`.
    pub fn describe(&self) -> String {
        if self.prefix.is_empty() {
            format!("s3://{}", self.bucket.name())
        } else {
            format!("s3://{}/{}", self.bucket.name(), self.prefix)
        }
    }

    fn full_key(&self, key: &str) -> Result<String, BlobError> {
        check_key(key)?;
        Ok(if self.prefix.is_empty() {
            key.to_string()
        } else {
            format!("{}/{key}", self.prefix)
        })
    }

    fn failed(&self, op: &'static str, key: &str, why: String) -> BlobError {
        BlobError::Request {
            store: self.describe(),
            op,
            key: key.to_string(),
            why,
        }
    }

    /// Sends the request `make` builds, retrying transient failures; returns the last response.
    fn send(
        &self,
        op: &'static str,
        key: &str,
        mut make: impl FnMut() -> reqwest::blocking::RequestBuilder,
    ) -> Result<Response, BlobError> {
        let mut last = String::new();
        for attempt in 0..ATTEMPTS {
            if attempt > 0 {
                std::thread::sleep(Duration::from_millis(100 << attempt));
            }
            match make().send() {
                Ok(r)
                    if r.status().is_server_error()
                        || r.status() == StatusCode::TOO_MANY_REQUESTS =>
                {
                    last = describe_status(r);
                }
                Ok(r) => return Ok(r),
                Err(e) => last = transport_error(&e),
            }
            tracing::debug!(op, key, attempt, "S3 request failed: {last}");
        }
        Err(self.failed(op, key, last))
    }

    /// The object's bytes, or `None` for a missing key.
    pub fn get(&self, key: &str) -> Result<Option<Vec<u8>>, BlobError> {
        let Some((mut reader, len)) = self.get_stream(key)? else {
            return Ok(None);
        };
        let mut bytes = Vec::with_capacity(len.unwrap_or(0).min(64 << 20) as usize);
        std::io::Read::read_to_end(&mut reader, &mut bytes)
            .map_err(|e| self.failed("GET", key, format!("reading the body: {e}")))?;
        Ok(Some(bytes))
    }

    /// The object as a stream and its length, or `None` for a missing key (large objects are
    /// never whole in memory).
    pub fn get_stream(
        &self,
        key: &str,
    ) -> Result<Option<(crate::BlobReader, Option<u64>)>, BlobError> {
        let full = self.full_key(key)?;
        let url = self
            .bucket
            .get_object(Some(&self.credentials), &full)
            .sign(SIGNED_FOR);
        let r = self.send("GET", key, || self.http.get(url.clone()))?;
        match r.status() {
            StatusCode::NOT_FOUND => Ok(None),
            s if s.is_success() => {
                let len = r.content_length();
                Ok(Some((Box::new(r), len)))
            }
            _ => Err(self.failed("GET", key, describe_status(r))),
        }
    }

    /// Stores `bytes` under `key` (S3 PUTs are atomic: readers see the old or the new object).
    pub fn put(&self, key: &str, bytes: &[u8]) -> Result<(), BlobError> {
        let full = self.full_key(key)?;
        let url = self
            .bucket
            .put_object(Some(&self.credentials), &full)
            .sign(SIGNED_FOR);
        let r = self.send("PUT", key, || {
            self.http.put(url.clone()).body(bytes.to_vec())
        })?;
        if r.status().is_success() {
            Ok(())
        } else {
            Err(self.failed("PUT", key, describe_status(r)))
        }
    }

    /// Stores the file at `path` under `key`, streamed from disk (never whole in memory).
    pub fn put_file(&self, key: &str, path: &std::path::Path) -> Result<(), BlobError> {
        let full = self.full_key(key)?;
        let url = self
            .bucket
            .put_object(Some(&self.credentials), &full)
            .sign(SIGNED_FOR);
        // Each attempt reopens the file: a body is consumed by the attempt that sent it.
        let mut open_error = None;
        let r = self.send("PUT", key, || {
            let request = self.http.put(url.clone());
            match std::fs::File::open(path) {
                Ok(file) => request.body(reqwest::blocking::Body::from(file)),
                Err(e) => {
                    open_error = Some(e);
                    request.body(Vec::new())
                }
            }
        });
        if let Some(e) = open_error {
            return Err(BlobError::Io(std::io::Error::new(
                e.kind(),
                format!("{}: {e}", path.display()),
            )));
        }
        let r = r?;
        if r.status().is_success() {
            Ok(())
        } else {
            Err(self.failed("PUT", key, describe_status(r)))
        }
    }

    /// Whether `key` exists.
    pub fn exists(&self, key: &str) -> Result<bool, BlobError> {
        let full = self.full_key(key)?;
        let url = self
            .bucket
            .head_object(Some(&self.credentials), &full)
            .sign(SIGNED_FOR);
        let r = self.send("HEAD", key, || self.http.head(url.clone()))?;
        match r.status() {
            StatusCode::NOT_FOUND => Ok(false),
            s if s.is_success() => Ok(true),
            _ => Err(self.failed("HEAD", key, describe_status(r))),
        }
    }

    /// Removes `key`.
    pub fn delete(&self, key: &str) -> Result<(), BlobError> {
        let full = self.full_key(key)?;
        let url = self
            .bucket
            .delete_object(Some(&self.credentials), &full)
            .sign(SIGNED_FOR);
        let r = self.send("DELETE", key, || self.http.delete(url.clone()))?;
        if r.status().is_success() || r.status() == StatusCode::NOT_FOUND {
            Ok(())
        } else {
            Err(self.failed("DELETE", key, describe_status(r)))
        }
    }

    /// Checks that the bucket answers with these credentials (one small LIST).
    pub fn check(&self) -> Result<(), BlobError> {
        self.list_page("", None, Some(1)).map(|_| ())
    }

    /// Every key under `prefix` (relative to the store's own prefix), sorted.
    pub fn list(&self, prefix: &str) -> Result<Vec<String>, BlobError> {
        let mut keys = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let (page, next) = self.list_page(prefix, token.as_deref(), None)?;
            keys.extend(page);
            match next {
                Some(t) => token = Some(t),
                None => break,
            }
        }
        keys.sort();
        Ok(keys)
    }

    fn list_page(
        &self,
        prefix: &str,
        token: Option<&str>,
        max: Option<usize>,
    ) -> Result<(Vec<String>, Option<String>), BlobError> {
        let full_prefix = match (self.prefix.is_empty(), prefix.is_empty()) {
            (true, _) => prefix.to_string(),
            (false, true) => format!("{}/", self.prefix),
            (false, false) => format!("{}/{prefix}", self.prefix),
        };
        let mut action = ListObjectsV2::new(&self.bucket, Some(&self.credentials));
        if !full_prefix.is_empty() {
            action.with_prefix(full_prefix.as_str());
        }
        if let Some(t) = token {
            action.with_continuation_token(t);
        }
        if let Some(m) = max {
            action.with_max_keys(m);
        }
        let url = action.sign(SIGNED_FOR);
        let r = self.send("LIST", prefix, || self.http.get(url.clone()))?;
        if !r.status().is_success() {
            return Err(self.failed("LIST", prefix, describe_status(r)));
        }
        let text = r
            .text()
            .map_err(|e| self.failed("LIST", prefix, transport_error(&e)))?;
        let parsed = ListObjectsV2::parse_response(&text)
            .map_err(|e| self.failed("LIST", prefix, format!("unreadable answer: {e}")))?;
        let strip = if self.prefix.is_empty() {
            0
        } else {
            self.prefix.len() + 1
        };
        let keys = parsed
            .contents
            .into_iter()
            .filter_map(|c| c.key.get(strip..).map(str::to_string))
            .collect();
        Ok((keys, parsed.next_continuation_token))
    }
}

/// `HTTP 403 Forbidden: <first 200 bytes of the body>`.
fn describe_status(r: Response) -> String {
    let status = r.status();
    let body = r.text().unwrap_or_default();
    let code = body
        .split("<Code>")
        .nth(1)
        .and_then(|s| s.split("</Code>").next())
        .map(|c| format!(" ({c})"))
        .unwrap_or_default();
    let hint = match status {
        StatusCode::FORBIDDEN => {
            "; check the credentials (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY or the credentials file) and the bucket's permissions"
        }
        StatusCode::NOT_FOUND => "; check that the bucket exists",
        _ => "",
    };
    format!("HTTP {status}{code}{hint}")
}

/// The transport error with its causes (no URL: presigned URLs carry signatures).
fn transport_error(e: &reqwest::Error) -> String {
    let mut out = if e.is_connect() {
        "cannot connect".to_string()
    } else if e.is_timeout() {
        "timed out".to_string()
    } else {
        "request failed".to_string()
    };
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}
