//! Rotating secrets (CONTRACT 13; issue 15, points 3 and 4): `POST /app/secret` with its grace
//! window of two webhook signatures, and `POST /customer/secret`.

use std::time::Duration;

use axum::http::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{keys, signed_with_app_secret, TestApp, TestAppEntity, WebhookTest};
use crate::receiver::{Received, Receiver};

const WAIT: Duration = Duration::from_secs(10);
/// The dispatcher's secret cache TTL in these tests (`WEBHOOK_SECRET_CACHE_MS`).
const CACHE_MS: &str = "300";
const PAST_CACHE_TTL: Duration = Duration::from_millis(450);

/// The signatures of a webhook, in header order.
fn signatures(webhook: &Received) -> Vec<String> {
    webhook.header("webhook-signature").split(' ').map(str::to_string).collect()
}

async fn rotate_app(app: &TestApp, token: &str, body: Value) -> Value {
    app.post("/v2/integrations/app/secret", Some(token), body).await.data().clone()
}

/// Sends a popup passthru for `call_sid` and returns the webhook the receiver got for it.
async fn popup(app: &TestApp, receiver: &Receiver, entity: &TestAppEntity, call_sid: &str) -> Received {
    let before = receiver.received().len();
    app.get(&format!("/v2/integrations/call/inbound_call/{}?type=popup&CallSid={call_sid}", entity.id), None)
        .await
        .data();
    let got = receiver.wait_for(before + 1, WAIT).await;
    got.iter().find(|w| w.json()["CallSid"] == call_sid).expect("the popup's webhook").clone()
}

async fn webhook_test(env: &[(&str, &str)]) -> WebhookTest {
    let mut env = env.to_vec();
    env.push(("WEBHOOK_SECRET_CACHE_MS", CACHE_MS));
    WebhookTest::start(&env, &[("popup", "/popup")]).await
}

#[tokio::test]
async fn only_the_new_app_secret_mints_tokens_and_earlier_tokens_live_on() {
    let app = TestApp::new().await;
    let entity = app.seed_app("sandbox").await;

    let response = app.post("/v2/integrations/app/secret", Some(&entity.token), json!({})).await;
    assert_eq!(response.data_keys(), keys(&["AppID", "AppSecret", "PreviousSecretExpiresAt"]));
    let rotated = response.data();
    let new_secret = rotated["AppSecret"].as_str().unwrap();
    assert_eq!(rotated["AppID"], entity.id.as_str());
    assert_ne!(new_secret, entity.secret);
    let expires = chrono::DateTime::parse_from_rfc3339(rotated["PreviousSecretExpiresAt"].as_str().unwrap()).unwrap();
    let hours = (expires.timestamp() - chrono::Utc::now().timestamp()) as f64 / 3600.0;
    assert!((23.9..=24.0).contains(&hours), "the default grace is 24 hours: {hours}");

    app.token_response(&entity.id, &entity.secret, "app").await.error(StatusCode::UNAUTHORIZED);
    let fresh = app.token(&entity.id, new_secret, "app").await;
    app.get("/v2/integrations/app", Some(&fresh)).await.data();
    app.get("/v2/integrations/app", Some(&entity.token)).await.data();

    // Both secrets stay sealed at rest.
    let dump = app.raw_dump().await;
    assert!(!dump.contains(new_secret), "the new secret is sealed");
    assert!(!dump.contains(&entity.secret), "the replaced secret is sealed");
}

