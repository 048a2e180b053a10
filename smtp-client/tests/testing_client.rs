//! `smtp_client::testing::TestClient` against our smtp-server on 127.0.0.1: raw bytes
//! exactly as given (bare LF, NUL, over-long lines), split and slow writes, STARTTLS
//! (verified, any certificate, with a command pipelined behind it), and the
//! transcript; and against scripted servers, replies no server should send (bare LF
//! endings, no code, endless lines, silence), each read bounded.
#![cfg(feature = "testing")]

mod support;

use smtp_client::testing::{
    Direction, TestClient, TestError, TestOptions, accept_any_certificate, escape, server_name,
    server_name_for, trust_ca_pem,
};
use std::net::SocketAddr;
use std::time::Duration;
use support::*;
use tokio::io::AsyncWriteExt;

/// Our server with STARTTLS and a certificate from `ca`.
async fn server(ca: &Ca, kind: Cert) -> (Recorder, Running) {
    let rec = Recorder::default();
    let srv = serve(&rec, options(), false, Some(ca.issue(kind).tls())).await;
    (rec, srv)
}

/// Connected, greeted, EHLO answered.
async fn ready(addr: SocketAddr) -> TestClient {
    let mut c = TestClient::connect(addr).await.unwrap();
    let greeting = c.read_reply().await.unwrap();
    assert!(greeting.is(220) && greeting.is_strict(), "{greeting}");
    let ehlo = c.ehlo("client.test").await.unwrap();
    assert!(
        ehlo.offers("STARTTLS") && ehlo.offers("PIPELINING"),
        "{ehlo}"
    );
    c
}

#[tokio::test]
async fn raw_bytes_go_out_as_given_and_the_transcript_has_them() {
    let ca = Ca::new();
    let (_rec, srv) = server(&ca, Cert::Valid).await;
    let mut c = ready(srv.addr()).await;
    // One line with a bare LF inside: one error, not two commands.
    c.send(b"NOOP\nNOOP\r\n").await.unwrap();
    let r = c.read_reply().await.unwrap();
    assert!(r.is(500) && r.texts()[0].contains("Bare LF"), "{r}");
    // A NUL inside a command.
    let r = c.command("NOOP \0").await.unwrap();
    assert!(r.is_negative(), "{r}");
    // A line over 512 octets (RFC 5321 §4.5.3.1.4), its tail a command.
    let long = format!("NOOP {}RSET\r\n", "x".repeat(600));
    c.send(long.as_bytes()).await.unwrap();
    let r = c.read_reply().await.unwrap();
    assert_eq!(r.to_string(), "500 5.5.2 Line too long");
    // The next reply is QUIT's: neither the tail nor the second NOOP ran.
    let bye = c.quit().await.unwrap();
    assert!(bye.is(221), "{bye}");
    assert!(c.is_closed());

    let t = c.transcript();
    let sent: Vec<&[u8]> = t
        .entries()
        .iter()
        .filter(|e| e.direction == Direction::Sent)
        .map(|e| e.data.as_slice())
        .collect();
    assert_eq!(
        sent,
        [
            &b"EHLO client.test\r\n"[..],
            b"NOOP\nNOOP\r\n",
            b"NOOP \0\r\n",
            long.as_bytes(),
            b"QUIT\r\n",
        ]
    );
    let received = t.received();
    assert!(received.starts_with(b"220 mx.test ESMTP\r\n250-mx.test\r\n"));
    assert!(received.ends_with(b"221 2.0.0 Bye\r\n"));
    assert_eq!(t.sent(), sent.concat());
    let text = t.to_string();
    assert!(
        text.starts_with(&format!(
            "-- connected to {}\nS: 220 mx.test ESMTP\\r\\n\n",
            srv.addr()
        )),
        "{text}"
    );
    assert!(
        text.contains("\nC: NOOP\\n\nC: NOOP\\r\\n\nS: 500 "),
        "{text}"
    );
    assert!(text.contains("\nC: NOOP \\x00\\r\\n\n"), "{text}");
    assert!(text.contains("[473 characters]...xxx"), "{text}");
    assert!(
        text.contains("xxxRSET\\r\\n\nS: 500 5.5.2 Line too long"),
        "{text}"
    );
    assert!(
        text.ends_with("S: 221 2.0.0 Bye\\r\\n\n-- the client closed the connection\n"),
        "{text}"
    );
    let json = t.to_json();
    assert_eq!(json[0]["direction"], "note");
    assert_eq!(json[1]["direction"], "received");
    assert_eq!(json[1]["data"], "220 mx.test ESMTP\\r\\n");
    srv.shutdown().await;
}

