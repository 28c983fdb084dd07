//! The Exotel envelope and [`ApiError`]: the one place where errors become HTTP responses.

use std::time::Duration;

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use uuid::Uuid;

use crate::store::Unavailable;

tokio::task_local! {
    /// The id of the request being served; set by the request-id middleware for the whole request.
    static REQUEST_ID: Uuid;
}

/// Runs `future` with `id` as the current request id.
pub async fn with_request_id<F: std::future::Future>(id: Uuid, future: F) -> F::Output {
    REQUEST_ID.scope(id, future).await
}

/// The id of the request being served (a fresh one outside a request).
pub fn current_request_id() -> Uuid {
    REQUEST_ID.try_with(|id| *id).unwrap_or_else(|_| Uuid::new_v4())
}

/// `{"RequestId", "Status", "Code", "Error", "Data"}`, in that order.
#[derive(Serialize)]
pub struct Envelope<T: Serialize> {
    #[serde(rename = "RequestId")]
    pub request_id: Uuid,
    #[serde(rename = "Status")]
    pub status: &'static str,
    #[serde(rename = "Code")]
    pub code: u16,
    #[serde(rename = "Error")]
    pub error: String,
    #[serde(rename = "Data")]
    pub data: Option<T>,
}

/// A successful answer: 200 with `data` inside the envelope.
pub struct Success<T: Serialize>(pub T);

impl<T: Serialize> IntoResponse for Success<T> {
    fn into_response(self) -> Response {
        envelope_response(StatusCode::OK, String::new(), Some(self.0))
    }
}

fn envelope_response<T: Serialize>(status: StatusCode, error: String, data: Option<T>) -> Response {
    let body = Envelope {
        request_id: current_request_id(),
        status: if status.is_success() { "Success" } else { "Failure" },
        code: status.as_u16(),
        error,
        data,
    };
    (status, Json(body)).into_response()
}

/// A full disk is freed by an operator, not in a second: clients are asked to wait longer.
const STORAGE_FULL_RETRY_AFTER_SECS: u64 = 10;

fn storage_message(reason: Unavailable) -> &'static str {
    match reason {
        Unavailable::Full => "the storage is full: nothing was stored; try again once the operator has freed space",
        Unavailable::Down => "the storage is unavailable: nothing was stored; try again shortly",
    }
}

pub type Result<T, E = ApiError> = std::result::Result<T, E>;

/// Every way a request can fail. `status()` is the single table from error to HTTP status.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Unauthorized(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    MethodNotAllowed(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    RequestTimeout(String),
    #[error("request body is larger than the {limit_bytes} byte limit")]
    PayloadTooLarge { limit_bytes: usize },
    #[error("too many failed attempts; try again in {retry_after_secs} s")]
    TooManyRequests { retry_after_secs: u64 },
    /// Exotel refused: its status and its error JSON as text are passed through.
    #[error("{message}")]
    Upstream { status: StatusCode, message: String },
    #[error("{0}")]
    ServiceUnavailable(String),
    /// The database cannot take the request now; nothing of it was stored.
    #[error("{}", storage_message(*.0))]
    StorageUnavailable(Unavailable),
    #[error("internal error")]
    Internal(#[source] anyhow::Error),
}

