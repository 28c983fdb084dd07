//! The store on its own: customers, apps, tokens and settings, on SQLite (and Postgres under `pg-tests`).

use integrations_core::crypto::Sealed;
use integrations_core::domain::ExotelDomain;
use integrations_core::store::{
    AppRoom, AppRow, AppUpdate, CallEvent, CustomerRow, EventDelivery, EventWrite, Store, StoreError, TokenOwner,
};

use crate::helpers::TestApp;

pub(crate) fn customer(id: &str, created_at: i64) -> CustomerRow {
    CustomerRow {
        id: id.to_string(),
        name: format!("Customer {id}"),
        email: format!("{id}@example.com"),
        secret: Sealed(format!("sealed-secret-{id}")),
        created_at,
        updated_at: created_at,
    }
}

pub(crate) fn app_row(id: &str, customer_id: &str, created_at: i64) -> AppRow {
    AppRow {
        id: id.to_string(),
        customer_id: customer_id.to_string(),
        name: format!("App {id}"),
        exotel_account_sid: "acme1".to_string(),
        exotel_api_key: Sealed(format!("sealed-key-{id}")),
        exotel_api_token: Sealed(format!("sealed-token-{id}")),
        exotel_domain: ExotelDomain::Mumbai,
        is_active: true,
        secret: Sealed(format!("sealed-app-secret-{id}")),
        created_at,
        updated_at: created_at,
    }
}

/// A store holding customer `c1` with app `a1`.
async fn seeded() -> (TestApp, Store) {
    let app = TestApp::new().await;
    let store = app.store().clone();
    store.insert_customer(&customer("c1", 1_000)).await.unwrap();
    store.insert_app(&app_row("a1", "c1", 1_000), None).await.unwrap();
    (app, store)
}

fn ids(apps: &[AppRow]) -> Vec<&str> {
    apps.iter().map(|a| a.id.as_str()).collect()
}

#[tokio::test]
async fn a_customer_is_found_after_insert_and_gone_after_delete() {
    let app = TestApp::new().await;
    let store = app.store();
    store.insert_customer(&customer("c1", 1_000)).await.unwrap();

    let found = store.find_customer("c1").await.unwrap().expect("inserted customer");
    assert_eq!(
        (found.name.as_str(), found.email.as_str(), found.secret.0.as_str(), found.created_at, found.updated_at),
        ("Customer c1", "c1@example.com", "sealed-secret-c1", 1_000, 1_000)
    );
    assert!(store.find_customer("c2").await.unwrap().is_none());

    assert!(store.delete_customer("c1").await.unwrap());
    assert!(store.find_customer("c1").await.unwrap().is_none());
    assert!(!store.delete_customer("c1").await.unwrap(), "a second delete finds nothing");
}

#[tokio::test]
async fn customers_are_listed_oldest_first() {
    let app = TestApp::new().await;
    let store = app.store();
    for (id, at) in [("c-late", 3_000), ("c-early", 1_000), ("c-mid", 2_000)] {
        store.insert_customer(&customer(id, at)).await.unwrap();
    }

    let listed = store.list_customers().await.unwrap();

    let ids: Vec<&str> = listed.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(ids, ["c-early", "c-mid", "c-late"]);
}

#[tokio::test]
async fn inserting_a_customer_id_twice_is_a_conflict() {
    let app = TestApp::new().await;
    let store = app.store();
    store.insert_customer(&customer("c1", 1_000)).await.unwrap();

    let error = store.insert_customer(&customer("c1", 2_000)).await.unwrap_err();

    assert!(matches!(&error, StoreError::Conflict(message) if message.contains("c1")), "{error:?}");
    assert_eq!(store.find_customer("c1").await.unwrap().unwrap().created_at, 1_000);
}

#[tokio::test]
async fn apps_are_listed_oldest_first_and_only_for_their_customer() {
    let (_app, store) = seeded().await;
    store.insert_customer(&customer("c2", 1_000)).await.unwrap();
    for (id, at) in [("a-late", 3_000), ("a-early", 500), ("a-tie-z", 2_000), ("a-tie-y", 2_000)] {
        store.insert_app(&app_row(id, "c1", at), None).await.unwrap();
    }
    store.insert_app(&app_row("other", "c2", 100), None).await.unwrap();

    let listed = store.list_apps("c1").await.unwrap();

    assert_eq!(ids(&listed), ["a-early", "a1", "a-tie-y", "a-tie-z", "a-late"]);
    assert_eq!(ids(&store.list_apps("c2").await.unwrap()), ["other"]);
    assert!(store.list_apps("nobody").await.unwrap().is_empty());
}

