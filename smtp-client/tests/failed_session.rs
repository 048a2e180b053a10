//! A session that fails after the connection was made still tells what it got:
//! `Error::report` after a refused AUTH, a 421 during setup, a refused message, a
//! failed certificate check.

mod support;

use smtp_client::{Connection, Envelope, Error, Mechanism, TlsPolicy};
use support::*;

#[tokio::test]
async fn a_refused_auth_keeps_the_tls_facts_and_claims_no_authentication() {
    let ca = Ca::new();
    let rec = Recorder::default();
    let mut so = options();
    so.auth_mechanisms = vec![Mechanism::PLAIN];
    let srv = start(builder(&rec, &ca.issue(Cert::Valid), so)).await;
    let o = client(&ca, TlsPolicy::Verify).with_password_auth("user", "wrong");
    let e = Connection::connect(&target(&srv), o).await.unwrap_err();
    let Error::Rejected { stage, reply, .. } = &e else {
        panic!("{e:?}")
    };
    assert_eq!((stage.as_str(), reply.code().get()), ("AUTH", 535));
    assert!(!e.is_transient());
    let r = e.report().expect("a report after the handshake");
    let tls = r.tls.as_ref().expect("TLS was up");
    assert!(tls.verified && tls.starttls, "{tls:?}");
    assert!(r.tls_line().ends_with(" verified"), "{}", r.tls_line());
    assert_eq!(r.reason, "STARTTLS, policy verify");
    assert!(r.greeting.is_some());
    assert!(r.capabilities_before_tls.is_some());
    assert!(
        r.capabilities
            .as_ref()
            .is_some_and(|c| c.auth_mechanisms().count() > 0),
        "the capabilities offered over TLS: {r:?}"
    );
    assert_eq!(r.authenticated, None);
    srv.shutdown().await;
}

#[tokio::test]
async fn a_421_during_setup_and_a_certificate_failure_carry_the_report() {
    let (addr, task) = scripted(vec![
        ("", "220 mx.test ESMTP\r\n"),
        ("\r\n", "421 4.3.2 shutting down\r\n"),
    ])
    .await;
    let ca = Ca::new();
    let e = Connection::connect(&addr.to_string(), client(&ca, TlsPolicy::May))
        .await
        .unwrap_err();
    assert_eq!(e.reply().unwrap().code().get(), 421);
    assert!(e.is_transient());
    let r = e.report().unwrap();
    assert_eq!(r.greeting_name().as_deref(), Some("mx.test"));
    assert_eq!(r.addr, Some(addr));
    task.await.unwrap();
    // The certificate is not trusted: the error says so, and what was offered.
    let rec = Recorder::default();
    let srv = start(builder(&rec, &ca.issue(Cert::SelfSigned), options())).await;
    let e = Connection::connect(&target(&srv), client(&ca, TlsPolicy::Verify))
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Tls { .. }), "{e:?}");
    let r = e.report().unwrap();
    assert!(
        r.capabilities.as_ref().is_some_and(|c| c.starttls()),
        "{r:?}"
    );
    assert_eq!(r.policy, "verify");
    srv.shutdown().await;
}

#[tokio::test]
async fn a_refused_message_and_a_421_after_it_carry_the_report() {
    let ca = Ca::new();
    let rec = Recorder::default();
    let srv = start(builder(&rec, &ca.issue(Cert::Valid), options())).await;
    let mut c = Connection::connect(&target(&srv), client(&ca, TlsPolicy::Verify))
        .await
        .unwrap();
    let env = Envelope::new("a@example.test", ["reject@example.test"]).unwrap();
    let e = c.send(env, "x\r\n").await.unwrap_err();
    assert_eq!(e.report(), Some(c.report()));
    c.quit().await.unwrap();
    srv.shutdown().await;
    let (addr, task) = scripted(vec![
        ("", "220 mx.test ESMTP\r\n"),
        ("\r\n", "250 mx.test\r\n"),
        (
            "MAIL FROM:<a@example.test>\r\n",
            "421 4.3.2 shutting down\r\n",
        ),
    ])
    .await;
    let mut c = Connection::connect(&addr.to_string(), client(&ca, TlsPolicy::May))
        .await
        .unwrap();
    let env = Envelope::new("<a@example.test>", ["<b@example.test>"]).unwrap();
    let e = c.send(env, "x\r\n").await.unwrap_err();
    assert_eq!(e.reply().map(|r| r.code().get()), Some(421));
    assert_eq!(
        e.report().map(|r| r.reason.as_str()),
        Some("STARTTLS not offered")
    );
    task.await.unwrap();
}
