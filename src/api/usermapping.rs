//! `/usermapping` and `/users/{AppUserID}`: register agents, read them back, delete them.

use axum::extract::State;
use axum::http::Uri;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use super::auth::AppAuth;
use super::extract::{parse_json_value, raw_query_param, PathParam};
use super::openapi::examples;
use super::openapi::schemas::{envelopes, ErrorEnvelope, StringEnvelope};
use super::pagination::{PageParams, PageRequest};
use super::JsonBody;
use crate::config::Config;
use crate::crypto::{sdk_sip_secret, Sealed, SecretField};
use crate::domain::time::{display, now_ms};
use crate::domain::{non_empty, AppUserId, Email, ExotelUserName, FieldError, PhoneNumber};
use crate::envelope::{ApiError, Result, Success};
use crate::exotel::{ExotelApi, NewUser};
use crate::state::AppState;
use crate::store::{AppRow, Store, UserMappingRow};

/// The most users one `POST /usermapping` may register (each is provisioned upstream in turn).
pub const MAX_BATCH: usize = 100;

/// One user of a `POST /usermapping` batch.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct NewMapping {
    /// The user's id in the CRM: 1–128 characters, unique in the app.
    #[schema(value_type = String, required = true, min_length = 1, max_length = 128)]
    app_user_id: Option<String>,
    /// The user's name in the CRM (non-empty).
    #[schema(value_type = String, required = true, min_length = 1, max_length = 200)]
    app_username: Option<String>,
    /// A valid e-mail address (Exotel finds or creates the user by it).
    #[schema(value_type = String, format = "email", required = true)]
    email: Option<String>,
    /// Must equal the app's `ExotelAccountSid`.
    #[schema(value_type = String, required = true)]
    exotel_account_sid: Option<String>,
    /// "First Last": two words, each 3–20 letters, digits, `.`, `'` or `-`.
    #[schema(value_type = String, required = true, example = "Temp Name")]
    exotel_user_name: Option<String>,
    /// The agent's phone number, as text (optional). Without it the user has no phone device.
    agent_number: Option<String>,
    /// The Exotel virtual number, as text: a JSON number is refused (it would lose a leading zero).
    #[schema(value_type = String, required = true)]
    virtual_number: Option<String>,
}

/// The body of `POST /usermapping`: an array of users (at most 100), or a single user object.
#[derive(ToSchema)]
#[serde(untagged)]
#[allow(dead_code)] // documentation only: the handler reads the body as JSON and validates it user by user
pub(crate) enum NewMappings {
    /// 1 to 100 users, all-or-nothing.
    Many(Vec<NewMapping>),
    One(NewMapping),
}

/// One user of a batch after validation.
struct ValidMapping {
    app_user_id: AppUserId,
    app_username: String,
    email: Email,
    exotel_user_name: ExotelUserName,
    agent_number: Option<PhoneNumber>,
    virtual_number: PhoneNumber,
}

/// The mapping object, keys in the contract's order.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct MappingBody {
    customer_id: String,
    #[serde(rename = "AppID")]
    app_id: String,
    app_user_id: String,
    exotel_account_sid: String,
    exotel_user_id: String,
    app_username: String,
    exotel_user_name: String,
    agent_number: String,
    /// The id of the device that is on, or `""`.
    active_device_id: String,
    /// `""` when the user has no `AgentNumber`.
    #[serde(rename = "PhoneDeviceID")]
    phone_device_id: String,
    #[serde(rename = "SipDeviceID")]
    sip_device_id: String,
    virtual_number: String,
    email: String,
    outbound_active: bool,
    role: String,
    /// The user's SIP id (`sip:...`), `""` when the user has no SIP device; never null.
    sip_id: String,
    /// The SIP password as the CRM WebSDK decrypts it: hex(IV ‖ AES-256-CFB128(password)) under the
    /// SDK's fixed key, with a fresh IV each time; `""` without a SIP device.
    sip_secret: String,
    is_active: bool,
    /// Always `null`.
    user_detail: Option<Value>,
    #[schema(format = DateTime)]
    created_at: String,
    #[schema(format = DateTime)]
    updated_at: String,
}

/// The context a mapping's SIP password is sealed under.
fn sip_row_id(app_id: &str, app_user_id: &str) -> String {
    format!("{app_id}/{app_user_id}")
}

