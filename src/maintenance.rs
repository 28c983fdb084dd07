//! Background housekeeping: purging expired tokens, console links and finished webhook deliveries past their retention.

use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::domain::time::now_ms;
use crate::store::Store;

const EVERY: Duration = Duration::from_secs(3600);

/// Every hour until `shutdown`: purges expired tokens and console links, and finished deliveries older than `webhook_retention`.
pub async fn run(store: Store, webhook_retention: Duration, shutdown: CancellationToken) {
    loop {
        match store.purge_expired_tokens(now_ms()).await {
            Ok(0) => {}
            Ok(purged) => tracing::info!(purged, "expired tokens purged"),
            Err(error) => tracing::warn!(%error, "purging expired tokens failed"),
        }
        match store.purge_expired_console_links(now_ms()).await {
            Ok(0) => {}
            Ok(purged) => tracing::info!(purged, "expired console links purged"),
            Err(error) => tracing::warn!(%error, "purging expired console links failed"),
        }
        let retention_ms = webhook_retention.as_millis() as i64;
        match store.purge_finished_deliveries(now_ms() - retention_ms).await {
            Ok(0) => {}
            Ok(purged) => tracing::info!(purged, "finished webhook deliveries purged"),
            Err(error) => tracing::warn!(%error, "purging finished webhook deliveries failed"),
        }
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(EVERY) => {}
        }
    }
}
