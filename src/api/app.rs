//! `/app`: register an app under a customer, read, update and delete it.

use axum::extract::State;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::auth::{wrong_kind, AnyAuth, AppAuth, CustomerAuth};
use super::extract::parse_json_value;
use super::openapi::examples;
use super::openapi::schemas::{envelopes, ErrorEnvelope, StringEnvelope};
use super::{JsonBody, QueryParams};
use crate::crypto::SecretField;
use crate::domain::time::{display, now_ms};
use crate::domain::{non_empty, ExotelDomain, FieldError};
use crate::envelope::{ApiError, Result, Success};
use crate::state::AppState;
use crate::store::{AppRow, AppUpdate};

/// `POST /app`: a new app. Every field is required.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct CreateApp {
    /// Application name (1–200 characters).
    #[schema(value_type = String, required = true, min_length = 1, max_length = 200)]
    app_name: Option<String>,
    /// Account SID from the Exotel dashboard.
    #[schema(value_type = String, required = true, min_length = 1, max_length = 128)]
    exotel_account_sid: Option<String>,
    /// API key from the Exotel dashboard (stored encrypted).
    #[schema(value_type = String, required = true, min_length = 1, max_length = 512)]
    exotel_api_key: Option<String>,
    /// API token from the Exotel dashboard (stored encrypted).
    #[schema(value_type = String, required = true, min_length = 1, max_length = 512)]
    exotel_api_token: Option<String>,
    /// `mumbai`, `singapore` or `sandbox` (any case in, lowercase stored). `sandbox` apps never call Exotel.
    #[schema(value_type = ExotelDomain, required = true)]
    exotel_domain: Option<String>,
    /// Whether the app may place calls.
    #[schema(value_type = bool, required = true)]
    is_active: Option<bool>,
}

/// `PUT /app`: a partial update; send at least one field. Any other field (`AppSecret`, `AppID`,
/// `ExotelAccountSid`, a misspelt name, …) is a 400 naming it: nothing is silently left unchanged.
#[derive(Deserialize, ToSchema)]
// `refuse_unchangeable` checks the names first, with a clearer message; this marks the schema closed.
#[serde(deny_unknown_fields)]
pub struct UpdateApp {
    #[serde(rename = "AppName")]
    #[schema(min_length = 1, max_length = 200)]
    app_name: Option<String>,
    #[serde(rename = "ExotelApiKey")]
    #[schema(min_length = 1, max_length = 512)]
    exotel_api_key: Option<String>,
    #[serde(rename = "ExotelApiToken")]
    #[schema(min_length = 1, max_length = 512)]
    exotel_api_token: Option<String>,
    #[serde(rename = "ExotelDomain")]
    #[schema(value_type = Option<ExotelDomain>)]
    exotel_domain: Option<String>,
    #[serde(rename = "IsActive")]
    is_active: Option<bool>,
}

/// The answer to `POST /app`: the only response that ever carries the secrets.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct CreatedAppBody {
    #[serde(rename = "AppID")]
    #[schema(format = "uuid")]
    app_id: String,
    /// The secret to trade for an app token; also the key of the webhook signatures. Shown only here.
    app_secret: String,
    #[serde(rename = "CustomerID")]
    customer_id: String,
    app_name: String,
    exotel_account_sid: String,
    exotel_api_key: String,
    exotel_api_token: String,
    #[schema(value_type = ExotelDomain)]
    exotel_domain: String,
    is_active: bool,
    #[schema(format = DateTime)]
    created_at: String,
    #[schema(format = DateTime)]
    updated_at: String,
}

/// The public app object: no secrets.
#[derive(Serialize, Debug, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct AppBody {
    #[serde(rename = "AppID")]
    #[schema(format = "uuid")]
    app_id: String,
    #[serde(rename = "CustomerID")]
    customer_id: String,
    app_name: String,
    exotel_account_sid: String,
    #[schema(value_type = ExotelDomain)]
    exotel_domain: String,
    is_active: bool,
    #[schema(format = DateTime)]
    created_at: String,
    #[schema(format = DateTime)]
    updated_at: String,
}

impl AppBody {
    pub fn new(row: &AppRow, offset: chrono::FixedOffset) -> Self {
        Self {
            app_id: row.id.clone(),
            customer_id: row.customer_id.clone(),
            app_name: row.name.clone(),
            exotel_account_sid: row.exotel_account_sid.clone(),
            exotel_domain: row.exotel_domain.as_str().to_string(),
            is_active: row.is_active,
            created_at: display(row.created_at, offset),
            updated_at: display(row.updated_at, offset),
        }
    }
}

fn required_bool(field: &str, value: Option<bool>) -> Result<bool, FieldError> {
    value.ok_or_else(|| FieldError(format!("{field} is required and must be true or false")))
}

