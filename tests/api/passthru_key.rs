//! The signed passthru (CONTRACT 13; issue 15, point 7): `GET|PUT /app/passthru`, and the key an
//! app may require of every passthru.

use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{keys, TestApp, TestAppEntity, TestResponse, WebhookTest};
use crate::receiver::Receiver;

const PASSTHRU: &str = "/v2/integrations/app/passthru";
const WAIT: Duration = Duration::from_secs(10);
/// How long a refused passthru is given to (wrongly) deliver something before the test says it did not.
const SETTLE: Duration = Duration::from_millis(300);

/// The app's passthru settings (`GET /app/passthru`).
async fn passthru_settings(app: &TestApp, entity: &TestAppEntity) -> Value {
    app.get(PASSTHRU, Some(&entity.token)).await.data().clone()
}

async fn require_key(app: &TestApp, entity: &TestAppEntity, required: bool) -> Value {
    app.put(PASSTHRU, Some(&entity.token), json!({"Required": required})).await.data().clone()
}

/// The key a passthru URL carries.
fn key_of(url: &Value) -> String {
    let url = url.as_str().unwrap_or_else(|| panic!("not a URL: {url}"));
    url.split_once("&key=").unwrap_or_else(|| panic!("no key in {url}")).1.to_string()
}

/// A passthru URL as the server's own path (the part after `PUBLIC_BASE_URL`), with `query` added.
fn path_of(url: &Value, query: &str) -> String {
    let url = url.as_str().unwrap();
    let path = &url[url.find("/v2/").expect("an API path")..];
    format!("{path}&{query}")
}

/// A popup passthru for `call_sid` carrying `key` (none when `None`), by `GET`.
async fn popup(app: &TestApp, entity: &TestAppEntity, call_sid: &str, key: Option<&str>) -> TestResponse {
    let key = key.map(|k| format!("&key={k}")).unwrap_or_default();
    app.get(&format!("/v2/integrations/call/inbound_call/{}?type=popup&CallSid={call_sid}{key}", entity.id), None).await
}

/// A form-POSTed passthru with `query` in the URL and `form` as the body.
async fn form_popup(app: &TestApp, entity: &TestAppEntity, query: &str, form: &str) -> TestResponse {
    let request = Request::post(format!("/v2/integrations/call/inbound_call/{}?{query}", entity.id))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Body::from(form.to_string()))
        .unwrap();
    app.send(request).await
}

/// The app's calls as `GET /calls` lists them.
async fn calls(app: &TestApp, entity: &TestAppEntity) -> Vec<Value> {
    let calls = app.get("/v2/integrations/calls", Some(&entity.token)).await;
    calls.data()["Calls"].as_array().unwrap().clone()
}

async fn deliveries(app: &TestApp, entity: &TestAppEntity) -> Vec<Value> {
    let log = app.get("/v2/integrations/webhook_deliveries", Some(&entity.token)).await;
    log.data()["Deliveries"].as_array().unwrap().clone()
}

