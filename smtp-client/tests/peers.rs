//! Our client against real servers started on 127.0.0.1: Postfix smtpd (STARTTLS, and
//! implicit TLS through `smtpd_tls_wrappermode`) and Python's aiosmtpd. The peers come
//! from Debian packages (`bash scripts/install-peers`, which `scripts/test` runs); a
//! missing peer fails the test with that hint, it never skips.

mod support;

use smtp_client::{Connection, Envelope, Error, TlsPolicy};
use support::postfix::{Postfix, free_port, need, run, wait_for};
use support::*;
use tokio::process::Command;

fn env(to: &[&str]) -> Envelope {
    Envelope::new("<sender@client.test>", to.iter().copied()).unwrap()
}

#[tokio::test]
async fn postfix_smtpd_starttls_verified_pipelined_bdat_and_implicit_tls() {
    let ca = Ca::new();
    let pki = ca.issue(Cert::Valid);
    let pf = Postfix::start(Some(&pki)).await;
    for chunking in [false, true] {
        let mut o = client(&ca, TlsPolicy::Verify);
        o.chunking = chunking;
        let mut c = Connection::connect(&format!("localhost:{}", pf.starttls_port), o)
            .await
            .unwrap_or_else(|e| panic!("{e}\n{}", pf.log()));
        let report = c.report().clone();
        let tls = report.tls.as_ref().unwrap();
        assert!(tls.verified && tls.starttls, "{tls:?}");
        assert!(report.capabilities_before_tls.as_ref().unwrap().starttls());
        assert!(report.capabilities.as_ref().unwrap().pipelining());
        let body =
            format!("Subject: via our client\r\n\r\n.leading dot\r\nchunking={chunking}\r\n");
        let d = c
            .send(
                env(&[
                    "<a@example.test>",
                    "<reject@example.test>",
                    "<b@example.test>",
                ]),
                &body,
            )
            .await
            .unwrap_or_else(|e| panic!("{e:?}\n{}", pf.log()));
        let codes: Vec<u16> = d
            .recipients
            .iter()
            .map(|r| r.rcpt_reply.as_ref().unwrap().code().get())
            .collect();
        assert_eq!(codes, [250, 554, 250], "{d:?}");
        assert!(
            d.message_reply().unwrap().text().contains("queued as"),
            "{d:?}"
        );
        // Two messages on the same connection.
        c.send(env(&["<c@example.test>"]), "Subject: second\r\n\r\nx\r\n")
            .await
            .unwrap();
        c.quit().await.unwrap();
    }
    // Implicit TLS (RFC 8314) on the wrapper-mode service.
    let o = client(&ca, TlsPolicy::Verify).with_implicit_tls();
    let mut c = Connection::connect(&format!("localhost:{}", pf.wrapper_port), o)
        .await
        .unwrap();
    assert!(!c.report().tls.as_ref().unwrap().starttls);
    c.send(env(&["<d@example.test>"]), "Subject: 465\r\n\r\nx\r\n")
        .await
        .unwrap();
    c.quit().await.unwrap();
    let log = pf.log();
    assert!(!log.contains("improper command pipelining"), "{log}");
    assert!(
        log.matches("TLS connection established from").count() >= 3,
        "{log}"
    );
}

#[tokio::test]
async fn postfix_certificate_for_another_name_fails_verify_but_passes_may() {
    let ca = Ca::new();
    let pki = ca.issue(Cert::WrongName);
    let pf = Postfix::start(Some(&pki)).await;
    let target = format!("localhost:{}", pf.starttls_port);
    let e = Connection::connect(&target, client(&ca, TlsPolicy::Verify))
        .await
        .unwrap_err();
    assert!(
        matches!(&e, Error::Tls { reason, .. } if reason.contains("name mismatch")),
        "{e:?}"
    );
    let c = Connection::connect(&target, client(&ca, TlsPolicy::May))
        .await
        .unwrap();
    let tls = c.report().tls.clone().unwrap();
    assert!(
        !tls.verified && tls.verification.contains("name mismatch"),
        "{tls:?}"
    );
    c.quit().await.unwrap();
}

