//! Each fault of `smtp_server::testing` observed from our client: what the client sees,
//! and what the test server recorded.

mod kit;

use kit::{env, server};
use smtp_client::{Connection, Error, TlsPolicy};
use smtp_server::testing::{Side, TestServer};
use std::time::Duration;

const MSG: &str = "Subject: t\r\n\r\nhello\r\n";
const WAIT: Duration = Duration::from_secs(10);

fn opts(server: &TestServer, policy: TlsPolicy) -> smtp_client::ClientOptions {
    let mut o = kit::trusting(server, policy);
    o.timeouts = smtp_client::Timeouts::all(Duration::from_secs(20));
    o
}

async fn connect(server: &TestServer, policy: TlsPolicy) -> Result<Connection, Error> {
    Connection::connect(&kit::localhost(server), opts(server, policy)).await
}

async fn send(server: &TestServer, policy: TlsPolicy, to: &[&str]) -> Result<(), Error> {
    let mut c = connect(server, policy).await?;
    let d = c.send(env(to), MSG).await?;
    assert!(d.any_delivered(), "{d:?}");
    c.quit().await
}

#[tokio::test]
async fn a_message_is_recorded_with_its_envelope_tls_and_transcript() {
    let server = TestServer::start().await;
    send(&server, TlsPolicy::Verify, &["bob@example.test"])
        .await
        .unwrap();
    let msgs = server.wait_for(|m| m.len() == 1, WAIT).await.unwrap();
    let m = &msgs[0];
    assert_eq!(m.from_address(), "a@example.test");
    assert_eq!(m.to(), ["bob@example.test"]);
    assert_eq!(&m.data[..], MSG.as_bytes());
    assert_eq!(m.header("subject").as_deref(), Some("t"));
    assert!(m.tls.as_ref().is_some_and(|t| t.starttls));
    assert!(m.transcript.has(Side::Client, "STARTTLS"));
    assert!(m.transcript.has(Side::Note, "TLS"));
    assert!(m.transcript.has(Side::Client, "RCPT TO:<bob@example.test>"));
    server.clear();
    assert!(server.messages().is_empty());
}

#[tokio::test]
async fn a_recipient_pattern_is_refused_and_the_others_delivered() {
    let server = server(&["rcpt:*@bounce.test=550 5.1.1 No such user"]).await;
    let mut c = connect(&server, TlsPolicy::Verify).await.unwrap();
    let d = c
        .send(env(&["x@bounce.test", "y@example.test"]), MSG)
        .await
        .unwrap();
    let codes: Vec<u16> = d
        .recipients
        .iter()
        .map(|r| r.reply.as_ref().unwrap().code().get())
        .collect();
    assert_eq!(codes, [550, 250]);
    let refused = d.recipients[0].reply.as_ref().unwrap().to_string();
    assert_eq!(refused, "550 5.1.1 No such user");
    let msgs = server.wait_for(|m| m.len() == 1, WAIT).await.unwrap();
    assert_eq!(msgs[0].to(), ["y@example.test"]);
}

#[tokio::test]
async fn data_refused_twice_then_accepted() {
    let server = server(&["data:times=2=451 4.3.0 Try later"]).await;
    for _ in 0..2 {
        let e = send(&server, TlsPolicy::Verify, &["b@example.test"])
            .await
            .unwrap_err();
        assert!(e.is_transient(), "{e}");
        assert!(e.to_string().contains("451 4.3.0 Try later"), "{e}");
    }
    send(&server, TlsPolicy::Verify, &["b@example.test"])
        .await
        .unwrap();
    let msgs = server.wait_for(|m| !m.is_empty(), WAIT).await.unwrap();
    assert_eq!(msgs.len(), 1);
}

