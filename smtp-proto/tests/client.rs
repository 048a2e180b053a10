//! Client session transcripts against scripted server replies, and the TLS policy.

mod client_support;

use client_support::*;
use smtp_proto::client::policy::*;
use smtp_proto::client::{ClientAuth, ClientEvent};
use smtp_proto::*;

const GREET: &[u8] = b"220 mx.example.com ESMTP\r\n";
const EHLO_PIPE: &[u8] =
    b"250-mx.example.com\r\n250-PIPELINING\r\n250-8BITMIME\r\n250 SIZE 1000\r\n";
const EHLO_TLS: &[u8] = b"250-mx.example.com\r\n250-PIPELINING\r\n250-STARTTLS\r\n250 8BITMIME\r\n";

fn plain_opts() -> smtp_proto::client::ClientOptions {
    let mut o = opts();
    o.tls_policy = TlsPolicy::None;
    o
}

#[test]
fn pipelined_transaction_with_a_rejected_recipient() {
    let r = crun(
        plain_opts(),
        TransportSecurity::Plain,
        &[
            GREET,
            EHLO_PIPE,
            b"250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n550 5.1.1 No such user\r\n354 Go\r\n",
            b"250 2.0.0 Queued as X\r\n",
            b"221 2.0.0 Bye\r\n",
        ],
        one(
            env("<a@example.org>", &["<b@example.com>", "<c@example.com>"]),
            b"Hi\n.\n",
        ),
    );
    assert_eq!(
        r.wire(),
        "EHLO client.example\r\n\
         MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.com>\r\nRCPT TO:<c@example.com>\r\nDATA\r\n\
         Hi\r\n..\r\n.\r\n\
         QUIT\r\n"
    );
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    let res = &r.results[0];
    assert!(res.delivered());
    let codes: Vec<u16> = res
        .recipients
        .iter()
        .map(|(_, rep)| rep.as_ref().unwrap().code().get())
        .collect();
    assert_eq!(codes, [250, 550]);
    assert_eq!(res.message[0].text(), "Queued as X");
    assert!(r.closed);
}

#[test]
fn lock_step_without_pipelining() {
    let r = crun(
        plain_opts(),
        TransportSecurity::Plain,
        &[
            GREET,
            b"250 mx.example.com\r\n",
            b"250 Ok\r\n",
            b"250 Ok\r\n",
            b"250 Ok\r\n",
            b"354 Go\r\n",
            b"250 Queued\r\n",
            b"221 Bye\r\n",
        ],
        one(
            env("<a@example.org>", &["<b@example.com>", "<c@example.com>"]),
            b"x",
        ),
    );
    assert_eq!(
        r.lines(),
        [
            "EHLO client.example",
            "MAIL FROM:<a@example.org>",
            "RCPT TO:<b@example.com>",
            "RCPT TO:<c@example.com>",
            "DATA",
            "x",
            ".",
            "QUIT"
        ]
    );
    assert!(r.results[0].delivered());
}

#[test]
fn no_accepted_recipient_means_no_body_and_a_reset() {
    // Pipelined: the server refuses DATA; the client resets.
    let r = crun(
        plain_opts(),
        TransportSecurity::Plain,
        &[
            GREET,
            EHLO_PIPE,
            b"250 Ok\r\n550 No\r\n554 5.5.1 No valid recipients\r\n",
            b"250 Reset\r\n221 Bye\r\n",
        ],
        one(env("<a@example.org>", &["<b@example.com>"]), b"secret body"),
    );
    assert!(!r.wire().contains("secret body"));
    assert!(
        r.wire().ends_with("DATA\r\nRSET\r\nQUIT\r\n"),
        "{}",
        r.wire()
    );
    assert!(!r.results[0].delivered());
    // Lock-step: no DATA at all.
    let r = crun(
        plain_opts(),
        TransportSecurity::Plain,
        &[
            GREET,
            b"250 mx\r\n",
            b"250 Ok\r\n",
            b"550 No\r\n",
            b"250 Reset\r\n",
            b"221 Bye\r\n",
        ],
        one(env("<a@example.org>", &["<b@example.com>"]), b"secret body"),
    );
    assert_eq!(
        r.lines(),
        [
            "EHLO client.example",
            "MAIL FROM:<a@example.org>",
            "RCPT TO:<b@example.com>",
            "RSET",
            "QUIT"
        ]
    );
}

