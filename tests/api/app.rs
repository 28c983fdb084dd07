//! `/app`: register, read, update and delete apps (CONTRACT 4).

use axum::http::StatusCode;
use integrations_core::crypto::{MasterKey, SecretField};
use serde_json::{json, Value};

use crate::helpers::{keys, TestApp, MASTER_KEY};

const CREATED_KEYS: [&str; 11] = [
    "AppID",
    "AppSecret",
    "CustomerID",
    "AppName",
    "ExotelAccountSid",
    "ExotelApiKey",
    "ExotelApiToken",
    "ExotelDomain",
    "IsActive",
    "CreatedAt",
    "UpdatedAt",
];

const PUBLIC_KEYS: [&str; 8] =
    ["AppID", "CustomerID", "AppName", "ExotelAccountSid", "ExotelDomain", "IsActive", "CreatedAt", "UpdatedAt"];

fn new_app(domain: &str) -> Value {
    json!({
        "AppName": "Helpdesk",
        "ExotelAccountSid": "acme1",
        "ExotelApiKey": "key-123",
        "ExotelApiToken": "token-456",
        "ExotelDomain": domain,
        "IsActive": true
    })
}

#[tokio::test]
async fn a_customer_registers_an_app_and_sees_its_secrets_once() {
    let app = TestApp::new().await;
    let customer = app.seed_customer().await;

    let response = app.post("/v2/integrations/app", Some(&customer.token), new_app("mumbai")).await;

    let data = response.data();
    assert_eq!(response.data_keys(), keys(&CREATED_KEYS));
    assert!(uuid::Uuid::parse_str(data["AppID"].as_str().unwrap()).is_ok());
    assert!(!data["AppSecret"].as_str().unwrap().is_empty());
    assert_eq!(data["CustomerID"], customer.id.as_str());
    assert_eq!(data["AppName"], "Helpdesk");
    assert_eq!(data["ExotelAccountSid"], "acme1");
    assert_eq!(data["ExotelApiKey"], "key-123");
    assert_eq!(data["ExotelApiToken"], "token-456");
    assert_eq!(data["ExotelDomain"], "mumbai");
    assert_eq!(data["IsActive"], true);
    assert!(data["CreatedAt"].as_str().unwrap().ends_with("+05:30"));
    assert_eq!(data["UpdatedAt"], data["CreatedAt"]);
    app.token(data["AppID"].as_str().unwrap(), data["AppSecret"].as_str().unwrap(), "app").await;
}

#[tokio::test]
async fn the_exotel_domain_is_accepted_in_any_case_and_answered_in_lowercase() {
    let app = TestApp::new().await;
    let customer = app.seed_customer().await;
    for (sent, stored) in
        [("MUMBAI", "mumbai"), ("Singapore", "singapore"), ("sandbox", "sandbox"), ("SandBox", "sandbox")]
    {
        let response = app.post("/v2/integrations/app", Some(&customer.token), new_app(sent)).await;

        assert_eq!(response.data()["ExotelDomain"], stored, "{sent}");
    }
}

#[tokio::test]
async fn an_app_can_be_registered_inactive() {
    let app = TestApp::new().await;
    let customer = app.seed_customer().await;
    let mut body = new_app("sandbox");
    body["IsActive"] = json!(false);

    let response = app.post("/v2/integrations/app", Some(&customer.token), body).await;

    assert_eq!(response.data()["IsActive"], false);
}

#[tokio::test]
async fn each_missing_app_field_is_a_400_naming_it_and_nothing_is_stored() {
    let app = TestApp::new().await;
    let customer = app.seed_customer().await;
    for field in CREATED_KEYS.iter().filter(|k| new_app("sandbox").get(**k).is_some()) {
        let mut body = new_app("sandbox");
        body.as_object_mut().unwrap().remove(*field);

        let error = app.post("/v2/integrations/app", Some(&customer.token), body).await.error(StatusCode::BAD_REQUEST);

        assert!(error.contains(field), "without {field}: {error}");
    }
    let apps = app.get("/v2/integrations/app?entity=customer", Some(&customer.token)).await;
    assert_eq!(apps.data(), &json!([]));
}

