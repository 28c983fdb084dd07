//! The load loops. Closed loop: `concurrency` connections, each sending its next request as soon
//! as the previous answer is in (throughput). Open loop: requests are due at a fixed rate, a
//! thread with a high-resolution sleep schedules them, and latency is measured from the time a
//! request was *due*, so queueing in the server (or in the client) is never hidden.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use hyper::StatusCode;

use crate::http::{Conn, Req};

pub type Gen = Arc<dyn Fn(u64) -> Req + Send + Sync>;

/// Latency histogram in microseconds, 1 µs to 10 minutes.
pub fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 600_000_000, 3).expect("valid bounds")
}

fn record(hist: &mut Histogram<u64>, latency: Duration) {
    let micros = (latency.as_micros() as u64).clamp(1, 600_000_000);
    hist.record(micros).expect("clamped into range");
}

/// The outcome of one load run, over its measurement window only.
pub struct Outcome {
    pub ok: u64,
    pub errors: u64,
    pub first_error: Option<String>,
    pub window: Duration,
    pub hist: Histogram<u64>,
    pub usage: Usage,
}

impl Outcome {
    pub fn rps(&self) -> f64 {
        self.ok as f64 / self.window.as_secs_f64()
    }
    pub fn p(&self, quantile: f64) -> f64 {
        self.hist.value_at_quantile(quantile) as f64 / 1000.0
    }
}

/// Timing of each passthru event: when it was sent (due) and when its webhook arrived.
pub struct Tracker {
    pub id: u32,
    pub base: Instant,
    sent: Vec<AtomicU64>,
    arrived: Vec<AtomicU64>,
    pub duplicates: AtomicU64,
    pub overflow: AtomicU64,
}

impl Tracker {
    pub fn new(id: u32, capacity: usize) -> Self {
        Self {
            id,
            base: Instant::now(),
            sent: (0..capacity).map(|_| AtomicU64::new(0)).collect(),
            arrived: (0..capacity).map(|_| AtomicU64::new(0)).collect(),
            duplicates: AtomicU64::new(0),
            overflow: AtomicU64::new(0),
        }
    }

    fn nanos(&self, at: Instant) -> u64 {
        at.saturating_duration_since(self.base).as_nanos() as u64 + 1
    }

