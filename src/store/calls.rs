//! The `call_events` table, written together with the webhook deliveries the events cause. A
//! call's latest event holds its latest payload.

use std::collections::{HashMap, HashSet};

use sqlx::FromRow;

use super::deliveries::COLUMNS as DELIVERY_COLUMNS;
use super::pages::Paged;
use super::{Db, DeliveryRow, Store, StoreResult, WebhookMessage};
use crate::domain::call::{CallDirection, DeliveryStatus};

/// The latest payload of a call, as JSON text.
#[derive(Debug, Clone, FromRow)]
pub struct CallRow {
    pub app_id: String,
    pub call_sid: String,
    pub payload: String,
}

/// A call in the call list: its latest payload, and the `seq` of its first event (the list's cursor).
#[derive(Debug, Clone, FromRow)]
pub struct ListedCall {
    pub first_seq: i64,
    pub call_sid: String,
    /// The call's latest payload, as JSON text.
    pub payload: String,
}

/// A stored call event, as the timeline shows it.
#[derive(Debug, Clone, FromRow)]
pub struct CallEventRow {
    pub id: String,
    pub event_type: String,
    /// The call payload after the event, as JSON text.
    pub payload: String,
    pub created_at: i64,
}

/// One event of a call's timeline, with the deliveries it queued (oldest first).
#[derive(Debug, Clone)]
pub struct TimelineEvent {
    pub event: CallEventRow,
    pub deliveries: Vec<DeliveryRow>,
}

/// A delivery with the event that queued it.
#[derive(FromRow)]
struct EventDeliveryRow {
    event_id: String,
    #[sqlx(flatten)]
    row: DeliveryRow,
}

/// One thing that happened to a call.
#[derive(Debug, Clone)]
pub struct CallEvent {
    pub id: String,
    pub app_id: String,
    pub call_sid: String,
    pub event_type: String,
    /// The call payload after the event, as JSON text.
    pub payload: String,
    pub at: i64,
}

/// The webhook delivery an event causes: the event's payload, for its app and call, to `url`.
#[derive(Debug, Clone)]
pub struct EventDelivery {
    pub id: String,
    /// The setting the URL came from: `popup`, `incomingCallHangup`, `missedCall` or `callback`.
    pub event_type: String,
    pub url: String,
    /// When a popup stops being worth delivering.
    pub expires_at: Option<i64>,
}

/// A call event to record, with the webhook delivery it causes (when the app has a URL for it).
#[derive(Debug, Clone)]
pub struct EventWrite {
    pub event: CallEvent,
    pub delivery: Option<EventDelivery>,
    /// When not 0, the delivery is stored already leased to the writer until this time (unix ms),
    /// so that it can be sent at once without being claimed, unless an earlier delivery for the
    /// same call and URL is still pending: then it waits its turn and is claimed later.
    pub lease_until: i64,
}

/// A delivery just stored with its event: pending, never attempted.
#[derive(Debug, Clone)]
pub struct QueuedDelivery {
    pub row: DeliveryRow,
    /// Whether it was stored leased to this process, to be sent at once (else a claim finds it).
    pub leased: bool,
}

impl QueuedDelivery {
    /// The row as the insert wrote it: the write's values, and the `seq` and lease the database gave.
    fn stored(event: &CallEvent, delivery: &EventDelivery, seq: i64, lease_until: i64) -> Self {
        let row = DeliveryRow {
            seq,
            message: WebhookMessage {
                id: delivery.id.clone(),
                app_id: event.app_id.clone(),
                event_type: delivery.event_type.clone(),
                url: delivery.url.clone(),
                call_sid: event.call_sid.clone(),
                payload: event.payload.clone(),
            },
            status: DeliveryStatus::Pending,
            attempts: 0,
            next_attempt_at: event.at,
            expires_at: delivery.expires_at,
            last_response_code: None,
            last_error: String::new(),
            created_at: event.at,
            delivered_at: None,
        };
        Self { row, leased: lease_until > 0 }
    }
}

