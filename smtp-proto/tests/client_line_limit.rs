//! No over-long line leaves the client (RFC 5321 §4.5.3.1.6: a text line is at most
//! 1,000 octets with its CRLF, "not counting the leading dot duplicated for
//! transparency"). A body in memory is checked before MAIL; a streamed one is abandoned
//! without its terminator (or `BDAT … LAST`). BINARYMIME content has no lines.

mod client_support;
mod support;

use client_support::*;
use proptest::prelude::*;
use smtp_proto::client::ClientEvent;
use smtp_proto::client::policy::TlsPolicy;
use smtp_proto::framing::stuff::{BareEndingsOut, BodyError};
use smtp_proto::*;
use support::split;

const GREET: &[u8] = b"220 mx.example.com ESMTP\r\n";
const EHLO_PIPE: &[u8] = b"250-mx.example.com\r\n250 PIPELINING\r\n";
const EHLO_BINARY: &[u8] =
    b"250-mx.example.com\r\n250-PIPELINING\r\n250-CHUNKING\r\n250 BINARYMIME\r\n";
const TOO_LONG: Error = Error::Misuse(ApiMisuse::LineTooLong { limit: 1000 });

fn line(prefix: &str, len: usize) -> Vec<u8> {
    let mut l = prefix.as_bytes().to_vec();
    l.resize(len, b'a');
    l
}

/// Encodes `pieces` with the 1000-octet limit: the wire, or the error.
fn encode(stuff: bool, pieces: &[&[u8]]) -> Result<Vec<u8>, BodyError> {
    support::encode_body(stuff, BareEndingsOut::Normalize, 1000, pieces)
}

#[test]
fn exactly_1000_octets_with_crlf_pass_and_1001_fail() {
    let ok = [line("", 998), b"\r\n".to_vec()].concat();
    assert!(encode(true, &[&ok]).is_ok());
    assert!(encode(false, &[&ok]).is_ok());
    let bad = [line("", 999), b"\r\n".to_vec()].concat();
    let err = Err(BodyError::LineTooLong { limit: 1000 });
    assert_eq!(encode(true, &[&bad]), err);
    assert_eq!(encode(false, &[&bad]), err);
    // A last line without CRLF gets one: it counts.
    assert!(encode(true, &[&line("", 998)]).is_ok());
    assert_eq!(encode(true, &[&line("", 999)]), err);
    // Bare LF is sent as CRLF: the same line length.
    assert!(encode(true, &[&[line("", 998), b"\n".to_vec()].concat()]).is_ok());
    assert_eq!(
        encode(true, &[&[line("", 999), b"\n".to_vec()].concat()]),
        err
    );
}

#[test]
fn the_stuffed_dot_does_not_count() {
    // 998 octets starting with a dot: 1000 with CRLF, 1001 on the wire with the doubled
    // dot, which RFC 5321 §4.5.3.1.6 does not count.
    let dot = [line(".", 998), b"\r\n".to_vec()].concat();
    let wire = encode(true, &[&dot]).unwrap();
    assert_eq!(wire.iter().position(|&b| b == b'\r'), Some(999));
    assert!(encode(false, &[&dot]).is_ok());
    // One more is too long, stuffed or not.
    let dot = [line(".", 999), b"\r\n".to_vec()].concat();
    for stuff in [true, false] {
        assert_eq!(
            encode(stuff, &[&dot]),
            Err(BodyError::LineTooLong { limit: 1000 })
        );
    }
}

