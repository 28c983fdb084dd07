//! Storage over SQLite or Postgres. All SQL lives here; every function takes its tenant first.

use std::future::Future;
use std::hash::{Hash, Hasher};
use std::pin::Pin;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::pool::PoolConnectionMetadata;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{ConnectOptions, Connection};

use crate::batch::Batcher;

/// Runs `$body` with `$pool` bound to the pool that serves reads.
macro_rules! on_reader {
    ($store:expr, |$pool:ident| $body:expr) => {
        match &$store.db {
            $crate::store::Db::Sqlite { reader: $pool, .. } => $body,
            $crate::store::Db::Postgres($pool) => $body,
        }
    };
}

/// Runs `$body` with `$pool` bound to the pool that serves writes (SQLite has a single writer).
macro_rules! on_writer {
    ($store:expr, |$pool:ident| $body:expr) => {
        match &$store.db {
            $crate::store::Db::Sqlite { writer: $pool, .. } => $body,
            $crate::store::Db::Postgres($pool) => $body,
        }
    };
}

/// Runs one writing statement with its bind values in order, on the writer of either backend;
/// answers how many rows it touched.
macro_rules! execute {
    ($store:expr, $sql:expr $(, $bind:expr)* $(,)?) => {
        on_writer!($store, |pool| sqlx::query($sql)$(.bind($bind))*.execute(pool).await.map(|done| done.rows_affected()))
    };
}

/// Runs `$body` with `$conn` bound to where a page of the app's rows of a paged table is read:
/// on Postgres, a transaction that first waits out the app's writes in flight (see [`pages`]).
macro_rules! on_page_reader {
    ($store:expr, $paged:expr, $app_id:expr, |$conn:ident| $body:expr) => {
        match &$store.db {
            $crate::store::Db::Sqlite { reader: $conn, .. } => $body,
            $crate::store::Db::Postgres(pool) => {
                async {
                    let mut tx = $crate::store::pages::begin_page_read(pool, $paged, $app_id, $store.page_wait).await?;
                    let $conn = &mut *tx;
                    let page = $body?;
                    tx.commit().await?;
                    Ok::<_, sqlx::Error>(page)
                }
                .await
            }
        }
    };
}

mod apps;
mod customers;
#[macro_use]
mod deliveries;
mod calls;
mod checkpoint;
mod console_links;
mod operator;
mod pages;
mod sealed;
mod settings;
mod tokens;
mod usermappings;

pub use apps::{
    AppRow, AppSecretRotation, AppUpdate, NewPassthruKey, PassthruKeyRow, PassthruKeyRule, PassthruQuery,
    PassthruTarget, SigningSecrets,
};
pub use calls::{
    CallEvent, CallEventRow, CallRow, EventDelivery, EventWrite, ListedCall, QueuedDelivery, TimelineEvent,
};
pub use customers::CustomerRow;
pub use deliveries::{AppRoom, AttemptRecord, AttemptRow, DeliveryFilter, DeliveryRow, RecoverWindow, WebhookMessage};
pub use operator::{FailingApp, ListedCustomer};
pub use sealed::{Reseal, SealedRowKey, SealedValue, KEY_CHECK_ROW};
pub use settings::SettingRow;
pub use tokens::TokenOwner;
pub use usermappings::UserMappingRow;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A unique key clashed; the message says which.
    #[error("{0}")]
    Conflict(String),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// The database cannot be reached or opened at start-up: `target` names it (with the variable
    /// that configures it), `reason` is the one line that says why.
    #[error("cannot open {target}: {reason}")]
    Connect { target: String, reason: String },
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// The statement serving a whole batch failed; every request in it gets the same error.
    #[error("{0}")]
    Batch(Arc<StoreError>),
    /// A batched statement did not answer this request (see [`crate::batch::Unanswered`]).
    #[error("{0}")]
    Unanswered(#[from] crate::batch::Unanswered),
}

pub type StoreResult<T> = Result<T, StoreError>;

/// Why the storage cannot serve a request right now: trouble that passes, not a bug in the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unavailable {
    /// The disk (or the database's quota) is full: writes fail until space is freed.
    Full,
    /// The database is unreachable, restarting, overloaded, or no connection was free in time.
    Down,
}

