//! App settings: the allowed keys and the rule each value must follow.

use super::net::forbidden_host;
use super::{find_spelled, FieldError};

/// The longest URL a setting may hold, in bytes of UTF-8 (the characters of an ASCII URL). A webhook
/// URL is part of an indexed key of the delivery queue, whose size Postgres bounds: counted in
/// characters, 2048 non-ASCII ones would be stored, then fail every delivery's insert.
pub const MAX_URL_BYTES: usize = 2048;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, utoipa::ToSchema)]
#[schema(rename_all = "camelCase")]
pub enum SettingKey {
    Popup,
    IncomingCallHangup,
    MissedCall,
    Callback,
    Playback,
    Streaming,
    Record,
}

pub const ALLOWED_KEYS: &str = "popup, incomingCallHangup, missedCall, callback, record, streaming, playback";

/// The settings whose URL receives webhooks.
pub const WEBHOOK_KEYS: &str = "popup, incomingCallHangup, missedCall, callback";

impl SettingKey {
    pub const ALL: [SettingKey; 7] = [
        Self::Popup,
        Self::IncomingCallHangup,
        Self::MissedCall,
        Self::Callback,
        Self::Playback,
        Self::Streaming,
        Self::Record,
    ];

    /// Matches the key names of the contract; case does not matter on the way in.
    pub fn parse(field: &str, value: &str) -> Result<Self, FieldError> {
        find_spelled(&Self::ALL, Self::as_str, value)
            .ok_or_else(|| FieldError(format!("{field} must be one of {ALLOWED_KEYS} (got {value:?})")))
    }

    /// A setting whose URL receives webhooks (`popup`, `incomingCallHangup`, `missedCall`,
    /// `callback`), in any case; another key is refused naming those four.
    pub fn parse_webhook(field: &str, value: &str) -> Result<Self, FieldError> {
        Self::parse(field, value)
            .ok()
            .filter(|key| key.receives_webhooks())
            .ok_or_else(|| FieldError(format!("{field} must be one of {WEBHOOK_KEYS} (got {value:?})")))
    }

    /// Whether the setting's URL receives webhooks.
    pub fn receives_webhooks(self) -> bool {
        matches!(self, Self::Popup | Self::IncomingCallHangup | Self::MissedCall | Self::Callback)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Popup => "popup",
            Self::IncomingCallHangup => "incomingCallHangup",
            Self::MissedCall => "missedCall",
            Self::Callback => "callback",
            Self::Playback => "playback",
            Self::Streaming => "streaming",
            Self::Record => "record",
        }
    }
}

/// A setting value that passed its key's rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettingValue(String);

