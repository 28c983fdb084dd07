//! An e-mail address with a plausible shape.

use super::FieldError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    /// `field` is the name the client used, so the error can name it.
    pub fn parse(field: &str, value: Option<String>) -> Result<Self, FieldError> {
        let value = value.map(|v| v.trim().to_string()).unwrap_or_default();
        if value.is_empty() {
            return Err(FieldError(format!("{field} is required and must not be empty")));
        }
        let invalid = || FieldError(format!("{field} must be a valid e-mail address like name@example.com"));
        if value.len() > 254 || value.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(invalid());
        }
        let (local, domain) = value.rsplit_once('@').ok_or_else(invalid)?;
        let domain_ok = domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !domain.contains("..")
            && domain.chars().all(|c| c.is_alphanumeric() || c == '-' || c == '.');
        if local.is_empty() || local.len() > 64 || local.contains('@') || !domain_ok {
            return Err(invalid());
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_ordinary_addresses() {
        for ok in ["a@b.co", "temp.mail@company.in", "p+q@mail.example.com"] {
            assert_eq!(Email::parse("Email", Some(ok.into())).unwrap().as_str(), ok);
        }
    }

    #[test]
    fn rejects_malformed_addresses_naming_the_field() {
        for bad in ["", "plain", "a@b", "@b.co", "a@@b.co", "a b@c.co", "a@.co", "a@b..co"] {
            let err = Email::parse("Email", Some(bad.into())).unwrap_err();
            assert!(err.0.starts_with("Email"), "{bad}: {err}");
        }
    }
}
