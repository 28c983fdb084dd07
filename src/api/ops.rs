//! Operational endpoints: liveness, readiness and Prometheus metrics.

use axum::extract::State;
use serde::Serialize;
use utoipa::ToSchema;

use super::openapi::examples;
use super::openapi::schemas::{envelopes, ErrorEnvelope};
use crate::envelope::{within_storage_bound, ApiError, Result, Success};
use crate::state::AppState;

#[derive(Serialize, ToSchema)]
pub struct Health {
    /// `ok`.
    #[schema(value_type = String, example = "ok")]
    status: &'static str,
}

envelopes! {
    /// A success envelope whose `Data` is the health status.
    HealthEnvelope => Health;
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

/// Ready: the database answers and takes a write; 503 otherwise.
#[utoipa::path(
    get,
    path = "/readyz",
    operation_id = "readyz",
    tag = "ops",
    responses(
        (status = 200, description = "The database answers and commits a write.", body = HealthEnvelope, example = json!(examples::health())),
        (status = 503, description = "The database is unreachable or refuses writes (a full disk), or the check timed \
            out; the `Retry-After` header says when to ask again.", body = ErrorEnvelope),
    )
)]
pub async fn readyz(State(state): State<AppState>) -> Result<Success<Health>> {
    let check = async {
        let checked = async {
            state.store.ping().await?;
            state.store.probe_write(crate::domain::time::now_ms()).await
        };
        checked.await.map_err(|error| {
            tracing::warn!(%error, "readiness check failed");
            match ApiError::from(error) {
                unavailable @ ApiError::StorageUnavailable(_) => unavailable,
                _ => ApiError::ServiceUnavailable("the database failed the readiness check".to_string()),
            }
        })
    };
    // Answered within the bound a request waits for a connection, whatever the database does.
    within_storage_bound(state.config.database_acquire_timeout, check).await?;
    Ok(Success(Health { status: "ok" }))
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
