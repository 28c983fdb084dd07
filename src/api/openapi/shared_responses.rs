//! The answers an operation may give whatever its handler does, added to every operation from what it
//! is: one with a path parameter can answer 400 (a segment that is not text), one that needs a token
//! 401, one that reads a body 413, one whose token is the throttled admin token 429, any 500, and one
//! that waits on the storage 503. A handler lists only its own answers, and its own row for one of
//! these statuses (one that says more, as the 401 of `POST /token`) is kept.

use utoipa::openapi::path::{Operation, ParameterIn};
use utoipa::openapi::{ContentBuilder, HeaderBuilder, ObjectBuilder, RefOr, Response, ResponseBuilder, Type};
use utoipa::openapi::{KnownFormat, SchemaFormat};

use super::schemas::{schema_ref, ErrorEnvelope};
use super::security;
use crate::api::MAX_BODY_BYTES;

/// The operations that answer without waiting on the storage (by handler `operation_id`).
pub const STORAGE_FREE_OPERATIONS: &[&str] = &["openapi_document", "healthz", "metrics"];

const BAD_PATH_SEGMENT: &str = "The path segment is not valid UTF-8 or holds a NUL byte.";
const THROTTLED: &str = "Too many failed attempts from this client address.";
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
    let has_path_parameter =
        operation.parameters.iter().flatten().any(|parameter| parameter.parameter_in == ParameterIn::Path);
    let too_large = format!("Request body larger than {} MiB.", MAX_BODY_BYTES >> 20);
    let rows = [
        ("400", has_path_parameter.then(|| error_response(BAD_PATH_SEGMENT))),
        ("401", security::refused(operation).map(error_response)),
        ("413", reads_body.then(|| error_response(&too_large))),
        ("429", security::throttled(operation).then(throttled_response)),
        ("500", Some(error_response(INTERNAL_ERROR))),
        ("503", Some(error_response(if waits_on_storage { STORAGE_UNAVAILABLE } else { TIMED_OUT }))),
    ];
    for (status, response) in rows {
        if let Some(response) = response {
            operation.responses.responses.entry(status.to_string()).or_insert(RefOr::T(response));
        }
    }
}

/// An answer whose body is the failure envelope.
fn error_response(description: &str) -> Response {
    error_response_builder(description).build()
}

/// The 429 of a throttled token, with the `Retry-After` it sends.
fn throttled_response() -> Response {
    let seconds = ObjectBuilder::new()
        .schema_type(Type::Integer)
        .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int64)))
        .minimum(Some(0));
    let retry_after =
        HeaderBuilder::new().schema(seconds).description(Some("Seconds to wait before trying again.")).build();
    error_response_builder(THROTTLED).header("Retry-After", retry_after).build()
}

fn error_response_builder(description: &str) -> ResponseBuilder {
    let content = ContentBuilder::new().schema(Some(schema_ref::<ErrorEnvelope>())).build();
    ResponseBuilder::new().description(description).content("application/json", content)
}
