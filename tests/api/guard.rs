//! The SSRF guard (CONTRACT 8): a webhook target that is, or resolves to, a loopback, private,
//! link-local or multicast address is refused, IPv6 forms embedding such an IPv4 address included;
//! at delivery time the delivery is dead at once, its `LastError` saying why.

use std::time::{Duration, Instant};

use axum::http::StatusCode;
use integrations_core::domain::time::now_ms;
use serde_json::{json, Value};

use crate::helpers::{TestApp, TestAppEntity};

const WAIT: Duration = Duration::from_secs(10);
const HINT: &str = "; set WEBHOOK_ALLOW_PRIVATE=true for local development";

/// Polls the delivery log until it lists `count` deliveries, none of them pending.
async fn finished_deliveries(app: &TestApp, entity: &TestAppEntity, count: usize) -> Vec<Value> {
    let deadline = Instant::now() + WAIT;
    loop {
        let log = app.get("/v2/integrations/webhook_deliveries", Some(&entity.token)).await;
        let deliveries = log.data()["Deliveries"].as_array().unwrap().clone();
        if deliveries.len() == count && deliveries.iter().all(|d| d["Status"] != "pending") {
            return deliveries;
        }
        assert!(Instant::now() < deadline, "deliveries never finished: {deliveries:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_delivery_to_a_forbidden_target_is_dead_after_one_attempt_saying_why() {
    // Private targets are not allowed; a failure would be retried every 100 ms.
    let app = TestApp::with_env(&[("WEBHOOK_RETRY_SCHEDULE", "100ms,100ms,100ms")]).await;
    let entity = app.seed_app("sandbox").await;
    // URLs saved when their names pointed elsewhere (DNS can change), or before the operator turned
    // WEBHOOK_ALLOW_PRIVATE off: the API refuses both at setting time, so they are stored directly.
    let now = now_ms();
    app.store().upsert_setting(&entity.id, "missedCall", "http://localhost:9/missed", now).await.unwrap();
    app.store().upsert_setting(&entity.id, "incomingCallHangup", "http://[64:ff9b::a00:5]/hangup", now).await.unwrap();
    let _dispatcher = app.start_dispatcher();

    for kind in ["missedcall", "incomingcallhungup"] {
        let passthru = format!("/v2/integrations/call/inbound_call/{}?type={kind}&CallSid={kind}1", entity.id);
        app.get(&passthru, None).await.data();
    }

    let deliveries = finished_deliveries(&app, &entity, 2).await;
    tokio::time::sleep(Duration::from_millis(400)).await;
    let again = finished_deliveries(&app, &entity, 2).await;
    assert_eq!(again, deliveries, "nothing was retried");
    for delivery in &deliveries {
        assert_eq!(delivery["Status"], "dead", "{delivery}");
        assert_eq!(delivery["Attempts"], 1, "{delivery}");
        assert_eq!(delivery["LastResponseCode"], Value::Null, "{delivery}");
    }
    let error_of = |event: &str| {
        let delivery = deliveries.iter().find(|d| d["EventType"] == event).unwrap();
        delivery["LastError"].as_str().unwrap().to_string()
    };
    let by_name = error_of("missedCall");
    assert!(by_name.starts_with("refused: localhost resolves to "), "{by_name}");
    assert!(by_name.contains("a loopback address") && by_name.ends_with(HINT), "{by_name}");
    assert_eq!(
        error_of("incomingCallHangup"),
        format!("refused: 64:ff9b::a00:5 is a NAT64 address embedding 10.0.0.5, a private address{HINT}")
    );
}

#[tokio::test]
async fn ipv6_forms_embedding_a_private_ipv4_address_are_refused_at_setting_time() {
    let app = TestApp::new().await;
    let entity = app.seed_app("sandbox").await;
    for (host, form) in [
        ("[::ffff:10.0.0.5]", "an IPv4-mapped address"),
        ("[::10.0.0.5]", "an IPv4-compatible address"),
        ("[64:ff9b::10.0.0.5]", "a NAT64 address"),
        ("[64:ff9b:1::10.0.0.5]", "a NAT64 address"),
        ("[2002:a00:5::1]", "a 6to4 address"),
        ("[2001:0:4136:e378:8000:63bf:f5ff:fffa]", "a Teredo address"),
    ] {
        let url = format!("https://{host}/hook");
        let answer = app
            .post("/v2/integrations/app_setting", Some(&entity.token), json!({"Key": "callback", "Value": url}))
            .await;

        let error = answer.error(StatusCode::BAD_REQUEST);
        assert!(error.starts_with("Value for callback must not point at"), "{url}: {error}");
        assert!(error.contains(&format!("is {form} embedding 10.0.0.5, a private address")), "{url}: {error}");
    }
    assert_eq!(app.get("/v2/integrations/app_setting", Some(&entity.token)).await.data(), &json!([]));

    let public = json!({"Key": "callback", "Value": "https://[64:ff9b::8.8.8.8]/hook"});
    app.post("/v2/integrations/app_setting", Some(&entity.token), public).await.data();
}
