//! The server over real sockets on 127.0.0.1, driven by a raw client: every handler
//! path, STARTTLS and implicit TLS, injection and smuggling, AUTH, LMTP, limits.

mod support;

use smtp_server::proto::Mechanism;
use smtp_server::{ConnectionLimits, Listener, Server};
use support::*;

#[tokio::test]
async fn a_message_reaches_the_handler_with_a_received_header() {
    let pki = Pki::localhost();
    let rec = Recorder::default();
    let srv = start(builder(&rec, &pki, options())).await;
    let mut c = Raw::connect(srv.addr()).await;
    let ehlo = c.hello().await;
    assert!(ehlo.contains("250-STARTTLS"), "{ehlo}");
    let r = c
        .message("a@x.test", &["b@y.test"], "Subject: hi\r\n\r\nhello")
        .await;
    assert_eq!(r, "250 2.0.0 Queued as TEST1\r\n");
    assert_eq!(c.cmd("QUIT").await, "221 2.0.0 Bye\r\n");
    assert!(c.closed().await);
    srv.shutdown().await;
    let m = String::from_utf8(rec.messages()[0].clone()).unwrap();
    assert!(m.starts_with("Received: from client.test ("), "{m}");
    assert!(m.contains("by mx.test"), "{m}");
    assert!(m.contains("with ESMTP"), "{m}");
    assert!(m.contains("for <b@y.test>"), "{m}");
    assert!(m.ends_with("Subject: hi\r\n\r\nhello\r\n"), "{m}");
    let ev = rec.events();
    assert_eq!(ev[1], "hello Ehlo client.test plain");
    assert_eq!(ev[2], "mail <a@x.test> user=None");
    assert_eq!(ev.last().unwrap(), "close");
    assert_eq!(rec.outcomes()[0].accepted, 1);
}

#[tokio::test]
async fn handler_refusals_reach_the_client() {
    let pki = Pki::localhost();
    let rec = Recorder::default();
    let srv = start(builder(&rec, &pki, options())).await;
    let mut c = Raw::connect(srv.addr()).await;
    c.hello().await;
    assert!(c.cmd("MAIL FROM:<a@x.test>").await.starts_with("250"));
    assert_eq!(
        c.cmd("RCPT TO:<reject@y.test>").await,
        "550 5.1.1 No such user\r\n"
    );
    // No accepted recipient: DATA is refused by the core.
    assert!(c.cmd("DATA").await.starts_with("554"));
    assert!(c.cmd("RCPT TO:<ok@y.test>").await.starts_with("250"));
    assert_eq!(c.cmd("RSET").await, "250 2.0.0 Ok\r\n");
    drop(c);
    srv.shutdown().await;
    assert!(rec.events().contains(&"reset".to_string()));
}

#[tokio::test]
async fn starttls_gives_tls_facts_to_the_handler_and_the_received_header() {
    let pki = Pki::localhost();
    let rec = Recorder::default();
    let srv = start(builder(&rec, &pki, options())).await;
    let mut c = Raw::connect(srv.addr()).await;
    c.hello().await;
    let mut c = c.starttls(&pki, "localhost").await;
    let ehlo = c.cmd("EHLO client.test").await;
    assert!(!ehlo.contains("STARTTLS"), "{ehlo}");
    let r = c.message("a@x.test", &["b@y.test"], "hi").await;
    assert!(r.starts_with("250"), "{r}");
    c.cmd("QUIT").await;
    srv.shutdown().await;
    let ev = rec.events();
    assert!(
        ev.contains(&"hello Ehlo client.test TLSv1.3".to_string()),
        "{ev:?}"
    );
    let m = String::from_utf8(rec.messages()[0].clone()).unwrap();
    assert!(m.contains("with ESMTPS"), "{m}");
    assert!(m.contains("tls TLS_AES"), "{m}");
}

#[tokio::test]
async fn implicit_tls_listener() {
    let pki = Pki::localhost();
    let rec = Recorder::default();
    let b = Server::builder(options(), rec.clone())
        .listener(Listener::implicit_tls(local()))
        .tls(pki.tls());
    let srv = start(b).await;
    let mut c = Raw::connect_tls(srv.addr(), &pki, "localhost").await;
    let ehlo = c.hello().await;
    assert!(!ehlo.contains("STARTTLS"), "{ehlo}");
    assert!(
        c.message("a@x.test", &["b@y.test"], "hi")
            .await
            .starts_with("250")
    );
    c.cmd("QUIT").await;
    let handle = srv.handle.clone();
    srv.shutdown().await;
    assert_eq!(
        rec.log.lock().unwrap().tls_versions[0].as_deref(),
        Some("TLSv1.3")
    );
    assert_eq!(handle.stats().sessions_implicit_tls, 1);
    assert_eq!(handle.stats().messages_accepted, 1);
}