/// SQLite's insert of an event. A call's first event (none earlier of the app and CallSid: the
/// batch's own earlier rows are visible in its transaction) gets the call's direction, which puts
/// it in the call list's index (migration 0009).
const INSERT_EVENT: &str =
    "INSERT INTO call_events (id, app_id, call_sid, event_type, payload, created_at, call_direction) \
     VALUES ($1, $2, $3, $4, $5, $6, \
       CASE WHEN $3 <> '' AND NOT EXISTS (SELECT 1 FROM call_events e WHERE e.app_id = $2 AND e.call_sid = $3) \
       THEN COALESCE(json_extract($5, '$.Direction'), '') END)";
/// SQLite's insert of a delivery (one writer: no page lock, see [`super::pages`]). The lease is
/// taken only when nothing earlier for the same call and URL is pending.
const INSERT_DELIVERY: &str =
    "INSERT INTO webhook_deliveries (id, app_id, event_type, url, call_sid, payload, status, attempts, \
     next_attempt_at, lease_until, expires_at, last_response_code, last_error, created_at, updated_at, delivered_at, \
     event_id) \
     VALUES ($1, $2, $3, $4, $5, $6, 'pending', 0, $7, \
       CASE WHEN $9 > 0 AND ($5 = '' OR NOT EXISTS (SELECT 1 FROM webhook_deliveries e \
         WHERE e.app_id = $2 AND e.call_sid = $5 AND e.url = $4 AND e.status = 'pending')) THEN $9 ELSE 0 END, \
       $8, NULL, '', $7, $7, NULL, $10) \
     RETURNING seq, lease_until";

/// Postgres writes a whole batch in one statement: the input arrives as parallel arrays, and a
/// data-modifying CTE inserts the events, then the deliveries (each naming its event), in input
/// order so that each table's `seq` follows it.
///
/// A call's first event gets the call's direction (see [`INSERT_EVENT`]). The statement's snapshot
/// does not show its own rows, so "first" is checked twice: first of its call in the batch, and no
/// event of the call stored before. The second check can only see events with a lower `seq` (a
/// commit it sees happened before this statement drew any), so a call's first event is always
/// marked; another process writing the same call at the same moment may mark a later one too,
/// which the call list's read skips (it checks that no earlier event exists). The check is a
/// lateral probe with `LIMIT 1`: one lookup of `call_events_latest` per row, whatever the planner
/// makes of the table's statistics (a correlated `NOT EXISTS` leaves it free to choose a plan that
/// reads more of the index).
///
/// Before any row is read from the input (its condition names no input column, so Postgres checks
/// it once, first), the statement takes the shared page lock of each app with a delivery in the batch (see
/// [`super::pages`]; `$12` is its first key), in the order of the keys so that two batches never
/// wait on each other's locks in a cycle through a waiting page read; the locks last until the
/// statement's transaction commits.
const INSERT_BATCH_POSTGRES: &str = "WITH input AS ( \
       SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::bigint[], \
         $7::text[], $8::text[], $9::text[], $10::bigint[], $11::bigint[]) \
       WITH ORDINALITY AS i(event_id, app_id, call_sid, event_type, payload, at, \
         delivery_id, delivery_type, url, expires_at, lease_until, ord) \
       WHERE (SELECT count(pg_advisory_xact_lock_shared($12, k)) FROM ( \
         SELECT DISTINCT hashtext(a) AS k FROM UNNEST($2::text[], $7::text[]) AS x(a, d) \
         WHERE d IS NOT NULL ORDER BY k) AS keys) >= 0), \
     events AS (INSERT INTO call_events (id, app_id, call_sid, event_type, payload, created_at, call_direction) \
       SELECT event_id, app_id, call_sid, event_type, payload, at, \
         CASE WHEN call_sid <> '' AND first_in_batch AND earlier.found IS NULL \
         THEN COALESCE(payload::json ->> 'Direction', '') END \
       FROM (SELECT i.*, row_number() OVER (PARTITION BY i.app_id, i.call_sid ORDER BY i.ord) = 1 AS first_in_batch \
         FROM input i) AS b \
       LEFT JOIN LATERAL (SELECT 1 AS found FROM call_events e \
         WHERE e.app_id = b.app_id AND e.call_sid = b.call_sid LIMIT 1) AS earlier ON true \
       ORDER BY ord) \
     INSERT INTO webhook_deliveries (id, app_id, event_type, url, call_sid, payload, status, attempts, \
       next_attempt_at, lease_until, expires_at, last_response_code, last_error, created_at, updated_at, delivered_at, \
       event_id) \
     SELECT i.delivery_id, i.app_id, i.delivery_type, i.url, i.call_sid, i.payload, 'pending', 0, i.at, \
       CASE WHEN i.lease_until > 0 AND (i.call_sid = '' OR NOT EXISTS (SELECT 1 FROM webhook_deliveries e \
         WHERE e.app_id = i.app_id AND e.call_sid = i.call_sid AND e.url = i.url AND e.status = 'pending')) \
       THEN i.lease_until ELSE 0 END, \
       i.expires_at, NULL, '', i.at, i.at, NULL, i.event_id \
     FROM input i WHERE i.delivery_id IS NOT NULL ORDER BY i.ord \
     RETURNING id, seq, lease_until";

