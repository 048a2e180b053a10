//! Replies nobody asked for, from scripted servers on 127.0.0.1 (and over an
//! in-memory stream where the test must know the bytes are readable before the client
//! writes): the connection fails transiently and writes nothing more. Also the reply codes DATA and STARTTLS cannot
//! get (RFC 5321 §4.3.2, RFC 3207 §4).

mod support;

use smtp_client::proto::{self, PeerMisbehaved};
use smtp_client::{Connection, Envelope, Error, TlsPolicy};
use std::net::SocketAddr;
use support::*;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt, DuplexStream, ReadBuf};
use tokio::sync::oneshot;

const MSG: &str = "Subject: t\r\n\r\nhello\r\n";
const EHLO: &str = "250-mx.test\r\n250-PIPELINING\r\n250 8BITMIME\r\n";

fn env() -> Envelope {
    Envelope::new("<a@example.test>", ["<b@example.test>"]).unwrap()
}

fn unsolicited(e: &Error) -> bool {
    e.is_transient()
        && matches!(
            e,
            Error::Protocol {
                error: proto::Error::Peer(PeerMisbehaved::UnsolicitedReply { .. }),
                ..
            }
        )
}

fn unexpected(e: &Error, code: u16) -> bool {
    e.is_transient()
        && matches!(e, Error::Protocol { error: proto::Error::Peer(PeerMisbehaved::UnexpectedReply { code: c }), .. } if *c == code)
}

async fn connect(addr: SocketAddr) -> Result<Connection, Error> {
    Connection::connect(&addr.to_string(), client(&Ca::new(), TlsPolicy::May)).await
}

#[tokio::test]
async fn an_extra_line_with_the_greeting_fails_before_ehlo() {
    let (addr, task) = scripted(vec![("", "220 mx.test ESMTP\r\n250 mx.test\r\n")]).await;
    let e = connect(addr).await.unwrap_err();
    assert!(unsolicited(&e), "{e:?}");
    let (seen, _) = task.await.unwrap();
    assert_eq!(seen, "", "nothing written");
}

#[tokio::test]
async fn an_extra_reply_after_the_ehlo_reply_fails_the_connection() {
    let extra = format!("{EHLO}250 2.1.0 ok\r\n");
    let extra: &'static str = Box::leak(extra.into_boxed_str());
    let (addr, task) = scripted(vec![("", "220 mx.test ESMTP\r\n"), ("\r\n", extra)]).await;
    let e = connect(addr).await.unwrap_err();
    assert!(unsolicited(&e), "{e:?}");
    let (seen, _) = task.await.unwrap();
    assert_eq!(seen, "EHLO client.test\r\n");
}

#[tokio::test]
async fn a_250_to_data_is_never_a_delivery() {
    let (addr, task) = scripted(vec![
        ("", "220 mx.test ESMTP\r\n"),
        ("\r\n", EHLO),
        ("DATA\r\n", "250 ok\r\n250 ok\r\n250 2.0.0 queued\r\n"),
    ])
    .await;
    let mut c = connect(addr).await.unwrap();
    let e = c.send(env(), MSG).await.unwrap_err();
    assert!(unexpected(&e, 250), "{e:?}");
    assert!(!c.is_open());
    drop(c);
    let (seen, _) = task.await.unwrap();
    assert!(seen.ends_with("DATA\r\n"), "{seen}");
    assert!(!seen.contains("hello"));
}

#[tokio::test]
async fn an_extra_reply_with_the_message_reply_is_not_a_delivery() {
    let (addr, task) = scripted(vec![
        ("", "220 mx.test ESMTP\r\n"),
        ("\r\n", EHLO),
        ("DATA\r\n", "250 ok\r\n250 ok\r\n354 go\r\n"),
        ("\r\n.\r\n", "250 2.0.0 queued\r\n250 2.0.0 queued\r\n"),
    ])
    .await;
    let mut c = connect(addr).await.unwrap();
    let e = c.send(env(), MSG).await.unwrap_err();
    assert!(unsolicited(&e), "{e:?}");
    c.quit().await.unwrap();
    let (seen, _) = task.await.unwrap();
    assert!(seen.ends_with("hello\r\n.\r\n"), "no QUIT, no RSET: {seen}");
}

#[tokio::test]
async fn a_250_to_starttls_is_never_followed_by_plaintext_even_under_may() {
    let (addr, task) = scripted(vec![
        ("", "220 mx.test ESMTP\r\n"),
        ("\r\n", "250-mx.test\r\n250 STARTTLS\r\n"),
        ("STARTTLS\r\n", "250 2.0.0 go on\r\n"),
    ])
    .await;
    let e = connect(addr).await.unwrap_err();
    assert!(unexpected(&e, 250), "{e:?}");
    let (seen, _) = task.await.unwrap();
    assert_eq!(seen, "EHLO client.test\r\nSTARTTLS\r\n");
}

#[tokio::test]
async fn a_454_to_starttls_goes_on_in_plaintext_under_may_only() {
    let steps = || {
        vec![
            ("", "220 mx.test ESMTP\r\n"),
            ("\r\n", "250-mx.test\r\n250 STARTTLS\r\n"),
            ("STARTTLS\r\n", "454 4.7.0 TLS not available\r\n"),
            ("QUIT\r\n", "221 bye\r\n"),
        ]
    };
    let (addr, task) = scripted(steps()).await;
    let c = connect(addr).await.unwrap();
    assert!(c.report().tls.is_none());
    c.quit().await.unwrap();
    task.await.unwrap();
    let (addr, task) = scripted(steps()).await;
    let o = client(&Ca::new(), TlsPolicy::Encrypt);
    let e = Connection::connect(&addr.to_string(), o).await.unwrap_err();
    assert!(e.is_tls_failure() && e.is_transient(), "{e:?}");
    let (seen, _) = task.await.unwrap();
    assert!(seen.ends_with("STARTTLS\r\nQUIT\r\n"), "{seen}");
}

