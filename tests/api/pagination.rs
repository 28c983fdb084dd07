//! Cursor pages under concurrent writes: a reader paging from the start while writers commit
//! sees every committed row exactly once, on SQLite and on Postgres.

use std::collections::HashSet;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::http::StatusCode;
use integrations_core::crypto::Sealed;
use integrations_core::store::{CallEvent, DeliveryFilter, EventDelivery, EventWrite, Store, UserMappingRow};

use crate::helpers::{release, TestApp};
use crate::store::{app_row, customer};
use crate::usermapping::USERMAPPING;

type Boxed<T> = Pin<Box<dyn Future<Output = T> + Send>>;
/// Stores rows with these keys.
type Write = Arc<dyn Fn(Vec<String>) -> Boxed<()> + Send + Sync>;
/// Reads the page after a cursor: each row's cursor value and key.
type Page = Arc<dyn Fn(i64) -> Boxed<Vec<(i64, String)>> + Send + Sync>;

/// How one paged table is written and read.
struct Paged {
    /// Stores rows with these keys, in creation order.
    write: Write,
    /// The page after `cursor`: each row's cursor value and key, in cursor order.
    page: Page,
    /// A statement that inserts a row whose key is `late`.
    clash: String,
}

const WRITERS: usize = 4;
const BATCHES_PER_WRITER: usize = 6;
const PAGE_SIZE: i64 = 3;

/// A fresh app with an id of its own (the tests of a run share one Postgres database).
async fn seeded_app() -> (TestApp, Store, String) {
    let app = TestApp::new().await;
    let store = app.store().clone();
    let app_id = format!("app-{}", uuid::Uuid::new_v4().simple());
    store.insert_customer(&customer("c1", 1_000)).await.unwrap();
    store.insert_app(&app_row(&app_id, "c1", 1_000), None).await.unwrap();
    (app, store, app_id)
}

/// Writers store rows while a reader follows the cursor from 0 until every write has committed
/// and a page comes back empty. One writer is held up after the database gave its row a cursor
/// value: its key clashes with a row of a transaction left open, so it can commit only when that
/// transaction rolls back, half a second later, after rows with higher cursor values have
/// committed and been paged past. Asserts that the reader saw every committed row exactly once.
async fn page_while_writing(app: &TestApp, paged: Paged) {
    let blocker = app.uncommitted(&paged.clash).await;
    let late = tokio::spawn((paged.write)(vec!["late".to_string()]));
    tokio::time::sleep(Duration::from_millis(200)).await;

    let mut expected = vec!["late".to_string()];
    let mut writers = tokio::task::JoinSet::new();
    for w in 0..WRITERS {
        let batches: Vec<Vec<String>> =
            (0..BATCHES_PER_WRITER).map(|b| vec![format!("w{w}-b{b}-1"), format!("w{w}-b{b}-2")]).collect();
        expected.extend(batches.iter().flatten().cloned());
        let write = paged.write.clone();
        writers.spawn(async move {
            for batch in batches {
                write(batch).await;
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        });
    }
    let all_committed = Arc::new(AtomicBool::new(false));
    let done = all_committed.clone();
    let finishing = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(500)).await;
        release(blocker).await;
        late.await.expect("the held-up writer");
        while let Some(writer) = writers.join_next().await {
            writer.expect("a writer");
        }
        done.store(true, Ordering::SeqCst);
    });

    let started = Instant::now();
    let (mut seen, mut seen_set, mut cursor) = (Vec::new(), HashSet::new(), 0);
    loop {
        // Read before paging: the empty page that ends the walk must come after the last commit.
        let finished = all_committed.load(Ordering::SeqCst);
        let rows = (paged.page)(cursor).await;
        for (value, key) in &rows {
            assert!(*value > cursor, "row {key} has cursor {value}, not after {cursor}");
            assert!(seen_set.insert(key.clone()), "row {key} was paged twice");
            seen.push(key.clone());
            cursor = *value;
        }
        if rows.is_empty() && finished {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(30), "the writers never finished");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    finishing.await.unwrap();

    let missed: Vec<&String> = expected.iter().filter(|key| !seen_set.contains(*key)).collect();
    assert!(missed.is_empty(), "the reader never saw {missed:?} (it saw, in order: {seen:?})");
    assert_eq!(seen.len(), expected.len(), "the reader saw rows nobody wrote: {seen:?}");
}

fn mapping(app_id: &str, key: &str) -> UserMappingRow {
    UserMappingRow {
        seq: 0,
        app_id: app_id.to_string(),
        customer_id: "c1".to_string(),
        app_user_id: key.to_string(),
        exotel_account_sid: "acme1".to_string(),
        exotel_user_id: format!("exo-{key}"),
        app_username: key.to_string(),
        exotel_user_name: "Paged Agent".to_string(),
        agent_number: String::new(),
        active_device_id: String::new(),
        phone_device_id: String::new(),
        sip_device_id: String::new(),
        virtual_number: "+918047000000".to_string(),
        email: "agent@example.com".to_string(),
        outbound_active: false,
        role: "user".to_string(),
        sip_id: String::new(),
        sip_password: Sealed(String::new()),
        is_active: true,
        created_at: 1_000,
        updated_at: 1_000,
    }
}

