//! Exotel's call events as they arrive on the wire: the passthru's parameters, the v1 and v3 status
//! callbacks, and the signed status-callback URL this server hands Exotel when it places a call.
//! The HTTP edge decodes the bytes (query, form, JSON); this module reads what Exotel meant.

use serde_json::Value;

use crate::crypto::Keyring;
use crate::domain::call::{call_sid, InboundType};
use crate::domain::FieldError;

/// Exotel's passthru parameters: the query's pairs, then a form body's; the later wins.
pub struct PassthruParams(Vec<(String, String)>);

impl PassthruParams {
    pub fn new(pairs: Vec<(String, String)>) -> Self {
        Self(pairs)
    }

    /// The last non-empty value of the first of `names` that has one, trimmed; names match in any case.
    pub fn get(&self, names: &[&str]) -> String {
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

    /// The last non-empty value of `name` exactly as sent, surrounding whitespace included.
    pub fn get_exact(&self, name: &str) -> Option<&str> {
        self.0.iter().rev().find(|(k, v)| k.eq_ignore_ascii_case(name) && !v.is_empty()).map(|(_, v)| v.as_str())
    }
}

/// One inbound call event, as an Exotel flow's passthru reported it.
#[derive(Debug, Clone)]
pub struct InboundEvent {
    pub kind: InboundType,
    pub call_sid: String,
    /// The agent's number or SIP id Exotel dialled (`""` when not said).
    pub dial_whom: String,
    /// The number called (`CallTo`, else `To`).
    pub called: String,
    /// The caller (`CallFrom`, else `From`).
    pub caller: String,
    /// `busy` or `free`, when said.
    pub status: String,
    /// Talk seconds of the first leg (`Legs[0][OnCallDuration]`, else `DialCallDuration`); 0 when unknown.
    pub talk_seconds: i64,
    pub recording_url: String,
    /// `EventType`, lower-cased.
    pub event_type: String,
    /// Exotel's local times, as sent (`2024-05-01 10:00:00`).
    pub start_time: String,
    pub end_time: String,
}

impl InboundEvent {
    /// The event `type` only: it decides the webhook before anything else is read.
    pub fn kind(params: &PassthruParams) -> Result<InboundType, FieldError> {
        InboundType::parse(params.get_exact("type"))
    }

