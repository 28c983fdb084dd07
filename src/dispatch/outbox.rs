//! The outbox: how the request path queues webhooks for this process's dispatcher. One constructor,
//! [`new_pair`], gives the producer ([`Outbox`], held by the request path) and the consumer
//! ([`OutboxConsumer`], owned by the dispatcher); the producer never reaches back into the dispatcher.
//!
//! A delivery is stored already leased to this process when it can be sent at once (a dispatcher
//! runs here, its app has room, and nothing earlier for its call is pending), and handed straight
//! to the dispatcher: no claim query, no poll. Anything else stays unleased in the table, where the
//! dispatcher's claim (woken, or on its poll) finds it; so does another process once a lease runs out.

use std::collections::hash_map::DefaultHasher;
use std::collections::{HashMap, HashSet};
use std::hash::{Hash, Hasher};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{mpsc, Notify};

use super::secrets::SecretCache;
use crate::config::Config;
use crate::store::{AppRoom, DeliveryRow};

/// How many call keys the waiting set holds before it starts over (the poll catches the rest).
const MAX_WAITING: usize = 10_000;

/// The producer: queues webhooks for this process's dispatcher; cheap to clone.
#[derive(Clone)]
pub struct Outbox {
    shared: Arc<Shared>,
}

/// The consumer: the dispatcher's end, taking hand-offs and wake-ups.
pub struct OutboxConsumer {
    pub(super) shared: Arc<Shared>,
    pub(super) intake: mpsc::UnboundedReceiver<DeliveryRow>,
}

/// An outbox's two ends. Until a dispatcher takes the consumer (and so while none runs in this
/// process), deliveries are stored unleased, for a claim to find.
pub fn new_pair(config: &Config) -> (Outbox, OutboxConsumer) {
    let (handoff, intake) = mpsc::unbounded_channel();
    let shared = Arc::new(Shared {
        claim: Notify::new(),
        room_freed: Notify::new(),
        handoff,
        attached: AtomicBool::new(false),
        busy: AppSlots::new(config.webhook_max_in_flight_per_app),
        waiting: Mutex::new(HashSet::new()),
        // Long enough that a live attempt always finishes (or times out) before its lease ends.
        lease: config.webhook_timeout * 2 + Duration::from_secs(10),
        secrets: SecretCache::new(config.webhook_secret_cache_ttl),
    });
    (Outbox { shared: shared.clone() }, OutboxConsumer { shared, intake })
}

pub(super) struct Shared {
    /// Wakes the dispatcher's claim.
    pub(super) claim: Notify,
    /// Wakes the dispatcher's claim, at a bounded rate, when an app that was full has room again.
    pub(super) room_freed: Notify,
    handoff: mpsc::UnboundedSender<DeliveryRow>,
    /// True while a dispatcher runs in this process and takes hand-offs.
    attached: AtomicBool,
    pub(super) busy: AppSlots,
    /// Calls (app, CallSid, URL, hashed) with a delivery stored unleased behind an earlier one:
    /// when the earlier one finishes here, the claim is woken at once instead of at the next poll.
    waiting: Mutex<HashSet<u64>>,
    /// How long a delivery is leased to the process that sends it.
    pub(super) lease: Duration,
    /// The app secrets the dispatcher signs with (see [`super::secrets`]).
    pub(super) secrets: SecretCache,
}

impl Outbox {
    /// The lease a new delivery of `app_id` should be stored with: until when this process will
    /// have sent it, or 0 to leave it for a claim.
    pub fn lease_for(&self, app_id: &str, now: i64) -> i64 {
        if self.shared.attached.load(Ordering::Acquire) && self.shared.busy.has_room(app_id) {
            now + self.shared.lease.as_millis() as i64
        } else {
            0
        }
    }

    /// A delivery was stored: sends it now when it was stored leased. One stored unleased waits:
    /// behind an earlier delivery of its call (the claim is woken when that one finishes here),
    /// for room in its app (woken when a slot frees), or for the next poll.
    pub fn queued(&self, delivery: DeliveryRow, leased: bool) {
        if leased {
            // The app's slot is taken now, as the delivery was leased on the promise of one: the
            // next delivery of a full app is stored unleased, even before the dispatcher starts this one.
            self.shared.busy.take(&delivery.message.app_id);
            if let Err(unsent) = self.shared.handoff.send(delivery) {
                self.shared.busy.give_back(&unsent.0.message.app_id);
                tracing::warn!(delivery_id = %unsent.0.message.id, "no dispatcher took the delivery; it is sent when its lease ends");
            }
        } else if !delivery.message.call_sid.is_empty() {
            let mut waiting = self.shared.waiting.lock().expect("waiting lock");
            if waiting.len() >= MAX_WAITING {
                waiting.clear();
            }
            waiting.insert(call_key(&delivery.message.app_id, &delivery.message.call_sid, &delivery.message.url));
        }
    }

