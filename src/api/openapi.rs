//! The OpenAPI 3.1 document, generated from the handlers' `#[utoipa::path]` attributes and the
//! DTOs' `#[derive(ToSchema)]`, and served raw (not enveloped) at `GET /v2/integrations/openapi.json`.
//!
//! The `/v2/integrations` routes are registered through [`super::documented_routes`], which builds
//! the router and the document's paths from the same list, so a route cannot be served undocumented.
//! The `webhooks` section (what the server POSTs to an app's URLs) is built here: utoipa 5 does not
//! model it. `scripts/lint-openapi.sh` lints the served document with Redocly's recommended rules.

use std::sync::LazyLock;

use axum::http::header;
use axum::response::IntoResponse;
use serde::Serialize;
use utoipa::openapi::path::{HttpMethod, Operation, OperationBuilder, ParameterBuilder, ParameterIn, PathItem};
use utoipa::openapi::request_body::RequestBodyBuilder;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, SecurityScheme};
use utoipa::openapi::{
    ContentBuilder, HeaderBuilder, ObjectBuilder, OpenApi, RefOr, Required, ResponseBuilder, Schema, Type,
};
use utoipa::{Modify, OpenApi as _, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::app::{AppBody, AppEntity, AppOrApps, CreatedAppBody};
use super::app_setting::{SettingBody, SettingOrSettings};
use super::customer::CustomerBody;
use super::ops::{self, Health};
use super::usermapping::{MappingBody, MappingOrPage};
use super::webhook::{DeliveryBody, DeliveryPage};
use crate::domain::call::{CallPayload, DeliveryStatus, InboundType};
use crate::domain::SettingKey;
use crate::state::AppState;

/// The security schemes: every token travels in `Authorization`, raw (as the SDK sends it) or as `Bearer <token>`.
pub const CUSTOMER_TOKEN: &str = "customer_token";
pub const APP_TOKEN: &str = "app_token";
pub const ADMIN_TOKEN: &str = "admin_token";

/// The operations anyone may call, without a token (by handler `operation_id`): Exotel's passthru and
/// status callbacks (the callback's URL carries its own signature), the trade of an Id and Secret for a
/// token, and the operational routes. They get `security: []`, so no tool takes them to need a token;
/// every other operation names its token scheme in its `#[utoipa::path]`.
pub const PUBLIC_OPERATIONS: &[&str] =
    &["create_token", "inbound_call", "call_status_callback", "openapi_document", "healthz", "readyz", "metrics"];

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

/// Named webhooks, serialized as a JSON object in this order.
pub struct Webhooks(pub Vec<(String, PathItem)>);

impl Serialize for Webhooks {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(self.0.iter().map(|(name, item)| (name, item)))
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
    Document { api, webhooks: webhooks() }
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
        (name = "ops", description = "Liveness, readiness and this document (not enveloped where noted)."),
        (name = "webhooks", description = "What the server POSTs to an app's webhook URLs (the `webhooks` section): \
            a `CallPayload` signed with the Standard Webhooks headers."),
    ),
    // Schemas that only query parameters name (parameters do not register their schemas).
    components(schemas(ErrorEnvelope, AppEntity, SettingKey, DeliveryStatus, InboundType)),
    modifiers(&SecuritySchemes)
)]
struct ApiDoc;

struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        let scheme = |description: &str| {
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description("Authorization", description)))
        };
        components.add_security_scheme(
            CUSTOMER_TOKEN,
            scheme(
                "A customer token from `POST /v2/integrations/token` with `Entity` `customer`: \
                 `Authorization: <token>` (raw) or `Authorization: Bearer <token>`.",
            ),
        );
        components.add_security_scheme(
            APP_TOKEN,
            scheme(
                "An app token from `POST /v2/integrations/token` with `Entity` `app`: \
                 `Authorization: <token>` (raw) or `Authorization: Bearer <token>`.",
            ),
        );
        components.add_security_scheme(
            ADMIN_TOKEN,
            scheme(
                "The operator's `ADMIN_TOKEN`: `Authorization: <token>` (raw) or `Authorization: Bearer <token>`. \
                 With no admin token configured, the route answers 401.",
            ),
        );
    }
}

