//! Serving the application: plain HTTP or HTTPS (rustls with the ring provider), graceful
//! shutdown on SIGTERM / SIGINT (running requests finish, then the audit writer stores and
//! signs what is queued), and [`run`], the whole server as `linotp-server` and `linotp run`
//! start it.
//!
//! ```no_run
//! # async fn start() -> Result<(), linotp_api::bootstrap::StartupError> {
//! let settings = linotp_settings::Settings::load()
//!     .map_err(linotp_api::bootstrap::StartupError::failure)?;
//! // Listens on LISTEN (default 127.0.0.1:5000) until SIGTERM or Ctrl-C.
//! linotp_api::server::run(&settings, None).await
//! # }
//! ```

use std::future::{Future, IntoFuture};
use std::io;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::serve::{Listener, ListenerExt};
use linotp_settings::{LogFormat, Settings};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::rustls::{self, ServerConfig};
use tokio_rustls::server::TlsStream;

use crate::audit::WriterReport;
use crate::bootstrap::{self, Prepared, StartupError};
use crate::routes;

/// How long running requests may take to finish after the shutdown signal.
pub const DRAIN_TIMEOUT: Duration = Duration::from_secs(30);
/// How long the audit writer may keep signing pending rows at shutdown (the rest is
/// signed after the next start).
pub const AUDIT_SIGNING_GRACE: Duration = Duration::from_secs(20);
/// Longest TLS handshake before the connection is dropped.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// The certificate chain and key of `TLS_CERT_FILE` / `TLS_KEY_FILE`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    /// PEM certificate chain, leaf first.
    pub cert: PathBuf,
    /// PEM private key (PKCS#8, PKCS#1 or SEC1).
    pub key: PathBuf,
}

impl TlsFiles {
    /// Both files from the settings, none, or an error when only one is set.
    pub fn from_settings(settings: &Settings) -> Result<Option<TlsFiles>, StartupError> {
        match (&settings.tls_cert_file, &settings.tls_key_file) {
            (Some(cert), Some(key)) => Ok(Some(TlsFiles {
                cert: cert.clone(),
                key: key.clone(),
            })),
            (None, None) => Ok(None),
            _ => Err(StartupError::failure(
                "TLS_CERT_FILE and TLS_KEY_FILE must be set together",
            )),
        }
    }
}

fn tls_file_error(path: &Path, what: &str, error: impl std::fmt::Display) -> StartupError {
    if path.exists() {
        StartupError::failure(format!(
            "cannot read the TLS {what} {}: {error}",
            path.display()
        ))
    } else {
        StartupError::missing(format!("no TLS {what} at {}", path.display()))
    }
}

/// A rustls server configuration (ring provider, TLS 1.2 and 1.3, HTTP/1.1 ALPN).
pub fn tls_config(files: &TlsFiles) -> Result<Arc<ServerConfig>, StartupError> {
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&files.cert)
        .map_err(|error| tls_file_error(&files.cert, "certificate", error))?
        .collect::<Result<_, _>>()
        .map_err(|error| tls_file_error(&files.cert, "certificate", error))?;
    if certs.is_empty() {
        return Err(StartupError::failure(format!(
            "the TLS certificate file {} holds no certificate",
            files.cert.display()
        )));
    }
    let key = PrivateKeyDer::from_pem_file(&files.key)
        .map_err(|error| tls_file_error(&files.key, "key", error))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(StartupError::failure)?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|error| {
            StartupError::failure(format!("unusable TLS certificate or key: {error}"))
        })?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// Accepted TLS connections: handshakes run in their own tasks, so a slow client never
/// holds up the others.
struct TlsListener {
    accepted: mpsc::Receiver<(TlsStream<TcpStream>, SocketAddr)>,
    local: SocketAddr,
    acceptor: JoinHandle<()>,
}

impl TlsListener {
    fn new(listener: TcpListener, config: Arc<ServerConfig>) -> io::Result<TlsListener> {
        let local = listener.local_addr()?;
        let (sender, accepted) = mpsc::channel(64);
        let acceptor = tokio::spawn(accept_tls(listener, TlsAcceptor::from(config), sender));
        Ok(TlsListener {
            accepted,
            local,
            acceptor,
        })
    }
}

impl Drop for TlsListener {
    fn drop(&mut self) {
        self.acceptor.abort();
    }
}

impl Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.accepted.recv().await {
            Some(connection) => connection,
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        Ok(self.local)
    }
}

