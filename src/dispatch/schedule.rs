//! What happens after an attempt: delivered, retried later, or given up on.

use std::time::Duration;

use rand::Rng;

use crate::domain::call::DeliveryStatus;

/// The longest a receiver's `Retry-After` may push an attempt back.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(3600);

/// The retry policy of the dispatcher.
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    /// The delay before each retry; after the last one the delivery is dead.
    pub schedule: Vec<Duration>,
}

/// How an attempt went, as far as the policy cares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AttemptResult {
    /// A 2xx answer.
    Delivered,
    /// Never worth another attempt: 410 Gone (the receiver asks never to be called again), or a
    /// target the SSRF guard refuses.
    Gone,
    /// Anything else; `retry_after` when a 429 or 503 said when to come back.
    Failed { retry_after: Option<Duration> },
}

/// The decision after an attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Next {
    pub status: DeliveryStatus,
    /// When to try again (meaningful for `Pending`), unix ms.
    pub at: i64,
}

impl RetryPolicy {
    /// `attempts_before` is how many attempts were made before this one; `expires_at` is a popup's deadline.
    pub fn next(&self, result: &AttemptResult, attempts_before: i64, now: i64, expires_at: Option<i64>) -> Next {
        let retry_in = match result {
            AttemptResult::Delivered => return Next { status: DeliveryStatus::Delivered, at: now },
            AttemptResult::Gone => return Next { status: DeliveryStatus::Dead, at: now },
            AttemptResult::Failed { retry_after } => {
                let Some(step) = self.schedule.get(attempts_before.max(0) as usize) else {
                    return Next { status: DeliveryStatus::Dead, at: now };
                };
                match retry_after {
                    Some(wait) => (*wait).min(MAX_RETRY_AFTER),
                    None => with_jitter(*step),
                }
            }
        };
        let at = now + retry_in.as_millis() as i64;
        match expires_at {
            Some(deadline) if at >= deadline => Next { status: DeliveryStatus::Expired, at: now },
            _ => Next { status: DeliveryStatus::Pending, at },
        }
    }
}

/// Spreads retries by ±20 % so that receivers coming back up are not hit by a thundering herd.
fn with_jitter(step: Duration) -> Duration {
    let factor = rand::thread_rng().gen_range(0.8..=1.2);
    step.mul_f64(factor)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> RetryPolicy {
        RetryPolicy { schedule: vec![Duration::from_secs(5), Duration::from_secs(30)] }
    }

    #[test]
    fn failures_follow_the_schedule_then_die() {
        let failed = AttemptResult::Failed { retry_after: None };
        let first = policy().next(&failed, 0, 1_000_000, None);
        assert_eq!(first.status, DeliveryStatus::Pending);
        assert!((1_004_000..=1_006_000).contains(&first.at), "{first:?}");
        let second = policy().next(&failed, 1, 1_000_000, None);
        assert!((1_024_000..=1_036_000).contains(&second.at), "{second:?}");
        assert_eq!(policy().next(&failed, 2, 1_000_000, None).status, DeliveryStatus::Dead);
    }

    #[test]
    fn gone_is_dead_at_once_and_2xx_is_delivered() {
        assert_eq!(policy().next(&AttemptResult::Gone, 0, 0, None).status, DeliveryStatus::Dead);
        assert_eq!(policy().next(&AttemptResult::Delivered, 0, 0, None).status, DeliveryStatus::Delivered);
    }

    #[test]
    fn retry_after_is_honoured_but_capped() {
        let asked = AttemptResult::Failed { retry_after: Some(Duration::from_secs(90)) };
        assert_eq!(policy().next(&asked, 0, 0, None).at, 90_000);
        let greedy = AttemptResult::Failed { retry_after: Some(Duration::from_secs(86_400)) };
        assert_eq!(policy().next(&greedy, 0, 0, None).at, MAX_RETRY_AFTER.as_millis() as i64);
    }

    #[test]
    fn a_retry_past_the_deadline_expires_instead() {
        let failed = AttemptResult::Failed { retry_after: None };
        assert_eq!(policy().next(&failed, 0, 0, Some(1_000)).status, DeliveryStatus::Expired);
        assert_eq!(policy().next(&failed, 0, 0, Some(60_000)).status, DeliveryStatus::Pending);
    }
}