/// Create an app
///
/// Registers an app under the token's customer. This is the only answer that ever carries
/// `AppSecret`, `ExotelApiKey` or `ExotelApiToken`.
#[utoipa::path(
    post,
    path = "/app",
    operation_id = "create_app",
    tag = "app",
    security(("customer_token" = [])),
    request_body(content = CreateApp, example = json!(examples::app_request())),
    responses(
        (status = 200, description = "App created, secrets included.", body = CreatedAppEnvelope,
            example = json!(examples::app_created())),
        (status = 400, description = "Malformed JSON, or a field missing or invalid (e.g. an unknown `ExotelDomain`).", body = ErrorEnvelope),
    )
)]
pub async fn create(
    State(state): State<AppState>,
    CustomerAuth(customer): CustomerAuth,
    JsonBody(request): JsonBody<CreateApp>,
) -> Result<Success<CreatedAppBody>> {
    let app_name = non_empty("AppName", request.app_name, 200)?;
    let account_sid = non_empty("ExotelAccountSid", request.exotel_account_sid, 128)?;
    let api_key = non_empty("ExotelApiKey", request.exotel_api_key, 512)?;
    let api_token = non_empty("ExotelApiToken", request.exotel_api_token, 512)?;
    let domain = ExotelDomain::parse(&non_empty("ExotelDomain", request.exotel_domain, 32)?)?;
    let is_active = required_bool("IsActive", request.is_active)?;

    let key = &state.config.keyring;
    let id = Uuid::new_v4().to_string();
    let secret = Uuid::new_v4().to_string();
    let now = now_ms();
    let row = AppRow {
        customer_id: customer.id.clone(),
        name: app_name,
        exotel_account_sid: account_sid,
        exotel_api_key: key.seal_field(SecretField::ExotelApiKey, &id, &api_key),
        exotel_api_token: key.seal_field(SecretField::ExotelApiToken, &id, &api_token),
        exotel_domain: domain,
        is_active,
        secret: key.seal_field(SecretField::AppSecret, &id, &secret),
        created_at: now,
        updated_at: now,
        id,
    };
    let passthru_key = super::passthru::new_key(&state, &row);
    state.store.insert_app(&row, Some(&passthru_key)).await?;
    tracing::info!(app_id = %row.id, domain = domain.as_str(), "app created");

    let public = AppBody::new(&row, state.config.display_offset);
    Ok(Success(CreatedAppBody {
        app_id: public.app_id,
        app_secret: secret,
        customer_id: public.customer_id,
        app_name: public.app_name,
        exotel_account_sid: public.exotel_account_sid,
        exotel_api_key: api_key,
        exotel_api_token: api_token,
        exotel_domain: public.exotel_domain,
        is_active: public.is_active,
        created_at: public.created_at,
        updated_at: public.updated_at,
    }))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AppQuery {
    /// `app` (with an app token: that app) or `customer` (with a customer token: all its apps).
    /// Without it, the token's kind decides; a token of the other kind is a 401.
    #[param(value_type = Option<AppEntity>)]
    entity: Option<String>,
}

/// The `entity` query parameter of `GET /app` (any case).
#[derive(ToSchema)]
#[schema(rename_all = "lowercase")]
pub enum AppEntity {
    App,
    Customer,
}

/// Either one app (app token) or the customer's apps (customer token).
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
pub enum AppOrApps {
    One(AppBody),
    Many(Vec<AppBody>),
}

envelopes! {
    /// A success envelope whose `Data` is the newly created app, secrets included.
    CreatedAppEnvelope => CreatedAppBody;
    /// A success envelope whose `Data` is the public app object.
    AppEnvelope => AppBody;
    /// A success envelope whose `Data` is one app (app token) or the customer's apps (customer token).
    AppOrAppsEnvelope => AppOrApps;
}

/// Get the app, or the customer's apps
///
/// With an app token (`?entity=app`): the app. With a customer token (`?entity=customer`): an array
/// of the customer's apps, oldest first. Without `entity`, the token's kind decides.
#[utoipa::path(
    get,
    path = "/app",
    operation_id = "get_app",
    tag = "app",
    security(("app_token" = []), ("customer_token" = [])),
    params(AppQuery),
    responses(
        (status = 200, description = "One app (app token) or an array of apps (customer token).", body = AppOrAppsEnvelope,
            examples(
                ("entity=app" = (summary = "An app token: the app", value = json!(examples::app_response()))),
                ("entity=customer" = (summary = "A customer token: its apps", value = json!(examples::apps_response()))),
            )),
        (status = 400, description = "`entity` is neither `app` nor `customer`.", body = ErrorEnvelope),
        (status = 401, description = "Missing, unknown or expired token, or a token of the other kind than `entity`.", body = ErrorEnvelope),
    )
)]
pub async fn get(
    State(state): State<AppState>,
    QueryParams(query): QueryParams<AppQuery>,
    auth: AnyAuth,
) -> Result<Success<AppOrApps>> {
    let offset = state.config.display_offset;
    let wanted = match query.entity.as_deref().map(str::trim).filter(|e| !e.is_empty()) {
        None => None,
        Some(e) if e.eq_ignore_ascii_case("app") => Some("app"),
        Some(e) if e.eq_ignore_ascii_case("customer") => Some("customer"),
        Some(_) => return Err(ApiError::bad_request("query parameter entity must be app or customer")),
    };
    match (auth, wanted) {
        (AnyAuth::App(app), None | Some("app")) => Ok(Success(AppOrApps::One(AppBody::new(&app, offset)))),
        (AnyAuth::Customer(customer), None | Some("customer")) => {
            let apps = state.store.list_apps(&customer.id).await?;
            Ok(Success(AppOrApps::Many(apps.iter().map(|a| AppBody::new(a, offset)).collect())))
        }
        (_, Some(other)) => Err(wrong_kind(other)),
    }
}