    /// Wakes the dispatcher's claim (a delivery was queued again, or is due).
    pub fn wake(&self) {
        self.shared.claim.notify_one();
    }

    /// The app's secret was rotated: this process's dispatcher signs with the new secrets from its
    /// next attempt (other processes within their cache TTL).
    pub fn secret_rotated(&self, app_id: &str) {
        self.shared.secrets.forget(app_id);
    }
}

impl Shared {
    /// A dispatcher runs: new deliveries may be stored leased and handed to it.
    pub(super) fn attach(&self) {
        self.attached.store(true, Ordering::Release);
    }

    /// No more hand-offs: new deliveries are stored unleased from now on.
    pub(super) fn detach(&self) {
        self.attached.store(false, Ordering::Release);
    }

    /// Whether a later delivery of this call and URL was stored waiting on the one that just finished.
    pub(super) fn take_waiting(&self, app_id: &str, call_sid: &str, url: &str) -> bool {
        !call_sid.is_empty() && self.waiting.lock().expect("waiting lock").remove(&call_key(app_id, call_sid, url))
    }
}

fn call_key(app_id: &str, call_sid: &str, url: &str) -> u64 {
    let mut hasher = DefaultHasher::new();
    (app_id, call_sid, url).hash(&mut hasher);
    hasher.finish()
}

/// Attempts in flight per app, so that one tenant's slow or hanging receiver holds at most
/// `limit` of the dispatcher's attempts and connections, and never starves the other tenants.
pub(super) struct AppSlots {
    limit: usize,
    counts: Mutex<HashMap<String, usize>>,
}

impl AppSlots {
    fn new(limit: usize) -> Self {
        Self { limit: limit.max(1), counts: Mutex::new(HashMap::new()) }
    }

    pub(super) fn has_room(&self, app_id: &str) -> bool {
        self.counts.lock().expect("slots lock").get(app_id).copied().unwrap_or(0) < self.limit
    }

    /// Takes a slot, even past the limit: a delivery leased to this process must be sent. (A claim
    /// takes no more of an app than [`AppSlots::room`] allowed, and a new delivery is stored leased
    /// only while its app has room, so the limit is passed only by a race of a few.)
    pub(super) fn take(&self, app_id: &str) {
        *self.counts.lock().expect("slots lock").entry(app_id.to_string()).or_insert(0) += 1;
    }

    /// Gives a slot back; true when the app was full, so that its unleased backlog can be claimed.
    pub(super) fn give_back(&self, app_id: &str) -> bool {
        let mut counts = self.counts.lock().expect("slots lock");
        let Some(count) = counts.get_mut(app_id) else { return false };
        let was_full = *count >= self.limit;
        *count -= 1;
        if *count == 0 {
            counts.remove(app_id);
        }
        was_full
    }

    /// How many more attempts each app may start, for a claim.
    pub(super) fn room(&self) -> AppRoom {
        let counts = self.counts.lock().expect("slots lock");
        let room = |count: usize| self.limit.saturating_sub(count) as i64;
        AppRoom { busy: counts.iter().map(|(app, count)| (app.clone(), room(*count))).collect(), idle: room(0) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_app_has_room_until_its_limit_and_again_after_a_slot_is_given_back() {
        let slots = AppSlots::new(2);
        slots.take("a");
        assert!(slots.has_room("a"));
        slots.take("a");
        assert!(!slots.has_room("a"), "the third attempt of a full app waits");
        assert!(slots.has_room("b"), "another app is not affected");
        let room = slots.room();
        assert_eq!((room.busy, room.idle), (vec![("a".to_string(), 0)], 2));
        assert!(slots.give_back("a"), "the app was full");
        assert!(slots.has_room("a"));
        assert_eq!(slots.room().busy, [("a".to_string(), 1)]);
        assert!(!slots.give_back("a"));
        assert!(slots.room().busy.is_empty(), "an app with nothing in flight is forgotten");
    }

    #[test]
    fn a_leased_delivery_takes_a_slot_even_past_the_limit() {
        let slots = AppSlots::new(1);
        slots.take("a");
        slots.take("a");
        assert!(!slots.has_room("a"));
        assert_eq!(slots.room().busy, [("a".to_string(), 0)]);
        assert!(slots.give_back("a"));
        assert!(slots.give_back("a"), "still full after the first slot came back");
        assert!(slots.has_room("a"));
    }
}
