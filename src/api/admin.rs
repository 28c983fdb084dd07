//! `/admin/...`: the operator's view across tenants (`Authorization: <ADMIN_TOKEN>`): customers with
//! their apps, deleting a customer, switching any app on or off, and the webhook queue's health.

use axum::extract::State;
use axum::http::Uri;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::app::AppBody;
use super::auth::OperatorAuth;
use super::extract::PathParam;
use super::openapi::examples;
use super::openapi::schemas::{envelopes, ErrorEnvelope, StringEnvelope};
use super::pagination::{PageParams, PageRequest};
use super::JsonBody;
use crate::domain::time::display;
use crate::envelope::{ApiError, Result, Success};
use crate::services::operator::{self, Health};
use crate::state::AppState;
use crate::store::{AppRow, CustomerRow, FailingApp};

/// A customer as the operator sees it: the customer object without `CustomerSecret`, then `AppCount`.
#[derive(Serialize, Debug, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct AdminCustomerBody {
    #[serde(rename = "CustomerID")]
    #[schema(format = "uuid")]
    pub customer_id: String,
    /// Never sent over HTTP; only the CLI's `customer list --show-secrets` fills it in.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(ignore)]
    pub customer_secret: Option<String>,
    pub customer_name: String,
    pub email: String,
    /// Always `null`.
    pub customer_setting: Option<serde_json::Value>,
    /// RFC 3339, whole seconds, in the display offset (default `+05:30`).
    #[schema(format = DateTime)]
    pub created_at: String,
    /// RFC 3339, whole seconds, in the display offset (default `+05:30`).
    #[schema(format = DateTime)]
    pub updated_at: String,
    /// Always `false`.
    pub deleted_at: bool,
    /// How many apps the customer has.
    pub app_count: i64,
}

impl AdminCustomerBody {
    pub fn new(row: &CustomerRow, app_count: i64, offset: chrono::FixedOffset) -> Self {
        Self {
            customer_id: row.id.clone(),
            customer_secret: None,
            customer_name: row.name.clone(),
            email: row.email.clone(),
            customer_setting: None,
            created_at: display(row.created_at, offset),
            updated_at: display(row.updated_at, offset),
            deleted_at: false,
            app_count,
        }
    }
}

/// A page of customers in creation order.
#[derive(Serialize, Debug, ToSchema)]
pub struct AdminCustomerPage {
    #[serde(rename = "Customers")]
    pub customers: Vec<AdminCustomerBody>,
    /// The number of customers on this page.
    #[serde(rename = "PageSize")]
    pub page_size: usize,
    /// The cursor for `last_value` to read the next page; `""` on the last page.
    #[serde(rename = "LastEvaluatedValue")]
    pub last_evaluated_value: String,
}

/// One customer with its apps: the customer object without `CustomerSecret`, `AppCount`, then `Apps`.
#[derive(Serialize, Debug, ToSchema)]
pub struct AdminCustomerDetail {
    #[serde(flatten)]
    pub customer: AdminCustomerBody,
    /// The customer's apps (public app objects), oldest first.
    #[serde(rename = "Apps")]
    pub apps: Vec<AppBody>,
}

impl AdminCustomerDetail {
    pub fn new(row: &CustomerRow, apps: &[AppRow], offset: chrono::FixedOffset) -> Self {
        Self {
            customer: AdminCustomerBody::new(row, apps.len() as i64, offset),
            apps: apps.iter().map(|app| AppBody::new(app, offset)).collect(),
        }
    }
}

/// `PUT /admin/apps/{AppID}`: switch the app on (`true`) or off (`false`).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetAppActive {
    #[serde(rename = "IsActive")]
    #[schema(value_type = bool, required = true)]
    is_active: Option<bool>,
}

/// An app whose webhooks went dead in the last 24 hours and are still dead.
#[derive(Serialize, Debug, ToSchema)]
pub struct FailingAppBody {
    #[serde(rename = "AppID")]
    #[schema(format = "uuid")]
    pub app_id: String,
    #[serde(rename = "CustomerID")]
    #[schema(format = "uuid")]
    pub customer_id: String,
    /// Deliveries that went dead in the last 24 hours and are still dead.
    #[serde(rename = "Dead24h")]
    pub dead_24h: i64,
    /// The app's deliveries waiting to be sent.
    #[serde(rename = "Pending")]
    pub pending: i64,
    /// The error of the app's latest dead delivery (`""` when none was recorded).
    #[serde(rename = "LastError")]
    pub last_error: String,
}

