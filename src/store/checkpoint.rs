//! SQLite's WAL checkpoints, off the write path.

use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqlitePool, SqlitePoolOptions};

use super::StoreResult;

/// How often the WAL is copied back into the database file in the background.
const EVERY: Duration = Duration::from_millis(500);

/// Copies the WAL back into the database file from a connection of its own, every half second,
/// for as long as `writer` is open. SQLite's own checkpoint runs on the one writer connection
/// whenever the WAL passes 1,000 pages, and every write waits behind its copy and fsync (tens of
/// milliseconds on a busy disk). With the bulk of the WAL already copied here, that checkpoint
/// has only the last moments to copy, and the writer is held up far less. It is still needed:
/// under a steady stream of writes a background checkpoint never catches up with the end of the
/// WAL, and only a checkpoint that does lets the next write start the WAL over (without one the
/// WAL grew past 4 GB in ten minutes of the benchmark). A passive checkpoint waits for no
/// reader or writer.
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
