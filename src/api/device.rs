//! `PUT /device`: switch an agent between phone and SIP, or off.

use axum::extract::State;
use serde::Deserialize;
use utoipa::ToSchema;

use super::auth::AppAuth;
use super::openapi::examples;
use super::openapi::schemas::ErrorEnvelope;
use super::usermapping::{find_user, user_not_found, MappingBody, MappingEnvelope};
use super::JsonBody;
use crate::domain::time::now_ms;
use crate::domain::{non_empty, DeviceKind};
use crate::envelope::{ApiError, Result, Success};
use crate::exotel::ExotelApi;
use crate::state::AppState;
use crate::store::UserMappingRow;

/// `PUT /device`: send `DeviceName` and/or `DeviceStatus`.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct DeviceRequest {
    /// The user's `AppUserId`.
    #[schema(value_type = String, required = true, min_length = 1, max_length = 128)]
    user_id: Option<String>,
    /// `phone` (calls ring the agent's phone) or `sip` (calls ring in the browser). Required to turn a device on.
    #[schema(value_type = Option<DeviceKind>)]
    device_name: Option<String>,
    /// `true` (or omitted with a `DeviceName`): that device on and the other off. `false`: the named
    /// device off, or the active one when no name is given.
    device_status: Option<bool>,
}

/// The id of the user's device of `kind`, or a 400 saying the user has none.
fn device_id(user: &UserMappingRow, kind: DeviceKind) -> Result<&str> {
    let id = match kind {
        DeviceKind::Phone => &user.phone_device_id,
        DeviceKind::Sip => &user.sip_device_id,
    };
    if id.is_empty() {
        let why = match kind {
            DeviceKind::Phone => "it was registered without an AgentNumber",
            DeviceKind::Sip => "Exotel created no SIP device for it",
        };
        return Err(ApiError::bad_request(format!(
            "user {:?} has no {} device: {why}",
            user.app_user_id,
            kind.as_str()
        )));
    }
    Ok(id)
}

/// Switch a device
///
/// Switches an agent between phone and SIP, or off, upstream and locally; `ActiveDeviceId` follows.
#[utoipa::path(
    put,
    path = "/device",
    operation_id = "update_device",
    tag = "device",
    security(("app_token" = [])),
    request_body(content = DeviceRequest, example = json!(examples::device_request())),
    responses(
        (status = 200, description = "The user's mapping object after the switch.", body = MappingEnvelope,
            example = json!(examples::device_response())),
        (status = 400, description = "Malformed JSON, `UserId` missing, an unknown `DeviceName`, neither field sent, \
            or the user has no such device (e.g. `phone` for a user without `AgentNumber`).", body = ErrorEnvelope),
        (status = 404, description = "No user with that `UserId` in this app.", body = ErrorEnvelope),
        (status = "4XX", description = "Exotel refused the switch: Exotel's own 4xx status, `Error` its error JSON as text.", body = ErrorEnvelope),
        (status = 502, description = "Exotel is unreachable or answered 5xx.", body = ErrorEnvelope),
    )
)]
pub async fn update(
    State(state): State<AppState>,
    AppAuth(app): AppAuth,
    JsonBody(request): JsonBody<DeviceRequest>,
) -> Result<Success<MappingBody>> {
    let user_id = non_empty("UserId", request.user_id, 128)?;
    let device = request.device_name.as_deref().map(|name| DeviceKind::parse("DeviceName", name)).transpose()?;
    let user = find_user(&state.store, &app, &user_id).await?;
    let upstream = state.exotel.for_app(&app, &state.config.keyring)?;
    let refused = |e| ApiError::upstream(e, Some("Exotel did not switch the device"));

    let active_device_id = match (request.device_status, device) {
        (None, None) => return Err(ApiError::bad_request("send DeviceName (phone or sip) and/or DeviceStatus")),
        (Some(true), None) => {
            return Err(ApiError::bad_request("DeviceName (phone or sip) is required to turn a device on"))
        }
        (Some(true) | None, Some(kind)) => {
            let on = device_id(&user, kind)?.to_string();
            // Exotel keeps at most one device on: the other goes off first.
            if let Ok(other) = device_id(&user, kind.other()) {
                upstream.set_device_available(&user.exotel_user_id, other, false).await.map_err(refused)?;
            }
            upstream.set_device_available(&user.exotel_user_id, &on, true).await.map_err(refused)?;
            on
        }
        (Some(false), Some(kind)) => {
            let off = device_id(&user, kind)?;
            upstream.set_device_available(&user.exotel_user_id, off, false).await.map_err(refused)?;
            if user.active_device_id == off {
                String::new()
            } else {
                user.active_device_id.clone()
            }
        }
        (Some(false), None) => {
            if !user.active_device_id.is_empty() {
                upstream
                    .set_device_available(&user.exotel_user_id, &user.active_device_id, false)
                    .await
                    .map_err(refused)?;
            }
            String::new()
        }
    };

    let updated = state
        .store
        .set_active_device(&app.id, &user.app_user_id, &active_device_id, now_ms())
        .await?
        .ok_or_else(|| user_not_found(&user_id))?;
    tracing::info!(app_id = %app.id, active_device_id = %active_device_id, "device switched");
    Ok(Success(MappingBody::render(&updated, &state.config)?))
}
