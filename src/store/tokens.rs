//! The `tokens` table: token hashes and whom they authenticate.

use sqlx::FromRow;

use super::{AppRow, CustomerRow, Store, StoreResult};
use crate::crypto::Sealed;

/// Whom a live token speaks for.
#[derive(Debug, Clone)]
pub enum TokenOwner {
    Customer(CustomerRow),
    App(AppRow),
}

/// One row of the token join: the customer always, the app for app tokens.
#[derive(FromRow)]
struct TokenJoin {
    customer_id: String,
    c_name: String,
    c_email: String,
    c_secret: String,
    c_created_at: i64,
    c_updated_at: i64,
    app_id: Option<String>,
    a_name: Option<String>,
    a_account_sid: Option<String>,
    a_api_key: Option<String>,
    a_api_token: Option<String>,
    a_domain: Option<String>,
    a_is_active: Option<bool>,
    a_secret: Option<String>,
    a_created_at: Option<i64>,
    a_updated_at: Option<i64>,
}

impl TokenJoin {
    fn into_owner(self) -> TokenOwner {
        match self.app_id {
            Some(app_id) => TokenOwner::App(AppRow {
                id: app_id,
                customer_id: self.customer_id,
                name: self.a_name.unwrap_or_default(),
                exotel_account_sid: self.a_account_sid.unwrap_or_default(),
                exotel_api_key: Sealed(self.a_api_key.unwrap_or_default()),
                exotel_api_token: Sealed(self.a_api_token.unwrap_or_default()),
                exotel_domain: self.a_domain.unwrap_or_default(),
                is_active: self.a_is_active.unwrap_or_default(),
                secret: Sealed(self.a_secret.unwrap_or_default()),
                created_at: self.a_created_at.unwrap_or_default(),
                updated_at: self.a_updated_at.unwrap_or_default(),
            }),
            None => TokenOwner::Customer(CustomerRow {
                id: self.customer_id,
                name: self.c_name,
                email: self.c_email,
                secret: Sealed(self.c_secret),
                created_at: self.c_created_at,
                updated_at: self.c_updated_at,
            }),
        }
    }
}

impl Store {
    /// Stores a token's hash for a customer (`app_id` None) or one of its apps.
    pub async fn insert_token(
        &self,
        hash: &str,
        customer_id: &str,
        app_id: Option<&str>,
        now: i64,
        expires_at: i64,
    ) -> StoreResult<()> {
        let sql = "INSERT INTO tokens (hash, customer_id, app_id, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)";
        on_writer!(self, |pool| sqlx::query(sql)
            .bind(hash)
            .bind(customer_id)
            .bind(app_id)
            .bind(now)
            .bind(expires_at)
            .execute(pool)
            .await
            .map(|r| r.rows_affected()))?;
        Ok(())
    }

    /// Resolves a live token to its owner in one round trip.
    pub async fn resolve_token(&self, hash: &str, now: i64) -> StoreResult<Option<TokenOwner>> {
        let sql = "SELECT t.customer_id, c.name AS c_name, c.email AS c_email, c.secret AS c_secret, \
                   c.created_at AS c_created_at, c.updated_at AS c_updated_at, t.app_id, a.name AS a_name, \
                   a.exotel_account_sid AS a_account_sid, a.exotel_api_key AS a_api_key, \
                   a.exotel_api_token AS a_api_token, a.exotel_domain AS a_domain, a.is_active AS a_is_active, \
                   a.secret AS a_secret, a.created_at AS a_created_at, a.updated_at AS a_updated_at \
                   FROM tokens t JOIN customers c ON c.id = t.customer_id LEFT JOIN apps a ON a.id = t.app_id \
                   WHERE t.hash = $1 AND t.expires_at > $2";
        let row: Option<TokenJoin> =
            on_reader!(self, |pool| sqlx::query_as(sql).bind(hash).bind(now).fetch_optional(pool).await)?;
        Ok(row.map(TokenJoin::into_owner))
    }

    /// Removes tokens that expired before `now`; returns how many.
    pub async fn purge_expired_tokens(&self, now: i64) -> StoreResult<u64> {
        let sql = "DELETE FROM tokens WHERE expires_at <= $1";
        let done = on_writer!(self, |pool| sqlx::query(sql).bind(now).execute(pool).await.map(|r| r.rows_affected()))?;
        Ok(done)
    }
}
