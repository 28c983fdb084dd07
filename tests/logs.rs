//! Structured logs: every request line names its id, route, status and latency; no secret, token
//! or full phone number ever reaches a log line. A test binary of its own: tracing caches which
//! call sites are enabled per process, so capturing needs a process where nothing else logs.

#[path = "api/helpers.rs"]
#[allow(dead_code)]
mod helpers;
#[path = "api/receiver.rs"]
#[allow(dead_code)]
mod receiver;

use std::sync::{Arc, Mutex};

use integrations_core::config::LogFormat;
use integrations_core::telemetry;
use serde_json::{json, Value};
use tracing_subscriber::EnvFilter;

use crate::helpers::TestApp;

/// Collects log output in memory.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Captured {
    type Writer = Captured;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

impl Captured {
    fn lines(&self) -> Vec<Value> {
        let text = String::from_utf8(self.0.lock().unwrap().clone()).unwrap();
        text.lines().map(|l| serde_json::from_str(l).unwrap_or_else(|_| panic!("not a JSON line: {l}"))).collect()
    }
}

// A current-thread runtime keeps every task of the test on the thread whose default subscriber captures.
#[tokio::test(flavor = "current_thread")]
async fn json_logs_trace_each_request_and_never_show_secrets_or_numbers() {
    let captured = Captured::default();
    let _guard = tracing::subscriber::set_default(telemetry::subscriber(
        LogFormat::Json,
        EnvFilter::new("info"),
        captured.clone(),
        false,
    ));
    let app = TestApp::new().await;
    let entity = app.seed_app("sandbox").await;
    app.post(
        "/v2/integrations/usermapping",
        Some(&entity.token),
        json!([{"AppUserId": "meera", "AppUsername": "Meera", "Email": "meera@acme.example",
            "ExotelAccountSid": entity.account_sid, "ExotelUserName": "Meera Pillai",
            "AgentNumber": "+919812300011", "VirtualNumber": "+918040001111"}]),
    )
    .await
    .data();
    let passthru = format!(
        "/v2/integrations/call/inbound_call/{}?type=popup&CallSid=z1&CallFrom=09812300077&DialWhomNumber=%2B919812300011",
        entity.id
    );
    let answer = app.get(&passthru, None).await;
    answer.data();
    let request_id = answer.body["RequestId"].as_str().unwrap().to_string();
    let passthru_key = signed_passthrus(&app, &entity).await;

    let lines = captured.lines();
    let everything: String = lines.iter().map(Value::to_string).collect();
    for secret in [&entity.secret, &entity.token, &entity.customer.secret, &entity.customer.token, &passthru_key] {
        assert!(!everything.contains(secret.as_str()), "a secret or token reached the logs");
    }
    assert!(!everything.contains("key="), "a passthru URL's key reached the logs");
    for number in ["9812300011", "9812300077", "8040001111", "test-api-key", "test-api-token"] {
        assert!(!everything.contains(number), "{number} reached the logs");
    }

    let finished: Vec<&Value> = lines.iter().filter(|l| l["message"] == "request finished").collect();
    assert!(finished.len() >= 6, "one line per request: {finished:?}");
    let passthru_line = finished
        .iter()
        .find(|l| l["span"]["request_id"] == request_id.as_str())
        .expect("the passthru's line carries its RequestId");
    assert_eq!(passthru_line["span"]["route"], "/v2/integrations/call/inbound_call/{app_id}");
    assert_eq!(passthru_line["span"]["method"], "GET");
    assert_eq!(passthru_line["span"]["app_id"], entity.id.as_str());
    assert_eq!(passthru_line["span"]["customer_id"], entity.customer.id.as_str());
    assert_eq!(passthru_line["status"], 200);
    assert!(passthru_line["latency_ms"].as_f64().is_some());
    // Lines logged inside the request carry the same id.
    let inner = lines.iter().filter(|l| l["span"]["request_id"] == request_id.as_str()).count();
    assert!(inner >= 2, "the handler's own lines carry the RequestId too");
    let recorded = lines
        .iter()
        .find(|l| {
            l["span"]["request_id"] == request_id.as_str()
                && l["message"].as_str().is_some_and(|m| m.starts_with("call event recorded"))
        })
        .expect("the passthru logs the event it recorded");
    assert_eq!(recorded["span"]["app_id"], entity.id.as_str(), "the event's line names its app: {recorded}");

    // A stored secret no configured key opens (sealed under a key since dropped) is a 500 whose log
    // line names what it belongs to, and nothing of the key.
    let stranger = integrations_core::crypto::MasterKey::from_bytes([42; 32]);
    let orphan = stranger.seal_field(integrations_core::crypto::SecretField::AppSecret, &entity.id, &entity.secret);
    app.raw_execute(&format!("UPDATE apps SET secret = '{}' WHERE id = '{}'", orphan.0, entity.id)).await;
    let refused = app.token_response(&entity.id, &entity.secret, "app").await;
    assert_eq!(refused.status, axum::http::StatusCode::INTERNAL_SERVER_ERROR);
    let request_id = refused.body["RequestId"].as_str().unwrap().to_string();
    let lines = captured.lines();
    let failed = lines
        .iter()
        .find(|l| l["span"]["request_id"] == request_id.as_str() && l["level"] == "ERROR")
        .expect("the 500 is logged under its RequestId");
    let error = failed["error"].as_str().unwrap();
    assert!(error.contains(&format!("apps.secret of {}", entity.id)), "{failed}");
    assert!(error.contains(&format!("names the master key {}", stranger.id())), "{failed}");
    let everything: String = lines.iter().map(Value::to_string).collect();
    assert!(!everything.contains(&entity.secret), "a secret reached the logs");
}

/// Requires the app's passthru key and sends passthrus with it (query, form body), with a wrong one
/// and without one; returns the key.
async fn signed_passthrus(app: &TestApp, entity: &helpers::TestAppEntity) -> String {
    use axum::body::Body;
    use axum::http::{Request, StatusCode};

    let settings = app.put("/v2/integrations/app/passthru", Some(&entity.token), json!({"Required": true})).await;
    let popup = settings.data()["Popup"].as_str().unwrap().to_string();
    let key = popup.split_once("&key=").unwrap().1.to_string();
    let path = &popup[popup.find("/v2/").unwrap()..];
    app.get(&format!("{path}&CallSid=k1"), None).await.data();
    let form = Request::post(format!("/v2/integrations/call/inbound_call/{}?type=popup", entity.id))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Body::from(format!("CallSid=k2&key={key}")))
        .unwrap();
    app.send(form).await.data();
    let near = format!("{}{}", &key[..63], if key.ends_with('0') { '1' } else { '0' });
    let wrong = format!("/v2/integrations/call/inbound_call/{}?type=popup&CallSid=k3&key={near}", entity.id);
    app.get(&wrong, None).await.error(StatusCode::UNAUTHORIZED);
    let unsigned = format!("/v2/integrations/call/inbound_call/{}?type=popup&CallSid=k4", entity.id);
    app.get(&unsigned, None).await.error(StatusCode::UNAUTHORIZED);
    key
}
