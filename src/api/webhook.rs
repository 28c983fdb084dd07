//! `/webhook_deliveries`: the app's delivery log, one delivery with its attempt log, and re-queueing
//! a finished delivery.

use axum::extract::State;
use axum::http::Uri;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::auth::AppAuth;
use super::extract::{raw_query_param, PathParam};
use super::openapi::examples;
use super::openapi::schemas::{envelopes, ErrorEnvelope};
use super::pagination::{PageParams, PageRequest};
use super::JsonBody;
use crate::domain::call::{delivery_event_type, CallPayload, DeliveryStatus, TEST_EVENT_TYPE};
use crate::domain::time::{display, now_ms, parse_rfc3339};
use crate::envelope::{ApiError, Result, Success};
use crate::state::AppState;
use crate::store::{AttemptRow, DeliveryFilter, DeliveryRow, RecoverWindow};

/// One webhook delivery: an event POSTed (or to be POSTed) to one of the app's URLs.
#[derive(Serialize, ToSchema)]
pub struct DeliveryBody {
    /// The delivery's id, sent as the `webhook-id` header on every attempt.
    #[serde(rename = "DeliveryId")]
    delivery_id: String,
    /// The setting the event was delivered for (`popup`, `incomingCallHangup`, `missedCall`, `callback`),
    /// or `test` for a sample sent by `POST /app_setting/test`.
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
            delivery_id: row.message.id,
            event_type: row.message.event_type,
            url: row.message.url,
            call_sid: row.message.call_sid,
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
/// The app's delivery log, oldest first, paginated like user mappings (an addition to the seed),
/// optionally narrowed by status, call, event type and creation time.
#[utoipa::path(
    get,
    path = "/webhook_deliveries",
    operation_id = "list_webhook_deliveries",
    tag = "webhook_deliveries",
    security(("app_token" = [])),
    params(
        ("status" = Option<DeliveryStatus>, Query, description = "Only deliveries with this status (any case)."),
        ("call_sid" = Option<String>, Query, description = "Only the deliveries of this call."),
        ("event_type" = Option<DeliveryEventType>, Query, description = "Only deliveries sent for this event type (any case)."),
        ("since" = Option<String>, Query, format = DateTime,
            description = "Only deliveries created at or after this time (RFC 3339 with an offset, compared at whole seconds)."),
        ("until" = Option<String>, Query, format = DateTime,
            description = "Only deliveries created at or before this time (RFC 3339 with an offset, compared at whole seconds)."),
        PageParams,
    ),
    responses(
        (status = 200, description = "A page of the delivery log.", body = DeliveryPageEnvelope, example = json!(examples::deliveries_response())),
        (status = 400, description = "An unknown `status` or `event_type`, a `since`/`until` that is not RFC 3339, or \
            `last_value`/`page_size` out of range; the message names the parameter.", body = ErrorEnvelope),
    )
)]
pub async fn list(State(state): State<AppState>, AppAuth(app): AppAuth, uri: Uri) -> Result<Success<DeliveryPage>> {
    let filter = DeliveryFilter {
        status: query_param(&uri, "status")?
            .map(|s| DeliveryStatus::parse("query parameter status", &s))
            .transpose()?,
        call_sid: query_param(&uri, "call_sid")?,
        event_type: query_param(&uri, "event_type")?
            .map(|t| delivery_event_type("query parameter event_type", &t))
            .transpose()?,
        created_from: query_time(&uri, "since")?.map(|s| s * 1000),
        // Whole seconds, inclusive: everything before the next second.
        created_before: query_time(&uri, "until")?.map(|s| (s + 1) * 1000),
    };
    let page = PageRequest::from_query(&uri)?;
    let rows = state.store.list_deliveries(&app.id, &filter, page.after, page.fetch_limit()).await?;
    let (rows, last_evaluated_value) = page.finish(rows, |row| row.seq);
    let page_size = page.size;
    let offset = state.config.display_offset;
    let deliveries = rows.into_iter().map(|row| DeliveryBody::new(row, offset)).collect();
    Ok(Success(DeliveryPage { deliveries, page_size, last_evaluated_value }))
}

/// A query parameter's value; absent and blank are the same.
fn query_param(uri: &Uri, name: &str) -> Result<Option<String>> {
    Ok(raw_query_param(uri, name)?.filter(|v| !v.trim().is_empty()))
}

/// A time query parameter, in unix seconds.
fn query_time(uri: &Uri, name: &str) -> Result<Option<i64>> {
    let field = format!("query parameter {name}");
    Ok(query_param(uri, name)?.map(|t| parse_rfc3339(&field, &t)).transpose()?)
}

