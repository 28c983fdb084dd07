//! Natural batching: requests that arrive while the database is busy are served together, by one
//! statement, instead of one round trip (and, for writes, one commit) each.
//!
//! Nothing waits on a timer. A request that finds a free slot is sent at once, alone; only the
//! requests that arrive while every slot is busy queue up, and the next free slot takes all of
//! them (up to a cap). Under light load a call costs what it did unbatched; under heavy load the
//! batches grow and the cost per request falls.

use std::future::Future;
use std::sync::Arc;

use tokio::sync::{mpsc, oneshot, Semaphore};

/// A queue in front of one batch operation; cheap to clone.
pub struct Batcher<I, O> {
    queue: mpsc::Sender<Job<I, O>>,
}

impl<I, O> Clone for Batcher<I, O> {
    fn clone(&self) -> Self {
        Self { queue: self.queue.clone() }
    }
}

impl<I, O> std::fmt::Debug for Batcher<I, O> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Batcher").finish_non_exhaustive()
    }
}

struct Job<I, O> {
    input: I,
    reply: oneshot::Sender<O>,
}

/// The batch task has stopped (its runtime is shutting down) or dropped the request.
#[derive(Debug, Clone, Copy, thiserror::Error)]
#[error("the batch worker has stopped")]
pub struct Stopped;

impl<I: Send + 'static, O: Send + 'static> Batcher<I, O> {
    /// Starts the task that serves batches with `run`, which must return one output per input, in
    /// order. At most `slots` batches run at once, each of at most `max_batch` inputs. With one
    /// slot, batches run strictly one after another, so requests are served in arrival order.
    pub fn start<F, Fut>(max_batch: usize, slots: usize, run: F) -> Self
    where
        F: Fn(Vec<I>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Vec<O>> + Send + 'static,
    {
        let max_batch = max_batch.max(1);
        let slots = slots.max(1);
        let (queue, jobs) = mpsc::channel(max_batch * slots * 4);
        tokio::spawn(serve(jobs, max_batch, slots, Arc::new(run)));
        Self { queue }
    }

    /// Queues `input` and waits for its output.
    pub async fn call(&self, input: I) -> Result<O, Stopped> {
        let (reply, output) = oneshot::channel();
        self.queue.send(Job { input, reply }).await.map_err(|_| Stopped)?;
        output.await.map_err(|_| Stopped)
    }
}

async fn serve<I, O, F, Fut>(mut jobs: mpsc::Receiver<Job<I, O>>, max_batch: usize, slots: usize, run: Arc<F>)
where
    I: Send + 'static,
    O: Send + 'static,
    F: Fn(Vec<I>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Vec<O>> + Send + 'static,
{
    let free = Arc::new(Semaphore::new(slots));
    let mut batch = Vec::with_capacity(max_batch);
    loop {
        let slot = free.clone().acquire_owned().await.expect("the semaphore is never closed");
        if jobs.recv_many(&mut batch, max_batch).await == 0 {
            return; // every handle is gone
        }
        let (inputs, replies): (Vec<I>, Vec<oneshot::Sender<O>>) =
            batch.drain(..).map(|job| (job.input, job.reply)).unzip();
        let work = run(inputs);
        tokio::spawn(async move {
            let outputs = work.await;
            debug_assert_eq!(outputs.len(), replies.len(), "a batch returns one output per input");
            // A reply whose caller gave up (a timed-out request) is simply not read.
            for (reply, output) in replies.into_iter().zip(outputs) {
                let _ = reply.send(output);
            }
            drop(slot);
        });
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Mutex;
    use std::time::Duration;

    use super::*;

    #[tokio::test]
    async fn each_caller_gets_the_output_of_its_own_input() {
        let batcher = Batcher::start(8, 2, |inputs: Vec<u32>| async move { inputs.iter().map(|i| i * 10).collect() });
        let calls = (0..50).map(|i| {
            let batcher = batcher.clone();
            tokio::spawn(async move { (i, batcher.call(i).await.unwrap()) })
        });
        for call in calls {
            let (input, output) = call.await.unwrap();
            assert_eq!(output, input * 10);
        }
    }

    #[tokio::test]
    async fn requests_that_arrive_while_the_slot_is_busy_share_the_next_batch() {
        let sizes = Arc::new(Mutex::new(Vec::new()));
        let seen = sizes.clone();
        let batcher = Batcher::start(100, 1, move |inputs: Vec<u32>| {
            seen.lock().unwrap().push(inputs.len());
            async move {
                tokio::time::sleep(Duration::from_millis(50)).await;
                inputs
            }
        });
        let first = tokio::spawn({
            let batcher = batcher.clone();
            async move { batcher.call(0).await }
        });
        tokio::time::sleep(Duration::from_millis(10)).await;
        let rest: Vec<_> = (1..=20)
            .map(|i| {
                let batcher = batcher.clone();
                tokio::spawn(async move { batcher.call(i).await })
            })
            .collect();
        first.await.unwrap().unwrap();
        for call in rest {
            call.await.unwrap().unwrap();
        }
        assert_eq!(*sizes.lock().unwrap(), [1, 20], "the first request went alone; the rest waited together");
    }

    #[tokio::test]
    async fn no_more_batches_run_at_once_than_there_are_slots() {
        let running = Arc::new(AtomicUsize::new(0));
        let peak = Arc::new(AtomicUsize::new(0));
        let (r, p) = (running.clone(), peak.clone());
        let batcher = Batcher::start(1, 3, move |inputs: Vec<u32>| {
            let (r, p) = (r.clone(), p.clone());
            async move {
                let now = r.fetch_add(1, Ordering::SeqCst) + 1;
                p.fetch_max(now, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(20)).await;
                r.fetch_sub(1, Ordering::SeqCst);
                inputs
            }
        });
        let calls: Vec<_> = (0..12)
            .map(|i| {
                let batcher = batcher.clone();
                tokio::spawn(async move { batcher.call(i).await })
            })
            .collect();
        for call in calls {
            call.await.unwrap().unwrap();
        }
        assert_eq!(peak.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn one_slot_serves_requests_in_arrival_order() {
        let order = Arc::new(Mutex::new(Vec::new()));
        let seen = order.clone();
        let batcher = Batcher::start(4, 1, move |inputs: Vec<u32>| {
            seen.lock().unwrap().extend(inputs.iter().copied());
            async move { inputs }
        });
        for i in 0..40 {
            batcher.call(i).await.unwrap();
        }
        assert_eq!(*order.lock().unwrap(), (0..40).collect::<Vec<_>>());
    }
}
