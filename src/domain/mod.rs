//! Plain domain types that are valid by construction: once parsed, a value is proof of its rules.

pub mod call;
pub mod email;
pub mod net;
pub mod region;
pub mod setting;
pub mod time;
pub mod user;

pub use email::Email;
pub use region::ExotelDomain;
pub use setting::{SettingKey, SettingValue};
pub use user::{AppUserId, DeviceKind, ExotelUserName, PhoneNumber};

/// A field that failed its rule; the message names the field as the client sent it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct FieldError(pub String);

impl FieldError {
    pub fn new(message: impl Into<String>) -> Self {
        Self(message.into())
    }
}

/// The one of `all` whose spelling is `value`, in any case and with white space around it ignored:
/// how the closed sets of values with an `ALL` list (a region, a delivery status, a call direction,
/// a setting key) are read. A passthru's `type` is not: Exotel sends it exactly.
pub fn find_spelled<T: Copy>(all: &[T], spelling: impl Fn(T) -> &'static str, value: &str) -> Option<T> {
    all.iter().copied().find(|candidate| spelling(*candidate).eq_ignore_ascii_case(value.trim()))
}

/// Rejects a missing or blank text field, trimming the rest.
pub fn non_empty(field: &str, value: Option<String>, max_chars: usize) -> Result<String, FieldError> {
    let value = value.map(|v| v.trim().to_string()).unwrap_or_default();
    if value.is_empty() {
        return Err(FieldError(format!("{field} is required and must not be empty")));
    }
    if value.chars().count() > max_chars {
        return Err(FieldError(format!("{field} must be at most {max_chars} characters")));
    }
    Ok(value)
}
