//! Testing a webhook URL (`POST /app_setting/test`): one signed sample call payload sent now through
//! the dispatcher's sender, answered with how the attempt went, and kept in the delivery log as a
//! finished `test` delivery that no claim ever takes and nothing retries.

use std::time::Duration;

use chrono::FixedOffset;
use uuid::Uuid;

use crate::config::Config;
use crate::crypto::Keyring;
use crate::dispatch::schedule::AttemptResult;
use crate::dispatch::secrets::SigningKeys;
use crate::dispatch::sender::{Outgoing, Sender};
use crate::domain::call::{CallPayload, DeliveryStatus, TEST_EVENT_TYPE};
use crate::domain::time::{display, now_ms};
use crate::domain::SettingKey;
use crate::envelope::{ApiError, Result};
use crate::store::{AppRow, AttemptRecord, Store, WebhookMessage};

/// The sample call's numbers: a caller, the app's virtual number, the agent dialled.
const SAMPLE_CALLER: &str = "09876543210";
const SAMPLE_VIRTUAL_NUMBER: &str = "08047112233";
const SAMPLE_AGENT: &str = "09123456780";
/// How long the sample call talked (answered types only).
const SAMPLE_TALK_SECONDS: i64 = 42;

/// Sends sample webhooks. Cheap to clone.
#[derive(Clone)]
pub struct WebhookTester {
    store: Store,
    key: Keyring,
    /// Built as the dispatcher builds its own: the same timeout and SSRF guard.
    sender: Sender,
    display_offset: FixedOffset,
}

/// How the one attempt of a test went.
#[derive(Debug, Clone)]
pub struct TestOutcome {
    pub delivery_id: String,
    pub url: String,
    pub response_code: Option<i64>,
    pub duration_ms: i64,
    pub error: String,
    pub response_body: String,
}

impl WebhookTester {
    pub fn new(store: Store, config: &Config) -> Self {
        Self {
            store,
            key: config.keyring.clone(),
            sender: Sender::new(config.webhook_timeout, config.webhook_allow_private),
            display_offset: config.display_offset,
        }
    }

    /// Sends a sample payload for `setting` (one of the webhook keys) to the app's URL for it, once,
    /// and logs it as a finished `test` delivery. 404 when the app has no URL for `setting`.
    ///
    /// The attempt and its record run in a task of their own: a client that hangs up while the
    /// receiver answers does not leave a sent webhook out of the log.
    pub async fn send_sample(&self, app: &AppRow, setting: SettingKey) -> Result<TestOutcome> {
        let url = self
            .store
            .find_setting(&app.id, setting.as_str())
            .await?
            .map(|row| row.value)
            .ok_or_else(|| ApiError::not_found(format!("setting {} is not set for this app", setting.as_str())))?;
        // Signed as the dispatcher signs: the new secret, and the replaced one during its grace.
        let stored =
            self.store.app_signing_secrets(&app.id).await?.ok_or_else(|| ApiError::not_found("app not found"))?;
        let keys = SigningKeys::open(&self.key, &app.id, &stored, now_ms()).map_err(|error| {
            tracing::error!(app_id = %app.id, %error, "the app's secrets (apps.secret) do not open; cannot sign");
            ApiError::from(error)
        })?;
        let payload = sample_payload(app, setting, self.display_offset, now_ms());
        let sent = WebhookMessage {
            id: format!("msg_{}", Uuid::new_v4().simple()),
            app_id: app.id.clone(),
            event_type: TEST_EVENT_TYPE.to_string(),
            url,
            call_sid: payload.call_sid.clone(),
            payload: serde_json::to_string(&payload).map_err(ApiError::internal)?,
        };
        let this = self.clone();
        tokio::spawn(async move { this.attempt(sent, keys).await }).await.map_err(ApiError::internal)?
    }

