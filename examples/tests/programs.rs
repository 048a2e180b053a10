//! The three programs against each other on 127.0.0.1: smtp-send and smtp-tls-check
//! against smtp-sink with its generated certificate and with given ones (valid,
//! expired, wrong name, expiring in 10 days), and the exit statuses they promise.

mod common;
#[path = "../../smtp-client/tests/support/mod.rs"]
mod support;

use common::*;
use support::{Ca, Cert, temp_dir};

#[tokio::test]
async fn send_through_the_sink_with_verified_starttls_and_find_the_stored_message() {
    let dir = temp_dir("sink-send");
    let ca = dir.join("ca.pem");
    let mail = dir.join("mail");
    let sink = Sink::start(&["--write-cert", &s(&ca), "--out", &s(&mail)]).await;
    let r = run(
        SEND,
        &[
            "--server",
            &sink.target(),
            "--from",
            "a@example.test",
            "--to",
            "b@example.test",
            "--to",
            "c@example.test",
            "--ca",
            &s(&ca),
        ],
    )
    .await;
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.line("rcpt <b@example.test>: 250").is_some(), "{r:?}");
    assert!(r.line("rcpt <c@example.test>: 250").is_some(), "{r:?}");
    assert!(
        r.line("message: 250 2.0.0 Ok: queued as").is_some(),
        "{r:?}"
    );
    let tls = r.line("tls: ").unwrap();
    assert!(
        tls.starts_with("tls: TLSv1.3 TLS_") && tls.ends_with(" verified"),
        "{tls}"
    );
    let stored = files(&mail);
    assert_eq!(stored.len(), 1, "{stored:?}");
    assert!(stored[0].extension().is_some_and(|e| e == "eml"));
    let m = std::fs::read_to_string(&stored[0]).unwrap();
    assert!(m.starts_with("Received: from localhost"), "{m}");
    assert!(m.contains("with ESMTPS") && m.contains("TLSv1.3"), "{m}");
    assert!(m.contains("Subject: test message from smtp-send"), "{m}");
    assert!(
        m.contains("Message-ID: <") && m.contains("\r\nDate: "),
        "{m}"
    );
    // The message file from --data, and JSON output.
    let data = dir.join("msg.eml");
    std::fs::write(&data, "Subject: from a file\n\n.a dot line\n").unwrap();
    let r = send_b(
        &sink.target(),
        &["--ca", &s(&ca), "--data", &s(&data), "--json"],
    )
    .await;
    assert_eq!(r.code, 0, "{r:?}");
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["session"]["tls"]["verified"], true, "{v}");
    assert_eq!(v["session"]["policy"], "verify");
    assert_eq!(v["delivery"]["recipients"][0]["delivered"], true);
    let m = std::fs::read_to_string(files(&mail).last().unwrap()).unwrap();
    assert!(
        m.ends_with("Subject: from a file\r\n\r\n.a dot line\r\n"),
        "{m:?}"
    );
    assert!(
        sink.stop().await.success(),
        "smtp-sink exits cleanly on SIGTERM"
    );
}

