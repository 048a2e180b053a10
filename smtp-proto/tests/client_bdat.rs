//! The client's BDAT (RFC 3030) with PIPELINING: the envelope and every chunk go out
//! before any reply, one round trip a message; the last piece carries `LAST`; a refused
//! envelope stops the body and RSET clears the transaction. Without PIPELINING, each
//! chunk waits for the reply to the one before, however the body is given.

mod client_support;

use client_support::*;
use smtp_proto::client::policy::TlsPolicy;
use smtp_proto::client::{ClientEvent, ClientOptions};

const GREET: &[u8] = b"220 mx.example.com ESMTP\r\n";
const EHLO: &[u8] = b"250-mx.example.com\r\n250-PIPELINING\r\n250 CHUNKING\r\n";

fn chunking() -> ClientOptions {
    let mut o = opts();
    o.tls_policy = TlsPolicy::None;
    o.chunking = true;
    o
}

/// One recipient; the first piece of the body given (and held back for LAST).
fn first_piece_given() -> Sess {
    let mut s = Sess::new(chunking());
    s.ready(&[GREET, EHLO]);
    s.c.send(env("<a@example.org>", &["<b@example.com>"]))
        .unwrap();
    assert!(matches!(s.step(), Stop::Event(ClientEvent::SendBody)));
    s.c.body(b"first\r\n").unwrap();
    s
}

/// Sends one message of two pieces; returns the session waiting for the replies.
fn sent_whole_message() -> Sess {
    let mut s = Sess::new(chunking());
    s.ready(&[GREET, EHLO]);
    s.c.send(env(
        "<a@example.org>",
        &["<b@example.com>", "<c@example.com>"],
    ))
    .unwrap();
    // RFC 3030 §4.2 (the pipelined example): no reply is needed before the chunks.
    assert!(matches!(s.step(), Stop::Event(ClientEvent::SendBody)));
    s.c.body(b"Subject: x\r\n\r\n").unwrap();
    assert!(matches!(s.step(), Stop::Event(ClientEvent::SendBody)));
    s.c.body(b"hello\r\n").unwrap();
    assert!(matches!(s.step(), Stop::Event(ClientEvent::SendBody)));
    s.c.end_body().unwrap();
    assert!(matches!(s.step(), Stop::NeedInput));
    s
}

#[test]
fn the_envelope_and_every_chunk_go_before_any_reply() {
    let mut s = sent_whole_message();
    // Nothing was fed since the EHLO reply, and the whole message is on the wire: the
    // first piece as a chunk, the held-back last one with LAST.
    let wire = s.wire();
    let tx = &wire[wire.find("MAIL FROM").unwrap()..];
    assert_eq!(
        tx,
        "MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.com>\r\nRCPT TO:<c@example.com>\r\n\
         BDAT 14\r\nSubject: x\r\n\r\nBDAT 7 LAST\r\nhello\r\n"
    );
    let done = s.reply(b"250 Ok\r\n250 Ok\r\n550 5.1.1 No such user\r\n250 Ok\r\n250 Queued\r\n");
    let Stop::Event(ClientEvent::Done(r)) = done else {
        panic!("{done:?} {:?}", s.errors)
    };
    assert!(r.delivered());
    let codes: Vec<u16> = r
        .per_recipient()
        .iter()
        .map(|(_, rep)| rep.unwrap().code().get())
        .collect();
    assert_eq!(codes, [250, 550]);
    assert!(s.errors.is_empty(), "{:?}", s.errors);
}

#[test]
fn every_recipient_refused_stops_the_body_and_resets() {
    let mut s = first_piece_given();
    assert!(matches!(s.step(), Stop::Event(ClientEvent::SendBody)));
    s.c.body(b"second\r\n").unwrap();
    // The first piece went with the envelope; the replies arrive before the next.
    s.c.feed(b"250 Ok\r\n550 5.1.1 No such user\r\n");
    // The server refuses the chunk it read for a transaction without recipients.
    let step = s.reply(b"554 5.5.1 No valid recipients\r\n");
    assert!(matches!(step, Stop::NeedInput), "{step:?} {:?}", s.errors);
    let wire = s.wire();
    assert!(wire.ends_with("BDAT 7\r\nfirst\r\nRSET\r\n"), "{wire}");
    assert!(!wire.contains("second") && !wire.contains("LAST"), "{wire}");
    // No more body is asked for; the RSET reply brings the result.
    let done = s.reply(b"250 Reset\r\n");
    let Stop::Event(ClientEvent::Done(r)) = done else {
        panic!("{done:?} {:?}", s.errors)
    };
    assert!(!r.delivered());
    assert!(s.errors.is_empty(), "{:?}", s.errors);
}