/// What every route shares, whatever its handler: ids for each operation, the request-id header on
/// every response, and the answers the middleware may give (500 on a panic, 503 on a timeout).
fn finish(doc: &mut OpenApi) {
    // The call payload's example is set here, beside the other examples: domain/ names nothing above it.
    if let Some(RefOr::T(Schema::Object(payload))) =
        doc.components.as_mut().and_then(|components| components.schemas.get_mut("CallPayload"))
    {
        #[allow(deprecated)] // `example` is what the derive wrote, and what 3.1 tools still read
        {
            payload.example = Some(examples::call_payload());
        }
    }
    let request_id_header = HeaderBuilder::new()
        .schema(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .format(Some(utoipa::openapi::SchemaFormat::Custom("uuid".to_string()))),
        )
        .description(Some("The request's id, the same as the envelope's `RequestId`."))
        .build();
    let mut seen_ids = std::collections::HashMap::<String, usize>::new();
    for item in doc.paths.paths.values() {
        for (_, operation) in operations(item) {
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
            // Only the POST of such a pair reads a body.
            if method == "get" {
                operation.request_body = None;
            }
            add_middleware_answers(operation);
            for response in operation.responses.responses.values_mut() {
                if let RefOr::T(response) = response {
                    response.headers.insert("X-Request-Id".to_string(), request_id_header.clone());
                }
            }
        }
    }
}

/// The operations of a path item, with their methods' names.
pub fn operations(item: &PathItem) -> Vec<(&'static str, &Operation)> {
    [
        ("get", &item.get),
        ("put", &item.put),
        ("post", &item.post),
        ("delete", &item.delete),
        ("options", &item.options),
        ("head", &item.head),
        ("patch", &item.patch),
        ("trace", &item.trace),
    ]
    .into_iter()
    .filter_map(|(method, operation)| operation.as_ref().map(|op| (method, op)))
    .collect()
}

fn operations_mut(item: &mut PathItem) -> Vec<(&'static str, &mut Operation)> {
    [
        ("get", &mut item.get),
        ("put", &mut item.put),
        ("post", &mut item.post),
        ("delete", &mut item.delete),
        ("options", &mut item.options),
        ("head", &mut item.head),
        ("patch", &mut item.patch),
        ("trace", &mut item.trace),
    ]
    .into_iter()
    .filter_map(|(method, operation)| operation.as_mut().map(|op| (method, op)))
    .collect()
}

fn add_middleware_answers(operation: &mut Operation) {
    let error_body = |description: &str| {
        RefOr::T(
            utoipa::openapi::ResponseBuilder::new()
                .description(description)
                .content(
                    "application/json",
                    utoipa::openapi::ContentBuilder::new().schema(Some(ErrorEnvelope::schema_ref())).build(),
                )
                .build(),
        )
    };
    let responses = &mut operation.responses.responses;
    responses
        .entry("500".to_string())
        .or_insert_with(|| error_body("Internal error (detail only in the server's logs)."));
    responses.entry("503".to_string()).or_insert_with(|| {
        error_body("The request took longer than the server's request timeout (`REQUEST_TIMEOUT_SECS`); try again.")
    });
}

// ---------------------------------------------------------------------------------------------
// The webhooks: what a CRM receives.

/// One outgoing webhook: the app setting whose URL receives it, and what it means.
struct WebhookKind {
    setting: SettingKey,
    operation_id: &'static str,
    summary: &'static str,
    description: &'static str,
    example: fn() -> serde_json::Value,
}

const WEBHOOK_KINDS: [WebhookKind; 4] = [
    WebhookKind {
        setting: SettingKey::Popup,
        operation_id: "webhook_popup",
        summary: "An incoming call is ringing (popup)",
        description: "Sent to the app's `popup` URL when an Exotel flow calls \
            `/v2/integrations/call/inbound_call/{app_id}?type=popup`: `Direction` `incoming`, `CallState` `active`, \
            `AppUserID` the agent whose `SipId` or `AgentNumber` matches `DialWhomNumber` (else `\"\"`). A popup is \
            worthless once the phone stops ringing: one not delivered within `POPUP_DEADLINE_SECS` (default 60 s) \
            is not retried any more (status `expired` in the delivery log).",
        example: examples::popup_webhook,
    },
    WebhookKind {
        setting: SettingKey::IncomingCallHangup,
        operation_id: "webhook_incoming_call_hangup",
        summary: "An incoming call was hung up",
        description: "Sent to the app's `incomingCallHangup` URL when an Exotel flow calls \
            `/v2/integrations/call/inbound_call/{app_id}?type=incomingcallhungup`: `Direction` `incoming`, `CallState` \
            `terminal`, `TotalDuration` the talk seconds and `CallRecordings` the recording URL when Exotel gave them.",
        example: examples::hangup_webhook,
    },
    WebhookKind {
        setting: SettingKey::MissedCall,
        operation_id: "webhook_missed_call",
        summary: "An incoming call was missed",
        description: "Sent to the app's `missedCall` URL when an Exotel flow calls \
            `/v2/integrations/call/inbound_call/{app_id}?type=missedcall`: `Direction` `incoming`, \
            `CallState` `terminal`.",
        example: examples::missed_call_webhook,
    },
    WebhookKind {
        setting: SettingKey::Callback,
        operation_id: "webhook_callback",
        summary: "An outbound call's status changed",
        description: "Sent to the app's `callback` URL for each status event Exotel reports about a call placed with \
            `POST /v2/integrations/call/outbound_call`: `Direction` `outbound`; `CallState` `active` with `CallStatus` \
            `\"\"` while the call is up (`CallDetail` `answered`), then `terminal` with Exotel's final status \
            (`completed`, `to_leg_unanswered`, `from_leg_unanswered`, `from_leg_cancelled`, ...).",
        example: examples::callback_webhook,
    },
];

