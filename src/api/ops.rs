//! Operational endpoints: liveness, readiness and Prometheus metrics.

use axum::extract::State;
use serde::Serialize;
use utoipa::ToSchema;

use super::openapi::{examples, ErrorEnvelope, HealthEnvelope};
use crate::app::AppState;
use crate::envelope::{ApiError, Result, Success};

#[derive(Serialize, ToSchema)]
pub struct Health {
    /// `ok`.
    #[schema(value_type = String, example = "ok")]
    status: &'static str,
}

/// Alive: the process answers.
#[utoipa::path(
    get,
    path = "/healthz",
    operation_id = "healthz",
    tag = "ops",
    responses(
        (status = 200, description = "The process answers.", body = HealthEnvelope, example = json!(examples::health())),
    )
)]
pub async fn healthz() -> Success<Health> {
    Success(Health { status: "ok" })
}

/// Ready: the database answers too; 503 otherwise.
#[utoipa::path(
    get,
    path = "/readyz",
    operation_id = "readyz",
    tag = "ops",
    responses(
        (status = 200, description = "The database answers.", body = HealthEnvelope, example = json!(examples::health())),
        (status = 503, description = "The database is unreachable (or the check timed out).", body = ErrorEnvelope),
    )
)]
pub async fn readyz(State(state): State<AppState>) -> Result<Success<Health>> {
    match state.store.ping().await {
        Ok(()) => Ok(Success(Health { status: "ok" })),
        Err(error) => {
            tracing::warn!(%error, "readiness check failed");
            Err(ApiError::ServiceUnavailable("database is unreachable".to_string()))
        }
    }
}

/// `GET /metrics`: the Prometheus text format. Queue and pool figures are read at scrape time.
#[utoipa::path(
    get,
    path = "/metrics",
    operation_id = "metrics",
    tag = "ops",
    summary = "Prometheus metrics",
    description = "Requests and latency by route and status, webhook outcomes, queue depth and age, Exotel calls and \
        pool usage, in the Prometheus text format (not enveloped).",
    responses(
        (status = 200, description = "The metrics (Prometheus text exposition format 0.0.4).",
            content_type = "text/plain; version=0.0.4; charset=utf-8", body = String),
    )
)]
pub async fn metrics(State(state): State<AppState>) -> axum::response::Response {
    use crate::telemetry::metrics as names;
    use axum::response::IntoResponse;

    match state.store.pending_delivery_stats().await {
        Ok((depth, oldest)) => {
            ::metrics::gauge!(names::WEBHOOK_QUEUE_DEPTH).set(depth as f64);
            let age = oldest.map(|created| (crate::domain::time::now_ms() - created).max(0) as f64 / 1000.0);
            ::metrics::gauge!(names::WEBHOOK_QUEUE_OLDEST_AGE).set(age.unwrap_or(0.0));
        }
        Err(error) => tracing::warn!(%error, "could not read the webhook queue for metrics"),
    }
    let (size, idle) = state.store.pool_usage();
    ::metrics::gauge!(names::DB_POOL_CONNECTIONS, "state" => "in_use").set(size.saturating_sub(idle as u32) as f64);
    ::metrics::gauge!(names::DB_POOL_CONNECTIONS, "state" => "idle").set(idle as f64);
    ([(axum::http::header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], names::handle().render())
        .into_response()
}
