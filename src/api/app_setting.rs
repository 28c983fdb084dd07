//! `/app_setting`: the app's webhook URLs and call options.

use axum::extract::State;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::auth::AppAuth;
use super::openapi::examples;
use super::openapi::schemas::{envelopes, ErrorEnvelope, StringEnvelope};
use super::{JsonBody, QueryParams};
use crate::domain::setting::WEBHOOK_KEYS;
use crate::domain::time::now_ms;
use crate::domain::{FieldError, SettingKey, SettingValue};
use crate::envelope::{ApiError, Result, Success};
use crate::services::webhook_test::TestOutcome;
use crate::state::AppState;
use crate::store::{AppRow, SettingRow};

/// `POST /app_setting`: creates or replaces one setting.
#[derive(Deserialize, ToSchema)]
pub struct SetSetting {
    /// The setting (any case in).
    #[serde(rename = "Key")]
    #[schema(value_type = SettingKey, required = true)]
    key: Option<String>,
    /// `popup`, `incomingCallHangup`, `missedCall`, `callback`, `playback`: an http(s) URL of at most
    /// 2048 characters (bytes of UTF-8) (webhook targets must not resolve to private addresses); `streaming`: a ws(s) URL;
    /// `record`: `"true"` or `"false"` (a JSON boolean is accepted and stored as that string).
    #[serde(rename = "Value")]
    #[schema(schema_with = string_or_boolean, required = true)]
    value: Option<serde_json::Value>,
}

fn string_or_boolean() -> utoipa::openapi::schema::Object {
    use utoipa::openapi::schema::{ObjectBuilder, SchemaType, Type};
    ObjectBuilder::new()
        .schema_type(SchemaType::from_iter([Type::String, Type::Boolean]))
        .examples(["https://webhook.site/a4089342-b169-451d-a84d-c588856641a3"])
        .build()
}

#[derive(Serialize, ToSchema)]
pub struct SettingBody {
    #[serde(rename = "CustomerID")]
    customer_id: String,
    #[serde(rename = "AppID")]
    app_id: String,
    #[serde(rename = "Key")]
    #[schema(value_type = SettingKey)]
    key: String,
    /// The stored value (always a string: `record` is `"true"` or `"false"`).
    #[serde(rename = "Value")]
    value: String,
}

impl SettingBody {
    fn new(app: &AppRow, row: SettingRow) -> Self {
        Self { customer_id: app.customer_id.clone(), app_id: row.app_id, key: row.key, value: row.value }
    }
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct KeyQuery {
    /// The setting's key (any case).
    #[param(value_type = Option<SettingKey>)]
    key: Option<String>,
}

fn parse_key(field: &str, key: Option<String>) -> Result<Option<SettingKey>, FieldError> {
    match key.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(k) => SettingKey::parse(field, k).map(Some),
    }
}

/// Set an app setting
///
/// Creates or replaces one setting of the token's app: a webhook URL (`popup`, `incomingCallHangup`,
/// `missedCall`, `callback`), the `playback` or `streaming` URL, or `record`.
#[utoipa::path(
    post,
    path = "/app_setting",
    operation_id = "set_app_setting",
    tag = "app_setting",
    security(("app_token" = [])),
    request_body(content = SetSetting, example = json!(examples::setting_request())),
    responses(
        (status = 200, description = "The setting as stored.", body = SettingEnvelope, example = json!(examples::setting_response())),
        (status = 400, description = "Malformed JSON, an unknown `Key` (the message names the allowed keys), or a `Value` breaking its key's rule.", body = ErrorEnvelope),
    )
)]
pub async fn set(
    State(state): State<AppState>,
    AppAuth(app): AppAuth,
    JsonBody(request): JsonBody<SetSetting>,
) -> Result<Success<SettingBody>> {
    let key = parse_key("Key", request.key)?.ok_or_else(|| ApiError::bad_request("Key is required"))?;
    let value =
        request.value.ok_or_else(|| ApiError::bad_request(format!("Value is required for {}", key.as_str())))?;
    let value = SettingValue::parse(key, &value, state.config.webhook_allow_private)?;
    let row = state.store.upsert_setting(&app.id, key.as_str(), value.as_str(), now_ms()).await?;
    tracing::info!(app_id = %app.id, key = key.as_str(), "app setting saved");
    Ok(Success(SettingBody::new(&app, row)))
}

/// One setting, or all of them (`[]` when none).
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
pub enum SettingOrSettings {
    One(SettingBody),
    Many(Vec<SettingBody>),
}

envelopes! {
    /// A success envelope whose `Data` is one app setting.
    SettingEnvelope => SettingBody;
    /// A success envelope whose `Data` is one setting (`?key=`) or all of them.
    SettingOrSettingsEnvelope => SettingOrSettings;
}

/// Get app settings
///
/// With `?key=K`: that setting (404 if unset). Without: an array of all of them (`[]` when none).
#[utoipa::path(
    get,
    path = "/app_setting",
    operation_id = "get_app_setting",
    tag = "app_setting",
    security(("app_token" = [])),
    params(KeyQuery),
    responses(
        (status = 200, description = "One setting (`?key=`) or an array of all of them.", body = SettingOrSettingsEnvelope,
            examples(
                ("key" = (summary = "?key=callback", value = json!(examples::setting_response()))),
                ("all" = (summary = "All settings", value = json!(examples::settings_response()))),
            )),
        (status = 400, description = "`key` is not a known setting.", body = ErrorEnvelope),
        (status = 404, description = "The setting `key` is not set for this app.", body = ErrorEnvelope),
    )
)]
pub async fn get(
    State(state): State<AppState>,
    AppAuth(app): AppAuth,
    QueryParams(query): QueryParams<KeyQuery>,
) -> Result<Success<SettingOrSettings>> {
    match parse_key("query parameter key", query.key)? {
        Some(key) => {
            let row = state
                .store
                .find_setting(&app.id, key.as_str())
                .await?
                .ok_or_else(|| ApiError::not_found(format!("setting {} is not set for this app", key.as_str())))?;
            Ok(Success(SettingOrSettings::One(SettingBody::new(&app, row))))
        }
        None => {
            let rows = state.store.list_settings(&app.id).await?;
            Ok(Success(SettingOrSettings::Many(rows.into_iter().map(|r| SettingBody::new(&app, r)).collect())))
        }
    }
}