#[tokio::test]
async fn during_the_grace_a_receiver_with_either_secret_verifies_and_after_it_only_the_new_one() {
    let WebhookTest { app, receiver, entity, dispatcher: _dispatcher } = webhook_test(&[]).await;
    let before = popup(&app, &receiver, &entity, "before").await;
    assert_eq!(signatures(&before).len(), 1);
    assert!(signed_with_app_secret(&before, &entity.secret));

    let rotated = rotate_app(&app, &entity.token, json!({"GraceHours": 2})).await;
    let new_secret = rotated["AppSecret"].as_str().unwrap().to_string();
    assert!(!rotated["PreviousSecretExpiresAt"].is_null());

    let during = popup(&app, &receiver, &entity, "during").await;
    let both = signatures(&during);
    assert_eq!(both.len(), 2, "two signatures during the grace: {both:?}");
    assert!(signed_with_app_secret(&during, &new_secret), "a receiver holding the new secret verifies");
    assert!(signed_with_app_secret(&during, &entity.secret), "a receiver holding the old secret verifies");
    assert!(!signed_with_app_secret(&during, "some-other-secret"));
    // The new secret's signature comes first.
    let only_first = Received { headers: header_with(&during, &both[0]), ..during.clone() };
    assert!(signed_with_app_secret(&only_first, &new_secret) && !signed_with_app_secret(&only_first, &entity.secret));

    // `POST /app_setting/test` signs the same way.
    let tested = app.post("/v2/integrations/app_setting/test", Some(&entity.token), json!({"Key": "popup"})).await;
    let tested_id = tested.data()["DeliveryId"].as_str().unwrap().to_string();
    let sample =
        receiver.received().into_iter().find(|w| w.header("webhook-id") == tested_id).expect("the test webhook");
    assert_eq!(signatures(&sample).len(), 2);
    assert!(signed_with_app_secret(&sample, &new_secret) && signed_with_app_secret(&sample, &entity.secret));

    // The grace ends (moved into the past behind the server's back); once the cache TTL has passed,
    // only the new secret signs.
    app.raw_execute(&format!("UPDATE apps SET previous_secret_expires_at = 1 WHERE id = '{}'", entity.id)).await;
    tokio::time::sleep(PAST_CACHE_TTL).await;
    let after = popup(&app, &receiver, &entity, "after").await;
    assert_eq!(signatures(&after).len(), 1);
    assert!(signed_with_app_secret(&after, &new_secret));
    assert!(!signed_with_app_secret(&after, &entity.secret), "the old secret no longer verifies after the grace");
    let tested = app.post("/v2/integrations/app_setting/test", Some(&entity.token), json!({"Key": "popup"})).await;
    let tested_id = tested.data()["DeliveryId"].as_str().unwrap().to_string();
    let sample =
        receiver.received().into_iter().find(|w| w.header("webhook-id") == tested_id).expect("the test webhook");
    assert!(signed_with_app_secret(&sample, &new_secret) && !signed_with_app_secret(&sample, &entity.secret));
}

/// A copy of the webhook's headers with `webhook-signature` replaced.
fn header_with(webhook: &Received, signature: &str) -> axum::http::HeaderMap {
    let mut headers = webhook.headers.clone();
    headers.insert("webhook-signature", signature.parse().unwrap());
    headers
}

#[tokio::test]
async fn grace_hours_zero_drops_the_old_secret_at_once() {
    // A long cache TTL: the rotating process drops its own cache entry, it does not wait it out.
    let WebhookTest { app, receiver, entity, dispatcher: _dispatcher } =
        WebhookTest::start(&[("WEBHOOK_SECRET_CACHE_MS", "600000")], &[("popup", "/popup")]).await;
    let before = popup(&app, &receiver, &entity, "cached").await;
    assert!(signed_with_app_secret(&before, &entity.secret));

    let rotated = rotate_app(&app, &entity.token, json!({"GraceHours": 0})).await;
    assert_eq!(rotated["PreviousSecretExpiresAt"], Value::Null);
    let new_secret = rotated["AppSecret"].as_str().unwrap();

    let after = popup(&app, &receiver, &entity, "leaked").await;
    assert_eq!(signatures(&after).len(), 1);
    assert!(signed_with_app_secret(&after, new_secret));
    assert!(!signed_with_app_secret(&after, &entity.secret));
    assert_eq!(
        app.raw_count(&format!("SELECT COUNT(*) FROM apps WHERE id = '{}' AND previous_secret IS NULL", entity.id))
            .await,
        1
    );
}

