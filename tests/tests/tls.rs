//! HTTPS straight from `linotp-server` (`TLS_CERT_FILE` / `TLS_KEY_FILE`, rustls on ring),
//! checked with a rustls client that trusts only the test certificate.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::Command;
use std::sync::Arc;

use http_body_util::{BodyExt, Empty};
use hyper::Request;
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use linotp_tests::{DataDir, ServerProcess};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName};
use tokio_rustls::rustls::{self, ClientConfig, RootCertStore};

/// A self-signed certificate for 127.0.0.1, made with the openssl command line.
fn make_certificate(dir: &Path) {
    let status = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=linotp-test",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            // A server certificate, not a CA: rustls refuses a CA as end entity.
            "-addext",
            "basicConstraints=critical,CA:FALSE",
            "-keyout",
        ])
        .arg(dir.join("key.pem"))
        .arg("-out")
        .arg(dir.join("cert.pem"))
        .stderr(std::process::Stdio::null())
        .status()
        .expect("openssl runs (.ci/setup installs it)");
    assert!(status.success());
}

#[tokio::test]
async fn serves_https_with_the_configured_certificate() {
    let data = DataDir::new();
    make_certificate(data.work_dir());
    let cert = data.work_dir().join("cert.pem");
    let key = data.work_dir().join("key.pem");
    let server = ServerProcess::start(
        &data,
        &[
            ("LINOTP_TLS_CERT_FILE", cert.to_str().unwrap()),
            ("LINOTP_TLS_KEY_FILE", key.to_str().unwrap()),
            ("LINOTP_ADMIN_PASSWORD", "Test123!"),
        ],
    )
    .await
    .unwrap();

    let mut roots = RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_file(&cert).unwrap())
        .unwrap();
    let config =
        ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth();
    let connector = TlsConnector::from(Arc::new(config));
    let tcp = TcpStream::connect(server.address()).await.unwrap();
    let tls = connector
        .connect(ServerName::try_from("127.0.0.1").unwrap(), tcp)
        .await
        .expect("TLS handshake with the configured certificate");
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
        .await
        .unwrap();
    tokio::spawn(connection);
    let request = Request::get("/healthcheck/status")
        .header("host", "127.0.0.1")
        .body(Empty::<Bytes>::new())
        .unwrap();
    let response = sender.send_request(request).await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["strict-transport-security"],
        "max-age=315360000; includeSubDomains"
    );
    let body = response.into_body().collect().await.unwrap().to_bytes();
    assert!(String::from_utf8_lossy(&body).contains("\"status\":\"alive\""));

    // Plain HTTP on the TLS port gets no LinOTP reply.
    let plain = server
        .client()
        .try_request(hyper::Method::GET, "/healthcheck/status", &[], &[])
        .await;
    assert!(plain.is_err(), "{plain:?}");
    assert!(server.stop().await.success());
}
