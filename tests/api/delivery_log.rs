//! The delivery log's filters and recovery (CONTRACT 10): narrowing the log by call, event type and
//! creation time, and queueing a window's finished deliveries again under their own `webhook-id`.

use std::time::{Duration, Instant};

use axum::http::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{TestApp, TestAppEntity, WebhookTest};
use crate::receiver::Reply;

const WAIT: Duration = Duration::from_secs(10);
const LOG: &str = "/v2/integrations/webhook_deliveries";
const RECOVER: &str = "/v2/integrations/webhook_deliveries/recover";

/// 2024-05-01T10:00:00+05:30 and a day later, in unix ms.
const MAY_1: i64 = 1_714_537_800_000;
const MAY_2: i64 = MAY_1 + 86_400_000;

fn passthru(entity: &TestAppEntity, kind: &str, call_sid: &str) -> String {
    format!("/v2/integrations/call/inbound_call/{}?type={kind}&CallSid={call_sid}", entity.id)
}

/// The log's `(CallSid, EventType)` pairs for `query`, oldest first.
async fn listed(app: &TestApp, entity: &TestAppEntity, query: &str) -> Vec<(String, String)> {
    let log = app.get(&format!("{LOG}?{query}"), Some(&entity.token)).await;
    let deliveries = log.data()["Deliveries"].as_array().unwrap().clone();
    deliveries
        .iter()
        .map(|d| (d["CallSid"].as_str().unwrap().to_string(), d["EventType"].as_str().unwrap().to_string()))
        .collect()
}

fn pairs(expected: &[(&str, &str)]) -> Vec<(String, String)> {
    expected.iter().map(|(sid, kind)| (sid.to_string(), kind.to_string())).collect()
}

/// An app with every call webhook set (no dispatcher: everything stays pending) and four deliveries:
/// call a1's popup and hangup (now), b1's popup (May 1, 10:00 IST) and c1's missed call (May 2).
async fn app_with_four_deliveries() -> (TestApp, TestAppEntity) {
    let app = TestApp::with_local_webhooks(&[]).await;
    let entity = app.seed_app("sandbox").await;
    for key in ["popup", "incomingCallHangup", "missedCall"] {
        app.set_setting(&entity, key, format!("https://crm.example.com/{key}")).await;
    }
    for (kind, sid) in [("popup", "a1"), ("incomingcallhungup", "a1"), ("popup", "b1"), ("missedcall", "c1")] {
        app.get(&passthru(&entity, kind, sid), None).await.data();
    }
    app.raw_execute(&format!("UPDATE webhook_deliveries SET created_at = {MAY_1} WHERE call_sid = 'b1'")).await;
    app.raw_execute(&format!("UPDATE webhook_deliveries SET created_at = {MAY_2} WHERE call_sid = 'c1'")).await;
    (app, entity)
}

#[tokio::test]
async fn the_log_narrows_to_one_call_and_one_event_type() {
    let (app, entity) = app_with_four_deliveries().await;

    assert_eq!(listed(&app, &entity, "call_sid=a1").await, pairs(&[("a1", "popup"), ("a1", "incomingCallHangup")]));
    assert_eq!(listed(&app, &entity, "event_type=popup").await, pairs(&[("a1", "popup"), ("b1", "popup")]));
    assert_eq!(listed(&app, &entity, "event_type=MISSEDCALL").await, pairs(&[("c1", "missedCall")]), "any case");
    assert_eq!(listed(&app, &entity, "call_sid=a1&event_type=popup").await, pairs(&[("a1", "popup")]));
    assert_eq!(listed(&app, &entity, "call_sid=a1&status=delivered").await, pairs(&[]));
    assert_eq!(listed(&app, &entity, "call_sid=nobody").await, pairs(&[]));
    assert_eq!(listed(&app, &entity, "event_type=test").await, pairs(&[]));
}

