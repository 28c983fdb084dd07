//! `/customer`: create (operator only), read and delete the calling customer.

use axum::extract::State;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::auth::{AdminAuth, CustomerAuth};
use super::openapi::examples;
use super::openapi::schemas::{envelopes, ErrorEnvelope, StringEnvelope};
use super::JsonBody;
use crate::crypto::Keyring;
use crate::domain::time::display;
use crate::envelope::{ApiError, Result, Success};
use crate::services::customers;
use crate::state::AppState;
use crate::store::CustomerRow;

/// `POST /customer`: a new customer. Both fields are required.
#[derive(Deserialize, ToSchema)]
pub struct CreateCustomer {
    /// The customer's name (1–200 characters).
    #[serde(rename = "CustomerName")]
    #[schema(value_type = String, required = true, min_length = 1, max_length = 200)]
    name: Option<String>,
    /// A valid e-mail address.
    #[serde(rename = "Email")]
    #[schema(value_type = String, format = "email", required = true)]
    email: Option<String>,
}

/// The customer object, secret included (as the seed shows for `GET /customer`).
#[derive(Serialize, Debug, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct CustomerBody {
    #[serde(rename = "CustomerID")]
    #[schema(format = "uuid")]
    pub customer_id: String,
    /// The secret to trade for a customer token.
    pub customer_secret: String,
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
}

impl CustomerBody {
    pub fn new(row: &CustomerRow, secret: String, offset: chrono::FixedOffset) -> Self {
        Self {
            customer_id: row.id.clone(),
            customer_secret: secret,
            customer_name: row.name.clone(),
            email: row.email.clone(),
            customer_setting: None,
            created_at: display(row.created_at, offset),
            updated_at: display(row.updated_at, offset),
            deleted_at: false,
        }
    }
}

envelopes! {
    /// A success envelope whose `Data` is the customer object.
    CustomerEnvelope => CustomerBody;
}

/// Opens a stored customer's secret for display.
pub fn customer_body(key: &Keyring, row: &CustomerRow, offset: chrono::FixedOffset) -> Result<CustomerBody> {
    Ok(CustomerBody::new(row, customers::secret(key, row)?, offset))
}

/// Create a customer
///
/// Registers a customer with a fresh random secret (the operator's route; the same operation is
/// `integrations-core customer create`). Not in the seed's list: Exotel's older docs have it.
#[utoipa::path(
    post,
    path = "/customer",
    operation_id = "create_customer",
    tag = "customer",
    security(("admin_token" = [])),
    request_body(content = CreateCustomer, example = json!(examples::customer_request())),
    responses(
        (status = 200, description = "Customer created, secret included.", body = CustomerEnvelope),
        (status = 400, description = "Malformed JSON, or `CustomerName` or `Email` missing or invalid.", body = ErrorEnvelope),
        (status = 429, description = "Too many failed admin-token attempts from this client address (one throttle with the operator API).", body = ErrorEnvelope,
            headers(("Retry-After" = u64, description = "Seconds to wait before trying again."))),
    )
)]
pub async fn create(
    State(state): State<AppState>,
    _admin: AdminAuth,
    JsonBody(request): JsonBody<CreateCustomer>,
) -> Result<Success<CustomerBody>> {
    let (row, secret) = customers::register(&state.store, &state.config.keyring, request.name, request.email).await?;
    Ok(Success(CustomerBody::new(&row, secret, state.config.display_offset)))
}

/// Get the customer
///
/// The customer of the token, secret included (as the seed shows).
#[utoipa::path(
    get,
    path = "/customer",
    operation_id = "get_customer",
    tag = "customer",
    security(("customer_token" = [])),
    responses(
        (status = 200, description = "The customer.", body = CustomerEnvelope, example = json!(examples::customer_response())),
    )
)]
pub async fn get(State(state): State<AppState>, CustomerAuth(customer): CustomerAuth) -> Result<Success<CustomerBody>> {
    Ok(Success(customer_body(&state.config.keyring, &customer, state.config.display_offset)?))
}

/// Delete the customer
///
/// Removes the customer with all its apps, settings, user mappings, call records and tokens; its
/// pending webhook deliveries are cancelled. Irreversible.
#[utoipa::path(
    delete,
    path = "/customer",
    operation_id = "delete_customer",
    tag = "customer",
    security(("customer_token" = [])),
    responses(
        (status = 200, description = "Deleted: `Data` is `Deleted Successfully`.", body = StringEnvelope,
            example = json!(examples::customer_deleted())),
        (status = 404, description = "The customer is already gone.", body = ErrorEnvelope),
    )
)]
pub async fn delete(
    State(state): State<AppState>,
    CustomerAuth(customer): CustomerAuth,
) -> Result<Success<&'static str>> {
    if !state.store.delete_customer(&customer.id).await? {
        return Err(ApiError::not_found("customer not found"));
    }
    tracing::info!(customer_id = %customer.id, "customer deleted with all its apps");
    Ok(Success("Deleted Successfully"))
}
