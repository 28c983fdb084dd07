//! Storage over SQLite or Postgres. All SQL lives here; every function takes its tenant first.

use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous};

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

mod apps;
mod customers;
#[macro_use]
mod deliveries;
mod calls;
mod settings;
mod tokens;
mod usermappings;

pub use apps::{AppRow, AppUpdate, PassthruTarget};
pub use calls::{CallEvent, CallRow};
pub use customers::CustomerRow;
pub use deliveries::{AttemptRecord, DeliveryRow, NewDelivery};
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
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

pub type StoreResult<T> = Result<T, StoreError>;

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
}

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

impl Store {
    /// Connects to `sqlite://...` (creating the file and its folder) or `postgres://...`.
    pub async fn connect(database_url: &str, max_connections: u32) -> StoreResult<Self> {
        if database_url.starts_with("sqlite:") {
            let options = SqliteConnectOptions::from_str(database_url)?;
            if let Some(dir) = options.get_filename().parent() {
                if !dir.as_os_str().is_empty() {
                    std::fs::create_dir_all(dir).map_err(|e| StoreError::Database(sqlx::Error::Io(e)))?;
                }
            }
            Self::connect_sqlite(options, max_connections).await
        } else {
            Self::connect_postgres(PgConnectOptions::from_str(database_url)?, max_connections).await
        }
    }

    pub async fn connect_sqlite(options: SqliteConnectOptions, max_connections: u32) -> StoreResult<Self> {
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
            .connect_with(options.clone())
            .await?;
        let reader = SqlitePoolOptions::new()
            .max_connections(max_connections.max(1))
            .test_before_acquire(false)
            .connect_with(options.read_only(true))
            .await?;
        Ok(Self { db: Db::Sqlite { reader, writer } })
    }

    pub async fn connect_postgres(options: PgConnectOptions, max_connections: u32) -> StoreResult<Self> {
        let pool = PgPoolOptions::new()
            .max_connections(max_connections.max(1))
            .test_before_acquire(false)
            .acquire_timeout(Duration::from_secs(5))
            .connect_with(options)
            .await?;
        Ok(Self { db: Db::Postgres(pool) })
    }

    /// Applies pending migrations (safe to run from several processes at once on Postgres).
    pub async fn migrate(&self) -> StoreResult<()> {
        match &self.db {
            Db::Sqlite { writer, .. } => SQLITE_MIGRATIONS.run(writer).await?,
            Db::Postgres(pool) => POSTGRES_MIGRATIONS.run(pool).await?,
        }
        Ok(())
    }

    /// One cheap round trip, for readiness checks.
    pub async fn ping(&self) -> StoreResult<()> {
        on_reader!(self, |pool| sqlx::query("SELECT 1").execute(pool).await.map(|r| r.rows_affected()))?;
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
