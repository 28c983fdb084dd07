//! The `tokens` table: token hashes and whom they authenticate.

use std::collections::HashMap;

use sqlx::FromRow;

use super::{AppRow, CustomerRow, Db, Store, StoreResult};
use crate::crypto::Sealed;
use crate::domain::ExotelDomain;

/// Whom a live token speaks for.
#[derive(Debug, Clone)]
pub enum TokenOwner {
    Customer(CustomerRow),
    App(AppRow),
}

/// What the token join returns: the customer always, the app for app tokens.
const RESOLVED: &str = "SELECT t.hash, t.expires_at, t.customer_id, c.name AS c_name, c.email AS c_email, \
     c.secret AS c_secret, c.created_at AS c_created_at, c.updated_at AS c_updated_at, t.app_id, a.name AS a_name, \
     a.exotel_account_sid AS a_account_sid, a.exotel_api_key AS a_api_key, a.exotel_api_token AS a_api_token, \
     a.exotel_domain AS a_domain, a.is_active AS a_is_active, a.secret AS a_secret, a.created_at AS a_created_at, \
     a.updated_at AS a_updated_at";

/// One row of the token join.
#[derive(FromRow)]
struct TokenJoin {
    hash: String,
    expires_at: i64,
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
    fn to_owner(&self) -> StoreResult<TokenOwner> {
        let text = |value: &Option<String>| value.clone().unwrap_or_default();
        Ok(match &self.app_id {
            Some(app_id) => TokenOwner::App(AppRow {
                id: app_id.clone(),
                customer_id: self.customer_id.clone(),
                name: text(&self.a_name),
                exotel_account_sid: text(&self.a_account_sid),
                exotel_api_key: Sealed(text(&self.a_api_key)),
                exotel_api_token: Sealed(text(&self.a_api_token)),
                exotel_domain: ExotelDomain::try_from(text(&self.a_domain)).map_err(|e| sqlx::Error::ColumnDecode {
                    index: "exotel_domain".to_string(),
                    source: Box::new(e),
                })?,
                is_active: self.a_is_active.unwrap_or_default(),
                secret: Sealed(text(&self.a_secret)),
                created_at: self.a_created_at.unwrap_or_default(),
                updated_at: self.a_updated_at.unwrap_or_default(),
            }),
            None => TokenOwner::Customer(CustomerRow {
                id: self.customer_id.clone(),
                name: self.c_name.clone(),
                email: self.c_email.clone(),
                secret: Sealed(self.c_secret.clone()),
                created_at: self.c_created_at,
                updated_at: self.c_updated_at,
            }),
        })
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
        execute!(self, sql, hash, customer_id, app_id, now, expires_at)?;
        Ok(())
    }

    /// Resolves a live token to its owner in one round trip, shared with the other tokens being
    /// resolved at the same moment (see [`crate::batch`]).
    pub async fn resolve_token(&self, hash: &str, now: i64) -> StoreResult<Option<TokenOwner>> {
        match &self.batches {
            Some(batches) => batches.tokens.call((hash.to_string(), now)).await?,
            None => Ok(self.resolve_tokens(&[(hash.to_string(), now)]).await?.pop().flatten()),
        }
    }

    /// Resolves several tokens, each live at its own `now`, in one statement; one answer per token.
    pub(super) async fn resolve_tokens(&self, lookups: &[(String, i64)]) -> StoreResult<Vec<Option<TokenOwner>>> {
        // Expiry is checked here rather than in SQL: a plan made while the table was small could
        // otherwise walk the expiry index over every live token.
        let hashes: Vec<&str> = lookups.iter().map(|(hash, _)| hash.as_str()).collect();
        let rows: Vec<TokenJoin> = match &self.db {
            Db::Postgres(pool) => {
                // The LATERAL ... LIMIT 1 joins keep the generic plan on primary-key lookups.
                let sql = format!(
                    "{RESOLVED} FROM tokens t \
                     CROSS JOIN LATERAL (SELECT * FROM customers WHERE customers.id = t.customer_id LIMIT 1) c \
                     LEFT JOIN LATERAL (SELECT * FROM apps WHERE apps.id = t.app_id LIMIT 1) a ON true \
                     WHERE t.hash = ANY($1)"
                );
                sqlx::query_as(&sql).bind(&hashes).fetch_all(pool).await?
            }
            Db::Sqlite { reader, .. } => {
                let sql = format!(
                    "{RESOLVED} FROM tokens t JOIN customers c ON c.id = t.customer_id LEFT JOIN apps a ON a.id = t.app_id \
                     WHERE t.hash IN (SELECT value FROM json_each($1))"
                );
                let hashes = serde_json::to_string(&hashes).expect("strings serialize");
                sqlx::query_as(&sql).bind(hashes).fetch_all(reader).await?
            }
        };
        let found: HashMap<&str, &TokenJoin> = rows.iter().map(|row| (row.hash.as_str(), row)).collect();
        lookups
            .iter()
            .map(|(hash, now)| {
                found.get(hash.as_str()).filter(|row| row.expires_at > *now).map(|row| row.to_owner()).transpose()
            })
            .collect()
    }

    /// Removes tokens that expired before `now`; returns how many.
    pub async fn purge_expired_tokens(&self, now: i64) -> StoreResult<u64> {
        let sql = "DELETE FROM tokens WHERE expires_at <= $1";
        let done = execute!(self, sql, now)?;
        Ok(done)
    }
}
