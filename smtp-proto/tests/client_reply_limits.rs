//! Reply limits of the client: lines up to 4,096 octets by default (RFC 5321
//! §4.5.3.1.5 asks for 512 at least; real EHLO replies with long AUTH lists go past
//! it), a bounded number of lines per reply, and a typed error beyond either.

mod client_support;

use client_support::*;
use smtp_proto::client::policy::TlsPolicy;
use smtp_proto::client::{ClientEvent, ClientOptions};
use smtp_proto::*;

const GREET: &[u8] = b"220 mx.example.com ESMTP\r\n";

/// `250 AUTH PLAIN LOGIN M0001 …` up to `len` octets with its CRLF, and the names.
fn auth_line(len: usize) -> (Vec<u8>, Vec<String>) {
    let mut line = b"250 AUTH PLAIN LOGIN".to_vec();
    let mut names = vec!["PLAIN".to_owned(), "LOGIN".to_owned()];
    let mut i = 0;
    while line.len() + 2 + 7 <= len {
        let name = format!("M{i:05}");
        line.push(b' ');
        line.extend_from_slice(name.as_bytes());
        names.push(name);
        i += 1;
    }
    // Pad the last name to reach the exact length.
    while line.len() + 2 < len {
        line.push(b'X');
        if let Some(last) = names.last_mut() {
            last.push('X');
        }
    }
    line.extend_from_slice(b"\r\n");
    assert_eq!(line.len(), len);
    (line, names)
}

fn plain() -> ClientOptions {
    let mut o = opts();
    o.tls_policy = TlsPolicy::None;
    o
}

fn ehlo(o: ClientOptions, reply: &[u8]) -> (Sess, Stop) {
    let mut s = Sess::new(o);
    assert!(matches!(s.step(), Stop::NeedInput));
    assert!(matches!(s.reply(GREET), Stop::NeedInput));
    let reply = [b"250-mx.example.com\r\n".as_slice(), reply].concat();
    let stop = s.reply(&reply);
    (s, stop)
}

fn too_long(limit: usize) -> impl Fn(&Error) -> bool {
    move |e| {
        matches!(e, Error::Peer(PeerMisbehaved::InvalidReply(p))
            if *p.kind() == ParseErrorKind::LineTooLong { limit })
    }
}

#[test]
fn the_client_default_is_4096_and_the_shared_rfc_limits_stay() {
    assert_eq!(ClientOptions::DEFAULT_LIMITS.reply_line, 4096);
    assert_eq!(plain().limits, ClientOptions::DEFAULT_LIMITS);
    assert_eq!(Limits::RFC.reply_line, 512);
    assert_eq!(
        ClientOptions::DEFAULT_LIMITS.reply_lines,
        Limits::RFC.reply_lines
    );
}

#[test]
fn a_3000_octet_ehlo_line_is_accepted_and_its_mechanisms_parsed() {
    let (line, names) = auth_line(3000);
    let (s, stop) = ehlo(plain(), &line);
    let Stop::Event(ClientEvent::Ready { capabilities, .. }) = stop else {
        panic!("{stop:?} {:?}", s.errors);
    };
    let caps = capabilities.unwrap();
    let got: Vec<String> = caps
        .auth_mechanisms()
        .map(|m| m.as_str().to_owned())
        .collect();
    assert_eq!(got, names);
    assert!(names.len() > 300);
}

#[test]
fn a_line_of_exactly_4096_octets_passes_and_4097_does_not() {
    let (line, _) = auth_line(4096);
    let (_, stop) = ehlo(plain(), &line);
    assert!(
        matches!(stop, Stop::Event(ClientEvent::Ready { .. })),
        "{stop:?}"
    );
    let (line, _) = auth_line(4097);
    let (mut s, _) = ehlo(plain(), &line);
    assert!(s.failed_with(too_long(4096)), "{:?}", s.errors);
}

#[test]
fn a_5000_octet_line_is_a_typed_error_and_nothing_more_is_sent() {
    let (line, _) = auth_line(5000);
    let (mut s, _) = ehlo(plain(), &line);
    assert!(s.failed_with(too_long(4096)), "{:?}", s.errors);
    assert_eq!(s.wire(), "EHLO client.example\r\n");
    // Found before the line ends: the first 4,097 octets are enough.
    let (mut s, _) = ehlo(plain(), &line[..4097]);
    assert!(s.failed_with(too_long(4096)), "{:?}", s.errors);
}

#[test]
fn a_caller_can_ask_for_the_rfc_minimum() {
    let mut o = plain();
    o.limits = Limits::RFC;
    let (line, _) = auth_line(600);
    let (mut s, _) = ehlo(o, &line);
    assert!(s.failed_with(too_long(512)), "{:?}", s.errors);
}

#[test]
fn a_reply_of_10000_lines_is_refused_after_the_line_limit() {
    let mut reply = Vec::new();
    for i in 0..10_000 {
        reply.extend_from_slice(format!("250-LINE{i}\r\n").as_bytes());
    }
    reply.extend_from_slice(b"250 END\r\n");
    let too_many = |e: &Error| {
        matches!(e, Error::Peer(PeerMisbehaved::InvalidReply(p))
            if *p.kind() == ParseErrorKind::TooManyReplyLines { limit: 128 })
    };
    // All at once, and in small reads (the session stops reading at the limit).
    let (mut s, _) = ehlo(plain(), &reply);
    assert!(s.failed_with(too_many), "{:?}", s.errors);
    let mut s = Sess::new(plain());
    assert!(matches!(s.step(), Stop::NeedInput));
    assert!(matches!(s.reply(GREET), Stop::NeedInput));
    let mut reads = 0;
    for piece in reply.chunks(100) {
        reads += 1;
        if matches!(s.reply(piece), Stop::Closed) {
            break;
        }
    }
    assert!(reads < 30, "{reads}");
    assert!(
        matches!(&s.errors[..], [e] if too_many(e)),
        "{:?}",
        s.errors
    );
    assert_eq!(s.wire(), "EHLO client.example\r\n");
}