impl From<&FailingApp> for FailingAppBody {
    fn from(app: &FailingApp) -> Self {
        Self {
            app_id: app.app_id.clone(),
            customer_id: app.customer_id.clone(),
            dead_24h: app.dead,
            pending: app.pending,
            last_error: app.last_error.clone(),
        }
    }
}

/// The webhook queue and the tenants whose webhooks fail.
#[derive(Serialize, Debug, ToSchema)]
pub struct AdminHealthBody {
    /// `ok`: the database answered.
    #[serde(rename = "Database")]
    #[schema(example = "ok")]
    pub database: &'static str,
    /// Deliveries waiting to be sent, every app together.
    #[serde(rename = "QueueDepth")]
    pub queue_depth: i64,
    /// How long the oldest pending delivery has waited, in seconds; 0 when nothing is pending.
    #[serde(rename = "OldestPendingAgeSeconds")]
    pub oldest_pending_age_seconds: i64,
    /// Up to 20 apps with the most deliveries that went dead in the last 24 hours and are still dead, most first.
    #[serde(rename = "FailingApps")]
    pub failing_apps: Vec<FailingAppBody>,
}

impl From<&Health> for AdminHealthBody {
    fn from(health: &Health) -> Self {
        Self {
            database: "ok",
            queue_depth: health.queue_depth,
            oldest_pending_age_seconds: health.oldest_pending_age_seconds,
            failing_apps: health.failing_apps.iter().map(FailingAppBody::from).collect(),
        }
    }
}

envelopes! {
    /// A success envelope whose `Data` is a page of customers.
    AdminCustomerPageEnvelope => AdminCustomerPage;
    /// A success envelope whose `Data` is a customer with its apps.
    AdminCustomerDetailEnvelope => AdminCustomerDetail;
    /// A success envelope whose `Data` is the public app object.
    AdminAppEnvelope => AppBody;
    /// A success envelope whose `Data` is the health of the webhook queue.
    AdminHealthEnvelope => AdminHealthBody;
}

const CUSTOMER_NOT_FOUND: &str = "no customer with that CustomerID";
const APP_NOT_FOUND: &str = "no app with that AppID";

/// List customers
///
/// Every customer in creation order, a page at a time, each without its secret and with its number
/// of apps.
#[utoipa::path(
    get,
    path = "/admin/customers",
    operation_id = "admin_list_customers",
    tag = "admin",
    security(("admin_token" = [])),
    params(PageParams),
    responses(
        (status = 200, description = "A page of customers.", body = AdminCustomerPageEnvelope,
            example = json!(examples::admin_customers_response())),
        (status = 400, description = "`last_value` or `page_size` is not a whole number in range.", body = ErrorEnvelope),
    )
)]
pub async fn list_customers(
    _admin: OperatorAuth,
    State(state): State<AppState>,
    uri: Uri,
) -> Result<Success<AdminCustomerPage>> {
    let page = PageRequest::from_query(&uri)?;
    let found = operator::customers_page(&state.store, page.after, page.size).await?;
    let offset = state.config.display_offset;
    let customers: Vec<AdminCustomerBody> =
        found.customers.iter().map(|c| AdminCustomerBody::new(&c.customer, c.app_count, offset)).collect();
    Ok(Success(AdminCustomerPage { page_size: customers.len(), customers, last_evaluated_value: found.next }))
}

