//! Client session transcripts for TLS: STARTTLS under each policy, stripping,
//! response injection, implicit TLS, certificate verification, DANE, the policy map.

mod client_support;

use client_support::*;
use smtp_proto::client::ClientEvent;
use smtp_proto::client::policy::*;
use smtp_proto::*;

const GREET: &[u8] = b"220 mx.example.com ESMTP\r\n";
const EHLO_PIPE: &[u8] =
    b"250-mx.example.com\r\n250-PIPELINING\r\n250-8BITMIME\r\n250 SIZE 1000\r\n";
const EHLO_TLS: &[u8] = b"250-mx.example.com\r\n250-PIPELINING\r\n250-STARTTLS\r\n250 8BITMIME\r\n";

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

#[test]
fn policy_map_precedence() {
    let mut m = PolicyMap::new();
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
    m.insert(DomainPattern::parse("uio.no").unwrap(), TlsPolicy::Verify);
    // No rule: the caller's default (here `may`).
    let name = |d: &str| m.lookup(d).map_or("may", |(p, _)| p.name());
    assert_eq!(name("example.com"), "verify");
    assert_eq!(name("EXAMPLE.COM."), "verify");
    assert_eq!(name("a.example.com"), "encrypt");
    assert_eq!(name("a.b.example.com"), "encrypt");
    assert_eq!(name("mail.example.com"), "encrypt");
    assert_eq!(name("x.mail.example.com"), "none");
    assert_eq!(name("y.x.mail.example.com"), "none");
    assert_eq!(name("notexample.com"), "may");
    assert_eq!(name("example.no"), "encrypt");
    assert_eq!(name("mx.example.no"), "encrypt");
    assert_eq!(name("uio.no"), "verify");
    assert_eq!(name("mail.uio.no"), "encrypt");
    assert_eq!(name("no"), "may");
    assert_eq!(m.lookup("other.org"), None);
    assert_eq!(
        m.lookup("a.example.com").unwrap().1.to_string(),
        ".example.com"
    );
    // `*.x` and `.x` are one pattern: the later insert replaces the earlier.
    let mut m = m.clone();
    m.insert(DomainPattern::parse(".no").unwrap(), TlsPolicy::Verify);
    assert_eq!(m.lookup("example.no").unwrap().0.name(), "verify");
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
            records: vec![usable],
            names: vec!["mx.example.com".into(), "example.com".into()],
        }))
    );
    assert!(matches!(
        decide(&TlsPolicy::DaneLookupFailed, true, "mx", "d"),
        Err(PolicyViolation::TlsaLookupFailed { .. })
    ));
    assert_eq!(
        decide(
            &TlsPolicy::Secure { names: vec![] },
            true,
            "mx.example.com",
            "example.com"
        ),
        Ok(TlsAction::StartTls(Verification::Chain {
            names: vec!["example.com".into(), ".example.com".into()]
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

#[test]
fn plaintext_fed_while_the_handshake_is_pending_is_injection() {
    use smtp_proto::client::ClientSession;
    let mut c = ClientSession::new(opts(), TransportSecurity::Plain);
    // Each reply only once its command is out (earlier, it would be unsolicited).
    let mut server: &[&[u8]] = &[GREET, EHLO_TLS, b"220 Go\r\n"];
    let token = loop {
        match c.poll().unwrap() {
            Output::StartTls(t) => break t,
            Output::Transmit(_) => {}
            Output::NeedInput => {
                let (first, rest) = server.split_first().unwrap();
                c.feed(first);
                server = rest;
            }
            other => panic!("{other:?}"),
        }
    };
    c.feed(b"250-evil\r\n250 AUTH PLAIN\r\n");
    let info = TlsInfo::new("TLSv1.3", "TLS_AES_128_GCM_SHA256").unwrap();
    assert_eq!(
        c.tls_established(token, info),
        Err(Error::Peer(PeerMisbehaved::PlaintextAfterStartTlsReply {
            discarded: 26
        }))
    );
    assert!(matches!(c.poll(), Ok(Output::Close)));
}

#[test]
fn implicit_tls_is_judged_by_the_policy_too() {
    let mut o = opts();
    o.tls_policy = TlsPolicy::Verify;
    let r = crun(o, implicit(), &[GREET], no_mail(false));
    assert!(matches!(
        &r.errors[..],
        [Error::Policy(PolicyViolation::NotVerified { .. })]
    ));
    assert!(r.wire.is_empty());
}