impl StoreError {
    /// This error as a failure to open `target` at start-up, said once: the database's own
    /// message (or the system's), not the chain of wrappers around it.
    fn at_start_up(self, target: String) -> Self {
        let reason = match &self {
            Self::Database(sqlx::Error::Database(db)) => db.message().to_string(),
            Self::Database(sqlx::Error::Io(io)) => io.to_string(),
            Self::Database(sqlx::Error::PoolTimedOut) => "no connection within the connect timeout".to_string(),
            Self::Connect { .. } => return self,
            other => other.to_string(),
        };
        Self::Connect { target, reason }
    }

    /// Whether this error is the storage being unavailable (and which way), rather than a fault
    /// of the request or of this code.
    pub fn unavailable(&self) -> Option<Unavailable> {
        match self {
            Self::Batch(inner) => inner.unavailable(),
            Self::Unanswered(_) => Some(Unavailable::Down),
            Self::Database(error) => unavailability(error),
            Self::Connect { .. } => Some(Unavailable::Down),
            Self::Conflict(_) | Self::Migrate(_) => None,
        }
    }
}

fn unavailability(error: &sqlx::Error) -> Option<Unavailable> {
    use sqlx::Error as E;
    match error {
        E::PoolTimedOut | E::PoolClosed | E::WorkerCrashed | E::Io(_) | E::Tls(_) => Some(Unavailable::Down),
        E::Database(db) => {
            let code = db.code()?;
            match self::db_kind(db.as_ref()) {
                DbKind::Sqlite => sqlite_unavailability(code.parse().ok()?),
                DbKind::Postgres => postgres_unavailability(&code),
            }
        }
        _ => None,
    }
}

enum DbKind {
    Sqlite,
    Postgres,
}

fn db_kind(error: &dyn sqlx::error::DatabaseError) -> DbKind {
    if error.try_downcast_ref::<sqlx::postgres::PgDatabaseError>().is_some() {
        DbKind::Postgres
    } else {
        DbKind::Sqlite
    }
}

/// SQLite's result codes (the low byte of an extended code) that mean the storage, not the statement, failed.
fn sqlite_unavailability(extended_code: i32) -> Option<Unavailable> {
    match extended_code & 0xff {
        13 => Some(Unavailable::Full), // SQLITE_FULL
        // SQLITE_BUSY, SQLITE_LOCKED, SQLITE_READONLY, SQLITE_IOERR, SQLITE_CANTOPEN, SQLITE_PROTOCOL
        5 | 6 | 8 | 10 | 14 | 15 => Some(Unavailable::Down),
        _ => None,
    }
}

/// Postgres's SQLSTATEs that mean the server, not the statement, failed.
fn postgres_unavailability(sqlstate: &str) -> Option<Unavailable> {
    match sqlstate {
        "53100" => Some(Unavailable::Full), // disk_full
        // insufficient resources, connection exceptions, shutting down / starting up, I/O error,
        // a read-only standby after a failover, serialization failure, deadlock, lock timeout
        s if s.starts_with("53") || s.starts_with("08") || s.starts_with("57P") => Some(Unavailable::Down),
        "58030" | "25006" | "40001" | "40P01" | "55P03" => Some(Unavailable::Down),
        _ => None,
    }
}

/// True when the database refused a write because a unique key already exists.
pub(crate) fn is_unique_violation(error: &sqlx::Error) -> bool {
    error.as_database_error().is_some_and(|e| e.is_unique_violation())
}

#[derive(Clone, Debug)]
pub(crate) enum Db {
    /// WAL lets readers run beside the one writer; a single-connection writer pool means writers
    /// queue in the pool instead of failing with "database is locked".
    Sqlite {
        reader: SqlitePool,
        writer: SqlitePool,
    },
    Postgres(PgPool),
}

#[derive(Clone, Debug)]
pub struct Store {
    pub(crate) db: Db,
    /// The queues that batch the hot statements; `None` on the store the batch workers use.
    batches: Option<Arc<Batches>>,
    /// How long a page read waits for the app's writes in flight (see [`pages`]): as long as a
    /// request may wait for a connection.
    page_wait: Duration,
}

/// The statements whose concurrent calls are batched (see [`crate::batch`]).
#[derive(Debug)]
struct Batches {
    tokens: Batcher<(String, i64), StoreResult<Option<TokenOwner>>>,
    passthru: Batcher<PassthruQuery, StoreResult<Option<PassthruTarget>>>,
    /// Event writes, sharded by call: one batch at a time per shard keeps a call's events in order.
    events: Vec<Batcher<EventWrite, StoreResult<Option<QueuedDelivery>>>>,
}

