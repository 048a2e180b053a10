//! `ClientSession::noop`: the check a pool makes before it uses a connection kept
//! idle (RFC 5321 §4.1.1.9). Its reply comes as an event; a `421` ends the session
//! (RFC 5321 §3.8); no transaction starts while it is awaited.

mod client_support;

use client_support::*;
use smtp_proto::client::ClientEvent;
use smtp_proto::client::policy::TlsPolicy;
use smtp_proto::{ApiMisuse, Error, Stage};

const GREET: &[u8] = b"220 mx.example.com ESMTP\r\n";
const EHLO: &[u8] = b"250-mx.example.com\r\n250 PIPELINING\r\n";

fn ready() -> Sess {
    let mut o = opts();
    o.tls_policy = TlsPolicy::None;
    let mut s = Sess::new(o);
    s.ready(&[GREET, EHLO]);
    s
}

#[test]
fn noop_is_answered_and_the_session_stays_idle() {
    let mut s = ready();
    s.c.noop().unwrap();
    assert!(!s.c.is_idle());
    // No transaction while the NOOP is awaited, and no second NOOP.
    let e = s.c.send(env("<a@example.org>", &["<b@example.com>"]));
    assert!(
        matches!(e, Err(Error::Misuse(ApiMisuse::NotReady))),
        "{e:?}"
    );
    assert!(s.c.noop().is_err());
    assert!(matches!(s.step(), Stop::NeedInput));
    assert!(
        s.wire().ends_with("EHLO client.example\r\nNOOP\r\n"),
        "{}",
        s.wire()
    );
    let step = s.reply(b"250 2.0.0 Ok\r\n");
    let Stop::Event(ClientEvent::Noop(reply)) = step else {
        panic!("{step:?} {:?}", s.errors)
    };
    assert_eq!(reply.code().get(), 250);
    assert!(s.c.is_idle());
    s.c.send(env("<a@example.org>", &["<b@example.com>"]))
        .unwrap();
    assert!(matches!(s.step(), Stop::NeedInput));
    assert!(
        s.wire()
            .ends_with("NOOP\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.com>\r\nDATA\r\n"),
        "{}",
        s.wire()
    );
}

#[test]
fn a_421_to_noop_ends_the_session() {
    let mut s = ready();
    s.c.noop().unwrap();
    s.step();
    let step = s.reply(b"421 4.4.2 mx.example.com Idle too long, closing\r\n");
    assert!(matches!(step, Stop::Closed), "{step:?}");
    assert!(
        matches!(
            s.errors.as_slice(),
            [Error::Rejected {
                stage: Stage::Closing,
                ..
            }]
        ),
        "{:?}",
        s.errors
    );
}

#[test]
fn noop_is_refused_outside_idle() {
    let mut s = ready();
    s.c.send(env("<a@example.org>", &["<b@example.com>"]))
        .unwrap();
    assert!(matches!(
        s.c.noop(),
        Err(Error::Misuse(ApiMisuse::NotReady))
    ));
}
