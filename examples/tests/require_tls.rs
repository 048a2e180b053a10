//! REQUIRETLS (RFC 8689) end to end: `smtp-send --require-tls` delivers only to a server
//! that offers REQUIRETLS over TLS the policy authenticated, and the server hands the
//! parameter to its handler; otherwise exit 3 and nothing sent, never plaintext.

mod common;
#[path = "../../smtp-client/tests/support/mod.rs"]
mod support;

use common::*;
use support::{Ca, Cert, Recorder, builder, options, start, temp_dir};

/// Our server with STARTTLS, offering REQUIRETLS or not; the CA file.
async fn server(requiretls: bool, name: &str) -> (support::Running, Recorder, String) {
    let ca = Ca::new();
    let pki = ca.issue(Cert::Valid);
    let ca_file = temp_dir(name).join("ca.pem");
    std::fs::write(&ca_file, &ca.pem).unwrap();
    let mut so = options();
    so.requiretls = requiretls;
    let rec = Recorder::default();
    let srv = start(builder(&rec, &pki, so)).await;
    (srv, rec, s(&ca_file))
}

fn target(srv: &support::Running) -> String {
    format!("localhost:{}", srv.addr().port())
}

#[tokio::test]
async fn a_server_that_offers_it_over_verified_tls_gets_the_message() {
    let (srv, rec, ca) = server(true, "requiretls-ok").await;
    let r = send_b(&target(&srv), &["--ca", &ca, "--require-tls"]).await;
    assert_eq!(r.code, 0, "{r:?}");
    srv.shutdown().await;
    assert_eq!(rec.messages().len(), 1);
    assert!(
        rec.events()
            .iter()
            .any(|e| e.starts_with("mail ") && e.ends_with(" REQUIRETLS")),
        "{:?}",
        rec.events()
    );
}

#[tokio::test]
async fn a_server_without_it_or_unauthenticated_tls_gets_nothing() {
    let (srv, rec, ca) = server(false, "requiretls-not-offered").await;
    let r = send_b(&target(&srv), &["--ca", &ca, "--require-tls"]).await;
    assert_eq!(r.code, 3, "{r:?}");
    assert!(
        r.line("error: message requires TLS (REQUIRETLS) but localhost does not offer")
            .is_some(),
        "{r:?}"
    );
    // TLS itself went well, and says so.
    assert!(r.line("tls: TLSv1.3").is_some(), "{r:?}");
    srv.shutdown().await;
    assert!(rec.messages().is_empty());

    // Offered, but TLS the policy does not authenticate (`encrypt`).
    let (srv, rec, ca) = server(true, "requiretls-unverified").await;
    let r = send_b(
        &target(&srv),
        &["--ca", &ca, "--require-tls", "--tls", "encrypt"],
    )
    .await;
    assert_eq!(r.code, 3, "{r:?}");
    srv.shutdown().await;
    assert!(rec.messages().is_empty());
    assert!(!rec.events().iter().any(|e| e.starts_with("mail ")));

    // And without it, the same unauthenticated session delivers.
    let (srv, rec, ca) = server(true, "requiretls-plain-message").await;
    let r = send_b(&target(&srv), &["--ca", &ca, "--tls", "encrypt"]).await;
    assert_eq!(r.code, 0, "{r:?}");
    srv.shutdown().await;
    assert_eq!(rec.messages().len(), 1);
}
