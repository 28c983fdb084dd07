//! `/call`: Exotel's inbound passthru, and reading a call back.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, Uri};
use serde::Deserialize;
use serde_json::Value;
use uuid::Uuid;

use super::extract::PathParam;
use super::{JsonBody, QueryParams};
use crate::app::AppState;
use crate::auth::AppAuth;
use crate::calls::{outbound_payload, record_and_queue, record_status_event, spawn_sandbox_lifecycle, StatusEvent};
use crate::domain::call::{CallPayload, InboundType};
use crate::domain::time::{display, now_ms, parse_exotel_time};
use crate::domain::{non_empty, PhoneNumber, SettingKey};
use crate::envelope::{ApiError, Result, Success};
use crate::exotel::{ExotelApi, NewCall};

/// Exotel's passthru parameters, from the query and (for POST) a form body; later wins.
struct PassthruParams(Vec<(String, String)>);

impl PassthruParams {
    fn read(uri: &Uri, headers: &HeaderMap, body: &[u8]) -> Self {
        let mut pairs: Vec<(String, String)> =
            form_urlencoded::parse(uri.query().unwrap_or_default().as_bytes()).into_owned().collect();
        let is_form = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
        if is_form || (!body.is_empty() && !body.starts_with(b"{")) {
            pairs.extend(form_urlencoded::parse(body).into_owned());
        }
        Self(pairs)
    }

    /// The last non-empty value of the first of `names` that has one.
    fn get(&self, names: &[&str]) -> String {
        names
            .iter()
            .find_map(|name| {
                self.0
                    .iter()
                    .rev()
                    .find(|(k, v)| k.eq_ignore_ascii_case(name) && !v.trim().is_empty())
                    .map(|(_, v)| v.trim().to_string())
            })
            .unwrap_or_default()
    }
}

/// An Exotel time as RFC 3339 in the display offset, or `""` when unknown.
fn exotel_time(text: &str, offset: chrono::FixedOffset) -> String {
    parse_exotel_time(text).map(|t| display(t.timestamp_millis(), offset)).unwrap_or_default()
}

