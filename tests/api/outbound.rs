//! Outbound calls and Exotel's status callbacks (CONTRACT 7.2–7.4), on the sandbox and on a fake Exotel.

use std::time::Duration;

use axum::http::StatusCode;
use serde_json::{json, Value};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::helpers::{keys, object_keys, TestApp, TestAppEntity, CALL_PAYLOAD_KEYS};
use crate::receiver::Receiver;

const OUTBOUND: &str = "/v2/integrations/call/outbound_call";
const WAIT: Duration = Duration::from_secs(10);

async fn sandbox_app() -> (TestApp, TestAppEntity) {
    let app = TestApp::with_env(&[("WEBHOOK_ALLOW_PRIVATE", "true"), ("SANDBOX_CALL_STEP_MS", "100")]).await;
    let entity = app.seed_app("sandbox").await;
    (app, entity)
}

#[tokio::test]
async fn a_sandbox_call_answers_like_the_sdk_expects_then_plays_answered_and_terminal() {
    let (app, entity) = sandbox_app().await;
    let receiver = Receiver::start().await;
    let _dispatcher = app.start_dispatcher();
    app.set_setting(&entity, "callback", receiver.url("/cb")).await;
    let agent = app.map_agent(&entity, "meera", "+919812300011").await;

    let placed = app
        .post(OUTBOUND, Some(&entity.token), json!({"app_id": entity.id, "to": "+919812300077", "user_id": "meera"}))
        .await;

    let call = placed.data();
    let call_sid = call["CallSid"].as_str().unwrap().to_string();
    assert!(!call_sid.is_empty());
    assert_eq!(call["Direction"], "outbound");
    assert_eq!(call["CallState"], "active");
    assert_eq!(call["CallStatus"], "");
    assert_eq!(call["FromNumber"], agent["SipId"]);
    assert_eq!(call["ToNumber"], "+919812300077");
    assert_eq!(call["DialWhomNumber"], "+919812300077");
    assert_eq!(call["VirtualNumber"], "+918040001111");
    assert_eq!(call["AppUserID"], "meera");
    assert!(call["CallDetail"].is_null());

    let got = receiver.wait_for(2, WAIT).await;
    let (answered, terminal) = (got[0].json(), got[1].json());
    assert_eq!((answered["CallDetail"].as_str(), answered["CallState"].as_str()), (Some("answered"), Some("active")));
    assert_eq!(answered["CallStatus"], "");
    assert_eq!((terminal["CallDetail"].as_str(), terminal["CallState"].as_str()), (Some("terminal"), Some("terminal")));
    assert_eq!(terminal["CallStatus"], "completed");
    assert!(terminal["TotalDuration"].as_i64().unwrap() >= 1);
    assert_eq!(terminal["CallSid"], call_sid.as_str());
    assert_eq!(terminal["AppUserID"], "meera");

    let stored = app.get(&format!("/v2/integrations/call/{call_sid}"), Some(&entity.token)).await;
    assert_eq!(stored.data()["CallStatus"], "completed");

    // One key order everywhere: the answer, each webhook body and the call read back.
    let expected = keys(&CALL_PAYLOAD_KEYS);
    assert_eq!(placed.data_keys(), expected, "the outbound answer: {}", placed.text);
    for webhook in &got {
        assert_eq!(object_keys(&webhook.body), expected, "a callback webhook: {}", webhook.body);
    }
    assert_eq!(stored.data_keys(), expected, "GET /call: {}", stored.text);
}

#[tokio::test]
async fn a_sandbox_number_ending_in_0000_ends_to_leg_unanswered() {
    let (app, entity) = sandbox_app().await;
    let receiver = Receiver::start().await;
    let _dispatcher = app.start_dispatcher();
    app.set_setting(&entity, "callback", receiver.url("/cb")).await;
    app.map_agent(&entity, "meera", "+919812300011").await;

    app.post(OUTBOUND, Some(&entity.token), json!({"to": "+919812340000", "user_id": "meera"})).await.data();

    let got = receiver.wait_for(1, WAIT).await;
    let terminal = got[0].json();
    assert_eq!(terminal["CallState"], "terminal");
    assert_eq!(terminal["CallStatus"], "to_leg_unanswered");
    assert_eq!(terminal["TotalDuration"], 0);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(receiver.received().len(), 1, "no answered event for an unanswered call");
}

