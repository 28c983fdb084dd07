//! Call events: turning what happened to a call into its stored payload and its queued webhook.

use std::time::Duration;

use uuid::Uuid;

use crate::domain::call::{CallPayload, DeliveryStatus};
use crate::domain::time::{display, now_ms, parse_exotel_time};
use crate::domain::SettingKey;
use crate::envelope::{ApiError, Result};
use crate::exotel::SandboxCallOutcome;
use crate::state::AppState;
use crate::store::{AppRow, CallEvent, DeliveryRow, EventDelivery, EventWrite};

/// Where a call event's webhook goes: the setting it is for, and that setting's URL when the app has one.
#[derive(Debug, Clone)]
pub struct WebhookTarget {
    pub setting: SettingKey,
    pub url: Option<String>,
}

impl WebhookTarget {
    /// Looks the app's URL for `setting` up.
    pub async fn of(state: &AppState, app: &AppRow, setting: SettingKey) -> Result<Self> {
        let url = state.store.find_setting(&app.id, setting.as_str()).await?.map(|s| s.value);
        Ok(Self { setting, url })
    }
}

/// Stores `payload` as the call's latest state and, when `target` has a URL, queues its webhook
/// in the same transaction and hands it to the dispatcher. Returns the delivery id when one was queued.
pub async fn record_and_queue(
    state: &AppState,
    app: &AppRow,
    payload: &CallPayload,
    event_type: &str,
    target: Option<WebhookTarget>,
) -> Result<Option<String>> {
    let now = now_ms();
    let body = serde_json::to_string(payload).map_err(ApiError::internal)?;
    let webhook = target.and_then(|WebhookTarget { setting, url }| url.map(|url| (setting, url)));
    let delivery = webhook.map(|(setting, url)| EventDelivery {
        id: format!("msg_{}", Uuid::new_v4().simple()),
        event_type: setting.as_str().to_string(),
        url,
        // A popup is worthless once the phone stops ringing.
        expires_at: (setting == SettingKey::Popup).then(|| now + state.config.popup_deadline.as_millis() as i64),
    });
    let event = CallEvent {
        id: Uuid::new_v4().to_string(),
        app_id: app.id.clone(),
        call_sid: payload.call_sid.clone(),
        event_type: event_type.to_string(),
        payload: body,
        at: now,
    };
    let lease_until = if delivery.is_some() { state.outbox.lease_for(&app.id, now) } else { 0 };
    let write = EventWrite { event, delivery, lease_until };
    let queued = write.delivery.as_ref().map(|d| queued_delivery(&write.event, d));
    let leased = state.store.record_call_event(write).await?;
    match queued {
        Some(delivery) => {
            let id = delivery.id.clone();
            tracing::info!(delivery_id = %id, call_sid = %payload.call_sid, event = event_type, leased, "call event recorded; webhook queued");
            state.outbox.queued(delivery, leased);
            Ok(Some(id))
        }
        None => {
            tracing::info!(call_sid = %payload.call_sid, event = event_type, "call event recorded without a webhook");
            Ok(None)
        }
    }
}

/// The delivery as the dispatcher sees it, just stored: pending, never attempted.
fn queued_delivery(event: &CallEvent, delivery: &EventDelivery) -> DeliveryRow {
    DeliveryRow {
        seq: 0,
        id: delivery.id.clone(),
        app_id: event.app_id.clone(),
        event_type: delivery.event_type.clone(),
        url: delivery.url.clone(),
        call_sid: event.call_sid.clone(),
        payload: event.payload.clone(),
        status: DeliveryStatus::Pending.as_str().to_string(),
        attempts: 0,
        next_attempt_at: event.at,
        expires_at: delivery.expires_at,
        last_response_code: None,
        last_error: String::new(),
        created_at: event.at,
        delivered_at: None,
    }
}

/// What Exotel reported about an outbound call.
#[derive(Debug, Clone, Default)]
pub struct StatusEvent {
    pub call_sid: String,
    /// `answered`, `terminal`, or whatever else Exotel sends (recording events…).
    pub event_type: String,
    /// `active` or `terminal`, when Exotel said.
    pub state: Option<String>,
    /// The final status (`completed`, `to_leg_unanswered`, …), when Exotel said.
    pub status: Option<String>,
    pub talk_seconds: Option<i64>,
    pub recording_url: Option<String>,
    pub start_time: Option<String>,
    pub end_time: Option<String>,
}