#[tokio::test]
async fn send_exit_statuses() {
    let dir = temp_dir("send-exit");
    let ca = dir.join("ca.pem");
    let sink = Sink::start(&[
        "--write-cert",
        &s(&ca),
        "--require-tls",
        "--max-size",
        "2000",
        "--max-recipients",
        "1",
    ])
    .await;
    let t = sink.target();
    // Self-signed and not trusted: the policy is not met.
    let r = send_b(&t, &[]).await;
    assert_eq!(r.code, 3, "{r:?}");
    assert_eq!(r.line("tls: "), Some("tls: failed"));
    // `encrypt` takes any certificate and says it is unverified.
    let r = send_b(&t, &["--tls", "encrypt"]).await;
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.line("tls: ").unwrap().ends_with(" unverified"), "{r:?}");
    // No TLS: the sink refuses MAIL (530), a permanent rejection.
    let r = send_b(&t, &["--tls", "none"]).await;
    assert_eq!(r.code, 1, "{r:?}");
    assert_eq!(r.line("tls: "), Some("tls: none"));
    // Too big for the advertised SIZE: permanent.
    let big = dir.join("big.eml");
    std::fs::write(&big, "Subject: big\r\n\r\n".to_string() + &"x".repeat(5000)).unwrap();
    let r = send_b(&t, &["--ca", &s(&ca), "--data", &s(&big)]).await;
    assert_eq!(r.code, 1, "{r:?}");
    // The second recipient is over the limit (452 4.5.3, RFC 5321 §4.5.3.1.10): it goes
    // in a second transaction, and both get the message.
    let r = send_b(&t, &["--to", "c@example.test", "--ca", &s(&ca)]).await;
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.line("rcpt <c@example.test>: 250").is_some(), "{r:?}");
    // Nobody listens: temporary.
    let dead = support::dead_port().await;
    let r = run(
        SEND,
        &[
            "--server",
            &format!("127.0.0.1:{dead}"),
            "--to",
            "b@example.test",
        ],
    )
    .await;
    assert_eq!(r.code, 75, "{r:?}");
    // Usage.
    assert_eq!(run(SEND, &["--server", &t]).await.code, 2);
    assert_eq!(
        run(SEND, &["--server", &t, "--to", "not an address"])
            .await
            .code,
        2
    );
    assert_eq!(send_b(&t, &["--tls", "sometimes"]).await.code, 2);
    sink.stop().await;
}

#[tokio::test]
async fn auth_only_after_tls_and_implicit_tls() {
    let dir = temp_dir("sink-auth");
    let ca = dir.join("ca.pem");
    let sink = Sink::start(&[
        "--write-cert",
        &s(&ca),
        "--auth",
        "user:secret",
        "--listen-tls",
        "127.0.0.1:0",
    ])
    .await;
    let t = sink.target();
    let ok = send_b(&t, &["--ca", &s(&ca), "--auth", "user:secret"]).await;
    assert_eq!(ok.code, 0, "{ok:?}");
    let bad = send_b(&t, &["--ca", &s(&ca), "--auth", "user:wrong"]).await;
    assert_eq!(bad.code, 1, "{bad:?}");
    // Credentials are never sent without TLS: a TLS policy failure.
    let plain = send_b(&t, &["--tls", "none", "--auth", "user:secret"]).await;
    assert_eq!(plain.code, 3, "{plain:?}");
    // Implicit TLS on the second listener.
    let tls_target = format!("localhost:{}", sink.addrs[1].port());
    let r = run(
        SEND,
        &[
            "--server",
            &tls_target,
            "--implicit-tls",
            "--to",
            "b@example.test",
            "--ca",
            &s(&ca),
            "--auth",
            "user:secret",
        ],
    )
    .await;
    assert_eq!(r.code, 0, "{r:?}");
    let r = run(CHECK, &[&tls_target, "--implicit-tls", "--ca", &s(&ca)]).await;
    assert_eq!(r.code, 0, "{r:?}");
    let r = run(CHECK, &[&t, "--ca", &s(&ca)]).await;
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stdout.contains("AUTH: offered only after TLS"), "{r:?}");
    sink.stop().await;
}

#[tokio::test]
async fn tls_check_on_the_generated_certificate() {
    let dir = temp_dir("check-gen");
    let ca = dir.join("ca.pem");
    let sink = Sink::start(&["--write-cert", &s(&ca), "--hostname", "localhost"]).await;
    let t = sink.target();
    let r = run(CHECK, &[&t, "--ca", &s(&ca)]).await;
    assert_eq!(r.code, 0, "{r:?}");
    for want in [
        "banner: 220 localhost",
        "STARTTLS: offered",
        "TLS: TLSv1.3",
        "certificate 0: subject CN=localhost",
        "  names localhost, 127.0.0.1",
        "name localhost: matches",
        "banner name localhost: matches",
        "chain: verified",
        "capabilities after TLS:",
        "result: OK",
    ] {
        assert!(r.stdout.contains(want), "{want}: {}", r.stdout);
    }
    assert!(
        r.line("capabilities before TLS:")
            .unwrap()
            .contains("STARTTLS")
    );
    assert!(
        !r.line("capabilities after TLS:")
            .unwrap()
            .contains("STARTTLS")
    );
    // Not trusted without --ca.
    let r = run(CHECK, &[&t]).await;
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stdout.contains("PROBLEM: chain not verified"), "{r:?}");
    // Another name.
    let r = run(
        CHECK,
        &[&t, "--ca", &s(&ca), "--servername", "mx.other.test"],
    )
    .await;
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stdout.contains("does not name mx.other.test"), "{r:?}");
    // JSON.
    let r = run(CHECK, &[&t, "--ca", &s(&ca), "--json"]).await;
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["ok"], true, "{v}");
    assert_eq!(v["session"]["tls"]["chain"][0]["names"][0], "localhost");
    // Nobody listens.
    let dead = support::dead_port().await;
    assert_eq!(run(CHECK, &[&format!("127.0.0.1:{dead}")]).await.code, 75);
    assert_eq!(run(CHECK, &[]).await.code, 2);
    sink.stop().await;
}