#[tokio::test]
async fn each_invalid_app_field_is_a_400_naming_it() {
    let app = TestApp::new().await;
    let customer = app.seed_customer().await;
    for (field, value) in [
        ("AppName", json!("")),
        ("AppName", json!("   ")),
        ("AppName", json!("x".repeat(201))),
        ("AppName", json!(42)),
        ("ExotelAccountSid", json!("")),
        ("ExotelApiKey", json!("")),
        ("ExotelApiToken", json!(["a"])),
        ("ExotelDomain", json!("delhi")),
        ("ExotelDomain", json!("")),
        ("IsActive", json!("true")),
        ("IsActive", json!(1)),
        ("IsActive", Value::Null),
    ] {
        let mut body = new_app("sandbox");
        body[field] = value.clone();

        let error = app.post("/v2/integrations/app", Some(&customer.token), body).await.error(StatusCode::BAD_REQUEST);

        assert!(error.contains(field), "{field} = {value}: {error}");
    }
    let apps = app.get("/v2/integrations/app?entity=customer", Some(&customer.token)).await;
    assert_eq!(apps.data(), &json!([]));
}

#[tokio::test]
async fn registering_an_app_needs_a_customer_token() {
    let app = TestApp::new().await;
    let entity = app.seed_app("sandbox").await;

    app.post("/v2/integrations/app", None, new_app("sandbox")).await.error(StatusCode::UNAUTHORIZED);
    let error =
        app.post("/v2/integrations/app", Some(&entity.token), new_app("sandbox")).await.error(StatusCode::UNAUTHORIZED);
    assert!(error.contains("customer token"), "{error}");
}

#[tokio::test]
async fn an_app_reads_its_public_object_without_secrets() {
    let app = TestApp::new().await;
    let entity = app.seed_app("sandbox").await;

    let response = app.get("/v2/integrations/app?entity=app", Some(&entity.token)).await;

    let data = response.data();
    assert_eq!(response.data_keys(), keys(&PUBLIC_KEYS));
    assert_eq!(data["AppID"], entity.id.as_str());
    assert_eq!(data["CustomerID"], entity.customer.id.as_str());
    assert_eq!(data["AppName"], "WebRTC");
    assert_eq!(data["ExotelAccountSid"], entity.account_sid.as_str());
    assert_eq!(data["ExotelDomain"], "sandbox");
    assert_eq!(data["IsActive"], true);
    for secret in [entity.secret.as_str(), "test-api-key", "test-api-token"] {
        assert!(!response.text.contains(secret), "{secret} leaked: {}", response.text);
    }
}

#[tokio::test]
async fn a_customer_lists_its_apps_oldest_first_without_secrets() {
    let app = TestApp::new().await;
    let customer = app.seed_customer().await;
    let mut created = Vec::new();
    for name in ["first", "second", "third"] {
        let mut body = new_app("sandbox");
        body["AppName"] = json!(name);
        created.push(app.post("/v2/integrations/app", Some(&customer.token), body).await.data().clone());
        // Creation times are milliseconds: keep each app in a millisecond of its own.
        tokio::time::sleep(std::time::Duration::from_millis(2)).await;
    }

    let response = app.get("/v2/integrations/app?entity=customer", Some(&customer.token)).await;

    let names: Vec<&str> = response.data().as_array().unwrap().iter().map(|a| a["AppName"].as_str().unwrap()).collect();
    assert_eq!(names, ["first", "second", "third"]);
    let ids: Vec<&Value> = response.data().as_array().unwrap().iter().map(|a| &a["AppID"]).collect();
    assert_eq!(ids, created.iter().map(|c| &c["AppID"]).collect::<Vec<_>>());
    assert_eq!(response.data_item_keys(), vec![keys(&PUBLIC_KEYS); 3]);
    for c in &created {
        assert!(!response.text.contains(c["AppSecret"].as_str().unwrap()));
    }
    assert!(!response.text.contains("key-123") && !response.text.contains("token-456"));
}