#[tokio::test]
async fn the_log_narrows_to_a_time_window_inclusive_at_whole_seconds_in_any_offset() {
    let (app, entity) = app_with_four_deliveries().await;

    let both = pairs(&[("b1", "popup"), ("c1", "missedCall")]);
    assert_eq!(
        listed(&app, &entity, "since=2024-05-01T10:00:00%2B05:30&until=2024-05-02T10:00:00%2B05:30").await,
        both
    );
    assert_eq!(listed(&app, &entity, "since=2024-05-01T04:30:00Z&until=2024-05-02T04:30:00.999Z").await, both);
    assert_eq!(
        listed(&app, &entity, "since=2024-05-01T10:00:01%2B05:30&until=2024-05-02T10:00:00%2B05:30").await,
        pairs(&[("c1", "missedCall")])
    );
    assert_eq!(listed(&app, &entity, "until=2024-05-02T09:59:59%2B05:30").await, pairs(&[("b1", "popup")]));
    let recent = listed(&app, &entity, "since=2024-05-02T10:00:01%2B05:30").await;
    assert_eq!(recent, pairs(&[("a1", "popup"), ("a1", "incomingCallHangup")]));
}

#[tokio::test]
async fn a_filtered_log_pages_without_skipping_or_repeating() {
    let (app, entity) = app_with_four_deliveries().await;

    let mut seen = Vec::new();
    let mut cursor = String::new();
    loop {
        let page =
            app.get(&format!("{LOG}?event_type=popup&page_size=1&last_value={cursor}"), Some(&entity.token)).await;
        let data = page.data().clone();
        for delivery in data["Deliveries"].as_array().unwrap() {
            seen.push(delivery["CallSid"].as_str().unwrap().to_string());
        }
        cursor = data["LastEvaluatedValue"].as_str().unwrap().to_string();
        if cursor.is_empty() {
            break;
        }
    }
    assert_eq!(seen, ["a1", "b1"]);
}

#[tokio::test]
async fn a_bad_filter_is_a_400_naming_the_parameter() {
    let (app, entity) = app_with_four_deliveries().await;

    for (query, named) in [
        ("event_type=record", "query parameter event_type must be one of popup, incomingCallHangup, missedCall"),
        ("event_type=popups", "query parameter event_type must be one of"),
        ("since=yesterday", "query parameter since must be an RFC 3339 time"),
        ("since=2024-05-01T10:00:00", "query parameter since must be an RFC 3339 time"),
        ("until=2024-05-01%2010:00:00", "query parameter until must be an RFC 3339 time"),
        ("status=lost", "query parameter status must be one of"),
    ] {
        let response = app.get(&format!("{LOG}?{query}"), Some(&entity.token)).await;
        let error = response.error(StatusCode::BAD_REQUEST);
        assert!(error.starts_with(named), "{query}: {error}");
    }
    let unescaped_plus = listed(&app, &entity, "since=2024-05-01T10:00:00+05:30&until=2024-05-01T10:00:00+05:30").await;
    assert_eq!(unescaped_plus, pairs(&[("b1", "popup")]), "a + left unescaped is still a +");
}

