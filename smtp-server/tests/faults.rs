//! Faults on real sockets (127.0.0.1): the connection dropped at every stage, the
//! connection limit on an implicit-TLS port, and the identity the handler authorised.

mod support;

use smtp_server::proto::Mechanism;
use smtp_server::{ConnectionLimits, Listener, Server};
use std::time::Duration;
use support::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Runs `script` against a fresh server, drops the connection, waits for the session to
/// end, and returns what the handler saw.
async fn dropped_after(script: &[&[u8]]) -> Recorder {
    let pki = Pki::localhost();
    let rec = Recorder::default();
    let srv = start(builder(&rec, &pki, options())).await;
    let mut c = Raw::connect(srv.addr()).await;
    c.hello().await;
    for part in script {
        c.send_bytes(part).await;
    }
    // Let the server read what was sent, then vanish without QUIT.
    c.io.flush().await.unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    drop(c);
    srv.shutdown().await;
    rec
}

fn assert_never_accepted(rec: &Recorder, stage: &str) {
    assert!(rec.messages().is_empty(), "{stage}: {:?}", rec.events());
    let outcomes = rec.outcomes();
    assert_eq!(outcomes.len(), 1, "{stage}");
    assert_eq!(outcomes[0].accepted, 0, "{stage}");
}

#[tokio::test]
async fn a_connection_dropped_at_any_stage_never_delivers_a_message() {
    let stages: Vec<(&str, Vec<&[u8]>)> = vec![
        ("mid-command", vec![b"MAIL FROM:<a@x.te"]),
        ("after MAIL", vec![b"MAIL FROM:<a@x.test>\r\n"]),
        (
            "mid-DATA",
            vec![
                b"MAIL FROM:<a@x.test>\r\nRCPT TO:<b@y.test>\r\nDATA\r\n",
                b"Subject: half\r\n\r\nthe first half of",
            ],
        ),
        (
            "mid-DATA, at a line end",
            vec![
                b"MAIL FROM:<a@x.test>\r\nRCPT TO:<b@y.test>\r\nDATA\r\n",
                b"Subject: half\r\n\r\nline\r\n",
            ],
        ),
        (
            "mid-DATA, after CRLF and the dot",
            vec![
                b"MAIL FROM:<a@x.test>\r\nRCPT TO:<b@y.test>\r\nDATA\r\n",
                b"Subject: half\r\n\r\nline\r\n.",
            ],
        ),
        (
            "mid-BDAT",
            vec![
                b"MAIL FROM:<a@x.test>\r\nRCPT TO:<b@y.test>\r\nBDAT 100 LAST\r\n",
                b"only forty bytes of the hundred promised",
            ],
        ),
        (
            "between BDAT chunks",
            vec![b"MAIL FROM:<a@x.test>\r\nRCPT TO:<b@y.test>\r\nBDAT 5\r\nfirst"],
        ),
    ];
    for (stage, script) in stages {
        let rec = dropped_after(&script).await;
        assert_never_accepted(&rec, stage);
        let events = rec.events();
        if stage.contains("DATA") || stage.contains("BDAT") {
            // The handler's read of the body ended in an error: told, never complete.
            assert!(
                events.iter().any(|e| e.starts_with("data error")),
                "{stage}: {events:?}"
            );
        }
    }
}

/// A client past `354`, ready to send a body.
async fn at_data(addr: std::net::SocketAddr) -> Raw {
    let mut c = Raw::connect(addr).await;
    c.hello().await;
    assert!(c.cmd("MAIL FROM:<a@x.test>").await.starts_with("250"));
    assert!(c.cmd("RCPT TO:<b@y.test>").await.starts_with("250"));
    assert!(c.cmd("DATA").await.starts_with("354"));
    c
}

#[tokio::test]
async fn a_client_gone_after_the_final_dot_does_not_deliver() {
    // The client sends the final dot and closes without reading the reply: it cannot
    // count the message as delivered (RFC 5321 §4.1.1.4) and will send it again, so the
    // server must not keep it either. Data and close reach the kernel before the server
    // runs (one runtime thread), so the server sees both.
    let pki = Pki::localhost();
    let rec = Recorder::default();
    let srv = start(builder(&rec, &pki, options())).await;
    let mut c = at_data(srv.addr()).await;
    c.io.write_all(b"Subject: gone\r\n\r\nbody\r\n.\r\n")
        .await
        .unwrap();
    drop(c);
    let handle = srv.handle.clone();
    srv.shutdown().await;
    assert_never_accepted(&rec, "after the final dot");
    // Counted once, reset once.
    assert_eq!(rec.outcomes()[0].rejected, 1);
    assert_eq!(handle.stats().messages_rejected, 1);
    let resets = rec.events().iter().filter(|e| *e == "reset").count();
    assert_eq!(resets, 1, "{:?}", rec.events());
    assert!(
        rec.events().iter().any(|e| e.starts_with("data error")),
        "{:?}",
        rec.events()
    );
}