#[test]
fn lines_are_counted_across_pieces_whatever_the_split() {
    let body = [
        b"Subject: x\r\n\r\n".to_vec(),
        line("", 998),
        b"\r\n".to_vec(),
        line(".", 997),
        b"\n".to_vec(),
        line("", 999),
        b"\r\nend\r\n".to_vec(),
    ]
    .concat();
    let fits: Vec<u8> = body[..body.len() - 1010].to_vec();
    for stuff in [true, false] {
        let whole_bad = encode(stuff, &[&body]);
        let whole_ok = encode(stuff, &[&fits]).unwrap();
        assert_eq!(whole_bad, Err(BodyError::LineTooLong { limit: 1000 }));
        for at in 0..=body.len() {
            assert_eq!(
                encode(stuff, &[&body[..at], &body[at..]]),
                whole_bad,
                "{at}"
            );
        }
        for at in 0..=fits.len() {
            assert_eq!(
                encode(stuff, &[&fits[..at], &fits[at..]]).unwrap(),
                whole_ok
            );
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn the_verdict_does_not_depend_on_chunking(
        lines in proptest::collection::vec((990usize..1003, any::<bool>(), any::<bool>()), 1..5),
        cuts in proptest::collection::vec(any::<usize>(), 0..8),
        stuff in any::<bool>(),
    ) {
        let mut body = Vec::new();
        let mut longest = 0;
        for (len, dot, lf) in &lines {
            let content = line(if *dot { "." } else { "" }, *len - 2);
            longest = longest.max(content.len() + 2);
            body.extend_from_slice(&content);
            body.extend_from_slice(if *lf { b"\n" } else { b"\r\n" });
        }
        let whole = encode(stuff, &[&body]);
        prop_assert_eq!(whole.is_ok(), longest <= 1000);
        prop_assert_eq!(encode(stuff, &split(&body, &cuts)), whole);
    }
}

fn session(ehlo: &[u8], chunking: bool) -> Sess {
    let mut o = opts();
    o.tls_policy = TlsPolicy::None;
    o.chunking = chunking;
    let mut s = Sess::new(o);
    s.ready(&[GREET, ehlo]);
    s
}

#[test]
fn a_body_in_memory_is_refused_before_mail() {
    let s = session(EHLO_PIPE, false);
    let e = env("<a@example.org>", &["<b@example.com>"]);
    let body = [b"ok\r\n".to_vec(), line("", 1200), b"\r\n".to_vec()].concat();
    assert_eq!(s.c.check_body(&e, &body), Err(TOO_LONG));
    assert_eq!(s.wire(), "EHLO client.example\r\n", "no MAIL");
    assert!(s.c.is_idle(), "the session is unchanged");
    assert!(s.c.check_body(&e, &line("", 998)).is_ok());
}

#[test]
fn a_streamed_over_long_line_abandons_the_message_without_its_terminator() {
    let mut s = session(EHLO_PIPE, false);
    s.c.send(env("<a@example.org>", &["<b@example.com>"]))
        .unwrap();
    assert!(matches!(s.step(), Stop::NeedInput));
    let ev = s.reply(b"250 Ok\r\n250 Ok\r\n354 Go\r\n");
    assert!(matches!(ev, Stop::Event(ClientEvent::SendBody)));
    s.c.body(&line("", 600)).unwrap();
    assert!(matches!(s.step(), Stop::Event(ClientEvent::SendBody)));
    // The same line goes on past the limit in the next piece.
    assert_eq!(s.c.body(&line("", 401)), Err(TOO_LONG));
    assert!(s.c.end_body().is_err(), "no terminator after the error");
    assert!(matches!(s.step(), Stop::Closed));
    assert!(s.errors.is_empty());
    let wire = s.wire();
    assert!(wire.ends_with(&String::from_utf8(line("", 600)).unwrap()));
    assert!(!wire.contains("\r\n.\r\n"));
}

#[test]
fn a_streamed_over_long_line_in_bdat_never_sends_last() {
    let mut s = session(EHLO_BINARY, true);
    s.c.send(env("<a@example.org>", &["<b@example.com>"]))
        .unwrap();
    // PIPELINING: the body follows the envelope without waiting for its replies.
    assert!(matches!(s.step(), Stop::Event(ClientEvent::SendBody)));
    s.c.body(b"fine\r\n").unwrap();
    assert!(matches!(s.step(), Stop::Event(ClientEvent::SendBody)));
    assert_eq!(s.c.body(&line("", 1001)), Err(TOO_LONG));
    assert!(s.c.end_body().is_err());
    assert!(matches!(s.step(), Stop::Closed));
    // The piece held back for LAST never goes out either.
    assert!(!s.wire().contains("BDAT"), "{}", s.wire());
    assert!(!s.wire().contains("LAST"));
}

#[test]
fn binarymime_over_bdat_has_no_line_limit() {
    let mut s = session(EHLO_BINARY, true);
    let mut e = env("<a@example.org>", &["<b@example.com>"]);
    e.params.body = Some(Body::BinaryMime);
    let body = [line("", 5000), b"\r\n".to_vec()].concat();
    assert!(s.c.check_body(&e, &body).is_ok());
    s.c.send(e).unwrap();
    assert!(matches!(s.step(), Stop::Event(ClientEvent::SendBody)));
    s.c.body(&body).unwrap();
    assert!(matches!(s.step(), Stop::Event(ClientEvent::SendBody)));
    s.c.end_body().unwrap();
    assert!(matches!(s.step(), Stop::NeedInput));
    assert!(s.wire().contains("BDAT 5002 LAST\r\n"), "{}", s.wire());
    assert!(s.wire().as_bytes().ends_with(&body));
    assert!(s.errors.is_empty());
}

#[test]
fn bdat_without_binarymime_keeps_the_limit() {
    let s = session(EHLO_BINARY, true);
    let mut e = env("<a@example.org>", &["<b@example.com>"]);
    e.params.body = Some(Body::EightBitMime);
    let body = [line("", 1001), b"\r\n".to_vec()].concat();
    assert!(matches!(
        s.c.check_body(&e, &body),
        Err(Error::Misuse(ApiMisuse::LineTooLong { limit: 1000 }))
    ));
}
