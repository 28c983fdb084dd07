//! Console links (CONTRACT §14): a single-use code, valid 10 minutes and stored hashed, traded once
//! for a 12-hour app token; a second trade or an expired code is a 401; both routes 404 with the
//! console off.

use axum::http::StatusCode;
use serde_json::json;

use crate::helpers::{TestApp, TestAppEntity};

const PUBLIC_BASE_URL: &str = "https://integrations.example.com";

async fn link(app: &TestApp, entity: &TestAppEntity) -> (String, serde_json::Value) {
    let response = app.post("/v2/integrations/app/console_link", Some(&entity.token), json!({})).await;
    let data = response.data().clone();
    let url = data["Url"].as_str().unwrap();
    let code = url.split_once("#link=").expect("the code follows #link=").1.to_string();
    (code, data)
}

async fn exchange(app: &TestApp, code: &str) -> crate::helpers::TestResponse {
    app.post("/v2/integrations/console_link/exchange", None, json!({"Code": code})).await
}

#[tokio::test]
async fn a_console_link_opens_the_console_as_its_app_once() {
    let app = TestApp::with_env(&[("PUBLIC_BASE_URL", PUBLIC_BASE_URL)]).await;
    let entity = app.seed_app("sandbox").await;
    let before = chrono::Utc::now();

    let (code, data) = link(&app, &entity).await;

    let url = data["Url"].as_str().unwrap();
    assert!(url.starts_with(&format!("{PUBLIC_BASE_URL}/console/#link=")), "{url}");
    assert!(code.len() >= 43 && code.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'), "{code}");
    let expires = chrono::DateTime::parse_from_rfc3339(data["ExpiresAt"].as_str().unwrap()).unwrap();
    let ttl = expires.with_timezone(&chrono::Utc) - before;
    assert!(ttl > chrono::Duration::seconds(595) && ttl <= chrono::Duration::seconds(601), "{ttl}");

    let token = exchange(&app, &code).await.data().as_str().unwrap().to_string();
    let opened = app.get("/v2/integrations/app?entity=app", Some(&token)).await;
    assert_eq!(opened.data()["AppID"], entity.id.as_str());
    // An app token, not the customer's.
    app.get("/v2/integrations/customer", Some(&token)).await.error(StatusCode::UNAUTHORIZED);

    let again = exchange(&app, &code).await.error(StatusCode::UNAUTHORIZED);
    assert!(again.contains("already used"), "{again}");
}

#[tokio::test]
async fn the_token_of_a_console_link_lives_12_hours() {
    let app = TestApp::new().await;
    let entity = app.seed_app("sandbox").await;
    let (code, _) = link(&app, &entity).await;
    exchange(&app, &code).await.data();
    let lifetimes = app
        .raw_count(&format!(
            "SELECT COUNT(*) FROM tokens WHERE app_id = '{}' AND expires_at - created_at = {}",
            entity.id,
            12 * 3600 * 1000
        ))
        .await;
    assert_eq!(lifetimes, 1, "one token of the app lives exactly 12 hours");
}

#[tokio::test]
async fn an_expired_or_unknown_code_is_a_401() {
    let app = TestApp::new().await;
    let entity = app.seed_app("sandbox").await;
    let (code, _) = link(&app, &entity).await;
    app.raw_execute("UPDATE console_links SET expires_at = created_at - 1").await;

    let expired = exchange(&app, &code).await.error(StatusCode::UNAUTHORIZED);
    assert!(expired.contains("expired"), "{expired}");
    exchange(&app, "not-a-code").await.error(StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn only_the_codes_hash_is_stored() {
    let app = TestApp::new().await;
    let entity = app.seed_app("sandbox").await;
    let (code, _) = link(&app, &entity).await;
    let dump = app.raw_dump().await;
    assert!(!dump.contains(&code), "the code is in the database");
    assert_eq!(app.raw_count("SELECT COUNT(*) FROM console_links").await, 1);
}

#[tokio::test]
async fn a_deleted_apps_links_die_with_it() {
    let app = TestApp::new().await;
    let entity = app.seed_app("sandbox").await;
    let (code, _) = link(&app, &entity).await;
    app.delete("/v2/integrations/app", Some(&entity.token)).await.data();
    exchange(&app, &code).await.error(StatusCode::UNAUTHORIZED);
    assert_eq!(app.raw_count("SELECT COUNT(*) FROM console_links").await, 0);
}

#[tokio::test]
async fn a_link_needs_an_app_token_and_the_exchange_a_code() {
    let app = TestApp::new().await;
    let entity = app.seed_app("sandbox").await;
    app.post("/v2/integrations/app/console_link", None, json!({})).await.error(StatusCode::UNAUTHORIZED);
    app.post("/v2/integrations/app/console_link", Some(&entity.customer.token), json!({}))
        .await
        .error(StatusCode::UNAUTHORIZED);
    let missing = app.post("/v2/integrations/console_link/exchange", None, json!({})).await;
    assert!(missing.error(StatusCode::BAD_REQUEST).contains("Code"), "{}", missing.text);
}

#[tokio::test]
async fn with_the_console_off_both_routes_answer_404() {
    let app = TestApp::with_env(&[("CONSOLE_ENABLED", "false")]).await;
    let entity = app.seed_app("sandbox").await;
    let error = app
        .post("/v2/integrations/app/console_link", Some(&entity.token), json!({}))
        .await
        .error(StatusCode::NOT_FOUND);
    assert!(error.contains("CONSOLE_ENABLED=false"), "{error}");
    exchange(&app, "Yx3mQ0b7Vd2kR9sT1uW4zA6cE8gI0jL2nP4rS6tU8wY").await.error(StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_operator_gets_a_console_link_for_any_app_and_nobody_else_does() {
    let app = TestApp::with_env(&[("PUBLIC_BASE_URL", PUBLIC_BASE_URL)]).await;
    let entity = app.seed_app("sandbox").await;
    let path = format!("/v2/integrations/admin/apps/{}/console_link", entity.id);

    let data = app.post(&path, Some(crate::helpers::ADMIN_TOKEN), json!({})).await.data().clone();
    let url = data["Url"].as_str().unwrap();
    assert!(url.starts_with(&format!("{PUBLIC_BASE_URL}/console/#link=")), "{url}");
    let code = url.split_once("#link=").unwrap().1;
    let token = exchange(&app, code).await.data().as_str().unwrap().to_string();
    let opened = app.get("/v2/integrations/webhook_deliveries?status=dead", Some(&token)).await;
    assert_eq!(opened.data()["Deliveries"], json!([]), "signed in as the app: its delivery log");
    exchange(&app, code).await.error(StatusCode::UNAUTHORIZED);

    // Not the app's own token, nor its customer's; an unknown app is a 404.
    app.post(&path, Some(&entity.token), json!({})).await.error(StatusCode::UNAUTHORIZED);
    app.post(&path, Some(&entity.customer.token), json!({})).await.error(StatusCode::UNAUTHORIZED);
    let missing = app
        .post("/v2/integrations/admin/apps/no-such-app/console_link", Some(crate::helpers::ADMIN_TOKEN), json!({}))
        .await;
    assert_eq!(missing.error(StatusCode::NOT_FOUND), "app not found");

    let off = TestApp::with_env(&[("CONSOLE_ENABLED", "false")]).await;
    let other = off.seed_app("sandbox").await;
    let path = format!("/v2/integrations/admin/apps/{}/console_link", other.id);
    off.post(&path, Some(crate::helpers::ADMIN_TOKEN), json!({})).await.error(StatusCode::NOT_FOUND);
}
