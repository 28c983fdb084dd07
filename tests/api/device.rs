//! `PUT /device` on a sandbox app: switching an agent between phone and SIP, or off (CONTRACT 6).

use axum::http::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{keys, TestApp, TestAppEntity};
use crate::usermapping::{new_user, MAPPING_KEYS, USERMAPPING};

const DEVICE: &str = "/v2/integrations/device";

/// A sandbox app with `with-phone` (registered with an AgentNumber) and `sip-only` (without one).
async fn app_with_two_agents() -> (TestApp, TestAppEntity, Value, Value) {
    let app = TestApp::new().await;
    let entity = app.seed_app("sandbox").await;
    let batch = json!([
        new_user(&entity, "with-phone", "Meera", Some("+919812300011")),
        new_user(&entity, "sip-only", "Ravi", None),
    ]);
    let created = app.post(USERMAPPING, Some(&entity.token), batch).await;
    let (with_phone, sip_only) = (created.data()[0].clone(), created.data()[1].clone());
    (app, entity, with_phone, sip_only)
}

async fn active_device_of(app: &TestApp, entity: &TestAppEntity, user_id: &str) -> Value {
    app.get(&format!("{USERMAPPING}?user_id={user_id}"), Some(&entity.token)).await.data()["ActiveDeviceId"].clone()
}

#[tokio::test]
async fn turning_the_phone_on_makes_the_phone_device_active() {
    let (app, entity, user, _) = app_with_two_agents().await;

    let response = app
        .put(DEVICE, Some(&entity.token), json!({"UserId": "with-phone", "DeviceName": "phone", "DeviceStatus": true}))
        .await;

    assert_eq!(response.data()["ActiveDeviceId"], user["PhoneDeviceID"]);
    assert_ne!(response.data()["ActiveDeviceId"], "");
    assert_eq!(response.data_keys(), keys(&MAPPING_KEYS), "the answer is the mapping object");
    assert_eq!(active_device_of(&app, &entity, "with-phone").await, user["PhoneDeviceID"], "the switch is stored");
}

#[tokio::test]
async fn turning_sip_on_after_the_phone_makes_the_sip_device_active() {
    let (app, entity, user, _) = app_with_two_agents().await;
    app.put(DEVICE, Some(&entity.token), json!({"UserId": "with-phone", "DeviceName": "phone", "DeviceStatus": true}))
        .await
        .data();

    let response = app
        .put(DEVICE, Some(&entity.token), json!({"UserId": "with-phone", "DeviceName": "sip", "DeviceStatus": true}))
        .await;

    assert_eq!(response.data()["ActiveDeviceId"], user["SipDeviceID"]);
    assert_ne!(user["SipDeviceID"], user["PhoneDeviceID"]);
    assert_eq!(active_device_of(&app, &entity, "with-phone").await, user["SipDeviceID"]);
}

#[tokio::test]
async fn a_device_name_without_a_status_switches_that_device_on() {
    let (app, entity, user, sip_only) = app_with_two_agents().await;

    let phone = app.put(DEVICE, Some(&entity.token), json!({"UserId": "with-phone", "DeviceName": "phone"})).await;
    let sip = app.put(DEVICE, Some(&entity.token), json!({"UserId": "sip-only", "DeviceName": "sip"})).await;

    assert_eq!(phone.data()["ActiveDeviceId"], user["PhoneDeviceID"]);
    assert_eq!(sip.data()["ActiveDeviceId"], sip_only["SipDeviceID"]);
}

#[tokio::test]
async fn status_false_without_a_name_switches_the_active_device_off() {
    let (app, entity, _, _) = app_with_two_agents().await;
    app.put(DEVICE, Some(&entity.token), json!({"UserId": "with-phone", "DeviceName": "sip"})).await.data();

    let response = app.put(DEVICE, Some(&entity.token), json!({"UserId": "with-phone", "DeviceStatus": false})).await;

    assert_eq!(response.data()["ActiveDeviceId"], "");
    assert_eq!(active_device_of(&app, &entity, "with-phone").await, "");
}

