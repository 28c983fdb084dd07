//! Registering customers and reading their secrets: shared by `POST /customer` and `customer create|list`.

use uuid::Uuid;

use crate::crypto::{CryptoError, Keyring, SecretField};
use crate::domain::time::now_ms;
use crate::domain::{non_empty, Email};
use crate::envelope::Result;
use crate::store::{CustomerRow, Store};

/// Registers a customer with a fresh random secret; returns the row and the secret in clear.
pub async fn register(
    store: &Store,
    key: &Keyring,
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

/// A stored customer's secret, in clear.
pub fn secret(key: &Keyring, row: &CustomerRow) -> Result<String, CryptoError> {
    key.open_field(SecretField::CustomerSecret, &row.id, &row.secret)
}
