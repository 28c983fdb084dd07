//! The scenarios, run against one server process: seed, then each scenario closed-loop
//! (throughput) and open-loop at a fixed rate (latency), then the dispatcher end to end.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use serde::{Deserialize, Serialize};
use serde_json::json;
use tokio::net::TcpListener;

use crate::http::{serve_hanging, serve_receiver, ReceiverState, Req};
use crate::load::{closed_loop, open_loop, proc_status_kib, Gen, Outcome, Plan, Tracker, Usage};
use crate::report::thousands;
use crate::seed::{
    inbound_call_path, mix, seed, seed_calls, user_id, wait_until_nothing_pending, Calls, Passthru, SeedStep, Sizes,
    World,
};

#[derive(Clone, Debug, clap::Args)]
pub struct BenchArgs {
    /// The server, e.g. 127.0.0.1:8080 (loopback only).
    #[arg(long)]
    pub addr: SocketAddr,
    /// The server's process id (its RSS is sampled from /proc).
    #[arg(long)]
    pub pid: u32,
    /// sqlite or postgres: a label for the report.
    #[arg(long)]
    pub backend: String,
    #[arg(long)]
    pub admin_token: String,
    /// Where to write this backend's results (JSON).
    #[arg(long)]
    pub out: std::path::PathBuf,
    #[arg(long, default_value_t = 3.0)]
    pub warmup: f64,
    #[arg(long, default_value_t = 10.0)]
    pub duration: f64,
    /// Warm-up and window of the open-loop latency runs of the plain HTTP scenarios.
    #[arg(long, default_value_t = 1.0)]
    pub open_warmup: f64,
    #[arg(long, default_value_t = 5.0)]
    pub open_duration: f64,
    /// Connections of the closed loop.
    #[arg(long, default_value_t = 32)]
    pub concurrency: usize,
    /// Requests (events) per second of the open loop.
    #[arg(long, default_value_t = 500.0)]
    pub rate: f64,
    /// Connections the open loop may use.
    #[arg(long, default_value_t = 64)]
    pub connections: usize,
    #[arg(long, default_value_t = 100)]
    pub customers: usize,
    #[arg(long, default_value_t = 10)]
    pub apps_per_customer: usize,
    #[arg(long, default_value_t = 100)]
    pub users_per_app: usize,
    #[arg(long, default_value_t = 100)]
    pub tokens_per_app: usize,
    #[arg(long, default_value_t = 32)]
    pub seed_concurrency: usize,
    /// How long to wait for queued webhooks to arrive after a passthru run.
    #[arg(long, default_value_t = 75.0)]
    pub drain_timeout: f64,
    /// Run only these scenarios (comma-separated keys: healthz, token, app, usermapping_one,
    /// usermapping_page, passthru, call_events, delivery_detail); all when empty. For iterating
    /// on one hot path; the report of a partial run has only those rows. The calls are seeded
    /// only when call_events or delivery_detail runs.
    #[arg(long, default_value = "")]
    pub only: String,
    /// Inbound calls seeded through the passthru (a popup and a hang-up each) for the
    /// call_events and delivery_detail rows, spread round-robin over the apps.
    #[arg(long, default_value_t = 100_000)]
    pub calls: usize,
    /// Calls per app whose deliveries are read back (`GET /webhook_deliveries?call_sid=`) to
    /// give the delivery_detail row its ids.
    #[arg(long, default_value_t = 10)]
    pub delivery_sample_calls: usize,
    /// How long to wait for the dispatcher to deliver the seeded calls' webhooks.
    #[arg(long, default_value_t = 600.0)]
    pub calls_drain_timeout: f64,
}

impl BenchArgs {
    fn runs(&self, key: &str) -> bool {
        self.only.trim().is_empty() || self.only.split(',').any(|k| k.trim() == key)
    }
}

