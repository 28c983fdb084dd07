//! What the operator reads across tenants: customers in creation order with their app counts, and
//! the apps whose webhooks are failing.

use sqlx::FromRow;

use super::apps::APP_COLUMNS;
use super::customers::CustomerRow;
use super::{Db, Store, StoreResult};
use crate::domain::call::TEST_EVENT_TYPE;

/// A customer as the operator lists it: its place in creation order and how many apps it has.
#[derive(Debug, Clone, FromRow)]
pub struct ListedCustomer {
    #[sqlx(flatten)]
    pub customer: CustomerRow,
    pub seq: i64,
    pub app_count: i64,
}

/// An app with deliveries that went dead in the window and are still dead.
#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct FailingApp {
    pub app_id: String,
    pub customer_id: String,
    pub dead: i64,
    pub pending: i64,
    pub last_error: String,
}

impl Store {
    /// Where a customer stands in creation order: SQLite's rowid, Postgres's `seq` (migration 0010).
    fn customer_seq(&self) -> &'static str {
        match self.db {
            Db::Sqlite { .. } => "c.rowid",
            Db::Postgres(_) => "c.seq",
        }
    }

    /// Up to `limit` customers after the cursor `after`, in creation order, with their app counts.
    pub async fn list_customers_after(&self, after: i64, limit: i64) -> StoreResult<Vec<ListedCustomer>> {
        let seq = self.customer_seq();
        let sql = format!(
            "SELECT c.id, c.name, c.email, c.secret, c.created_at, c.updated_at, {seq} AS seq, \
             (SELECT COUNT(*) FROM apps a WHERE a.customer_id = c.id) AS app_count \
             FROM customers c WHERE {seq} > $1 ORDER BY {seq} LIMIT $2"
        );
        Ok(on_reader!(self, |pool| sqlx::query_as(&sql).bind(after).bind(limit).fetch_all(pool).await)?)
    }

    /// Sets any app's `IsActive`, whoever its customer; `None` when there is no such app.
    pub async fn set_app_active(&self, app_id: &str, active: bool, now: i64) -> StoreResult<Option<super::AppRow>> {
        let sql = format!("UPDATE apps SET is_active = $2, updated_at = $3 WHERE id = $1 RETURNING {APP_COLUMNS}");
        Ok(on_writer!(self, |pool| sqlx::query_as(&sql)
            .bind(app_id)
            .bind(active)
            .bind(now)
            .fetch_optional(pool)
            .await)?)
    }

    /// Up to `limit` apps with the most deliveries that went dead since `since` and are still dead
    /// (a retried one is pending again; sample webhooks are left out), most first, with their
    /// pending deliveries and the error of their latest dead one. Reads the partial index
    /// `webhook_deliveries_dead` (dead rows only) and, per app, the pending-only index.
    pub async fn failing_apps(&self, since: i64, limit: i64) -> StoreResult<Vec<FailingApp>> {
        let sql = format!(
            "SELECT d.app_id, a.customer_id, d.dead, \
             (SELECT COUNT(*) FROM webhook_deliveries p WHERE p.app_id = d.app_id AND p.status = 'pending') AS pending, \
             COALESCE((SELECT l.last_error FROM webhook_deliveries l WHERE l.app_id = d.app_id AND l.status = 'dead' \
                AND l.event_type <> '{TEST_EVENT_TYPE}' AND l.updated_at >= $1 \
                ORDER BY l.updated_at DESC LIMIT 1), '') AS last_error \
             FROM (SELECT app_id, COUNT(*) AS dead FROM webhook_deliveries \
                WHERE status = 'dead' AND event_type <> '{TEST_EVENT_TYPE}' AND updated_at >= $1 \
                GROUP BY app_id ORDER BY COUNT(*) DESC, app_id LIMIT $2) d \
             JOIN apps a ON a.id = d.app_id \
             ORDER BY d.dead DESC, d.app_id"
        );
        Ok(on_reader!(self, |pool| sqlx::query_as(&sql).bind(since).bind(limit).fetch_all(pool).await)?)
    }
}