/// `POST /webhook_deliveries/recover`: which finished deliveries to queue again.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct RecoverRequest {
    /// The window's start: deliveries created at or after it (RFC 3339 with an offset; whole seconds).
    #[schema(value_type = String, format = DateTime, required = true)]
    since: Option<String>,
    /// The window's end, inclusive (default: now). The window may not be longer than the retention
    /// (`WEBHOOK_RETENTION_DAYS`), nor end before it.
    #[schema(value_type = Option<String>, format = DateTime)]
    until: Option<String>,
    /// Which finished statuses to queue again (default `["dead"]`).
    #[schema(value_type = Option<Vec<RecoverableStatus>>)]
    statuses: Option<Vec<String>>,
}

/// A status `recover` may queue again.
#[derive(ToSchema)]
#[schema(rename_all = "lowercase")]
#[allow(dead_code)] // documentation only: read by [`DeliveryStatus::parse_finished`]
pub enum RecoverableStatus {
    Dead,
    Expired,
    Delivered,
}

/// A delivery's `EventType`: the webhook setting it was sent for, or `test`.
#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
#[allow(dead_code)] // documentation only: read by [`delivery_event_type`]
pub enum DeliveryEventType {
    Popup,
    IncomingCallHangup,
    MissedCall,
    Callback,
    Test,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct RecoverBody {
    /// How many deliveries were queued again.
    queued: u64,
}

envelopes! {
    /// A success envelope whose `Data` says how many deliveries were queued again.
    RecoverEnvelope => RecoverBody;
}

/// Recover webhook deliveries
///
/// Queues again every finished delivery of the app created in `[Since, Until]` whose status is in
/// `Statuses` (an addition to the seed): after a receiver outage, one call re-sends what died.
/// Each keeps its `DeliveryId` (the `webhook-id` header, so receivers can drop duplicates) and
/// goes through the whole retry schedule again; a popup gets a fresh deadline. `test`
/// deliveries are never recovered.
#[utoipa::path(
    post,
    path = "/webhook_deliveries/recover",
    operation_id = "recover_webhook_deliveries",
    tag = "webhook_deliveries",
    security(("app_token" = [])),
    request_body(content = RecoverRequest, example = json!(examples::recover_request())),
    responses(
        (status = 200, description = "How many deliveries were queued again.", body = RecoverEnvelope, example = json!(examples::recover_response())),
        (status = 400, description = "`Since` missing or not RFC 3339, `Until` before `Since`, a window longer than the \
            retention or ending before it, or a status that is not dead, expired or delivered.", body = ErrorEnvelope),
    )
)]
pub async fn recover(
    State(state): State<AppState>,
    AppAuth(app): AppAuth,
    JsonBody(request): JsonBody<RecoverRequest>,
) -> Result<Success<RecoverBody>> {
    let now = now_ms();
    let since = request.since.ok_or_else(|| ApiError::bad_request("Since is required"))?;
    let since = parse_rfc3339("Since", &since)?;
    let until = match request.until {
        Some(until) => parse_rfc3339("Until", &until)?,
        None => now / 1000,
    };
    if since > until {
        return Err(ApiError::bad_request("Since must not be after Until"));
    }
    let retention = state.config.webhook_retention.as_secs() as i64;
    let days = retention / 86_400;
    if until - since > retention {
        return Err(ApiError::bad_request(format!(
            "the window from Since to Until must not be longer than the retention of {days} days \
             (WEBHOOK_RETENTION_DAYS): finished deliveries older than that are deleted"
        )));
    }
    if until < now / 1000 - retention {
        return Err(ApiError::bad_request(format!(
            "Until is past the retention of {days} days (WEBHOOK_RETENTION_DAYS): finished deliveries that old are deleted"
        )));
    }
    let statuses = match request.statuses {
        None => vec![DeliveryStatus::Dead],
        Some(statuses) if statuses.is_empty() => {
            return Err(ApiError::bad_request("Statuses must not be empty (leave it out for [\"dead\"])"))
        }
        Some(statuses) => statuses
            .iter()
            .enumerate()
            .map(|(i, s)| DeliveryStatus::parse_finished(&format!("Statuses[{i}]"), s))
            .collect::<std::result::Result<_, _>>()?,
    };
    let window = RecoverWindow {
        created_from: since * 1000,
        created_before: (until + 1) * 1000,
        statuses,
        now,
        popup_deadline_ms: state.config.popup_deadline.as_millis() as i64,
    };
    let queued = state.store.recover_deliveries(&app.id, &window).await?;
    if queued > 0 {
        state.outbox.wake();
    }
    tracing::info!(app_id = %app.id, queued, since, until, "deliveries recovered");
    Ok(Success(RecoverBody { queued }))
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
        (status = 404, description = "No delivery with that id for this app.", body = ErrorEnvelope),
        (status = 409, description = "The delivery is still pending, or is a test (never sent again).", body = ErrorEnvelope),
    )
)]
pub async fn retry(
    State(state): State<AppState>,
    AppAuth(app): AppAuth,
    PathParam(id): PathParam<String>,
) -> Result<Success<DeliveryBody>> {
    let Some(row) = state.store.requeue_delivery(&app.id, &id, now_ms()).await? else {
        return match state.store.find_delivery(&app.id, &id).await? {
            Some(row) if row.message.event_type == TEST_EVENT_TYPE => Err(ApiError::conflict(format!(
                "delivery {id:?} is a test, never sent again: send another with POST /app_setting/test"
            ))),
            Some(_) => Err(ApiError::conflict(format!("delivery {id:?} is still pending"))),
            None => Err(ApiError::not_found(format!("no delivery {id:?} for this app"))),
        };
    };
    state.outbox.wake();
    tracing::info!(delivery_id = %id, "delivery queued again");
    Ok(Success(DeliveryBody::new(row, state.config.display_offset)))
}

