//! The transport rules every answer follows: envelope, request id, body limits, auth header forms, CORS and
//! the operational endpoints (CONTRACT 1 and 9).

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use serde_json::json;

use crate::helpers::{keys, TestApp, TestResponse, ADMIN_TOKEN};

const ENVELOPE_KEYS: [&str; 5] = ["RequestId", "Status", "Code", "Error", "Data"];

/// The envelope's shape, whatever the outcome.
fn assert_envelope(response: &TestResponse) {
    assert_eq!(response.envelope_keys(), keys(&ENVELOPE_KEYS), "{}", response.text);
    let request_id = response.body["RequestId"].as_str().expect("RequestId is a string");
    assert_eq!(uuid::Uuid::parse_str(request_id).expect("RequestId is a uuid").get_version_num(), 4);
    assert_eq!(response.headers["x-request-id"].to_str().unwrap(), request_id);
    assert_eq!(response.headers[header::CONTENT_TYPE], "application/json");
    assert_eq!(response.body["Code"], response.status.as_u16(), "{}", response.text);
    if response.status.is_success() {
        assert_eq!(response.body["Status"], "Success");
        assert_eq!(response.body["Error"], "");
    } else {
        assert_eq!(response.body["Status"], "Failure");
        assert!(!response.body["Error"].as_str().unwrap().is_empty(), "{}", response.text);
        assert!(response.body["Data"].is_null());
    }
}

fn raw_request(method: Method, path: &str) -> axum::http::request::Builder {
    Request::builder().method(method).uri(path)
}

#[tokio::test]
async fn every_answer_is_an_envelope_whose_request_id_matches_the_header() {
    let app = TestApp::new().await;
    let customer = app.seed_customer().await;

    let answers = [
        app.get("/v2/integrations/customer", Some(&customer.token)).await,
        app.get("/v2/integrations/customer", None).await,
        app.post("/v2/integrations/customer", Some(ADMIN_TOKEN), json!({})).await,
        app.get("/v2/integrations/app?entity=robot", Some(&customer.token)).await,
        app.get("/v2/integrations/no_such_thing", None).await,
        app.request(Method::PATCH, "/v2/integrations/app", None, None).await,
        app.get("/healthz", None).await,
    ];

    let statuses: Vec<u16> = answers.iter().map(|a| a.status.as_u16()).collect();
    assert_eq!(statuses, [200, 401, 400, 400, 404, 405, 200]);
    for answer in &answers {
        assert_envelope(answer);
    }
}

#[tokio::test]
async fn each_request_gets_its_own_request_id() {
    let app = TestApp::new().await;

    let first = app.get("/healthz", None).await;
    let second = app.get("/healthz", None).await;

    assert_ne!(first.body["RequestId"], second.body["RequestId"]);
}

