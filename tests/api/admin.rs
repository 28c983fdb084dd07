//! The operator API (CONTRACT 12): customers with their apps across tenants, deleting a customer,
//! switching any app on or off, and the webhook queue's health — all behind `ADMIN_TOKEN`.

use std::time::{Duration, Instant};

use axum::http::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{keys, object_keys, TestApp, WebhookTest, ADMIN_TOKEN};
use crate::receiver::Reply;

const CUSTOMERS: &str = "/v2/integrations/admin/customers";
const HEALTH: &str = "/v2/integrations/admin/health";

fn customer_url(id: &str) -> String {
    format!("{CUSTOMERS}/{id}")
}

fn app_url(id: &str) -> String {
    format!("/v2/integrations/admin/apps/{id}")
}

/// The keys, in text order, of the first object of the array `field` (whose objects hold no
/// nested object and no brace in their strings).
fn first_item_keys(text: &str, field: &str) -> Vec<String> {
    let start =
        text.find(&format!("\"{field}\":[")).unwrap_or_else(|| panic!("no {field} in {text}")) + field.len() + 4;
    let end = start + text[start..].find('}').expect("an object") + 1;
    object_keys(&text[start..end])
}

const ADMIN_CUSTOMER_KEYS: [&str; 8] =
    ["CustomerID", "CustomerName", "Email", "CustomerSetting", "CreatedAt", "UpdatedAt", "DeletedAt", "AppCount"];

#[tokio::test]
async fn customers_are_listed_in_creation_order_a_page_at_a_time_without_secrets() {
    let app = TestApp::new().await;
    let first = app.seed_app("sandbox").await;
    app.seed_app_for(&first.customer, "mumbai").await;
    let second = app.seed_customer().await;
    let third = app.seed_app("sandbox").await;

    let page = app.get(&format!("{CUSTOMERS}?page_size=2"), Some(ADMIN_TOKEN)).await;
    assert_eq!(page.data_keys(), keys(&["Customers", "PageSize", "LastEvaluatedValue"]));
    let data = page.data();
    assert_eq!(data["PageSize"], 2);
    let customers = data["Customers"].as_array().unwrap();
    let ids: Vec<&str> = customers.iter().map(|c| c["CustomerID"].as_str().unwrap()).collect();
    assert_eq!(ids, [first.customer.id.as_str(), second.id.as_str()]);
    assert_eq!(customers[0]["AppCount"], 2);
    assert_eq!(customers[1]["AppCount"], 0);
    assert!(!page.text.contains("CustomerSecret") && !page.text.contains(&first.customer.secret), "{}", page.text);
    assert_eq!(first_item_keys(&page.text, "Customers"), keys(&ADMIN_CUSTOMER_KEYS));
    let cursor = data["LastEvaluatedValue"].as_str().unwrap().to_string();
    assert!(!cursor.is_empty());

    let next = app.get(&format!("{CUSTOMERS}?page_size=2&last_value={cursor}"), Some(ADMIN_TOKEN)).await;
    let data = next.data();
    assert_eq!(data["Customers"].as_array().unwrap().len(), 1);
    assert_eq!(data["Customers"][0]["CustomerID"], third.customer.id.as_str());
    assert_eq!(data["Customers"][0]["AppCount"], 1);
    assert_eq!(data["LastEvaluatedValue"], "");

    let all = app.get(CUSTOMERS, Some(ADMIN_TOKEN)).await;
    assert_eq!(all.data()["PageSize"], 3, "the default page holds all three");
    for query in ["page_size=0", "page_size=101", "last_value=-1", "last_value=x"] {
        let error = app.get(&format!("{CUSTOMERS}?{query}"), Some(ADMIN_TOKEN)).await.error(StatusCode::BAD_REQUEST);
        assert!(error.contains(query.split('=').next().unwrap()), "{query}: {error}");
    }
}

