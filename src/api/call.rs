//! `/call`: Exotel's inbound passthru, and reading a call back.

use axum::extract::State;
use axum::http::{header, HeaderMap, Uri};
use serde::Deserialize;
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::auth::{record_app_in_span, AppAuth};
use super::extract::{form_pairs, PathParam, RawBody, FORM_FIELD, QUERY_PARAMETER};
use super::openapi::examples;
use super::openapi::schemas::{envelopes, ErrorEnvelope, StringEnvelope};
use super::passthru;
use super::usermapping::find_user;
use super::{JsonBody, QueryParams, BASE_PATH};
use crate::domain::call::{CallPayload, InboundType};
use crate::domain::time::now_ms;
use crate::domain::{non_empty, PhoneNumber, SettingKey};
use crate::envelope::{within_storage_bound, ApiError, Result, Success};
use crate::exotel::events::{status_callback_signed, status_callback_url, PassthruParams, StatusEvent};
use crate::exotel::{ExotelApi, NewCall};
use crate::services::call_events::outbound_payload;
use crate::state::AppState;

/// Exotel's passthru parameters: the query's pairs and, on a form `POST`, the body's (later wins);
/// and, apart, the app's passthru key (`key`, the last non-empty one), so that it reaches nothing
/// but the check.
fn passthru_params(uri: &Uri, headers: &HeaderMap, body: &[u8]) -> Result<(PassthruParams, Option<String>)> {
    let mut pairs = form_pairs(uri.query().unwrap_or_default().as_bytes(), QUERY_PARAMETER)?;
    let is_form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if is_form || (!body.is_empty() && !body.starts_with(b"{")) {
        pairs.extend(form_pairs(body, FORM_FIELD)?);
    }
    let (keys, pairs): (Vec<_>, Vec<_>) =
        pairs.into_iter().partition(|(name, _)| name.eq_ignore_ascii_case(passthru::KEY_PARAMETER));
    let key = keys.into_iter().map(|(_, value)| value).rfind(|value| !value.is_empty());
    Ok((PassthruParams::new(pairs), key))
}

/// Exotel's passthru parameters as documented: a query string on `GET`, a query string and/or a form
/// body on `POST`. Any of them may be missing except `type`. Documentation only: the handler reads
/// them through [`PassthruParams`] (names case-insensitive, the last non-empty value wins).
#[derive(IntoParams, ToSchema)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct InboundParams {
    /// Which event this is, and so which app setting's URL receives it: `popup` → `popup`,
    /// `incomingcallhungup` → `incomingCallHangup`, `missedcall` → `missedCall` (any case).
    #[serde(rename = "type")]
    #[param(value_type = InboundType, required = true)]
    #[schema(value_type = InboundType)]
    kind: String,
    /// Exotel's call SID.
    #[serde(rename = "CallSid")]
    call_sid: Option<String>,
    /// The caller (`FromNumber`).
    #[serde(rename = "From")]
    from: Option<String>,
    /// The caller; preferred over `From`.
    #[serde(rename = "CallFrom")]
    call_from: Option<String>,
    /// The number called (`ToNumber` and `VirtualNumber`).
    #[serde(rename = "To")]
    to: Option<String>,
    /// The number called; preferred over `To`.
    #[serde(rename = "CallTo")]
    call_to: Option<String>,
    /// The agent's number or SIP id Exotel dialled: matched against the users' `SipId` and `AgentNumber`
    /// (phone numbers on their last 10 digits) to fill `AppUserID`.
    #[serde(rename = "DialWhomNumber")]
    dial_whom_number: Option<String>,
    #[serde(rename = "Direction")]
    direction: Option<String>,
    /// `busy` or `free`: becomes `CallStatus`.
    #[serde(rename = "Status")]
    status: Option<String>,
    #[serde(rename = "CallStatus")]
    call_status: Option<String>,
    #[serde(rename = "CallType")]
    call_type: Option<String>,
    /// Becomes `CallDetail`, lower-cased.
    #[serde(rename = "EventType")]
    event_type: Option<String>,
    #[serde(rename = "Created")]
    created: Option<String>,
    /// Local India time without an offset (`2024-05-01 10:00:00`); `1970-01-01 05:30:00` means unknown.
    #[serde(rename = "StartTime")]
    start_time: Option<String>,
    /// Local India time without an offset; `1970-01-01 05:30:00` means unknown.
    #[serde(rename = "EndTime")]
    end_time: Option<String>,
    #[serde(rename = "CurrentTime")]
    current_time: Option<String>,
    /// Talk seconds, when `Legs[0][OnCallDuration]` is absent.
    #[serde(rename = "DialCallDuration")]
    dial_call_duration: Option<String>,
    /// Becomes `CallRecordings`.
    #[serde(rename = "RecordingUrl")]
    recording_url: Option<String>,
    /// Talk seconds of the first leg: becomes `TotalDuration`.
    #[serde(rename = "Legs[0][OnCallDuration]")]
    legs_0_on_call_duration: Option<String>,
    /// The app's passthru key, as the URLs of `GET /app/passthru` carry it: required once the app
    /// asked for it (`PUT /app/passthru`), ignored otherwise. It reaches no payload, event or log.
    #[serde(rename = "key")]
    key: Option<String>,
}