impl SettingValue {
    /// `allow_private` lets webhook URLs point at loopback and private addresses (development only).
    pub fn parse(key: SettingKey, value: &serde_json::Value, allow_private: bool) -> Result<Self, FieldError> {
        let text = match (key, value) {
            (_, serde_json::Value::String(s)) => s.trim().to_string(),
            (SettingKey::Record, serde_json::Value::Bool(b)) => b.to_string(),
            (SettingKey::Record, other) => {
                return Err(FieldError(format!(
                    "Value for record must be a boolean or the string \"true\" or \"false\", not {}",
                    json_type(other)
                )))
            }
            (_, other) => {
                return Err(FieldError(format!(
                    "Value for {} must be a string, not {}",
                    key.as_str(),
                    json_type(other)
                )))
            }
        };
        match key {
            SettingKey::Record => match text.to_ascii_lowercase().as_str() {
                "true" | "false" => Ok(Self(text.to_ascii_lowercase())),
                _ => Err(FieldError::new("Value for record must be \"true\" or \"false\"")),
            },
            SettingKey::Streaming => check_url(key, &text, &["ws", "wss"], true).map(|_| Self(text)),
            SettingKey::Playback => check_url(key, &text, &["http", "https"], true).map(|_| Self(text)),
            _ => check_url(key, &text, &["http", "https"], allow_private).map(|_| Self(text)),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

/// The JSON type of a value, as an error message names it.
fn json_type(value: &serde_json::Value) -> &'static str {
    match value {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}

fn check_url(key: SettingKey, text: &str, schemes: &[&str], allow_private: bool) -> Result<(), FieldError> {
    let name = key.as_str();
    let wanted = schemes.join(" or ");
    if text.is_empty() {
        return Err(FieldError(format!("Value for {name} is required and must be a {wanted} URL")));
    }
    if text.len() > MAX_URL_BYTES {
        return Err(FieldError(format!(
            "Value for {name} must be at most {MAX_URL_BYTES} characters (bytes of UTF-8: a non-ASCII character counts 2 to 4)"
        )));
    }
    let url = url::Url::parse(text).map_err(|_| FieldError(format!("Value for {name} must be a {wanted} URL")))?;
    if !schemes.contains(&url.scheme()) {
        return Err(FieldError(format!("Value for {name} must be a {wanted} URL")));
    }
    let host = url.host().ok_or_else(|| FieldError(format!("Value for {name} must name a host")))?;
    if allow_private {
        return Ok(());
    }
    let Some(why) = forbidden_host(&host) else {
        return Ok(());
    };
    Err(FieldError(format!(
        "Value for {name} must not point at a loopback, private, link-local or multicast address ({why}); \
         set WEBHOOK_ALLOW_PRIVATE=true to allow it for local development"
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn keys_match_the_contract_spelling() {
        assert_eq!(SettingKey::parse("Key", "incomingcallhangup").unwrap().as_str(), "incomingCallHangup");
        let err = SettingKey::parse("Key", "colour").unwrap_err();
        assert!(err.0.contains(ALLOWED_KEYS));
    }

    #[test]
    fn only_the_four_webhook_keys_receive_webhooks() {
        assert_eq!(SettingKey::parse_webhook("Key", "MISSEDCALL").unwrap(), SettingKey::MissedCall);
        for key in ["record", "playback", "streaming", "colour"] {
            let err = SettingKey::parse_webhook("Key", key).unwrap_err();
            assert_eq!(err.0, format!("Key must be one of {WEBHOOK_KEYS} (got {key:?})"));
        }
    }

    #[test]
    fn record_takes_true_or_false_as_text_or_boolean() {
        assert_eq!(SettingValue::parse(SettingKey::Record, &json!(true), false).unwrap().as_str(), "true");
        assert_eq!(SettingValue::parse(SettingKey::Record, &json!("False"), false).unwrap().as_str(), "false");
        assert!(SettingValue::parse(SettingKey::Record, &json!("yes"), false).is_err());
        assert!(SettingValue::parse(SettingKey::Record, &json!(1), false).is_err());
    }

    #[test]
    fn webhook_urls_must_be_public_http() {
        let ok = SettingValue::parse(SettingKey::Popup, &json!("https://crm.example.com/hook"), false);
        assert!(ok.is_ok());
        for bad in [
            "ftp://crm.example.com",
            "not a url",
            "http://127.0.0.1/x",
            "http://[::ffff:127.0.0.1]/x",
            "http://localhost:9000/",
            "http://10.0.0.5/",
            "http://169.254.169.254/latest",
        ] {
            assert!(SettingValue::parse(SettingKey::Callback, &json!(bad), false).is_err(), "{bad}");
        }
        assert!(SettingValue::parse(SettingKey::Callback, &json!("http://127.0.0.1:9/x"), true).is_ok());
        let long = format!("https://e.com/{}", "a".repeat(MAX_URL_BYTES));
        assert!(SettingValue::parse(SettingKey::Popup, &json!(long), false).is_err());
        let wide = format!("https://e.com/{}", "漢".repeat(MAX_URL_BYTES / 3));
        assert!(SettingValue::parse(SettingKey::Popup, &json!(wide), false).is_err(), "counted in bytes");
    }

    #[test]
    fn streaming_needs_a_websocket_url() {
        assert!(SettingValue::parse(SettingKey::Streaming, &json!("wss://stream.example.com"), false).is_ok());
        assert!(SettingValue::parse(SettingKey::Streaming, &json!("https://stream.example.com"), false).is_err());
        assert!(SettingValue::parse(SettingKey::Popup, &json!(true), false).is_err());
    }
}