impl MappingBody {
    /// Renders a stored mapping; `SipSecret` is re-encrypted for the SDK with a fresh IV every time.
    pub fn render(row: &UserMappingRow, config: &Config) -> Result<Self> {
        let sip_secret = if row.sip_password.0.is_empty() {
            String::new()
        } else {
            let password = config.keyring.open_field(
                SecretField::SipPassword,
                &sip_row_id(&row.app_id, &row.app_user_id),
                &row.sip_password,
            )?;
            sdk_sip_secret(&password)
        };
        Ok(Self {
            customer_id: row.customer_id.clone(),
            app_id: row.app_id.clone(),
            app_user_id: row.app_user_id.clone(),
            exotel_account_sid: row.exotel_account_sid.clone(),
            exotel_user_id: row.exotel_user_id.clone(),
            app_username: row.app_username.clone(),
            exotel_user_name: row.exotel_user_name.clone(),
            agent_number: row.agent_number.clone(),
            active_device_id: row.active_device_id.clone(),
            phone_device_id: row.phone_device_id.clone(),
            sip_device_id: row.sip_device_id.clone(),
            virtual_number: row.virtual_number.clone(),
            email: row.email.clone(),
            outbound_active: row.outbound_active,
            role: row.role.clone(),
            sip_id: row.sip_id.clone(),
            sip_secret,
            is_active: row.is_active,
            user_detail: None,
            created_at: display(row.created_at, config.display_offset),
            updated_at: display(row.updated_at, config.display_offset),
        })
    }

    fn render_all(rows: &[UserMappingRow], config: &Config) -> Result<Vec<Self>> {
        rows.iter().map(|row| Self::render(row, config)).collect()
    }
}

/// The app's user with this `AppUserId`, or a 404 naming it.
pub(crate) async fn find_user(store: &Store, app: &AppRow, app_user_id: &str) -> Result<UserMappingRow> {
    store.find_user_mapping(&app.id, app_user_id).await?.ok_or_else(|| user_not_found(app_user_id))
}

/// The answer about a user the app does not have.
pub(crate) fn user_not_found(app_user_id: &str) -> ApiError {
    ApiError::not_found(format!("no user with AppUserId {app_user_id:?} in this app"))
}

fn validate(index: usize, user: NewMapping, app: &AppRow) -> Result<ValidMapping, FieldError> {
    let field = |name: &str| format!("users[{index}].{name}");
    let account_sid = non_empty(&field("ExotelAccountSid"), user.exotel_account_sid, 128)?;
    if account_sid != app.exotel_account_sid {
        return Err(FieldError(format!(
            "{} must be this app's ExotelAccountSid ({:?})",
            field("ExotelAccountSid"),
            app.exotel_account_sid
        )));
    }
    Ok(ValidMapping {
        app_user_id: AppUserId::parse(&field("AppUserId"), user.app_user_id)?,
        app_username: non_empty(&field("AppUsername"), user.app_username, 200)?,
        email: Email::parse(&field("Email"), user.email)?,
        exotel_user_name: ExotelUserName::parse(&field("ExotelUserName"), user.exotel_user_name)?,
        agent_number: PhoneNumber::optional(&field("AgentNumber"), user.agent_number)?,
        virtual_number: PhoneNumber::required(&field("VirtualNumber"), user.virtual_number)?,
    })
}

/// Reads a batch: a JSON array of users, or one user object.
fn parse_batch(body: Value, app: &AppRow) -> Result<Vec<ValidMapping>> {
    let items = match body {
        Value::Array(items) => items,
        object @ Value::Object(_) => vec![object],
        _ => return Err(ApiError::bad_request("request body must be an array of users (or one user object)")),
    };
    if items.is_empty() {
        return Err(ApiError::bad_request("request body must list at least one user"));
    }
    if items.len() > MAX_BATCH {
        return Err(ApiError::bad_request(format!("at most {MAX_BATCH} users may be registered in one request")));
    }
    let mut valid = Vec::with_capacity(items.len());
    for (index, item) in items.into_iter().enumerate() {
        if !item.is_object() {
            return Err(ApiError::bad_request(format!("users[{index}] must be a JSON object")));
        }
        let user: NewMapping = parse_json_value(item, &format!("users[{index}]."))?;
        valid.push(validate(index, user, app)?);
    }
    Ok(valid)
}

