//! integrations-core: Exotel's integrations core v2 platform, reimplemented.

/// HTTP handlers, one file per resource.
pub mod api;
/// Natural batching of concurrent database requests into one statement.
pub mod batch;
/// Command-line operations that do not need the HTTP server.
pub mod cli;
/// Configuration from the environment, validated once at start-up.
pub mod config;
/// The accept loop: the connection cap, connection deadlines and the file-descriptor limit.
pub mod connections;
/// Secrets at rest (AES-256-GCM), the SDK's SipSecret form, and HMAC signatures.
pub mod crypto;
/// The webhook dispatcher (outbox worker).
pub mod dispatch;
/// Plain domain types that are valid by construction.
pub mod domain;
/// The Exotel envelope and the one error type that becomes every HTTP error.
pub mod envelope;
/// The upstream: Exotel's CCM API, or the built-in sandbox.
pub mod exotel;
/// Background housekeeping.
pub mod maintenance;
/// The server: the router with its middleware, and the serve loop.
pub mod server;
/// The operations the HTTP API and the command line share: customers, call events.
pub mod services;
/// What every request handler can reach.
pub mod state;
/// Storage over SQLite or Postgres; all SQL lives here.
pub mod store;
/// Logging set-up (text or JSON lines).
pub mod telemetry;
/// Throttling of repeated failed sign-ins.
pub mod throttle;