#[tokio::test]
async fn an_app_keeps_every_column_it_was_stored_with() {
    let (_app, store) = seeded().await;

    let found = store.find_app_unscoped("a1").await.unwrap().expect("stored app");

    let expected = app_row("a1", "c1", 1_000);
    assert_eq!(
        (&found.customer_id, &found.name, &found.exotel_account_sid, &found.exotel_domain, found.is_active),
        (&expected.customer_id, &expected.name, &expected.exotel_account_sid, &expected.exotel_domain, true)
    );
    assert_eq!(
        (&found.exotel_api_key, &found.exotel_api_token, &found.secret),
        (&expected.exotel_api_key, &expected.exotel_api_token, &expected.secret)
    );
    assert_eq!((found.created_at, found.updated_at), (1_000, 1_000));
    assert!(store.find_app_unscoped("a2").await.unwrap().is_none());
}

#[tokio::test]
async fn an_app_needs_an_existing_customer() {
    let app = TestApp::new().await;

    let result = app.store().insert_app(&app_row("a1", "ghost", 1_000), None).await;

    assert!(result.is_err(), "an app without its customer was stored");
    assert!(app.store().find_app_unscoped("a1").await.unwrap().is_none());
}

#[tokio::test]
async fn an_update_changes_only_the_fields_it_names() {
    let (_app, store) = seeded().await;

    let renamed = store
        .update_app("c1", "a1", &AppUpdate { name: Some("Renamed".into()), ..AppUpdate::default() }, 5_000)
        .await
        .unwrap()
        .expect("own app");

    assert_eq!(renamed.name, "Renamed");
    assert_eq!(renamed.updated_at, 5_000);
    assert_eq!(renamed.created_at, 1_000);
    assert_eq!(renamed.exotel_domain, ExotelDomain::Mumbai);
    assert!(renamed.is_active);
    assert_eq!(renamed.exotel_api_key, Sealed("sealed-key-a1".into()));
    assert_eq!(renamed.exotel_api_token, Sealed("sealed-token-a1".into()));

    let update = AppUpdate {
        exotel_api_key: Some(Sealed("k2".into())),
        exotel_api_token: Some(Sealed("t2".into())),
        exotel_domain: Some(ExotelDomain::Singapore),
        is_active: Some(false),
        ..AppUpdate::default()
    };
    let switched = store.update_app("c1", "a1", &update, 6_000).await.unwrap().unwrap();

    assert_eq!(switched.name, "Renamed", "an earlier change survives a later partial update");
    assert_eq!(
        (switched.exotel_api_key, switched.exotel_api_token, switched.exotel_domain.as_str(), switched.is_active),
        (Sealed("k2".into()), Sealed("t2".into()), "singapore", false)
    );
    let stored = store.find_app_unscoped("a1").await.unwrap().unwrap();
    assert_eq!((stored.is_active, stored.updated_at), (false, 6_000));
}

#[tokio::test]
async fn an_update_of_another_customers_app_changes_nothing() {
    let (_app, store) = seeded().await;
    store.insert_customer(&customer("c2", 1_000)).await.unwrap();

    let update = AppUpdate { name: Some("Hijacked".into()), is_active: Some(false), ..AppUpdate::default() };
    let result = store.update_app("c2", "a1", &update, 9_000).await.unwrap();

    assert!(result.is_none());
    assert!(store.update_app("c1", "missing", &update, 9_000).await.unwrap().is_none());
    let stored = store.find_app_unscoped("a1").await.unwrap().unwrap();
    assert_eq!((stored.name.as_str(), stored.is_active, stored.updated_at), ("App a1", true, 1_000));
}

