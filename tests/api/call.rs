//! Inbound passthru and the webhook dispatcher (CONTRACT 7.1 and 8), with real local receivers.

use std::time::{Duration, Instant};

use axum::http::StatusCode;
use base64::Engine;
use serde_json::json;

use crate::helpers::{
    keys, object_keys, verify_standard_webhook, TestApp, TestAppEntity, WebhookTest, CALL_PAYLOAD_KEYS,
};
use crate::receiver::{Receiver, Reply};

const WAIT: Duration = Duration::from_secs(10);

async fn set(app: &TestApp, entity: &TestAppEntity, key: &str, value: &str) {
    app.set_setting(entity, key, value).await;
}

fn passthru(entity: &TestAppEntity, kind: &str, query: &str) -> String {
    format!("/v2/integrations/call/inbound_call/{}?type={kind}&{query}", entity.id)
}

#[tokio::test]
async fn a_popup_reaches_the_popup_url_with_the_call_payload() {
    let WebhookTest { app, receiver, entity, dispatcher: _dispatcher } =
        WebhookTest::start(&[], &[("popup", "/popup")]).await;
    let agent = app.map_agent(&entity, "meera", "+919812300011").await;
    let sip_id = agent["SipId"].as_str().unwrap();

    let answer = app
        .get(
            &passthru(
                &entity,
                "popup",
                &format!("CallSid=c1&CallFrom=09812300077&CallTo=08040001111&DialWhomNumber={sip_id}&Status=busy&EventType=Dial&StartTime=2024-05-01%2010:00:00&EndTime=1970-01-01%2005:30:00"),
            ),
            None,
        )
        .await;

    assert_eq!(answer.data(), "Success");
    let got = receiver.wait_for(1, WAIT).await;
    assert_eq!(got[0].path, "/popup");
    let body = got[0].json();
    assert_eq!(body["CustomerId"], entity.customer.id.as_str());
    assert_eq!(body["AppId"], entity.id.as_str());
    assert_eq!(body["CallSid"], "c1");
    assert_eq!(body["AppUserID"], "meera");
    assert_eq!(body["DialWhomNumber"], sip_id);
    assert_eq!(body["FromNumber"], "09812300077");
    assert_eq!(body["ToNumber"], "08040001111");
    assert_eq!(body["VirtualNumber"], "08040001111");
    assert_eq!(body["Direction"], "incoming");
    assert_eq!(body["CallStatus"], "busy");
    assert_eq!(body["CallState"], "active");
    assert_eq!(body["CallDetail"], "dial");
    assert_eq!(body["TotalDuration"], 0);
    assert_eq!(body["AccountDomain"], "sandbox");
    assert_eq!(body["StartTime"], "2024-05-01T10:00:00+05:30");
    assert_eq!(body["EndTime"], "", "Exotel's 1970 placeholder means unknown");
    assert_eq!(got[0].header("content-type"), "application/json");
    assert!(got[0].header("user-agent").starts_with("integrations-core/"));
}

#[tokio::test]
async fn the_agent_is_found_by_the_last_ten_digits_of_its_number() {
    let WebhookTest { app, receiver, entity, dispatcher: _dispatcher } =
        WebhookTest::start(&[], &[("missedCall", "/missed")]).await;
    app.map_agent(&entity, "ravi", "+919812300022").await;

    app.get(&passthru(&entity, "missedcall", "CallSid=c2&DialWhomNumber=09812300022&From=0999"), None).await.data();

    let body = receiver.wait_for(1, WAIT).await[0].json();
    assert_eq!(body["AppUserID"], "ravi");
    assert_eq!(body["CallState"], "terminal");
}

#[tokio::test]
async fn each_type_goes_to_its_own_setting() {
    let WebhookTest { app, receiver, entity, dispatcher: _dispatcher } =
        WebhookTest::start(&[], &[("popup", "/popup"), ("incomingCallHangup", "/hangup"), ("missedCall", "/missed")])
            .await;

    for (kind, sid) in [("popup", "a"), ("incomingcallhungup", "b"), ("missedcall", "c")] {
        app.get(&passthru(&entity, kind, &format!("CallSid={sid}")), None).await.data();
    }

    let mut paths: Vec<(String, String)> = receiver
        .wait_for(3, WAIT)
        .await
        .iter()
        .map(|r| (r.path.clone(), r.json()["CallSid"].as_str().unwrap().to_string()))
        .collect();
    paths.sort();
    assert_eq!(
        paths,
        vec![("/hangup".into(), "b".into()), ("/missed".into(), "c".into()), ("/popup".into(), "a".into())]
    );
}

