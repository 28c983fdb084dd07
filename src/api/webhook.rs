//! `/webhook_deliveries`: the app's delivery log, and re-queueing a finished delivery.

use axum::extract::State;
use axum::http::Uri;
use serde::Serialize;
use utoipa::ToSchema;

use super::auth::AppAuth;
use super::extract::{raw_query_param, PathParam};
use super::openapi::examples;
use super::openapi::schemas::{envelopes, ErrorEnvelope};
use super::pagination::{PageParams, PageRequest};
use crate::domain::call::DeliveryStatus;
use crate::domain::time::{display, now_ms};
use crate::envelope::{ApiError, Result, Success};
use crate::state::AppState;
use crate::store::DeliveryRow;

/// One webhook delivery: an event POSTed (or to be POSTed) to one of the app's URLs.
#[derive(Serialize, ToSchema)]
pub struct DeliveryBody {
    /// The delivery's id, sent as the `webhook-id` header on every attempt.
    #[serde(rename = "DeliveryId")]
    delivery_id: String,
    /// The setting the event was delivered for (`popup`, `incomingCallHangup`, `missedCall`, `callback`).
    #[serde(rename = "EventType")]
    event_type: String,
    #[serde(rename = "Url")]
    url: String,
    #[serde(rename = "CallSid")]
    call_sid: String,
    #[serde(rename = "Status")]
    #[schema(value_type = DeliveryStatus)]
    status: String,
    #[serde(rename = "Attempts")]
    attempts: i64,
    /// The HTTP status of the last attempt, if it got one.
    #[serde(rename = "LastResponseCode")]
    last_response_code: Option<i64>,
    /// Why the last attempt failed, or `""`.
    #[serde(rename = "LastError")]
    last_error: String,
    /// When the next attempt is due (pending deliveries only).
    #[serde(rename = "NextAttemptAt")]
    #[schema(format = DateTime)]
    next_attempt_at: Option<String>,
    #[serde(rename = "CreatedAt")]
    #[schema(format = DateTime)]
    created_at: String,
    #[serde(rename = "DeliveredAt")]
    #[schema(format = DateTime)]
    delivered_at: Option<String>,
}

impl DeliveryBody {
    pub(super) fn new(row: DeliveryRow, offset: chrono::FixedOffset) -> Self {
        let pending = row.status == DeliveryStatus::Pending;
        Self {
            delivery_id: row.id,
            event_type: row.event_type,
            url: row.url,
            call_sid: row.call_sid,
            status: row.status.as_str().to_string(),
            attempts: row.attempts,
            last_response_code: row.last_response_code,
            last_error: row.last_error,
            next_attempt_at: pending.then(|| display(row.next_attempt_at, offset)),
            created_at: display(row.created_at, offset),
            delivered_at: row.delivered_at.map(|at| display(at, offset)),
        }
    }
}

/// `Deliveries`, `PageSize`, `LastEvaluatedValue` (`""` on the last page), newest cursor last.
#[derive(Serialize, ToSchema)]
pub struct DeliveryPage {
    #[serde(rename = "Deliveries")]
    deliveries: Vec<DeliveryBody>,
    #[serde(rename = "PageSize")]
    #[schema(minimum = 1, maximum = 100)]
    page_size: i64,
    /// The cursor of the last delivery returned (pass it as `last_value` for the next page); `""` on the last page.
    #[serde(rename = "LastEvaluatedValue")]
    last_evaluated_value: String,
}

envelopes! {
    /// A success envelope whose `Data` is a page of the delivery log.
    DeliveryPageEnvelope => DeliveryPage;
    /// A success envelope whose `Data` is one webhook delivery.
    DeliveryEnvelope => DeliveryBody;
}

/// List webhook deliveries
///
/// The app's delivery log, paginated like user mappings (an addition to the seed).
#[utoipa::path(
    get,
    path = "/webhook_deliveries",
    operation_id = "list_webhook_deliveries",
    tag = "webhook_deliveries",
    security(("app_token" = [])),
    params(
        ("status" = Option<DeliveryStatus>, Query, description = "Only deliveries with this status (any case)."),
        PageParams,
    ),
    responses(
        (status = 200, description = "A page of the delivery log.", body = DeliveryPageEnvelope, example = json!(examples::deliveries_response())),
        (status = 400, description = "An unknown `status`, or `last_value`/`page_size` out of range.", body = ErrorEnvelope),
    )
)]
pub async fn list(State(state): State<AppState>, AppAuth(app): AppAuth, uri: Uri) -> Result<Success<DeliveryPage>> {
    let status = match raw_query_param(&uri, "status")? {
        Some(s) if !s.trim().is_empty() => Some(DeliveryStatus::parse("query parameter status", &s)?),
        _ => None,
    };
    let page = PageRequest::from_query(&uri)?;
    let rows = state.store.list_deliveries(&app.id, status, page.after, page.fetch_limit()).await?;
    let (rows, last_evaluated_value) = page.finish(rows, |row| row.seq);
    let page_size = page.size;
    let offset = state.config.display_offset;
    let deliveries = rows.into_iter().map(|row| DeliveryBody::new(row, offset)).collect();
    Ok(Success(DeliveryPage { deliveries, page_size, last_evaluated_value }))
}

/// Retry a webhook delivery
///
/// Queues a finished delivery (delivered, dead or expired) again (an addition to the seed).
#[utoipa::path(
    post,
    path = "/webhook_deliveries/{id}/retry",
    operation_id = "retry_webhook_delivery",
    tag = "webhook_deliveries",
    security(("app_token" = [])),
    params(("id" = String, Path, description = "The delivery's `DeliveryId`.")),
    responses(
        (status = 200, description = "The delivery, pending again.", body = DeliveryEnvelope, example = json!(examples::delivery_retried())),
        (status = 400, description = "The path segment is not valid UTF-8 or holds a NUL byte.", body = ErrorEnvelope),
        (status = 404, description = "No delivery with that id for this app.", body = ErrorEnvelope),
        (status = 409, description = "The delivery is still pending.", body = ErrorEnvelope),
    )
)]
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
    state.outbox.wake();
    tracing::info!(delivery_id = %id, "delivery queued again");
    Ok(Success(DeliveryBody::new(row, state.config.display_offset)))
}
