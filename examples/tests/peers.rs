//! The programs with real peers on 127.0.0.1: swaks as a client of smtp-sink, and
//! Postfix smtpd as the target of smtp-send and smtp-tls-check (with STARTTLS, with
//! implicit TLS, and without TLS at all). Missing peers fail with the install hint.

mod common;
#[path = "../../smtp-client/tests/support/mod.rs"]
mod support;

use common::*;
use support::postfix::{Postfix, need};
use support::{Ca, Cert, temp_dir};

#[tokio::test]
async fn swaks_delivers_to_the_sink_over_verified_starttls_with_auth() {
    let swaks = need("/usr/bin/swaks", "swaks");
    let dir = temp_dir("swaks-sink");
    let ca = dir.join("ca.pem");
    let mail = dir.join("mail");
    let sink = Sink::start(&[
        "--write-cert",
        &s(&ca),
        "--out",
        &s(&mail),
        "--auth",
        "user:secret",
        "--require-tls",
    ])
    .await;
    let port = sink.port().to_string();
    let r = run(
        &swaks,
        &[
            "-s",
            "127.0.0.1",
            "-p",
            &port,
            "-f",
            "a@example.test",
            "-t",
            "b@example.test",
            "--tls",
            "--tls-verify",
            "--tls-sni",
            "localhost",
            "--tls-ca-path",
            &s(&ca),
            "--auth",
            "PLAIN",
            "--auth-user",
            "user",
            "--auth-password",
            "secret",
            "--pipeline",
            "--body",
            "hello from swaks",
        ],
    )
    .await;
    assert_eq!(r.code, 0, "{r:?}");
    let stored = files(&mail);
    assert_eq!(stored.len(), 1);
    let m = std::fs::read_to_string(&stored[0]).unwrap();
    assert!(
        m.contains("with ESMTPSA") && m.contains("hello from swaks"),
        "{m}"
    );
    // Without TLS the sink refuses the transaction, and nothing is stored.
    let r = run(
        &swaks,
        &[
            "-s",
            "127.0.0.1",
            "-p",
            &port,
            "-f",
            "a@example.test",
            "-t",
            "b@example.test",
        ],
    )
    .await;
    assert_ne!(r.code, 0, "{r:?}");
    assert!(r.stdout.contains("530"), "{r:?}");
    assert_eq!(files(&mail).len(), 1);
    sink.stop().await;
}

#[tokio::test]
async fn send_and_check_against_postfix_with_starttls_and_implicit_tls() {
    let ca = Ca::new();
    let pki = ca.issue(Cert::Valid);
    let pf = Postfix::start(Some(&pki)).await;
    let ca_file = s(&pf.dir.join("ca.pem"));
    let t = format!("localhost:{}", pf.starttls_port);
    let r = run(
        SEND,
        &["--server", &t, "--to", "a@example.test", "--ca", &ca_file],
    )
    .await;
    assert_eq!(r.code, 0, "{r:?}\n{}", pf.log());
    assert!(
        r.line("message: 250 2.0.0 Ok: queued as").is_some(),
        "{r:?}"
    );
    assert!(r.line("tls: ").unwrap().ends_with(" verified"), "{r:?}");
    // One recipient refused permanently: exit 1, each recipient on its line.
    let r = run(
        SEND,
        &[
            "--server",
            &t,
            "--to",
            "a@example.test",
            "--to",
            "reject@example.test",
            "--ca",
            &ca_file,
        ],
    )
    .await;
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.line("rcpt <a@example.test>: 250").is_some(), "{r:?}");
    assert!(r.line("rcpt <reject@example.test>: 554").is_some(), "{r:?}");
    let r = run(CHECK, &[&t, "--ca", &ca_file]).await;
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stdout.contains("banner: 220 localhost ESMTP"), "{r:?}");
    let w = format!("localhost:{}", pf.wrapper_port);
    let r = run(
        SEND,
        &[
            "--server",
            &w,
            "--implicit-tls",
            "--to",
            "a@example.test",
            "--ca",
            &ca_file,
        ],
    )
    .await;
    assert_eq!(r.code, 0, "{r:?}");
    let r = run(CHECK, &[&w, "--implicit-tls", "--ca", &ca_file]).await;
    assert_eq!(r.code, 0, "{r:?}");
}

#[tokio::test]
async fn postfix_without_starttls() {
    let pf = Postfix::start(None).await;
    let t = format!("localhost:{}", pf.starttls_port);
    // Mandatory TLS and no STARTTLS (as after a stripping attack): policy not met.
    let r = run(SEND, &["--server", &t, "--to", "a@example.test"]).await;
    assert_eq!(r.code, 3, "{r:?}");
    assert!(r.stdout.contains("STARTTLS not offered"), "{r:?}");
    // Opportunistic: delivered in plaintext, and it says so.
    let r = run(
        SEND,
        &["--server", &t, "--to", "a@example.test", "--tls", "may"],
    )
    .await;
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(r.line("tls: "), Some("tls: none"));
    let r = run(CHECK, &[&t]).await;
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stdout.contains("PROBLEM: STARTTLS not offered"), "{r:?}");
}