impl Store {
    /// Records a call event, the call's latest payload and (when there is one) the webhook
    /// delivery, atomically: the delivery exists if and only if the event does. Concurrent events
    /// are written together, one commit for many (see [`crate::batch`]); events of one call are
    /// written in the order they arrive. Returns the delivery as stored, when there is one.
    pub async fn record_call_event(&self, write: EventWrite) -> StoreResult<Option<QueuedDelivery>> {
        match &self.batches {
            Some(batches) => batches.event_shard(&write.event).call(write).await?,
            None => Ok(self.record_call_events(std::slice::from_ref(&write)).await?.remove(0)),
        }
    }

    /// Writes `writes` in one transaction; for each, its delivery as stored.
    pub(super) async fn record_call_events(&self, writes: &[EventWrite]) -> StoreResult<Vec<Option<QueuedDelivery>>> {
        let lease = leases_in_batch(writes);
        match &self.db {
            Db::Postgres(pool) => {
                let text = |pick: fn(&EventWrite) -> String| writes.iter().map(pick).collect::<Vec<String>>();
                let delivery_text = |pick: fn(&EventDelivery) -> String| {
                    writes.iter().map(|w| w.delivery.as_ref().map(pick)).collect::<Vec<Option<String>>>()
                };
                let rows: Vec<(String, i64, i64)> = sqlx::query_as(INSERT_BATCH_POSTGRES)
                    .bind(text(|w| w.event.id.clone()))
                    .bind(text(|w| w.event.app_id.clone()))
                    .bind(text(|w| w.event.call_sid.clone()))
                    .bind(text(|w| w.event.event_type.clone()))
                    .bind(text(|w| w.event.payload.clone()))
                    .bind(writes.iter().map(|w| w.event.at).collect::<Vec<i64>>())
                    .bind(delivery_text(|d| d.id.clone()))
                    .bind(delivery_text(|d| d.event_type.clone()))
                    .bind(delivery_text(|d| d.url.clone()))
                    .bind(writes.iter().map(|w| w.delivery.as_ref().and_then(|d| d.expires_at)).collect::<Vec<_>>())
                    .bind(lease)
                    .bind(Paged::Deliveries.lock_key())
                    .fetch_all(pool)
                    .await?;
                let stored: HashMap<&str, (i64, i64)> =
                    rows.iter().map(|(id, seq, lease)| (id.as_str(), (*seq, *lease))).collect();
                Ok(writes
                    .iter()
                    .map(|w| {
                        let delivery = w.delivery.as_ref()?;
                        let (seq, lease) = stored.get(delivery.id.as_str())?;
                        Some(QueuedDelivery::stored(&w.event, delivery, *seq, *lease))
                    })
                    .collect())
            }
            Db::Sqlite { writer, .. } => {
                let mut tx = writer.begin().await?;
                let mut queued = Vec::with_capacity(writes.len());
                for (write, lease_until) in writes.iter().zip(lease) {
                    let event = &write.event;
                    sqlx::query(INSERT_EVENT)
                        .bind(&event.id)
                        .bind(&event.app_id)
                        .bind(&event.call_sid)
                        .bind(&event.event_type)
                        .bind(&event.payload)
                        .bind(event.at)
                        .execute(&mut *tx)
                        .await?;
                    let stored = match &write.delivery {
                        Some(delivery) => {
                            let (seq, lease) = sqlx::query_as::<_, (i64, i64)>(INSERT_DELIVERY)
                                .bind(&delivery.id)
                                .bind(&event.app_id)
                                .bind(&delivery.event_type)
                                .bind(&delivery.url)
                                .bind(&event.call_sid)
                                .bind(&event.payload)
                                .bind(event.at)
                                .bind(delivery.expires_at)
                                .bind(lease_until)
                                .bind(&event.id)
                                .fetch_one(&mut *tx)
                                .await?;
                            Some(QueuedDelivery::stored(event, delivery, seq, lease))
                        }
                        None => None,
                    };
                    queued.push(stored);
                }
                tx.commit().await?;
                Ok(queued)
            }
        }
    }

