//! Exotel's CCM Users v2 API over HTTPS, with HTTP Basic auth of the app's API key and token.

use std::time::Duration;

use serde::Deserialize;
use serde_json::{json, Value};

use super::{strong_sip_password, Credentials, NewCall, NewUser, PlacedCall, ProvisionedUser, UpstreamError};
use crate::domain::user::last_ten_digits;
use crate::telemetry;

/// The longest part of an unexpected Exotel answer that is repeated in an error.
const MAX_ERROR_BODY: usize = 2000;

/// A pooled HTTP client for Exotel, shared by every app.
#[derive(Clone)]
pub struct CcmClient {
    http: reqwest::Client,
}

impl CcmClient {
    pub fn new(connect_timeout: Duration, request_timeout: Duration) -> Self {
        let http = reqwest::Client::builder()
            .connect_timeout(connect_timeout)
            .timeout(request_timeout)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("integrations-core/", env!("CARGO_PKG_VERSION")))
            .build()
            .expect("the TLS backend initialises");
        Self { http }
    }

    /// Calls made for one Exotel account at one regional base URL.
    pub fn session<'a>(&'a self, base_url: &'a str, credentials: Credentials) -> CcmSession<'a> {
        CcmSession { http: &self.http, base_url, credentials }
    }
}

pub struct CcmSession<'a> {
    http: &'a reqwest::Client,
    base_url: &'a str,
    credentials: Credentials,
}

/// `response.data` of a CCM user.
#[derive(Debug, Deserialize)]
struct UserData {
    id: String,
    #[serde(default)]
    role: Option<String>,
    #[serde(default)]
    devices: Vec<DeviceData>,
}

#[derive(Debug, Deserialize)]
struct DeviceData {
    id: Value,
    #[serde(rename = "type", default)]
    kind: String,
    #[serde(default)]
    contact_uri: String,
    #[serde(default)]
    available: Option<bool>,
}

impl DeviceData {
    fn id_text(&self) -> String {
        match &self.id {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        }
    }
}

