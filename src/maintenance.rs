//! Background housekeeping: purging expired tokens and finished webhook deliveries past their retention.

use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::app::AppState;
use crate::domain::time::now_ms;

const EVERY: Duration = Duration::from_secs(3600);

pub async fn run(state: AppState, shutdown: CancellationToken) {
    loop {
        match state.store.purge_expired_tokens(now_ms()).await {
            Ok(0) => {}
            Ok(purged) => tracing::info!(purged, "expired tokens purged"),
            Err(error) => tracing::warn!(%error, "purging expired tokens failed"),
        }
        let retention_ms = state.config.webhook_retention.as_millis() as i64;
        match state.store.purge_finished_deliveries(now_ms() - retention_ms).await {
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
