//! HTTP tests of integrations-core, driven in-process. With `--features pg-tests` every test
//! runs on Postgres (`DATABASE_URL`) instead of SQLite.

mod helpers;

mod admin;
mod app;
mod app_setting;
mod attempt_log;
mod call;
mod connections;
mod console;
mod console_link;
mod customer;
mod delivery_log;
mod developer_loop;
mod device;
mod envelope;
mod exotel_ccm;
mod guard;
mod input;
mod master_key;
mod metrics;
mod migrations;
mod openapi;
mod operator_cli;
mod outbound;
mod outbox;
mod pagination;
mod passthru_key;
mod process;
mod receiver;
mod rotation;
mod security;
mod simulator;
mod startup;
mod storage;
mod store;
mod strict_types;
mod timeline;
mod timeouts;
mod token;
mod usermapping;
