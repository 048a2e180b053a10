//! Server session transcripts for AUTH (RFC 4954, RFC 4616): PLAIN, LOGIN, pass-through
//! mechanisms, cancelling, and AUTH only under TLS by default.

mod support;

use smtp_proto::*;
use support::*;

fn opts() -> ServerOptions {
    ServerOptions::new(Domain::new("mx.example.com").unwrap())
}

fn reply(code: u16, e: (u8, u16, u16), text: &str) -> Reply {
    let e = smtp_proto::EnhancedCode::new(e.0, e.1, e.2).unwrap();
    Reply::with_text(code, Some(e), [text]).unwrap()
}

fn auth_opts() -> ServerOptions {
    let mut o = opts();
    o.auth_mechanisms = vec![
        Mechanism::PLAIN,
        Mechanism::LOGIN,
        Mechanism::new("X-TOKEN").unwrap(),
    ];
    o
}

fn tls_run(o: ServerOptions, input: &[u8], decide: impl FnMut(&ServerEvent) -> Decision) -> Run {
    run_with(
        o,
        TransportSecurity::ImplicitTls(tls_info()),
        &[input],
        decide,
    )
}

#[test]
fn auth_plain_and_login() {
    // AGFsaWNlAHNlY3JldA== is "\0alice\0secret"; YWxpY2U= "alice"; c2VjcmV0 "secret".
    let r = tls_run(
        auth_opts(),
        b"EHLO c\r\nAUTH PLAIN AGFsaWNlAHNlY3JldA==\r\nAUTH PLAIN\r\nQUIT\r\n",
        accept_all,
    );
    assert!(
        r.lines()
            .contains(&"250-AUTH PLAIN LOGIN X-TOKEN".to_owned())
    );
    assert_eq!(
        &r.replies()[1..],
        [
            "235 2.7.0 Authentication successful",
            "503 5.5.1 Error: already authenticated",
            "221 2.0.0 Bye"
        ]
    );
    let Ev::Auth(c) = &r.events[1] else {
        panic!("{:?}", r.events)
    };
    assert_eq!((c.authzid.as_deref(), c.username.as_str()), (None, "alice"));
    assert_eq!(c.password.expose(), "secret");
    assert!(!format!("{c:?}").contains("secret"));

    let r = tls_run(
        auth_opts(),
        b"EHLO c\r\nAUTH PLAIN\r\nAGFsaWNlAHdyb25n\r\nAUTH LOGIN\r\nYWxpY2U=\r\nc2VjcmV0\r\nQUIT\r\n",
        |ev| match ev {
            ServerEvent::Auth(c) if c.password.expose() == "wrong" => {
                Decision::Reject(reply(535, (5, 7, 8), "Authentication credentials invalid"))
            }
            _ => Decision::Accept,
        },
    );
    assert_eq!(
        r.replies()[1..],
        [
            "334 ",
            "535 5.7.8 Authentication credentials invalid",
            "334 VXNlcm5hbWU6",
            "334 UGFzc3dvcmQ6",
            "235 2.7.0 Authentication successful",
            "221 2.0.0 Bye"
        ]
    );
}

#[test]
fn auth_cancel_bad_base64_and_sequence() {
    let r = tls_run(
        auth_opts(),
        b"AUTH PLAIN\r\nEHLO c\r\nAUTH LOGIN\r\n*\r\nAUTH PLAIN\r\n!!\r\nAUTH CRAM-MD5\r\nMAIL FROM:<a@b.example>\r\nAUTH PLAIN\r\nQUIT\r\n",
        accept_all,
    );
    assert_eq!(
        r.replies(),
        [
            "503 5.5.1 Error: send HELO/EHLO first",
            "250 CHUNKING",
            "334 VXNlcm5hbWU6",
            "501 5.7.0 Authentication cancelled",
            "334 ",
            "501 5.5.2 Cannot decode response",
            "504 5.5.4 Unrecognized authentication type",
            "250 2.1.0 Ok",
            "503 5.5.1 Error: MAIL transaction in progress",
            "221 2.0.0 Bye"
        ]
    );
}

#[test]
fn auth_needs_tls_by_default() {
    let r = run(
        auth_opts(),
        &[b"EHLO c\r\nAUTH PLAIN AGFsaWNlAHNlY3JldA==\r\nQUIT\r\n"],
    );
    assert!(!r.lines().iter().any(|l| l.contains("AUTH")));
    assert_eq!(
        r.replies()[1],
        "538 5.7.11 Encryption required for requested authentication mechanism"
    );
    assert!(!r.events.iter().any(|e| matches!(e, Ev::Auth(_))));
    let mut o = auth_opts();
    o.auth_without_tls = true;
    let r = run(
        o,
        &[b"EHLO c\r\nAUTH PLAIN AGFsaWNlAHNlY3JldA==\r\nQUIT\r\n"],
    );
    assert_eq!(r.replies()[1], "235 2.7.0 Authentication successful");
}

#[test]
fn auth_pass_through_mechanism() {
    let r = tls_run(
        auth_opts(),
        b"EHLO c\r\nAUTH X-TOKEN\r\ndG9rZW4=\r\nQUIT\r\n",
        |ev| match ev {
            ServerEvent::AuthStep { response: None, .. } => Decision::Challenge(b"nonce".to_vec()),
            _ => Decision::Accept,
        },
    );
    assert_eq!(
        &r.replies()[1..],
        [
            "334 bm9uY2U=",
            "235 2.7.0 Authentication successful",
            "221 2.0.0 Bye"
        ]
    );
    assert_eq!(
        r.events[2],
        Ev::AuthStep("X-TOKEN".into(), Some(b"token".to_vec()))
    );
}

#[test]
fn auth_equals_sign_is_an_empty_initial_response() {
    let r = tls_run(
        auth_opts(),
        b"EHLO c\r\nAUTH X-TOKEN =\r\nAUTH PLAIN =\r\nQUIT\r\n",
        |ev| match ev {
            ServerEvent::AuthStep {
                response: Some(r), ..
            } if r.expose().is_empty() => {
                Decision::Reject(reply(535, (5, 7, 8), "Authentication credentials invalid"))
            }
            _ => Decision::Accept,
        },
    );
    assert_eq!(
        r.events[1],
        Ev::AuthStep("X-TOKEN".into(), Some(Vec::new()))
    );
    assert_eq!(
        &r.replies()[1..],
        [
            "535 5.7.8 Authentication credentials invalid",
            "501 5.5.2 Malformed authentication response",
            "221 2.0.0 Bye"
        ]
    );
}
