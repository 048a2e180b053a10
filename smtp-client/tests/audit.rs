//! `smtp_client::testing::audit` against real servers on 127.0.0.1: our smtp-server
//! with its defaults (every check passes, AUTH does not apply), our server made lax on
//! purpose (each lax setting found), a server with the flaw of CVE-2011-0411 written
//! here (found), and a private Postfix with bare LFs allowed
//! (`smtpd_forbid_bare_newline = no`: SMTP smuggling found) and forbidden (`yes`,
//! `reject`: no smuggling). Postfix comes from `bash scripts/install-peers`; without
//! it the Postfix tests fail with that hint.
#![cfg(feature = "testing")]

mod support;

use smtp_client::Mechanism;
use smtp_client::proto::LineEndings;
use smtp_client::testing::{AuditOptions, AuditReport, Check, SMUGGLING_VARIANTS, Status, audit};
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use support::postfix::{BareNewline, Postfix, need, run};
use support::*;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::process::Command;

fn opts(checks: &[Check]) -> AuditOptions {
    AuditOptions::default()
        .with_timeout(Duration::from_secs(30))
        .with_checks(checks)
}

/// The status of the result named `name`.
fn status(report: &AuditReport, name: &str) -> Status {
    report
        .result(name)
        .unwrap_or_else(|| panic!("no result {name:?}\n{report:#}"))
        .status
}

async fn our_server(o: smtp_client::proto::ServerOptions, tls: bool) -> (Recorder, Running) {
    let rec = Recorder::default();
    let tls = tls.then(|| Ca::new().issue(Cert::Valid).tls());
    let srv = serve(&rec, o, false, tls).await;
    (rec, srv)
}

#[tokio::test]
async fn our_server_passes_every_check() {
    let (rec, srv) = our_server(options(), true).await;
    let report = audit(srv.addr(), &opts(&Check::ALL)).await;
    assert!(report.error.is_none(), "{report:#}");
    assert_eq!(report.starttls, Some(true));
    assert!(
        report
            .greeting
            .as_deref()
            .unwrap()
            .starts_with("220 mx.test")
    );
    assert_eq!(
        report.results.len(),
        SMUGGLING_VARIANTS.len() + 6,
        "{report:#}"
    );
    for r in &report.results {
        // No AUTH is configured: nothing to protect.
        let want = match r.check {
            Check::AuthBeforeTls => Status::NotApplicable,
            _ => Status::Pass,
        };
        assert_eq!(r.status, want, "{}: {}\n{}", r.name, r.detail, r.transcript);
        assert!(!r.transcript.is_empty(), "{}", r.name);
    }
    assert!(report.is_complete() && !report.is_vulnerable());
    // Every look-alike has its own result and connection, inside TLS.
    for (name, _) in SMUGGLING_VARIANTS {
        let r = report.result(&format!("smuggling {name}")).unwrap();
        assert!(
            r.transcript.entries().iter().any(|e| e.tls),
            "{}",
            r.transcript
        );
    }
    // The bare CR and LF look-alikes were refused (550 after the end of data); the
    // NUL one is content, and its message arrived whole: smuggled part inside.
    let messages = rec.messages();
    assert_eq!(messages.len(), 1, "{report:#}");
    let m = String::from_utf8_lossy(&messages[0]);
    assert!(
        m.contains("\r\n\0.\r\nMAIL FROM:<a@example.test>\r\n"),
        "{m}"
    );
    assert!(m.contains("Subject: smtp-audit SMUGGLED message"), "{m}");
    let nul = report.result("smuggling <CR><LF><NUL>.<CR><LF>").unwrap();
    assert!(nul.detail.starts_with("one message: 250"), "{}", nul.detail);
    let lf = report.result("smuggling <LF>.<LF>").unwrap();
    assert!(lf.detail.starts_with("refused: 550"), "{}", lf.detail);
    // The limits: Postfix's defaults (20 errors, 100 junk commands), then 421.
    let errors = report.result("error limit").unwrap();
    assert!(
        errors
            .detail
            .starts_with("closed after 21 bad commands: 421"),
        "{}",
        errors.detail
    );
    let junk = report.result("junk command limit").unwrap();
    assert!(
        junk.detail.starts_with("closed after 101 NOOPs: 421"),
        "{}",
        junk.detail
    );
    // Text and JSON.
    let text = report.to_string();
    assert!(
        text.starts_with(&format!("audit of {}: 220 mx.test", srv.addr())),
        "{text}"
    );
    assert!(
        text.contains("\npass          smuggling <LF>.<LF>: refused: 550"),
        "{text}"
    );
    assert!(text.ends_with("summary: 13 pass, 0 vulnerable, 1 not applicable, 0 inconclusive"));
    assert!(
        !text.contains("C: "),
        "passing checks show no transcript: {text}"
    );
    assert!(format!("{report:#}").contains("\n    C~ MAIL FROM:<a@example.test>\\r\\n\n"));
    let json = report.to_json();
    assert_eq!(json["vulnerable"], false);
    assert_eq!(json["summary"]["pass"], 13);
    assert_eq!(json["results"][0]["check"], "smuggling");
    assert_eq!(json["results"][0]["status"], "pass");
    let sent = json["results"][0]["transcript"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| {
            e["data"]
                .as_str()
                .unwrap()
                .contains("\\n.\\nMAIL FROM:<a@example.test>")
        });
    assert!(sent, "{}", json["results"][0]);
    srv.shutdown().await;
}

