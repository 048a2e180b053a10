//! Shared by the tests that run against `smtp_server::testing::TestServer`: a server
//! with fault rules, client options that trust its CA, envelopes and message bodies,
//! and waiting for what the server recorded.
#![allow(dead_code, unreachable_pub)]

use smtp_client::{ClientOptions, Connection, Envelope, TlsPolicy, TrustAnchors};
use smtp_server::testing::{Message, TestServer};
use std::time::Duration;

/// A test server with these fault rules.
pub async fn server(rules: &[&str]) -> TestServer {
    let mut b = TestServer::builder();
    for r in rules {
        b = b.fault(r).unwrap();
    }
    b.start().await.unwrap()
}

/// Client options under `policy` that trust the server's CA (its certificate names
/// `localhost`).
pub fn trusting(server: &TestServer, policy: TlsPolicy) -> ClientOptions {
    let trust = TrustAnchors::empty()
        .add_pem(server.ca_pem().as_bytes())
        .unwrap();
    ClientOptions::new("client.test", policy).with_trust(trust)
}

/// `localhost:PORT`: the name the server's certificate has.
pub fn localhost(server: &TestServer) -> String {
    format!("localhost:{}", server.addr().port())
}

/// A connection under `verify`.
pub async fn connect(server: &TestServer) -> Connection {
    let opts = trusting(server, TlsPolicy::Verify);
    Connection::connect(&localhost(server), opts).await.unwrap()
}

/// From `a@example.test` to `to`.
pub fn env(to: &[&str]) -> Envelope {
    Envelope::new("a@example.test", to.iter().copied()).unwrap()
}

/// `n` recipients, `r{i}@{domain(i)}`, from `a@x.test`.
pub fn many(n: usize, domain: impl Fn(usize) -> String) -> Envelope {
    let to: Vec<String> = (0..n).map(|i| format!("r{i}@{}", domain(i))).collect();
    Envelope::new("a@x.test", &to).unwrap()
}

/// Message number `n`: `Subject: m{n}`.
pub fn msg(n: usize) -> String {
    format!("Subject: m{n}\r\n\r\nhello {n}\r\n")
}

/// The server's messages once there are `n` (10 s at most).
pub async fn messages(server: &TestServer, n: usize) -> Vec<Message> {
    server
        .wait_for(|m| m.len() == n, Duration::from_secs(10))
        .await
        .unwrap()
}
