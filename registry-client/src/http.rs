//! HTTP transport: conditional GETs, streamed downloads, API calls, retries with exponential backoff,
//! and the rule that a token only ever travels to the index's own origin.

use std::io::Read;
use std::time::Duration;

use reqwest::blocking::{Client, RequestBuilder, Response};
use reqwest::header::{ETAG, IF_NONE_MATCH};
use reqwest::{StatusCode, Url};

use crate::credentials::Token;
use crate::error::RegistryError;
use crate::index_url::IndexUrl;
use crate::limits::{read_capped, Cap, MAX_API_ANSWER_BYTES, MAX_ERROR_BODY_BYTES};

/// How often and how patiently to retry transient failures (connect errors, timeouts, 5xx, 429,
/// bodies cut short).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Tries in total (at least 1).
    pub attempts: u32,
    /// Wait before the second try; doubles before each later one.
    pub initial_backoff: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            attempts: 3,
            initial_backoff: Duration::from_millis(250),
        }
    }
}

/// The outcome of one failed attempt.
pub(crate) enum Failure {
    /// Worth another try; the reason is kept for the final error.
    Transient(String),
    /// Final.
    Fatal(RegistryError),
}

impl From<RegistryError> for Failure {
    fn from(e: RegistryError) -> Self {
        Self::Fatal(e)
    }
}

/// The answer to a conditional GET.
pub(crate) enum Fetched {
    /// A new body and its ETag.
    Body { body: Vec<u8>, etag: Option<String> },
    /// `304`: the cached copy is current.
    NotModified,
    /// `404`.
    NotFound,
}

/// How a request may carry the registry token.
#[derive(Clone, Copy)]
pub(crate) enum Auth<'a> {
    /// No token.
    None,
    /// The token, which is attached only if the URL is on the index's origin.
    IfSameOrigin(&'a IndexUrl, &'a Token),
    /// The token is required: a foreign origin is an error.
    Required(&'a IndexUrl, &'a Token),
}

/// The two HTTP clients and the retry policy.
pub(crate) struct Http {
    /// Follows redirects (mirrors, CDNs); never carries a token.
    anonymous: Client,
    /// Never follows redirects, so a token cannot be forwarded anywhere.
    authenticated: Client,
    retry: RetryPolicy,
}

fn user_agent() -> String {
    format!("x07/{}", env!("CARGO_PKG_VERSION"))
}

fn build_client(redirects: reqwest::redirect::Policy) -> Result<Client, RegistryError> {
    Client::builder()
        .user_agent(user_agent())
        .connect_timeout(Duration::from_secs(10))
        .timeout(Duration::from_secs(60))
        .redirect(redirects)
        .build()
        .map_err(|e| {
            RegistryError::Io(std::io::Error::other(format!(
                "cannot set up the HTTP client: {e}"
            )))
        })
}

/// Whether a status is worth retrying.
fn transient_status(status: StatusCode) -> bool {
    status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS
}

