//! The accept loop: a cap on open connections (one more is shed with a fast 503), deadlines that
//! close connections a client holds without using them, and the file-descriptor limit.
//!
//! A client that opens a connection and sends nothing, trickles a request head a line at a time,
//! or keeps an idle connection after its request must not hold a file descriptor for long: with
//! enough of them the accept loop runs out of descriptors and every other client waits, Exotel's
//! passthru requests (calls ringing now) included.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tower::ServiceExt;

use crate::envelope::{current_request_id, Envelope};
use crate::telemetry::metrics as names;

/// What a client may hold and for how long.
#[derive(Debug, Clone, Copy)]
pub struct ConnectionLimits {
    pub max_connections: usize,
    /// From a request's first byte (or the connection's start, for its first request) to its whole head.
    pub header_read_timeout: Duration,
    /// Between the end of one answer and the first byte of the next request.
    pub keep_alive_timeout: Duration,
}

/// File descriptors kept out of the connection cap: the database pool, webhook and Exotel
/// sockets, the listener, log files and whatever the runtime opens.
const RESERVED_DESCRIPTORS: u64 = 512;
/// Connections over the cap being answered 503 at once (each holds a descriptor for up to a second).
const MAX_SHEDDING: usize = 128;
/// Never size the cap below this, even under a tiny descriptor limit.
const MIN_CONNECTIONS: usize = 64;
/// The shortest wait between two looks at a connection's deadlines (a connection wakes only when
/// a deadline could have passed, not on a fixed tick).
const MIN_CHECK_IN: Duration = Duration::from_millis(20);

/// Raises the soft file-descriptor limit to the hard limit and logs both. Returns the soft limit
/// now in force (`None` where the platform has no such limit).
pub fn raise_descriptor_limit() -> Option<u64> {
    #[cfg(unix)]
    {
        let (soft, hard) = match rlimit::Resource::NOFILE.get() {
            Ok(limits) => limits,
            Err(error) => {
                tracing::warn!(%error, "could not read the file-descriptor limit");
                return None;
            }
        };
        match rlimit::increase_nofile_limit(hard) {
            Ok(raised) => {
                tracing::info!(soft_before = soft, soft = raised, hard, "file-descriptor limit");
                Some(raised)
            }
            Err(error) => {
                tracing::warn!(%error, soft, hard, "could not raise the file-descriptor limit");
                Some(soft)
            }
        }
    }
    #[cfg(not(unix))]
    None
}

/// The connection cap for a descriptor limit: what the limit leaves after the reserve.
pub fn default_max_connections(descriptor_limit: Option<u64>) -> usize {
    match descriptor_limit {
        Some(limit) => (limit.saturating_sub(RESERVED_DESCRIPTORS) as usize).clamp(MIN_CONNECTIONS, 100_000),
        None => 10_000,
    }
}

/// Serves `router` on `listener` until `shutdown` is cancelled, then lets in-flight requests finish.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: ConnectionLimits,
    shutdown: CancellationToken,
) -> io::Result<()> {
    let permits = Arc::new(Semaphore::new(limits.max_connections));
    let shedding = Arc::new(Semaphore::new(MAX_SHEDDING));
    let connections = TaskTracker::new();
    let mut last_accept_error: Option<Instant> = None;
    loop {
        let (stream, peer) = tokio::select! {
            _ = shutdown.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of descriptors (or memory): log at most once a second, and try again soon,
                    // since connections are closing all the time.
                    if last_accept_error.map_or(true, |at| at.elapsed() >= Duration::from_secs(1)) {
                        tracing::error!(%error, "accept failed");
                        last_accept_error = Some(Instant::now());
                    }
                    tokio::time::sleep(Duration::from_millis(5)).await;
                    continue;
                }
            },
        };
        let _ = stream.set_nodelay(true);
        match permits.clone().try_acquire_owned() {
            Ok(permit) => {
                connections.spawn(serve_connection(stream, peer, router.clone(), limits, shutdown.clone(), permit));
            }
            Err(_) => {
                metrics::counter!(names::HTTP_CONNECTIONS_SHED).increment(1);
                // Past the cap, each connection is answered while that costs little; in a flood
                // beyond even that, it is closed at once, keeping the reserve of descriptors free.
                if let Ok(permit) = shedding.clone().try_acquire_owned() {
                    connections.spawn(async move {
                        shed(stream).await;
                        drop(permit);
                    });
                }
            }
        }
    }
    connections.close();
    connections.wait().await;
    Ok(())
}

