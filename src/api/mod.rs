//! HTTP handlers, one file per resource, and the extractors that turn bad input into 400s.

use axum::routing::get;
use axum::Router;

use crate::app::AppState;

pub mod app;
pub mod app_setting;
pub mod call;
pub mod customer;
pub mod device;
mod extract;
pub mod ops;
pub mod token;
pub mod usermapping;
pub mod webhook;

pub use extract::{ClientAddr, JsonBody, QueryParams};

/// The `/v2/integrations` routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/token", axum::routing::post(token::create))
        .route("/customer", get(customer::get).post(customer::create).delete(customer::delete))
        .route("/app", get(app::get).post(app::create).put(app::update).delete(app::delete))
        .route("/app_setting", get(app_setting::get).post(app_setting::set).delete(app_setting::delete))
        .route("/usermapping", get(usermapping::get).post(usermapping::create).delete(usermapping::delete_all))
        .route("/users/{app_user_id}", axum::routing::delete(usermapping::delete_one))
        .route("/device", axum::routing::put(device::update))
        .route("/call/inbound_call/{app_id}", get(call::inbound).post(call::inbound))
        .route("/call/outbound_call", axum::routing::post(call::outbound))
        .route("/call/status_callback/{app_id}", axum::routing::post(call::status_callback))
        .route("/call/{call_sid}", get(call::get))
        .route("/webhook_deliveries", get(webhook::list))
        .route("/webhook_deliveries/{id}/retry", axum::routing::post(webhook::retry))
}
