//! A real local webhook receiver.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::post;
use axum::Router;
use serde_json::Value;
use tokio_util::sync::CancellationToken;

/// One request the receiver got.
#[derive(Clone, Debug)]
pub struct Received {
    pub path: String,
    pub headers: HeaderMap,
    pub body: String,
}

impl Received {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).expect("webhook body is JSON")
    }

    pub fn header(&self, name: &str) -> String {
        self.headers.get(name).map(|v| v.to_str().unwrap().to_string()).unwrap_or_default()
    }
}

/// How the receiver answers the next request: a status, optional headers, after a delay.
#[derive(Clone, Debug)]
pub struct Reply {
    pub status: u16,
    pub delay: Duration,
    pub retry_after: Option<&'static str>,
}

impl Reply {
    pub fn status(status: u16) -> Self {
        Self { status, delay: Duration::ZERO, retry_after: None }
    }
}

#[derive(Default)]
struct Inner {
    received: Mutex<Vec<Received>>,
    /// Requests being answered now, and the most there ever were at once.
    open: Mutex<(usize, usize)>,
    script: Mutex<VecDeque<Reply>>,
    default: Mutex<Option<Reply>>,
}

/// A local HTTP server that records every request and answers from a script (200 when the script is empty).
#[derive(Clone)]
pub struct Receiver {
    pub base_url: String,
    inner: Arc<Inner>,
    _stop: Arc<DropGuard>,
}

struct DropGuard(CancellationToken);

impl Drop for DropGuard {
    fn drop(&mut self) {
        self.0.cancel();
    }
}

async fn record(
    State(inner): State<Arc<Inner>>,
    uri: axum::http::Uri,
    headers: HeaderMap,
    body: Bytes,
) -> impl IntoResponse {
    let reply = inner
        .script
        .lock()
        .unwrap()
        .pop_front()
        .or_else(|| inner.default.lock().unwrap().clone())
        .unwrap_or(Reply::status(200));
    {
        let mut open = inner.open.lock().unwrap();
        open.0 += 1;
        open.1 = open.1.max(open.0);
    }
    if !reply.delay.is_zero() {
        tokio::time::sleep(reply.delay).await;
    }
    inner.open.lock().unwrap().0 -= 1;
    inner.received.lock().unwrap().push(Received {
        path: uri.path().to_string(),
        headers,
        body: String::from_utf8_lossy(&body).to_string(),
    });
    let mut response = StatusCode::from_u16(reply.status).unwrap().into_response();
    if let Some(wait) = reply.retry_after {
        response.headers_mut().insert("retry-after", wait.parse().unwrap());
    }
    response
}

impl Receiver {
    pub async fn start() -> Self {
        Self::start_on(0).await
    }

    /// Listens on a given port (0 for any).
    pub async fn start_on(port: u16) -> Self {
        let inner = Arc::new(Inner::default());
        let app = Router::new().route("/{*path}", post(record)).with_state(inner.clone());
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await.unwrap();
        let base_url = format!("http://{}", listener.local_addr().unwrap());
        let stop = CancellationToken::new();
        let token = stop.clone();
        tokio::spawn(async move {
            axum::serve(listener, app).with_graceful_shutdown(token.cancelled_owned()).await.unwrap();
        });
        Self { base_url, inner, _stop: Arc::new(DropGuard(stop)) }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    /// Queues the replies for the next requests, in order.
    pub fn script(&self, replies: impl IntoIterator<Item = Reply>) {
        self.inner.script.lock().unwrap().extend(replies);
    }

    /// The reply once the script is used up.
    pub fn always(&self, reply: Reply) {
        *self.inner.default.lock().unwrap() = Some(reply);
    }

    /// The most requests the receiver was answering at the same moment.
    pub fn peak_concurrency(&self) -> usize {
        self.inner.open.lock().unwrap().1
    }

    /// Requests being answered now (arrived, not yet answered).
    pub fn open_requests(&self) -> usize {
        self.inner.open.lock().unwrap().0
    }

    pub fn received(&self) -> Vec<Received> {
        self.inner.received.lock().unwrap().clone()
    }

    /// Waits until `count` requests arrived (or panics after `within`).
    pub async fn wait_for(&self, count: usize, within: Duration) -> Vec<Received> {
        let deadline = Instant::now() + within;
        loop {
            let received = self.received();
            if received.len() >= count {
                return received;
            }
            assert!(Instant::now() < deadline, "expected {count} webhooks, got {}: {received:?}", received.len());
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}