/// Serves one connection until the client closes it, a deadline passes, or the server shuts down.
async fn serve_connection(
    stream: TcpStream,
    peer: SocketAddr,
    router: Router,
    limits: ConnectionLimits,
    shutdown: CancellationToken,
    permit: OwnedSemaphorePermit,
) {
    let gauge = metrics::gauge!(names::HTTP_CONNECTIONS_OPEN);
    gauge.increment(1.0);
    let activity = Arc::new(Activity::new());
    let io = TokioIo::new(Watched { inner: stream, activity: activity.clone() });
    let requests = activity.clone();
    let service = hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
        request.extensions_mut().insert(ConnectInfo(peer));
        let in_flight = requests.request_started();
        let answer = router.clone().oneshot(request.map(Body::new));
        async move {
            let response = answer.await;
            drop(in_flight);
            response
        }
    });
    let builder = auto::Builder::new(TokioExecutor::new());
    let connection = builder.serve_connection_with_upgrades(io, service);
    tokio::pin!(connection);
    let mut draining = false;
    let mut check_in = limits.header_read_timeout;
    loop {
        tokio::select! {
            result = connection.as_mut() => {
                if let Err(error) = result {
                    tracing::debug!(%peer, error = %error, "connection ended with an error");
                }
                break;
            }
            _ = shutdown.cancelled(), if !draining => {
                draining = true;
                connection.as_mut().graceful_shutdown();
            }
            // A head that starts while the connection idles has a nearer deadline than the idle one.
            _ = activity.head_began.notified() => check_in = limits.header_read_timeout,
            _ = tokio::time::sleep(check_in) => match activity.check(&limits) {
                Deadline::Passed(reason) => {
                    tracing::debug!(%peer, reason, "closing the connection");
                    break;
                }
                Deadline::CheckIn(after) => check_in = after,
            },
        }
    }
    gauge.decrement(1.0);
    drop(permit);
}

/// Answers a connection over the cap with a 503 envelope and closes it.
async fn shed(mut stream: TcpStream) {
    let body = serde_json::to_vec(&Envelope::<()> {
        request_id: current_request_id(),
        status: "Failure",
        code: 503,
        error: "the server has too many open connections; try again shortly".to_string(),
        data: None,
    })
    .expect("the envelope serializes");
    let head = format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\
         retry-after: 1\r\nconnection: close\r\n\r\n",
        body.len()
    );
    let answer = async {
        stream.write_all(head.as_bytes()).await?;
        stream.write_all(&body).await?;
        stream.shutdown().await?;
        // Read what the client sent before closing, so that closing with unread data does not
        // reset the connection before the client has read the answer.
        let mut sink = [0u8; 4096];
        while stream.read(&mut sink).await? > 0 {}
        Ok::<_, io::Error>(())
    };
    let _ = tokio::time::timeout(Duration::from_secs(1), answer).await;
}

/// When a connection last moved bytes and where it stands between requests, in milliseconds since it opened.
struct Activity {
    opened: Instant,
    last_io_ms: AtomicU64,
    /// When the head being read began (0: none is; the first request's counts from the open).
    head_started_ms: AtomicU64,
    in_flight: AtomicUsize,
    /// Set while the connection's watch sleeps on the (long) idle deadline: only then does a head
    /// that begins need to wake it, so a busy connection costs no wake-up per request.
    watching_idle: AtomicBool,
    /// Woken when a request head begins while the watch sleeps on the idle deadline.
    head_began: Notify,
}

/// A request being served on the connection; no deadline of the connection applies meanwhile
/// (the request's own timeouts do).
struct InFlight(Arc<Activity>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.last_io_ms.store(self.0.now_ms(), Ordering::Relaxed);
        self.0.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Activity {
    fn new() -> Self {
        Self {
            opened: Instant::now(),
            last_io_ms: AtomicU64::new(0),
            // The first request's head is due from the moment the connection opens.
            head_started_ms: AtomicU64::new(1),
            in_flight: AtomicUsize::new(0),
            watching_idle: AtomicBool::new(false),
            head_began: Notify::new(),
        }
    }

    fn now_ms(&self) -> u64 {
        self.opened.elapsed().as_millis() as u64 + 1
    }

    fn request_started(self: &Arc<Self>) -> InFlight {
        self.in_flight.fetch_add(1, Ordering::Relaxed);
        self.head_started_ms.store(0, Ordering::Relaxed);
        InFlight(self.clone())
    }

    fn read(&self) {
        let now = self.now_ms();
        self.last_io_ms.store(now, Ordering::Relaxed);
        let idle = self.in_flight.load(Ordering::Relaxed) == 0;
        if idle
            && self.head_started_ms.compare_exchange(0, now, Ordering::SeqCst, Ordering::Relaxed).is_ok()
            && self.watching_idle.swap(false, Ordering::SeqCst)
        {
            self.head_began.notify_one();
        }
    }

    /// Notes a write that moved bytes, and hands its outcome on.
    fn wrote(&self, polled: Poll<io::Result<usize>>) -> Poll<io::Result<usize>> {
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.last_io_ms.store(self.now_ms(), Ordering::Relaxed);
        }
        polled
    }

    /// Whether a deadline of the connection has passed, or else when to look again.
    fn check(&self, limits: &ConnectionLimits) -> Deadline {
        let millis = |d: Duration| d.as_millis() as u64;
        let now = self.now_ms();
        if self.in_flight.load(Ordering::Relaxed) > 0 {
            // The request's own timeouts apply; the next deadline starts no sooner than its end.
            return Deadline::CheckIn(limits.header_read_timeout.min(limits.keep_alive_timeout));
        }
        let head = |head_started| {
            (
                head_started,
                millis(limits.header_read_timeout),
                "the request head did not arrive within HEADER_READ_TIMEOUT_SECS",
            )
        };
        let (since, limit, reason) = match self.head_started_ms.load(Ordering::SeqCst) {
            0 => {
                self.watching_idle.store(true, Ordering::SeqCst);
                // A head that began just before the watch was set would not wake it: look again.
                match self.head_started_ms.load(Ordering::SeqCst) {
                    0 => (
                        self.last_io_ms.load(Ordering::Relaxed),
                        millis(limits.keep_alive_timeout),
                        "idle for longer than KEEP_ALIVE_TIMEOUT_SECS",
                    ),
                    started => {
                        self.watching_idle.store(false, Ordering::SeqCst);
                        head(started)
                    }
                }
            }
            started => head(started),
        };
        let elapsed = now.saturating_sub(since);
        if elapsed > limit {
            Deadline::Passed(reason)
        } else {
            Deadline::CheckIn(Duration::from_millis(limit - elapsed + 1).max(MIN_CHECK_IN))
        }
    }
}

