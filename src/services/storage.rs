//! Opening the storage the configuration names, the one way the server and the command line do it.

use crate::config::Config;
use crate::store::{Store, StoreError, StoreResult};

use super::master_key::{self, MasterKeyError};

/// Why the storage did not open: it is unreachable or its migrations failed, or `MASTER_KEY` does
/// not open its secrets.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    MasterKey(#[from] MasterKeyError),
}

/// Connects to `DATABASE_URL` with the configured pool, without migrating (for `migrate` and `rekey`,
/// which do that themselves).
pub async fn connect(config: &Config) -> StoreResult<Store> {
    Store::connect(config.database_url.expose(), config.database_max_connections, config.database_acquire_timeout).await
}

/// Connects, applies the pending migrations and proves `MASTER_KEY` on the stored secrets: what a
/// server's start and every command that reads secrets do first.
pub async fn open(config: &Config) -> Result<Store, OpenError> {
    let store = connect(config).await?;
    store.migrate().await?;
    master_key::check(&store, &config.keyring).await?;
    Ok(store)
}
