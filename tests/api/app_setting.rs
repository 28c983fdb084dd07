//! `/app_setting`: the app's webhook URLs and call options (CONTRACT 5).

use axum::http::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{keys, TestApp, TestAppEntity};

const SETTING_KEYS: [&str; 4] = ["CustomerID", "AppID", "Key", "Value"];

/// Every key of the contract with a value it accepts.
const VALID: [(&str, &str); 7] = [
    ("popup", "https://crm.example.com/exotel/popup"),
    ("incomingCallHangup", "https://crm.example.com/exotel/hangup"),
    ("missedCall", "http://crm.example.com/exotel/missed"),
    ("callback", "https://crm.example.com/exotel/callback?src=exotel"),
    ("playback", "https://cdn.example.com/hold-music.mp3"),
    ("streaming", "wss://stream.example.com/audio"),
    ("record", "true"),
];

async fn set(app: &TestApp, entity: &TestAppEntity, key: &str, value: Value) -> crate::helpers::TestResponse {
    app.post("/v2/integrations/app_setting", Some(&entity.token), json!({"Key": key, "Value": value})).await
}

#[tokio::test]
async fn every_documented_key_is_saved_and_read_back() {
    let app = TestApp::new().await;
    let entity = app.seed_app("sandbox").await;
    for (key, value) in VALID {
        let saved = set(&app, &entity, key, json!(value)).await;

        let expected = json!({"CustomerID": entity.customer.id, "AppID": entity.id, "Key": key, "Value": value});
        assert_eq!(saved.data(), &expected, "POST {key}");
        assert_eq!(saved.data_keys(), keys(&SETTING_KEYS));
        let read = app.get(&format!("/v2/integrations/app_setting?key={key}"), Some(&entity.token)).await;
        assert_eq!(read.data(), &expected, "GET {key}");
        assert_eq!(read.data_keys(), keys(&SETTING_KEYS));
    }
}

#[tokio::test]
async fn all_settings_are_listed_in_the_order_they_were_first_set() {
    let app = TestApp::new().await;
    let entity = app.seed_app("sandbox").await;
    for (key, value) in VALID {
        set(&app, &entity, key, json!(value)).await.data();
        // Settings list by creation millisecond: give each one its own.
        tokio::time::sleep(std::time::Duration::from_millis(2)).await;
    }

    let response = app.get("/v2/integrations/app_setting", Some(&entity.token)).await;

    let listed: Vec<(&str, &str)> = response
        .data()
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["Key"].as_str().unwrap(), s["Value"].as_str().unwrap()))
        .collect();
    assert_eq!(listed, VALID);
    assert_eq!(response.data_item_keys(), vec![keys(&SETTING_KEYS); VALID.len()]);
    assert!(response.data().as_array().unwrap().iter().all(|s| s["AppID"] == entity.id.as_str()));
}