#[tokio::test]
async fn an_app_is_deleted_only_by_its_own_customer() {
    let (_app, store) = seeded().await;
    store.insert_customer(&customer("c2", 1_000)).await.unwrap();

    assert!(!store.delete_app("c2", "a1").await.unwrap());
    assert!(store.find_app_unscoped("a1").await.unwrap().is_some());

    assert!(store.delete_app("c1", "a1").await.unwrap());
    assert!(store.find_app_unscoped("a1").await.unwrap().is_none());
    assert!(!store.delete_app("c1", "a1").await.unwrap());
}

#[tokio::test]
async fn deleting_a_customer_removes_its_apps_settings_and_tokens() {
    let (_app, store) = seeded().await;
    store.upsert_setting("a1", "popup", "https://x.example.com", 1_000).await.unwrap();
    store.insert_token("customer-hash", "c1", None, 1_000, i64::MAX).await.unwrap();
    store.insert_token("app-hash", "c1", Some("a1"), 1_000, i64::MAX).await.unwrap();

    assert!(store.delete_customer("c1").await.unwrap());

    assert!(store.find_app_unscoped("a1").await.unwrap().is_none());
    assert!(store.list_settings("a1").await.unwrap().is_empty());
    assert!(store.resolve_token("customer-hash", 2_000).await.unwrap().is_none());
    assert!(store.resolve_token("app-hash", 2_000).await.unwrap().is_none());
}

#[tokio::test]
async fn a_setting_is_created_then_replaced_in_place() {
    let (_app, store) = seeded().await;

    let created = store.upsert_setting("a1", "popup", "https://one.example.com", 1_000).await.unwrap();
    store.upsert_setting("a1", "callback", "https://cb.example.com", 2_000).await.unwrap();
    let replaced = store.upsert_setting("a1", "popup", "https://two.example.com", 3_000).await.unwrap();

    assert_eq!((created.key.as_str(), created.value.as_str()), ("popup", "https://one.example.com"));
    assert_eq!((replaced.app_id.as_str(), replaced.value.as_str()), ("a1", "https://two.example.com"));
    let found = store.find_setting("a1", "popup").await.unwrap().unwrap();
    assert_eq!(found, replaced);
    let keys: Vec<String> = store.list_settings("a1").await.unwrap().into_iter().map(|s| s.key).collect();
    assert_eq!(keys, ["popup", "callback"], "a replaced setting keeps its place");
}

#[tokio::test]
async fn settings_belong_to_one_app() {
    let (_app, store) = seeded().await;
    store.insert_app(&app_row("a2", "c1", 2_000), None).await.unwrap();
    store.upsert_setting("a1", "record", "true", 1_000).await.unwrap();

    assert!(store.find_setting("a2", "record").await.unwrap().is_none());
    assert!(store.list_settings("a2").await.unwrap().is_empty());
    assert!(!store.delete_setting("a2", "record").await.unwrap());
    assert_eq!(store.find_setting("a1", "record").await.unwrap().unwrap().value, "true");
}

#[tokio::test]
async fn a_setting_is_deleted_once() {
    let (_app, store) = seeded().await;
    store.upsert_setting("a1", "record", "false", 1_000).await.unwrap();

    assert!(store.delete_setting("a1", "record").await.unwrap());

    assert!(store.find_setting("a1", "record").await.unwrap().is_none());
    assert!(!store.delete_setting("a1", "record").await.unwrap());
}

#[tokio::test]
async fn a_token_resolves_to_the_customer_or_app_it_was_issued_for() {
    let (_app, store) = seeded().await;
    store.insert_token("customer-hash", "c1", None, 1_000, 10_000).await.unwrap();
    store.insert_token("app-hash", "c1", Some("a1"), 1_000, 10_000).await.unwrap();

    let customer_owner = store.resolve_token("customer-hash", 2_000).await.unwrap();
    let app_owner = store.resolve_token("app-hash", 2_000).await.unwrap();

    match customer_owner {
        Some(TokenOwner::Customer(c)) => {
            assert_eq!(
                (c.id.as_str(), c.email.as_str(), c.secret.0.as_str()),
                ("c1", "c1@example.com", "sealed-secret-c1")
            )
        }
        other => panic!("expected the customer, got {other:?}"),
    }
    match app_owner {
        Some(TokenOwner::App(a)) => {
            assert_eq!((a.id.as_str(), a.customer_id.as_str(), a.name.as_str()), ("a1", "c1", "App a1"));
            assert_eq!((a.exotel_domain.as_str(), a.is_active, a.created_at), ("mumbai", true, 1_000));
            assert_eq!(a.secret, Sealed("sealed-app-secret-a1".into()));
            assert_eq!(a.exotel_api_key, Sealed("sealed-key-a1".into()));
        }
        other => panic!("expected the app, got {other:?}"),
    }
    assert!(store.resolve_token("unknown-hash", 2_000).await.unwrap().is_none());
}

