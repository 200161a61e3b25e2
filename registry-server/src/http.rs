//! The axum router: index (from memory, ETag / If-None-Match), downloads, and the `/v1` API.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::Value;

use crate::api_error::{ApiError, ErrorCode};
use crate::registry::Registry;
use crate::tokens::Scope;

type Shared = State<Arc<Registry>>;
type ApiResult = Result<Json<Value>, ApiError>;

/// The registry's routes over shared state; config.json's `max_publish_bytes` bounds the publish body.
pub fn router(registry: Arc<Registry>) -> Router {
    let max_publish_bytes = usize::try_from(registry.config.max_publish_bytes).unwrap_or(usize::MAX);
    Router::new()
        .route("/index/{*path}", get(index_file))
        .route("/v1/packages/publish", post(publish).layer(DefaultBodyLimit::max(max_publish_bytes)))
        .route("/v1/packages/{name}", get(package_detail))
        .route("/v1/packages/{name}/{version}/download", get(download))
        .route("/v1/packages/{name}/{version}/yank", post(yank))
        .route("/v1/packages/{name}/owners", get(owners).post(add_owner).delete(remove_owner))
        .route("/v1/search", get(search))
        .route("/v1/me", get(me))
        .fallback(|| async { ApiError::new(ErrorCode::NotFound, "no such endpoint") })
        .with_state(registry)
}

/// Runs a blocking registry operation (file writes, token reads) off the async workers.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T, ApiError> + Send + 'static) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f).await.map_err(|e| ApiError::internal(format!("request handler failed: {e}")))?
}

fn authorization(headers: &HeaderMap) -> Option<String> {
    headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).map(str::to_string)
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
    let etag_value = HeaderValue::from_str(etag).unwrap_or_else(|_| HeaderValue::from_static("\"\""));
    let common = [(header::ETAG, etag_value), (header::CACHE_CONTROL, HeaderValue::from_static("no-cache"))];
    if etag_matches(headers, etag) {
        return (StatusCode::NOT_MODIFIED, common).into_response();
    }
    (common, [(header::CONTENT_TYPE, HeaderValue::from_static(content_type))], body).into_response()
}

async fn index_file(State(reg): Shared, Path(path): Path<String>, headers: HeaderMap) -> Response {
    if path == "config.json" {
        let c = &reg.index_config;
        return cached(&headers, c.body.clone(), &c.etag, "application/json");
    }
    match reg.index.get_by_path(&path) {
        Some(file) => cached(&headers, file.body.clone(), &file.etag, "application/x-ndjson"),
        None => ApiError::new(ErrorCode::NotFound, format!("no index file `{path}`")).into_response(),
    }
}

async fn publish(State(reg): Shared, headers: HeaderMap, body: Result<Bytes, BytesRejection>) -> ApiResult {
    let auth = authorization(&headers);
    let limit = reg.config.max_publish_bytes;
    let body = body.map_err(|r| {
        if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::new(ErrorCode::TooLarge, format!("the archive exceeds this registry's limit of {limit} bytes"))
        } else {
            ApiError::new(ErrorCode::BadRequest, format!("cannot read the request body: {r}"))
        }
    });
    blocking(move || {
        let who = reg.authenticate(auth.as_deref(), Scope::Publish)?;
        reg.publish(&who, &body?)
    })
    .await
    .map(Json)
}

async fn package_detail(State(reg): Shared, Path(name): Path<String>) -> ApiResult {
    reg.package_detail(&name).map(Json)
}

async fn download(State(reg): Shared, Path((name, version)): Path<(String, String)>, headers: HeaderMap) -> Response {
    let path = match reg.archive_path(&name, &version) {
        Ok(p) => p,
        Err(e) => return e.into_response(),
    };
    let etag = reg.index.get_by_name_str(&name).and_then(|f| f.entry(&version).map(|e| format!("\"{}\"", e.cksum)));
    match tokio::fs::read(&path).await {
        Ok(bytes) => {
            cached(&headers, Bytes::from(bytes), etag.as_deref().unwrap_or("\"\""), "application/octet-stream")
        }
        Err(e) => ApiError::internal(format!("reading the archive {}: {e}", path.display())).into_response(),
    }
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
    serde_json::from_slice(body)
        .map_err(|e| ApiError::new(ErrorCode::BadRequest, format!("the body must be {shape}: {e}")))
}

async fn yank(
    State(reg): Shared,
    Path((name, version)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    let auth = authorization(&headers);
    blocking(move || {
        let who = reg.authenticate(auth.as_deref(), Scope::Publish)?;
        let req: YankBody = json_body(&body, r#"{"yanked":true|false}"#)?;
        reg.set_yanked(&who, &name, &version, req.yanked)
    })
    .await
    .map(Json)
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

async fn change_owner(reg: Arc<Registry>, name: String, headers: HeaderMap, body: Bytes, add: bool) -> ApiResult {
    let auth = authorization(&headers);
    blocking(move || {
        let who = reg.authenticate(auth.as_deref(), Scope::OwnerManage)?;
        let req: OwnerBody = json_body(&body, r#"{"owner":"NAME"}"#)?;
        reg.change_owner(&who, &name, &req.owner, add)
    })
    .await
    .map(Json)
}

async fn add_owner(State(reg): Shared, Path(name): Path<String>, headers: HeaderMap, body: Bytes) -> ApiResult {
    change_owner(reg, name, headers, body, true).await
}

async fn remove_owner(State(reg): Shared, Path(name): Path<String>, headers: HeaderMap, body: Bytes) -> ApiResult {
    change_owner(reg, name, headers, body, false).await
}

/// Query of `GET /v1/search`.
#[derive(Deserialize)]
struct SearchQuery {
    #[serde(default)]
    q: String,
    limit: Option<usize>,
}

async fn search(State(reg): Shared, query: Result<Query<SearchQuery>, QueryRejection>) -> ApiResult {
    let Query(q) = query.map_err(|e| ApiError::new(ErrorCode::BadRequest, format!("bad search query: {e}")))?;
    Ok(Json(reg.search(&q.q, q.limit)))
}
