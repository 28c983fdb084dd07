//! The call-events service: turning what happened to a call (an inbound passthru, an outbound call
//! placed, Exotel's status events, the sandbox's simulated ones) into the call's stored payload and
//! its queued webhook, in one transaction. A call event is stored under the contract's name
//! (CONTRACT 10): the passthru `type`, `outbound_call` for a call's creation, or Exotel's event.

use std::time::Duration;

use chrono::FixedOffset;
use tracing::Instrument;
use uuid::Uuid;

use crate::config::Config;
use crate::dispatch::Outbox;
use crate::domain::call::CallPayload;
use crate::domain::time::{display, now_ms, parse_exotel_time};
use crate::domain::SettingKey;
use crate::envelope::{ApiError, Result};
use crate::exotel::events::{InboundEvent, PassthruParams, StatusEvent};
use crate::exotel::{InboundStep, SandboxCallOutcome, SimulatedInboundCall};
use crate::store::{
    AppRow, CallEvent, EventDelivery, EventWrite, PassthruKeyRule, PassthruTarget, QueuedDelivery, Store,
};
use crate::telemetry;

/// The stored name of an outbound call's creation (CONTRACT 10); its later events are named by Exotel.
const OUTBOUND_CALL: &str = "outbound_call";

/// A passthru read and its app found, not yet recorded ([`CallEvents::find_passthru`]).
pub struct FoundPassthru {
    event: InboundEvent,
    target: PassthruTarget,
}

impl FoundPassthru {
    /// What a passthru to this app must carry.
    pub fn key_rule(&self) -> &PassthruKeyRule {
        &self.target.key_rule
    }
}

/// Records call events and queues their webhooks. Cheap to clone.
#[derive(Clone)]
pub struct CallEvents {
    store: Store,
    outbox: Outbox,
    /// How long a popup may wait for delivery: it is worthless once the phone stops ringing.
    popup_deadline: Duration,
    display_offset: FixedOffset,
    /// The pause between a sandbox call's simulated events.
    sandbox_call_step: Duration,
}

/// Where a call event's webhook goes: the setting it is for, and that setting's URL when the app has one.
#[derive(Debug, Clone)]
struct WebhookTarget {
    setting: SettingKey,
    url: Option<String>,
}

impl CallEvents {
    pub fn new(store: Store, outbox: Outbox, config: &Config) -> Self {
        Self {
            store,
            outbox,
            popup_deadline: config.popup_deadline,
            display_offset: config.display_offset,
            sandbox_call_step: config.sandbox_call_step,
        }
    }

    /// Looks the app's URL for `setting` up.
    async fn webhook_target(&self, app: &AppRow, setting: SettingKey) -> Result<WebhookTarget> {
        let url = self.store.find_setting(&app.id, setting.as_str()).await?.map(|s| s.value);
        Ok(WebhookTarget { setting, url })
    }

    /// One inbound passthru, Exotel's or the sandbox simulator's: [`CallEvents::find_passthru`]
    /// then [`CallEvents::record_passthru`]. Returns the call payload recorded.
    pub async fn passthru(&self, app_id: &str, params: &PassthruParams) -> Result<CallPayload> {
        let found = self.find_passthru(app_id, params).await?;
        self.record_passthru(found).await
    }

    /// The first half of a passthru: reads the parameters (400 on a bad `type` or `CallSid`), finds
    /// the app with its URL for the type, the agent dialled and its passthru key rule in one batched
    /// lookup (404 when there is no app), and names the app in the current span. Nothing is
    /// recorded: Exotel's passthru checks the key (`api/call.rs`) before it records.
    pub async fn find_passthru(&self, app_id: &str, params: &PassthruParams) -> Result<FoundPassthru> {
        let kind = InboundEvent::kind(params)?;
        let event = InboundEvent::read(kind, params)?;
        let target = self.passthru_target(app_id, &event).await?;
        // Before the event is recorded (or refused), so that its log lines carry the app.
        telemetry::record_app_in_span(&target.app.customer_id, &target.app.id);
        Ok(FoundPassthru { event, target })
    }

