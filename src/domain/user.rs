//! The parts of an agent's user mapping that carry rules: ids, names and phone numbers.

use super::FieldError;

/// `AppUserId`: the CRM's own id for its agent, 1–128 characters, kept exactly as sent.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AppUserId(String);

impl AppUserId {
    pub const MAX_CHARS: usize = 128;

    pub fn parse(field: &str, value: Option<String>) -> Result<Self, FieldError> {
        let value = value.unwrap_or_default();
        if value.trim().is_empty() {
            return Err(FieldError(format!("{field} is required and must not be empty")));
        }
        if value.chars().count() > Self::MAX_CHARS || value.chars().any(char::is_control) {
            return Err(FieldError(format!(
                "{field} must be 1 to {} characters without control characters",
                Self::MAX_CHARS
            )));
        }
        Ok(Self(value))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

/// `ExotelUserName`: "First Last", each word 3–20 letters, digits, `.`, `'` or `-` (Exotel's rule).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExotelUserName {
    first: String,
    last: String,
}

impl ExotelUserName {
    pub fn parse(field: &str, value: Option<String>) -> Result<Self, FieldError> {
        let value = value.unwrap_or_default();
        let rule = || {
            FieldError(format!(
                "{field} must be two words, \"First Last\", each 3 to 20 letters, digits, '.', '\\'' or '-'"
            ))
        };
        let words: Vec<&str> = value.split_whitespace().collect();
        let [first, last] = words.as_slice() else { return Err(rule()) };
        let word_ok = |w: &str| {
            (3..=20).contains(&w.chars().count())
                && w.chars().all(|c| c.is_alphanumeric() || matches!(c, '.' | '\'' | '-'))
        };
        if !word_ok(first) || !word_ok(last) {
            return Err(rule());
        }
        Ok(Self { first: first.to_string(), last: last.to_string() })
    }

    pub fn first(&self) -> &str {
        &self.first
    }

    pub fn last(&self) -> &str {
        &self.last
    }

    pub fn full(&self) -> String {
        format!("{} {}", self.first, self.last)
    }
}

/// A phone number: an optional leading `+` and 6–15 digits; spaces, dashes, dots and brackets are dropped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhoneNumber(String);

impl PhoneNumber {
    pub fn parse(field: &str, value: &str) -> Result<Self, FieldError> {
        let compact: String = value.chars().filter(|c| !matches!(c, ' ' | '-' | '.' | '(' | ')')).collect();
        let digits = compact.strip_prefix('+').unwrap_or(&compact);
        if !(6..=15).contains(&digits.len()) || !digits.chars().all(|c| c.is_ascii_digit()) {
            return Err(FieldError(format!("{field} must be a phone number: an optional + and 6 to 15 digits")));
        }
        Ok(Self(compact))
    }

    /// A required phone number.
    pub fn required(field: &str, value: Option<String>) -> Result<Self, FieldError> {
        match value.as_deref().map(str::trim) {
            None | Some("") => Err(FieldError(format!("{field} is required and must be a phone number"))),
            Some(v) => Self::parse(field, v),
        }
    }

    /// An optional phone number: absent or blank is `None`.
    pub fn optional(field: &str, value: Option<String>) -> Result<Option<Self>, FieldError> {
        match value.as_deref().map(str::trim) {
            None | Some("") => Ok(None),
            Some(v) => Self::parse(field, v).map(Some),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

/// The last ten digits of a number, which is how numbers are matched (`+91 98123 00077` = `09812300077`).
pub fn last_ten_digits(number: &str) -> String {
    let digits: Vec<char> = number.chars().filter(char::is_ascii_digit).collect();
    digits[digits.len().saturating_sub(10)..].iter().collect()
}

/// Which of an agent's devices.
#[derive(Debug, Clone, Copy, PartialEq, Eq, utoipa::ToSchema)]
#[schema(rename_all = "lowercase")]
pub enum DeviceKind {
    Phone,
    Sip,
}

impl DeviceKind {
    pub fn parse(field: &str, value: &str) -> Result<Self, FieldError> {
        match value.trim().to_ascii_lowercase().as_str() {
            "phone" => Ok(Self::Phone),
            "sip" => Ok(Self::Sip),
            _ => Err(FieldError(format!("{field} must be phone or sip"))),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Phone => "phone",
            Self::Sip => "sip",
        }
    }

    pub fn other(self) -> Self {
        match self {
            Self::Phone => Self::Sip,
            Self::Sip => Self::Phone,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exotel_user_names_are_two_words_of_three_to_twenty() {
        let name = ExotelUserName::parse("ExotelUserName", Some("Meera  Pillai".into())).unwrap();
        assert_eq!((name.first(), name.last()), ("Meera", "Pillai"));
        assert_eq!(name.full(), "Meera Pillai");
        assert!(ExotelUserName::parse("ExotelUserName", Some("O'Neil Smith-Jones".into())).is_ok());
        for bad in ["ABC", "Al Smith", "Meera Pillai Nair", "Meera Pi!lai", "", "Abcdefghijklmnopqrstu Pillai"] {
            let err = ExotelUserName::parse("users[0].ExotelUserName", Some(bad.into())).unwrap_err();
            assert!(err.0.starts_with("users[0].ExotelUserName"), "{bad}");
        }
    }

    #[test]
    fn phone_numbers_keep_the_plus_and_drop_punctuation() {
        assert_eq!(PhoneNumber::parse("n", "+91 98123-00077").unwrap().as_str(), "+919812300077");
        assert_eq!(PhoneNumber::parse("n", "01135124165").unwrap().as_str(), "01135124165");
        for bad in ["12345", "98123abcde", "+", "1234567890123456"] {
            assert!(PhoneNumber::parse("n", bad).is_err(), "{bad}");
        }
        assert!(PhoneNumber::optional("n", Some(" ".into())).unwrap().is_none());
        assert!(PhoneNumber::required("n", None).is_err());
    }

    #[test]
    fn numbers_match_on_their_last_ten_digits() {
        assert_eq!(last_ten_digits("+919812300077"), "9812300077");
        assert_eq!(last_ten_digits("09812300077"), "9812300077");
        assert_eq!(last_ten_digits("12345"), "12345");
    }

    #[test]
    fn app_user_ids_are_kept_exactly() {
        assert_eq!(AppUserId::parse("AppUserId", Some("p+q r".into())).unwrap().as_str(), "p+q r");
        assert!(AppUserId::parse("AppUserId", Some("".into())).is_err());
        assert!(AppUserId::parse("AppUserId", Some("x".repeat(129))).is_err());
    }
}
