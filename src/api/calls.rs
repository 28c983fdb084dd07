//! `/calls` and `/call/{CallSid}/events`: the app's calls, newest first, and what happened to one.

use axum::extract::State;
use axum::http::Uri;
use serde::Serialize;
use utoipa::ToSchema;

use super::auth::AppAuth;
use super::extract::{raw_query_param, PathParam};
use super::openapi::examples;
use super::openapi::schemas::{envelopes, ErrorEnvelope};
use super::pagination::{PageParams, PageRequest};
use super::webhook::DeliveryBody;
use crate::domain::call::{CallDirection, CallPayload};
use crate::domain::time::display;
use crate::envelope::{ApiError, Result, Success};
use crate::state::AppState;

/// `Calls` (newest first), `PageSize`, `LastEvaluatedValue` (`""` on the last page).
#[derive(Serialize, ToSchema)]
pub struct CallPage {
    /// Each call's latest payload.
    #[serde(rename = "Calls")]
    calls: Vec<CallPayload>,
    #[serde(rename = "PageSize")]
    #[schema(minimum = 1, maximum = 100)]
    page_size: i64,
    /// The cursor of the last call returned (pass it as `last_value` for older calls); `""` on the last page.
    #[serde(rename = "LastEvaluatedValue")]
    last_evaluated_value: String,
}

/// What happened to one call, oldest first.
#[derive(Serialize, ToSchema)]
pub struct CallTimeline {
    #[serde(rename = "CallSid")]
    call_sid: String,
    #[serde(rename = "Events")]
    events: Vec<CallEventBody>,
}

/// One event of a call, with the webhook deliveries it queued.
#[derive(Serialize, ToSchema)]
pub struct CallEventBody {
    /// The passthru type (`popup`, `incomingcallhungup`, `missedcall`), `outbound_call` for an
    /// outbound call's creation, or Exotel's status event (`answered`, `terminal`, ...).
    #[serde(rename = "EventType")]
    event_type: String,
    /// When the server recorded the event.
    #[serde(rename = "ReceivedAt")]
    #[schema(format = DateTime)]
    received_at: String,
    /// The call payload as it stood after this event.
    #[serde(rename = "Payload")]
    payload: CallPayload,
    /// The deliveries this event queued (oldest first), `[]` when none (no URL set for it, or
    /// purged past `WEBHOOK_RETENTION_DAYS`).
    #[serde(rename = "Deliveries")]
    deliveries: Vec<DeliveryBody>,
}

envelopes! {
    /// A success envelope whose `Data` is a page of the app's calls.
    CallPageEnvelope => CallPage;
    /// A success envelope whose `Data` is one call's events.
    CallTimelineEnvelope => CallTimeline;
}

/// A payload as stored (serde's own output): read back into the typed payload, not a map (which
/// would sort the keys), so the answer keeps the contract's key order.
fn payload(text: &str) -> Result<CallPayload> {
    serde_json::from_str(text).map_err(ApiError::internal)
}

/// `GET /calls`: the app's calls, newest first.
#[utoipa::path(
    get,
    summary = "List calls",
    description = "The app's calls, newest first (by each call's first event), each as its latest call payload (an \
        addition to the seed). Paginated like user mappings, backwards: pass `LastEvaluatedValue` as `last_value` for \
        older calls; a call that comes meanwhile shows at the top of a fresh list.",
    path = "/calls",
    operation_id = "list_calls",
    tag = "call",
    security(("app_token" = [])),
    params(
        ("direction" = Option<CallDirection>, Query, description = "Only calls of this direction (any case)."),
        PageParams,
    ),
    responses(
        (status = 200, description = "A page of calls.", body = CallPageEnvelope, example = json!(examples::calls_response())),
        (status = 400, description = "An unknown `direction`, or `last_value`/`page_size` out of range.", body = ErrorEnvelope),
    )
)]
pub async fn list(State(state): State<AppState>, AppAuth(app): AppAuth, uri: Uri) -> Result<Success<CallPage>> {
    let direction = match raw_query_param(&uri, "direction")? {
        Some(d) if !d.trim().is_empty() => Some(CallDirection::parse("query parameter direction", &d)?),
        _ => None,
    };
    let page = PageRequest::from_query(&uri)?;
    let rows = state.store.list_calls(&app.id, direction, page.before(), page.fetch_limit()).await?;
    let (rows, last_evaluated_value) = page.finish(rows, |row| row.first_seq);
    let calls = rows.iter().map(|row| payload(&row.payload)).collect::<Result<_>>()?;
    Ok(Success(CallPage { calls, page_size: page.size, last_evaluated_value }))
}

/// `GET /call/{CallSid}/events`: one call's timeline.
#[utoipa::path(
    get,
    summary = "Get a call's events",
    description = "What happened to one of the app's calls, oldest first (an addition to the seed): each event with \
        the call payload as it stood after it and the webhook deliveries it queued.",
    path = "/call/{call_sid}/events",
    operation_id = "get_call_events",
    tag = "call",
    security(("app_token" = [])),
    params(("call_sid" = String, Path, description = "Exotel's `CallSid`.")),
    responses(
        (status = 200, description = "The call's events.", body = CallTimelineEnvelope, example = json!(examples::call_events_response())),
        (status = 404, description = "No call with that `CallSid` in this app.", body = ErrorEnvelope),
    )
)]
pub async fn events(
    State(state): State<AppState>,
    AppAuth(app): AppAuth,
    PathParam(call_sid): PathParam<String>,
) -> Result<Success<CallTimeline>> {
    let timeline = state.store.call_timeline(&app.id, &call_sid).await?;
    if timeline.is_empty() {
        return Err(ApiError::not_found(format!("no call with CallSid {call_sid:?} in this app")));
    }
    let offset = state.config.display_offset;
    let events = timeline
        .into_iter()
        .map(|entry| {
            Ok(CallEventBody {
                event_type: entry.event.event_type,
                received_at: display(entry.event.created_at, offset),
                payload: payload(&entry.event.payload)?,
                deliveries: entry.deliveries.into_iter().map(|row| DeliveryBody::new(row, offset)).collect(),
            })
        })
        .collect::<Result<_>>()?;
    Ok(Success(CallTimeline { call_sid, events }))
}
