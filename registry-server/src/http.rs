//! The axum router: index (from memory, ETag / If-None-Match), downloads, and the `/v1` API.

use std::io::Read as _;
use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::Value;
use tower_http::timeout::RequestBodyTimeoutLayer;

use crate::api_error::{ApiError, ErrorCode};
use crate::registry::Registry;
use crate::tokens::Scope;
use crate::upload::{discard, read_small, receive, too_large};

type Shared = State<Arc<Registry>>;
type ApiResult = Result<Json<Value>, ApiError>;

/// Largest body of the JSON endpoints (yank, owners).
const MAX_JSON_BODY: usize = 64 * 1024;
/// A refused request's body up to this size is read and dropped so the connection stays usable;
/// a larger one is never read (the connection is closed after the answer).
const DRAIN_REFUSED_BODY: u64 = 64 * 1024;

/// The registry's routes over shared state. Every request body is cut off when a piece of it is
/// later than the body timeout; the publish body is streamed to disk and bounded by
/// config.json's `max_publish_bytes` and `publish_timeout_secs`.
pub fn router(registry: Arc<Registry>) -> Router {
    let body_timeout = registry.limits.body_timeout;
    Router::new()
        .route("/index/{*path}", get(index_file))
        .route("/v1/packages/publish", post(publish))
        .route("/v1/packages/{name}", get(package_detail))
        .route("/v1/packages/{name}/{version}/download", get(download))
        .route("/v1/packages/{name}/{version}/yank", post(yank))
        .route(
            "/v1/packages/{name}/owners",
            get(owners).post(add_owner).delete(remove_owner),
        )
        .route("/v1/search", get(search))
        .route("/v1/me", get(me))
        .fallback(|| async { ApiError::new(ErrorCode::NotFound, "no such endpoint") })
        .layer(RequestBodyTimeoutLayer::new(body_timeout))
        .with_state(registry)
}

/// Runs a blocking registry operation (file writes, token reads) off the async workers.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ApiError::internal("running the request handler", e))?
}

fn authorization(headers: &HeaderMap) -> Option<String> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

/// The declared `Content-Length`, if any.
fn content_length(headers: &HeaderMap) -> Option<u64> {
    headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse().ok())
}

/// Answers `error` to a request whose body was not read: a small body is read and dropped first
/// (the connection stays usable); a large or unsized one is left unread and the connection closed.
async fn refuse_unread(error: ApiError, headers: &HeaderMap, body: Body) -> Response {
    if content_length(headers).is_some_and(|n| n <= DRAIN_REFUSED_BODY) {
        discard(body, DRAIN_REFUSED_BODY).await;
        return error.into_response();
    }
    let mut response = error.into_response();
    response
        .headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    response
}

/// Whether `If-None-Match` names `etag` (or `*`); weak tags compare by their opaque part.
fn etag_matches(headers: &HeaderMap, etag: &str) -> bool {
    headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .any(|tag| tag == "*" || tag.strip_prefix("W/").unwrap_or(tag) == etag)
}

/// A cached body with its ETag, or a bare 304 when the client already has it.
fn cached(headers: &HeaderMap, body: Bytes, etag: &str, content_type: &'static str) -> Response {
    let etag_value =
        HeaderValue::from_str(etag).unwrap_or_else(|_| HeaderValue::from_static("\"\""));
    let common = [
        (header::ETAG, etag_value),
        (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
    ];
    if etag_matches(headers, etag) {
        return (StatusCode::NOT_MODIFIED, common).into_response();
    }
    (
        common,
        [(header::CONTENT_TYPE, HeaderValue::from_static(content_type))],
        body,
    )
        .into_response()
}

async fn index_file(State(reg): Shared, Path(path): Path<String>, headers: HeaderMap) -> Response {
    if path == "config.json" {
        let c = &reg.index_config;
        return cached(&headers, c.body.clone(), &c.etag, "application/json");
    }
    match reg.index.get_by_path(&path) {
        Some(file) => cached(
            &headers,
            file.body.clone(),
            &file.etag,
            "application/x-ndjson",
        ),
        None => {
            ApiError::new(ErrorCode::NotFound, format!("no index file `{path}`")).into_response()
        }
    }
}

/// The token is checked from the headers before any of the body is read: an unauthorised or
/// oversized request is answered without reading (or buffering) it. An accepted body streams to
/// a temp file on disk.
async fn publish(State(reg): Shared, headers: HeaderMap, body: Body) -> Response {
    let auth = authorization(&headers);
    let who = {
        let reg = reg.clone();
        blocking(move || reg.authenticate(auth.as_deref(), Scope::Publish)).await
    };
    let who = match who {
        Ok(who) => who,
        Err(e) => return refuse_unread(e, &headers, body).await,
    };
    let limit = reg.config.max_publish_bytes;
    if content_length(&headers).is_some_and(|n| n > limit) {
        return refuse_unread(too_large(limit), &headers, body).await;
    }
    let Some(held) = reg.uploads.reserve(content_length(&headers).unwrap_or(0)) else {
        return refuse_unread(reg.uploads.exhausted(), &headers, body).await;
    };
    let limits = reg.limits;
    let upload = match receive(
        body,
        &reg.scratch,
        limit,
        held,
        limits.body_timeout,
        limits.publish_timeout,
    )
    .await
    {
        Ok(upload) => upload,
        Err(e) => {
            let mut response = e.into_response();
            response
                .headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
            return response;
        }
    };
    blocking(move || reg.publish(&who, upload))
        .await
        .map(Json)
        .into_response()
}

async fn package_detail(State(reg): Shared, Path(name): Path<String>) -> ApiResult {
    reg.package_detail(&name).map(Json)
}

/// Streams an archive: read on a blocking thread in 64 KiB pieces, at most four pieces ahead
/// of the client, so a download never holds the archive in memory whatever its size.
async fn download(
    State(reg): Shared,
    Path((name, version)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let (mut reader, len, cksum) = match blocking(move || reg.archive(&name, &version)).await {
        Ok(opened) => opened,
        Err(e) => return e.into_response(),
    };
    let etag = format!("\"{cksum}\"");
    let etag_value =
        HeaderValue::from_str(&etag).unwrap_or_else(|_| HeaderValue::from_static("\"\""));
    let common = [
        (header::ETAG, etag_value),
        (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
    ];
    if etag_matches(&headers, &etag) {
        return (StatusCode::NOT_MODIFIED, common).into_response();
    }
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(4);
    tokio::task::spawn_blocking(move || {
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let item = match reader.read(&mut buf) {
                Ok(0) => return,
                Ok(n) => Ok(Bytes::copy_from_slice(&buf[..n])),
                Err(e) => Err(e),
            };
            let failed = item.is_err();
            // The client went away, or the read failed: either way the download ends here.
            if tx.blocking_send(item).is_err() || failed {
                return;
            }
        }
    });
    let stream =
        futures_util::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|i| (i, rx)) });
    let mut response = (
        common,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/octet-stream"),
        )],
        Body::from_stream(stream),
    )
        .into_response();
    if let Some(len) = len {
        response
            .headers_mut()
            .insert(header::CONTENT_LENGTH, HeaderValue::from(len));
    }
    response
}