/// Map users
///
/// Registers a batch of users (a JSON array, or one user object) and provisions each upstream
/// (Exotel's CCM Users API, or the sandbox). All-or-nothing: any invalid user is a 400 naming its
/// index and field; a duplicate `AppUserId` (stored or within the batch) is a 409; nothing is stored
/// in either case.
#[utoipa::path(
    post,
    path = "/usermapping",
    operation_id = "create_usermappings",
    tag = "usermapping",
    security(("app_token" = [])),
    request_body(content = NewMappings, example = json!(examples::usermapping_request())),
    responses(
        (status = 200, description = "The mapping objects, in the order sent.", body = MappingListEnvelope,
            example = json!(examples::usermappings_created())),
        (status = 400, description = "Malformed JSON, an empty or oversized batch, or an invalid user (named by index and field).", body = ErrorEnvelope),
        (status = 409, description = "An `AppUserId` is already mapped in this app, or appears twice in the batch.", body = ErrorEnvelope),
        (status = "4XX", description = "Exotel refused to provision a user: Exotel's own 4xx status, `Error` its error JSON as text.", body = ErrorEnvelope),
        (status = 502, description = "Exotel is unreachable or answered 5xx.", body = ErrorEnvelope),
    )
)]
pub async fn create(
    State(state): State<AppState>,
    AppAuth(app): AppAuth,
    JsonBody(body): JsonBody<Value>,
) -> Result<Success<Vec<MappingBody>>> {
    let users = parse_batch(body, &app)?;

    for (i, user) in users.iter().enumerate() {
        if let Some(j) = users[..i].iter().position(|u| u.app_user_id == user.app_user_id) {
            return Err(ApiError::conflict(format!(
                "AppUserId {:?} appears twice in the batch (users[{j}] and users[{i}])",
                user.app_user_id.as_str()
            )));
        }
    }
    let ids: Vec<String> = users.iter().map(|u| u.app_user_id.as_str().to_string()).collect();
    if let Some(taken) = state.store.existing_app_user_ids(&app.id, &ids).await?.first() {
        return Err(ApiError::conflict(format!("AppUserId {taken:?} is already mapped in this app")));
    }

    let key = &state.config.keyring;
    let upstream = state.exotel.for_app(&app, key)?;
    let now = now_ms();
    let mut rows = Vec::with_capacity(users.len());
    for (index, user) in users.into_iter().enumerate() {
        let request = NewUser {
            first_name: user.exotel_user_name.first().to_string(),
            last_name: user.exotel_user_name.last().to_string(),
            email: user.email.as_str().to_string(),
            phone: user.agent_number.as_ref().map(|p| p.as_str().to_string()),
        };
        let provisioned = upstream.provision_user(&request).await.map_err(|e| {
            tracing::warn!(index, error = %e, "provisioning a user upstream failed; nothing of the batch is stored");
            let context = format!("users[{index}] (AppUserId {:?}) was not provisioned", user.app_user_id.as_str());
            ApiError::upstream(e, Some(&context))
        })?;
        let app_user_id = user.app_user_id.into_string();
        let sip_password = if provisioned.sip_password.is_empty() {
            Sealed(String::new())
        } else {
            key.seal_field(SecretField::SipPassword, &sip_row_id(&app.id, &app_user_id), &provisioned.sip_password)
        };
        rows.push(UserMappingRow {
            seq: 0,
            app_id: app.id.clone(),
            customer_id: app.customer_id.clone(),
            app_user_id,
            exotel_account_sid: app.exotel_account_sid.clone(),
            exotel_user_id: provisioned.exotel_user_id,
            app_username: user.app_username,
            exotel_user_name: user.exotel_user_name.full(),
            agent_number: user.agent_number.map(PhoneNumber::into_string).unwrap_or_default(),
            active_device_id: provisioned.active_device_id,
            phone_device_id: provisioned.phone_device_id,
            sip_device_id: provisioned.sip_device_id,
            virtual_number: user.virtual_number.into_string(),
            email: user.email.into_string(),
            outbound_active: false,
            role: provisioned.role,
            sip_id: provisioned.sip_id,
            sip_password,
            is_active: true,
            created_at: now,
            updated_at: now,
        });
    }
    let stored = state.store.insert_user_mappings(&app.id, rows).await?;
    tracing::info!(app_id = %app.id, users = stored.len(), "users mapped");
    Ok(Success(MappingBody::render_all(&stored, &state.config)?))
}

/// `Users`, `PageSize`, `LastEvaluatedValue` (`""` on the last page).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct MappingPage {
    users: Vec<MappingBody>,
    #[schema(minimum = 1, maximum = 100)]
    page_size: i64,
    /// The cursor of the last user returned (pass it as `last_value` for the next page); `""` on the last page.
    last_evaluated_value: String,
}