    /// The second half of a passthru: records the event (stored under its `type`) and queues its
    /// webhook to the app's URL for that type. Returns the call payload recorded.
    pub async fn record_passthru(&self, found: FoundPassthru) -> Result<CallPayload> {
        self.record_inbound(found.target, &found.event).await
    }

    /// What an inbound passthru needs: the app (404 when there is none), its URL for the event's
    /// type, the agent dialled and the app's passthru key rule.
    async fn passthru_target(&self, app_id: &str, event: &InboundEvent) -> Result<PassthruTarget> {
        self.store
            .find_passthru_target(app_id, event.kind.setting().as_str(), &event.dial_whom)
            .await?
            .ok_or_else(|| ApiError::not_found(format!("no app with id {app_id:?}")))
    }

    /// An inbound passthru: records the event and queues its webhook to the target's URL.
    async fn record_inbound(&self, target: PassthruTarget, event: &InboundEvent) -> Result<CallPayload> {
        let PassthruTarget { app, url, app_user_id, key_rule: _ } = target;
        let setting = event.kind.setting();
        let payload = inbound_payload(&app, event, app_user_id, self.display_offset, now_ms());
        let target = Some(WebhookTarget { setting, url });
        self.record_and_queue(&app, &payload, event.kind.as_str(), target).await?;
        Ok(payload)
    }

    /// Plays a sandbox inbound call through [`CallEvents::passthru`], as Exotel's flow would: its
    /// first popup now (its payload is the answer), the other steps in the background,
    /// `sandbox_call_step` apart. Those live in this process only: a restart loses the ones not yet
    /// played (the popup's webhook, queued with the event, is not lost).
    pub async fn simulate_inbound(&self, app: &AppRow, call: SimulatedInboundCall) -> Result<CallPayload> {
        let (first, rest) = call.steps().split_first().expect("a simulated call has steps");
        let payload = self.play_step(&app.id, &call, *first).await?;
        let span = tracing::info_span!(
            "sandbox_inbound_call",
            call_sid = %call.call_sid,
            customer_id = %app.customer_id,
            app_id = %app.id,
        );
        let (events, app_id, step_pause) = (self.clone(), app.id.clone(), self.sandbox_call_step);
        tokio::spawn(
            async move {
                for step in rest {
                    tokio::time::sleep(step_pause).await;
                    if let Err(error) = events.play_step(&app_id, &call, *step).await {
                        tracing::warn!(%error, call_sid = %call.call_sid, ?step, "sandbox inbound call stopped: a step could not be recorded");
                        return;
                    }
                }
            }
            .instrument(span),
        );
        Ok(payload)
    }

    /// One step of a simulated inbound call, sent through the passthru as Exotel would send it now.
    async fn play_step(&self, app_id: &str, call: &SimulatedInboundCall, step: InboundStep) -> Result<CallPayload> {
        let payload = self.passthru(app_id, &call.params(step, now_ms())).await?;
        tracing::info!(call_sid = %call.call_sid, ?step, kind = step.kind().as_str(), "sandbox inbound call step played");
        Ok(payload)
    }

    /// An outbound call Exotel accepted: recorded without a webhook (only Exotel's events go to the
    /// `callback` URL). On the sandbox, its simulated events then follow.
    pub async fn record_placed(&self, app: &AppRow, payload: &CallPayload, sandbox: bool) -> Result<()> {
        self.record_and_queue(app, payload, OUTBOUND_CALL, None).await?;
        if sandbox {
            self.spawn_sandbox_lifecycle(app.clone(), payload.call_sid.clone(), payload.to_number.clone());
        }
        Ok(())
    }

