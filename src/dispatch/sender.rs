//! One webhook attempt: sign, POST, and classify the answer. No database work happens here.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::http::{HeaderValue, StatusCode};

use super::guard::{check_target, GuardedResolver, Refused};
use super::schedule::AttemptResult;
use super::secrets::SigningKeys;
use crate::crypto::webhook_signature;
use crate::store::WebhookMessage;

/// The longest part of a receiver's error answer kept in the delivery log.
const MAX_ERROR_CHARS: usize = 300;
/// How much of a receiver's answer each attempt keeps (the rest is never read).
pub const MAX_RESPONSE_BODY_BYTES: usize = 4096;

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
    /// From sending to the end of what was read of the answer.
    pub duration_ms: i64,
    /// The first [`MAX_RESPONSE_BODY_BYTES`] of the receiver's answer as text, `""` without one.
    pub response_body: String,
}

/// The signed request of one attempt.
pub struct Outgoing<'a> {
    pub delivery_id: &'a str,
    pub url: &'a str,
    pub body: &'a str,
    /// The app's secret; its bytes key the signature.
    pub secret: &'a [u8],
    /// The secret a rotation replaced, while its grace lasts: a second signature, after the first.
    pub previous_secret: Option<&'a [u8]>,
    pub timestamp: i64,
}

impl<'a> Outgoing<'a> {
    /// The attempt at one delivery's message, timestamped now, with the keys to sign it: the current
    /// secret, and the previous one while its grace lasts.
    pub fn new(message: &'a WebhookMessage, keys: &'a SigningKeys) -> Self {
        let now = chrono::Utc::now();
        Self {
            delivery_id: &message.id,
            url: &message.url,
            body: &message.payload,
            secret: keys.current.as_bytes(),
            previous_secret: keys.previous_at(now.timestamp_millis()).map(str::as_bytes),
            timestamp: now.timestamp(),
        }
    }
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

    /// One attempt: its outcome, how long it took and the start of the receiver's answer. It
    /// lasts at most the client's timeout, however slowly the receiver answers.
    pub async fn send(&self, outgoing: &Outgoing<'_>) -> Attempt {
        let started = Instant::now();
        let mut attempt = self.exchange(outgoing).await;
        attempt.duration_ms = started.elapsed().as_millis() as i64;
        attempt
    }

    async fn exchange(&self, outgoing: &Outgoing<'_>) -> Attempt {
        let failed = |error: String| Attempt {
            result: AttemptResult::Failed { retry_after: None },
            response_code: None,
            error,
            duration_ms: 0,
            response_body: String::new(),
        };
        let url = match url::Url::parse(outgoing.url) {
            Ok(url) => url,
            Err(_) => return failed("the URL is not valid".to_string()),
        };
        if let Err(refused) = check_target(&url, self.allow_private) {
            return refusal(&refused);
        }
        let sign =
            |secret| webhook_signature(secret, outgoing.delivery_id, outgoing.timestamp, outgoing.body.as_bytes());
        // Standard Webhooks rotation: space-separated signatures, the new secret's first.
        let signature = match outgoing.previous_secret {
            Some(previous) => format!("{} {}", sign(outgoing.secret), sign(previous)),
            None => sign(outgoing.secret),
        };
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
        let mut response = match response {
            Ok(response) => response,
            Err(error) => match Refused::in_chain(&error) {
                Some(refused) => return refusal(refused),
                None => return failed(describe(&error)),
            },
        };
        let status = response.status();
        let retry_after = retry_after(status, response.headers().get("retry-after"));
        let response_code = Some(i64::from(status.as_u16()));
        let response_body = read_start(&mut response).await;
        let (result, error) = if status.is_success() {
            (AttemptResult::Delivered, String::new())
        } else if status == StatusCode::GONE {
            (AttemptResult::Gone, answered(status, &response_body))
        } else {
            (AttemptResult::Failed { retry_after }, answered(status, &response_body))
        };
        Attempt { result, response_code, error, duration_ms: 0, response_body }
    }
}

/// The first [`MAX_RESPONSE_BODY_BYTES`] of an answer, read chunk by chunk: a huge answer is never
/// buffered, and one that trickles or never ends is cut by the client's timeout (what came is kept;
/// the status alone decides the outcome). The connection is dropped with what was not read.
async fn read_start(response: &mut reqwest::Response) -> String {
    let mut bytes = Vec::new();
    while bytes.len() < MAX_RESPONSE_BODY_BYTES {
        match response.chunk().await {
            Ok(Some(chunk)) => bytes.extend_from_slice(&chunk),
            Ok(None) | Err(_) => break,
        }
    }
    body_text(bytes)
}

/// An answer's bytes as text that both backends can store: lossy UTF-8, a character cut in two at
/// the limit dropped rather than shown as U+FFFD, and NUL (which Postgres refuses in text) as U+FFFD.
fn body_text(mut bytes: Vec<u8>) -> String {
    if bytes.len() > MAX_RESPONSE_BODY_BYTES {
        bytes.truncate(MAX_RESPONSE_BODY_BYTES);
        if let Err(cut) = std::str::from_utf8(&bytes) {
            if cut.error_len().is_none() {
                bytes.truncate(cut.valid_up_to());
            }
        }
    }
    String::from_utf8_lossy(&bytes).replace('\0', "\u{FFFD}")
}

