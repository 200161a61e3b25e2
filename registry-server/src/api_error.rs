//! API errors: `{"ok":false,"code":"X07REG_…","message":…}` with the HTTP status of the contract.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;

/// The machine-readable error codes of the registry API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    /// 401: no bearer token, or one the registry does not know.
    Unauthorized,
    /// 403: the token lacks the scope the endpoint needs.
    ScopeMissing,
    /// 403: the token's owner does not own the package.
    NotOwner,
    /// 403: a `std.*` module published by an owner the registry does not mark official.
    StdReserved,
    /// 409: this name and version are already published (versions are immutable).
    AlreadyPublished,
    /// 409: the name differs from a package's name only by `-` versus `_` (they name one package).
    NameConflict,
    /// 403: a module id the package lists is provided by a package the publisher does not own.
    ModuleTaken,
    /// 408: the request body did not arrive in time.
    Timeout,
    /// 400: the body is not a readable, well-formed package archive.
    InvalidArchive,
    /// 400: `x07-package.json` is missing fields publishing needs or has invalid values.
    InvalidManifest,
    /// 400: a listed module is not an x07AST module with the listed id.
    LintFailed,
    /// 413: the body exceeds the registry's publish size limit.
    TooLarge,
    /// 404: no such package, version or endpoint.
    NotFound,
    /// 400: a malformed request (bad JSON body, bad owner name, bad query).
    BadRequest,
    /// 409: removing this owner would leave the package without owners.
    LastOwner,
    /// 500: the registry failed to read or write its files.
    Internal,
    /// 503: the registry's database or object store cannot be reached; nothing was changed.
    Unavailable,
}

impl ErrorCode {
    /// The `X07REG_*` code string.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unauthorized => "X07REG_UNAUTHORIZED",
            Self::ScopeMissing => "X07REG_SCOPE_MISSING",
            Self::NotOwner => "X07REG_NOT_OWNER",
            Self::StdReserved => "X07REG_STD_RESERVED",
            Self::AlreadyPublished => "X07REG_ALREADY_PUBLISHED",
            Self::NameConflict => "X07REG_NAME_CONFLICT",
            Self::ModuleTaken => "X07REG_MODULE_TAKEN",
            Self::Timeout => "X07REG_TIMEOUT",
            Self::InvalidArchive => "X07REG_INVALID_ARCHIVE",
            Self::InvalidManifest => "X07REG_INVALID_MANIFEST",
            Self::LintFailed => "X07REG_PUBLISH_LINT_FAILED",
            Self::TooLarge => "X07REG_TOO_LARGE",
            Self::NotFound => "X07REG_NOT_FOUND",
            Self::BadRequest => "X07REG_BAD_REQUEST",
            Self::LastOwner => "X07REG_LAST_OWNER",
            Self::Internal => "X07REG_INTERNAL",
            Self::Unavailable => "X07REG_UNAVAILABLE",
        }
    }

    /// The HTTP status sent with this code.
    pub fn status(self) -> StatusCode {
        match self {
            Self::Unauthorized => StatusCode::UNAUTHORIZED,
            Self::ScopeMissing | Self::NotOwner | Self::StdReserved | Self::ModuleTaken => {
                StatusCode::FORBIDDEN
            }
            Self::AlreadyPublished | Self::LastOwner | Self::NameConflict => StatusCode::CONFLICT,
            Self::Timeout => StatusCode::REQUEST_TIMEOUT,
            Self::InvalidArchive | Self::InvalidManifest | Self::LintFailed | Self::BadRequest => {
                StatusCode::BAD_REQUEST
            }
            Self::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::Internal => StatusCode::INTERNAL_SERVER_ERROR,
            Self::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        }
    }
}

/// An error answer of the registry API.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{}: {message}", code.as_str())]
pub struct ApiError {
    /// What kind of failure.
    pub code: ErrorCode,
    /// What went wrong and what to do, for a person.
    pub message: String,
}

impl ApiError {
    /// An error with a code and message.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }

    /// A 500 for a failed operation: `detail` (which may name server paths) goes to the server
    /// log only; the client learns `what` failed and that the log has the rest.
    pub fn internal(what: &str, detail: impl std::fmt::Display) -> Self {
        tracing::error!("{what}: {detail}");
        Self::new(
            ErrorCode::Internal,
            format!("{what} failed on the registry server; its log has the details (the request itself is not at fault)"),
        )
    }
}

impl ApiError {
    /// A 503 for a database or object store that failed (logged in full; the message names
    /// which one, never credentials).
    pub fn unavailable(detail: impl std::fmt::Display) -> Self {
        tracing::error!("{detail}");
        Self::new(
            ErrorCode::Unavailable,
            format!("{detail}; nothing was changed, try again later"),
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body =
            serde_json::json!({"ok": false, "code": self.code.as_str(), "message": self.message});
        (self.code.status(), Json(body)).into_response()
    }
}