/// `GET|POST /call/inbound_call/{appId}?type=…`: called by an Exotel flow, without a token.
#[utoipa::path(
    method(get, post),
    summary = "Inbound call passthru",
    description = "Called by an Exotel flow (the Connect applet's \"Create popup\" URL, or a Passthru applet), without \
        an Authorization header. Records the call event and queues one webhook (a `CallPayload`) to the app's setting \
        for the `type`, then answers at once, never waiting on the webhook. With no URL configured it still answers 200 \
        and queues nothing. `POST` accepts the same parameters as query or form body. An app that requires its passthru \
        key (`PUT /app/passthru`) refuses, with a 401 that records nothing, a passthru without its `key`.",
    path = "/call/inbound_call/{app_id}",
    operation_id = "inbound_call",
    tag = "call",
    params(
        ("app_id" = String, Path, description = "The app's `AppID`."),
        InboundParams,
    ),
    request_body(
        content = Option<InboundParams>,
        content_type = "application/x-www-form-urlencoded",
        description = "`POST` only: the same parameters as a form body (they add to the query's; the last non-empty value wins)."
    ),
    responses(
        (status = 200, description = "Recorded (and queued): `Data` is `Success`.", body = StringEnvelope,
            example = json!(examples::inbound_response())),
        (status = 400, description = "`type` missing or not one of popup, incomingcallhungup, missedcall; a parameter, the path or a form field not valid UTF-8 or holding a NUL byte; or a `CallSid` longer than 128 bytes.", body = ErrorEnvelope),
        (status = 401, description = "The app requires its passthru key and the request's `key` is missing or not the app's current one: nothing was recorded.", body = ErrorEnvelope),
        (status = 404, description = "No app with that id.", body = ErrorEnvelope),
    )
)]
pub async fn inbound(
    State(state): State<AppState>,
    PathParam(app_id): PathParam<String>,
    uri: Uri,
    headers: HeaderMap,
    RawBody(body): RawBody,
) -> Result<Success<&'static str>> {
    let (params, key) = passthru_params(&uri, &headers, &body)?;
    let passthru = async {
        let found = state.call_events.find_passthru(&app_id, &params).await?;
        passthru::check_key(found.key_rule(), key.as_deref())?;
        state.call_events.record_passthru(found).await
    };
    within_storage_bound(state.config.database_acquire_timeout, passthru).await?;
    Ok(Success("Success"))
}

envelopes! {
    /// A success envelope whose `Data` is a call payload.
    CallPayloadEnvelope => CallPayload;
}

/// `GET /call/{CallSid}`: the latest payload of one of the app's calls.
#[utoipa::path(
    get,
    summary = "Get a call",
    description = "The latest call payload recorded for one of the app's calls (an addition to the seed).",
    path = "/call/{call_sid}",
    operation_id = "get_call",
    tag = "call",
    security(("app_token" = [])),
    params(("call_sid" = String, Path, description = "Exotel's `CallSid`.")),
    responses(
        (status = 200, description = "The latest call payload.", body = CallPayloadEnvelope, example = json!(examples::call_response())),
        (status = 404, description = "No call with that `CallSid` in this app.", body = ErrorEnvelope),
    )
)]
pub async fn get(
    State(state): State<AppState>,
    AppAuth(app): AppAuth,
    PathParam(call_sid): PathParam<String>,
) -> Result<Success<CallPayload>> {
    let call = state
        .store
        .find_call(&app.id, &call_sid)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no call with CallSid {call_sid:?} in this app")))?;
    // Read back into the typed payload (not a map, which would sort the keys): the answer has the
    // contract's key order, like the webhook body and the outbound answer.
    let payload: CallPayload = serde_json::from_str(&call.payload).map_err(ApiError::internal)?;
    Ok(Success(payload))
}

