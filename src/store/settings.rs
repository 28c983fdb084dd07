//! The `app_settings` table.

use sqlx::FromRow;

use super::{Store, StoreResult};

#[derive(Debug, Clone, FromRow, PartialEq, Eq)]
pub struct SettingRow {
    pub app_id: String,
    pub key: String,
    pub value: String,
}

impl Store {
    /// Creates the setting or replaces its value.
    pub async fn upsert_setting(&self, app_id: &str, key: &str, value: &str, now: i64) -> StoreResult<SettingRow> {
        let sql = "INSERT INTO app_settings (app_id, key, value, created_at, updated_at) VALUES ($1, $2, $3, $4, $4) \
                   ON CONFLICT (app_id, key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at \
                   RETURNING app_id, key, value";
        Ok(on_writer!(self, |pool| sqlx::query_as(sql)
            .bind(app_id)
            .bind(key)
            .bind(value)
            .bind(now)
            .fetch_one(pool)
            .await)?)
    }

    pub async fn find_setting(&self, app_id: &str, key: &str) -> StoreResult<Option<SettingRow>> {
        let sql = "SELECT app_id, key, value FROM app_settings WHERE app_id = $1 AND key = $2";
        Ok(on_reader!(self, |pool| sqlx::query_as(sql).bind(app_id).bind(key).fetch_optional(pool).await)?)
    }

    /// All of the app's settings, in the order they were first set.
    pub async fn list_settings(&self, app_id: &str) -> StoreResult<Vec<SettingRow>> {
        let sql = "SELECT app_id, key, value FROM app_settings WHERE app_id = $1 ORDER BY created_at, key";
        Ok(on_reader!(self, |pool| sqlx::query_as(sql).bind(app_id).fetch_all(pool).await)?)
    }

    pub async fn delete_setting(&self, app_id: &str, key: &str) -> StoreResult<bool> {
        let sql = "DELETE FROM app_settings WHERE app_id = $1 AND key = $2";
        Ok(self.write_with(sql, &[app_id, key]).await? > 0)
    }
}