/// A statement that inserts a mapping `late` of the app.
fn mapping_clash(app_id: &str, customer_id: &str) -> String {
    format!(
        "INSERT INTO user_mappings (app_id, customer_id, app_user_id, exotel_account_sid, exotel_user_id, \
         app_username, exotel_user_name, agent_number, agent_last10, active_device_id, phone_device_id, \
         sip_device_id, virtual_number, email, outbound_active, role, sip_id, sip_password, is_active, created_at, \
         updated_at) VALUES ('{app_id}', '{customer_id}', 'late', 'acme1', '', 'late', 'Late Agent', '', '', '', \
         '', '', '+918047000000', 'late@example.com', FALSE, 'user', '', '', TRUE, 1000, 1000)"
    )
}

#[tokio::test]
async fn a_reader_paging_user_mappings_while_writers_commit_out_of_order_sees_every_mapping_once() {
    let (app, store, app_id) = seeded_app().await;
    let clash = mapping_clash(&app_id, "c1");
    let (writes, reads, id) = (store.clone(), store, app_id.clone());
    let write = Arc::new(move |keys: Vec<String>| -> Boxed<()> {
        let (store, app_id) = (writes.clone(), app_id.clone());
        Box::pin(async move {
            let rows = keys.iter().map(|key| mapping(&app_id, key)).collect();
            store.insert_user_mappings(&app_id, rows).await.expect("mappings stored");
        })
    });
    let page = Arc::new(move |after: i64| -> Boxed<Vec<(i64, String)>> {
        let (store, app_id) = (reads.clone(), id.clone());
        Box::pin(async move {
            let rows = store.list_user_mappings(&app_id, after, PAGE_SIZE).await.expect("a page");
            rows.into_iter().map(|row| (row.seq, row.app_user_id)).collect()
        })
    });

    page_while_writing(&app, Paged { write, page, clash }).await;
}

/// On Postgres a page read waits for the app's writes in flight, as long as a request may wait
/// for a connection; past that the storage counts as unavailable (503). SQLite's reads never wait:
/// its one writer commits rows in the order of their cursor values.
#[tokio::test]
async fn a_page_read_waits_for_a_stalled_write_on_postgres_no_longer_than_for_a_connection() {
    let app = TestApp::with_env(&[("DATABASE_ACQUIRE_TIMEOUT_MS", "500")]).await;
    let entity = app.seed_app("sandbox").await;
    let blocker = app.uncommitted(&mapping_clash(&entity.id, &entity.customer.id)).await;
    let (store, app_id) = (app.store().clone(), entity.id.clone());
    let late = tokio::spawn(async move { store.insert_user_mappings(&app_id, vec![mapping(&app_id, "late")]).await });
    tokio::time::sleep(Duration::from_millis(200)).await;

    let started = Instant::now();
    let answer = app.get(USERMAPPING, Some(&entity.token)).await;
    let waited = started.elapsed();
    if cfg!(feature = "pg-tests") {
        assert!(answer.error(StatusCode::SERVICE_UNAVAILABLE).contains("storage is unavailable"), "{}", answer.text);
        assert!(waited >= Duration::from_millis(450), "answered after {waited:?}");
    } else {
        assert_eq!(answer.data()["Users"], serde_json::json!([]), "{}", answer.text);
    }
    assert!(waited < Duration::from_millis(1_500), "answered after {waited:?}");

    release(blocker).await;
    late.await.unwrap().expect("the held-up write commits once the clash is gone");
    let page = app.get(USERMAPPING, Some(&entity.token)).await;
    assert_eq!(page.data()["Users"][0]["AppUserId"], "late", "{}", page.text);
}

/// A call event of its own call that queues a delivery whose id is `key`.
fn event_with_delivery(app_id: &str, key: &str) -> EventWrite {
    EventWrite {
        event: CallEvent {
            id: format!("event-{key}"),
            app_id: app_id.to_string(),
            call_sid: format!("call-{key}"),
            event_type: "popup".to_string(),
            payload: "{}".to_string(),
            at: 1_000,
        },
        delivery: Some(EventDelivery {
            id: key.to_string(),
            event_type: "popup".to_string(),
            url: "https://crm.example/hook".to_string(),
            expires_at: None,
        }),
        lease_until: 0,
    }
}

#[tokio::test]
async fn a_reader_paging_the_delivery_log_while_events_commit_out_of_order_sees_every_delivery_once() {
    let (app, store, app_id) = seeded_app().await;
    let clash = format!(
        "INSERT INTO webhook_deliveries (id, app_id, event_type, url, call_sid, payload, status, attempts, \
         next_attempt_at, lease_until, expires_at, last_response_code, last_error, created_at, updated_at, \
         delivered_at) VALUES ('late', '{app_id}', 'popup', 'https://crm.example/hook', 'call-late', '{{}}', \
         'pending', 0, 1000, 0, NULL, NULL, '', 1000, 1000, NULL)"
    );
    let (writes, reads, id) = (store.clone(), store, app_id.clone());
    // Each key is queued as the passthru path does (batched with concurrent events).
    let write = Arc::new(move |keys: Vec<String>| -> Boxed<()> {
        let (store, app_id) = (writes.clone(), app_id.clone());
        Box::pin(async move {
            for key in keys {
                store.record_call_event(event_with_delivery(&app_id, &key)).await.expect("event recorded");
            }
        })
    });
    let page = Arc::new(move |after: i64| -> Boxed<Vec<(i64, String)>> {
        let (store, app_id) = (reads.clone(), id.clone());
        Box::pin(async move {
            let rows =
                store.list_deliveries(&app_id, &DeliveryFilter::default(), after, PAGE_SIZE).await.expect("a page");
            rows.into_iter().map(|row| (row.seq, row.message.id)).collect()
        })
    });

    page_while_writing(&app, Paged { write, page, clash }).await;
}
