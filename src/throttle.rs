//! Throttling of failed `POST /token` attempts: per client address it refuses, per Id it only slows.
//!
//! An Id is no secret (an AppID is in every Exotel flow's passthru URL), so a refusal keyed on it
//! would let anyone lock its owner out. Refusals are keyed on the address that failed; the failures
//! an Id collects from all addresses together only delay the answers to *wrong* secrets, which
//! slows a guesser spread over many addresses and never holds up the right secret.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Counts failures in fixed windows: per client address (past the limit, that address is refused
/// until its window ends) and per Id (past the limit, wrong secrets for it are answered slowly).
/// Kept in memory: each server process throttles on its own.
#[derive(Debug)]
pub struct FailureThrottle {
    limit: u32,
    window: Duration,
    counts: Mutex<Counts>,
}

#[derive(Debug, Default)]
struct Counts {
    addresses: HashMap<String, Window>,
    ids: HashMap<String, Window>,
}

#[derive(Debug, Clone, Copy)]
struct Window {
    started: Instant,
    count: u32,
}

/// Past this many tracked keys, stale windows are swept on the next failure.
const SWEEP_AT: usize = 10_000;

/// The first delay of a wrong secret for an Id past its limit; each further failure doubles it.
const FIRST_DELAY: Duration = Duration::from_millis(100);

impl FailureThrottle {
    pub fn new(limit: u32, window: Duration) -> Self {
        Self { limit, window, counts: Mutex::new(Counts::default()) }
    }

    /// `Some(wait)` when `address` has used up its failures: it is refused until its window ends.
    pub fn refused(&self, address: &str) -> Option<Duration> {
        let now = Instant::now();
        let counts = self.counts.lock().expect("throttle lock");
        let window = counts.addresses.get(address).filter(|w| w.count >= self.limit)?;
        (window.started + self.window).checked_duration_since(now).filter(|wait| !wait.is_zero())
    }

    /// Counts one failure of `id` from `address`. Answers how many failures the Id has had beyond
    /// the limit in its window, from all addresses together: [`slow_down`] turns it into a delay.
    pub fn record_failure(&self, address: &str, id: &str) -> u32 {
        let now = Instant::now();
        let mut counts = self.counts.lock().expect("throttle lock");
        let Counts { addresses, ids } = &mut *counts;
        for map in [&mut *addresses, &mut *ids] {
            if map.len() >= SWEEP_AT {
                map.retain(|_, w| now.duration_since(w.started) < self.window);
            }
        }
        count(addresses, address, now, self.window);
        count(ids, id, now, self.window).saturating_sub(self.limit)
    }
}

/// Adds a failure to `key`'s window (a fresh one when the last has ended); answers its count.
fn count(map: &mut HashMap<String, Window>, key: &str, now: Instant, window: Duration) -> u32 {
    let entry = map.entry(key.to_string()).or_insert(Window { started: now, count: 0 });
    if now.duration_since(entry.started) >= window {
        *entry = Window { started: now, count: 0 };
    }
    entry.count = entry.count.saturating_add(1);
    entry.count
}

/// How long to hold back the 401 of a wrong secret whose Id has had `beyond_limit` failures past the
/// limit: nothing at first, then 100 ms doubling with each failure, never more than `max`.
pub fn slow_down(beyond_limit: u32, max: Duration) -> Duration {
    if beyond_limit == 0 {
        return Duration::ZERO;
    }
    FIRST_DELAY.saturating_mul(1 << (beyond_limit - 1).min(20)).min(max)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_is_refused_after_its_limit_until_the_window_ends() {
        let throttle = FailureThrottle::new(3, Duration::from_millis(200));
        for n in 0..2 {
            throttle.record_failure("ip:1", &format!("id:{n}"));
        }
        assert!(throttle.refused("ip:1").is_none());
        throttle.record_failure("ip:1", "id:9");
        assert!(throttle.refused("ip:1").is_some(), "failures for any Ids add up");
        assert!(throttle.refused("ip:2").is_none(), "another address is not refused");
        std::thread::sleep(Duration::from_millis(220));
        assert!(throttle.refused("ip:1").is_none());
    }

    #[test]
    fn an_ids_failures_from_every_address_are_counted_but_refuse_no_one() {
        let throttle = FailureThrottle::new(3, Duration::from_secs(60));
        let beyond: Vec<u32> = (0..6).map(|n| throttle.record_failure(&format!("ip:{n}"), "id:a")).collect();
        assert_eq!(beyond, [0, 0, 0, 1, 2, 3]);
        assert!((0..6).all(|n| throttle.refused(&format!("ip:{n}")).is_none()));
        assert_eq!(throttle.record_failure("ip:0", "id:b"), 0, "another Id is counted apart");
    }

    #[test]
    fn the_slow_down_doubles_from_100_ms_and_is_bounded() {
        let max = Duration::from_secs(2);
        let delays: Vec<u128> = (0..8).map(|n| slow_down(n, max).as_millis()).collect();
        assert_eq!(delays, [0, 100, 200, 400, 800, 1600, 2000, 2000]);
        assert_eq!(slow_down(u32::MAX, max), max);
        assert_eq!(slow_down(5, Duration::ZERO), Duration::ZERO, "0 turns the slow-down off");
    }
}
