//! `POST /token`: trade an entity's Id and Secret for a token.

use axum::extract::State;
use serde::Deserialize;

use super::{ClientAddr, JsonBody};
use crate::app::AppState;
use crate::auth::mint_token;
use crate::crypto::{constant_time_eq, SecretField};
use crate::domain::non_empty;
use crate::domain::time::now_ms;
use crate::envelope::{ApiError, Result, Success};

#[derive(Deserialize)]
pub struct TokenRequest {
    #[serde(rename = "Id")]
    id: Option<String>,
    #[serde(rename = "Secret")]
    secret: Option<String>,
    #[serde(rename = "Entity")]
    entity: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Entity {
    Customer,
    App,
}

const WRONG_CREDENTIALS: &str = "Id or Secret is wrong for this Entity";

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

    let address_key = format!("addr:{}", client.map(|ip| ip.to_string()).unwrap_or_default());
    let id_key = format!("id:{id}");
    let keys = [address_key.as_str(), id_key.as_str()];
    if let Some(wait) = state.token_failures.blocked(&keys) {
        tracing::warn!(entity_id = %id, "token request refused: too many failed attempts");
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
            let stored = state.config.master_key.open_field(field, &id, &sealed)?;
            constant_time_eq(&stored, &secret).then_some((customer_id, app_id))
        }
        None => {
            // Compare anyway so an unknown Id takes as long as a wrong Secret.
            let _ = constant_time_eq("00000000-0000-0000-0000-000000000000", &secret);
            None
        }
    };
    let Some((customer_id, app_id)) = verified else {
        state.token_failures.record_failure(&keys);
        tracing::info!(entity_id = %id, "token request with wrong credentials");
        return Err(ApiError::unauthorized(WRONG_CREDENTIALS));
    };

    let minted = mint_token();
    let now = now_ms();
    let expires_at = now + state.config.token_ttl.num_milliseconds();
    state.store.insert_token(&minted.hash, &customer_id, app_id.as_deref(), now, expires_at).await?;
    tracing::info!(entity_id = %id, entity = ?entity, "token issued");
    Ok(Success(minted.token))
}
