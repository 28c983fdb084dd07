//! The `apps` table.

use sqlx::FromRow;

use super::{Db, Store, StoreResult};
use crate::crypto::Sealed;
use crate::domain::user::last_ten_digits;
use crate::domain::ExotelDomain;

#[derive(Debug, Clone, FromRow)]
pub struct AppRow {
    pub id: String,
    pub customer_id: String,
    pub name: String,
    pub exotel_account_sid: String,
    #[sqlx(try_from = "String")]
    pub exotel_api_key: Sealed,
    #[sqlx(try_from = "String")]
    pub exotel_api_token: Sealed,
    #[sqlx(try_from = "String")]
    pub exotel_domain: ExotelDomain,
    pub is_active: bool,
    #[sqlx(try_from = "String")]
    pub secret: Sealed,
    pub created_at: i64,
    pub updated_at: i64,
}

pub(crate) const APP_COLUMNS: &str = "id, customer_id, name, exotel_account_sid, exotel_api_key, exotel_api_token, \
     exotel_domain, is_active, secret, created_at, updated_at";

/// An app as Exotel's passthru sees it.
#[derive(Debug, Clone)]
pub struct PassthruTarget {
    pub app: AppRow,
    /// The app's URL for the passthru's type, when set.
    pub url: Option<String>,
    /// The agent the call was dialled to, `""` when none matches.
    pub app_user_id: String,
    /// Whether a passthru must carry the app's key, and the key's hex SHA-256 when it has one.
    pub key_rule: PassthruKeyRule,
}

/// What a passthru to the app must carry (CONTRACT 13, signed passthru).
#[derive(Clone, PartialEq, Eq)]
pub struct PassthruKeyRule {
    pub required: bool,
    /// Hex SHA-256 of the app's passthru key; None for an app created before keys existed that has
    /// not been asked for one yet.
    pub key_hash: Option<String>,
}

impl std::fmt::Debug for PassthruKeyRule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PassthruKeyRule").field("required", &self.required).finish_non_exhaustive()
    }
}

/// An app's passthru key as stored: whether it is required and the key, sealed (None for an app
/// created before keys existed, until first asked).
#[derive(Debug, Clone, FromRow)]
pub struct PassthruKeyRow {
    #[sqlx(rename = "passthru_required")]
    pub required: bool,
    #[sqlx(rename = "passthru_key")]
    pub key: Option<String>,
}

impl PassthruKeyRow {
    pub fn sealed_key(&self) -> Option<Sealed> {
        self.key.clone().map(Sealed)
    }
}

/// A new passthru key to store: sealed, and its hex SHA-256.
#[derive(Debug, Clone)]
pub struct NewPassthruKey {
    pub sealed: Sealed,
    pub hash: String,
}

/// One passthru lookup: the app, the setting its type needs, and whom Exotel dialled.
#[derive(Debug, Clone)]
pub struct PassthruQuery {
    pub app_id: String,
    pub setting_key: String,
    pub dialled: String,
}

/// The fields `PUT /app` may change; `None` keeps the stored value.
#[derive(Debug, Clone, Default)]
pub struct AppUpdate {
    pub name: Option<String>,
    pub exotel_api_key: Option<Sealed>,
    pub exotel_api_token: Option<Sealed>,
    pub exotel_domain: Option<ExotelDomain>,
    pub is_active: Option<bool>,
}

impl Store {
    /// Stores a new app with its passthru key (None leaves it to be made when first asked).
    pub async fn insert_app(&self, row: &AppRow, passthru_key: Option<&NewPassthruKey>) -> StoreResult<()> {
        let sql = format!(
            "INSERT INTO apps ({APP_COLUMNS}, passthru_key, passthru_key_hash) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)"
        );
        execute!(
            self,
            &sql,
            &row.id,
            &row.customer_id,
            &row.name,
            &row.exotel_account_sid,
            &row.exotel_api_key.0,
            &row.exotel_api_token.0,
            row.exotel_domain.as_str(),
            row.is_active,
            &row.secret.0,
            row.created_at,
            row.updated_at,
            passthru_key.map(|k| &k.sealed.0),
            passthru_key.map(|k| &k.hash)
        )?;
        Ok(())
    }

