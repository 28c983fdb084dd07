//! What an app is bound to upstream: its Exotel region, or the built-in sandbox.

use super::{find_spelled, FieldError};

/// `mumbai`, `singapore` or `sandbox`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, utoipa::ToSchema)]
#[schema(rename_all = "lowercase")]
pub enum ExotelDomain {
    Mumbai,
    Singapore,
    /// Never calls Exotel: the server simulates the upstream.
    Sandbox,
}

impl ExotelDomain {
    pub const ALL: [ExotelDomain; 3] = [Self::Mumbai, Self::Singapore, Self::Sandbox];

    pub fn parse(value: &str) -> Result<Self, FieldError> {
        find_spelled(&Self::ALL, Self::as_str, value)
            .ok_or_else(|| FieldError::new("ExotelDomain must be one of mumbai, singapore, sandbox"))
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Mumbai => "mumbai",
            Self::Singapore => "singapore",
            Self::Sandbox => "sandbox",
        }
    }
}

/// A region read back from storage, where only [`ExotelDomain::as_str`] values are written.
impl TryFrom<String> for ExotelDomain {
    type Error = FieldError;

    fn try_from(stored: String) -> Result<Self, FieldError> {
        Self::parse(&stored)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn any_case_in_lowercase_out() {
        assert_eq!(ExotelDomain::parse("Mumbai").unwrap().as_str(), "mumbai");
        assert_eq!(ExotelDomain::parse("SINGAPORE").unwrap(), ExotelDomain::Singapore);
        assert_eq!(ExotelDomain::parse("sandbox").unwrap(), ExotelDomain::Sandbox);
        assert!(ExotelDomain::parse("delhi").unwrap_err().0.contains("mumbai, singapore, sandbox"));
    }
}
