//! `/call`: Exotel's inbound passthru, and reading a call back.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, Uri};
use serde_json::Value;
use uuid::Uuid;

use super::extract::PathParam;
use crate::app::AppState;
use crate::auth::AppAuth;
use crate::domain::call::{CallPayload, InboundType};
use crate::domain::time::{display, now_ms, parse_exotel_time};
use crate::envelope::{ApiError, Result, Success};
use crate::store::{CallEvent, NewDelivery};

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
    let body = serde_json::to_string(&payload).map_err(ApiError::internal)?;

    let setting = kind.setting();
    let url = state.store.find_setting(&app.id, setting.as_str()).await?.map(|s| s.value);
    let delivery = url.map(|url| NewDelivery {
        id: format!("msg_{}", Uuid::new_v4().simple()),
        app_id: app.id.clone(),
        event_type: setting.as_str().to_string(),
        url,
        call_sid: payload.call_sid.clone(),
        payload: body.clone(),
        expires_at: (setting == crate::domain::SettingKey::Popup)
            .then(|| now + state.config.popup_deadline.as_millis() as i64),
        now,
    });
    let event_id = Uuid::new_v4().to_string();
    let event = CallEvent {
        id: &event_id,
        app_id: &app.id,
        call_sid: &payload.call_sid,
        event_type: setting.as_str(),
        payload: &body,
        at: now,
    };
    state.store.record_call_event(&event, delivery.as_ref()).await?;
    if let Some(delivery) = &delivery {
        tracing::info!(delivery_id = %delivery.id, event = setting.as_str(), "passthru recorded; webhook queued");
        state.wakeup.wake();
    } else {
        tracing::info!(event = setting.as_str(), "passthru recorded; no URL is set for it");
    }
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
