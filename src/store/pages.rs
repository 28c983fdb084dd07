//! Gap-free cursor pages on Postgres: a page is read only once no write in flight can commit a
//! row behind it.
//!
//! User mappings and the delivery log are paged by `seq`, which Postgres draws from a sequence when
//! a row is inserted, not when its transaction commits: a writer can draw 7, stall, and commit after
//! another drew 8 and committed. A reader that paged past 8 in between would never see 7.
//!
//! So a writer holds a shared per-app lock (a transaction-scoped advisory lock on the table and
//! the app) from before it draws a `seq` until it commits, and a page read first takes the same
//! lock exclusively. The exclusive lock is granted once every writer of the app that drew a `seq`
//! has ended, and while the reader holds it no writer can draw one; the page, read after the lock
//! is granted (read committed: a snapshot per statement), sees every committed `seq` drawn so far,
//! and a row committed later has a higher `seq` than any row on the page.
//!
//! Writers share the lock and never wait on each other (a batch of several apps takes their locks
//! in key order, so that no two batches wait on each other through a waiting page read). A page
//! read waits for the app's writes in flight, at most `lock_timeout` (then the storage counts as
//! unavailable); a write of that app that comes while a page read waits or reads queues behind it.
//!
//! The lock orders nothing else: `seq` is drawn as before, so the dispatcher's order per call and
//! URL (`e.seq < d.seq`) is unchanged. SQLite needs none of it: its one writer draws `seq` and
//! commits in the same order.

use std::time::Duration;

use sqlx::postgres::{PgConnection, PgPool};
use sqlx::sqlite::SqliteConnection;
use sqlx::{Postgres, Transaction};

/// A table paged by `seq`; its value is the first key of the table's advisory locks (the second
/// is `hashtext(app_id)`: two apps that share a hash only wait on each other's writes a little).
#[derive(Debug, Clone, Copy)]
pub(super) enum Paged {
    UserMappings = 0x7061_6701,
    Deliveries = 0x7061_6702,
}

impl Paged {
    pub(super) fn lock_key(self) -> i32 {
        self as i32
    }
}

/// A connection that inserts rows of a paged table.
pub(super) trait PageWriter {
    /// Holds page reads of the app's rows of `paged` back until this transaction ends. Call it in
    /// the transaction, before the first insert that draws a `seq`.
    async fn hold_pages(&mut self, paged: Paged, app_id: &str) -> Result<(), sqlx::Error>;
}

impl PageWriter for PgConnection {
    async fn hold_pages(&mut self, paged: Paged, app_id: &str) -> Result<(), sqlx::Error> {
        sqlx::query("SELECT pg_advisory_xact_lock_shared($1, hashtext($2))")
            .bind(paged.lock_key())
            .bind(app_id)
            .execute(self)
            .await?;
        Ok(())
    }
}

impl PageWriter for SqliteConnection {
    async fn hold_pages(&mut self, _: Paged, _: &str) -> Result<(), sqlx::Error> {
        Ok(())
    }
}

/// Opens the transaction a page of the app's rows of `paged` is read in: it returns once the
/// app's writers in flight have ended, or fails (lock_not_available, the storage being away)
/// after `wait`. Read the page with a statement of its own in it.
pub(super) async fn begin_page_read(
    pool: &PgPool,
    paged: Paged,
    app_id: &str,
    wait: Duration,
) -> Result<Transaction<'static, Postgres>, sqlx::Error> {
    // Read committed (Postgres's default, spelled out): the page's statement takes its snapshot
    // after the lock is granted. Under repeatable read the snapshot would date from before the wait.
    let mut tx = pool.begin_with("BEGIN ISOLATION LEVEL READ COMMITTED").await?;
    // `set_config` comes first in the select list, so the timeout is in force when the lock waits.
    sqlx::query("SELECT set_config('lock_timeout', $1, true), pg_advisory_xact_lock($2, hashtext($3))")
        .bind(format!("{}ms", wait.as_millis().max(1)))
        .bind(paged.lock_key())
        .bind(app_id)
        .execute(&mut *tx)
        .await?;
    Ok(tx)
}