/// One user (`?user_id=`) or a page of users.
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
pub enum MappingOrPage {
    One(Box<MappingBody>),
    Page(MappingPage),
}

envelopes! {
    /// A success envelope whose `Data` is one user mapping.
    MappingEnvelope => MappingBody;
    /// A success envelope whose `Data` is the user mappings just created.
    MappingListEnvelope => Vec<MappingBody>;
    /// A success envelope whose `Data` is one user mapping (`?user_id=`) or a page of them.
    MappingOrPageEnvelope => MappingOrPage;
}

/// Get users
///
/// With `user_id`: that user (404 if none). Without: a page of users in creation order.
/// `user_id` is read from the raw query with percent-decoding only: a `+` stays a `+`.
#[utoipa::path(
    get,
    path = "/usermapping",
    operation_id = "get_usermappings",
    tag = "usermapping",
    security(("app_token" = [])),
    params(
        ("user_id" = Option<String>, Query, description = "An `AppUserId`: answer that user only. Percent-decoded only (a `+` stays a `+`)."),
        PageParams,
    ),
    responses(
        (status = 200, description = "One user (`?user_id=`) or a page of users.", body = MappingOrPageEnvelope,
            examples(
                ("user_id" = (summary = "?user_id=1", value = json!(examples::usermapping_response()))),
                ("page" = (summary = "A page", value = json!(examples::usermapping_page()))),
            )),
        (status = 400, description = "`user_id` empty or not UTF-8, or `last_value`/`page_size` out of range.", body = ErrorEnvelope),
        (status = 404, description = "No user with that `user_id` in this app.", body = ErrorEnvelope),
    )
)]
pub async fn get(State(state): State<AppState>, AppAuth(app): AppAuth, uri: Uri) -> Result<Success<MappingOrPage>> {
    // The SDK puts the id in the URL unencoded: percent-decoding only, so a `+` stays a `+`.
    if let Some(user_id) = raw_query_param(&uri, "user_id")? {
        if user_id.is_empty() {
            return Err(ApiError::bad_request("query parameter user_id must not be empty"));
        }
        let row = find_user(&state.store, &app, &user_id).await?;
        return Ok(Success(MappingOrPage::One(Box::new(MappingBody::render(&row, &state.config)?))));
    }

    let page = PageRequest::from_query(&uri)?;
    let rows = state.store.list_user_mappings(&app.id, page.after, page.fetch_limit()).await?;
    let (rows, last_evaluated_value) = page.finish(rows, |row| row.seq);
    Ok(Success(MappingOrPage::Page(MappingPage {
        users: MappingBody::render_all(&rows, &state.config)?,
        page_size: page.size,
        last_evaluated_value,
    })))
}

/// Delete all users
///
/// Deletes every mapping of the app (never the users on Exotel).
#[utoipa::path(
    delete,
    path = "/usermapping",
    operation_id = "delete_usermappings",
    tag = "usermapping",
    security(("app_token" = [])),
    responses(
        (status = 200, description = "Deleted: `Data` is `Deleted Successfuly` (sic, as the seed).", body = StringEnvelope,
            example = json!(examples::usermappings_deleted())),
    )
)]
pub async fn delete_all(State(state): State<AppState>, AppAuth(app): AppAuth) -> Result<Success<&'static str>> {
    let deleted = state.store.delete_user_mappings(&app.id).await?;
    tracing::info!(app_id = %app.id, deleted, "all user mappings deleted");
    Ok(Success("Deleted Successfuly"))
}

/// Delete a user
///
/// Deletes one mapping (never the user on Exotel).
#[utoipa::path(
    delete,
    path = "/users/{app_user_id}",
    operation_id = "delete_user",
    tag = "usermapping",
    security(("app_token" = [])),
    params(("app_user_id" = String, Path, description = "The user's `AppUserId`.")),
    responses(
        (status = 200, description = "Deleted: `Data` is `Deleted Successfuly` (sic, as the seed).", body = StringEnvelope,
            example = json!(examples::usermappings_deleted())),
        (status = 404, description = "No user with that `AppUserId` in this app.", body = ErrorEnvelope),
    )
)]
pub async fn delete_one(
    State(state): State<AppState>,
    AppAuth(app): AppAuth,
    PathParam(app_user_id): PathParam<String>,
) -> Result<Success<&'static str>> {
    if !state.store.delete_user_mapping(&app.id, &app_user_id).await? {
        return Err(user_not_found(&app_user_id));
    }
    tracing::info!(app_id = %app.id, "user mapping deleted");
    Ok(Success("Deleted Successfuly"))
}
