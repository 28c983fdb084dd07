//! `POST /token` (CONTRACT 2).

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, StatusCode};
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
    // Even the right credentials wait now: the address is refused.
    let blocked = app.token_response(&customer.id, &customer.secret, "customer").await;
    blocked.error(StatusCode::TOO_MANY_REQUESTS);
    let retry_after: u64 = blocked.headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!(retry_after >= 1);
}

/// `POST /token` from the client at `address`, as the server sees the peer.
fn sign_in_from(address: [u8; 4], id: &str, secret: &str, entity: &str) -> Request<Body> {
    let mut request = Request::post("/v2/integrations/token")
        .header("content-type", "application/json")
        .body(Body::from(json!({"Id": id, "Secret": secret, "Entity": entity}).to_string()))
        .unwrap();
    request.extensions_mut().insert(ConnectInfo(SocketAddr::from((address, 5000))));
    request
}

/// `POST /token` from `client`, forwarded by the trusted proxy at 127.0.0.1.
fn sign_in_behind_proxy(client: &str, id: &str, secret: &str, entity: &str) -> Request<Body> {
    Request::post("/v2/integrations/token")
        .header("content-type", "application/json")
        .header("x-forwarded-for", client)
        .body(Body::from(json!({"Id": id, "Secret": secret, "Entity": entity}).to_string()))
        .unwrap()
}

#[tokio::test]
async fn a_strangers_wrong_secrets_do_not_lock_the_app_out_from_another_address() {
    // Default limit (10 failures per address per window); the load balancer forwards the client address.
    let app = TestApp::with_env(&[("TRUSTED_PROXIES", "127.0.0.1")]).await;
    let entity = app.seed_app("sandbox").await;
    let (stranger, owner) = ("203.0.113.9", "198.51.100.7");

    // The AppID is in every passthru URL: a stranger guesses its secret from one address.
    for _ in 0..10 {
        app.send(sign_in_behind_proxy(stranger, &entity.id, "guess", "app")).await.error(StatusCode::UNAUTHORIZED);
    }
    for _ in 0..3 {
        let refused = app.send(sign_in_behind_proxy(stranger, &entity.id, "guess", "app")).await;
        refused.error(StatusCode::TOO_MANY_REQUESTS);
        assert!(refused.headers["retry-after"].to_str().unwrap().parse::<u64>().unwrap() >= 1);
    }
    let right_from_stranger = app.send(sign_in_behind_proxy(stranger, &entity.id, &entity.secret, "app")).await;
    right_from_stranger.error(StatusCode::TOO_MANY_REQUESTS);

    // The app's owner, from its own address, signs in as ever.
    let signed_in = app.send(sign_in_behind_proxy(owner, &entity.id, &entity.secret, "app")).await;
    let token = signed_in.data().as_str().unwrap().to_string();
    assert_eq!(app.get("/v2/integrations/app", Some(&token)).await.data()["AppID"], entity.id.as_str());
}

#[tokio::test]
async fn a_guess_spread_over_many_addresses_is_slowed_but_the_right_secret_is_never_refused() {
    let app = TestApp::with_env(&[("TOKEN_FAILURE_LIMIT", "3"), ("TOKEN_FAILURE_MAX_DELAY_MS", "800")]).await;
    let customer = app.seed_customer().await;

    // One wrong guess from each of seven addresses: none of them is refused, each answer is a 401,
    // and past the limit for the Id each comes later: 100, 200, 400, then 800 ms (the cap).
    let mut took = Vec::new();
    for n in 0..7u8 {
        let started = Instant::now();
        let answer = app.send(sign_in_from([10, 0, 0, n], &customer.id, "guess", "customer")).await;
        answer.error(StatusCode::UNAUTHORIZED);
        took.push(started.elapsed());
    }
    for (n, floor) in [(3, 100), (4, 200), (5, 400), (6, 800)] {
        assert!(took[n] >= Duration::from_millis(floor), "guess {n} was answered after {:?}", took[n]);
    }

    // The right secret is answered at once, from a fresh address or from one that failed once.
    for address in [[10, 0, 0, 99], [10, 0, 0, 0]] {
        let started = Instant::now();
        let signed_in = app.send(sign_in_from(address, &customer.id, &customer.secret, "customer")).await;
        signed_in.data();
        assert!(started.elapsed() < Duration::from_millis(800), "held back {:?}", started.elapsed());
    }
}

#[tokio::test]
async fn behind_a_trusted_proxy_each_forwarded_client_is_throttled_on_its_own() {
    let app = TestApp::with_env(&[("TOKEN_FAILURE_LIMIT", "2"), ("TRUSTED_PROXIES", "127.0.0.1")]).await;
    let attempt = |client: &str, id: &str| sign_in_behind_proxy(client, id, "guess", "customer");
    for n in 0..2 {
        app.send(attempt("203.0.113.9", &format!("id-{n}"))).await.error(StatusCode::UNAUTHORIZED);
    }
    app.send(attempt("203.0.113.9", "id-9")).await.error(StatusCode::TOO_MANY_REQUESTS);
    // Another client behind the same proxy is not blocked by the first one's failures.
    app.send(attempt("198.51.100.7", "id-8")).await.error(StatusCode::UNAUTHORIZED);
}