#[tokio::test]
async fn auth_only_after_tls_passes_and_auth_in_plaintext_is_found() {
    let mut o = options();
    o.auth_mechanisms = vec![Mechanism::PLAIN, Mechanism::LOGIN];
    let (_rec, srv) = our_server(o.clone(), true).await;
    let report = audit(srv.addr(), &opts(&[Check::AuthBeforeTls])).await;
    let r = report.result("AUTH before TLS").unwrap();
    assert_eq!(r.status, Status::Pass, "{report:#}");
    assert!(
        r.detail
            .starts_with("AUTH PLAIN LOGIN only after STARTTLS; before it AUTH PLAIN got: 5"),
        "{}",
        r.detail
    );
    srv.shutdown().await;

    // Offered in plaintext, and no STARTTLS at all.
    o.auth_without_tls = true;
    let (_rec, srv) = our_server(o, false).await;
    let report = audit(
        srv.addr(),
        &opts(&[Check::AuthBeforeTls, Check::StartTlsInjection]),
    )
    .await;
    assert_eq!(report.starttls, Some(false));
    assert_eq!(
        status(&report, "AUTH before TLS"),
        Status::Vulnerable,
        "{report:#}"
    );
    assert_eq!(
        report.result("AUTH before TLS").unwrap().detail,
        "AUTH PLAIN LOGIN offered before TLS"
    );
    assert_eq!(
        status(&report, "STARTTLS injection (CVE-2011-0411)"),
        Status::NotApplicable
    );
    assert!(report.is_vulnerable() && report.is_complete());
    let text = report.to_string();
    assert!(text.contains("VULNERABLE    AUTH before TLS: AUTH PLAIN LOGIN offered before TLS\n    -- connected to"), "{text}");
    srv.shutdown().await;
}

#[tokio::test]
async fn lax_settings_of_our_server_are_found() {
    let mut o = options();
    o.command_line_endings = LineEndings::AllowBareLf;
    o.max_errors = 1000;
    o.max_junk_commands = 1000;
    let (_rec, srv) = our_server(o, true).await;
    let mut ao = opts(&[Check::BareLf, Check::ErrorLimit, Check::JunkLimit]);
    ao.max_errors = 30;
    ao.max_junk = 150;
    let report = audit(srv.addr(), &ao).await;
    let bare = report.result("bare LF in commands").unwrap();
    assert_eq!(bare.status, Status::Vulnerable, "{report:#}");
    assert!(
        bare.detail.starts_with("ran one line as two commands: 250"),
        "{}",
        bare.detail
    );
    let errors = report.result("error limit").unwrap();
    assert_eq!(errors.status, Status::Vulnerable, "{report:#}");
    assert_eq!(
        errors.detail,
        "still answering after 30 bad commands: no limit"
    );
    let junk = report.result("junk command limit").unwrap();
    assert_eq!(junk.status, Status::Vulnerable, "{report:#}");
    // A long transcript is shortened to its start and end.
    assert!(junk.transcript.len() <= 21, "{}", junk.transcript);
    assert!(junk.transcript.to_string().contains("entries left out"));
    srv.shutdown().await;
}

#[tokio::test]
async fn nothing_to_audit_when_nothing_listens() {
    let addr: SocketAddr = ([127, 0, 0, 1], dead_port().await).into();
    let report = audit(addr, &opts(&[Check::BareLf, Check::Smuggling])).await;
    assert!(
        report
            .error
            .as_deref()
            .unwrap()
            .starts_with("cannot connect"),
        "{report:#}"
    );
    assert_eq!(report.results.len(), 2);
    assert!(
        report
            .results
            .iter()
            .all(|r| r.status == Status::Inconclusive)
    );
    assert!(!report.is_complete() && !report.is_vulnerable());
}

