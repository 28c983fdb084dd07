//! The answers an operation may give whatever its handler does, added to every operation from what it
//! is: one that needs a token can answer 401, one that reads a body 413, any 500, and one that waits
//! on the storage 503. A handler lists only its own answers, and its own row for one of these
//! statuses (one that says more, as the 401 of `POST /token`) is kept.

use utoipa::openapi::path::Operation;
use utoipa::openapi::{ContentBuilder, RefOr, ResponseBuilder};

use super::schemas::{schema_ref, ErrorEnvelope};
use super::security;
use crate::api::MAX_BODY_BYTES;

/// The operations that answer without waiting on the storage (by handler `operation_id`).
pub const STORAGE_FREE_OPERATIONS: &[&str] = &["openapi_document", "healthz", "metrics"];

const INTERNAL_ERROR: &str = "Internal error (detail only in the server's logs).";
const STORAGE_UNAVAILABLE: &str =
    "The storage is unavailable or full: nothing was stored; `Retry-After` says when to try again.";
const TIMED_OUT: &str =
    "The request took longer than the server's request timeout (`REQUEST_TIMEOUT_SECS`); try again.";

/// The 413 says the limit in MiB.
const _: () = assert!(MAX_BODY_BYTES % (1 << 20) == 0, "MAX_BODY_BYTES is a whole number of MiB");

/// Adds the shared answers `operation` lacks; `reads_body`: its handler reads the request body.
pub fn add(operation: &mut Operation, reads_body: bool) {
    let waits_on_storage = !operation.operation_id.as_deref().is_some_and(|id| STORAGE_FREE_OPERATIONS.contains(&id));
    let too_large = format!("Request body larger than {} MiB.", MAX_BODY_BYTES >> 20);
    let rows = [
        ("401", security::refused(operation).map(str::to_string)),
        ("413", reads_body.then_some(too_large)),
        ("500", Some(INTERNAL_ERROR.to_string())),
        ("503", Some(if waits_on_storage { STORAGE_UNAVAILABLE } else { TIMED_OUT }.to_string())),
    ];
    for (status, description) in rows {
        if let Some(description) = description {
            operation.responses.responses.entry(status.to_string()).or_insert_with(|| error_response(&description));
        }
    }
}

/// An answer whose body is the failure envelope.
fn error_response(description: &str) -> RefOr<utoipa::openapi::Response> {
    let content = ContentBuilder::new().schema(Some(schema_ref::<ErrorEnvelope>())).build();
    RefOr::T(ResponseBuilder::new().description(description).content("application/json", content).build())
}