#[tokio::test]
async fn a_customer_without_apps_gets_an_empty_list() {
    let app = TestApp::new().await;
    let customer = app.seed_customer().await;

    let response = app.get("/v2/integrations/app?entity=customer", Some(&customer.token)).await;

    assert_eq!(response.data(), &json!([]));
}

#[tokio::test]
async fn without_entity_the_kind_of_token_decides_what_is_read() {
    let app = TestApp::new().await;
    let entity = app.seed_app("sandbox").await;

    let as_app = app.get("/v2/integrations/app", Some(&entity.token)).await;
    let as_customer = app.get("/v2/integrations/app", Some(&entity.customer.token)).await;

    assert_eq!(as_app.data()["AppID"], entity.id.as_str());
    assert_eq!(as_customer.data().as_array().unwrap().len(), 1);
    assert_eq!(as_customer.data()[0], *as_app.data());
}

#[tokio::test]
async fn asking_for_the_other_entity_than_the_token_is_401() {
    let app = TestApp::new().await;
    let entity = app.seed_app("sandbox").await;

    let app_asks_for_customer =
        app.get("/v2/integrations/app?entity=customer", Some(&entity.token)).await.error(StatusCode::UNAUTHORIZED);
    let customer_asks_for_app =
        app.get("/v2/integrations/app?entity=app", Some(&entity.customer.token)).await.error(StatusCode::UNAUTHORIZED);

    assert!(app_asks_for_customer.contains("customer token"), "{app_asks_for_customer}");
    assert!(customer_asks_for_app.contains("app token"), "{customer_asks_for_app}");
}

#[tokio::test]
async fn an_unknown_entity_is_a_400_naming_the_parameter() {
    let app = TestApp::new().await;
    let entity = app.seed_app("sandbox").await;

    let error = app.get("/v2/integrations/app?entity=robot", Some(&entity.token)).await.error(StatusCode::BAD_REQUEST);

    assert!(error.contains("entity"), "{error}");
}