#[tokio::test]
async fn a_client_that_waits_for_the_reply_after_the_dot_delivers() {
    // The same with QUIT pipelined behind the dot and the replies read: delivered.
    let pki = Pki::localhost();
    let rec = Recorder::default();
    let srv = start(builder(&rec, &pki, options())).await;
    let mut c = at_data(srv.addr()).await;
    c.send("Subject: kept\r\n\r\nbody\r\n.\r\nQUIT\r\n").await;
    assert!(c.reply().await.unwrap().starts_with("250 "));
    assert!(c.reply().await.unwrap().starts_with("221 "));
    srv.shutdown().await;
    assert_eq!(rec.messages().len(), 1);
}

#[tokio::test]
async fn a_client_that_pipelines_quit_and_half_closes_still_delivers() {
    // `.` and QUIT in one write, then only the sending side closed (TCP half-close):
    // the client still reads its replies, so the message is delivered.
    let pki = Pki::localhost();
    let rec = Recorder::default();
    let srv = start(builder(&rec, &pki, options())).await;
    let mut c = at_data(srv.addr()).await;
    c.io.write_all(b"Subject: half\r\n\r\nbody\r\n.\r\nQUIT\r\n")
        .await
        .unwrap();
    c.io.shutdown().await.unwrap();
    assert!(c.reply().await.unwrap().starts_with("250 "));
    assert!(c.reply().await.unwrap().starts_with("221 "));
    srv.shutdown().await;
    assert_eq!(rec.messages().len(), 1);
}

#[tokio::test]
async fn a_connection_dropped_during_the_tls_handshake_is_closed_quietly() {
    let pki = Pki::localhost();
    let rec = Recorder::default();
    let srv = start(builder(&rec, &pki, options())).await;
    let handle = srv.handle.clone();
    // STARTTLS, then half a ClientHello, then gone.
    let mut c = Raw::connect(srv.addr()).await;
    c.hello().await;
    assert!(c.cmd("STARTTLS").await.starts_with("220 "));
    c.send_bytes(&[0x16, 0x03, 0x01, 0x02, 0x00, 0x01]).await;
    drop(c);
    // Implicit TLS: connect and vanish.
    let srv2 = start(
        Server::builder(options(), rec.clone())
            .listener(Listener::implicit_tls(local()))
            .tls(pki.tls()),
    )
    .await;
    let s = tokio::net::TcpStream::connect(srv2.addr()).await.unwrap();
    drop(s);
    srv.shutdown().await;
    srv2.shutdown().await;
    assert!(rec.messages().is_empty());
    let stats = handle.stats();
    assert_eq!(stats.messages_accepted, 0);
    let failed: u64 = stats.handshake_failures.iter().map(|(_, n)| n).sum();
    assert_eq!(failed, 1, "{stats:?}");
}

#[tokio::test]
async fn the_connection_limit_never_writes_plaintext_into_a_tls_port() {
    let pki = Pki::localhost();
    let rec = Recorder::default();
    let b = Server::builder(options(), rec.clone())
        .listener(Listener::implicit_tls(local()))
        .tls(pki.tls())
        .limits(ConnectionLimits {
            max_connections: 1,
            max_per_ip: 10,
        });
    let srv = start(b).await;
    let mut first = Raw::connect_tls(srv.addr(), &pki, "localhost").await;
    assert!(first.reply().await.unwrap().starts_with("220 "));
    // The second connection is closed without a byte: no plaintext 421 in a TLS port.
    let mut second = tokio::net::TcpStream::connect(srv.addr()).await.unwrap();
    let mut got = Vec::new();
    let n = tokio::time::timeout(Duration::from_secs(10), second.read_to_end(&mut got))
        .await
        .expect("closed")
        .unwrap_or(0);
    assert_eq!(n, 0, "{:?}", String::from_utf8_lossy(&got));
    let handle = srv.handle.clone();
    first.cmd("QUIT").await;
    drop(first);
    srv.shutdown().await;
    assert_eq!(handle.stats().connections_refused, 1);
}

#[tokio::test]
async fn the_handler_sees_the_identity_it_authorised() {
    let pki = Pki::localhost();
    let rec = Recorder::default();
    let mut o = options();
    o.auth_mechanisms = vec![Mechanism::PLAIN];
    let srv = start(builder(&rec, &pki, o)).await;
    // PLAIN "admin\0user\0pass": acting as someone else is refused before the handler.
    let c = Raw::connect(srv.addr()).await;
    let mut c = {
        let mut c = c;
        c.hello().await;
        c.starttls(&pki, "localhost").await
    };
    c.cmd("EHLO client.test").await;
    let r = c.cmd("AUTH PLAIN YWRtaW4AdXNlcgBwYXNz").await;
    assert!(r.starts_with("535 5.7.8"), "{r}");
    let r = c.cmd("AUTH PLAIN AHVzZXIAcGFzcw==").await;
    assert!(r.starts_with("235 "), "{r}");
    assert!(c.cmd("MAIL FROM:<a@x.test>").await.starts_with("250"));
    c.cmd("QUIT").await;
    srv.shutdown().await;
    let events = rec.events();
    assert_eq!(
        events.iter().filter(|e| e.starts_with("auth ")).count(),
        1,
        "{events:?}"
    );
    assert!(
        events.iter().any(|e| e.contains("user=Some(\"user\")")),
        "{events:?}"
    );
}