    /// The customer's apps, oldest first.
    pub async fn list_apps(&self, customer_id: &str) -> StoreResult<Vec<AppRow>> {
        let sql = format!("SELECT {APP_COLUMNS} FROM apps WHERE customer_id = $1 ORDER BY created_at, id");
        Ok(on_reader!(self, |pool| sqlx::query_as(&sql).bind(customer_id).fetch_all(pool).await)?)
    }

    /// An app by id, without a tenant check: only for callers that hold no token (Exotel's passthru).
    pub async fn find_app_unscoped(&self, app_id: &str) -> StoreResult<Option<AppRow>> {
        let sql = format!("SELECT {APP_COLUMNS} FROM apps WHERE id = $1");
        Ok(on_reader!(self, |pool| sqlx::query_as(&sql).bind(app_id).fetch_optional(pool).await)?)
    }

    /// What Exotel's passthru needs, in one round trip (shared with the other passthrus being served
    /// at the same moment): the app (no tenant check: the caller holds no token), its URL for
    /// `setting_key`, and the agent `dialled` reached — the oldest mapping whose SipId equals it or
    /// whose AgentNumber has the same last ten digits.
    pub async fn find_passthru_target(
        &self,
        app_id: &str,
        setting_key: &str,
        dialled: &str,
    ) -> StoreResult<Option<PassthruTarget>> {
        let query = PassthruQuery {
            app_id: app_id.to_string(),
            setting_key: setting_key.to_string(),
            dialled: dialled.to_string(),
        };
        match &self.batches {
            Some(batches) => batches.passthru.call(query).await?,
            None => Ok(self.find_passthru_targets(&[query]).await?.pop().flatten()),
        }
    }

    /// Several passthru lookups in one statement; one answer per query, in order.
    pub(super) async fn find_passthru_targets(
        &self,
        queries: &[PassthruQuery],
    ) -> StoreResult<Vec<Option<PassthruTarget>>> {
        #[derive(FromRow)]
        struct Joined {
            ord: i64,
            #[sqlx(flatten)]
            app: AppRow,
            setting_value: Option<String>,
            dialled_user: Option<String>,
            passthru_required: bool,
            passthru_key_hash: Option<String>,
        }
        // `i` holds the queries: app_id, setting, dialled, last10 and ord (1-based position); `a` the app.
        let select = format!(
            "SELECT i.ord, {APP_COLUMNS}, a.passthru_required, a.passthru_key_hash, \
             (SELECT value FROM app_settings s WHERE s.app_id = a.id AND s.key = i.setting) AS setting_value, \
             (SELECT app_user_id FROM user_mappings m WHERE m.app_id = a.id AND i.dialled <> '' \
               AND (m.sip_id = i.dialled OR (m.agent_last10 = i.last10 AND i.last10 <> '')) \
               ORDER BY m.seq LIMIT 1) AS dialled_user"
        );
        let column = |pick: fn(&PassthruQuery) -> String| queries.iter().map(pick).collect::<Vec<String>>();
        let (app_ids, settings, dialled, last10) = (
            column(|q| q.app_id.clone()),
            column(|q| q.setting_key.clone()),
            column(|q| q.dialled.clone()),
            column(|q| last_ten_digits(&q.dialled)),
        );
        let rows: Vec<Joined> = match &self.db {
            Db::Postgres(pool) => {
                let sql = format!(
                    "{select} FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[]) \
                     WITH ORDINALITY AS i(app_id, setting, dialled, last10, ord) \
                     CROSS JOIN LATERAL (SELECT * FROM apps WHERE apps.id = i.app_id LIMIT 1) a"
                );
                sqlx::query_as(&sql).bind(app_ids).bind(settings).bind(dialled).bind(last10).fetch_all(pool).await?
            }
            Db::Sqlite { reader, .. } => {
                let sql = format!(
                    "{select} FROM (SELECT j.key + 1 AS ord, j.value ->> '$[0]' AS app_id, \
                     j.value ->> '$[1]' AS setting, j.value ->> '$[2]' AS dialled, j.value ->> '$[3]' AS last10 \
                     FROM json_each($1) j) AS i JOIN apps a ON a.id = i.app_id"
                );
                let rows: Vec<[&String; 4]> =
                    (0..queries.len()).map(|n| [&app_ids[n], &settings[n], &dialled[n], &last10[n]]).collect();
                let input = serde_json::to_string(&rows).expect("strings serialize");
                sqlx::query_as(&sql).bind(input).fetch_all(reader).await?
            }
        };
        let mut targets: Vec<Option<PassthruTarget>> = vec![None; queries.len()];
        for row in rows {
            if let Some(slot) = usize::try_from(row.ord - 1).ok().and_then(|n| targets.get_mut(n)) {
                *slot = Some(PassthruTarget {
                    app: row.app,
                    url: row.setting_value,
                    app_user_id: row.dialled_user.unwrap_or_default(),
                    key_rule: PassthruKeyRule { required: row.passthru_required, key_hash: row.passthru_key_hash },
                });
            }
        }
        Ok(targets)
    }

