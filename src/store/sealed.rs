//! Every sealed column at once, for `rekey` and the start-up key check: paging through a column's
//! values and replacing them only where they are still what was read (a rotation that wrote in
//! between wins).

use super::{Store, StoreResult};
use crate::crypto::{Sealed, SecretField};

/// The key check's one row (`key_check.name`).
pub const KEY_CHECK_ROW: &str = "master";

/// Where a row of a sealed column is, as the text its value is sealed under: the row's id, or for
/// a user mapping `app_id/app_user_id` (the context `POST /usermapping` seals the SIP password in).
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct SealedRowKey(pub String, pub Option<String>);

impl SealedRowKey {
    pub fn context(&self) -> String {
        match &self.1 {
            None => self.0.clone(),
            Some(second) => format!("{}/{second}", self.0),
        }
    }
}

/// One stored value of a sealed column.
#[derive(Debug, Clone)]
pub struct SealedValue {
    pub row: SealedRowKey,
    pub sealed: Sealed,
}

/// A value to re-seal: replaced only if the column still holds `old`.
pub struct Reseal {
    pub row: SealedRowKey,
    pub old: Sealed,
    pub new: Sealed,
}

/// The table, column and key columns of a sealed field (all from this module's fixed list, never input).
struct Place {
    table: &'static str,
    column: &'static str,
    keys: &'static [&'static str],
}

fn place(field: SecretField) -> Place {
    let (table, column) = field.label().split_once('.').expect("labels are table.column");
    let keys: &'static [&'static str] = match table {
        "user_mappings" => &["app_id", "app_user_id"],
        "key_check" => &["name"],
        _ => &["id"],
    };
    Place { table, column, keys }
}

impl Place {
    /// A page of set values after `after`, in key order (`$1`, and `$2` for a two-column key).
    fn page_sql(&self, limit: usize) -> String {
        let Place { table, column, keys } = self;
        let (select_second, after) = match keys {
            [first] => ("NULL".to_string(), format!("{first} > $1")),
            [first, second] => (second.to_string(), format!("({first}, {second}) > ($1, $2)")),
            _ => unreachable!("keys have one or two columns"),
        };
        format!(
            "SELECT {first}, {select_second}, {column} FROM {table} \
             WHERE {column} IS NOT NULL AND {column} <> '' AND {after} ORDER BY {order} LIMIT {limit}",
            first = keys[0],
            order = keys.join(", ")
        )
    }

    /// Replaces the value of one row if it is still the one read (`$1` new, `$2` old, then the key).
    fn reseal_sql(&self) -> String {
        let Place { table, column, keys } = self;
        let key_match: Vec<String> = keys.iter().enumerate().map(|(i, key)| format!("{key} = ${}", i + 3)).collect();
        format!("UPDATE {table} SET {column} = $1 WHERE {column} = $2 AND {}", key_match.join(" AND "))
    }
}

impl Store {
    /// Up to `limit` set values of `field` after `after` (from the start with the default key), in key order.
    pub async fn sealed_page(
        &self,
        field: SecretField,
        after: &SealedRowKey,
        limit: usize,
    ) -> StoreResult<Vec<SealedValue>> {
        let place = place(field);
        let sql = place.page_sql(limit);
        let rows: Vec<(String, Option<String>, String)> = on_reader!(self, |pool| {
            let mut query = sqlx::query_as(&sql).bind(&after.0);
            if place.keys.len() == 2 {
                query = query.bind(after.1.clone().unwrap_or_default());
            }
            query.fetch_all(pool).await
        })?;
        Ok(rows
            .into_iter()
            .map(|(first, second, sealed)| SealedValue { row: SealedRowKey(first, second), sealed: Sealed(sealed) })
            .collect())
    }

    /// Re-seals a page of values in one transaction; answers how many rows still held the value
    /// read (the others changed in between and keep their newer value).
    pub async fn reseal(&self, field: SecretField, values: &[Reseal]) -> StoreResult<u64> {
        let sql = place(field).reseal_sql();
        let replaced = on_writer!(self, |pool| async {
            let mut tx = pool.begin().await?;
            let mut replaced = 0;
            for value in values {
                let mut query = sqlx::query(&sql).bind(&value.new.0).bind(&value.old.0).bind(&value.row.0);
                if let Some(second) = &value.row.1 {
                    query = query.bind(second);
                }
                replaced += query.execute(&mut *tx).await?.rows_affected();
            }
            tx.commit().await?;
            Ok::<_, sqlx::Error>(replaced)
        }
        .await)?;
        Ok(replaced)
    }

    /// The key check, if one was written.
    pub async fn key_check(&self) -> StoreResult<Option<Sealed>> {
        let sql = "SELECT sealed FROM key_check WHERE name = $1";
        let sealed: Option<String> =
            on_reader!(self, |pool| sqlx::query_scalar(sql).bind(KEY_CHECK_ROW).fetch_optional(pool).await)?;
        Ok(sealed.map(Sealed))
    }

    /// Writes the key check unless one exists (two servers starting at once agree on the first).
    pub async fn insert_key_check(&self, sealed: &Sealed) -> StoreResult<()> {
        let sql = "INSERT INTO key_check (name, sealed) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING";
        execute!(self, sql, KEY_CHECK_ROW, &sealed.0)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sql_names_the_fields_table_column_and_key() {
        let apps = place(SecretField::PreviousAppSecret);
        assert_eq!(
            apps.page_sql(100),
            "SELECT id, NULL, previous_secret FROM apps WHERE previous_secret IS NOT NULL AND previous_secret <> '' \
             AND id > $1 ORDER BY id LIMIT 100"
        );
        assert_eq!(apps.reseal_sql(), "UPDATE apps SET previous_secret = $1 WHERE previous_secret = $2 AND id = $3");
        let mappings = place(SecretField::SipPassword);
        assert!(mappings.page_sql(5).contains("(app_id, app_user_id) > ($1, $2) ORDER BY app_id, app_user_id"));
        assert!(mappings.reseal_sql().ends_with("app_id = $3 AND app_user_id = $4"));
        assert_eq!(SealedRowKey("a".into(), Some("u".into())).context(), "a/u");
    }
}
