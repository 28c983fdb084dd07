//! The `webhook_deliveries` outbox: queued with the event, claimed with a lease, recorded after the attempt.

use sqlx::FromRow;

use super::pages::{PageWriter, Paged};
use super::{Db, Store, StoreResult};
use crate::domain::call::{DeliveryStatus, TEST_EVENT_TYPE};

#[derive(Debug, Clone, FromRow)]
pub struct DeliveryRow {
    pub seq: i64,
    #[sqlx(flatten)]
    pub message: WebhookMessage,
    #[sqlx(try_from = "String")]
    pub status: DeliveryStatus,
    pub attempts: i64,
    pub next_attempt_at: i64,
    pub expires_at: Option<i64>,
    pub last_response_code: Option<i64>,
    pub last_error: String,
    pub created_at: i64,
    pub delivered_at: Option<i64>,
}

pub(super) const COLUMNS: &str =
    "seq, id, app_id, event_type, url, call_sid, payload, status, attempts, next_attempt_at, \
     expires_at, last_response_code, last_error, created_at, delivered_at";

/// "Still pending", for statements that find their rows by id: spelled as "not finished" so that
/// the planner looks the ids up in their unique index rather than walking the pending-only
/// indexes (migration 0004), which can hold a long backlog.
const UNFINISHED: &str = "status NOT IN ('delivered', 'dead', 'expired')";

/// SQLite's record of one attempt (`UNFINISHED` spelled out).
const RECORD_ATTEMPT: &str = "UPDATE webhook_deliveries SET status = $2, attempts = attempts + 1, \
     last_response_code = $3, last_error = $4, next_attempt_at = $5, lease_until = 0, updated_at = $6, \
     delivered_at = CASE WHEN $2 = 'delivered' THEN $6 ELSE delivered_at END \
     WHERE id = $1 AND status NOT IN ('delivered', 'dead', 'expired')";

/// How many more deliveries each app may have claimed: `busy` lists the apps with attempts in
/// flight and their room left (0: claim none of theirs); any other app may have `idle`.
#[derive(Debug, Clone, Default)]
pub struct AppRoom {
    pub busy: Vec<(String, i64)>,
    pub idle: i64,
}

/// How many candidates a claim reads per delivery it may take: room for other apps' deliveries
/// behind one app whose room is smaller than its backlog.
const CLAIM_SCAN_FACTOR: i64 = 4;

/// What an attempt came to: the delivery's new state, and the attempt's entry in its attempt log.
#[derive(Debug, Clone)]
pub struct AttemptRecord {
    pub status: DeliveryStatus,
    pub response_code: Option<i64>,
    pub error: String,
    pub next_attempt_at: i64,
    pub now: i64,
    /// When the attempt started (unix ms).
    pub attempted_at: i64,
    pub duration_ms: i64,
    /// The start of the receiver's answer, `""` without one.
    pub response_body: String,
}

/// One entry of a delivery's attempt log, oldest first; its number is its place in the log.
#[derive(Debug, Clone, FromRow)]
pub struct AttemptRow {
    pub at: i64,
    pub response_code: Option<i64>,
    pub duration_ms: i64,
    pub error: String,
    pub response_body: String,
}

/// What a delivery sends, whatever becomes of it: its id (the `webhook-id`), app, event, URL, call
/// and payload. A test delivery (`POST /app_setting/test`) is sent once outside the queue and stored
/// finished with its attempt.
#[derive(Debug, Clone, FromRow)]
pub struct WebhookMessage {
    pub id: String,
    pub app_id: String,
    pub event_type: String,
    pub url: String,
    pub call_sid: String,
    pub payload: String,
}