#[tokio::test]
async fn malformed_json_is_a_400() {
    let app = TestApp::new().await;
    let request = raw_request(Method::POST, "/v2/integrations/token")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(r#"{"Id": "abc", "Secret": "#))
        .unwrap();

    let response = app.send(request).await;

    let error = response.error(StatusCode::BAD_REQUEST);
    assert!(error.contains("not valid JSON"), "{error}");
    assert_envelope(&response);
}

#[tokio::test]
async fn trailing_garbage_after_the_json_is_a_400() {
    let app = TestApp::new().await;
    let request = raw_request(Method::POST, "/v2/integrations/token")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(r#"{"Id": "a", "Secret": "b", "Entity": "app"} and more"#))
        .unwrap();

    let error = app.send(request).await.error(StatusCode::BAD_REQUEST);

    assert!(error.contains("not valid JSON"), "{error}");
}

#[tokio::test]
async fn an_empty_body_is_a_400() {
    let app = TestApp::new().await;
    let request = raw_request(Method::POST, "/v2/integrations/token").body(Body::empty()).unwrap();

    let error = app.send(request).await.error(StatusCode::BAD_REQUEST);

    assert!(error.contains("empty"), "{error}");
}

#[tokio::test]
async fn a_field_of_the_wrong_type_is_a_400_naming_it() {
    let app = TestApp::new().await;
    let entity = app.seed_app("sandbox").await;

    let response = app.put("/v2/integrations/app", Some(&entity.token), json!({"IsActive": "yes"})).await;

    let error = response.error(StatusCode::BAD_REQUEST);
    assert_eq!(error, "IsActive must be a boolean, not string \"yes\"");
    assert!(!error.contains("line 1"), "positions mean nothing to the client: {error}");
}

#[tokio::test]
async fn a_body_that_is_not_an_object_is_a_400() {
    let app = TestApp::new().await;

    let error = app.post("/v2/integrations/token", None, json!(["Id", "Secret"])).await.error(StatusCode::BAD_REQUEST);

    assert!(error.contains("wrong shape"), "{error}");
}

#[tokio::test]
async fn a_body_over_one_mebibyte_is_a_413_envelope() {
    let app = TestApp::new().await;
    let body = json!({"CustomerName": "x".repeat(1024 * 1024), "Email": "a@example.com"});

    let response = app.post("/v2/integrations/customer", Some(ADMIN_TOKEN), body).await;

    let error = response.error(StatusCode::PAYLOAD_TOO_LARGE);
    assert!(error.contains("1048576"), "{error}");
    assert_envelope(&response);
    assert!(app.store().list_customers().await.unwrap().is_empty());
}

#[tokio::test]
async fn a_body_just_under_the_limit_is_read() {
    let app = TestApp::new().await;
    let body = json!({"CustomerName": "x".repeat(1024 * 1024 - 100), "Email": "a@example.com"});
    assert!(body.to_string().len() < 1024 * 1024);

    let response = app.post("/v2/integrations/customer", Some(ADMIN_TOKEN), body).await;

    let error = response.error(StatusCode::BAD_REQUEST);
    assert!(error.contains("CustomerName must be at most"), "{error}");
}

#[tokio::test]
async fn an_unknown_route_is_a_404_envelope() {
    let app = TestApp::new().await;
    for path in ["/v2/integrations/robots", "/v2/integrations", "/nothing/here"] {
        let response = app.get(path, None).await;

        let error = response.error(StatusCode::NOT_FOUND);
        assert!(error.contains(path), "{path}: {error}");
        assert_envelope(&response);
    }
}

#[tokio::test]
async fn a_wrong_method_is_a_405_envelope() {
    let app = TestApp::new().await;
    let entity = app.seed_app("sandbox").await;
    for (method, path) in [
        (Method::PATCH, "/v2/integrations/app"),
        (Method::GET, "/v2/integrations/token"),
        (Method::PUT, "/v2/integrations/customer"),
    ] {
        let response = app.request(method.clone(), path, Some(&entity.token), None).await;

        let error = response.error(StatusCode::METHOD_NOT_ALLOWED);
        assert!(error.contains(method.as_str()), "{method} {path}: {error}");
        assert_envelope(&response);
    }
}

#[tokio::test]
async fn a_bearer_token_is_accepted_as_well_as_the_raw_token() {
    let app = TestApp::new().await;
    let entity = app.seed_app("sandbox").await;
    for value in [entity.token.clone(), format!("Bearer {}", entity.token), format!("bearer {}", entity.token)] {
        let request = raw_request(Method::GET, "/v2/integrations/app")
            .header(header::AUTHORIZATION, value.as_str())
            .body(Body::empty())
            .unwrap();

        let response = app.send(request).await;

        assert_eq!(response.data()["AppID"], entity.id.as_str(), "{value}");
    }
}

#[tokio::test]
async fn a_bearer_scheme_without_a_token_is_401() {
    let app = TestApp::new().await;
    let request = raw_request(Method::GET, "/v2/integrations/customer")
        .header(header::AUTHORIZATION, "Bearer")
        .body(Body::empty());

    app.send(request.unwrap()).await.error(StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_json_content_type_on_a_bodiless_get_is_fine() {
    let app = TestApp::new().await;
    let customer = app.seed_customer().await;
    let request = raw_request(Method::GET, "/v2/integrations/customer")
        .header(header::AUTHORIZATION, customer.token.as_str())
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::empty())
        .unwrap();

    let response = app.send(request).await;

    assert_eq!(response.data()["CustomerID"], customer.id.as_str());
}

fn preflight(path: &str, origin: &str) -> Request<Body> {
    raw_request(Method::OPTIONS, path)
        .header(header::ORIGIN, origin)
        .header(header::ACCESS_CONTROL_REQUEST_METHOD, "POST")
        .header(header::ACCESS_CONTROL_REQUEST_HEADERS, "authorization,content-type")
        .body(Body::empty())
        .unwrap()
}

#[tokio::test]
async fn a_browser_preflight_is_answered_naming_authorization_and_content_type() {
    let app = TestApp::new().await;

    let response = app.send(preflight("/v2/integrations/app_setting", "https://crm.example.com")).await;

    assert!(response.status.is_success(), "{}", response.status);
    assert!(response.headers.contains_key(header::ACCESS_CONTROL_ALLOW_ORIGIN));
    let allowed = response.headers[header::ACCESS_CONTROL_ALLOW_HEADERS].to_str().unwrap().to_ascii_lowercase();
    let allowed: Vec<&str> = allowed.split(',').map(str::trim).collect();
    assert!(allowed.contains(&"authorization") && allowed.contains(&"content-type"), "{allowed:?}");
    assert!(!allowed.contains(&"*"), "a * does not cover Authorization: {allowed:?}");
    let methods = response.headers[header::ACCESS_CONTROL_ALLOW_METHODS].to_str().unwrap();
    for method in ["GET", "POST", "PUT", "DELETE"] {
        assert!(methods.contains(method), "{methods}");
    }
}

#[tokio::test]
async fn a_cross_origin_answer_lets_the_browser_read_it_and_its_request_id() {
    let app = TestApp::new().await;
    let customer = app.seed_customer().await;
    let request = raw_request(Method::GET, "/v2/integrations/customer")
        .header(header::ORIGIN, "https://crm.example.com")
        .header(header::AUTHORIZATION, customer.token.as_str())
        .body(Body::empty())
        .unwrap();

    let response = app.send(request).await;

    response.data();
    assert!(response.headers.contains_key(header::ACCESS_CONTROL_ALLOW_ORIGIN));
    let exposed = response.headers[header::ACCESS_CONTROL_EXPOSE_HEADERS].to_str().unwrap().to_ascii_lowercase();
    assert!(exposed.contains("x-request-id"), "{exposed}");
}

#[tokio::test]
async fn configured_origins_are_allowed_and_others_refused() {
    let app = TestApp::with_env(&[("CORS_ALLOWED_ORIGINS", "https://crm.example.com")]).await;

    let allowed = app.send(preflight("/v2/integrations/app", "https://crm.example.com")).await;
    let refused = app.send(preflight("/v2/integrations/app", "https://evil.example.com")).await;
    let refused_get = app
        .send(
            raw_request(Method::GET, "/healthz")
                .header(header::ORIGIN, "https://evil.example.com")
                .body(Body::empty())
                .unwrap(),
        )
        .await;

    assert_eq!(allowed.headers[header::ACCESS_CONTROL_ALLOW_ORIGIN], "https://crm.example.com");
    assert!(!refused.headers.contains_key(header::ACCESS_CONTROL_ALLOW_ORIGIN), "{:?}", refused.headers);
    assert!(!refused_get.headers.contains_key(header::ACCESS_CONTROL_ALLOW_ORIGIN), "{:?}", refused_get.headers);
}

#[tokio::test]
async fn health_and_readiness_answer_200() {
    let app = TestApp::new().await;

    let health = app.get("/healthz", None).await;
    let ready = app.get("/readyz", None).await;

    assert_eq!(health.data()["status"], "ok");
    assert_eq!(ready.data()["status"], "ok");
}

#[tokio::test]
async fn readiness_is_503_once_the_database_is_gone_while_health_stays_200() {
    let app = TestApp::new().await;

    app.store().close().await;

    let ready = app.get("/readyz", None).await;
    let error = ready.error(StatusCode::SERVICE_UNAVAILABLE);
    assert!(error.contains("storage is unavailable"), "{error}");
    assert_envelope(&ready);
    app.get("/healthz", None).await.data();
}

#[tokio::test]
async fn a_database_failure_is_a_500_that_reveals_nothing() {
    let app = TestApp::new().await;
    let customer = app.seed_customer().await;
    // A fault of this code, not the storage being away (that is a 503: see `storage`).
    app.raw_execute("ALTER TABLE customers RENAME TO customers_gone").await;

    let response = app.get("/v2/integrations/customer", Some(&customer.token)).await;

    assert_eq!(response.error(StatusCode::INTERNAL_SERVER_ERROR), "internal error");
    assert_envelope(&response);
}