/// Waits for the webhook of `call_sid` and returns its body as sent.
async fn webhook_of(receiver: &Receiver, call_sid: &str) -> String {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        if let Some(webhook) = receiver.received().into_iter().find(|w| w.json()["CallSid"] == call_sid) {
            return webhook.body;
        }
        assert!(tokio::time::Instant::now() < deadline, "no webhook for {call_sid}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn the_passthru_urls_carry_the_apps_key_and_no_key_is_required_by_default() {
    let app = TestApp::with_env(&[("PUBLIC_BASE_URL", "https://integrations.example.com/")]).await;
    let entity = app.seed_app("sandbox").await;

    let answer = app.get(PASSTHRU, Some(&entity.token)).await;

    assert_eq!(answer.data_keys(), keys(&["Required", "Popup", "IncomingCallHangup", "MissedCall"]));
    let settings = answer.data();
    assert_eq!(settings["Required"], false);
    let key = key_of(&settings["Popup"]);
    assert!(key.len() == 64 && key.chars().all(|c| c.is_ascii_hexdigit()), "32 random bytes in hex: {key}");
    let base = format!("https://integrations.example.com/v2/integrations/call/inbound_call/{}", entity.id);
    assert_eq!(settings["Popup"], format!("{base}?type=popup&key={key}"));
    assert_eq!(settings["IncomingCallHangup"], format!("{base}?type=incomingcallhungup&key={key}"));
    assert_eq!(settings["MissedCall"], format!("{base}?type=missedcall&key={key}"));
    assert_eq!(passthru_settings(&app, &entity).await, *settings, "the same key every time it is asked");

    let other = app.seed_app("sandbox").await;
    assert_ne!(key_of(&passthru_settings(&app, &other).await["Popup"]), key, "each app has its own key");
    assert!(!app.raw_dump().await.contains(&key), "the key is sealed at rest");
}

#[tokio::test]
async fn a_passthru_to_the_key_carrying_url_works_whether_or_not_the_key_is_required() {
    let WebhookTest { app, receiver, entity, dispatcher: _dispatcher } =
        WebhookTest::start(&[], &[("popup", "/popup"), ("missedCall", "/missed")]).await;
    let settings = passthru_settings(&app, &entity).await;

    app.get(&path_of(&settings["Popup"], "CallSid=open1"), None).await.data();
    let required = require_key(&app, &entity, true).await;
    assert_eq!(required["Required"], true);
    assert_eq!(required["Popup"], settings["Popup"], "requiring the key keeps it");
    app.get(&path_of(&settings["Popup"], "CallSid=signed1"), None).await.data();
    app.get(&path_of(&settings["MissedCall"], "CallSid=signed1"), None).await.data();

    let got = receiver.wait_for(3, WAIT).await;
    let paths: Vec<&str> = got.iter().map(|w| w.path.as_str()).collect();
    assert!(paths.contains(&"/missed") && paths.contains(&"/popup"), "{paths:?}");
    let key = key_of(&settings["Popup"]);
    for webhook in &got {
        assert!(!webhook.body.contains(&key), "the key reached a webhook: {}", webhook.body);
        assert!(!webhook.body.to_ascii_lowercase().contains("\"key\""), "{}", webhook.body);
    }
}

#[tokio::test]
async fn while_required_a_passthru_without_the_right_key_is_a_401_that_records_nothing() {
    let WebhookTest { app, receiver, entity, dispatcher: _dispatcher } =
        WebhookTest::start(&[], &[("popup", "/popup")]).await;
    let key = key_of(&require_key(&app, &entity, true).await["Popup"]);

    let missing = popup(&app, &entity, "refused1", None).await.error(StatusCode::UNAUTHORIZED);
    assert!(missing.starts_with("this app requires its passthru key and the request carried no `key`"), "{missing}");
    assert!(missing.contains("GET /v2/integrations/app/passthru"), "it says where the URLs are: {missing}");
    let empty = popup(&app, &entity, "refused2", Some("")).await.error(StatusCode::UNAUTHORIZED);
    assert_eq!(empty, missing, "an empty key is no key");
    let form = form_popup(&app, &entity, "type=popup", "CallSid=refused3").await.error(StatusCode::UNAUTHORIZED);
    assert_eq!(form, missing);

    // A wrong key gets one answer, however close it came: one character off, half right, another
    // app's, or nothing like it.
    let mut near = key.clone();
    near.replace_range(63.., if key.ends_with('0') { "1" } else { "0" });
    let other_app = app.seed_app("sandbox").await;
    let others = key_of(&passthru_settings(&app, &other_app).await["Popup"]);
    let wrongs = [near, format!("{}{}", &key[..32], "0".repeat(32)), others, "x".into(), key.to_uppercase()];
    let mut answers = Vec::new();
    for (n, wrong) in wrongs.iter().enumerate() {
        let answer = popup(&app, &entity, &format!("wrong{n}"), Some(wrong)).await;
        let error = answer.error(StatusCode::UNAUTHORIZED);
        assert!(!error.contains(wrong.as_str()) && !error.contains(&key), "no key in the answer: {error}");
        answers.push(error);
    }
    assert!(answers.iter().all(|a| *a == answers[0]), "one answer for every wrong key: {answers:?}");
    assert!(answers[0].starts_with("this app requires its passthru key and the request's `key` is not the app's"));

    tokio::time::sleep(SETTLE).await;
    assert_eq!(calls(&app, &entity).await, Vec::<Value>::new(), "no call recorded");
    assert_eq!(deliveries(&app, &entity).await, Vec::<Value>::new(), "no delivery queued");
    assert!(receiver.received().is_empty(), "no webhook sent");
    let events = app.get("/v2/integrations/call/refused1/events", Some(&entity.token)).await;
    events.error(StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_right_key_in_the_query_or_a_form_body_is_let_in_and_reaches_no_payload_or_event() {
    let WebhookTest { app, receiver, entity, dispatcher: _dispatcher } =
        WebhookTest::start(&[], &[("popup", "/popup")]).await;
    let key = key_of(&require_key(&app, &entity, true).await["Popup"]);

    popup(&app, &entity, "by-get", Some(&key)).await.data();
    form_popup(&app, &entity, "type=popup", &format!("CallSid=by-form&key={key}&CallFrom=09812300077")).await.data();
    form_popup(&app, &entity, &format!("type=popup&key={key}"), "CallSid=by-post-query").await.data();
    // The body's key wins over the query's, as every other parameter's later value does.
    let overridden = form_popup(&app, &entity, &format!("type=popup&key={key}"), "CallSid=overridden&key=stale").await;
    overridden.error(StatusCode::UNAUTHORIZED);

    for call_sid in ["by-get", "by-form", "by-post-query"] {
        let body = webhook_of(&receiver, call_sid).await;
        assert!(!body.contains(&key) && !body.contains("\"key\""), "the key reached the webhook: {body}");
        let events = app.get(&format!("/v2/integrations/call/{call_sid}/events"), Some(&entity.token)).await;
        assert!(!events.text.contains(&key), "the key reached the stored event: {}", events.text);
        let delivery_id = events.data()["Events"][0]["Deliveries"][0]["DeliveryId"].as_str().unwrap().to_string();
        let delivery =
            app.get(&format!("/v2/integrations/webhook_deliveries/{delivery_id}"), Some(&entity.token)).await;
        assert!(!delivery.data()["Payload"].to_string().contains(&key), "{}", delivery.text);
    }
    let recorded: Vec<Value> = calls(&app, &entity).await.iter().map(|c| c["CallSid"].clone()).collect();
    assert_eq!(recorded.len(), 3, "{recorded:?}");
}

#[tokio::test]
async fn a_renewed_key_replaces_the_old_one_at_once() {
    let app = TestApp::new().await;
    let entity = app.seed_app("sandbox").await;
    let old = key_of(&require_key(&app, &entity, true).await["Popup"]);

    let renewed = app.put(PASSTHRU, Some(&entity.token), json!({"RenewKey": true})).await;

    let renewed = renewed.data();
    assert_eq!(renewed["Required"], true, "renewing leaves the requirement as it was");
    let new = key_of(&renewed["Popup"]);
    assert_ne!(new, old);
    assert_eq!(key_of(&renewed["MissedCall"]), new);
    assert_eq!(passthru_settings(&app, &entity).await, *renewed);
    popup(&app, &entity, "old-key", Some(&old)).await.error(StatusCode::UNAUTHORIZED);
    popup(&app, &entity, "new-key", Some(&new)).await.data();
    assert!(!app.raw_dump().await.contains(&new), "the new key is sealed at rest");
}

#[tokio::test]
async fn turning_the_requirement_off_lets_the_unsigned_url_in_again() {
    let app = TestApp::new().await;
    let entity = app.seed_app("sandbox").await;
    require_key(&app, &entity, true).await;
    popup(&app, &entity, "while-required", None).await.error(StatusCode::UNAUTHORIZED);

    let settings = require_key(&app, &entity, false).await;

    assert_eq!(settings["Required"], false);
    popup(&app, &entity, "unsigned", None).await.data();
    popup(&app, &entity, "stale-key", Some("not-the-key")).await.data();
    let recorded: Vec<Value> = calls(&app, &entity).await.iter().map(|c| c["CallSid"].clone()).collect();
    assert_eq!(recorded, vec![json!("stale-key"), json!("unsigned")]);
}

#[tokio::test]
async fn a_put_with_a_wrong_type_or_an_unknown_field_is_a_400_naming_it_and_changes_nothing() {
    let app = TestApp::new().await;
    let entity = app.seed_app("sandbox").await;
    let before = passthru_settings(&app, &entity).await;

    let cases = [
        (json!({"Required": "true"}), "Required must be a boolean, not string"),
        (json!({"Required": 1}), "Required must be a boolean, not integer"),
        (json!({"RenewKey": "yes", "Required": true}), "RenewKey must be a boolean, not string"),
        (json!({"Require": true}), "unknown field `Require`"),
        (json!([]), "request body has the wrong shape"),
    ];
    for (body, expected) in cases {
        let error = app.put(PASSTHRU, Some(&entity.token), body.clone()).await.error(StatusCode::BAD_REQUEST);
        assert!(error.contains(expected), "{body}: {error}");
    }

    assert_eq!(passthru_settings(&app, &entity).await, before, "nothing changed");
    let nothing = app.put(PASSTHRU, Some(&entity.token), json!({})).await;
    assert_eq!(nothing.data(), &before, "an empty update changes nothing and answers the settings");
}

#[tokio::test]
async fn the_passthru_settings_need_an_app_token() {
    let app = TestApp::new().await;
    let entity = app.seed_app("sandbox").await;

    for token in [None, Some("not-a-token"), Some(entity.customer.token.as_str())] {
        app.get(PASSTHRU, token).await.error(StatusCode::UNAUTHORIZED);
        app.put(PASSTHRU, token, json!({"Required": true})).await.error(StatusCode::UNAUTHORIZED);
    }
    popup(&app, &entity, "still-open", None).await.data();
}

#[tokio::test]
async fn an_app_created_before_passthru_keys_gets_one_when_first_asked() {
    let app = TestApp::new().await;
    let entity = app.seed_app("sandbox").await;
    let keyless = app.seed_app("sandbox").await;
    for e in [&entity, &keyless] {
        let forget = format!("UPDATE apps SET passthru_key = NULL, passthru_key_hash = NULL WHERE id = '{}'", e.id);
        app.raw_execute(&forget).await;
    }
    popup(&app, &entity, "before-asked", None).await.data();

    let settings = passthru_settings(&app, &entity).await;

    assert_eq!(settings["Required"], false);
    let key = key_of(&settings["Popup"]);
    assert_eq!(key.len(), 64);
    assert_eq!(passthru_settings(&app, &entity).await, settings, "made once, then kept");
    require_key(&app, &entity, true).await;
    popup(&app, &entity, "with-key", Some(&key)).await.data();
    popup(&app, &entity, "without-key", None).await.error(StatusCode::UNAUTHORIZED);

    // Asked first by the PUT that requires it: the answer carries a key that works.
    let required = require_key(&app, &keyless, true).await;
    assert_eq!(required["Required"], true);
    popup(&app, &keyless, "keyless-signed", Some(&key_of(&required["Popup"]))).await.data();
    popup(&app, &keyless, "keyless-unsigned", None).await.error(StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn an_unknown_app_is_a_404_with_or_without_a_key() {
    let app = TestApp::new().await;
    let entity = app.seed_app("sandbox").await;
    let key = key_of(&require_key(&app, &entity, true).await["Popup"]);

    for query in ["type=popup".to_string(), format!("type=popup&key={key}")] {
        let answer = app.get(&format!("/v2/integrations/call/inbound_call/no-such-app?{query}"), None).await;
        answer.error(StatusCode::NOT_FOUND);
    }
}

#[tokio::test]
async fn the_sandbox_simulator_needs_no_key_while_the_key_is_required() {
    let WebhookTest { app, receiver, entity, dispatcher: _dispatcher } =
        WebhookTest::start(&[("SANDBOX_CALL_STEP_MS", "50")], &[("popup", "/popup")]).await;
    app.map_agent(&entity, "meera", "+919812300011").await;
    require_key(&app, &entity, true).await;

    let simulated = app
        .post(
            "/v2/integrations/sandbox/inbound_call",
            Some(&entity.token),
            json!({"from": "+919812300077", "outcome": "missed"}),
        )
        .await;

    let call_sid = simulated.data()["CallSid"].as_str().unwrap().to_string();
    webhook_of(&receiver, &call_sid).await;
    assert_eq!(calls(&app, &entity).await[0]["CallSid"], call_sid.as_str());
}
