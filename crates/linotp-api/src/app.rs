//! The application: what every service needs (database pool, security module, system
//! configuration, audit log, admin auth, clock), shared by all requests as [`AppState`].

use std::sync::Arc;

use linotp_crypto::SecurityModule;
use linotp_store::{AnyConnection, Store};

use crate::audit::AuditLog;
use crate::auth::{AdminAuth, Clock};
use crate::error::{ApiError, Result};
use crate::sysconfig::{ConfigCache, SystemConfig};

/// Names and switches the services read from the server settings (never from the request).
#[derive(Debug, Clone)]
pub struct AppOptions {
    /// `ADMIN_REALM_NAME`: the realm of the administrators (lower-case).
    pub admin_realm: String,
    /// `ADMIN_RESOLVER_NAME`: the local-admin resolver (group in `imported_user`).
    pub admin_resolver: String,
    /// This node's name in audit rows (`linotp_server`).
    pub server_name: String,
    /// `TLS_CA_CERTIFICATES_FILE`: the CA bundle LDAP resolvers without a `CACERTIFICATE` of
    /// their own trust for `ldaps://` and STARTTLS (`None`: the system's roots).
    pub tls_ca_certificates_file: Option<std::path::PathBuf>,
    /// How remote authentication servers (`forward_server`) are asked.
    pub remote: linotp_providers::remote::RemoteSettings,
}

impl Default for AppOptions {
    fn default() -> Self {
        AppOptions {
            admin_realm: "linotp_admins".to_owned(),
            admin_resolver: "LinOTP_local_admins".to_owned(),
            server_name: "localhost".to_owned(),
            tls_ca_certificates_file: None,
            remote: linotp_providers::remote::RemoteSettings::default(),
        }
    }
}

/// Everything a request may use. Cheap to share: handlers get it as `State<AppState>`.
#[derive(Debug)]
pub struct App {
    /// The database.
    pub store: Store,
    /// Encryption keys (encKey) for seeds, PINs, config secrets and MACs.
    pub security: Arc<dyn SecurityModule>,
    /// The `Config` table, cached until another node or request changes it.
    pub config: ConfigCache,
    /// Where audit rows go (a background writer; never on the request's critical path).
    pub audit: AuditLog,
    /// Admin JWT + CSRF handling.
    pub auth: AdminAuth,
    /// The request clock (a fixed one in tests).
    pub clock: Arc<dyn Clock>,
    /// Settings the services need.
    pub options: AppOptions,
}

/// The shared application.
pub type AppState = Arc<App>;

impl App {
    /// Runs blocking database work on tokio's blocking pool with a pooled connection, so the
    /// async workers never wait on the database.
    pub async fn with_conn<T, F>(self: &Arc<Self>, work: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&App, &mut AnyConnection) -> Result<T> + Send + 'static,
    {
        let app = Arc::clone(self);
        tokio::task::spawn_blocking(move || {
            let mut conn = app.store.connection()?;
            work(&app, &mut conn)
        })
        .await
        .map_err(|error| {
            tracing::error!(%error, "database task failed");
            ApiError::Unexpected
        })?
    }

    /// The current system configuration (one cheap stamp query; reloads when it changed).
    pub fn system_config(&self, conn: &mut AnyConnection) -> Result<Arc<SystemConfig>> {
        self.config.current(conn)
    }

    /// Unix seconds now, by the application clock.
    pub fn now(&self) -> i64 {
        self.clock.now()
    }
}
