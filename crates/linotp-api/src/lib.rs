//! linotp-rs application and HTTP layer: LinOTP's wire format on top of axum.
//!
//! This crate owns everything a LinOTP client sees: the reply envelope ([`reply`]), error
//! codes ([`error`]), parameter parsing ([`params`]), admin JWT + CSRF ([`auth`]) and the
//! shared HTTP layers and conventions ([`http`]). Services return typed results; handlers
//! turn them into replies here.
//!
//! # Adding an endpoint module
//!
//! A handler takes [`Params`] (query + form or JSON body, merged as LinOTP does) and returns
//! a [`JsonReply`] or an [`ApiError`]. Endpoints are grouped with [`Endpoints`], which applies
//! LinOTP's method rules (POST-only list, GET+POST otherwise, `/validate/x_y` also as
//! `/validate/x-y`); [`Endpoints::admin`] groups sit behind the admin JWT + CSRF gate
//! ([`AdminAuth`]). [`AppBuilder`] adds the
//! common layers and the store-free endpoints, and [`serve`] runs the result.
//!
//! ```
//! use std::sync::Arc;
//! use linotp_api::auth::{AdminAuth, AdminIdentity, JwtKey, JwtSettings, MemoryBlocklist, SystemClock};
//! use linotp_api::reply::reply_id;
//! use linotp_api::{ApiError, AppBuilder, Endpoints, HttpSettings, JsonReply, Params};
//!
//! async fn check(params: Params) -> Result<JsonReply, ApiError> {
//!     let user = params.required("user")?;
//!     let accepted = user == "alice"; // the validate service decides this
//!     Ok(JsonReply::result(accepted).id(reply_id::VALIDATE))
//! }
//!
//! async fn remove(_admin: AdminIdentity, params: Params) -> Result<JsonReply, ApiError> {
//!     let serial = params.required("serial")?;
//!     Err(ApiError::NoTokenWithSerial { serial: Some(serial.into_owned()) })
//! }
//!
//! # fn main() -> Result<(), ApiError> {
//! let clock = Arc::new(SystemClock);
//! let auth = AdminAuth::new(
//!     JwtKey::new(b"key derived from encKey by the server")?,
//!     JwtSettings::default(),
//!     clock.clone(),
//!     Arc::new(MemoryBlocklist::new(clock)),
//! );
//! let validate = Endpoints::new().endpoint("/validate/check", check);
//! let admin = Endpoints::admin(&auth).endpoint("/admin/remove", remove);
//! let app = AppBuilder::new(HttpSettings::default()).merge(validate).merge(admin).build();
//! // linotp_api::serve(listener, app, shutdown_signal).await?;
//! # let _ = app;
//! # Ok(())
//! # }
//! ```

pub mod admin;
mod admin_request;
pub mod api_v2;
pub mod app;
pub mod audit;
pub mod auth;
pub mod bootstrap;
pub mod error;
pub mod http;
pub mod params;
pub mod policy;
pub mod pyfmt;
pub mod reply;
pub mod routes;
pub mod server;
pub mod sysconfig;
pub mod system;
pub mod system_api;
#[cfg(feature = "testing")]
pub mod test_app;
#[cfg(feature = "testing")]
pub mod testing;
pub mod token_model;
pub mod users;
pub mod validate;

use std::future::Future;
use std::pin::Pin;

pub use app::{App, AppOptions, AppState};
pub use auth::{AdminAuth, AdminIdentity, AdminSession};
pub use error::{ApiError, ErrorReply, Result};
pub use http::{AppBuilder, ClientIp, Endpoints, HttpSettings, Methods, RequestId, serve};
pub use params::Params;
pub use reply::{JsonReply, SimpleCheck};

/// A boxed future, for the object-safe async traits ([`auth::JwtBlocklist`],
/// [`http::HealthProbe`]) the server implements on top of its database.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;
