//! Sessions against our own server and scripted ones: pipelining, partial recipient
//! failure, BDAT, streaming bodies, AUTH, LMTP, 421, timeouts and cancellation.

mod support;

use smtp_client::proto::Mechanism;
use smtp_client::proto::Secret;
use smtp_client::{
    ClientAuth, Connection, DeliveryStatus, Envelope, Error, PolicyViolation, TlsPolicy,
};
use std::time::Duration;
use support::*;

const MSG: &str = "Subject: t\r\n\r\nhello\r\n";

fn env(to: &[&str]) -> Envelope {
    Envelope::new("<a@example.test>", to.iter().copied()).unwrap()
}

/// The connection is closed and says so to a further send.
async fn assert_unusable(c: &mut Connection) {
    assert!(!c.is_open());
    assert!(matches!(
        c.send(env(&["<b@example.test>"]), MSG).await,
        Err(Error::Closed)
    ));
}

async fn server(opts: smtp_client::proto::ServerOptions) -> (Ca, Recorder, Running) {
    let ca = Ca::new();
    let pki = ca.issue(Cert::Valid);
    let rec = Recorder::default();
    let srv = start(builder(&rec, &pki, opts)).await;
    (ca, rec, srv)
}

#[tokio::test]
async fn partial_recipient_failure_is_reported_per_recipient() {
    let (ca, rec, srv) = server(options()).await;
    let mut c = Connection::connect(&target(&srv), client(&ca, TlsPolicy::Verify))
        .await
        .unwrap();
    // Plain addresses and paths alike; results name each as it was written.
    let mixed = Envelope::new(
        "a@example.test",
        [
            "one@example.test",
            "<reject@example.test>",
            "<two@example.test>",
        ],
    )
    .unwrap();
    let d = c.send(mixed, MSG).await.unwrap();
    assert!(d.any_delivered() && !d.all_delivered());
    assert_eq!(d.status(), DeliveryStatus::PartlyRefused);
    let codes: Vec<u16> = d
        .recipients
        .iter()
        .map(|r| r.reply.as_ref().unwrap().code().get())
        .collect();
    assert_eq!(codes, [250, 550, 250]);
    let written: Vec<&str> = d.recipients.iter().map(|r| r.address.as_str()).collect();
    assert_eq!(
        written,
        [
            "one@example.test",
            "<reject@example.test>",
            "<two@example.test>"
        ]
    );
    assert_eq!(d.recipients[0].path.to_string(), "<one@example.test>");
    assert_eq!(d.failed().count(), 1);
    assert!(
        d.message_reply()
            .unwrap()
            .text()
            .contains("Queued as TEST1")
    );
    // One line per recipient: the address as written and the reply that decided.
    let lines: Vec<String> = d.to_string().lines().map(str::to_owned).collect();
    assert_eq!(lines.len(), 3);
    assert!(lines[0].starts_with("one@example.test: 250 "), "{lines:?}");
    assert!(
        lines[1].starts_with("<reject@example.test>: 550 "),
        "{lines:?}"
    );
    assert_eq!(lines[1], d.recipients[1].to_string());
    // Every recipient refused: a typed, permanent error with the same per-recipient
    // view and the session's report; the connection stays usable.
    let e = c
        .send(
            env_(&["reject1@example.test", "<reject2@example.test>"]),
            MSG,
        )
        .await
        .unwrap_err();
    let Error::MessageRefused {
        stage, delivery, ..
    } = &e
    else {
        panic!("{e:?}")
    };
    assert_eq!(*stage, "RCPT");
    assert_eq!(delivery.recipients.len(), 2);
    assert_eq!(delivery.status(), DeliveryStatus::Refused);
    assert_eq!(delivery.recipients[0].address, "reject1@example.test");
    assert!(!e.is_transient() && e.is_permanent());
    assert_eq!(e.reply().unwrap().code().get(), 550);
    assert!(e.report().unwrap().tls.as_ref().unwrap().verified);
    let d = e.into_delivery().unwrap();
    assert!(d.recipients.iter().all(|r| !r.is_transient()));
    // `or_else(Error::into_delivery)`: a Delivery in every case.
    let d = c
        .send(env_(&["reject3@example.test"]), MSG)
        .await
        .or_else(Error::into_delivery)
        .unwrap();
    assert!(
        d.to_string().starts_with("reject3@example.test: 550 "),
        "{d}"
    );
    let d = c
        .send(env(&["<three@example.test>"]), MSG)
        .await
        .or_else(Error::into_delivery)
        .unwrap();
    assert_eq!(d.status(), DeliveryStatus::Accepted);
    c.quit().await.unwrap();
    srv.shutdown().await;
    assert_eq!(rec.messages().len(), 2);
    assert!(
        rec.events().iter().any(|e| e == "reset"),
        "{:?}",
        rec.events()
    );
}

