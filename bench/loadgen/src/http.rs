//! A lean HTTP/1.1 client (one keep-alive connection per worker, no pool, no TLS) and the
//! webhook receivers: one that answers 200 and records arrival times, one that never answers.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Instant;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::client::conn::http1::SendRequest;
use hyper::header::{HeaderValue, AUTHORIZATION, CONTENT_TYPE, HOST};
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::io::AsyncReadExt;
use tokio::net::{TcpListener, TcpStream};

use crate::load::Tracker;

/// One request to send. Cheap to build per request.
#[derive(Clone)]
pub struct Req {
    pub method: Method,
    pub path: String,
    pub auth: Option<Arc<str>>,
    pub body: Option<Bytes>,
    /// For passthru requests: the index in the scenario's tracker, when this event's webhook is timed.
    pub track: Option<usize>,
}

impl Req {
    pub fn get(path: impl Into<String>) -> Self {
        Self { method: Method::GET, path: path.into(), auth: None, body: None, track: None }
    }
    pub fn post(path: impl Into<String>, body: impl Into<Bytes>) -> Self {
        Self { method: Method::POST, path: path.into(), auth: None, body: Some(body.into()), track: None }
    }
    pub fn auth(mut self, token: &Arc<str>) -> Self {
        self.auth = Some(token.clone());
        self
    }
}

/// A keep-alive connection to the server, reopened after an error.
pub struct Conn {
    addr: SocketAddr,
    host: HeaderValue,
    sender: Option<SendRequest<Full<Bytes>>>,
}

impl Conn {
    pub fn new(addr: SocketAddr) -> Self {
        let host = HeaderValue::from_str(&addr.to_string()).expect("an address is a valid header");
        Self { addr, host, sender: None }
    }

    async fn connect(&self) -> Result<SendRequest<Full<Bytes>>, String> {
        let stream = TcpStream::connect(self.addr).await.map_err(|e| format!("connect: {e}"))?;
        let _ = stream.set_nodelay(true);
        let (sender, connection) =
            hyper::client::conn::http1::handshake(TokioIo::new(stream)).await.map_err(|e| format!("handshake: {e}"))?;
        tokio::spawn(async move {
            let _ = connection.await;
        });
        Ok(sender)
    }

    /// Sends `req` and reads the whole answer.
    pub async fn send(&mut self, req: &Req) -> Result<(StatusCode, Bytes), String> {
        if self.sender.is_none() {
            self.sender = Some(self.connect().await?);
        }
        let sender = self.sender.as_mut().expect("connected above");
        if sender.ready().await.is_err() {
            self.sender = Some(self.connect().await?);
        }
        let sender = self.sender.as_mut().expect("connected above");
        let mut builder = Request::builder().method(req.method.clone()).uri(req.path.as_str()).header(HOST, &self.host);
        if let Some(token) = &req.auth {
            builder = builder.header(AUTHORIZATION, token.as_ref());
        }
        if req.body.is_some() {
            builder = builder.header(CONTENT_TYPE, "application/json");
        }
        let request = builder.body(Full::new(req.body.clone().unwrap_or_default())).map_err(|e| e.to_string())?;
        let result = async {
            let response = sender.send_request(request).await.map_err(|e| format!("request: {e}"))?;
            let status = response.status();
            let body = response.into_body().collect().await.map_err(|e| format!("body: {e}"))?.to_bytes();
            Ok::<_, String>((status, body))
        }
        .await;
        if result.is_err() {
            self.sender = None;
        }
        result
    }
}

/// The receiver's shared state: which scenarios are being timed, and counters.
#[derive(Default)]
pub struct ReceiverState {
    trackers: RwLock<Vec<Arc<Tracker>>>,
    pub received: AtomicU64,
    pub untracked: AtomicU64,
}

impl ReceiverState {
    pub fn add_tracker(&self, tracker: Arc<Tracker>) {
        self.trackers.write().unwrap().push(tracker);
    }

    /// Finds `"CallSid":"b<tracker>-<index>"` in the payload and records its arrival.
    fn record(&self, body: &[u8], at: Instant) {
        self.received.fetch_add(1, Ordering::Relaxed);
        let Some((tracker_id, index)) = parse_call_sid(body) else {
            self.untracked.fetch_add(1, Ordering::Relaxed);
            return;
        };
        let tracker = self.trackers.read().unwrap().iter().find(|t| t.id == tracker_id).cloned();
        match tracker {
            Some(tracker) => tracker.arrived(index, at),
            None => {
                self.untracked.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

/// `b12-345` → (12, 345).
fn parse_call_sid(body: &[u8]) -> Option<(u32, usize)> {
    const KEY: &[u8] = b"\"CallSid\":\"b";
    let start = body.windows(KEY.len()).position(|w| w == KEY)? + KEY.len();
    let rest = &body[start..];
    let end = rest.iter().position(|&c| c == b'"')?;
    let text = std::str::from_utf8(&rest[..end]).ok()?;
    let (tracker, index) = text.split_once('-')?;
    Some((tracker.parse().ok()?, index.parse().ok()?))
}

/// Serves the answering receiver on `listener` until the process ends.
pub async fn serve_receiver(listener: TcpListener, state: Arc<ReceiverState>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else { continue };
        let _ = stream.set_nodelay(true);
        let state = state.clone();
        tokio::spawn(async move {
            let service = service_fn(move |request: Request<Incoming>| {
                let state = state.clone();
                async move {
                    let body = request.into_body().collect().await.map(|b| b.to_bytes()).unwrap_or_default();
                    state.record(&body, Instant::now());
                    Ok::<_, Infallible>(Response::new(Full::new(Bytes::from_static(b"ok"))))
                }
            });
            let _ = hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(stream), service).await;
        });
    }
}

/// A receiver that accepts connections and reads requests but never answers (a hung tenant).
pub async fn serve_hanging(listener: TcpListener, accepted: Arc<AtomicU64>) {
    loop {
        let Ok((mut stream, _)) = listener.accept().await else { continue };
        accepted.fetch_add(1, Ordering::Relaxed);
        tokio::spawn(async move {
            let mut buffer = vec![0u8; 16 * 1024];
            // Read (and drop) whatever comes until the server gives up and closes.
            while let Ok(n) = stream.read(&mut buffer).await {
                if n == 0 {
                    break;
                }
            }
        });
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn call_sid_is_found_in_a_payload() {
        let body = br#"{"CustomerId":"c","AppId":"a","CallSid":"b3-1234","X":1}"#;
        assert_eq!(super::parse_call_sid(body), Some((3, 1234)));
        assert_eq!(super::parse_call_sid(br#"{"CallSid":"other"}"#), None);
    }
}
