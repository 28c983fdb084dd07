//! The live CCM client against a local fake Exotel: the exact requests we send and how its answers
//! (and its failures) reach the client (CONTRACT 6; research exotel-upstream.md §3).

use axum::http::StatusCode;
use base64::Engine;
use serde_json::{json, Value};
use wiremock::matchers::{body_partial_json, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::helpers::{TestApp, TestAppEntity};
use crate::usermapping::{assert_exotel_password_policy, sdk_decrypt, USERMAPPING};

const DEVICE: &str = "/v2/integrations/device";
const EXOTEL_USER_ID: &str = "3f6d2c1b-8e7a-4b5c-9d0e-1f2a3b4c5d6e";
/// A port nothing listens on: a region that must not be called points here.
const CLOSED: &str = "http://127.0.0.1:9";

/// A TestApp whose `region` ("mumbai" or "singapore") is the fake Exotel; the other region is a closed port.
async fn app_talking_to(server: &MockServer, region: &str) -> (TestApp, TestAppEntity) {
    let (mumbai, singapore) = match region {
        "mumbai" => (server.uri(), CLOSED.to_string()),
        _ => (CLOSED.to_string(), server.uri()),
    };
    let app = TestApp::with_env(&[("EXOTEL_CCM_URL_MUMBAI", &mumbai), ("EXOTEL_CCM_URL_SINGAPORE", &singapore)]).await;
    let entity = app.seed_app(region).await;
    (app, entity)
}

fn users_path(entity: &TestAppEntity) -> String {
    format!("/v2/accounts/{}/users", entity.account_sid)
}

/// What Exotel's Basic auth header must be for the helpers' app credentials.
fn expected_authorization() -> String {
    format!("Basic {}", base64::engine::general_purpose::STANDARD.encode("test-api-key:test-api-token"))
}

/// Meera Pillai, as the agent a CRM registers.
fn meera(entity: &TestAppEntity, agent_number: Option<&str>) -> Value {
    let mut user = json!({
        "AppUserId": "agent-1",
        "AppUsername": "Meera Pillai",
        "Email": "meera@acme.example",
        "ExotelAccountSid": entity.account_sid,
        "ExotelUserName": "Meera Pillai",
        "VirtualNumber": "+918047000000",
    });
    if let Some(number) = agent_number {
        user["AgentNumber"] = json!(number);
    }
    user
}

/// Exotel's user `data` (research §3.2): a `tel` device 5101 when `with_phone`, and a `sip` device 5102.
fn exotel_user(with_phone: bool) -> Value {
    let mut devices = vec![];
    if with_phone {
        devices.push(json!({"id": 5101, "name": "Meera mobile", "contact_uri": "+919812300011", "type": "tel",
            "available": false, "verified": false, "status": null}));
    }
    devices.push(json!({"id": 5102, "name": "Meera softphone", "contact_uri": "sip:meerap1a2b3c4d", "type": "sip",
        "available": false, "verified": true, "status": null}));
    json!({"id": EXOTEL_USER_ID, "first_name": "Meera", "last_name": "Pillai", "email": "meera@acme.example",
        "email_verified": false, "role": "user", "devices": devices})
}

fn exotel_answer(http_method: &str, data: Value) -> Value {
    json!({"request_id": "9c8b7a6f5e4d4c3b2a19f8e7d6c5b4a3", "method": http_method, "http_code": 200,
        "response": {"code": 200, "status": "success", "data": data}})
}

fn exotel_list(items: Vec<Value>) -> Value {
    let n = items.len();
    let response: Vec<Value> =
        items.into_iter().map(|data| json!({"code": 200, "status": "success", "data": data})).collect();
    json!({"request_id": "0a1b2c3d4e5f", "method": "GET", "http_code": 200,
        "metadata": {"total": n, "count": n, "offset": 0, "limit": 20}, "response": response})
}

/// Exotel's failure body (the v3 shape research §3.5 assumes).
fn exotel_failure(http_code: u16, code: u32, message: &str) -> Value {
    json!({"request_id": "5e4d3c2b1a09", "method": "POST", "http_code": http_code,
        "response": {"code": http_code, "status": "failure", "data": null,
            "error_data": {"code": code, "message": message, "description": message}}})
}

/// Mounts the find-by-email answer: nobody, or `found`.
async fn mount_find(server: &MockServer, entity: &TestAppEntity, found: Option<Value>) {
    let items = found.into_iter().collect();
    Mock::given(method("GET"))
        .and(path(users_path(entity)))
        .respond_with(ResponseTemplate::new(200).set_body_json(exotel_list(items)))
        .expect(1)
        .named("find user by email")
        .mount(server)
        .await;
}

async fn mount_create(server: &MockServer, entity: &TestAppEntity, created: Value, times: u64) {
    Mock::given(method("POST"))
        .and(path(users_path(entity)))
        .respond_with(ResponseTemplate::new(200).set_body_json(exotel_answer("POST", created)))
        .expect(times)
        .named("create user")
        .mount(server)
        .await;
}

async fn mount_sip_password(server: &MockServer, entity: &TestAppEntity) {
    Mock::given(method("PUT"))
        .and(path(format!("{}/{EXOTEL_USER_ID}/devices/5102/password", users_path(entity))))
        .respond_with(ResponseTemplate::new(200).set_body_json(exotel_answer("PUT", Value::Null)))
        .expect(1)
        .named("set SIP password")
        .mount(server)
        .await;
}

async fn mount_devices(server: &MockServer, entity: &TestAppEntity) {
    for id in [5101, 5102] {
        Mock::given(method("PUT"))
            .and(path(format!("{}/{EXOTEL_USER_ID}/devices/{id}", users_path(entity))))
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_json(exotel_answer("PUT", json!({"id": id, "available": true, "status": "free"}))),
            )
            .mount(server)
            .await;
    }
}