/// Delete an app setting
#[utoipa::path(
    delete,
    path = "/app_setting",
    operation_id = "delete_app_setting",
    tag = "app_setting",
    security(("app_token" = [])),
    params(("key" = SettingKey, Query, description = "The setting to delete (required; any case).")),
    responses(
        (status = 200, description = "Deleted: `Data` is `Deleted Successfully`.", body = StringEnvelope,
            example = json!(examples::setting_deleted())),
        (status = 400, description = "`key` missing or not a known setting.", body = ErrorEnvelope),
        (status = 404, description = "The setting `key` is not set for this app.", body = ErrorEnvelope),
    )
)]
pub async fn delete(
    State(state): State<AppState>,
    AppAuth(app): AppAuth,
    QueryParams(query): QueryParams<KeyQuery>,
) -> Result<Success<&'static str>> {
    let key = parse_key("query parameter key", query.key)?
        .ok_or_else(|| ApiError::bad_request("query parameter key is required, e.g. ?key=popup"))?;
    if !state.store.delete_setting(&app.id, key.as_str()).await? {
        return Err(ApiError::not_found(format!("setting {} is not set for this app", key.as_str())));
    }
    tracing::info!(app_id = %app.id, key = key.as_str(), "app setting deleted");
    Ok(Success("Deleted Successfully"))
}

/// `POST /app_setting/test`: which webhook URL to test.
#[derive(Deserialize, ToSchema)]
pub struct TestSetting {
    /// The webhook setting whose URL receives the sample (any case in).
    #[serde(rename = "Key")]
    #[schema(value_type = WebhookKey, required = true)]
    key: Option<String>,
}

/// A setting whose URL receives webhooks.
#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
#[allow(dead_code)] // documentation only: the key is parsed as a `SettingKey`
pub enum WebhookKey {
    Popup,
    IncomingCallHangup,
    MissedCall,
    Callback,
}

/// How the one attempt of a test webhook went.
#[derive(Serialize, ToSchema)]
pub struct TestResult {
    /// The test delivery's id in the delivery log (sent as `webhook-id`).
    #[serde(rename = "DeliveryId")]
    delivery_id: String,
    #[serde(rename = "Url")]
    url: String,
    /// The receiver's HTTP status; null when no HTTP answer came (refused, unreachable, timed out).
    #[serde(rename = "ResponseCode")]
    #[schema(required = true)]
    response_code: Option<i64>,
    /// How long the attempt took, in milliseconds.
    #[serde(rename = "DurationMs")]
    duration_ms: i64,
    /// Why the attempt failed, or `""` when the receiver answered 2xx.
    #[serde(rename = "Error")]
    error: String,
    /// The first 4 KiB of the receiver's answer, as text.
    #[serde(rename = "ResponseBody")]
    response_body: String,
}

impl From<TestOutcome> for TestResult {
    fn from(outcome: TestOutcome) -> Self {
        Self {
            delivery_id: outcome.delivery_id,
            url: outcome.url,
            response_code: outcome.response_code,
            duration_ms: outcome.duration_ms,
            error: outcome.error,
            response_body: outcome.response_body,
        }
    }
}

envelopes! {
    /// A success envelope whose `Data` is how a test webhook went.
    TestResultEnvelope => TestResult;
}

/// Test a webhook URL
///
/// Sends one signed sample call payload (its `CallSid` starts with `test`) to the app's URL for
/// `Key` now, through the same signing, SSRF guard and timeout as every webhook, and answers after
/// that single attempt. It shows in the delivery log with `EventType` `test`, `delivered` or `dead`,
/// and is never retried (an addition to the seed).
#[utoipa::path(
    post,
    path = "/app_setting/test",
    operation_id = "test_app_setting",
    tag = "app_setting",
    security(("app_token" = [])),
    request_body(content = TestSetting, example = json!(examples::setting_test_request())),
    responses(
        (status = 200, description = "The attempt was made; `ResponseCode` and `Error` say how it went.", body = TestResultEnvelope,
            example = json!(examples::setting_test_response())),
        (status = 400, description = "Malformed JSON, or `Key` missing or not one of the webhook keys.", body = ErrorEnvelope),
        (status = 404, description = "The setting `Key` is not set for this app.", body = ErrorEnvelope),
    )
)]
pub async fn test(
    State(state): State<AppState>,
    AppAuth(app): AppAuth,
    JsonBody(request): JsonBody<TestSetting>,
) -> Result<Success<TestResult>> {
    let key = match request.key.as_deref().map(str::trim) {
        None | Some("") => {
            return Err(ApiError::bad_request(format!("Key is required: one of {WEBHOOK_KEYS}")));
        }
        Some(key) => SettingKey::parse_webhook("Key", key)?,
    };
    let outcome = state.webhook_tester.send_sample(&app, key).await?;
    Ok(Success(outcome.into()))
}
