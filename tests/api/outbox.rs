//! The outbox under concurrency: requests served together in batches each get their own answer,
//! and one tenant's slow receiver holds no more than its share of the dispatcher.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use axum::http::StatusCode;
use tokio::task::JoinSet;

use crate::helpers::{TestApp, TestAppEntity};
use crate::receiver::{Receiver, Reply};

const WAIT: Duration = Duration::from_secs(20);

fn passthru(entity: &TestAppEntity, query: &str) -> String {
    format!("/v2/integrations/call/inbound_call/{}?type=popup&{query}", entity.id)
}

#[tokio::test]
async fn concurrent_passthrus_each_reach_their_own_apps_url_with_their_own_agent() {
    let app = Arc::new(TestApp::with_local_webhooks(&[]).await);
    let receiver = Receiver::start().await;
    let _dispatcher = app.start_dispatcher();
    let mut tenants = Vec::new();
    for n in 0..4 {
        let entity = app.seed_app("sandbox").await;
        app.set_setting(&entity, "popup", receiver.url(&format!("/app{n}"))).await;
        app.map_agent(&entity, &format!("agent{n}"), &format!("+9198123000{n}{n}")).await;
        tenants.push(entity);
    }

    let mut calls = JoinSet::new();
    for i in 0..60 {
        let n = i % tenants.len();
        let path = passthru(&tenants[n], &format!("CallSid=c{i}&DialWhomNumber=098123000{n}{n}"));
        let app = app.clone();
        calls.spawn(async move { app.get(&path, None).await.data().clone() });
    }
    while let Some(answer) = calls.join_next().await {
        assert_eq!(answer.unwrap(), "Success");
    }

    let got = receiver.wait_for(60, WAIT).await;
    let mut per_call = HashMap::new();
    for webhook in &got {
        let body = webhook.json();
        let sid = body["CallSid"].as_str().unwrap().to_string();
        let n: usize = sid[1..].parse::<usize>().unwrap() % tenants.len();
        assert_eq!(webhook.path, format!("/app{n}"), "{sid} went to its own app's URL");
        assert_eq!(body["AppId"], tenants[n].id.as_str(), "{sid}");
        assert_eq!(body["AppUserID"], format!("agent{n}"), "{sid} names the agent its own app mapped");
        *per_call.entry(sid).or_insert(0) += 1;
    }
    assert_eq!(per_call.len(), 60);
    assert!(per_call.values().all(|count| *count == 1), "each webhook once: {per_call:?}");
}

#[tokio::test]
async fn concurrent_requests_each_resolve_their_own_token() {
    let app = Arc::new(TestApp::with_local_webhooks(&[]).await);
    let tenants = [app.seed_app("sandbox").await, app.seed_app("sandbox").await, app.seed_app("sandbox").await];

    let mut calls = JoinSet::new();
    for i in 0..45 {
        let app = app.clone();
        let (token, expected) = match i % 4 {
            3 => ("not-a-token".to_string(), None),
            n => (tenants[n].token.clone(), Some(tenants[n].id.clone())),
        };
        calls.spawn(async move {
            let answer = app.get("/v2/integrations/app", Some(&token)).await;
            (answer.status, answer.body["Data"]["AppID"].as_str().map(str::to_string), expected)
        });
    }
    while let Some(answer) = calls.join_next().await {
        let (status, app_id, expected) = answer.unwrap();
        match expected {
            Some(id) => assert_eq!((status, app_id), (StatusCode::OK, Some(id))),
            None => assert_eq!(status, StatusCode::UNAUTHORIZED),
        }
    }
}

#[tokio::test]
async fn a_slow_tenant_never_has_more_attempts_in_flight_than_its_limit_and_its_backlog_still_arrives() {
    let app = Arc::new(
        TestApp::with_local_webhooks(&[("WEBHOOK_MAX_IN_FLIGHT_PER_APP", "2"), ("WEBHOOK_TIMEOUT_SECS", "10")]).await,
    );
    let slow = Receiver::start().await;
    slow.always(Reply { status: 200, delay: Duration::from_millis(400), retry_after: None });
    let fast = Receiver::start().await;
    let _dispatcher = app.start_dispatcher();
    let slow_tenant = app.seed_app("sandbox").await;
    let fast_tenant = app.seed_app("sandbox").await;
    app.set_setting(&slow_tenant, "popup", slow.url("/popup")).await;
    app.set_setting(&fast_tenant, "popup", fast.url("/popup")).await;

    for n in 0..6 {
        app.get(&passthru(&slow_tenant, &format!("CallSid=slow{n}")), None).await.data();
    }
    app.get(&passthru(&fast_tenant, "CallSid=fast"), None).await.data();

    fast.wait_for(1, Duration::from_secs(2)).await;
    assert!(slow.open_requests() <= 2, "the slow tenant's attempts wait for room while the other tenant's go");
    let got = slow.wait_for(6, WAIT).await;
    assert_eq!(slow.peak_concurrency(), 2, "at most two of its attempts were in flight at once");
    assert_eq!(got.len(), 6, "its backlog arrived once it had room");
}

#[tokio::test]
async fn a_hanging_tenant_holds_only_its_limit_of_connections() {
    let app = Arc::new(
        TestApp::with_local_webhooks(&[("WEBHOOK_MAX_IN_FLIGHT_PER_APP", "3"), ("WEBHOOK_TIMEOUT_SECS", "30")]).await,
    );
    let hanging = Receiver::start().await;
    hanging.always(Reply { status: 200, delay: Duration::from_secs(25), retry_after: None });
    let _dispatcher = app.start_dispatcher();
    let tenant = app.seed_app("sandbox").await;
    app.set_setting(&tenant, "popup", hanging.url("/popup")).await;

    for n in 0..10 {
        app.get(&passthru(&tenant, &format!("CallSid=h{n}")), None).await.data();
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;

    assert_eq!(hanging.open_requests(), 3, "three attempts hang; the other seven wait in the table");
    let pending = app.get("/v2/integrations/webhook_deliveries?status=pending", Some(&tenant.token)).await;
    assert_eq!(
        pending.data()["Deliveries"].as_array().unwrap().len(),
        10,
        "every delivery is still pending, none lost"
    );
}
