//! Calls as the CRM sees them: the call payload every webhook carries, and the passthru types.

use serde::{Deserialize, Serialize};

use super::{FieldError, SettingKey};

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
pub struct CallPayload {
    #[serde(rename = "CustomerId")]
    pub customer_id: String,
    #[serde(rename = "AppId")]
    pub app_id: String,
    /// Exotel's call SID.
    #[serde(rename = "CallSid")]
    pub call_sid: String,
    #[serde(rename = "ExotelAccountSid")]
    pub exotel_account_sid: String,
    /// The number or SIP id Exotel dialled (`to` on an outbound call).
    #[serde(rename = "DialWhomNumber")]
    pub dial_whom_number: String,
    /// The user whose `SipId` or `AgentNumber` matches `DialWhomNumber`, else `""`.
    #[serde(rename = "AppUserID")]
    pub app_user_id: String,
    #[serde(rename = "VirtualNumber")]
    pub virtual_number: String,
    /// `incoming` or `outbound`.
    #[serde(rename = "Direction")]
    pub direction: String,
    /// Exotel's status: `busy`/`free` on an inbound passthru, `""` while an outbound call is active, then
    /// its final status (`completed`, `to_leg_unanswered`, `from_leg_unanswered`, `from_leg_cancelled`, ...).
    #[serde(rename = "CallStatus")]
    pub call_status: String,
    /// `active` or `terminal`.
    #[serde(rename = "CallState")]
    pub call_state: String,
    #[serde(rename = "ToNumber")]
    pub to_number: String,
    #[serde(rename = "FromNumber")]
    pub from_number: String,
    /// Talk seconds (0 when unknown).
    #[serde(rename = "TotalDuration")]
    pub total_duration: i64,
    /// The recording URL, or `""`.
    #[serde(rename = "CallRecordings")]
    pub call_recordings: String,
    /// The app's `ExotelDomain`.
    #[serde(rename = "AccountDomain")]
    pub account_domain: String,
    /// Always `""`.
    #[serde(rename = "TicketId")]
    pub ticket_id: String,
    /// `null` on the answer to an outbound call, the event name otherwise.
    #[serde(rename = "CallDetail")]
    #[schema(required = true)]
    pub call_detail: Option<String>,
    /// RFC 3339, or `""` when unknown.
    #[serde(rename = "StartTime")]
    pub start_time: String,
    /// RFC 3339, or `""` when unknown.
    #[serde(rename = "EndTime")]
    pub end_time: String,
    /// RFC 3339, whole seconds, in the display offset.
    #[serde(rename = "CreatedAt")]
    #[schema(format = DateTime)]
    pub created_at: String,
    /// RFC 3339, whole seconds, in the display offset.
    #[serde(rename = "UpdatedAt")]
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
        Self::ALL
            .into_iter()
            .find(|s| s.as_str().eq_ignore_ascii_case(value.trim()))
            .ok_or_else(|| FieldError(format!("{field} must be one of pending, delivered, dead, expired")))
    }
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
        Self::ALL
            .into_iter()
            .find(|d| d.as_str().eq_ignore_ascii_case(value.trim()))
            .ok_or_else(|| FieldError(format!("{field} must be incoming or outbound (got {value:?})")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inbound_types_map_to_their_settings() {
        assert_eq!(InboundType::parse(Some("popup")).unwrap().setting(), SettingKey::Popup);
        assert_eq!(InboundType::parse(Some("IncomingCallHungUp")).unwrap().setting(), SettingKey::IncomingCallHangup);
        assert_eq!(InboundType::parse(Some("missedcall")).unwrap().call_state(), "terminal");
        assert!(InboundType::parse(Some("ring")).is_err());
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