#[tokio::test]
async fn a_token_stops_resolving_at_its_expiry() {
    let (_app, store) = seeded().await;
    store.insert_token("hash", "c1", None, 1_000, 10_000).await.unwrap();

    assert!(store.resolve_token("hash", 9_999).await.unwrap().is_some());
    assert!(store.resolve_token("hash", 10_000).await.unwrap().is_none());
    assert!(store.resolve_token("hash", 20_000).await.unwrap().is_none());
}

#[tokio::test]
async fn an_app_token_stops_resolving_when_its_app_is_deleted() {
    let (_app, store) = seeded().await;
    store.insert_token("app-hash", "c1", Some("a1"), 1_000, 10_000).await.unwrap();
    store.insert_token("customer-hash", "c1", None, 1_000, 10_000).await.unwrap();

    store.delete_app("c1", "a1").await.unwrap();

    assert!(store.resolve_token("app-hash", 2_000).await.unwrap().is_none());
    assert!(store.resolve_token("customer-hash", 2_000).await.unwrap().is_some(), "the customer's token lives on");
}

#[tokio::test]
async fn purging_removes_only_expired_tokens() {
    let (_app, store) = seeded().await;
    store.insert_token("old", "c1", None, 1_000, 5_000).await.unwrap();
    store.insert_token("edge", "c1", None, 1_000, 6_000).await.unwrap();
    store.insert_token("live", "c1", Some("a1"), 1_000, 60_000).await.unwrap();

    let purged = store.purge_expired_tokens(6_000).await.unwrap();

    assert_eq!(purged, 2);
    assert!(store.resolve_token("live", 6_000).await.unwrap().is_some());
    assert!(store.resolve_token("old", 0).await.unwrap().is_none(), "the row itself is gone");
    assert!(store.resolve_token("edge", 0).await.unwrap().is_none(), "the row itself is gone");
}

#[tokio::test]
async fn a_token_needs_an_existing_owner() {
    let (_app, store) = seeded().await;

    assert!(store.insert_token("h1", "ghost", None, 1_000, 10_000).await.is_err());
    assert!(store.insert_token("h2", "c1", Some("ghost-app"), 1_000, 10_000).await.is_err());
    assert!(store.resolve_token("h1", 2_000).await.unwrap().is_none());
}

#[tokio::test]
async fn the_store_answers_a_ping_until_closed() {
    let (_app, store) = seeded().await;

    store.ping().await.unwrap();
    store.close().await;

    assert!(store.ping().await.is_err());
}

/// Queues a delivery of app `a1` as an event does, unleased (for a claim to find).
async fn queue_delivery(store: &integrations_core::store::Store, id: &str, call_sid: &str, now: i64) {
    let write = EventWrite {
        event: CallEvent {
            id: format!("event-{id}"),
            app_id: "a1".to_string(),
            call_sid: call_sid.to_string(),
            event_type: "missedCall".to_string(),
            payload: "{}".to_string(),
            at: now,
        },
        delivery: Some(EventDelivery {
            id: id.to_string(),
            event_type: "missedCall".to_string(),
            url: "https://crm.example.com/hook".to_string(),
            expires_at: None,
        }),
        lease_until: 0,
    };
    store.record_call_event(write).await.unwrap().expect("the delivery is queued");
}

/// Records one attempt's outcome.
async fn record_attempt(
    store: &integrations_core::store::Store,
    id: &str,
    record: integrations_core::store::AttemptRecord,
) {
    store.record_attempts(&[(id, &record)]).await.unwrap();
}

/// Room for `idle` deliveries of every app.
fn every_app(idle: i64) -> AppRoom {
    AppRoom { busy: Vec::new(), idle }
}

/// Queues an event's delivery; whether it was stored leased.
async fn leased(store: &integrations_core::store::Store, write: EventWrite) -> bool {
    store.record_call_event(write).await.unwrap().expect("the event has a delivery").leased
}

