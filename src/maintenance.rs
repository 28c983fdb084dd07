//! Background housekeeping: purging expired tokens.

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
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(EVERY) => {}
        }
    }
}