/// An envelope from plain addresses.
fn env_(to: &[&str]) -> Envelope {
    Envelope::new("a@example.test", to.iter().copied()).unwrap()
}

#[tokio::test]
async fn mail_rcpt_and_data_go_out_in_one_write_with_pipelining() {
    let (addr, task) = scripted(vec![
        ("", "220 mx.test ESMTP\r\n"),
        ("\r\n", "250-mx.test\r\n250-PIPELINING\r\n250 8BITMIME\r\n"),
        (
            "DATA\r\n",
            "250 2.1.0 ok\r\n250 2.1.5 ok\r\n550 5.1.1 no\r\n354 go\r\n",
        ),
        ("\r\n.\r\n", "250 2.0.0 queued\r\n"),
        ("QUIT\r\n", "221 bye\r\n"),
    ])
    .await;
    let ca = Ca::new();
    let mut c = Connection::connect(&addr.to_string(), client(&ca, TlsPolicy::May))
        .await
        .unwrap();
    let d = c
        .send(
            env(&["<b@example.test>", "<c@example.test>"]),
            "x\n.hidden\n",
        )
        .await
        .unwrap();
    assert_eq!(d.recipients[1].reply.as_ref().unwrap().code().get(), 550);
    c.quit().await.unwrap();
    let (seen, reads) = task.await.unwrap();
    assert!(
        seen.contains("MAIL FROM:<a@example.test>\r\nRCPT TO:<b@example.test>\r\nRCPT TO:<c@example.test>\r\nDATA\r\n"),
        "{seen}"
    );
    // The whole MAIL/RCPT/DATA group arrived in the server's first read: one write.
    assert_eq!(reads[2], 1, "{reads:?}");
    // Body and terminator in one write as well, CRLF and dot-stuffed.
    assert!(seen.contains("x\r\n..hidden\r\n.\r\n"), "{seen}");
    assert_eq!(reads[3], 1, "{reads:?}");
}

#[tokio::test]
async fn lock_step_without_pipelining() {
    let (addr, task) = scripted(vec![
        ("", "220 mx.test ESMTP\r\n"),
        ("\r\n", "250 mx.test\r\n"),
        ("MAIL FROM:<a@example.test>\r\n", "250 ok\r\n"),
        ("RCPT TO:<b@example.test>\r\n", "250 ok\r\n"),
        ("DATA\r\n", "354 go\r\n"),
        ("\r\n.\r\n", "250 queued\r\n"),
        ("QUIT\r\n", "221 bye\r\n"),
    ])
    .await;
    let mut c = Connection::connect(&addr.to_string(), client(&Ca::new(), TlsPolicy::May))
        .await
        .unwrap();
    c.send(env(&["<b@example.test>"]), MSG).await.unwrap();
    c.quit().await.unwrap();
    let (seen, _) = task.await.unwrap();
    assert!(seen.starts_with("EHLO client.test\r\nMAIL FROM:"), "{seen}");
}

fn big_body(n: usize) -> Vec<u8> {
    let mut b = b"Subject: big\r\n\r\n".to_vec();
    let mut i = 0;
    while b.len() < n {
        b.extend_from_slice(format!(".line {i} of a large message\n").as_bytes());
        i += 1;
    }
    b
}