fn finished(
    status: integrations_core::domain::call::DeliveryStatus,
    now: i64,
) -> integrations_core::store::AttemptRecord {
    integrations_core::store::AttemptRecord {
        status,
        response_code: Some(200),
        error: String::new(),
        next_attempt_at: now,
        now,
        attempted_at: now,
        duration_ms: 5,
        response_body: String::new(),
    }
}

#[tokio::test]
async fn purging_removes_only_finished_deliveries_older_than_the_cutoff() {
    use integrations_core::domain::call::DeliveryStatus;
    let (_app, store) = seeded().await;
    for (id, sid) in [("old-done", "c1"), ("new-done", "c2"), ("old-pending", "c3")] {
        queue_delivery(&store, id, sid, 1_000).await;
    }
    record_attempt(&store, "old-done", finished(DeliveryStatus::Delivered, 2_000)).await;
    record_attempt(&store, "new-done", finished(DeliveryStatus::Dead, 9_000)).await;

    let purged = store.purge_finished_deliveries(5_000).await.unwrap();

    assert_eq!(purged, 1);
    assert!(store.find_delivery("a1", "old-done").await.unwrap().is_none());
    assert!(store.find_delivery("a1", "new-done").await.unwrap().is_some());
    assert!(store.find_delivery("a1", "old-pending").await.unwrap().is_some(), "pending work is never purged");
}

#[tokio::test]
async fn a_later_delivery_for_the_same_call_and_url_is_not_claimed_while_an_earlier_one_is_pending() {
    let (_app, store) = seeded().await;
    queue_delivery(&store, "first", "call-1", 1_000).await;
    queue_delivery(&store, "second", "call-1", 1_000).await;
    queue_delivery(&store, "other", "call-2", 1_000).await;

    let claimed = claimed_ids(&store, 2_000, 60_000, 10, &every_app(10)).await;
    assert_eq!(claimed, ["first", "other"]);
    assert!(
        claimed_ids(&store, 2_000, 60_000, 10, &every_app(10)).await.is_empty(),
        "leased rows are not claimed twice"
    );

    record_attempt(&store, "first", finished(integrations_core::domain::call::DeliveryStatus::Delivered, 3_000)).await;
    let next = claimed_ids(&store, 3_000, 60_000, 10, &every_app(10)).await;
    assert_eq!(next, ["second"]);
    // A lease that ran out (its worker died) makes the row claimable again.
    let again = claimed_ids(&store, 70_000, 130_000, 10, &every_app(10)).await;
    assert_eq!(again, ["second", "other"]);
}

/// The ids a claim takes, in the order it returns them.
async fn claimed_ids(
    store: &integrations_core::store::Store,
    now: i64,
    lease_until: i64,
    limit: i64,
    room: &AppRoom,
) -> Vec<String> {
    store.claim_due_deliveries(now, lease_until, limit, room).await.unwrap().into_iter().map(|d| d.message.id).collect()
}