    /// The call's latest payload: its latest event's.
    pub async fn find_call(&self, app_id: &str, call_sid: &str) -> StoreResult<Option<CallRow>> {
        let latest = match self.db {
            Db::Postgres(_) => "seq DESC",
            // The rowid follows insertion; `call_events_by_call` holds it after `created_at`.
            Db::Sqlite { .. } => "created_at DESC, rowid DESC",
        };
        let sql = format!(
            "SELECT app_id, call_sid, payload FROM call_events WHERE app_id = $1 AND call_sid = $2 AND call_sid <> '' \
             ORDER BY {latest} LIMIT 1"
        );
        Ok(on_reader!(self, |pool| sqlx::query_as(&sql).bind(app_id).bind(call_sid).fetch_optional(pool).await)?)
    }

    /// The app's calls whose first event came before `before` (a cursor: the `first_seq` of the
    /// previous page's last call), newest first, each with its latest payload; of one direction, or
    /// of both.
    ///
    /// The plan: `call_events_calls` (migration 0009) holds exactly the calls' first events, by app,
    /// direction and `seq` (SQLite: the rowid). Each direction is one backward range scan of it that
    /// stops after `limit` rows; with both directions the two ranges, each already in order, are
    /// merged (a merge append on Postgres; SQLite sorts at most twice `limit` rows). Each row is
    /// checked to have no earlier event of its call (a probe of `call_events_latest`, SQLite
    /// `call_events_by_call`), and the calls returned look their latest payload up, one probe each
    /// (SQLite probes for each branch's rows, at most twice `limit`). The cost grows with the page,
    /// never with the app's calls or the page's depth: on Postgres, with an app of 150,000 calls
    /// (900,000 events in all, generic plans as the store runs them), a page of 20 took 1 ms and
    /// one of 100 under 5 ms, cold, in EXPLAIN ANALYZE.
    ///
    /// Unlike the delivery log this takes no page lock (see [`super::pages`]): a call whose first
    /// event commits after a page was read with a `seq` below that page's is new to the client,
    /// like any call that came since, and shows at the top of a fresh list.
    pub async fn list_calls(
        &self,
        app_id: &str,
        direction: Option<CallDirection>,
        before: i64,
        limit: i64,
    ) -> StoreResult<Vec<ListedCall>> {
        let (seq, latest) = match self.db {
            Db::Postgres(_) => ("seq", "l.seq DESC"),
            Db::Sqlite { .. } => ("rowid", "l.created_at DESC, l.rowid DESC"),
        };
        let range = |param: &str| {
            format!(
                "SELECT * FROM (SELECT f.{seq} AS first_seq, f.call_sid FROM call_events f \
                 WHERE f.app_id = $1 AND f.call_direction = {param} AND f.{seq} < $2 \
                   AND NOT EXISTS (SELECT 1 FROM call_events e \
                     WHERE e.app_id = f.app_id AND e.call_sid = f.call_sid AND e.{seq} < f.{seq}) \
                 ORDER BY f.{seq} DESC LIMIT $3) AS r{}",
                &param[1..]
            )
        };
        let firsts = match direction {
            Some(_) => range("$4"),
            None => format!("{} UNION ALL {}", range("$4"), range("$5")),
        };
        let sql = format!(
            "SELECT c.first_seq, c.call_sid, (SELECT l.payload FROM call_events l \
               WHERE l.app_id = $1 AND l.call_sid = c.call_sid ORDER BY {latest} LIMIT 1) AS payload \
             FROM ({firsts}) AS c ORDER BY c.first_seq DESC LIMIT $3"
        );
        let [first, second] = match direction {
            Some(d) => [d, d],
            None => CallDirection::ALL,
        };
        Ok(on_reader!(self, |pool| {
            let query = sqlx::query_as(&sql).bind(app_id).bind(before).bind(limit).bind(first.as_str());
            match direction {
                Some(_) => query.fetch_all(pool).await,
                None => query.bind(second.as_str()).fetch_all(pool).await,
            }
        })?)
    }

