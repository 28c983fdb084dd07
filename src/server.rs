//! The server: the router with its middleware, and the serve loop with graceful shutdown.

use std::time::{Duration, Instant};

use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::{header, HeaderName, HeaderValue, Method, Uri};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tracing::Instrument;
use uuid::Uuid;

use crate::api::{self, MAX_BODY_BYTES};
use crate::config::{Config, CorsOrigins};
use crate::connections::{self, ConnectionLimits};
use crate::dispatch::Dispatcher;
use crate::envelope::{with_request_id, ApiError};
use crate::services::storage;
use crate::state::AppState;
use crate::telemetry;

pub const REQUEST_ID_HEADER: HeaderName = HeaderName::from_static("x-request-id");

/// Every route, with the middleware that gives each request its id, envelope and limits.
pub fn router(state: AppState) -> Router {
    Router::new()
        .nest(api::BASE_PATH, api::routes())
        .route("/healthz", get(api::ops::healthz))
        .route("/readyz", get(api::ops::readyz))
        .route("/metrics", get(api::ops::metrics))
        .merge(api::console::routes(&state.config))
        .fallback(unknown_route)
        .method_not_allowed_fallback(wrong_method)
        .route_layer(middleware::from_fn(record_route))
        .layer(middleware::from_fn_with_state(state.clone(), request_limits))
        .layer(CatchPanicLayer::custom(panic_response))
        .layer(middleware::from_fn(request_context))
        .layer(cors_layer(&state.config.cors_allowed_origins))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(state)
}

/// Gives the request its id (in the `X-Request-Id` header, the envelope and every log line) and logs its outcome.
async fn request_context(request: Request, next: Next) -> Response {
    let id = Uuid::new_v4();
    let started = Instant::now();
    let method = request.method().clone();
    let span = tracing::info_span!(
        "request",
        request_id = %id,
        method = %request.method(),
        route = tracing::field::Empty,
        customer_id = tracing::field::Empty,
        app_id = tracing::field::Empty,
    );
    let mut response = with_request_id(id, next.run(request)).instrument(span.clone()).await;
    let status = response.status().as_u16();
    let elapsed = started.elapsed();
    let latency_ms = elapsed.as_secs_f64() * 1000.0;
    span.in_scope(|| tracing::info!(status, latency_ms, "request finished"));
    let route = response.extensions().get::<MatchedRoute>().map(|r| r.0.clone()).unwrap_or_else(|| "unmatched".into());
    let labels = [("method", method.to_string()), ("route", route), ("status", status.to_string())];
    metrics::counter!(telemetry::metrics::HTTP_REQUESTS, &labels).increment(1);
    metrics::histogram!(telemetry::metrics::HTTP_DURATION, &labels).record(elapsed.as_secs_f64());
    response.headers_mut().insert(REQUEST_ID_HEADER, HeaderValue::from_str(&id.to_string()).expect("uuid is ascii"));
    response
}

/// The route template a request matched, handed back to `request_context` on the response.
#[derive(Clone)]
struct MatchedRoute(String);

/// Names the matched route (a template, never raw ids) in the request's log span and metrics.
async fn record_route(request: Request, next: Next) -> Response {
    let route = request.extensions().get::<MatchedPath>().map(|path| path.as_str().to_string());
    if let Some(route) = &route {
        tracing::Span::current().record("route", route.as_str());
    }
    let mut response = next.run(request).await;
    if let Some(route) = route {
        response.extensions_mut().insert(MatchedRoute(route));
    }
    response
}

/// The limits on one request: its body must arrive within `BODY_READ_TIMEOUT_SECS` (else 408) and
/// be at most [`MAX_BODY_BYTES`] (else 413); then the handler must answer within
/// `REQUEST_TIMEOUT_SECS` (else 503).
async fn request_limits(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let request = match read_whole_body(&state, request).await {
        Ok(request) => request,
        Err(refused) => return refused.into_response(),
    };
    let limit = state.config.request_timeout;
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => {
            tracing::warn!(limit_secs = limit.as_secs(), "request timed out");
            ApiError::ServiceUnavailable(format!("request took longer than {} s; try again", limit.as_secs()))
                .into_response()
        }
    }
}

