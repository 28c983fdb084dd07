//! Operational endpoints: liveness and readiness.

use axum::extract::State;
use serde::Serialize;

use crate::app::AppState;
use crate::envelope::{ApiError, Result, Success};

#[derive(Serialize)]
pub struct Health {
    status: &'static str,
}

/// Alive: the process answers.
pub async fn healthz() -> Success<Health> {
    Success(Health { status: "ok" })
}

/// Ready: the database answers too; 503 otherwise.
pub async fn readyz(State(state): State<AppState>) -> Result<Success<Health>> {
    match state.store.ping().await {
        Ok(()) => Ok(Success(Health { status: "ok" })),
        Err(error) => {
            tracing::warn!(%error, "readiness check failed");
            Err(ApiError::ServiceUnavailable("database is unreachable".to_string()))
        }
    }
}