/// aiosmtpd with STARTTLS, killed on drop.
struct Aiosmtpd {
    child: tokio::process::Child,
    port: u16,
}

impl Aiosmtpd {
    async fn start(pki: &Pki) -> Self {
        let python = need("/usr/bin/python3", "python3");
        let check = run(Command::new(&python).args(["-c", "import aiosmtpd"])).await;
        assert!(
            check.status.success(),
            "aiosmtpd is missing: run `bash scripts/install-peers` (Debian package python3-aiosmtpd)"
        );
        let dir = temp_dir("aiosmtpd");
        pki.write(&dir);
        let port = free_port();
        let child = Command::new(&python)
            .args(["-m", "aiosmtpd", "-n", "-c", "aiosmtpd.handlers.Sink"])
            .args(["-l", &format!("127.0.0.1:{port}")])
            .arg("--tlscert")
            .arg(dir.join("cert.pem"))
            .arg("--tlskey")
            .arg(dir.join("key.pem"))
            .kill_on_drop(true)
            .spawn()
            .expect("python3 -m aiosmtpd could not be started");
        wait_for(port, "aiosmtpd", &dir.join("none")).await;
        Self { child, port }
    }
}

#[tokio::test]
async fn aiosmtpd_starttls_verified() {
    let ca = Ca::new();
    let pki = ca.issue(Cert::Valid);
    let mut srv = Aiosmtpd::start(&pki).await;
    let mut c = Connection::connect(
        &format!("localhost:{}", srv.port),
        client(&ca, TlsPolicy::Verify),
    )
    .await
    .unwrap();
    assert!(c.report().tls.as_ref().unwrap().verified);
    let d = c
        .send(
            env(&["<a@example.test>", "<b@example.test>"]),
            "Subject: aiosmtpd\r\n\r\nhi\r\n",
        )
        .await
        .unwrap();
    assert!(d.all_delivered(), "{d:?}");
    c.quit().await.unwrap();
    // A policy of `none` sends no STARTTLS; aiosmtpd requires it for MAIL by default.
    let mut c = Connection::connect(
        &format!("localhost:{}", srv.port),
        client(&ca, TlsPolicy::None),
    )
    .await
    .unwrap();
    let e = c
        .send(env(&["<a@example.test>"]), "x\r\n")
        .await
        .unwrap_err();
    assert_eq!(e.reply().unwrap().code().get(), 530, "{e:?}");
    let _ = srv.child.kill().await;
}

/// Postfix with `smtpd_recipient_limit = 10` answers the eleventh RCPT `452 4.5.3`:
/// the client sends the rest in further transactions and every recipient gets it.
#[tokio::test]
async fn postfix_recipient_limit_452_path_delivers_to_every_recipient() {
    let ca = Ca::new();
    let pki = ca.issue(Cert::Valid);
    let pf = Postfix::start_configured(
        Some(&pki),
        support::postfix::BareNewline::Yes,
        "smtpd_recipient_limit = 10\n",
    )
    .await;
    let mut c = Connection::connect(
        &format!("localhost:{}", pf.starttls_port),
        client(&ca, TlsPolicy::Verify),
    )
    .await
    .unwrap_or_else(|e| panic!("{e}\n{}", pf.log()));
    let to: Vec<String> = (0..25).map(|i| format!("<r{i}@example.test>")).collect();
    let to: Vec<&str> = to.iter().map(String::as_str).collect();
    let d = c
        .send(env(&to), "Subject: many\r\n\r\nhello\r\n")
        .await
        .unwrap_or_else(|e| panic!("{e:?}\n{}", pf.log()));
    assert!(d.all_delivered(), "{d}\n{}", pf.log());
    assert_eq!(d.message.len(), 3, "{d}");
    let first_452 = d
        .recipients
        .iter()
        .filter_map(|r| r.rcpt_reply.as_ref())
        .filter(|r| r.code().get() == 452)
        .count();
    assert_eq!(
        first_452, 0,
        "results hold each recipient's last reply: {d}"
    );
    c.quit().await.unwrap();
}