/// Why a request failed, for people: the error and its causes.
fn describe(e: &reqwest::Error) -> String {
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

/// At most `limit` bytes of a body as text (lossy); the rest is not read.
fn body_start(response: &mut Response, limit: u64) -> String {
    let mut bytes = Vec::new();
    let _ = response.take(limit).read_to_end(&mut bytes);
    String::from_utf8_lossy(&bytes).into_owned()
}

/// The `X07REG_*` code and message of an error response, or the start of its body.
pub(crate) fn api_error(url: &Url, mut response: Response) -> RegistryError {
    let status = response.status().as_u16();
    let text = body_start(&mut response, MAX_ERROR_BODY_BYTES);
    let parsed: Option<serde_json::Value> = serde_json::from_str(&text).ok();
    let field = |k: &str| {
        parsed
            .as_ref()
            .and_then(|v| v.get(k))
            .and_then(|v| v.as_str())
            .map(str::to_string)
    };
    let message = field("message").unwrap_or_else(|| {
        let t: String = text.chars().take(200).collect();
        if t.trim().is_empty() {
            "no details".to_string()
        } else {
            t
        }
    });
    RegistryError::Api {
        url: url.to_string(),
        status,
        code: field("code"),
        message,
    }
}

impl Http {
    /// Clients with the default timeouts.
    pub(crate) fn new(retry: RetryPolicy) -> Result<Self, RegistryError> {
        let follow = reqwest::redirect::Policy::limited(5);
        Ok(Self {
            anonymous: build_client(follow)?,
            authenticated: build_client(reqwest::redirect::Policy::none())?,
            retry,
        })
    }

    /// A request with the token attached when `auth` allows it for `url`.
    fn request(
        &self,
        method: reqwest::Method,
        url: &Url,
        auth: Auth<'_>,
    ) -> Result<RequestBuilder, RegistryError> {
        let token = match auth {
            Auth::None => None,
            Auth::IfSameOrigin(index, token) => index.same_origin(url).then_some(token),
            Auth::Required(index, token) => {
                if !index.same_origin(url) {
                    return Err(RegistryError::CrossOriginToken {
                        index: index.clone(),
                        url: url.to_string(),
                    });
                }
                Some(token)
            }
        };
        Ok(match token {
            Some(t) => self
                .authenticated
                .request(method, url.clone())
                .bearer_auth(t.expose()),
            None => self.anonymous.request(method, url.clone()),
        })
    }

    /// Runs `attempt` until it succeeds, fails for good, or the tries run out.
    pub(crate) fn with_retries<T>(
        &self,
        url: &Url,
        mut attempt: impl FnMut() -> Result<T, Failure>,
    ) -> Result<T, RegistryError> {
        let attempts = self.retry.attempts.max(1);
        let mut backoff = self.retry.initial_backoff;
        let mut last = String::new();
        for n in 1..=attempts {
            match attempt() {
                Ok(v) => return Ok(v),
                Err(Failure::Fatal(e)) => return Err(e),
                Err(Failure::Transient(reason)) => last = reason,
            }
            if n < attempts {
                std::thread::sleep(backoff);
                backoff = backoff.saturating_mul(2);
            }
        }
        Err(RegistryError::Unreachable {
            url: url.to_string(),
            attempts,
            reason: last,
        })
    }

    /// Sends a request; connect errors, timeouts and transient statuses become [`Failure::Transient`].
    fn send(&self, request: RequestBuilder) -> Result<Response, Failure> {
        let response = request
            .send()
            .map_err(|e| Failure::Transient(describe(&e)))?;
        if transient_status(response.status()) {
            let status = response.status();
            let mut response = response;
            let body: String = body_start(&mut response, 4096).chars().take(200).collect();
            return Err(Failure::Transient(format!("HTTP {status} {body}")));
        }
        Ok(response)
    }

    /// GET with `If-None-Match: etag` when given; 200, 304 and 404 are answers, the rest errors.
    /// A body is streamed and refused as soon as it passes `cap`.
    pub(crate) fn get_conditional(
        &self,
        url: &Url,
        etag: Option<&str>,
        auth: Auth<'_>,
        cap: Cap,
    ) -> Result<Fetched, RegistryError> {
        self.with_retries(url, || {
            let mut request = self.request(reqwest::Method::GET, url, auth)?;
            if let Some(tag) = etag {
                request = request.header(IF_NONE_MATCH, tag);
            }
            let mut response = self.send(request)?;
            match response.status() {
                StatusCode::NOT_MODIFIED => Ok(Fetched::NotModified),
                StatusCode::NOT_FOUND => Ok(Fetched::NotFound),
                s if s.is_success() => {
                    if response.content_length().is_some_and(|n| n > cap.bytes) {
                        return Err(Failure::Fatal(cap.exceeded(url.to_string())));
                    }
                    let etag = response
                        .headers()
                        .get(ETAG)
                        .and_then(|v| v.to_str().ok())
                        .map(str::to_string);
                    let body = read_capped(&mut response, cap.bytes)
                        .map_err(|e| Failure::Transient(format!("the body was cut short: {e}")))?
                        .ok_or_else(|| Failure::Fatal(cap.exceeded(url.to_string())))?;
                    Ok(Fetched::Body { body, etag })
                }
                _ => Err(Failure::Fatal(api_error(url, response))),
            }
        })
    }

    /// GET streamed into `sink` in chunks; `restart` is called before every try (to discard a
    /// partial earlier try). Fails with [`RegistryError::TooLarge`] past `limit` bytes.
    pub(crate) fn download(
        &self,
        url: &Url,
        auth: Auth<'_>,
        limit: u64,
        mut restart: impl FnMut(Option<u64>) -> Result<(), RegistryError>,
        mut sink: impl FnMut(&[u8]) -> Result<(), RegistryError>,
    ) -> Result<(), RegistryError> {
        self.with_retries(url, || {
            let mut response = self.send(self.request(reqwest::Method::GET, url, auth)?)?;
            if !response.status().is_success() {
                return Err(Failure::Fatal(api_error(url, response)));
            }
            if response.content_length().is_some_and(|n| n > limit) {
                return Err(Failure::Fatal(RegistryError::TooLarge {
                    url: url.to_string(),
                    limit,
                }));
            }
            restart(response.content_length())?;
            let mut buf = vec![0u8; 64 * 1024];
            let mut total = 0u64;
            loop {
                let n = match response.read(&mut buf) {
                    Ok(0) => break,
                    Ok(n) => n,
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                    // A connection cut mid-body (or a body shorter than Content-Length).
                    Err(e) => {
                        return Err(Failure::Transient(format!(
                            "the download was cut short after {total} bytes: {e}"
                        )))
                    }
                };
                total += n as u64;
                if total > limit {
                    return Err(Failure::Fatal(RegistryError::TooLarge {
                        url: url.to_string(),
                        limit,
                    }));
                }
                sink(&buf[..n])?;
            }
            Ok(())
        })
    }

    /// An API call answered with JSON. GETs are retried like index fetches; other methods only when
    /// the connection could not be made (the request may have had an effect otherwise).
    pub(crate) fn api(
        &self,
        method: reqwest::Method,
        url: &Url,
        auth: Auth<'_>,
        body: Option<(Vec<u8>, &'static str)>,
    ) -> Result<serde_json::Value, RegistryError> {
        let idempotent = method == reqwest::Method::GET;
        self.with_retries(url, || {
            let mut request = self.request(method.clone(), url, auth)?;
            if let Some((bytes, content_type)) = &body {
                request = request
                    .header(reqwest::header::CONTENT_TYPE, *content_type)
                    .body(bytes.clone());
            }
            let response = if idempotent {
                self.send(request)?
            } else {
                request.send().map_err(|e| {
                    if e.is_connect() {
                        Failure::Transient(describe(&e))
                    } else {
                        Failure::Fatal(RegistryError::Unreachable {
                            url: url.to_string(),
                            attempts: 1,
                            reason: describe(&e),
                        })
                    }
                })?
            };
            if !response.status().is_success() {
                return Err(Failure::Fatal(api_error(url, response)));
            }
            let not_json = |reason: String| RegistryError::Api {
                url: url.to_string(),
                status: 200,
                code: None,
                message: reason,
            };
            let cap = Cap {
                what: "API answer",
                bytes: MAX_API_ANSWER_BYTES,
            };
            let mut response = response;
            let text = read_capped(&mut response, cap.bytes)
                .map_err(|e| {
                    let reason = format!("the answer was cut short: {e}");
                    if idempotent {
                        Failure::Transient(reason)
                    } else {
                        Failure::Fatal(not_json(reason))
                    }
                })?
                .ok_or_else(|| Failure::Fatal(cap.exceeded(url.to_string())))?;
            serde_json::from_slice(&text)
                .map_err(|e| Failure::Fatal(not_json(format!("the answer is not JSON ({e})"))))
        })
    }
}