#[tokio::test]
async fn bdat_and_streamed_bodies_arrive_intact() {
    let mut opts = options();
    opts.chunking = true;
    let (ca, rec, srv) = server(opts).await;
    let body = big_body(600_000);
    let want = String::from_utf8(body.clone())
        .unwrap()
        .replace('\n', "\r\n")
        .replace("\r\r\n", "\r\n");
    for chunking in [true, false] {
        let mut o = client(&ca, TlsPolicy::Verify);
        o.chunking = chunking;
        let mut c = Connection::connect(&target(&srv), o).await.unwrap();
        // From a stream, a piece at a time.
        c.send_reader(env(&["<b@example.test>"]), &body[..])
            .await
            .unwrap();
        // From memory.
        c.send(env(&["<b@example.test>"]), &body).await.unwrap();
        c.quit().await.unwrap();
    }
    srv.shutdown().await;
    let msgs = rec.messages();
    assert_eq!(msgs.len(), 4);
    for m in msgs {
        let m = String::from_utf8(m).unwrap();
        // Our server puts its Received: header on top.
        let (_, rest) = m.split_once("Subject: big").unwrap();
        assert_eq!(format!("Subject: big{rest}"), want);
    }
}

#[tokio::test]
async fn auth_plain_and_login_after_tls_and_a_refusal_is_permanent() {
    let mut so = options();
    so.auth_mechanisms = vec![Mechanism::PLAIN, Mechanism::LOGIN];
    let (ca, rec, srv) = server(so).await;
    let login = ClientAuth::Login {
        username: "user".into(),
        password: Secret::new("pass".into()),
    };
    let plain = ClientAuth::Plain {
        authzid: None,
        username: "user".into(),
        password: Secret::new("pass".into()),
    };
    for auth in [plain, login] {
        let mut o = client(&ca, TlsPolicy::Verify);
        o.auth = Some(auth.clone());
        assert!(!format!("{o:?}").contains("pass\""), "password in Debug");
        let mut c = Connection::connect(&target(&srv), o).await.unwrap();
        assert!(c.report().authenticated.is_some());
        c.send(env(&["<b@example.test>"]), MSG).await.unwrap();
        c.quit().await.unwrap();
    }
    let mut o = client(&ca, TlsPolicy::Verify).with_plain_auth("user", "wrong");
    o.hello_name = "client.test".into();
    let e = Connection::connect(&target(&srv), o).await.unwrap_err();
    let Error::Rejected { stage, reply, .. } = &e else {
        panic!("{e:?}")
    };
    assert_eq!((stage.as_str(), reply.code().get()), ("AUTH", 535));
    assert!(!e.is_transient());
    srv.shutdown().await;
    let ev = rec.events();
    assert!(
        ev.iter().any(|e| e.contains("user=Some(\"user\")")),
        "{ev:?}"
    );
}

#[tokio::test]
async fn credentials_never_go_out_in_plaintext_unless_allowed() {
    let mut so = options();
    so.auth_mechanisms = vec![Mechanism::PLAIN];
    so.auth_without_tls = true;
    let rec = Recorder::default();
    let srv = serve(&rec, so, false, None).await;
    let o = client(&Ca::new(), TlsPolicy::May).with_plain_auth("user", "pass");
    let e = Connection::connect(&target(&srv), o.clone())
        .await
        .unwrap_err();
    assert!(
        matches!(
            e,
            Error::Policy {
                violation: PolicyViolation::AuthWithoutTls { .. },
                ..
            }
        ),
        "{e:?}"
    );
    assert!(!rec.events().iter().any(|e| e.starts_with("auth")));
    let mut o = o;
    o.auth_without_tls = true;
    let c = Connection::connect(&target(&srv), o).await.unwrap();
    c.quit().await.unwrap();
    srv.shutdown().await;
    assert!(
        rec.events().iter().any(|e| e == "auth user"),
        "{:?}",
        rec.events()
    );
}