#[tokio::test]
async fn split_and_slow_writes_make_one_message() {
    let ca = Ca::new();
    let (rec, srv) = server(&ca, Cert::Valid).await;
    let mut c = ready(srv.addr()).await;
    c.send_split(b"MAIL FROM:<a@example.test>\r\n", &[1, 4, 26])
        .await
        .unwrap();
    assert!(c.read_reply().await.unwrap().is(250));
    c.send_slowly(b"RCPT TO:<b@example.test>\r\n", 3, Duration::from_millis(1))
        .await
        .unwrap();
    assert!(c.read_reply().await.unwrap().is(250));
    assert!(c.command("DATA").await.unwrap().is(354));
    // The terminator cut in every place, one octet at a time.
    let body = b"Subject: split\r\n\r\nhello\r\n.\r\n";
    let at: Vec<usize> = (body.len() - 5..body.len()).collect();
    c.send_paced(body, &at, Duration::from_millis(1))
        .await
        .unwrap();
    let r = c.read_reply().await.unwrap();
    assert_eq!(r.to_string(), "250 2.0.0 Queued as TEST1");
    c.quit().await.unwrap();
    assert_eq!(rec.messages().len(), 1);
    assert!(
        String::from_utf8_lossy(&rec.messages()[0]).ends_with("Subject: split\r\n\r\nhello\r\n")
    );
    // Each piece is an entry of its own.
    let pieces: Vec<String> = c
        .transcript()
        .entries()
        .iter()
        .filter(|e| e.direction == Direction::Sent)
        .map(|e| escape(&e.data))
        .collect();
    assert_eq!(
        pieces[1..5],
        ["M", "AIL", " FROM:<a@example.test>", "\\r\\n"]
    );
    assert_eq!(pieces[5..8], ["RCP", "T T", "O:<"]);
    assert!(
        pieces.ends_with(&["\\n", ".", "\\r", "\\n", "QUIT\\r\\n"].map(String::from)),
        "{pieces:?}"
    );
    // Offsets that do not split.
    for bad in [&[0][..], &[3, 3], &[5, 2], &[29]] {
        let e = c
            .send_split(b"MAIL FROM:<a@example.test>\r\n", bad)
            .await
            .unwrap_err();
        assert!(matches!(e, TestError::Misuse(_)), "{bad:?}: {e}");
    }
    srv.shutdown().await;
}