/// One line of the results table.
#[derive(Serialize, Deserialize, Clone, Debug, Default)]
pub struct Row {
    pub key: String,
    pub title: String,
    /// Closed loop: requests (or deliveries) per second, p50 and p99 in ms.
    pub rps: Option<f64>,
    pub p50: Option<f64>,
    pub p99: Option<f64>,
    /// Open loop at a fixed rate: p50 and p99 in ms, from each request's due time.
    pub open_rate: Option<f64>,
    pub open_p50: Option<f64>,
    pub open_p99: Option<f64>,
    pub rss_mib: f64,
    /// CPU cores used during the (closed-loop) window: server / load generator / postgres / the rest.
    #[serde(default)]
    pub cpu: Option<[f64; 4]>,
    pub errors: u64,
    pub note: String,
}

#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct BackendResult {
    pub backend: String,
    pub concurrency: usize,
    pub rate: f64,
    pub warmup: f64,
    pub duration: f64,
    pub seed: Vec<SeedStep>,
    pub rows: Vec<Row>,
    pub vmhwm_mib: f64,
    pub notes: Vec<String>,
}

const API: &str = "/v2/integrations";

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

fn cpu(usage: &Usage) -> Option<[f64; 4]> {
    Some([usage.server_cores, usage.loadgen_cores, usage.postgres_cores, usage.rest_cores])
}

fn errors_note(outcome: &Outcome) -> String {
    match &outcome.first_error {
        Some(e) if outcome.errors > 0 => {
            format!("{} errors, first: {}", outcome.errors, e.chars().take(160).collect::<String>())
        }
        _ => String::new(),
    }
}

struct Bench {
    args: BenchArgs,
    world: Arc<World>,
    app_ids: Arc<Vec<Arc<str>>>,
    receiver: Arc<ReceiverState>,
    hang_url: String,
    hang_accepted: Arc<AtomicU64>,
    next_tracker: u32,
    rows: Vec<Row>,
    notes: Vec<String>,
    /// Seeding steps after the first seed (the calls), appended to the world's.
    seed_steps: Vec<SeedStep>,
}

/// The apps that have something in `sets` (indexes into `World::apps`).
fn non_empty(sets: &[Vec<Arc<str>>]) -> Arc<Vec<usize>> {
    Arc::new(sets.iter().enumerate().filter(|(_, s)| !s.is_empty()).map(|(a, _)| a).collect())
}

/// Passthru events: every tenth goes to app 0 (the tenant whose receiver may hang), the rest
/// are spread over the other apps. Events of app 0 are not timed in either run.
#[derive(Clone, Copy, PartialEq)]
enum Spread {
    Uniform,
    OneTenthToAppZero,
}

impl Bench {
    fn plan_closed(&self) -> Plan {
        Plan {
            addr: self.args.addr,
            pid: self.args.pid,
            warmup: Duration::from_secs_f64(self.args.warmup),
            duration: Duration::from_secs_f64(self.args.duration),
        }
    }

    fn plan_open(&self, long: bool) -> Plan {
        let (w, d) = if long {
            (self.args.warmup, self.args.duration)
        } else {
            (self.args.open_warmup, self.args.open_duration)
        };
        Plan {
            addr: self.args.addr,
            pid: self.args.pid,
            warmup: Duration::from_secs_f64(w),
            duration: Duration::from_secs_f64(d),
        }
    }

    fn tracker(&mut self, capacity: usize) -> Arc<Tracker> {
        self.next_tracker += 1;
        let tracker = Arc::new(Tracker::new(self.next_tracker, capacity));
        self.receiver.add_tracker(tracker.clone());
        tracker
    }