/// Get a customer with its apps
///
/// The customer without its secret, its number of apps and its apps (public objects), oldest first.
#[utoipa::path(
    get,
    path = "/admin/customers/{customer_id}",
    operation_id = "admin_get_customer",
    tag = "admin",
    security(("admin_token" = [])),
    params(("customer_id" = String, Path, description = "The customer's `CustomerID`.")),
    responses(
        (status = 200, description = "The customer with its apps.", body = AdminCustomerDetailEnvelope,
            example = json!(examples::admin_customer_response())),
        (status = 404, description = "No customer with that `CustomerID`.", body = ErrorEnvelope),
    )
)]
pub async fn get_customer(
    _admin: OperatorAuth,
    State(state): State<AppState>,
    PathParam(customer_id): PathParam<String>,
) -> Result<Success<AdminCustomerDetail>> {
    let (customer, apps) = operator::customer_with_apps(&state.store, &customer_id)
        .await?
        .ok_or_else(|| ApiError::not_found(CUSTOMER_NOT_FOUND))?;
    Ok(Success(AdminCustomerDetail::new(&customer, &apps, state.config.display_offset)))
}

/// Delete a customer
///
/// Removes the customer with all its apps, settings, user mappings, call records and tokens, as
/// `DELETE /customer` does; its pending webhook deliveries are cancelled. Irreversible.
#[utoipa::path(
    delete,
    path = "/admin/customers/{customer_id}",
    operation_id = "admin_delete_customer",
    tag = "admin",
    security(("admin_token" = [])),
    params(("customer_id" = String, Path, description = "The customer's `CustomerID`.")),
    responses(
        (status = 200, description = "Deleted: `Data` is `Deleted Successfully`.", body = StringEnvelope,
            example = json!(examples::customer_deleted())),
        (status = 404, description = "No customer with that `CustomerID`.", body = ErrorEnvelope),
    )
)]
pub async fn delete_customer(
    _admin: OperatorAuth,
    State(state): State<AppState>,
    PathParam(customer_id): PathParam<String>,
) -> Result<Success<&'static str>> {
    if !operator::delete_customer(&state.store, &customer_id).await? {
        return Err(ApiError::not_found(CUSTOMER_NOT_FOUND));
    }
    Ok(Success("Deleted Successfully"))
}

/// Switch an app on or off
///
/// Sets any app's `IsActive`, whichever customer it belongs to. Answers the public app object.
#[utoipa::path(
    put,
    path = "/admin/apps/{app_id}",
    operation_id = "admin_set_app_active",
    tag = "admin",
    security(("admin_token" = [])),
    params(("app_id" = String, Path, description = "The app's `AppID`.")),
    request_body(content = SetAppActive, example = json!(examples::admin_app_request())),
    responses(
        (status = 200, description = "The app as it is now.", body = AdminAppEnvelope, example = json!(examples::app_response())),
        (status = 400, description = "Malformed JSON, `IsActive` missing or not a boolean, or another field sent; or the path segment is not valid UTF-8 or holds a NUL byte.", body = ErrorEnvelope),
        (status = 404, description = "No app with that `AppID`.", body = ErrorEnvelope),
    )
)]
pub async fn set_app_active(
    _admin: OperatorAuth,
    State(state): State<AppState>,
    PathParam(app_id): PathParam<String>,
    JsonBody(request): JsonBody<SetAppActive>,
) -> Result<Success<AppBody>> {
    let active =
        request.is_active.ok_or_else(|| ApiError::bad_request("IsActive is required and must be true or false"))?;
    let app = operator::set_app_active(&state.store, &app_id, active)
        .await?
        .ok_or_else(|| ApiError::not_found(APP_NOT_FOUND))?;
    Ok(Success(AppBody::new(&app, state.config.display_offset)))
}

/// Webhook health across tenants
///
/// The database answered (`Database` `ok`), the queue's depth and the age of its oldest pending
/// delivery, and up to 20 apps with the most deliveries that went dead in the last 24 hours and
/// are still dead (sample webhooks left out), most first, each with its pending deliveries and its
/// latest error.
#[utoipa::path(
    get,
    path = "/admin/health",
    operation_id = "admin_health",
    tag = "admin",
    security(("admin_token" = [])),
    responses(
        (status = 200, description = "The queue and the failing apps.", body = AdminHealthEnvelope,
            example = json!(examples::admin_health_response())),
    )
)]
pub async fn health(_admin: OperatorAuth, State(state): State<AppState>) -> Result<Success<AdminHealthBody>> {
    let health = operator::health(&state.store).await?;
    Ok(Success(AdminHealthBody::from(&health)))
}
