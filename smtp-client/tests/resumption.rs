//! TLS session resumption across connections (RFC 8446 §2.2): a second STARTTLS session
//! with the same server under the same verification is resumed and reports the first
//! handshake's verification; under another policy, other trust anchors, or with
//! resumption off, it is a full handshake.

mod support;

use smtp_client::{Connection, TlsPolicy, TrustAnchors};
use support::*;

/// Connects once and returns (resumed, verified, verification).
async fn session(srv: &Running, opts: smtp_client::ClientOptions) -> (bool, bool, String) {
    let c = Connection::connect(&target(srv), opts).await.unwrap();
    let tls = c.report().tls.clone().expect("TLS");
    c.quit().await.unwrap();
    (tls.resumed, tls.verified, tls.verification)
}

#[tokio::test]
async fn a_second_session_resumes_only_under_the_same_verification() {
    let ca = Ca::new();
    let pki = ca.issue(Cert::Valid);
    let rec = Recorder::default();
    let srv = start(builder(&rec, &pki, options())).await;
    let verify = client(&ca, TlsPolicy::Verify);

    let first = session(&srv, verify.clone()).await;
    assert_eq!((first.0, first.1), (false, true), "{first:?}");
    let second = session(&srv, verify.clone()).await;
    assert_eq!(
        second,
        (true, true, first.2.clone()),
        "the first handshake's finding"
    );

    // Another policy (another verification): never resumed from the verified one.
    let encrypt = session(&srv, client(&ca, TlsPolicy::Encrypt)).await;
    assert!(!encrypt.0, "{encrypt:?}");
    // Other trust anchors, even with the same certificates in them.
    let mut other = verify.clone();
    other.trust = TrustAnchors::empty().add_pem(ca.pem.as_bytes()).unwrap();
    assert!(!session(&srv, other).await.0);
    // Resumption off.
    let mut off = verify.clone();
    off.tls_resumption = false;
    assert!(!session(&srv, off).await.0);
    // And the verified context still resumes.
    assert!(session(&srv, verify).await.0);
    srv.shutdown().await;
}
