//! Bound service connections to the directory, shared by the requests of one resolver:
//! failover over the configured URIs, a bound on concurrent operations, timeouts on every
//! step.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ldap3::{Ldap, LdapConnAsync, LdapConnSettings, LdapError};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::config::LdapSettings;
use crate::error::{ResolverError, Result};

/// How long a server that failed is tried only after the others (LinOTP blocks it 30 s).
const BLOCK_AFTER_FAILURE: Duration = Duration::from_secs(30);

/// LDAP result code `invalidCredentials`.
pub(crate) const INVALID_CREDENTIALS: u32 = 49;

/// Why a connection attempt failed.
pub(crate) enum ConnectError {
    /// The server refused the credentials (rc 49): no other server is tried.
    InvalidCredentials,
    /// Unreachable, TLS failure, timeout, other errors: the next server is tried.
    Failed(String),
}

pub(crate) struct LdapPool {
    pub(crate) settings: Arc<LdapSettings>,
    tls: Option<Arc<rustls::ClientConfig>>,
    idle: Mutex<Vec<Ldap>>,
    permits: Arc<Semaphore>,
    blocked: Mutex<HashMap<String, Instant>>,
}

/// A service connection lent out with its permit.
pub(crate) struct Lease {
    pub(crate) ldap: Ldap,
    _permit: OwnedSemaphorePermit,
}

impl LdapPool {
    pub(crate) fn new(
        settings: Arc<LdapSettings>,
        tls: Option<Arc<rustls::ClientConfig>>,
        max_connections: usize,
    ) -> LdapPool {
        LdapPool {
            settings,
            tls,
            idle: Mutex::new(Vec::new()),
            permits: Arc::new(Semaphore::new(max_connections.max(1))),
            blocked: Mutex::new(HashMap::new()),
        }
    }

    fn name(&self) -> &str {
        &self.settings.name
    }

    /// The URIs in the order to try: servers that failed recently go last.
    fn uri_order(&self) -> Vec<String> {
        let now = Instant::now();
        let mut blocked = self.blocked.lock().unwrap_or_else(|p| p.into_inner());
        blocked.retain(|_, until| *until > now);
        let (fresh, failed): (Vec<&String>, Vec<&String>) = self
            .settings
            .uris
            .iter()
            .partition(|uri| !blocked.contains_key(*uri));
        fresh.into_iter().chain(failed).cloned().collect()
    }

    fn block(&self, uri: &str) {
        self.blocked
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(uri.to_owned(), Instant::now() + BLOCK_AFTER_FAILURE);
    }

    fn conn_settings(&self, uri: &str) -> LdapConnSettings {
        let settings = &self.settings;
        let mut conn = LdapConnSettings::new().set_conn_timeout(settings.connect_timeout);
        let tls = uri.starts_with("ldaps://") || settings.enforce_tls;
        if tls {
            if !settings.only_trusted_certs {
                conn = conn.set_no_tls_verify(true);
            } else if let Some(config) = &self.tls {
                conn = conn.set_config(config.clone());
            }
            if uri.starts_with("ldap://") {
                conn = conn.set_starttls(true);
            }
        }
        conn
    }

    /// Opens a connection to `uri` and binds as `dn`; the whole step is bounded by the
    /// connect plus the response timeout.
    pub(crate) async fn connect_one(
        &self,
        uri: &str,
        dn: &str,
        password: &str,
    ) -> std::result::Result<Ldap, ConnectError> {
        let settings = &self.settings;
        let budget = settings.connect_timeout + settings.response_timeout;
        let conn_settings = self.conn_settings(uri);
        let attempt = async {
            let (conn, mut ldap) = LdapConnAsync::with_settings(conn_settings, uri)
                .await
                .map_err(|error| ConnectError::Failed(describe(&error)))?;
            ldap3::drive!(conn);
            let bound = ldap
                .with_timeout(settings.response_timeout)
                .simple_bind(dn, password)
                .await
                .map_err(|error| ConnectError::Failed(describe(&error)))?;
            match bound.rc {
                0 => Ok(ldap),
                INVALID_CREDENTIALS => Err(ConnectError::InvalidCredentials),
                rc => Err(ConnectError::Failed(format!(
                    "bind failed: rc={rc} {}",
                    bound.text
                ))),
            }
        };
        match tokio::time::timeout(budget, attempt).await {
            Ok(result) => result,
            Err(_) => Err(ConnectError::Failed(format!(
                "no answer from {uri} within {budget:?}"
            ))),
        }
    }

    /// Binds as `dn` on the first server that answers (failover); `Ok(None)` when a server
    /// refused the credentials.
    pub(crate) async fn connect_bound(&self, dn: &str, password: &str) -> Result<Option<Ldap>> {
        let mut failures = Vec::new();
        for uri in self.uri_order() {
            match self.connect_one(&uri, dn, password).await {
                Ok(ldap) => return Ok(Some(ldap)),
                Err(ConnectError::InvalidCredentials) => return Ok(None),
                Err(ConnectError::Failed(reason)) => {
                    tracing::warn!(resolver = %self.name(), uri = %uri, %reason, "LDAP server failed");
                    self.block(&uri);
                    failures.push(format!("{uri}: {reason}"));
                }
            }
        }
        Err(ResolverError::unavailable(
            self.name(),
            format!("Unable to bind to servers: {}", failures.join("; ")),
        ))
    }

    /// A bound service connection (idle one, or a new one), waiting at most the response
    /// timeout for a free slot.
    pub(crate) async fn lease(&self) -> Result<Lease> {
        let permit = tokio::time::timeout(
            self.settings.response_timeout,
            self.permits.clone().acquire_owned(),
        )
        .await
        .map_err(|_| ResolverError::unavailable(self.name(), "all LDAP connections are busy"))?
        .map_err(|_| ResolverError::unavailable(self.name(), "LDAP pool closed"))?;
        loop {
            let idle = self.idle.lock().unwrap_or_else(|p| p.into_inner()).pop();
            match idle {
                Some(mut ldap) => {
                    if !ldap.is_closed() {
                        return Ok(Lease {
                            ldap,
                            _permit: permit,
                        });
                    }
                }
                None => break,
            }
        }
        let settings = &self.settings;
        let ldap = self
            .connect_bound(&settings.bind_dn, settings.bind_password.expose())
            .await?
            .ok_or_else(|| {
                ResolverError::unavailable(self.name(), "the service account (BINDDN) was refused")
            })?;
        Ok(Lease {
            ldap,
            _permit: permit,
        })
    }

    /// Puts a connection that worked back for the next request.
    pub(crate) fn give_back(&self, lease: Lease) {
        let Lease { ldap, _permit } = lease;
        self.idle
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(ldap);
    }

    /// A slot for an operation that does not use a pooled connection (password checks).
    pub(crate) async fn permit(&self) -> Result<OwnedSemaphorePermit> {
        tokio::time::timeout(
            self.settings.response_timeout,
            self.permits.clone().acquire_owned(),
        )
        .await
        .map_err(|_| ResolverError::unavailable(self.name(), "all LDAP connections are busy"))?
        .map_err(|_| ResolverError::unavailable(self.name(), "LDAP pool closed"))
    }
}

/// An ldap3 error as text (no secrets are in ldap3's errors).
pub(crate) fn describe(error: &LdapError) -> String {
    match error {
        LdapError::LdapResult { result } => {
            format!("rc={} {} {}", result.rc, result.text, result.matched)
                .trim()
                .to_owned()
        }
        other => other.to_string(),
    }
}
