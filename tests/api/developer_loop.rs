//! The CRM developer's loop end to end (issue 14): simulate an answered and a missed call on a
//! sandbox app, receive every webhook signed and in order at a real local receiver, read the calls'
//! timelines and each delivery's attempts (a receiver that answered 500, then 200), and recover a
//! dead delivery under its own `webhook-id`.

use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::helpers::{
    keys, object_keys, signed_with_app_secret, TestApp, TestAppEntity, WebhookTest, CALL_PAYLOAD_KEYS,
};
use crate::receiver::{Received, Reply};

const WAIT: Duration = Duration::from_secs(10);
const BASE: &str = "/v2/integrations";

fn detail_and_state(webhook: &Received) -> (String, String) {
    let body = webhook.json();
    (body["CallDetail"].as_str().unwrap().to_string(), body["CallState"].as_str().unwrap().to_string())
}

/// The call's timeline once every event is there and each delivery it queued has `statuses[i]`.
async fn timeline(app: &TestApp, entity: &TestAppEntity, call_sid: &str, statuses: &[&str]) -> Vec<Value> {
    let deadline = Instant::now() + WAIT;
    loop {
        let answer = app.get(&format!("{BASE}/call/{call_sid}/events"), Some(&entity.token)).await;
        let events = answer.data()["Events"].as_array().unwrap().clone();
        let now: Vec<&str> = events
            .iter()
            .flat_map(|e| e["Deliveries"].as_array().unwrap())
            .map(|d| d["Status"].as_str().unwrap())
            .collect();
        if now == statuses {
            return events;
        }
        assert!(Instant::now() < deadline, "the timeline of {call_sid} never reached {statuses:?}: {events:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn event_types(events: &[Value]) -> Vec<&str> {
    events.iter().map(|e| e["EventType"].as_str().unwrap()).collect()
}

/// `(Attempt, ResponseCode, Error is empty)` of each attempt of a delivery.
async fn attempts(app: &TestApp, entity: &TestAppEntity, delivery_id: &str) -> Vec<(i64, Option<i64>, bool)> {
    let answer = app.get(&format!("{BASE}/webhook_deliveries/{delivery_id}"), Some(&entity.token)).await;
    let log = answer.data()["AttemptLog"].as_array().unwrap().clone();
    log.iter().map(|a| (a["Attempt"].as_i64().unwrap(), a["ResponseCode"].as_i64(), a["Error"] == "")).collect()
}

#[tokio::test]
async fn a_simulated_answered_and_missed_call_arrive_signed_in_order_show_in_the_timeline_and_recover() {
    let WebhookTest { app, receiver, entity, dispatcher: _dispatcher } = WebhookTest::start(
        &[("SANDBOX_CALL_STEP_MS", "150")],
        // One URL for every event: webhooks of one call and URL arrive in order (CONTRACT 8).
        &[("popup", "/crm"), ("incomingCallHangup", "/crm"), ("missedCall", "/crm")],
    )
    .await;
    app.map_agent(&entity, "meera", "+919812300011").await;
    let simulate = |body: Value| app.post("/v2/integrations/sandbox/inbound_call", Some(&entity.token), body);

    // An answered call, whose first popup the receiver refuses once.
    receiver.script([Reply::status(500)]);
    let answered = simulate(json!({"from": "+919876500001", "talk_seconds": 42})).await;
    let answered_sid = answered.data()["CallSid"].as_str().unwrap().to_string();
    let got = receiver.wait_for(4, WAIT).await;
    let steps: Vec<(String, String)> = got.iter().map(detail_and_state).collect();
    let expected = [("dial", "active"), ("dial", "active"), ("answered", "active"), ("terminal", "terminal")];
    assert_eq!(
        steps,
        expected.map(|(d, s)| (d.to_string(), s.to_string())),
        "a failed popup is retried before the rest"
    );
    assert_eq!(got[0].header("webhook-id"), got[1].header("webhook-id"), "the retry is the same delivery");
    for webhook in &got {
        assert!(signed_with_app_secret(webhook, &entity.secret), "signed: {webhook:?}");
        assert_eq!(object_keys(&webhook.body), keys(&CALL_PAYLOAD_KEYS));
        assert_eq!(webhook.json()["CallSid"], answered_sid.as_str());
        assert_eq!(webhook.json()["AppUserID"], "meera");
    }
    assert_eq!(got[3].json()["TotalDuration"], 42);

    let events = timeline(&app, &entity, &answered_sid, &["delivered", "delivered", "delivered"]).await;
    assert_eq!(event_types(&events), ["popup", "popup", "incomingcallhungup"]);
    for (event, webhook) in events.iter().zip([&got[1], &got[2], &got[3]]) {
        assert_eq!(event["Payload"], webhook.json(), "the payload as it stood is the body sent");
        assert_eq!(event["Deliveries"][0]["DeliveryId"].as_str().unwrap(), webhook.header("webhook-id"));
    }
    let first_popup = events[0]["Deliveries"][0]["DeliveryId"].as_str().unwrap().to_string();
    assert_eq!(attempts(&app, &entity, &first_popup).await, [(1, Some(500), false), (2, Some(200), true)]);

    // A missed call, whose missedCall webhook the receiver answers 410 Gone: dead at once.
    receiver.script([Reply::status(200), Reply::status(410)]);
    let missed = simulate(json!({"from": "+919876500002", "outcome": "missed"})).await;
    let missed_sid = missed.data()["CallSid"].as_str().unwrap().to_string();
    let got = receiver.wait_for(6, WAIT).await;
    assert_eq!(
        got[4..].iter().map(detail_and_state).collect::<Vec<_>>(),
        [("dial", "active"), ("terminal", "terminal")].map(|(d, s)| (d.to_string(), s.to_string()))
    );
    let events = timeline(&app, &entity, &missed_sid, &["delivered", "dead"]).await;
    assert_eq!(event_types(&events), ["popup", "missedcall"]);
    let dead = events[1]["Deliveries"][0]["DeliveryId"].as_str().unwrap().to_string();
    assert_eq!(attempts(&app, &entity, &dead).await, [(1, Some(410), false)]);

    let calls = app.get(&format!("{BASE}/calls?direction=incoming"), Some(&entity.token)).await;
    let listed: Vec<&str> =
        calls.data()["Calls"].as_array().unwrap().iter().map(|c| c["CallSid"].as_str().unwrap()).collect();
    assert_eq!(listed, [missed_sid.as_str(), answered_sid.as_str()], "newest first");

    // Recover: the dead missedCall goes out again under its own webhook-id.
    let since = (chrono::Utc::now() - chrono::Duration::minutes(5)).to_rfc3339();
    let recovered =
        app.post(&format!("{BASE}/webhook_deliveries/recover"), Some(&entity.token), json!({"Since": since})).await;
    assert_eq!(recovered.data(), &json!({"Queued": 1}));
    let got = receiver.wait_for(7, WAIT).await;
    assert_eq!(got[6].header("webhook-id"), dead);
    assert_eq!(got[6].body, got[5].body, "the same body");
    assert!(signed_with_app_secret(&got[6], &entity.secret));
    timeline(&app, &entity, &missed_sid, &["delivered", "delivered"]).await;
    assert_eq!(attempts(&app, &entity, &dead).await, [(1, Some(410), false), (2, Some(200), true)]);
}
