//! HTTP handlers, one file per resource, and the extractors that turn bad input into 400s.

use axum::routing::get;
use axum::Router;

use crate::app::AppState;

pub mod app;
pub mod app_setting;
pub mod customer;
mod extract;
pub mod ops;
pub mod token;

pub use extract::{ClientAddr, JsonBody, QueryParams};

/// The `/v2/integrations` routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/token", axum::routing::post(token::create))
        .route("/customer", get(customer::get).post(customer::create).delete(customer::delete))
        .route("/app", get(app::get).post(app::create).put(app::update).delete(app::delete))
        .route("/app_setting", get(app_setting::get).post(app_setting::set).delete(app_setting::delete))
}