    /// Stores `payload` as the call's latest state and, when `target` has a URL, queues its webhook
    /// in the same transaction and hands it to the dispatcher.
    async fn record_and_queue(
        &self,
        app: &AppRow,
        payload: &CallPayload,
        event_type: &str,
        target: Option<WebhookTarget>,
    ) -> Result<()> {
        let now = now_ms();
        let body = serde_json::to_string(payload).map_err(ApiError::internal)?;
        let webhook = target.and_then(|WebhookTarget { setting, url }| url.map(|url| (setting, url)));
        let delivery = webhook.map(|(setting, url)| EventDelivery {
            id: format!("msg_{}", Uuid::new_v4().simple()),
            event_type: setting.as_str().to_string(),
            url,
            // A popup is worthless once the phone stops ringing.
            expires_at: (setting == SettingKey::Popup).then(|| now + self.popup_deadline.as_millis() as i64),
        });
        let event = CallEvent {
            id: Uuid::new_v4().to_string(),
            app_id: app.id.clone(),
            call_sid: payload.call_sid.clone(),
            event_type: event_type.to_string(),
            payload: body,
            at: now,
        };
        let lease_until = if delivery.is_some() { self.outbox.lease_for(&app.id, now) } else { 0 };
        let write = EventWrite { event, delivery, lease_until };
        match self.store.record_call_event(write).await? {
            Some(QueuedDelivery { row, leased }) => {
                tracing::info!(delivery_id = %row.message.id, call_sid = %payload.call_sid, event = event_type, leased, "call event recorded; webhook queued");
                self.outbox.queued(row, leased);
            }
            None => {
                tracing::info!(call_sid = %payload.call_sid, event = event_type, "call event recorded without a webhook");
            }
        }
        Ok(())
    }

    /// Applies an outbound call's status event to the stored call and queues it to the `callback` URL.
    pub async fn record_status_event(&self, app: &AppRow, event: StatusEvent) -> Result<()> {
        let offset = self.display_offset;
        let now = now_ms();
        let mut payload = match self.store.find_call(&app.id, &event.call_sid).await? {
            Some(call) => serde_json::from_str::<CallPayload>(&call.payload).map_err(ApiError::internal)?,
            None => outbound_payload(app, &event.call_sid, "", "", "", "", offset, now),
        };
        let event_type = event.event_type.to_ascii_lowercase();
        let terminal =
            event.state.as_deref().map(|s| s.eq_ignore_ascii_case("terminal")).unwrap_or(event_type == "terminal");
        payload.call_state = if terminal { "terminal" } else { "active" }.to_string();
        payload.call_status =
            if terminal { event.status.unwrap_or_default().to_ascii_lowercase() } else { String::new() };
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
        let target = self.webhook_target(app, SettingKey::Callback).await?;
        self.record_and_queue(app, &payload, &event_type, Some(target)).await
    }

    /// Plays a sandbox call through the real dispatcher: `answered`, then `terminal` a few seconds later.
    fn spawn_sandbox_lifecycle(&self, app: AppRow, call_sid: String, to: String) {
        let step = self.sandbox_call_step;
        let events = self.clone();
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
                if let Err(error) = events.record_status_event(&app, event).await {
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
            if let Err(error) = events.record_status_event(&app, event).await {
                tracing::warn!(%error, %call_sid, "sandbox call could not record its terminal event");
            }
        });
    }
}

/// The payload of an inbound call event.
fn inbound_payload(
    app: &AppRow,
    event: &InboundEvent,
    app_user_id: String,
    offset: FixedOffset,
    now: i64,
) -> CallPayload {
    let time = |text: &str| parse_exotel_time(text).map(|t| display(t.timestamp_millis(), offset)).unwrap_or_default();
    CallPayload {
        customer_id: app.customer_id.clone(),
        app_id: app.id.clone(),
        call_sid: event.call_sid.clone(),
        exotel_account_sid: app.exotel_account_sid.clone(),
        dial_whom_number: event.dial_whom.clone(),
        app_user_id,
        virtual_number: event.called.clone(),
        direction: "incoming".to_string(),
        call_status: event.status.clone(),
        call_state: event.kind.call_state().to_string(),
        to_number: event.called.clone(),
        from_number: event.caller.clone(),
        total_duration: event.talk_seconds,
        call_recordings: event.recording_url.clone(),
        account_domain: app.exotel_domain.as_str().to_string(),
        ticket_id: String::new(),
        call_detail: Some(event.event_type.clone()),
        start_time: time(&event.start_time),
        end_time: time(&event.end_time),
        created_at: display(now, offset),
        updated_at: display(now, offset),
    }
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
    offset: FixedOffset,
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