#[tokio::test]
async fn starttls_hidden_stops_a_verifying_client_and_a_may_client_goes_plain() {
    let server = server(&["starttls=hide"]).await;
    let e = send(&server, TlsPolicy::Verify, &["b@example.test"])
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Policy { .. }), "{e}");
    send(&server, TlsPolicy::May, &["b@example.test"])
        .await
        .unwrap();
    let msgs = server.wait_for(|m| m.len() == 1, WAIT).await.unwrap();
    assert!(msgs[0].tls.is_none());
    assert!(!msgs[0].transcript.has(Side::Server, "STARTTLS"));
}

#[tokio::test]
async fn starttls_answered_454_or_502() {
    for reply in ["454 4.7.0 TLS not available", "502 5.5.1 Not implemented"] {
        let server = server(&[&format!("starttls={reply}")]).await;
        let e = send(&server, TlsPolicy::Verify, &["b@example.test"])
            .await
            .unwrap_err();
        assert!(e.to_string().contains(&reply[..3]), "{e}");
        // Opportunistic TLS carries on in plaintext, as RFC 3207 §4.1 allows.
        send(&server, TlsPolicy::May, &["b@example.test"])
            .await
            .unwrap();
        let msgs = server.wait_for(|m| m.len() == 1, WAIT).await.unwrap();
        assert!(msgs[0].tls.is_none());
    }
}

#[tokio::test]
async fn every_bad_certificate_fails_verification_and_the_good_one_passes() {
    let server = TestServer::start().await;
    send(&server, TlsPolicy::Verify, &["b@example.test"])
        .await
        .unwrap();
    for kind in [
        "expired",
        "not-yet-valid",
        "self-signed",
        "wrong-name",
        "weak",
    ] {
        server.faults().clear();
        server.add_fault(&format!("cert={kind}")).unwrap();
        let e = send(&server, TlsPolicy::Verify, &["b@example.test"])
            .await
            .unwrap_err();
        assert!(matches!(e, Error::Tls { .. }), "{kind}: {e}");
        // Encrypt (no verification) still delivers over TLS.
        send(&server, TlsPolicy::Encrypt, &["b@example.test"])
            .await
            .unwrap();
    }
    assert_eq!(server.messages().len(), 6);
}

#[tokio::test]
async fn bytes_injected_after_the_starttls_220_are_refused() {
    let server = server(&["starttls=inject=250 2.0.0 injected\\r\\n"]).await;
    let e = send(&server, TlsPolicy::Verify, &["b@example.test"])
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Protocol { .. }), "{e}");
    assert!(server.messages().is_empty());
}

#[tokio::test]
async fn an_unsolicited_reply_is_a_protocol_error() {
    let server = server(&["greeting=unsolicited=250 2.0.0 nobody asked"]).await;
    let e = send(&server, TlsPolicy::Verify, &["b@example.test"])
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Protocol { .. }), "{e}");
}

#[tokio::test]
async fn malformed_and_endless_replies_end_in_errors_not_hangs() {
    for rule in ["mail=malformed", "ehlo=endless"] {
        let server = server(&[rule]).await;
        let e = send(&server, TlsPolicy::Verify, &["b@example.test"])
            .await
            .unwrap_err();
        assert!(matches!(e, Error::Protocol { .. }), "{rule}: {e}");
        assert!(server.messages().is_empty());
    }
}

#[tokio::test]
async fn delayed_and_dripped_replies_still_deliver() {
    let server = server(&["mail=delay=200ms", "rcpt=drip=1ms"]).await;
    send(&server, TlsPolicy::Verify, &["b@example.test"])
        .await
        .unwrap();
    let msgs = server.wait_for(|m| m.len() == 1, WAIT).await.unwrap();
    assert!(msgs[0].transcript.has(Side::Note, "fault at mail: delay"));
    assert!(msgs[0].transcript.has(Side::Note, "fault at rcpt: drip"));
}

