//! Natural batching: requests that arrive while the database is busy are served together, by one
//! statement, instead of one round trip (and, for writes, one commit) each.
//!
//! Nothing waits on a timer. A request that finds a free slot is served at once, alone, in its
//! caller's own task (no hand-over to another task, which on an idle machine costs a thread
//! wake-up). Only the requests that arrive while every slot is busy queue up; the next slot to
//! free takes all of them (up to a cap) in a task of its own, so that no caller's cancellation
//! can abandon another's request. Under light load a call costs what it did unbatched; under
//! heavy load the batches grow and the cost per request falls.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::oneshot;

type BatchFuture<O> = Pin<Box<dyn Future<Output = Vec<O>> + Send>>;
type RunBatch<I, O> = dyn Fn(Vec<I>) -> BatchFuture<O> + Send + Sync;

/// A queue in front of one batch operation; cheap to clone.
pub struct Batcher<I, O> {
    shared: Arc<Shared<I, O>>,
}

impl<I, O> Clone for Batcher<I, O> {
    fn clone(&self) -> Self {
        Self { shared: self.shared.clone() }
    }
}

impl<I, O> std::fmt::Debug for Batcher<I, O> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Batcher").finish_non_exhaustive()
    }
}

struct Shared<I, O> {
    run: Box<RunBatch<I, O>>,
    max_batch: usize,
    slots: usize,
    /// The longest a request waits in the queue for its batch to be served.
    max_wait: Duration,
    state: Mutex<State<I, O>>,
}

struct State<I, O> {
    /// Slots serving a batch now.
    busy: usize,
    waiting: VecDeque<Job<I, O>>,
}

struct Job<I, O> {
    input: I,
    reply: oneshot::Sender<O>,
}

/// Why a request got no answer from its batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Unanswered {
    /// Its batch task panicked, or the runtime is shutting down.
    #[error("the batch worker has stopped")]
    Stopped,
    /// The batches ahead of it (slow or failing: a database that is down) kept it waiting past the
    /// bound. It is not run later: a batch leaves out the requests whose callers have gone.
    #[error("waited longer than {} ms for a batch", .0.as_millis())]
    Overdue(Duration),
}

impl<I: Send + 'static, O: Send + 'static> Batcher<I, O> {
    /// A batcher serving batches with `run`, which must return one output per input, in order.
    /// At most `slots` batches run at once, each of at most `max_batch` inputs. With one slot,
    /// batches run strictly one after another, so requests are served in arrival order. A
    /// request that has to queue waits at most `max_wait` for its answer.
    pub fn new<F, Fut>(max_batch: usize, slots: usize, max_wait: Duration, run: F) -> Self
    where
        F: Fn(Vec<I>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Vec<O>> + Send + 'static,
    {
        let run: Box<RunBatch<I, O>> = Box::new(move |inputs| Box::pin(run(inputs)));
        Self {
            shared: Arc::new(Shared {
                run,
                max_batch: max_batch.max(1),
                slots: slots.max(1),
                max_wait,
                state: Mutex::new(State { busy: 0, waiting: VecDeque::new() }),
            }),
        }
    }

    /// Serves `input`, alone when a slot is free, else with the requests waiting beside it.
    pub async fn call(&self, input: I) -> Result<O, Unanswered> {
        let input = {
            let mut state = self.shared.state.lock().expect("batcher lock");
            if state.busy < self.shared.slots && state.waiting.is_empty() {
                state.busy += 1;
                Ok(input)
            } else {
                let (reply, output) = oneshot::channel();
                state.waiting.push_back(Job { input, reply });
                Err(output)
            }
        };
        match input {
            Ok(input) => {
                // The slot is handed on even if this caller is dropped mid-batch.
                let slot = Slot(self.shared.clone());
                let output = (self.shared.run)(vec![input]).await.pop().ok_or(Unanswered::Stopped);
                drop(slot);
                output
            }
            Err(output) => match tokio::time::timeout(self.shared.max_wait, output).await {
                Ok(answer) => answer.map_err(|_| Unanswered::Stopped),
                // Dropping the receiver takes the request out of every batch not yet formed.
                Err(_) => Err(Unanswered::Overdue(self.shared.max_wait)),
            },
        }
    }
}

/// A busy slot: when its batch ends it takes the waiting requests, if any, else frees itself.
struct Slot<I: Send + 'static, O: Send + 'static>(Arc<Shared<I, O>>);

impl<I: Send + 'static, O: Send + 'static> Drop for Slot<I, O> {
    fn drop(&mut self) {
        let batch = self.0.next_batch();
        if !batch.is_empty() {
            match tokio::runtime::Handle::try_current() {
                Ok(runtime) => drop(runtime.spawn(serve_waiting(self.0.clone(), batch))),
                // No runtime left to serve them: dropping the batch answers its callers `Stopped`.
                Err(_) => self.0.free_slot(),
            }
        }
    }
}

impl<I, O> Shared<I, O> {
    /// The next batch for a slot whose batch just ended; empty (and the slot freed) when none waits.
    /// Requests whose callers have gone (timed out, disconnected) are dropped, not run.
    fn next_batch(&self) -> Vec<Job<I, O>> {
        let mut state = self.state.lock().expect("batcher lock");
        state.waiting.retain(|job| !job.reply.is_closed());
        let take = state.waiting.len().min(self.max_batch);
        if take == 0 {
            state.busy -= 1;
        }
        state.waiting.drain(..take).collect()
    }