/// The error of an attempt the receiver answered with a status other than 2xx.
fn answered(status: StatusCode, body: &str) -> String {
    format!("receiver answered {}{}", status.as_u16(), snippet(body))
}

/// A target the SSRF guard refuses is not worth another attempt: the delivery is dead at once, its
/// error saying why (retrying could not succeed until the operator's switch or the receiver's DNS
/// changes, and after a fix `POST /webhook_deliveries/{id}/retry` queues it again).
fn refusal(refused: &Refused) -> Attempt {
    Attempt {
        result: AttemptResult::Gone,
        response_code: None,
        error: refused.to_string(),
        duration_ms: 0,
        response_body: String::new(),
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
        Outgoing { delivery_id: "d1", url, body: "{}", secret: b"secret", previous_secret: None, timestamp: 0 }
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
        assert!(attempt.response_body.is_empty(), "no answer, no body");
    }

    /// A one-connection HTTP/1.1 server on 127.0.0.1 that reads the request head, writes `head`,
    /// then the body `chunks` one after another `pause` apart, and never closes unless the chunks end.
    async fn answering(head: String, chunks: Vec<Vec<u8>>, pause: Duration) -> String {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://crm.example.com:{}/hook", listener.local_addr().unwrap().port());
        tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.unwrap();
            let mut request = Vec::new();
            let mut buffer = [0u8; 1024];
            while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                let read = socket.read(&mut buffer).await.unwrap();
                request.extend_from_slice(&buffer[..read]);
            }
            socket.write_all(head.as_bytes()).await.unwrap();
            for chunk in chunks {
                if socket.write_all(&chunk).await.is_err() {
                    return;
                }
                tokio::time::sleep(pause).await;
            }
            tokio::time::sleep(Duration::from_secs(60)).await;
        });
        url
    }

    #[tokio::test]
    async fn the_answer_is_kept_for_every_status_up_to_4_kib_without_splitting_a_character() {
        // 4095 bytes of ASCII, then "é" (2 bytes) across the limit, then more.
        let mut body = vec![b'a'; MAX_RESPONSE_BODY_BYTES - 1];
        body.extend_from_slice("é and more".as_bytes());
        let head = format!("HTTP/1.1 200 OK\r\ncontent-length: {}\r\n\r\n", body.len());
        let url = answering(head, vec![body], Duration::ZERO).await;

        let attempt = resolving_to(&["127.0.0.1"], true).send(&outgoing(&url)).await;

        assert_eq!(attempt.result, AttemptResult::Delivered);
        assert_eq!(attempt.response_code, Some(200));
        assert_eq!(attempt.error, "");
        assert_eq!(attempt.response_body, "a".repeat(MAX_RESPONSE_BODY_BYTES - 1), "cut before the split character");
    }

    #[tokio::test]
    async fn an_error_answer_keeps_its_body_and_the_error_quotes_it() {
        let url = answering(
            "HTTP/1.1 500 Internal Server Error\r\ncontent-length: 13\r\n\r\n".to_string(),
            vec![b"db\0 is down!\n".to_vec()],
            Duration::ZERO,
        )
        .await;

        let attempt = resolving_to(&["127.0.0.1"], true).send(&outgoing(&url)).await;

        assert_eq!(attempt.result, AttemptResult::Failed { retry_after: None });
        assert_eq!(attempt.response_body, "db\u{FFFD} is down!\n", "a NUL cannot be stored as text");
        assert_eq!(attempt.error, "receiver answered 500: db\u{FFFD} is down!");
    }

    #[tokio::test]
    async fn a_receiver_streaming_forever_is_cut_at_4_kib_or_by_the_timeout() {
        let head = || "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n".to_string();
        let chunk = |n: usize| format!("{n:x}\r\n{}\r\n", "z".repeat(n)).into_bytes();

        // Fast: it stops reading at 4 KiB, long before the timeout.
        let fast = answering(head(), (0..10_000).map(|_| chunk(1000)).collect(), Duration::ZERO).await;
        let attempt = resolving_to(&["127.0.0.1"], true).send(&outgoing(&fast)).await;
        assert_eq!(attempt.result, AttemptResult::Delivered);
        assert_eq!(attempt.response_body.len(), MAX_RESPONSE_BODY_BYTES);
        assert!(attempt.duration_ms < 1_500, "{} ms", attempt.duration_ms);

        // Slow: a byte every 300 ms forever; the attempt ends at the 2 s timeout with what came.
        let slow = answering(head(), (0..1_000).map(|_| chunk(1)).collect(), Duration::from_millis(300)).await;
        let started = Instant::now();
        let attempt = resolving_to(&["127.0.0.1"], true).send(&outgoing(&slow)).await;
        assert!(started.elapsed() < Duration::from_secs(4), "took {:?}", started.elapsed());
        assert!((1_900..4_000).contains(&attempt.duration_ms), "{} ms", attempt.duration_ms);
        assert_eq!(attempt.result, AttemptResult::Delivered, "the 2xx came in time");
        assert!(attempt.response_body.starts_with("zzz"), "{:?}", attempt.response_body);
    }
}