#[test]
fn rejected_mail_resets() {
    let r = crun(
        plain_opts(),
        TransportSecurity::Plain,
        &[
            GREET,
            b"250 mx\r\n",
            b"550 5.7.1 Sender refused\r\n",
            b"250 Ok\r\n221 Bye\r\n",
        ],
        one(env("<a@example.org>", &["<b@example.com>"]), b"x"),
    );
    assert_eq!(
        r.lines(),
        [
            "EHLO client.example",
            "MAIL FROM:<a@example.org>",
            "RSET",
            "QUIT"
        ]
    );
    assert_eq!(r.results[0].mail.as_ref().unwrap().code().get(), 550);
}

#[test]
fn a_421_ends_the_session() {
    let r = crun(
        plain_opts(),
        TransportSecurity::Plain,
        &[GREET, EHLO_PIPE, b"421 4.3.2 Shutting down\r\n"],
        one(env("<a@example.org>", &["<b@example.com>"]), b"x"),
    );
    assert!(matches!(
        &r.errors[..],
        [Error::Rejected {
            stage: "session (421)",
            ..
        }]
    ));
    assert!(r.closed);
    assert!(!r.wire().contains("QUIT"));
}

#[test]
fn helo_fallback() {
    let r = crun(
        opts(),
        TransportSecurity::Plain,
        &[
            GREET,
            b"502 5.5.1 Command not implemented\r\n",
            b"250 mx\r\n",
            b"250 Ok\r\n",
            b"250 Ok\r\n",
            b"354 Go\r\n",
            b"250 Ok\r\n",
            b"221 Bye\r\n",
        ],
        one(env("<a@example.org>", &["<b@example.com>"]), b"x"),
    );
    assert_eq!(
        &r.lines()[..2],
        ["EHLO client.example", "HELO client.example"]
    );
    let ClientEvent::Ready { capabilities, tls } = &r.ready[0] else {
        panic!()
    };
    assert!(capabilities.is_none());
    assert_eq!(tls.tls, None);
    assert_eq!(tls.policy, "may");
    assert!(r.results[0].delivered());
}

#[test]
fn greeting_refused() {
    let r = crun(
        opts(),
        TransportSecurity::Plain,
        &[b"554 5.7.1 Go away\r\n", b"221 Bye\r\n"],
        one(env("<a@example.org>", &["<b@example.com>"]), b"x"),
    );
    assert_eq!(r.lines(), ["QUIT"]);
    assert!(matches!(
        &r.errors[..],
        [Error::Rejected {
            stage: "greeting",
            ..
        }]
    ));
}

/// STARTTLS stripped from the EHLO reply, under each policy level.
#[test]
fn starttls_stripping_under_each_policy() {
    let tlsa = Tlsa {
        usage: 3,
        selector: 1,
        matching: 1,
        data: vec![0; 32],
    };
    let cases: Vec<(TlsPolicy, bool)> = vec![
        (TlsPolicy::None, true),
        (TlsPolicy::May, true),
        (TlsPolicy::Encrypt, false),
        (TlsPolicy::Verify, false),
        (
            TlsPolicy::Secure {
                names: vec![".example.com".into()],
            },
            false,
        ),
        (
            TlsPolicy::Dane {
                records: vec![tlsa],
            },
            false,
        ),
        (TlsPolicy::Dane { records: vec![] }, true),
    ];
    for (policy, goes_on) in cases {
        let name = policy.name();
        let mut o = opts();
        o.tls_policy = policy;
        let r = crun(
            o,
            TransportSecurity::Plain,
            &[
                GREET,
                EHLO_PIPE,
                b"250 Ok\r\n250 Ok\r\n354 Go\r\n",
                b"250 Ok\r\n",
                b"221 Bye\r\n",
            ],
            one(env("<a@example.org>", &["<b@example.com>"]), b"x"),
        );
        assert_eq!(
            r.wire().contains("MAIL FROM"),
            goes_on,
            "{name}: {}",
            r.wire()
        );
        if goes_on {
            assert!(r.errors.is_empty(), "{name}");
        } else {
            assert_eq!(r.lines(), ["EHLO client.example", "QUIT"], "{name}");
            let [Error::Policy(PolicyViolation::StartTlsNotOffered { policy, .. })] = &r.errors[..]
            else {
                panic!("{name}: {:?}", r.errors)
            };
            assert_eq!(*policy, name);
            assert!(
                r.errors[0]
                    .to_string()
                    .contains("possible downgrade attack")
            );
        }
    }
}