#[tokio::test]
async fn starttls_verified_and_with_any_certificate() {
    let ca = Ca::new();
    let (rec, srv) = server(&ca, Cert::Valid).await;
    let mut c = ready(srv.addr()).await;
    let config = trust_ca_pem(ca.pem.as_bytes()).unwrap();
    let tls = c
        .starttls(config.clone(), server_name("localhost").unwrap())
        .await
        .unwrap();
    assert!(
        tls.upgraded && tls.reply.is(220) && tls.after_reply.is_empty(),
        "{tls:?}"
    );
    assert!(c.is_tls());
    assert!(c.tls_info().unwrap().0.starts_with("TLSv1_"));
    let ehlo = c.ehlo("client.test").await.unwrap();
    assert!(!ehlo.offers("STARTTLS"), "{ehlo}");
    assert!(c.command("NOOP").await.unwrap().is(250));
    let e = c
        .starttls(config.clone(), server_name("localhost").unwrap())
        .await
        .unwrap_err();
    assert!(matches!(e, TestError::Misuse(_)), "{e}");
    c.quit().await.unwrap();
    let text = c.transcript().to_string();
    assert!(
        text.contains("\nS: 220 2.0.0 Ready to start TLS\\r\\n\n-- TLS established: TLSv1_"),
        "{text}"
    );
    assert!(
        text.contains("\nC~ EHLO client.test\\r\\n\nS~ 250-mx.test\\r\\n\n"),
        "{text}"
    );
    let events = rec.events();
    assert!(
        events
            .iter()
            .any(|e| e.starts_with("hello Ehlo client.test TLSv1")),
        "{events:?}"
    );

    // A self-signed certificate: refused by the CA's configuration, taken by the
    // accept-any one (made for audits).
    let (_rec, selfsigned) = server(&ca, Cert::SelfSigned).await;
    let mut c = ready(selfsigned.addr()).await;
    let e = c
        .starttls(config, server_name("localhost").unwrap())
        .await
        .unwrap_err();
    assert!(matches!(e, TestError::Tls(_)), "{e}");
    assert!(c.is_closed());
    let mut c = ready(selfsigned.addr()).await;
    let addr = selfsigned.addr();
    let tls = c
        .starttls(accept_any_certificate().unwrap(), server_name_for(addr))
        .await
        .unwrap();
    assert!(tls.upgraded);
    assert!(c.command("NOOP").await.unwrap().is(250));
    srv.shutdown().await;
    selfsigned.shutdown().await;
}

#[tokio::test]
async fn starttls_with_a_command_behind_it_is_refused_and_closed() {
    let ca = Ca::new();
    let (_rec, srv) = server(&ca, Cert::Valid).await;
    let mut c = ready(srv.addr()).await;
    let config = trust_ca_pem(ca.pem.as_bytes()).unwrap();
    let tls = c
        .starttls_pipelined(b"NOOP\r\n", config, server_name("localhost").unwrap())
        .await
        .unwrap();
    assert!(
        !tls.upgraded && tls.reply.code().is_some_and(|c| c >= 500),
        "{tls:?}"
    );
    assert!(matches!(c.read_reply().await, Err(TestError::Closed)));
    let sent = c
        .transcript()
        .entries()
        .iter()
        .rev()
        .find(|e| e.direction == Direction::Sent);
    assert_eq!(sent.unwrap().data, b"STARTTLS\r\nNOOP\r\n");
    srv.shutdown().await;
}

#[tokio::test]
async fn read_replies_collects_a_pipelined_group_until_the_close() {
    let ca = Ca::new();
    let (_rec, srv) = server(&ca, Cert::Valid).await;
    let mut c = ready(srv.addr()).await;
    c.send(b"RSET\r\nRSET\r\nQUIT\r\n").await.unwrap();
    // The close ends the wait, not the quiet period.
    let replies = c.read_replies(Duration::from_secs(60)).await.unwrap();
    let codes: Vec<_> = replies.iter().map(|r| r.code().unwrap()).collect();
    assert_eq!(codes, [250, 250, 221]);
    assert!(c.is_closed());
    srv.shutdown().await;
}

