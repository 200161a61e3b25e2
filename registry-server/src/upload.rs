//! Request bodies: a publish body is streamed to a temp file under `DIR/tmp` as it arrives and
//! hashed on the way (memory stays bounded whatever its size), refused past the size cap, when a
//! piece is late or when the whole takes too long; small JSON bodies are read with a small cap.

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use http_body_util::BodyExt as _;
use tokio::io::AsyncWriteExt as _;
use x07_spec::{Sha256Digest, Sha256Hasher};

use crate::api_error::{ApiError, ErrorCode};

/// The temp file prefix of uploads in `DIR/tmp`.
const UPLOAD_PREFIX: &str = ".x07-upload-";

/// A received publish body.
#[derive(Debug)]
pub struct Upload {
    /// The bytes, on disk (removed when dropped unless persisted).
    pub file: tempfile::NamedTempFile,
    /// How many bytes.
    pub len: u64,
    /// Their sha256.
    pub sha256: Sha256Digest,
    /// Its share of the pending-upload budget, given back when the upload is dropped.
    _held: Reservation,
}

/// The scratch space all uploads in progress may take together: each upload may be up to
/// `max_publish_bytes`, and without a common cap many connections at once could fill the disk.
#[derive(Debug)]
pub struct UploadBudget {
    limit: u64,
    used: AtomicU64,
}

impl UploadBudget {
    /// A budget of `limit` bytes.
    pub fn new(limit: u64) -> Arc<Self> {
        Arc::new(Self {
            limit,
            used: AtomicU64::new(0),
        })
    }

    /// Takes `n` bytes of the budget, or `None` when they are not left.
    pub fn reserve(self: &Arc<Self>, n: u64) -> Option<Reservation> {
        let mut r = Reservation {
            budget: self.clone(),
            bytes: 0,
        };
        r.grow(n).then_some(r)
    }

    /// The refusal when the budget is spent (503: retry once other uploads are done).
    pub fn exhausted(&self) -> ApiError {
        ApiError::new(
            ErrorCode::Unavailable,
            format!(
                "the registry is receiving too many uploads at once (its cap for uploads in progress is {} bytes); retry in a moment",
                self.limit
            ),
        )
    }
}

/// Bytes taken from an [`UploadBudget`]; given back on drop.
#[derive(Debug)]
pub struct Reservation {
    budget: Arc<UploadBudget>,
    bytes: u64,
}

impl Reservation {
    /// Takes `n` more bytes; false (and nothing taken) when they are not left.
    pub fn grow(&mut self, n: u64) -> bool {
        let taken = self
            .budget
            .used
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |used| {
                used.checked_add(n)
                    .filter(|total| *total <= self.budget.limit)
            })
            .is_ok();
        if taken {
            self.bytes += n;
        }
        taken
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        self.budget.used.fetch_sub(self.bytes, Ordering::AcqRel);
    }
}

/// The refusal for a body that is larger than `limit`.
pub fn too_large(limit: u64) -> ApiError {
    ApiError::new(
        ErrorCode::TooLarge,
        format!(
            "the archive exceeds this registry's limit of {limit} bytes; make the package smaller"
        ),
    )
}

/// The refusal for a body that could not be read: late pieces are 408, the rest 400.
fn body_error(e: axum::Error, body_timeout: Duration) -> ApiError {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(&e);
    while let Some(s) = source {
        if s.is::<tower_http::timeout::TimeoutError>() {
            return late(format!(
                "no part of the request body arrived for {} s",
                body_timeout.as_secs()
            ));
        }
        source = s.source();
    }
    ApiError::new(
        ErrorCode::BadRequest,
        format!("cannot read the request body ({e}); send it again"),
    )
}

fn late(what: String) -> ApiError {
    ApiError::new(
        ErrorCode::Timeout,
        format!("{what}; the connection is closed, send the request again"),
    )
}

/// Streams `body` into a new temp file in `scratch_dir`, at most `limit` bytes, all of it within
/// `total_timeout` (each piece within the router's body timeout, `body_timeout`). `held` is the
/// budget already taken for it (the declared length); bytes past it are taken as they arrive.
pub async fn receive(
    body: Body,
    scratch_dir: &Path,
    limit: u64,
    mut held: Reservation,
    body_timeout: Duration,
    total_timeout: Duration,
) -> Result<Upload, ApiError> {
    let file = tempfile::Builder::new()
        .prefix(UPLOAD_PREFIX)
        .tempfile_in(scratch_dir)
        .map_err(|e| {
            ApiError::internal(
                "creating a temp file for the upload",
                format!("{}: {e}", scratch_dir.display()),
            )
        })?;
    let handle = file
        .reopen()
        .map_err(|e| ApiError::internal("opening the upload's temp file", e))?;
    let mut out =
        tokio::io::BufWriter::with_capacity(256 * 1024, tokio::fs::File::from_std(handle));
    let write_failed = |e: std::io::Error| ApiError::internal("writing the upload to disk", e);
    let mut hasher = Sha256Hasher::new();
    let mut len: u64 = 0;
    let mut body = body;
    let deadline = tokio::time::Instant::now() + total_timeout;
    loop {
        let frame = match tokio::time::timeout_at(deadline, body.frame()).await {
            Err(_) => {
                return Err(late(format!(
                    "the archive did not arrive within {} s",
                    total_timeout.as_secs()
                )))
            }
            Ok(None) => break,
            Ok(Some(Err(e))) => return Err(body_error(e, body_timeout)),
            Ok(Some(Ok(frame))) => frame,
        };
        let Ok(data) = frame.into_data() else {
            continue;
        };
        len += data.len() as u64;
        if len > limit {
            return Err(too_large(limit));
        }
        if len > held.bytes && !held.grow(len - held.bytes) {
            return Err(held.budget.exhausted());
        }
        hasher.update(&data);
        out.write_all(&data).await.map_err(write_failed)?;
    }
    out.flush().await.map_err(write_failed)?;
    out.into_inner().sync_all().await.map_err(write_failed)?;
    Ok(Upload {
        file,
        len,
        sha256: hasher.finish(),
        _held: held,
    })
}

/// Reads a small body (a JSON request) of at most `limit` bytes.
pub async fn read_small(
    body: Body,
    limit: usize,
    body_timeout: Duration,
) -> Result<Bytes, ApiError> {
    let mut bytes = Vec::new();
    let mut body = body;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| body_error(e, body_timeout))?;
        if let Ok(data) = frame.into_data() {
            if bytes.len() + data.len() > limit {
                return Err(ApiError::new(
                    ErrorCode::TooLarge,
                    format!("the request body exceeds {limit} bytes; this endpoint takes a small JSON object"),
                ));
            }
            bytes.extend_from_slice(&data);
        }
    }
    Ok(Bytes::from(bytes))
}

/// Reads and drops at most `limit` bytes of `body` (so a small refused request leaves the
/// connection usable); stops early, without reading on, past the limit.
pub async fn discard(body: Body, limit: u64) {
    let mut seen: u64 = 0;
    let mut body = body;
    while let Some(Ok(frame)) = body.frame().await {
        if let Ok(data) = frame.into_data() {
            seen += data.len() as u64;
            if seen > limit {
                return;
            }
        }
    }
}