#[tokio::test]
async fn one_customer_comes_with_its_apps_oldest_first_and_an_unknown_one_is_a_404() {
    let app = TestApp::new().await;
    let first = app.seed_app("sandbox").await;
    let second = app.seed_app_for(&first.customer, "mumbai").await;
    app.seed_app("sandbox").await;

    let shown = app.get(&customer_url(&first.customer.id), Some(ADMIN_TOKEN)).await;
    let mut expected = ADMIN_CUSTOMER_KEYS.to_vec();
    expected.push("Apps");
    assert_eq!(shown.data_keys(), keys(&expected));
    let data = shown.data();
    assert_eq!(data["CustomerID"], first.customer.id.as_str());
    assert_eq!(data["AppCount"], 2);
    let apps = data["Apps"].as_array().unwrap();
    let ids: Vec<&str> = apps.iter().map(|a| a["AppID"].as_str().unwrap()).collect();
    assert_eq!(ids, [first.id.as_str(), second.id.as_str()]);
    let public = app.get("/v2/integrations/app", Some(&first.token)).await;
    assert_eq!(&apps[0], public.data(), "the public app object");
    for secret in [&first.customer.secret, &first.secret, &second.secret] {
        assert!(!shown.text.contains(secret.as_str()), "{}", shown.text);
    }
    assert!(!shown.text.contains("test-api-key") && !shown.text.contains("AppSecret"));

    let missing = app.get(&customer_url("00000000-0000-4000-8000-000000000000"), Some(ADMIN_TOKEN)).await;
    assert!(missing.error(StatusCode::NOT_FOUND).contains("CustomerID"));
}

