//! Remote authentication servers, as named by the `authentication/forward_server` policy:
//! `radius://host:port/?secret=…` and `http(s)://host:port/validate/check`.
//!
//! The policy stores a RADIUS secret encrypted as `encsecret` (LinOTP's
//! `ForwardServerPolicy.prepare_forward`); [`RemoteServer::parse`] decrypts it. A server that
//! cannot be reached gives way to the next one in the list; a server that answers decides.

mod http;
mod radius;
mod url;

use std::path::PathBuf;
use std::time::Duration;

use linotp_crypto::{SecretBytes, SecurityModule};
use serde_json::{Map, Value};

use crate::error::{ProviderError, Result};

/// One remote server.
#[derive(Debug)]
pub struct RemoteServer {
    target: Target,
    /// The URL without secrets, for logs and errors.
    shown: String,
}

#[derive(Debug)]
enum Target {
    Radius(radius::RadiusServer),
    Http(http::HttpServer),
}

/// What the remote server is asked.
#[derive(Debug, Clone, Copy)]
pub struct RemoteCheck<'a> {
    /// The user's login name.
    pub login: &'a str,
    /// The user's realm, when known (sent to LinOTP servers as `realm`).
    pub realm: Option<&'a str>,
    /// What the user typed (PIN and OTP, or a challenge answer).
    pub password: &'a str,
    /// Further request parameters (`transactionid`/`state` of a remote challenge, …).
    pub options: &'a [(String, String)],
}

/// The remote server's decision.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RemoteAnswer {
    /// Whether it accepted the password.
    pub accepted: bool,
    /// A challenge it opened (`transactionid`, `message`), or the detail it returned.
    pub detail: Map<String, Value>,
}

/// How remote servers are asked.
#[derive(Debug, Clone)]
pub struct RemoteSettings {
    /// `RADIUS_NAS_IDENTIFIER`.
    pub nas_identifier: String,
    /// `TLS_CA_CERTIFICATES_FILE`: CA bundle for `https://` servers that ask for
    /// `verify_ssl_certificate=true` (`None`: the file is missing; such servers then fail).
    pub ca_file: Option<PathBuf>,
    /// How long one attempt may take (connect, send, answer).
    pub timeout: Duration,
    /// How often a RADIUS request is sent before the server counts as unreachable (UDP).
    pub radius_attempts: u32,
}

impl Default for RemoteSettings {
    fn default() -> Self {
        RemoteSettings {
            nas_identifier: "LinOTP".to_owned(),
            ca_file: None,
            timeout: Duration::from_secs(5),
            radius_attempts: 3,
        }
    }
}

impl RemoteServer {
    /// Parses one server URL; `encsecret` is decrypted with `security`, a clear `secret` is
    /// taken as it is.
    pub fn parse(url: &str, security: &dyn SecurityModule) -> Result<RemoteServer> {
        let parsed = url::ParsedUrl::parse(url)?;
        let shown = parsed.without_secrets();
        let secret =
            match (parsed.query("encsecret"), parsed.query("secret")) {
                (Some(encrypted), _) => {
                    Some(security.decrypt_pin(encrypted).map_err(|source| {
                        ProviderError::Secret {
                            server: shown.clone(),
                            source,
                        }
                    })?)
                }
                (None, Some(clear)) => Some(SecretBytes::new(clear.as_bytes().to_vec())),
                (None, None) => None,
            };
        let target = match parsed.scheme.as_str() {
            "radius" => Target::Radius(radius::RadiusServer::new(&parsed, secret)?),
            "http" | "https" => Target::Http(http::HttpServer::new(&parsed)?),
            other => {
                return Err(ProviderError::Definition(format!(
                    "unsupported scheme '{other}' in {shown}"
                )));
            }
        };
        Ok(RemoteServer { target, shown })
    }

    /// Parses the space-separated server list of a `forward_server` policy value.
    pub fn parse_list(servers: &str, security: &dyn SecurityModule) -> Result<Vec<RemoteServer>> {
        servers
            .split_whitespace()
            .map(|url| RemoteServer::parse(url, security))
            .collect()
    }

    /// Asks this server.
    pub async fn check(
        &self,
        check: &RemoteCheck<'_>,
        settings: &RemoteSettings,
    ) -> Result<RemoteAnswer> {
        match &self.target {
            Target::Radius(server) => server.check(check, settings, &self.shown).await,
            Target::Http(server) => server.check(check, settings, &self.shown).await,
        }
    }
}

impl std::fmt::Display for RemoteServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.shown)
    }
}

/// Asks the servers in order until one answers; its answer decides. `Err` when none answered.
pub async fn check_first_answering(
    servers: &[RemoteServer],
    check: &RemoteCheck<'_>,
    settings: &RemoteSettings,
) -> Result<RemoteAnswer> {
    let mut last_error = ProviderError::Definition("no servers".to_owned());
    for server in servers {
        match server.check(check, settings).await {
            Ok(answer) => return Ok(answer),
            Err(error @ ProviderError::Unreachable { .. }) => {
                tracing::warn!(%error, "remote server unreachable; trying the next one");
                last_error = error;
            }
            Err(error) => return Err(error),
        }
    }
    Err(last_error)
}
