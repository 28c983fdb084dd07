//! Tenant isolation, secrets at rest, and token lifetime (CONTRACT 1, 2 and 4).

use axum::http::StatusCode;
use integrations_core::api::auth::mint_token;
use integrations_core::crypto::sha256_hex;
use integrations_core::domain::time::now_ms;
use serde_json::json;

use crate::helpers::TestApp;

const DAY_MS: i64 = 24 * 60 * 60 * 1000;

#[tokio::test]
async fn a_customer_lists_only_its_own_apps() {
    let app = TestApp::new().await;
    let a = app.seed_app("sandbox").await;
    let b = app.seed_app("sandbox").await;

    let seen_by_b = app.get("/v2/integrations/app?entity=customer", Some(&b.customer.token)).await;

    let ids: Vec<&str> = seen_by_b.data().as_array().unwrap().iter().map(|x| x["AppID"].as_str().unwrap()).collect();
    assert_eq!(ids, [b.id.as_str()]);
    assert!(!seen_by_b.text.contains(&a.id) && !seen_by_b.text.contains(&a.customer.id));
}

#[tokio::test]
async fn another_customers_token_cannot_change_or_delete_an_app() {
    let app = TestApp::new().await;
    let a = app.seed_app("sandbox").await;
    let b = app.seed_customer().await;

    app.put("/v2/integrations/app", Some(&b.token), json!({"AppName": "Hijacked"}))
        .await
        .error(StatusCode::UNAUTHORIZED);
    app.delete("/v2/integrations/app", Some(&b.token)).await.error(StatusCode::UNAUTHORIZED);
    app.delete("/v2/integrations/customer", Some(&b.token)).await.data();

    let still_there = app.get("/v2/integrations/app", Some(&a.token)).await;
    assert_eq!(still_there.data()["AppName"], "WebRTC");
    app.get("/v2/integrations/customer", Some(&a.customer.token)).await.data();
}

