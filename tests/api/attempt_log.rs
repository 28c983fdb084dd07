//! The attempt log of a delivery (`GET /webhook_deliveries/{id}`) and testing a webhook URL
//! (`POST /app_setting/test`), CONTRACT 10, with real local receivers.

use std::time::{Duration, Instant};

use axum::http::StatusCode;
use base64::Engine;
use hmac::{Hmac, Mac};
use integrations_core::domain::call::DeliveryStatus;
use integrations_core::domain::time::now_ms;
use integrations_core::store::AttemptRecord;
use serde_json::{json, Value};
use sha2::Sha256;
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::helpers::{keys, object_keys, TestApp, TestAppEntity, WebhookTest, CALL_PAYLOAD_KEYS, DELIVERY_KEYS};

const WAIT: Duration = Duration::from_secs(10);

/// The delivery log's keys, then the payload sent and the attempts.
fn detail_keys() -> Vec<String> {
    keys(&[&DELIVERY_KEYS[..], &["Payload", "AttemptLog"]].concat())
}
const ATTEMPT_KEYS: [&str; 6] = ["Attempt", "At", "ResponseCode", "DurationMs", "Error", "ResponseBody"];
const TEST_RESULT_KEYS: [&str; 6] = ["DeliveryId", "Url", "ResponseCode", "DurationMs", "Error", "ResponseBody"];

fn passthru(entity: &TestAppEntity, kind: &str, call_sid: &str) -> String {
    format!("/v2/integrations/call/inbound_call/{}?type={kind}&CallSid={call_sid}", entity.id)
}

fn detail_path(id: &str) -> String {
    format!("/v2/integrations/webhook_deliveries/{id}")
}

/// A test app whose webhooks may go to this machine (retries 100 ms apart), its dispatcher, and an app.
async fn local_app() -> (TestApp, crate::helpers::RunningDispatcher, TestAppEntity) {
    let app = TestApp::with_local_webhooks(&[]).await;
    let dispatcher = app.start_dispatcher();
    let entity = app.seed_app("sandbox").await;
    (app, dispatcher, entity)
}