/// `POST /call/outbound_call`, snake_case as the SDK sends it.
#[derive(Deserialize, ToSchema)]
pub struct OutboundRequest {
    /// The customer's phone number to call, as text: a JSON number is refused (it would lose a leading zero).
    #[schema(value_type = String, required = true)]
    to: Option<String>,
    /// The agent's `AppUserId`: the call rings the agent's SIP device first.
    #[schema(value_type = String, required = true, min_length = 1, max_length = 128)]
    user_id: Option<String>,
    /// When present (and not empty), must be the token's app.
    app_id: Option<String>,
    /// When present (and not empty), must be the token's customer.
    customer_id: Option<String>,
}

/// `POST /call/outbound_call`: the agent's SIP device is rung first, then the customer.
#[utoipa::path(
    post,
    summary = "Place an outbound call",
    description = "Places the call through Exotel Voice v3: from the user's `SipId` to `to`, on the user's \
        `VirtualNumber`, recorded per the `record` setting, with status callbacks to this server. Exotel's events are \
        then delivered to the app's `callback` URL as call payloads (an answered, then a terminal event).",
    path = "/call/outbound_call",
    operation_id = "outbound_call",
    tag = "call",
    security(("app_token" = [])),
    request_body(content = OutboundRequest, example = json!(examples::outbound_request())),
    responses(
        (status = 200, description = "The call payload: `Direction` `outbound`, `CallState` `active`, `CallStatus` `\"\"`, `CallDetail` null.",
            body = CallPayloadEnvelope),
        (status = 400, description = "Malformed JSON, `to` or `user_id` missing or invalid, the user has no SIP id, or the app is not active.", body = ErrorEnvelope),
        (status = 404, description = "No user with that `user_id` in this app, or `app_id`/`customer_id` not the token's.", body = ErrorEnvelope),
        (status = "4XX", description = "Exotel refused the call: Exotel's own 4xx status, `Error` its error JSON as text.", body = ErrorEnvelope),
        (status = 502, description = "Exotel is unreachable or answered 5xx.", body = ErrorEnvelope),
    )
)]
pub async fn outbound(
    State(state): State<AppState>,
    AppAuth(app): AppAuth,
    JsonBody(request): JsonBody<OutboundRequest>,
) -> Result<Success<CallPayload>> {
    let to = PhoneNumber::required("to", request.to)?.into_string();
    let user_id = non_empty("user_id", request.user_id, 128)?;
    // The SDK sends its own ids; they must be the token's (another tenant's look missing).
    if request.app_id.as_deref().is_some_and(|id| !id.is_empty() && id != app.id) {
        return Err(ApiError::not_found("app_id is not this token's app"));
    }
    if request.customer_id.as_deref().is_some_and(|id| !id.is_empty() && id != app.customer_id) {
        return Err(ApiError::not_found("customer_id is not this token's customer"));
    }
    let user = find_user(&state.store, &app, &user_id).await?;
    if !app.is_active {
        return Err(ApiError::bad_request("the app is not active: set IsActive true with PUT /app to place calls"));
    }
    if user.sip_id.is_empty() {
        return Err(ApiError::bad_request(format!("user {user_id:?} has no SIP id to call from")));
    }
    let record =
        state.store.find_setting(&app.id, SettingKey::Record.as_str()).await?.is_some_and(|s| s.value == "true");

    let call_ref = Uuid::new_v4().simple().to_string();
    // This server's own status-callback route, as Exotel reaches it.
    let endpoint = format!("{}{BASE_PATH}/call/status_callback", state.config.public_base_url);
    let status_callback_url = status_callback_url(&state.config.keyring, &endpoint, &app.id, &call_ref);
    let upstream = state.exotel.for_app(&app, &state.config.keyring)?;
    let call = NewCall {
        from: user.sip_id.clone(),
        to: to.clone(),
        virtual_number: user.virtual_number.clone(),
        record,
        custom_field: call_ref,
        status_callback_url,
    };
    let placed = upstream.place_call(&call).await?;

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
    state.call_events.record_placed(&app, &payload, upstream.is_sandbox()).await?;
    tracing::info!(call_sid = %placed.call_sid, sandbox = upstream.is_sandbox(), "outbound call placed");
    Ok(Success(payload))
}

