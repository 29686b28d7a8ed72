//! The `/system` endpoints (being written).

use axum::Router;

use crate::app::AppState;

/// The routes of this endpoint group, with the application state applied.
pub fn routes(state: &AppState) -> Router {
    let _ = state;
    Router::new()
}
