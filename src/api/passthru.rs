//! `/app/passthru`: the signed passthru (CONTRACT 13). The app's passthru URLs carrying its key,
//! whether a passthru must carry it, and the check Exotel's passthru makes before it records.

use axum::extract::State;
use rand::RngCore;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::auth::AppAuth;
use super::openapi::examples;
use super::openapi::schemas::{envelopes, ErrorEnvelope};
use super::{JsonBody, BASE_PATH};
use crate::crypto::{constant_time_eq, sha256_hex, SecretField};
use crate::domain::call::InboundType;
use crate::domain::time::now_ms;
use crate::envelope::{ApiError, Result, Success};
use crate::state::AppState;
use crate::store::{AppRow, NewPassthruKey, PassthruKeyRow, PassthruKeyRule};

/// The passthru parameter that carries the app's key.
pub const KEY_PARAMETER: &str = "key";

/// `PUT /app/passthru`: both fields optional; `{}` changes nothing.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdatePassthru {
    /// `true`: from now on a passthru without the app's key (the `key` of the URLs below) is a 401
    /// and records nothing. `false`: the unsigned URL works again (the default, as Exotel's).
    #[serde(rename = "Required")]
    required: Option<bool>,
    /// `true` issues a new key: the old one stops at once, so put the new URLs in the Exotel flow
    /// first if the key is required.
    #[serde(rename = "RenewKey")]
    renew_key: Option<bool>,
}

/// The app's passthru URLs for its Exotel flow, each carrying the app's key.
#[derive(Serialize, ToSchema)]
pub struct PassthruBody {
    /// Whether a passthru must carry the key (else the URL without `key` works too).
    #[serde(rename = "Required")]
    required: bool,
    /// The Connect applet's "Create popup" URL (`type=popup`).
    #[serde(rename = "Popup")]
    #[schema(format = "uri")]
    popup: String,
    /// The Passthru applet's URL after the call (`type=incomingcallhungup`).
    #[serde(rename = "IncomingCallHangup")]
    #[schema(format = "uri")]
    incoming_call_hangup: String,
    /// The Passthru applet's URL for an unanswered call (`type=missedcall`).
    #[serde(rename = "MissedCall")]
    #[schema(format = "uri")]
    missed_call: String,
}

envelopes! {
    /// A success envelope whose `Data` is the app's passthru URLs.
    PassthruEnvelope => PassthruBody;
}

/// Get the app's passthru URLs
///
/// The three passthru URLs for the app's Exotel flow, each carrying the app's passthru key in its
/// `key` parameter (a form-POSTed passthru may carry `key` in its query or its body), and whether a
/// passthru must carry it (an addition to the seed: the unsigned URL stays the default, as Exotel's).
#[utoipa::path(
    get,
    path = "/app/passthru",
    operation_id = "get_passthru",
    tag = "app",
    security(("app_token" = [])),
    responses(
        (status = 200, description = "The app's passthru URLs and whether the key is required.",
            body = PassthruEnvelope, example = json!(examples::passthru_response())),
        (status = 404, description = "The app is gone.", body = ErrorEnvelope),
    )
)]
pub async fn get(State(state): State<AppState>, AppAuth(app): AppAuth) -> Result<Success<PassthruBody>> {
    let stored = state.store.passthru_key(&app.customer_id, &app.id).await?.ok_or_else(app_gone)?;
    passthru_body(&state, &app, stored).await.map(Success)
}

/// Require the passthru key, or renew it
///
/// `Required: true` refuses (401, nothing recorded) every passthru that does not carry the app's
/// key; `false` lets the unsigned URL work again. `RenewKey: true` issues a new key: the old one
/// stops at once. Answers the passthru URLs, as `GET /app/passthru` does.
#[utoipa::path(
    put,
    path = "/app/passthru",
    operation_id = "update_passthru",
    tag = "app",
    security(("app_token" = [])),
    request_body(content = UpdatePassthru, example = json!(examples::passthru_update_request())),
    responses(
        (status = 200, description = "The app's passthru URLs (with the new key after `RenewKey`).",
            body = PassthruEnvelope, example = json!(examples::passthru_response())),
        (status = 400, description = "Malformed JSON, `Required` or `RenewKey` not a boolean, or another field (named in the message).", body = ErrorEnvelope),
        (status = 404, description = "The app is gone.", body = ErrorEnvelope),
    )
)]
pub async fn update(
    State(state): State<AppState>,
    AppAuth(app): AppAuth,
    JsonBody(request): JsonBody<UpdatePassthru>,
) -> Result<Success<PassthruBody>> {
    let renewed = request.renew_key.unwrap_or(false).then(|| new_key(&state, &app));
    let stored = if request.required.is_none() && renewed.is_none() {
        state.store.passthru_key(&app.customer_id, &app.id).await?
    } else {
        state.store.update_passthru_key(&app.customer_id, &app.id, request.required, renewed.as_ref(), now_ms()).await?
    };
    let stored = stored.ok_or_else(app_gone)?;
    tracing::info!(app_id = %app.id, required = stored.required, renewed = renewed.is_some(), "passthru key settings changed");
    passthru_body(&state, &app, stored).await.map(Success)
}