#[tokio::test]
async fn reading_apps_needs_a_token() {
    let app = TestApp::new().await;

    app.get("/v2/integrations/app", None).await.error(StatusCode::UNAUTHORIZED);
    app.get("/v2/integrations/app?entity=app", Some("made-up")).await.error(StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn an_app_renames_itself_and_keeps_everything_else() {
    let app = TestApp::new().await;
    let entity = app.seed_app("sandbox").await;
    let before = app.get("/v2/integrations/app", Some(&entity.token)).await.data().clone();

    let response = app.put("/v2/integrations/app", Some(&entity.token), json!({"AppName": "Support line"})).await;

    let data = response.data();
    assert_eq!(response.data_keys(), keys(&PUBLIC_KEYS));
    assert_eq!(data["AppName"], "Support line");
    for unchanged in ["AppID", "CustomerID", "ExotelAccountSid", "ExotelDomain", "IsActive", "CreatedAt"] {
        assert_eq!(data[unchanged], before[unchanged], "{unchanged}");
    }
    assert_eq!(app.get("/v2/integrations/app", Some(&entity.token)).await.data(), data);
}

#[tokio::test]
async fn an_app_switches_itself_off_and_moves_region() {
    let app = TestApp::new().await;
    let entity = app.seed_app("sandbox").await;

    let response = app
        .put("/v2/integrations/app", Some(&entity.token), json!({"IsActive": false, "ExotelDomain": "Singapore"}))
        .await;

    assert_eq!(response.data()["IsActive"], false);
    assert_eq!(response.data()["ExotelDomain"], "singapore");
    assert_eq!(response.data()["AppName"], "WebRTC");
    let listed = app.get("/v2/integrations/app?entity=customer", Some(&entity.customer.token)).await;
    assert_eq!(listed.data()[0]["IsActive"], false);
    assert_eq!(listed.data()[0]["ExotelDomain"], "singapore");
}

#[tokio::test]
async fn new_exotel_credentials_are_stored_but_never_shown() {
    let app = TestApp::new().await;
    let entity = app.seed_app("sandbox").await;

    let response = app
        .put(
            "/v2/integrations/app",
            Some(&entity.token),
            json!({"ExotelApiKey": "new-key", "ExotelApiToken": "new-token"}),
        )
        .await;

    assert_eq!(response.data_keys(), keys(&PUBLIC_KEYS));
    assert!(!response.text.contains("new-key") && !response.text.contains("new-token"));
    let row = app.store().find_app_unscoped(&entity.id).await.unwrap().unwrap();
    let key = MasterKey::from_base64(MASTER_KEY).unwrap();
    assert_eq!(key.open_field(SecretField::ExotelApiKey, &entity.id, &row.exotel_api_key).unwrap(), "new-key");
    assert_eq!(key.open_field(SecretField::ExotelApiToken, &entity.id, &row.exotel_api_token).unwrap(), "new-token");
}

#[tokio::test]
async fn the_exotel_account_cannot_be_changed() {
    let app = TestApp::new().await;
    let entity = app.seed_app("sandbox").await;

    let response = app
        .put("/v2/integrations/app", Some(&entity.token), json!({"ExotelAccountSid": "other", "AppName": "X"}))
        .await;

    let error = response.error(StatusCode::BAD_REQUEST);
    assert!(error.contains("ExotelAccountSid"), "{error}");
    let now = app.get("/v2/integrations/app", Some(&entity.token)).await;
    assert_eq!(now.data()["ExotelAccountSid"], entity.account_sid.as_str());
    assert_eq!(now.data()["AppName"], "WebRTC");
}

#[tokio::test]
async fn an_update_naming_a_field_it_cannot_change_is_a_400_naming_it_and_changes_nothing() {
    let app = TestApp::new().await;
    let entity = app.seed_app("sandbox").await;
    let before = app.get("/v2/integrations/app", Some(&entity.token)).await.data().clone();
    let cases = [
        ("AppSecret", "AppSecret cannot be changed: PUT /app changes only AppName, ExotelApiKey, ExotelApiToken, ExotelDomain, IsActive"),
        ("AppID", "AppID cannot be changed: PUT /app changes only AppName, ExotelApiKey, ExotelApiToken, ExotelDomain, IsActive"),
        ("CustomerID", "CustomerID cannot be changed: PUT /app changes only AppName, ExotelApiKey, ExotelApiToken, ExotelDomain, IsActive"),
        ("CreatedAt", "CreatedAt cannot be changed: PUT /app changes only AppName, ExotelApiKey, ExotelApiToken, ExotelDomain, IsActive"),
        ("Appname", "\"Appname\" is not a field PUT /app can change: send only AppName, ExotelApiKey, ExotelApiToken, ExotelDomain, IsActive"),
    ];
    for (field, message) in cases {
        // A field it can change rides along: the update is refused as a whole.
        let mut body = json!({"IsActive": false});
        body[field] = json!("new value");

        let error = app.put("/v2/integrations/app", Some(&entity.token), body).await.error(StatusCode::BAD_REQUEST);

        assert_eq!(error, message, "{field}");
    }
    assert_eq!(app.get("/v2/integrations/app", Some(&entity.token)).await.data(), &before);
    let token = app.token_response(&entity.id, &entity.secret, "app").await;
    assert_eq!(token.status, StatusCode::OK, "the secret is unchanged: {}", token.text);
}

#[tokio::test]
async fn an_update_with_nothing_to_change_is_a_400() {
    let app = TestApp::new().await;
    let entity = app.seed_app("sandbox").await;

    let error = app.put("/v2/integrations/app", Some(&entity.token), json!({})).await.error(StatusCode::BAD_REQUEST);

    assert!(error.contains("AppName") && error.contains("IsActive"), "{error}");
}

#[tokio::test]
async fn invalid_update_values_are_400s_naming_the_field_and_change_nothing() {
    let app = TestApp::new().await;
    let entity = app.seed_app("sandbox").await;
    let before = app.get("/v2/integrations/app", Some(&entity.token)).await.data().clone();
    for (field, value) in [
        ("AppName", json!("")),
        ("ExotelApiKey", json!("  ")),
        ("ExotelApiToken", json!(12)),
        ("ExotelDomain", json!("delhi")),
        ("IsActive", json!("no")),
    ] {
        // The rename rides along so that a half-applied update would show.
        let mut body = json!({"AppName": "Renamed"});
        body[field] = value.clone();

        let error = app.put("/v2/integrations/app", Some(&entity.token), body).await.error(StatusCode::BAD_REQUEST);

        assert!(error.contains(field), "{field} = {value}: {error}");
    }
    assert_eq!(app.get("/v2/integrations/app", Some(&entity.token)).await.data(), &before);
}

#[tokio::test]
async fn updating_an_app_needs_an_app_token() {
    let app = TestApp::new().await;
    let entity = app.seed_app("sandbox").await;

    app.put("/v2/integrations/app", None, json!({"AppName": "X"})).await.error(StatusCode::UNAUTHORIZED);
    app.put("/v2/integrations/app", Some(&entity.customer.token), json!({"AppName": "X"}))
        .await
        .error(StatusCode::UNAUTHORIZED);

    assert_eq!(app.get("/v2/integrations/app", Some(&entity.token)).await.data()["AppName"], "WebRTC");
}

#[tokio::test]
async fn deleting_an_app_answers_deleted_successfully_and_revokes_its_tokens() {
    let app = TestApp::new().await;
    let entity = app.seed_app("sandbox").await;
    let second_token = app.token(&entity.id, &entity.secret, "app").await;

    let response = app.delete("/v2/integrations/app", Some(&entity.token)).await;

    assert_eq!(response.data(), "Deleted Successfully");
    app.get("/v2/integrations/app", Some(&entity.token)).await.error(StatusCode::UNAUTHORIZED);
    app.get("/v2/integrations/app", Some(&second_token)).await.error(StatusCode::UNAUTHORIZED);
    app.token_response(&entity.id, &entity.secret, "app").await.error(StatusCode::UNAUTHORIZED);
    let listed = app.get("/v2/integrations/app?entity=customer", Some(&entity.customer.token)).await;
    assert_eq!(listed.data(), &json!([]));
}

#[tokio::test]
async fn deleting_an_app_leaves_the_customers_other_apps_untouched() {
    let app = TestApp::new().await;
    let customer = app.seed_customer().await;
    let doomed = app.seed_app_for(&customer, "sandbox").await;
    let kept = app.seed_app_for(&customer, "sandbox").await;
    app.post("/v2/integrations/app_setting", Some(&kept.token), json!({"Key": "record", "Value": "true"})).await.data();

    app.delete("/v2/integrations/app", Some(&doomed.token)).await.data();

    assert_eq!(app.get("/v2/integrations/app", Some(&kept.token)).await.data()["AppID"], kept.id.as_str());
    let setting = app.get("/v2/integrations/app_setting?key=record", Some(&kept.token)).await;
    assert_eq!(setting.data()["Value"], "true");
    let listed = app.get("/v2/integrations/app?entity=customer", Some(&customer.token)).await;
    let ids: Vec<&str> = listed.data().as_array().unwrap().iter().map(|a| a["AppID"].as_str().unwrap()).collect();
    assert_eq!(ids, [kept.id.as_str()]);
    app.get("/v2/integrations/customer", Some(&customer.token)).await.data();
}

#[tokio::test]
async fn deleting_an_app_needs_an_app_token() {
    let app = TestApp::new().await;
    let entity = app.seed_app("sandbox").await;

    app.delete("/v2/integrations/app", None).await.error(StatusCode::UNAUTHORIZED);
    app.delete("/v2/integrations/app", Some(&entity.customer.token)).await.error(StatusCode::UNAUTHORIZED);

    app.get("/v2/integrations/app", Some(&entity.token)).await.data();
}