/// The most requests one batch serves.
const MAX_BATCH: usize = 128;
/// How many read batches of one kind may run at once. Fewer slots make bigger batches under load
/// (less database work per request); two kept the best throughput in the benchmark.
const READ_SLOTS: usize = 2;
/// How many event-write shards run at once on Postgres (SQLite has one writer, so one shard).
const POSTGRES_EVENT_SHARDS: usize = 2;

impl Batches {
    /// A request waits at most `max_wait` in a queue: as long as it may wait for a connection.
    fn start(store: &Store, max_wait: Duration) -> Self {
        let unbatched = Store { db: store.db.clone(), batches: None, page_wait: store.page_wait };
        let shards = match store.db {
            Db::Postgres(_) => POSTGRES_EVENT_SHARDS,
            Db::Sqlite { .. } => 1,
        };
        let reads = unbatched.clone();
        let tokens = Batcher::new(MAX_BATCH, READ_SLOTS, max_wait, move |lookups: Vec<(String, i64)>| {
            let store = reads.clone();
            async move { per_request(lookups.len(), store.resolve_tokens(&lookups).await) }
        });
        let reads = unbatched.clone();
        let passthru = Batcher::new(MAX_BATCH, READ_SLOTS, max_wait, move |queries: Vec<PassthruQuery>| {
            let store = reads.clone();
            async move { per_request(queries.len(), store.find_passthru_targets(&queries).await) }
        });
        let events = (0..shards)
            .map(|_| {
                let writes = unbatched.clone();
                Batcher::new(MAX_BATCH, 1, max_wait, move |batch: Vec<EventWrite>| {
                    let store = writes.clone();
                    async move { store.record_call_events_isolated(&batch).await }
                })
            })
            .collect();
        Self { tokens, passthru, events }
    }

    /// The shard that writes `event`'s call.
    fn event_shard(&self, event: &CallEvent) -> &Batcher<EventWrite, StoreResult<Option<QueuedDelivery>>> {
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        (&event.app_id, &event.call_sid).hash(&mut hasher);
        &self.events[(hasher.finish() % self.events.len() as u64) as usize]
    }
}

/// Hands each request of a batch its own answer, or the batch's error.
fn per_request<T>(count: usize, result: StoreResult<Vec<T>>) -> Vec<StoreResult<T>> {
    match result {
        Ok(answers) => answers.into_iter().map(Ok).collect(),
        Err(error) => {
            let error = Arc::new(error);
            (0..count).map(|_| Err(StoreError::Batch(error.clone()))).collect()
        }
    }
}

impl Store {
    fn new(db: Db, acquire_timeout: Duration) -> Self {
        let mut store = Self { db, batches: None, page_wait: acquire_timeout };
        store.batches = Some(Arc::new(Batches::start(&store, acquire_timeout)));
        store
    }

    /// Writes a batch of events; when the batch fails, each write is tried on its own, so one bad
    /// write (its app deleted a moment ago) fails alone. When the storage itself is unavailable,
    /// every write fails at once with the batch's error: trying each would only wait again.
    async fn record_call_events_isolated(&self, writes: &[EventWrite]) -> Vec<StoreResult<Option<QueuedDelivery>>> {
        match self.record_call_events(writes).await {
            Ok(queued) => queued.into_iter().map(Ok).collect(),
            Err(error) if writes.len() == 1 => vec![Err(error)],
            Err(error) if error.unavailable().is_some() => per_request(writes.len(), Err(error)),
            Err(_) => {
                let mut results = Vec::with_capacity(writes.len());
                for write in writes {
                    results.push(
                        self.record_call_events(std::slice::from_ref(write)).await.map(|mut queued| queued.remove(0)),
                    );
                }
                results
            }
        }
    }
}

type ReleaseCheck<'c> = Pin<Box<dyn Future<Output = Result<bool, sqlx::Error>> + Send + 'c>>;

/// Keeps a SQLite writer connection for reuse only if sqlx and SQLite agree that no transaction is open.
///
/// sqlx-sqlite counts the transactions it opened. When SQLite rolls a transaction back by itself
/// (a full disk fails a statement or the COMMIT), the ROLLBACK that sqlx then sends fails ("no
/// transaction is active") and its count stays at one. On that connection the next `begin()`
/// would issue a SAVEPOINT, which opens a real transaction that nothing ever commits: every later
/// "commit" would only release the savepoint and report success for writes that are never
/// durable. Such a connection is closed instead of returned; the next write opens a fresh one.
fn discard_if_out_of_step(conn: &mut SqliteConnection, _: PoolConnectionMetadata) -> ReleaseCheck<'_> {
    Box::pin(async move {
        if !conn.is_in_transaction() {
            return Ok(true);
        }
        // A transaction dropped on an error queues its ROLLBACK; a ping runs after it.
        conn.ping().await?;
        if conn.is_in_transaction() {
            tracing::warn!(
                "closing the SQLite writer connection: a failed write left its transaction state out of step"
            );
            metrics::counter!(crate::telemetry::metrics::DB_CONNECTIONS_DISCARDED).increment(1);
            return Ok(false);
        }
        Ok(true)
    })
}

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