    fn free_slot(&self) {
        self.state.lock().expect("batcher lock").busy -= 1;
    }
}

/// Serves waiting requests, batch after batch, until none waits; then frees the slot.
async fn serve_waiting<I: Send + 'static, O: Send + 'static>(shared: Arc<Shared<I, O>>, mut batch: Vec<Job<I, O>>) {
    while !batch.is_empty() {
        let (inputs, replies): (Vec<I>, Vec<oneshot::Sender<O>>) =
            batch.into_iter().map(|job| (job.input, job.reply)).unzip();
        let outputs = (shared.run)(inputs).await;
        debug_assert_eq!(outputs.len(), replies.len(), "a batch returns one output per input");
        // A reply whose caller gave up (a timed-out request) is simply not read.
        for (reply, output) in replies.into_iter().zip(outputs) {
            let _ = reply.send(output);
        }
        batch = shared.next_batch();
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    use super::*;

    const WAIT: Duration = Duration::from_secs(30);

    /// Batches of what each run served, in the order they ran.
    type Served = Arc<Mutex<Vec<Vec<u32>>>>;

    /// A batcher whose batches each take `pause` and answer their inputs unchanged, noting what they served.
    fn recording(max_batch: usize, slots: usize, max_wait: Duration, pause: Duration) -> (Batcher<u32, u32>, Served) {
        let served = Served::default();
        let seen = served.clone();
        let batcher = Batcher::new(max_batch, slots, max_wait, move |inputs: Vec<u32>| {
            seen.lock().unwrap().push(inputs.clone());
            async move {
                tokio::time::sleep(pause).await;
                inputs
            }
        });
        (batcher, served)
    }

    /// `batcher.call(input)` in a task of its own.
    fn spawn_call(batcher: &Batcher<u32, u32>, input: u32) -> tokio::task::JoinHandle<Result<u32, Unanswered>> {
        let batcher = batcher.clone();
        tokio::spawn(async move { batcher.call(input).await })
    }

    #[tokio::test]
    async fn each_caller_gets_the_output_of_its_own_input() {
        let batcher = Batcher::new(8, 2, WAIT, |inputs: Vec<u32>| async move {
            tokio::time::sleep(Duration::from_millis(1)).await;
            inputs.iter().map(|i| i * 10).collect()
        });
        let calls: Vec<_> = (0..50).map(|i| (i, spawn_call(&batcher, i))).collect();
        for (input, call) in calls {
            assert_eq!(call.await.unwrap().unwrap(), input * 10);
        }
    }

    #[tokio::test]
    async fn requests_that_arrive_while_the_slot_is_busy_share_the_next_batch() {
        let (batcher, served) = recording(100, 1, WAIT, Duration::from_millis(50));
        let first = spawn_call(&batcher, 0);
        tokio::time::sleep(Duration::from_millis(10)).await;
        let rest: Vec<_> = (1..=20).map(|i| spawn_call(&batcher, i)).collect();
        first.await.unwrap().unwrap();
        for call in rest {
            call.await.unwrap().unwrap();
        }
        let sizes: Vec<usize> = served.lock().unwrap().iter().map(Vec::len).collect();
        assert_eq!(sizes, [1, 20], "the first request went alone; the rest waited together");
    }

    #[tokio::test]
    async fn no_more_batches_run_at_once_than_there_are_slots() {
        let running = Arc::new(AtomicUsize::new(0));
        let peak = Arc::new(AtomicUsize::new(0));
        let (r, p) = (running.clone(), peak.clone());
        let batcher = Batcher::new(1, 3, WAIT, move |inputs: Vec<u32>| {
            let (r, p) = (r.clone(), p.clone());
            async move {
                let now = r.fetch_add(1, Ordering::SeqCst) + 1;
                p.fetch_max(now, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(20)).await;
                r.fetch_sub(1, Ordering::SeqCst);
                inputs
            }
        });
        let calls: Vec<_> = (0..12).map(|i| spawn_call(&batcher, i)).collect();
        for call in calls {
            call.await.unwrap().unwrap();
        }
        assert_eq!(peak.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn one_slot_serves_concurrent_requests_in_arrival_order() {
        let (batcher, served) = recording(4, 1, WAIT, Duration::from_millis(2));
        let mut calls = Vec::new();
        for i in 0..40 {
            calls.push(spawn_call(&batcher, i));
            // Let each request reach the queue before the next is made.
            tokio::task::yield_now().await;
            tokio::time::sleep(Duration::from_micros(100)).await;
        }
        for call in calls {
            call.await.unwrap().unwrap();
        }
        assert_eq!(served.lock().unwrap().concat(), (0..40).collect::<Vec<_>>());
    }

    #[tokio::test]
    async fn a_caller_dropped_mid_batch_does_not_strand_the_requests_behind_it() {
        let (batcher, _) = recording(10, 1, WAIT, Duration::from_millis(30));
        let leader = spawn_call(&batcher, 1);
        tokio::time::sleep(Duration::from_millis(5)).await;
        let follower = spawn_call(&batcher, 2);
        tokio::time::sleep(Duration::from_millis(5)).await;
        leader.abort();

        let answer = tokio::time::timeout(Duration::from_secs(2), follower).await.expect("the follower was served");
        assert_eq!(answer.unwrap().unwrap(), 2);
        assert_eq!(batcher.call(3).await.unwrap(), 3, "the slot was freed for the next caller");
    }

    #[tokio::test]
    async fn a_queued_request_waits_at_most_the_bound_and_is_then_never_run() {
        let (batcher, served) = recording(10, 1, Duration::from_millis(50), Duration::from_millis(200));
        let slow = spawn_call(&batcher, 1);
        tokio::time::sleep(Duration::from_millis(10)).await;

        let started = std::time::Instant::now();
        assert_eq!(batcher.call(2).await, Err(Unanswered::Overdue(Duration::from_millis(50))));
        assert!(started.elapsed() < Duration::from_millis(150), "waited {:?}", started.elapsed());

        assert_eq!(slow.await.unwrap(), Ok(1));
        assert_eq!(batcher.call(3).await, Ok(3));
        assert_eq!(served.lock().unwrap().concat(), [1, 3], "the request whose caller gave up was left out");
    }
}
