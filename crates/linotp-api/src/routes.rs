//! The whole HTTP application: every endpoint group on the shared layers.

use axum::Router;

use crate::app::AppState;
use crate::http::{AppBuilder, HttpSettings};
use crate::{admin, api_v2, system, system_api, validate};

/// The router `linotp-server` serves.
pub fn router(state: &AppState, http: HttpSettings) -> Router {
    AppBuilder::new(http)
        .merge(validate::routes(state))
        .merge(admin::routes(state))
        .merge(system::routes(state))
        .merge(system_api::routes(state))
        .merge(api_v2::routes(state))
        .health_probe(system::health_probe(state))
        .build()
}
