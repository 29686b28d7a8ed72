//! Another LinOTP asked over HTTP(S): a form POST to its `/validate/check`.
//!
//! As in LinOTP, the server's certificate is checked only when the URL says
//! `verify_ssl_certificate=true` (then against `TLS_CA_CERTIFICATES_FILE`).

use std::sync::Arc;

use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Bytes;
use hyper::{Method, Request};
use hyper_util::rt::TokioIo;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use serde_json::Value;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;

use super::url::ParsedUrl;
use super::{RemoteAnswer, RemoteCheck, RemoteSettings};
use crate::error::{ProviderError, Result};

/// Replies larger than this are not LinOTP's.
const MAX_REPLY: usize = 1 << 20;

#[derive(Debug)]
pub(super) struct HttpServer {
    https: bool,
    host: String,
    port: u16,
    path: String,
    verify_certificate: bool,
}

impl HttpServer {
    pub fn new(url: &ParsedUrl) -> Result<HttpServer> {
        let https = url.scheme == "https";
        Ok(HttpServer {
            https,
            host: url.host.clone(),
            port: url.port.unwrap_or(if https { 443 } else { 80 }),
            path: if url.path.is_empty() {
                "/".to_owned()
            } else {
                url.path.clone()
            },
            verify_certificate: url
                .query("verify_ssl_certificate")
                .is_some_and(|value| value.eq_ignore_ascii_case("true")),
        })
    }

    pub async fn check(
        &self,
        check: &RemoteCheck<'_>,
        settings: &RemoteSettings,
        shown: &str,
    ) -> Result<RemoteAnswer> {
        let body = form_body(check);
        let exchange = self.exchange(body, settings, shown);
        let (status, reply) = tokio::time::timeout(settings.timeout, exchange)
            .await
            .map_err(|_| ProviderError::Unreachable {
                server: shown.to_owned(),
                message: format!("no answer within {:?}", settings.timeout),
            })??;
        let invalid = |message: String| ProviderError::InvalidReply {
            server: shown.to_owned(),
            message,
        };
        if status != 200 {
            return Err(invalid(format!("HTTP status {status}")));
        }
        let reply: Value =
            serde_json::from_slice(&reply).map_err(|error| invalid(error.to_string()))?;
        Ok(answer_of(&reply))
    }

    async fn exchange(
        &self,
        body: String,
        settings: &RemoteSettings,
        shown: &str,
    ) -> Result<(u16, Bytes)> {
        let unreachable = |message: String| ProviderError::Unreachable {
            server: shown.to_owned(),
            message,
        };
        let tcp = TcpStream::connect((self.host.as_str(), self.port))
            .await
            .map_err(|error| unreachable(error.to_string()))?;
        let _ = tcp.set_nodelay(true);
        if !self.https {
            return self.send(tcp, body, shown).await;
        }
        let config = self.tls_config(settings, shown)?;
        let name = ServerName::try_from(self.host.clone())
            .map_err(|error| ProviderError::Definition(format!("{shown}: {error}")))?;
        let tls = tokio_rustls::TlsConnector::from(config)
            .connect(name, tcp)
            .await
            .map_err(|error| unreachable(format!("TLS: {error}")))?;
        self.send(tls, body, shown).await
    }