/// Applies an outbound call's status event to the stored call and queues it to the `callback` URL.
pub async fn record_status_event(state: &AppState, app: &AppRow, event: StatusEvent) -> Result<()> {
    let offset = state.config.display_offset;
    let now = now_ms();
    let mut payload = match state.store.find_call(&app.id, &event.call_sid).await? {
        Some(call) => serde_json::from_str::<CallPayload>(&call.payload).map_err(ApiError::internal)?,
        None => outbound_payload(app, &event.call_sid, "", "", "", "", offset, now),
    };
    let event_type = event.event_type.to_ascii_lowercase();
    let terminal =
        event.state.as_deref().map(|s| s.eq_ignore_ascii_case("terminal")).unwrap_or(event_type == "terminal");
    payload.call_state = if terminal { "terminal" } else { "active" }.to_string();
    payload.call_status = if terminal { event.status.unwrap_or_default().to_ascii_lowercase() } else { String::new() };
    payload.call_detail = Some(event_type.clone());
    if let Some(seconds) = event.talk_seconds {
        payload.total_duration = seconds;
    }
    if let Some(url) = event.recording_url.filter(|u| !u.is_empty()) {
        payload.call_recordings = url;
    }
    let time = |text: Option<String>| {
        text.as_deref().and_then(parse_exotel_time).map(|t| display(t.timestamp_millis(), offset))
    };
    if let Some(start) = time(event.start_time) {
        payload.start_time = start;
    }
    if let Some(end) = time(event.end_time) {
        payload.end_time = end;
    }
    payload.updated_at = display(now, offset);
    let target = WebhookTarget::of(state, app, SettingKey::Callback).await?;
    record_and_queue(state, app, &payload, &event_type, Some(target)).await?;
    Ok(())
}

/// The payload of an outbound call as first placed.
#[allow(clippy::too_many_arguments)]
pub fn outbound_payload(
    app: &AppRow,
    call_sid: &str,
    app_user_id: &str,
    sip_id: &str,
    to: &str,
    virtual_number: &str,
    offset: chrono::FixedOffset,
    now: i64,
) -> CallPayload {
    CallPayload {
        customer_id: app.customer_id.clone(),
        app_id: app.id.clone(),
        call_sid: call_sid.to_string(),
        exotel_account_sid: app.exotel_account_sid.clone(),
        dial_whom_number: to.to_string(),
        app_user_id: app_user_id.to_string(),
        virtual_number: virtual_number.to_string(),
        direction: "outbound".to_string(),
        call_status: String::new(),
        call_state: "active".to_string(),
        to_number: to.to_string(),
        from_number: sip_id.to_string(),
        total_duration: 0,
        call_recordings: String::new(),
        account_domain: app.exotel_domain.as_str().to_string(),
        ticket_id: String::new(),
        call_detail: None,
        start_time: String::new(),
        end_time: String::new(),
        created_at: display(now, offset),
        updated_at: display(now, offset),
    }
}

/// Plays a sandbox call through the real dispatcher: `answered`, then `terminal` a few seconds later.
pub fn spawn_sandbox_lifecycle(state: AppState, app: AppRow, call_sid: String, to: String) {
    let step = state.config.sandbox_call_step;
    tokio::spawn(async move {
        let outcome = SandboxCallOutcome::for_number(&to);
        let started = now_ms();
        let answered = outcome == SandboxCallOutcome::Completed;
        if answered {
            tokio::time::sleep(step).await;
            let event = StatusEvent {
                call_sid: call_sid.clone(),
                event_type: "answered".into(),
                state: Some("active".into()),
                ..StatusEvent::default()
            };
            if let Err(error) = record_status_event(&state, &app, event).await {
                tracing::warn!(%error, %call_sid, "sandbox call could not record its answered event");
                return;
            }
        }
        tokio::time::sleep(step + if answered { step } else { Duration::ZERO }).await;
        let talk = if answered { ((now_ms() - started) / 1000).max(1) } else { 0 };
        let event = StatusEvent {
            call_sid: call_sid.clone(),
            event_type: "terminal".into(),
            state: Some("terminal".into()),
            status: Some(outcome.status().into()),
            talk_seconds: Some(talk),
            ..StatusEvent::default()
        };
        if let Err(error) = record_status_event(&state, &app, event).await {
            tracing::warn!(%error, %call_sid, "sandbox call could not record its terminal event");
        }
    });
}