#[test]
fn starttls_then_ehlo_again() {
    let r = crun(
        opts(),
        TransportSecurity::Plain,
        &[
            GREET,
            EHLO_TLS,
            b"220 2.0.0 Ready to start TLS\r\n",
            b"250-mx.example.com\r\n250 PIPELINING\r\n",
            b"250 Ok\r\n250 Ok\r\n354 Go\r\n",
            b"250 Ok\r\n",
            b"221 Bye\r\n",
        ],
        one(env("<a@example.org>", &["<b@example.com>"]), b"x"),
    );
    assert_eq!(r.starttls, 1);
    assert_eq!(
        &r.lines()[..3],
        ["EHLO client.example", "STARTTLS", "EHLO client.example"]
    );
    let ClientEvent::Ready { tls, capabilities } = &r.ready[0] else {
        panic!()
    };
    assert!(tls.tls.is_some() && tls.verified);
    assert!(!capabilities.as_ref().unwrap().starttls());
    assert!(r.results[0].delivered());
}

#[test]
fn an_unverified_certificate_fails_verify_but_not_encrypt() {
    for (policy, ok) in [(TlsPolicy::Verify, false), (TlsPolicy::Encrypt, true)] {
        let mut o = opts();
        o.tls_policy = policy;
        let mut script = one(env("<a@example.org>", &["<b@example.com>"]), b"x");
        script.verified = false;
        let r = crun(
            o,
            TransportSecurity::Plain,
            &[
                GREET,
                EHLO_TLS,
                b"220 Go\r\n",
                b"250 mx\r\n",
                b"250 Ok\r\n",
                b"250 Ok\r\n",
                b"354 Go\r\n",
                b"250 Ok\r\n",
                b"221 Bye\r\n",
            ],
            script,
        );
        if ok {
            assert!(r.errors.is_empty());
            let ClientEvent::Ready { tls, .. } = &r.ready[0] else {
                panic!()
            };
            assert!(!tls.verified);
        } else {
            assert!(matches!(
                &r.errors[..],
                [Error::Policy(PolicyViolation::NotVerified { .. })]
            ));
            assert!(!r.wire().contains("MAIL"));
        }
    }
}

#[test]
fn response_injection_after_the_starttls_reply() {
    // The 220 and a forged EHLO reply arrive together, before any handshake.
    let r = crun(
        opts(),
        TransportSecurity::Plain,
        &[
            GREET,
            EHLO_TLS,
            b"220 Go ahead\r\n250-evil\r\n250 AUTH PLAIN\r\n",
        ],
        one(env("<a@example.org>", &["<b@example.com>"]), b"x"),
    );
    assert_eq!(r.starttls, 0);
    assert_eq!(
        r.errors,
        [Error::Peer(PeerMisbehaved::PlaintextAfterStartTlsReply {
            discarded: 26
        })]
    );
    assert!(r.closed);
}

#[test]
fn starttls_refused() {
    for (policy, goes_on) in [(TlsPolicy::May, true), (TlsPolicy::Encrypt, false)] {
        let mut o = opts();
        o.tls_policy = policy;
        let r = crun(
            o,
            TransportSecurity::Plain,
            &[
                GREET,
                EHLO_TLS,
                b"454 4.7.0 TLS not available\r\n",
                b"250 Ok\r\n250 Ok\r\n354 Go\r\n",
                b"250 Ok\r\n",
                b"221 Bye\r\n",
            ],
            one(env("<a@example.org>", &["<b@example.com>"]), b"x"),
        );
        assert_eq!(r.wire().contains("MAIL"), goes_on);
        if !goes_on {
            assert!(matches!(
                &r.errors[..],
                [Error::Policy(PolicyViolation::StartTlsRefused { .. })]
            ));
        }
    }
}

