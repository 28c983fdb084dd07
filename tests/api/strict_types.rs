//! Strict JSON types on every request body (CONTRACT 1; issue 12): a field given a JSON value of
//! another type is a 400 naming the field and the type it must be. Nothing is converted: a phone
//! number sent as the JSON number `8040001111` is not the text `"08040001111"`.

use axum::http::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{TestApp, TestAppEntity, ADMIN_TOKEN};

/// Who calls a route.
#[derive(Clone, Copy)]
enum Caller {
    Nobody,
    Admin,
    Customer,
    App,
}

/// One route with a body that would be accepted, and the fields of that body with their type.
struct Route {
    method: Method,
    path: &'static str,
    caller: Caller,
    body: fn(&TestAppEntity) -> Value,
    /// (field, how the error names it, the type the error asks for)
    fields: &'static [(&'static str, &'static str, &'static str)],
}

const STRING: &str = "a string";
const BOOLEAN: &str = "a boolean";

fn routes() -> Vec<Route> {
    vec![
        Route {
            method: Method::POST,
            path: "/v2/integrations/token",
            caller: Caller::Nobody,
            body: |e| json!({"Id": e.id, "Secret": e.secret, "Entity": "app"}),
            fields: &[("Id", "Id", STRING), ("Secret", "Secret", STRING), ("Entity", "Entity", STRING)],
        },
        Route {
            method: Method::POST,
            path: "/v2/integrations/customer",
            caller: Caller::Admin,
            body: |_| json!({"CustomerName": "Acme", "Email": "owner@acme.example"}),
            fields: &[("CustomerName", "CustomerName", STRING), ("Email", "Email", STRING)],
        },
        Route {
            method: Method::POST,
            path: "/v2/integrations/app",
            caller: Caller::Customer,
            body: |_| {
                json!({"AppName": "WebRTC", "ExotelAccountSid": "acme1", "ExotelApiKey": "k", "ExotelApiToken": "t",
                       "ExotelDomain": "sandbox", "IsActive": true})
            },
            fields: &[
                ("AppName", "AppName", STRING),
                ("ExotelAccountSid", "ExotelAccountSid", STRING),
                ("ExotelApiKey", "ExotelApiKey", STRING),
                ("ExotelApiToken", "ExotelApiToken", STRING),
                ("ExotelDomain", "ExotelDomain", STRING),
                ("IsActive", "IsActive", BOOLEAN),
            ],
        },
        Route {
            method: Method::PUT,
            path: "/v2/integrations/app",
            caller: Caller::App,
            body: |_| {
                json!({"AppName": "WebRTC", "ExotelApiKey": "k", "ExotelApiToken": "t", "ExotelDomain": "sandbox",
                       "IsActive": true})
            },
            fields: &[
                ("AppName", "AppName", STRING),
                ("ExotelApiKey", "ExotelApiKey", STRING),
                ("ExotelApiToken", "ExotelApiToken", STRING),
                ("ExotelDomain", "ExotelDomain", STRING),
                ("IsActive", "IsActive", BOOLEAN),
            ],
        },
        Route {
            method: Method::POST,
            path: "/v2/integrations/app_setting",
            caller: Caller::App,
            body: |_| json!({"Key": "popup", "Value": "https://crm.example/popup"}),
            fields: &[("Key", "Key", STRING), ("Value", "Value for popup", STRING)],
        },
        Route {
            method: Method::POST,
            path: "/v2/integrations/usermapping",
            caller: Caller::App,
            body: |e| {
                json!([{"AppUserId": "meera", "AppUsername": "Meera", "Email": "meera@acme.example",
                        "ExotelAccountSid": e.account_sid, "ExotelUserName": "Meera Pillai",
                        "AgentNumber": "08040001112", "VirtualNumber": "08040001111"}])
            },
            fields: &[
                ("AppUserId", "users[0].AppUserId", STRING),
                ("AppUsername", "users[0].AppUsername", STRING),
                ("Email", "users[0].Email", STRING),
                ("ExotelAccountSid", "users[0].ExotelAccountSid", STRING),
                ("ExotelUserName", "users[0].ExotelUserName", STRING),
                ("AgentNumber", "users[0].AgentNumber", STRING),
                ("VirtualNumber", "users[0].VirtualNumber", STRING),
            ],
        },
        Route {
            method: Method::PUT,
            path: "/v2/integrations/device",
            caller: Caller::App,
            body: |_| json!({"UserId": "meera", "DeviceName": "sip", "DeviceStatus": true}),
            fields: &[
                ("UserId", "UserId", STRING),
                ("DeviceName", "DeviceName", STRING),
                ("DeviceStatus", "DeviceStatus", BOOLEAN),
            ],
        },
        Route {
            method: Method::POST,
            path: "/v2/integrations/call/outbound_call",
            caller: Caller::App,
            body: |e| json!({"to": "08040001119", "user_id": "meera", "app_id": e.id, "customer_id": e.customer.id}),
            fields: &[
                ("to", "to", STRING),
                ("user_id", "user_id", STRING),
                ("app_id", "app_id", STRING),
                ("customer_id", "customer_id", STRING),
            ],
        },
        Route {
            method: Method::POST,
            path: "/v2/integrations/webhook_deliveries/recover",
            caller: Caller::App,
            body: |_| json!({"Since": chrono::Utc::now().to_rfc3339(), "Until": chrono::Utc::now().to_rfc3339()}),
            fields: &[("Since", "Since", STRING), ("Until", "Until", STRING)],
        },
        Route {
            method: Method::POST,
            path: "/v2/integrations/app_setting/test",
            caller: Caller::App,
            body: |_| json!({"Key": "popup"}),
            fields: &[("Key", "Key", STRING)],
        },
        Route {
            method: Method::POST,
            path: "/v2/integrations/sandbox/inbound_call",
            caller: Caller::App,
            body: |_| json!({"from": "+919812300077", "user_id": "meera", "outcome": "answered", "talk_seconds": 30}),
            fields: &[("from", "from", STRING), ("user_id", "user_id", STRING), ("outcome", "outcome", STRING)],
        },
        Route {
            method: Method::POST,
            path: "/v2/integrations/app/secret",
            caller: Caller::App,
            body: |_| json!({"GraceHours": 24, "RevokeTokens": false}),
            fields: &[("RevokeTokens", "RevokeTokens", BOOLEAN)],
        },
        Route {
            method: Method::PUT,
            path: "/v2/integrations/app/passthru",
            caller: Caller::App,
            body: |_| json!({"Required": false, "RenewKey": false}),
            fields: &[("Required", "Required", BOOLEAN), ("RenewKey", "RenewKey", BOOLEAN)],
        },
        Route {
            method: Method::POST,
            path: "/v2/integrations/customer/secret",
            caller: Caller::Customer,
            body: |_| json!({"RevokeTokens": false}),
            fields: &[("RevokeTokens", "RevokeTokens", BOOLEAN)],
        },
        Route {
            method: Method::POST,
            path: "/v2/integrations/console_link/exchange",
            caller: Caller::Nobody,
            body: |_| json!({"Code": "Yx3mQ0b7Vd2kR9sT1uW4zA6cE8gI0jL2nP4rS6tU8wY"}),
            fields: &[("Code", "Code", STRING)],
        },
    ]
}