async fn accept_tls(
    listener: TcpListener,
    acceptor: TlsAcceptor,
    sender: mpsc::Sender<(TlsStream<TcpStream>, SocketAddr)>,
) {
    loop {
        let (tcp, peer) = match listener.accept().await {
            Ok(connection) => connection,
            Err(error) => {
                // Out of file descriptors and the like: back off instead of spinning.
                tracing::warn!(%error, "accepting a connection failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let _ = tcp.set_nodelay(true);
        let acceptor = acceptor.clone();
        let sender = sender.clone();
        tokio::spawn(async move {
            match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
                Ok(Ok(stream)) => {
                    let _ = sender.send((stream, peer)).await;
                }
                Ok(Err(error)) => tracing::debug!(%peer, %error, "TLS handshake failed"),
                Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
            }
        });
    }
}

/// Serves `router` until `shutdown` resolves, then gives running requests up to
/// [`DRAIN_TIMEOUT`] to finish. With `tls`, connections are TLS.
pub async fn serve_router<F>(
    listener: TcpListener,
    tls: Option<Arc<ServerConfig>>,
    router: Router,
    shutdown: F,
) -> io::Result<()>
where
    F: Future<Output = ()> + Send + 'static,
{
    let (fired, signalled) = oneshot::channel::<()>();
    let graceful = async move {
        shutdown.await;
        let _ = fired.send(());
    };
    let make_service = router.into_make_service_with_connect_info::<SocketAddr>();
    let serving: std::pin::Pin<Box<dyn Future<Output = io::Result<()>> + Send>> = match tls {
        None => {
            let listener = listener.tap_io(|tcp: &mut TcpStream| {
                // Replies are written whole; Nagle would only delay the next one.
                let _ = tcp.set_nodelay(true);
            });
            Box::pin(
                axum::serve(listener, make_service)
                    .with_graceful_shutdown(graceful)
                    .into_future(),
            )
        }
        Some(config) => {
            let listener = TlsListener::new(listener, config)?.tap_io(|_| {});
            Box::pin(
                axum::serve(listener, make_service)
                    .with_graceful_shutdown(graceful)
                    .into_future(),
            )
        }
    };
    let drain_deadline = async move {
        if signalled.await.is_ok() {
            tokio::time::sleep(DRAIN_TIMEOUT).await;
        } else {
            std::future::pending::<()>().await;
        }
    };
    tokio::select! {
        result = serving => result,
        () = drain_deadline => {
            tracing::warn!(
                timeout_s = DRAIN_TIMEOUT.as_secs(),
                "requests still running after the drain timeout; stopping anyway"
            );
            Ok(())
        }
    }
}

/// Sends `tracing` output to stderr: text or JSON lines (`LOG_FORMAT`), at `LOG_LEVEL`
/// unless `RUST_LOG` says otherwise. Every line of a request carries its `request_id` (the
/// HTTP layer opens a span per request). A second call keeps the first subscriber.
pub fn init_logging(settings: &Settings) {
    use tracing_subscriber::EnvFilter;
    let level = settings.log_level.to_tracing().to_string().to_lowercase();
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(level));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_target(true);
    let installed = match settings.log_format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .try_init(),
    };
    if installed.is_ok() {
        for warning in &settings.warnings {
            tracing::warn!("{warning}");
        }
    }
}

/// Installs the SIGTERM and SIGINT (Ctrl-C) handlers now and returns the future that
/// resolves on the first of them. Installing early matters: a signal that arrives before the
/// handlers exist would kill the process without a shutdown.
pub fn shutdown_signal() -> io::Result<impl Future<Output = ()> + Send + 'static> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut terminate = signal(SignalKind::terminate())?;
        let mut interrupt = signal(SignalKind::interrupt())?;
        Ok(async move {
            tokio::select! {
                _ = terminate.recv() => tracing::info!("SIGTERM received, shutting down"),
                _ = interrupt.recv() => tracing::info!("SIGINT received, shutting down"),
            }
        })
    }
    #[cfg(not(unix))]
    {
        Ok(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                tracing::info!("Ctrl-C received, shutting down");
            } else {
                std::future::pending::<()>().await;
            }
        })
    }
}

/// Serves a prepared application on `listener` until `shutdown`, then stops the audit
/// writer (everything queued is stored).
pub async fn serve_prepared<F>(
    prepared: Prepared,
    listener: TcpListener,
    tls: Option<Arc<ServerConfig>>,
    shutdown: F,
) -> Result<Option<WriterReport>, StartupError>
where
    F: Future<Output = ()> + Send + 'static,
{
    let Prepared {
        state,
        http,
        audit_writer,
        ..
    } = prepared;
    let router = routes::router(&state, http);
    let served = serve_router(listener, tls, router, shutdown).await;
    let report = match audit_writer {
        Some(writer) => Some(writer.shutdown(AUDIT_SIGNING_GRACE).await),
        None => None,
    };
    served.map_err(|error| StartupError::failure(format!("serving failed: {error}")))?;
    Ok(report)
}

/// The whole server: prepare (initialising an empty data directory, printing a generated
/// admin password once on stdout), listen on `listen` or `LISTEN`, serve until SIGTERM /
/// SIGINT, stop cleanly.
pub async fn run(settings: &Settings, listen: Option<SocketAddr>) -> Result<(), StartupError> {
    let shutdown = shutdown_signal()
        .map_err(|error| StartupError::failure(format!("cannot handle signals: {error}")))?;
    let tls = match TlsFiles::from_settings(settings)? {
        Some(files) => Some(tls_config(&files)?),
        None => None,
    };
    let owned = settings.clone();
    let prepared = tokio::task::spawn_blocking(move || bootstrap::prepare(&owned))
        .await
        .map_err(|error| StartupError::failure(format!("start-up task failed: {error}")))??;
    if let Some(first) = &prepared.first_start {
        tracing::info!(admin = %first.admin_username, "data directory initialised");
        if let Some(password) = &first.generated_password {
            println!(
                "Password for '{}' account set to '{}'\nPlease change it at your earliest \
                 convenience (`linotp local-admins password {}`).",
                first.admin_username,
                password.as_str(),
                first.admin_username
            );
        }
    }
    let address = listen.unwrap_or(settings.listen);
    let listener = TcpListener::bind(address)
        .await
        .map_err(|error| StartupError::failure(format!("cannot listen on {address}: {error}")))?;
    let local = listener
        .local_addr()
        .map_err(|error| StartupError::failure(format!("listener address: {error}")))?;
    tracing::info!(
        address = %local,
        tls = tls.is_some(),
        "linotp-server listening"
    );
    // The line scripts and tests wait for; also when logging is quiet.
    eprintln!(
        "linotp-server listening on {}://{local}",
        if tls.is_some() { "https" } else { "http" }
    );
    serve_prepared(prepared, listener, tls, shutdown).await?;
    Ok(())
}
