//! The webhook dispatcher: sends the deliveries handed to it at once, claims the rest (retries,
//! deliveries that waited their turn, other processes' expired leases) with a lease, sends them
//! concurrently without holding a database connection, records each outcome, and retries on a schedule.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{mpsc, Semaphore};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::config::Config;
use crate::crypto::Keyring;
use crate::domain::call::DeliveryStatus;
use crate::domain::time::now_ms;
use crate::store::{AttemptRecord, DeliveryRow, Store};
use crate::telemetry;

pub mod guard;
mod outbox;
mod recorder;
pub mod schedule;
pub mod secrets;
pub mod sender;

use outbox::Shared;
pub use outbox::{new_pair, Outbox, OutboxConsumer};
use recorder::Recorder;
use schedule::RetryPolicy;
use secrets::SigningKeys;
use sender::{Outgoing, Sender};

/// How many deliveries one claim takes.
const CLAIM_BATCH: i64 = 200;
/// How many attempts may be in flight at once in one process.
const MAX_IN_FLIGHT: usize = 1024;
/// How often overdue popups are marked expired.
const EXPIRY_SWEEP_EVERY_MS: i64 = 1_000;
/// The fallback poll, for deliveries queued by other processes or coming due.
const POLL_EVERY: Duration = Duration::from_millis(500);
/// The shortest pause between claims woken because a full app has room again: a tenant whose
/// receiver hangs frees a slot with every timeout, and must not make the claim run nonstop.
const ROOM_CLAIM_EVERY: Duration = Duration::from_millis(100);

pub struct Dispatcher {
    store: Store,
    key: Keyring,
    sender: Sender,
    policy: RetryPolicy,
    outbox: Arc<Shared>,
    intake: Mutex<Option<mpsc::UnboundedReceiver<DeliveryRow>>>,
    in_flight: Arc<Semaphore>,
    /// When overdue popups were last marked expired (unix ms).
    last_expiry_sweep: AtomicI64,
    recorder: Recorder,
}

impl Dispatcher {
    /// The dispatcher at the consumer end of its process's outbox.
    pub fn new(store: Store, config: &Config, outbox: OutboxConsumer) -> Arc<Self> {
        let OutboxConsumer { shared, intake } = outbox;
        shared.attach();
        Arc::new(Self {
            key: config.keyring.clone(),
            sender: Sender::new(config.webhook_timeout, config.webhook_allow_private),
            policy: RetryPolicy { schedule: config.webhook_retry_schedule.clone() },
            intake: Mutex::new(Some(intake)),
            recorder: Recorder::new(store.clone(), shared.lease),
            outbox: shared,
            in_flight: Arc::new(Semaphore::new(MAX_IN_FLIGHT)),
            last_expiry_sweep: AtomicI64::new(0),
            store,
        })
    }

    /// Runs until `shutdown`, then waits for attempts in flight (bounded by the lease).
    pub async fn run(self: Arc<Self>, shutdown: CancellationToken) {
        tracing::info!("webhook dispatcher started");
        let mut intake = self.intake.lock().expect("intake lock").take().expect("a dispatcher runs once");
        let mut next_claim = Instant::now();
        let mut last_claim = Instant::now();
        loop {
            if Instant::now() >= next_claim {
                last_claim = Instant::now();
                let claimed = match self.tick().await {
                    Ok(claimed) => claimed,
                    Err(error) => {
                        tracing::warn!(%error, "webhook dispatcher could not claim deliveries; retrying");
                        0
                    }
                };
                // A full batch means there is more to claim right away.
                next_claim = Instant::now() + if claimed as i64 >= CLAIM_BATCH { Duration::ZERO } else { POLL_EVERY };
            }
            tokio::select! {
                biased;
                _ = shutdown.cancelled() => break,
                _ = self.outbox.claim.notified() => next_claim = Instant::now(),
                _ = self.outbox.room_freed.notified() => next_claim = next_claim.min(last_claim + ROOM_CLAIM_EVERY),
                // Stored leased to this process: its app's slot was taken when it was queued.
                Some(delivery) = intake.recv() => self.spawn_attempt(delivery).await,
                _ = tokio::time::sleep_until(next_claim) => {}
            }
        }
        self.outbox.detach();
        self.release_unsent(&mut intake).await;
        let drain = self.in_flight.acquire_many(MAX_IN_FLIGHT as u32);
        if tokio::time::timeout(self.outbox.lease, drain).await.is_err() {
            tracing::warn!(
                "webhook dispatcher stopped with attempts in flight; their leases will expire and they will be retried"
            );
        }
        tracing::info!("webhook dispatcher stopped");
    }

    /// Hands back the leases of deliveries handed over but not started, so that the next process
    /// to claim (another one, or this one restarted) need not wait for them to run out.
    async fn release_unsent(&self, intake: &mut mpsc::UnboundedReceiver<DeliveryRow>) {
        intake.close();
        let mut ids = Vec::new();
        while let Ok(delivery) = intake.try_recv() {
            self.outbox.busy.give_back(&delivery.message.app_id);
            ids.push(delivery.message.id);
        }
        if ids.is_empty() {
            return;
        }
        match self.store.release_leases(&ids).await {
            Ok(()) => tracing::info!(count = ids.len(), "unsent webhook deliveries released for the next claim"),
            Err(error) => tracing::warn!(%error, "unsent webhook deliveries stay leased until their leases end"),
        }
    }

