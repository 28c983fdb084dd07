//! The operations the HTTP handlers and the command line share, above the store, the upstream and
//! the dispatcher and below `api/` and `cli`: registering customers, recording call events,
//! testing a webhook URL, the operator's view across tenants, the master keys over the stored
//! secrets (the start-up key check and `rekey`), and opening the storage itself.

pub mod call_events;
pub mod customers;
pub mod master_key;
pub mod operator;
pub mod storage;
pub mod webhook_test;