    /// What happened to one of the app's calls, oldest first: each event with the deliveries it
    /// queued. Empty when the app has no such call.
    ///
    /// Two reads, each one range of an index: the call's events (`call_events_latest`, SQLite
    /// `call_events_by_call`), then its deliveries (`webhook_deliveries_by_call`), matched to
    /// their event by `event_id`. An event and its delivery commit together, so reading the events
    /// first means every event listed finds its deliveries; a delivery of an event that came
    /// between the two reads is left out with its event.
    pub async fn call_timeline(&self, app_id: &str, call_sid: &str) -> StoreResult<Vec<TimelineEvent>> {
        let oldest = match self.db {
            Db::Postgres(_) => "seq",
            Db::Sqlite { .. } => "created_at, rowid",
        };
        let sql = format!(
            "SELECT id, event_type, payload, created_at FROM call_events \
             WHERE app_id = $1 AND call_sid = $2 AND call_sid <> '' ORDER BY {oldest}"
        );
        let events: Vec<CallEventRow> =
            on_reader!(self, |pool| sqlx::query_as(&sql).bind(app_id).bind(call_sid).fetch_all(pool).await)?;
        if events.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!(
            "SELECT event_id, {DELIVERY_COLUMNS} FROM webhook_deliveries \
             WHERE app_id = $1 AND call_sid = $2 AND event_id IS NOT NULL ORDER BY seq"
        );
        let deliveries: Vec<EventDeliveryRow> =
            on_reader!(self, |pool| sqlx::query_as(&sql).bind(app_id).bind(call_sid).fetch_all(pool).await)?;
        let mut queued: HashMap<String, Vec<DeliveryRow>> = HashMap::new();
        for EventDeliveryRow { event_id, row } in deliveries {
            queued.entry(event_id).or_default().push(row);
        }
        Ok(events
            .into_iter()
            .map(|event| {
                let deliveries = queued.remove(&event.id).unwrap_or_default();
                TimelineEvent { event, deliveries }
            })
            .collect())
    }
}

/// The lease each write asks for, where only the first delivery of a call and URL in the batch
/// may take one: the database cannot see the batch's own earlier rows when it checks.
fn leases_in_batch(writes: &[EventWrite]) -> Vec<i64> {
    let mut seen = HashSet::new();
    writes
        .iter()
        .map(|write| match &write.delivery {
            Some(_) if write.event.call_sid.is_empty() => write.lease_until,
            Some(d) if seen.insert((&write.event.app_id, &write.event.call_sid, &d.url)) => write.lease_until,
            _ => 0,
        })
        .collect()
}
