//! `/usermapping` and `/users/{AppUserID}` on a sandbox app (CONTRACT 6).

use axum::http::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{keys, TestApp, TestAppEntity};

pub const USERMAPPING: &str = "/v2/integrations/usermapping";

/// The mapping object's keys, in the contract's order.
pub const MAPPING_KEYS: [&str; 21] = [
    "CustomerId",
    "AppID",
    "AppUserId",
    "ExotelAccountSid",
    "ExotelUserId",
    "AppUsername",
    "ExotelUserName",
    "AgentNumber",
    "ActiveDeviceId",
    "PhoneDeviceID",
    "SipDeviceID",
    "VirtualNumber",
    "Email",
    "OutboundActive",
    "Role",
    "SipId",
    "SipSecret",
    "IsActive",
    "UserDetail",
    "CreatedAt",
    "UpdatedAt",
];

/// A valid user of `app` whose ExotelUserName is "`first` Agent".
pub fn new_user(app: &TestAppEntity, app_user_id: &str, first: &str, agent_number: Option<&str>) -> Value {
    let mut user = json!({
        "AppUserId": app_user_id,
        "AppUsername": format!("{first} Agent"),
        "Email": format!("{}@acme.example", first.to_ascii_lowercase()),
        "ExotelAccountSid": app.account_sid,
        "ExotelUserName": format!("{first} Agent"),
        "VirtualNumber": "+918047000000",
    });
    if let Some(number) = agent_number {
        user["AgentNumber"] = json!(number);
    }
    user
}

/// Decrypts a `SipSecret` exactly as the official CRM WebSDK does: hex; the first 16 bytes are
/// the IV; AES-256-CFB128 under the ASCII key "change this password to a secret".
pub fn sdk_decrypt(sip_secret: &str) -> String {
    use cfb_mode::cipher::{AsyncStreamCipher, KeyIvInit};
    let bytes = hex::decode(sip_secret).unwrap_or_else(|e| panic!("SipSecret {sip_secret:?} is not hex: {e}"));
    assert!(bytes.len() > 16, "SipSecret {sip_secret:?} holds no ciphertext after its IV");
    let (iv, ciphertext) = bytes.split_at(16);
    let mut plain = ciphertext.to_vec();
    cfb_mode::Decryptor::<aes::Aes256>::new_from_slices(b"change this password to a secret", iv)
        .expect("32-byte key, 16-byte IV")
        .decrypt(&mut plain);
    String::from_utf8(plain).expect("the SDK reads the password as UTF-8")
}

/// Exotel's SIP password policy: printable ASCII, at least 8 characters, 3 of the 4 classes.
pub fn assert_exotel_password_policy(password: &str) {
    assert!(password.len() >= 8, "{password:?} is shorter than 8");
    assert!(password.chars().all(|c| c.is_ascii_graphic()), "{password:?} is not printable ASCII");
    let classes = [
        password.chars().any(|c| c.is_ascii_lowercase()),
        password.chars().any(|c| c.is_ascii_uppercase()),
        password.chars().any(|c| c.is_ascii_digit()),
        password.chars().any(|c| c.is_ascii_punctuation()),
    ];
    assert!(classes.iter().filter(|present| **present).count() >= 3, "{password:?} has fewer than 3 classes");
}

/// The AppUserIds of every user on the app's first page of 100.
async fn stored_ids(app: &TestApp, token: &str) -> Vec<String> {
    let page = app.get(&format!("{USERMAPPING}?page_size=100"), Some(token)).await;
    page.data()["Users"].as_array().unwrap().iter().map(|u| u["AppUserId"].as_str().unwrap().to_string()).collect()
}

/// Registers `n` users named `u0001`… in batches of at most 100; returns their ids in order.
async fn register_many(app: &TestApp, entity: &TestAppEntity, n: usize) -> Vec<String> {
    let ids: Vec<String> = (1..=n).map(|i| format!("u{i:04}")).collect();
    for chunk in ids.chunks(100) {
        let batch: Vec<Value> =
            chunk.iter().map(|id| new_user(entity, id, &format!("Agent{}", &id[1..]), None)).collect();
        let created = app.post(USERMAPPING, Some(&entity.token), json!(batch)).await;
        assert_eq!(created.data().as_array().unwrap().len(), chunk.len());
    }
    ids
}