#[tokio::test]
async fn setting_a_key_again_replaces_its_value() {
    let app = TestApp::new().await;
    let entity = app.seed_app("sandbox").await;
    set(&app, &entity, "popup", json!("https://old.example.com/popup")).await.data();

    let replaced = set(&app, &entity, "popup", json!("https://new.example.com/popup")).await;

    assert_eq!(replaced.data()["Value"], "https://new.example.com/popup");
    let one = app.get("/v2/integrations/app_setting?key=popup", Some(&entity.token)).await;
    assert_eq!(one.data()["Value"], "https://new.example.com/popup");
    let all = app.get("/v2/integrations/app_setting", Some(&entity.token)).await;
    assert_eq!(all.data().as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn keys_are_matched_in_any_case_and_answered_as_the_contract_spells_them() {
    let app = TestApp::new().await;
    let entity = app.seed_app("sandbox").await;

    let saved = set(&app, &entity, "INCOMINGCALLHANGUP", json!("https://crm.example.com/h")).await;

    assert_eq!(saved.data()["Key"], "incomingCallHangup");
    let read = app.get("/v2/integrations/app_setting?key=incomingcallhangup", Some(&entity.token)).await;
    assert_eq!(read.data()["Value"], "https://crm.example.com/h");
}

#[tokio::test]
async fn record_accepts_a_json_boolean_and_stores_it_as_text() {
    let app = TestApp::new().await;
    let entity = app.seed_app("sandbox").await;
    for (sent, stored) in
        [(json!(true), "true"), (json!(false), "false"), (json!("TRUE"), "true"), (json!("false"), "false")]
    {
        let saved = set(&app, &entity, "record", sent.clone()).await;

        assert_eq!(saved.data()["Value"], stored, "{sent}");
        let read = app.get("/v2/integrations/app_setting?key=record", Some(&entity.token)).await;
        assert_eq!(read.data()["Value"], stored, "{sent}");
    }
}

#[tokio::test]
async fn bad_values_are_400s_and_are_not_stored() {
    let app = TestApp::new().await;
    let entity = app.seed_app("sandbox").await;
    let too_long = format!("https://crm.example.com/{}", "a".repeat(2048));
    for (key, value) in [
        ("popup", json!("not a url")),
        ("popup", json!("crm.example.com/popup")),
        ("popup", json!("ftp://crm.example.com/popup")),
        ("popup", json!("ws://crm.example.com/popup")),
        ("popup", json!("")),
        ("popup", json!(true)),
        ("popup", json!(too_long)),
        ("callback", json!("http://127.0.0.1/hook")),
        ("callback", json!("http://10.0.0.5/hook")),
        ("callback", json!("http://192.168.1.10:8080/hook")),
        ("callback", json!("http://169.254.169.254/latest/meta-data")),
        ("missedCall", json!("http://[::1]/hook")),
        ("missedCall", json!("http://[::ffff:127.0.0.1]/")),
        ("incomingCallHangup", json!("http://localhost:9000/hook")),
        ("incomingCallHangup", json!("http://0.0.0.0/hook")),
        ("playback", json!("ftp://cdn.example.com/a.mp3")),
        ("streaming", json!("https://stream.example.com/audio")),
        ("streaming", json!("http://stream.example.com/audio")),
        ("record", json!("yes")),
        ("record", json!(1)),
    ] {
        let response = set(&app, &entity, key, value.clone()).await;

        let error = response.error(StatusCode::BAD_REQUEST);
        assert!(error.contains("Value") && error.contains(key), "{key} = {value}: {error}");
    }
    assert_eq!(app.get("/v2/integrations/app_setting", Some(&entity.token)).await.data(), &json!([]));
}

#[tokio::test]
async fn a_url_of_exactly_2048_characters_is_accepted() {
    let app = TestApp::new().await;
    let entity = app.seed_app("sandbox").await;
    let prefix = "https://crm.example.com/";
    let url = format!("{prefix}{}", "a".repeat(2048 - prefix.len()));

    let saved = set(&app, &entity, "callback", json!(url)).await;

    assert_eq!(saved.data()["Value"], url.as_str());
}

#[tokio::test]
async fn an_unknown_key_is_a_400_listing_the_allowed_keys() {
    let app = TestApp::new().await;
    let entity = app.seed_app("sandbox").await;

    let error = set(&app, &entity, "colour", json!("blue")).await.error(StatusCode::BAD_REQUEST);

    for (key, _) in VALID {
        assert!(error.contains(key), "{key} missing from: {error}");
    }
}

#[tokio::test]
async fn a_missing_key_or_value_is_a_400_naming_it() {
    let app = TestApp::new().await;
    let entity = app.seed_app("sandbox").await;
    for (body, field) in [
        (json!({"Value": "https://crm.example.com/p"}), "Key"),
        (json!({"Key": "", "Value": "https://crm.example.com/p"}), "Key"),
        (json!({"Key": "popup"}), "Value"),
        (json!({"Key": 3, "Value": "x"}), "Key"),
    ] {
        let response = app.post("/v2/integrations/app_setting", Some(&entity.token), body.clone()).await;

        let error = response.error(StatusCode::BAD_REQUEST);
        assert!(error.contains(field), "{body} -> {error}");
    }
}

#[tokio::test]
async fn reading_an_unset_setting_is_a_404() {
    let app = TestApp::new().await;
    let entity = app.seed_app("sandbox").await;
    set(&app, &entity, "popup", json!("https://crm.example.com/p")).await.data();

    let error =
        app.get("/v2/integrations/app_setting?key=callback", Some(&entity.token)).await.error(StatusCode::NOT_FOUND);

    assert!(error.contains("callback"), "{error}");
}

#[tokio::test]
async fn an_app_without_settings_lists_an_empty_array() {
    let app = TestApp::new().await;
    let entity = app.seed_app("sandbox").await;

    let response = app.get("/v2/integrations/app_setting", Some(&entity.token)).await;

    assert_eq!(response.status, StatusCode::OK);
    assert_eq!(response.data(), &json!([]));
}

#[tokio::test]
async fn reading_an_unknown_key_is_a_400() {
    let app = TestApp::new().await;
    let entity = app.seed_app("sandbox").await;

    let error =
        app.get("/v2/integrations/app_setting?key=colour", Some(&entity.token)).await.error(StatusCode::BAD_REQUEST);

    assert!(error.contains("key") && error.contains("popup"), "{error}");
}

#[tokio::test]
async fn deleting_a_setting_answers_deleted_successfully_and_unsets_it() {
    let app = TestApp::new().await;
    let entity = app.seed_app("sandbox").await;
    set(&app, &entity, "popup", json!("https://crm.example.com/p")).await.data();
    set(&app, &entity, "record", json!(true)).await.data();

    let response = app.delete("/v2/integrations/app_setting?key=popup", Some(&entity.token)).await;

    assert_eq!(response.data(), "Deleted Successfully");
    app.get("/v2/integrations/app_setting?key=popup", Some(&entity.token)).await.error(StatusCode::NOT_FOUND);
    let rest = app.get("/v2/integrations/app_setting", Some(&entity.token)).await;
    assert_eq!(rest.data().as_array().unwrap().len(), 1);
    assert_eq!(rest.data()[0]["Key"], "record");
}

#[tokio::test]
async fn deleting_an_unset_setting_is_a_404() {
    let app = TestApp::new().await;
    let entity = app.seed_app("sandbox").await;

    let error = app
        .delete("/v2/integrations/app_setting?key=missedCall", Some(&entity.token))
        .await
        .error(StatusCode::NOT_FOUND);

    assert!(error.contains("missedCall"), "{error}");
}

#[tokio::test]
async fn deleting_without_a_key_is_a_400_and_deletes_nothing() {
    let app = TestApp::new().await;
    let entity = app.seed_app("sandbox").await;
    set(&app, &entity, "record", json!("true")).await.data();

    for path in ["/v2/integrations/app_setting", "/v2/integrations/app_setting?key="] {
        let error = app.delete(path, Some(&entity.token)).await.error(StatusCode::BAD_REQUEST);
        assert!(error.contains("key"), "{path}: {error}");
    }
    let error =
        app.delete("/v2/integrations/app_setting?key=colour", Some(&entity.token)).await.error(StatusCode::BAD_REQUEST);
    assert!(error.contains("popup"), "{error}");

    assert_eq!(app.get("/v2/integrations/app_setting", Some(&entity.token)).await.data().as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn private_webhook_targets_are_allowed_when_the_operator_says_so() {
    let app = TestApp::with_env(&[("WEBHOOK_ALLOW_PRIVATE", "true")]).await;
    let entity = app.seed_app("sandbox").await;

    let saved = set(&app, &entity, "popup", json!("http://127.0.0.1:9000/hook")).await;

    assert_eq!(saved.data()["Value"], "http://127.0.0.1:9000/hook");
}

#[tokio::test]
async fn private_webhook_targets_are_refused_by_default() {
    let app = TestApp::new().await;
    let entity = app.seed_app("sandbox").await;

    let error = set(&app, &entity, "popup", json!("http://127.0.0.1:9000/hook")).await.error(StatusCode::BAD_REQUEST);

    assert!(error.contains("loopback"), "{error}");
    assert!(error.contains("set WEBHOOK_ALLOW_PRIVATE=true to allow it for local development"), "{error}");
}

#[tokio::test]
async fn settings_need_an_app_token() {
    let app = TestApp::new().await;
    let entity = app.seed_app("sandbox").await;
    let customer = Some(entity.customer.token.as_str());

    app.post("/v2/integrations/app_setting", customer, json!({"Key": "record", "Value": "true"}))
        .await
        .error(StatusCode::UNAUTHORIZED);
    app.get("/v2/integrations/app_setting", customer).await.error(StatusCode::UNAUTHORIZED);
    app.delete("/v2/integrations/app_setting?key=record", customer).await.error(StatusCode::UNAUTHORIZED);
    app.get("/v2/integrations/app_setting", None).await.error(StatusCode::UNAUTHORIZED);

    assert_eq!(app.get("/v2/integrations/app_setting", Some(&entity.token)).await.data(), &json!([]));
}