#[tokio::test]
async fn outbound_calls_refuse_what_they_cannot_place() {
    let (app, entity) = sandbox_app().await;
    app.map_agent(&entity, "meera", "+919812300011").await;
    let error = app.post(OUTBOUND, Some(&entity.token), json!({"to": "+919812300077", "user_id": "nobody"})).await;
    error.error(StatusCode::NOT_FOUND);
    let other_app = app
        .post(OUTBOUND, Some(&entity.token), json!({"to": "+919812300077", "user_id": "meera", "app_id": "x"}))
        .await;
    other_app.error(StatusCode::NOT_FOUND);
    let other_customer = app
        .post(OUTBOUND, Some(&entity.token), json!({"to": "+919812300077", "user_id": "meera", "customer_id": "x"}))
        .await;
    other_customer.error(StatusCode::NOT_FOUND);
    let no_to =
        app.post(OUTBOUND, Some(&entity.token), json!({"user_id": "meera"})).await.error(StatusCode::BAD_REQUEST);
    assert!(no_to.contains("to"), "{no_to}");
    let no_user = app.post(OUTBOUND, Some(&entity.token), json!({"to": "+919812300077"})).await;
    assert!(no_user.error(StatusCode::BAD_REQUEST).contains("user_id"));
    app.post(OUTBOUND, Some(&entity.customer.token), json!({"to": "+919812300077", "user_id": "meera"}))
        .await
        .error(StatusCode::UNAUTHORIZED);

    app.put("/v2/integrations/app", Some(&entity.token), json!({"IsActive": false})).await.data();
    let inactive = app.post(OUTBOUND, Some(&entity.token), json!({"to": "+919812300077", "user_id": "meera"})).await;
    assert!(inactive.error(StatusCode::BAD_REQUEST).contains("not active"));
}

#[tokio::test]
async fn a_status_callback_without_a_valid_signature_is_refused() {
    let (app, entity) = sandbox_app().await;
    let body = json!({"event_details": {"event_type": "terminal"}, "call_details": {"sid": "x", "state": "terminal"}});
    let base = format!("/v2/integrations/call/status_callback/{}", entity.id);
    app.post(&base, None, body.clone()).await.error(StatusCode::UNAUTHORIZED);
    app.post(&format!("{base}?ref=abc&sig=00ff"), None, body).await.error(StatusCode::UNAUTHORIZED);
}

/// A mumbai app whose Exotel is `server`, with Meera already an Exotel user with a SIP device.
async fn live_app(server: &MockServer) -> (TestApp, TestAppEntity) {
    let app = TestApp::with_env(&[("EXOTEL_CCM_URL_MUMBAI", &server.uri()), ("WEBHOOK_ALLOW_PRIVATE", "true")]).await;
    let entity = app.seed_app("mumbai").await;
    let user = json!({"id": "u-1", "role": "user", "devices": [
        {"id": 5102, "type": "sip", "contact_uri": "sip:meerap1a2b3c4d", "available": true}]});
    Mock::given(method("GET"))
        .and(path(format!("/v2/accounts/{}/users", entity.account_sid)))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(
                json!({"http_code": 200, "response": [{"code": 200, "status": "success", "data": user}]}),
            ),
        )
        .mount(server)
        .await;
    Mock::given(method("PUT"))
        .and(path(format!("/v2/accounts/{}/users/u-1/devices/5102/password", entity.account_sid)))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"http_code": 200, "response": {"data": null}})))
        .mount(server)
        .await;
    app.map_agent(&entity, "meera", "+919812300011").await;
    (app, entity)
}

