//! The `user_mappings` table: agents of an app and their Exotel user and devices.

use sqlx::FromRow;

use super::pages::{PageWriter, Paged};
use super::{is_unique_violation, Store, StoreError, StoreResult};
use crate::crypto::Sealed;
use crate::domain::user::last_ten_digits;

#[derive(Debug, Clone, FromRow)]
pub struct UserMappingRow {
    /// Creation order; the pagination cursor. Assigned by the database (see [`super::pages`]).
    pub seq: i64,
    pub app_id: String,
    pub customer_id: String,
    pub app_user_id: String,
    pub exotel_account_sid: String,
    pub exotel_user_id: String,
    pub app_username: String,
    pub exotel_user_name: String,
    pub agent_number: String,
    pub active_device_id: String,
    pub phone_device_id: String,
    pub sip_device_id: String,
    pub virtual_number: String,
    pub email: String,
    pub outbound_active: bool,
    pub role: String,
    pub sip_id: String,
    /// The SIP password, sealed; empty when the user has no SIP device.
    #[sqlx(try_from = "String")]
    pub sip_password: Sealed,
    pub is_active: bool,
    pub created_at: i64,
    pub updated_at: i64,
}

const COLUMNS: &str = "seq, app_id, customer_id, app_user_id, exotel_account_sid, exotel_user_id, app_username, \
     exotel_user_name, agent_number, active_device_id, phone_device_id, sip_device_id, virtual_number, email, \
     outbound_active, role, sip_id, sip_password, is_active, created_at, updated_at";

/// Draws a `seq`: run it only after [`PageWriter::hold_pages`] in the same transaction.
const INSERT: &str = "INSERT INTO user_mappings (app_id, customer_id, app_user_id, exotel_account_sid, exotel_user_id, \
     app_username, exotel_user_name, agent_number, agent_last10, active_device_id, phone_device_id, sip_device_id, \
     virtual_number, email, outbound_active, role, sip_id, sip_password, is_active, created_at, updated_at) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21) RETURNING seq";

fn duplicate(app_user_id: &str) -> StoreError {
    StoreError::Conflict(format!("AppUserId {app_user_id:?} is already mapped in this app"))
}

impl Store {
    /// Stores a batch of mappings in one transaction: all of them, or (on any clash) none.
    /// Returns the rows with their assigned `seq`.
    pub async fn insert_user_mappings(
        &self,
        app_id: &str,
        rows: Vec<UserMappingRow>,
    ) -> StoreResult<Vec<UserMappingRow>> {
        let mut stored = Vec::with_capacity(rows.len());
        on_writer!(self, |pool| {
            let mut tx = pool.begin().await?;
            tx.hold_pages(Paged::UserMappings, app_id).await?;
            for mut row in rows {
                let seq: i64 = sqlx::query_scalar(INSERT)
                    .bind(app_id)
                    .bind(&row.customer_id)
                    .bind(&row.app_user_id)
                    .bind(&row.exotel_account_sid)
                    .bind(&row.exotel_user_id)
                    .bind(&row.app_username)
                    .bind(&row.exotel_user_name)
                    .bind(&row.agent_number)
                    .bind(last_ten_digits(&row.agent_number))
                    .bind(&row.active_device_id)
                    .bind(&row.phone_device_id)
                    .bind(&row.sip_device_id)
                    .bind(&row.virtual_number)
                    .bind(&row.email)
                    .bind(row.outbound_active)
                    .bind(&row.role)
                    .bind(&row.sip_id)
                    .bind(&row.sip_password.0)
                    .bind(row.is_active)
                    .bind(row.created_at)
                    .bind(row.updated_at)
                    .fetch_one(&mut *tx)
                    .await
                    .map_err(|e| if is_unique_violation(&e) { duplicate(&row.app_user_id) } else { e.into() })?;
                row.seq = seq;
                row.app_id = app_id.to_string();
                stored.push(row);
            }
            tx.commit().await?;
        });
        Ok(stored)
    }

    /// Which of `app_user_ids` are already mapped in the app.
    pub async fn existing_app_user_ids(&self, app_id: &str, app_user_ids: &[String]) -> StoreResult<Vec<String>> {
        if app_user_ids.is_empty() {
            return Ok(Vec::new());
        }
        let placeholders: Vec<String> = (2..app_user_ids.len() + 2).map(|n| format!("${n}")).collect();
        let sql = format!(
            "SELECT app_user_id FROM user_mappings WHERE app_id = $1 AND app_user_id IN ({}) ORDER BY seq",
            placeholders.join(", ")
        );
        Ok(on_reader!(self, |pool| {
            let mut query = sqlx::query_scalar(&sql).bind(app_id);
            for id in app_user_ids {
                query = query.bind(id);
            }
            query.fetch_all(pool).await
        })?)
    }

    pub async fn find_user_mapping(&self, app_id: &str, app_user_id: &str) -> StoreResult<Option<UserMappingRow>> {
        let sql = format!("SELECT {COLUMNS} FROM user_mappings WHERE app_id = $1 AND app_user_id = $2");
        Ok(on_reader!(self, |pool| sqlx::query_as(&sql).bind(app_id).bind(app_user_id).fetch_optional(pool).await)?)
    }

    /// Up to `limit` mappings created after the cursor `after_seq`, in creation order. A mapping
    /// committed later has a higher `seq` than every one returned: paging never skips a row.
    pub async fn list_user_mappings(
        &self,
        app_id: &str,
        after_seq: i64,
        limit: i64,
    ) -> StoreResult<Vec<UserMappingRow>> {
        let sql = format!("SELECT {COLUMNS} FROM user_mappings WHERE app_id = $1 AND seq > $2 ORDER BY seq LIMIT $3");
        Ok(on_page_reader!(self, Paged::UserMappings, app_id, |conn| sqlx::query_as(&sql)
            .bind(app_id)
            .bind(after_seq)
            .bind(limit)
            .fetch_all(conn)
            .await)?)
    }

    /// Records which device is on (`""` for none) and returns the updated mapping.
    pub async fn set_active_device(
        &self,
        app_id: &str,
        app_user_id: &str,
        active_device_id: &str,
        now: i64,
    ) -> StoreResult<Option<UserMappingRow>> {
        let sql = format!(
            "UPDATE user_mappings SET active_device_id = $3, updated_at = $4 WHERE app_id = $1 AND app_user_id = $2 \
             RETURNING {COLUMNS}"
        );
        Ok(on_writer!(self, |pool| sqlx::query_as(&sql)
            .bind(app_id)
            .bind(app_user_id)
            .bind(active_device_id)
            .bind(now)
            .fetch_optional(pool)
            .await)?)
    }

    /// Deletes every mapping of the app; returns how many.
    pub async fn delete_user_mappings(&self, app_id: &str) -> StoreResult<u64> {
        self.write_with("DELETE FROM user_mappings WHERE app_id = $1", &[app_id]).await
    }

    pub async fn delete_user_mapping(&self, app_id: &str, app_user_id: &str) -> StoreResult<bool> {
        let sql = "DELETE FROM user_mappings WHERE app_id = $1 AND app_user_id = $2";
        Ok(self.write_with(sql, &[app_id, app_user_id]).await? > 0)
    }
}
