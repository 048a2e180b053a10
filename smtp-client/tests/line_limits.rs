//! Line limits both ways: no message line over 1,000 octets leaves the client (RFC
//! 5321 §4.5.3.1.6; in memory refused before MAIL, streamed abandoned without its
//! terminator), and reply lines up to 4,096 octets are read, longer ones refused.

mod support;

use smtp_client::proto::{self, ParseErrorKind, PeerMisbehaved};
use smtp_client::{Connection, Envelope, Error, TlsPolicy};
use support::*;

const EHLO: &str = "250-mx.test\r\n250-PIPELINING\r\n250 8BITMIME\r\n";

fn env() -> Envelope {
    Envelope::new("<a@example.test>", ["<b@example.test>"]).unwrap()
}

fn line(len: usize) -> String {
    "a".repeat(len)
}

async fn connect(addr: std::net::SocketAddr) -> Result<Connection, Error> {
    Connection::connect(&addr.to_string(), client(&Ca::new(), TlsPolicy::May)).await
}

#[tokio::test]
async fn a_long_line_in_memory_is_refused_before_mail_and_the_connection_stays_usable() {
    let (addr, task) = scripted(vec![
        ("", "220 mx.test ESMTP\r\n"),
        ("\r\n", EHLO),
        ("DATA\r\n", "250 ok\r\n250 ok\r\n354 go\r\n"),
        ("\r\n.\r\n", "250 2.0.0 queued\r\n"),
        ("QUIT\r\n", "221 bye\r\n"),
    ])
    .await;
    let mut c = connect(addr).await.unwrap();
    let bad = format!("Subject: x\r\n\r\n{}\r\n", line(999));
    let e = c.send(env(), bad).await.unwrap_err();
    assert!(matches!(e, Error::LineTooLong { limit: 1000 }), "{e:?}");
    assert!(!e.is_transient());
    assert!(c.is_open());
    // Exactly 1,000 octets with CRLF: sent.
    let good = format!("Subject: x\r\n\r\n{}\r\n", line(998));
    c.send(env(), &good).await.unwrap();
    c.quit().await.unwrap();
    let (seen, _) = task.await.unwrap();
    assert_eq!(seen.matches("MAIL FROM").count(), 1, "{seen}");
    assert!(seen.contains(&good));
}

#[tokio::test]
async fn a_long_line_in_a_streamed_body_abandons_it_without_the_terminator() {
    let (addr, task) = scripted(vec![
        ("", "220 mx.test ESMTP\r\n"),
        ("\r\n", EHLO),
        ("DATA\r\n", "250 ok\r\n250 ok\r\n354 go\r\n"),
    ])
    .await;
    let mut c = connect(addr).await.unwrap();
    // More than one 64 KiB piece of good lines, then a long line split over pieces.
    let mut body = "0123456789abcd\r\n".repeat(5000).into_bytes();
    body.extend_from_slice(line(3000).as_bytes());
    body.extend_from_slice(b"\r\nend\r\n");
    let e = c.send_reader(env(), &body[..]).await.unwrap_err();
    assert!(matches!(e, Error::LineTooLong { limit: 1000 }), "{e:?}");
    assert!(!c.is_open());
    drop(c);
    let (seen, _) = task.await.unwrap();
    assert!(seen.contains("0123456789abcd\r\n"));
    assert!(!seen.contains("\r\n.\r\n"), "no terminator");
    assert!(!seen.contains("end\r\n"));
}

/// An EHLO reply whose AUTH line is `len` octets with its CRLF.
fn ehlo_with_auth_line(len: usize) -> &'static str {
    let mut l = "250 AUTH PLAIN LOGIN".to_owned();
    let mut i = 0;
    while l.len() + 2 + 7 <= len {
        l.push_str(&format!(" M{i:05}"));
        i += 1;
    }
    while l.len() + 2 < len {
        l.push('X');
    }
    Box::leak(format!("250-mx.test\r\n{l}\r\n").into_boxed_str())
}

#[tokio::test]
async fn a_3000_octet_ehlo_line_is_read() {
    let (addr, task) = scripted(vec![
        ("", "220 mx.test ESMTP\r\n"),
        ("\r\n", ehlo_with_auth_line(3000)),
        ("QUIT\r\n", "221 bye\r\n"),
    ])
    .await;
    let c = connect(addr).await.unwrap();
    let caps = c.report().capabilities.clone().unwrap();
    let mechanisms: Vec<_> = caps.auth_mechanisms().map(|m| m.as_str()).collect();
    assert!(mechanisms.starts_with(&["PLAIN", "LOGIN", "M00000"]));
    assert!(mechanisms.len() > 300);
    c.quit().await.unwrap();
    task.await.unwrap();
}

#[tokio::test]
async fn a_5000_octet_reply_line_is_a_protocol_error() {
    let (addr, task) = scripted(vec![
        ("", "220 mx.test ESMTP\r\n"),
        ("\r\n", ehlo_with_auth_line(5000)),
    ])
    .await;
    let e = connect(addr).await.unwrap_err();
    assert!(e.is_transient());
    let Error::Protocol {
        error: proto::Error::Peer(PeerMisbehaved::InvalidReply(p)),
        ..
    } = &e
    else {
        panic!("{e:?}");
    };
    assert_eq!(*p.kind(), ParseErrorKind::LineTooLong { limit: 4096 });
    let (seen, _) = task.await.unwrap();
    assert_eq!(seen, "EHLO client.test\r\n");
}
