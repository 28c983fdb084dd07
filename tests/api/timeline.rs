//! The call list and a call's timeline (CONTRACT 10): `GET /calls` and `GET /call/{CallSid}/events`.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::http::StatusCode;
use serde_json::{json, Value};
use tokio::task::JoinSet;

use crate::helpers::{keys, TestApp, TestAppEntity, CALL_PAYLOAD_KEYS, DELIVERY_KEYS};

const CALLS: &str = "/v2/integrations/calls";
const OUTBOUND: &str = "/v2/integrations/call/outbound_call";
/// A URL nothing answers: no dispatcher runs in these tests, so deliveries stay pending.
const HOOKS: &str = "http://127.0.0.1:9/hooks";

async fn local_app() -> (TestApp, TestAppEntity) {
    let app = TestApp::with_env(&[("WEBHOOK_ALLOW_PRIVATE", "true"), ("SANDBOX_CALL_STEP_MS", "50")]).await;
    let entity = app.seed_app("sandbox").await;
    (app, entity)
}

async fn passthru(app: &TestApp, entity: &TestAppEntity, kind: &str, query: &str) {
    let path = format!("/v2/integrations/call/inbound_call/{}?type={kind}&{query}", entity.id);
    assert_eq!(app.get(&path, None).await.data(), "Success");
}

fn events_path(call_sid: &str) -> String {
    format!("/v2/integrations/call/{call_sid}/events")
}