impl Store {
    /// Connects to `sqlite://...` (creating the file and its folder) or `postgres://...`. A
    /// request waits at most `acquire_timeout` for a connection (then fails as [`Unavailable::Down`]).
    pub async fn connect(database_url: &str, max_connections: u32, acquire_timeout: Duration) -> StoreResult<Self> {
        if database_url.starts_with("sqlite:") {
            let options = SqliteConnectOptions::from_str(database_url)?;
            let file = options.get_filename().to_path_buf();
            let target = || format!("the SQLite database {} (DATABASE_URL)", file.display());
            if let Some(dir) = file.parent() {
                if !dir.as_os_str().is_empty() {
                    std::fs::create_dir_all(dir).map_err(|e| StoreError::Connect {
                        target: target(),
                        reason: format!("cannot create the folder {}: {e}", dir.display()),
                    })?;
                }
            }
            Self::connect_sqlite(options, max_connections, acquire_timeout).await.map_err(|e| e.at_start_up(target()))
        } else {
            let options = PgConnectOptions::from_str(database_url)?;
            let target = format!(
                "Postgres at {}:{}, database \"{}\" (DATABASE_URL)",
                options.get_host(),
                options.get_port(),
                options.get_database().unwrap_or(options.get_username())
            );
            // One direct attempt first: a pool that cannot connect only says it timed out, while
            // the attempt says why (refused, no such database, password rejected).
            match tokio::time::timeout(acquire_timeout.max(Duration::from_secs(5)), options.connect()).await {
                Ok(Ok(connection)) => drop(connection),
                Ok(Err(error)) => return Err(StoreError::Database(error).at_start_up(target)),
                Err(_) => {
                    return Err(StoreError::Connect { target, reason: "no answer within the connect timeout".into() })
                }
            }
            Self::connect_postgres(options, max_connections, acquire_timeout).await.map_err(|e| e.at_start_up(target))
        }
    }