#[tokio::test]
async fn deleting_a_customer_cascades_like_its_own_delete() {
    let app = TestApp::new().await;
    let doomed = app.seed_app("sandbox").await;
    app.map_agent(&doomed, "agent-1", "+919876543210").await;
    let kept = app.seed_app("sandbox").await;

    let deleted = app.delete(&customer_url(&doomed.customer.id), Some(ADMIN_TOKEN)).await;
    assert_eq!(deleted.data(), &json!("Deleted Successfully"));

    app.get("/v2/integrations/customer", Some(&doomed.customer.token)).await.error(StatusCode::UNAUTHORIZED);
    app.get("/v2/integrations/app", Some(&doomed.token)).await.error(StatusCode::UNAUTHORIZED);
    let id = &doomed.id;
    for table in ["apps", "user_mappings", "tokens"] {
        let column = if table == "apps" { "id" } else { "app_id" };
        let left = app.raw_count(&format!("SELECT COUNT(*) FROM {table} WHERE {column} = '{id}'")).await;
        assert_eq!(left, 0, "{table} keeps nothing of the deleted customer");
    }
    app.get(&customer_url(&doomed.customer.id), Some(ADMIN_TOKEN)).await.error(StatusCode::NOT_FOUND);
    app.delete(&customer_url(&doomed.customer.id), Some(ADMIN_TOKEN)).await.error(StatusCode::NOT_FOUND);
    app.get("/v2/integrations/app", Some(&kept.token)).await.data();
    let listed = app.get(CUSTOMERS, Some(ADMIN_TOKEN)).await;
    assert_eq!(listed.data()["Customers"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn any_app_is_switched_off_and_on_again() {
    let app = TestApp::new().await;
    let entity = app.seed_app("sandbox").await;

    let off = app.put(&app_url(&entity.id), Some(ADMIN_TOKEN), json!({"IsActive": false})).await;
    let public = app.get("/v2/integrations/app", Some(&entity.token)).await;
    assert_eq!(off.data(), public.data(), "answers the public app object");
    assert_eq!(off.data()["IsActive"], false);
    assert_eq!(off.data_keys(), public.data_keys());

    let on = app.put(&app_url(&entity.id), Some(ADMIN_TOKEN), json!({"IsActive": true})).await;
    assert_eq!(on.data()["IsActive"], true);
    assert_eq!(app.get("/v2/integrations/app", Some(&entity.token)).await.data()["IsActive"], true);

    let missing = app.put(&app_url("no-such-app"), Some(ADMIN_TOKEN), json!({"IsActive": false})).await;
    assert!(missing.error(StatusCode::NOT_FOUND).contains("AppID"));
    for body in
        [json!({}), json!({"IsActive": "no"}), json!({"IsActive": null}), json!({"IsActive": true, "AppName": "x"})]
    {
        let error = app.put(&app_url(&entity.id), Some(ADMIN_TOKEN), body.clone()).await.error(StatusCode::BAD_REQUEST);
        assert!(error.contains("IsActive") || error.contains("AppName"), "{body}: {error}");
    }
    let malformed = app
        .send(
            axum::http::Request::builder()
                .method(Method::PUT)
                .uri(app_url(&entity.id))
                .header("authorization", ADMIN_TOKEN)
                .header("content-type", "application/json")
                .body(axum::body::Body::from("{\"IsActive\": tru"))
                .unwrap(),
        )
        .await;
    malformed.error(StatusCode::BAD_REQUEST);
    assert_eq!(app.get("/v2/integrations/app", Some(&entity.token)).await.data()["IsActive"], true, "unchanged");
}

/// Every operator route, as (method, path, body).
fn every_route(customer_id: &str, app_id: &str) -> Vec<(Method, String, Option<Value>)> {
    vec![
        (Method::GET, CUSTOMERS.to_string(), None),
        (Method::GET, customer_url(customer_id), None),
        (Method::DELETE, customer_url(customer_id), None),
        (Method::PUT, app_url(app_id), Some(json!({"IsActive": false}))),
        (Method::GET, HEALTH.to_string(), None),
        (Method::POST, format!("{}/console_link", app_url(app_id)), Some(json!({}))),
    ]
}

#[tokio::test]
async fn without_the_admin_token_every_route_is_the_same_401_whether_or_not_the_customer_exists() {
    // Forty failures from one address: more than the throttle's default lets through.
    let app = TestApp::with_env(&[("TOKEN_FAILURE_LIMIT", "1000")]).await;
    let entity = app.seed_app("sandbox").await;
    let customer_token = entity.customer.token.clone();
    for (customer_id, app_id) in [(entity.customer.id.as_str(), entity.id.as_str()), ("missing", "missing")] {
        for (method, path, body) in every_route(customer_id, app_id) {
            let mut errors = Vec::new();
            for token in [None, Some("wrong-token"), Some(customer_token.as_str()), Some(entity.token.as_str())] {
                let answer = app.request(method.clone(), &path, token, body.clone()).await;
                errors.push(answer.error(StatusCode::UNAUTHORIZED));
            }
            assert!(errors.iter().all(|e| e == &errors[0]), "{method} {path}: {errors:?}");
            assert!(errors[0].contains("ADMIN_TOKEN"), "{}", errors[0]);
        }
    }
    assert_eq!(app.get(&customer_url(&entity.customer.id), Some(ADMIN_TOKEN)).await.data()["AppCount"], 1, "intact");
    assert_eq!(app.get("/v2/integrations/app", Some(&entity.token)).await.data()["IsActive"], true);
}

#[tokio::test]
async fn with_no_admin_token_configured_every_route_is_a_401() {
    let app = TestApp::without_env(&["ADMIN_TOKEN"]).await;
    for (method, path, body) in every_route("any", "any") {
        for token in [None, Some(ADMIN_TOKEN), Some("")] {
            let answer = app.request(method.clone(), &path, token, body.clone()).await;
            answer.error(StatusCode::UNAUTHORIZED);
        }
    }
}

#[tokio::test]
async fn wrong_admin_tokens_from_one_address_are_throttled_like_token_requests_but_apart() {
    let app = TestApp::with_env(&[("TOKEN_FAILURE_LIMIT", "3")]).await;
    for _ in 0..3 {
        app.get(HEALTH, Some("guess")).await.error(StatusCode::UNAUTHORIZED);
    }
    let refused = app.get(HEALTH, Some(ADMIN_TOKEN)).await;
    refused.error(StatusCode::TOO_MANY_REQUESTS);
    assert!(refused.headers.get("retry-after").is_some());
    let token = app.token_response("someone", "guess", "customer").await;
    token.error(StatusCode::UNAUTHORIZED);
    // Counted apart: the address's failed token requests do not add to its admin failures either.
    let other = TestApp::with_env(&[("TOKEN_FAILURE_LIMIT", "3")]).await;
    for _ in 0..3 {
        other.token_response("someone", "guess", "customer").await.error(StatusCode::UNAUTHORIZED);
    }
    other.get(HEALTH, Some(ADMIN_TOKEN)).await.data();
    other.get(HEALTH, Some("guess")).await.error(StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn guessing_the_admin_token_through_post_customer_shares_the_operator_apis_throttle() {
    let app = TestApp::with_env(&[("TOKEN_FAILURE_LIMIT", "3")]).await;
    let customer = json!({"CustomerName": "Acme", "Email": "ops@acme.example"});
    for _ in 0..2 {
        let wrong = app.post("/v2/integrations/customer", Some("guess"), customer.clone()).await;
        assert_eq!(wrong.error(StatusCode::UNAUTHORIZED), "Authorization is not the admin token");
    }
    app.get(HEALTH, Some("guess")).await.error(StatusCode::UNAUTHORIZED);
    // Three failures from this address, counted on either route: both now refuse it, even the right token.
    let refused = app.post("/v2/integrations/customer", Some(ADMIN_TOKEN), customer.clone()).await;
    refused.error(StatusCode::TOO_MANY_REQUESTS);
    assert!(refused.headers.get("retry-after").is_some());
    app.get(HEALTH, Some(ADMIN_TOKEN)).await.error(StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(app.raw_count("SELECT COUNT(*) FROM customers").await, 0, "nothing was created");
}

#[tokio::test]
async fn health_names_the_apps_whose_webhooks_went_dead_and_stay_dead() {
    let WebhookTest { app, receiver, entity, dispatcher: _dispatcher } =
        WebhookTest::start(&[], &[("missedCall", "/missed")]).await;
    let quiet = app.get(HEALTH, Some(ADMIN_TOKEN)).await;
    assert_eq!(quiet.data_keys(), keys(&["Database", "QueueDepth", "OldestPendingAgeSeconds", "FailingApps"]));
    assert_eq!(
        quiet.data(),
        &json!({"Database": "ok", "QueueDepth": 0, "OldestPendingAgeSeconds": 0, "FailingApps": []})
    );

    receiver.always(Reply::status(410));
    for sid in ["d1", "d2"] {
        let path = format!("/v2/integrations/call/inbound_call/{}?type=missedcall&CallSid={sid}", entity.id);
        app.get(&path, None).await.data();
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    let health = loop {
        let health = app.get(HEALTH, Some(ADMIN_TOKEN)).await.data().clone();
        if health["FailingApps"].get(0).is_some_and(|a| a["Dead24h"] == 2) {
            break health;
        }
        assert!(Instant::now() < deadline, "the deliveries never went dead: {health}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let failing = &health["FailingApps"][0];
    let text = app.get(HEALTH, Some(ADMIN_TOKEN)).await.text;
    assert_eq!(
        first_item_keys(&text, "FailingApps"),
        keys(&["AppID", "CustomerID", "Dead24h", "Pending", "LastError"])
    );
    assert_eq!(failing["AppID"], entity.id.as_str());
    assert_eq!(failing["CustomerID"], entity.customer.id.as_str());
    assert_eq!(failing["Pending"], 0);
    assert!(failing["LastError"].as_str().unwrap().contains("410"), "{failing}");
    assert_eq!(health["FailingApps"].as_array().unwrap().len(), 1);

    // A delivery retried is pending again, not dead; one dead for longer than a day is not counted.
    let day_ago = chrono::Utc::now().timestamp_millis() - 25 * 3_600_000;
    app.raw_execute(&format!("UPDATE webhook_deliveries SET updated_at = {day_ago} WHERE call_sid = 'd1'")).await;
    app.raw_execute(&format!(
        "UPDATE webhook_deliveries SET status = 'pending', next_attempt_at = {}, created_at = {} WHERE call_sid = 'd2'",
        i64::MAX / 2,
        chrono::Utc::now().timestamp_millis() - 30_000
    ))
    .await;
    let after = app.get(HEALTH, Some(ADMIN_TOKEN)).await.data().clone();
    assert_eq!(after["FailingApps"], json!([]), "{after}");
    assert_eq!(after["QueueDepth"], 1);
    let age = after["OldestPendingAgeSeconds"].as_i64().unwrap();
    assert!((29..=60).contains(&age), "{after}");
}
