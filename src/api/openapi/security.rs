//! Who may call what: the token schemes, each with the 401 its extractor answers, and the operations
//! anyone may call.

use utoipa::openapi::path::Operation;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, SecurityScheme};
use utoipa::openapi::OpenApi;
use utoipa::Modify;

/// The operations anyone may call, without a token (by handler `operation_id`): Exotel's passthru and
/// status callbacks (the callback's URL carries its own signature), the trade of an Id and Secret (or a
/// console link's code) for a token, and the operational routes. They get `security: []`, so no tool takes them to need a token;
/// every other operation names its token scheme in its `#[utoipa::path]`.
pub const PUBLIC_OPERATIONS: &[&str] = &[
    "create_token",
    "exchange_console_link",
    "inbound_call",
    "call_status_callback",
    "openapi_document",
    "healthz",
    "readyz",
    "metrics",
];

/// A token scheme: the name a handler gives in `security((name = []))`, and what a client reads about it.
struct TokenScheme {
    name: &'static str,
    /// How to get the token.
    description: &'static str,
    /// The 401 of an operation that needs it: what the extractor refuses.
    refused: &'static str,
    /// Whether repeated refusals from one client address are throttled with 429.
    throttled: bool,
}

/// Every token travels in `Authorization`, raw (as the SDK sends it) or as `Bearer <token>`.
static TOKEN_SCHEMES: [TokenScheme; 3] = [
    TokenScheme {
        name: "customer_token",
        description: "A customer token from `POST /v2/integrations/token` with `Entity` `customer`: \
             `Authorization: <token>` (raw) or `Authorization: Bearer <token>`.",
        refused: "Missing, unknown or expired token, or not a customer token.",
        throttled: false,
    },
    TokenScheme {
        name: "app_token",
        description: "An app token from `POST /v2/integrations/token` with `Entity` `app`: \
             `Authorization: <token>` (raw) or `Authorization: Bearer <token>`.",
        refused: "Missing, unknown or expired token, or not an app token.",
        throttled: false,
    },
    TokenScheme {
        name: "admin_token",
        description:
            "The operator's `ADMIN_TOKEN`: `Authorization: <token>` (raw) or `Authorization: Bearer <token>`. \
             With no admin token configured, the route answers 401.",
        refused: "Missing or wrong admin token, or no `ADMIN_TOKEN` configured.",
        throttled: true,
    },
];

/// Adds the token schemes to the document's components.
pub struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        for scheme in &TOKEN_SCHEMES {
            let key = ApiKey::Header(ApiKeyValue::with_description("Authorization", scheme.description));
            components.add_security_scheme(scheme.name, SecurityScheme::ApiKey(key));
        }
    }
}

/// What the 401 of `operation` says, if it needs a token: its scheme's refusal, or (an operation that
/// takes several kinds) a refusal of the other kinds.
pub fn refused(operation: &Operation) -> Option<&'static str> {
    match token_schemes(operation).as_slice() {
        [] => None,
        [scheme] => Some(scheme.refused),
        _ => Some("Missing, unknown or expired token, or a token of another kind."),
    }
}

/// Whether `operation` needs a token whose refusals are throttled (answered 429 after too many).
pub fn throttled(operation: &Operation) -> bool {
    token_schemes(operation).iter().any(|scheme| scheme.throttled)
}

/// The token schemes `operation` names in its `security`.
fn token_schemes(operation: &Operation) -> Vec<&'static TokenScheme> {
    // `SecurityRequirement` keeps its scheme names private: they are the keys it serializes.
    operation
        .security
        .iter()
        .flatten()
        .filter_map(|requirement| serde_json::to_value(requirement).ok())
        .filter_map(|requirement| requirement.as_object().map(|names| names.keys().cloned().collect::<Vec<_>>()))
        .flatten()
        .filter_map(|name| TOKEN_SCHEMES.iter().find(|scheme| scheme.name == name))
        .collect()
}