    /// Closed loop then open loop for one plain HTTP scenario.
    async fn http_scenario(&mut self, key: &str, title: &str, gen: Gen) {
        if !self.args.runs(key) {
            return;
        }
        eprintln!(
            "[{}] {title}: closed loop, {} connections, {}+{} s",
            self.args.backend, self.args.concurrency, self.args.warmup, self.args.duration
        );
        let (closed, _, _) = closed_loop(&self.plan_closed(), self.args.concurrency, gen.clone(), None).await;
        eprintln!(
            "    {:.0} req/s, p50 {:.2} ms, p99 {:.2} ms, {} errors",
            closed.rps(),
            closed.p(0.5),
            closed.p(0.99),
            closed.errors
        );
        let (open, _, _) = open_loop(&self.plan_open(false), self.args.rate, self.args.connections, gen, None).await;
        eprintln!(
            "    open loop @{}/s: p50 {:.2} ms, p99 {:.2} ms, {} errors",
            self.args.rate,
            open.p(0.5),
            open.p(0.99),
            open.errors
        );
        let mut note = errors_note(&closed);
        if open.errors > 0 {
            note = format!("{note} open loop: {}", errors_note(&open));
        }
        self.rows.push(Row {
            key: key.to_string(),
            title: title.to_string(),
            rps: Some(closed.rps()),
            p50: Some(closed.p(0.5)),
            p99: Some(closed.p(0.99)),
            open_rate: Some(self.args.rate),
            open_p50: Some(open.p(0.5)),
            open_p99: Some(open.p(0.99)),
            rss_mib: mib(closed.usage.peak_rss_kib.max(open.usage.peak_rss_kib)),
            cpu: cpu(&closed.usage),
            errors: closed.errors + open.errors,
            note: note.trim().to_string(),
        });
    }

    fn passthru_gen(&self, tracker: Arc<Tracker>, spread: Spread) -> Gen {
        let app_ids = self.app_ids.clone();
        let users = self.world.apps[0].users.max(1);
        let id = tracker.id;
        Arc::new(move |i| {
            let r = mix(i);
            let n = app_ids.len();
            let (a, track) = match spread {
                Spread::Uniform => ((r % n as u64) as usize, true),
                Spread::OneTenthToAppZero if i % 10 == 0 => (0, false),
                Spread::OneTenthToAppZero => (1 + (r % (n as u64 - 1)) as usize, true),
            };
            let k = ((r >> 32) % users as u64) as usize;
            let path = inbound_call_path(&app_ids[a], a, k, &format!("b{id}-{i}"), i % 10_000, Passthru::Popup);
            let mut req = Req::get(path);
            req.track = track.then_some(i as usize);
            req
        })
    }