#[tokio::test]
async fn closes_at_a_stage_and_after_body_octets_lose_the_message() {
    for rule in ["rcpt=close", "eod=close", "data=close-after=5"] {
        let server = server(&[rule]).await;
        let e = send(&server, TlsPolicy::Verify, &["b@example.test"])
            .await
            .unwrap_err();
        assert!(e.is_transient(), "{rule}: {e}");
        let sessions = server
            .wait_for_sessions(|s| !s.is_empty(), WAIT)
            .await
            .unwrap();
        assert!(server.messages().is_empty(), "{rule}");
        assert!(sessions[0].transcript.has(Side::Note, "fault"), "{rule}");
    }
}

#[tokio::test]
async fn a_421_mid_session_closes_and_is_transient() {
    let server = server(&["mail=421 4.4.2 Going down"]).await;
    let mut c = connect(&server, TlsPolicy::Verify).await.unwrap();
    let e = c.send(env(&["b@example.test"]), MSG).await.unwrap_err();
    assert!(e.is_transient(), "{e}");
    assert!(!c.is_open());
}

#[tokio::test]
async fn the_end_of_data_refused_keeps_nothing() {
    let server = server(&["eod:*@example.test=554 5.7.1 Spam"]).await;
    let e = send(&server, TlsPolicy::Verify, &["b@example.test"])
        .await
        .unwrap_err();
    assert!(e.to_string().contains("554 5.7.1 Spam"), "{e}");
    assert!(!e.is_transient());
    send(&server, TlsPolicy::Verify, &["c@other.test"])
        .await
        .unwrap();
    let msgs = server.wait_for(|m| !m.is_empty(), WAIT).await.unwrap();
    assert_eq!(msgs.len(), 1);
    assert_eq!(msgs[0].to(), ["c@other.test"]);
}

#[tokio::test]
async fn refused_and_dropped_connections() {
    let server = server(&["greeting:nth=1=554 5.3.2 Not now", "connect:nth=2=close"]).await;
    for _ in 0..2 {
        assert!(connect(&server, TlsPolicy::Verify).await.is_err());
    }
    send(&server, TlsPolicy::Verify, &["b@example.test"])
        .await
        .unwrap();
}

#[tokio::test]
async fn auth_refused_by_a_rule() {
    let server = TestServer::builder()
        .auth_user("u", "p")
        .fault("auth:nth=1=454 4.7.0 Temporary authentication failure")
        .unwrap()
        .start()
        .await
        .unwrap();
    let o = opts(&server, TlsPolicy::Verify).with_plain_auth("u", "p");
    let target = format!("localhost:{}", server.addr().port());
    let e = Connection::connect(&target, o.clone()).await.unwrap_err();
    assert!(e.to_string().contains("454"), "{e}");
    let mut c = Connection::connect(&target, o).await.unwrap();
    c.send(env(&["b@example.test"]), MSG).await.unwrap();
    let msgs = server.wait_for(|m| m.len() == 1, WAIT).await.unwrap();
    assert_eq!(msgs[0].auth.as_deref(), Some("u"));
}

#[tokio::test]
async fn bdat_chunks_refused_by_a_rule() {
    let server = TestServer::builder()
        .chunking(true)
        .fault("bdat=452 4.3.1 Out of space")
        .unwrap()
        .start()
        .await
        .unwrap();
    let mut o = opts(&server, TlsPolicy::Verify);
    o.chunking = true;
    let target = format!("localhost:{}", server.addr().port());
    let mut c = Connection::connect(&target, o).await.unwrap();
    let e = c.send(env(&["b@example.test"]), MSG).await.unwrap_err();
    assert!(e.to_string().contains("452"), "{e}");
    assert!(server.messages().is_empty());
}

#[tokio::test]
async fn rules_added_and_cleared_while_running() {
    let server = TestServer::start().await;
    server.add_fault("mail=550 5.7.1 Go away").unwrap();
    assert!(
        send(&server, TlsPolicy::Verify, &["b@example.test"])
            .await
            .is_err()
    );
    server.faults().clear();
    send(&server, TlsPolicy::Verify, &["b@example.test"])
        .await
        .unwrap();
}