    /// Applies a partial update and returns the app as stored, or `None` when it is not this customer's.
    pub async fn update_app(
        &self,
        customer_id: &str,
        app_id: &str,
        update: &AppUpdate,
        now: i64,
    ) -> StoreResult<Option<AppRow>> {
        let sql = format!(
            "UPDATE apps SET name = COALESCE($3, name), exotel_api_key = COALESCE($4, exotel_api_key), \
             exotel_api_token = COALESCE($5, exotel_api_token), exotel_domain = COALESCE($6, exotel_domain), \
             is_active = COALESCE($7, is_active), updated_at = $8 \
             WHERE customer_id = $1 AND id = $2 RETURNING {APP_COLUMNS}"
        );
        Ok(on_writer!(self, |pool| sqlx::query_as(&sql)
            .bind(customer_id)
            .bind(app_id)
            .bind(&update.name)
            .bind(update.exotel_api_key.as_ref().map(|s| &s.0))
            .bind(update.exotel_api_token.as_ref().map(|s| &s.0))
            .bind(update.exotel_domain.map(ExotelDomain::as_str))
            .bind(update.is_active)
            .bind(now)
            .fetch_optional(pool)
            .await)?)
    }

    /// The app's passthru key as stored; None when the app is not this customer's.
    pub async fn passthru_key(&self, customer_id: &str, app_id: &str) -> StoreResult<Option<PassthruKeyRow>> {
        let sql = "SELECT passthru_required, passthru_key FROM apps WHERE customer_id = $1 AND id = $2";
        Ok(on_reader!(self, |pool| sqlx::query_as(sql).bind(customer_id).bind(app_id).fetch_optional(pool).await)?)
    }

    /// Gives an app created before passthru keys existed its key, unless another request just gave
    /// it one (that one is kept); returns the key as stored, None when the app is not this customer's.
    pub async fn add_missing_passthru_key(
        &self,
        customer_id: &str,
        app_id: &str,
        key: &NewPassthruKey,
    ) -> StoreResult<Option<PassthruKeyRow>> {
        let sql = "UPDATE apps SET passthru_key = COALESCE(passthru_key, $3), \
                   passthru_key_hash = CASE WHEN passthru_key IS NULL THEN $4 ELSE passthru_key_hash END \
                   WHERE customer_id = $1 AND id = $2 RETURNING passthru_required, passthru_key";
        Ok(on_writer!(self, |pool| sqlx::query_as(sql)
            .bind(customer_id)
            .bind(app_id)
            .bind(&key.sealed.0)
            .bind(&key.hash)
            .fetch_optional(pool)
            .await)?)
    }

