//! `POST /token` (CONTRACT 2).

use axum::http::StatusCode;
use base64::Engine;
use serde_json::json;

use crate::helpers::TestApp;

#[tokio::test]
async fn a_customer_trades_id_and_secret_for_a_base64_uuid_token() {
    let app = TestApp::new().await;
    let customer = app.seed_customer().await;

    let response = app.token_response(&customer.id, &customer.secret, "customer").await;

    let token = response.data().as_str().unwrap();
    assert_eq!(token.len(), 48);
    let text = base64::engine::general_purpose::STANDARD.decode(token).unwrap();
    let uuid = uuid::Uuid::parse_str(std::str::from_utf8(&text).unwrap()).unwrap();
    assert_eq!(uuid.get_version_num(), 4);
    assert_ne!(uuid.to_string(), customer.id, "a token is never derived from the entity id");
}

#[tokio::test]
async fn each_sign_in_mints_a_new_token_and_all_stay_valid() {
    let app = TestApp::new().await;
    let customer = app.seed_customer().await;
    let first = app.token(&customer.id, &customer.secret, "customer").await;
    let second = app.token(&customer.id, &customer.secret, "customer").await;
    assert_ne!(first, second);
    app.get("/v2/integrations/customer", Some(&first)).await.data();
    app.get("/v2/integrations/customer", Some(&second)).await.data();
}

#[tokio::test]
async fn an_app_signs_in_with_its_own_secret() {
    let app = TestApp::new().await;
    let entity = app.seed_app("sandbox").await;
    let token = app.token(&entity.id, &entity.secret, "app").await;
    let me = app.get("/v2/integrations/app?entity=app", Some(&token)).await;
    assert_eq!(me.data()["AppID"], entity.id.as_str());
}

#[tokio::test]
async fn a_wrong_secret_and_an_unknown_id_get_the_same_401() {
    let app = TestApp::new().await;
    let customer = app.seed_customer().await;
    let wrong_secret =
        app.token_response(&customer.id, "not-the-secret", "customer").await.error(StatusCode::UNAUTHORIZED);
    let unknown_id =
        app.token_response("no-such-id", &customer.secret, "customer").await.error(StatusCode::UNAUTHORIZED);
    assert_eq!(wrong_secret, unknown_id);
}

#[tokio::test]
async fn a_customer_secret_does_not_open_the_app_entity() {
    let app = TestApp::new().await;
    let customer = app.seed_customer().await;
    app.token_response(&customer.id, &customer.secret, "app").await.error(StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn missing_or_invalid_fields_are_400s_naming_the_field() {
    let app = TestApp::new().await;
    for (body, field) in [
        (json!({"Secret": "s", "Entity": "customer"}), "Id"),
        (json!({"Id": "i", "Entity": "customer"}), "Secret"),
        (json!({"Id": "i", "Secret": "s"}), "Entity"),
        (json!({"Id": "i", "Secret": "s", "Entity": "robot"}), "Entity"),
        (json!({"Id": 42, "Secret": "s", "Entity": "app"}), "Id"),
    ] {
        let error = app.post("/v2/integrations/token", None, body.clone()).await.error(StatusCode::BAD_REQUEST);
        assert!(error.contains(field), "{body} -> {error}");
    }
}

#[tokio::test]
async fn repeated_failures_from_one_address_are_throttled_with_retry_after() {
    let app = TestApp::with_env(&[("TOKEN_FAILURE_LIMIT", "3")]).await;
    let customer = app.seed_customer().await;
    for _ in 0..3 {
        app.token_response("unknown", "wrong", "customer").await.error(StatusCode::UNAUTHORIZED);
    }
    // Even the right credentials wait now: the address is blocked.
    let blocked = app.token_response(&customer.id, &customer.secret, "customer").await;
    blocked.error(StatusCode::TOO_MANY_REQUESTS);
    let retry_after: u64 = blocked.headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!(retry_after >= 1);
}

#[tokio::test]
async fn repeated_failures_for_one_id_are_throttled_from_any_address() {
    use axum::body::Body;
    use axum::extract::ConnectInfo;
    use axum::http::Request;
    use std::net::SocketAddr;

    let app = TestApp::with_env(&[("TOKEN_FAILURE_LIMIT", "3")]).await;
    let customer = app.seed_customer().await;
    for n in 0..4u8 {
        let mut request = Request::post("/v2/integrations/token")
            .header("content-type", "application/json")
            .body(Body::from(json!({"Id": customer.id, "Secret": "guess", "Entity": "customer"}).to_string()))
            .unwrap();
        request.extensions_mut().insert(ConnectInfo(SocketAddr::from(([10, 0, 0, n], 5000))));
        let response = app.send(request).await;
        let expected = if n < 3 { StatusCode::UNAUTHORIZED } else { StatusCode::TOO_MANY_REQUESTS };
        response.error(expected);
    }
}

#[tokio::test]
async fn behind_a_trusted_proxy_each_forwarded_client_is_throttled_on_its_own() {
    use axum::body::Body;
    use axum::http::Request;

    let app = TestApp::with_env(&[("TOKEN_FAILURE_LIMIT", "2"), ("TRUSTED_PROXIES", "127.0.0.1")]).await;
    let attempt = |client: &str, id: &str| {
        Request::post("/v2/integrations/token")
            .header("content-type", "application/json")
            .header("x-forwarded-for", client)
            .body(Body::from(json!({"Id": id, "Secret": "guess", "Entity": "customer"}).to_string()))
            .unwrap()
    };
    for n in 0..2 {
        app.send(attempt("203.0.113.9", &format!("id-{n}"))).await.error(StatusCode::UNAUTHORIZED);
    }
    app.send(attempt("203.0.113.9", "id-9")).await.error(StatusCode::TOO_MANY_REQUESTS);
    // Another client behind the same proxy is not blocked by the first one's failures.
    app.send(attempt("198.51.100.7", "id-8")).await.error(StatusCode::UNAUTHORIZED);
}
