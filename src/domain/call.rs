//! Calls as the CRM sees them: the call payload every webhook carries, and the passthru types.

use serde::{Deserialize, Serialize};

use super::{find_spelled, FieldError, SettingKey};

/// The longest `CallSid` kept, in bytes (Exotel's are 32 characters). A call's id is part of indexed
/// keys, whose size Postgres bounds: a longer one would fail there rather than be a 400 here.
pub const MAX_CALL_SID_BYTES: usize = 128;

/// A `CallSid` as received (empty when Exotel sent none), refused when too long to be stored.
pub fn call_sid(field: &str, sid: String) -> Result<String, FieldError> {
    if sid.len() > MAX_CALL_SID_BYTES {
        return Err(FieldError(format!("{field} must be at most {MAX_CALL_SID_BYTES} bytes long")));
    }
    Ok(sid)
}

/// The call payload, keys in the contract's order. It is both what webhooks carry and what
/// `GET /call/{CallSid}` and `POST /call/outbound_call` answer.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, utoipa::ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct CallPayload {
    pub customer_id: String,
    pub app_id: String,
    /// Exotel's call SID.
    pub call_sid: String,
    pub exotel_account_sid: String,
    /// The number or SIP id Exotel dialled (`to` on an outbound call).
    pub dial_whom_number: String,
    /// The user whose `SipId` or `AgentNumber` matches `DialWhomNumber`, else `""`.
    #[serde(rename = "AppUserID")]
    pub app_user_id: String,
    pub virtual_number: String,
    /// `incoming` or `outbound`.
    pub direction: String,
    /// Exotel's status: `busy`/`free` on an inbound passthru, `""` while an outbound call is active, then
    /// its final status (`completed`, `to_leg_unanswered`, `from_leg_unanswered`, `from_leg_cancelled`, ...).
    pub call_status: String,
    /// `active` or `terminal`.
    pub call_state: String,
    pub to_number: String,
    pub from_number: String,
    /// Talk seconds (0 when unknown).
    pub total_duration: i64,
    /// The recording URL, or `""`.
    pub call_recordings: String,
    /// The app's `ExotelDomain`.
    pub account_domain: String,
    /// Always `""`.
    pub ticket_id: String,
    /// `null` on the answer to an outbound call, the event name otherwise.
    #[schema(required = true)]
    pub call_detail: Option<String>,
    /// RFC 3339, or `""` when unknown.
    pub start_time: String,
    /// RFC 3339, or `""` when unknown.
    pub end_time: String,
    /// RFC 3339, whole seconds, in the display offset.
    #[schema(format = DateTime)]
    pub created_at: String,
    /// RFC 3339, whole seconds, in the display offset.
    #[schema(format = DateTime)]
    pub updated_at: String,
}

/// The `type` of an inbound passthru, and the setting whose URL it is delivered to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, utoipa::ToSchema)]
#[schema(rename_all = "lowercase")]
pub enum InboundType {
    Popup,
    IncomingCallHungUp,
    MissedCall,
}

impl InboundType {
    /// The contract's spelling, with ASCII case folded (flows are configured by hand, and
    /// `missedCall` names the same thing as `missedcall`); nothing is trimmed: `"popup "` is refused.
    pub fn parse(value: Option<&str>) -> Result<Self, FieldError> {
        const ALLOWED: &str = "popup, incomingcallhungup or missedcall";
        let Some(value) = value else {
            return Err(FieldError::new(format!("query parameter type is required: {ALLOWED}")));
        };
        match value.to_ascii_lowercase().as_str() {
            "popup" => Ok(Self::Popup),
            "incomingcallhungup" => Ok(Self::IncomingCallHungUp),
            "missedcall" => Ok(Self::MissedCall),
            _ => Err(FieldError::new(format!("query parameter type must be exactly {ALLOWED} (got {value:?})"))),
        }
    }

    /// The contract's spelling: `popup`, `incomingcallhungup`, `missedcall`. It is also the name a call
    /// event of this type is stored under.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Popup => "popup",
            Self::IncomingCallHungUp => "incomingcallhungup",
            Self::MissedCall => "missedcall",
        }
    }

    pub fn setting(self) -> SettingKey {
        match self {
            Self::Popup => SettingKey::Popup,
            Self::IncomingCallHungUp => SettingKey::IncomingCallHangup,
            Self::MissedCall => SettingKey::MissedCall,
        }
    }

    /// A popup is live while the phone rings; the other two describe a call that has ended.
    pub fn call_state(self) -> &'static str {
        match self {
            Self::Popup => "active",
            Self::IncomingCallHungUp | Self::MissedCall => "terminal",
        }
    }
}

/// The `EventType` of a delivery sent by `POST /app_setting/test`: finished after its one attempt,
/// never sent again.
pub const TEST_EVENT_TYPE: &str = "test";

/// Where a webhook delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, utoipa::ToSchema)]
#[schema(rename_all = "lowercase")]
pub enum DeliveryStatus {
    Pending,
    Delivered,
    Dead,
    Expired,
}

impl DeliveryStatus {
    pub const ALL: [DeliveryStatus; 4] = [Self::Pending, Self::Delivered, Self::Dead, Self::Expired];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Delivered => "delivered",
            Self::Dead => "dead",
            Self::Expired => "expired",
        }
    }

    pub fn parse(field: &str, value: &str) -> Result<Self, FieldError> {
        find_spelled(&Self::ALL, Self::as_str, value)
            .ok_or_else(|| FieldError(format!("{field} must be one of pending, delivered, dead, expired")))
    }
}