/// The `webhooks` section: one `post` per webhook, its body the `CallPayload`, its headers the
/// Standard Webhooks trio the dispatcher sends (`dispatch::sender`), and the answers the dispatcher
/// tells apart (`dispatch::schedule`).
fn webhooks() -> Webhooks {
    let string = |pattern: Option<&str>| {
        ObjectBuilder::new().schema_type(Type::String).pattern(pattern.map(str::to_string)).build()
    };
    let header = |name: &str, pattern: Option<&str>, example: &str, description: &str| {
        ParameterBuilder::new()
            .name(name)
            .parameter_in(ParameterIn::Header)
            .required(Required::True)
            .schema(Some(string(pattern)))
            .example(Some(serde_json::Value::String(example.to_string())))
            .description(Some(description))
            .build()
    };
    let headers = vec![
        header(
            "webhook-id",
            None,
            "msg_9f0c3b2a6d5e4f718293a4b5c6d7e8f9",
            "The delivery's id, the same on every attempt of this delivery and in the delivery log \
             (`DeliveryId` of `GET /v2/integrations/webhook_deliveries`). Delivery is at least once: a receiver that \
             has seen this id already has this event, and should answer 2xx without acting on it again.",
        ),
        header(
            "webhook-timestamp",
            Some("^[0-9]+$"),
            "1701711139",
            "When this attempt was sent, in unix seconds. It is signed: refuse a timestamp far from your clock \
             (Standard Webhooks suggests five minutes) so that a captured request cannot be replayed.",
        ),
        header(
            "webhook-signature",
            Some("^v1,[A-Za-z0-9+/]+={0,2}( v1,[A-Za-z0-9+/]+={0,2})*$"),
            "v1,K5oZfzN95Z9UVu1EsfQmfVNQhnkZ2pj9o9NDN/H/pI4=",
            "`v1,` and the base64 of the HMAC-SHA256 of `{webhook-id}.{webhook-timestamp}.{body}` (the raw body \
             bytes, before any JSON parsing), keyed with the app's `AppSecret` (its UTF-8 bytes). A Standard Webhooks \
             library verifies it given the secret `whsec_` + base64(`AppSecret`). The header is a space-separated \
             list of signatures: accept the request when any `v1` entry matches, compared in constant time.",
        ),
    ];
    let answer = |description: &str| ResponseBuilder::new().description(description).build();
    let retry_after = HeaderBuilder::new()
        .schema(ObjectBuilder::new().schema_type(Type::Integer).minimum(Some(0)))
        .description(Some("Seconds to wait before the next attempt (at most one hour is honoured)."))
        .build();
    let come_back = ResponseBuilder::new()
        .description(
            "Retried after `Retry-After` seconds when given (at most one hour), else at the schedule's next step; \
             either way it counts as an attempt of the schedule.",
        )
        .header("Retry-After", retry_after)
        .build();
    let webhook = |kind: &WebhookKind| {
        let payload = ContentBuilder::new().schema(Some(CallPayload::schema_ref())).example(Some((kind.example)()));
        let body = RequestBodyBuilder::new()
            .description(Some(
                "The call payload, keys in the schema's order. Check `webhook-signature` against these exact bytes.",
            ))
            .required(Some(Required::True))
            .content("application/json", payload.build())
            .build();
        let set_it = format!(
            "Set the URL with `POST /v2/integrations/app_setting` `{{\"Key\": \"{}\", \"Value\": \"https://...\"}}`.",
            kind.setting.as_str()
        );
        let operation = OperationBuilder::new()
            .operation_id(Some(kind.operation_id))
            .summary(Some(kind.summary))
            .description(Some(format!("{} {set_it}", kind.description)))
            .tag("webhooks")
            .parameters(Some(headers.clone()))
            .request_body(Some(body))
            .response("2XX", answer("Delivered. The answer's body is not read."))
            .response(
                "410",
                answer(
                    "Gone: this delivery ends at once (status `dead`) and is not retried. Later events are still \
                     sent: delete or change the app setting to stop them.",
                ),
            )
            .response("429", come_back.clone())
            .response("503", come_back.clone())
            .response(
                "default",
                answer(
                    "Any other answer, no answer within `WEBHOOK_TIMEOUT_SECS` (default 10 s), or a redirect (never \
                     followed): retried on the schedule (`WEBHOOK_RETRY_SCHEDULE`, default 5s, 30s, 2m, 10m, 30m, 1h, \
                     2h, 4h, 8h, each ±20 %), then `dead`. While it is pending, a later event of the same call to the \
                     same URL waits.",
                ),
            )
            .securities(Some(Vec::new()))
            .build();
        (kind.setting.as_str().to_string(), PathItem::new(HttpMethod::Post, operation))
    };
    Webhooks(WEBHOOK_KINDS.iter().map(webhook).collect())
}

