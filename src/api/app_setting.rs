//! `/app_setting`: the app's webhook URLs and call options.

use axum::extract::State;
use serde::{Deserialize, Serialize};

use super::{JsonBody, QueryParams};
use crate::app::AppState;
use crate::auth::AppAuth;
use crate::domain::time::now_ms;
use crate::domain::{FieldError, SettingKey, SettingValue};
use crate::envelope::{ApiError, Result, Success};
use crate::store::{AppRow, SettingRow};

#[derive(Deserialize)]
pub struct SetSetting {
    #[serde(rename = "Key")]
    key: Option<String>,
    #[serde(rename = "Value")]
    value: Option<serde_json::Value>,
}

#[derive(Serialize)]
pub struct SettingBody {
    #[serde(rename = "CustomerID")]
    customer_id: String,
    #[serde(rename = "AppID")]
    app_id: String,
    #[serde(rename = "Key")]
    key: String,
    #[serde(rename = "Value")]
    value: String,
}

impl SettingBody {
    fn new(app: &AppRow, row: SettingRow) -> Self {
        Self { customer_id: app.customer_id.clone(), app_id: row.app_id, key: row.key, value: row.value }
    }
}

#[derive(Deserialize)]
pub struct KeyQuery {
    key: Option<String>,
}

fn parse_key(field: &str, key: Option<String>) -> Result<Option<SettingKey>, FieldError> {
    match key.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(k) => SettingKey::parse(field, k).map(Some),
    }
}

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
#[derive(Serialize)]
#[serde(untagged)]
pub enum SettingOrSettings {
    One(SettingBody),
    Many(Vec<SettingBody>),
}

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