#[tokio::test]
async fn odd_replies_are_kept_raw_and_every_read_is_bounded() {
    // Bare LF endings, a line with no code, a multi-line reply with mixed codes.
    let (addr, task) = scripted(vec![
        ("", "220 odd\n"),
        ("EHLO x\r\n", "hello there\r\n250-a\r\n251 b\r\n"),
    ])
    .await;
    let mut c = TestClient::connect(addr).await.unwrap();
    let g = c.read_reply().await.unwrap();
    assert!(g.is(220) && !g.is_strict() && g.reply().is_none());
    c.send_line("EHLO x").await.unwrap();
    let junk = c.read_reply().await.unwrap();
    assert_eq!((junk.code(), junk.is_negative()), (None, true));
    let mixed = c.read_reply().await.unwrap();
    assert!(mixed.is(250) && !mixed.is_strict() && mixed.lines().len() == 2);
    drop(c);
    task.await.unwrap();

    // Silence: the read gives up after its timeout; the next one still works.
    let (addr, task) = scripted(vec![("", ""), ("NOOP\r\n", "250 late\r\n")]).await;
    let opts = TestOptions::with_timeout(Duration::from_millis(300));
    let mut c = TestClient::connect_with(addr, opts).await.unwrap();
    assert!(c.read_reply().await.unwrap_err().is_timeout());
    assert!(
        c.read_replies(Duration::from_millis(50))
            .await
            .unwrap()
            .is_empty()
    );
    assert!(c.command("NOOP").await.unwrap().is(250));
    drop(c);
    task.await.unwrap();

    // An endless line, an endless multi-line reply: refused at the limits.
    let endless = Box::leak(format!("220 {}", "x".repeat(100_000)).into_boxed_str());
    let (addr, task) = scripted(vec![("", endless)]).await;
    let mut c = TestClient::connect(addr).await.unwrap();
    let e = c.read_reply().await.unwrap_err();
    assert!(matches!(e, TestError::ReplyTooLarge(_)), "{e}");
    assert!(c.is_closed());
    drop(c);
    task.await.unwrap();
    let many = Box::leak("220-x\r\n".repeat(1000).into_boxed_str());
    let (addr, task) = scripted(vec![("", many)]).await;
    let mut c = TestClient::connect(addr).await.unwrap();
    let e = c.read_reply().await.unwrap_err();
    assert_eq!(
        e.to_string(),
        "reply over the limit: a reply of more than 256 lines"
    );
    drop(c);
    task.await.unwrap();

    // A close in the middle of a reply.
    let l = tokio::net::TcpListener::bind(local()).await.unwrap();
    let addr = l.local_addr().unwrap();
    let task = tokio::spawn(async move {
        let (mut s, _) = l.accept().await.unwrap();
        s.write_all(b"220-first line\r\n220 sec").await.unwrap();
    });
    let mut c = TestClient::connect(addr).await.unwrap();
    task.await.unwrap();
    assert!(matches!(c.read_reply().await, Err(TestError::Closed)));
    assert!(c.is_closed());
    assert_eq!(c.transcript().received(), b"220-first line\r\n220 sec");
    let text = c.transcript().to_string();
    assert!(text.ends_with("-- the server closed the connection\nS: 220-first line\\r\\n\nS: 220 sec\n-- (an incomplete reply)\n"), "{text}");

    // Nothing listening.
    let addr: SocketAddr = ([127, 0, 0, 1], dead_port().await).into();
    let e = TestClient::connect(addr).await.unwrap_err();
    assert!(matches!(e, TestError::Connect(_)), "{e}");
}

#[tokio::test]
async fn plaintext_behind_the_starttls_reply_is_reported_not_given_to_tls() {
    // smtp-server's test kit writes these bytes right behind its STARTTLS 220, in the
    // same write (the response injection a client must not take for a TLS reply).
    let server = smtp_server::testing::TestServer::builder()
        .fault("starttls=inject=250 injected\\r\\n")
        .unwrap()
        .start()
        .await
        .unwrap();
    // A moment before the handshake, should the injected bytes come in a segment of
    // their own.
    let mut opts = TestOptions::default();
    opts.starttls_grace = Duration::from_millis(200);
    let mut c = TestClient::connect_with(server.addr(), opts).await.unwrap();
    assert!(c.read_reply().await.unwrap().is(220));
    c.ehlo("client.test").await.unwrap();
    let config = trust_ca_pem(server.ca_pem().as_bytes()).unwrap();
    let tls = c
        .starttls(config, server_name("localhost").unwrap())
        .await
        .unwrap();
    assert!(tls.upgraded, "{tls:?}");
    assert_eq!(tls.after_reply, b"250 injected\r\n");
    // Inside TLS the next reply is the one asked for, not the injected one.
    let ehlo = c.ehlo("client.test").await.unwrap();
    assert!(ehlo.is(250) && ehlo.lines().len() > 1, "{ehlo}");
    let text = c.transcript().to_string();
    assert!(
        text.contains("\nS: 250 injected\\r\\n\n-- 14 octets of plaintext before the TLS handshake: dropped\n-- TLS established"),
        "{text}"
    );
    c.quit().await.unwrap();
}
