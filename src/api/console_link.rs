//! Console links (CONTRACT §14): `POST /app/console_link` hands an app a single-use link that opens
//! the web console signed in as that app, without its secret; `POST /console_link/exchange` trades
//! the link's code for an app token; `POST /admin/apps/{AppID}/console_link` gives the operator the
//! same link for any app. All answer 404 while the console is off.

use axum::extract::State;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rand::RngCore;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::auth::{mint_token, AppAuth, OperatorAuth};
use super::extract::PathParam;
use super::openapi::examples;
use super::openapi::schemas::{envelopes, ErrorEnvelope, StringEnvelope};
use super::JsonBody;
use crate::crypto::sha256_hex;
use crate::domain::non_empty;
use crate::domain::time::{display, now_ms};
use crate::envelope::{ApiError, Result, Success};
use crate::state::AppState;

/// How long a console link can be used.
pub const LINK_TTL_MS: i64 = 10 * 60 * 1000;
/// How long the token a console link is exchanged for lives.
pub const LINK_TOKEN_TTL_MS: i64 = 12 * 3600 * 1000;

const UNUSABLE: &str = "Code is unknown, already used or expired: ask for a new console link (POST /app/console_link)";

/// The answer to `POST /app/console_link`.
#[derive(Serialize, ToSchema)]
pub struct ConsoleLinkBody {
    /// `<PUBLIC_BASE_URL>/console/#link=<code>`: opens the console signed in as the app. Single use.
    #[serde(rename = "Url")]
    #[schema(format = "uri")]
    url: String,
    /// When the link stops working (10 minutes after it was made).
    #[serde(rename = "ExpiresAt")]
    #[schema(format = DateTime)]
    expires_at: String,
}

/// `POST /console_link/exchange`.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct ExchangeConsoleLink {
    /// The code of a console link: what follows `#link=` in its `Url`.
    #[schema(value_type = String, required = true, min_length = 1, max_length = 128)]
    code: Option<String>,
}

envelopes! {
    /// A success envelope whose `Data` is a console link.
    ConsoleLinkEnvelope => ConsoleLinkBody;
}

fn console_enabled(state: &AppState) -> Result<()> {
    if state.config.console_enabled {
        Ok(())
    } else {
        Err(ApiError::not_found("the console is turned off on this server (CONSOLE_ENABLED=false)"))
    }
}

/// Create a console link
///
/// A single-use link, valid 10 minutes, that opens the web console signed in as this app without
/// its secret (an addition to the seed): hand it to the CRM's admin user, or frame it (framing is
/// allowed only for the origins of `CONSOLE_FRAME_ANCESTORS`). Only the code's SHA-256 is stored.
#[utoipa::path(
    post,
    path = "/app/console_link",
    operation_id = "create_console_link",
    tag = "console",
    security(("app_token" = [])),
    responses(
        (status = 200, description = "The link and when it expires.", body = ConsoleLinkEnvelope,
            example = json!(examples::console_link_response())),
        (status = 404, description = "The console is turned off (`CONSOLE_ENABLED=false`).", body = ErrorEnvelope),
    )
)]
pub async fn create(State(state): State<AppState>, AppAuth(app): AppAuth) -> Result<Success<ConsoleLinkBody>> {
    console_enabled(&state)?;
    Ok(Success(issue(&state, &app.id).await?))
}

/// Create a console link for any app
///
/// The operator's way into one app's console (an addition to the seed), for following a failing
/// app to its dead deliveries without its secret: the same single-use link, valid 10 minutes, as
/// `POST /app/console_link` gives the app itself.
#[utoipa::path(
    post,
    path = "/admin/apps/{app_id}/console_link",
    operation_id = "admin_create_console_link",
    tag = "admin",
    security(("admin_token" = [])),
    params(("app_id" = String, Path, description = "The app's `AppID`.")),
    responses(
        (status = 200, description = "The link and when it expires.", body = ConsoleLinkEnvelope,
            example = json!(examples::console_link_response())),
        (status = 404, description = "No app with that `AppID`, or the console is turned off (`CONSOLE_ENABLED=false`).", body = ErrorEnvelope),
    )
)]
pub async fn create_for_operator(
    _admin: OperatorAuth,
    State(state): State<AppState>,
    PathParam(app_id): PathParam<String>,
) -> Result<Success<ConsoleLinkBody>> {
    console_enabled(&state)?;
    let app = state.store.find_app_unscoped(&app_id).await?.ok_or_else(|| ApiError::not_found("app not found"))?;
    tracing::info!(app_id = %app.id, "the operator asked for a console link");
    Ok(Success(issue(&state, &app.id).await?))
}

/// Stores a new link's code (its SHA-256 only) for the app and answers the link; its callers have
/// checked that the console is on.
async fn issue(state: &AppState, app_id: &str) -> Result<ConsoleLinkBody> {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let code = URL_SAFE_NO_PAD.encode(bytes);
    let now = now_ms();
    let expires_at = now + LINK_TTL_MS;
    state.store.insert_console_link(app_id, &sha256_hex(&code), now, expires_at).await?;
    tracing::info!(app_id = %app_id, "console link created");
    Ok(ConsoleLinkBody {
        url: format!("{}/console/#link={code}", state.config.public_base_url),
        expires_at: display(expires_at, state.config.display_offset),
    })
}

/// Exchange a console link's code for a token
///
/// Trades the code of a console link for an app token valid 12 hours (`Data` is the token, as from
/// `POST /token`). A code works once: a second exchange, like an expired or unknown code, is a 401.
#[utoipa::path(
    post,
    path = "/console_link/exchange",
    operation_id = "exchange_console_link",
    tag = "console",
    request_body(content = ExchangeConsoleLink, example = json!(examples::console_link_exchange_request())),
    responses(
        (status = 200, description = "An app token valid 12 hours: `Data` is the token.", body = StringEnvelope,
            example = json!(examples::token_response())),
        (status = 400, description = "Malformed JSON, or `Code` missing or longer than 128 characters.", body = ErrorEnvelope),
        (status = 401, description = "The code is unknown, already used or expired.", body = ErrorEnvelope),
        (status = 404, description = "The console is turned off (`CONSOLE_ENABLED=false`).", body = ErrorEnvelope),
    )
)]
pub async fn exchange(
    State(state): State<AppState>,
    JsonBody(request): JsonBody<ExchangeConsoleLink>,
) -> Result<Success<String>> {
    console_enabled(&state)?;
    let code = non_empty("Code", request.code, 128)?;
    let now = now_ms();
    let Some(app_id) = state.store.take_console_link(&sha256_hex(&code), now).await? else {
        tracing::info!("console link refused: unknown, used or expired");
        return Err(ApiError::unauthorized(UNUSABLE));
    };
    // The app may have been deleted since: its links went with it (cascade), so this is a race only.
    let app = state.store.find_app_unscoped(&app_id).await?.ok_or_else(|| ApiError::unauthorized(UNUSABLE))?;
    let minted = mint_token();
    state.store.insert_token(&minted.hash, &app.customer_id, Some(&app.id), now, now + LINK_TOKEN_TTL_MS).await?;
    tracing::info!(app_id = %app.id, "console link exchanged for an app token");
    Ok(Success(minted.token))
}
