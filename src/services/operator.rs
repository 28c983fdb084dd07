//! The operator's view across tenants, shared by `/admin/...` and the CLI's `customer list|show|delete`,
//! `app activate|deactivate` and `health`.

use crate::domain::time::now_ms;
use crate::envelope::Result;
use crate::store::{AppRow, CustomerRow, FailingApp, ListedCustomer, Store};

/// How many failing apps `health` names at most.
pub const FAILING_APPS_LIMIT: i64 = 20;

/// The window of `health`'s dead deliveries.
pub const FAILING_WINDOW_MS: i64 = 24 * 60 * 60 * 1000;

/// One page of customers in creation order, and the cursor of the next (`""` on the last page).
#[derive(Debug)]
pub struct CustomerPage {
    pub customers: Vec<ListedCustomer>,
    pub next: String,
}

/// Customers after the cursor `after` (0: from the first), at most `size`.
pub async fn customers_page(store: &Store, after: i64, size: i64) -> Result<CustomerPage> {
    let mut customers = store.list_customers_after(after, size + 1).await?;
    let more = customers.len() as i64 > size;
    customers.truncate(size as usize);
    let next = match customers.last() {
        Some(last) if more => last.seq.to_string(),
        _ => String::new(),
    };
    Ok(CustomerPage { customers, next })
}

/// Every customer in creation order (the CLI's `customer list`), read a page at a time.
pub async fn all_customers(store: &Store) -> Result<Vec<ListedCustomer>> {
    let mut all = Vec::new();
    let mut after = 0;
    loop {
        let page = store.list_customers_after(after, 500).await?;
        let Some(last) = page.last() else { break };
        after = last.seq;
        all.extend(page);
    }
    Ok(all)
}

/// A customer with its apps, oldest first; `None` when there is no such customer.
pub async fn customer_with_apps(store: &Store, customer_id: &str) -> Result<Option<(CustomerRow, Vec<AppRow>)>> {
    let Some(customer) = store.find_customer(customer_id).await? else {
        return Ok(None);
    };
    let apps = store.list_apps(&customer.id).await?;
    Ok(Some((customer, apps)))
}

/// Deletes a customer with everything it owns, as `DELETE /customer` does; false when there was none.
pub async fn delete_customer(store: &Store, customer_id: &str) -> Result<bool> {
    let deleted = store.delete_customer(customer_id).await?;
    if deleted {
        tracing::info!(customer_id, "customer deleted by the operator with all its apps");
    }
    Ok(deleted)
}

/// Switches any app on or off; `None` when there is no such app.
pub async fn set_app_active(store: &Store, app_id: &str, active: bool) -> Result<Option<AppRow>> {
    let app = store.set_app_active(app_id, active, now_ms()).await?;
    if let Some(app) = &app {
        tracing::info!(app_id, customer_id = %app.customer_id, active, "app switched by the operator");
    }
    Ok(app)
}

/// The state of the webhook queue and the tenants whose webhooks fail.
#[derive(Debug)]
pub struct Health {
    pub queue_depth: i64,
    pub oldest_pending_age_seconds: i64,
    pub failing_apps: Vec<FailingApp>,
}

/// Queue depth, the age of the oldest pending delivery (0 when none), and up to 20 apps with the
/// most deliveries that went dead in the last 24 hours and are still dead.
pub async fn health(store: &Store) -> Result<Health> {
    let now = now_ms();
    let (queue_depth, oldest) = store.pending_delivery_stats().await?;
    let failing_apps = store.failing_apps(now - FAILING_WINDOW_MS, FAILING_APPS_LIMIT).await?;
    Ok(Health {
        queue_depth,
        oldest_pending_age_seconds: oldest.map_or(0, |created| ((now - created) / 1000).max(0)),
        failing_apps,
    })
}