/// Follows `LastEvaluatedValue` from the first page to the last; returns the ids seen and the page count.
async fn walk_pages(app: &TestApp, token: &str, page_size: Option<i64>) -> (Vec<String>, usize) {
    let mut seen = Vec::new();
    let mut pages = 0;
    let mut cursor = String::from("0");
    loop {
        let path = match page_size {
            Some(size) => format!("{USERMAPPING}?last_value={cursor}&page_size={size}"),
            None => format!("{USERMAPPING}?last_value={cursor}"),
        };
        let response = app.get(&path, Some(token)).await;
        let page = response.data();
        pages += 1;
        assert_eq!(page["PageSize"], page_size.unwrap_or(20), "{}", response.text);
        let users = page["Users"].as_array().unwrap();
        assert!(users.len() as i64 <= page_size.unwrap_or(20));
        seen.extend(users.iter().map(|u| u["AppUserId"].as_str().unwrap().to_string()));
        cursor = page["LastEvaluatedValue"].as_str().expect("LastEvaluatedValue is a string").to_string();
        if cursor.is_empty() {
            return (seen, pages);
        }
        assert!(pages < 100, "the walk does not end");
    }
}

#[tokio::test]
async fn registering_two_users_answers_their_mappings_with_every_key_in_the_contracts_order() {
    let app = TestApp::new().await;
    let entity = app.seed_app("sandbox").await;
    let batch = json!([
        new_user(&entity, "agent-1", "Meera", Some("+919812300011")),
        new_user(&entity, "agent-2", "Ravi", None),
    ]);

    let response = app.post(USERMAPPING, Some(&entity.token), batch).await;

    let mappings = response.data().as_array().unwrap();
    assert_eq!(mappings.len(), 2);
    assert_eq!(response.data_item_keys(), vec![keys(&MAPPING_KEYS), keys(&MAPPING_KEYS)], "{}", response.text);
    for (mapping, (id, first)) in mappings.iter().zip([("agent-1", "Meera"), ("agent-2", "Ravi")]) {
        assert_eq!(mapping["CustomerId"], entity.customer.id.as_str());
        assert_eq!(mapping["AppID"], entity.id.as_str());
        assert_eq!(mapping["AppUserId"], id);
        assert_eq!(mapping["ExotelAccountSid"], entity.account_sid.as_str());
        assert_eq!(mapping["ExotelUserName"], format!("{first} Agent"));
        assert_eq!(mapping["AppUsername"], format!("{first} Agent"));
        assert_eq!(mapping["Email"], format!("{}@acme.example", first.to_ascii_lowercase()));
        assert_eq!(mapping["VirtualNumber"], "+918047000000");
        assert!(!mapping["ExotelUserId"].as_str().unwrap().is_empty());
        let sip_id = mapping["SipId"].as_str().expect("SipId is a string, never null");
        assert!(sip_id.starts_with("sip:") && sip_id.len() > 4, "{sip_id}");
        assert!(!mapping["SipDeviceID"].as_str().unwrap().is_empty());
        assert_eq!(mapping["ActiveDeviceId"], "");
        assert_eq!(mapping["IsActive"], true);
        assert_eq!(mapping["OutboundActive"], false);
        assert!(mapping["UserDetail"].is_null());
    }
    assert_eq!(mappings[0]["AgentNumber"], "+919812300011");
    assert!(!mappings[0]["PhoneDeviceID"].as_str().unwrap().is_empty());
    assert_ne!(mappings[0]["PhoneDeviceID"], mappings[0]["SipDeviceID"]);
    assert_eq!(mappings[1]["AgentNumber"], "");
    assert_eq!(mappings[1]["PhoneDeviceID"], "", "no AgentNumber, no phone device");
}