    /// Starts an attempt once one of the process's attempt slots is free.
    async fn spawn_attempt(self: &Arc<Self>, delivery: DeliveryRow) {
        let permit = self.in_flight.clone().acquire_owned().await.expect("semaphore is never closed");
        let this = Arc::clone(self);
        tokio::spawn(async move {
            this.attempt(&delivery).await;
            if this.outbox.busy.give_back(&delivery.message.app_id) {
                // The app's backlog can go now.
                this.outbox.room_freed.notify_one();
            }
            if this.outbox.take_waiting(&delivery.message.app_id, &delivery.message.call_sid, &delivery.message.url) {
                // A later delivery of this call was waiting for this one.
                this.outbox.claim.notify_one();
            }
            drop(permit);
        });
    }

    /// Expires overdue popups, claims a batch and starts its attempts; returns how many were claimed.
    async fn tick(self: &Arc<Self>) -> Result<usize, crate::store::StoreError> {
        let now = now_ms();
        // Overdue popups are never claimed (the claim checks their deadline); marking them expired
        // can wait, so it costs one write a second rather than one per wake-up.
        let last = self.last_expiry_sweep.load(Ordering::Relaxed);
        if now - last >= EXPIRY_SWEEP_EVERY_MS {
            self.last_expiry_sweep.store(now, Ordering::Relaxed);
            self.store.expire_overdue_deliveries(now).await?;
        }
        let available = self.in_flight.available_permits().min(CLAIM_BATCH as usize) as i64;
        if available == 0 {
            return Ok(0);
        }
        let lease_until = now + self.outbox.lease.as_millis() as i64;
        let room = self.outbox.busy.room();
        let batch = self.store.claim_due_deliveries(now, lease_until, available, &room).await?;
        let claimed = batch.len();
        for delivery in batch {
            self.outbox.busy.take(&delivery.message.app_id);
            self.spawn_attempt(delivery).await;
        }
        Ok(claimed)
    }

    /// The app's signing secrets in clear, from the cache (fresh for `WEBHOOK_SECRET_CACHE_MS`) or the store.
    async fn signing_keys(&self, app_id: &str) -> Result<Option<SigningKeys>, String> {
        if let Some(keys) = self.outbox.secrets.get(app_id) {
            return Ok(Some(keys));
        }
        let epoch = self.outbox.secrets.epoch();
        let Some(stored) = self.store.app_signing_secrets(app_id).await.map_err(|e| e.to_string())? else {
            return Ok(None);
        };
        let keys = SigningKeys::open(&self.key, app_id, &stored, now_ms()).map_err(|e| e.to_string())?;
        self.outbox.secrets.put(app_id, keys.clone(), epoch);
        Ok(Some(keys))
    }

    async fn attempt(&self, delivery: &DeliveryRow) {
        let span = tracing::info_span!("webhook", delivery_id = %delivery.message.id, app_id = %delivery.message.app_id, event = %delivery.message.event_type);
        let keys = match self.signing_keys(&delivery.message.app_id).await {
            Ok(Some(keys)) => keys,
            Ok(None) => return, // the app was deleted, and its deliveries with it
            Err(reason) => {
                tracing::warn!(parent: &span, %reason, "cannot sign the webhook; it will be retried when its lease ends");
                return;
            }
        };
        if delivery.expires_at.is_some_and(|deadline| deadline <= now_ms()) {
            // Handed over, but its turn came too late: the phone has stopped ringing.
            let now = now_ms();
            let record = AttemptRecord {
                status: DeliveryStatus::Expired,
                response_code: None,
                error: "not delivered before its deadline".to_string(),
                next_attempt_at: now,
                now,
                attempted_at: now,
                duration_ms: 0,
                response_body: String::new(),
            };
            if let Err(error) = self.recorder.record(&delivery.message.id, record).await {
                tracing::warn!(parent: &span, %error, "could not mark the delivery expired; its lease will end");
            }
            return;
        }
        let outgoing = Outgoing::new(&delivery.message, &keys);
        let started = std::time::Instant::now();
        let attempted_at = now_ms();
        let attempt = self.sender.send(&outgoing).await;
        let now = now_ms();
        let next = self.policy.next(&attempt.result, delivery.attempts, now, delivery.expires_at);
        let record = AttemptRecord {
            status: next.status,
            response_code: attempt.response_code,
            error: attempt.error.clone(),
            next_attempt_at: next.at,
            now,
            attempted_at,
            duration_ms: attempt.duration_ms,
            response_body: attempt.response_body,
        };
        if let Err(error) = self.recorder.record(&delivery.message.id, record).await {
            tracing::warn!(parent: &span, %error, "could not record the attempt; it will be retried when its lease ends");
            return;
        }
        let elapsed = started.elapsed();
        let latency_ms = elapsed.as_secs_f64() * 1000.0;
        let outcome = match next.status {
            DeliveryStatus::Pending => "retry",
            other => other.as_str(),
        };
        let labels = [("event_type", delivery.message.event_type.clone()), ("outcome", outcome.to_string())];
        metrics::counter!(telemetry::metrics::WEBHOOK_DELIVERIES, &labels).increment(1);
        metrics::histogram!(telemetry::metrics::WEBHOOK_ATTEMPT_DURATION, &labels).record(elapsed.as_secs_f64());
        match next.status {
            DeliveryStatus::Delivered => {
                tracing::info!(parent: &span, latency_ms, code = attempt.response_code, "webhook delivered");
            }
            DeliveryStatus::Pending => {
                tracing::info!(parent: &span, latency_ms, error = %attempt.error, attempt = delivery.attempts + 1, "webhook attempt failed; will retry")
            }
            DeliveryStatus::Dead | DeliveryStatus::Expired => {
                tracing::warn!(parent: &span, status = next.status.as_str(), error = %attempt.error, "webhook given up");
            }
        }
    }
}