#[tokio::test]
async fn without_a_url_the_passthru_still_succeeds_and_nothing_is_queued() {
    let app = TestApp::with_local_webhooks(&[]).await;
    let entity = app.seed_app("sandbox").await;
    app.get(&passthru(&entity, "popup", "CallSid=c3"), None).await.data();
    let log = app.get("/v2/integrations/webhook_deliveries", Some(&entity.token)).await;
    assert_eq!(log.data()["Deliveries"], json!([]));
}

#[tokio::test]
async fn the_passthru_answers_at_once_while_the_receiver_hangs() {
    let WebhookTest { app, receiver, entity, dispatcher: _dispatcher } =
        WebhookTest::start(&[], &[("popup", "/popup")]).await;
    receiver.always(Reply { status: 200, delay: Duration::from_secs(5), retry_after: None });

    let started = Instant::now();
    for n in 0..5 {
        app.get(&passthru(&entity, "popup", &format!("CallSid=h{n}")), None).await.data();
    }
    assert!(started.elapsed() < Duration::from_secs(1), "5 passthrus took {:?}", started.elapsed());
}

#[tokio::test]
async fn unknown_apps_and_bad_types_are_refused() {
    let app = TestApp::with_local_webhooks(&[]).await;
    let entity = app.seed_app("sandbox").await;
    app.get("/v2/integrations/call/inbound_call/no-such-app?type=popup", None).await.error(StatusCode::NOT_FOUND);
    let bad = app.get(&passthru(&entity, "ring", ""), None).await.error(StatusCode::BAD_REQUEST);
    assert!(bad.contains("type"), "{bad}");
    let missing = app.get(&format!("/v2/integrations/call/inbound_call/{}", entity.id), None).await;
    missing.error(StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn the_passthru_type_is_spelled_exactly_as_the_contract_spells_it_in_any_case() {
    let app = TestApp::new().await;
    let entity = app.seed_app("sandbox").await;
    for (n, kind) in ["popup", "incomingcallhungup", "missedcall", "POPUP", "missedCall", "IncomingCallHungUp"]
        .into_iter()
        .enumerate()
    {
        app.get(&passthru(&entity, kind, &format!("CallSid=exact-{n}")), None).await.data();
    }
    for (n, kind) in
        ["popup%20", "%20popup", "popup%09", "popup+", "missed%20call", "pop-up", "popups"].into_iter().enumerate()
    {
        let refused = app.get(&passthru(&entity, kind, &format!("CallSid=refused-{n}")), None).await;
        let error = refused.error(StatusCode::BAD_REQUEST);
        assert!(error.contains("type must be exactly popup, incomingcallhungup or missedcall"), "{kind}: {error}");
        let call = app.get(&format!("/v2/integrations/call/refused-{n}"), Some(&entity.token)).await;
        call.error(StatusCode::NOT_FOUND);
    }
    let missing = app.get(&passthru(&entity, "", "CallSid=no-type"), None).await.error(StatusCode::BAD_REQUEST);
    assert!(missing.contains("type is required"), "{missing}");
}

#[tokio::test]
async fn a_form_post_passthru_is_accepted() {
    use axum::body::Body;
    use axum::http::Request;
    let WebhookTest { app, receiver, entity, dispatcher: _dispatcher } =
        WebhookTest::start(&[], &[("popup", "/popup")]).await;
    let request = Request::post(format!("/v2/integrations/call/inbound_call/{}", entity.id))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Body::from("type=popup&CallSid=form1&From=0999"))
        .unwrap();
    app.send(request).await.data();
    assert_eq!(receiver.wait_for(1, WAIT).await[0].json()["CallSid"], "form1");
}

#[tokio::test]
async fn webhooks_carry_a_standard_webhooks_signature_keyed_with_the_app_secret() {
    let WebhookTest { app, receiver, entity, dispatcher: _dispatcher } =
        WebhookTest::start(&[], &[("popup", "/popup")]).await;

    app.get(&passthru(&entity, "popup", "CallSid=sig"), None).await.data();

    let got = &receiver.wait_for(1, WAIT).await[0];
    let whsec = format!("whsec_{}", base64::engine::general_purpose::STANDARD.encode(entity.secret.as_bytes()));
    let (id, ts, sig) = (got.header("webhook-id"), got.header("webhook-timestamp"), got.header("webhook-signature"));
    assert!(id.starts_with("msg_"), "{id}");
    let age = chrono::Utc::now().timestamp() - ts.parse::<i64>().unwrap();
    assert!((0..30).contains(&age), "timestamp is the attempt time");
    assert!(verify_standard_webhook(&whsec, &id, &ts, &got.body, &sig));
    assert!(!verify_standard_webhook(&whsec, &id, &ts, &got.body.replace("sig", "gis"), &sig), "a changed body fails");
}

#[tokio::test]
async fn failures_are_retried_with_the_same_webhook_id_until_delivered_once() {
    let WebhookTest { app, receiver, entity, dispatcher: _dispatcher } =
        WebhookTest::start(&[], &[("missedCall", "/missed")]).await;
    receiver.script([Reply::status(500), Reply::status(500), Reply::status(200)]);

    app.get(&passthru(&entity, "missedcall", "CallSid=r1"), None).await.data();

    let got = receiver.wait_for(3, WAIT).await;
    let ids: Vec<String> = got.iter().map(|r| r.header("webhook-id")).collect();
    assert!(ids.iter().all(|id| id == &ids[0]), "{ids:?}");
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(receiver.received().len(), 3, "no attempt after the 200");
    let log = app.get("/v2/integrations/webhook_deliveries", Some(&entity.token)).await;
    let delivery = &log.data()["Deliveries"][0];
    assert_eq!(delivery["Status"], "delivered");
    assert_eq!(delivery["Attempts"], 3);
    assert_eq!(delivery["LastResponseCode"], 200);
    assert_eq!(delivery["DeliveryId"], ids[0].as_str());
}

#[tokio::test]
async fn gone_ends_a_delivery_at_once() {
    let WebhookTest { app, receiver, entity, dispatcher: _dispatcher } =
        WebhookTest::start(&[], &[("missedCall", "/missed")]).await;
    receiver.always(Reply::status(410));

    app.get(&passthru(&entity, "missedcall", "CallSid=g1"), None).await.data();
    receiver.wait_for(1, WAIT).await;
    let delivery = wait_for_status(&app, &entity, "dead").await;
    assert_eq!(delivery["Attempts"], 1);
    assert_eq!(delivery["LastResponseCode"], 410);
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(receiver.received().len(), 1);
}

#[tokio::test]
async fn a_receiver_failing_every_time_ends_dead_after_the_schedule() {
    let WebhookTest { app, receiver, entity, dispatcher: _dispatcher } =
        WebhookTest::start(&[], &[("incomingCallHangup", "/hangup")]).await;
    receiver.always(Reply::status(503));

    app.get(&passthru(&entity, "incomingcallhungup", "CallSid=d1"), None).await.data();
    let delivery = wait_for_status(&app, &entity, "dead").await;
    assert_eq!(delivery["Attempts"], 4, "the first attempt and three retries");
    assert_eq!(receiver.received().len(), 4);
}

#[tokio::test]
async fn a_popup_not_delivered_before_its_deadline_expires() {
    let app = TestApp::with_local_webhooks(&[
        ("POPUP_DEADLINE_SECS", "1"),
        ("WEBHOOK_RETRY_SCHEDULE", "300ms,300ms,300ms,300ms,300ms,300ms"),
    ])
    .await;
    let receiver = Receiver::start().await;
    receiver.always(Reply::status(500));
    let _dispatcher = app.start_dispatcher();
    let entity = app.seed_app("sandbox").await;
    set(&app, &entity, "popup", &receiver.url("/popup")).await;

    app.get(&passthru(&entity, "popup", "CallSid=e1"), None).await.data();
    let delivery = wait_for_status(&app, &entity, "expired").await;
    assert!(delivery["Attempts"].as_i64().unwrap() < 7, "it stopped before the schedule ran out: {delivery}");
}

#[tokio::test]
async fn a_hangup_never_arrives_before_its_popup_even_when_the_popup_needs_retries() {
    let WebhookTest { app, receiver, entity, dispatcher: _dispatcher } = WebhookTest::start(&[], &[]).await;
    receiver.script([Reply::status(500), Reply::status(500)]);
    let url = receiver.url("/events");
    set(&app, &entity, "popup", &url).await;
    set(&app, &entity, "incomingCallHangup", &url).await;

    app.get(&passthru(&entity, "popup", "CallSid=o1"), None).await.data();
    app.get(&passthru(&entity, "incomingcallhungup", "CallSid=o1"), None).await.data();

    let got = receiver.wait_for(4, WAIT).await;
    let states: Vec<String> = got.iter().map(|r| r.json()["CallState"].as_str().unwrap().to_string()).collect();
    assert_eq!(states, ["active", "active", "active", "terminal"]);
}

#[tokio::test]
async fn a_finished_delivery_can_be_queued_again() {
    let WebhookTest { app, receiver, entity, dispatcher: _dispatcher } =
        WebhookTest::start(&[], &[("missedCall", "/missed")]).await;
    receiver.script([Reply::status(410)]);
    app.get(&passthru(&entity, "missedcall", "CallSid=q1"), None).await.data();
    let dead = wait_for_status(&app, &entity, "dead").await;
    let id = dead["DeliveryId"].as_str().unwrap();

    let retried =
        app.post(&format!("/v2/integrations/webhook_deliveries/{id}/retry"), Some(&entity.token), json!({})).await;
    assert_eq!(retried.data()["Status"], "pending");
    wait_for_status(&app, &entity, "delivered").await;
    assert_eq!(receiver.received().len(), 2);

    let other = app.seed_app("sandbox").await;
    let hidden =
        app.post(&format!("/v2/integrations/webhook_deliveries/{id}/retry"), Some(&other.token), json!({})).await;
    hidden.error(StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_delivery_log_filters_by_status_and_refuses_unknown_ones() {
    let app = TestApp::with_local_webhooks(&[]).await;
    let entity = app.seed_app("sandbox").await;
    set(&app, &entity, "popup", "https://crm.example.com/popup").await;
    app.get(&passthru(&entity, "popup", "CallSid=l1"), None).await.data();
    let pending = app.get("/v2/integrations/webhook_deliveries?status=pending", Some(&entity.token)).await;
    assert_eq!(pending.data()["Deliveries"].as_array().unwrap().len(), 1);
    let delivered = app.get("/v2/integrations/webhook_deliveries?status=delivered", Some(&entity.token)).await;
    assert_eq!(delivered.data()["Deliveries"], json!([]));
    let bad = app.get("/v2/integrations/webhook_deliveries?status=lost", Some(&entity.token)).await;
    assert!(bad.error(StatusCode::BAD_REQUEST).contains("status"));
}

#[tokio::test]
async fn the_call_can_be_read_back_by_its_sid() {
    let app = TestApp::with_local_webhooks(&[]).await;
    let entity = app.seed_app("sandbox").await;
    app.get(&passthru(&entity, "popup", "CallSid=k1&From=0999"), None).await.data();
    let call = app.get("/v2/integrations/call/k1", Some(&entity.token)).await;
    assert_eq!(call.data()["CallSid"], "k1");
    assert_eq!(call.data()["FromNumber"], "0999");
    let other = app.seed_app("sandbox").await;
    app.get("/v2/integrations/call/k1", Some(&other.token)).await.error(StatusCode::NOT_FOUND);
}

/// Polls the delivery log until its first delivery has `status`.
async fn wait_for_status(app: &TestApp, entity: &TestAppEntity, status: &str) -> serde_json::Value {
    let deadline = Instant::now() + WAIT;
    loop {
        let log = app.get("/v2/integrations/webhook_deliveries", Some(&entity.token)).await;
        let first = log.data()["Deliveries"][0].clone();
        if first["Status"] == status {
            return first;
        }
        assert!(Instant::now() < deadline, "delivery never became {status}: {first}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn deleting_the_customer_cancels_its_pending_deliveries() {
    let app = TestApp::with_local_webhooks(&[]).await;
    let receiver = Receiver::start().await;
    let entity = app.seed_app("sandbox").await;
    set(&app, &entity, "missedCall", &receiver.url("/missed")).await;
    app.get(&passthru(&entity, "missedcall", "CallSid=x1"), None).await.data();

    app.delete("/v2/integrations/customer", Some(&entity.customer.token)).await.data();
    let _dispatcher = app.start_dispatcher();
    tokio::time::sleep(Duration::from_millis(700)).await;

    assert!(receiver.received().is_empty(), "a deleted customer's webhook was still sent");
    let (pending, _) = app.store().pending_delivery_stats().await.unwrap();
    assert_eq!(pending, 0);
}

#[tokio::test]
async fn an_oversized_passthru_body_is_a_413_envelope() {
    use axum::body::Body;
    use axum::http::Request;
    let app = TestApp::with_local_webhooks(&[]).await;
    let entity = app.seed_app("sandbox").await;
    let huge = format!("type=popup&CallSid={}", "x".repeat(2 * 1024 * 1024));
    let request = Request::post(format!("/v2/integrations/call/inbound_call/{}", entity.id))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Body::from(huge))
        .unwrap();
    app.send(request).await.error(StatusCode::PAYLOAD_TOO_LARGE);
}

#[tokio::test]
async fn retry_after_on_a_429_sets_when_the_next_attempt_comes() {
    let WebhookTest { app, receiver, entity, dispatcher: _dispatcher } =
        WebhookTest::start(&[("WEBHOOK_RETRY_SCHEDULE", "50ms,50ms")], &[("missedCall", "/missed")]).await;
    receiver.script([Reply { status: 429, delay: Duration::ZERO, retry_after: Some("2") }]);

    app.get(&passthru(&entity, "missedcall", "CallSid=ra1"), None).await.data();
    receiver.wait_for(1, WAIT).await;
    let first = Instant::now();
    receiver.wait_for(2, WAIT).await;

    let waited = first.elapsed();
    assert!(waited >= Duration::from_millis(1_800), "the receiver asked for 2 s, the schedule says 50 ms: {waited:?}");
}

#[tokio::test]
async fn redirects_are_not_followed() {
    let WebhookTest { app, receiver, entity, dispatcher: _dispatcher } =
        WebhookTest::start(&[("WEBHOOK_RETRY_SCHEDULE", "100ms")], &[("missedCall", "/missed")]).await;
    receiver.always(Reply::status(302));

    app.get(&passthru(&entity, "missedcall", "CallSid=rd1"), None).await.data();

    let delivery = wait_for_status(&app, &entity, "dead").await;
    assert_eq!(delivery["LastResponseCode"], 302);
    assert_eq!(receiver.received().len(), 2, "two attempts, each answered 302, none followed");
}

#[tokio::test]
async fn one_tenants_hanging_receiver_does_not_delay_another_tenant() {
    let app = TestApp::with_local_webhooks(&[("WEBHOOK_TIMEOUT_SECS", "30")]).await;
    let hanging = Receiver::start().await;
    hanging.always(Reply { status: 200, delay: Duration::from_secs(20), retry_after: None });
    let healthy = Receiver::start().await;
    let _dispatcher = app.start_dispatcher();
    let slow_tenant = app.seed_app("sandbox").await;
    let fast_tenant = app.seed_app("sandbox").await;
    set(&app, &slow_tenant, "popup", &hanging.url("/popup")).await;
    set(&app, &fast_tenant, "popup", &healthy.url("/popup")).await;

    for n in 0..20 {
        app.get(&passthru(&slow_tenant, "popup", &format!("CallSid=slow{n}")), None).await.data();
    }
    let started = Instant::now();
    app.get(&passthru(&fast_tenant, "popup", "CallSid=fast"), None).await.data();

    healthy.wait_for(1, WAIT).await;
    assert!(started.elapsed() < Duration::from_secs(2), "the other tenant waited {:?}", started.elapsed());
}

#[tokio::test]
async fn an_inbound_call_payload_has_one_key_order_in_the_webhook_and_when_read_back() {
    let WebhookTest { app, receiver, entity, dispatcher: _dispatcher } =
        WebhookTest::start(&[], &[("popup", "/popup")]).await;
    app.get(&passthru(&entity, "popup", "CallSid=order1&From=0999&To=08040001111"), None).await.data();

    let webhook = &receiver.wait_for(1, WAIT).await[0];
    let read_back = app.get("/v2/integrations/call/order1", Some(&entity.token)).await;

    assert_eq!(object_keys(&webhook.body), keys(&CALL_PAYLOAD_KEYS), "{}", webhook.body);
    assert_eq!(read_back.data_keys(), keys(&CALL_PAYLOAD_KEYS), "{}", read_back.text);
}