/// The JSON values of each type other than `expected`, named as the error names them.
fn wrong_values(expected: &str) -> Vec<(Value, &'static str)> {
    let mut values = vec![
        (json!(8040001111_u64), "integer"),
        (json!(80.5), "floating point"),
        (json!(["08040001111"]), "sequence"),
        (json!({"number": "08040001111"}), "map"),
    ];
    if expected == STRING {
        values.push((json!(true), "boolean"));
    } else {
        values.push((json!("true"), "string"));
    }
    values
}

/// Replaces `field` in the (first object of the) body.
fn with_field(mut body: Value, field: &str, value: Value) -> Value {
    let object = match &mut body {
        Value::Array(items) => &mut items[0],
        object => object,
    };
    object[field] = value;
    body
}

#[tokio::test]
async fn every_body_field_of_the_wrong_json_type_is_a_400_naming_the_field_and_its_type() {
    let app = TestApp::new().await;
    let entity = app.seed_app("sandbox").await;
    let mut checked = 0;
    for route in routes() {
        let token = match route.caller {
            Caller::Nobody => None,
            Caller::Admin => Some(ADMIN_TOKEN),
            Caller::Customer => Some(entity.customer.token.as_str()),
            Caller::App => Some(entity.token.as_str()),
        };
        for (field, named, expected) in route.fields {
            for (value, found) in wrong_values(expected) {
                let body = with_field((route.body)(&entity), field, value.clone());
                let response = app.request(route.method.clone(), route.path, token, Some(body)).await;
                let error = response.error(StatusCode::BAD_REQUEST);
                let context = format!("{} {} with {field} = {value}", route.method, route.path);
                assert!(error.starts_with(&format!("{named} must be ")), "{context}: {error}");
                assert!(error.contains(expected), "{context}: the type it must be: {error}");
                let found = if named.starts_with("Value for") { json_word(&value) } else { found };
                assert!(error.contains(found), "{context}: the type it got: {error}");
                checked += 1;
            }
        }
    }
    assert_eq!(checked, 43 * 5, "every field of every route was tried with every wrong type");
    // Nothing was stored by any of them.
    let users = app.get("/v2/integrations/usermapping", Some(&entity.token)).await;
    assert_eq!(users.data()["Users"], json!([]));
    let settings = app.get("/v2/integrations/app_setting", Some(&entity.token)).await;
    assert_eq!(settings.data(), &json!([]));
}

