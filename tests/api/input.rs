//! Text the database cannot store is a 400 at the edge, naming the field, on every route and both
//! backends: a NUL byte anywhere (Postgres refuses it in text), text that is not UTF-8, and ids too long
//! for an indexed key (CONTRACT 1: a 400 names the offending field and rule).

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use serde_json::json;

use crate::helpers::{TestApp, TestAppEntity, ADMIN_TOKEN};

/// A request of the table: where it goes, what it carries, and the field its 400 must name.
struct Case {
    method: Method,
    path: String,
    token: Option<String>,
    body: Body,
    field: &'static str,
    rule: &'static str,
}

const NUL: &str = "must not contain a NUL byte";
const NOT_UTF8: &str = "is not valid UTF-8";

fn json_case(method: Method, path: &str, token: &str, body: &str, field: &'static str, rule: &'static str) -> Case {
    Case {
        method,
        path: path.to_string(),
        token: Some(token.to_string()),
        body: Body::from(body.to_string()),
        field,
        rule,
    }
}

fn case(method: Method, path: String, token: Option<&str>, field: &'static str, rule: &'static str) -> Case {
    Case { method, path, token: token.map(str::to_string), body: Body::empty(), field, rule }
}

/// The path of a status callback signed as this server signs the URLs it hands Exotel.
fn signed_status_callback(app: &TestApp, entity: &TestAppEntity) -> String {
    let sig = app.state.config.keyring.sign_hex("status-callback", &format!("{}:ref1", entity.id));
    format!("/v2/integrations/call/status_callback/{}?ref=ref1&sig={sig}", entity.id)
}

/// A sandbox app with webhook URLs set (a passthru that got through would queue a delivery) and an agent.
async fn seeded() -> (TestApp, TestAppEntity) {
    let app = TestApp::new().await;
    let entity = app.seed_app("sandbox").await;
    for key in ["popup", "callback"] {
        app.set_setting(&entity, key, "https://crm.example.com/hook").await;
    }
    app.map_agent(&entity, "meera", "+919812300011").await;
    (app, entity)
}