#[tokio::test]
async fn xoauth2_sends_the_bearer_token() {
    let (addr, task) = scripted(vec![
        ("", "220 mx.test ESMTP\r\n"),
        ("\r\n", "250-mx.test\r\n250 AUTH XOAUTH2\r\n"),
        // The end of the AUTH line (its base64 ends in "=="): a 235 sent before it
        // would answer nothing.
        ("==\r\n", "235 2.7.0 ok\r\n"),
        ("QUIT\r\n", "221 bye\r\n"),
    ])
    .await;
    let mut o = client(&Ca::new(), TlsPolicy::None);
    o.auth = Some(ClientAuth::XOAuth2 {
        username: "u@example.test".into(),
        token: Secret::new("tok".into()),
    });
    o.auth_without_tls = true;
    let c = Connection::connect(&addr.to_string(), o).await.unwrap();
    c.quit().await.unwrap();
    let (seen, _) = task.await.unwrap();
    use base64::Engine;
    let want = base64::engine::general_purpose::STANDARD
        .encode("user=u@example.test\x01auth=Bearer tok\x01\x01");
    assert!(seen.contains(&format!("AUTH XOAUTH2 {want}\r\n")), "{seen}");
}

#[tokio::test]
async fn lmtp_gives_each_recipient_its_own_reply() {
    let mut so = options();
    so.lmtp = true;
    let (ca, _rec, srv) = server(so).await;
    let mut o = client(&ca, TlsPolicy::Verify);
    o.lmtp = true;
    let mut c = Connection::connect(&target(&srv), o).await.unwrap();
    let d = c
        .send(env(&["<ok@example.test>", "<fail@example.test>"]), MSG)
        .await
        .unwrap();
    assert!(d.recipients[0].delivered());
    assert_eq!(d.recipients[1].reply.as_ref().unwrap().code().get(), 550);
    assert_eq!(d.message.len(), 2);
    c.quit().await.unwrap();
    srv.shutdown().await;
}

#[tokio::test]
async fn a_421_mid_session_is_a_transient_error() {
    let (addr, task) = scripted(vec![
        ("", "220 mx.test ESMTP\r\n"),
        ("\r\n", "250-mx.test\r\n250 PIPELINING\r\n"),
        ("DATA\r\n", "421 4.3.2 shutting down\r\n"),
    ])
    .await;
    let mut c = Connection::connect(&addr.to_string(), client(&Ca::new(), TlsPolicy::May))
        .await
        .unwrap();
    let e = c.send(env(&["<b@example.test>"]), MSG).await.unwrap_err();
    assert!(e.is_transient(), "{e:?}");
    assert_eq!(e.reply().unwrap().code().get(), 421);
    assert_unusable(&mut c).await;
    drop(c);
    task.await.unwrap();
}

