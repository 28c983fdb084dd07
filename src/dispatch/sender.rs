//! One webhook attempt: sign, POST, and classify the answer. No database work happens here.

use std::sync::Arc;
use std::time::Duration;

use axum::http::{HeaderValue, StatusCode};

use super::guard::{check_target, GuardedResolver, Refused};
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
        Self::with_resolver(timeout, allow_private, GuardedResolver::new(allow_private))
    }

    fn with_resolver(timeout: Duration, allow_private: bool, resolver: GuardedResolver) -> Self {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(5)))
            .redirect(reqwest::redirect::Policy::none())
            .dns_resolver(Arc::new(resolver))
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
        if let Err(refused) = check_target(&url, self.allow_private) {
            return refusal(&refused);
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
            Err(error) => match Refused::in_chain(&error) {
                Some(refused) => return refusal(refused),
                None => return failed(describe(&error)),
            },
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

/// A target the SSRF guard refuses is not worth another attempt: the delivery is dead at once, its
/// error saying why (retrying could not succeed until the operator's switch or the receiver's DNS
/// changes, and after a fix `POST /webhook_deliveries/{id}/retry` queues it again).
fn refusal(refused: &Refused) -> Attempt {
    Attempt { result: AttemptResult::Gone, response_code: None, error: refused.to_string() }
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

/// Why an attempt got no answer, with the innermost cause (`Connection refused`, a DNS failure…).
fn describe(error: &reqwest::Error) -> String {
    if error.is_timeout() {
        return "the receiver did not answer in time".to_string();
    }
    if error.is_redirect() {
        return "the receiver redirected; redirects are not followed".to_string();
    }
    let what =
        if error.is_connect() { "could not connect to the receiver" } else { "the request to the receiver failed" };
    let Some(mut cause) = std::error::Error::source(error) else { return what.to_string() };
    while let Some(inner) = cause.source() {
        cause = inner;
    }
    format!("{what}{}", snippet(&cause.to_string()))
}

#[cfg(test)]
mod tests {
    use std::net::IpAddr;

    use super::*;

    fn outgoing(url: &str) -> Outgoing<'_> {
        Outgoing { delivery_id: "d1", url, body: "{}", secret: b"secret", timestamp: 0 }
    }

    fn resolving_to(ips: &[&str], allow_private: bool) -> Sender {
        let ips: Vec<IpAddr> = ips.iter().map(|ip| ip.parse().unwrap()).collect();
        Sender::with_resolver(Duration::from_secs(2), allow_private, GuardedResolver::fixed(allow_private, ips))
    }

    #[tokio::test]
    async fn a_name_resolving_to_a_forbidden_address_is_refused_for_good_saying_why() {
        for (ip, why) in [
            ("10.0.0.5", "10.0.0.5, a private address"),
            ("64:ff9b::a00:5", "64:ff9b::a00:5, a NAT64 address embedding 10.0.0.5, a private address"),
        ] {
            let attempt = resolving_to(&[ip], false).send(&outgoing("http://crm.example.com/hook")).await;

            assert_eq!(attempt.result, AttemptResult::Gone, "{ip}: never retried");
            assert_eq!(attempt.response_code, None);
            assert_eq!(
                attempt.error,
                format!(
                    "refused: crm.example.com resolves to {why}; set WEBHOOK_ALLOW_PRIVATE=true for local development"
                )
            );
        }
    }

    #[tokio::test]
    async fn a_receiver_that_cannot_be_reached_is_retried_saying_why() {
        let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://crm.example.com:{}/hook", closed.local_addr().unwrap().port());
        drop(closed);

        let attempt = resolving_to(&["127.0.0.1"], true).send(&outgoing(&url)).await;

        assert_eq!(attempt.result, AttemptResult::Failed { retry_after: None });
        assert!(attempt.error.starts_with("could not connect to the receiver: "), "{}", attempt.error);
        assert!(attempt.error.to_lowercase().contains("refused"), "the cause is named: {}", attempt.error);
    }
}