    pub async fn connect_sqlite(
        options: SqliteConnectOptions,
        max_connections: u32,
        acquire_timeout: Duration,
    ) -> StoreResult<Self> {
        let options = options
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10));
        // A broken connection fails its query and is replaced; pinging before every checkout would
        // cost a round trip per query.
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .test_before_acquire(false)
            .acquire_timeout(acquire_timeout)
            .after_release(discard_if_out_of_step)
            .connect_with(options.clone())
            .await?;
        checkpoint::start(options.clone(), writer.clone()).await?;
        let reader = SqlitePoolOptions::new()
            .max_connections(max_connections.max(1))
            .test_before_acquire(false)
            .acquire_timeout(acquire_timeout)
            .connect_with(options.read_only(true))
            .await?;
        Ok(Self::new(Db::Sqlite { reader, writer }, acquire_timeout))
    }

    pub async fn connect_postgres(
        options: PgConnectOptions,
        max_connections: u32,
        acquire_timeout: Duration,
    ) -> StoreResult<Self> {
        // Every statement here is a short lookup or write through an index, whose best plan does
        // not depend on its parameters. Without a forced generic plan, Postgres plans the batch
        // statements (arrays whose length it cannot know) afresh on every execution: a third of
        // its CPU under load. A generic plan is made once per connection, possibly while the
        // tables are nearly empty (a fresh install, or before autovacuum's first ANALYZE), when a
        // sequential scan or a hash over a whole table looks cheap; ruling those out keeps every
        // plan on its index as the tables grow.
        let options = options.options([
            ("plan_cache_mode", "force_generic_plan"),
            ("enable_seqscan", "off"),
            ("enable_hashjoin", "off"),
            ("enable_mergejoin", "off"),
        ]);
        let pool = PgPoolOptions::new()
            .max_connections(max_connections.max(1))
            .test_before_acquire(false)
            .acquire_timeout(acquire_timeout)
            .connect_with(options)
            .await?;
        Ok(Self::new(Db::Postgres(pool), acquire_timeout))
    }

    /// Applies pending migrations (safe to run from several processes at once on Postgres) and
    /// names those this call applied (`0012_key_check`), oldest first; empty when none was pending.
    pub async fn migrate(&self) -> StoreResult<Vec<String>> {
        let migrator = match &self.db {
            Db::Sqlite { .. } => &SQLITE_MIGRATIONS,
            Db::Postgres(_) => &POSTGRES_MIGRATIONS,
        };
        let before = self.applied_migrations().await;
        on_writer!(self, |pool| migrator.run(pool).await)?;
        Ok(migrator
            .iter()
            .filter(|m| !before.contains(&m.version))
            .map(|m| format!("{:04}_{}", m.version, m.description.replace(' ', "_")))
            .collect())
    }

    /// The versions already applied; none when the bookkeeping table does not exist yet.
    async fn applied_migrations(&self) -> Vec<i64> {
        let sql = "SELECT version FROM _sqlx_migrations WHERE success";
        on_writer!(self, |pool| sqlx::query_scalar::<_, i64>(sql).fetch_all(pool).await).unwrap_or_default()
    }

    /// One cheap round trip, for readiness checks.
    pub async fn ping(&self) -> StoreResult<()> {
        on_reader!(self, |pool| sqlx::query("SELECT 1").execute(pool).await.map(|r| r.rows_affected()))?;
        Ok(())
    }

    /// Runs a write whose parameters are all text (ids, keys), in order; how many rows it changed.
    pub(super) async fn write_with(&self, sql: &str, params: &[&str]) -> StoreResult<u64> {
        Ok(on_writer!(self, |pool| {
            let mut query = sqlx::query(sql);
            for param in params {
                query = query.bind(*param);
            }
            query.execute(pool).await.map(|r| r.rows_affected())
        })?)
    }

    /// One small committed write, for readiness checks: fails while writes fail (a full disk, a
    /// read-only or unreachable database).
    pub async fn probe_write(&self, now: i64) -> StoreResult<()> {
        let sql = "INSERT INTO readiness_probe (id, checked_at) VALUES (1, $1) \
                   ON CONFLICT (id) DO UPDATE SET checked_at = excluded.checked_at";
        execute!(self, sql, now)?;
        Ok(())
    }

    pub fn backend_name(&self) -> &'static str {
        match self.db {
            Db::Sqlite { .. } => "sqlite",
            Db::Postgres(_) => "postgres",
        }
    }

    /// Connections in use and idle, for the pool-usage metric.
    pub fn pool_usage(&self) -> (u32, usize) {
        match &self.db {
            Db::Sqlite { reader, writer } => (reader.size() + writer.size(), reader.num_idle() + writer.num_idle()),
            Db::Postgres(pool) => (pool.size(), pool.num_idle()),
        }
    }

    pub async fn close(&self) {
        match &self.db {
            Db::Sqlite { reader, writer } => {
                reader.close().await;
                writer.close().await;
            }
            Db::Postgres(pool) => pool.close().await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_disk_and_a_database_that_is_away_are_told_apart_from_faults_of_the_request() {
        assert_eq!(sqlite_unavailability(13), Some(Unavailable::Full));
        assert_eq!(sqlite_unavailability(5), Some(Unavailable::Down), "SQLITE_BUSY");
        assert_eq!(sqlite_unavailability(10 | (4 << 8)), Some(Unavailable::Down), "SQLITE_IOERR_SHORT_READ");
        assert_eq!(sqlite_unavailability(19), None, "a constraint is the request's fault");
        assert_eq!(sqlite_unavailability(1), None, "a SQL error is this code's fault");

        assert_eq!(postgres_unavailability("53100"), Some(Unavailable::Full));
        for sqlstate in ["08006", "57P01", "57P03", "53300", "40001", "25006"] {
            assert_eq!(postgres_unavailability(sqlstate), Some(Unavailable::Down), "{sqlstate}");
        }
        for sqlstate in ["23505", "42P01", "22021"] {
            assert_eq!(postgres_unavailability(sqlstate), None, "{sqlstate}");
        }
    }

    #[test]
    fn a_batch_or_a_queue_that_gave_up_is_the_storage_being_away() {
        let timed_out = StoreError::Batch(Arc::new(StoreError::Database(sqlx::Error::PoolTimedOut)));
        assert_eq!(timed_out.unavailable(), Some(Unavailable::Down));
        let overdue = StoreError::from(crate::batch::Unanswered::Overdue(Duration::from_secs(2)));
        assert_eq!(overdue.unavailable(), Some(Unavailable::Down));
        assert_eq!(StoreError::Conflict("taken".into()).unavailable(), None);
    }
}