/// The installed Postfix, and that it has `smtpd_forbid_bare_newline`.
async fn postfix_version() -> String {
    let postconf = need("/usr/sbin/postconf", "postfix");
    let out =
        run(Command::new(&postconf).args(["-d", "mail_version", "smtpd_forbid_bare_newline"]))
            .await;
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        text.contains("smtpd_forbid_bare_newline = "),
        "this Postfix has no smtpd_forbid_bare_newline (3.5.23, 3.6.13, 3.7.9, 3.8.4 or \
         later needed): {text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    text
}

async fn audit_postfix(mode: BareNewline) -> AuditReport {
    let version = postfix_version().await;
    let pki = Ca::new().issue(Cert::Valid);
    let pf = Postfix::start_with(Some(&pki), mode).await;
    let addr: SocketAddr = ([127, 0, 0, 1], pf.starttls_port).into();
    let checks = [Check::Smuggling, Check::BareLf, Check::StartTlsInjection];
    let report = audit(addr, &opts(&checks)).await;
    assert!(report.error.is_none(), "{version}{report:#}\n{}", pf.log());
    assert!(report.is_complete(), "{version}{report:#}\n{}", pf.log());
    // Fixed since Postfix 2.8.0 / 2.7.3: the NOOP behind STARTTLS is discarded.
    let inj = status(&report, "STARTTLS injection (CVE-2011-0411)");
    assert_eq!(inj, Status::Pass, "{report:#}");
    report
}

/// The look-alikes with a bare LF where Postfix's reading of lines (an LF ends one)
/// finds a lone `.` line.
const LF_ENDS: [&str; 3] = ["<LF>.<LF>", "<LF>.<CR><LF>", "<CR><LF>.<LF>"];

#[tokio::test]
async fn postfix_with_bare_lf_allowed_takes_smuggled_messages() {
    let report = audit_postfix(BareNewline::No).await;
    for (name, _) in SMUGGLING_VARIANTS {
        let r = report.result(&format!("smuggling {name}")).unwrap();
        let want = if LF_ENDS.contains(name) {
            Status::Vulnerable
        } else {
            // A bare CR never ends a line for Postfix; a NUL is content.
            Status::Pass
        };
        assert_eq!(r.status, want, "{}: {}\n{}", r.name, r.detail, r.transcript);
    }
    let lf = report.result("smuggling <LF>.<LF>").unwrap();
    assert!(lf.detail.starts_with("two messages"), "{}", lf.detail);
    // 250 for the first message, MAIL, RCPT, 354 for DATA, 250 for the second.
    assert!(
        lf.detail.contains("(replies 250, 250, 250, 354, 250)"),
        "{}",
        lf.detail
    );
    assert_eq!(status(&report, "bare LF in commands"), Status::Vulnerable);
    assert!(
        report
            .to_string()
            .contains("VULNERABLE    smuggling <LF>.<LF>: two messages")
    );
}

#[tokio::test]
async fn postfix_with_bare_lf_forbidden_takes_one_message() {
    // `yes` (normalize): only <CRLF>.<CRLF> ends a message, but a bare LF still ends a
    // command line, so NOOP<LF>NOOP runs twice; `reject` refuses both.
    for (mode, bare_lf) in [
        (BareNewline::Yes, Status::Vulnerable),
        (BareNewline::Reject, Status::Pass),
    ] {
        let report = audit_postfix(mode).await;
        for r in report.of(Check::Smuggling) {
            assert_eq!(
                r.status,
                Status::Pass,
                "{mode:?} {}: {}\n{}",
                r.name,
                r.detail,
                r.transcript
            );
        }
        let lf = report.result("smuggling <LF>.<LF>").unwrap();
        let want = match mode {
            BareNewline::Reject => "refused: 550",
            _ => "one message: 250",
        };
        assert!(
            lf.detail.starts_with(want),
            "{mode:?}: {}\n{}",
            lf.detail,
            lf.transcript
        );
        assert_eq!(
            status(&report, "bare LF in commands"),
            bare_lf,
            "{mode:?}\n{report:#}"
        );
    }
}