/// Registers Meera against a fake Exotel that does not know her yet, with a phone and a SIP device.
async fn register_meera(server: &MockServer, app: &TestApp, entity: &TestAppEntity) -> Value {
    mount_find(server, entity, None).await;
    mount_create(server, entity, exotel_user(true), 1).await;
    mount_sip_password(server, entity).await;
    let created = app.post(USERMAPPING, Some(&entity.token), json!([meera(entity, Some("+919812300011"))])).await;
    created.data()[0].clone()
}

/// The requests Exotel received, as (method, path, JSON body).
async fn received(server: &MockServer) -> Vec<(String, String, Value)> {
    let requests = server.received_requests().await.expect("request recording is on");
    for request in &requests {
        let authorization = request.headers.get("authorization").map(|v| v.to_str().unwrap().to_string());
        assert_eq!(authorization, Some(expected_authorization()), "{} {}", request.method, request.url);
    }
    requests
        .iter()
        .map(|r| (r.method.to_string(), r.url.path().to_string(), r.body_json().unwrap_or(Value::Null)))
        .collect()
}

/// The `password` Exotel was given for the SIP device.
async fn password_exotel_received(server: &MockServer) -> String {
    let requests = received(server).await;
    let passwords: Vec<&Value> = requests
        .iter()
        .filter(|(_, path, _)| path.ends_with("/password"))
        .map(|(_, _, body)| &body["password"])
        .collect();
    assert_eq!(passwords.len(), 1, "{requests:?}");
    passwords[0].as_str().expect("password is a string").to_string()
}