    /// Sets whether the app's passthrus must carry its key and, with `renewed`, replaces the key
    /// (the old one stops at once: the passthru reads the hash on every request). Returns the key as
    /// stored, None when the app is not this customer's.
    pub async fn update_passthru_key(
        &self,
        customer_id: &str,
        app_id: &str,
        required: Option<bool>,
        renewed: Option<&NewPassthruKey>,
        now: i64,
    ) -> StoreResult<Option<PassthruKeyRow>> {
        let sql = "UPDATE apps SET passthru_required = COALESCE($3, passthru_required), \
                   passthru_key = COALESCE($4, passthru_key), passthru_key_hash = COALESCE($5, passthru_key_hash), \
                   updated_at = $6 WHERE customer_id = $1 AND id = $2 RETURNING passthru_required, passthru_key";
        Ok(on_writer!(self, |pool| sqlx::query_as(sql)
            .bind(customer_id)
            .bind(app_id)
            .bind(required)
            .bind(renewed.map(|k| &k.sealed.0))
            .bind(renewed.map(|k| &k.hash))
            .bind(now)
            .fetch_optional(pool)
            .await)?)
    }

    /// Deletes the app and, by cascade, its settings, users, calls and tokens.
    pub async fn delete_app(&self, customer_id: &str, app_id: &str) -> StoreResult<bool> {
        let sql = "DELETE FROM apps WHERE customer_id = $1 AND id = $2";
        Ok(self.write_with(sql, &[customer_id, app_id]).await? > 0)
    }
}

/// The sealed secrets an app's webhooks are signed with: the current one, and the one it replaced
/// with the end of its grace (unix ms) while a rotation's grace window may still be open.
#[derive(Debug, Clone, FromRow)]
pub struct SigningSecrets {
    #[sqlx(try_from = "String")]
    pub secret: Sealed,
    pub previous_secret: Option<String>,
    pub previous_secret_expires_at: Option<i64>,
}

impl SigningSecrets {
    /// The previous secret (sealed) while its grace lasts at `now`.
    pub fn previous_at(&self, now: i64) -> Option<(Sealed, i64)> {
        match (&self.previous_secret, self.previous_secret_expires_at) {
            (Some(sealed), Some(until)) if until > now => Some((Sealed(sealed.clone()), until)),
            _ => None,
        }
    }
}

/// A new app secret to store in place of `replaced` (the sealed value read before; a rotation that
/// raced another is told so and not applied).
pub struct AppSecretRotation<'a> {
    pub app_id: &'a str,
    pub replaced: &'a Sealed,
    pub secret: Sealed,
    /// The replaced secret, sealed as the previous one, with the end of its grace (unix ms); None
    /// drops it at once.
    pub previous: Option<(Sealed, i64)>,
    pub revoke_tokens: bool,
    pub now: i64,
}

impl Store {
    /// The secrets the app's webhooks are signed with; None when the app is gone.
    pub async fn app_signing_secrets(&self, app_id: &str) -> StoreResult<Option<SigningSecrets>> {
        let sql = "SELECT secret, previous_secret, previous_secret_expires_at FROM apps WHERE id = $1";
        Ok(on_reader!(self, |pool| sqlx::query_as(sql).bind(app_id).fetch_optional(pool).await)?)
    }

    /// Stores a rotated app secret and, when asked, deletes every token of the app, in one
    /// transaction. False when the secret is no longer `replaced` (another rotation came first, or
    /// the app is gone): nothing is written.
    pub async fn rotate_app_secret(&self, rotation: AppSecretRotation<'_>) -> StoreResult<bool> {
        let update = "UPDATE apps SET secret = $1, previous_secret = $2, previous_secret_expires_at = $3, \
                      updated_at = $4 WHERE id = $5 AND secret = $6";
        let (previous, until) = match &rotation.previous {
            Some((sealed, until)) => (Some(sealed.0.as_str()), Some(*until)),
            None => (None, None),
        };
        let rotated = on_writer!(self, |pool| {
            async {
                let mut tx = pool.begin().await?;
                let changed = sqlx::query(update)
                    .bind(&rotation.secret.0)
                    .bind(previous)
                    .bind(until)
                    .bind(rotation.now)
                    .bind(rotation.app_id)
                    .bind(&rotation.replaced.0)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                if changed == 0 {
                    return Ok::<_, sqlx::Error>(false);
                }
                if rotation.revoke_tokens {
                    sqlx::query("DELETE FROM tokens WHERE app_id = $1").bind(rotation.app_id).execute(&mut *tx).await?;
                }
                tx.commit().await?;
                Ok(true)
            }
            .await
        })?;
        Ok(rotated)
    }
}
