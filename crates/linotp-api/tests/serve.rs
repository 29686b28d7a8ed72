//! `serve` on a real loopback listener, driven by a raw HTTP/1.1 client as PAM and RADIUS
//! modules talk to LinOTP.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::net::SocketAddr;

use linotp_api::HttpSettings;
use linotp_api::http::TrustedProxies;
use linotp_api::testing::load_golden_case;
use serde_json::Value;
use support::{Options, build};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

struct Running {
    address: SocketAddr,
    stop: oneshot::Sender<()>,
    task: JoinHandle<linotp_api::Result<()>>,
}

async fn start(options: Options) -> Running {
    let app = build(options);
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(linotp_api::serve(listener, app.router, async move {
        let _ = stopped.await;
    }));
    Running {
        address,
        stop,
        task,
    }
}

struct RawReply {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl RawReply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }
}

async fn exchange(address: SocketAddr, request: &[u8]) -> RawReply {
    let mut stream = TcpStream::connect(address).await.unwrap();
    stream.write_all(request).await.unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await.unwrap();
    let text = String::from_utf8(raw).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers = lines
        .filter_map(|line| line.split_once(": "))
        .map(|(name, value)| (name.to_owned(), value.to_owned()))
        .collect();
    RawReply {
        status,
        headers,
        body: body.to_owned(),
    }
}

#[tokio::test]
async fn serves_linotp_replies_and_shuts_down_gracefully() {
    let server = start(Options::default()).await;
    let reply = exchange(
        server.address,
        b"POST /validate/ok HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
    )
    .await;
    let golden = load_golden_case("validate.json", "ok").unwrap();
    assert_eq!(reply.status, 200);
    assert_eq!(reply.body, golden.body);
    assert_eq!(reply.header("content-type"), Some("application/json"));
    assert_eq!(reply.header("x-frame-options"), Some("DENY"));
    assert!(reply.header("x-request-id").is_some());

    server.stop.send(()).unwrap();
    server.task.await.unwrap().unwrap();
}

#[tokio::test]
async fn client_address_comes_from_the_socket_and_trusted_forwarding() {
    let request = b"GET /test/whoami HTTP/1.1\r\nHost: localhost\r\nX-Forwarded-For: 198.51.100.7\r\nConnection: close\r\n\r\n";
    let client_of = |reply: RawReply| {
        serde_json::from_str::<Value>(&reply.body).unwrap()["result"]["value"]["client"].clone()
    };

    let untrusted = start(Options::default()).await;
    assert_eq!(
        client_of(exchange(untrusted.address, request).await),
        "127.0.0.1"
    );

    let settings = HttpSettings {
        trusted_proxies: TrustedProxies::parse(["127.0.0.1"]).unwrap(),
        ..HttpSettings::default()
    };
    let behind_proxy = start(Options {
        http: settings,
        ..Options::default()
    })
    .await;
    assert_eq!(
        client_of(exchange(behind_proxy.address, request).await),
        "198.51.100.7"
    );
}

#[tokio::test]
async fn chunked_bodies_over_the_limit_are_refused() {
    let settings = HttpSettings {
        body_limit: 1000,
        ..HttpSettings::default()
    };
    let server = start(Options {
        http: settings,
        ..Options::default()
    })
    .await;
    let chunk = format!("serial={}", "A".repeat(700));
    let mut request = String::from(
        "POST /test/required HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n",
    );
    for _ in 0..2 {
        request.push_str(&format!("{:x}\r\n{chunk}\r\n", chunk.len()));
    }
    request.push_str("0\r\n\r\n");
    let reply = exchange(server.address, request.as_bytes()).await;
    assert_eq!(reply.status, 413);
    let value: Value = serde_json::from_str(&reply.body).unwrap();
    assert_eq!(value["result"]["error"]["code"], -311);
}