#[tokio::test]
async fn a_live_call_goes_to_exotel_voice_v3_and_its_callbacks_reach_the_crm() {
    let server = MockServer::start().await;
    let (app, entity) = live_app(&server).await;
    let receiver = Receiver::start().await;
    let _dispatcher = app.start_dispatcher();
    app.set_setting(&entity, "callback", receiver.url("/cb")).await;
    app.set_setting(&entity, "record", true).await;
    Mock::given(method("POST"))
        .and(path(format!("/v3/accounts/{}/calls", entity.account_sid)))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "request_id": "r", "method": "POST", "http_code": 200, "metadata": null,
            "response": {"code": 200, "error_data": null, "status": "success",
                "call_details": {"sid": "d41c7e0a", "direction": "outbound", "virtual_number": "+918040001111",
                    "state": "active", "status": null}}})))
        .expect(1)
        .mount(&server)
        .await;

    let placed = app.post(OUTBOUND, Some(&entity.token), json!({"to": "+919812300077", "user_id": "meera"})).await;
    assert_eq!(placed.data()["CallSid"], "d41c7e0a");

    let sent = server.received_requests().await.unwrap();
    let call = sent.iter().find(|r| r.url.path().starts_with("/v3/")).unwrap();
    let body: Value = serde_json::from_slice(&call.body).unwrap();
    assert_eq!(body["from"]["contact_uri"], "sip:meerap1a2b3c4d");
    assert_eq!(body["to"]["contact_uri"], "+919812300077");
    assert_eq!(body["virtual_number"], "+918040001111");
    assert_eq!(body["recording"]["record"], true);
    let events: Vec<&str> =
        body["status_callback"].as_array().unwrap().iter().map(|s| s["event"].as_str().unwrap()).collect();
    assert_eq!(events, ["answered", "terminal"]);
    let callback_url = url::Url::parse(body["status_callback"][0]["url"].as_str().unwrap()).unwrap();
    assert!(callback_url.path().ends_with(&format!("/call/status_callback/{}", entity.id)));
    let local = format!("{}?{}", callback_url.path(), callback_url.query().unwrap());

    // Exotel calls back: answered (legs as a URL), then terminal (legs as an array).
    app.post(&local, None, json!({"event_details": {"event_type": "answered"},
        "call_details": {"sid": "d41c7e0a", "state": "active", "status": null, "legs": "/v3/accounts/x/calls/d41c7e0a/legs"}}))
        .await
        .data();
    app.post(
        &local,
        None,
        json!({"event_details": {"event_type": "terminal"},
        "call_details": {"sid": "d41c7e0a", "state": "terminal", "status": "completed", "total_talk_time": 121,
            "start_time": "2026-03-02 11:15:06+05:30", "end_time": "2026-03-02 11:17:38+05:30", "legs": [{"sid": "l1"}],
            "recordings": [{"url": "https://recordings.example/d41c7e0a.mp3"}]}}),
    )
    .await
    .data();

    let got = receiver.wait_for(2, WAIT).await;
    let (answered, terminal) = (got[0].json(), got[1].json());
    assert_eq!(answered["CallDetail"], "answered");
    assert_eq!(answered["CallState"], "active");
    assert_eq!(terminal["CallState"], "terminal");
    assert_eq!(terminal["CallStatus"], "completed");
    assert_eq!(terminal["TotalDuration"], 121);
    assert_eq!(terminal["CallRecordings"], "https://recordings.example/d41c7e0a.mp3");
    assert_eq!(terminal["StartTime"], "2026-03-02T11:15:06+05:30");
    assert_eq!(terminal["EndTime"], "2026-03-02T11:17:38+05:30");
    assert_eq!(terminal["FromNumber"], "sip:meerap1a2b3c4d");

    // An event type Exotel never documented is still accepted and forwarded.
    app.post(
        &local,
        None,
        json!({"event_details": {"event_type": "recording_stop_success"},
        "call_details": {"sid": "d41c7e0a", "state": "terminal", "status": "completed"}}),
    )
    .await
    .data();
    assert_eq!(receiver.wait_for(3, WAIT).await[2].json()["CallDetail"], "recording_stop_success");
}

#[tokio::test]
async fn exotels_refusal_is_passed_through_with_its_error_json() {
    let server = MockServer::start().await;
    let (app, entity) = live_app(&server).await;
    let refusal = json!({"request_id": "r", "method": "POST", "http_code": 400, "metadata": null,
        "response": {"code": 400, "status": "failure", "call_details": null,
            "error_data": {"code": 10725, "message": "Invalid request body,failed parsing", "description": "to to.contact_uri is invalid"}}});
    Mock::given(method("POST"))
        .and(path(format!("/v3/accounts/{}/calls", entity.account_sid)))
        .respond_with(ResponseTemplate::new(400).set_body_json(refusal.clone()))
        .mount(&server)
        .await;

    let answer = app.post(OUTBOUND, Some(&entity.token), json!({"to": "+919812300077", "user_id": "meera"})).await;

    let error = answer.error(StatusCode::BAD_REQUEST);
    let parsed: Value = serde_json::from_str(&error).expect("Error is Exotel's JSON");
    assert_eq!(parsed["response"]["error_data"]["code"], 10725);
}

#[tokio::test]
async fn an_exotel_failing_on_its_side_is_a_502() {
    let server = MockServer::start().await;
    let (app, entity) = live_app(&server).await;
    Mock::given(method("POST"))
        .and(path(format!("/v3/accounts/{}/calls", entity.account_sid)))
        .respond_with(ResponseTemplate::new(503))
        .mount(&server)
        .await;
    let answer = app.post(OUTBOUND, Some(&entity.token), json!({"to": "+919812300077", "user_id": "meera"})).await;
    assert!(answer.error(StatusCode::BAD_GATEWAY).contains("503"));
}