fn cases(app: &TestApp, entity: &TestAppEntity) -> Vec<Case> {
    let token = entity.token.as_str();
    let customer = entity.customer.token.as_str();
    let passthru = format!("/v2/integrations/call/inbound_call/{}", entity.id);
    let callback = signed_status_callback(app, entity);
    let form = |path: &str, body: &str, field| Case {
        method: Method::POST,
        path: path.to_string(),
        token: None,
        body: Body::from(body.to_string()),
        field,
        rule: NUL,
    };
    let new_app = |name: &str| {
        format!(
            r#"{{"AppName": "{name}", "ExotelAccountSid": "acme1", "ExotelApiKey": "k", "ExotelApiToken": "t",
                "ExotelDomain": "sandbox", "IsActive": true}}"#
        )
    };
    let user = |username: &str| {
        format!(
            r#"[{{"AppUserId": "ravi", "AppUsername": "{username}", "Email": "ravi@acme.example",
                "ExotelAccountSid": "{}", "ExotelUserName": "Ravi Kumar", "VirtualNumber": "+918040001111"}}]"#,
            entity.account_sid
        )
    };
    vec![
        // Exotel's passthru: query on GET, query or form body on POST.
        case(Method::GET, format!("{passthru}?type=popup&CallSid=evil%00sid"), None, "query parameter CallSid", NUL),
        case(Method::GET, format!("{passthru}?type=popup&CallFrom=0981%0023"), None, "query parameter CallFrom", NUL),
        form(&passthru, "type=popup&CallSid=evil%00sid", "form field CallSid"),
        case(
            Method::GET,
            format!("{passthru}?type=popup&CallSid=evil%FFsid"),
            None,
            "query parameter CallSid",
            NOT_UTF8,
        ),
        // Exotel's status callback: v1 form fields, or v3 JSON.
        form(&callback, "CallSid=evil%00sid&EventType=terminal&Status=completed", "form field CallSid"),
        Case {
            body: Body::from(
                r#"{"event_details": {"event_type": "terminal"}, "call_details": {"sid": "evil\u0000sid"}}"#,
            ),
            ..form(&callback, "", "call_details.sid")
        },
        // JSON bodies, any field, any depth, keys included.
        json_case(Method::POST, "/v2/integrations/app", customer, &new_app(r"evil\u0000app"), "AppName", NUL),
        json_case(
            Method::POST,
            "/v2/integrations/app",
            customer,
            r#"{"AppName": "x", "Evil\u0000": 1}"#,
            r#"field name "Evil\0""#,
            NUL,
        ),
        json_case(Method::PUT, "/v2/integrations/app", token, r#"{"AppName": "evil\u0000app"}"#, "AppName", NUL),
        json_case(
            Method::POST,
            "/v2/integrations/app_setting",
            token,
            r#"{"Key": "popup", "Value": "https://crm.example.com/evil\u0000"}"#,
            "Value",
            NUL,
        ),
        json_case(
            Method::POST,
            "/v2/integrations/usermapping",
            token,
            &user(r"Evil\u0000Name"),
            "[0].AppUsername",
            NUL,
        ),
        json_case(Method::PUT, "/v2/integrations/device", token, r#"{"UserId": "meera\u0000"}"#, "UserId", NUL),
        json_case(
            Method::POST,
            "/v2/integrations/call/outbound_call",
            token,
            r#"{"to": "+919812300077", "user_id": "meera\u0000"}"#,
            "user_id",
            NUL,
        ),
        json_case(
            Method::POST,
            "/v2/integrations/token",
            token,
            &format!(r#"{{"Id": "{}", "Secret": "evil\u0000", "Entity": "app"}}"#, entity.id),
            "Secret",
            NUL,
        ),
        json_case(
            Method::POST,
            "/v2/integrations/customer",
            ADMIN_TOKEN,
            r#"{"CustomerName": "Evil\u0000Corp", "Email": "evil@example.com"}"#,
            "CustomerName",
            NUL,
        ),
        // Path ids.
        case(Method::GET, format!("{passthru}%00?type=popup"), None, "path parameter app_id", NUL),
        case(Method::DELETE, "/v2/integrations/users/meera%00".into(), Some(token), "path parameter app_user_id", NUL),
        case(Method::GET, "/v2/integrations/call/evil%00sid".into(), Some(token), "path parameter call_sid", NUL),
        case(
            Method::POST,
            "/v2/integrations/webhook_deliveries/x%00/retry".into(),
            Some(token),
            "path parameter id",
            NUL,
        ),
        // Query parameters of authenticated reads.
        case(
            Method::GET,
            "/v2/integrations/usermapping?user_id=meera%00".into(),
            Some(token),
            "query parameter user_id",
            NUL,
        ),
        case(Method::GET, "/v2/integrations/app_setting?key=popup%00".into(), Some(token), "query parameter key", NUL),
        case(
            Method::GET,
            "/v2/integrations/webhook_deliveries?status=dead%00".into(),
            Some(token),
            "query parameter status",
            NUL,
        ),
    ]
}

#[tokio::test]
async fn text_the_database_cannot_store_is_a_400_naming_the_field_and_nothing_is_stored() {
    let (app, entity) = seeded().await;
    let before = app.raw_dump().await;

    for case in cases(&app, &entity) {
        let label = format!("{} {} ({})", case.method, case.path, case.field);
        let mut request = Request::builder().method(case.method).uri(&case.path);
        if let Some(token) = &case.token {
            request = request.header(header::AUTHORIZATION, token);
        }
        let content_type = if case.path.contains("inbound_call") || case.field.starts_with("form") {
            "application/x-www-form-urlencoded"
        } else {
            "application/json"
        };
        let request = request.header(header::CONTENT_TYPE, content_type).body(case.body).unwrap();

        let response = app.send(request).await;

        let error = response.error(StatusCode::BAD_REQUEST);
        assert!(error.contains(&format!("{} {}", case.field, case.rule)), "{label}: {error}");
        assert_eq!(app.raw_dump().await, before, "{label}: nothing is stored");
    }

    // The same passthru without the NUL is recorded: the 400s were about the NUL alone.
    let passthru = format!("/v2/integrations/call/inbound_call/{}?type=popup&CallSid=good", entity.id);
    assert_eq!(app.get(&passthru, None).await.data(), "Success");
    assert_ne!(app.raw_dump().await, before);
}

#[tokio::test]
async fn a_call_sid_too_long_for_an_indexed_key_is_a_400() {
    let (app, entity) = seeded().await;
    let before = app.raw_dump().await;
    let long: String = (0..10).map(|_| uuid::Uuid::new_v4().simple().to_string()).collect();

    let passthru = format!("/v2/integrations/call/inbound_call/{}?type=popup&CallSid={long}", entity.id);
    let error = app.get(&passthru, None).await.error(StatusCode::BAD_REQUEST);
    assert!(error.contains("CallSid must be at most 128 bytes"), "{error}");

    let callback = signed_status_callback(&app, &entity);
    let event = json!({"event_details": {"event_type": "terminal"}, "call_details": {"sid": long}});
    let error = app.post(&callback, None, event).await.error(StatusCode::BAD_REQUEST);
    assert!(error.contains("call_details.sid must be at most 128 bytes"), "{error}");

    assert_eq!(app.raw_dump().await, before, "nothing is stored");
    let exotel_sized = format!("/v2/integrations/call/inbound_call/{}?type=popup&CallSid={}", entity.id, &long[..32]);
    assert_eq!(app.get(&exotel_sized, None).await.data(), "Success");
}

#[tokio::test]
async fn a_webhook_url_is_at_most_2048_bytes_so_every_delivery_of_it_can_be_queued() {
    let (app, entity) = seeded().await;
    let wide = format!("https://crm.example.com/{}", "漢".repeat(1000));
    assert!(wide.chars().count() < 2048 && wide.len() > 2048);

    let answer =
        app.post("/v2/integrations/app_setting", Some(&entity.token), json!({"Key": "popup", "Value": wide})).await;

    let error = answer.error(StatusCode::BAD_REQUEST);
    assert!(error.contains("Value for popup must be at most 2048 characters (bytes of UTF-8"), "{error}");
    let passthru = format!("/v2/integrations/call/inbound_call/{}?type=popup&CallSid=c1", entity.id);
    assert_eq!(app.get(&passthru, None).await.data(), "Success", "the stored URL still takes deliveries");
}

#[tokio::test]
async fn a_lone_surrogate_in_a_json_string_is_a_400_naming_the_field() {
    let (app, entity) = seeded().await;
    let request = Request::builder()
        .method(Method::PUT)
        .uri("/v2/integrations/app")
        .header(header::AUTHORIZATION, &entity.token)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(r#"{"AppName": "evil\ud800"}"#))
        .unwrap();

    let error = app.send(request).await.error(StatusCode::BAD_REQUEST);

    assert!(error.contains("not valid JSON at AppName"), "{error}");
    assert_eq!(app.get("/v2/integrations/app", Some(&entity.token)).await.data()["AppName"], "WebRTC");
}
