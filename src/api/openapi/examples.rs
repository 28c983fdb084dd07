//! The seed's sample bodies (`seed/integrations-api-v2.txt`), with its missing commas restored and
//! its `{{placeholders}}` replaced by the values of the matching sample answers: the examples of the
//! OpenAPI document. A leaf: it names nothing of the crate.

use serde_json::Value;

fn parse(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("an OpenAPI example is not valid JSON: {e}: {text}"))
}

/// `{"RequestId", "Status": "Success", "Code": 200, "Error": "", "Data": data}`.
fn success(request_id: &str, data: Value) -> Value {
    serde_json::json!({"RequestId": request_id, "Status": "Success", "Code": 200, "Error": "", "Data": data})
}

pub fn token_request() -> Value {
    parse(
        r#"{ "Id": "99fa98a1-2ce0-457c-9371-0d3a01eb6ef0", "Secret": "5b8215f7-8595-42c0-9b63-404bcc474f94", "Entity": "customer" }"#,
    )
}

pub fn token_response() -> Value {
    parse(
        r#"{ "RequestId": "f4f76061-3c01-410e-be49-55a17049cf35", "Status": "Success", "Code": 200, "Error": "", "Data": "OTlmYTk4YTEtMmNlMC00NTdjLTkzNzEtMGQzYTAxZWI2ZWYw" }"#,
    )
}