#[tokio::test]
async fn rotating_twice_keeps_only_the_secret_just_replaced() {
    let WebhookTest { app, receiver, entity, dispatcher: _dispatcher } = webhook_test(&[]).await;
    let first = rotate_app(&app, &entity.token, json!({"GraceHours": 1})).await;
    let first_secret = first["AppSecret"].as_str().unwrap().to_string();
    let second = rotate_app(&app, &entity.token, json!({"GraceHours": 168, "RevokeTokens": false})).await;
    let second_secret = second["AppSecret"].as_str().unwrap().to_string();

    let webhook = popup(&app, &receiver, &entity, "twice").await;
    assert_eq!(signatures(&webhook).len(), 2);
    assert!(signed_with_app_secret(&webhook, &second_secret));
    assert!(signed_with_app_secret(&webhook, &first_secret));
    assert!(!signed_with_app_secret(&webhook, &entity.secret), "the first secret is gone");
    app.token_response(&entity.id, &first_secret, "app").await.error(StatusCode::UNAUTHORIZED);
    app.token(&entity.id, &second_secret, "app").await;
    let expires = chrono::DateTime::parse_from_rfc3339(second["PreviousSecretExpiresAt"].as_str().unwrap()).unwrap();
    let hours = (expires.timestamp() - chrono::Utc::now().timestamp()) as f64 / 3600.0;
    assert!((167.9..=168.0).contains(&hours), "{hours}");
}

#[tokio::test]
async fn revoke_tokens_kills_every_token_of_the_app_and_only_of_the_app() {
    let app = TestApp::new().await;
    let entity = app.seed_app("sandbox").await;
    let other = app.token(&entity.id, &entity.secret, "app").await;
    let sibling = app.seed_app_for(&entity.customer, "sandbox").await;

    let rotated = rotate_app(&app, &entity.token, json!({"RevokeTokens": true})).await;

    app.get("/v2/integrations/app", Some(&entity.token)).await.error(StatusCode::UNAUTHORIZED);
    app.get("/v2/integrations/app", Some(&other)).await.error(StatusCode::UNAUTHORIZED);
    app.get("/v2/integrations/app", Some(&sibling.token)).await.data();
    app.get("/v2/integrations/customer", Some(&entity.customer.token)).await.data();
    let fresh = app.token(&entity.id, rotated["AppSecret"].as_str().unwrap(), "app").await;
    app.get("/v2/integrations/app", Some(&fresh)).await.data();
}

#[tokio::test]
async fn a_customer_secret_rotation_kills_the_old_secret_at_once() {
    let app = TestApp::new().await;
    let entity = app.seed_app("sandbox").await;
    let customer = &entity.customer;

    let response = app.post("/v2/integrations/customer/secret", Some(&customer.token), json!({})).await;
    assert_eq!(response.data_keys(), keys(&["CustomerID", "CustomerSecret"]));
    let new_secret = response.data()["CustomerSecret"].as_str().unwrap().to_string();
    assert_eq!(response.data()["CustomerID"], customer.id.as_str());
    assert_ne!(new_secret, customer.secret);

    app.token_response(&customer.id, &customer.secret, "customer").await.error(StatusCode::UNAUTHORIZED);
    let fresh = app.token(&customer.id, &new_secret, "customer").await;
    app.get("/v2/integrations/customer", Some(&customer.token)).await.data();
    let shown = app.get("/v2/integrations/customer", Some(&fresh)).await;
    assert_eq!(shown.data()["CustomerSecret"], new_secret.as_str());
    assert!(!app.raw_dump().await.contains(&new_secret), "sealed at rest");

    // RevokeTokens: the customer's own tokens die (the caller's included), its apps' live on.
    let revoked = app.post("/v2/integrations/customer/secret", Some(&fresh), json!({"RevokeTokens": true})).await;
    let newest = revoked.data()["CustomerSecret"].as_str().unwrap().to_string();
    app.get("/v2/integrations/customer", Some(&customer.token)).await.error(StatusCode::UNAUTHORIZED);
    app.get("/v2/integrations/customer", Some(&fresh)).await.error(StatusCode::UNAUTHORIZED);
    app.get("/v2/integrations/app", Some(&entity.token)).await.data();
    app.token(&entity.id, &entity.secret, "app").await;
    let latest = app.token(&customer.id, &newest, "customer").await;
    // Each route takes only its own kind of token.
    app.post("/v2/integrations/customer/secret", Some(&entity.token), json!({})).await.error(StatusCode::UNAUTHORIZED);
    app.post("/v2/integrations/app/secret", Some(&latest), json!({})).await.error(StatusCode::UNAUTHORIZED);
    app.token(&customer.id, &newest, "customer").await;
}

