//! Tokens (minted at random, stored only as SHA-256) and the extractors that prove who is asking.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, HeaderMap};
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use uuid::Uuid;

use crate::crypto::{constant_time_eq, sha256_hex};
use crate::domain::time::now_ms;
use crate::envelope::ApiError;
use crate::state::AppState;
use crate::store::{AppRow, CustomerRow, TokenOwner};
use crate::telemetry;

/// A freshly minted token: the text handed out once, and the hash that is stored.
pub struct MintedToken {
    pub token: String,
    pub hash: String,
}

impl std::fmt::Debug for MintedToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MintedToken").field("hash", &self.hash).finish_non_exhaustive()
    }
}

/// Standard base64 of the text of a random UUID v4 (48 characters), as Exotel's tokens look.
/// It carries no entity id: nothing about it can be derived from what a client already knows.
pub fn mint_token() -> MintedToken {
    let token = BASE64.encode(Uuid::new_v4().to_string());
    let hash = sha256_hex(&token);
    MintedToken { token, hash }
}

/// The token of a request: `Authorization: <token>` as the SDK sends it, or `Bearer <token>`.
pub fn token_from_headers(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?.trim();
    let token = match value.split_once(char::is_whitespace) {
        Some((scheme, rest)) if scheme.eq_ignore_ascii_case("bearer") => rest.trim(),
        _ if value.eq_ignore_ascii_case("bearer") => "",
        _ => value,
    };
    (!token.is_empty()).then_some(token)
}

const MISSING_TOKEN: &str = "Authorization header is missing: send the token from POST /v2/integrations/token";
const UNKNOWN_TOKEN: &str = "Authorization token is unknown or expired: get a new one from POST /v2/integrations/token";

/// Any live token, customer or app.
pub enum AnyAuth {
    Customer(CustomerRow),
    App(AppRow),
}

impl FromRequestParts<AppState> for AnyAuth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let token = token_from_headers(&parts.headers).ok_or_else(|| ApiError::unauthorized(MISSING_TOKEN))?;
        let owner = state.store.resolve_token(&sha256_hex(token), now_ms()).await?;
        match owner {
            Some(TokenOwner::Customer(customer)) => {
                tracing::Span::current().record("customer_id", customer.id.as_str());
                Ok(Self::Customer(customer))
            }
            Some(TokenOwner::App(app)) => {
                record_app_in_span(&app);
                Ok(Self::App(app))
            }
            None => Err(ApiError::unauthorized(UNKNOWN_TOKEN)),
        }
    }
}

/// Names the app (and its customer) in the current request's log span.
pub fn record_app_in_span(app: &AppRow) {
    telemetry::record_app_in_span(&app.customer_id, &app.id);
}

/// Proof that a customer token was presented: the handler gets the customer, never a raw id.
pub struct CustomerAuth(pub CustomerRow);

impl FromRequestParts<AppState> for CustomerAuth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        match AnyAuth::from_request_parts(parts, state).await? {
            AnyAuth::Customer(customer) => Ok(Self(customer)),
            AnyAuth::App(_) => Err(wrong_kind("customer")),
        }
    }
}

/// Proof that an app token was presented: the handler gets the app, never a raw id.
pub struct AppAuth(pub AppRow);

impl FromRequestParts<AppState> for AppAuth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        match AnyAuth::from_request_parts(parts, state).await? {
            AnyAuth::App(app) => Ok(Self(app)),
            AnyAuth::Customer(_) => Err(wrong_kind("app")),
        }
    }
}

pub(crate) fn wrong_kind(wanted: &str) -> ApiError {
    let article = if wanted == "app" { "an" } else { "a" };
    ApiError::unauthorized(format!(
        "this request needs {article} {wanted} token: get one from POST /v2/integrations/token with Entity \"{wanted}\""
    ))
}

/// Proof that the operator's admin token was presented.
pub struct AdminAuth;

impl FromRequestParts<AppState> for AdminAuth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let Some(admin) = &state.config.admin_token else {
            return Err(ApiError::unauthorized(
                "creating customers over HTTP is disabled: set ADMIN_TOKEN, or use `integrations-core customer create`",
            ));
        };
        let token = token_from_headers(&parts.headers).ok_or_else(|| ApiError::unauthorized(MISSING_TOKEN))?;
        if constant_time_eq(token, admin.expose()) {
            Ok(Self)
        } else {
            Err(ApiError::unauthorized("Authorization is not the admin token"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_base64_of_a_uuid_and_unique() {
        let a = mint_token();
        let b = mint_token();
        assert_eq!(a.token.len(), 48);
        let text = String::from_utf8(BASE64.decode(&a.token).unwrap()).unwrap();
        assert_eq!(Uuid::parse_str(&text).unwrap().get_version_num(), 4);
        assert_ne!(a.token, b.token);
        assert_eq!(a.hash, sha256_hex(&a.token));
        assert!(!format!("{a:?}").contains(&a.token));
    }

    #[test]
    fn raw_and_bearer_tokens_are_both_read() {
        let mut headers = HeaderMap::new();
        headers.insert(header::AUTHORIZATION, "abc".parse().unwrap());
        assert_eq!(token_from_headers(&headers), Some("abc"));
        headers.insert(header::AUTHORIZATION, "Bearer abc".parse().unwrap());
        assert_eq!(token_from_headers(&headers), Some("abc"));
        headers.insert(header::AUTHORIZATION, "bearer   ".parse().unwrap());
        assert_eq!(token_from_headers(&headers), None);
    }
}