fn auth_opts(auth: ClientAuth) -> smtp_proto::client::ClientOptions {
    let mut o = opts();
    o.auth = Some(auth);
    o
}

const EHLO_AUTH: &[u8] = b"250-mx.example.com\r\n250 AUTH PLAIN LOGIN XOAUTH2\r\n";

#[test]
fn auth_plain_login_xoauth2() {
    let plain = ClientAuth::Plain {
        authzid: None,
        username: "alice".into(),
        password: Secret::new("secret".into()),
    };
    let r = crun(
        auth_opts(plain),
        TransportSecurity::ImplicitTls(TlsInfo::new("TLSv1.3", "TLS_AES_128_GCM_SHA256").unwrap()),
        &[GREET, EHLO_AUTH, b"235 2.7.0 Ok\r\n", b"221 Bye\r\n"],
        Script {
            messages: vec![],
            verified: true,
        },
    );
    assert_eq!(
        r.lines(),
        [
            "EHLO client.example",
            "AUTH PLAIN AGFsaWNlAHNlY3JldA==",
            "QUIT"
        ]
    );
    let login = ClientAuth::Login {
        username: "alice".into(),
        password: Secret::new("secret".into()),
    };
    let r = crun(
        auth_opts(login),
        TransportSecurity::ImplicitTls(TlsInfo::new("TLSv1.3", "TLS_AES_128_GCM_SHA256").unwrap()),
        &[
            GREET,
            EHLO_AUTH,
            b"334 VXNlcm5hbWU6\r\n",
            b"334 UGFzc3dvcmQ6\r\n",
            b"235 2.7.0 Ok\r\n",
            b"221 Bye\r\n",
        ],
        Script {
            messages: vec![],
            verified: true,
        },
    );
    assert_eq!(
        r.lines(),
        [
            "EHLO client.example",
            "AUTH LOGIN",
            "YWxpY2U=",
            "c2VjcmV0",
            "QUIT"
        ]
    );
    let xo = ClientAuth::XOAuth2 {
        username: "a@example.com".into(),
        token: Secret::new("tok".into()),
    };
    let r = crun(
        auth_opts(xo),
        TransportSecurity::ImplicitTls(TlsInfo::new("TLSv1.3", "TLS_AES_128_GCM_SHA256").unwrap()),
        &[
            GREET,
            EHLO_AUTH,
            b"334 eyJzdGF0dXMiOiI0MDEifQ==\r\n",
            b"535 5.7.8 Bad token\r\n",
            b"221 Bye\r\n",
        ],
        Script {
            messages: vec![],
            verified: true,
        },
    );
    assert_eq!(r.lines()[2], "");
    assert!(matches!(
        &r.errors[..],
        [Error::Rejected { stage: "AUTH", .. }]
    ));
    assert!(
        format!(
            "{:?}",
            auth_opts(ClientAuth::XOAuth2 {
                username: "u".into(),
                token: Secret::new("tok".into())
            })
        )
        .contains("Secret(..)")
    );
}

#[test]
fn auth_is_refused_before_tls() {
    let mut o = auth_opts(ClientAuth::Plain {
        authzid: None,
        username: "alice".into(),
        password: Secret::new("secret".into()),
    });
    o.tls_policy = TlsPolicy::May;
    let r = crun(
        o,
        TransportSecurity::Plain,
        &[GREET, EHLO_AUTH, b"221 Bye\r\n"],
        Script {
            messages: vec![],
            verified: true,
        },
    );
    assert_eq!(r.lines(), ["EHLO client.example", "QUIT"]);
    assert!(matches!(
        &r.errors[..],
        [Error::Policy(PolicyViolation::AuthWithoutTls { .. })]
    ));
}