#[tokio::test]
async fn a_new_agent_is_looked_up_by_email_then_created_then_given_a_sip_password() {
    let server = MockServer::start().await;
    let (app, entity) = app_talking_to(&server, "mumbai").await;

    let mapping = register_meera(&server, &app, &entity).await;

    let requests = server.received_requests().await.unwrap();
    let calls: Vec<(String, String)> =
        requests.iter().map(|r| (r.method.to_string(), r.url.path().to_string())).collect();
    let users = users_path(&entity);
    assert_eq!(
        calls,
        [
            ("GET".to_string(), users.clone()),
            ("POST".to_string(), users.clone()),
            ("PUT".to_string(), format!("{users}/{EXOTEL_USER_ID}/devices/5102/password")),
        ]
    );
    let query: Vec<(String, String)> = requests[0].url.query_pairs().into_owned().collect();
    assert_eq!(query, [("fields".into(), "devices".into()), ("email".into(), "meera@acme.example".into())]);
    let sent = received(&server).await;
    assert_eq!(
        sent[1].2,
        json!({"first_name": "Meera", "last_name": "Pillai", "email": "meera@acme.example", "role": "user",
            "device_contact_uri": "+919812300011"})
    );
    assert_eq!(mapping["ExotelUserId"], EXOTEL_USER_ID);
    assert_eq!(mapping["SipId"], "sip:meerap1a2b3c4d");
    assert_eq!(mapping["SipDeviceID"], "5102");
    assert_eq!(mapping["PhoneDeviceID"], "5101");
    assert_eq!(mapping["ActiveDeviceId"], "");
    assert_eq!(mapping["Role"], "user");
    server.verify().await;
}

#[tokio::test]
async fn the_sip_secret_decrypts_to_exactly_the_password_exotel_received() {
    let server = MockServer::start().await;
    let (app, entity) = app_talking_to(&server, "mumbai").await;

    let mapping = register_meera(&server, &app, &entity).await;

    let password = password_exotel_received(&server).await;
    assert_exotel_password_policy(&password);
    assert_eq!(sdk_decrypt(mapping["SipSecret"].as_str().unwrap()), password);
    let read = app.get(&format!("{USERMAPPING}?user_id=agent-1"), Some(&entity.token)).await;
    assert_eq!(sdk_decrypt(read.data()["SipSecret"].as_str().unwrap()), password);
}

#[tokio::test]
async fn an_agent_without_an_agent_number_is_created_without_a_phone_device() {
    let server = MockServer::start().await;
    let (app, entity) = app_talking_to(&server, "mumbai").await;
    mount_find(&server, &entity, None).await;
    mount_create(&server, &entity, exotel_user(false), 1).await;
    mount_sip_password(&server, &entity).await;

    let created = app.post(USERMAPPING, Some(&entity.token), json!([meera(&entity, None)])).await;

    let sent = received(&server).await;
    assert_eq!(
        sent[1].2,
        json!({"first_name": "Meera", "last_name": "Pillai", "email": "meera@acme.example", "role": "user"})
    );
    assert_eq!(created.data()[0]["PhoneDeviceID"], "");
    assert_eq!(created.data()[0]["SipDeviceID"], "5102");
    server.verify().await;
}

#[tokio::test]
async fn an_agent_exotel_already_knows_by_email_is_not_created_again() {
    let server = MockServer::start().await;
    let (app, entity) = app_talking_to(&server, "mumbai").await;
    mount_find(&server, &entity, Some(exotel_user(true))).await;
    mount_create(&server, &entity, exotel_user(true), 0).await;
    mount_sip_password(&server, &entity).await;

    let created = app.post(USERMAPPING, Some(&entity.token), json!([meera(&entity, Some("+919812300011"))])).await;

    let mapping = &created.data()[0];
    assert_eq!(mapping["ExotelUserId"], EXOTEL_USER_ID);
    assert_eq!(mapping["SipId"], "sip:meerap1a2b3c4d");
    assert_eq!(mapping["PhoneDeviceID"], "5101");
    assert_eq!(sdk_decrypt(mapping["SipSecret"].as_str().unwrap()), password_exotel_received(&server).await);
    server.verify().await;
}

#[tokio::test]
async fn a_singapore_app_talks_to_the_singapore_url() {
    let server = MockServer::start().await;
    let (app, entity) = app_talking_to(&server, "singapore").await;

    let mapping = register_meera(&server, &app, &entity).await;

    assert_eq!(mapping["ExotelUserId"], EXOTEL_USER_ID);
    assert_eq!(mapping["SipId"], "sip:meerap1a2b3c4d");
    server.verify().await;
}