#[tokio::test]
async fn status_false_naming_the_active_device_switches_it_off() {
    let (app, entity, _, _) = app_with_two_agents().await;
    app.put(DEVICE, Some(&entity.token), json!({"UserId": "with-phone", "DeviceName": "phone"})).await.data();

    let response = app
        .put(DEVICE, Some(&entity.token), json!({"UserId": "with-phone", "DeviceName": "phone", "DeviceStatus": false}))
        .await;

    assert_eq!(response.data()["ActiveDeviceId"], "");
    assert_eq!(active_device_of(&app, &entity, "with-phone").await, "");
}

#[tokio::test]
async fn turning_the_phone_on_for_a_user_without_one_is_a_400_and_changes_nothing() {
    let (app, entity, _, sip_only) = app_with_two_agents().await;
    app.put(DEVICE, Some(&entity.token), json!({"UserId": "sip-only", "DeviceName": "sip"})).await.data();

    let response = app
        .put(DEVICE, Some(&entity.token), json!({"UserId": "sip-only", "DeviceName": "phone", "DeviceStatus": true}))
        .await;

    let error = response.error(StatusCode::BAD_REQUEST);
    assert!(error.contains("phone") && error.contains("AgentNumber"), "{error}");
    assert_eq!(active_device_of(&app, &entity, "sip-only").await, sip_only["SipDeviceID"]);
}

#[tokio::test]
async fn an_unknown_user_id_is_a_404() {
    let (app, entity, _, _) = app_with_two_agents().await;

    let response = app.put(DEVICE, Some(&entity.token), json!({"UserId": "nobody", "DeviceName": "sip"})).await;

    assert!(response.error(StatusCode::NOT_FOUND).contains("nobody"));
}

#[tokio::test]
async fn another_apps_user_is_a_404() {
    let (app, entity, _, _) = app_with_two_agents().await;
    let other = app.seed_app_for(&entity.customer, "sandbox").await;

    let response = app.put(DEVICE, Some(&other.token), json!({"UserId": "with-phone", "DeviceName": "sip"})).await;

    response.error(StatusCode::NOT_FOUND);
    assert_eq!(active_device_of(&app, &entity, "with-phone").await, "");
}

#[tokio::test]
async fn malformed_device_requests_are_400s_naming_what_is_wrong() {
    let (app, entity, _, _) = app_with_two_agents().await;

    for (body, expected) in [
        (json!({"DeviceName": "sip", "DeviceStatus": true}), "UserId"),
        (json!({"UserId": "", "DeviceName": "sip"}), "UserId"),
        (json!({"UserId": "with-phone", "DeviceName": "fax", "DeviceStatus": true}), "DeviceName"),
        (json!({"UserId": "with-phone", "DeviceStatus": true}), "DeviceName"),
        (json!({"UserId": "with-phone"}), "DeviceName"),
        (json!({"UserId": "with-phone", "DeviceStatus": "on"}), "DeviceStatus"),
    ] {
        let response = app.put(DEVICE, Some(&entity.token), body.clone()).await;

        let error = response.error(StatusCode::BAD_REQUEST);
        assert!(error.contains(expected), "{body} -> {error}");
    }
    assert_eq!(active_device_of(&app, &entity, "with-phone").await, "", "no refused request switched a device");
}

#[tokio::test]
async fn a_customer_token_on_device_is_a_401() {
    let (app, entity, _, _) = app_with_two_agents().await;

    let response =
        app.put(DEVICE, Some(&entity.customer.token), json!({"UserId": "with-phone", "DeviceName": "sip"})).await;

    response.error(StatusCode::UNAUTHORIZED);
    assert_eq!(active_device_of(&app, &entity, "with-phone").await, "");
}
