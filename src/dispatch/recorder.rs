//! Writes attempt outcomes in batches: attempts that finish together cost one database write.

use std::time::Duration;

use crate::batch::Batcher;
use crate::store::{AttemptRecord, Store};

/// The most outcomes written at once.
const MAX_BATCH: usize = 256;

/// Records attempt outcomes through the same batcher the store uses for its hot lookups and writes.
pub struct Recorder {
    batcher: Batcher<(String, AttemptRecord), Result<(), String>>,
}

impl Recorder {
    /// Outcomes are written one batch at a time; one that waits longer than `max_wait` is given up
    /// (its delivery's lease then runs out and it is claimed again).
    pub fn new(store: Store, max_wait: Duration) -> Self {
        let batcher = Batcher::new(MAX_BATCH, 1, max_wait, move |batch: Vec<(String, AttemptRecord)>| {
            let store = store.clone();
            async move {
                let records: Vec<(&str, &AttemptRecord)> = batch.iter().map(|(id, r)| (id.as_str(), r)).collect();
                let result = store.record_attempts(&records).await.map_err(|e| e.to_string());
                vec![result; batch.len()]
            }
        });
        Self { batcher }
    }

    /// Records one attempt's outcome; returns once it is stored (or why it could not be).
    pub async fn record(&self, delivery_id: &str, record: AttemptRecord) -> Result<(), String> {
        self.batcher.call((delivery_id.to_string(), record)).await.map_err(|e| e.to_string())?
    }
}
