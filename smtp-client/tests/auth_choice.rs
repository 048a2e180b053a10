//! The AUTH mechanism is chosen from what our server offers after TLS, PLAIN first
//! when the caller gives a password (`with_password_auth`).

mod support;

use smtp_client::proto::Mechanism;
use smtp_client::{Connection, Error, PolicyViolation, TlsPolicy};
use support::*;

/// Connects with a password to our server offering `offered` after TLS: the
/// mechanism used (or the error), and the server's record.
async fn login_with(offered: Vec<Mechanism>) -> (Result<Option<String>, Error>, Recorder) {
    let ca = Ca::new();
    let pki = ca.issue(Cert::Valid);
    let rec = Recorder::default();
    let mut so = options();
    so.auth_mechanisms = offered;
    let srv = start(builder(&rec, &pki, so)).await;
    let o = client(&ca, TlsPolicy::Verify).with_password_auth("user", "pass");
    let r = match Connection::connect(&target(&srv), o).await {
        Ok(c) => {
            let mechanism = c.report().authenticated.clone();
            c.quit().await.unwrap();
            Ok(mechanism)
        }
        Err(e) => Err(e),
    };
    srv.shutdown().await;
    (r, rec)
}

#[tokio::test]
async fn login_when_only_login_is_offered() {
    let (r, rec) = login_with(vec![Mechanism::LOGIN]).await;
    assert_eq!(r.unwrap().as_deref(), Some("LOGIN"));
    assert!(rec.events().iter().any(|e| e == "auth user"));
}

#[tokio::test]
async fn plain_when_both_are_offered() {
    let (r, _) = login_with(vec![Mechanism::LOGIN, Mechanism::PLAIN]).await;
    assert_eq!(r.unwrap().as_deref(), Some("PLAIN"));
}

#[tokio::test]
async fn no_credential_and_a_typed_error_when_neither_is_offered() {
    let (r, rec) = login_with(vec![Mechanism::XOAUTH2]).await;
    assert!(
        matches!(
            &r,
            Err(Error::Policy {
                violation: PolicyViolation::MissingExtension { .. },
                ..
            })
        ),
        "{r:?}"
    );
    assert!(!rec.events().iter().any(|e| e.starts_with("auth")));
}