/// What a look at a connection's deadlines found.
#[derive(Debug, PartialEq, Eq)]
enum Deadline {
    Passed(&'static str),
    CheckIn(Duration),
}

/// A socket that tells its connection's [`Activity`] whenever bytes move.
struct Watched {
    inner: TcpStream,
    activity: Arc<Activity>,
}

impl AsyncRead for Watched {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if matches!(polled, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.activity.read();
        }
        polled
    }
}

impl AsyncWrite for Watched {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, data: &[u8]) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write(cx, data);
        self.activity.wrote(polled)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        self.activity.wrote(polled)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> ConnectionLimits {
        ConnectionLimits {
            max_connections: 10,
            header_read_timeout: Duration::from_millis(50),
            keep_alive_timeout: Duration::from_millis(200),
        }
    }

    fn passed(activity: &Activity) -> &'static str {
        match activity.check(&limits()) {
            Deadline::Passed(reason) => reason,
            Deadline::CheckIn(after) => panic!("no deadline passed; next look in {after:?}"),
        }
    }

    #[test]
    fn a_connection_wakes_when_its_deadline_could_pass_not_before() {
        let activity = Activity::new();
        match activity.check(&limits()) {
            Deadline::CheckIn(after) => {
                assert!(after > Duration::from_millis(30) && after <= Duration::from_millis(51))
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn the_cap_leaves_room_for_the_reserve_but_never_falls_below_the_minimum() {
        assert_eq!(default_max_connections(Some(20_000)), 20_000 - RESERVED_DESCRIPTORS as usize);
        assert_eq!(default_max_connections(Some(256)), MIN_CONNECTIONS);
    }

    #[test]
    fn a_connection_that_sends_nothing_is_overdue_after_the_head_deadline() {
        let activity = Activity::new();
        assert!(matches!(activity.check(&limits()), Deadline::CheckIn(_)));
        std::thread::sleep(Duration::from_millis(70));
        assert!(passed(&activity).contains("HEADER_READ_TIMEOUT_SECS"));
    }

    #[test]
    fn an_idle_kept_alive_connection_waits_for_the_keep_alive_deadline_not_the_head_one() {
        let activity = Arc::new(Activity::new());
        drop(activity.request_started());
        std::thread::sleep(Duration::from_millis(70));
        assert!(matches!(activity.check(&limits()), Deadline::CheckIn(_)), "idle, not reading a head");
        std::thread::sleep(Duration::from_millis(170));
        assert!(passed(&activity).contains("KEEP_ALIVE_TIMEOUT_SECS"));
    }

    #[test]
    fn a_trickled_head_is_overdue_however_often_bytes_arrive() {
        let activity = Arc::new(Activity::new());
        drop(activity.request_started());
        for _ in 0..4 {
            activity.read();
            std::thread::sleep(Duration::from_millis(20));
        }
        assert!(passed(&activity).contains("HEADER_READ_TIMEOUT_SECS"));
    }

    #[test]
    fn no_deadline_applies_while_a_request_is_being_served() {
        let activity = Arc::new(Activity::new());
        let request = activity.request_started();
        std::thread::sleep(Duration::from_millis(250));
        assert!(matches!(activity.check(&limits()), Deadline::CheckIn(_)));
        drop(request);
        assert!(matches!(activity.check(&limits()), Deadline::CheckIn(_)), "the idle time counts from the answer");
    }
}