/// The insert of an attempt's entry in the log of its delivery, on either backend's connection.
macro_rules! insert_attempt {
    ($delivery_id:expr, $record:expr) => {
        sqlx::query(
            "INSERT INTO delivery_attempts (delivery_id, at, response_code, duration_ms, error, response_body) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind($delivery_id)
        .bind($record.attempted_at)
        .bind($record.response_code)
        .bind($record.duration_ms)
        .bind(&$record.error)
        .bind(&$record.response_body)
    };
}

/// Which deliveries of an app's log to list; `None` does not narrow. Times are unix ms.
#[derive(Debug, Clone, Default)]
pub struct DeliveryFilter {
    pub status: Option<DeliveryStatus>,
    pub call_sid: Option<String>,
    /// A delivery `EventType` ([`crate::domain::call::DELIVERY_EVENT_TYPES`]).
    pub event_type: Option<&'static str>,
    /// Created at or after.
    pub created_from: Option<i64>,
    /// Created before.
    pub created_before: Option<i64>,
}

/// The finished deliveries to queue again: created in `[created_from, created_before)` (unix ms)
/// with one of `statuses`.
#[derive(Debug, Clone)]
pub struct RecoverWindow {
    pub created_from: i64,
    pub created_before: i64,
    pub statuses: Vec<DeliveryStatus>,
    pub now: i64,
    /// A recovered popup's new deadline, from now.
    pub popup_deadline_ms: i64,
}

impl Store {
    /// Claims up to `limit` due deliveries until `lease_until`, at most `room.of(app)` of any one
    /// app. A delivery waits while an earlier one for the same call and URL is pending, so a
    /// call's webhooks arrive in order.
    ///
    /// The candidates are chosen without locking anything (a plain read of the pending-only
    /// index, at most `CLAIM_SCAN_FACTOR × limit` rows), so one app's backlog costs no row locks
    /// beyond its room. Only the chosen rows are then locked, re-checked and leased: on Postgres
    /// with `FOR UPDATE SKIP LOCKED`, so a claimer never waits on another process's claim and a
    /// row another claimer leased in the meantime is left (it is no longer due). SQLite has one writer.
    pub async fn claim_due_deliveries(
        &self,
        now: i64,
        lease_until: i64,
        limit: i64,
        room: &AppRoom,
    ) -> StoreResult<Vec<DeliveryRow>> {
        // `claimable(t)` is the expression of the index that holds exactly the pending rows, in the
        // order they became claimable (migration 0004).
        let (claimable, full, room_of, lock): (fn(&str) -> String, _, _, _) = match self.db {
            Db::Postgres(_) => (
                |t| format!("GREATEST({t}.next_attempt_at, {t}.lease_until)"),
                "d.app_id <> ALL($4)",
                "COALESCE((SELECT b.room FROM UNNEST($5::text[], $6::bigint[]) AS b(app_id, room) \
                   WHERE b.app_id = ranked.app_id), $7)",
                "FOR UPDATE SKIP LOCKED",
            ),
            Db::Sqlite { .. } => (
                |t| format!("max({t}.next_attempt_at, {t}.lease_until)"),
                "d.app_id NOT IN (SELECT value FROM json_each($4))",
                "COALESCE((SELECT b.value ->> '$[1]' FROM json_each($5) b WHERE b.value ->> '$[0]' = ranked.app_id), $6)",
                "",
            ),
        };
        let (due, still_due) = (claimable("d"), claimable("l"));
        let sql = format!(
            "UPDATE webhook_deliveries SET lease_until = $2, updated_at = $1 WHERE id IN ( \
             SELECT l.id FROM webhook_deliveries l WHERE l.status = 'pending' AND {still_due} <= $1 AND l.id IN ( \
               SELECT ranked.id FROM ( \
                 SELECT c.id, c.app_id, c.claimable, c.seq, \
                   row_number() OVER (PARTITION BY c.app_id ORDER BY c.claimable, c.seq) AS n \
                 FROM ( \
                   SELECT d.id, d.app_id, d.seq, {due} AS claimable FROM webhook_deliveries d \
                   WHERE d.status = 'pending' AND {due} <= $1 \
                     AND (d.expires_at IS NULL OR d.expires_at > $1) AND {full} \
                     AND (d.call_sid = '' OR NOT EXISTS ( \
                       SELECT 1 FROM webhook_deliveries e WHERE e.app_id = d.app_id AND e.call_sid = d.call_sid \
                       AND e.url = d.url AND e.seq < d.seq AND e.status = 'pending')) \
                   ORDER BY {due}, d.seq LIMIT $3 * {CLAIM_SCAN_FACTOR}) c \
               ) ranked WHERE ranked.n <= {room_of} \
               ORDER BY ranked.claimable, ranked.seq LIMIT $3) \
             {lock}) \
             RETURNING {COLUMNS}"
        );
        let full: Vec<&str> = room.busy.iter().filter(|(_, n)| *n == 0).map(|(app, _)| app.as_str()).collect();
        let mut rows: Vec<DeliveryRow> = match &self.db {
            Db::Postgres(pool) => {
                sqlx::query_as(&sql)
                    .bind(now)
                    .bind(lease_until)
                    .bind(limit)
                    .bind(full)
                    .bind(room.busy.iter().map(|(app, _)| app.as_str()).collect::<Vec<_>>())
                    .bind(room.busy.iter().map(|(_, n)| *n).collect::<Vec<i64>>())
                    .bind(room.idle)
                    .fetch_all(pool)
                    .await?
            }
            Db::Sqlite { writer, .. } => {
                sqlx::query_as(&sql)
                    .bind(now)
                    .bind(lease_until)
                    .bind(limit)
                    .bind(serde_json::to_string(&full).expect("strings serialize"))
                    .bind(serde_json::to_string(&room.busy).expect("pairs serialize"))
                    .bind(room.idle)
                    .fetch_all(writer)
                    .await?
            }
        };
        rows.sort_by_key(|r| r.seq);
        Ok(rows)
    }

    /// Gives up this process's leases on deliveries it will not send, so that a claim takes them.
    pub async fn release_leases(&self, ids: &[String]) -> StoreResult<()> {
        match &self.db {
            Db::Postgres(pool) => {
                let sql = format!("UPDATE webhook_deliveries SET lease_until = 0 WHERE id = ANY($1) AND {UNFINISHED}");
                sqlx::query(&sql).bind(ids).execute(pool).await?;
            }
            Db::Sqlite { writer, .. } => {
                let sql = format!(
                    "UPDATE webhook_deliveries SET lease_until = 0 WHERE id IN (SELECT value FROM json_each($1)) \
                     AND {UNFINISHED}"
                );
                let ids = serde_json::to_string(ids).expect("strings serialize");
                sqlx::query(&sql).bind(ids).execute(writer).await?;
            }
        }
        Ok(())
    }

    /// Records the outcomes of attempts, logs each attempt and releases their leases, in one write.
    pub async fn record_attempts(&self, records: &[(&str, &AttemptRecord)]) -> StoreResult<()> {
        match &self.db {
            Db::Postgres(pool) => {
                // One statement for the whole batch: the outcomes arrive as parallel arrays; the
                // update returns the rows it changed (still unfinished: a delivery another process
                // finished meanwhile is left alone), and only those get their attempt logged.
                let sql = format!(
                    "WITH recorded AS ( \
                       UPDATE webhook_deliveries d SET status = v.status, attempts = d.attempts + 1, \
                       last_response_code = v.code, last_error = v.error, next_attempt_at = v.next_at, \
                       lease_until = 0, updated_at = v.at, \
                       delivered_at = CASE WHEN v.status = 'delivered' THEN v.at ELSE d.delivered_at END \
                       FROM UNNEST($1::text[], $2::text[], $3::bigint[], $4::text[], $5::bigint[], $6::bigint[], \
                         $7::bigint[], $8::bigint[], $9::text[]) \
                       AS v(id, status, code, error, next_at, at, attempted_at, duration_ms, body) \
                       WHERE d.id = v.id AND d.{UNFINISHED} \
                       RETURNING v.id, v.attempted_at, v.code, v.duration_ms, v.error, v.body) \
                     INSERT INTO delivery_attempts (delivery_id, at, response_code, duration_ms, error, response_body) \
                     SELECT id, attempted_at, code, duration_ms, error, body FROM recorded ORDER BY attempted_at"
                );
                sqlx::query(&sql)
                    .bind(records.iter().map(|(id, _)| id.to_string()).collect::<Vec<_>>())
                    .bind(records.iter().map(|(_, r)| r.status.as_str().to_string()).collect::<Vec<_>>())
                    .bind(records.iter().map(|(_, r)| r.response_code).collect::<Vec<_>>())
                    .bind(records.iter().map(|(_, r)| r.error.clone()).collect::<Vec<_>>())
                    .bind(records.iter().map(|(_, r)| r.next_attempt_at).collect::<Vec<_>>())
                    .bind(records.iter().map(|(_, r)| r.now).collect::<Vec<_>>())
                    .bind(records.iter().map(|(_, r)| r.attempted_at).collect::<Vec<_>>())
                    .bind(records.iter().map(|(_, r)| r.duration_ms).collect::<Vec<_>>())
                    .bind(records.iter().map(|(_, r)| r.response_body.clone()).collect::<Vec<_>>())
                    .execute(pool)
                    .await?;
            }
            Db::Sqlite { writer, .. } => {
                let mut tx = writer.begin().await?;
                for (id, record) in records {
                    let recorded = sqlx::query(RECORD_ATTEMPT)
                        .bind(*id)
                        .bind(record.status.as_str())
                        .bind(record.response_code)
                        .bind(&record.error)
                        .bind(record.next_attempt_at)
                        .bind(record.now)
                        .execute(&mut *tx)
                        .await?;
                    if recorded.rows_affected() > 0 {
                        insert_attempt!(*id, record).execute(&mut *tx).await?;
                    }
                }
                tx.commit().await?;
            }
        }
        Ok(())
    }

    /// Marks pending deliveries past their deadline as expired; returns how many.
    pub async fn expire_overdue_deliveries(&self, now: i64) -> StoreResult<u64> {
        let sql = "UPDATE webhook_deliveries SET status = 'expired', lease_until = 0, updated_at = $1, \
                   last_error = CASE WHEN last_error = '' THEN 'not delivered before its deadline' ELSE last_error END \
                   WHERE status = 'pending' AND expires_at IS NOT NULL AND expires_at <= $1 AND lease_until <= $1";
        Ok(execute!(self, sql, now)?)
    }

    /// The app's delivery log after the cursor, oldest first, narrowed by `filter`. A delivery
    /// queued later has a higher `seq` than every one returned: paging never skips a row.
    pub async fn list_deliveries(
        &self,
        app_id: &str,
        filter: &DeliveryFilter,
        after_seq: i64,
        limit: i64,
    ) -> StoreResult<Vec<DeliveryRow>> {
        // Only the conditions asked for are written, so that the planner sees each one (a `call_sid`
        // is found through its index rather than behind an `IS NULL OR`).
        let mut conditions = String::new();
        let mut n = 3;
        let mut condition = |sql: &str| {
            n += 1;
            conditions.push_str(&format!(" AND {sql} ${n}"));
        };
        filter.status.is_some().then(|| condition("status ="));
        filter.call_sid.is_some().then(|| condition("call_sid ="));
        filter.event_type.is_some().then(|| condition("event_type ="));
        filter.created_from.is_some().then(|| condition("created_at >="));
        filter.created_before.is_some().then(|| condition("created_at <"));
        let sql = format!(
            "SELECT {COLUMNS} FROM webhook_deliveries WHERE app_id = $1 AND seq > $2{conditions} ORDER BY seq LIMIT $3"
        );
        Ok(on_page_reader!(self, Paged::Deliveries, app_id, |conn| {
            let mut query = sqlx::query_as(&sql).bind(app_id).bind(after_seq).bind(limit);
            if let Some(status) = filter.status {
                query = query.bind(status.as_str());
            }
            if let Some(call_sid) = &filter.call_sid {
                query = query.bind(call_sid.as_str());
            }
            if let Some(event_type) = filter.event_type {
                query = query.bind(event_type);
            }
            if let Some(from) = filter.created_from {
                query = query.bind(from);
            }
            if let Some(before) = filter.created_before {
                query = query.bind(before);
            }
            query.fetch_all(conn).await
        })?)
    }

    pub async fn find_delivery(&self, app_id: &str, id: &str) -> StoreResult<Option<DeliveryRow>> {
        let sql = format!("SELECT {COLUMNS} FROM webhook_deliveries WHERE app_id = $1 AND id = $2");
        Ok(on_reader!(self, |pool| sqlx::query_as(&sql).bind(app_id).bind(id).fetch_optional(pool).await)?)
    }

    /// The delivery and its attempt log, oldest attempt first. An attempt recorded between the
    /// two reads may show in the log before `attempts` counts it.
    pub async fn find_delivery_with_attempts(
        &self,
        app_id: &str,
        id: &str,
    ) -> StoreResult<Option<(DeliveryRow, Vec<AttemptRow>)>> {
        let Some(delivery) = self.find_delivery(app_id, id).await? else { return Ok(None) };
        let sql = "SELECT at, response_code, duration_ms, error, response_body FROM delivery_attempts \
                   WHERE delivery_id = $1 ORDER BY seq";
        let attempts = on_reader!(self, |pool| sqlx::query_as(sql).bind(&delivery.message.id).fetch_all(pool).await)?;
        Ok(Some((delivery, attempts)))
    }

    /// Stores a delivery that was sent once already, finished (`record.status`) with its one
    /// attempt: no claim ever takes it. Returns it as stored.
    pub async fn record_sent_delivery(
        &self,
        sent: &WebhookMessage,
        record: &AttemptRecord,
    ) -> StoreResult<DeliveryRow> {
        let sql = format!(
            "INSERT INTO webhook_deliveries (id, app_id, event_type, url, call_sid, payload, status, attempts, \
             next_attempt_at, lease_until, expires_at, last_response_code, last_error, created_at, updated_at, \
             delivered_at) VALUES ($1, $2, $3, $4, $5, $6, $7, 1, $8, 0, NULL, $9, $10, $11, $8, $12) \
             RETURNING {COLUMNS}"
        );
        let delivered_at = (record.status == DeliveryStatus::Delivered).then_some(record.now);
        Ok(on_writer!(self, |pool| async {
            let mut tx = pool.begin().await?;
            tx.hold_pages(Paged::Deliveries, &sent.app_id).await?;
            let row: DeliveryRow = sqlx::query_as(&sql)
                .bind(&sent.id)
                .bind(&sent.app_id)
                .bind(&sent.event_type)
                .bind(&sent.url)
                .bind(&sent.call_sid)
                .bind(&sent.payload)
                .bind(record.status.as_str())
                .bind(record.now)
                .bind(record.response_code)
                .bind(&record.error)
                .bind(record.attempted_at)
                .bind(delivered_at)
                .fetch_one(&mut *tx)
                .await?;
            insert_attempt!(&sent.id, record).execute(&mut *tx).await?;
            tx.commit().await?;
            Ok::<_, sqlx::Error>(row)
        }
        .await)?)
    }

    /// Queues a finished delivery again, due now and without a deadline. `None` when it is not
    /// this app's, is still pending, or is a test (sent once, never again).
    pub async fn requeue_delivery(&self, app_id: &str, id: &str, now: i64) -> StoreResult<Option<DeliveryRow>> {
        let sql = format!(
            "UPDATE webhook_deliveries SET status = 'pending', next_attempt_at = $3, lease_until = 0, expires_at = NULL, \
             updated_at = $3 WHERE app_id = $1 AND id = $2 AND status <> 'pending' AND event_type <> $4 \
             RETURNING {COLUMNS}"
        );
        Ok(on_writer!(self, |pool| sqlx::query_as(&sql)
            .bind(app_id)
            .bind(id)
            .bind(now)
            .bind(TEST_EVENT_TYPE)
            .fetch_optional(pool)
            .await)?)
    }

    /// Queues again every finished delivery of the app created in `[from, before)` whose status is
    /// in `statuses`, except `test` ones: due now, with the whole retry schedule ahead of it
    /// (`attempts` starts over; the attempt log keeps what happened before), and a popup with a
    /// fresh deadline. Each keeps its id. Returns how many were queued.
    pub async fn recover_deliveries(&self, app_id: &str, window: &RecoverWindow) -> StoreResult<u64> {
        let in_statuses = match self.db {
            Db::Postgres(_) => "status = ANY($4)",
            Db::Sqlite { .. } => "status IN (SELECT value FROM json_each($4))",
        };
        let sql = format!(
            "UPDATE webhook_deliveries SET status = 'pending', attempts = 0, next_attempt_at = $5, lease_until = 0, \
               expires_at = CASE WHEN event_type = 'popup' THEN $5 + $6 ELSE NULL END, delivered_at = NULL, \
               updated_at = $5 \
             WHERE app_id = $1 AND created_at >= $2 AND created_at < $3 AND {in_statuses} AND event_type <> '{TEST_EVENT_TYPE}'"
        );
        let statuses: Vec<&str> = window.statuses.iter().map(|s| s.as_str()).collect();
        let queued = match &self.db {
            Db::Postgres(pool) => sqlx::query(&sql)
                .bind(app_id)
                .bind(window.created_from)
                .bind(window.created_before)
                .bind(statuses)
                .bind(window.now)
                .bind(window.popup_deadline_ms)
                .execute(pool)
                .await?
                .rows_affected(),
            Db::Sqlite { writer, .. } => sqlx::query(&sql)
                .bind(app_id)
                .bind(window.created_from)
                .bind(window.created_before)
                .bind(serde_json::to_string(&statuses).expect("strings serialize"))
                .bind(window.now)
                .bind(window.popup_deadline_ms)
                .execute(writer)
                .await?
                .rows_affected(),
        };
        Ok(queued)
    }

    /// Deletes finished deliveries last touched before `before`; returns how many.
    pub async fn purge_finished_deliveries(&self, before: i64) -> StoreResult<u64> {
        let sql = "DELETE FROM webhook_deliveries WHERE status IN ('delivered', 'dead', 'expired') AND updated_at < $1";
        Ok(execute!(self, sql, before)?)
    }

    /// Pending deliveries and the creation time of the oldest, for the queue metrics.
    pub async fn pending_delivery_stats(&self) -> StoreResult<(i64, Option<i64>)> {
        let sql = "SELECT COUNT(*), MIN(created_at) FROM webhook_deliveries WHERE status = 'pending'";
        Ok(on_reader!(self, |pool| sqlx::query_as(sql).fetch_one(pool).await)?)
    }
}
