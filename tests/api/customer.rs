//! `/customer`: created by the operator, read and deleted by the customer (CONTRACT 3).

use axum::http::StatusCode;
use serde_json::json;

use crate::helpers::{keys, TestApp, ADMIN_TOKEN};

const CUSTOMER_KEYS: [&str; 8] =
    ["CustomerID", "CustomerSecret", "CustomerName", "Email", "CustomerSetting", "CreatedAt", "UpdatedAt", "DeletedAt"];

fn new_customer() -> serde_json::Value {
    json!({"CustomerName": "Acme Corp", "Email": "ops@acme.example.com"})
}

/// `2023-03-23T09:36:26+05:30`: whole seconds, the display offset, and close to now.
fn assert_display_time(text: &str, offset: &str) {
    let parsed = chrono::DateTime::parse_from_rfc3339(text).unwrap_or_else(|e| panic!("{text}: {e}"));
    assert_eq!(text.len(), "2023-03-23T09:36:26+05:30".len(), "{text} has whole seconds only");
    assert!(text.ends_with(offset), "{text} is shown in {offset}");
    let age = chrono::Utc::now().signed_duration_since(parsed);
    assert!(age.num_seconds().abs() < 60, "{text} is not now");
}

#[tokio::test]
async fn the_operator_creates_a_customer_with_every_field_in_the_documented_order() {
    let app = TestApp::new().await;

    let response = app.post("/v2/integrations/customer", Some(ADMIN_TOKEN), new_customer()).await;

    let data = response.data();
    assert_eq!(response.data_keys(), keys(&CUSTOMER_KEYS));
    assert!(uuid::Uuid::parse_str(data["CustomerID"].as_str().unwrap()).is_ok());
    assert!(!data["CustomerSecret"].as_str().unwrap().is_empty());
    assert_ne!(data["CustomerSecret"], data["CustomerID"]);
    assert_eq!(data["CustomerName"], "Acme Corp");
    assert_eq!(data["Email"], "ops@acme.example.com");
    assert!(data["CustomerSetting"].is_null());
    assert_display_time(data["CreatedAt"].as_str().unwrap(), "+05:30");
    assert_eq!(data["UpdatedAt"], data["CreatedAt"]);
    assert_eq!(data["DeletedAt"], false);
}

#[tokio::test]
async fn the_new_customer_signs_in_with_the_secret_it_was_given() {
    let app = TestApp::new().await;
    let data = app.post("/v2/integrations/customer", Some(ADMIN_TOKEN), new_customer()).await.data().clone();

    let response = app
        .token_response(data["CustomerID"].as_str().unwrap(), data["CustomerSecret"].as_str().unwrap(), "customer")
        .await;

    assert_eq!(response.data().as_str().unwrap().len(), 48);
}

#[tokio::test]
async fn times_follow_the_configured_display_offset() {
    let app = TestApp::with_env(&[("DISPLAY_UTC_OFFSET", "-04:00")]).await;

    let response = app.post("/v2/integrations/customer", Some(ADMIN_TOKEN), new_customer()).await;

    assert_display_time(response.data()["CreatedAt"].as_str().unwrap(), "-04:00");
}

#[tokio::test]
async fn creating_a_customer_without_the_admin_token_is_401() {
    let app = TestApp::new().await;

    app.post("/v2/integrations/customer", None, new_customer()).await.error(StatusCode::UNAUTHORIZED);
    app.post("/v2/integrations/customer", Some("not-the-admin-token"), new_customer())
        .await
        .error(StatusCode::UNAUTHORIZED);

    assert!(app.store().list_customers().await.unwrap().is_empty());
}

#[tokio::test]
async fn a_customer_token_is_not_the_admin_token() {
    let app = TestApp::new().await;
    let customer = app.seed_customer().await;

    let response = app.post("/v2/integrations/customer", Some(&customer.token), new_customer()).await;

    response.error(StatusCode::UNAUTHORIZED);
    assert_eq!(app.store().list_customers().await.unwrap().len(), 1);
}

#[tokio::test]
async fn with_no_admin_token_configured_customer_creation_over_http_is_401() {
    let app = TestApp::without_env(&["ADMIN_TOKEN"]).await;

    for token in [None, Some(ADMIN_TOKEN), Some("")] {
        let error = app.post("/v2/integrations/customer", token, new_customer()).await.error(StatusCode::UNAUTHORIZED);
        assert!(error.contains("ADMIN_TOKEN"), "{error}");
    }
    assert!(app.store().list_customers().await.unwrap().is_empty());
}