    /// Waits until every accepted, timed event's webhook has arrived (or the timeout).
    async fn drain(&self, tracker: &Tracker, label: &str) -> (f64, usize) {
        let started = Instant::now();
        let limit = Duration::from_secs_f64(self.args.drain_timeout);
        loop {
            let outstanding = tracker.outstanding();
            if outstanding == 0 || started.elapsed() > limit {
                let secs = started.elapsed().as_secs_f64();
                eprintln!("    {label}: drained in {secs:.1} s, {outstanding} webhooks still outstanding");
                return (secs, outstanding);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn set_app_zero_popup(&self, url: &str) -> Result<(), String> {
        let app = &self.world.apps[0];
        let body = json!({"Key": "popup", "Value": url}).to_string();
        let req = Req::post(format!("{API}/app_setting"), body).auth(&app.tokens[0]);
        crate::load::run_all(self.args.addr, 1, vec![req]).await.map(|_| ())
    }

    async fn passthru_scenarios(&mut self) -> Result<(), String> {
        let backend = self.args.backend.clone();
        // 1. Closed loop: passthru throughput, and what the dispatcher delivers meanwhile.
        let capacity = 600_000;
        let tracker = self.tracker(capacity);
        let gen = self.passthru_gen(tracker.clone(), Spread::Uniform);
        eprintln!("[{backend}] inbound_call popup: closed loop, {} connections", self.args.concurrency);
        let (closed, from, to) =
            closed_loop(&self.plan_closed(), self.args.concurrency, gen, Some(tracker.clone())).await;
        eprintln!(
            "    {:.0} req/s, p50 {:.2} ms, p99 {:.2} ms, {} errors",
            closed.rps(),
            closed.p(0.5),
            closed.p(0.99),
            closed.errors
        );
        let arrivals = tracker.arrivals_between(from, to);
        let (drain_secs, outstanding) = self.drain(&tracker, "popup webhooks").await;
        let (e2e, delivered, missing) = tracker.latencies(from, to);
        let window = (to - from).as_secs_f64();
        let delivery_rate = arrivals as f64 / window;
        let backlog_rate = match tracker.last_arrival() {
            Some(last) if delivered > 0 => {
                let sent_in_window = delivered + missing;
                Some(sent_in_window as f64 / (last.max(to) - from).as_secs_f64())
            }
            _ => None,
        };
        eprintln!(
            "    dispatcher: {delivery_rate:.0} deliveries/s during the window; e2e p50 {:.2} ms, p99 {:.2} ms; {missing} missing",
            e2e.value_at_quantile(0.5) as f64 / 1000.0,
            e2e.value_at_quantile(0.99) as f64 / 1000.0
        );
        let popup_row = Row {
            key: "inbound_popup".into(),
            title: "`GET /call/inbound_call/{appId}?type=popup` (passthru, webhook queued)".into(),
            rps: Some(closed.rps()),
            p50: Some(closed.p(0.5)),
            p99: Some(closed.p(0.99)),
            rss_mib: mib(closed.usage.peak_rss_kib),
            cpu: cpu(&closed.usage),
            errors: closed.errors,
            note: errors_note(&closed),
            ..Row::default()
        };
        let dispatcher_row = Row {
            key: "dispatcher".into(),
            title: "Dispatcher, end to end: webhooks received/s during the closed-loop passthru run; latency passthru sent → webhook received".into(),
            rps: Some(delivery_rate),
            p50: Some(e2e.value_at_quantile(0.5) as f64 / 1000.0),
            p99: Some(e2e.value_at_quantile(0.99) as f64 / 1000.0),
            rss_mib: mib(closed.usage.peak_rss_kib),
            cpu: cpu(&closed.usage),
            errors: missing,
            note: format!(
                "{delivered} of {} events accepted in the window delivered ({missing} not: popups expire after 60 s); \
                 backlog drained {drain_secs:.1} s after the run (events in window / (last arrival − window start) = {}/s); \
                 {} duplicates; {outstanding} outstanding at the end",
                delivered + missing,
                backlog_rate.map(|r| format!("{r:.0}")).unwrap_or_else(|| "—".into()),
                tracker.duplicates.load(Ordering::Relaxed)
            ),
            ..Row::default()
        };

        // 2. Open loop at the fixed rate: passthru latency and passthru → receiver latency.
        let tracker = self.tracker(capacity);
        let gen = self.passthru_gen(tracker.clone(), Spread::OneTenthToAppZero);
        eprintln!("[{backend}] inbound_call popup: open loop @{}/s, every receiver answering", self.args.rate);
        let (open, from, to) =
            open_loop(&self.plan_open(true), self.args.rate, self.args.connections, gen, Some(tracker.clone())).await;
        self.drain(&tracker, "popup webhooks").await;
        let (base, delivered, missing) = tracker.latencies(from, to);
        if let Some(dir) = std::env::var_os("LOADGEN_DUMP_DIR") {
            let path = std::path::Path::new(&dir).join(format!("e2e-fixed-{backend}.txt"));
            tracker.dump(from, to, &path).map_err(|e| e.to_string())?;
        }
        let (b50, b99) = (base.value_at_quantile(0.5) as f64 / 1000.0, base.value_at_quantile(0.99) as f64 / 1000.0);
        eprintln!(
            "    passthru p50 {:.2} ms, p99 {:.2} ms; passthru → receiver p50 {b50:.2} ms, p99 {b99:.2} ms",
            open.p(0.5),
            open.p(0.99)
        );
        let mut popup_row = popup_row;
        popup_row.open_rate = Some(self.args.rate);
        popup_row.open_p50 = Some(open.p(0.5));
        popup_row.open_p99 = Some(open.p(0.99));
        popup_row.rss_mib = popup_row.rss_mib.max(mib(open.usage.peak_rss_kib));
        popup_row.errors += open.errors;
        let e2e_row = Row {
            key: "e2e_fixed".into(),
            title: format!("Passthru → webhook received at a fixed {} events/s (open loop)", self.args.rate),
            open_rate: Some(self.args.rate),
            open_p50: Some(b50),
            open_p99: Some(b99),
            rss_mib: mib(open.usage.peak_rss_kib),
            cpu: cpu(&open.usage),
            errors: missing + open.errors,
            note: format!(
                "{delivered} timed events delivered, {missing} not; 1 in 10 events goes to app 0 (untimed, as in the next row); p999 {:.2} ms, max {:.2} ms; {}",
                base.value_at_quantile(0.999) as f64 / 1000.0,
                base.max() as f64 / 1000.0,
                tracker.slowest_percent_span(from, to)
            ),
            ..Row::default()
        };

        // 3. The same load while app 0's receiver hangs: the other tenants must not notice.
        self.set_app_zero_popup(&format!("{}/hook/0", self.hang_url)).await?;
        let tracker = self.tracker(capacity);
        let gen = self.passthru_gen(tracker.clone(), Spread::OneTenthToAppZero);
        eprintln!("[{backend}] inbound_call popup: open loop @{}/s, app 0's receiver hangs", self.args.rate);
        let (hung, from, to) =
            open_loop(&self.plan_open(true), self.args.rate, self.args.connections, gen, Some(tracker.clone())).await;
        self.drain(&tracker, "popup webhooks of the other tenants").await;
        let (other, delivered, missing) = tracker.latencies(from, to);
        if let Some(dir) = std::env::var_os("LOADGEN_DUMP_DIR") {
            let path = std::path::Path::new(&dir).join(format!("e2e-hang-{backend}.txt"));
            tracker.dump(from, to, &path).map_err(|e| e.to_string())?;
        }
        let (h50, h99) = (other.value_at_quantile(0.5) as f64 / 1000.0, other.value_at_quantile(0.99) as f64 / 1000.0);
        let hung_connections = self.hang_accepted.load(Ordering::Relaxed);
        eprintln!("    other tenants: passthru → receiver p50 {h50:.2} ms, p99 {h99:.2} ms; the hung receiver accepted {hung_connections} connections");
        let hang_row = Row {
            key: "e2e_hang".into(),
            title: format!(
                "Same {} events/s while app 0's receiver hangs (1 in 10 events): the other tenants' passthru → webhook received",
                self.args.rate
            ),
            open_rate: Some(self.args.rate),
            open_p50: Some(h50),
            open_p99: Some(h99),
            rss_mib: mib(hung.usage.peak_rss_kib),
            cpu: cpu(&hung.usage),
            errors: missing + hung.errors,
            note: format!(
                "{delivered} timed events delivered, {missing} not; p50 {:+.2} ms, p99 {:+.2} ms against the row above; \
                 passthru itself p50 {:.2} ms, p99 {:.2} ms; {}; the hung receiver accepted {hung_connections} connections (WEBHOOK_TIMEOUT_SECS default 10 s)",
                h50 - b50,
                h99 - b99,
                hung.p(0.5),
                hung.p(0.99),
                tracker.slowest_percent_span(from, to)
            ),
            ..Row::default()
        };
        self.rows.extend([popup_row, dispatcher_row, e2e_row, hang_row]);
        Ok(())
    }
}

impl Bench {
    /// Seeds the calls, then the two read rows of one call's timeline and one delivery's detail.
    async fn call_scenarios(&mut self, receiver_url: &str) -> Result<(), String> {
        let backend = self.args.backend.clone();
        if self.args.runs("passthru") {
            // The hung-receiver row left app 0's popup URL on the listener that never answers.
            self.set_app_zero_popup(&format!("{receiver_url}/hook/0")).await?;
            // Its popups stay pending until they expire (60 s after the event): seed the calls
            // once they are gone, so that the seeding time is the calls' own.
            let started = Instant::now();
            let pending = wait_until_nothing_pending(self.args.addr, self.args.calls_drain_timeout).await?;
            let secs = started.elapsed().as_secs_f64();
            eprintln!(
                "[{backend}] waited {secs:.1} s for the earlier rows' deliveries to finish ({pending} still pending)"
            );
            self.notes.push(format!(
                "before seeding the calls, {secs:.1} s went by until no delivery of the earlier rows was pending \
                 (app 0's hung popups expire 60 s after their event); {pending} still pending then"
            ));
        }
        eprintln!("[{backend}] seeding {} calls through the passthru", self.args.calls);
        let calls: Calls = seed_calls(
            self.args.addr,
            &self.world,
            receiver_url,
            self.args.calls,
            self.args.delivery_sample_calls,
            self.args.seed_concurrency,
            self.args.calls_drain_timeout,
        )
        .await?;
        eprintln!("[{backend}] seeded {} calls in {:.1} s", self.args.calls, calls.secs);
        self.seed_steps.extend(calls.steps.iter().cloned());
        self.notes.push(calls.note.clone());
        let calls = Arc::new(calls);

        let with_calls = non_empty(&calls.per_app);
        if with_calls.is_empty() {
            self.notes.push("call_events: no calls were seeded (BENCH_CALLS=0), row skipped".into());
        } else {
            let (w, c) = (self.world.clone(), calls.clone());
            let gen: Gen = Arc::new(move |i| {
                let r = mix(i);
                let a = with_calls[(r % with_calls.len() as u64) as usize];
                let sids = &c.per_app[a];
                let sid = &sids[((r >> 24) % sids.len() as u64) as usize];
                let tokens = &w.apps[a].tokens;
                Req::get(format!("{API}/call/{sid}/events")).auth(&tokens[((r >> 48) % tokens.len() as u64) as usize])
            });
            let title = format!(
                "`GET /call/{{CallSid}}/events` (a random one of {} seeded calls, of a random app: 2 events, a delivery each)",
                thousands(self.args.calls as u64)
            );
            self.http_scenario("call_events", &title, gen).await;
        }

        let with_deliveries = non_empty(&calls.deliveries);
        if with_deliveries.is_empty() {
            self.notes.push("delivery_detail: no delivered delivery was read back, row skipped".into());
        } else {
            let sampled: usize = calls.deliveries.iter().map(Vec::len).sum();
            let (w, c) = (self.world.clone(), calls.clone());
            let gen: Gen = Arc::new(move |i| {
                let r = mix(i);
                let a = with_deliveries[(r % with_deliveries.len() as u64) as usize];
                let ids = &c.deliveries[a];
                let id = &ids[((r >> 24) % ids.len() as u64) as usize];
                let tokens = &w.apps[a].tokens;
                Req::get(format!("{API}/webhook_deliveries/{id}"))
                    .auth(&tokens[((r >> 48) % tokens.len() as u64) as usize])
            });
            let title = format!(
                "`GET /webhook_deliveries/{{id}}` (a random delivery of a random app, {} read back from the {} calls' \
                 deliveries: payload and attempt log)",
                thousands(sampled as u64),
                thousands(self.args.calls as u64)
            );
            self.http_scenario("delivery_detail", &title, gen).await;
        }
        Ok(())
    }
}

pub async fn run(args: BenchArgs) -> Result<(), String> {
    if !args.addr.ip().is_loopback() {
        return Err("the benchmark only ever sends traffic to a loopback address".into());
    }
    let receiver = Arc::new(ReceiverState::default());
    let listener = TcpListener::bind("127.0.0.1:0").await.map_err(|e| e.to_string())?;
    let receiver_url = format!("http://{}", listener.local_addr().map_err(|e| e.to_string())?);
    tokio::spawn(serve_receiver(listener, receiver.clone()));
    let hang_listener = TcpListener::bind("127.0.0.1:0").await.map_err(|e| e.to_string())?;
    let hang_url = format!("http://{}", hang_listener.local_addr().map_err(|e| e.to_string())?);
    let hang_accepted = Arc::new(AtomicU64::new(0));
    tokio::spawn(serve_hanging(hang_listener, hang_accepted.clone()));

    eprintln!("[{}] seeding through the API (receiver at {receiver_url})", args.backend);
    let sizes = Sizes {
        customers: args.customers,
        apps_per_customer: args.apps_per_customer,
        users_per_app: args.users_per_app,
        tokens_per_app: args.tokens_per_app,
    };
    let world = Arc::new(seed(args.addr, &args.admin_token, &sizes, &receiver_url, args.seed_concurrency).await?);
    let app_ids: Arc<Vec<Arc<str>>> = Arc::new(world.apps.iter().map(|a| Arc::from(a.id.as_str())).collect());
    let mut bench = Bench {
        args: args.clone(),
        world: world.clone(),
        app_ids: app_ids.clone(),
        receiver: receiver.clone(),
        hang_url,
        hang_accepted,
        next_tracker: 0,
        rows: Vec::new(),
        notes: Vec::new(),
        seed_steps: Vec::new(),
    };

    bench.http_scenario("healthz", "`GET /healthz` (the HTTP ceiling)", Arc::new(|_| Req::get("/healthz"))).await;

    let bodies: Arc<Vec<Bytes>> = Arc::new(
        world
            .apps
            .iter()
            .map(|a| Bytes::from(json!({"Id": a.id, "Secret": a.secret, "Entity": "app"}).to_string()))
            .collect(),
    );
    bench
        .http_scenario(
            "token",
            "`POST /token` (app Id and Secret → a new token)",
            Arc::new(move |i| {
                Req::post(format!("{API}/token"), bodies[(mix(i) % bodies.len() as u64) as usize].clone())
            }),
        )
        .await;

    let w = world.clone();
    bench
        .http_scenario(
            "app",
            "`GET /app` with an app token (random among 100,000)",
            Arc::new(move |i| {
                Req::get(format!("{API}/app")).auth(&w.all_tokens[(mix(i) % w.all_tokens.len() as u64) as usize])
            }),
        )
        .await;

    let w = world.clone();
    bench
        .http_scenario(
            "usermapping_one",
            "`GET /usermapping?user_id=` (random user of a random app)",
            Arc::new(move |i| {
                let r = mix(i);
                let a = (r % w.apps.len() as u64) as usize;
                let app = &w.apps[a];
                let k = ((r >> 20) % app.users as u64) as usize;
                let token = &app.tokens[((r >> 40) % app.tokens.len() as u64) as usize];
                Req::get(format!("{API}/usermapping?user_id={}", user_id(a, k))).auth(token)
            }),
        )
        .await;

    let w = world.clone();
    bench
        .http_scenario(
            "usermapping_page",
            "`GET /usermapping` (first page, 20 of the app's 100 users)",
            Arc::new(move |i| {
                let r = mix(i);
                let app = &w.apps[(r % w.apps.len() as u64) as usize];
                let token = &app.tokens[((r >> 40) % app.tokens.len() as u64) as usize];
                Req::get(format!("{API}/usermapping")).auth(token)
            }),
        )
        .await;

    if args.runs("passthru") {
        bench.passthru_scenarios().await?;
    }

    // Last, so that the rows above run on the same data as before these were added.
    if args.runs("call_events") || args.runs("delivery_detail") {
        bench.call_scenarios(&receiver_url).await?;
    }

    let vmhwm = proc_status_kib(args.pid, "VmHWM:").unwrap_or(0);
    bench.notes.push(format!(
        "the receiver got {} webhooks in all (app 0's included); the hung receiver accepted {} connections",
        receiver.received.load(Ordering::Relaxed),
        bench.hang_accepted.load(Ordering::Relaxed)
    ));
    let result = BackendResult {
        backend: args.backend.clone(),
        concurrency: args.concurrency,
        rate: args.rate,
        warmup: args.warmup,
        duration: args.duration,
        seed: world.steps.iter().chain(&bench.seed_steps).cloned().collect(),
        rows: bench.rows,
        vmhwm_mib: mib(vmhwm),
        notes: bench.notes,
    };
    std::fs::write(&args.out, serde_json::to_string_pretty(&result).map_err(|e| e.to_string())?)
        .map_err(|e| e.to_string())?;
    eprintln!("[{}] results written to {}", args.backend, args.out.display());
    Ok(())
}