/// A sink presenting a certificate of `kind` from `ca`; returns it and the CA file.
async fn sink_with(ca: &Ca, kind: Cert) -> (Sink, String) {
    let dir = temp_dir("sink-cert");
    let pki = ca.issue(kind);
    pki.write(&dir);
    let sink = Sink::start(&[
        "--cert",
        &s(&dir.join("cert.pem")),
        "--key",
        &s(&dir.join("key.pem")),
    ])
    .await;
    (sink, s(&dir.join("ca.pem")))
}

#[tokio::test]
async fn expired_wrong_name_and_soon_expiring_certificates() {
    let ca = Ca::new();
    for kind in [
        Cert::Valid,
        Cert::Expired,
        Cert::WrongName,
        Cert::ExpiresSoon,
    ] {
        let (sink, ca_file) = sink_with(&ca, kind).await;
        let t = sink.target();
        let send = send_b(&t, &["--ca", &ca_file]).await;
        let check = run(CHECK, &[&t, "--ca", &ca_file]).await;
        match kind {
            Cert::Valid => {
                assert_eq!(send.code, 0, "{send:?}");
                assert_eq!(check.code, 0, "{check:?}");
            }
            Cert::Expired => {
                assert_eq!(send.code, 3, "{send:?}");
                assert!(send.stdout.contains("expired"), "{send:?}");
                assert_eq!(check.code, 1, "{check:?}");
                assert!(check.stdout.contains("has expired"), "{check:?}");
            }
            Cert::WrongName => {
                assert_eq!(send.code, 3, "{send:?}");
                assert!(send.stdout.contains("name mismatch"), "{send:?}");
                assert_eq!(check.code, 1, "{check:?}");
                assert!(
                    check.stdout.contains("does not name localhost"),
                    "{check:?}"
                );
            }
            Cert::ExpiresSoon => {
                assert_eq!(send.code, 0, "{send:?}");
                assert_eq!(check.code, 1, "{check:?}");
                assert!(
                    check.stdout.contains("expires in 9 days")
                        || check.stdout.contains("expires in 10 days"),
                    "{check:?}"
                );
                let relaxed = run(CHECK, &[&t, "--ca", &ca_file, "--warn-days", "5"]).await;
                assert_eq!(relaxed.code, 0, "{relaxed:?}");
            }
            Cert::SelfSigned => unreachable!(),
        }
        sink.stop().await;
    }
}

#[tokio::test]
async fn a_refused_message_never_appears_in_the_out_directory() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let dir = temp_dir("sink-refused");
    let mail = dir.join("mail");
    let sink = Sink::start(&["--out", &s(&mail), "--max-size", "100"]).await;
    let mut c = tokio::net::TcpStream::connect(sink.addrs[0]).await.unwrap();
    c.write_all(
        b"EHLO client.test\r\nMAIL FROM:<a@example.test>\r\nRCPT TO:<b@example.test>\r\nDATA\r\n",
    )
    .await
    .unwrap();
    let mut got = Vec::new();
    while !String::from_utf8_lossy(&got).contains("354") {
        let mut b = [0u8; 1024];
        let n = c.read(&mut b).await.unwrap();
        assert!(n > 0);
        got.extend_from_slice(&b[..n]);
    }
    c.write_all(format!("Subject: x\r\n\r\n{}\r\n.\r\nQUIT\r\n", "y".repeat(500)).as_bytes())
        .await
        .unwrap();
    let mut rest = String::new();
    c.read_to_string(&mut rest).await.unwrap();
    assert!(rest.starts_with("552"), "{rest}");
    assert!(files(&mail).is_empty(), "{:?}", files(&mail));
    sink.stop().await;
}

