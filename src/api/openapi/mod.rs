//! The OpenAPI 3.1 document, generated from the handlers' `#[utoipa::path]` attributes and the
//! DTOs' `#[derive(ToSchema)]`, and served raw (not enveloped) at `GET /v2/integrations/openapi.json`.
//!
//! The `/v2/integrations` routes are registered through [`super::documented_routes`], which builds
//! the router and the document's paths from the same list, so a route cannot be served undocumented.
//! `finish` adds what every operation shares (`shared_responses.rs`: the 401, 413, 500 and 503 no
//! handler lists); `webhooks.rs` builds the `webhooks` section. `scripts/lint-openapi.sh` lints the
//! served document with Redocly's recommended rules.

use std::collections::HashMap;
use std::sync::LazyLock;

use axum::http::header;
use axum::response::IntoResponse;
use serde::Serialize;
use utoipa::openapi::path::{Operation, PathItem};
use utoipa::openapi::{HeaderBuilder, ObjectBuilder, OpenApi, RefOr, Schema, SchemaFormat, Type};
use utoipa::OpenApi as _;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::app::AppEntity;
use super::ops;
use super::webhook::{DeliveryEventType, RecoverableStatus};
use crate::domain::call::{CallDirection, DeliveryStatus, InboundType};
use crate::domain::SettingKey;
use crate::state::AppState;
use schemas::ErrorEnvelope;
use security::SecuritySchemes;

pub mod examples;
pub mod schemas;
mod security;
mod shared_responses;
mod webhooks;

pub use security::PUBLIC_OPERATIONS;
pub use webhooks::Webhooks;

/// The whole document: the OpenAPI document utoipa builds from the handlers, and the `webhooks`.
#[derive(Serialize)]
pub struct Document {
    /// The `/v2/integrations` routes, the operational routes, and the shared components.
    #[serde(flatten)]
    pub api: OpenApi,
    /// OpenAPI 3.1's `webhooks`: one entry per app setting whose URL receives call events.
    pub webhooks: Webhooks,
}

impl Document {
    pub fn to_json(&self) -> serde_json::Result<String> {
        serde_json::to_string(self)
    }

    pub fn to_pretty_json(&self) -> serde_json::Result<String> {
        serde_json::to_string_pretty(self)
    }
}

/// The whole document, built from the handlers' attributes.
pub fn document() -> Document {
    let (_, mut api) = OpenApiRouter::<AppState>::with_openapi(ApiDoc::openapi())
        .nest(super::BASE_PATH, super::documented_routes())
        .routes(routes!(ops::healthz))
        .routes(routes!(ops::readyz))
        .routes(routes!(ops::metrics))
        .split_for_parts();
    finish(&mut api);
    Document { api, webhooks: webhooks::webhooks() }
}

/// The document as compact JSON, built once.
static DOCUMENT_JSON: LazyLock<String> =
    LazyLock::new(|| document().to_json().expect("the OpenAPI document serializes to JSON"));

/// The OpenAPI document
///
/// This document, as raw JSON (not inside the envelope).
#[utoipa::path(
    get,
    path = "/openapi.json",
    operation_id = "openapi_document",
    tag = "ops",
    responses(
        (status = 200, description = "The OpenAPI 3.1 document of this server (raw JSON, no envelope).",
            content_type = "application/json", body = Object),
    )
)]
pub async fn serve() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], DOCUMENT_JSON.as_str())
}

