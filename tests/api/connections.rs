//! The server loop holds under clients that open connections and do not use them: each is closed
//! by its deadline, a connection over the cap gets a fast 503, and a normal client is served throughout.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use integrations_core::server;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;

use crate::helpers::TestApp;

/// A real server on a port of its own, with 1-second connection deadlines; stops when dropped.
struct Server {
    addr: SocketAddr,
    shutdown: CancellationToken,
    _app: TestApp,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

async fn server(max_connections: usize) -> Server {
    let app = TestApp::with_env(&[
        ("HEADER_READ_TIMEOUT_SECS", "1"),
        ("KEEP_ALIVE_TIMEOUT_SECS", "2"),
        ("BODY_READ_TIMEOUT_SECS", "1"),
    ])
    .await;
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let shutdown = CancellationToken::new();
    tokio::spawn(server::serve(listener, app.state.clone(), max_connections, shutdown.clone()));
    Server { addr, shutdown, _app: app }
}

/// Reads until the server closes the connection (or `limit` passes); returns what it sent and when it closed.
async fn read_until_closed(stream: &mut TcpStream, limit: Duration) -> (String, Option<Duration>) {
    let started = Instant::now();
    let mut received = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match tokio::time::timeout(limit.saturating_sub(started.elapsed()), stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return (String::from_utf8_lossy(&received).into(), Some(started.elapsed())),
            Ok(Ok(n)) => received.extend_from_slice(&buf[..n]),
            Err(_) => return (String::from_utf8_lossy(&received).into(), None),
        }
    }
}

const HEALTHZ: &[u8] = b"GET /healthz HTTP/1.1\r\nHost: test\r\n\r\n";

/// Sends `GET /healthz` on the connection and checks it is answered 200 (the connection stays open).
async fn assert_healthz_served(client: &mut TcpStream) {
    client.write_all(HEALTHZ).await.unwrap();
    let mut buf = [0u8; 4096];
    let n = client.read(&mut buf).await.unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"), "{}", String::from_utf8_lossy(&buf[..n]));
}

#[tokio::test]
async fn a_connection_that_sends_nothing_is_closed_after_the_head_deadline() {
    let server = server(100).await;
    let mut silent = TcpStream::connect(server.addr).await.unwrap();
    let (_, closed) = read_until_closed(&mut silent, Duration::from_secs(5)).await;
    let closed = closed.expect("the server closed the silent connection");
    assert!(closed >= Duration::from_millis(900) && closed < Duration::from_secs(3), "closed after {closed:?}");
}

#[tokio::test]
async fn a_head_trickled_a_line_at_a_time_is_cut_off_at_the_head_deadline() {
    let server = server(100).await;
    let mut slow = TcpStream::connect(server.addr).await.unwrap();
    let started = Instant::now();
    slow.write_all(b"GET /healthz HTTP/1.1\r\n").await.unwrap();
    let mut closed = None;
    for n in 0..10 {
        tokio::time::sleep(Duration::from_millis(300)).await;
        if slow.write_all(format!("X-Trickle-{n}: 1\r\n").as_bytes()).await.is_err() {
            closed = Some(started.elapsed());
            break;
        }
        let mut probe = [0u8; 1];
        if let Ok(Ok(0)) = tokio::time::timeout(Duration::from_millis(1), slow.read(&mut probe)).await {
            closed = Some(started.elapsed());
            break;
        }
    }
    let closed = closed.expect("the server closed the trickling connection");
    assert!(closed < Duration::from_secs(2), "closed after {closed:?}");
}

#[tokio::test]
async fn a_kept_alive_connection_is_served_then_closed_when_idle() {
    let server = server(100).await;
    let mut client = TcpStream::connect(server.addr).await.unwrap();
    for _ in 0..2 {
        assert_healthz_served(&mut client).await;
        // Idle for less than the keep-alive deadline, though longer than the head deadline.
        tokio::time::sleep(Duration::from_millis(1_300)).await;
    }
    let (_, closed) = read_until_closed(&mut client, Duration::from_secs(5)).await;
    let closed = closed.expect("the server closed the idle connection");
    assert!(closed < Duration::from_secs(2), "closed {closed:?} after the idle time had begun");
}

#[tokio::test]
async fn a_head_begun_after_an_idle_spell_has_the_head_deadline_not_the_idle_one() {
    let server = server(100).await;
    let mut client = TcpStream::connect(server.addr).await.unwrap();
    assert_healthz_served(&mut client).await;
    tokio::time::sleep(Duration::from_millis(500)).await;

    let started = Instant::now();
    client.write_all(b"GET /healthz HTTP/1.1\r\n").await.unwrap();
    let (_, closed) = read_until_closed(&mut client, Duration::from_secs(5)).await;
    let closed = closed.expect("the server closed the connection");
    assert!(closed < Duration::from_millis(1_500), "closed {closed:?} after the head began");
    assert!(started.elapsed() >= Duration::from_millis(900));
}

#[tokio::test]
async fn a_body_that_does_not_arrive_in_time_is_a_408() {
    let server = server(100).await;
    let mut client = TcpStream::connect(server.addr).await.unwrap();
    client
        .write_all(
            b"POST /v2/integrations/token HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n\
              Content-Length: 100\r\n\r\n{\"Id\":",
        )
        .await
        .unwrap();
    let (answer, _) = read_until_closed(&mut client, Duration::from_secs(5)).await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("BODY_READ_TIMEOUT_SECS"), "{answer}");
}

#[tokio::test]
async fn over_the_cap_a_connection_gets_an_immediate_503_and_a_freed_slot_serves_again() {
    let server = server(2).await;
    let _held: Vec<TcpStream> =
        vec![TcpStream::connect(server.addr).await.unwrap(), TcpStream::connect(server.addr).await.unwrap()];
    tokio::time::sleep(Duration::from_millis(100)).await;

    let started = Instant::now();
    let mut extra = TcpStream::connect(server.addr).await.unwrap();
    extra.write_all(HEALTHZ).await.unwrap();
    let (answer, _) = read_until_closed(&mut extra, Duration::from_secs(2)).await;
    assert!(started.elapsed() < Duration::from_millis(500), "shed after {:?}", started.elapsed());
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
    assert!(answer.to_ascii_lowercase().contains("retry-after: 1"), "{answer}");
    assert!(answer.contains(r#""Code":503"#) && answer.contains("too many open connections"), "{answer}");

    // The held connections send nothing, so their head deadline frees the slots.
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    let mut client = TcpStream::connect(server.addr).await.unwrap();
    assert_healthz_served(&mut client).await;
}

#[tokio::test]
async fn a_normal_client_is_served_promptly_beside_hundreds_of_idle_connections() {
    let server = server(10_000).await;
    let mut idle = Vec::new();
    for _ in 0..300 {
        let mut stream = TcpStream::connect(server.addr).await.unwrap();
        stream.write_all(b"GET /healthz HTTP/1.1\r\n").await.unwrap();
        idle.push(stream);
    }
    let client = reqwest::Client::new();
    let mut slowest = Duration::ZERO;
    for _ in 0..50 {
        let started = Instant::now();
        let answer = client.get(format!("http://{}/healthz", server.addr)).send().await.unwrap();
        assert_eq!(answer.status(), 200);
        slowest = slowest.max(started.elapsed());
    }
    assert!(slowest < Duration::from_millis(500), "the slowest request took {slowest:?}");
}