    pub fn read(kind: InboundType, params: &PassthruParams) -> Result<Self, FieldError> {
        Ok(Self {
            kind,
            call_sid: call_sid("CallSid", params.get(&["CallSid"]))?,
            dial_whom: params.get(&["DialWhomNumber"]),
            called: params.get(&["CallTo", "To"]),
            caller: params.get(&["CallFrom", "From"]),
            status: params.get(&["Status"]),
            talk_seconds: params.get(&["Legs[0][OnCallDuration]", "DialCallDuration"]).parse().unwrap_or(0),
            recording_url: params.get(&["RecordingUrl"]),
            event_type: params.get(&["EventType"]).to_ascii_lowercase(),
            start_time: params.get(&["StartTime"]),
            end_time: params.get(&["EndTime"]),
        })
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

impl StatusEvent {
    /// Reads Exotel's event: v3 JSON (`event_details`, `call_details`), or v1 fields (JSON or form,
    /// the form's values as strings). Exotel's own JSON types are taken as Exotel sends them.
    pub fn read(json: &Value) -> Result<Self, FieldError> {
        let text = |v: &Value| match v {
            Value::String(s) => Some(s.trim().to_string()).filter(|s| !s.is_empty()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        };
        let number = |v: &Value| v.as_i64().or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()));
        let details = json.get("call_details").filter(|d| d.is_object());
        let event = if let Some(details) = details {
            // Voice v3: `legs` may be a URL or an array; it is not needed here.
            let recording = match details.get("recordings") {
                Some(Value::Array(items)) => items.first().and_then(|r| r.get("url")).and_then(text),
                Some(other) => text(other),
                None => None,
            };
            Self {
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
            Self {
                call_sid: json.get("CallSid").and_then(text).unwrap_or_default(),
                state: Some(
                    if event_type.eq_ignore_ascii_case("terminal") { "terminal" } else { "active" }.to_string(),
                ),
                event_type,
                status: json.get("Status").and_then(text),
                talk_seconds: json.get("ConversationDuration").and_then(number),
                recording_url: json.get("RecordingUrl").and_then(text),
                start_time: json.get("StartTime").and_then(text),
                end_time: json.get("EndTime").and_then(text),
            }
        };
        if event.call_sid.is_empty() {
            return Err(FieldError::new("the event names no call: call_details.sid (or CallSid) is required"));
        }
        let field = if details.is_some() { "call_details.sid" } else { "CallSid" };
        Ok(Self { call_sid: call_sid(field, event.call_sid)?, ..event })
    }
}

/// The purpose the status-callback signature key is derived for.
const STATUS_CALLBACK_PURPOSE: &str = "status-callback";

fn status_callback_message(app_id: &str, call_ref: &str) -> String {
    format!("{app_id}:{call_ref}")
}

/// The URL Exotel POSTs an outbound call's events to: `endpoint` (this server's status-callback
/// route) for the app, signed so that only Exotel (who was given it) can use it.
pub fn status_callback_url(key: &Keyring, endpoint: &str, app_id: &str, call_ref: &str) -> String {
    let signature = key.sign_hex(STATUS_CALLBACK_PURPOSE, &status_callback_message(app_id, call_ref));
    format!("{endpoint}/{app_id}?ref={call_ref}&sig={signature}")
}

/// Whether `signature` is the one [`status_callback_url`] gave for this app and call reference.
pub fn status_callback_signed(key: &Keyring, app_id: &str, call_ref: &str, signature: &str) -> bool {
    key.verify_hex(STATUS_CALLBACK_PURPOSE, &status_callback_message(app_id, call_ref), signature)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_v3_event_and_a_v1_form_event_read_the_same() {
        let v3 = json!({"event_details": {"event_type": "terminal"},
                        "call_details": {"sid": "c1", "state": "terminal", "status": "completed", "total_talk_time": 7,
                                         "recordings": [{"url": "https://r.example/1.mp3"}]}});
        let v1 = json!({"CallSid": "c1", "EventType": "terminal", "Status": "completed", "ConversationDuration": "7",
                        "RecordingUrl": "https://r.example/1.mp3"});
        for json in [v3, v1] {
            let event = StatusEvent::read(&json).unwrap();
            assert_eq!(event.call_sid, "c1");
            assert_eq!(event.state.as_deref(), Some("terminal"));
            assert_eq!(event.status.as_deref(), Some("completed"));
            assert_eq!(event.talk_seconds, Some(7));
            assert_eq!(event.recording_url.as_deref(), Some("https://r.example/1.mp3"));
        }
        let error = StatusEvent::read(&json!({"call_details": {}})).unwrap_err();
        assert_eq!(error.0, "the event names no call: call_details.sid (or CallSid) is required");
    }

    #[test]
    fn a_status_callback_url_is_signed_for_its_app_and_call() {
        let key = Keyring::new(crate::crypto::MasterKey::from_bytes([7; 32]), vec![]);
        let url = status_callback_url(&key, "https://ic.example/v2/integrations/call/status_callback", "app1", "ref1");
        let signature = url.rsplit_once("sig=").unwrap().1;
        assert!(url.starts_with("https://ic.example/v2/integrations/call/status_callback/app1?ref=ref1&sig="));
        assert!(status_callback_signed(&key, "app1", "ref1", signature));
        assert!(!status_callback_signed(&key, "app2", "ref1", signature));
        assert!(!status_callback_signed(&key, "app1", "ref2", signature));
    }
}