#[tokio::test]
async fn turning_the_phone_on_switches_sip_off_then_the_phone_on_at_exotel() {
    let server = MockServer::start().await;
    let (app, entity) = app_talking_to(&server, "mumbai").await;
    register_meera(&server, &app, &entity).await;
    mount_devices(&server, &entity).await;
    let before = server.received_requests().await.unwrap().len();

    let response = app
        .put(DEVICE, Some(&entity.token), json!({"UserId": "agent-1", "DeviceName": "phone", "DeviceStatus": true}))
        .await;

    assert_eq!(response.data()["ActiveDeviceId"], "5101");
    let sent = received(&server).await.split_off(before);
    let devices = format!("{}/{EXOTEL_USER_ID}/devices", users_path(&entity));
    assert_eq!(
        sent,
        [
            ("PUT".to_string(), format!("{devices}/5102"), json!({"available": false})),
            ("PUT".to_string(), format!("{devices}/5101"), json!({"available": true})),
        ]
    );
}

#[tokio::test]
async fn switching_off_tells_exotel_the_active_device_is_unavailable() {
    let server = MockServer::start().await;
    let (app, entity) = app_talking_to(&server, "mumbai").await;
    register_meera(&server, &app, &entity).await;
    mount_devices(&server, &entity).await;
    app.put(DEVICE, Some(&entity.token), json!({"UserId": "agent-1", "DeviceName": "sip"})).await.data();
    let before = server.received_requests().await.unwrap().len();

    let response = app.put(DEVICE, Some(&entity.token), json!({"UserId": "agent-1", "DeviceStatus": false})).await;

    assert_eq!(response.data()["ActiveDeviceId"], "");
    let sent = received(&server).await.split_off(before);
    let devices = format!("{}/{EXOTEL_USER_ID}/devices", users_path(&entity));
    assert_eq!(sent, [("PUT".to_string(), format!("{devices}/5102"), json!({"available": false}))]);
}

#[tokio::test]
async fn exotel_refusing_a_device_switch_is_mirrored_and_the_active_device_is_unchanged() {
    let server = MockServer::start().await;
    let (app, entity) = app_talking_to(&server, "mumbai").await;
    register_meera(&server, &app, &entity).await;
    let refusal = exotel_failure(409, 10809, "device unverified");
    Mock::given(method("PUT"))
        .and(path(format!("{}/{EXOTEL_USER_ID}/devices/5101", users_path(&entity))))
        .respond_with(ResponseTemplate::new(409).set_body_json(&refusal))
        .with_priority(1)
        .mount(&server)
        .await;
    mount_devices(&server, &entity).await;

    let response = app.put(DEVICE, Some(&entity.token), json!({"UserId": "agent-1", "DeviceName": "phone"})).await;

    let error = response.error(StatusCode::CONFLICT);
    assert!(error.contains(&refusal.to_string()), "{error}");
    let read = app.get(&format!("{USERMAPPING}?user_id=agent-1"), Some(&entity.token)).await;
    assert_eq!(read.data()["ActiveDeviceId"], "");
}

#[tokio::test]
async fn exotel_refusing_a_create_with_409_is_our_409_naming_the_user_and_nothing_is_stored() {
    let server = MockServer::start().await;
    let (app, entity) = app_talking_to(&server, "mumbai").await;
    mount_find(&server, &entity, None).await;
    let refusal = exotel_failure(409, 10813, "email used by another user");
    Mock::given(method("POST"))
        .and(path(users_path(&entity)))
        .respond_with(ResponseTemplate::new(409).set_body_json(&refusal))
        .expect(1)
        .mount(&server)
        .await;

    let response = app.post(USERMAPPING, Some(&entity.token), json!([meera(&entity, None)])).await;

    let error = response.error(StatusCode::CONFLICT);
    assert!(error.contains("users[0]"), "{error}");
    assert!(error.contains(&refusal.to_string()), "Exotel's JSON is passed on: {error}");
    let page = app.get(USERMAPPING, Some(&entity.token)).await;
    assert_eq!(page.data()["Users"], json!([]));
    server.verify().await;
}

