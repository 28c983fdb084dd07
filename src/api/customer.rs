//! `/customer`: create (operator only), read and delete the calling customer.

use axum::extract::State;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::JsonBody;
use crate::app::AppState;
use crate::auth::{AdminAuth, CustomerAuth};
use crate::crypto::{MasterKey, SecretField};
use crate::domain::time::{display, now_ms};
use crate::domain::{non_empty, Email};
use crate::envelope::{ApiError, Result, Success};
use crate::store::{CustomerRow, Store};

#[derive(Deserialize)]
pub struct CreateCustomer {
    #[serde(rename = "CustomerName")]
    name: Option<String>,
    #[serde(rename = "Email")]
    email: Option<String>,
}

/// The customer object, secret included (as the seed shows for `GET /customer`).
#[derive(Serialize, Debug)]
pub struct CustomerBody {
    #[serde(rename = "CustomerID")]
    pub customer_id: String,
    #[serde(rename = "CustomerSecret")]
    pub customer_secret: String,
    #[serde(rename = "CustomerName")]
    pub customer_name: String,
    #[serde(rename = "Email")]
    pub email: String,
    #[serde(rename = "CustomerSetting")]
    pub customer_setting: Option<serde_json::Value>,
    #[serde(rename = "CreatedAt")]
    pub created_at: String,
    #[serde(rename = "UpdatedAt")]
    pub updated_at: String,
    #[serde(rename = "DeletedAt")]
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

/// Registers a customer with a fresh random secret; returns the row and the secret in clear.
pub async fn register_customer(
    store: &Store,
    key: &MasterKey,
    name: Option<String>,
    email: Option<String>,
) -> Result<(CustomerRow, String)> {
    let name = non_empty("CustomerName", name, 200)?;
    let email = Email::parse("Email", email)?;
    let id = Uuid::new_v4().to_string();
    let secret = Uuid::new_v4().to_string();
    let now = now_ms();
    let row = CustomerRow {
        secret: key.seal_field(SecretField::CustomerSecret, &id, &secret),
        id,
        name,
        email: email.into_string(),
        created_at: now,
        updated_at: now,
    };
    store.insert_customer(&row).await?;
    tracing::info!(customer_id = %row.id, "customer created");
    Ok((row, secret))
}

/// Opens a stored customer's secret for display.
pub fn customer_body(key: &MasterKey, row: &CustomerRow, offset: chrono::FixedOffset) -> Result<CustomerBody> {
    let secret = key.open_field(SecretField::CustomerSecret, &row.id, &row.secret)?;
    Ok(CustomerBody::new(row, secret, offset))
}

pub async fn create(
    State(state): State<AppState>,
    _admin: AdminAuth,
    JsonBody(request): JsonBody<CreateCustomer>,
) -> Result<Success<CustomerBody>> {
    let (row, secret) = register_customer(&state.store, &state.config.master_key, request.name, request.email).await?;
    Ok(Success(CustomerBody::new(&row, secret, state.config.display_offset)))
}

pub async fn get(State(state): State<AppState>, CustomerAuth(customer): CustomerAuth) -> Result<Success<CustomerBody>> {
    Ok(Success(customer_body(&state.config.master_key, &customer, state.config.display_offset)?))
}

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