/// The signature of a status-callback URL, as this server handed it to Exotel.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CallbackQuery {
    /// The call's reference.
    #[serde(rename = "ref")]
    #[param(value_type = String, required = true)]
    call_ref: Option<String>,
    /// HMAC of the app and the call reference under the server's key (hex).
    #[param(value_type = String, required = true)]
    sig: Option<String>,
}

/// `POST /call/status_callback/{appId}`: Exotel's v3 (or v1) call events, on a signed URL.
#[utoipa::path(
    post,
    summary = "Call status callback",
    description = "Called by Exotel on the signed URL this server gave it when placing an outbound call (an addition \
        to the seed; no Authorization header: the `ref` and `sig` query parameters prove the URL). Updates the call \
        record and queues the translated call payload to the app's `callback` URL.",
    path = "/call/status_callback/{app_id}",
    operation_id = "call_status_callback",
    tag = "call",
    params(
        ("app_id" = String, Path, description = "The app's `AppID`."),
        CallbackQuery,
    ),
    request_body(
        description = "Exotel's event: Voice v3 JSON (`event_details`, `call_details`), v1 JSON, or v1 form fields \
            (`CallSid`, `EventType`, `Status`, `ConversationDuration`, `RecordingUrl`, `StartTime`, `EndTime`).",
        content(
            (Object = "application/json", example = json!(examples::callback_event())),
            (Object = "application/x-www-form-urlencoded"),
        )
    ),
    responses(
        (status = 200, description = "Recorded (and queued): `Data` is `Success`.", body = StringEnvelope,
            example = json!(examples::callback_response())),
        (status = 400, description = "Malformed JSON, or the event names no call (`call_details.sid` or `CallSid`) or one longer than 128 bytes; or text (path, field) not valid UTF-8 or holding a NUL byte.", body = ErrorEnvelope),
        (status = 401, description = "`ref` or `sig` missing, or the signature is not valid.", body = ErrorEnvelope),
        (status = 404, description = "No app with that id.", body = ErrorEnvelope),
    )
)]
pub async fn status_callback(
    State(state): State<AppState>,
    PathParam(app_id): PathParam<String>,
    QueryParams(query): QueryParams<CallbackQuery>,
    headers: HeaderMap,
    RawBody(body): RawBody,
) -> Result<Success<&'static str>> {
    let (Some(call_ref), Some(sig)) = (query.call_ref, query.sig) else {
        return Err(ApiError::unauthorized("status callback URL is not signed: use the URL this server gave Exotel"));
    };
    if !status_callback_signed(&state.config.keyring, &app_id, &call_ref, &sig) {
        return Err(ApiError::unauthorized("status callback signature is not valid"));
    }
    within_storage_bound(state.config.database_acquire_timeout, async {
        let app = state
            .store
            .find_app_unscoped(&app_id)
            .await?
            .ok_or_else(|| ApiError::not_found(format!("no app with id {app_id:?}")))?;
        record_app_in_span(&app);
        let event = StatusEvent::read(&status_event_fields(&headers, &body)?)?;
        state.call_events.record_status_event(&app, event).await
    })
    .await?;
    Ok(Success("Success"))
}

/// Exotel's event as JSON: its JSON body, or its form fields as strings.
fn status_event_fields(headers: &HeaderMap, body: &[u8]) -> Result<Value> {
    let is_json = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|v| v.contains("json"))
        || body.trim_ascii_start().starts_with(b"{");
    if is_json {
        return super::extract::parse_json(body);
    }
    let fields = form_pairs(body, FORM_FIELD)?.into_iter().map(|(k, v)| (k, Value::String(v))).collect();
    Ok(Value::Object(fields))
}
