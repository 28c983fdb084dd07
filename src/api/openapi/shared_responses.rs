//! The answers the middleware may give on any operation, whatever its handler: 500 (a panic) and 503
//! (a timeout). A handler's own row for one of these statuses is kept.

use utoipa::openapi::path::Operation;
use utoipa::openapi::{ContentBuilder, RefOr, ResponseBuilder};

use super::schemas::{schema_ref, ErrorEnvelope};

const INTERNAL_ERROR: &str = "Internal error (detail only in the server's logs).";
const TIMED_OUT: &str =
    "The request took longer than the server's request timeout (`REQUEST_TIMEOUT_SECS`); try again.";

/// Adds the shared answers `operation` lacks.
pub fn add(operation: &mut Operation) {
    for (status, description) in [("500", INTERNAL_ERROR), ("503", TIMED_OUT)] {
        operation.responses.responses.entry(status.to_string()).or_insert_with(|| error_response(description));
    }
}

/// An answer whose body is the failure envelope.
fn error_response(description: &str) -> RefOr<utoipa::openapi::Response> {
    let content = ContentBuilder::new().schema(Some(schema_ref::<ErrorEnvelope>())).build();
    RefOr::T(ResponseBuilder::new().description(description).content("application/json", content).build())
}