#[test]
fn a_refused_mail_stops_the_body_at_once() {
    let mut s = first_piece_given();
    // The replies are read before the next piece is asked for: nothing of the body
    // has left yet (the first piece is held back for LAST), and nothing will.
    let step = s.reply(b"550 5.7.1 Sender refused\r\n554 5.5.1 No valid recipients\r\n");
    assert!(matches!(step, Stop::NeedInput), "{step:?} {:?}", s.errors);
    let wire = s.wire();
    assert!(!wire.contains("BDAT"), "{wire}");
    assert!(wire.ends_with("RSET\r\n"), "{wire}");
    let done = s.reply(b"250 Reset\r\n");
    let Stop::Event(ClientEvent::Done(r)) = done else {
        panic!("{done:?} {:?}", s.errors)
    };
    assert!(!r.delivered());
    assert_eq!(r.mail.as_ref().unwrap().code().get(), 550);
}

/// Found by the `client` fuzz target: without PIPELINING, pieces given one after the
/// other (no poll between them) and `end_body` are taken, not refused with `NotReady`;
/// nothing goes before the previous chunk's reply (RFC 3030 §2), and the pieces given
/// meanwhile go as one chunk, the last with `LAST`.
#[test]
fn without_pipelining_pieces_given_in_a_row_wait_for_each_chunk_reply() {
    let mut s = Sess::new(chunking());
    s.ready(&[GREET, b"250-mx.example.com\r\n250 CHUNKING\r\n"]);
    s.c.send(env("<a@example.org>", &["<b@example.com>"]))
        .unwrap();
    assert!(matches!(s.step(), Stop::NeedInput));
    assert!(matches!(s.reply(b"250 Ok\r\n"), Stop::NeedInput));
    assert!(matches!(
        s.reply(b"250 Ok\r\n"),
        Stop::Event(ClientEvent::SendBody)
    ));
    s.c.body(b"one\r\n").unwrap();
    s.c.body(b"two\r\n").unwrap();
    s.c.body(b"three\r\n").unwrap();
    s.c.end_body().unwrap();
    assert!(s.c.body(b"late\r\n").is_err(), "body after end_body");
    assert!(matches!(s.step(), Stop::NeedInput));
    let wire = s.wire();
    assert!(
        wire.ends_with("RCPT TO:<b@example.com>\r\nBDAT 5\r\none\r\n"),
        "{wire}"
    );
    // The first chunk's reply lets the rest go, with LAST.
    assert!(matches!(
        s.reply(b"250 2.0.0 Chunk ok\r\n"),
        Stop::NeedInput
    ));
    let wire = s.wire();
    assert!(
        wire.ends_with("BDAT 5\r\none\r\nBDAT 12 LAST\r\ntwo\r\nthree\r\n"),
        "{wire}"
    );
    let done = s.reply(b"250 2.0.0 Queued\r\n");
    let Stop::Event(ClientEvent::Done(r)) = done else {
        panic!("{done:?} {:?}", s.errors)
    };
    assert!(r.delivered());
    assert!(s.errors.is_empty(), "{:?}", s.errors);
}

/// The same, with the chunk refused: nothing more of the body goes, RSET follows.
#[test]
fn without_pipelining_a_refused_chunk_drops_the_pieces_held_behind_it() {
    let mut s = Sess::new(chunking());
    s.ready(&[GREET, b"250-mx.example.com\r\n250 CHUNKING\r\n"]);
    s.c.send(env("<a@example.org>", &["<b@example.com>"]))
        .unwrap();
    s.step();
    s.reply(b"250 Ok\r\n");
    assert!(matches!(
        s.reply(b"250 Ok\r\n"),
        Stop::Event(ClientEvent::SendBody)
    ));
    s.c.body(b"one\r\n").unwrap();
    s.c.body(b"two\r\n").unwrap();
    s.c.end_body().unwrap();
    assert!(matches!(s.step(), Stop::NeedInput));
    assert!(matches!(s.reply(b"552 5.3.4 Too big\r\n"), Stop::NeedInput));
    let wire = s.wire();
    assert!(wire.ends_with("BDAT 5\r\none\r\nRSET\r\n"), "{wire}");
    let done = s.reply(b"250 Reset\r\n");
    let Stop::Event(ClientEvent::Done(r)) = done else {
        panic!("{done:?} {:?}", s.errors)
    };
    assert!(!r.delivered());
    assert_eq!(r.refused.as_ref().unwrap().code().get(), 552);
}
