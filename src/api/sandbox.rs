//! `/sandbox`: the call simulator of sandbox apps, for a CRM developer without a telephone (CONTRACT 11).

use std::fmt;
use std::ops::RangeInclusive;

use axum::extract::State;
use serde::de::{Deserializer, Visitor};
use serde::Deserialize;
use utoipa::ToSchema;

use super::auth::AppAuth;
use super::call::CallPayloadEnvelope;
use super::openapi::examples;
use super::openapi::schemas::ErrorEnvelope;
use super::usermapping::find_user;
use super::JsonBody;
use crate::domain::call::CallPayload;
use crate::domain::time::now_ms;
use crate::domain::{AppUserId, ExotelDomain, PhoneNumber};
use crate::envelope::{within_storage_bound, ApiError, Result, Success};
use crate::exotel::{InboundOutcome, SimulatedInboundCall};
use crate::state::AppState;
use crate::store::{AppRow, UserMappingRow};

/// How long an answered call's conversation may be said to last, in seconds, and its default.
const TALK_SECONDS: RangeInclusive<i64> = 1..=3600;
const DEFAULT_TALK_SECONDS: i64 = 30;
const TALK_SECONDS_RULE: &str = "a whole number from 1 to 3600";

/// `POST /sandbox/inbound_call`, snake_case like `POST /call/outbound_call`. Unknown fields are ignored.
#[derive(Deserialize, ToSchema)]
pub struct SandboxInboundCallRequest {
    /// The caller's phone number, as text (a JSON number is refused: it would lose a leading zero).
    #[schema(value_type = String, required = true, example = "+919812300077")]
    from: Option<String>,
    /// The agent called (`AppUserId`); default the app's first mapped agent.
    #[schema(value_type = String, required = false, min_length = 1, max_length = 128)]
    user_id: Option<String>,
    /// How the call ends; default `answered`.
    #[schema(value_type = SimulatedOutcome, required = false)]
    outcome: Option<String>,
    /// An answered call's conversation, in seconds (the `incomingCallHangup` webhook's `TotalDuration`);
    /// default 30. Not allowed with `outcome` `missed`.
    #[schema(value_type = i64, required = false, minimum = 1, maximum = 3600, default = 30)]
    talk_seconds: Option<TalkSeconds>,
}

/// How a simulated inbound call ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ToSchema)]
#[schema(rename_all = "lowercase")]
pub enum SimulatedOutcome {
    /// The agent picks up: popup (`Dial`), popup (`Answered`), then `incomingCallHangup` with the
    /// talk time and a recording URL.
    Answered,
    /// Nobody picks up: popup (`Dial`), then `missedCall`.
    Missed,
}

impl SimulatedOutcome {
    /// `answered` or `missed`, in any case; absent or blank is `answered`.
    fn parse(value: Option<&str>) -> Result<Self> {
        match value.map(str::trim).unwrap_or_default().to_ascii_lowercase().as_str() {
            "" | "answered" => Ok(Self::Answered),
            "missed" => Ok(Self::Missed),
            _ => Err(ApiError::bad_request(format!(
                "outcome must be answered or missed (got {:?})",
                value.unwrap_or_default()
            ))),
        }
    }
}

/// `talk_seconds` as sent: a JSON integer, never a string or a fraction (nothing is converted). Its
/// range is checked after, so that the error says what was sent.
struct TalkSeconds(i64);

impl<'de> Deserialize<'de> for TalkSeconds {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        struct WholeNumber;
        impl Visitor<'_> for WholeNumber {
            type Value = TalkSeconds;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str(TALK_SECONDS_RULE)
            }

            fn visit_i64<E: serde::de::Error>(self, value: i64) -> std::result::Result<TalkSeconds, E> {
                Ok(TalkSeconds(value))
            }

            fn visit_u64<E: serde::de::Error>(self, value: u64) -> std::result::Result<TalkSeconds, E> {
                Ok(TalkSeconds(i64::try_from(value).unwrap_or(i64::MAX)))
            }
        }
        deserializer.deserialize_i64(WholeNumber)
    }
}

/// The call's outcome with its talk time: `talk_seconds` only with an answered call, within its range.
fn outcome(outcome: Option<String>, talk_seconds: Option<TalkSeconds>) -> Result<InboundOutcome> {
    match (SimulatedOutcome::parse(outcome.as_deref())?, talk_seconds) {
        (SimulatedOutcome::Missed, Some(_)) => Err(ApiError::bad_request(
            "talk_seconds is for an answered call: leave it out with outcome missed (nobody talked)",
        )),
        (SimulatedOutcome::Missed, None) => Ok(InboundOutcome::Missed),
        (SimulatedOutcome::Answered, None) => Ok(InboundOutcome::Answered { talk_seconds: DEFAULT_TALK_SECONDS }),
        (SimulatedOutcome::Answered, Some(TalkSeconds(seconds))) if TALK_SECONDS.contains(&seconds) => {
            Ok(InboundOutcome::Answered { talk_seconds: seconds })
        }
        (SimulatedOutcome::Answered, Some(TalkSeconds(seconds))) => {
            Err(ApiError::bad_request(format!("talk_seconds must be {TALK_SECONDS_RULE} (got {seconds})")))
        }
    }
}

