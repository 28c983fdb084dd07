//! The `calls` and `call_events` tables, written together with the webhook deliveries they cause.

use sqlx::FromRow;

use super::deliveries::{NewDelivery, INSERT};
use super::{Db, Store, StoreResult};

/// The latest payload of a call, as JSON text.
#[derive(Debug, Clone, FromRow)]
pub struct CallRow {
    pub app_id: String,
    pub call_sid: String,
    pub payload: String,
    pub created_at: i64,
    pub updated_at: i64,
}

/// One thing that happened to a call.
#[derive(Debug, Clone)]
pub struct CallEvent<'a> {
    pub id: &'a str,
    pub app_id: &'a str,
    pub call_sid: &'a str,
    pub event_type: &'a str,
    /// The call payload after the event, as JSON text.
    pub payload: &'a str,
    pub at: i64,
}

const UPSERT_CALL: &str =
    "INSERT INTO calls (app_id, call_sid, payload, created_at, updated_at) VALUES ($1, $2, $3, $4, $4) \
     ON CONFLICT (app_id, call_sid) DO UPDATE SET payload = excluded.payload, updated_at = excluded.updated_at";
const INSERT_EVENT: &str =
    "INSERT INTO call_events (id, app_id, call_sid, event_type, payload, created_at) VALUES ($1, $2, $3, $4, $5, $6)";

impl Store {
    /// Records a call event, the call's latest payload and (when the app has a URL for it) the
    /// webhook delivery, in one transaction: the delivery exists if and only if the event does.
    pub async fn record_call_event(&self, event: &CallEvent<'_>, delivery: Option<&NewDelivery>) -> StoreResult<()> {
        if let Db::Postgres(pool) = &self.db {
            return record_call_event_in_one_statement(pool, event, delivery).await;
        }
        on_writer!(self, |pool| {
            let mut tx = pool.begin().await?;
            if !event.call_sid.is_empty() {
                sqlx::query(UPSERT_CALL)
                    .bind(event.app_id)
                    .bind(event.call_sid)
                    .bind(event.payload)
                    .bind(event.at)
                    .execute(&mut *tx)
                    .await?;
            }
            sqlx::query(INSERT_EVENT)
                .bind(event.id)
                .bind(event.app_id)
                .bind(event.call_sid)
                .bind(event.event_type)
                .bind(event.payload)
                .bind(event.at)
                .execute(&mut *tx)
                .await?;
            if let Some(delivery) = delivery {
                insert_delivery_query!(delivery).execute(&mut *tx).await?;
            }
            tx.commit().await?;
        });
        Ok(())
    }

    pub async fn find_call(&self, app_id: &str, call_sid: &str) -> StoreResult<Option<CallRow>> {
        let sql =
            "SELECT app_id, call_sid, payload, created_at, updated_at FROM calls WHERE app_id = $1 AND call_sid = $2";
        Ok(on_reader!(self, |pool| sqlx::query_as(sql).bind(app_id).bind(call_sid).fetch_optional(pool).await)?)
    }
}

/// Postgres runs data-modifying CTEs as one atomic statement: the event, the call and the delivery
/// are written in a single round trip instead of a five-step transaction.
async fn record_call_event_in_one_statement(
    pool: &sqlx::PgPool,
    event: &CallEvent<'_>,
    delivery: Option<&NewDelivery>,
) -> StoreResult<()> {
    let mut sql = String::from(
        "WITH event AS (INSERT INTO call_events (id, app_id, call_sid, event_type, payload, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6))",
    );
    if !event.call_sid.is_empty() {
        sql.push_str(
            ", call AS (INSERT INTO calls (app_id, call_sid, payload, created_at, updated_at) VALUES ($2, $3, $5, $6, $6) \
             ON CONFLICT (app_id, call_sid) DO UPDATE SET payload = excluded.payload, updated_at = excluded.updated_at)",
        );
    }
    match delivery {
        Some(_) => sql.push_str(
            " INSERT INTO webhook_deliveries (id, app_id, event_type, url, call_sid, payload, status, attempts, \
             next_attempt_at, lease_until, expires_at, last_response_code, last_error, created_at, updated_at, delivered_at) \
             VALUES ($7, $8, $9, $10, $11, $12, 'pending', 0, $13, 0, $14, NULL, '', $13, $13, NULL)",
        ),
        None => sql.push_str(" SELECT 1"),
    }
    let mut query = sqlx::query(&sql)
        .bind(event.id)
        .bind(event.app_id)
        .bind(event.call_sid)
        .bind(event.event_type)
        .bind(event.payload)
        .bind(event.at);
    if let Some(delivery) = delivery {
        query = bind_delivery!(query, delivery);
    }
    query.execute(pool).await?;
    Ok(())
}