/// Polls the delivery log until its first delivery is finished; returns it.
async fn first_finished(app: &TestApp, entity: &TestAppEntity) -> Value {
    let deadline = Instant::now() + WAIT;
    loop {
        let log = app.get("/v2/integrations/webhook_deliveries", Some(&entity.token)).await;
        let first = log.data()["Deliveries"][0].clone();
        if first.is_object() && first["Status"] != "pending" {
            return first;
        }
        assert!(Instant::now() < deadline, "the delivery never finished: {first}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// `GET /webhook_deliveries/{id}` as `entity`, checked to be a 200 with the keys in order.
async fn detail(app: &TestApp, entity: &TestAppEntity, id: &str) -> Value {
    let answer = app.get(&detail_path(id), Some(&entity.token)).await;
    let data = answer.data().clone();
    assert_eq!(answer.data_keys(), detail_keys(), "{}", answer.text);
    data
}

/// The keys of each attempt of the detail's `AttemptLog`, in the order of the JSON text.
fn attempt_keys(answer_text: &str) -> Vec<Vec<String>> {
    let data: Value = serde_json::from_str(answer_text).unwrap();
    let count = data["Data"]["AttemptLog"].as_array().unwrap().len();
    // Each attempt object's text, cut from the answer: the keys of a `Value` are sorted.
    let mut rest = &answer_text[answer_text.find("\"AttemptLog\"").unwrap()..];
    (0..count)
        .map(|_| {
            let start = rest.find('{').unwrap();
            let end = start + rest[start..].find('}').unwrap() + 1;
            let keys = object_keys(&rest[start..end]);
            rest = &rest[end..];
            keys
        })
        .collect()
}

/// The keys of the detail's `Payload`, in the order of the JSON text (a flat object).
fn payload_keys(answer_text: &str) -> Vec<String> {
    let start = answer_text.find("\"Payload\":").unwrap() + "\"Payload\":".len();
    let end = start + answer_text[start..].find('}').unwrap() + 1;
    object_keys(&answer_text[start..end])
}

#[tokio::test]
async fn the_attempt_log_shows_a_failed_attempt_then_the_one_that_arrived() {
    let (app, _dispatcher, entity) = local_app().await;
    let receiver = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(500).set_body_string("database is down").set_delay(Duration::from_millis(150)),
        )
        .up_to_n_times(1)
        .mount(&receiver)
        .await;
    Mock::given(method("POST")).respond_with(ResponseTemplate::new(200).set_body_string("ok")).mount(&receiver).await;
    app.set_setting(&entity, "missedCall", format!("{}/missed", receiver.uri())).await;

    app.get(&passthru(&entity, "missedcall", "al1"), None).await.data();
    let delivery = first_finished(&app, &entity).await;
    let id = delivery["DeliveryId"].as_str().unwrap();

    let answer = app.get(&detail_path(id), Some(&entity.token)).await;
    let data = detail(&app, &entity, id).await;
    assert_eq!(data["Status"], "delivered");
    assert_eq!(data["Attempts"], 2);
    assert_eq!(data["EventType"], "missedCall");
    assert_eq!(payload_keys(&answer.text), keys(&CALL_PAYLOAD_KEYS), "the payload in the order it was sent");
    assert_eq!(data["Payload"]["CallSid"], "al1", "the body sent, as an object");
    assert_eq!(data["Payload"]["CallState"], "terminal");

    let log = data["AttemptLog"].as_array().unwrap();
    assert_eq!(log.len(), 2, "{data}");
    assert_eq!(attempt_keys(&answer.text), vec![keys(&ATTEMPT_KEYS); 2]);
    let (failed, arrived) = (&log[0], &log[1]);
    assert_eq!((failed["Attempt"].clone(), arrived["Attempt"].clone()), (json!(1), json!(2)));
    assert_eq!(failed["ResponseCode"], 500);
    assert_eq!(failed["ResponseBody"], "database is down");
    assert_eq!(failed["Error"], "receiver answered 500: database is down");
    assert!(failed["DurationMs"].as_i64().unwrap() >= 150, "the receiver took 150 ms: {failed}");
    assert_eq!(arrived["ResponseCode"], 200);
    assert_eq!(arrived["ResponseBody"], "ok");
    assert_eq!(arrived["Error"], "");
    assert!(arrived["DurationMs"].as_i64().unwrap() >= 0);
    for attempt in log {
        let at = attempt["At"].as_str().unwrap();
        assert!(at.ends_with("+05:30") && chrono::DateTime::parse_from_rfc3339(at).is_ok(), "{at}");
    }
    assert!(failed["At"].as_str() <= arrived["At"].as_str(), "oldest first");
}

#[tokio::test]
async fn a_long_answer_is_kept_up_to_4_kib() {
    let (app, _dispatcher, entity) = local_app().await;
    let receiver = MockServer::start().await;
    let long = format!("{}{}", "x".repeat(4096), "y".repeat(20_000));
    Mock::given(method("POST")).respond_with(ResponseTemplate::new(200).set_body_string(long)).mount(&receiver).await;
    app.set_setting(&entity, "popup", format!("{}/popup", receiver.uri())).await;

    app.get(&passthru(&entity, "popup", "long1"), None).await.data();
    let id = first_finished(&app, &entity).await["DeliveryId"].as_str().unwrap().to_string();

    let data = detail(&app, &entity, &id).await;
    assert_eq!(data["Status"], "delivered");
    assert_eq!(data["AttemptLog"][0]["ResponseBody"], "x".repeat(4096));
}

#[tokio::test]
async fn an_attempt_without_an_http_answer_has_a_null_response_code_and_says_why() {
    let (app, _dispatcher, entity) = local_app().await;
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://127.0.0.1:{}/hangup", closed.local_addr().unwrap().port());
    drop(closed);
    app.set_setting(&entity, "incomingCallHangup", url).await;

    app.get(&passthru(&entity, "incomingcallhungup", "closed1"), None).await.data();
    let delivery = first_finished(&app, &entity).await;
    assert_eq!(delivery["Status"], "dead", "the first attempt and three retries failed: {delivery}");

    let data = detail(&app, &entity, delivery["DeliveryId"].as_str().unwrap()).await;
    let log = data["AttemptLog"].as_array().unwrap();
    assert_eq!(log.len(), 4, "{data}");
    let numbers: Vec<i64> = log.iter().map(|a| a["Attempt"].as_i64().unwrap()).collect();
    assert_eq!(numbers, [1, 2, 3, 4]);
    for attempt in log {
        assert_eq!(attempt["ResponseCode"], Value::Null, "{attempt}");
        let error = attempt["Error"].as_str().unwrap();
        assert!(error.starts_with("could not connect to the receiver"), "{error}");
        assert_eq!(attempt["ResponseBody"], "");
    }
}

#[tokio::test]
async fn another_apps_delivery_and_an_unknown_id_are_not_found() {
    let (app, _dispatcher, entity) = local_app().await;
    app.set_setting(&entity, "missedCall", "https://crm.example.com/missed").await;
    app.get(&passthru(&entity, "missedcall", "mine1"), None).await.data();
    let log = app.get("/v2/integrations/webhook_deliveries", Some(&entity.token)).await;
    let id = log.data()["Deliveries"][0]["DeliveryId"].as_str().unwrap().to_string();
    app.get(&detail_path(&id), Some(&entity.token)).await.data();

    let other = app.seed_app("sandbox").await;
    let hidden = app.get(&detail_path(&id), Some(&other.token)).await.error(StatusCode::NOT_FOUND);
    let unknown = app.get(&detail_path("msg_nothing"), Some(&entity.token)).await.error(StatusCode::NOT_FOUND);
    assert_eq!(hidden, format!("no delivery {id:?} for this app"));
    assert_eq!(unknown, "no delivery \"msg_nothing\" for this app");
    app.get(&detail_path(&id), None).await.error(StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn purging_a_delivery_or_deleting_its_app_removes_its_attempts() {
    let (app, _dispatcher, entity) = local_app().await;
    let receiver = MockServer::start().await;
    Mock::given(method("POST")).respond_with(ResponseTemplate::new(200)).mount(&receiver).await;
    app.set_setting(&entity, "missedCall", format!("{}/missed", receiver.uri())).await;
    let other = app.seed_app("sandbox").await;
    app.set_setting(&other, "missedCall", format!("{}/other", receiver.uri())).await;

    app.get(&passthru(&entity, "missedcall", "purge1"), None).await.data();
    first_finished(&app, &entity).await;
    app.get(&passthru(&other, "missedcall", "purge2"), None).await.data();
    first_finished(&app, &other).await;
    assert_eq!(app.raw_count("SELECT COUNT(*) FROM delivery_attempts").await, 2);

    // Past the retention: every finished delivery is purged, and its attempts with it.
    assert_eq!(app.store().purge_finished_deliveries(now_ms() + 60_000).await.unwrap(), 2);
    assert_eq!(app.raw_count("SELECT COUNT(*) FROM delivery_attempts").await, 0);

    app.get(&passthru(&entity, "missedcall", "purge3"), None).await.data();
    first_finished(&app, &entity).await;
    app.get(&passthru(&other, "missedcall", "purge4"), None).await.data();
    first_finished(&app, &other).await;
    assert_eq!(app.raw_count("SELECT COUNT(*) FROM delivery_attempts").await, 2);
    app.delete("/v2/integrations/customer", Some(&entity.customer.token)).await.data();
    let left = format!(
        "SELECT COUNT(*) FROM delivery_attempts a JOIN webhook_deliveries d ON d.id = a.delivery_id \
         WHERE d.app_id = '{}'",
        other.id
    );
    assert_eq!(app.raw_count("SELECT COUNT(*) FROM delivery_attempts").await, 1, "the deleted app's went");
    assert_eq!(app.raw_count(&left).await, 1, "the other app's attempt stays");
}

#[tokio::test]
async fn an_outcome_for_a_delivery_already_finished_logs_no_attempt() {
    let app = TestApp::with_local_webhooks(&[]).await;
    let entity = app.seed_app("sandbox").await;
    app.set_setting(&entity, "missedCall", "https://crm.example.com/missed").await;
    app.get(&passthru(&entity, "missedcall", "twice1"), None).await.data();
    let log = app.get("/v2/integrations/webhook_deliveries", Some(&entity.token)).await;
    let id = log.data()["Deliveries"][0]["DeliveryId"].as_str().unwrap().to_string();
    let outcome = |status, code: i64, body: &str| {
        let now = now_ms();
        AttemptRecord {
            status,
            response_code: Some(code),
            error: String::new(),
            next_attempt_at: now,
            now,
            attempted_at: now - 7,
            duration_ms: 7,
            response_body: body.to_string(),
        }
    };

    let delivered = outcome(DeliveryStatus::Delivered, 200, "first");
    let late = outcome(DeliveryStatus::Dead, 500, "late");
    app.store().record_attempts(&[(id.as_str(), &delivered)]).await.unwrap();
    // Another process's lease ran out and it sent the delivery too: its outcome comes after.
    app.store().record_attempts(&[(id.as_str(), &late)]).await.unwrap();

    let data = detail(&app, &entity, &id).await;
    assert_eq!((data["Status"].clone(), data["Attempts"].clone()), (json!("delivered"), json!(1)));
    let log = data["AttemptLog"].as_array().unwrap();
    assert_eq!(log.len(), 1, "{data}");
    assert_eq!((log[0]["ResponseBody"].clone(), log[0]["DurationMs"].clone()), (json!("first"), json!(7)));
}

/// An independent Standard Webhooks verifier: HMAC-SHA256 of "{id}.{timestamp}.{body}" keyed with
/// the bytes of `whsec_` + base64(secret), decoded.
fn verify_standard_webhook(secret: &str, id: &str, timestamp: &str, body: &str, signatures: &str) -> bool {
    let b64 = base64::engine::general_purpose::STANDARD;
    let whsec = format!("whsec_{}", b64.encode(secret.as_bytes()));
    let key = b64.decode(whsec.strip_prefix("whsec_").unwrap()).unwrap();
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).unwrap();
    mac.update(format!("{id}.{timestamp}.{body}").as_bytes());
    let expected = b64.encode(mac.finalize().into_bytes());
    signatures.split(' ').any(|s| s.strip_prefix("v1,") == Some(expected.as_str()))
}

async fn test_setting(app: &TestApp, entity: &TestAppEntity, body: Value) -> crate::helpers::TestResponse {
    app.post("/v2/integrations/app_setting/test", Some(&entity.token), body).await
}

#[tokio::test]
async fn a_test_webhook_is_signed_sent_once_and_logged_as_a_delivered_test() {
    let WebhookTest { app, receiver, entity, dispatcher: _dispatcher } =
        WebhookTest::start(&[], &[("callback", "/callback")]).await;

    let answer = test_setting(&app, &entity, json!({"Key": "callback"})).await;

    let data = answer.data().clone();
    assert_eq!(answer.data_keys(), keys(&TEST_RESULT_KEYS));
    let id = data["DeliveryId"].as_str().unwrap();
    assert!(id.starts_with("msg_"), "{id}");
    assert_eq!(data["Url"], receiver.url("/callback"));
    assert_eq!(data["ResponseCode"], 200);
    assert_eq!(data["Error"], "");
    assert_eq!(data["ResponseBody"], "");
    assert!(data["DurationMs"].as_i64().unwrap() >= 0);

    let got = receiver.received();
    assert_eq!(got.len(), 1, "sent before the answer, and once");
    let webhook = &got[0];
    assert_eq!(webhook.path, "/callback");
    assert_eq!(webhook.header("content-type"), "application/json");
    assert!(webhook.header("user-agent").starts_with("integrations-core/"));
    let (wid, ts, sig) =
        (webhook.header("webhook-id"), webhook.header("webhook-timestamp"), webhook.header("webhook-signature"));
    assert_eq!(wid, id, "the webhook-id is the logged delivery's id");
    assert!(verify_standard_webhook(&entity.secret, &wid, &ts, &webhook.body, &sig), "signed with the app secret");
    assert_eq!(object_keys(&webhook.body), keys(&CALL_PAYLOAD_KEYS));
    let body = webhook.json();
    let call_sid = body["CallSid"].as_str().unwrap().to_string();
    assert!(call_sid.starts_with("test"), "{call_sid}");
    assert_eq!(body["AppId"], entity.id.as_str());
    assert_eq!(body["CustomerId"], entity.customer.id.as_str());
    assert_eq!((body["Direction"].clone(), body["CallState"].clone()), (json!("outbound"), json!("terminal")));

    let log = app.get("/v2/integrations/webhook_deliveries", Some(&entity.token)).await;
    let deliveries = log.data()["Deliveries"].as_array().unwrap().clone();
    assert_eq!(deliveries.len(), 1);
    let logged = &deliveries[0];
    assert_eq!(logged["DeliveryId"], id);
    assert_eq!(logged["EventType"], "test");
    assert_eq!(logged["Status"], "delivered");
    assert_eq!(logged["Attempts"], 1);
    assert_eq!(logged["CallSid"], call_sid.as_str());
    assert!(logged["DeliveredAt"].is_string(), "{logged}");
    let detail = detail(&app, &entity, id).await;
    assert_eq!(detail["Payload"], body, "the log keeps the body sent");
    assert_eq!(detail["AttemptLog"].as_array().unwrap().len(), 1);
    assert_eq!(detail["AttemptLog"][0]["ResponseCode"], 200);

    tokio::time::sleep(Duration::from_millis(700)).await;
    assert_eq!(receiver.received().len(), 1, "the dispatcher never sends it again");
    let again = app.post(&format!("{}/retry", detail_path(id)), Some(&entity.token), json!({})).await;
    assert!(again.error(StatusCode::CONFLICT).contains("is a test"), "{}", again.text);
}

#[tokio::test]
async fn each_webhook_key_gets_a_sample_of_its_own_event() {
    let settings = [("popup", "/p"), ("incomingCallHangup", "/h"), ("missedCall", "/m")];
    let WebhookTest { app, receiver, entity, dispatcher: _dispatcher } = WebhookTest::start(&[], &settings).await;

    for (key, status, state, detail) in [
        ("popup", "busy", "active", "dial"),
        ("incomingCallHangup", "free", "terminal", "terminal"),
        ("missedCall", "free", "terminal", "terminal"),
    ] {
        test_setting(&app, &entity, json!({"Key": key.to_uppercase()})).await.data();
        let body = receiver.received().last().unwrap().json();
        assert_eq!(body["Direction"], "incoming", "{key}");
        assert_eq!((body["CallStatus"].as_str(), body["CallState"].as_str()), (Some(status), Some(state)), "{key}");
        assert_eq!(body["CallDetail"], detail, "{key}");
        assert!(body["CallSid"].as_str().unwrap().starts_with("test"), "{key}");
        let answered = key == "incomingCallHangup";
        assert_eq!(body["TotalDuration"].as_i64().unwrap() > 0, answered, "{key}");
        assert_eq!(body["CallRecordings"].as_str().unwrap().is_empty(), !answered, "{key}");
        assert_eq!(body["EndTime"].as_str().unwrap().is_empty(), key == "popup", "{key}");
    }
    let paths: Vec<String> = receiver.received().iter().map(|r| r.path.clone()).collect();
    assert_eq!(paths, ["/p", "/h", "/m"]);
}

#[tokio::test]
async fn a_failing_receiver_makes_the_test_dead_and_it_is_never_retried() {
    let (app, _dispatcher, entity) = {
        let app = TestApp::with_local_webhooks(&[("WEBHOOK_RETRY_SCHEDULE", "200ms,200ms")]).await;
        let dispatcher = app.start_dispatcher();
        let entity = app.seed_app("sandbox").await;
        (app, dispatcher, entity)
    };
    let receiver = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(500).set_body_string("not today"))
        .mount(&receiver)
        .await;
    app.set_setting(&entity, "missedCall", format!("{}/missed", receiver.uri())).await;

    let answer = test_setting(&app, &entity, json!({"Key": "missedCall"})).await;

    let data = answer.data();
    assert_eq!(data["ResponseCode"], 500);
    assert_eq!(data["ResponseBody"], "not today");
    assert_eq!(data["Error"], "receiver answered 500: not today");
    let id = data["DeliveryId"].as_str().unwrap();
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(receiver.received_requests().await.unwrap().len(), 1, "no retry after the first delay");
    let logged = detail(&app, &entity, id).await;
    assert_eq!((logged["Status"].clone(), logged["Attempts"].clone()), (json!("dead"), json!(1)));
    assert_eq!(logged["EventType"], "test");
    assert_eq!(logged["LastResponseCode"], 500);
    assert_eq!(logged["AttemptLog"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn testing_an_unset_key_is_not_found_and_a_bad_key_is_a_400_naming_key() {
    let app = TestApp::with_local_webhooks(&[]).await;
    let entity = app.seed_app("sandbox").await;
    app.set_setting(&entity, "record", "true").await;

    let unset = test_setting(&app, &entity, json!({"Key": "popup"})).await.error(StatusCode::NOT_FOUND);
    assert_eq!(unset, "setting popup is not set for this app");

    let allowed = "popup, incomingCallHangup, missedCall, callback";
    for (body, message) in [
        (json!({"Key": "record"}), format!("Key must be one of {allowed} (got \"record\")")),
        (json!({"Key": "colour"}), format!("Key must be one of {allowed} (got \"colour\")")),
        (json!({}), format!("Key is required: one of {allowed}")),
        (json!({"Key": ""}), format!("Key is required: one of {allowed}")),
        (json!({"Key": 5}), "Key must be a string, not integer `5`".to_string()),
        (json!({"Key": ["popup"]}), "Key must be a string, not sequence".to_string()),
    ] {
        let error = test_setting(&app, &entity, body.clone()).await.error(StatusCode::BAD_REQUEST);
        assert_eq!(error, message, "{body}");
    }
    let log = app.get("/v2/integrations/webhook_deliveries", Some(&entity.token)).await;
    assert_eq!(log.data()["Deliveries"], json!([]), "nothing was sent or logged");
    let anonymous = app.post("/v2/integrations/app_setting/test", None, json!({"Key": "popup"})).await;
    anonymous.error(StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_test_to_a_loopback_url_without_private_targets_is_refused_and_logged_dead() {
    let app = TestApp::new().await;
    let entity = app.seed_app("sandbox").await;
    // Saved while WEBHOOK_ALLOW_PRIVATE was on: the API refuses it at setting time now.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://127.0.0.1:{}/popup", listener.local_addr().unwrap().port());
    app.store().upsert_setting(&entity.id, "popup", &url, now_ms()).await.unwrap();

    let answer = test_setting(&app, &entity, json!({"Key": "popup"})).await;

    let data = answer.data();
    assert_eq!(data["ResponseCode"], Value::Null);
    let error = data["Error"].as_str().unwrap();
    assert!(error.starts_with("refused: 127.0.0.1"), "{error}");
    assert!(error.ends_with("set WEBHOOK_ALLOW_PRIVATE=true for local development"), "{error}");
    assert_eq!(data["Url"], url.as_str());
    let accepted = tokio::time::timeout(Duration::from_millis(200), listener.accept()).await;
    assert!(accepted.is_err(), "nothing connected to the loopback address");
    let logged = detail(&app, &entity, data["DeliveryId"].as_str().unwrap()).await;
    assert_eq!((logged["Status"].clone(), logged["Attempts"].clone()), (json!("dead"), json!(1)));
    assert_eq!(logged["LastError"], error);
    assert_eq!(logged["AttemptLog"][0]["Error"], error);
    assert_eq!(logged["AttemptLog"][0]["ResponseCode"], Value::Null);
}
