//! `POST /token`: trade an entity's Id and Secret for a token.

use axum::extract::State;
use serde::Deserialize;
use utoipa::ToSchema;

use super::auth::mint_token;
use super::openapi::examples;
use super::openapi::schemas::{ErrorEnvelope, StringEnvelope};
use super::{ClientAddr, JsonBody};
use crate::crypto::{constant_time_eq, SecretField};
use crate::domain::non_empty;
use crate::domain::time::now_ms;
use crate::envelope::{ApiError, Result, Success};
use crate::state::AppState;
use crate::throttle::slow_down;

/// `POST /token`: an entity's Id and Secret. All three fields are required.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct TokenRequest {
    /// Id of the entity: a CustomerID or an AppID.
    #[schema(value_type = String, required = true, max_length = 128)]
    id: Option<String>,
    /// Secret of the entity: its CustomerSecret or AppSecret.
    #[schema(value_type = String, required = true, max_length = 256)]
    secret: Option<String>,
    /// `customer` or `app` (any case).
    #[schema(value_type = Entity, required = true)]
    entity: Option<String>,
}

/// The kind of token asked for (any case is accepted).
#[derive(Clone, Copy, Debug, PartialEq, Eq, ToSchema)]
#[schema(rename_all = "lowercase")]
enum Entity {
    Customer,
    App,
}

const WRONG_CREDENTIALS: &str = "Id or Secret is wrong for this Entity";

/// Create a token
///
/// Trades an entity's Id and Secret for a token (standard base64 of a random UUID v4, 48 characters)
/// that authenticates the entity's later requests. It expires after 90 days (`TOKEN_TTL_DAYS`) and dies
/// with its entity. Wrong Id or Secret is one 401 for both cases. Repeated failures from one client
/// address are throttled with 429 and `Retry-After` (for that address only); repeated failures for one
/// Id, from any addresses, only slow the answers to wrong secrets (at most `TOKEN_FAILURE_MAX_DELAY_MS`):
/// the right secret is never refused because of others' failures.
#[utoipa::path(
    post,
    path = "/token",
    operation_id = "create_token",
    tag = "token",
    request_body(content = TokenRequest, example = json!(examples::token_request())),
    responses(
        (status = 200, description = "Token created: `Data` is the token.", body = StringEnvelope,
            example = json!(examples::token_response())),
        (status = 400, description = "Malformed JSON, or `Id`, `Secret` or `Entity` missing or invalid.", body = ErrorEnvelope),
        (status = 401, description = "Wrong Id or Secret for this Entity (one message for both).", body = ErrorEnvelope),
        (status = 429, description = "Too many failed attempts from this client address.", body = ErrorEnvelope,
            headers(("Retry-After" = u64, description = "Seconds to wait before trying again."))),
    )
)]
pub async fn create(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    JsonBody(request): JsonBody<TokenRequest>,
) -> Result<Success<String>> {
    let id = non_empty("Id", request.id, 128)?;
    let secret = non_empty("Secret", request.secret, 256)?;
    let entity = match non_empty("Entity", request.entity, 16)?.to_ascii_lowercase().as_str() {
        "customer" => Entity::Customer,
        "app" => Entity::App,
        _ => return Err(ApiError::bad_request("Entity must be customer or app")),
    };

    // Only the address's own failures refuse it: an Id is public (an AppID is in every passthru
    // URL), so a refusal keyed on it would let anyone lock its owner out.
    let address = client.map(|ip| ip.to_string()).unwrap_or_default();
    if let Some(wait) = state.token_failures.refused(&address) {
        tracing::warn!(entity_id = %id, "token request refused: too many failed attempts from this address");
        return Err(ApiError::TooManyRequests { retry_after_secs: wait.as_secs() + 1 });
    }

    let owner = match entity {
        Entity::Customer => {
            state.store.find_customer(&id).await?.map(|c| (c.id.clone(), None, c.secret, SecretField::CustomerSecret))
        }
        Entity::App => state
            .store
            .find_app_unscoped(&id)
            .await?
            .map(|a| (a.customer_id.clone(), Some(a.id.clone()), a.secret, SecretField::AppSecret)),
    };
    let verified = match owner {
        Some((customer_id, app_id, sealed, field)) => {
            let stored = state.config.keyring.open_field(field, &id, &sealed)?;
            constant_time_eq(&stored, &secret).then_some((customer_id, app_id))
        }
        None => {
            // Compare anyway so an unknown Id takes as long as a wrong Secret.
            let _ = constant_time_eq("00000000-0000-0000-0000-000000000000", &secret);
            None
        }
    };
    let Some((customer_id, app_id)) = verified else {
        let beyond_limit = state.token_failures.record_failure(&address, &id);
        let delay = slow_down(beyond_limit, state.config.token_failure_max_delay);
        tracing::info!(entity_id = %id, delay_ms = delay.as_millis() as u64, "token request with wrong credentials");
        // Many failures for this Id from anywhere: a guess spread over addresses waits for each answer.
        tokio::time::sleep(delay).await;
        return Err(ApiError::unauthorized(WRONG_CREDENTIALS));
    };

    let minted = mint_token();
    let now = now_ms();
    let expires_at = now + state.config.token_ttl.num_milliseconds();
    state.store.insert_token(&minted.hash, &customer_id, app_id.as_deref(), now, expires_at).await?;
    tracing::info!(entity_id = %id, entity = ?entity, "token issued");
    Ok(Success(minted.token))
}
