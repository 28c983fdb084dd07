//! SQLite's WAL checkpoints, off the write path.

use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqlitePool, SqlitePoolOptions};

use super::StoreResult;

/// How often the WAL is copied back into the database file. Each checkpoint's fsyncs slow the
/// writer's own writes to the same files for a moment; every 2 s kept the passthru's p99 near
/// 10 ms at 500 events/s in the benchmark, against ~30 ms every 0.5 s.
const EVERY: Duration = Duration::from_millis(2000);

/// Copies the WAL back into the database file from a connection of its own, every two seconds,
/// for as long as `writer` is open. Left to SQLite, the checkpoint runs on the one writer
/// connection whenever the WAL passes 4 MiB, and every write waits behind its copy and fsync
/// (tens to hundreds of milliseconds); here the writer never stops for it. A passive checkpoint
/// waits for no reader or writer.
pub(super) async fn start(options: SqliteConnectOptions, writer: SqlitePool) -> StoreResult<()> {
    let pool = SqlitePoolOptions::new().max_connections(1).connect_with(options).await?;
    tokio::spawn(async move {
        let mut failing = false;
        while !writer.is_closed() {
            tokio::time::sleep(EVERY).await;
            match sqlx::query("PRAGMA wal_checkpoint(PASSIVE)").execute(&pool).await {
                Ok(_) => failing = false,
                Err(error) if !failing => {
                    failing = true;
                    tracing::warn!(%error, "SQLite checkpoint failed; the WAL grows until one succeeds");
                }
                Err(_) => {}
            }
        }
        pool.close().await;
    });
    Ok(())
}