#[test]
fn envelope_checks_against_the_server() {
    let mut big = env("<a@example.org>", &["<b@example.com>"]);
    big.params.size = Some(5000);
    let r = crun(
        plain_opts(),
        TransportSecurity::Plain,
        &[GREET, EHLO_PIPE, b"221 Bye\r\n"],
        one(big, b"x"),
    );
    assert!(matches!(
        &r.errors[..],
        [Error::Policy(PolicyViolation::TooBig {
            size: 5000,
            max: 1000,
            ..
        })]
    ));
    let utf8 = env("<a@example.org>", &["<пользователь@пример.рф>"]);
    let r = crun(
        plain_opts(),
        TransportSecurity::Plain,
        &[GREET, EHLO_PIPE, b"221 Bye\r\n"],
        one(utf8, b"x"),
    );
    assert!(matches!(
        &r.errors[..],
        [Error::Policy(PolicyViolation::MissingExtension {
            extension: "SMTPUTF8",
            ..
        })]
    ));
    let mut eight = env("<a@example.org>", &["<b@example.com>"]);
    eight.eight_bit = true;
    let r = crun(
        plain_opts(),
        TransportSecurity::Plain,
        &[
            GREET,
            EHLO_PIPE,
            b"250 Ok\r\n250 Ok\r\n354 Go\r\n",
            b"250 Ok\r\n",
            b"221 Bye\r\n",
        ],
        one(eight, "é\n".as_bytes()),
    );
    assert!(
        r.wire()
            .contains("MAIL FROM:<a@example.org> BODY=8BITMIME\r\n"),
        "{}",
        r.wire()
    );
}

#[test]
fn bdat_when_chunking_is_offered_and_chosen() {
    let mut o = plain_opts();
    o.chunking = true;
    let r = crun(
        o,
        TransportSecurity::Plain,
        &[
            GREET,
            b"250-mx\r\n250-PIPELINING\r\n250 CHUNKING\r\n",
            b"250 Ok\r\n250 Ok\r\n",
            b"250 2.0.0 6 octets\r\n250 2.0.0 Queued\r\n",
            b"221 Bye\r\n",
        ],
        one(env("<a@example.org>", &["<b@example.com>"]), b"a\n.b\n"),
    );
    assert!(
        r.wire()
            .ends_with("RCPT TO:<b@example.com>\r\nBDAT 7\r\na\r\n.b\r\nBDAT 0 LAST\r\nQUIT\r\n"),
        "{}",
        r.wire()
    );
    assert!(r.results[0].delivered());
}

#[test]
fn lmtp_one_reply_per_recipient() {
    let mut o = plain_opts();
    o.lmtp = true;
    let r = crun(
        o,
        TransportSecurity::Plain,
        &[
            GREET,
            b"250-mx\r\n250 PIPELINING\r\n",
            b"250 Ok\r\n250 Ok\r\n250 Ok\r\n354 Go\r\n",
            b"250 2.0.0 Delivered\r\n452 4.2.2 Mailbox full\r\n",
            b"221 Bye\r\n",
        ],
        one(
            env("<a@example.org>", &["<b@example.com>", "<c@example.com>"]),
            b"x",
        ),
    );
    assert_eq!(r.lines()[0], "LHLO client.example");
    let per: Vec<u16> = r.results[0]
        .per_recipient()
        .iter()
        .map(|(_, rep)| rep.unwrap().code().get())
        .collect();
    assert_eq!(per, [250, 452]);
}

#[test]
fn body_encoding_never_lets_a_bare_ending_out() {
    let r = crun(
        plain_opts(),
        TransportSecurity::Plain,
        &[
            GREET,
            EHLO_PIPE,
            b"250 Ok\r\n250 Ok\r\n354 Go\r\n",
            b"250 Ok\r\n",
            b"221 Bye\r\n",
        ],
        one(
            env("<a@example.org>", &["<b@example.com>"]),
            b"a\nb\r.c\n.\nd\r",
        ),
    );
    assert!(
        r.wire()
            .contains("DATA\r\na\r\nb\r\n..c\r\n..\r\nd\r\n.\r\nQUIT"),
        "{}",
        r.wire()
    );
}

