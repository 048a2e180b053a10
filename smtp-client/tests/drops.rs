//! The connection dropped by the server at every stage (127.0.0.1): the client reports
//! a transient error, never a delivery.

mod support;

use smtp_client::{Connection, Envelope, Error, TlsPolicy};
use std::net::SocketAddr;
use support::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

const EHLO: &str = "250-mx.test\r\n250-PIPELINING\r\n250-STARTTLS\r\n250 8BITMIME\r\n";

/// One connection: for each step, read until the client's bytes (since the last step's
/// match) contain `expect` (empty: read nothing), then write `reply`; after the last
/// step, close at once.
async fn dropping(steps: Vec<(&'static str, &'static str)>) -> SocketAddr {
    let l = TcpListener::bind(local()).await.unwrap();
    let addr = l.local_addr().unwrap();
    tokio::spawn(async move {
        let (mut s, _) = l.accept().await.unwrap();
        let mut seen = Vec::new();
        let mut from = 0;
        let find = |seen: &[u8], from: usize, e: &str| {
            seen[from..]
                .windows(e.len())
                .position(|w| w == e.as_bytes())
                .map(|i| from + i + e.len())
        };
        for (expect, reply) in steps {
            while !expect.is_empty() && find(&seen, from, expect).is_none() {
                let mut buf = [0u8; 4096];
                match s.read(&mut buf).await {
                    Ok(0) | Err(_) => return,
                    Ok(k) => seen.extend_from_slice(&buf[..k]),
                }
            }
            if !expect.is_empty() {
                from = find(&seen, from, expect).unwrap_or(from);
            }
            if !reply.is_empty() && s.write_all(reply.as_bytes()).await.is_err() {
                return;
            }
        }
        drop(s);
    });
    addr
}

fn env() -> Envelope {
    Envelope::new("<a@example.test>", ["<b@example.test>"]).unwrap()
}

async fn connect(addr: SocketAddr, policy: TlsPolicy) -> Result<Connection, Error> {
    Connection::connect(&addr.to_string(), client(&Ca::new(), policy)).await
}

#[tokio::test]
async fn a_drop_before_the_session_is_ready_is_transient() {
    for steps in [
        vec![],
        vec![("", "220 mx.test ESMTP\r\n")],
        vec![("", "220 mx.test ESMTP\r\n"), ("\r\n", "250-mx.test\r\n")],
    ] {
        let addr = dropping(steps.clone()).await;
        let e = connect(addr, TlsPolicy::None).await.unwrap_err();
        assert!(e.is_transient(), "{steps:?}: {e:?}");
    }
}

#[tokio::test]
async fn a_drop_during_the_transaction_is_transient_never_a_delivery() {
    let body = "Subject: t\r\n\r\nhello\r\n";
    let stages: Vec<(&str, Vec<(&'static str, &'static str)>)> = vec![
        (
            "after MAIL RCPT DATA, before any reply",
            vec![("DATA\r\n", "")],
        ),
        (
            "after the MAIL reply",
            vec![("DATA\r\n", "250 2.1.0 Ok\r\n")],
        ),
        (
            "after 354, mid-body",
            vec![
                ("DATA\r\n", "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n354 go\r\n"),
                ("Subject: t\r\n", ""),
            ],
        ),
        (
            "after the final dot, before the reply",
            vec![
                ("DATA\r\n", "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n354 go\r\n"),
                ("\r\n.\r\n", ""),
            ],
        ),
        (
            "half of the final reply",
            vec![
                ("DATA\r\n", "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n354 go\r\n"),
                ("\r\n.\r\n", "250 2.0.0 Queu"),
            ],
        ),
    ];
    for (stage, mut steps) in stages {
        steps.insert(0, ("", "220 mx.test ESMTP\r\n"));
        steps.insert(1, ("\r\n", EHLO));
        let addr = dropping(steps).await;
        let mut c = connect(addr, TlsPolicy::None).await.unwrap();
        let r = c.send(env(), body).await;
        let e = r.expect_err(stage);
        assert!(e.is_transient(), "{stage}: {e:?}");
    }
}

#[tokio::test]
async fn a_drop_during_the_tls_handshake_is_transient() {
    for policy in [TlsPolicy::Verify, TlsPolicy::Encrypt, TlsPolicy::May] {
        // STARTTLS answered, then the connection closes inside the handshake. Under
        // `may` the plaintext retry finds nobody listening: still transient.
        let addr = dropping(vec![
            ("", "220 mx.test ESMTP\r\n"),
            ("\r\n", EHLO),
            ("STARTTLS\r\n", "220 2.0.0 Ready\r\n"),
            ("", ""),
        ])
        .await;
        let r = connect(addr, policy.clone()).await;
        let e = r.err().unwrap_or_else(|| panic!("{policy:?}: connected"));
        assert!(e.is_transient(), "{policy:?}: {e:?}");
    }
}
