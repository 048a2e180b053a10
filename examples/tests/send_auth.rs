//! `smtp-send --auth USER:PASS` uses whichever of PLAIN and LOGIN our server offers
//! after TLS (PLAIN when both are), and sends no credential when it offers neither. A
//! refused AUTH still reports the TLS the session got, and the `-v` transcript
//! redacts the AUTH payloads and nothing else.

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

/// smtp-sink with `--auth user:pass` and its generated certificate; the CA file.
async fn sink_with_auth(name: &str) -> (Sink, std::path::PathBuf) {
    let dir = temp_dir(name);
    let ca = dir.join("ca.pem");
    let sink = Sink::start(&["--write-cert", &s(&ca), "--auth", "user:pass"]).await;
    (sink, ca)
}

#[tokio::test]
async fn a_refused_auth_still_reports_the_tls_it_got() {
    let (sink, ca) = sink_with_auth("send-auth-535").await;
    let r = send_b(&sink.target(), &["--ca", &s(&ca), "--auth", "user:wrong"]).await;
    assert_eq!(r.code, 1, "535 is permanent: {r:?}");
    assert!(r.line("error: server refused AUTH: 535").is_some(), "{r:?}");
    let tls = r.line("tls: ").unwrap();
    assert!(
        tls.starts_with("tls: TLSv1.3 TLS_") && tls.ends_with(" verified"),
        "{r:?}"
    );
    let r = send_b(
        &sink.target(),
        &["--ca", &s(&ca), "--auth", "user:wrong", "--json"],
    )
    .await;
    assert_eq!(r.code, 1, "{r:?}");
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["session"]["tls"]["verified"], true, "{v}");
    assert_eq!(v["session"]["tls"]["starttls"], true, "{v}");
    assert_eq!(
        v["session"]["authenticated"],
        serde_json::Value::Null,
        "{v}"
    );
    assert!(v["tls"].as_str().unwrap().ends_with(" verified"), "{v}");
    sink.stop().await;
}

#[tokio::test]
async fn the_transcript_redacts_only_the_auth_payloads() {
    let (sink, ca) = sink_with_auth("send-auth-transcript").await;
    // Refused: the QUIT after the 535 is shown as it is.
    let r = send_b(
        &sink.target(),
        &["--ca", &s(&ca), "--auth", "user:wrong", "-v"],
    )
    .await;
    assert_eq!(r.code, 1, "{r:?}");
    let sent: Vec<&str> = r
        .stderr
        .lines()
        .filter_map(|l| l.split_once("C: ").map(|(_, c)| c))
        .collect();
    assert_eq!(
        sent,
        [
            "EHLO localhost",
            "STARTTLS",
            "EHLO localhost",
            "AUTH PLAIN <redacted>",
            "QUIT"
        ],
        "{r:?}"
    );
    // Accepted: every command of the transaction, the body as its size.
    let r = send_b(
        &sink.target(),
        &["--ca", &s(&ca), "--auth", "user:pass", "-v"],
    )
    .await;
    assert_eq!(r.code, 0, "{r:?}");
    let sent: Vec<&str> = r
        .stderr
        .lines()
        .filter_map(|l| l.split_once("C: ").map(|(_, c)| c))
        .collect();
    assert_eq!(sent[3], "AUTH PLAIN <redacted>", "{sent:?}");
    assert!(
        sent[4].starts_with("MAIL FROM:<smtp-send@localhost>"),
        "{sent:?}"
    );
    assert_eq!(sent[5], "RCPT TO:<b@example.test>", "{sent:?}");
    assert_eq!(sent[6], "DATA", "{sent:?}");
    assert!(sent[7].starts_with("<message data, "), "{sent:?}");
    assert_eq!(sent[8..], ["QUIT"], "{sent:?}");
    // No credential in any form: PLAIN's `\0user\0pass` in base64.
    assert!(!r.stderr.contains("AHVzZXIAcGFzcw=="), "{r:?}");
    sink.stop().await;
}
