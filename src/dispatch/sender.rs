//! One webhook attempt: sign, POST, and classify the answer. No database work happens here.

use std::sync::Arc;
use std::time::Duration;

use axum::http::{HeaderValue, StatusCode};

use super::guard::{check_target, GuardedResolver};
use super::schedule::AttemptResult;
use crate::crypto::webhook_signature;

/// The longest part of a receiver's error answer kept in the delivery log.
const MAX_ERROR_CHARS: usize = 300;

/// Sends webhooks: no redirects, a per-attempt timeout, DNS through the SSRF guard.
#[derive(Clone)]
pub struct Sender {
    http: reqwest::Client,
    allow_private: bool,
}

/// What one attempt produced.
#[derive(Debug, Clone)]
pub struct Attempt {
    pub result: AttemptResult,
    pub response_code: Option<i64>,
    pub error: String,
}

/// The signed request of one attempt.
pub struct Outgoing<'a> {
    pub delivery_id: &'a str,
    pub url: &'a str,
    pub body: &'a str,
    /// The app's secret; its bytes key the signature.
    pub secret: &'a [u8],
    pub timestamp: i64,
}

impl Sender {
    pub fn new(timeout: Duration, allow_private: bool) -> Self {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(5)))
            .redirect(reqwest::redirect::Policy::none())
            .dns_resolver(Arc::new(GuardedResolver { allow_private }))
            .user_agent(concat!("integrations-core/", env!("CARGO_PKG_VERSION")))
            .pool_idle_timeout(Duration::from_secs(30))
            .build()
            .expect("the TLS backend initialises");
        Self { http, allow_private }
    }

    pub async fn send(&self, outgoing: &Outgoing<'_>) -> Attempt {
        let failed =
            |error: String| Attempt { result: AttemptResult::Failed { retry_after: None }, response_code: None, error };
        let url = match url::Url::parse(outgoing.url) {
            Ok(url) => url,
            Err(_) => return failed("the URL is not valid".to_string()),
        };
        if let Err(reason) = check_target(&url, self.allow_private) {
            // A target that can never be allowed is not worth retrying.
            return Attempt { result: AttemptResult::Gone, response_code: None, error: reason };
        }
        let signature =
            webhook_signature(outgoing.secret, outgoing.delivery_id, outgoing.timestamp, outgoing.body.as_bytes());
        let response = self
            .http
            .post(url)
            .header("content-type", "application/json")
            .header("webhook-id", outgoing.delivery_id)
            .header("webhook-timestamp", outgoing.timestamp.to_string())
            .header("webhook-signature", signature)
            .body(outgoing.body.to_string())
            .send()
            .await;
        let response = match response {
            Ok(response) => response,
            Err(error) => return failed(describe(&error)),
        };
        let status = response.status();
        let retry_after = retry_after(status, response.headers().get("retry-after"));
        let code = Some(i64::from(status.as_u16()));
        if status.is_success() {
            return Attempt { result: AttemptResult::Delivered, response_code: code, error: String::new() };
        }
        let text = response.text().await.unwrap_or_default();
        let error = format!("receiver answered {}{}", status.as_u16(), snippet(&text));
        let result =
            if status == StatusCode::GONE { AttemptResult::Gone } else { AttemptResult::Failed { retry_after } };
        Attempt { result, response_code: code, error }
    }
}

/// `Retry-After` in seconds, honoured on 429 and 503 only.
fn retry_after(status: StatusCode, header: Option<&HeaderValue>) -> Option<Duration> {
    if status != StatusCode::TOO_MANY_REQUESTS && status != StatusCode::SERVICE_UNAVAILABLE {
        return None;
    }
    header?.to_str().ok()?.trim().parse::<u64>().ok().map(Duration::from_secs)
}

fn snippet(text: &str) -> String {
    let text = text.trim();
    if text.is_empty() {
        return String::new();
    }
    let cut: String = text.chars().take(MAX_ERROR_CHARS).collect();
    format!(": {cut}")
}

fn describe(error: &reqwest::Error) -> String {
    if error.is_timeout() {
        "the receiver did not answer in time".to_string()
    } else if error.is_redirect() {
        "the receiver redirected; redirects are not followed".to_string()
    } else if error.is_connect() {
        let guard = std::error::Error::source(error)
            .and_then(|e| e.to_string().contains("resolves only to").then(|| e.to_string()));
        guard.unwrap_or_else(|| "could not connect to the receiver".to_string())
    } else {
        "the request to the receiver failed".to_string()
    }
}
