//! `/app/secret` and `/customer/secret`: rotate a secret (CONTRACT 13). An app's replaced secret
//! keeps signing webhooks, second after the new one, for a grace window; a customer's dies at once.

use axum::extract::State;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;
use uuid::Uuid;

use super::auth::{AppAuth, CustomerAuth};
use super::openapi::examples;
use super::openapi::schemas::{envelopes, ErrorEnvelope};
use super::JsonBody;
use crate::crypto::SecretField;
use crate::domain::time::{display, now_ms};
use crate::envelope::{ApiError, Result, Success};
use crate::state::AppState;
use crate::store::AppSecretRotation;

/// The grace window when `GraceHours` is not sent.
const DEFAULT_GRACE_HOURS: i64 = 24;
/// The longest grace window: a week.
const MAX_GRACE_HOURS: u64 = 168;
/// How many times a rotation that raced another one is tried again.
const ROTATION_TRIES: usize = 3;

/// `POST /app/secret`: both fields optional.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct RotateAppSecret {
    /// Hours (0–168, default 24) during which webhooks also carry a signature made with the replaced
    /// secret, after the new one's. 0 drops the replaced secret at once (a leak).
    #[schema(value_type = Option<i64>, minimum = 0, maximum = 168, default = 24)]
    grace_hours: Option<Value>,
    /// `true` deletes every token of the app, the caller's included (default `false`).
    revoke_tokens: Option<bool>,
}

/// `POST /customer/secret`: the field is optional.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct RotateCustomerSecret {
    /// `true` deletes every customer token of the customer (not its apps' tokens; default `false`).
    revoke_tokens: Option<bool>,
}

/// The answer to `POST /app/secret`.
#[derive(Serialize, ToSchema)]
pub struct RotatedAppSecretBody {
    #[serde(rename = "AppID")]
    #[schema(format = "uuid")]
    app_id: String,
    /// The new secret: mints the app's tokens from now on and signs its webhooks. Shown only here.
    #[serde(rename = "AppSecret")]
    app_secret: String,
    /// When webhooks stop carrying the replaced secret's signature; `null` with `GraceHours: 0`.
    #[serde(rename = "PreviousSecretExpiresAt")]
    #[schema(format = DateTime)]
    previous_secret_expires_at: Option<String>,
}

/// The answer to `POST /customer/secret`.
#[derive(Serialize, ToSchema)]
pub struct RotatedCustomerSecretBody {
    #[serde(rename = "CustomerID")]
    #[schema(format = "uuid")]
    customer_id: String,
    /// The new secret; the old one no longer mints tokens. Shown only here and in `GET /customer`.
    #[serde(rename = "CustomerSecret")]
    customer_secret: String,
}

envelopes! {
    /// A success envelope whose `Data` is the app's new secret.
    RotatedAppSecretEnvelope => RotatedAppSecretBody;
    /// A success envelope whose `Data` is the customer's new secret.
    RotatedCustomerSecretEnvelope => RotatedCustomerSecretBody;
}

/// `GraceHours` as a whole number of hours from 0 to 168.
fn grace_hours(value: Option<Value>) -> Result<i64> {
    let rule = format!("GraceHours must be a whole number of hours from 0 to {MAX_GRACE_HOURS}");
    let found = match value {
        None | Some(Value::Null) => return Ok(DEFAULT_GRACE_HOURS),
        Some(Value::Number(n)) => match n.as_u64() {
            Some(hours) if hours <= MAX_GRACE_HOURS => return Ok(hours as i64),
            _ => format!("`{n}`"),
        },
        Some(Value::String(_)) => "a string".to_string(),
        Some(Value::Bool(_)) => "a boolean".to_string(),
        Some(Value::Array(_)) => "an array".to_string(),
        Some(Value::Object(_)) => "an object".to_string(),
    };
    Err(ApiError::bad_request(format!("{rule}, not {found}")))
}

