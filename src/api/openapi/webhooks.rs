//! The `webhooks` section (OpenAPI 3.1): what the server POSTs to an app's webhook URLs. utoipa 5 does
//! not model it, so it is built here, one entry per app setting whose URL receives call events.

use serde::Serialize;
use utoipa::openapi::path::{HttpMethod, OperationBuilder, ParameterBuilder, ParameterIn, PathItem};
use utoipa::openapi::request_body::RequestBodyBuilder;
use utoipa::openapi::{ContentBuilder, HeaderBuilder, ObjectBuilder, Required, ResponseBuilder, Type};

use super::examples;
use super::schemas::schema_ref;
use crate::domain::call::CallPayload;
use crate::domain::SettingKey;

/// Named webhooks, serialized as a JSON object in this order.
pub struct Webhooks(pub Vec<(String, PathItem)>);

impl Serialize for Webhooks {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(self.0.iter().map(|(name, item)| (name, item)))
    }
}

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
pub fn webhooks() -> Webhooks {
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
             list of signatures: accept the request when any `v1` entry matches, compared in constant time. While an \
             `AppSecret` rotation's grace lasts (`POST /app/secret`), it carries two: the new secret's, then the old one's.",
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
        let payload = ContentBuilder::new().schema(Some(schema_ref::<CallPayload>())).example(Some((kind.example)()));
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