#[tokio::test]
async fn one_apps_secret_never_signs_in_another_app() {
    let app = TestApp::new().await;
    let a = app.seed_app("sandbox").await;
    let b = app.seed_app("sandbox").await;

    app.token_response(&a.id, &b.secret, "app").await.error(StatusCode::UNAUTHORIZED);
    app.token_response(&a.customer.id, &b.customer.secret, "customer").await.error(StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn another_apps_settings_look_exactly_like_missing_ones() {
    let app = TestApp::new().await;
    let a = app.seed_app("sandbox").await;
    let b = app.seed_app("sandbox").await;
    let missing_get = app.get("/v2/integrations/app_setting?key=popup", Some(&b.token)).await;
    let missing_delete = app.delete("/v2/integrations/app_setting?key=popup", Some(&b.token)).await;
    app.post(
        "/v2/integrations/app_setting",
        Some(&a.token),
        json!({"Key": "popup", "Value": "https://a.example.com/p"}),
    )
    .await
    .data();

    let get = app.get("/v2/integrations/app_setting?key=popup", Some(&b.token)).await;
    let list = app.get("/v2/integrations/app_setting", Some(&b.token)).await;
    let delete = app.delete("/v2/integrations/app_setting?key=popup", Some(&b.token)).await;

    assert_eq!(get.error(StatusCode::NOT_FOUND), missing_get.error(StatusCode::NOT_FOUND));
    assert_eq!(delete.error(StatusCode::NOT_FOUND), missing_delete.error(StatusCode::NOT_FOUND));
    assert_eq!(list.data(), &json!([]));
    let own = app.get("/v2/integrations/app_setting?key=popup", Some(&a.token)).await;
    assert_eq!(own.data()["Value"], "https://a.example.com/p");
}

#[tokio::test]
async fn apps_of_one_customer_keep_their_settings_apart() {
    let app = TestApp::new().await;
    let customer = app.seed_customer().await;
    let first = app.seed_app_for(&customer, "sandbox").await;
    let second = app.seed_app_for(&customer, "sandbox").await;
    app.post(
        "/v2/integrations/app_setting",
        Some(&first.token),
        json!({"Key": "callback", "Value": "https://1.example.com"}),
    )
    .await
    .data();

    app.post(
        "/v2/integrations/app_setting",
        Some(&second.token),
        json!({"Key": "callback", "Value": "https://2.example.com"}),
    )
    .await
    .data();

    let first_value = app.get("/v2/integrations/app_setting?key=callback", Some(&first.token)).await;
    assert_eq!(first_value.data()["Value"], "https://1.example.com");
    assert_eq!(first_value.data()["AppID"], first.id.as_str());
}

#[tokio::test]
async fn a_database_dump_reveals_no_secret_and_no_token() {
    let app = TestApp::new().await;
    let customer = app.seed_customer().await;
    let n = uuid::Uuid::new_v4().simple().to_string();
    let (api_key, api_token) = (format!("exotel-key-{n}"), format!("exotel-token-{n}"));
    let created = app
        .post(
            "/v2/integrations/app",
            Some(&customer.token),
            json!({
                "AppName": "Vault", "ExotelAccountSid": "acme1", "ExotelApiKey": api_key,
                "ExotelApiToken": api_token, "ExotelDomain": "mumbai", "IsActive": true
            }),
        )
        .await
        .data()
        .clone();
    let app_id = created["AppID"].as_str().unwrap();
    let app_secret = created["AppSecret"].as_str().unwrap();
    let app_token = app.token(app_id, app_secret, "app").await;
    let (new_key, new_token) = (format!("rotated-key-{n}"), format!("rotated-token-{n}"));
    app.put("/v2/integrations/app", Some(&app_token), json!({"ExotelApiKey": new_key, "ExotelApiToken": new_token}))
        .await
        .data();

    let dump = app.raw_dump().await;

    // The dump is real: it holds the rows, ids and token hashes.
    for visible in [customer.id.as_str(), app_id, "acme1", &sha256_hex(&customer.token), &sha256_hex(&app_token)] {
        assert!(dump.contains(visible), "{visible} should be in the dump");
    }
    for secret in
        [customer.secret.as_str(), app_secret, &api_key, &api_token, &new_key, &new_token, &customer.token, &app_token]
    {
        assert!(!dump.contains(secret), "{secret} is stored in clear");
    }
}

#[tokio::test]
async fn an_expired_token_is_refused_like_an_unknown_one() {
    let app = TestApp::new().await;
    let entity = app.seed_app("sandbox").await;
    let unknown = app.get("/v2/integrations/customer", Some("never-issued")).await.error(StatusCode::UNAUTHORIZED);
    let (expired_customer, expired_app) = (mint_token(), mint_token());
    let now = now_ms();
    app.store().insert_token(&expired_customer.hash, &entity.customer.id, None, now - DAY_MS, now - 1).await.unwrap();
    app.store()
        .insert_token(&expired_app.hash, &entity.customer.id, Some(&entity.id), now - DAY_MS, now - 1)
        .await
        .unwrap();

    let customer_answer = app.get("/v2/integrations/customer", Some(&expired_customer.token)).await;
    let app_answer = app.get("/v2/integrations/app", Some(&expired_app.token)).await;

    assert_eq!(customer_answer.error(StatusCode::UNAUTHORIZED), unknown);
    assert_eq!(app_answer.error(StatusCode::UNAUTHORIZED), unknown);
}

#[tokio::test]
async fn a_token_with_time_left_is_accepted() {
    let app = TestApp::new().await;
    let entity = app.seed_app("sandbox").await;
    let minted = mint_token();
    let now = now_ms();
    app.store()
        .insert_token(&minted.hash, &entity.customer.id, Some(&entity.id), now - DAY_MS, now + 60_000)
        .await
        .unwrap();

    let response = app.get("/v2/integrations/app", Some(&minted.token)).await;

    assert_eq!(response.data()["AppID"], entity.id.as_str());
}

#[tokio::test]
async fn a_token_lives_for_the_configured_number_of_days() {
    for (ttl_days, env) in [(1, vec![("TOKEN_TTL_DAYS", "1")]), (90, vec![])] {
        let app = TestApp::with_env(&env).await;
        let customer = app.seed_customer().await;
        let issued_at = now_ms();
        let hash = sha256_hex(&customer.token);

        let just_before = app.store().resolve_token(&hash, issued_at + ttl_days * DAY_MS - 60_000).await.unwrap();
        let just_after = app.store().resolve_token(&hash, issued_at + ttl_days * DAY_MS + 60_000).await.unwrap();

        assert!(just_before.is_some(), "a {ttl_days}-day token died early");
        assert!(just_after.is_none(), "a {ttl_days}-day token outlived its ttl");
    }
}