impl CcmSession<'_> {
    fn users_url(&self) -> String {
        format!("{}/v2/accounts/{}/users", self.base_url, self.credentials.account_sid)
    }

    /// Sends a request and returns Exotel's JSON answer, or why there is none.
    async fn send(&self, operation: &'static str, request: reqwest::RequestBuilder) -> Result<Value, UpstreamError> {
        let started = std::time::Instant::now();
        let result = self.send_inner(request).await;
        let outcome = match &result {
            Ok(_) => "ok",
            Err(UpstreamError::Refused { .. }) => "refused",
            Err(UpstreamError::Unreachable(_)) => "unreachable",
        };
        let labels = [("operation", operation), ("outcome", outcome)];
        metrics::counter!(telemetry::metrics::EXOTEL_REQUESTS, &labels).increment(1);
        metrics::histogram!(telemetry::metrics::EXOTEL_DURATION, &labels).record(started.elapsed().as_secs_f64());
        result
    }

    async fn send_inner(&self, request: reqwest::RequestBuilder) -> Result<Value, UpstreamError> {
        let response = request
            .basic_auth(&self.credentials.api_key, Some(&self.credentials.api_token))
            .send()
            .await
            .map_err(|e| UpstreamError::Unreachable(describe(&e)))?;
        let status = response.status().as_u16();
        let text = response.text().await.map_err(|e| UpstreamError::Unreachable(describe(&e)))?;
        let parsed: Option<Value> = serde_json::from_str(&text).ok();
        let body_code = parsed.as_ref().and_then(|v| v.get("http_code")).and_then(Value::as_u64).map(|c| c as u16);
        let failed_status = match body_code {
            Some(code) if code >= 400 => Some(code),
            _ if !(200..300).contains(&status) => Some(status),
            _ => None,
        };
        if let Some(status) = failed_status {
            let body = match &parsed {
                Some(json) => json.to_string(),
                None if text.trim().is_empty() => format!("Exotel answered HTTP {status} with an empty body"),
                None => truncate(&text),
            };
            tracing::warn!(status, "Exotel refused a request");
            return Err(UpstreamError::Refused { status, body });
        }
        parsed.ok_or_else(|| {
            UpstreamError::Unreachable(format!("Exotel answered something that is not JSON: {}", truncate(&text)))
        })
    }

    async fn find_user_by_email(&self, email: &str) -> Result<Option<UserData>, UpstreamError> {
        let request = self.http.get(self.users_url()).query(&[("fields", "devices"), ("email", email)]);
        let answer = self.send("find_user", request).await?;
        let first = match &answer["response"] {
            Value::Array(items) => items.first().map(|item| item["data"].clone()),
            Value::Object(_) => Some(answer["response"]["data"].clone()).filter(|d| !d.is_null()),
            _ => None,
        };
        first.map(parse_user).transpose()
    }

    async fn create_user(&self, user: &NewUser) -> Result<UserData, UpstreamError> {
        let mut body = json!({
            "first_name": user.first_name,
            "last_name": user.last_name,
            "email": user.email,
            "role": "user",
        });
        if let Some(phone) = &user.phone {
            body["device_contact_uri"] = json!(phone);
        }
        let answer = self.send("create_user", self.http.post(self.users_url()).json(&body)).await?;
        parse_user(answer["response"]["data"].clone())
    }

    async fn set_sip_password(&self, user_id: &str, device_id: &str, password: &str) -> Result<(), UpstreamError> {
        let url = format!("{}/{user_id}/devices/{device_id}/password", self.users_url());
        self.send("set_sip_password", self.http.put(url).json(&json!({ "password": password }))).await?;
        Ok(())
    }

    pub async fn provision_user(&self, user: &NewUser) -> Result<ProvisionedUser, UpstreamError> {
        let existing = self.find_user_by_email(&user.email).await?;
        let found = existing.is_some();
        let data = match existing {
            Some(data) => data,
            None => self.create_user(user).await?,
        };
        tracing::info!(exotel_user_id = %data.id, found, "Exotel user provisioned");

        let phone = user.phone.as_deref().map(last_ten_digits);
        let tel_devices: Vec<&DeviceData> = data.devices.iter().filter(|d| d.kind == "tel").collect();
        let phone_device = tel_devices
            .iter()
            .find(|d| phone.as_deref().is_some_and(|p| last_ten_digits(&d.contact_uri) == p))
            .or_else(|| tel_devices.first())
            .filter(|_| user.phone.is_some());
        let sip_device = data.devices.iter().find(|d| d.kind == "sip");

        let sip_password = match sip_device {
            Some(device) => {
                let password = strong_sip_password();
                self.set_sip_password(&data.id, &device.id_text(), &password).await?;
                password
            }
            None => String::new(),
        };
        let active_device_id =
            data.devices.iter().find(|d| d.available == Some(true)).map(DeviceData::id_text).unwrap_or_default();
        Ok(ProvisionedUser {
            role: data.role.clone().unwrap_or_else(|| "user".to_string()),
            phone_device_id: phone_device.map(|d| d.id_text()).unwrap_or_default(),
            sip_device_id: sip_device.map(DeviceData::id_text).unwrap_or_default(),
            sip_id: sip_device.map(|d| d.contact_uri.clone()).unwrap_or_default(),
            sip_password,
            active_device_id,
            exotel_user_id: data.id,
        })
    }

    pub async fn set_device_available(
        &self,
        exotel_user_id: &str,
        device_id: &str,
        available: bool,
    ) -> Result<(), UpstreamError> {
        let url = format!("{}/{exotel_user_id}/devices/{device_id}", self.users_url());
        self.send("set_device", self.http.put(url).json(&json!({ "available": available }))).await?;
        Ok(())
    }
}

impl CcmSession<'_> {
    /// `POST /v3/accounts/{sid}/calls`, the agent's SIP id first, then the customer.
    pub async fn place_call(&self, call: &NewCall) -> Result<PlacedCall, UpstreamError> {
        let url = format!("{}/v3/accounts/{}/calls", self.base_url, self.credentials.account_sid);
        let body = json!({
            "from": { "contact_uri": call.from, "state_management": true },
            "to": { "contact_uri": call.to },
            "virtual_number": call.virtual_number,
            "recording": { "record": call.record, "channels": "single" },
            "custom_field": call.custom_field,
            "status_callback": [
                { "event": "answered", "url": call.status_callback_url },
                { "event": "terminal", "url": call.status_callback_url },
            ],
        });
        let answer = self.send("place_call", self.http.post(url).json(&body)).await?;
        let sid = answer["response"]["call_details"]["sid"].as_str().filter(|s| !s.is_empty()).ok_or_else(|| {
            UpstreamError::Unreachable(format!(
                "Exotel accepted the call without a sid: {}",
                truncate(&answer.to_string())
            ))
        })?;
        tracing::info!(call_sid = sid, "Exotel accepted the call");
        Ok(PlacedCall { call_sid: sid.to_string() })
    }
}

fn parse_user(data: Value) -> Result<UserData, UpstreamError> {
    serde_json::from_value(data.clone()).map_err(|e| {
        UpstreamError::Unreachable(format!("Exotel's user answer lacks {e}: {}", truncate(&data.to_string())))
    })
}

fn truncate(text: &str) -> String {
    match text.char_indices().nth(MAX_ERROR_BODY) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_string(),
    }
}

fn describe(error: &reqwest::Error) -> String {
    if error.is_timeout() {
        "the request timed out".to_string()
    } else if error.is_connect() {
        "could not connect".to_string()
    } else if error.is_decode() || error.is_body() {
        "the answer could not be read".to_string()
    } else {
        "the request failed".to_string()
    }
}