#[tokio::test]
async fn the_sip_secret_decrypts_the_sdk_way_to_a_password_exotel_accepts() {
    let app = TestApp::new().await;
    let entity = app.seed_app("sandbox").await;

    let created =
        app.post(USERMAPPING, Some(&entity.token), json!([new_user(&entity, "agent-1", "Meera", None)])).await;

    let password = sdk_decrypt(created.data()[0]["SipSecret"].as_str().unwrap());
    assert_exotel_password_policy(&password);
}

#[tokio::test]
async fn each_read_of_a_user_encrypts_the_same_sip_password_under_a_fresh_iv() {
    let app = TestApp::new().await;
    let entity = app.seed_app("sandbox").await;
    let created =
        app.post(USERMAPPING, Some(&entity.token), json!([new_user(&entity, "agent-1", "Meera", None)])).await;
    let password = sdk_decrypt(created.data()[0]["SipSecret"].as_str().unwrap());

    let first = app.get(&format!("{USERMAPPING}?user_id=agent-1"), Some(&entity.token)).await;
    let second = app.get(&format!("{USERMAPPING}?user_id=agent-1"), Some(&entity.token)).await;

    let (first, second) = (first.data()["SipSecret"].as_str().unwrap(), second.data()["SipSecret"].as_str().unwrap());
    assert_ne!(first, second, "a fresh IV each time");
    assert_eq!(sdk_decrypt(first), password);
    assert_eq!(sdk_decrypt(second), password);
}

#[tokio::test]
async fn a_single_user_object_is_registered_as_a_batch_of_one() {
    let app = TestApp::new().await;
    let entity = app.seed_app("sandbox").await;

    let response = app.post(USERMAPPING, Some(&entity.token), new_user(&entity, "solo", "Meera", None)).await;

    let mappings = response.data().as_array().expect("the answer is still an array");
    assert_eq!(mappings.len(), 1);
    assert_eq!(mappings[0]["AppUserId"], "solo");
    assert_eq!(stored_ids(&app, &entity.token).await, ["solo"]);
}

#[tokio::test]
async fn an_invalid_user_is_a_400_naming_its_index_and_field_and_nothing_is_stored() {
    let app = TestApp::new().await;
    let entity = app.seed_app("sandbox").await;
    let valid = new_user(&entity, "good", "Meera", Some("+919812300011"));
    let with = |field: &str, value: Value| {
        let mut user = new_user(&entity, "bad", "Ravi", None);
        if value.is_null() {
            user.as_object_mut().unwrap().remove(field);
        } else {
            user[field] = value;
        }
        user
    };
    let cases = [
        (json!([valid, with("ExotelUserName", json!("Al Smith"))]), "users[1].ExotelUserName"),
        (json!([valid, with("ExotelUserName", json!("Ravi"))]), "users[1].ExotelUserName"),
        (json!([with("Email", json!("not-an-email")), valid]), "users[0].Email"),
        (json!([with("Email", Value::Null), valid]), "users[0].Email"),
        (json!([with("VirtualNumber", Value::Null)]), "users[0].VirtualNumber"),
        (json!([with("VirtualNumber", json!("12"))]), "users[0].VirtualNumber"),
        (json!([with("ExotelAccountSid", json!("someone-else"))]), "users[0].ExotelAccountSid"),
        (json!([valid, with("AppUserId", json!(""))]), "users[1].AppUserId"),
        (json!([with("AppUserId", json!("x".repeat(129)))]), "users[0].AppUserId"),
        (json!([valid, with("AppUsername", json!(" "))]), "users[1].AppUsername"),
        (json!([with("AgentNumber", json!("call me"))]), "users[0].AgentNumber"),
        (json!([valid, with("AppUserId", json!(42))]), "users[1].AppUserId"),
        (json!([valid, 7]), "users[1]"),
    ];

    for (batch, field) in cases {
        let error = app.post(USERMAPPING, Some(&entity.token), batch.clone()).await.error(StatusCode::BAD_REQUEST);

        assert!(error.contains(field), "{batch} -> {error}");
        assert!(stored_ids(&app, &entity.token).await.is_empty(), "{batch} stored a user");
    }
}

