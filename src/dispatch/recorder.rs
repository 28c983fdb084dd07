//! Writes attempt outcomes in batches: attempts that finish together cost one database write.

use tokio::sync::{mpsc, oneshot};

use crate::store::{AttemptRecord, Store};

/// The most outcomes written at once.
const MAX_BATCH: usize = 256;

/// A handle to the task that records outcomes.
pub struct Recorder {
    queue: mpsc::Sender<Outcome>,
}

struct Outcome {
    delivery_id: String,
    record: AttemptRecord,
    written: oneshot::Sender<Result<(), String>>,
}

impl Recorder {
    /// Starts the recording task; it ends when the last handle is dropped.
    pub fn start(store: Store) -> Self {
        let (queue, outcomes) = mpsc::channel(4 * MAX_BATCH);
        tokio::spawn(write_batches(store, outcomes));
        Self { queue }
    }

    /// Records one attempt's outcome; returns once it is stored (or why it could not be).
    pub async fn record(&self, delivery_id: &str, record: AttemptRecord) -> Result<(), String> {
        let (written, done) = oneshot::channel();
        let outcome = Outcome { delivery_id: delivery_id.to_string(), record, written };
        self.queue.send(outcome).await.map_err(|_| "the recorder has stopped".to_string())?;
        done.await.map_err(|_| "the recorder has stopped".to_string())?
    }
}

async fn write_batches(store: Store, mut outcomes: mpsc::Receiver<Outcome>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while outcomes.recv_many(&mut batch, MAX_BATCH).await > 0 {
        let records: Vec<(&str, &AttemptRecord)> = batch.iter().map(|o| (o.delivery_id.as_str(), &o.record)).collect();
        let result = store.record_attempts(&records).await.map_err(|e| e.to_string());
        for outcome in batch.drain(..) {
            let _ = outcome.written.send(result.clone());
        }
    }
}