/// A server for one transaction on `s`; after it, on `go`, it sends `250` unasked and
/// says so on `sent`. Returns what the client wrote.
///
/// An in-memory stream, so that "sent" means "readable by the client": over TCP the
/// bytes may still be on their way when the client writes MAIL, and then nobody can
/// tell them from its answer.
fn idle_talker(
    mut s: DuplexStream,
    go: oneshot::Receiver<()>,
    sent: oneshot::Sender<()>,
) -> tokio::task::JoinHandle<String> {
    tokio::spawn(async move {
        let mut seen = Vec::new();
        let script: [(&[u8], &[u8]); 4] = [
            (b"", b"220 mx.test ESMTP\r\n"),
            (b"\r\n", EHLO.as_bytes()),
            (b"DATA\r\n", b"250 ok\r\n250 ok\r\n354 go\r\n"),
            (b"\r\n.\r\n", b"250 2.0.0 queued\r\n"),
        ];
        for (end, reply) in script {
            read_until(&mut s, &mut seen, end).await;
            s.write_all(reply).await.unwrap();
        }
        go.await.unwrap();
        s.write_all(b"250 2.0.0 queued again\r\n").await.unwrap();
        sent.send(()).unwrap();
        read_until(&mut s, &mut seen, b"never").await;
        String::from_utf8_lossy(&seen).into_owned()
    })
}

/// Reads until `seen` ends with `end` (or the client closes).
async fn read_until(s: &mut DuplexStream, seen: &mut Vec<u8>, end: &[u8]) {
    let mut buf = vec![0u8; 1 << 16];
    while !seen.ends_with(end) {
        match s.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => seen.extend_from_slice(&buf[..n]),
        }
    }
}

#[tokio::test]
async fn a_reply_while_idle_between_transactions_fails_the_next_send_before_mail() {
    let (go_tx, go_rx) = oneshot::channel();
    let (sent_tx, sent_rx) = oneshot::channel();
    let (ours, theirs) = tokio::io::duplex(1 << 20);
    let task = idle_talker(theirs, go_rx, sent_tx);
    let o = client(&Ca::new(), TlsPolicy::May);
    let mut c = Connection::from_stream(ours, "mx.test", o).await.unwrap();
    c.send(env(), MSG).await.unwrap();
    go_tx.send(()).unwrap();
    sent_rx.await.unwrap();
    let e = c.send(env(), MSG).await.unwrap_err();
    assert!(unsolicited(&e), "{e:?}");
    assert!(!c.is_open());
    drop(c);
    let seen = task.await.unwrap();
    assert!(seen.ends_with("hello\r\n.\r\n"), "no second MAIL: {seen}");
    assert_eq!(seen.matches("MAIL FROM").count(), 1);
}

/// A body reader whose second read waits for `gate`.
struct Gated {
    parts: Vec<Vec<u8>>,
    gate: Option<oneshot::Receiver<()>>,
}

impl AsyncRead for Gated {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        use std::future::Future;
        if self.parts.len() == 1
            && let Some(gate) = self.gate.as_mut()
        {
            if std::pin::Pin::new(gate).poll(cx).is_pending() {
                return std::task::Poll::Pending;
            }
            self.gate = None;
        }
        if !self.parts.is_empty() {
            let part = self.parts.remove(0);
            buf.put_slice(&part);
        }
        std::task::Poll::Ready(Ok(()))
    }
}

#[tokio::test]
async fn a_reply_while_the_body_streams_stops_it_without_the_terminator() {
    // One full piece of the body (smtp-client reads 64 KiB at a time), then the server
    // answers a message it has not seen the end of; only then the rest is readable.
    let first: Vec<u8> = b"0123456789abcd\r\n".repeat(4096);
    let (gate_tx, gate_rx) = oneshot::channel();
    let (ours, mut theirs) = tokio::io::duplex(1 << 20);
    let expect = first.clone();
    let server = tokio::spawn(async move {
        let mut seen = Vec::new();
        let script: [(&[u8], &[u8]); 3] = [
            (b"", b"220 mx.test ESMTP\r\n"),
            (b"\r\n", EHLO.as_bytes()),
            (b"DATA\r\n", b"250 ok\r\n250 ok\r\n354 go\r\n"),
        ];
        for (end, reply) in script {
            read_until(&mut theirs, &mut seen, end).await;
            theirs.write_all(reply).await.unwrap();
        }
        read_until(&mut theirs, &mut seen, &expect).await;
        theirs.write_all(b"250 2.0.0 queued\r\n").await.unwrap();
        gate_tx.send(()).unwrap();
        read_until(&mut theirs, &mut seen, b"never").await;
        String::from_utf8_lossy(&seen).into_owned()
    });
    let o = client(&Ca::new(), TlsPolicy::May);
    let mut c = Connection::from_stream(ours, "mx.test", o).await.unwrap();
    let body = Gated {
        parts: vec![first, b"second part\r\n".to_vec()],
        gate: Some(gate_rx),
    };
    let e = c.send_reader(env(), body).await.unwrap_err();
    assert!(unsolicited(&e), "{e:?}");
    drop(c);
    let seen = server.await.unwrap();
    assert!(!seen.contains("second part"), "{seen}");
    assert!(!seen.contains("\r\n.\r\n"));
}