#[tokio::test]
async fn a_body_that_is_neither_an_array_nor_an_object_is_a_400() {
    let app = TestApp::new().await;
    let entity = app.seed_app("sandbox").await;

    for body in [json!("Meera"), json!(42), json!(true), Value::Null] {
        let error = app.post(USERMAPPING, Some(&entity.token), body.clone()).await.error(StatusCode::BAD_REQUEST);

        assert!(error.contains("array"), "{body} -> {error}");
    }
    assert!(stored_ids(&app, &entity.token).await.is_empty());
}

#[tokio::test]
async fn an_empty_array_is_a_400() {
    let app = TestApp::new().await;
    let entity = app.seed_app("sandbox").await;

    let error = app.post(USERMAPPING, Some(&entity.token), json!([])).await.error(StatusCode::BAD_REQUEST);

    assert!(error.contains("at least one user"), "{error}");
}

#[tokio::test]
async fn a_batch_of_more_than_100_users_is_a_400_and_nothing_is_stored() {
    let app = TestApp::new().await;
    let entity = app.seed_app("sandbox").await;
    let batch: Vec<Value> =
        (0..101).map(|i| new_user(&entity, &format!("u{i}"), &format!("Agent{i:03}"), None)).collect();

    let error = app.post(USERMAPPING, Some(&entity.token), json!(batch)).await.error(StatusCode::BAD_REQUEST);

    assert!(error.contains("100"), "{error}");
    assert!(stored_ids(&app, &entity.token).await.is_empty());
}

#[tokio::test]
async fn an_appuserid_repeated_within_a_batch_is_a_409_and_nothing_is_stored() {
    let app = TestApp::new().await;
    let entity = app.seed_app("sandbox").await;
    let batch = json!([
        new_user(&entity, "agent-1", "Meera", None),
        new_user(&entity, "agent-2", "Ravi", None),
        new_user(&entity, "agent-1", "Asha", None),
    ]);

    let error = app.post(USERMAPPING, Some(&entity.token), batch).await.error(StatusCode::CONFLICT);

    assert!(error.contains("agent-1"), "{error}");
    assert!(stored_ids(&app, &entity.token).await.is_empty());
}

#[tokio::test]
async fn an_appuserid_already_mapped_is_a_409_and_the_stored_user_is_untouched() {
    let app = TestApp::new().await;
    let entity = app.seed_app("sandbox").await;
    app.post(USERMAPPING, Some(&entity.token), json!([new_user(&entity, "agent-1", "Meera", None)])).await.data();
    let before = app.get(&format!("{USERMAPPING}?user_id=agent-1"), Some(&entity.token)).await.data().clone();

    let batch = json!([new_user(&entity, "agent-2", "Ravi", None), new_user(&entity, "agent-1", "Asha", None)]);
    let error = app.post(USERMAPPING, Some(&entity.token), batch).await.error(StatusCode::CONFLICT);

    assert!(error.contains("agent-1"), "{error}");
    let after = app.get(&format!("{USERMAPPING}?user_id=agent-1"), Some(&entity.token)).await;
    let after = after.data();
    for field in ["AppUsername", "ExotelUserName", "Email", "ExotelUserId", "SipId", "SipDeviceID", "UpdatedAt"] {
        assert_eq!(after[field], before[field], "{field} changed");
    }
    assert_eq!(sdk_decrypt(after["SipSecret"].as_str().unwrap()), sdk_decrypt(before["SipSecret"].as_str().unwrap()));
    assert_eq!(stored_ids(&app, &entity.token).await, ["agent-1"], "agent-2 of the refused batch was stored");
}

#[tokio::test]
async fn get_with_user_id_answers_that_one_user() {
    let app = TestApp::new().await;
    let entity = app.seed_app("sandbox").await;
    let batch = json!([new_user(&entity, "agent-1", "Meera", None), new_user(&entity, "agent-2", "Ravi", None)]);
    app.post(USERMAPPING, Some(&entity.token), batch).await.data();

    let response = app.get(&format!("{USERMAPPING}?user_id=agent-2"), Some(&entity.token)).await;

    assert_eq!(response.data()["AppUserId"], "agent-2");
    assert_eq!(response.data()["ExotelUserName"], "Ravi Agent");
    assert_eq!(response.data_keys(), keys(&MAPPING_KEYS));
}

