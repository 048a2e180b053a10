//! The post-quantum hybrid key exchange X25519MLKEM768 between our client and our
//! server: offered first by default, negotiated, reported by both ends (the client's
//! `TlsReport`, the server's `TlsFacts` and `TlsInfo`) and named in our `Received:`
//! header; X25519 when either end leaves the hybrid out.
//!
//! With the `ring` feature alone the client has no ML-KEM, so the default pair agrees on
//! X25519 (the server is built with its default features either way).

mod support;

use smtp_client::rustls::crypto::SupportedKxGroup;
use smtp_client::{Connection, Envelope, TlsPolicy, TlsReport};
use support::*;

/// What our default client and our default server agree on.
const DEFAULT_GROUP: &str = if cfg!(feature = "aws-lc-rs") {
    "X25519MLKEM768"
} else {
    "X25519"
};

fn names(groups: &[&'static dyn SupportedKxGroup]) -> Vec<&'static str> {
    groups
        .iter()
        .map(|g| g.name().as_str().unwrap_or("unknown"))
        .collect()
}

fn group(name: &str) -> &'static dyn SupportedKxGroup {
    smtp_client::default_provider()
        .kx_groups
        .into_iter()
        .find(|g| g.name().as_str() == Some(name))
        .unwrap_or_else(|| panic!("{name} is not in the default provider"))
}

#[test]
fn the_default_provider_offers_the_hybrid_first() {
    let groups = names(&smtp_client::default_provider().kx_groups);
    if cfg!(feature = "aws-lc-rs") {
        // rustls' aws-lc-rs provider with `prefer-post-quantum`, which our `aws-lc-rs`
        // feature turns on: the hybrid first, X25519 as the fallback right after.
        assert_eq!(groups[..2], ["X25519MLKEM768", "X25519"], "{groups:?}");
    } else {
        assert_eq!(groups[0], "X25519", "{groups:?}");
        assert!(!groups.iter().any(|g| g.contains("MLKEM")), "{groups:?}");
    }
    // The server binding builds the same default.
    assert_eq!(
        names(&smtp_server::default_provider().kx_groups)[..2],
        ["X25519MLKEM768", "X25519"]
    );
}

/// One message from our client to our server (STARTTLS, verified), with the client's
/// key-exchange groups (`None`: the default) and the server's TLS configuration.
/// Returns the client's TLS report, the server's facts and the stored message.
async fn one_message(
    client_groups: Option<Vec<&'static dyn SupportedKxGroup>>,
    server_tls: impl FnOnce(&Pki) -> smtp_server::TlsConfig,
) -> (TlsReport, smtp_server::TlsFacts, String) {
    let ca = Ca::new();
    let pki = ca.issue(Cert::Valid);
    let rec = Recorder::default();
    let srv = serve(&rec, options(), false, Some(server_tls(&pki))).await;
    let mut opts = client(&ca, TlsPolicy::Verify);
    opts.kx_groups = client_groups;
    let mut c = Connection::connect(&target(&srv), opts).await.unwrap();
    let report = c.report().tls.clone().expect("TLS");
    assert!(c.report().tls_line().ends_with(" verified"));
    let env = Envelope::new("a@example.org", ["b@example.com"]).unwrap();
    c.send(env, "Subject: pq\r\n\r\nhello\r\n").await.unwrap();
    c.quit().await.unwrap();
    srv.shutdown().await;
    let facts = rec.log.lock().unwrap().data_tls[0].clone().expect("TLS");
    let message = String::from_utf8(rec.messages()[0].clone()).unwrap();
    (report, facts, message)
}

/// The group as both ends report it, and the `Received:` comment that names it.
fn assert_agree(report: &TlsReport, facts: &smtp_server::TlsFacts, message: &str, want: &str) {
    assert_eq!(report.key_exchange.as_deref(), Some(want), "{report:?}");
    assert_eq!(report.to_string().split(' ').nth(2), Some(want), "{report}");
    assert_eq!(facts.key_exchange.as_deref(), Some(want), "{facts:?}");
    assert_eq!(facts.info.key_exchange(), Some(want), "{facts:?}");
    let received: String = message
        .split("\r\n")
        .take_while(|l| !l.starts_with("Subject:"))
        .collect::<Vec<_>>()
        .join("\r\n");
    let using = format!(
        "\t(using {} with cipher {}\r\n\t key-exchange {want})",
        report.version, report.cipher
    );
    assert!(received.contains(&using), "{received}");
}

#[tokio::test]
async fn our_client_and_server_agree_on_the_hybrid_by_default() {
    let (report, facts, message) = one_message(None, Pki::tls).await;
    assert_eq!(report.version, "TLSv1.3");
    assert_agree(&report, &facts, &message, DEFAULT_GROUP);
}

#[tokio::test]
async fn a_client_without_the_hybrid_gets_x25519() {
    let groups = Some(vec![group("X25519"), group("secp256r1")]);
    let (report, facts, message) = one_message(groups, Pki::tls).await;
    assert_agree(&report, &facts, &message, "X25519");
}

#[tokio::test]
async fn a_server_without_the_hybrid_gets_x25519_from_our_default_client() {
    // The client offers the hybrid first and sends an X25519 share beside it; a server
    // that only knows X25519 picks that.
    let classic = |pki: &Pki| {
        let x25519 = smtp_server::default_provider()
            .kx_groups
            .into_iter()
            .find(|g| g.name().as_str() == Some("X25519"))
            .unwrap();
        smtp_server::TlsBuilder::new()
            .kx_groups(&[x25519])
            .certificate_pem(pki.cert_pem.as_bytes(), pki.key_pem.as_bytes())
            .unwrap()
            .build()
            .unwrap()
    };
    let (report, facts, message) = one_message(None, classic).await;
    assert_agree(&report, &facts, &message, "X25519");
}

#[tokio::test]
async fn tls_1_2_reports_its_ecdhe_group() {
    // TLS 1.2 has no hybrid: ECDHE over the first classical group both offer.
    let ca = Ca::new();
    let pki = ca.issue(Cert::Valid);
    let rec = Recorder::default();
    let srv = serve(&rec, options(), false, Some(pki.tls())).await;
    let mut opts = client(&ca, TlsPolicy::Verify);
    opts.tls_versions = vec![&smtp_client::rustls::version::TLS12];
    let c = Connection::connect(&target(&srv), opts).await.unwrap();
    let tls = c.report().tls.clone().unwrap();
    assert_eq!(
        (tls.version.as_str(), tls.key_exchange.as_deref()),
        ("TLSv1.2", Some("X25519"))
    );
    c.quit().await.unwrap();
    srv.shutdown().await;
}
