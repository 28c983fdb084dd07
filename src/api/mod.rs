//! HTTP handlers, one file per resource, and the extractors that turn bad input into 400s.

use axum::Router;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::state::AppState;

pub mod admin;
pub mod app;
pub mod app_setting;
pub mod auth;
pub mod call;
pub mod calls;
pub mod console;
pub mod console_link;
pub mod customer;
pub mod device;
mod extract;
pub mod openapi;
pub mod ops;
mod pagination;
pub mod passthru;
pub mod sandbox;
pub mod secret;
pub mod token;
pub mod usermapping;
pub mod webhook;

pub use extract::{ClientAddr, JsonBody, QueryParams};

/// Where the API routes are nested: the server serves them, and the document lists them, under it.
pub const BASE_PATH: &str = "/v2/integrations";

/// Request bodies larger than this are refused with 413.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// The `/v2/integrations` routes.
pub fn routes() -> Router<AppState> {
    documented_routes().split_for_parts().0
}

/// The `/v2/integrations` routes with their OpenAPI operations. Each handler's `#[utoipa::path]`
/// gives both its route (path and methods) and its documentation, so the router and the document
/// ([`openapi::document`]) cannot drift apart.
pub fn documented_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::default()
        .routes(routes!(token::create))
        .routes(routes!(customer::get, customer::create, customer::delete))
        .routes(routes!(secret::rotate_customer))
        .routes(routes!(app::get, app::create, app::update, app::delete))
        .routes(routes!(secret::rotate_app))
        .routes(routes!(passthru::get, passthru::update))
        .routes(routes!(console_link::create))
        .routes(routes!(console_link::exchange))
        .routes(routes!(app_setting::get, app_setting::set, app_setting::delete))
        .routes(routes!(app_setting::test))
        .routes(routes!(usermapping::get, usermapping::create, usermapping::delete_all))
        .routes(routes!(usermapping::delete_one))
        .routes(routes!(device::update))
        .routes(routes!(call::inbound))
        .routes(routes!(call::outbound))
        .routes(routes!(call::status_callback))
        .routes(routes!(call::get))
        .routes(routes!(sandbox::inbound_call))
        .routes(routes!(calls::list))
        .routes(routes!(calls::events))
        .routes(routes!(webhook::list))
        .routes(routes!(webhook::retry))
        .routes(routes!(webhook::recover))
        .routes(routes!(webhook::get))
        .routes(routes!(admin::list_customers))
        .routes(routes!(admin::get_customer, admin::delete_customer))
        .routes(routes!(admin::set_app_active))
        .routes(routes!(console_link::create_for_operator))
        .routes(routes!(admin::health))
        .routes(routes!(openapi::serve))
}