#[tokio::test]
async fn extensions_switched_off_and_implicit_tls() {
    let server = TestServer::builder()
        .size(false)
        .enhanced_status_codes(false)
        .pipelining(false)
        .implicit_tls()
        .fault("cert=expired")
        .unwrap()
        .start()
        .await
        .unwrap();
    send(&server, TlsPolicy::Verify, &["b@example.test"])
        .await
        .unwrap_err();
    server.faults().clear();
    send(&server, TlsPolicy::Verify, &["b@example.test"])
        .await
        .unwrap();
    let msgs = server.wait_for(|m| m.len() == 1, WAIT).await.unwrap();
    let t = &msgs[0].transcript;
    for gone in ["SIZE", "ENHANCEDSTATUSCODES", "PIPELINING"] {
        assert!(!t.has(Side::Server, &format!("250-{gone}")), "{gone}\n{t}");
        assert!(!t.has(Side::Server, &format!("250 {gone}")), "{gone}\n{t}");
    }
    assert!(!t.has(Side::Server, "2.1.0"), "{t}");
    let implicit = server.implicit_tls_addr().unwrap();
    let o = opts(&server, TlsPolicy::Verify).with_implicit_tls();
    let mut c = Connection::connect(&format!("localhost:{}", implicit.port()), o)
        .await
        .unwrap();
    c.send(env(&["b@example.test"]), MSG).await.unwrap();
    let msgs = server.wait_for(|m| m.len() == 2, WAIT).await.unwrap();
    assert!(msgs[1].tls.as_ref().is_some_and(|t| !t.starttls));
}

#[tokio::test]
async fn many_servers_side_by_side() {
    let servers = futures_join(8).await;
    for (i, s) in servers.iter().enumerate() {
        send(s, TlsPolicy::Verify, &[&format!("n{i}@example.test")])
            .await
            .unwrap();
    }
    for (i, s) in servers.iter().enumerate() {
        let m = s.wait_for(|m| m.len() == 1, WAIT).await.unwrap();
        assert_eq!(m[0].to(), [format!("n{i}@example.test")]);
    }
}

async fn futures_join(n: usize) -> Vec<TestServer> {
    let mut v = Vec::new();
    for _ in 0..n {
        v.push(TestServer::start().await);
    }
    v
}

#[tokio::test]
async fn lmtp_and_required_tls() {
    let server = TestServer::builder()
        .lmtp(true)
        .require_tls(true)
        .fault("eod:nth=1=452 4.2.2 Mailbox full")
        .unwrap()
        .start()
        .await
        .unwrap();
    let mut o = opts(&server, TlsPolicy::Verify);
    o.lmtp = true;
    let target = format!("localhost:{}", server.addr().port());
    let mut c = Connection::connect(&target, o.clone()).await.unwrap();
    // LMTP: one reply per recipient; the rule answers the first message's end.
    let d = c
        .send(env(&["b@example.test", "c@example.test"]), MSG)
        .await
        .unwrap();
    let codes: Vec<u16> = d.message.iter().map(|r| r.code().get()).collect();
    assert_eq!(codes, [452, 250], "{d:?}");
    c.quit().await.unwrap();
    let s = server
        .wait_for_sessions(|s| s.len() == 1, WAIT)
        .await
        .unwrap();
    eprintln!("{}", s[0].transcript);
    let msgs = server.wait_for(|m| m.len() == 1, WAIT).await.unwrap();
    assert!(matches!(
        msgs[0].hello,
        Some((smtp_client::proto::HelloVerb::Lhlo, _))
    ));
    // Without TLS, MAIL is refused.
    o.tls_policy = TlsPolicy::None;
    let mut c = Connection::connect(&target, o).await.unwrap();
    let e = c.send(env(&["b@example.test"]), MSG).await.unwrap_err();
    assert!(e.to_string().contains("530"), "{e}");
}