// ---------------------------------------------------------------------------------------------
// The envelope, one concrete schema per `Data` type.

/// `Status` of a successful answer.
#[derive(ToSchema)]
pub enum SuccessStatus {
    Success,
}

/// `Status` of a failed answer.
#[derive(ToSchema)]
pub enum FailureStatus {
    Failure,
}

/// JSON `null`: the `Data` of every failure.
pub struct Null;

impl utoipa::PartialSchema for Null {
    fn schema() -> RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new().schema_type(utoipa::openapi::Type::Null).into()
    }
}

impl ToSchema for Null {}

trait SchemaRef {
    fn schema_ref() -> RefOr<utoipa::openapi::schema::Schema>;
}

impl<T: ToSchema> SchemaRef for T {
    fn schema_ref() -> RefOr<utoipa::openapi::schema::Schema> {
        RefOr::Ref(utoipa::openapi::Ref::from_schema_name(T::name()))
    }
}

/// The failure envelope: `Status` `Failure`, `Code` the HTTP status, `Error` a message naming the
/// offending field and rule (opaque for 500s), `Data` null.
#[derive(ToSchema)]
#[schema(example = json!({
    "RequestId": "0e8beb2c-5682-4718-a4ba-b3b7aa2d3c72",
    "Status": "Failure",
    "Code": 400,
    "Error": "Entity must be customer or app",
    "Data": null
}))]
pub struct ErrorEnvelope {
    /// The request's id (a UUID v4), also sent as `X-Request-Id`.
    #[serde(rename = "RequestId")]
    #[schema(format = "uuid")]
    pub request_id: String,
    #[serde(rename = "Status")]
    #[schema(inline)]
    pub status: FailureStatus,
    /// The HTTP status.
    #[serde(rename = "Code")]
    pub code: u16,
    /// What went wrong, naming the field or parameter and the rule.
    #[serde(rename = "Error")]
    pub error: String,
    #[serde(rename = "Data")]
    #[schema(inline)]
    pub data: Null,
}