pub(crate) fn event_write(app_id: &str, call_sid: &str, n: u32, url: Option<&str>, lease_until: i64) -> EventWrite {
    EventWrite {
        event: CallEvent {
            id: format!("event-{call_sid}-{n}"),
            app_id: app_id.to_string(),
            call_sid: call_sid.to_string(),
            event_type: "popup".to_string(),
            payload: format!(r#"{{"CallSid":"{call_sid}","n":{n}}}"#),
            at: 1_000 + i64::from(n),
        },
        delivery: url.map(|url| EventDelivery {
            id: format!("msg-{call_sid}-{n}"),
            event_type: "popup".to_string(),
            url: url.to_string(),
            expires_at: None,
        }),
        lease_until,
    }
}

#[tokio::test]
async fn concurrent_events_are_all_recorded_and_a_write_for_a_missing_app_fails_alone() {
    let (_app, store) = seeded().await;
    let mut writes = tokio::task::JoinSet::new();
    for n in 0..40u32 {
        let store = store.clone();
        let app_id = if n == 17 { "no-such-app" } else { "a1" };
        writes.spawn(async move {
            (
                n,
                store
                    .record_call_event(event_write(
                        app_id,
                        &format!("call-{n}"),
                        n,
                        Some("https://crm.example/hook"),
                        0,
                    ))
                    .await,
            )
        });
    }
    while let Some(done) = writes.join_next().await {
        let (n, result) = done.unwrap();
        assert_eq!(result.is_err(), n == 17, "write {n}: {result:?}");
    }

    for n in (0..40u32).filter(|n| *n != 17) {
        let call = store.find_call("a1", &format!("call-{n}")).await.unwrap().expect("the call is stored");
        assert!(call.payload.contains(&format!(r#""n":{n}"#)), "{}", call.payload);
        assert!(store.find_delivery("a1", &format!("msg-call-{n}-{n}")).await.unwrap().is_some());
    }
    assert!(store.find_call("no-such-app", "call-17").await.unwrap().is_none(), "nothing of the failed write is kept");
}

#[tokio::test]
async fn a_delivery_is_stored_leased_only_when_nothing_earlier_of_its_call_and_url_is_pending() {
    let (_app, store) = seeded().await;
    let hook = Some("https://crm.example/hook");
    let other_hook = Some("https://crm.example/other");

    assert!(leased(&store, event_write("a1", "call-1", 1, hook, 50_000)).await, "first of its call");
    assert!(!leased(&store, event_write("a1", "call-1", 2, hook, 50_000)).await, "waits behind the first");
    assert!(leased(&store, event_write("a1", "call-1", 3, other_hook, 50_000)).await, "another URL");
    assert!(leased(&store, event_write("a1", "", 4, hook, 50_000)).await, "no call to keep in order");
    assert!(!leased(&store, event_write("a1", "call-2", 5, hook, 0)).await, "no lease asked for");

    assert_eq!(store.find_call("a1", "call-1").await.unwrap().unwrap().payload, r#"{"CallSid":"call-1","n":3}"#);
    let claimed = claimed_ids(&store, 2_000, 60_000, 10, &every_app(10)).await;
    assert_eq!(claimed, ["msg-call-2-5"], "leased rows are not claimed, and the second of call-1 still waits");
}

#[tokio::test]
async fn a_claim_takes_no_more_of_an_app_than_its_room_and_nothing_of_a_full_app() {
    let (_app, store) = seeded().await;
    store.insert_app(&app_row("a2", "c1", 1_000), None).await.unwrap();
    store.insert_app(&app_row("a3", "c1", 1_000), None).await.unwrap();
    for n in 0..4u32 {
        for app_id in ["a1", "a2", "a3"] {
            let call_sid = format!("{app_id}-call-{n}");
            store
                .record_call_event(event_write(app_id, &call_sid, n, Some("https://crm.example/hook"), 0))
                .await
                .unwrap();
        }
    }
    let room = AppRoom { busy: vec![("a1".to_string(), 1), ("a2".to_string(), 0)], idle: 3 };

    let claimed = store.claim_due_deliveries(2_000, 60_000, 100, &room).await.unwrap();

    let count = |app: &str| claimed.iter().filter(|d| d.message.app_id == app).count();
    assert_eq!((count("a1"), count("a2"), count("a3")), (1, 0, 3));
}

#[tokio::test]
async fn an_apps_backlog_beyond_its_room_does_not_hide_other_apps_deliveries_from_a_claim() {
    let (_app, store) = seeded().await;
    store.insert_app(&app_row("a2", "c1", 1_000), None).await.unwrap();
    for n in 0..20u32 {
        let call_sid = format!("a1-call-{n}");
        store.record_call_event(event_write("a1", &call_sid, n, Some("https://crm.example/hook"), 0)).await.unwrap();
    }
    for n in 20..22u32 {
        let call_sid = format!("a2-call-{n}");
        store.record_call_event(event_write("a2", &call_sid, n, Some("https://crm.example/hook"), 0)).await.unwrap();
    }
    let room = AppRoom { busy: vec![("a1".to_string(), 1)], idle: 10 };

    let claimed = claimed_ids(&store, 2_000, 60_000, 10, &room).await;

    assert_eq!(claimed, ["msg-a1-call-0-0", "msg-a2-call-20-20", "msg-a2-call-21-21"]);
}

#[tokio::test]
async fn concurrent_claims_never_take_the_same_delivery() {
    let (_app, store) = seeded().await;
    for n in 0..60u32 {
        let call_sid = format!("call-{n}");
        store.record_call_event(event_write("a1", &call_sid, n, Some("https://crm.example/hook"), 0)).await.unwrap();
    }

    let mut claims = tokio::task::JoinSet::new();
    for _ in 0..6 {
        let store = store.clone();
        claims.spawn(async move { store.claim_due_deliveries(2_000, 60_000, 20, &every_app(100)).await });
    }
    let mut taken = Vec::new();
    while let Some(done) = claims.join_next().await {
        taken.extend(done.unwrap().unwrap().into_iter().map(|d| d.message.id));
    }

    // A claim that loses a race for a row leaves it: whatever the racing claims left is still there.
    taken.extend(claimed_ids(&store, 2_000, 60_000, 100, &every_app(100)).await);
    let distinct: std::collections::HashSet<&String> = taken.iter().collect();
    assert_eq!(distinct.len(), taken.len(), "a delivery was claimed twice: {taken:?}");
    assert_eq!(taken.len(), 60, "every delivery was claimed once");
}

#[tokio::test]
async fn released_leases_are_claimed_again_at_once() {
    let (_app, store) = seeded().await;
    store.record_call_event(event_write("a1", "call-1", 1, Some("https://crm.example/hook"), 90_000)).await.unwrap();
    assert!(claimed_ids(&store, 2_000, 60_000, 10, &every_app(10)).await.is_empty());

    store.release_leases(&["msg-call-1-1".to_string()]).await.unwrap();

    let claimed = claimed_ids(&store, 2_000, 60_000, 10, &every_app(10)).await;
    assert_eq!(claimed, ["msg-call-1-1"]);
}

#[tokio::test]
async fn concurrent_token_lookups_each_get_their_own_owner() {
    let (_app, store) = seeded().await;
    store.insert_app(&app_row("a2", "c1", 1_000), None).await.unwrap();
    store.insert_token("customer-hash", "c1", None, 1_000, 10_000).await.unwrap();
    store.insert_token("a1-hash", "c1", Some("a1"), 1_000, 10_000).await.unwrap();
    store.insert_token("a2-hash", "c1", Some("a2"), 1_000, 5_000).await.unwrap();

    let mut lookups = tokio::task::JoinSet::new();
    for n in 0..40 {
        let store = store.clone();
        let hash = ["customer-hash", "a1-hash", "a2-hash", "unknown"][n % 4];
        let now = if n % 8 == 2 { 6_000 } else { 2_000 };
        lookups.spawn(async move { (hash, now, store.resolve_token(hash, now).await.unwrap()) });
    }
    while let Some(done) = lookups.join_next().await {
        let (hash, now, owner) = done.unwrap();
        let owner = match owner {
            Some(TokenOwner::Customer(c)) => format!("customer {}", c.id),
            Some(TokenOwner::App(a)) => format!("app {}", a.id),
            None => "none".to_string(),
        };
        let expected = match (hash, now) {
            ("customer-hash", _) => "customer c1",
            ("a1-hash", _) => "app a1",
            ("a2-hash", 2_000) => "app a2",
            _ => "none",
        };
        assert_eq!(owner, expected, "{hash} at {now}");
    }
}

#[cfg(not(feature = "pg-tests"))]
#[tokio::test]
async fn the_sqlite_wal_starts_over_under_a_steady_stream_of_writes() {
    let (app, store) = seeded().await;
    let padding = "x".repeat(4_000);
    for round in 0..40u32 {
        let mut writes = tokio::task::JoinSet::new();
        for n in 0..50u32 {
            let store = store.clone();
            let mut write = event_write("a1", &format!("call-{round}-{n}"), n, Some("https://crm.example/hook"), 0);
            write.event.payload = format!(r#"{{"pad":"{padding}"}}"#);
            writes.spawn(async move { store.record_call_event(write).await.unwrap() });
        }
        while writes.join_next().await.is_some() {}
    }

    // 2,000 events of 4 kB, each stored three times: far more than the WAL may hold.
    let wal = std::fs::metadata(app.sqlite_file().with_extension("db-wal")).map(|m| m.len()).unwrap_or(0);
    assert!(wal < 16 * 1024 * 1024, "the WAL kept growing: {wal} bytes");
}