/// Reads the whole request body before the handler runs, so that a client trickling its body
/// cannot hold the connection and its handler.
async fn read_whole_body(state: &AppState, request: Request) -> Result<Request, ApiError> {
    use axum::body::{Body, HttpBody};

    if request.body().is_end_stream() {
        return Ok(request);
    }
    let limit = state.config.body_read_timeout;
    let (parts, body) = request.into_parts();
    match tokio::time::timeout(limit, axum::body::to_bytes(body, MAX_BODY_BYTES)).await {
        Ok(Ok(bytes)) => Ok(Request::from_parts(parts, Body::from(bytes))),
        Ok(Err(error)) => {
            let error = error.into_inner();
            if error.downcast_ref::<http_body_util::LengthLimitError>().is_some() {
                Err(ApiError::PayloadTooLarge { limit_bytes: MAX_BODY_BYTES })
            } else {
                Err(ApiError::bad_request(format!("could not read the request body: {error}")))
            }
        }
        Err(_) => {
            tracing::warn!(limit_secs = limit.as_secs(), "request body not received in time");
            Err(ApiError::RequestTimeout(format!(
                "the request body did not arrive within {} s (BODY_READ_TIMEOUT_SECS)",
                limit.as_secs()
            )))
        }
    }
}

fn panic_response(_panic: Box<dyn std::any::Any + Send + 'static>) -> Response {
    ApiError::internal(anyhow::anyhow!("handler panicked")).into_response()
}

async fn unknown_route(method: Method, uri: Uri) -> ApiError {
    ApiError::not_found(format!("no route for {method} {}", uri.path()))
}

async fn wrong_method(method: Method, uri: Uri) -> ApiError {
    ApiError::MethodNotAllowed(format!("method {method} is not allowed on {}", uri.path()))
}

fn cors_layer(origins: &CorsOrigins) -> CorsLayer {
    let allow_origin = match origins {
        CorsOrigins::Any => AllowOrigin::any(),
        CorsOrigins::List(list) => AllowOrigin::list(list.iter().filter_map(|o| HeaderValue::from_str(o).ok())),
    };
    CorsLayer::new()
        .allow_origin(allow_origin)
        .allow_methods([Method::GET, Method::POST, Method::PUT, Method::DELETE, Method::OPTIONS])
        // A `*` would not cover Authorization, so the headers are named.
        .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE, REQUEST_ID_HEADER])
        .expose_headers([REQUEST_ID_HEADER, header::RETRY_AFTER])
        .max_age(Duration::from_secs(3600))
}

/// Serves until `shutdown` is cancelled, then drains in-flight requests.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    max_connections: usize,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    let limits = ConnectionLimits {
        max_connections,
        header_read_timeout: state.config.header_read_timeout,
        keep_alive_timeout: state.config.keep_alive_timeout,
    };
    connections::serve(listener, router(state), limits, shutdown).await
}

/// Connects and migrates the store, then serves on the configured address until SIGTERM or Ctrl-C.
pub async fn run(config: Config) -> anyhow::Result<()> {
    let descriptors = connections::raise_descriptor_limit();
    let max_connections = config.max_connections.unwrap_or_else(|| connections::default_max_connections(descriptors));
    let store = storage::open(&config).await?;
    let listener = TcpListener::bind(config.listen_addr)
        .await
        .map_err(|e| anyhow::anyhow!("LISTEN_ADDR: cannot listen on {}: {e}", config.listen_addr))?;
    tracing::info!(
        addr = %listener.local_addr()?,
        backend = store.backend_name(),
        max_connections,
        "integrations-core is ready"
    );

    let (state, outbox) = AppState::new(store.clone(), config);
    let shutdown = CancellationToken::new();
    tokio::spawn(crate::maintenance::run(store.clone(), state.config.webhook_retention, shutdown.clone()));
    let dispatcher = Dispatcher::new(store.clone(), &state.config, outbox);
    let dispatcher = tokio::spawn(dispatcher.run(shutdown.clone()));
    tokio::spawn(cancel_on_signal(shutdown.clone()));
    serve(listener, state, max_connections, shutdown).await?;
    if let Err(error) = dispatcher.await {
        tracing::error!(%error, "webhook dispatcher ended abnormally");
    }
    store.close().await;
    tracing::info!("integrations-core stopped");
    Ok(())
}

async fn cancel_on_signal(shutdown: CancellationToken) {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).expect("SIGTERM handler");
        tokio::select! {
            _ = ctrl_c => {},
            _ = term.recv() => {},
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
    tracing::info!("shutdown requested; draining in-flight requests");
    shutdown.cancel();
}