#[tokio::test]
async fn greeting_refusal_and_early_close() {
    let (addr, task) = scripted(vec![
        ("", "554 5.7.1 go away\r\n"),
        ("QUIT\r\n", "221 bye\r\n"),
    ])
    .await;
    let e = Connection::connect(&addr.to_string(), client(&Ca::new(), TlsPolicy::May))
        .await
        .unwrap_err();
    assert!(
        !e.is_transient() && e.reply().unwrap().code().get() == 554,
        "{e:?}"
    );
    task.await.unwrap();
    // The server closes right after its greeting.
    let (addr, task) = scripted(vec![("", "220 mx.test\r\n")]).await;
    task.abort();
    let _ = task.await;
    let e = Connection::connect(&addr.to_string(), client(&Ca::new(), TlsPolicy::May))
        .await
        .unwrap_err();
    assert!(e.is_transient(), "{e:?}");
    // Nobody listens.
    let e = Connection::connect(
        &format!("127.0.0.1:{}", dead_port().await),
        client(&Ca::new(), TlsPolicy::May),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(e, Error::Connect { .. }) && e.is_transient(),
        "{e:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_silent_server_times_out_per_rfc_5321() {
    // Never greets. The default greeting timeout (5 min) runs on the paused clock.
    let (addr, task) = scripted(vec![("never", "")]).await;
    let mut o = client(&Ca::new(), TlsPolicy::May);
    o.timeouts = smtp_client::Timeouts::default();
    let e = Connection::connect(&addr.to_string(), o).await.unwrap_err();
    let Error::Timeout { stage, .. } = &e else {
        panic!("{e:?}")
    };
    assert!(stage.contains("greeting"), "{stage}");
    assert!(e.is_transient());
    task.abort();
}

#[tokio::test(start_paused = true)]
async fn a_cancelled_send_leaves_the_connection_unusable() {
    let (addr, task) = scripted(vec![
        ("", "220 mx.test ESMTP\r\n"),
        ("\r\n", "250-mx.test\r\n250 PIPELINING\r\n"),
        // Never answers the transaction.
        ("DATA\r\n", ""),
    ])
    .await;
    let mut c = Connection::connect(&addr.to_string(), client(&Ca::new(), TlsPolicy::May))
        .await
        .unwrap();
    let r = tokio::time::timeout(
        Duration::from_secs(1),
        c.send(env(&["<b@example.test>"]), MSG),
    )
    .await;
    assert!(r.is_err(), "the send was cancelled");
    assert_unusable(&mut c).await;
    drop(c);
    task.await.unwrap();
}

#[tokio::test]
async fn undeclared_8bit_in_a_stream_abandons_the_message() {
    let mut so = options();
    so.eight_bit_mime = false;
    let (ca, rec, srv) = server(so).await;
    let mut c = Connection::connect(&target(&srv), client(&ca, TlsPolicy::Verify))
        .await
        .unwrap();
    // From memory the 8-bit body is detected first: the server lacks 8BITMIME.
    let e = c
        .send(env(&["<b@example.test>"]), "Subject: \u{e9}\r\n\r\n")
        .await
        .unwrap_err();
    assert!(
        matches!(
            e,
            Error::Policy {
                violation: PolicyViolation::MissingExtension { .. },
                ..
            }
        ),
        "{e:?}"
    );
    assert!(!e.is_transient());
    assert!(c.is_open());
    // From a stream it shows only once the body has started.
    let e = c
        .send_reader(
            env(&["<b@example.test>"]),
            "Subject: \u{e9}\r\n\r\n".as_bytes(),
        )
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Body(_)), "{e:?}");
    assert!(!c.is_open());
    srv.shutdown().await;
    assert!(rec.messages().is_empty());
}

#[tokio::test]
async fn the_one_shot_send_reports_delivery_and_session() {
    let (ca, rec, srv) = server(options()).await;
    let (d, report) = smtp_client::send(
        &target(&srv),
        client(&ca, TlsPolicy::Verify),
        env(&["<b@example.test>"]),
        MSG,
    )
    .await
    .unwrap();
    assert!(d.all_delivered());
    assert_eq!(report.greeting_name().as_deref(), Some("mx.test"));
    assert!(report.capabilities_before_tls.as_ref().unwrap().starttls());
    assert!(!report.capabilities.as_ref().unwrap().starttls());
    srv.shutdown().await;
    assert_eq!(rec.messages().len(), 1);
}

#[tokio::test]
async fn a_message_over_the_servers_size_is_refused_before_it_is_sent() {
    let mut so = options();
    so.max_message_size = 1000;
    let (ca, rec, srv) = server(so).await;
    let mut c = Connection::connect(&target(&srv), client(&ca, TlsPolicy::Verify))
        .await
        .unwrap();
    let big = big_body(5000);
    let e = c.send(env(&["<b@example.test>"]), &big).await.unwrap_err();
    assert!(
        matches!(
            e,
            Error::Policy {
                violation: PolicyViolation::TooBig { .. },
                ..
            }
        ),
        "{e:?}"
    );
    assert!(!e.is_transient());
    // From a stream the size shows once it is exceeded: the message is abandoned.
    let e = c
        .send_reader(env(&["<b@example.test>"]), &big[..])
        .await
        .unwrap_err();
    assert!(
        matches!(
            e,
            Error::Policy {
                violation: PolicyViolation::TooBig { .. },
                ..
            }
        ),
        "{e:?}"
    );
    assert!(!c.is_open());
    srv.shutdown().await;
    assert!(rec.messages().is_empty());
}