/// Update the app
///
/// A partial update of `AppName`, `ExotelApiKey`, `ExotelApiToken`, `ExotelDomain`, `IsActive` (an
/// addition to the seed). Answers the public app object.
#[utoipa::path(
    put,
    path = "/app",
    operation_id = "update_app",
    tag = "app",
    security(("app_token" = [])),
    request_body(content = UpdateApp, example = json!(examples::app_update_request())),
    responses(
        (status = 200, description = "The updated app.", body = AppEnvelope, example = json!(examples::app_response())),
        (status = 400, description = "Malformed JSON, no field sent, a field invalid, or a field `PUT /app` cannot change (`AppSecret`, `ExotelAccountSid`, any other name), named in the message.", body = ErrorEnvelope),
        (status = 404, description = "The app is gone.", body = ErrorEnvelope),
    )
)]
pub async fn update(
    State(state): State<AppState>,
    AppAuth(app): AppAuth,
    JsonBody(fields): JsonBody<serde_json::Map<String, serde_json::Value>>,
) -> Result<Success<AppBody>> {
    refuse_unchangeable(&fields)?;
    let request: UpdateApp = parse_json_value(serde_json::Value::Object(fields), "")?;
    let key = &state.config.keyring;
    let update = AppUpdate {
        name: request.app_name.map(|v| non_empty("AppName", Some(v), 200)).transpose()?,
        exotel_api_key: request
            .exotel_api_key
            .map(|v| non_empty("ExotelApiKey", Some(v), 512))
            .transpose()?
            .map(|v| key.seal_field(SecretField::ExotelApiKey, &app.id, &v)),
        exotel_api_token: request
            .exotel_api_token
            .map(|v| non_empty("ExotelApiToken", Some(v), 512))
            .transpose()?
            .map(|v| key.seal_field(SecretField::ExotelApiToken, &app.id, &v)),
        exotel_domain: request.exotel_domain.map(|v| ExotelDomain::parse(&v)).transpose()?,
        is_active: request.is_active,
    };
    if update.name.is_none()
        && update.exotel_api_key.is_none()
        && update.exotel_api_token.is_none()
        && update.exotel_domain.is_none()
        && update.is_active.is_none()
    {
        return Err(ApiError::bad_request(format!("send at least one of {}", CHANGEABLE_FIELDS.join(", "))));
    }
    let updated = state
        .store
        .update_app(&app.customer_id, &app.id, &update, now_ms())
        .await?
        .ok_or_else(|| ApiError::not_found("app not found"))?;
    tracing::info!(app_id = %app.id, "app updated");
    Ok(Success(AppBody::new(&updated, state.config.display_offset)))
}

/// The fields `PUT /app` changes.
const CHANGEABLE_FIELDS: [&str; 5] = ["AppName", "ExotelApiKey", "ExotelApiToken", "ExotelDomain", "IsActive"];

/// Refuses a field `PUT /app` cannot change, naming it: the app object's fixed fields and anything else.
fn refuse_unchangeable(fields: &serde_json::Map<String, serde_json::Value>) -> Result<()> {
    let Some(name) = fields.keys().find(|name| !CHANGEABLE_FIELDS.contains(&name.as_str())) else {
        return Ok(());
    };
    let changeable = CHANGEABLE_FIELDS.join(", ");
    Err(ApiError::bad_request(match name.as_str() {
        "ExotelAccountSid" => {
            "ExotelAccountSid cannot be changed: register a new app for another Exotel account".to_string()
        }
        "AppID" | "AppSecret" | "CustomerID" | "CreatedAt" | "UpdatedAt" => {
            format!("{name} cannot be changed: PUT /app changes only {changeable}")
        }
        _ => format!("{name:?} is not a field PUT /app can change: send only {changeable}"),
    }))
}

/// Delete the app
///
/// Removes the app with its settings, user mappings, call records and tokens.
#[utoipa::path(
    delete,
    path = "/app",
    operation_id = "delete_app",
    tag = "app",
    security(("app_token" = [])),
    responses(
        (status = 200, description = "Deleted: `Data` is `Deleted Successfully`.", body = StringEnvelope,
            example = json!(examples::app_deleted())),
        (status = 404, description = "The app is already gone.", body = ErrorEnvelope),
    )
)]
pub async fn delete(State(state): State<AppState>, AppAuth(app): AppAuth) -> Result<Success<&'static str>> {
    if !state.store.delete_app(&app.customer_id, &app.id).await? {
        return Err(ApiError::not_found("app not found"));
    }
    tracing::info!(app_id = %app.id, "app deleted");
    Ok(Success("Deleted Successfully"))
}