#[tokio::test]
async fn invalid_customer_fields_are_400s_naming_the_field_and_store_nothing() {
    let app = TestApp::new().await;
    for (body, field) in [
        (json!({"Email": "ops@acme.example.com"}), "CustomerName"),
        (json!({"CustomerName": "   ", "Email": "ops@acme.example.com"}), "CustomerName"),
        (json!({"CustomerName": "Acme"}), "Email"),
        (json!({"CustomerName": "Acme", "Email": "not-an-address"}), "Email"),
        (json!({"CustomerName": "Acme", "Email": "ops@acme"}), "Email"),
        (json!({"CustomerName": 7, "Email": "ops@acme.example.com"}), "CustomerName"),
    ] {
        let response = app.post("/v2/integrations/customer", Some(ADMIN_TOKEN), body.clone()).await;

        let error = response.error(StatusCode::BAD_REQUEST);
        assert!(error.contains(field), "{body} -> {error}");
    }
    assert!(app.store().list_customers().await.unwrap().is_empty());
}

#[tokio::test]
async fn a_customer_reads_itself_secret_included() {
    let app = TestApp::new().await;
    let created = app.post("/v2/integrations/customer", Some(ADMIN_TOKEN), new_customer()).await.data().clone();
    let id = created["CustomerID"].as_str().unwrap();
    let token = app.token(id, created["CustomerSecret"].as_str().unwrap(), "customer").await;

    let response = app.get("/v2/integrations/customer", Some(&token)).await;

    assert_eq!(response.data(), &created);
    assert_eq!(response.data_keys(), keys(&CUSTOMER_KEYS));
}

#[tokio::test]
async fn reading_the_customer_needs_a_customer_token() {
    let app = TestApp::new().await;
    let entity = app.seed_app("sandbox").await;

    app.get("/v2/integrations/customer", None).await.error(StatusCode::UNAUTHORIZED);
    app.get("/v2/integrations/customer", Some("unknown-token")).await.error(StatusCode::UNAUTHORIZED);
    let error = app.get("/v2/integrations/customer", Some(&entity.token)).await.error(StatusCode::UNAUTHORIZED);
    assert!(error.contains("customer token"), "{error}");
}

#[tokio::test]
async fn deleting_a_customer_answers_deleted_successfully() {
    let app = TestApp::new().await;
    let customer = app.seed_customer().await;

    let response = app.delete("/v2/integrations/customer", Some(&customer.token)).await;

    assert_eq!(response.data(), "Deleted Successfully");
    assert!(app.store().find_customer(&customer.id).await.unwrap().is_none());
}

#[tokio::test]
async fn deleting_a_customer_revokes_its_tokens_and_removes_its_apps() {
    let app = TestApp::new().await;
    let customer = app.seed_customer().await;
    let first = app.seed_app_for(&customer, "sandbox").await;
    let second = app.seed_app_for(&customer, "mumbai").await;
    app.post("/v2/integrations/app_setting", Some(&first.token), json!({"Key": "record", "Value": "true"}))
        .await
        .data();

    app.delete("/v2/integrations/customer", Some(&customer.token)).await.data();

    app.get("/v2/integrations/customer", Some(&customer.token)).await.error(StatusCode::UNAUTHORIZED);
    for entity in [&first, &second] {
        app.get("/v2/integrations/app", Some(&entity.token)).await.error(StatusCode::UNAUTHORIZED);
        app.get("/v2/integrations/app_setting", Some(&entity.token)).await.error(StatusCode::UNAUTHORIZED);
        app.token_response(&entity.id, &entity.secret, "app").await.error(StatusCode::UNAUTHORIZED);
        assert!(app.store().find_app_unscoped(&entity.id).await.unwrap().is_none());
        assert!(app.store().list_settings(&entity.id).await.unwrap().is_empty());
    }
    app.token_response(&customer.id, &customer.secret, "customer").await.error(StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn deleting_one_customer_leaves_other_customers_alone() {
    let app = TestApp::new().await;
    let doomed = app.seed_app("sandbox").await;
    let survivor = app.seed_app("sandbox").await;

    app.delete("/v2/integrations/customer", Some(&doomed.customer.token)).await.data();

    app.get("/v2/integrations/customer", Some(&survivor.customer.token)).await.data();
    assert_eq!(app.get("/v2/integrations/app", Some(&survivor.token)).await.data()["AppID"], survivor.id.as_str());
    let apps = app.get("/v2/integrations/app?entity=customer", Some(&survivor.customer.token)).await;
    assert_eq!(apps.data().as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn deleting_a_customer_needs_its_own_customer_token() {
    let app = TestApp::new().await;
    let entity = app.seed_app("sandbox").await;

    app.delete("/v2/integrations/customer", None).await.error(StatusCode::UNAUTHORIZED);
    app.delete("/v2/integrations/customer", Some(&entity.token)).await.error(StatusCode::UNAUTHORIZED);
    app.delete("/v2/integrations/customer", Some(ADMIN_TOKEN)).await.error(StatusCode::UNAUTHORIZED);

    app.get("/v2/integrations/customer", Some(&entity.customer.token)).await.data();
}