#[tokio::test]
async fn a_server_that_ends_the_session_after_a_refusal_leaves_a_transient_closed() {
    let (addr, task) = scripted(vec![
        ("", "220 mx.test ESMTP\r\n"),
        ("\r\n", "250-mx.test\r\n250 PIPELINING\r\n"),
        (
            "DATA\r\n",
            "250 2.1.0 ok\r\n550 5.1.1 no\r\n554 5.5.1 no valid recipients\r\n",
        ),
        ("RSET\r\n", "421 4.7.0 too many errors\r\n"),
    ])
    .await;
    let mut c = Connection::connect(&addr.to_string(), client(&Ca::new(), TlsPolicy::May))
        .await
        .unwrap();
    let e = c.send(env(&["<b@example.test>"]), MSG).await.unwrap_err();
    assert!(
        matches!(
            &e,
            Error::MessageRefused {
                stage: smtp_client::Stage::Rcpt,
                ..
            }
        ),
        "{e:?}"
    );
    assert!(!c.is_open());
    let e = c.send(env(&["<b@example.test>"]), MSG).await.unwrap_err();
    assert!(matches!(e, Error::Closed) && e.is_transient(), "{e:?}");
    drop(c);
    task.await.unwrap();
}

#[tokio::test]
async fn under_may_a_failed_handshake_is_retried_in_plaintext() {
    let ca = Ca::new();
    let pki = ca.issue(Cert::Valid);
    // The server speaks TLS 1.3 only; the client offers TLS 1.2 only.
    let tls = smtp_server::TlsBuilder::new()
        .versions(&[&rustls::version::TLS13])
        .certificate_pem(pki.cert_pem.as_bytes(), pki.key_pem.as_bytes())
        .unwrap()
        .build()
        .unwrap();
    let rec = Recorder::default();
    let srv = serve(&rec, options(), false, Some(tls)).await;
    for policy in [TlsPolicy::May, TlsPolicy::Encrypt] {
        let mut o = client(&ca, policy.clone());
        o.tls_versions = vec![&rustls::version::TLS12];
        let r = Connection::connect(&target(&srv), o).await;
        if policy == TlsPolicy::May {
            let mut c = r.unwrap();
            assert!(c.report().tls.is_none());
            assert_eq!(c.report().policy, "may");
            assert!(
                c.report().reason.contains("retried in plaintext"),
                "{}",
                c.report().reason
            );
            c.send(env(&["<b@example.test>"]), MSG).await.unwrap();
            c.quit().await.unwrap();
        } else {
            let e = r.unwrap_err();
            assert!(
                matches!(e, Error::Tls { .. }) && e.is_tls_failure(),
                "{e:?}"
            );
        }
    }
    srv.shutdown().await;
    assert_eq!(rec.messages().len(), 1);
}

#[tokio::test(start_paused = true)]
async fn a_trickled_reply_does_not_extend_the_timeout() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    // A server that sends its greeting one byte every 4 minutes: each read is within
    // the 5-minute greeting timeout, the whole reply is not.
    let l = tokio::net::TcpListener::bind(local()).await.unwrap();
    let addr = l.local_addr().unwrap();
    let task = tokio::spawn(async move {
        let (mut s, _) = l.accept().await.unwrap();
        for b in b"220 mx.test ESMTP\r\n" {
            if s.write_all(&[*b]).await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_secs(240)).await;
        }
        let mut buf = [0u8; 64];
        let _ = s.read(&mut buf).await;
    });
    let mut o = client(&Ca::new(), TlsPolicy::May);
    o.timeouts = smtp_client::Timeouts::default();
    let e = Connection::connect(&addr.to_string(), o).await.unwrap_err();
    assert!(
        matches!(&e, Error::Timeout { stage, .. } if stage.contains("greeting")),
        "{e:?}"
    );
    task.abort();
}