/// Rotate the app's secret
///
/// A new `AppSecret` (an addition to the seed): from now on only it mints the app's tokens. For
/// `GraceHours` (default 24) every webhook carries two signatures in `webhook-signature`, the new
/// secret's first, then the replaced one's, so receivers can switch secrets without losing a
/// webhook; after it, only the new one. `GraceHours: 0` drops the replaced secret at once (a leak).
/// Rotating again keeps only the secret just replaced as the previous one. `RevokeTokens: true`
/// deletes every token of the app, the caller's included; without it, tokens minted earlier live on.
#[utoipa::path(
    post,
    path = "/app/secret",
    operation_id = "rotate_app_secret",
    tag = "app",
    security(("app_token" = [])),
    request_body(content = RotateAppSecret, example = json!(examples::rotate_app_secret_request())),
    responses(
        (status = 200, description = "The new secret, and the end of the replaced one's grace.",
            body = RotatedAppSecretEnvelope, example = json!(examples::rotate_app_secret_response())),
        (status = 400, description = "Malformed JSON, `GraceHours` not a whole number from 0 to 168, or `RevokeTokens` not a boolean.", body = ErrorEnvelope),
        (status = 404, description = "The app is gone.", body = ErrorEnvelope),
        (status = 409, description = "Other rotations of the app's secret kept winning the race; nothing was changed, try again.", body = ErrorEnvelope),
    )
)]
pub async fn rotate_app(
    State(state): State<AppState>,
    AppAuth(app): AppAuth,
    JsonBody(request): JsonBody<RotateAppSecret>,
) -> Result<Success<RotatedAppSecretBody>> {
    let grace_hours = grace_hours(request.grace_hours)?;
    let revoke_tokens = request.revoke_tokens.unwrap_or(false);
    let key = &state.config.keyring;
    let secret = Uuid::new_v4().to_string();
    for _ in 0..ROTATION_TRIES {
        let current =
            state.store.find_app_unscoped(&app.id).await?.ok_or_else(|| ApiError::not_found("app not found"))?;
        let now = now_ms();
        let previous = if grace_hours > 0 {
            let replaced = key.open_field(SecretField::AppSecret, &app.id, &current.secret).map_err(|error| {
                tracing::error!(app_id = %app.id, %error, "the app's secret (apps.secret) does not open; cannot rotate");
                ApiError::from(error)
            })?;
            Some((key.seal_field(SecretField::PreviousAppSecret, &app.id, &replaced), now + grace_hours * 3_600_000))
        } else {
            None
        };
        let until = previous.as_ref().map(|(_, until)| *until);
        let rotation = AppSecretRotation {
            app_id: &app.id,
            replaced: &current.secret,
            secret: key.seal_field(SecretField::AppSecret, &app.id, &secret),
            previous,
            revoke_tokens,
            now,
        };
        if state.store.rotate_app_secret(rotation).await? {
            state.outbox.secret_rotated(&app.id);
            tracing::info!(app_id = %app.id, grace_hours, revoke_tokens, "app secret rotated");
            return Ok(Success(RotatedAppSecretBody {
                app_id: app.id.clone(),
                app_secret: secret,
                previous_secret_expires_at: until.map(|at| display(at, state.config.display_offset)),
            }));
        }
    }
    Err(ApiError::conflict("the app's secret was being rotated by other requests at the same time; try again"))
}

/// Rotate the customer's secret
///
/// A new `CustomerSecret` (an addition to the seed); the old one stops minting tokens at once.
/// `RevokeTokens: true` deletes every customer token of the customer, the caller's included (its
/// apps' tokens live on); without it, tokens minted earlier live on.
#[utoipa::path(
    post,
    path = "/customer/secret",
    operation_id = "rotate_customer_secret",
    tag = "customer",
    security(("customer_token" = [])),
    request_body(content = RotateCustomerSecret, example = json!(examples::rotate_customer_secret_request())),
    responses(
        (status = 200, description = "The new secret.", body = RotatedCustomerSecretEnvelope,
            example = json!(examples::rotate_customer_secret_response())),
        (status = 400, description = "Malformed JSON, or `RevokeTokens` not a boolean.", body = ErrorEnvelope),
        (status = 404, description = "The customer is gone.", body = ErrorEnvelope),
    )
)]
pub async fn rotate_customer(
    State(state): State<AppState>,
    CustomerAuth(customer): CustomerAuth,
    JsonBody(request): JsonBody<RotateCustomerSecret>,
) -> Result<Success<RotatedCustomerSecretBody>> {
    let revoke_tokens = request.revoke_tokens.unwrap_or(false);
    let secret = Uuid::new_v4().to_string();
    let sealed = state.config.keyring.seal_field(SecretField::CustomerSecret, &customer.id, &secret);
    if !state.store.rotate_customer_secret(&customer.id, &sealed, revoke_tokens, now_ms()).await? {
        return Err(ApiError::not_found("customer not found"));
    }
    tracing::info!(customer_id = %customer.id, revoke_tokens, "customer secret rotated");
    Ok(Success(RotatedCustomerSecretBody { customer_id: customer.id.clone(), customer_secret: secret }))
}
