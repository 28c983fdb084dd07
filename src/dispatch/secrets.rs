//! The app secrets webhooks are signed with, in clear, cached per process so that signing costs no
//! database round trip.
//!
//! An entry lives at most the configured TTL (`WEBHOOK_SECRET_CACHE_MS`): a rotation made by another
//! process sharing the database is signed with within that time. A rotation made through this
//! process's API drops the app's entry at once ([`super::Outbox::secret_rotated`]). The previous
//! secret's grace is checked at every signature, so it is never used past its end, cached or not.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::crypto::{CryptoError, Keyring, SecretField};
use crate::store::SigningSecrets;

/// How many apps the cache holds before it starts over.
const CACHE_SIZE: usize = 10_000;

/// An app's signing secrets in clear.
#[derive(Clone)]
pub struct SigningKeys {
    pub current: Arc<str>,
    /// The secret a rotation replaced, with the end of its grace (unix ms).
    pub previous: Option<(Arc<str>, i64)>,
}

impl SigningKeys {
    /// Opens the stored secrets of `app_id` (the previous one only while its grace lasts at `now`).
    pub fn open(key: &Keyring, app_id: &str, stored: &SigningSecrets, now: i64) -> Result<Self, CryptoError> {
        let current = key.open_field(SecretField::AppSecret, app_id, &stored.secret)?.into();
        let previous = match stored.previous_at(now) {
            Some((sealed, until)) => {
                Some((key.open_field(SecretField::PreviousAppSecret, app_id, &sealed)?.into(), until))
            }
            None => None,
        };
        Ok(Self { current, previous })
    }

    /// The previous secret, while its grace lasts at `now`.
    pub fn previous_at(&self, now: i64) -> Option<&str> {
        self.previous.as_ref().filter(|(_, until)| *until > now).map(|(secret, _)| &**secret)
    }
}

pub(super) struct SecretCache {
    ttl: Duration,
    entries: Mutex<HashMap<String, (SigningKeys, Instant)>>,
    /// Bumped by every rotation seen here: secrets read before it are not cached after it.
    epoch: AtomicU64,
}

impl SecretCache {
    pub(super) fn new(ttl: Duration) -> Self {
        Self { ttl, entries: Mutex::new(HashMap::new()), epoch: AtomicU64::new(0) }
    }

    /// The app's cached keys while fresh.
    pub(super) fn get(&self, app_id: &str) -> Option<SigningKeys> {
        let entries = self.entries.lock().expect("secret cache lock");
        entries.get(app_id).filter(|(_, fetched)| fetched.elapsed() < self.ttl).map(|(keys, _)| keys.clone())
    }

    /// The epoch to hand back to [`SecretCache::put`] with keys about to be read.
    pub(super) fn epoch(&self) -> u64 {
        self.epoch.load(Ordering::Acquire)
    }

    /// Caches keys read at `epoch`, unless a rotation was seen since.
    pub(super) fn put(&self, app_id: &str, keys: SigningKeys, epoch: u64) {
        let mut entries = self.entries.lock().expect("secret cache lock");
        if self.epoch.load(Ordering::Acquire) != epoch {
            return;
        }
        if entries.len() >= CACHE_SIZE {
            entries.clear();
        }
        entries.insert(app_id.to_string(), (keys, Instant::now()));
    }

    /// The app's secret was rotated: its keys are read again at the next signature.
    pub(super) fn forget(&self, app_id: &str) {
        let mut entries = self.entries.lock().expect("secret cache lock");
        self.epoch.fetch_add(1, Ordering::AcqRel);
        entries.remove(app_id);
    }
}