#[tokio::test]
async fn bad_rotation_input_is_a_400_naming_the_field_and_changes_nothing() {
    let app = TestApp::new().await;
    let entity = app.seed_app("sandbox").await;
    let customer = &entity.customer;

    for grace in [json!(-1), json!(169), json!(1.5), json!("24"), json!(true), json!([1]), json!({"h": 1}), json!(1e30)]
    {
        let error = app
            .post("/v2/integrations/app/secret", Some(&entity.token), json!({"GraceHours": grace}))
            .await
            .error(StatusCode::BAD_REQUEST);
        assert!(
            error.starts_with("GraceHours must be a whole number of hours from 0 to 168, not "),
            "{grace}: {error}"
        );
    }
    for revoke in [json!("true"), json!(1), json!([true])] {
        let error = app
            .post("/v2/integrations/app/secret", Some(&entity.token), json!({"RevokeTokens": revoke}))
            .await
            .error(StatusCode::BAD_REQUEST);
        assert!(error.starts_with("RevokeTokens must be a boolean"), "{revoke}: {error}");
        let error = app
            .post("/v2/integrations/customer/secret", Some(&customer.token), json!({"RevokeTokens": revoke}))
            .await
            .error(StatusCode::BAD_REQUEST);
        assert!(error.starts_with("RevokeTokens must be a boolean"), "{revoke}: {error}");
    }
    let error =
        app.post("/v2/integrations/app/secret", Some(&entity.token), json!([])).await.error(StatusCode::BAD_REQUEST);
    assert!(error.contains("wrong shape"), "{error}");

    // Nothing was rotated, nothing revoked.
    app.token(&entity.id, &entity.secret, "app").await;
    app.token(&customer.id, &customer.secret, "customer").await;
    app.get("/v2/integrations/app", Some(&entity.token)).await.data();
    app.get("/v2/integrations/customer", Some(&customer.token)).await.data();
}

#[tokio::test]
async fn a_dispatcher_of_another_process_signs_with_the_rotated_secret_within_its_cache_ttl() {
    let app = TestApp::with_local_webhooks(&[("WEBHOOK_SECRET_CACHE_MS", CACHE_MS)]).await;
    // No dispatcher in the API's process: its deliveries are stored for a claim, and the one
    // dispatcher running is another process's (it shares only the database).
    drop(app.outbox.lock().unwrap().take());
    let _first = app.start_dispatcher();
    let receiver = Receiver::start().await;
    let entity = app.seed_app("sandbox").await;
    app.set_setting(&entity, "popup", receiver.url("/popup")).await;

    let before = popup(&app, &receiver, &entity, "elsewhere-before").await;
    assert!(signed_with_app_secret(&before, &entity.secret));

    let rotated = rotate_app(&app, &entity.token, json!({"GraceHours": 0})).await;
    let new_secret = rotated["AppSecret"].as_str().unwrap();
    tokio::time::sleep(PAST_CACHE_TTL).await;

    let after = popup(&app, &receiver, &entity, "elsewhere-after").await;
    assert_eq!(signatures(&after).len(), 1);
    assert!(
        signed_with_app_secret(&after, new_secret),
        "the other process reads the new secret once its cache entry is stale"
    );
    assert!(!signed_with_app_secret(&after, &entity.secret));
}