    async fn attempt(&self, sent: WebhookMessage, keys: SigningKeys) -> Result<TestOutcome> {
        let outgoing = Outgoing::new(&sent, &keys);
        let attempted_at = now_ms();
        let attempt = self.sender.send(&outgoing).await;
        let now = now_ms();
        let status =
            if attempt.result == AttemptResult::Delivered { DeliveryStatus::Delivered } else { DeliveryStatus::Dead };
        let record = AttemptRecord {
            status,
            response_code: attempt.response_code,
            error: attempt.error,
            next_attempt_at: now,
            now,
            attempted_at,
            duration_ms: attempt.duration_ms,
            response_body: attempt.response_body,
        };
        self.store.record_sent_delivery(&sent, &record).await?;
        tracing::info!(
            app_id = %sent.app_id, delivery_id = %sent.id, status = status.as_str(), code = record.response_code,
            "test webhook sent"
        );
        Ok(TestOutcome {
            delivery_id: sent.id,
            url: sent.url,
            response_code: record.response_code,
            duration_ms: record.duration_ms,
            error: record.error,
            response_body: record.response_body,
        })
    }
}

/// A call payload as the app's URL for `setting` would receive it, for a made-up call whose
/// `CallSid` starts with `test` (32 characters, as Exotel's): a ringing inbound call for `popup`,
/// one answered then hung up for `incomingCallHangup`, one nobody answered for `missedCall`, and an
/// outbound call that ended for `callback`.
fn sample_payload(app: &AppRow, setting: SettingKey, offset: FixedOffset, now: i64) -> CallPayload {
    let call_sid = format!("test{}", &Uuid::new_v4().simple().to_string()[..28]);
    let at = |before: Duration| display(now - before.as_millis() as i64, offset);
    let recording = format!("https://recordings.exotel.com/exotelrecordings/{}/{call_sid}.mp3", app.exotel_account_sid);
    let mut payload = CallPayload {
        customer_id: app.customer_id.clone(),
        app_id: app.id.clone(),
        call_sid,
        exotel_account_sid: app.exotel_account_sid.clone(),
        dial_whom_number: SAMPLE_AGENT.to_string(),
        app_user_id: String::new(),
        virtual_number: SAMPLE_VIRTUAL_NUMBER.to_string(),
        direction: "incoming".to_string(),
        call_status: "busy".to_string(),
        call_state: "active".to_string(),
        to_number: SAMPLE_VIRTUAL_NUMBER.to_string(),
        from_number: SAMPLE_CALLER.to_string(),
        total_duration: 0,
        call_recordings: String::new(),
        account_domain: app.exotel_domain.as_str().to_string(),
        ticket_id: String::new(),
        call_detail: Some("dial".to_string()),
        start_time: at(Duration::ZERO),
        end_time: String::new(),
        created_at: at(Duration::ZERO),
        updated_at: at(Duration::ZERO),
    };
    let talked = Duration::from_secs(SAMPLE_TALK_SECONDS as u64 + 8);
    match setting {
        SettingKey::IncomingCallHangup => {
            payload.call_status = "free".to_string();
            payload.call_state = "terminal".to_string();
            payload.total_duration = SAMPLE_TALK_SECONDS;
            payload.call_recordings = recording;
            payload.call_detail = Some("terminal".to_string());
            payload.start_time = at(talked);
        }
        SettingKey::MissedCall => {
            payload.call_status = "free".to_string();
            payload.call_state = "terminal".to_string();
            payload.call_detail = Some("terminal".to_string());
            payload.start_time = at(Duration::from_secs(30));
        }
        SettingKey::Callback => {
            payload.direction = "outbound".to_string();
            payload.call_status = "completed".to_string();
            payload.call_state = "terminal".to_string();
            payload.dial_whom_number = SAMPLE_CALLER.to_string();
            payload.to_number = SAMPLE_CALLER.to_string();
            payload.from_number = format!("sip:{}test", app.exotel_account_sid);
            payload.total_duration = SAMPLE_TALK_SECONDS;
            payload.call_recordings = recording;
            payload.call_detail = Some("terminal".to_string());
            payload.start_time = at(talked);
        }
        _ => {}
    }
    if payload.call_state == "terminal" {
        payload.end_time = at(Duration::ZERO);
    }
    payload.created_at = payload.start_time.clone();
    payload
}