/// Declares one success envelope per `Data` type.
macro_rules! envelopes {
    ($($(#[doc = $doc:literal])* $name:ident => $data:ty;)*) => {$(
        $(#[doc = $doc])*
        #[derive(ToSchema)]
        pub struct $name {
            /// The request's id (a UUID v4), also sent as `X-Request-Id`.
            #[serde(rename = "RequestId")]
            #[schema(format = "uuid", example = "f4f76061-3c01-410e-be49-55a17049cf35")]
            pub request_id: String,
            #[serde(rename = "Status")]
            #[schema(inline)]
            pub status: SuccessStatus,
            /// The HTTP status: 200.
            #[serde(rename = "Code")]
            #[schema(example = 200)]
            pub code: u16,
            /// `""` on success.
            #[serde(rename = "Error")]
            #[schema(example = "")]
            pub error: String,
            #[serde(rename = "Data")]
            pub data: $data,
        }
    )*};
}

envelopes! {
    /// A success envelope whose `Data` is a string (a token, or a fixed message such as `Deleted Successfully`).
    StringEnvelope => String;
    /// A success envelope whose `Data` is the customer object.
    CustomerEnvelope => CustomerBody;
    /// A success envelope whose `Data` is the newly created app, secrets included.
    CreatedAppEnvelope => CreatedAppBody;
    /// A success envelope whose `Data` is the public app object.
    AppEnvelope => AppBody;
    /// A success envelope whose `Data` is one app (app token) or the customer's apps (customer token).
    AppOrAppsEnvelope => AppOrApps;
    /// A success envelope whose `Data` is one app setting.
    SettingEnvelope => SettingBody;
    /// A success envelope whose `Data` is one setting (`?key=`) or all of them.
    SettingOrSettingsEnvelope => SettingOrSettings;
    /// A success envelope whose `Data` is one user mapping.
    MappingEnvelope => MappingBody;
    /// A success envelope whose `Data` is the user mappings just created.
    MappingListEnvelope => Vec<MappingBody>;
    /// A success envelope whose `Data` is one user mapping (`?user_id=`) or a page of them.
    MappingOrPageEnvelope => MappingOrPage;
    /// A success envelope whose `Data` is a call payload.
    CallPayloadEnvelope => CallPayload;
    /// A success envelope whose `Data` is a page of the delivery log.
    DeliveryPageEnvelope => DeliveryPage;
    /// A success envelope whose `Data` is one webhook delivery.
    DeliveryEnvelope => DeliveryBody;
    /// A success envelope whose `Data` is the health status.
    HealthEnvelope => Health;
}

// ---------------------------------------------------------------------------------------------

/// The seed's sample bodies (`seed/integrations-api-v2.txt`), with its missing commas restored and
/// its `{{placeholders}}` replaced by the values of the matching sample answers.
pub mod examples {
    use serde_json::Value;

    fn parse(text: &str) -> Value {
        serde_json::from_str(text).unwrap_or_else(|e| panic!("an OpenAPI example is not valid JSON: {e}: {text}"))
    }

    /// `{"RequestId", "Status": "Success", "Code": 200, "Error": "", "Data": data}`.
    fn success(request_id: &str, data: Value) -> Value {
        serde_json::json!({"RequestId": request_id, "Status": "Success", "Code": 200, "Error": "", "Data": data})
    }

    pub fn token_request() -> Value {
        parse(
            r#"{ "Id": "99fa98a1-2ce0-457c-9371-0d3a01eb6ef0", "Secret": "5b8215f7-8595-42c0-9b63-404bcc474f94", "Entity": "customer" }"#,
        )
    }

    pub fn token_response() -> Value {
        parse(
            r#"{ "RequestId": "f4f76061-3c01-410e-be49-55a17049cf35", "Status": "Success", "Code": 200, "Error": "", "Data": "OTlmYTk4YTEtMmNlMC00NTdjLTkzNzEtMGQzYTAxZWI2ZWYw" }"#,
        )
    }

    pub fn customer_request() -> Value {
        parse(r#"{ "CustomerName": "Temp Name", "Email": "temp.mail@company.in" }"#)
    }

    fn customer() -> Value {
        parse(
            r#"{ "CustomerID": "99fa98a1-2ce0-457c-9371-0d3a01eb6ef0", "CustomerSecret": "5b8215f7-8595-42c0-9b63-404bcc474f94", "CustomerName": "Temp Name", "Email": "temp.mail@company.in", "CustomerSetting": null, "CreatedAt": "2023-03-23T09:36:26+05:30", "UpdatedAt": "2023-03-23T09:36:26+05:30", "DeletedAt": false }"#,
        )
    }

    pub fn customer_response() -> Value {
        success("01906552-dd91-4359-a184-739870991fa9", customer())
    }

    pub fn customer_deleted() -> Value {
        parse(
            r#"{ "RequestId": "f940efa6-349e-45e1-a298-de24f9a6e1a5", "Status": "Success", "Code": 200, "Error": "", "Data": "Deleted Successfully" }"#,
        )
    }

    pub fn app_request() -> Value {
        parse(
            r#"{ "AppName" : "WebRTC", "ExotelAccountSid": "abc", "ExotelApiKey": "wefwejfoiweuiof", "ExotelApiToken": "wefwejfoiweuiof", "ExotelDomain": "mumbai", "IsActive": true }"#,
        )
    }

    pub fn app_created() -> Value {
        parse(
            r#"{ "RequestId": "2405acfd-1ad3-486b-92d5-233965d8c204", "Status": "Success", "Code": 200, "Error": "", "Data": { "AppID": "2e6440ed-ff62-49d7-bb00-5494b313a863", "AppSecret": "61b1f4c2-30d5-4819-9a5c-006ed9784313", "CustomerID": "99fa98a1-2ce0-457c-9371-0d3a01eb6ef0", "AppName": "WebRTC", "ExotelAccountSid": "abc", "ExotelApiKey": "wefwejfoiweuiof", "ExotelApiToken": "wefwejfoiweuiof", "ExotelDomain": "mumbai", "IsActive": true, "CreatedAt": "2023-03-23T11:47:46+05:30", "UpdatedAt": "2023-03-23T11:47:46+05:30" } }"#,
        )
    }

    fn app() -> Value {
        parse(
            r#"{ "AppID": "2e6440ed-ff62-49d7-bb00-5494b313a863", "CustomerID": "99fa98a1-2ce0-457c-9371-0d3a01eb6ef0", "AppName": "WebRTC", "ExotelAccountSid": "abc", "ExotelDomain": "mumbai", "IsActive": true, "CreatedAt": "2023-03-23T11:47:46+05:30", "UpdatedAt": "2023-03-23T11:47:46+05:30" }"#,
        )
    }

    pub fn app_response() -> Value {
        success("c0897a32-372e-4f82-ac18-eaa2d3451d52", app())
    }

    pub fn apps_response() -> Value {
        success("1b13a16a-ad03-443e-83e7-0bb1b9297578", Value::Array(vec![app()]))
    }

    pub fn app_update_request() -> Value {
        parse(r#"{ "AppName": "WebRTC", "IsActive": false }"#)
    }

    pub fn app_deleted() -> Value {
        parse(
            r#"{ "RequestId": "0e8beb2c-5682-4718-a4ba-b3b7aa2d3c72", "Status": "Success", "Code": 200, "Error": "", "Data": "Deleted Successfully" }"#,
        )
    }

    pub fn setting_request() -> Value {
        parse(r#"{ "Key": "popup", "Value" : "https://webhook.site/" }"#)
    }

    fn setting() -> Value {
        parse(
            r#"{ "CustomerID": "99fa98a1-2ce0-457c-9371-0d3a01eb6ef0", "AppID": "2e6440ed-ff62-49d7-bb00-5494b313a863", "Key": "callback", "Value": "https://webhook.site/a4089342-b169-451d-a84d-c588856641a3" }"#,
        )
    }

    pub fn setting_response() -> Value {
        success("43a4833c-3698-4e70-8ea0-02ca8d71c362", setting())
    }

    pub fn settings_response() -> Value {
        success("43a4833c-3698-4e70-8ea0-02ca8d71c362", Value::Array(vec![setting()]))
    }

    pub fn setting_deleted() -> Value {
        parse(
            r#"{ "RequestId": "c6539add-273a-4bed-8adf-c91a00a3e04b", "Status": "Success", "Code": 200, "Error": "", "Data": "Deleted Successfully" }"#,
        )
    }

    /// The seed masks the numbers (`956190****`); they are spelled out so the example passes validation.
    pub fn usermapping_request() -> Value {
        parse(
            r#"[ { "AppUserId": "123", "AppUsername": "ABC", "Email": "xyz@exotel.in", "ExotelAccountSid": "exoteldemo", "ExotelUserName": "ABC XYZ", "AgentNumber": "9561901234", "VirtualNumber": "01135124165" } ]"#,
        )
    }

    pub fn usermappings_created() -> Value {
        parse(
            r#"{ "RequestId": "5002f634-05d9-45b9-9faf-431f980a25d5", "Status": "Success", "Code": 200, "Error": "", "Data": [ { "CustomerId": "99fa98a1-2ce0-457c-9371-0d3a01eb6ef0", "AppID": "2e6440ed-ff62-49d7-bb00-5494b313a863", "AppUserId": "1", "ExotelAccountSid": "exoteldemo", "ExotelUserId": "fasdfdsf", "AppUsername": "user1 name", "ExotelUserName": "Temp Name", "AgentNumber": "9234567890", "ActiveDeviceId": "", "PhoneDeviceID": "057", "SipDeviceID": "9012", "VirtualNumber": "9876543210", "Email": "user@example.com", "OutboundActive": false, "Role": "admin", "SipId": "sip:a4343j", "SipSecret": "werewrweff", "IsActive": true, "UserDetail": null, "CreatedAt": "0001-01-01T00:00:00Z", "UpdatedAt": "0001-01-01T00:00:00Z" }, { "CustomerId": "99fa98a1-2ce0-457c-9371-0d3a01eb6ef0", "AppID": "2e6440ed-ff62-49d7-bb00-5494b313a863", "AppUserId": "2", "ExotelAccountSid": "exoteldemo", "ExotelUserId": "fasdfdsf", "AppUsername": "user2 name", "ExotelUserName": "Temp Name", "AgentNumber": "9234567890", "ActiveDeviceId": "", "PhoneDeviceID": "057", "SipDeviceID": "9012", "VirtualNumber": "9876543210", "Email": "user@example.com", "OutboundActive": false, "Role": "admin", "SipId": "sip:a4343j", "SipSecret": "werewrweff", "IsActive": true, "UserDetail": null, "CreatedAt": "0001-01-01T00:00:00Z", "UpdatedAt": "0001-01-01T00:00:00Z" } ] }"#,
        )
    }

    pub fn usermapping_response() -> Value {
        parse(
            r#"{ "RequestId": "5002f634-05d9-45b9-9faf-431f980a25d5", "Status": "Success", "Code": 200, "Error": "", "Data": { "CustomerId": "99fa98a1-2ce0-457c-9371-0d3a01eb6ef0", "AppID": "2e6440ed-ff62-49d7-bb00-5494b313a863", "AppUserId": "1", "ExotelAccountSid": "ACXXXXXXXXXXX", "ExotelUserId": "fasdfdsf", "AppUsername": "example user", "ExotelUserName": "Temp Name", "AgentNumber": "1234567890", "ActiveDeviceId": "", "PhoneDeviceID": "057", "SipDeviceID": "9012", "VirtualNumber": "9876543210", "Email": "user@example.com", "OutboundActive": false, "Role": "admin", "SipId": "sip:a4343j", "SipSecret": "*****", "IsActive": true, "UserDetail": null, "CreatedAt": "0001-01-01T00:00:00Z", "UpdatedAt": "0001-01-01T00:00:00Z" } }"#,
        )
    }

    /// The seed elides the rest of the page (`{ .... }, ....`); one user stands for it.
    pub fn usermapping_page() -> Value {
        parse(
            r#"{ "RequestId": "875cf137-90f9-4ed2-93ef-6be226d0af85", "Status": "Success", "Code": 200, "Error": "", "Data": { "Users": [ { "CustomerId": "99fa98a1-2ce0-457c-9371-0d3a01eb6ef0", "AppID": "2e6440ed-ff62-49d7-bb00-5494b313a863", "AppUserId": "1", "ExotelAccountSid": "abc", "ExotelUserId": "fasdfdsf", "AppUsername": "Temp Name", "ExotelUserName": "Temp Name", "AgentNumber": "+0000000000", "ActiveDeviceId": "", "PhoneDeviceID": "057", "SipDeviceID": "9012", "VirtualNumber": "01135124165", "Email": "temp.user@company.in", "OutboundActive": false, "Role": "admin", "SipId": "sip:a4343j", "SipSecret": "b*5#TGC$2!r&s#X2H1Rt", "IsActive": true, "UserDetail": null, "CreatedAt": "0001-01-01T00:00:00Z", "UpdatedAt": "0001-01-01T00:00:00Z" } ], "PageSize": 20, "LastEvaluatedValue": "21" } }"#,
        )
    }

    pub fn usermappings_deleted() -> Value {
        parse(
            r#"{ "RequestId": "5002f634-05d9-45b9-9faf-431f980a25d5", "Status": "Success", "Code": 200, "Error": "", "Data": "Deleted Successfuly" }"#,
        )
    }

    pub fn device_request() -> Value {
        parse(r#"{ "UserId": "1", "DeviceName": "phone", "DeviceStatus": true }"#)
    }

    pub fn device_response() -> Value {
        parse(
            r#"{ "RequestId": "ebf58ac4-fea1-4cd3-bf88-ffae7b8539a4", "Status": "Success", "Code": 200, "Error": "", "Data": { "CustomerId": "99fa98a1-2ce0-457c-9371-0d3a01eb6ef0", "AppID": "2e6440ed-ff62-49d7-bb00-5494b313a863", "AppUserId": "1", "ExotelAccountSid": "abc", "ExotelUserId": "fasdfdsf", "AppUsername": "Temp Name", "ExotelUserName": "Temp Name", "AgentNumber": "+0000000000", "ActiveDeviceId": "", "PhoneDeviceID": "057", "SipDeviceID": "9012", "VirtualNumber": "01135124165", "Email": "temp.user@company.in", "OutboundActive": false, "Role": "admin", "SipId": "sip:a4343j", "SipSecret": "b*5#TGC$2!r&s#X2H1Rt", "IsActive": true, "UserDetail": null, "CreatedAt": "0001-01-01T00:00:00Z", "UpdatedAt": "0001-01-01T00:00:00Z" } }"#,
        )
    }

    pub fn inbound_response() -> Value {
        parse(
            r#"{ "RequestId": "5be38737-4a1c-4b29-9ede-b81ad2d702b6", "Status": "Success", "Code": 200, "Error": "", "Data": "Success" }"#,
        )
    }

    /// The seed's sample of the payload an outbound call's status callback delivers.
    pub fn call_payload() -> Value {
        parse(
            r#"{ "CustomerId": "99fa98a1-2ce0-457c-9371-0d3a01eb6ef0", "AppId": "86fb2b8b-da8a-4649-a82c-db976b934c64", "CallSid": "7bea36f8c95f0fb10027daa6acee17c1", "ExotelAccountSid": "exotelveenotesting1m", "DialWhomNumber": "", "AppUserID": "ajay", "VirtualNumber": "+912235511457", "Direction": "outbound", "CallStatus": "", "CallState": "active", "ToNumber": "07251937261", "FromNumber": "08789489697", "TotalDuration": 0, "CallRecordings": "", "AccountDomain": "mumbai", "TicketId": "", "CallDetail": "recording_stop_success", "StartTime": "2023-12-04T23:02:19Z", "EndTime": "2023-12-04T23:02:19Z", "CreatedAt": "0001-01-01T00:00:00Z", "UpdatedAt": "0001-01-01T00:00:00Z" }"#,
        )
    }

    /// What an inbound call's webhooks carry (contract 7.1), before the per-type fields.
    fn inbound_webhook(call_state: &str, call_detail: &str, end_time: &str) -> Value {
        serde_json::json!({
            "CustomerId": "99fa98a1-2ce0-457c-9371-0d3a01eb6ef0",
            "AppId": "2e6440ed-ff62-49d7-bb00-5494b313a863",
            "CallSid": "b7c5f0e2a4d34f6f9c1e8a2d3b4c5d6e",
            "ExotelAccountSid": "exoteldemo",
            "DialWhomNumber": "09234567890",
            "AppUserID": "1",
            "VirtualNumber": "01135124165",
            "Direction": "incoming",
            "CallStatus": "",
            "CallState": call_state,
            "ToNumber": "01135124165",
            "FromNumber": "09876543210",
            "TotalDuration": 0,
            "CallRecordings": "",
            "AccountDomain": "mumbai",
            "TicketId": "",
            "CallDetail": call_detail,
            "StartTime": "2023-12-04T23:02:19+05:30",
            "EndTime": end_time,
            "CreatedAt": "2023-12-04T23:02:20+05:30",
            "UpdatedAt": "2023-12-04T23:02:20+05:30"
        })
    }

    pub fn popup_webhook() -> Value {
        inbound_webhook("active", "", "")
    }

    pub fn hangup_webhook() -> Value {
        let mut payload = inbound_webhook("terminal", "terminal", "2023-12-04T23:03:01+05:30");
        payload["TotalDuration"] = 42.into();
        payload["CallRecordings"] = "https://recordings.exotel.com/b7c5f0e2a4d34f6f9c1e8a2d3b4c5d6e.mp3".into();
        payload
    }

    pub fn missed_call_webhook() -> Value {
        inbound_webhook("terminal", "terminal", "2023-12-04T23:02:49+05:30")
    }

    /// An outbound call's last status callback, as its `callback` webhook carries it (contract 7.2, 7.3).
    pub fn callback_webhook() -> Value {
        let mut payload = call_payload();
        payload["AppUserID"] = "1".into();
        payload["FromNumber"] = "sip:a4343j".into();
        payload["DialWhomNumber"] = payload["ToNumber"].clone();
        payload["CallStatus"] = "completed".into();
        payload["CallState"] = "terminal".into();
        payload["TotalDuration"] = 42.into();
        payload["CallRecordings"] = "https://recordings.exotel.com/7bea36f8c95f0fb10027daa6acee17c1.mp3".into();
        payload["CallDetail"] = "terminal".into();
        payload["EndTime"] = "2023-12-04T23:03:01Z".into();
        payload
    }

    pub fn call_response() -> Value {
        success("5be38737-4a1c-4b29-9ede-b81ad2d702b6", call_payload())
    }

    pub fn outbound_request() -> Value {
        parse(
            r#"{ "to": "07251937261", "user_id": "ajay", "app_id": "86fb2b8b-da8a-4649-a82c-db976b934c64", "customer_id": "99fa98a1-2ce0-457c-9371-0d3a01eb6ef0" }"#,
        )
    }

    pub fn callback_event() -> Value {
        parse(
            r#"{ "event_details": { "event_type": "terminal" }, "call_details": { "sid": "7bea36f8c95f0fb10027daa6acee17c1", "state": "completed", "status": "completed", "total_talk_time": 42, "recordings": [ { "url": "https://recordings.exotel.com/7bea36f8c95f0fb10027daa6acee17c1.mp3" } ], "start_time": "2023-12-04 23:02:19", "end_time": "2023-12-04 23:03:01" } }"#,
        )
    }

    pub fn callback_response() -> Value {
        success("5be38737-4a1c-4b29-9ede-b81ad2d702b6", Value::String("Success".into()))
    }

    fn delivery(status: &str, next_attempt_at: Value) -> Value {
        serde_json::json!({
            "DeliveryId": "6f1c1d0e-8b8e-4a53-9a0c-2f3b8f0f4a11",
            "EventType": "popup",
            "Url": "https://crm.example.com/hooks/popup",
            "CallSid": "7bea36f8c95f0fb10027daa6acee17c1",
            "Status": status,
            "Attempts": 3,
            "LastResponseCode": 503,
            "LastError": "receiver answered 503",
            "NextAttemptAt": next_attempt_at,
            "CreatedAt": "2024-05-01T10:00:00+05:30",
            "DeliveredAt": null
        })
    }

    pub fn deliveries_response() -> Value {
        success(
            "9d1c4f49-1c7b-4c55-8d55-7c6a1c0b2d33",
            serde_json::json!({"Deliveries": [delivery("dead", Value::Null)], "PageSize": 20, "LastEvaluatedValue": ""}),
        )
    }

    pub fn delivery_retried() -> Value {
        success(
            "9d1c4f49-1c7b-4c55-8d55-7c6a1c0b2d33",
            delivery("pending", Value::String("2024-05-01T10:05:00+05:30".into())),
        )
    }

    pub fn health() -> Value {
        success("3f0c9a53-2f59-4a4c-9c2b-1a6f7a2c6f10", serde_json::json!({"status": "ok"}))
    }
}
