//! The web console (CONTRACT §14): its HTML, JS and CSS, embedded in the binary and served under
//! `/console` with a strict Content-Security-Policy. The console is a client of the public API and
//! nothing else; these routes are not API operations (no envelope, no OpenAPI entry).

use axum::extract::{Path, State};
use axum::http::{header, HeaderName, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use crate::config::Config;
use crate::envelope::ApiError;
use crate::state::AppState;

/// Where the console is served.
pub const CONSOLE_PATH: &str = "/console";

/// One embedded file of the console: its path under `/console/`, content type and bytes.
pub struct Asset {
    pub path: &'static str,
    pub content_type: &'static str,
    pub body: &'static str,
}

const HTML: &str = "text/html; charset=utf-8";
const JS: &str = "text/javascript; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";

macro_rules! asset {
    ($path:literal, $content_type:expr) => {
        Asset { path: $path, content_type: $content_type, body: include_str!(concat!("../../console/", $path)) }
    };
}

/// Every file of the top-level `console/` folder that the browser loads.
pub const ASSETS: &[Asset] = &[
    asset!("index.html", HTML),
    asset!("console.css", CSS),
    asset!("js/main.js", JS),
    asset!("js/api.js", JS),
    asset!("js/session.js", JS),
    asset!("js/router.js", JS),
    asset!("js/dom.js", JS),
    asset!("js/delivery.js", JS),
    asset!("js/views/signin.js", JS),
    asset!("js/views/app_shell.js", JS),
    asset!("js/views/overview.js", JS),
    asset!("js/views/settings.js", JS),
    asset!("js/views/agents.js", JS),
    asset!("js/views/calls.js", JS),
    asset!("js/views/call.js", JS),
    asset!("js/views/deliveries.js", JS),
    asset!("js/views/sandbox.js", JS),
    asset!("js/views/customer.js", JS),
    asset!("js/views/operator.js", JS),
];

/// The `/console` routes, or none when `CONSOLE_ENABLED=false` (every console path is then the
/// router's ordinary 404).
pub fn routes(config: &Config) -> Router<AppState> {
    if !config.console_enabled {
        return Router::new();
    }
    Router::new().route(CONSOLE_PATH, get(index)).route("/console/", get(index)).route("/console/{*asset}", get(asset))
}

/// The console's Content-Security-Policy: nothing but its own files, its own API, and framing only
/// by the origins of `CONSOLE_FRAME_ANCESTORS`.
pub fn content_security_policy(config: &Config) -> String {
    let ancestors = if config.console_frame_ancestors.is_empty() {
        "'none'".to_string()
    } else {
        config.console_frame_ancestors.join(" ")
    };
    format!(
        "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; \
         frame-ancestors {ancestors}"
    )
}

async fn index(State(state): State<AppState>) -> Response {
    serve(&state.config, &ASSETS[0])
}

async fn asset(State(state): State<AppState>, Path(path): Path<String>) -> Response {
    match ASSETS.iter().find(|asset| asset.path == path) {
        Some(asset) => serve(&state.config, asset),
        None => ApiError::not_found(format!("the console has no file {path:?}")).into_response(),
    }
}

fn serve(config: &Config, asset: &Asset) -> Response {
    let csp = HeaderValue::from_str(&content_security_policy(config)).expect("origins were checked at start-up");
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(asset.content_type)),
            (header::CONTENT_SECURITY_POLICY, csp),
            (header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")),
            (header::REFERRER_POLICY, HeaderValue::from_static("no-referrer")),
            // Always revalidated: a new binary serves new files at the same paths.
            (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
            (HeaderName::from_static("cross-origin-opener-policy"), HeaderValue::from_static("same-origin")),
        ],
        asset.body,
    )
        .into_response()
}