/// How the app-setting rule names a JSON type.
fn json_word(value: &Value) -> &'static str {
    match value {
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
        Value::Null => "null",
    }
}

#[tokio::test]
async fn a_phone_number_sent_as_a_json_number_is_refused_not_converted() {
    let app = TestApp::new().await;
    let entity = app.seed_app("sandbox").await;
    let user = json!([{"AppUserId": "meera", "AppUsername": "Meera", "Email": "meera@acme.example",
                       "ExotelAccountSid": entity.account_sid, "ExotelUserName": "Meera Pillai",
                       "VirtualNumber": 8040001111_u64}]);

    let error =
        app.post("/v2/integrations/usermapping", Some(&entity.token), user).await.error(StatusCode::BAD_REQUEST);

    assert_eq!(error, "users[0].VirtualNumber must be a string, not integer `8040001111`");
    let placed = app
        .post("/v2/integrations/call/outbound_call", Some(&entity.token), json!({"to": 9812300077_u64, "user_id": "x"}))
        .await;
    assert_eq!(placed.error(StatusCode::BAD_REQUEST), "to must be a string, not integer `9812300077`");
}

#[tokio::test]
async fn the_record_setting_is_the_one_field_that_takes_a_boolean_for_a_string() {
    let app = TestApp::new().await;
    let entity = app.seed_app("sandbox").await;

    for (sent, stored) in [(json!(true), "true"), (json!(false), "false"), (json!("TRUE"), "true")] {
        let body = json!({"Key": "record", "Value": sent});
        let setting = app.post("/v2/integrations/app_setting", Some(&entity.token), body).await;
        assert_eq!(setting.data()["Value"], stored, "{sent}");
    }
    for wrong in [json!(1), json!(["true"]), json!({"on": true})] {
        let body = json!({"Key": "record", "Value": wrong});
        let error =
            app.post("/v2/integrations/app_setting", Some(&entity.token), body).await.error(StatusCode::BAD_REQUEST);
        assert!(error.starts_with("Value for record must be a boolean or the string"), "{wrong}: {error}");
        assert!(error.ends_with(json_word(&wrong)), "{wrong}: {error}");
    }
    let url_as_bool = json!({"Key": "callback", "Value": true});
    let error =
        app.post("/v2/integrations/app_setting", Some(&entity.token), url_as_bool).await.error(StatusCode::BAD_REQUEST);
    assert_eq!(error, "Value for callback must be a string, not a boolean");
}
