//! `smtp-send --auth USER:PASS` uses whichever of PLAIN and LOGIN our server offers
//! after TLS (PLAIN when both are), and sends no credential when it offers neither.

mod common;
#[path = "../../smtp-client/tests/support/mod.rs"]
mod support;

use common::*;
use smtp_client::proto::Mechanism;
use support::{Ca, Cert, Recorder, builder, options, start, temp_dir};

/// Our server on 127.0.0.1 with STARTTLS and these AUTH mechanisms; the CA file.
async fn server(
    mechanisms: Vec<Mechanism>,
    name: &str,
) -> (support::Running, Recorder, std::path::PathBuf) {
    let ca = Ca::new();
    let pki = ca.issue(Cert::Valid);
    let dir = temp_dir(name);
    let ca_file = dir.join("ca.pem");
    std::fs::write(&ca_file, &ca.pem).unwrap();
    let mut so = options();
    so.auth_mechanisms = mechanisms;
    let rec = Recorder::default();
    let srv = start(builder(&rec, &pki, so)).await;
    (srv, rec, ca_file)
}

async fn send(srv: &support::Running, ca: &std::path::Path, auth: &str) -> Ran {
    let target = format!("localhost:{}", srv.addr().port());
    send_b(&target, &["--ca", &s(ca), "--auth", auth, "--json"]).await
}

#[tokio::test]
async fn login_when_the_server_offers_only_login() {
    let (srv, rec, ca) = server(vec![Mechanism::LOGIN], "send-auth-login").await;
    let r = send(&srv, &ca, "user:pass").await;
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stdout.contains("\"authenticated\": \"LOGIN\""), "{r:?}");
    srv.shutdown().await;
    assert!(
        rec.events().iter().any(|e| e == "auth user"),
        "{:?}",
        rec.events()
    );
}

#[tokio::test]
async fn plain_when_the_server_offers_both() {
    let (srv, _rec, ca) = server(vec![Mechanism::LOGIN, Mechanism::PLAIN], "send-auth-both").await;
    let r = send(&srv, &ca, "user:pass").await;
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stdout.contains("\"authenticated\": \"PLAIN\""), "{r:?}");
    srv.shutdown().await;
}

#[tokio::test]
async fn no_credential_when_the_server_offers_neither() {
    let (srv, rec, ca) = server(vec![Mechanism::XOAUTH2], "send-auth-none").await;
    let r = send(&srv, &ca, "user:pass").await;
    assert_ne!(r.code, 0, "{r:?}");
    srv.shutdown().await;
    assert!(
        !rec.events().iter().any(|e| e.starts_with("auth")),
        "{:?}",
        rec.events()
    );
}
