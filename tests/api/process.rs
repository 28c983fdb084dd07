//! The real binary as a process: deliveries survive SIGKILL, and two processes share one Postgres queue.

use std::collections::{HashMap, HashSet};
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::helpers::{ProcessDatabase, ADMIN_TOKEN, MASTER_KEY};
use crate::receiver::Receiver;

/// A port that is free now (nothing listens on it once this returns).
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A running `integrations-core serve`, killed with SIGKILL when dropped.
struct Server {
    child: Child,
    base: String,
}

impl Server {
    async fn start(database_url: &str) -> Self {
        let port = free_port();
        let child = Command::new(env!("CARGO_BIN_EXE_integrations-core"))
            .arg("serve")
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("DATABASE_URL", database_url)
            .env("LISTEN_ADDR", format!("127.0.0.1:{port}"))
            .env("MASTER_KEY", MASTER_KEY)
            .env("ADMIN_TOKEN", ADMIN_TOKEN)
            .env("WEBHOOK_ALLOW_PRIVATE", "true")
            // Retry every 300 ms for a minute: long enough to outlive the outage, and a delivery
            // leased when its process died is claimed again after its lease (2 x 2 s + 10 s).
            .env("WEBHOOK_RETRY_SCHEDULE", vec!["300ms"; 200].join(","))
            .env("WEBHOOK_TIMEOUT_SECS", "2")
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("the server binary starts");
        let server = Self { child, base: format!("http://127.0.0.1:{port}") };
        let deadline = Instant::now() + Duration::from_secs(20);
        let client = reqwest::Client::new();
        loop {
            if let Ok(r) = client.get(format!("{}/readyz", server.base)).send().await {
                if r.status().is_success() {
                    return server;
                }
            }
            assert!(Instant::now() < deadline, "the server never became ready");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    async fn call(&self, method: reqwest::Method, path: &str, token: Option<&str>, body: Option<Value>) -> Value {
        let mut request = reqwest::Client::new().request(method, format!("{}/v2/integrations{path}", self.base));
        if let Some(token) = token {
            request = request.header("authorization", token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response: Value = request.send().await.unwrap().json().await.unwrap();
        assert_eq!(response["Status"], "Success", "{path}: {response}");
        response["Data"].clone()
    }

    /// A customer with one sandbox app whose `missedCall` URL is `url`; returns the app id.
    async fn seed_app(&self, url: &str) -> String {
        use reqwest::Method;
        let customer = self
            .call(
                Method::POST,
                "/customer",
                Some(ADMIN_TOKEN),
                Some(json!({"CustomerName": "Acme", "Email": "ops@acme.example"})),
            )
            .await;
        let token = |id: &Value, secret: &Value, entity: &str| json!({"Id": id, "Secret": secret, "Entity": entity});
        let customer_token = self
            .call(
                Method::POST,
                "/token",
                None,
                Some(token(&customer["CustomerID"], &customer["CustomerSecret"], "customer")),
            )
            .await;
        let app = self
            .call(
                Method::POST,
                "/app",
                customer_token.as_str(),
                Some(json!({"AppName": "CRM", "ExotelAccountSid": "acme", "ExotelApiKey": "k", "ExotelApiToken": "t",
                    "ExotelDomain": "sandbox", "IsActive": true})),
            )
            .await;
        let app_token =
            self.call(Method::POST, "/token", None, Some(token(&app["AppID"], &app["AppSecret"], "app"))).await;
        self.call(Method::POST, "/app_setting", app_token.as_str(), Some(json!({"Key": "missedCall", "Value": url})))
            .await;
        app["AppID"].as_str().unwrap().to_string()
    }

    async fn missed_call(&self, app_id: &str, call_sid: &str) {
        let path = format!("/call/inbound_call/{app_id}?type=missedcall&CallSid={call_sid}");
        assert_eq!(self.call(reqwest::Method::GET, &path, None, None).await, "Success");
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Waits until the receiver has seen every CallSid in `expected`; returns how often each webhook-id came.
async fn wait_for_all(receiver: &Receiver, expected: &HashSet<String>, within: Duration) -> HashMap<String, usize> {
    let deadline = Instant::now() + within;
    loop {
        let received = receiver.received();
        let seen: HashSet<String> =
            received.iter().map(|r| r.json()["CallSid"].as_str().unwrap().to_string()).collect();
        if expected.is_subset(&seen) {
            let mut counts = HashMap::new();
            for r in &received {
                *counts.entry(r.header("webhook-id")).or_insert(0) += 1;
            }
            return counts;
        }
        let missing = expected.difference(&seen).count();
        assert!(Instant::now() < deadline, "{missing} of {} deliveries never arrived", expected.len());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn deliveries_queued_before_a_sigkill_arrive_after_a_restart() {
    let database = ProcessDatabase::new("proc").await;
    let receiver_port = free_port();
    let url = format!("http://127.0.0.1:{receiver_port}/hook");

    let mut first = Server::start(&database.url).await;
    let app_id = first.seed_app(&url).await;
    let sids: HashSet<String> = (0..50).map(|n| format!("kill-{n}")).collect();
    for sid in &sids {
        first.missed_call(&app_id, sid).await;
    }
    // The receiver is down: every delivery is failing and waiting for its retry.
    tokio::time::sleep(Duration::from_millis(300)).await;
    first.kill();

    let _second = Server::start(&database.url).await;
    let receiver = Receiver::start_on(receiver_port).await;
    let counts = wait_for_all(&receiver, &sids, Duration::from_secs(90)).await;
    assert_eq!(counts.len(), 50, "one webhook-id per delivery");
    drop(_second);
    database.drop().await;
}

#[cfg(feature = "pg-tests")]
#[tokio::test]
async fn two_processes_on_one_postgres_deliver_each_webhook_exactly_once() {
    let database = ProcessDatabase::new("proc").await;
    let receiver = Receiver::start().await;
    let a = Server::start(&database.url).await;
    let b = Server::start(&database.url).await;
    let app_id = a.seed_app(&receiver.url("/hook")).await;

    let sids: Vec<String> = (0..1000).map(|n| format!("pair-{n}")).collect();
    for (i, sid) in sids.iter().enumerate() {
        let server = if i % 2 == 0 { &a } else { &b };
        server.missed_call(&app_id, sid).await;
    }

    let expected: HashSet<String> = sids.into_iter().collect();
    let counts = wait_for_all(&receiver, &expected, Duration::from_secs(60)).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let total = receiver.received().len();
    assert_eq!(counts.len(), 1000);
    assert_eq!(total, 1000, "no delivery was sent twice");
    drop((a, b));
    database.drop().await;
}

#[tokio::test]
async fn sigterm_stops_the_server_cleanly_after_answering_what_it_received() {
    let database = ProcessDatabase::new("proc").await;
    let mut server = Server::start(&database.url).await;
    let app_id = server.seed_app("http://127.0.0.1:9/hook").await;
    let last = {
        let url = format!("{}/v2/integrations/call/inbound_call/{app_id}?type=missedcall&CallSid=drain", server.base);
        tokio::spawn(async move { reqwest::get(url).await.map(|r| r.status()) })
    };
    tokio::time::sleep(Duration::from_millis(20)).await;

    let pid = server.child.id().to_string();
    assert!(Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());

    let status = tokio::task::spawn_blocking(move || {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if let Some(status) = server.child.try_wait().unwrap() {
                return status;
            }
            assert!(Instant::now() < deadline, "the server did not stop after SIGTERM");
            std::thread::sleep(Duration::from_millis(20));
        }
    })
    .await
    .unwrap();
    assert!(status.success(), "exit status {status:?}");
    assert_eq!(last.await.unwrap().unwrap(), reqwest::StatusCode::OK, "the last request was answered");
    database.drop().await;
}