#[tokio::test]
async fn a_refusal_for_the_second_user_names_it_and_stores_neither() {
    let server = MockServer::start().await;
    let (app, entity) = app_talking_to(&server, "mumbai").await;
    Mock::given(method("GET"))
        .and(path(users_path(&entity)))
        .respond_with(ResponseTemplate::new(200).set_body_json(exotel_list(vec![])))
        .mount(&server)
        .await;
    mount_create(&server, &entity, exotel_user(false), 1).await;
    mount_sip_password(&server, &entity).await;
    let refusal = exotel_failure(400, 1001, "Invalid parameter, last_name too short");
    Mock::given(method("POST"))
        .and(path(users_path(&entity)))
        .and(body_partial_json(json!({"email": "ravi@acme.example"})))
        .respond_with(ResponseTemplate::new(400).set_body_json(&refusal))
        .with_priority(1)
        .mount(&server)
        .await;
    let mut ravi = meera(&entity, None);
    ravi["AppUserId"] = json!("agent-2");
    ravi["Email"] = json!("ravi@acme.example");
    ravi["ExotelUserName"] = json!("Ravi Kumar");

    let response = app.post(USERMAPPING, Some(&entity.token), json!([meera(&entity, None), ravi])).await;

    let error = response.error(StatusCode::BAD_REQUEST);
    assert!(error.contains("users[1]") && error.contains("agent-2"), "{error}");
    assert!(error.contains("last_name too short"), "{error}");
    let page = app.get(USERMAPPING, Some(&entity.token)).await;
    assert_eq!(page.data()["Users"], json!([]), "the batch is all-or-nothing");
}

#[tokio::test]
async fn exotel_answering_500_is_a_502_and_nothing_is_stored() {
    let server = MockServer::start().await;
    let (app, entity) = app_talking_to(&server, "mumbai").await;
    Mock::given(method("GET"))
        .and(path(users_path(&entity)))
        .respond_with(ResponseTemplate::new(500).set_body_string("upstream exploded"))
        .expect(1)
        .mount(&server)
        .await;

    let response = app.post(USERMAPPING, Some(&entity.token), json!([meera(&entity, None)])).await;

    let error = response.error(StatusCode::BAD_GATEWAY);
    assert!(error.contains("users[0]"), "{error}");
    let page = app.get(USERMAPPING, Some(&entity.token)).await;
    assert_eq!(page.data()["Users"], json!([]));
    server.verify().await;
}

#[tokio::test]
async fn an_unreachable_exotel_is_a_502_and_nothing_is_stored() {
    let app = TestApp::with_env(&[("EXOTEL_CCM_URL_MUMBAI", CLOSED), ("EXOTEL_CCM_URL_SINGAPORE", CLOSED)]).await;
    let entity = app.seed_app("mumbai").await;

    let response = app.post(USERMAPPING, Some(&entity.token), json!([meera(&entity, None)])).await;

    let error = response.error(StatusCode::BAD_GATEWAY);
    assert!(error.contains("unreachable"), "{error}");
    let page = app.get(USERMAPPING, Some(&entity.token)).await;
    assert_eq!(page.data()["Users"], json!([]));
}

#[tokio::test]
async fn an_exotel_that_does_not_answer_in_time_is_a_502_and_nothing_is_stored() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_delay(std::time::Duration::from_secs(5)))
        .mount(&server)
        .await;
    let app = TestApp::with_env(&[("EXOTEL_CCM_URL_MUMBAI", &server.uri()), ("EXOTEL_TIMEOUT_SECS", "1")]).await;
    let entity = app.seed_app("mumbai").await;

    let started = std::time::Instant::now();
    let answer = app.post(USERMAPPING, Some(&entity.token), json!([meera(&entity, None)])).await;

    assert!(started.elapsed() < std::time::Duration::from_secs(4));
    let error = answer.error(StatusCode::BAD_GATEWAY);
    assert!(error.contains("timed out"), "{error}");
    let page = app.get(USERMAPPING, Some(&entity.token)).await;
    assert_eq!(page.data()["Users"], json!([]));
}