/// The agent the simulated customer calls: the named one (404 when the app has none by that id), or
/// the app's first mapped agent (400 when it has none). It must have what the flow dials: a `SipId`
/// and a `VirtualNumber`.
async fn agent(state: &AppState, app: &AppRow, user_id: Option<String>) -> Result<UserMappingRow> {
    let user = match user_id {
        Some(id) if id.trim().is_empty() => return Err(ApiError::bad_request(
            "user_id must not be empty: name an agent's AppUserId, or leave it out for the app's first mapped agent",
        )),
        Some(id) => find_user(&state.store, app, AppUserId::parse("user_id", Some(id))?.as_str()).await?,
        None => state.store.list_user_mappings(&app.id, 0, 1).await?.into_iter().next().ok_or_else(|| {
            ApiError::bad_request(
                "this app has no agent to call: map one with POST /usermapping, then simulate the call",
            )
        })?,
    };
    let id = &user.app_user_id;
    if user.sip_id.is_empty() {
        return Err(ApiError::bad_request(format!(
            "user {id:?} has no SipId, which the simulated flow dials: map the agent again on this sandbox app \
             (DELETE /users/{{AppUserId}}, then POST /usermapping) to be given one"
        )));
    }
    if user.virtual_number.is_empty() {
        return Err(ApiError::bad_request(format!(
            "user {id:?} has no VirtualNumber, the number the simulated customer calls: map the agent again with one"
        )));
    }
    Ok(user)
}

/// `POST /sandbox/inbound_call`: a customer calls one of the app's agents.
#[utoipa::path(
    post,
    summary = "Simulate an inbound call",
    description = "Sandbox apps only. Plays the passthru requests an Exotel flow would send to this app's \
        `/call/inbound_call` URL, `SANDBOX_CALL_STEP_MS` apart, through the same code as Exotel's own: `type=popup` \
        (`Status=busy`, `EventType=Dial`, `DialWhomNumber` the agent's `SipId`, `CallFrom` = `from`, `CallTo` the \
        agent's `VirtualNumber`); then for `answered` a popup with `EventType=Answered` and `type=incomingcallhungup` \
        (`Status=free`, `EventType=Terminal`, `DialCallDuration` = `talk_seconds`, a `RecordingUrl`), for `missed` \
        `type=missedcall` (`Status=free`, `EventType=Terminal`). Each event is an ordinary one: recorded, and \
        delivered to the app's `popup`, `incomingCallHangup` or `missedCall` URL when set. Answers at once with the \
        first popup's call payload; its `CallSid` (32 hex characters, like Exotel's) names the simulated call. \
        The later steps run in this server process: a restart before they are played loses them.",
    path = "/sandbox/inbound_call",
    operation_id = "sandbox_inbound_call",
    tag = "sandbox",
    security(("app_token" = [])),
    request_body(content = SandboxInboundCallRequest, example = json!(examples::sandbox_inbound_call_request())),
    responses(
        (status = 200, description = "The first popup's call payload: `Direction` `incoming`, `CallState` `active`, \
            `CallStatus` `busy`, `CallDetail` `dial`.", body = CallPayloadEnvelope,
            example = json!(examples::sandbox_inbound_call_response())),
        (status = 400, description = "Malformed JSON or a field of the wrong JSON type; `from` missing or not a phone \
            number; `outcome` not `answered` or `missed`; `talk_seconds` not a whole number from 1 to 3600, or given \
            with `missed`; `user_id` empty; no agent mapped, or the agent without a `SipId` or `VirtualNumber`; or the \
            app is live (`mumbai`/`singapore`), not `sandbox`.", body = ErrorEnvelope),
        (status = 404, description = "No user with that `user_id` in this app.", body = ErrorEnvelope),
    )
)]
pub async fn inbound_call(
    State(state): State<AppState>,
    AppAuth(app): AppAuth,
    JsonBody(request): JsonBody<SandboxInboundCallRequest>,
) -> Result<Success<CallPayload>> {
    if app.exotel_domain != ExotelDomain::Sandbox {
        return Err(ApiError::bad_request(format!(
            "calls are simulated on sandbox apps only: this app's ExotelDomain is {}, a live Exotel account whose \
             calls come from Exotel's flow",
            app.exotel_domain.as_str()
        )));
    }
    let from = PhoneNumber::required("from", request.from)?.into_string();
    let outcome = outcome(request.outcome, request.talk_seconds)?;
    let agent = agent(&state, &app, request.user_id).await?;
    let call =
        SimulatedInboundCall::new(&app.exotel_account_sid, from, agent.sip_id, agent.virtual_number, outcome, now_ms());
    let payload =
        within_storage_bound(state.config.database_acquire_timeout, state.call_events.simulate_inbound(&app, call))
            .await?;
    Ok(Success(payload))
}