/// Refuses (401) a passthru that does not carry the app's key while the app requires it. The key is
/// compared through its SHA-256 in constant time, and the answer says nothing of how close a wrong
/// key came.
pub fn check_key(rule: &PassthruKeyRule, presented: Option<&str>) -> Result<()> {
    if !rule.required {
        return Ok(());
    }
    let Some(presented) = presented else {
        return Err(refused("the request carried no `key` parameter"));
    };
    let hash = sha256_hex(presented);
    // An app asked to require its key before it had one: no key is right.
    let expected = rule.key_hash.as_deref().unwrap_or_default();
    if constant_time_eq(&hash, expected) && !expected.is_empty() {
        Ok(())
    } else {
        Err(refused("the request's `key` is not the app's current key"))
    }
}

fn refused(what: &str) -> ApiError {
    ApiError::unauthorized(format!(
        "this app requires its passthru key and {what}: use the passthru URLs GET {BASE_PATH}/app/passthru \
         lists (a renewed key replaces the old one), or let unsigned passthrus in with \
         PUT {BASE_PATH}/app/passthru {{\"Required\": false}}"
    ))
}

fn app_gone() -> ApiError {
    ApiError::not_found("app not found")
}

/// A fresh key for the app: 32 random bytes in hex (safe in a URL as it is), sealed under the app's
/// id, and its hash. `POST /app` gives every new app one.
pub fn new_key(state: &AppState, app: &AppRow) -> NewPassthruKey {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let key = hex::encode(bytes);
    NewPassthruKey {
        sealed: state.config.keyring.seal_field(SecretField::PassthruKey, &app.id, &key),
        hash: sha256_hex(&key),
    }
}

/// The answer: the stored key opened into the three URLs. An app created before passthru keys
/// existed gets its key now.
async fn passthru_body(state: &AppState, app: &AppRow, stored: PassthruKeyRow) -> Result<PassthruBody> {
    let stored = match stored.sealed_key() {
        Some(_) => stored,
        None => {
            let key = new_key(state, app);
            let stored =
                state.store.add_missing_passthru_key(&app.customer_id, &app.id, &key).await?.ok_or_else(app_gone)?;
            tracing::info!(app_id = %app.id, "passthru key issued to an app that had none");
            stored
        }
    };
    let sealed = stored.sealed_key().ok_or_else(|| ApiError::internal(anyhow::anyhow!("passthru key not stored")))?;
    // A key no configured master key opens is a 500 whose log line names the column and row.
    let key = state.config.keyring.open_field(SecretField::PassthruKey, &app.id, &sealed)?;
    let url = |kind: InboundType| {
        format!(
            "{}{BASE_PATH}/call/inbound_call/{}?type={}&{KEY_PARAMETER}={key}",
            state.config.public_base_url,
            app.id,
            kind.as_str()
        )
    };
    Ok(PassthruBody {
        required: stored.required,
        popup: url(InboundType::Popup),
        incoming_call_hangup: url(InboundType::IncomingCallHungUp),
        missed_call: url(InboundType::MissedCall),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(required: bool, key: Option<&str>) -> PassthruKeyRule {
        PassthruKeyRule { required, key_hash: key.map(sha256_hex) }
    }

    #[test]
    fn only_the_right_key_passes_while_required_and_anything_passes_otherwise() {
        assert!(check_key(&rule(true, Some("k1")), Some("k1")).is_ok());
        assert!(check_key(&rule(true, Some("k1")), Some("k2")).is_err());
        assert!(check_key(&rule(true, Some("k1")), None).is_err());
        assert!(check_key(&rule(false, Some("k1")), None).is_ok());
        assert!(check_key(&rule(false, Some("k1")), Some("k2")).is_ok());
    }

    #[test]
    fn an_app_required_before_it_had_a_key_lets_nothing_in() {
        let keyless = rule(true, None);
        for presented in [None, Some(""), Some("anything")] {
            assert!(check_key(&keyless, presented).is_err(), "{presented:?}");
        }
    }

    #[test]
    fn the_rule_never_prints_the_keys_hash() {
        let printed = format!("{:?}", rule(true, Some("k1")));
        assert!(!printed.contains(&sha256_hex("k1")), "{printed}");
    }
}
