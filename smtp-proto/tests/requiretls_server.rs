//! The server side of REQUIRETLS (RFC 8689 §3): advertised only over TLS, the MAIL
//! parameter accepted only over TLS, and handed to the application.

use smtp_proto::{Output, ServerEvent, ServerOptions, ServerSession, TlsInfo, TransportSecurity};

/// Runs `input` through a session; the wire output and whether MAIL reached the
/// application with REQUIRETLS.
fn run(security: TransportSecurity, input: &str) -> (String, Option<bool>) {
    let mut opts = ServerOptions::default();
    opts.requiretls = true;
    let mut s = ServerSession::new(opts, security);
    s.feed(input.as_bytes());
    s.feed_eof();
    let (mut wire, mut mail) = (Vec::new(), None);
    loop {
        match s.poll() {
            Ok(Output::Transmit(b)) => wire.extend_from_slice(&b),
            Ok(Output::Event(ServerEvent::Mail { params, .. })) => {
                mail = Some(params.requiretls);
                s.accept().unwrap();
            }
            Ok(Output::Event(_)) => {
                let _ = s.accept();
            }
            Ok(Output::NeedInput) | Ok(Output::StartTls(_)) | Ok(Output::Close) | Err(_) => break,
        }
    }
    (String::from_utf8(wire).unwrap(), mail)
}

const SESSION: &str = "EHLO c.example\r\nMAIL FROM:<a@example.org> REQUIRETLS\r\nQUIT\r\n";

#[test]
fn requiretls_only_over_tls() {
    let (wire, mail) = run(TransportSecurity::Plain, SESSION);
    assert!(!wire.contains("REQUIRETLS"), "{wire}");
    assert_eq!(mail, None, "{wire}");
    assert!(wire.contains("\r\n555 5.5.4"), "{wire}");

    let tls = TlsInfo::new("TLSv1.3", "TLS_AES_128_GCM_SHA256").unwrap();
    let (wire, mail) = run(TransportSecurity::ImplicitTls(tls), SESSION);
    assert!(
        wire.contains("250-REQUIRETLS\r\n") || wire.contains("250 REQUIRETLS\r\n"),
        "{wire}"
    );
    assert_eq!(mail, Some(true), "{wire}");
}
