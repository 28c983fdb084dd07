//! The master keys over the stored secrets: the key check that start-up proves before serving, and
//! `rekey`, which moves every sealed value to `MASTER_KEY` while servers keep running.

use crate::crypto::{CryptoError, Keyring, SecretField};
use crate::store::{Reseal, SealedRowKey, Store, StoreError};

/// What the key check holds, sealed.
const KEY_CHECK_PLAINTEXT: &str = "integrations-core key check";
/// Rows read, and re-sealed in one transaction, at a time.
const PAGE: usize = 200;

#[derive(Debug, thiserror::Error)]
pub enum MasterKeyError {
    #[error(
        "MASTER_KEY does not open this database's secrets ({0}). Set MASTER_KEY to the key they were sealed \
         under (or, while rotating, put that key in MASTER_KEY_PREVIOUS)"
    )]
    NoKeyOpens(CryptoError),
    #[error(
        "rekey stopped before writing anything: {0}. Put the key it was sealed under in MASTER_KEY_PREVIOUS \
         (comma-separated base64 keys) and run it again"
    )]
    Unopenable(CryptoError),
    #[error(
        "rekey stopped: {0}, a value written during the run under a key that is neither MASTER_KEY nor in \
         MASTER_KEY_PREVIOUS (is a server still running with an older MASTER_KEY?). What was re-sealed so far \
         stays readable; give every server the same keys and run it again"
    )]
    ChangedUnderUnknownKey(CryptoError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Proves that the configured keys open this database before anything is served. A database from
/// before the key check is proved on a stored customer secret, then given its key check.
pub async fn check(store: &Store, keyring: &Keyring) -> Result<(), MasterKeyError> {
    let row = crate::store::KEY_CHECK_ROW;
    match store.key_check().await? {
        Some(sealed) => {
            let opened = keyring.open_field(SecretField::KeyCheck, row, &sealed).map_err(MasterKeyError::NoKeyOpens)?;
            if opened != KEY_CHECK_PLAINTEXT {
                return Err(MasterKeyError::NoKeyOpens(CryptoError::Malformed));
            }
        }
        None => {
            let sample = store.sealed_page(SecretField::CustomerSecret, &SealedRowKey::default(), 1).await?;
            if let Some(value) = sample.first() {
                keyring
                    .open_field(SecretField::CustomerSecret, &value.row.context(), &value.sealed)
                    .map_err(MasterKeyError::NoKeyOpens)?;
            }
            store.insert_key_check(&keyring.seal_field(SecretField::KeyCheck, row, KEY_CHECK_PLAINTEXT)).await?;
        }
    }
    Ok(())
}

/// How far `rekey` has come: values re-sealed (or found moved meanwhile) out of those to move.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RekeyProgress {
    pub done: u64,
    pub total: u64,
}

/// What `rekey` did to one sealed column.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ColumnRekey {
    /// `table.column`.
    #[serde(rename = "Column")]
    pub column: &'static str,
    /// Values re-sealed under `MASTER_KEY`.
    #[serde(rename = "Resealed")]
    pub resealed: u64,
    /// Values already under `MASTER_KEY` (sealed since the rotation began, or by an earlier run).
    #[serde(rename = "AlreadyCurrent")]
    pub already_current: u64,
    /// Values a server replaced between the read and the write (the newer value is kept).
    #[serde(rename = "ChangedMeanwhile")]
    pub changed_meanwhile: u64,
}

/// Re-seals every stored secret under the current key, column by column, the key check last.
///
/// First a read-only pass opens every value, so that a key missing from the ring stops it before
/// anything is written, naming the first row it cannot open. Then each page of values not yet under
/// the current key is re-sealed in one transaction, each row only if it still holds the value read.
/// An interrupted run leaves every value under one of the ring's keys; running again finishes.
pub async fn rekey(
    store: &Store,
    keyring: &Keyring,
    mut on_progress: impl FnMut(RekeyProgress),
) -> Result<Vec<ColumnRekey>, MasterKeyError> {
    let mut total = 0;
    for field in SecretField::ALL {
        total += survey(store, keyring, field).await?;
    }
    let mut progress = RekeyProgress { done: 0, total };
    on_progress(progress);

    let mut summary = Vec::new();
    for field in SecretField::ALL {
        summary.push(rekey_column(store, keyring, field, &mut progress, &mut on_progress).await?);
    }
    // A database that never started a server has no key check yet; `rekey` leaves it with one.
    check(store, keyring).await?;
    Ok(summary)
}

/// Opens every value of `field`; answers how many are not yet under the current key.
async fn survey(store: &Store, keyring: &Keyring, field: SecretField) -> Result<u64, MasterKeyError> {
    let mut to_move = 0;
    let mut after = SealedRowKey::default();
    loop {
        let page = store.sealed_page(field, &after, PAGE).await?;
        for value in &page {
            keyring.open_field(field, &value.row.context(), &value.sealed).map_err(MasterKeyError::Unopenable)?;
            to_move += u64::from(!keyring.is_current(&value.sealed));
        }
        match page.last() {
            Some(last) if page.len() == PAGE => after = last.row.clone(),
            _ => return Ok(to_move),
        }
    }
}

async fn rekey_column(
    store: &Store,
    keyring: &Keyring,
    field: SecretField,
    progress: &mut RekeyProgress,
    on_progress: &mut impl FnMut(RekeyProgress),
) -> Result<ColumnRekey, MasterKeyError> {
    let mut column = ColumnRekey { column: field.label(), resealed: 0, already_current: 0, changed_meanwhile: 0 };
    let mut after = SealedRowKey::default();
    loop {
        let page = store.sealed_page(field, &after, PAGE).await?;
        let mut reseals = Vec::new();
        for value in &page {
            if keyring.is_current(&value.sealed) {
                column.already_current += 1;
                continue;
            }
            let context = value.row.context();
            // Opened in the survey; a value that changed since is opened here again, or stops the run.
            let plaintext =
                keyring.open_field(field, &context, &value.sealed).map_err(MasterKeyError::ChangedUnderUnknownKey)?;
            reseals.push(Reseal {
                row: value.row.clone(),
                old: value.sealed.clone(),
                new: keyring.seal_field(field, &context, &plaintext),
            });
        }
        if !reseals.is_empty() {
            let resealed = store.reseal(field, &reseals).await?;
            column.resealed += resealed;
            column.changed_meanwhile += reseals.len() as u64 - resealed;
            progress.done = (progress.done + reseals.len() as u64).min(progress.total);
            on_progress(*progress);
        }
        match page.last() {
            Some(last) if page.len() == PAGE => after = last.row.clone(),
            _ => return Ok(column),
        }
    }
}