/// One attempt of a delivery.
#[derive(Serialize, ToSchema)]
pub struct AttemptBody {
    /// The attempt's number, from 1, in the order they were made.
    #[serde(rename = "Attempt")]
    attempt: i64,
    /// When the attempt started.
    #[serde(rename = "At")]
    #[schema(format = DateTime)]
    at: String,
    /// The receiver's HTTP status; null when no HTTP answer came (refused, unreachable, timed out).
    #[serde(rename = "ResponseCode")]
    #[schema(required = true)]
    response_code: Option<i64>,
    #[serde(rename = "DurationMs")]
    duration_ms: i64,
    /// Why the attempt failed, or `""` when the receiver answered 2xx.
    #[serde(rename = "Error")]
    error: String,
    /// The first 4 KiB of the receiver's answer, as text.
    #[serde(rename = "ResponseBody")]
    response_body: String,
}

/// A delivery (the keys of the delivery log), the body it sends, and every attempt made.
#[derive(Serialize, ToSchema)]
pub struct DeliveryDetail {
    #[serde(flatten)]
    delivery: DeliveryBody,
    /// The JSON body sent: the call payload.
    #[serde(rename = "Payload")]
    payload: CallPayload,
    /// Every attempt, oldest first.
    #[serde(rename = "AttemptLog")]
    attempt_log: Vec<AttemptBody>,
}

envelopes! {
    /// A success envelope whose `Data` is one delivery with its payload and attempt log.
    DeliveryDetailEnvelope => DeliveryDetail;
}

/// Get a webhook delivery
///
/// One delivery of the app with the body it sends and its attempt log: when each attempt started,
/// what the receiver answered (status and the first 4 KiB of its body) and how long it took (an
/// addition to the seed). Kept as long as the delivery (`WEBHOOK_RETENTION_DAYS`).
#[utoipa::path(
    get,
    path = "/webhook_deliveries/{id}",
    operation_id = "get_webhook_delivery",
    tag = "webhook_deliveries",
    security(("app_token" = [])),
    params(("id" = String, Path, description = "The delivery's `DeliveryId`.")),
    responses(
        (status = 200, description = "The delivery, its payload and its attempts.", body = DeliveryDetailEnvelope, example = json!(examples::delivery_detail())),
        (status = 404, description = "No delivery with that id for this app.", body = ErrorEnvelope),
    )
)]
pub async fn get(
    State(state): State<AppState>,
    AppAuth(app): AppAuth,
    PathParam(id): PathParam<String>,
) -> Result<Success<DeliveryDetail>> {
    let Some((row, attempts)) = state.store.find_delivery_with_attempts(&app.id, &id).await? else {
        return Err(ApiError::not_found(format!("no delivery {id:?} for this app")));
    };
    let offset = state.config.display_offset;
    let payload = serde_json::from_str(&row.message.payload).map_err(ApiError::internal)?;
    let attempt_log = attempts
        .into_iter()
        .zip(1..)
        .map(|(attempt, number): (AttemptRow, i64)| AttemptBody {
            attempt: number,
            at: display(attempt.at, offset),
            response_code: attempt.response_code,
            duration_ms: attempt.duration_ms,
            error: attempt.error,
            response_body: attempt.response_body,
        })
        .collect();
    Ok(Success(DeliveryDetail { delivery: DeliveryBody::new(row, offset), payload, attempt_log }))
}
