//! Storage trouble is a fast, honest 503 and never a lost write: a full SQLite disk, a database
//! that is gone, and recovery once the storage is back.

use std::time::{Duration, Instant};

use axum::http::{header, StatusCode};

use crate::helpers::TestApp;

/// The passthru URL of a missed call for `entity`.
fn missed_call(app_id: &str, call_sid: &str) -> String {
    format!("/v2/integrations/call/inbound_call/{app_id}?type=missedcall&CallSid={call_sid}&From=09812300011")
}

#[tokio::test]
async fn with_the_database_gone_requests_answer_503_with_retry_after_at_once() {
    let app = TestApp::with_env(&[("DATABASE_ACQUIRE_TIMEOUT_MS", "500")]).await;
    let entity = app.seed_app("sandbox").await;
    app.store().close().await;

    for answer in [
        app.get(&missed_call(&entity.id, "gone-1"), None).await,
        app.get("/v2/integrations/app", Some(&entity.token)).await,
        app.token_response(&entity.id, &entity.secret, "app").await,
    ] {
        let error = answer.error(StatusCode::SERVICE_UNAVAILABLE);
        assert!(error.contains("storage is unavailable"), "{error}");
        assert_eq!(answer.headers[header::RETRY_AFTER], "1");
    }

    let started = Instant::now();
    let ready = app.get("/readyz", None).await;
    ready.error(StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(ready.headers[header::RETRY_AFTER], "1");
    assert!(started.elapsed() < Duration::from_secs(2), "readyz took {:?}", started.elapsed());
}

#[tokio::test]
async fn a_passthru_answers_503_within_the_bound_while_the_database_stalls_its_writes_then_recovers() {
    let app = TestApp::with_env(&[("DATABASE_ACQUIRE_TIMEOUT_MS", "500")]).await;
    let entity = app.seed_app("sandbox").await;
    let lock = app.hold_write_lock("call_events").await;

    let started = Instant::now();
    let answer = app.get(&missed_call(&entity.id, "stalled-1"), None).await;
    let waited = started.elapsed();
    assert!(answer.error(StatusCode::SERVICE_UNAVAILABLE).contains("storage is unavailable"));
    assert_eq!(answer.headers[header::RETRY_AFTER], "1");
    assert!(waited < Duration::from_millis(1_200), "answered after {waited:?}");

    drop(lock);
    app.get(&missed_call(&entity.id, "after-the-stall"), None).await.data();
    app.get("/v2/integrations/call/after-the-stall", Some(&entity.token)).await.data();
}

#[tokio::test]
async fn readyz_proves_a_write_commits() {
    let app = TestApp::new().await;
    app.get("/readyz", None).await.data();
    app.get("/readyz", None).await.data();
}

#[cfg(not(feature = "pg-tests"))]
mod sqlite_full_disk {
    use std::str::FromStr;
    use std::time::Duration;

    use integrations_core::store::{Store, Unavailable};
    use sqlx::sqlite::SqliteConnectOptions;

    use crate::store::{app_row, customer, event_write};

    const ACQUIRE: Duration = Duration::from_secs(5);

    /// Writes `count` events at once (8 in flight), each to its own call; returns the calls
    /// reported stored and the errors of the others.
    async fn write_events(store: &Store, round: &str, count: u32) -> (Vec<String>, Vec<Option<Unavailable>>) {
        let mut stored = Vec::new();
        let mut failed = Vec::new();
        for chunk in (0..count).collect::<Vec<_>>().chunks(8) {
            let mut writes = tokio::task::JoinSet::new();
            for &n in chunk {
                let store = store.clone();
                let call_sid = format!("{round}-{n}");
                let write = event_write("a1", &call_sid, n, Some("https://crm.example/hook"), 0);
                writes.spawn(async move { (call_sid, store.record_call_event(write).await) });
            }
            while let Some(done) = writes.join_next().await {
                match done.unwrap() {
                    (call_sid, Ok(_)) => stored.push(call_sid),
                    (_, Err(error)) => failed.push(error.unavailable()),
                }
            }
        }
        (stored, failed)
    }

    /// The disk filling up is played by SQLite's page limit: the writer connection may not grow the
    /// file past a few more pages, and SQLite rolls a transaction back by itself when a write fails
    /// for want of space, as on a full disk. Deleting a ballast table frees pages for reuse. Once
    /// space is back, one write fails for a reason of its own (its event id is taken), as a batch
    /// member or a duplicate user mapping may: on a connection whose transaction bookkeeping a
    /// full disk had put out of step, that failure left a transaction open that nothing committed.
    #[tokio::test]
    async fn after_the_disk_fills_every_write_reported_stored_is_in_the_database_after_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}/integrations.db", dir.path().display());
        let setup = Store::connect(&url, 2, ACQUIRE).await.unwrap();
        setup.migrate().await.unwrap();
        setup.insert_customer(&customer("c1", 1_000)).await.unwrap();
        setup.insert_app(&app_row("a1", "c1", 1_000), None).await.unwrap();
        let raw = sqlx::SqlitePool::connect(&url).await.unwrap();
        sqlx::query("CREATE TABLE ballast (data BLOB NOT NULL)").execute(&raw).await.unwrap();
        sqlx::query(
            "INSERT INTO ballast SELECT randomblob(4000) FROM (SELECT 1 UNION ALL SELECT 2) a, \
                     (SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4 UNION ALL SELECT 5) b, \
                     (SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4 UNION ALL SELECT 5) c",
        )
        .execute(&raw)
        .await
        .unwrap();
        let pages: i64 = sqlx::query_scalar("PRAGMA page_count").fetch_one(&raw).await.unwrap();
        setup.close().await;

        let options = SqliteConnectOptions::from_str(&url).unwrap().pragma("max_page_count", (pages + 12).to_string());
        let full = Store::connect_sqlite(options, 2, ACQUIRE).await.unwrap();
        let (mut stored, failed) = write_events(&full, "filling", 400).await;
        assert!(!failed.is_empty(), "the disk never filled ({} events stored)", stored.len());
        assert!(
            failed.iter().all(|reason| *reason == Some(Unavailable::Full)),
            "every failed write says the storage is full: {failed:?}"
        );
        let (more, _) = write_events(&full, "while-full", 40).await;
        stored.extend(more);

        sqlx::query("DELETE FROM ballast").execute(&raw).await.expect("space is freed beside the server");
        raw.close().await;
        let (after, failed) = write_events(&full, "freed", 1).await;
        assert_eq!(failed, vec![], "writes succeed again once space is freed");
        stored.extend(after);
        let taken = event_write("a1", "freed-0", 0, Some("https://crm.example/hook"), 0);
        let refused = full.record_call_event(taken).await.expect_err("an event id is stored once");
        assert_eq!(refused.unavailable(), None, "a duplicate is the write's own fault: {refused}");
        let (after, failed) = write_events(&full, "after-a-failure", 40).await;
        assert_eq!(failed, vec![], "a failed write does not stop the next ones");
        stored.extend(after);
        full.close().await;

        let restarted = Store::connect(&url, 2, ACQUIRE).await.unwrap();
        let mut missing = Vec::new();
        for call_sid in &stored {
            if restarted.find_call("a1", call_sid).await.unwrap().is_none() {
                missing.push(call_sid.clone());
            }
        }
        assert_eq!(
            missing,
            Vec::<String>::new(),
            "{} of {} writes reported stored are lost",
            missing.len(),
            stored.len()
        );
    }
}