#[tokio::test]
async fn get_with_an_unknown_user_id_is_a_404() {
    let app = TestApp::new().await;
    let entity = app.seed_app("sandbox").await;
    app.post(USERMAPPING, Some(&entity.token), json!([new_user(&entity, "agent-1", "Meera", None)])).await.data();

    let error =
        app.get(&format!("{USERMAPPING}?user_id=agent-9"), Some(&entity.token)).await.error(StatusCode::NOT_FOUND);

    assert!(error.contains("agent-9"), "{error}");
}

#[tokio::test]
async fn a_plus_in_the_raw_user_id_query_stays_a_plus() {
    let app = TestApp::new().await;
    let entity = app.seed_app("sandbox").await;
    app.post(USERMAPPING, Some(&entity.token), json!([new_user(&entity, "p+q r", "Meera", None)])).await.data();

    // Built by hand, the way the SDK puts the id into the URL: `+` unencoded, the space as %20.
    let response = app.get("/v2/integrations/usermapping?user_id=p+q%20r", Some(&entity.token)).await;

    assert_eq!(response.data()["AppUserId"], "p+q r");
}

#[tokio::test]
async fn walking_pages_of_100_visits_250_users_once_each_in_creation_order() {
    let app = TestApp::new().await;
    let entity = app.seed_app("sandbox").await;
    let ids = register_many(&app, &entity, 250).await;

    let (seen, pages) = walk_pages(&app, &entity.token, Some(100)).await;

    assert_eq!(seen, ids);
    assert_eq!(pages, 3);
}

#[tokio::test]
async fn walking_pages_of_the_default_size_visits_250_users_once_each_in_creation_order() {
    let app = TestApp::new().await;
    let entity = app.seed_app("sandbox").await;
    let ids = register_many(&app, &entity, 250).await;

    let (seen, pages) = walk_pages(&app, &entity.token, None).await;

    assert_eq!(seen, ids);
    assert_eq!(pages, 13, "12 pages of 20 and one of 10");
}

#[tokio::test]
async fn a_page_that_reaches_the_last_user_has_an_empty_cursor_even_when_full() {
    let app = TestApp::new().await;
    let entity = app.seed_app("sandbox").await;
    register_many(&app, &entity, 3).await;

    for page_size in [3, 5] {
        let response = app.get(&format!("{USERMAPPING}?page_size={page_size}"), Some(&entity.token)).await;

        assert_eq!(response.data()["Users"].as_array().unwrap().len(), 3);
        assert_eq!(response.data()["PageSize"], page_size);
        assert_eq!(response.data()["LastEvaluatedValue"], "", "page_size={page_size}");
    }
    let partial = app.get(&format!("{USERMAPPING}?page_size=2"), Some(&entity.token)).await;
    assert_ne!(partial.data()["LastEvaluatedValue"], "", "more users follow");
}

#[tokio::test]
async fn paging_parameters_out_of_range_are_400s_naming_the_parameter() {
    let app = TestApp::new().await;
    let entity = app.seed_app("sandbox").await;

    for (query, parameter) in [
        ("page_size=0", "page_size"),
        ("page_size=101", "page_size"),
        ("page_size=abc", "page_size"),
        ("page_size=-5", "page_size"),
        ("last_value=-1", "last_value"),
        ("last_value=abc", "last_value"),
    ] {
        let response = app.get(&format!("{USERMAPPING}?{query}"), Some(&entity.token)).await;

        let error = response.error(StatusCode::BAD_REQUEST);
        assert!(error.contains(parameter), "{query} -> {error}");
    }
}

#[tokio::test]
async fn delete_usermapping_empties_the_app_and_spares_other_apps() {
    let app = TestApp::new().await;
    let entity = app.seed_app("sandbox").await;
    let other = app.seed_app("sandbox").await;
    register_many(&app, &entity, 3).await;
    app.post(USERMAPPING, Some(&other.token), json!([new_user(&other, "theirs", "Meera", None)])).await.data();

    let response = app.delete(USERMAPPING, Some(&entity.token)).await;

    assert_eq!(response.data(), "Deleted Successfuly");
    assert!(stored_ids(&app, &entity.token).await.is_empty());
    app.get(&format!("{USERMAPPING}?user_id=u0001"), Some(&entity.token)).await.error(StatusCode::NOT_FOUND);
    assert_eq!(stored_ids(&app, &other.token).await, ["theirs"]);
}

