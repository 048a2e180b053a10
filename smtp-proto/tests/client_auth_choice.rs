//! The AUTH mechanism comes from the EHLO reply after TLS (RFC 3207 §4.2: what the
//! server said before TLS is forgotten), in the caller's order of preference.

mod client_support;

use client_support::*;
use smtp_proto::client::policy::PolicyViolation;
use smtp_proto::client::{ClientAuth, ClientEvent};
use smtp_proto::*;

const GREET: &[u8] = b"220 mx.example.com ESMTP\r\n";

fn password(mechanisms: &[Mechanism]) -> ClientAuth {
    ClientAuth::Password {
        authzid: None,
        username: "user".into(),
        password: Secret::new("pass".into()),
        mechanisms: mechanisms.to_vec(),
    }
}

/// A session with `auth` through STARTTLS: `before` and `after` are the AUTH lines
/// of the EHLO replies before and after TLS (empty: none).
fn through_tls(auth: ClientAuth, before: &str, after: &str) -> (Sess, Stop) {
    let mut o = opts();
    o.auth = Some(auth);
    let mut s = Sess::new(o);
    assert!(matches!(s.step(), Stop::NeedInput));
    assert!(matches!(s.reply(GREET), Stop::NeedInput));
    let ehlo = format!("250-mx.example.com\r\n{before}250 STARTTLS\r\n");
    assert!(matches!(s.reply(ehlo.as_bytes()), Stop::NeedInput));
    assert!(matches!(s.reply(b"220 Ready\r\n"), Stop::NeedInput));
    let ehlo = format!("250-mx.example.com\r\n{after}250 PIPELINING\r\n");
    let stop = s.reply(ehlo.as_bytes());
    (s, stop)
}

#[test]
fn plain_before_tls_and_login_after_gives_login() {
    let (mut s, stop) = through_tls(
        ClientAuth::password("user", "pass"),
        "250-AUTH PLAIN\r\n",
        "250-AUTH LOGIN\r\n",
    );
    assert!(matches!(stop, Stop::NeedInput));
    assert!(
        s.wire().ends_with("EHLO client.example\r\nAUTH LOGIN\r\n"),
        "{}",
        s.wire()
    );
    assert!(matches!(s.reply(b"334 VXNlcm5hbWU6\r\n"), Stop::NeedInput));
    assert!(matches!(s.reply(b"334 UGFzc3dvcmQ6\r\n"), Stop::NeedInput));
    let ev = s.reply(b"235 2.7.0 Ok\r\n");
    assert!(
        matches!(ev, Stop::Event(ClientEvent::Ready { .. })),
        "{ev:?}"
    );
    assert!(s.wire().ends_with("AUTH LOGIN\r\ndXNlcg==\r\ncGFzcw==\r\n"));
    assert!(!s.wire().contains("PLAIN"));
    assert_eq!(s.c.auth_mechanism(), Some(Mechanism::LOGIN));
}

#[test]
fn auth_before_tls_but_none_after_sends_no_auth() {
    for auth in [
        ClientAuth::password("user", "pass"),
        ClientAuth::Plain {
            authzid: None,
            username: "user".into(),
            password: Secret::new("pass".into()),
        },
    ] {
        let (mut s, stop) = through_tls(auth, "250-AUTH PLAIN LOGIN\r\n", "");
        assert!(matches!(stop, Stop::NeedInput), "{stop:?}");
        assert!(
            s.wire().ends_with("EHLO client.example\r\nQUIT\r\n"),
            "{}",
            s.wire()
        );
        assert!(!s.wire().contains("AUTH"));
        assert!(matches!(s.reply(b"221 Bye\r\n"), Stop::Closed));
        assert!(
            matches!(
                &s.errors[..],
                [Error::Policy(PolicyViolation::MissingExtension { .. })]
            ),
            "{:?}",
            s.errors
        );
        assert_eq!(s.c.auth_mechanism(), None);
    }
}

