//! `/webhook_deliveries`: the app's delivery log, and re-queueing a finished delivery.

use axum::extract::State;
use axum::http::Uri;
use serde::Serialize;

use super::extract::{raw_query_param, PathParam};
use super::usermapping::{int_param, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE};
use crate::app::AppState;
use crate::auth::AppAuth;
use crate::domain::call::DeliveryStatus;
use crate::domain::time::{display, now_ms};
use crate::envelope::{ApiError, Result, Success};
use crate::store::DeliveryRow;

#[derive(Serialize)]
pub struct DeliveryBody {
    #[serde(rename = "DeliveryId")]
    delivery_id: String,
    #[serde(rename = "EventType")]
    event_type: String,
    #[serde(rename = "Url")]
    url: String,
    #[serde(rename = "CallSid")]
    call_sid: String,
    #[serde(rename = "Status")]
    status: String,
    #[serde(rename = "Attempts")]
    attempts: i64,
    #[serde(rename = "LastResponseCode")]
    last_response_code: Option<i64>,
    #[serde(rename = "LastError")]
    last_error: String,
    #[serde(rename = "NextAttemptAt")]
    next_attempt_at: Option<String>,
    #[serde(rename = "CreatedAt")]
    created_at: String,
    #[serde(rename = "DeliveredAt")]
    delivered_at: Option<String>,
}

impl DeliveryBody {
    fn new(row: DeliveryRow, offset: chrono::FixedOffset) -> Self {
        let pending = row.status == DeliveryStatus::Pending.as_str();
        Self {
            delivery_id: row.id,
            event_type: row.event_type,
            url: row.url,
            call_sid: row.call_sid,
            status: row.status,
            attempts: row.attempts,
            last_response_code: row.last_response_code,
            last_error: row.last_error,
            next_attempt_at: pending.then(|| display(row.next_attempt_at, offset)),
            created_at: display(row.created_at, offset),
            delivered_at: row.delivered_at.map(|at| display(at, offset)),
        }
    }
}

#[derive(Serialize)]
pub struct DeliveryPage {
    #[serde(rename = "Deliveries")]
    deliveries: Vec<DeliveryBody>,
    #[serde(rename = "PageSize")]
    page_size: i64,
    #[serde(rename = "LastEvaluatedValue")]
    last_evaluated_value: String,
}

pub async fn list(State(state): State<AppState>, AppAuth(app): AppAuth, uri: Uri) -> Result<Success<DeliveryPage>> {
    let status = match raw_query_param(&uri, "status")? {
        Some(s) if !s.trim().is_empty() => Some(DeliveryStatus::parse("query parameter status", &s)?),
        _ => None,
    };
    let after = int_param(&uri, "last_value", 0, 0..=i64::MAX, "a whole number of at least 0")?;
    let page_size = int_param(&uri, "page_size", DEFAULT_PAGE_SIZE, 1..=MAX_PAGE_SIZE, "a whole number from 1 to 100")?;
    let mut rows = state.store.list_deliveries(&app.id, status, after, page_size + 1).await?;
    let more = rows.len() as i64 > page_size;
    rows.truncate(page_size as usize);
    let last_evaluated_value = match rows.last() {
        Some(last) if more => last.seq.to_string(),
        _ => String::new(),
    };
    let offset = state.config.display_offset;
    let deliveries = rows.into_iter().map(|row| DeliveryBody::new(row, offset)).collect();
    Ok(Success(DeliveryPage { deliveries, page_size, last_evaluated_value }))
}

pub async fn retry(
    State(state): State<AppState>,
    AppAuth(app): AppAuth,
    PathParam(id): PathParam<String>,
) -> Result<Success<DeliveryBody>> {
    let Some(row) = state.store.requeue_delivery(&app.id, &id, now_ms()).await? else {
        return match state.store.find_delivery(&app.id, &id).await? {
            Some(_) => Err(ApiError::conflict(format!("delivery {id:?} is still pending"))),
            None => Err(ApiError::not_found(format!("no delivery {id:?} for this app"))),
        };
    };
    state.wakeup.wake();
    tracing::info!(delivery_id = %id, "delivery queued again");
    Ok(Success(DeliveryBody::new(row, state.config.display_offset)))
}