    async fn send<S>(&self, stream: S, body: String, shown: &str) -> Result<(u16, Bytes)>
    where
        S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let unreachable = |message: String| ProviderError::Unreachable {
            server: shown.to_owned(),
            message,
        };
        let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|error| unreachable(error.to_string()))?;
        let driver = tokio::spawn(connection);
        let host = if (self.https && self.port == 443) || (!self.https && self.port == 80) {
            self.host.clone()
        } else {
            format!("{}:{}", self.host, self.port)
        };
        let request = Request::builder()
            .method(Method::POST)
            .uri(&self.path)
            .header("host", host)
            .header("content-type", "application/x-www-form-urlencoded")
            .header("accept", "text/plain")
            .header("connection", "close")
            .body(Full::new(Bytes::from(body)))
            .map_err(|error| ProviderError::Definition(format!("{shown}: {error}")))?;
        let response = sender
            .send_request(request)
            .await
            .map_err(|error| unreachable(error.to_string()))?;
        let status = response.status().as_u16();
        let bytes = Limited::new(response.into_body(), MAX_REPLY)
            .collect()
            .await
            .map_err(|error| unreachable(error.to_string()))?
            .to_bytes();
        driver.abort();
        Ok((status, bytes))
    }

    fn tls_config(
        &self,
        settings: &RemoteSettings,
        shown: &str,
    ) -> Result<Arc<rustls::ClientConfig>> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = rustls::ClientConfig::builder_with_provider(Arc::clone(&provider))
            .with_safe_default_protocol_versions()
            .map_err(|error| ProviderError::Definition(format!("TLS: {error}")))?;
        let config = if self.verify_certificate {
            let file = settings.ca_file.as_ref().ok_or_else(|| {
                ProviderError::Definition(format!(
                    "{shown}: verify_ssl_certificate needs TLS_CA_CERTIFICATES_FILE"
                ))
            })?;
            let mut roots = rustls::RootCertStore::empty();
            for certificate in CertificateDer::pem_file_iter(file).map_err(|error| {
                ProviderError::Definition(format!("{}: {error}", file.display()))
            })? {
                let certificate = certificate.map_err(|error| {
                    ProviderError::Definition(format!("{}: {error}", file.display()))
                })?;
                // A bundle may hold certificates rustls cannot use; the rest still count.
                let _ = roots.add(certificate);
            }
            builder.with_root_certificates(roots).with_no_client_auth()
        } else {
            builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(AnyCertificate(provider)))
                .with_no_client_auth()
        };
        Ok(Arc::new(config))
    }
}

/// `pass`, `user`, `realm` and the further options, form-encoded.
fn form_body(check: &RemoteCheck<'_>) -> String {
    let mut fields: Vec<(&str, &str)> = vec![("pass", check.password), ("user", check.login)];
    if let Some(realm) = check.realm.filter(|realm| !realm.is_empty()) {
        fields.push(("realm", realm));
    }
    for (name, value) in check.options {
        if !fields.iter().any(|(known, _)| known == name) {
            fields.push((name, value));
        }
    }
    fields
        .iter()
        .map(|(name, value)| format!("{}={}", form_encode(name), form_encode(value)))
        .collect::<Vec<_>>()
        .join("&")
}

fn form_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'_' | b'.' | b'-' | b'~' => {
                out.push(char::from(byte));
            }
            b' ' => out.push('+'),
            other => out.push_str(&format!("%{other:02X}")),
        }
    }
    out
}

/// LinOTP's reply: accepted when `result.status` and `result.value` are both `true`. A reply
/// whose `detail` opens a challenge (`transactionid`) is handed on, not accepted. (LinOTP
/// treats any `detail` so, which refuses a remote success reported with
/// `detail_on_success`; here only a challenge does.)
fn answer_of(reply: &Value) -> RemoteAnswer {
    let result = &reply["result"];
    let mut answer = RemoteAnswer {
        accepted: result["status"] == Value::Bool(true) && result["value"] == Value::Bool(true),
        ..RemoteAnswer::default()
    };
    if let Some(detail) = reply.get("detail").and_then(Value::as_object)
        && detail.contains_key("transactionid")
    {
        answer.accepted = false;
        answer.detail = detail.clone();
    }
    answer
}

/// Accepts any server certificate (LinOTP's default for forwarding), while still checking
/// that the server holds the key of the certificate it shows.
#[derive(Debug)]
struct AnyCertificate(Arc<rustls::crypto::CryptoProvider>);

impl ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_form_carries_pass_user_realm_and_options_once() {
        let options = vec![
            ("transactionid".to_owned(), "12345".to_owned()),
            ("user".to_owned(), "mallory".to_owned()),
        ];
        let check = RemoteCheck {
            login: "alice",
            realm: Some("my realm"),
            password: "pin&123 456",
            options: &options,
        };
        assert_eq!(
            form_body(&check),
            "pass=pin%26123+456&user=alice&realm=my+realm&transactionid=12345"
        );
    }

    #[test]
    fn linotp_replies_decide_as_linotp_reads_them() {
        let yes = json!({"result": {"status": true, "value": true}});
        assert!(answer_of(&yes).accepted);
        let no = json!({"result": {"status": true, "value": false}});
        assert!(!answer_of(&no).accepted);
        let error = json!({"result": {"status": false, "error": {"code": 905}}});
        assert!(!answer_of(&error).accepted);
        let challenge = json!({"result": {"status": true, "value": false},
            "detail": {"transactionid": "9876", "message": "sms sent"}});
        let answer = answer_of(&challenge);
        assert!(!answer.accepted);
        assert_eq!(answer.detail["transactionid"], "9876");
    }
}
