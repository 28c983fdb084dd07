//! Tokens (minted at random, stored only as SHA-256) and the extractors that prove who is asking.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, HeaderMap};
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use uuid::Uuid;

use super::ClientAddr;
use crate::crypto::{constant_time_eq, sha256_hex};
use crate::domain::time::now_ms;
use crate::envelope::ApiError;
use crate::state::AppState;
use crate::store::{AppRow, CustomerRow, TokenOwner};
use crate::telemetry;
use crate::throttle::slow_down;

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

/// Proof that the operator's admin token was presented to `POST /customer`: checked, and its
/// failures throttled, as [`OperatorAuth`]'s are (one throttle: guessing here is guessing there),
/// with the answers `POST /customer` has always given.
pub struct AdminAuth;

impl FromRequestParts<AppState> for AdminAuth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        match check_admin_token(parts, state).await {
            Ok(()) => Ok(Self),
            Err(AdminRefusal::Throttled(error)) => Err(error),
            Err(AdminRefusal::Unconfigured) => Err(ApiError::unauthorized(
                "creating customers over HTTP is disabled: set ADMIN_TOKEN, or use `integrations-core customer create`",
            )),
            Err(AdminRefusal::Missing) => Err(ApiError::unauthorized(MISSING_TOKEN)),
            Err(AdminRefusal::Wrong) => Err(ApiError::unauthorized("Authorization is not the admin token")),
        }
    }
}

/// Proof that the operator's admin token was presented to an `/admin/...` route. The token is
/// compared in constant time; wrong ones are throttled as `POST /token`'s wrong secrets are, with
/// the same limits but counted apart (`AppState::admin_failures`): an address that guesses is refused
/// with 429, and the admin token's failures from everywhere slow its wrong answers. Every refusal is the same 401 whether or not an admin
/// token is configured, and comes before anything about the customer or app asked for is read.
pub struct OperatorAuth;

/// The throttle's Id for failures of the admin token.
const ADMIN_THROTTLE_ID: &str = "ADMIN_TOKEN";

const NOT_ADMIN: &str =
    "Authorization must be the operator's admin token (ADMIN_TOKEN); with no ADMIN_TOKEN configured the operator API is off";

impl FromRequestParts<AppState> for OperatorAuth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        match check_admin_token(parts, state).await {
            Ok(()) => Ok(Self),
            Err(AdminRefusal::Throttled(error)) => Err(error),
            Err(AdminRefusal::Unconfigured | AdminRefusal::Missing | AdminRefusal::Wrong) => {
                Err(ApiError::unauthorized(NOT_ADMIN))
            }
        }
    }
}

/// Why an admin token was not accepted.
enum AdminRefusal {
    /// This address has failed too often: the 429 to answer.
    Throttled(ApiError),
    /// No `ADMIN_TOKEN` is configured (a token was presented and compared anyway).
    Unconfigured,
    Missing,
    /// Counted as a failure, and answered after the throttle's delay.
    Wrong,
}

async fn check_admin_token(parts: &mut Parts, state: &AppState) -> Result<(), AdminRefusal> {
    let Ok(ClientAddr(client)) = ClientAddr::from_request_parts(parts, state).await;
    let address = client.map(|ip| ip.to_string()).unwrap_or_default();
    if let Some(wait) = state.admin_failures.refused(&address) {
        tracing::warn!("admin request refused: too many failed attempts from this address");
        return Err(AdminRefusal::Throttled(ApiError::TooManyRequests { retry_after_secs: wait.as_secs() + 1 }));
    }
    let Some(token) = token_from_headers(&parts.headers) else {
        return Err(match state.config.admin_token {
            Some(_) => AdminRefusal::Missing,
            None => AdminRefusal::Unconfigured,
        });
    };
    let verified = match &state.config.admin_token {
        Some(admin) => constant_time_eq(token, admin.expose()),
        None => {
            // Compare anyway: an unconfigured server answers as slowly as a configured one.
            let _ = constant_time_eq(token, "00000000-0000-0000-0000-000000000000");
            false
        }
    };
    if verified {
        return Ok(());
    }
    let beyond_limit = state.admin_failures.record_failure(&address, ADMIN_THROTTLE_ID);
    let delay = slow_down(beyond_limit, state.config.token_failure_max_delay);
    tracing::info!(delay_ms = delay.as_millis() as u64, "admin request with a wrong token");
    tokio::time::sleep(delay).await;
    match state.config.admin_token {
        Some(_) => Err(AdminRefusal::Wrong),
        None => Err(AdminRefusal::Unconfigured),
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