/// Body of `POST …/yank`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct YankBody {
    yanked: bool,
}

/// Body of `POST|DELETE …/owners`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct OwnerBody {
    owner: String,
}

fn json_body<T: for<'de> Deserialize<'de>>(body: &[u8], shape: &str) -> Result<T, ApiError> {
    serde_json::from_slice(body).map_err(|e| {
        ApiError::new(
            ErrorCode::BadRequest,
            format!("the body must be {shape}: {e}"),
        )
    })
}

/// Checks the token from the headers, then reads the small JSON body.
async fn authenticated_body(
    reg: &Arc<Registry>,
    headers: &HeaderMap,
    body: Body,
    scope: Scope,
) -> Result<(crate::tokens::TokenRecord, Bytes), Response> {
    let auth = authorization(headers);
    let who = {
        let reg = reg.clone();
        blocking(move || reg.authenticate(auth.as_deref(), scope)).await
    };
    match who {
        Ok(who) => match read_small(body, MAX_JSON_BODY, reg.limits.body_timeout).await {
            Ok(bytes) => Ok((who, bytes)),
            Err(e) => Err(e.into_response()),
        },
        Err(e) => Err(refuse_unread(e, headers, body).await),
    }
}

async fn yank(
    State(reg): Shared,
    Path((name, version)): Path<(String, String)>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let (who, body) = match authenticated_body(&reg, &headers, body, Scope::Publish).await {
        Ok(x) => x,
        Err(response) => return response,
    };
    blocking(move || {
        let req: YankBody = json_body(&body, r#"{"yanked":true|false}"#)?;
        reg.set_yanked(&who, &name, &version, req.yanked)
    })
    .await
    .map(Json)
    .into_response()
}

async fn me(State(reg): Shared, headers: HeaderMap) -> ApiResult {
    let auth = authorization(&headers);
    blocking(move || {
        let who = reg.identify(auth.as_deref())?;
        let scopes: Vec<&str> = who.scopes.iter().map(|s| s.as_str()).collect();
        Ok(serde_json::json!({"ok": true, "owner": who.owner.as_str(), "scopes": scopes}))
    })
    .await
    .map(Json)
}

async fn owners(State(reg): Shared, Path(name): Path<String>) -> ApiResult {
    reg.owners(&name).map(Json)
}

async fn change_owner(
    reg: Arc<Registry>,
    name: String,
    headers: HeaderMap,
    body: Body,
    add: bool,
) -> Response {
    let (who, body) = match authenticated_body(&reg, &headers, body, Scope::OwnerManage).await {
        Ok(x) => x,
        Err(response) => return response,
    };
    blocking(move || {
        let req: OwnerBody = json_body(&body, r#"{"owner":"NAME"}"#)?;
        reg.change_owner(&who, &name, &req.owner, add)
    })
    .await
    .map(Json)
    .into_response()
}

async fn add_owner(
    State(reg): Shared,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    change_owner(reg, name, headers, body, true).await
}

async fn remove_owner(
    State(reg): Shared,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    change_owner(reg, name, headers, body, false).await
}

/// Query of `GET /v1/search`.
#[derive(Deserialize)]
struct SearchQuery {
    #[serde(default)]
    q: String,
    limit: Option<usize>,
}

async fn search(
    State(reg): Shared,
    query: Result<Query<SearchQuery>, QueryRejection>,
) -> ApiResult {
    let Query(q) = query
        .map_err(|e| ApiError::new(ErrorCode::BadRequest, format!("bad search query: {e}")))?;
    Ok(Json(reg.search(&q.q, q.limit)))
}