pub fn customer_request() -> Value {
    parse(r#"{ "CustomerName": "Temp Name", "Email": "temp.mail@company.in" }"#)
}

fn customer() -> Value {
    parse(
        r#"{ "CustomerID": "99fa98a1-2ce0-457c-9371-0d3a01eb6ef0", "CustomerSecret": "5b8215f7-8595-42c0-9b63-404bcc474f94", "CustomerName": "Temp Name", "Email": "temp.mail@company.in", "CustomerSetting": null, "CreatedAt": "2023-03-23T09:36:26+05:30", "UpdatedAt": "2023-03-23T09:36:26+05:30", "DeletedAt": false }"#,
    )
}

pub fn customer_response() -> Value {
    success("01906552-dd91-4359-a184-739870991fa9", customer())
}

pub fn customer_deleted() -> Value {
    parse(
        r#"{ "RequestId": "f940efa6-349e-45e1-a298-de24f9a6e1a5", "Status": "Success", "Code": 200, "Error": "", "Data": "Deleted Successfully" }"#,
    )
}

pub fn app_request() -> Value {
    parse(
        r#"{ "AppName" : "WebRTC", "ExotelAccountSid": "abc", "ExotelApiKey": "wefwejfoiweuiof", "ExotelApiToken": "wefwejfoiweuiof", "ExotelDomain": "mumbai", "IsActive": true }"#,
    )
}

pub fn app_created() -> Value {
    parse(
        r#"{ "RequestId": "2405acfd-1ad3-486b-92d5-233965d8c204", "Status": "Success", "Code": 200, "Error": "", "Data": { "AppID": "2e6440ed-ff62-49d7-bb00-5494b313a863", "AppSecret": "61b1f4c2-30d5-4819-9a5c-006ed9784313", "CustomerID": "99fa98a1-2ce0-457c-9371-0d3a01eb6ef0", "AppName": "WebRTC", "ExotelAccountSid": "abc", "ExotelApiKey": "wefwejfoiweuiof", "ExotelApiToken": "wefwejfoiweuiof", "ExotelDomain": "mumbai", "IsActive": true, "CreatedAt": "2023-03-23T11:47:46+05:30", "UpdatedAt": "2023-03-23T11:47:46+05:30" } }"#,
    )
}

fn app() -> Value {
    parse(
        r#"{ "AppID": "2e6440ed-ff62-49d7-bb00-5494b313a863", "CustomerID": "99fa98a1-2ce0-457c-9371-0d3a01eb6ef0", "AppName": "WebRTC", "ExotelAccountSid": "abc", "ExotelDomain": "mumbai", "IsActive": true, "CreatedAt": "2023-03-23T11:47:46+05:30", "UpdatedAt": "2023-03-23T11:47:46+05:30" }"#,
    )
}

pub fn app_response() -> Value {
    success("c0897a32-372e-4f82-ac18-eaa2d3451d52", app())
}

pub fn apps_response() -> Value {
    success("1b13a16a-ad03-443e-83e7-0bb1b9297578", Value::Array(vec![app()]))
}

pub fn app_update_request() -> Value {
    parse(r#"{ "AppName": "WebRTC", "IsActive": false }"#)
}

pub fn app_deleted() -> Value {
    parse(
        r#"{ "RequestId": "0e8beb2c-5682-4718-a4ba-b3b7aa2d3c72", "Status": "Success", "Code": 200, "Error": "", "Data": "Deleted Successfully" }"#,
    )
}

pub fn setting_request() -> Value {
    parse(r#"{ "Key": "popup", "Value" : "https://webhook.site/" }"#)
}

fn setting() -> Value {
    parse(
        r#"{ "CustomerID": "99fa98a1-2ce0-457c-9371-0d3a01eb6ef0", "AppID": "2e6440ed-ff62-49d7-bb00-5494b313a863", "Key": "callback", "Value": "https://webhook.site/a4089342-b169-451d-a84d-c588856641a3" }"#,
    )
}

pub fn setting_response() -> Value {
    success("43a4833c-3698-4e70-8ea0-02ca8d71c362", setting())
}

pub fn settings_response() -> Value {
    success("43a4833c-3698-4e70-8ea0-02ca8d71c362", Value::Array(vec![setting()]))
}

pub fn setting_deleted() -> Value {
    parse(
        r#"{ "RequestId": "c6539add-273a-4bed-8adf-c91a00a3e04b", "Status": "Success", "Code": 200, "Error": "", "Data": "Deleted Successfully" }"#,
    )
}

/// The seed masks the numbers (`956190****`); they are spelled out so the example passes validation.
pub fn usermapping_request() -> Value {
    parse(
        r#"[ { "AppUserId": "123", "AppUsername": "ABC", "Email": "xyz@exotel.in", "ExotelAccountSid": "exoteldemo", "ExotelUserName": "ABC XYZ", "AgentNumber": "9561901234", "VirtualNumber": "01135124165" } ]"#,
    )
}

pub fn usermappings_created() -> Value {
    parse(
        r#"{ "RequestId": "5002f634-05d9-45b9-9faf-431f980a25d5", "Status": "Success", "Code": 200, "Error": "", "Data": [ { "CustomerId": "99fa98a1-2ce0-457c-9371-0d3a01eb6ef0", "AppID": "2e6440ed-ff62-49d7-bb00-5494b313a863", "AppUserId": "1", "ExotelAccountSid": "exoteldemo", "ExotelUserId": "fasdfdsf", "AppUsername": "user1 name", "ExotelUserName": "Temp Name", "AgentNumber": "9234567890", "ActiveDeviceId": "", "PhoneDeviceID": "057", "SipDeviceID": "9012", "VirtualNumber": "9876543210", "Email": "user@example.com", "OutboundActive": false, "Role": "admin", "SipId": "sip:a4343j", "SipSecret": "werewrweff", "IsActive": true, "UserDetail": null, "CreatedAt": "0001-01-01T00:00:00Z", "UpdatedAt": "0001-01-01T00:00:00Z" }, { "CustomerId": "99fa98a1-2ce0-457c-9371-0d3a01eb6ef0", "AppID": "2e6440ed-ff62-49d7-bb00-5494b313a863", "AppUserId": "2", "ExotelAccountSid": "exoteldemo", "ExotelUserId": "fasdfdsf", "AppUsername": "user2 name", "ExotelUserName": "Temp Name", "AgentNumber": "9234567890", "ActiveDeviceId": "", "PhoneDeviceID": "057", "SipDeviceID": "9012", "VirtualNumber": "9876543210", "Email": "user@example.com", "OutboundActive": false, "Role": "admin", "SipId": "sip:a4343j", "SipSecret": "werewrweff", "IsActive": true, "UserDetail": null, "CreatedAt": "0001-01-01T00:00:00Z", "UpdatedAt": "0001-01-01T00:00:00Z" } ] }"#,
    )
}

pub fn usermapping_response() -> Value {
    parse(
        r#"{ "RequestId": "5002f634-05d9-45b9-9faf-431f980a25d5", "Status": "Success", "Code": 200, "Error": "", "Data": { "CustomerId": "99fa98a1-2ce0-457c-9371-0d3a01eb6ef0", "AppID": "2e6440ed-ff62-49d7-bb00-5494b313a863", "AppUserId": "1", "ExotelAccountSid": "ACXXXXXXXXXXX", "ExotelUserId": "fasdfdsf", "AppUsername": "example user", "ExotelUserName": "Temp Name", "AgentNumber": "1234567890", "ActiveDeviceId": "", "PhoneDeviceID": "057", "SipDeviceID": "9012", "VirtualNumber": "9876543210", "Email": "user@example.com", "OutboundActive": false, "Role": "admin", "SipId": "sip:a4343j", "SipSecret": "*****", "IsActive": true, "UserDetail": null, "CreatedAt": "0001-01-01T00:00:00Z", "UpdatedAt": "0001-01-01T00:00:00Z" } }"#,
    )
}

/// The seed elides the rest of the page (`{ .... }, ....`); one user stands for it.
pub fn usermapping_page() -> Value {
    parse(
        r#"{ "RequestId": "875cf137-90f9-4ed2-93ef-6be226d0af85", "Status": "Success", "Code": 200, "Error": "", "Data": { "Users": [ { "CustomerId": "99fa98a1-2ce0-457c-9371-0d3a01eb6ef0", "AppID": "2e6440ed-ff62-49d7-bb00-5494b313a863", "AppUserId": "1", "ExotelAccountSid": "abc", "ExotelUserId": "fasdfdsf", "AppUsername": "Temp Name", "ExotelUserName": "Temp Name", "AgentNumber": "+0000000000", "ActiveDeviceId": "", "PhoneDeviceID": "057", "SipDeviceID": "9012", "VirtualNumber": "01135124165", "Email": "temp.user@company.in", "OutboundActive": false, "Role": "admin", "SipId": "sip:a4343j", "SipSecret": "b*5#TGC$2!r&s#X2H1Rt", "IsActive": true, "UserDetail": null, "CreatedAt": "0001-01-01T00:00:00Z", "UpdatedAt": "0001-01-01T00:00:00Z" } ], "PageSize": 20, "LastEvaluatedValue": "21" } }"#,
    )
}

pub fn usermappings_deleted() -> Value {
    parse(
        r#"{ "RequestId": "5002f634-05d9-45b9-9faf-431f980a25d5", "Status": "Success", "Code": 200, "Error": "", "Data": "Deleted Successfuly" }"#,
    )
}

pub fn device_request() -> Value {
    parse(r#"{ "UserId": "1", "DeviceName": "phone", "DeviceStatus": true }"#)
}

pub fn device_response() -> Value {
    parse(
        r#"{ "RequestId": "ebf58ac4-fea1-4cd3-bf88-ffae7b8539a4", "Status": "Success", "Code": 200, "Error": "", "Data": { "CustomerId": "99fa98a1-2ce0-457c-9371-0d3a01eb6ef0", "AppID": "2e6440ed-ff62-49d7-bb00-5494b313a863", "AppUserId": "1", "ExotelAccountSid": "abc", "ExotelUserId": "fasdfdsf", "AppUsername": "Temp Name", "ExotelUserName": "Temp Name", "AgentNumber": "+0000000000", "ActiveDeviceId": "", "PhoneDeviceID": "057", "SipDeviceID": "9012", "VirtualNumber": "01135124165", "Email": "temp.user@company.in", "OutboundActive": false, "Role": "admin", "SipId": "sip:a4343j", "SipSecret": "b*5#TGC$2!r&s#X2H1Rt", "IsActive": true, "UserDetail": null, "CreatedAt": "0001-01-01T00:00:00Z", "UpdatedAt": "0001-01-01T00:00:00Z" } }"#,
    )
}

pub fn inbound_response() -> Value {
    parse(
        r#"{ "RequestId": "5be38737-4a1c-4b29-9ede-b81ad2d702b6", "Status": "Success", "Code": 200, "Error": "", "Data": "Success" }"#,
    )
}

/// The seed's sample of the payload an outbound call's status callback delivers.
pub fn call_payload() -> Value {
    parse(
        r#"{ "CustomerId": "99fa98a1-2ce0-457c-9371-0d3a01eb6ef0", "AppId": "86fb2b8b-da8a-4649-a82c-db976b934c64", "CallSid": "7bea36f8c95f0fb10027daa6acee17c1", "ExotelAccountSid": "exotelveenotesting1m", "DialWhomNumber": "", "AppUserID": "ajay", "VirtualNumber": "+912235511457", "Direction": "outbound", "CallStatus": "", "CallState": "active", "ToNumber": "07251937261", "FromNumber": "08789489697", "TotalDuration": 0, "CallRecordings": "", "AccountDomain": "mumbai", "TicketId": "", "CallDetail": "recording_stop_success", "StartTime": "2023-12-04T23:02:19Z", "EndTime": "2023-12-04T23:02:19Z", "CreatedAt": "0001-01-01T00:00:00Z", "UpdatedAt": "0001-01-01T00:00:00Z" }"#,
    )
}

/// What an inbound call's webhooks carry (contract 7.1), before the per-type fields.
fn inbound_webhook(call_state: &str, call_detail: &str, end_time: &str) -> Value {
    serde_json::json!({
        "CustomerId": "99fa98a1-2ce0-457c-9371-0d3a01eb6ef0",
        "AppId": "2e6440ed-ff62-49d7-bb00-5494b313a863",
        "CallSid": "b7c5f0e2a4d34f6f9c1e8a2d3b4c5d6e",
        "ExotelAccountSid": "exoteldemo",
        "DialWhomNumber": "09234567890",
        "AppUserID": "1",
        "VirtualNumber": "01135124165",
        "Direction": "incoming",
        "CallStatus": "",
        "CallState": call_state,
        "ToNumber": "01135124165",
        "FromNumber": "09876543210",
        "TotalDuration": 0,
        "CallRecordings": "",
        "AccountDomain": "mumbai",
        "TicketId": "",
        "CallDetail": call_detail,
        "StartTime": "2023-12-04T23:02:19+05:30",
        "EndTime": end_time,
        "CreatedAt": "2023-12-04T23:02:20+05:30",
        "UpdatedAt": "2023-12-04T23:02:20+05:30"
    })
}

pub fn popup_webhook() -> Value {
    inbound_webhook("active", "", "")
}

pub fn hangup_webhook() -> Value {
    let mut payload = inbound_webhook("terminal", "terminal", "2023-12-04T23:03:01+05:30");
    payload["TotalDuration"] = 42.into();
    payload["CallRecordings"] = "https://recordings.exotel.com/b7c5f0e2a4d34f6f9c1e8a2d3b4c5d6e.mp3".into();
    payload
}

pub fn missed_call_webhook() -> Value {
    inbound_webhook("terminal", "terminal", "2023-12-04T23:02:49+05:30")
}

/// An outbound call's last status callback, as its `callback` webhook carries it (contract 7.2, 7.3).
pub fn callback_webhook() -> Value {
    let mut payload = call_payload();
    payload["AppUserID"] = "1".into();
    payload["FromNumber"] = "sip:a4343j".into();
    payload["DialWhomNumber"] = payload["ToNumber"].clone();
    payload["CallStatus"] = "completed".into();
    payload["CallState"] = "terminal".into();
    payload["TotalDuration"] = 42.into();
    payload["CallRecordings"] = "https://recordings.exotel.com/7bea36f8c95f0fb10027daa6acee17c1.mp3".into();
    payload["CallDetail"] = "terminal".into();
    payload["EndTime"] = "2023-12-04T23:03:01Z".into();
    payload
}

pub fn call_response() -> Value {
    success("5be38737-4a1c-4b29-9ede-b81ad2d702b6", call_payload())
}

pub fn outbound_request() -> Value {
    parse(
        r#"{ "to": "07251937261", "user_id": "ajay", "app_id": "86fb2b8b-da8a-4649-a82c-db976b934c64", "customer_id": "99fa98a1-2ce0-457c-9371-0d3a01eb6ef0" }"#,
    )
}

pub fn callback_event() -> Value {
    parse(
        r#"{ "event_details": { "event_type": "terminal" }, "call_details": { "sid": "7bea36f8c95f0fb10027daa6acee17c1", "state": "completed", "status": "completed", "total_talk_time": 42, "recordings": [ { "url": "https://recordings.exotel.com/7bea36f8c95f0fb10027daa6acee17c1.mp3" } ], "start_time": "2023-12-04 23:02:19", "end_time": "2023-12-04 23:03:01" } }"#,
    )
}

pub fn callback_response() -> Value {
    success("5be38737-4a1c-4b29-9ede-b81ad2d702b6", Value::String("Success".into()))
}

fn delivery(status: &str, next_attempt_at: Value) -> Value {
    serde_json::json!({
        "DeliveryId": "6f1c1d0e-8b8e-4a53-9a0c-2f3b8f0f4a11",
        "EventType": "popup",
        "Url": "https://crm.example.com/hooks/popup",
        "CallSid": "7bea36f8c95f0fb10027daa6acee17c1",
        "Status": status,
        "Attempts": 3,
        "LastResponseCode": 503,
        "LastError": "receiver answered 503",
        "NextAttemptAt": next_attempt_at,
        "CreatedAt": "2024-05-01T10:00:00+05:30",
        "DeliveredAt": null
    })
}

pub fn deliveries_response() -> Value {
    success(
        "9d1c4f49-1c7b-4c55-8d55-7c6a1c0b2d33",
        serde_json::json!({"Deliveries": [delivery("dead", Value::Null)], "PageSize": 20, "LastEvaluatedValue": ""}),
    )
}

pub fn delivery_retried() -> Value {
    success(
        "9d1c4f49-1c7b-4c55-8d55-7c6a1c0b2d33",
        delivery("pending", Value::String("2024-05-01T10:05:00+05:30".into())),
    )
}

pub fn health() -> Value {
    success("3f0c9a53-2f59-4a4c-9c2b-1a6f7a2c6f10", serde_json::json!({"status": "ok"}))
}

pub fn recover_request() -> Value {
    serde_json::json!({"Since": "2024-05-01T00:00:00+05:30", "Until": "2024-05-01T23:59:59+05:30", "Statuses": ["dead", "expired"]})
}

pub fn recover_response() -> Value {
    success("9d1c4f49-1c7b-4c55-8d55-7c6a1c0b2d33", serde_json::json!({"Queued": 12}))
}

pub fn setting_test_request() -> Value {
    serde_json::json!({"Key": "incomingCallHangup"})
}

pub fn setting_test_response() -> Value {
    success(
        "c2b1f0a4-7d0e-4c3a-9f5e-0d6b8e1f2a37",
        serde_json::json!({
            "DeliveryId": "msg_4e0f3b9c2a7d4f1e8b6c5d4a3f2e1d0c",
            "Url": "https://crm.example.com/hooks/hangup",
            "ResponseCode": 200,
            "DurationMs": 184,
            "Error": "",
            "ResponseBody": "{\"received\":true}"
        }),
    )
}

/// A delivery that failed once and then arrived, with its payload and its two attempts.
pub fn delivery_detail() -> Value {
    let mut data = delivery("delivered", Value::Null);
    data["EventType"] = "incomingCallHangup".into();
    data["Url"] = "https://crm.example.com/hooks/hangup".into();
    data["CallSid"] = "b7c5f0e2a4d34f6f9c1e8a2d3b4c5d6e".into();
    data["Attempts"] = 2.into();
    data["LastResponseCode"] = 200.into();
    data["LastError"] = "".into();
    data["DeliveredAt"] = "2023-12-04T23:03:08+05:30".into();
    data["CreatedAt"] = "2023-12-04T23:03:02+05:30".into();
    data["Payload"] = hangup_webhook();
    data["AttemptLog"] = serde_json::json!([
        {
            "Attempt": 1,
            "At": "2023-12-04T23:03:02+05:30",
            "ResponseCode": 500,
            "DurationMs": 95,
            "Error": "receiver answered 500: database is down",
            "ResponseBody": "database is down"
        },
        {
            "Attempt": 2,
            "At": "2023-12-04T23:03:08+05:30",
            "ResponseCode": 200,
            "DurationMs": 41,
            "Error": "",
            "ResponseBody": "ok"
        }
    ]);
    success("9d1c4f49-1c7b-4c55-8d55-7c6a1c0b2d33", data)
}

pub fn sandbox_inbound_call_request() -> Value {
    serde_json::json!({"from": "+919812300077", "user_id": "1", "outcome": "answered", "talk_seconds": 42})
}

/// The first popup of a simulated inbound call (contract 11), as `POST /sandbox/inbound_call` answers it.
pub fn sandbox_inbound_call_response() -> Value {
    let mut payload = inbound_webhook("active", "dial", "");
    payload["CallSid"] = "3f9d1c0b7a5e4d2c8b1a0f9e8d7c6b5a".into();
    payload["DialWhomNumber"] = "sip:a4343j".into();
    payload["VirtualNumber"] = "+918040001111".into();
    payload["ToNumber"] = "+918040001111".into();
    payload["FromNumber"] = "+919812300077".into();
    payload["CallStatus"] = "busy".into();
    payload["AccountDomain"] = "sandbox".into();
    success("0b8e3c2a-6f4d-4e1b-9a7c-5d2f1e0c9b8a", payload)
}

/// A delivery of the inbound call of [`inbound_webhook`], queued by one of its events.
fn inbound_delivery(id: &str, setting: &str, status: &str, created_at: &str) -> Value {
    serde_json::json!({
        "DeliveryId": id,
        "EventType": setting,
        "Url": format!("https://crm.example.com/hooks/{setting}"),
        "CallSid": "b7c5f0e2a4d34f6f9c1e8a2d3b4c5d6e",
        "Status": status,
        "Attempts": 1,
        "LastResponseCode": 200,
        "LastError": "",
        "NextAttemptAt": null,
        "CreatedAt": created_at,
        "DeliveredAt": created_at
    })
}

pub fn calls_response() -> Value {
    success(
        "0c3e1f5a-7d2b-4e8c-9a61-5b4d3c2e1f70",
        serde_json::json!({"Calls": [callback_webhook(), hangup_webhook()], "PageSize": 2, "LastEvaluatedValue": "1841"}),
    )
}

pub fn call_events_response() -> Value {
    let mut popup = popup_webhook();
    popup["CallStatus"] = "busy".into();
    popup["CallDetail"] = "dial".into();
    let mut hangup = hangup_webhook();
    hangup["CallStatus"] = "free".into();
    hangup["UpdatedAt"] = "2023-12-04T23:03:02+05:30".into();
    success(
        "6a2d8e4b-1f3c-4b7a-8e5d-2c9f0a1b3d4e",
        serde_json::json!({
            "CallSid": "b7c5f0e2a4d34f6f9c1e8a2d3b4c5d6e",
            "Events": [
                {
                    "EventType": "popup",
                    "ReceivedAt": "2023-12-04T23:02:20+05:30",
                    "Payload": popup,
                    "Deliveries": [inbound_delivery("msg_2b0e4c6f8a1d4e3f9b7c5a3d1e2f4a6b", "popup", "delivered", "2023-12-04T23:02:20+05:30")]
                },
                {
                    "EventType": "incomingcallhungup",
                    "ReceivedAt": "2023-12-04T23:03:02+05:30",
                    "Payload": hangup,
                    "Deliveries": [inbound_delivery("msg_7d9f1b3e5c2a4f6e8d0b2c4a6e8f1a3c", "incomingCallHangup", "delivered", "2023-12-04T23:03:02+05:30")]
                }
            ]
        }),
    )
}

fn admin_customer() -> Value {
    let mut customer = customer();
    let object = customer.as_object_mut().expect("an object");
    object.remove("CustomerSecret");
    object.insert("AppCount".into(), 1.into());
    customer
}

pub fn admin_customers_response() -> Value {
    success(
        "3e1c9a57-8d2b-4f60-a9c4-5b7e2d1f0a38",
        serde_json::json!({"Customers": [admin_customer()], "PageSize": 1, "LastEvaluatedValue": ""}),
    )
}

pub fn admin_customer_response() -> Value {
    let mut customer = admin_customer();
    customer["Apps"] = Value::Array(vec![app()]);
    success("7a4f2c91-0b3d-4e6a-8c5f-1d9e3b7a2c64", customer)
}

pub fn admin_app_request() -> Value {
    parse(r#"{ "IsActive": false }"#)
}

pub fn admin_health_response() -> Value {
    success(
        "b2d8e0f4-6a1c-4e39-9f72-3c5a7e1b9d06",
        serde_json::json!({
            "Database": "ok",
            "QueueDepth": 12,
            "OldestPendingAgeSeconds": 41,
            "FailingApps": [{
                "AppID": "2e6440ed-ff62-49d7-bb00-5494b313a863",
                "CustomerID": "99fa98a1-2ce0-457c-9371-0d3a01eb6ef0",
                "Dead24h": 37,
                "Pending": 4,
                "LastError": "HTTP 410"
            }]
        }),
    )
}

pub fn rotate_app_secret_request() -> Value {
    serde_json::json!({ "GraceHours": 24, "RevokeTokens": false })
}

pub fn rotate_app_secret_response() -> Value {
    success(
        "3f1c9a2e-7b4d-4e8a-9c6f-1d2e3f4a5b6c",
        serde_json::json!({
            "AppID": "2e6440ed-ff62-49d7-bb00-5494b313a863",
            "AppSecret": "8d3f6a1e-4c2b-4f7a-9e5d-0b1c2d3e4f5a",
            "PreviousSecretExpiresAt": "2023-12-05T23:02:20+05:30"
        }),
    )
}

pub fn passthru_update_request() -> Value {
    serde_json::json!({ "Required": true, "RenewKey": false })
}

pub fn passthru_response() -> Value {
    let url = |kind: &str| {
        format!(
            "https://integrations.example.com/v2/integrations/call/inbound_call/2e6440ed-ff62-49d7-bb00-5494b313a863\
             ?type={kind}&key=5f0e9c1b7a3d48e2b6c4a1f09d8e7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a291807"
        )
    };
    success(
        "6d2b9e4a-1c3f-4a7e-8b5d-2f1e0c9b8a7d",
        serde_json::json!({
            "Required": true,
            "Popup": url("popup"),
            "IncomingCallHangup": url("incomingcallhungup"),
            "MissedCall": url("missedcall")
        }),
    )
}

pub fn rotate_customer_secret_request() -> Value {
    serde_json::json!({ "RevokeTokens": true })
}

pub fn rotate_customer_secret_response() -> Value {
    success(
        "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d",
        serde_json::json!({
            "CustomerID": "99fa98a1-2ce0-457c-9371-0d3a01eb6ef0",
            "CustomerSecret": "5c4b3a29-1807-4f6e-8d5c-4b3a29180706"
        }),
    )
}

pub fn console_link_response() -> Value {
    success(
        "5a0c3e1f-8b2d-4c6e-9f1a-2b3c4d5e6f70",
        serde_json::json!({
            "Url": "https://integrations.example.com/console/#link=Yx3mQ0b7Vd2kR9sT1uW4zA6cE8gI0jL2nP4rS6tU8wY",
            "ExpiresAt": "2023-12-04T23:12:20+05:30"
        }),
    )
}

pub fn console_link_exchange_request() -> Value {
    parse(r#"{ "Code": "Yx3mQ0b7Vd2kR9sT1uW4zA6cE8gI0jL2nP4rS6tU8wY" }"#)
}