#[test]
fn policy_map_precedence() {
    let mut m = PolicyMap::new(TlsPolicy::May);
    m.insert(
        DomainPattern::parse("example.com").unwrap(),
        TlsPolicy::Verify,
    );
    m.insert(
        DomainPattern::parse(".example.com").unwrap(),
        TlsPolicy::Encrypt,
    );
    m.insert(
        DomainPattern::parse("*.mail.example.com").unwrap(),
        TlsPolicy::None,
    );
    m.insert(DomainPattern::parse("*.no").unwrap(), TlsPolicy::Encrypt);
    m.insert(DomainPattern::parse(".no").unwrap(), TlsPolicy::Verify);
    let name = |d: &str| m.lookup(d).0.name();
    assert_eq!(name("example.com"), "verify");
    assert_eq!(name("EXAMPLE.COM."), "verify");
    assert_eq!(name("a.example.com"), "encrypt");
    assert_eq!(name("a.b.example.com"), "encrypt");
    assert_eq!(name("x.mail.example.com"), "none");
    assert_eq!(name("y.x.mail.example.com"), "encrypt");
    assert_eq!(name("notexample.com"), "may");
    assert_eq!(name("uio.no"), "encrypt");
    assert_eq!(name("mail.uio.no"), "verify");
    assert_eq!(name("no"), "may");
    assert_eq!(m.lookup("other.org").1, None);
    assert_eq!(
        m.lookup("a.example.com").1.unwrap().to_string(),
        ".example.com"
    );
    assert!(DomainPattern::parse("").is_none() && DomainPattern::parse("*.").is_none());
}

#[test]
fn dane_levels() {
    let usable = Tlsa {
        usage: 2,
        selector: 0,
        matching: 1,
        data: vec![1; 32],
    };
    let pkix = Tlsa {
        usage: 1,
        selector: 0,
        matching: 1,
        data: vec![1; 32],
    };
    let d = |records| {
        decide(
            &TlsPolicy::Dane { records },
            true,
            "mx.example.com",
            "example.com",
        )
    };
    assert_eq!(
        d(vec![usable.clone(), pkix.clone()]),
        Ok(TlsAction::StartTls(Verification::Dane {
            records: vec![usable]
        }))
    );
    assert_eq!(
        d(vec![pkix.clone()]),
        Ok(TlsAction::StartTls(Verification::None))
    );
    assert!(
        decide(
            &TlsPolicy::Dane {
                records: vec![pkix]
            },
            false,
            "mx",
            "d"
        )
        .is_err()
    );
    assert_eq!(
        decide(&TlsPolicy::Verify, true, "mx.example.com", "example.com"),
        Ok(TlsAction::StartTls(Verification::Chain {
            names: vec!["mx.example.com".into()]
        }))
    );
}

/// The body is pulled one piece at a time: a large message never sits in the
/// session's buffers.
#[test]
fn the_body_streams_one_piece_at_a_time() {
    use smtp_proto::client::{ClientSession, Envelope};
    let mut c = ClientSession::new(plain_opts(), TransportSecurity::Plain);
    let mut server: &[&[u8]] = &[
        GREET,
        EHLO_PIPE,
        b"250 Ok\r\n250 Ok\r\n354 Go\r\n",
        b"250 Ok\r\n",
        b"221 Bye\r\n",
    ];
    let piece = vec![b'x'; 8192];
    let (mut pieces_left, mut max_transmit, mut total) = (1000, 0, 0);
    loop {
        match c.poll().unwrap() {
            Output::Transmit(b) => {
                max_transmit = max_transmit.max(b.len());
                total += b.len();
            }
            Output::Event(ClientEvent::Ready { .. }) => c
                .send(Envelope::new("<a@example.org>", ["<b@example.com>"]).unwrap())
                .unwrap(),
            Output::Event(ClientEvent::SendBody) if pieces_left > 0 => {
                pieces_left -= 1;
                c.body(&piece).unwrap();
            }
            Output::Event(ClientEvent::SendBody) => c.end_body().unwrap(),
            Output::Event(ClientEvent::Done(r)) => {
                assert!(r.delivered());
                c.quit().unwrap();
            }
            Output::Event(_) => {}
            Output::NeedInput => {
                let (first, rest) = server.split_first().expect("more server input");
                c.feed(first);
                server = rest;
            }
            Output::StartTls(_) => unreachable!(),
            Output::Close => break,
        }
    }
    assert!(total > 8_000_000);
    assert!(max_transmit <= 8192 + 16, "{max_transmit}");
}