#[derive(utoipa::OpenApi)]
#[openapi(
    info(
        title = "integrations-core",
        description = "Exotel's integrations core v2 API, reimplemented.\n\n\
            Every response of a `/v2/integrations` route (except this document) is the envelope \
            `{\"RequestId\", \"Status\", \"Code\", \"Error\", \"Data\"}`, keys in that order: `Code` equals the HTTP status, \
            `Status` is `Success` or `Failure`, `Error` is `\"\"` on success and a message naming the field and rule on failure \
            (then `Data` is `null`). The same `RequestId` is sent in the `X-Request-Id` header. Unknown routes (404) and \
            wrong methods (405) answer an envelope too.\n\n\
            Tokens travel in the `Authorization` header, raw (as Exotel's SDK sends them) or as `Bearer <token>`. \
            Customer tokens and app tokens come from `POST /v2/integrations/token`; the admin token is the operator's `ADMIN_TOKEN`.\n\n\
            Webhooks: call events are POSTed to the app's setting URLs (`popup`, `incomingCallHangup`, `missedCall`, `callback`) \
            as a `CallPayload`, signed with the Standard Webhooks headers `webhook-id`, `webhook-timestamp` and \
            `webhook-signature` (HMAC-SHA256 keyed with the app's `AppSecret`): the `webhooks` section describes each one."
    ),
    servers(
        (url = "/", description = "The server this document was fetched from: every path is absolute from its root \
            (`/v2/integrations/...`, `/healthz`). A deployment answers at its `PUBLIC_BASE_URL`."),
    ),
    tags(
        (name = "token", description = "Trade an entity's Id and Secret for a token."),
        (name = "customer", description = "The calling customer."),
        (name = "app", description = "Apps under a customer."),
        (name = "app_setting", description = "An app's webhook URLs and call options."),
        (name = "usermapping", description = "Agents (users) of an app, provisioned on Exotel."),
        (name = "device", description = "Switch an agent between phone and SIP."),
        (name = "call", description = "Inbound passthru, outbound calls, status callbacks and call records."),
        (name = "webhook_deliveries", description = "The app's webhook delivery log."),
        (name = "sandbox", description = "Simulated calls on sandbox apps: every webhook without a telephone."),
        (name = "console", description = "Console links: open the web console (`/console`) signed in as an app, without its secret."),
        (name = "admin", description = "The operator's view across tenants (`ADMIN_TOKEN`): customers, apps, webhook health."),
        (name = "ops", description = "Liveness, readiness and this document (not enveloped where noted)."),
        (name = "webhooks", description = "What the server POSTs to an app's webhook URLs (the `webhooks` section): \
            a `CallPayload` signed with the Standard Webhooks headers."),
    ),
    // Schemas no handler's `responses` names: the failure envelope of the shared answers, and those
    // only query parameters name (parameters do not register their schemas).
    components(schemas(ErrorEnvelope, AppEntity, SettingKey, DeliveryStatus, InboundType, CallDirection, DeliveryEventType, RecoverableStatus)),
    modifiers(&SecuritySchemes)
)]
struct ApiDoc;

/// What every operation shares, whatever its handler: a unique id, `security: []` on the public
/// ones, the shared answers, and the request-id header on every response.
fn finish(doc: &mut OpenApi) {
    set_call_payload_example(doc);
    let request_id_header = HeaderBuilder::new()
        .schema(ObjectBuilder::new().schema_type(Type::String).format(Some(SchemaFormat::Custom("uuid".to_string()))))
        .description(Some("The request's id, the same as the envelope's `RequestId`."))
        .build();
    let mut seen_ids = HashMap::<String, usize>::new();
    for item in doc.paths.paths.values_mut() {
        for (_, operation) in operations_mut(item) {
            if let Some(id) = &operation.operation_id {
                *seen_ids.entry(id.clone()).or_default() += 1;
            }
        }
    }
    for item in doc.paths.paths.values_mut() {
        for (method, operation) in operations_mut(item) {
            if operation.operation_id.as_deref().is_some_and(|id| PUBLIC_OPERATIONS.contains(&id)) {
                operation.security.get_or_insert_with(Vec::new);
            }
            // One handler serving several methods (the inbound passthru) is one operation under each
            // method: operation ids must be unique, so those get the method as a suffix.
            if let Some(id) = &operation.operation_id {
                if seen_ids.get(id).copied().unwrap_or_default() > 1 {
                    operation.operation_id = Some(format!("{id}_{method}"));
                }
            }
            // The handler reads a body whatever the method (a body too large is a 413 on a GET too),
            // but only the POST of such a pair documents one.
            let reads_body = operation.request_body.is_some();
            if method == "get" {
                operation.request_body = None;
            }
            shared_responses::add(operation, reads_body);
            for response in operation.responses.responses.values_mut() {
                if let RefOr::T(response) = response {
                    response.headers.insert("X-Request-Id".to_string(), request_id_header.clone());
                }
            }
        }
    }
}

/// The call payload's example is set here, beside the other examples: domain/ names nothing above it.
fn set_call_payload_example(doc: &mut OpenApi) {
    if let Some(RefOr::T(Schema::Object(payload))) =
        doc.components.as_mut().and_then(|components| components.schemas.get_mut("CallPayload"))
    {
        #[allow(deprecated)] // `example` is what the derive wrote, and what 3.1 tools still read
        {
            payload.example = Some(examples::call_payload());
        }
    }
}

/// The operations of a path item, with their methods' names.
fn operations_mut(item: &mut PathItem) -> Vec<(&'static str, &mut Operation)> {
    macro_rules! by_method {
        ($($method:ident),*) => { [$((stringify!($method), &mut item.$method)),*] };
    }
    by_method!(get, put, post, delete, options, head, patch, trace)
        .into_iter()
        .filter_map(|(method, operation)| operation.as_mut().map(|op| (method, op)))
        .collect()
}