/// Places a sandbox outbound call and waits until its simulated lifecycle has ended; its CallSid.
async fn outbound_call(app: &TestApp, entity: &TestAppEntity, to: &str) -> String {
    let placed = app.post(OUTBOUND, Some(&entity.token), json!({"to": to, "user_id": "meera"})).await;
    let call_sid = placed.data()["CallSid"].as_str().unwrap().to_string();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let call = app.get(&format!("/v2/integrations/call/{call_sid}"), Some(&entity.token)).await;
        if call.data()["CallState"] == "terminal" {
            return call_sid;
        }
        assert!(Instant::now() < deadline, "the sandbox call never ended: {}", call.text);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Every page of `path` (a query without `last_value`) at `page_size`: the CallSids in order, and the pages' sizes.
async fn all_pages(app: &TestApp, entity: &TestAppEntity, path: &str, page_size: usize) -> (Vec<String>, Vec<usize>) {
    let (mut sids, mut sizes, mut cursor) = (Vec::new(), Vec::new(), String::new());
    loop {
        let answer = app.get(&format!("{path}&page_size={page_size}&last_value={cursor}"), Some(&entity.token)).await;
        let data = answer.data();
        assert_eq!(data["PageSize"], page_size, "{}", answer.text);
        let calls = data["Calls"].as_array().unwrap();
        sizes.push(calls.len());
        sids.extend(calls.iter().map(|c| c["CallSid"].as_str().unwrap().to_string()));
        cursor = data["LastEvaluatedValue"].as_str().unwrap().to_string();
        if cursor.is_empty() {
            return (sids, sizes);
        }
        assert!(sizes.len() < 100, "paging never ends");
    }
}

async fn listed(app: &TestApp, entity: &TestAppEntity, query: &str) -> Vec<String> {
    all_pages(app, entity, &format!("{CALLS}?{query}"), 100).await.0
}

#[tokio::test]
async fn an_inbound_calls_events_come_oldest_first_with_the_payload_after_each_and_the_delivery_each_queued() {
    let (app, entity) = local_app().await;
    app.set_setting(&entity, "popup", format!("{HOOKS}/popup")).await;
    app.set_setting(&entity, "incomingCallHangup", format!("{HOOKS}/hangup")).await;

    passthru(&app, &entity, "popup", "CallSid=in1&CallFrom=09812300077&CallTo=08040001111&Status=busy&EventType=Dial")
        .await;
    passthru(&app, &entity, "popup", "CallSid=other&CallFrom=09812300078").await;
    passthru(&app, &entity, "incomingcallhungup", "CallSid=in1&Status=free&EventType=Terminal&DialCallDuration=42")
        .await;

    let answer = app.get(&events_path("in1"), Some(&entity.token)).await;
    let data = answer.data();
    assert_eq!(answer.data_keys(), keys(&["CallSid", "Events"]));
    assert_eq!(data["CallSid"], "in1");
    let events = data["Events"].as_array().unwrap();
    assert_eq!(events.len(), 2, "the other call's event is not in this call's timeline: {}", answer.text);
    let ordered = Ordered::parse(&answer.text);
    for (n, event) in ordered.at("Data").at("Events").items().iter().enumerate() {
        assert_eq!(event.keys(), keys(&["EventType", "ReceivedAt", "Payload", "Deliveries"]), "event {n}");
        assert_eq!(event.at("Payload").keys(), keys(&CALL_PAYLOAD_KEYS), "event {n}: the payload in 7.1's order");
        for delivery in event.at("Deliveries").items() {
            assert_eq!(delivery.keys(), keys(&DELIVERY_KEYS), "event {n}: a delivery object as the log has it");
        }
    }

    let (popup, hangup) = (&events[0], &events[1]);
    assert_eq!(popup["EventType"], "popup");
    assert_eq!(popup["Payload"]["CallState"], "active");
    assert_eq!(popup["Payload"]["CallStatus"], "busy");
    assert_eq!(popup["Payload"]["CallDetail"], "dial");
    assert_eq!(popup["Payload"]["FromNumber"], "09812300077");
    assert_eq!(hangup["Payload"]["CallState"], "terminal");
    assert_eq!(hangup["Payload"]["CallStatus"], "free");
    assert_eq!(hangup["Payload"]["TotalDuration"], 42);
    for event in events {
        let received = event["ReceivedAt"].as_str().unwrap();
        let at = chrono::DateTime::parse_from_rfc3339(received).unwrap_or_else(|e| panic!("{received}: {e}"));
        assert_eq!(at.offset().local_minus_utc(), 5 * 3600 + 1800, "{received}: in the display offset");
        assert_eq!(event["Payload"]["CallSid"], "in1");
    }

    // Each event shows the delivery it queued, the very one the delivery log shows.
    let log = app.get("/v2/integrations/webhook_deliveries", Some(&entity.token)).await;
    let logged: Vec<&Value> =
        log.data()["Deliveries"].as_array().unwrap().iter().filter(|d| d["CallSid"] == "in1").collect();
    assert_eq!(logged.len(), 2);
    assert_eq!(popup["Deliveries"], json!([logged[0]]));
    assert_eq!(hangup["Deliveries"], json!([logged[1]]));
    assert_eq!(popup["Deliveries"][0]["EventType"], "popup");
    assert_eq!(popup["Deliveries"][0]["Url"], format!("{HOOKS}/popup"));
    assert_eq!(popup["Deliveries"][0]["Status"], "pending");
    assert_eq!(hangup["Deliveries"][0]["EventType"], "incomingCallHangup");
    assert_eq!(hangup["Deliveries"][0]["Url"], format!("{HOOKS}/hangup"));

    // An event whose setting has no URL queued nothing.
    passthru(&app, &entity, "missedcall", "CallSid=in1&Status=free").await;
    let answer = app.get(&events_path("in1"), Some(&entity.token)).await;
    let events = answer.data()["Events"].as_array().unwrap().clone();
    assert_eq!(events.len(), 3);
    assert_eq!(events[2]["Deliveries"], json!([]), "{}", answer.text);
    assert_eq!(events[1]["Deliveries"], hangup["Deliveries"], "earlier events keep theirs");
}

#[tokio::test]
async fn an_outbound_sandbox_call_is_listed_as_outbound_with_its_latest_payload_and_its_status_events() {
    let (app, entity) = local_app().await;
    app.set_setting(&entity, "callback", format!("{HOOKS}/callback")).await;
    app.map_agent(&entity, "meera", "+919812300011").await;
    passthru(&app, &entity, "popup", "CallSid=incoming1").await;

    let call_sid = outbound_call(&app, &entity, "+919812300077").await;

    let outbound = app.get(&format!("{CALLS}?direction=outbound"), Some(&entity.token)).await;
    let calls = outbound.data()["Calls"].as_array().unwrap();
    assert_eq!(calls.len(), 1, "{}", outbound.text);
    assert_eq!(calls[0]["CallSid"], call_sid.as_str());
    assert_eq!(calls[0]["Direction"], "outbound");
    assert_eq!(calls[0]["CallState"], "terminal", "the call's latest payload");
    assert_eq!(calls[0]["CallStatus"], "completed");
    assert_eq!(calls[0]["AppUserID"], "meera");
    assert_eq!(Ordered::parse(&outbound.text).at("Data").at("Calls").items()[0].keys(), keys(&CALL_PAYLOAD_KEYS));
    assert_eq!(listed(&app, &entity, "direction=incoming").await, ["incoming1"]);
    assert_eq!(listed(&app, &entity, "").await, [call_sid.as_str(), "incoming1"]);

    let timeline = app.get(&events_path(&call_sid), Some(&entity.token)).await;
    let events = timeline.data()["Events"].as_array().unwrap();
    assert_eq!(events.len(), 3, "created, answered, terminal: {}", timeline.text);
    assert_eq!(events[0]["Payload"]["Direction"], "outbound");
    assert_eq!(events[0]["Payload"]["CallState"], "active");
    assert!(events[0]["Payload"]["CallDetail"].is_null(), "as the outbound answer had it");
    assert_eq!(events[0]["Deliveries"], json!([]), "a call's creation queues no webhook");
    assert_eq!(
        events[1..].iter().map(|e| e["EventType"].as_str().unwrap()).collect::<Vec<_>>(),
        ["answered", "terminal"]
    );
    for event in &events[1..] {
        let deliveries = event["Deliveries"].as_array().unwrap();
        assert_eq!(deliveries.len(), 1, "{event}");
        assert_eq!(deliveries[0]["EventType"], "callback");
        assert_eq!(deliveries[0]["CallSid"], call_sid.as_str());
    }
    assert_eq!(events[2]["Payload"]["CallStatus"], "completed");
}

#[tokio::test]
async fn calls_are_listed_newest_first_by_their_first_event_and_paged_without_skip_or_repeat() {
    let (app, entity) = local_app().await;
    app.map_agent(&entity, "meera", "+919812300011").await;
    for n in 0..5 {
        passthru(&app, &entity, "popup", &format!("CallSid=c{n}")).await;
    }
    let out = outbound_call(&app, &entity, "+919812300077").await;
    for n in 5..8 {
        passthru(&app, &entity, "popup", &format!("CallSid=c{n}")).await;
    }
    // Later events of older calls move nothing; events without a CallSid are no call.
    passthru(&app, &entity, "incomingcallhungup", "CallSid=c1&Status=free").await;
    passthru(&app, &entity, "popup", "CallSid=c0&EventType=Answered").await;
    passthru(&app, &entity, "popup", "CallFrom=09812300077").await;
    passthru(&app, &entity, "popup", "CallSid=&CallFrom=09812300078").await;

    let newest_first: Vec<String> =
        ["c7", "c6", "c5", out.as_str(), "c4", "c3", "c2", "c1", "c0"].iter().map(|s| s.to_string()).collect();
    let (sids, sizes) = all_pages(&app, &entity, &format!("{CALLS}?"), 4).await;
    assert_eq!(sids, newest_first);
    assert_eq!(sizes, [4, 4, 1]);
    let (sids, sizes) = all_pages(&app, &entity, &format!("{CALLS}?"), 3).await;
    assert_eq!(sids, newest_first, "a page boundary on the last call");
    assert_eq!(sizes, [3, 3, 3]);
    let (sids, sizes) = all_pages(&app, &entity, &format!("{CALLS}?direction=Incoming"), 2).await;
    assert_eq!(sids, newest_first.iter().filter(|s| **s != out).cloned().collect::<Vec<_>>());
    assert_eq!(sizes, [2, 2, 2, 2]);
    assert_eq!(listed(&app, &entity, "direction=outbound").await, [out.as_str()]);

    // The default page is 20, and each call shows its latest payload.
    let first = app.get(CALLS, Some(&entity.token)).await;
    let data = first.data();
    assert_eq!(data["PageSize"], 20);
    assert_eq!(data["LastEvaluatedValue"], "");
    let calls = data["Calls"].as_array().unwrap();
    let c1 = calls.iter().find(|c| c["CallSid"] == "c1").unwrap();
    assert_eq!(c1["CallState"], "terminal");
    let c0 = calls.iter().find(|c| c["CallSid"] == "c0").unwrap();
    assert_eq!(c0["CallDetail"], "answered");

    // A call that comes after the first page was read is not on the later ones.
    let page = app.get(&format!("{CALLS}?page_size=4"), Some(&entity.token)).await;
    let cursor = page.data()["LastEvaluatedValue"].as_str().unwrap().to_string();
    passthru(&app, &entity, "popup", "CallSid=c8").await;
    let rest = all_pages(&app, &entity, &format!("{CALLS}?last_value={cursor}"), 100).await.0;
    assert_eq!(rest, newest_first[4..]);
    assert_eq!(listed(&app, &entity, "").await[0], "c8", "it tops a fresh list");
}

#[tokio::test]
async fn bad_list_parameters_are_400s_naming_them() {
    let (app, entity) = local_app().await;
    passthru(&app, &entity, "popup", "CallSid=c1").await;
    for (query, name) in [
        ("direction=inbound", "direction"),
        ("direction=1", "direction"),
        ("direction=incoming,outbound", "direction"),
        ("page_size=0", "page_size"),
        ("page_size=101", "page_size"),
        ("page_size=ten", "page_size"),
        ("last_value=-1", "last_value"),
        ("last_value=abc", "last_value"),
        ("direction=%FF", "direction"),
    ] {
        let answer = app.get(&format!("{CALLS}?{query}"), Some(&entity.token)).await;
        let error = answer.error(StatusCode::BAD_REQUEST);
        assert!(error.contains(name), "{query}: {error}");
    }
    // Empty values are the defaults, as on the other lists.
    let answer = app.get(&format!("{CALLS}?direction=&page_size=&last_value="), Some(&entity.token)).await;
    assert_eq!(answer.data()["Calls"].as_array().unwrap().len(), 1);
    assert_eq!(app.get(CALLS, None).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(app.get(&events_path("c1"), None).await.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn another_apps_call_is_a_404_for_its_events_and_absent_from_its_list() {
    let (app, entity) = local_app().await;
    let other = app.seed_app_for(&entity.customer, "sandbox").await;
    app.set_setting(&entity, "popup", format!("{HOOKS}/popup")).await;
    passthru(&app, &entity, "popup", "CallSid=mine&CallFrom=09812300077").await;
    passthru(&app, &entity, "popup", "CallSid=shared&CallFrom=09812300077").await;
    passthru(&app, &other, "popup", "CallSid=shared&CallFrom=09812300099").await;

    let error = app.get(&events_path("mine"), Some(&other.token)).await.error(StatusCode::NOT_FOUND);
    assert!(error.contains("mine"), "{error}");
    app.get(&events_path("never-seen"), Some(&entity.token)).await.error(StatusCode::NOT_FOUND);
    assert_eq!(listed(&app, &other, "").await, ["shared"]);
    assert_eq!(listed(&app, &entity, "").await, ["shared", "mine"]);

    // The same CallSid in two apps is two calls: each app sees only its own.
    let theirs = app.get(&events_path("shared"), Some(&other.token)).await;
    let events = theirs.data()["Events"].as_array().unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["Payload"]["FromNumber"], "09812300099");
    assert_eq!(events[0]["Payload"]["AppId"], other.id.as_str());
    assert_eq!(events[0]["Deliveries"], json!([]), "the other app has no popup URL");
    let mine = app.get(&events_path("shared"), Some(&entity.token)).await;
    assert_eq!(mine.data()["Events"][0]["Payload"]["FromNumber"], "09812300077");
    assert_eq!(mine.data()["Events"][0]["Deliveries"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn the_timeline_route_leaves_the_passthru_routes_theirs() {
    let (app, entity) = local_app().await;
    passthru(&app, &entity, "popup", "CallSid=events").await;

    // `/call/inbound_call/events` is the passthru of an app called "events", not a timeline.
    let answer = app.get("/v2/integrations/call/inbound_call/events?type=popup", None).await;
    let error = answer.error(StatusCode::NOT_FOUND);
    assert!(error.contains("no app"), "{error}");
    let answer = app.get(&format!("/v2/integrations/call/inbound_call/{}?type=popup&CallSid=x", entity.id), None).await;
    assert_eq!(answer.data(), "Success");
    // `/call/status_callback/events` is Exotel's callback for an app called "events": unsigned, 401.
    let answer = app.post("/v2/integrations/call/status_callback/events", None, serde_json::json!({})).await;
    let error = answer.error(StatusCode::UNAUTHORIZED);
    assert!(!error.contains("CallSid"), "not read as a timeline: {error}");
    // A call named like a route segment still has its timeline and its record.
    assert_eq!(app.get(&events_path("events"), Some(&entity.token)).await.data()["CallSid"], "events");
    assert_eq!(app.get("/v2/integrations/call/events", Some(&entity.token)).await.data()["CallSid"], "events");
}

#[tokio::test]
async fn concurrent_events_of_one_call_list_it_once() {
    let app = Arc::new(TestApp::with_env(&[("WEBHOOK_ALLOW_PRIVATE", "true")]).await);
    let entity = app.seed_app("sandbox").await;
    let mut requests = JoinSet::new();
    for n in 0..48 {
        let (app, entity) = (app.clone(), entity.clone());
        // Twelve calls of four events each, all at once: batches hold several events of one call.
        requests
            .spawn(async move { passthru(&app, &entity, "popup", &format!("CallSid=burst{}&n={n}", n % 12)).await });
    }
    while let Some(done) = requests.join_next().await {
        done.unwrap();
    }

    let sids = listed(&app, &entity, "").await;
    assert_eq!(sids.len(), 12, "{sids:?}");
    assert_eq!(sids.iter().collect::<HashSet<_>>().len(), 12, "{sids:?}");
    let events = app.get(&events_path("burst3"), Some(&entity.token)).await;
    assert_eq!(events.data()["Events"].as_array().unwrap().len(), 4);
}

/// Fails until the call-events service stores the contract's names (the `simulator` branch):
/// today it stores `incomingCallHangup`, `missedCall` and `placed`.
#[tokio::test]
async fn the_timeline_names_events_in_the_contracts_vocabulary() {
    let (app, entity) = local_app().await;
    app.map_agent(&entity, "meera", "+919812300011").await;
    passthru(&app, &entity, "popup", "CallSid=v1").await;
    passthru(&app, &entity, "incomingcallhungup", "CallSid=v1").await;
    passthru(&app, &entity, "missedcall", "CallSid=v2").await;
    let out = outbound_call(&app, &entity, "+919812300077").await;

    let names = |answer: crate::helpers::TestResponse| -> Vec<String> {
        let events = answer.data()["Events"].as_array().unwrap().clone();
        events.iter().map(|e| e["EventType"].as_str().unwrap().to_string()).collect()
    };
    assert_eq!(names(app.get(&events_path("v1"), Some(&entity.token)).await), ["popup", "incomingcallhungup"]);
    assert_eq!(names(app.get(&events_path("v2"), Some(&entity.token)).await), ["missedcall"]);
    assert_eq!(
        names(app.get(&events_path(&out), Some(&entity.token)).await),
        ["outbound_call", "answered", "terminal"]
    );
}

#[tokio::test]
async fn migrating_names_old_events_anew_links_old_deliveries_and_lists_old_calls() {
    let (app, entity) = local_app().await;
    let id = entity.id.as_str();
    // The tables as they stood before migration 0009, with rows the earlier code wrote.
    for sql in [
        "DROP INDEX call_events_calls",
        "DROP INDEX webhook_deliveries_by_call",
        "ALTER TABLE call_events DROP COLUMN call_direction",
        "ALTER TABLE webhook_deliveries DROP COLUMN event_id",
        "DELETE FROM _sqlx_migrations WHERE version = 9",
    ] {
        app.raw_execute(sql).await;
    }
    let payload = |sid: &str, direction: &str, state: &str| {
        json!({"CustomerId": entity.customer.id, "AppId": id, "CallSid": sid, "ExotelAccountSid": "", "DialWhomNumber": "",
            "AppUserID": "", "VirtualNumber": "", "Direction": direction, "CallStatus": "", "CallState": state,
            "ToNumber": "", "FromNumber": "", "TotalDuration": 0, "CallRecordings": "", "AccountDomain": "sandbox",
            "TicketId": "", "CallDetail": null, "StartTime": "", "EndTime": "",
            "CreatedAt": "2024-05-01T10:00:00+05:30", "UpdatedAt": "2024-05-01T10:00:00+05:30"})
        .to_string()
    };
    let events = [
        ("e1", "old-in", "popup", payload("old-in", "incoming", "active"), 1_000),
        ("e2", "old-out", "placed", payload("old-out", "outbound", "active"), 2_000),
        ("e3", "old-in", "incomingCallHangup", payload("old-in", "incoming", "terminal"), 3_000),
        ("e4", "old-missed", "missedCall", payload("old-missed", "incoming", "terminal"), 4_000),
        ("e5", "", "popup", payload("", "incoming", "active"), 5_000),
    ];
    for (event_id, sid, kind, body, at) in &events {
        app.raw_execute(&format!(
            "INSERT INTO call_events (id, app_id, call_sid, event_type, payload, created_at) \
             VALUES ('{event_id}', '{id}', '{sid}', '{kind}', '{body}', {at})"
        ))
        .await;
    }
    for (delivery_id, setting, event) in [("d1", "popup", &events[0]), ("d3", "incomingCallHangup", &events[2])] {
        let (_, sid, _, body, at) = event;
        app.raw_execute(&format!(
            "INSERT INTO webhook_deliveries (id, app_id, event_type, url, call_sid, payload, status, attempts, \
             next_attempt_at, lease_until, expires_at, last_response_code, last_error, created_at, updated_at, delivered_at) \
             VALUES ('{delivery_id}', '{id}', '{setting}', 'https://crm.example.com/{setting}', '{sid}', '{body}', \
             'delivered', 1, {at}, 0, NULL, 200, '', {at}, {at}, {at})"
        ))
        .await;
    }

    app.store().migrate().await.expect("migration 0009 runs again");

    assert_eq!(listed(&app, &entity, "").await, ["old-missed", "old-out", "old-in"]);
    assert_eq!(listed(&app, &entity, "direction=outbound").await, ["old-out"]);
    let timeline = app.get(&events_path("old-in"), Some(&entity.token)).await;
    let events = timeline.data()["Events"].as_array().unwrap();
    let names: Vec<&str> = events.iter().map(|e| e["EventType"].as_str().unwrap()).collect();
    assert_eq!(names, ["popup", "incomingcallhungup"]);
    let delivered: Vec<&Value> = events.iter().map(|e| &e["Deliveries"][0]["DeliveryId"]).collect();
    assert_eq!(delivered, [&json!("d1"), &json!("d3")], "{}", timeline.text);
    let timeline = app.get(&events_path("old-out"), Some(&entity.token)).await;
    assert_eq!(timeline.data()["Events"][0]["EventType"], "outbound_call");
    let timeline = app.get(&events_path("old-missed"), Some(&entity.token)).await;
    assert_eq!(timeline.data()["Events"][0]["EventType"], "missedcall");
}

/// A JSON value with its objects' keys in the order of the text (serde_json's own map sorts them).
#[derive(Debug)]
enum Ordered {
    Object(Vec<(String, Ordered)>),
    Array(Vec<Ordered>),
    Other,
}

impl Ordered {
    fn parse(text: &str) -> Self {
        serde_json::from_str(text).unwrap_or_else(|e| panic!("{e}: {text}"))
    }

    fn at(&self, key: &str) -> &Ordered {
        match self {
            Self::Object(entries) => {
                &entries.iter().find(|(k, _)| k == key).unwrap_or_else(|| panic!("no {key} in {self:?}")).1
            }
            _ => panic!("{key}: not an object"),
        }
    }

    fn keys(&self) -> Vec<String> {
        match self {
            Self::Object(entries) => entries.iter().map(|(k, _)| k.clone()).collect(),
            _ => panic!("not an object: {self:?}"),
        }
    }

    fn items(&self) -> &[Ordered] {
        match self {
            Self::Array(items) => items,
            _ => panic!("not an array: {self:?}"),
        }
    }
}

impl<'de> serde::Deserialize<'de> for Ordered {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = Ordered;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("JSON")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Ordered, A::Error> {
                let mut entries = Vec::new();
                while let Some((key, value)) = map.next_entry::<String, Ordered>()? {
                    entries.push((key, value));
                }
                Ok(Ordered::Object(entries))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Ordered, A::Error> {
                let mut items = Vec::new();
                while let Some(item) = seq.next_element::<Ordered>()? {
                    items.push(item);
                }
                Ok(Ordered::Array(items))
            }
            fn visit_bool<E>(self, _: bool) -> Result<Ordered, E> {
                Ok(Ordered::Other)
            }
            fn visit_i64<E>(self, _: i64) -> Result<Ordered, E> {
                Ok(Ordered::Other)
            }
            fn visit_u64<E>(self, _: u64) -> Result<Ordered, E> {
                Ok(Ordered::Other)
            }
            fn visit_f64<E>(self, _: f64) -> Result<Ordered, E> {
                Ok(Ordered::Other)
            }
            fn visit_str<E>(self, _: &str) -> Result<Ordered, E> {
                Ok(Ordered::Other)
            }
            fn visit_unit<E>(self) -> Result<Ordered, E> {
                Ok(Ordered::Other)
            }
        }
        deserializer.deserialize_any(Visitor)
    }
}
