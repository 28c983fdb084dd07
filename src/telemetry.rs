//! Logging: human-readable text, or one JSON object per line (`LOG_FORMAT=json`).

use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::EnvFilter;

use crate::config::LogFormat;

const DEFAULT_FILTER: &str = "info,sqlx=warn,tower_http=warn,hyper=warn";

/// Installs the global subscriber on stderr; `RUST_LOG` overrides the default filter.
pub fn init(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(DEFAULT_FILTER));
    // `try_init` also forwards records of crates that log through `log`.
    // Colour codes only for a person at a terminal: a file, a pipe or a log collector gets plain text.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let _ = subscriber(format, filter, std::io::stderr, ansi).try_init();
}

/// The log subscriber in `format`, writing to `writer` (tests capture the lines this way), with
/// terminal colour codes in text lines when `ansi`.
pub fn subscriber<W>(
    format: LogFormat,
    filter: EnvFilter,
    writer: W,
    ansi: bool,
) -> Box<dyn tracing::Subscriber + Send + Sync>
where
    W: for<'w> tracing_subscriber::fmt::MakeWriter<'w> + Send + Sync + 'static,
{
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(writer).with_ansi(ansi);
    match format {
        LogFormat::Text => Box::new(builder.finish()),
        LogFormat::Json => {
            Box::new(builder.json().flatten_event(true).with_current_span(true).with_span_list(false).finish())
        }
    }
}

/// Names the app (and its customer) in the current span: a request's, or a simulated call's (spans
/// that declare the `customer_id` and `app_id` fields; elsewhere it does nothing).
pub fn record_app_in_span(customer_id: &str, app_id: &str) {
    let span = tracing::Span::current();
    span.record("customer_id", customer_id);
    span.record("app_id", app_id);
}

/// Prometheus metrics: one recorder per process, rendered by `GET /metrics`.
pub mod metrics {
    use std::sync::OnceLock;

    use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

    pub const HTTP_REQUESTS: &str = "http_requests_total";
    pub const HTTP_DURATION: &str = "http_request_duration_seconds";
    pub const WEBHOOK_DELIVERIES: &str = "webhook_deliveries_total";
    pub const WEBHOOK_ATTEMPT_DURATION: &str = "webhook_attempt_duration_seconds";
    pub const WEBHOOK_QUEUE_DEPTH: &str = "webhook_queue_depth";
    pub const WEBHOOK_QUEUE_OLDEST_AGE: &str = "webhook_queue_oldest_age_seconds";
    pub const EXOTEL_REQUESTS: &str = "exotel_requests_total";
    pub const EXOTEL_DURATION: &str = "exotel_request_duration_seconds";
    pub const DB_POOL_CONNECTIONS: &str = "db_pool_connections";
    pub const DB_CONNECTIONS_DISCARDED: &str = "db_connections_discarded_total";
    pub const STORAGE_UNAVAILABLE: &str = "storage_unavailable_total";
    pub const HTTP_CONNECTIONS_OPEN: &str = "http_connections_open";
    pub const HTTP_CONNECTIONS_SHED: &str = "http_connections_shed_total";

    const LATENCY_BUCKETS: &[f64] =
        &[0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0];

    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

    /// Installs the process-wide recorder on first use and returns its handle.
    pub fn handle() -> &'static PrometheusHandle {
        HANDLE.get_or_init(|| {
            let recorder = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Suffix("_seconds".to_string()), LATENCY_BUCKETS)
                .expect("buckets are not empty")
                .build_recorder();
            let handle = recorder.handle();
            // Another recorder may exist already (a test harness); then this one only renders its own.
            let _ = ::metrics::set_global_recorder(recorder);
            describe();
            handle
        })
    }

    fn describe() {
        use ::metrics::{describe_counter, describe_gauge, describe_histogram, Unit};
        describe_counter!(HTTP_REQUESTS, "HTTP requests by method, matched route and status");
        describe_histogram!(HTTP_DURATION, Unit::Seconds, "HTTP request latency by method, matched route and status");
        describe_counter!(
            WEBHOOK_DELIVERIES,
            "Webhook attempts by event type and outcome (delivered, retry, dead, expired)"
        );
        describe_histogram!(
            WEBHOOK_ATTEMPT_DURATION,
            Unit::Seconds,
            "Webhook attempt latency by event type and outcome"
        );
        describe_gauge!(WEBHOOK_QUEUE_DEPTH, "Webhook deliveries pending");
        describe_gauge!(WEBHOOK_QUEUE_OLDEST_AGE, Unit::Seconds, "Age of the oldest pending webhook delivery");
        describe_counter!(EXOTEL_REQUESTS, "Calls to Exotel by operation and outcome (ok, refused, unreachable)");
        describe_histogram!(EXOTEL_DURATION, Unit::Seconds, "Exotel call latency by operation and outcome");
        describe_gauge!(DB_POOL_CONNECTIONS, "Database pool connections by state (in_use, idle)");
        describe_counter!(
            DB_CONNECTIONS_DISCARDED,
            "SQLite writer connections closed because a failed write left their transaction state out of step"
        );
        describe_counter!(
            STORAGE_UNAVAILABLE,
            "Requests answered 503 because the storage was unavailable, by reason (full, down)"
        );
        describe_gauge!(HTTP_CONNECTIONS_OPEN, "Client connections open");
        describe_counter!(
            HTTP_CONNECTIONS_SHED,
            "Client connections refused with a 503 because MAX_CONNECTIONS were open"
        );
    }
}