#[tokio::test]
async fn lmtp_sink_answers_per_recipient() {
    let dir = temp_dir("sink-lmtp");
    let ca = dir.join("ca.pem");
    let sink = Sink::start(&["--write-cert", &s(&ca), "--lmtp"]).await;
    let mut o = smtp_client::ClientOptions::new("client.test", smtp_client::TlsPolicy::Verify)
        .with_trust(smtp_client::TrustAnchors::empty().add_pem_file(ca).unwrap());
    o.lmtp = true;
    let mut c = smtp_client::Connection::connect(&sink.target(), o)
        .await
        .unwrap();
    let env =
        smtp_client::Envelope::new("<a@example.test>", ["<b@example.test>", "<c@example.test>"])
            .unwrap();
    let d = c.send(env, "Subject: lmtp\r\n\r\nx\r\n").await.unwrap();
    assert_eq!(d.message.len(), 2);
    assert!(d.all_delivered());
    c.quit().await.unwrap();
    sink.stop().await;
}

#[tokio::test]
async fn a_refused_starttls_is_a_problem_for_tls_check() {
    let (addr, task) = support::scripted(vec![
        ("", "220 mx.test ESMTP\r\n"),
        ("\r\n", "250-mx.test\r\n250-AUTH PLAIN\r\n250 STARTTLS\r\n"),
        ("STARTTLS\r\n", "454 4.7.0 TLS not available\r\n"),
        ("QUIT\r\n", "221 bye\r\n"),
    ])
    .await;
    let r = run(CHECK, &[&addr.to_string()]).await;
    assert_eq!(r.code, 1, "{r:?}");
    assert!(
        r.stdout.contains("STARTTLS offered but no TLS session"),
        "{r:?}"
    );
    assert!(r.stdout.contains("AUTH offered without TLS"), "{r:?}");
    task.await.unwrap();
}

#[tokio::test]
async fn a_permanent_refusal_among_transient_ones_exits_1() {
    let (addr, task) = support::scripted(vec![
        ("", "220 mx.test ESMTP\r\n"),
        ("\r\n", "250-mx.test\r\n250 PIPELINING\r\n"),
        ("DATA\r\n", "250 ok\r\n550 5.1.1 no such user\r\n450 4.2.1 try later\r\n554 5.5.1 no valid recipients\r\n"),
        ("RSET\r\n", "250 ok\r\n"),
        ("QUIT\r\n", "221 bye\r\n"),
    ])
    .await;
    let r = run(
        SEND,
        &[
            "--server",
            &addr.to_string(),
            "--tls",
            "none",
            "--to",
            "a@example.test",
            "--to",
            "b@example.test",
        ],
    )
    .await;
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.line("rcpt <a@example.test>: 550").is_some(), "{r:?}");
    assert!(r.line("rcpt <b@example.test>: 450").is_some(), "{r:?}");
    task.await.unwrap();
    assert_eq!(
        run(
            SEND,
            &[
                "--server",
                &addr.to_string(),
                "--to",
                "a@example.test",
                "--timeout",
                "0"
            ]
        )
        .await
        .code,
        2
    );
}

#[tokio::test]
async fn an_unusable_out_directory_stops_the_sink_at_start() {
    let dir = temp_dir("sink-badout");
    let file = dir.join("a-file");
    std::fs::write(&file, "x").unwrap();
    let r = run(
        SINK,
        &["--listen", "127.0.0.1:0", "--out", &s(&file.join("mail"))],
    )
    .await;
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stderr.contains("--out"), "{r:?}");
    assert!(!r.stdout.contains("listening on"), "{r:?}");
}