#[tokio::test]
async fn plaintext_pipelined_after_starttls_is_never_executed() {
    let pki = Pki::localhost();
    let rec = Recorder::default();
    let srv = start(builder(&rec, &pki, options())).await;
    let mut c = Raw::connect(srv.addr()).await;
    c.hello().await;
    // CVE-2011-0411: the injected commands arrive with STARTTLS, in one segment.
    c.send("STARTTLS\r\nMAIL FROM:<evil@x.test>\r\nRCPT TO:<victim@y.test>\r\n")
        .await;
    let r = c.reply().await.unwrap();
    assert!(r.starts_with("554 "), "{r}");
    assert!(c.closed().await);
    let handle = srv.handle.clone();
    srv.shutdown().await;
    let ev = rec.events();
    assert!(
        !ev.iter()
            .any(|e| e.starts_with("mail") || e.starts_with("rcpt")),
        "{ev:?}"
    );
    assert_eq!(handle.stats().plaintext_injections, 1);
}

#[tokio::test]
async fn plaintext_sent_behind_starttls_before_the_handshake_is_never_executed() {
    let pki = Pki::localhost();
    let rec = Recorder::default();
    let srv = start(builder(&rec, &pki, options())).await;
    let mut c = Raw::connect(srv.addr()).await;
    c.hello().await;
    // The injected line comes in a second segment, after the 220 was sent: it is read as
    // the start of a TLS handshake, which fails; it is never read as a command.
    let r = c.cmd("STARTTLS").await;
    assert!(r.starts_with("220 "), "{r}");
    c.send("MAIL FROM:<evil@x.test>\r\n").await;
    let _ = c.reply().await; // an alert or EOF, never an SMTP reply to MAIL
    let handle = srv.handle.clone();
    srv.shutdown().await;
    assert!(!rec.events().iter().any(|e| e.starts_with("mail")));
    assert_eq!(handle.stats().sessions_starttls, 0);
    let s = handle.stats();
    assert_eq!(
        s.handshake_failures.iter().map(|(_, n)| n).sum::<u64>(),
        1,
        "{s:?}"
    );
}

/// Each bare-LF/CR end-of-data variant of the SMTP smuggling papers: the handler must
/// see one message at most, holding the smuggled text, and never a second MAIL.
#[tokio::test]
async fn smuggling_variants_never_make_a_second_message() {
    let variants: [&[u8]; 6] = [
        b"\n.\n", b"\n.\r\n", b"\r.\r", b"\r\n.\r", b"\r\n.\n", b"\r.\r\n",
    ];
    for v in variants {
        let pki = Pki::localhost();
        let rec = Recorder::default();
        let srv = start(builder(&rec, &pki, options())).await;
        let mut c = Raw::connect(srv.addr()).await;
        c.hello().await;
        assert!(c.cmd("MAIL FROM:<a@x.test>").await.starts_with("250"));
        assert!(c.cmd("RCPT TO:<b@y.test>").await.starts_with("250"));
        assert!(c.cmd("DATA").await.starts_with("354"));
        let mut body = b"Subject: one\r\n\r\nfirst".to_vec();
        body.extend_from_slice(v);
        body.extend_from_slice(
            b"MAIL FROM:<evil@x.test>\r\nRCPT TO:<victim@y.test>\r\nDATA\r\nSubject: smuggled\r\n\r\n.\r\n",
        );
        c.send_bytes(&body).await;
        let r = c.reply().await.unwrap();
        c.cmd("QUIT").await;
        srv.shutdown().await;
        let ev = rec.events();
        let mails = ev.iter().filter(|e| e.starts_with("mail")).count();
        assert_eq!(mails, 1, "variant {v:?}: {ev:?} (reply {r})");
        assert!(rec.messages().len() <= 1, "variant {v:?}");
        assert!(
            !ev.iter().any(|e| e.contains("victim")),
            "variant {v:?}: {ev:?}"
        );
    }
}

#[tokio::test]
async fn auth_is_offered_only_after_tls_and_checked_by_the_handler() {
    let pki = Pki::localhost();
    let rec = Recorder::default();
    let mut opts = options();
    opts.auth_mechanisms = vec![Mechanism::PLAIN, Mechanism::LOGIN];
    let srv = start(builder(&rec, &pki, opts)).await;
    let mut c = Raw::connect(srv.addr()).await;
    let ehlo = c.hello().await;
    assert!(!ehlo.contains("AUTH"), "{ehlo}");
    assert!(
        c.cmd("AUTH PLAIN AHVzZXIAcGFzcw==")
            .await
            .starts_with("538 ")
    );
    let mut c = c.starttls(&pki, "localhost").await;
    let ehlo = c.cmd("EHLO client.test").await;
    assert!(ehlo.contains("AUTH PLAIN LOGIN"), "{ehlo}");
    // user / wrong
    assert_eq!(
        c.cmd("AUTH PLAIN AHVzZXIAd3Jvbmc=").await,
        "535 5.7.8 Bad credentials\r\n"
    );
    // user / pass
    assert!(
        c.cmd("AUTH PLAIN AHVzZXIAcGFzcw==")
            .await
            .starts_with("235 ")
    );
    assert!(c.cmd("MAIL FROM:<a@x.test>").await.starts_with("250"));
    c.cmd("QUIT").await;
    srv.shutdown().await;
    let ev = rec.events();
    assert!(
        ev.contains(&"mail <a@x.test> user=Some(\"user\")".to_string()),
        "{ev:?}"
    );
}