#[tokio::test]
async fn delete_users_removes_one_user_and_then_answers_404() {
    let app = TestApp::new().await;
    let entity = app.seed_app("sandbox").await;
    register_many(&app, &entity, 2).await;

    let response = app.delete("/v2/integrations/users/u0001", Some(&entity.token)).await;

    assert_eq!(response.data(), "Deleted Successfuly");
    app.get(&format!("{USERMAPPING}?user_id=u0001"), Some(&entity.token)).await.error(StatusCode::NOT_FOUND);
    assert_eq!(stored_ids(&app, &entity.token).await, ["u0002"]);
    let again = app.delete("/v2/integrations/users/u0001", Some(&entity.token)).await;
    assert!(again.error(StatusCode::NOT_FOUND).contains("u0001"));
}

#[tokio::test]
async fn another_apps_token_never_sees_or_deletes_this_apps_users() {
    let app = TestApp::new().await;
    let mine = app.seed_app("sandbox").await;
    let theirs = app.seed_app_for(&mine.customer, "sandbox").await;
    app.post(USERMAPPING, Some(&mine.token), json!([new_user(&mine, "agent-1", "Meera", None)])).await.data();

    let one = app.get(&format!("{USERMAPPING}?user_id=agent-1"), Some(&theirs.token)).await;
    let page = app.get(USERMAPPING, Some(&theirs.token)).await;
    let delete_one = app.delete("/v2/integrations/users/agent-1", Some(&theirs.token)).await;
    let delete_all = app.delete(USERMAPPING, Some(&theirs.token)).await;

    one.error(StatusCode::NOT_FOUND);
    assert_eq!(page.data()["Users"], json!([]));
    assert_eq!(page.data()["LastEvaluatedValue"], "");
    delete_one.error(StatusCode::NOT_FOUND);
    delete_all.data();
    assert_eq!(stored_ids(&app, &mine.token).await, ["agent-1"]);
}

#[tokio::test]
async fn the_same_appuserid_may_be_mapped_in_two_apps() {
    let app = TestApp::new().await;
    let first = app.seed_app("sandbox").await;
    let second = app.seed_app_for(&first.customer, "sandbox").await;
    app.post(USERMAPPING, Some(&first.token), json!([new_user(&first, "agent-1", "Meera", None)])).await.data();

    let response =
        app.post(USERMAPPING, Some(&second.token), json!([new_user(&second, "agent-1", "Meera", None)])).await;

    assert_eq!(response.data()[0]["AppID"], second.id.as_str());
    assert_eq!(stored_ids(&app, &first.token).await, ["agent-1"]);
}

#[tokio::test]
async fn a_customer_token_or_no_token_on_usermapping_is_a_401() {
    let app = TestApp::new().await;
    let entity = app.seed_app("sandbox").await;
    let customer_token = entity.customer.token.clone();
    let body = json!([new_user(&entity, "agent-1", "Meera", None)]);

    for token in [Some(customer_token.as_str()), None] {
        let error = app.post(USERMAPPING, token, body.clone()).await.error(StatusCode::UNAUTHORIZED);
        assert!(error.contains(if token.is_some() { "app token" } else { "missing" }), "{error}");
        app.get(USERMAPPING, token).await.error(StatusCode::UNAUTHORIZED);
        app.get(&format!("{USERMAPPING}?user_id=agent-1"), token).await.error(StatusCode::UNAUTHORIZED);
        app.delete(USERMAPPING, token).await.error(StatusCode::UNAUTHORIZED);
        app.delete("/v2/integrations/users/agent-1", token).await.error(StatusCode::UNAUTHORIZED);
    }
    assert!(stored_ids(&app, &entity.token).await.is_empty());
}
