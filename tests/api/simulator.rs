//! The sandbox inbound call simulator (CONTRACT 11): Exotel's passthru requests, played through the
//! passthru's own code and delivered by the real dispatcher to a real local receiver.

use std::time::{Duration, Instant};

use axum::http::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{
    keys, object_keys, signed_with_app_secret, TestApp, TestAppEntity, WebhookTest, CALL_PAYLOAD_KEYS,
};

const SIMULATE: &str = "/v2/integrations/sandbox/inbound_call";
const WAIT: Duration = Duration::from_secs(10);
/// The pause between simulated steps in these tests.
const STEP: (&str, &str) = ("SANDBOX_CALL_STEP_MS", "100");
const FROM: &str = "+919812300077";

/// A webhook test whose app's three inbound settings point at `/popup`, `/hangup` and `/missed`.
async fn simulator() -> WebhookTest {
    WebhookTest::start(&[STEP], &[("popup", "/popup"), ("incomingCallHangup", "/hangup"), ("missedCall", "/missed")])
        .await
}

fn text(value: &Value) -> &str {
    value.as_str().unwrap_or_else(|| panic!("not a string: {value}"))
}

/// Polls `GET /call/{sid}` until the call is terminal; returns its payload.
async fn terminal_call(app: &TestApp, entity: &TestAppEntity, call_sid: &str) -> Value {
    let deadline = Instant::now() + WAIT;
    loop {
        let call = app.get(&format!("/v2/integrations/call/{call_sid}"), Some(&entity.token)).await;
        let payload = call.data().clone();
        if payload["CallState"] == "terminal" {
            return payload;
        }
        assert!(Instant::now() < deadline, "the simulated call never ended: {payload}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn an_answered_call_delivers_dial_answered_then_hangup_signed_in_contract_order() {
    let WebhookTest { app, receiver, entity, dispatcher: _dispatcher } = simulator().await;
    let agent = app.map_agent(&entity, "meera", "+919812300011").await;
    let sip_id = text(&agent["SipId"]);

    let answer =
        app.post(SIMULATE, Some(&entity.token), json!({"from": FROM, "user_id": "meera", "talk_seconds": 42})).await;

    let first = answer.data();
    let call_sid = text(&first["CallSid"]).to_string();
    assert!(call_sid.len() == 32 && call_sid.chars().all(|c| c.is_ascii_hexdigit()), "Exotel-shaped: {call_sid}");
    assert_eq!(answer.data_keys(), keys(&CALL_PAYLOAD_KEYS), "{}", answer.text);
    assert_eq!((first["CallState"].as_str(), first["CallStatus"].as_str()), (Some("active"), Some("busy")));
    assert_eq!(first["CallDetail"], "dial");
    assert_eq!(first["Direction"], "incoming");

    let got = receiver.wait_for(3, WAIT).await;
    let paths: Vec<&str> = got.iter().map(|r| r.path.as_str()).collect();
    assert_eq!(paths, ["/popup", "/popup", "/hangup"]);
    let bodies: Vec<Value> = got.iter().map(|r| r.json()).collect();
    let steps: Vec<(&str, &str, &str)> =
        bodies.iter().map(|b| (text(&b["CallDetail"]), text(&b["CallState"]), text(&b["CallStatus"]))).collect();
    assert_eq!(steps, [("dial", "active", "busy"), ("answered", "active", "busy"), ("terminal", "terminal", "free")]);
    assert_eq!(&bodies[0], first, "the answer is the first popup's payload");
    for (webhook, body) in got.iter().zip(&bodies) {
        assert_eq!(object_keys(&webhook.body), keys(&CALL_PAYLOAD_KEYS), "{}", webhook.body);
        assert!(signed_with_app_secret(webhook, &entity.secret), "a valid webhook-signature: {webhook:?}");
        assert_eq!(body["CallSid"], call_sid.as_str());
        assert_eq!(body["AppId"], entity.id.as_str());
        assert_eq!(body["CustomerId"], entity.customer.id.as_str());
        assert_eq!(body["AppUserID"], "meera");
        assert_eq!(body["DialWhomNumber"], sip_id);
        assert_eq!(body["FromNumber"], FROM);
        assert_eq!(body["VirtualNumber"], "+918040001111");
        assert_eq!(body["ToNumber"], "+918040001111");
        assert_eq!(body["Direction"], "incoming");
        assert_eq!(body["AccountDomain"], "sandbox");
        assert!(text(&body["StartTime"]).ends_with("+05:30"), "the call's start, read as India time: {body}");
    }
    let (popup, hangup) = (&bodies[1], &bodies[2]);
    assert_eq!((popup["TotalDuration"].as_i64(), popup["CallRecordings"].as_str()), (Some(0), Some("")));
    assert_eq!(popup["EndTime"], "", "Exotel's placeholder while the call goes on");
    assert_eq!(hangup["TotalDuration"], 42);
    let recording = text(&hangup["CallRecordings"]);
    assert!(recording.starts_with("https://") && recording.ends_with(&format!("{call_sid}.mp3")), "{recording}");
    assert_ne!(hangup["EndTime"], "");

    let stored = app.get(&format!("/v2/integrations/call/{call_sid}"), Some(&entity.token)).await;
    assert_eq!(stored.data(), hangup, "GET /call shows the final payload");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(receiver.received().len(), 3, "nothing after the hangup");
}

#[tokio::test]
async fn a_missed_call_delivers_the_popup_then_missed_call_to_the_first_mapped_agent() {
    let WebhookTest { app, receiver, entity, dispatcher: _dispatcher } = simulator().await;
    let first_agent = app.map_agent(&entity, "meera", "+919812300011").await;
    app.map_agent(&entity, "ravi", "+919812300022").await;

    let answer = app.post(SIMULATE, Some(&entity.token), json!({"from": "09812300077", "outcome": "missed"})).await;

    let call_sid = text(&answer.data()["CallSid"]).to_string();
    assert_eq!(answer.data()["AppUserID"], "meera", "no user_id: the app's first mapped agent");
    let got = receiver.wait_for(2, WAIT).await;
    let paths: Vec<&str> = got.iter().map(|r| r.path.as_str()).collect();
    assert_eq!(paths, ["/popup", "/missed"]);
    let missed = got[1].json();
    assert_eq!(object_keys(&got[1].body), keys(&CALL_PAYLOAD_KEYS));
    assert!(got.iter().all(|r| signed_with_app_secret(r, &entity.secret)));
    assert_eq!(missed["CallSid"], call_sid.as_str());
    assert_eq!(got[0].json()["CallSid"], call_sid.as_str());
    assert_eq!((text(&missed["CallState"]), text(&missed["CallStatus"])), ("terminal", "free"));
    assert_eq!(missed["CallDetail"], "terminal");
    assert_eq!(missed["TotalDuration"], 0);
    assert_eq!(missed["CallRecordings"], "");
    assert_eq!(missed["AppUserID"], "meera");
    assert_eq!(missed["DialWhomNumber"], first_agent["SipId"]);
    assert_eq!(missed["FromNumber"], "09812300077");

    let stored = app.get(&format!("/v2/integrations/call/{call_sid}"), Some(&entity.token)).await;
    assert_eq!(stored.data(), &missed);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(receiver.received().len(), 2, "no answered popup, no hangup");
}

#[tokio::test]
async fn an_answered_call_talks_thirty_seconds_by_default_and_plays_without_any_url_set() {
    let app = TestApp::with_env(&[STEP]).await;
    let entity = app.seed_app("sandbox").await;
    app.map_agent(&entity, "meera", "+919812300011").await;

    let answer = app.post(SIMULATE, Some(&entity.token), json!({"from": FROM, "user_id": "meera"})).await;

    let call_sid = text(&answer.data()["CallSid"]).to_string();
    let hangup = terminal_call(&app, &entity, &call_sid).await;
    assert_eq!(hangup["TotalDuration"], 30);
    assert_eq!(hangup["CallDetail"], "terminal");
    let log = app.get("/v2/integrations/webhook_deliveries", Some(&entity.token)).await;
    assert_eq!(log.data()["Deliveries"], json!([]), "no URL set: nothing queued");
}

#[tokio::test]
async fn call_events_are_stored_under_the_contracts_names() {
    let app = TestApp::with_env(&[STEP]).await;
    let entity = app.seed_app("sandbox").await;
    app.map_agent(&entity, "meera", "+919812300011").await;
    let events = |sid: String| {
        let app = &app;
        async move {
            app.raw_texts(&format!("SELECT event_type FROM call_events WHERE call_sid = '{sid}' ORDER BY created_at"))
                .await
        }
    };

    let answered = app.post(SIMULATE, Some(&entity.token), json!({"from": FROM})).await;
    let missed = app.post(SIMULATE, Some(&entity.token), json!({"from": FROM, "outcome": "missed"})).await;
    let placed = app
        .post("/v2/integrations/call/outbound_call", Some(&entity.token), json!({"to": FROM, "user_id": "meera"}))
        .await;
    let passthru = format!("/v2/integrations/call/inbound_call/{}?type=IncomingCallHungUp&CallSid=camel1", entity.id);
    app.get(&passthru, None).await.data();

    let answered_sid = text(&answered.data()["CallSid"]).to_string();
    let missed_sid = text(&missed.data()["CallSid"]).to_string();
    terminal_call(&app, &entity, &answered_sid).await;
    terminal_call(&app, &entity, &missed_sid).await;
    assert_eq!(events(answered_sid).await, ["popup", "popup", "incomingcallhungup"]);
    assert_eq!(events(missed_sid).await, ["popup", "missedcall"]);
    assert_eq!(events("camel1".into()).await, ["incomingcallhungup"], "the type as the contract spells it");
    let placed_sid = text(&placed.data()["CallSid"]).to_string();
    assert_eq!(events(placed_sid).await[0], "outbound_call", "an outbound call's creation");
}

#[tokio::test]
async fn bad_input_is_a_400_naming_the_field_and_nothing_is_played() {
    // Steps a minute apart: only the accepted calls' first popups are played while the test runs.
    let app = TestApp::with_env(&[("SANDBOX_CALL_STEP_MS", "60000")]).await;
    let entity = app.seed_app("sandbox").await;
    app.set_setting(&entity, "popup", "https://crm.example.com/popup").await;
    app.map_agent(&entity, "meera", "+919812300011").await;
    let refused = |body: Value| {
        let app = &app;
        let token = entity.token.clone();
        async move { app.post(SIMULATE, Some(&token), body).await.error(StatusCode::BAD_REQUEST) }
    };

    let cases: Vec<(Value, &str)> = vec![
        (json!({}), "from is required"),
        (json!({"from": ""}), "from is required"),
        (json!({"from": "12ab"}), "from must be a phone number"),
        (json!({"from": 9812300077_u64}), "from must be a string"),
        (json!({"from": FROM, "outcome": "busy"}), "outcome must be answered or missed"),
        (json!({"from": FROM, "outcome": true}), "outcome must be a string"),
        (json!({"from": FROM, "talk_seconds": 0}), "talk_seconds must be a whole number from 1 to 3600 (got 0)"),
        (json!({"from": FROM, "talk_seconds": 3601}), "talk_seconds must be a whole number from 1 to 3600 (got 3601)"),
        (json!({"from": FROM, "talk_seconds": -5}), "talk_seconds must be a whole number from 1 to 3600 (got -5)"),
        (json!({"from": FROM, "talk_seconds": "30"}), "talk_seconds must be a whole number from 1 to 3600, not string"),
        (
            json!({"from": FROM, "talk_seconds": 30.5}),
            "talk_seconds must be a whole number from 1 to 3600, not floating",
        ),
        (json!({"from": FROM, "outcome": "missed", "talk_seconds": 30}), "talk_seconds is for an answered call"),
        (json!({"from": FROM, "user_id": ""}), "user_id must not be empty"),
        (json!({"from": FROM, "user_id": 7}), "user_id must be a string"),
    ];
    for (body, expected) in cases {
        let error = refused(body.clone()).await;
        assert!(error.starts_with(expected), "{body}: {error}");
    }
    // Edges of the range, and fields the route does not know, are fine.
    for body in [
        json!({"from": FROM, "talk_seconds": 1, "note": "ignored"}),
        json!({"from": FROM, "talk_seconds": 3600, "outcome": "ANSWERED"}),
    ] {
        app.post(SIMULATE, Some(&entity.token), body).await.data();
    }
    let log = app.get("/v2/integrations/webhook_deliveries", Some(&entity.token)).await;
    assert_eq!(log.data()["Deliveries"].as_array().unwrap().len(), 2, "only the two accepted calls' popups");

    let unknown = app.post(SIMULATE, Some(&entity.token), json!({"from": FROM, "user_id": "nobody"})).await;
    assert!(unknown.error(StatusCode::NOT_FOUND).contains("nobody"));
    let other = app.seed_app("sandbox").await;
    app.map_agent(&other, "ravi", "+919812300022").await;
    let elsewhere = app.post(SIMULATE, Some(&entity.token), json!({"from": FROM, "user_id": "ravi"})).await;
    elsewhere.error(StatusCode::NOT_FOUND);
    app.post(SIMULATE, Some(&entity.customer.token), json!({"from": FROM})).await.error(StatusCode::UNAUTHORIZED);
    app.post(SIMULATE, None, json!({"from": FROM})).await.error(StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_live_app_and_an_app_without_a_usable_agent_are_told_what_to_fix() {
    let app = TestApp::with_env(&[STEP]).await;
    let live = app.seed_app("mumbai").await;
    let error = app.post(SIMULATE, Some(&live.token), json!({"from": FROM})).await.error(StatusCode::BAD_REQUEST);
    assert!(error.contains("sandbox apps only") && error.contains("mumbai"), "{error}");

    let entity = app.seed_app("sandbox").await;
    let error = app.post(SIMULATE, Some(&entity.token), json!({"from": FROM})).await.error(StatusCode::BAD_REQUEST);
    assert!(error.contains("no agent") && error.contains("POST /usermapping"), "{error}");

    app.map_agent(&entity, "meera", "+919812300011").await;
    app.raw_execute(&format!("UPDATE user_mappings SET sip_id = '' WHERE app_id = '{}'", entity.id)).await;
    let error = app.post(SIMULATE, Some(&entity.token), json!({"from": FROM})).await.error(StatusCode::BAD_REQUEST);
    assert!(error.contains("\"meera\" has no SipId") && error.contains("map the agent again"), "{error}");

    app.raw_execute(&format!(
        "UPDATE user_mappings SET sip_id = 'sip:meera1', virtual_number = '' WHERE app_id = '{}'",
        entity.id
    ))
    .await;
    let error = app
        .post(SIMULATE, Some(&entity.token), json!({"from": FROM, "user_id": "meera"}))
        .await
        .error(StatusCode::BAD_REQUEST);
    assert!(error.contains("\"meera\" has no VirtualNumber"), "{error}");
}
