//! The `console_links` table: single-use codes (their SHA-256 only) that open the console as an app.

use super::{Store, StoreResult};

impl Store {
    /// Stores a console link's code hash for the app, valid until `expires_at` (unix ms).
    pub async fn insert_console_link(&self, app_id: &str, hash: &str, now: i64, expires_at: i64) -> StoreResult<()> {
        let sql = "INSERT INTO console_links (hash, app_id, created_at, expires_at) VALUES ($1, $2, $3, $4)";
        execute!(self, sql, hash, app_id, now, expires_at)?;
        Ok(())
    }

    /// Uses up a console link: deletes it, and answers its app when it was still live at `now`. A
    /// second use, like an unknown or expired code, answers None; of two uses at once only one wins.
    pub async fn take_console_link(&self, hash: &str, now: i64) -> StoreResult<Option<String>> {
        let sql = "DELETE FROM console_links WHERE hash = $1 RETURNING app_id, expires_at";
        let taken: Option<(String, i64)> =
            on_writer!(self, |pool| sqlx::query_as(sql).bind(hash).fetch_optional(pool).await)?;
        Ok(taken.filter(|(_, expires_at)| *expires_at > now).map(|(app_id, _)| app_id))
    }

    /// Removes console links that expired before `now`; returns how many.
    pub async fn purge_expired_console_links(&self, now: i64) -> StoreResult<u64> {
        let sql = "DELETE FROM console_links WHERE expires_at <= $1";
        let done = execute!(self, sql, now)?;
        Ok(done)
    }
}