/// `GET|POST /call/inbound_call/{appId}?type=…`: called by an Exotel flow, without a token.
pub async fn inbound(
    State(state): State<AppState>,
    PathParam(app_id): PathParam<String>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Success<&'static str>> {
    let params = PassthruParams::read(&uri, &headers, &body);
    let kind = InboundType::parse(Some(params.get(&["type"])).filter(|t| !t.is_empty()).as_deref())?;
    let app = state
        .store
        .find_app_unscoped(&app_id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no app with id {app_id:?}")))?;
    tracing::Span::current().record("customer_id", app.customer_id.as_str());
    tracing::Span::current().record("app_id", app.id.as_str());

    let offset = state.config.display_offset;
    let dial_whom = params.get(&["DialWhomNumber"]);
    let app_user_id = if dial_whom.is_empty() {
        String::new()
    } else {
        state.store.find_user_mapping_by_device(&app.id, &dial_whom).await?.map(|m| m.app_user_id).unwrap_or_default()
    };
    let now = now_ms();
    let called = params.get(&["CallTo", "To"]);
    let duration = params.get(&["Legs[0][OnCallDuration]", "DialCallDuration"]);
    let payload = CallPayload {
        customer_id: app.customer_id.clone(),
        app_id: app.id.clone(),
        call_sid: params.get(&["CallSid"]),
        exotel_account_sid: app.exotel_account_sid.clone(),
        dial_whom_number: dial_whom,
        app_user_id,
        virtual_number: called.clone(),
        direction: "incoming".to_string(),
        call_status: params.get(&["Status"]),
        call_state: kind.call_state().to_string(),
        to_number: called,
        from_number: params.get(&["CallFrom", "From"]),
        total_duration: duration.parse().unwrap_or(0),
        call_recordings: params.get(&["RecordingUrl"]),
        account_domain: app.exotel_domain.clone(),
        ticket_id: String::new(),
        call_detail: Some(params.get(&["EventType"]).to_ascii_lowercase()),
        start_time: exotel_time(&params.get(&["StartTime"]), offset),
        end_time: exotel_time(&params.get(&["EndTime"]), offset),
        created_at: display(now, offset),
        updated_at: display(now, offset),
    };
    record_and_queue(&state, &app, &payload, kind.setting().as_str(), Some(kind.setting())).await?;
    Ok(Success("Success"))
}

/// `GET /call/{CallSid}`: the latest payload of one of the app's calls.
pub async fn get(
    State(state): State<AppState>,
    AppAuth(app): AppAuth,
    PathParam(call_sid): PathParam<String>,
) -> Result<Success<Value>> {
    let call = state
        .store
        .find_call(&app.id, &call_sid)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no call with CallSid {call_sid:?} in this app")))?;
    let payload: Value = serde_json::from_str(&call.payload).map_err(ApiError::internal)?;
    Ok(Success(payload))
}

#[derive(Deserialize)]
pub struct OutboundRequest {
    to: Option<Value>,
    user_id: Option<String>,
    app_id: Option<String>,
    customer_id: Option<String>,
}

/// The purpose the status-callback signature key is derived for.
const STATUS_CALLBACK_PURPOSE: &str = "status-callback";

fn status_callback_message(app_id: &str, call_ref: &str) -> String {
    format!("{app_id}:{call_ref}")
}

/// `POST /call/outbound_call`: the agent's SIP device is rung first, then the customer.
pub async fn outbound(
    State(state): State<AppState>,
    AppAuth(app): AppAuth,
    JsonBody(request): JsonBody<OutboundRequest>,
) -> Result<Success<CallPayload>> {
    let to = match request.to {
        Some(Value::Number(n)) => n.to_string(),
        Some(Value::String(s)) => s,
        _ => String::new(),
    };
    let to = PhoneNumber::required("to", Some(to))?.into_string();
    let user_id = non_empty("user_id", request.user_id, 128)?;
    // The SDK sends its own ids; they must be the token's (another tenant's look missing).
    if request.app_id.as_deref().is_some_and(|id| !id.is_empty() && id != app.id) {
        return Err(ApiError::not_found("app_id is not this token's app"));
    }
    if request.customer_id.as_deref().is_some_and(|id| !id.is_empty() && id != app.customer_id) {
        return Err(ApiError::not_found("customer_id is not this token's customer"));
    }
    let user = state
        .store
        .find_user_mapping(&app.id, &user_id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no user with AppUserId {user_id:?} in this app")))?;
    if !app.is_active {
        return Err(ApiError::bad_request("the app is not active: set IsActive true with PUT /app to place calls"));
    }
    if user.sip_id.is_empty() {
        return Err(ApiError::bad_request(format!("user {user_id:?} has no SIP id to call from")));
    }
    let record =
        state.store.find_setting(&app.id, SettingKey::Record.as_str()).await?.is_some_and(|s| s.value == "true");

    let call_ref = Uuid::new_v4().simple().to_string();
    let signature =
        state.config.master_key.sign_hex(STATUS_CALLBACK_PURPOSE, &status_callback_message(&app.id, &call_ref));
    let status_callback_url = format!(
        "{}/v2/integrations/call/status_callback/{}?ref={call_ref}&sig={signature}",
        state.config.public_base_url, app.id
    );
    let upstream = state.exotel.for_app(&app, &state.config.master_key)?;
    let call = NewCall {
        from: user.sip_id.clone(),
        to: to.clone(),
        virtual_number: user.virtual_number.clone(),
        record,
        custom_field: call_ref,
        status_callback_url,
    };
    let placed = upstream.place_call(&call).await.map_err(|e| e.into_api_error(None))?;

    let payload = outbound_payload(
        &app,
        &placed.call_sid,
        &user.app_user_id,
        &user.sip_id,
        &to,
        &user.virtual_number,
        state.config.display_offset,
        now_ms(),
    );
    // Only Exotel's events go to the callback URL; placing the call is recorded without one.
    record_and_queue(&state, &app, &payload, "placed", None).await?;
    tracing::info!(call_sid = %placed.call_sid, sandbox = upstream.is_sandbox(), "outbound call placed");
    if upstream.is_sandbox() {
        spawn_sandbox_lifecycle(state.clone(), app, placed.call_sid.clone(), to);
    }
    Ok(Success(payload))
}

#[derive(Deserialize)]
pub struct CallbackQuery {
    #[serde(rename = "ref")]
    call_ref: Option<String>,
    sig: Option<String>,
}

/// `POST /call/status_callback/{appId}`: Exotel's v3 (or v1) call events, on a signed URL.
pub async fn status_callback(
    State(state): State<AppState>,
    PathParam(app_id): PathParam<String>,
    QueryParams(query): QueryParams<CallbackQuery>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Success<&'static str>> {
    let (Some(call_ref), Some(sig)) = (query.call_ref, query.sig) else {
        return Err(ApiError::unauthorized("status callback URL is not signed: use the URL this server gave Exotel"));
    };
    let message = status_callback_message(&app_id, &call_ref);
    if !state.config.master_key.verify_hex(STATUS_CALLBACK_PURPOSE, &message, &sig) {
        return Err(ApiError::unauthorized("status callback signature is not valid"));
    }
    let app = state
        .store
        .find_app_unscoped(&app_id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no app with id {app_id:?}")))?;
    tracing::Span::current().record("customer_id", app.customer_id.as_str());
    tracing::Span::current().record("app_id", app.id.as_str());
    let event = parse_status_event(&headers, &body)?;
    record_status_event(&state, &app, event).await?;
    Ok(Success("Success"))
}

/// Reads Exotel's event: v3 JSON (`event_details`, `call_details`), v1 JSON, or v1 form fields.
fn parse_status_event(headers: &HeaderMap, body: &[u8]) -> Result<StatusEvent> {
    let is_json = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|v| v.contains("json"))
        || body.trim_ascii_start().starts_with(b"{");
    let json: Value = if is_json {
        super::extract::parse_json(body)?
    } else {
        let pairs: serde_json::Map<String, Value> =
            form_urlencoded::parse(body).into_owned().map(|(k, v)| (k, Value::String(v))).collect();
        Value::Object(pairs)
    };
    let text = |v: &Value| match v {
        Value::String(s) => Some(s.trim().to_string()).filter(|s| !s.is_empty()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    };
    let number = |v: &Value| v.as_i64().or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()));
    let event = if let Some(details) = json.get("call_details").filter(|d| d.is_object()) {
        // Voice v3: `legs` may be a URL or an array; it is not needed here.
        let recording = match details.get("recordings") {
            Some(Value::Array(items)) => items.first().and_then(|r| r.get("url")).and_then(text),
            Some(other) => text(other),
            None => None,
        };
        StatusEvent {
            call_sid: details.get("sid").and_then(text).unwrap_or_default(),
            event_type: json.pointer("/event_details/event_type").and_then(text).unwrap_or_default(),
            state: details.get("state").and_then(text),
            status: details.get("status").and_then(text),
            talk_seconds: details.get("total_talk_time").and_then(number),
            recording_url: recording,
            start_time: details.get("start_time").and_then(text),
            end_time: details.get("end_time").and_then(text),
        }
    } else {
        let event_type = json.get("EventType").and_then(text).unwrap_or_else(|| "terminal".to_string());
        StatusEvent {
            call_sid: json.get("CallSid").and_then(text).unwrap_or_default(),
            state: Some(if event_type.eq_ignore_ascii_case("terminal") { "terminal" } else { "active" }.to_string()),
            event_type,
            status: json.get("Status").and_then(text),
            talk_seconds: json.get("ConversationDuration").and_then(number),
            recording_url: json.get("RecordingUrl").and_then(text),
            start_time: json.get("StartTime").and_then(text),
            end_time: json.get("EndTime").and_then(text),
        }
    };
    if event.call_sid.is_empty() {
        return Err(ApiError::bad_request("the event names no call: call_details.sid (or CallSid) is required"));
    }
    Ok(event)
}