#[tokio::test]
async fn lmtp_gives_one_reply_per_recipient() {
    let pki = Pki::localhost();
    let rec = Recorder::default();
    let mut opts = options();
    opts.lmtp = true;
    let srv = start(builder(&rec, &pki, opts)).await;
    let mut c = Raw::connect(srv.addr()).await;
    c.reply().await.unwrap();
    assert!(c.cmd("LHLO client.test").await.starts_with("250"));
    assert!(c.cmd("MAIL FROM:<a@x.test>").await.starts_with("250"));
    assert!(c.cmd("RCPT TO:<ok@y.test>").await.starts_with("250"));
    assert!(c.cmd("RCPT TO:<fail@y.test>").await.starts_with("250"));
    assert!(c.cmd("RCPT TO:<ok2@y.test>").await.starts_with("250"));
    assert!(c.cmd("DATA").await.starts_with("354"));
    c.send("hi\r\n.\r\n").await;
    assert!(c.reply().await.unwrap().starts_with("250"));
    assert_eq!(c.reply().await.unwrap(), "550 5.2.1 Mailbox disabled\r\n");
    assert!(c.reply().await.unwrap().starts_with("250"));
    c.cmd("QUIT").await;
    srv.shutdown().await;
}

#[tokio::test]
async fn bdat_chunks_stream_to_the_handler() {
    let pki = Pki::localhost();
    let rec = Recorder::default();
    let mut opts = options();
    opts.chunking = true;
    let srv = start(builder(&rec, &pki, opts)).await;
    let mut c = Raw::connect(srv.addr()).await;
    assert!(c.hello().await.contains("CHUNKING"));
    assert!(c.cmd("MAIL FROM:<a@x.test>").await.starts_with("250"));
    assert!(c.cmd("RCPT TO:<b@y.test>").await.starts_with("250"));
    c.send("BDAT 6\r\nhello ").await;
    assert!(c.reply().await.unwrap().starts_with("250"));
    c.send("BDAT 7 LAST\r\nworld\r\n").await;
    assert_eq!(c.reply().await.unwrap(), "250 2.0.0 Queued as TEST1\r\n");
    c.cmd("QUIT").await;
    srv.shutdown().await;
    let m = String::from_utf8(rec.messages()[0].clone()).unwrap();
    assert!(m.starts_with("Received: "), "{m}");
    assert!(m.ends_with("\r\nhello world\r\n"), "{m}");
}

#[tokio::test]
async fn connections_over_the_per_ip_limit_get_421() {
    let pki = Pki::localhost();
    let rec = Recorder::default();
    let b = builder(&rec, &pki, options()).limits(ConnectionLimits {
        max_connections: 10,
        max_per_ip: 2,
    });
    let srv = start(b).await;
    let mut a = Raw::connect(srv.addr()).await;
    let mut b = Raw::connect(srv.addr()).await;
    a.hello().await;
    b.hello().await;
    let mut c = Raw::connect(srv.addr()).await;
    let r = c.reply().await.unwrap();
    assert!(r.starts_with("421 4.7.0 "), "{r}");
    assert!(c.closed().await);
    // When one leaves, a new one gets in.
    a.cmd("QUIT").await;
    assert!(a.closed().await);
    let mut d = Raw::connect(srv.addr()).await;
    d.hello().await;
    let handle = srv.handle.clone();
    drop((b, d));
    srv.shutdown().await;
    assert_eq!(handle.stats().connections_refused, 1);
}

#[tokio::test]
async fn global_connection_limit() {
    let pki = Pki::localhost();
    let rec = Recorder::default();
    let b = builder(&rec, &pki, options()).limits(ConnectionLimits {
        max_connections: 1,
        max_per_ip: 10,
    });
    let srv = start(b).await;
    let mut a = Raw::connect(srv.addr()).await;
    a.hello().await;
    let mut c = Raw::connect(srv.addr()).await;
    assert!(c.reply().await.unwrap().starts_with("421 4.7.0 "));
    drop(a);
    srv.shutdown().await;
}

#[tokio::test]
async fn a_body_over_the_handlers_limit_is_refused_never_truncated() {
    let pki = Pki::localhost();
    let rec = Recorder {
        body_limit: Some(10),
        ..Recorder::default()
    };
    let srv = start(builder(&rec, &pki, options())).await;
    let mut c = Raw::connect(srv.addr()).await;
    c.hello().await;
    let r = c
        .message("a@x.test", &["b@y.test"], "far more than ten bytes of body")
        .await;
    assert!(r.starts_with("552 5.3.4"), "{r}");
    // The session stays in step: the next command is answered normally.
    assert!(c.cmd("NOOP").await.starts_with("250"));
    c.cmd("QUIT").await;
    srv.shutdown().await;
    assert!(rec.messages().is_empty());
}