/// Polls the log (filtered by `query`) until `count` deliveries have `status`.
async fn wait_until(app: &TestApp, entity: &TestAppEntity, query: &str, status: &str, count: usize) -> Vec<Value> {
    let deadline = Instant::now() + WAIT;
    loop {
        let log = app.get(&format!("{LOG}?{query}"), Some(&entity.token)).await;
        let deliveries = log.data()["Deliveries"].as_array().unwrap().clone();
        if deliveries.iter().filter(|d| d["Status"] == status).count() == count {
            return deliveries;
        }
        assert!(Instant::now() < deadline, "never {count} {status}: {deliveries:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn an_hour_ago() -> String {
    (chrono::Utc::now() - chrono::Duration::hours(1)).to_rfc3339()
}

#[tokio::test]
async fn recover_sends_the_dead_deliveries_of_a_window_again_under_their_own_webhook_id() {
    let WebhookTest { app, receiver, entity, dispatcher: _dispatcher } =
        WebhookTest::start(&[], &[("incomingCallHangup", "/hangup"), ("missedCall", "/missed")]).await;
    receiver.script([Reply::status(410), Reply::status(410)]);
    app.get(&passthru(&entity, "incomingcallhungup", "r1"), None).await.data();
    app.get(&passthru(&entity, "missedcall", "r2"), None).await.data();
    let dead = wait_until(&app, &entity, "status=dead", "dead", 2).await;
    let mut ids: Vec<String> = dead.iter().map(|d| d["DeliveryId"].as_str().unwrap().to_string()).collect();
    ids.sort();

    let recovered = app.post(RECOVER, Some(&entity.token), json!({"Since": an_hour_ago()})).await;
    assert_eq!(recovered.data(), &json!({"Queued": 2}));

    let got = receiver.wait_for(4, WAIT).await;
    let mut resent: Vec<String> = got[2..].iter().map(|r| r.header("webhook-id")).collect();
    resent.sort();
    assert_eq!(resent, ids, "each resent under its own DeliveryId");
    let delivered = wait_until(&app, &entity, "", "delivered", 2).await;
    for delivery in &delivered {
        assert_eq!(delivery["Attempts"], 1, "the schedule started over: {delivery}");
        assert_eq!(delivery["LastResponseCode"], 200);
    }
    let again = app.post(RECOVER, Some(&entity.token), json!({"Since": an_hour_ago()})).await;
    assert_eq!(again.data(), &json!({"Queued": 0}), "nothing dead is left");
}

#[tokio::test]
async fn recover_takes_only_the_statuses_asked_for_within_the_window_of_this_app() {
    let WebhookTest { app, receiver, entity, dispatcher: _dispatcher } =
        WebhookTest::start(&[], &[("missedCall", "/missed")]).await;
    let other = app.seed_app("sandbox").await;
    app.set_setting(&other, "missedCall", receiver.url("/other")).await;
    receiver.script([Reply::status(410), Reply::status(410), Reply::status(410)]);
    for sid in ["w1", "w2"] {
        app.get(&passthru(&entity, "missedcall", sid), None).await.data();
    }
    app.get(&passthru(&other, "missedcall", "x1"), None).await.data();
    wait_until(&app, &entity, "", "dead", 2).await;
    wait_until(&app, &other, "", "dead", 1).await;
    receiver.wait_for(3, WAIT).await;
    app.raw_execute(&format!(
        "UPDATE webhook_deliveries SET created_at = {} WHERE call_sid = 'w2'",
        chrono::Utc::now().timestamp_millis() - 3 * 86_400_000
    ))
    .await;

    let delivered_only = app
        .post(RECOVER, Some(&entity.token), json!({"Since": an_hour_ago(), "Statuses": ["delivered", "expired"]}))
        .await;
    assert_eq!(delivered_only.data(), &json!({"Queued": 0}), "none of those statuses");
    let recovered = app.post(RECOVER, Some(&entity.token), json!({"Since": an_hour_ago(), "Statuses": ["DEAD"]})).await;
    assert_eq!(recovered.data(), &json!({"Queued": 1}), "w1 only: w2 is older than the window");

    let got = receiver.wait_for(4, WAIT).await;
    assert_eq!(got[3].json()["CallSid"], "w1");
    assert_eq!(listed(&app, &other, "status=dead").await, pairs(&[("x1", "missedCall")]), "the other app's untouched");
    assert_eq!(listed(&app, &entity, "status=dead").await, pairs(&[("w2", "missedCall")]));
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(receiver.received().len(), 4, "nothing else was sent");

    let three_days = (chrono::Utc::now() - chrono::Duration::days(4)).to_rfc3339();
    let older = app.post(RECOVER, Some(&entity.token), json!({"Since": three_days})).await;
    assert_eq!(older.data(), &json!({"Queued": 1}), "a wider window takes w2");
}

#[tokio::test]
async fn a_recovered_popup_gets_a_fresh_deadline() {
    // The schedule outlasts the one-second deadline: a failing popup expires rather than dies.
    let schedule = ("WEBHOOK_RETRY_SCHEDULE", "300ms,300ms,300ms,300ms,300ms,300ms");
    let WebhookTest { app, receiver, entity, dispatcher: _dispatcher } =
        WebhookTest::start(&[("POPUP_DEADLINE_SECS", "1"), schedule], &[("popup", "/popup")]).await;
    receiver.always(Reply::status(500));
    app.get(&passthru(&entity, "popup", "p1"), None).await.data();
    wait_until(&app, &entity, "", "expired", 1).await;
    let expired = || json!({"Since": an_hour_ago(), "Statuses": ["expired"]});

    let first = receiver.received().len();
    let recovered = app.post(RECOVER, Some(&entity.token), expired()).await;
    assert_eq!(recovered.data(), &json!({"Queued": 1}));
    wait_until(&app, &entity, "", "pending", 1).await;
    wait_until(&app, &entity, "", "expired", 1).await;
    assert!(receiver.received().len() > first, "sent again before its new deadline passed");

    receiver.always(Reply::status(200));
    let recovered = app.post(RECOVER, Some(&entity.token), expired()).await;
    assert_eq!(recovered.data(), &json!({"Queued": 1}));
    let delivered = wait_until(&app, &entity, "", "delivered", 1).await;
    assert_eq!(delivered[0]["CallSid"], "p1");
}

#[tokio::test]
async fn a_bad_recover_request_is_a_400_naming_what_to_fix() {
    let app = TestApp::new().await;
    let entity = app.seed_app("sandbox").await;
    let days_ago = |days: i64| (chrono::Utc::now() - chrono::Duration::days(days)).to_rfc3339();

    for (body, named) in [
        (json!({}), "Since is required"),
        (json!({"Since": "yesterday"}), "Since must be an RFC 3339 time"),
        (json!({"Since": 1714537800}), "Since must be a string"),
        (json!({"Since": days_ago(1), "Until": "2024-05-01 10:00:00"}), "Until must be an RFC 3339 time"),
        (json!({"Since": days_ago(1), "Until": days_ago(2)}), "Since must not be after Until"),
        (
            json!({"Since": days_ago(8)}),
            "the window from Since to Until must not be longer than the retention of 7 days",
        ),
        (json!({"Since": days_ago(20), "Until": days_ago(15)}), "Until is past the retention of 7 days"),
        (json!({"Since": days_ago(1), "Statuses": ["pending"]}), "Statuses[0] must be one of dead, expired, delivered"),
        (json!({"Since": days_ago(1), "Statuses": ["dead", "lost"]}), "Statuses[1] must be one of dead, expired"),
        (json!({"Since": days_ago(1), "Statuses": []}), "Statuses must not be empty"),
        (json!({"Since": days_ago(1), "Statuses": "dead"}), "Statuses must be a sequence"),
        (json!({"Since": days_ago(1), "Statuses": [1]}), "Statuses[0] must be a string"),
    ] {
        let response = app.post(RECOVER, Some(&entity.token), body.clone()).await;
        let error = response.error(StatusCode::BAD_REQUEST);
        assert!(error.starts_with(named), "{body}: {error}");
    }
    let no_token = app.post(RECOVER, None, json!({"Since": days_ago(1)})).await;
    no_token.error(StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn recover_never_sends_a_url_test_again() {
    let WebhookTest { app, receiver, entity, dispatcher: _dispatcher } =
        WebhookTest::start(&[], &[("callback", "/callback")]).await;
    receiver.script([Reply::status(500)]);
    let tested = app.post("/v2/integrations/app_setting/test", Some(&entity.token), json!({"Key": "callback"})).await;
    assert_eq!(tested.data()["ResponseCode"], 500);
    assert_eq!(listed(&app, &entity, "event_type=test&status=dead").await.len(), 1);

    let recovered = app.post(RECOVER, Some(&entity.token), json!({"Since": an_hour_ago()})).await;
    assert_eq!(recovered.data(), &json!({"Queued": 0}));
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(receiver.received().len(), 1);
}
