//! The `customers` table.

use sqlx::FromRow;

use super::{is_unique_violation, Store, StoreError, StoreResult};
use crate::crypto::Sealed;

#[derive(Debug, Clone, FromRow)]
pub struct CustomerRow {
    pub id: String,
    pub name: String,
    pub email: String,
    #[sqlx(try_from = "String")]
    pub secret: Sealed,
    pub created_at: i64,
    pub updated_at: i64,
}

const COLUMNS: &str = "id, name, email, secret, created_at, updated_at";

impl Store {
    pub async fn insert_customer(&self, row: &CustomerRow) -> StoreResult<()> {
        let sql =
            "INSERT INTO customers (id, name, email, secret, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6)";
        execute!(self, sql, &row.id, &row.name, &row.email, &row.secret.0, row.created_at, row.updated_at).map_err(
            |e| match is_unique_violation(&e) {
                true => StoreError::Conflict(format!("customer {} already exists", row.id)),
                false => e.into(),
            },
        )?;
        Ok(())
    }

    pub async fn find_customer(&self, customer_id: &str) -> StoreResult<Option<CustomerRow>> {
        let sql = format!("SELECT {COLUMNS} FROM customers WHERE id = $1");
        Ok(on_reader!(self, |pool| sqlx::query_as(&sql).bind(customer_id).fetch_optional(pool).await)?)
    }

    pub async fn list_customers(&self) -> StoreResult<Vec<CustomerRow>> {
        let sql = format!("SELECT {COLUMNS} FROM customers ORDER BY created_at, id");
        Ok(on_reader!(self, |pool| sqlx::query_as(&sql).fetch_all(pool).await)?)
    }

    /// Deletes the customer and, by cascade, everything it owns. False when there was no such customer.
    pub async fn delete_customer(&self, customer_id: &str) -> StoreResult<bool> {
        Ok(self.write_with("DELETE FROM customers WHERE id = $1", &[customer_id]).await? > 0)
    }
}

impl Store {
    /// Stores a customer's new secret (the old one dead at once) and, when asked, deletes the
    /// customer's own tokens (not its apps'), in one transaction. False when the customer is gone.
    pub async fn rotate_customer_secret(
        &self,
        customer_id: &str,
        secret: &Sealed,
        revoke_tokens: bool,
        now: i64,
    ) -> StoreResult<bool> {
        let update = "UPDATE customers SET secret = $1, updated_at = $2 WHERE id = $3";
        let rotated = on_writer!(self, |pool| {
            async {
                let mut tx = pool.begin().await?;
                let changed = sqlx::query(update)
                    .bind(&secret.0)
                    .bind(now)
                    .bind(customer_id)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                if changed == 0 {
                    return Ok::<_, sqlx::Error>(false);
                }
                if revoke_tokens {
                    sqlx::query("DELETE FROM tokens WHERE customer_id = $1 AND app_id IS NULL")
                        .bind(customer_id)
                        .execute(&mut *tx)
                        .await?;
                }
                tx.commit().await?;
                Ok(true)
            }
            .await
        })?;
        Ok(rotated)
    }
}
