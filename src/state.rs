//! What every request handler can reach: the store, the configuration, the upstream, the outbox
//! and the services above them.

use std::sync::Arc;

use crate::config::Config;
use crate::dispatch::{self, Outbox, OutboxConsumer};
use crate::exotel::Exotel;
use crate::services::call_events::CallEvents;
use crate::services::webhook_test::WebhookTester;
use crate::store::Store;
use crate::telemetry;
use crate::throttle::FailureThrottle;

/// What every handler can reach. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub config: Arc<Config>,
    pub token_failures: Arc<FailureThrottle>,
    /// Failed admin tokens (`/admin/...`), counted apart from `POST /token`'s with the same limits.
    pub admin_failures: Arc<FailureThrottle>,
    pub exotel: Arc<Exotel>,
    /// Queues webhooks for this process's dispatcher.
    pub outbox: Outbox,
    /// Records call events and queues their webhooks.
    pub call_events: CallEvents,
    /// Sends sample webhooks (`POST /app_setting/test`).
    pub webhook_tester: WebhookTester,
}

impl AppState {
    /// The state, and the consumer end of its outbox, for this process's dispatcher to own.
    pub fn new(store: Store, config: Config) -> (Self, OutboxConsumer) {
        telemetry::metrics::handle();
        let token_failures = Arc::new(FailureThrottle::new(config.token_failure_limit, config.token_failure_window));
        let admin_failures = Arc::new(FailureThrottle::new(config.token_failure_limit, config.token_failure_window));
        let exotel = Arc::new(Exotel::new(&config));
        let (outbox, consumer) = dispatch::new_pair(&config);
        let call_events = CallEvents::new(store.clone(), outbox.clone(), &config);
        let webhook_tester = WebhookTester::new(store.clone(), &config);
        let state = Self {
            store,
            config: Arc::new(config),
            token_failures,
            admin_failures,
            exotel,
            outbox,
            call_events,
            webhook_tester,
        };
        (state, consumer)
    }
}
