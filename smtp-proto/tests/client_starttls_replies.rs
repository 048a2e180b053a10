//! The reply to STARTTLS, by class and TLS policy (RFC 3207 §4): `220` starts the
//! handshake; a `4yz`/`5yz` refuses TLS (plaintext goes on only under `may`); any other
//! positive reply is a protocol violation under every policy: never plaintext after it,
//! nothing more sent.

mod client_support;

use client_support::*;
use smtp_proto::client::ClientEvent;
use smtp_proto::client::policy::*;
use smtp_proto::*;

const GREET: &[u8] = b"220 mx.example.com ESMTP\r\n";
const EHLO_TLS: &[u8] = b"250-mx.example.com\r\n250-PIPELINING\r\n250 STARTTLS\r\n";
const EHLO_AFTER: &[u8] = b"250-mx.example.com\r\n250 PIPELINING\r\n";

fn policies() -> Vec<TlsPolicy> {
    let tlsa = Tlsa {
        usage: 3,
        selector: 1,
        matching: 1,
        data: vec![0; 32],
    };
    vec![
        TlsPolicy::May,
        TlsPolicy::Encrypt,
        TlsPolicy::Verify,
        TlsPolicy::Secure { names: vec![] },
        TlsPolicy::Dane {
            records: vec![tlsa],
        },
    ]
}

/// A session under `policy` that has sent STARTTLS and waits for its reply.
fn at_starttls(policy: &TlsPolicy) -> Sess {
    let mut o = opts();
    o.tls_policy = policy.clone();
    let mut s = Sess::new(o);
    assert!(matches!(s.step(), Stop::NeedInput));
    assert!(matches!(s.reply(GREET), Stop::NeedInput));
    assert!(matches!(s.reply(EHLO_TLS), Stop::NeedInput));
    assert!(s.wire().ends_with("STARTTLS\r\n"), "{}", s.wire());
    s
}

#[test]
fn a_220_starts_the_handshake_under_every_policy() {
    for policy in policies() {
        let mut s = at_starttls(&policy);
        // The handshake succeeds (verified; DANE's certificate check is the
        // binding's) and EHLO is sent again over TLS.
        assert!(matches!(s.reply(b"220 2.0.0 Ready\r\n"), Stop::NeedInput));
        assert!(s.c.tls().is_some(), "{policy:?}");
        assert!(s.wire().ends_with("STARTTLS\r\nEHLO client.example\r\n"));
        let ev = s.reply(EHLO_AFTER);
        assert!(
            matches!(ev, Stop::Event(ClientEvent::Ready { .. })),
            "{policy:?} {ev:?}"
        );
    }
}

#[test]
fn a_refusal_goes_on_in_plaintext_only_under_may() {
    for code in [454u16, 450, 451, 500, 501, 502, 503, 554] {
        for policy in policies() {
            let mut s = at_starttls(&policy);
            let refusal = format!("{code} 4.7.0 TLS not available\r\n");
            let ev = s.reply(refusal.as_bytes());
            if policy == TlsPolicy::May {
                assert!(
                    matches!(&ev, Stop::Event(ClientEvent::Ready { tls, .. }) if tls.tls.is_none()),
                    "{code}: {ev:?}"
                );
                assert!(s.errors.is_empty());
            } else {
                // QUIT, then the policy error.
                assert!(matches!(ev, Stop::NeedInput), "{code} {policy:?}: {ev:?}");
                assert!(s.wire().ends_with("STARTTLS\r\nQUIT\r\n"), "{}", s.wire());
                assert!(matches!(s.reply(b"221 Bye\r\n"), Stop::Closed));
                assert!(
                    matches!(
                        &s.errors[..],
                        [Error::Policy(PolicyViolation::StartTlsRefused { .. })]
                    ),
                    "{code} {policy:?}: {:?}",
                    s.errors
                );
            }
            assert!(s.c.tls().is_none());
        }
    }
}

#[test]
fn a_421_to_starttls_ends_the_session_under_every_policy() {
    // RFC 5321 §3.8: the server is closing the channel, whatever it answers.
    for policy in policies() {
        let mut s = at_starttls(&policy);
        assert!(matches!(s.reply(b"421 4.3.2 Bye\r\n"), Stop::Closed));
        assert!(
            matches!(&s.errors[..], [Error::Rejected { .. }]),
            "{:?}",
            s.errors
        );
        assert!(s.wire().ends_with("STARTTLS\r\n"));
    }
}

#[test]
fn any_other_positive_reply_is_a_violation_under_every_policy() {
    for code in [200u16, 221, 250, 251, 252, 235, 300, 334, 354, 355] {
        for policy in policies() {
            let mut s = at_starttls(&policy);
            let reply = format!("{code} Sure\r\n");
            s.c.feed(reply.as_bytes());
            let failed = s.failed_with(|e| {
                matches!(e, Error::Peer(PeerMisbehaved::UnexpectedReply { code: c }) if *c == code)
            });
            assert!(failed, "{code} {policy:?}: {:?}", s.errors);
            // Neither TLS nor plaintext: nothing after STARTTLS, not even QUIT.
            assert!(
                s.wire().ends_with("STARTTLS\r\n"),
                "{code} {policy:?}: {}",
                s.wire()
            );
            assert!(s.c.tls().is_none());
            assert!(
                s.c.send(env("<a@example.org>", &["<b@example.com>"]))
                    .is_err()
            );
        }
    }
}

#[test]
fn the_class_rule_holds_whatever_the_policy_via_the_scripted_runner() {
    // The same through `crun`, with a message to send: it never leaves in plaintext
    // after a positive non-220 reply, even under `may`.
    let r = crun(
        opts(),
        TransportSecurity::Plain,
        &[GREET, EHLO_TLS, b"250 2.0.0 Go ahead\r\n", b"250 Ok\r\n"],
        one(env("<a@example.org>", &["<b@example.com>"]), b"secret"),
    );
    assert_eq!(r.lines(), ["EHLO client.example", "STARTTLS"]);
    assert!(r.results.is_empty());
    assert!(matches!(
        &r.errors[..],
        [Error::Peer(PeerMisbehaved::UnexpectedReply { code: 250 })]
    ));
}