#[test]
fn a_fixed_mechanism_the_server_drops_after_tls_is_not_sent() {
    let login = ClientAuth::Login {
        username: "user".into(),
        password: Secret::new("pass".into()),
    };
    let (mut s, stop) = through_tls(login, "250-AUTH LOGIN\r\n", "250-AUTH PLAIN\r\n");
    assert!(matches!(stop, Stop::NeedInput));
    assert!(
        s.wire().ends_with("EHLO client.example\r\nQUIT\r\n"),
        "{}",
        s.wire()
    );
    assert!(matches!(s.reply(b"221 Bye\r\n"), Stop::Closed));
    assert!(matches!(
        &s.errors[..],
        [Error::Policy(PolicyViolation::MissingExtension {
            extension,
            ..
        })] if *extension == "AUTH LOGIN"
    ));
}

#[test]
fn the_callers_order_decides_among_the_offered() {
    let cases: [(&[Mechanism], &str, &str); 5] = [
        (
            &[Mechanism::PLAIN, Mechanism::LOGIN],
            "LOGIN PLAIN",
            "AUTH PLAIN AHVzZXIAcGFzcw==\r\n",
        ),
        (
            &[Mechanism::LOGIN, Mechanism::PLAIN],
            "PLAIN LOGIN",
            "AUTH LOGIN\r\n",
        ),
        (
            &[Mechanism::PLAIN, Mechanism::LOGIN],
            "LOGIN",
            "AUTH LOGIN\r\n",
        ),
        // A mechanism a password cannot carry is skipped.
        (
            &[Mechanism::CRAM_MD5, Mechanism::LOGIN],
            "CRAM-MD5 LOGIN",
            "AUTH LOGIN\r\n",
        ),
        // XOAUTH2 takes the password as the bearer token.
        (
            &[Mechanism::XOAUTH2, Mechanism::PLAIN],
            "PLAIN XOAUTH2",
            "AUTH XOAUTH2 dXNlcj11c2VyAWF1dGg9QmVhcmVyIHBhc3MBAQ==\r\n",
        ),
    ];
    for (prefs, offered, want) in cases {
        let after = format!("250-AUTH {offered}\r\n");
        let (s, stop) = through_tls(password(prefs), "", &after);
        assert!(matches!(stop, Stop::NeedInput), "{offered}: {stop:?}");
        assert!(s.wire().ends_with(want), "{offered}: {}", s.wire());
    }
}

#[test]
fn an_empty_preference_list_never_authenticates() {
    let (mut s, stop) = through_tls(password(&[]), "", "250-AUTH PLAIN LOGIN\r\n");
    assert!(matches!(stop, Stop::NeedInput));
    assert!(s.wire().ends_with("QUIT\r\n"));
    assert!(!s.wire().contains("AUTH"));
    assert!(matches!(s.reply(b"221 Bye\r\n"), Stop::Closed));
    assert!(matches!(
        &s.errors[..],
        [Error::Policy(PolicyViolation::MissingExtension {
            extension,
            ..
        })] if *extension == "AUTH"
    ));
}

#[test]
fn without_tls_no_credential_leaves_whatever_is_offered() {
    let mut o = opts();
    o.tls_policy = smtp_proto::client::policy::TlsPolicy::May;
    o.auth = Some(ClientAuth::password("user", "pass"));
    let mut s = Sess::new(o);
    assert!(matches!(s.step(), Stop::NeedInput));
    assert!(matches!(s.reply(GREET), Stop::NeedInput));
    assert!(matches!(
        s.reply(b"250-mx\r\n250 AUTH PLAIN LOGIN\r\n"),
        Stop::NeedInput
    ));
    assert!(s.wire().ends_with("EHLO client.example\r\nQUIT\r\n"));
    assert!(matches!(s.reply(b"221 Bye\r\n"), Stop::Closed));
    assert!(matches!(
        &s.errors[..],
        [Error::Policy(PolicyViolation::AuthWithoutTls { .. })]
    ));
}

#[test]
fn an_odd_mechanism_name_does_not_hide_the_usable_ones() {
    // A name over 20 characters and one with a stray character, next to PLAIN.
    let reply = Reply::from_bytes(
        b"250-mx.example.com\r\n250 AUTH X-A-VERY-LONG-MECHANISM-NAME-INDEED GSS/API PLAIN\r\n",
    )
    .unwrap();
    let caps = decode_capabilities(&reply).unwrap();
    assert_eq!(
        caps.extensions,
        [Extension::Auth(vec![Mechanism::PLAIN])],
        "{caps:?}"
    );
}