impl ApiError {
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::BadRequest(message.into())
    }
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::Unauthorized(message.into())
    }
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::NotFound(message.into())
    }
    pub fn conflict(message: impl Into<String>) -> Self {
        Self::Conflict(message.into())
    }
    pub fn internal(error: impl Into<anyhow::Error>) -> Self {
        Self::Internal(error.into())
    }

    pub fn status(&self) -> StatusCode {
        match self {
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            Self::Conflict(_) => StatusCode::CONFLICT,
            Self::RequestTimeout(_) => StatusCode::REQUEST_TIMEOUT,
            Self::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Self::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::Upstream { status, .. } => *status,
            Self::ServiceUnavailable(_) | Self::StorageUnavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl From<crate::store::StoreError> for ApiError {
    fn from(error: crate::store::StoreError) -> Self {
        match error {
            crate::store::StoreError::Conflict(message) => Self::Conflict(message),
            other => match other.unavailable() {
                Some(reason) => {
                    tracing::warn!(error = %other, "storage unavailable");
                    Self::StorageUnavailable(reason)
                }
                None => Self::Internal(other.into()),
            },
        }
    }
}

/// Runs the storage work of one of Exotel's requests (a call is ringing now) within the bound a
/// request may wait for the database (`DATABASE_ACQUIRE_TIMEOUT_MS`), however many waits the work
/// needs: past it, a 503. Work cut short is either stored whole or not at all (its transaction rolls back).
pub async fn within_storage_bound<T>(bound: Duration, work: impl std::future::Future<Output = Result<T>>) -> Result<T> {
    match tokio::time::timeout(bound, work).await {
        Ok(result) => result,
        Err(_) => {
            tracing::warn!(
                bound_ms = bound.as_millis() as u64,
                "storage did not answer within DATABASE_ACQUIRE_TIMEOUT_MS"
            );
            Err(ApiError::StorageUnavailable(Unavailable::Down))
        }
    }
}

impl From<crate::domain::FieldError> for ApiError {
    fn from(error: crate::domain::FieldError) -> Self {
        Self::BadRequest(error.0)
    }
}

impl ApiError {
    /// Exotel's failure as the client sees it: Exotel's 4xx mirrored with its error JSON, 502 for
    /// its 5xx or its silence. `context` (e.g. which user of a batch) goes before Exotel's own words.
    pub fn upstream(error: crate::exotel::UpstreamError, context: Option<&str>) -> Self {
        use crate::exotel::UpstreamError;
        let prefix = context.map(|c| format!("{c}: ")).unwrap_or_default();
        match error {
            UpstreamError::Refused { status, body } if (400..500).contains(&status) => Self::Upstream {
                status: StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_GATEWAY),
                message: format!("{prefix}{body}"),
            },
            UpstreamError::Refused { body, .. } => {
                Self::Upstream { status: StatusCode::BAD_GATEWAY, message: format!("{prefix}{body}") }
            }
            UpstreamError::Unreachable(reason) => Self::Upstream {
                status: StatusCode::BAD_GATEWAY,
                message: format!("{prefix}Exotel is unreachable: {reason}"),
            },
        }
    }
}

impl From<crate::exotel::UpstreamError> for ApiError {
    fn from(error: crate::exotel::UpstreamError) -> Self {
        Self::upstream(error, None)
    }
}

impl From<crate::crypto::CryptoError> for ApiError {
    fn from(error: crate::crypto::CryptoError) -> Self {
        Self::Internal(error.into())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        if let Self::Internal(cause) = &self {
            tracing::error!(error = format!("{cause:#}"), "request failed with an internal error");
        }
        if let Self::StorageUnavailable(reason) = &self {
            let reason = match reason {
                Unavailable::Full => "full",
                Unavailable::Down => "down",
            };
            metrics::counter!(crate::telemetry::metrics::STORAGE_UNAVAILABLE, "reason" => reason).increment(1);
        }
        let mut response = envelope_response::<()>(status, self.to_string(), None);
        let retry_after_secs = match self {
            Self::TooManyRequests { retry_after_secs } => Some(retry_after_secs.max(1)),
            Self::StorageUnavailable(Unavailable::Full) => Some(STORAGE_FULL_RETRY_AFTER_SECS),
            Self::StorageUnavailable(Unavailable::Down) | Self::ServiceUnavailable(_) => Some(1),
            _ => None,
        };
        if let Some(secs) = retry_after_secs {
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exotel::UpstreamError;

    #[test]
    fn exotel_4xx_is_mirrored_and_5xx_or_silence_is_502() {
        let refused =
            ApiError::upstream(UpstreamError::Refused { status: 409, body: "{\"code\":10813}".into() }, Some("user 2"));
        assert_eq!(refused.status().as_u16(), 409);
        assert_eq!(refused.to_string(), "user 2: {\"code\":10813}");
        let down = ApiError::from(UpstreamError::Refused { status: 503, body: "busy".into() });
        assert_eq!(down.status().as_u16(), 502);
        let silent = ApiError::from(UpstreamError::Unreachable("timed out".into()));
        assert_eq!(silent.status().as_u16(), 502);
        assert!(silent.to_string().contains("timed out"));
    }
}
