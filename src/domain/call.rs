//! Calls as the CRM sees them: the call payload every webhook carries, and the passthru types.

use serde::{Deserialize, Serialize};

use super::{FieldError, SettingKey};

/// The call payload, keys in the contract's order. It is both what webhooks carry and what
/// `GET /call/{CallSid}` and `POST /call/outbound_call` answer.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct CallPayload {
    #[serde(rename = "CustomerId")]
    pub customer_id: String,
    #[serde(rename = "AppId")]
    pub app_id: String,
    #[serde(rename = "CallSid")]
    pub call_sid: String,
    #[serde(rename = "ExotelAccountSid")]
    pub exotel_account_sid: String,
    #[serde(rename = "DialWhomNumber")]
    pub dial_whom_number: String,
    #[serde(rename = "AppUserID")]
    pub app_user_id: String,
    #[serde(rename = "VirtualNumber")]
    pub virtual_number: String,
    #[serde(rename = "Direction")]
    pub direction: String,
    #[serde(rename = "CallStatus")]
    pub call_status: String,
    #[serde(rename = "CallState")]
    pub call_state: String,
    #[serde(rename = "ToNumber")]
    pub to_number: String,
    #[serde(rename = "FromNumber")]
    pub from_number: String,
    #[serde(rename = "TotalDuration")]
    pub total_duration: i64,
    #[serde(rename = "CallRecordings")]
    pub call_recordings: String,
    #[serde(rename = "AccountDomain")]
    pub account_domain: String,
    #[serde(rename = "TicketId")]
    pub ticket_id: String,
    /// `null` on the answer to an outbound call, the event name otherwise.
    #[serde(rename = "CallDetail")]
    pub call_detail: Option<String>,
    #[serde(rename = "StartTime")]
    pub start_time: String,
    #[serde(rename = "EndTime")]
    pub end_time: String,
    #[serde(rename = "CreatedAt")]
    pub created_at: String,
    #[serde(rename = "UpdatedAt")]
    pub updated_at: String,
}

/// The `type` of an inbound passthru, and the setting whose URL it is delivered to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InboundType {
    Popup,
    IncomingCallHungUp,
    MissedCall,
}

impl InboundType {
    pub fn parse(value: Option<&str>) -> Result<Self, FieldError> {
        match value.map(|v| v.trim().to_ascii_lowercase()).as_deref() {
            Some("popup") => Ok(Self::Popup),
            Some("incomingcallhungup") => Ok(Self::IncomingCallHungUp),
            Some("missedcall") => Ok(Self::MissedCall),
            Some(_) => Err(FieldError::new("query parameter type must be popup, incomingcallhungup or missedcall")),
            None => Err(FieldError::new("query parameter type is required: popup, incomingcallhungup or missedcall")),
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
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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