impl DeliveryStatus {
    /// The statuses `POST /webhook_deliveries/recover` may queue again: the finished ones.
    pub fn parse_finished(field: &str, value: &str) -> Result<Self, FieldError> {
        match find_spelled(&Self::ALL, Self::as_str, value) {
            Some(status) if status != Self::Pending => Ok(status),
            _ => Err(FieldError(format!("{field} must be one of dead, expired, delivered (got {value:?})"))),
        }
    }
}

/// What a delivery was sent for: the webhook setting whose URL it went to, or `test`
/// (`POST /app_setting/test`). A delivery's `EventType` is always one of these.
pub const DELIVERY_EVENT_TYPES: [&str; 5] = ["popup", "incomingCallHangup", "missedCall", "callback", TEST_EVENT_TYPE];

/// Reads a delivery `EventType` (any case in, the stored spelling out).
pub fn delivery_event_type(field: &str, value: &str) -> Result<&'static str, FieldError> {
    find_spelled(&DELIVERY_EVENT_TYPES, std::convert::identity, value).ok_or_else(|| {
        FieldError(format!("{field} must be one of {} (got {value:?})", DELIVERY_EVENT_TYPES.join(", ")))
    })
}

/// A status read back from storage, where only [`DeliveryStatus::as_str`] values are written.
impl TryFrom<String> for DeliveryStatus {
    type Error = FieldError;

    fn try_from(stored: String) -> Result<Self, FieldError> {
        Self::parse("status", &stored)
    }
}

/// Which way a call goes: its payload's `Direction`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, utoipa::ToSchema)]
#[schema(rename_all = "lowercase")]
pub enum CallDirection {
    Incoming,
    Outbound,
}

impl CallDirection {
    pub const ALL: [CallDirection; 2] = [Self::Incoming, Self::Outbound];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Incoming => "incoming",
            Self::Outbound => "outbound",
        }
    }

    /// `incoming` or `outbound`, any case.
    pub fn parse(field: &str, value: &str) -> Result<Self, FieldError> {
        find_spelled(&Self::ALL, Self::as_str, value)
            .ok_or_else(|| FieldError(format!("{field} must be incoming or outbound (got {value:?})")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delivery_event_types_are_the_webhook_settings_and_test() {
        assert_eq!(delivery_event_type("event_type", "MISSEDCALL").unwrap(), "missedCall");
        assert_eq!(delivery_event_type("event_type", "test").unwrap(), "test");
        let error = delivery_event_type("event_type", "record").unwrap_err().0;
        assert_eq!(
            error,
            "event_type must be one of popup, incomingCallHangup, missedCall, callback, test (got \"record\")"
        );
    }

    #[test]
    fn only_finished_statuses_can_be_recovered() {
        assert_eq!(DeliveryStatus::parse_finished("Statuses[0]", "Expired").unwrap(), DeliveryStatus::Expired);
        let error = DeliveryStatus::parse_finished("Statuses[1]", "pending").unwrap_err().0;
        assert_eq!(error, "Statuses[1] must be one of dead, expired, delivered (got \"pending\")");
    }

    #[test]
    fn inbound_types_map_to_their_settings() {
        assert_eq!(InboundType::parse(Some("popup")).unwrap().setting(), SettingKey::Popup);
        assert_eq!(InboundType::parse(Some("IncomingCallHungUp")).unwrap().setting(), SettingKey::IncomingCallHangup);
        assert_eq!(InboundType::parse(Some("missedcall")).unwrap().call_state(), "terminal");
        assert!(InboundType::parse(Some("ring")).is_err());
        for kind in [InboundType::Popup, InboundType::IncomingCallHungUp, InboundType::MissedCall] {
            assert_eq!(InboundType::parse(Some(kind.as_str())).unwrap(), kind);
        }
        assert_eq!(InboundType::IncomingCallHungUp.as_str(), "incomingcallhungup");
        assert!(InboundType::parse(None).is_err());
    }

    #[test]
    fn directions_parse_in_any_case_and_nothing_else_does() {
        assert_eq!(CallDirection::parse("direction", "Outbound").unwrap(), CallDirection::Outbound);
        assert_eq!(CallDirection::parse("direction", "incoming").unwrap().as_str(), "incoming");
        let error = CallDirection::parse("query parameter direction", "inbound").unwrap_err();
        assert!(error.0.contains("query parameter direction"), "{}", error.0);
    }

    #[test]
    fn payload_keys_are_in_contract_order() {
        let json = serde_json::to_string(&CallPayload {
            customer_id: "c".into(),
            app_id: "a".into(),
            call_sid: "s".into(),
            exotel_account_sid: String::new(),
            dial_whom_number: String::new(),
            app_user_id: String::new(),
            virtual_number: String::new(),
            direction: "incoming".into(),
            call_status: String::new(),
            call_state: "active".into(),
            to_number: String::new(),
            from_number: String::new(),
            total_duration: 0,
            call_recordings: String::new(),
            account_domain: "sandbox".into(),
            ticket_id: String::new(),
            call_detail: None,
            start_time: String::new(),
            end_time: String::new(),
            created_at: String::new(),
            updated_at: String::new(),
        })
        .unwrap();
        let order = [
            "CustomerId",
            "AppId",
            "CallSid",
            "ExotelAccountSid",
            "DialWhomNumber",
            "AppUserID",
            "VirtualNumber",
            "Direction",
            "CallStatus",
            "CallState",
            "ToNumber",
            "FromNumber",
            "TotalDuration",
            "CallRecordings",
            "AccountDomain",
            "TicketId",
            "CallDetail",
            "StartTime",
            "EndTime",
            "CreatedAt",
            "UpdatedAt",
        ];
        let positions: Vec<usize> = order.iter().map(|k| json.find(&format!("\"{k}\"")).unwrap()).collect();
        assert!(positions.windows(2).all(|w| w[0] < w[1]), "{json}");
    }
}