/// A server with the flaw of CVE-2011-0411: its input buffer outlives STARTTLS, so a
/// command pipelined behind STARTTLS in plaintext runs, and is answered, under TLS.
async fn flawed_server(pki: &Pki) -> SocketAddr {
    use smtp_client::rustls::pki_types::pem::PemObject;
    use smtp_client::rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let chain = CertificateDer::pem_slice_iter(pki.cert_pem.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .unwrap();
    let key = PrivateKeyDer::from_pem_slice(pki.key_pem.as_bytes()).unwrap();
    let provider = Arc::new(smtp_client::default_provider());
    let config = smtp_client::rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let l = TcpListener::bind(local()).await.unwrap();
    let addr = l.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((s, _)) = l.accept().await {
            tokio::spawn(flawed_session(s, acceptor.clone()));
        }
    });
    addr
}

async fn flawed_session(mut s: TcpStream, acceptor: tokio_rustls::TlsAcceptor) -> io::Result<()> {
    let mut buf = Vec::new();
    s.write_all(b"220 flawed.test ESMTP\r\n").await?;
    loop {
        let line = next_line(&mut s, &mut buf).await?;
        let reply: &[u8] = match line.as_str() {
            "STARTTLS" => break,
            "QUIT" => return s.write_all(b"221 bye\r\n").await,
            l if l.starts_with("EHLO") => b"250-flawed.test\r\n250 STARTTLS\r\n",
            _ => b"250 ok\r\n",
        };
        s.write_all(reply).await?;
    }
    s.write_all(b"220 go ahead\r\n").await?;
    // The flaw: `buf` still holds what came behind STARTTLS.
    let mut tls = acceptor.accept(s).await?;
    loop {
        let line = next_line(&mut tls, &mut buf).await?;
        if line == "QUIT" {
            tls.write_all(b"221 bye\r\n").await?;
            return tls.shutdown().await;
        }
        tls.write_all(b"250 2.0.0 Ok\r\n").await?;
    }
}

async fn next_line<S: AsyncRead + Unpin>(s: &mut S, buf: &mut Vec<u8>) -> io::Result<String> {
    loop {
        if let Some(i) = buf.windows(2).position(|w| w == b"\r\n") {
            let line: Vec<u8> = buf.drain(..i + 2).collect();
            return Ok(String::from_utf8_lossy(&line[..i]).into_owned());
        }
        let mut chunk = [0u8; 4096];
        match s.read(&mut chunk).await? {
            0 => return Err(io::ErrorKind::UnexpectedEof.into()),
            n => buf.extend_from_slice(&chunk[..n]),
        }
    }
}

#[tokio::test]
async fn a_command_run_under_tls_after_starttls_is_found() {
    let addr = flawed_server(&Ca::new().issue(Cert::Valid)).await;
    let report = audit(addr, &opts(&[Check::StartTlsInjection])).await;
    let r = report.result("STARTTLS injection (CVE-2011-0411)").unwrap();
    assert_eq!(r.status, Status::Vulnerable, "{report:#}");
    assert_eq!(
        r.detail,
        "the NOOP sent before TLS was answered inside TLS: 250 2.0.0 Ok"
    );
    let text = r.transcript.to_string();
    assert!(
        text.contains(
            "C: STARTTLS\\r\\n\nC: NOOP\\r\\n\nS: 220 go ahead\\r\\n\n-- TLS established"
        ),
        "{text}"
    );
    assert!(
        text.contains("\nC~ QUIT\\r\\n\nS~ 250 2.0.0 Ok\\r\\n\nS~ 221 bye"),
        "{text}"
    );
}

#[tokio::test]
async fn an_implicit_tls_port_is_audited_inside_tls() {
    let server = smtp_server::testing::TestServer::builder()
        .implicit_tls()
        .start()
        .await
        .unwrap();
    let addr = server.implicit_tls_addr().unwrap();
    let mut o = opts(&Check::ALL);
    o.implicit_tls = true;
    let report = audit(addr, &o).await;
    assert!(report.error.is_none(), "{report:#}");
    for r in &report.results {
        let want = match r.check {
            Check::StartTlsInjection => Status::NotApplicable,
            _ => Status::Pass,
        };
        assert_eq!(r.status, want, "{}: {}\n{}", r.name, r.detail, r.transcript);
        assert!(r.transcript.entries().iter().any(|e| e.tls), "{}", r.name);
    }
    // Without it, the same port gives no greeting in plaintext: nothing to decide.
    let report = audit(
        addr,
        &opts(&[Check::BareLf]).with_timeout(std::time::Duration::from_secs(1)),
    )
    .await;
    assert!(
        report.error.is_some() && !report.is_complete(),
        "{report:#}"
    );
}
