//! Throttling of failed `POST /token` attempts, per client address and per Id.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Counts failures per key in a fixed window; a key at its limit is refused until the window ends.
/// Kept in memory: each server process throttles on its own.
#[derive(Debug)]
pub struct FailureThrottle {
    limit: u32,
    window: Duration,
    failures: Mutex<HashMap<String, Window>>,
}

#[derive(Debug, Clone, Copy)]
struct Window {
    started: Instant,
    count: u32,
}

/// Past this many tracked keys, stale windows are swept on the next failure.
const SWEEP_AT: usize = 10_000;

impl FailureThrottle {
    pub fn new(limit: u32, window: Duration) -> Self {
        Self { limit, window, failures: Mutex::new(HashMap::new()) }
    }

    /// `Some(wait)` when any of `keys` has used up its failures; the longest wait wins.
    pub fn blocked(&self, keys: &[&str]) -> Option<Duration> {
        let now = Instant::now();
        let failures = self.failures.lock().expect("throttle lock");
        keys.iter()
            .filter_map(|key| failures.get(*key))
            .filter(|w| w.count >= self.limit)
            .filter_map(|w| (w.started + self.window).checked_duration_since(now))
            .filter(|wait| !wait.is_zero())
            .max()
    }

    /// Counts one failure against each of `keys`.
    pub fn record_failure(&self, keys: &[&str]) {
        let now = Instant::now();
        let mut failures = self.failures.lock().expect("throttle lock");
        if failures.len() >= SWEEP_AT {
            failures.retain(|_, w| now.duration_since(w.started) < self.window);
        }
        for key in keys {
            let window = failures.entry((*key).to_string()).or_insert(Window { started: now, count: 0 });
            if now.duration_since(window.started) >= self.window {
                *window = Window { started: now, count: 0 };
            }
            window.count += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_is_blocked_after_its_limit_until_the_window_ends() {
        let throttle = FailureThrottle::new(3, Duration::from_millis(200));
        for _ in 0..2 {
            throttle.record_failure(&["ip:1", "id:a"]);
        }
        assert!(throttle.blocked(&["ip:1"]).is_none());
        throttle.record_failure(&["ip:1", "id:a"]);
        assert!(throttle.blocked(&["ip:1"]).is_some());
        assert!(throttle.blocked(&["ip:2", "id:a"]).is_some(), "the Id is blocked from any address");
        assert!(throttle.blocked(&["ip:2", "id:b"]).is_none());
        std::thread::sleep(Duration::from_millis(220));
        assert!(throttle.blocked(&["ip:1", "id:a"]).is_none());
    }
}