    /// Marks event `index` as accepted by the server, due (or sent) at `at`.
    pub fn sent(&self, index: usize, at: Instant) {
        match self.sent.get(index) {
            Some(slot) => slot.store(self.nanos(at), Ordering::Relaxed),
            None => {
                self.overflow.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    pub fn arrived(&self, index: usize, at: Instant) {
        let Some(slot) = self.arrived.get(index) else { return };
        if slot.compare_exchange(0, self.nanos(at), Ordering::Relaxed, Ordering::Relaxed).is_err() {
            self.duplicates.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Accepted events whose webhook has not arrived yet.
    pub fn outstanding(&self) -> usize {
        self.sent
            .iter()
            .zip(&self.arrived)
            .filter(|(s, a)| s.load(Ordering::Relaxed) != 0 && a.load(Ordering::Relaxed) == 0)
            .count()
    }

    /// Latency (sent → arrived) of the events sent inside `[from, to)`, and how many of them never arrived.
    pub fn latencies(&self, from: Instant, to: Instant) -> (Histogram<u64>, u64, u64) {
        let (lo, hi) = (self.nanos(from), self.nanos(to));
        let mut hist = histogram();
        let (mut delivered, mut missing) = (0, 0);
        for (s, a) in self.sent.iter().zip(&self.arrived) {
            let (s, a) = (s.load(Ordering::Relaxed), a.load(Ordering::Relaxed));
            if s == 0 || s < lo || s >= hi {
                continue;
            }
            if a == 0 {
                missing += 1;
            } else {
                delivered += 1;
                record(&mut hist, Duration::from_nanos(a.saturating_sub(s)));
            }
        }
        (hist, delivered, missing)
    }

    /// When the slowest 1 % of the events sent inside `[from, to)` were sent: "the slowest N were
    /// sent between a and b s into the window". A narrow span means one stall made the p99; a
    /// span as wide as the window means the tail is spread out.
    pub fn slowest_percent_span(&self, from: Instant, to: Instant) -> String {
        let (lo, hi) = (self.nanos(from), self.nanos(to));
        let mut timed: Vec<(u64, u64)> = self
            .sent
            .iter()
            .zip(&self.arrived)
            .map(|(s, a)| (s.load(Ordering::Relaxed), a.load(Ordering::Relaxed)))
            .filter(|&(s, a)| s != 0 && a != 0 && s >= lo && s < hi)
            .map(|(s, a)| (a.saturating_sub(s), s - lo))
            .collect();
        let slowest = (timed.len() / 100).max(1);
        if timed.len() < slowest {
            return "no events timed".to_string();
        }
        timed.sort_unstable_by_key(|t| std::cmp::Reverse(t.0));
        let sent_at = timed[..slowest].iter().map(|&(_, at)| at);
        let (first, last) = (sent_at.clone().min().unwrap_or(0), sent_at.max().unwrap_or(0));
        format!(
            "the slowest 1 % ({slowest}) were sent between {:.2} s and {:.2} s into the window",
            first as f64 / 1e9,
            last as f64 / 1e9
        )
    }

    /// Writes `send time (ms into the window) latency (ms)` for each delivered event sent inside
    /// `[from, to)`, one per line: to see when the slow ones were sent.
    pub fn dump(&self, from: Instant, to: Instant, path: &std::path::Path) -> std::io::Result<()> {
        let (lo, hi) = (self.nanos(from), self.nanos(to));
        let since_start = from.saturating_duration_since(Instant::now());
        let unix_now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
        let from_unix = unix_now.saturating_sub(Instant::now().saturating_duration_since(from)) + since_start;
        let mut out = format!("# window start, unix ms: {}\n", from_unix.as_millis());
        for (s, a) in self.sent.iter().zip(&self.arrived) {
            let (s, a) = (s.load(Ordering::Relaxed), a.load(Ordering::Relaxed));
            if s != 0 && a != 0 && s >= lo && s < hi {
                out.push_str(&format!("{:.3} {:.3}\n", (s - lo) as f64 / 1e6, a.saturating_sub(s) as f64 / 1e6));
            }
        }
        std::fs::write(path, out)
    }

    /// Webhooks that arrived inside `[from, to)`, whatever their send time.
    pub fn arrivals_between(&self, from: Instant, to: Instant) -> u64 {
        let (lo, hi) = (self.nanos(from), self.nanos(to));
        self.arrived
            .iter()
            .filter(|a| {
                let a = a.load(Ordering::Relaxed);
                a != 0 && a >= lo && a < hi
            })
            .count() as u64
    }

    pub fn last_arrival(&self) -> Option<Instant> {
        let last = self.arrived.iter().map(|a| a.load(Ordering::Relaxed)).max().filter(|&n| n != 0)?;
        Some(self.base + Duration::from_nanos(last - 1))
    }
}

/// What the machine did during a measured window.
#[derive(Clone, Copy, Debug, Default)]
pub struct Usage {
    pub peak_rss_kib: u64,
    /// CPU cores used on average by the server, by this load generator (and receiver), and by
    /// everything else on the machine (Postgres included).
    pub server_cores: f64,
    pub loadgen_cores: f64,
    /// All `postgres` processes on the machine (the cluster may serve other databases too).
    pub postgres_cores: f64,
    pub rest_cores: f64,
}

/// utime + stime of a process, in clock ticks (USER_HZ, 100 on Linux).
fn process_ticks(pid: &str) -> u64 {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else { return 0 };
    let Some((_, rest)) = stat.rsplit_once(')') else { return 0 };
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let field = |i: usize| fields.get(i).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
    field(11) + field(12)
}

/// utime + stime of every process named `postgres`, in clock ticks.
fn postgres_ticks() -> u64 {
    let Ok(dir) = std::fs::read_dir("/proc") else { return 0 };
    dir.filter_map(|entry| entry.ok())
        .filter(|entry| entry.file_name().to_string_lossy().bytes().all(|b| b.is_ascii_digit()))
        .filter(|entry| {
            std::fs::read_to_string(entry.path().join("comm")).map(|c| c.trim() == "postgres").unwrap_or(false)
        })
        .map(|entry| process_ticks(&entry.file_name().to_string_lossy()))
        .sum()
}

/// Busy clock ticks of the whole machine (all CPUs), from /proc/stat.
fn machine_busy_ticks() -> u64 {
    let Ok(stat) = std::fs::read_to_string("/proc/stat") else { return 0 };
    let Some(line) = stat.lines().find(|l| l.starts_with("cpu ")) else { return 0 };
    let v: Vec<u64> = line.split_whitespace().skip(1).filter_map(|x| x.parse().ok()).collect();
    // user nice system idle iowait irq softirq steal (guest is already in user)
    [0, 1, 2, 5, 6, 7].iter().filter_map(|&i| v.get(i)).sum()
}

/// Samples the server's VmRSS every 50 ms until `stop`, and measures CPU use over that time.
pub fn sample_rss(pid: u32, stop: Arc<AtomicBool>) -> tokio::task::JoinHandle<Usage> {
    tokio::spawn(async move {
        let pid_text = pid.to_string();
        let started = Instant::now();
        let (server0, self0, pg0, machine0) =
            (process_ticks(&pid_text), process_ticks("self"), postgres_ticks(), machine_busy_ticks());
        let mut peak = 0;
        while !stop.load(Ordering::Relaxed) {
            peak = peak.max(proc_status_kib(pid, "VmRSS:").unwrap_or(0));
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let peak = peak.max(proc_status_kib(pid, "VmRSS:").unwrap_or(0));
        let ticks = started.elapsed().as_secs_f64() * 100.0;
        let server = process_ticks(&pid_text).saturating_sub(server0) as f64 / ticks;
        let own = process_ticks("self").saturating_sub(self0) as f64 / ticks;
        let pg = postgres_ticks().saturating_sub(pg0) as f64 / ticks;
        let machine = machine_busy_ticks().saturating_sub(machine0) as f64 / ticks;
        Usage {
            peak_rss_kib: peak,
            server_cores: server,
            loadgen_cores: own,
            postgres_cores: pg,
            rest_cores: (machine - server - own - pg).max(0.0),
        }
    })
}

/// A `kB` field of /proc/<pid>/status (VmRSS, VmHWM).
pub fn proc_status_kib(pid: u32, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    line[field.len()..].trim().trim_end_matches("kB").trim().parse().ok()
}

pub struct Plan {
    pub addr: SocketAddr,
    pub pid: u32,
    pub warmup: Duration,
    pub duration: Duration,
}

fn check(result: Result<(StatusCode, bytes::Bytes), String>) -> Result<(), String> {
    match result {
        Ok((status, _)) if status == StatusCode::OK => Ok(()),
        Ok((status, body)) => {
            Err(format!("HTTP {}: {}", status.as_u16(), String::from_utf8_lossy(&body[..body.len().min(300)])))
        }
        Err(e) => Err(e),
    }
}

/// Closed loop at `concurrency`; a warm-up, then the measured window.
pub async fn closed_loop(
    plan: &Plan,
    concurrency: usize,
    gen: Gen,
    tracker: Option<Arc<Tracker>>,
) -> (Outcome, Instant, Instant) {
    let next = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let (from, to) = (start + plan.warmup, start + plan.warmup + plan.duration);
    let stop = Arc::new(AtomicBool::new(false));
    let mut workers = Vec::new();
    for _ in 0..concurrency {
        let (next, gen, tracker, addr) = (next.clone(), gen.clone(), tracker.clone(), plan.addr);
        workers.push(tokio::spawn(async move {
            let mut conn = Conn::new(addr);
            let mut hist = histogram();
            let (mut ok, mut errors, mut first_error) = (0u64, 0u64, None);
            loop {
                let sent = Instant::now();
                if sent >= to {
                    break;
                }
                let req = gen(next.fetch_add(1, Ordering::Relaxed));
                let result = check(conn.send(&req).await);
                let done = Instant::now();
                if result.is_ok() {
                    if let (Some(t), Some(i)) = (&tracker, req.track) {
                        t.sent(i, sent);
                    }
                }
                if sent < from || done > to {
                    continue;
                }
                match result {
                    Ok(()) => {
                        ok += 1;
                        record(&mut hist, done - sent);
                    }
                    Err(e) => {
                        errors += 1;
                        first_error.get_or_insert(e);
                        // Do not spin on a refusing server.
                        tokio::time::sleep(Duration::from_millis(1)).await;
                    }
                }
            }
            (hist, ok, errors, first_error)
        }));
    }
    let rss = {
        let stop = stop.clone();
        let pid = plan.pid;
        tokio::spawn(async move {
            tokio::time::sleep_until(from.into()).await;
            sample_rss(pid, stop).await.unwrap_or_default()
        })
    };
    let outcome = merge(workers, to - from).await;
    stop.store(true, Ordering::Relaxed);
    let usage = rss.await.unwrap_or_default();
    (Outcome { usage, ..outcome }, from, to)
}

/// Open loop at `rate` requests/s over `connections` connections (enough that the client never
/// is the queue at the rates used here); latency is counted from each request's due time.
pub async fn open_loop(
    plan: &Plan,
    rate: f64,
    connections: usize,
    gen: Gen,
    tracker: Option<Arc<Tracker>>,
) -> (Outcome, Instant, Instant) {
    let start = Instant::now() + Duration::from_millis(20);
    let (from, to) = (start + plan.warmup, start + plan.warmup + plan.duration);
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel::<(u64, Instant)>();
    let rx = Arc::new(tokio::sync::Mutex::new(rx));
    let scheduler = std::thread::spawn(move || {
        let mut i: u64 = 0;
        loop {
            let due = start + Duration::from_nanos((i as f64 * 1e9 / rate) as u64);
            if due >= to {
                break;
            }
            let now = Instant::now();
            if due > now {
                std::thread::sleep(due - now);
            }
            if tx.send((i, due)).is_err() {
                break;
            }
            i += 1;
        }
    });
    let mut workers = Vec::new();
    for _ in 0..connections {
        let (rx, gen, tracker, addr) = (rx.clone(), gen.clone(), tracker.clone(), plan.addr);
        workers.push(tokio::spawn(async move {
            let mut conn = Conn::new(addr);
            let mut hist = histogram();
            let (mut ok, mut errors, mut first_error) = (0u64, 0u64, None);
            loop {
                let item = rx.lock().await.recv().await;
                let Some((i, due)) = item else { break };
                let req = gen(i);
                let result = check(conn.send(&req).await);
                let done = Instant::now();
                if result.is_ok() {
                    if let (Some(t), Some(index)) = (&tracker, req.track) {
                        t.sent(index, due);
                    }
                }
                if due < from {
                    continue;
                }
                match result {
                    Ok(()) => {
                        ok += 1;
                        record(&mut hist, done - due);
                    }
                    Err(e) => {
                        errors += 1;
                        first_error.get_or_insert(e);
                    }
                }
            }
            (hist, ok, errors, first_error)
        }));
    }
    let stop = Arc::new(AtomicBool::new(false));
    let rss = {
        let stop = stop.clone();
        let pid = plan.pid;
        tokio::spawn(async move {
            tokio::time::sleep_until(from.into()).await;
            sample_rss(pid, stop).await.unwrap_or_default()
        })
    };
    let outcome = merge(workers, to - from).await;
    stop.store(true, Ordering::Relaxed);
    let _ = scheduler.join();
    let usage = rss.await.unwrap_or_default();
    (Outcome { usage, ..outcome }, from, to)
}

type WorkerResult = (Histogram<u64>, u64, u64, Option<String>);

async fn merge(workers: Vec<tokio::task::JoinHandle<WorkerResult>>, window: Duration) -> Outcome {
    let mut total = Outcome { ok: 0, errors: 0, first_error: None, window, hist: histogram(), usage: Usage::default() };
    for worker in workers {
        let (hist, ok, errors, first_error) = worker.await.expect("worker panicked");
        total.hist.add(&hist).expect("same bounds");
        total.ok += ok;
        total.errors += errors;
        if total.first_error.is_none() {
            total.first_error = first_error;
        }
    }
    total
}

/// Runs every request once over `concurrency` connections; fails on any non-200 answer.
pub async fn run_all(addr: SocketAddr, concurrency: usize, requests: Vec<Req>) -> Result<Vec<bytes::Bytes>, String> {
    let requests = Arc::new(requests);
    let next = Arc::new(AtomicU64::new(0));
    let mut workers = Vec::new();
    for _ in 0..concurrency.min(requests.len()).max(1) {
        let (requests, next) = (requests.clone(), next.clone());
        workers.push(tokio::spawn(async move {
            let mut conn = Conn::new(addr);
            let mut answers = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed) as usize;
                let Some(req) = requests.get(i) else { break };
                let mut tries = 0;
                let body = loop {
                    match conn.send(req).await {
                        Ok((status, body)) if status == StatusCode::OK => break body,
                        Ok((status, body)) => {
                            return Err(format!(
                                "{} {} answered {}: {}",
                                req.method,
                                req.path,
                                status.as_u16(),
                                String::from_utf8_lossy(&body)
                            ))
                        }
                        Err(e) if tries < 3 => {
                            tries += 1;
                            eprintln!("  retrying {} after: {e}", req.path);
                        }
                        Err(e) => return Err(e),
                    }
                };
                answers.push((i, body));
            }
            Ok(answers)
        }));
    }
    let mut all = vec![bytes::Bytes::new(); requests.len()];
    for worker in workers {
        for (i, body) in worker.await.map_err(|e| e.to_string())?? {
            all[i] = body;
        }
    }
    Ok(all)
}
