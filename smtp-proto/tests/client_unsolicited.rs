//! Replies nobody asked for (RFC 5321 §4.2, RFC 2920 §3.1: each reply answers one
//! command, in order): bytes that arrive while no reply is awaited end the session
//! before anything more is sent; a reply code the command cannot get (a `250` to DATA,
//! a `3yz` outside DATA and AUTH) is never taken for success.

mod client_support;

use client_support::*;
use smtp_proto::client::policy::TlsPolicy;
use smtp_proto::client::{ClientEvent, ClientOptions};
use smtp_proto::*;

const GREET: &[u8] = b"220 mx.example.com ESMTP\r\n";
const EHLO_PIPE: &[u8] = b"250-mx.example.com\r\n250-PIPELINING\r\n250 8BITMIME\r\n";
const EHLO_CHUNKING: &[u8] = b"250-mx.example.com\r\n250-PIPELINING\r\n250 CHUNKING\r\n";
const EHLO_PLAIN: &[u8] = b"250 mx.example.com\r\n";

fn plain() -> smtp_proto::client::ClientOptions {
    let mut o = opts();
    o.tls_policy = TlsPolicy::None;
    o
}

fn unsolicited(code: Option<u16>) -> impl Fn(&Error) -> bool {
    move |e| matches!(e, Error::Peer(PeerMisbehaved::UnsolicitedReply { code: c, .. }) if *c == code)
}

fn unexpected(code: u16) -> impl Fn(&Error) -> bool {
    move |e| matches!(e, Error::Peer(PeerMisbehaved::UnexpectedReply { code: c }) if *c == code)
}

/// A pipelining session that has started one transaction and got its 354.
fn streaming() -> Sess {
    let mut s = sent(plain(), EHLO_PIPE);
    let ev = s.reply(b"250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n354 Go\r\n");
    assert!(matches!(ev, Stop::Event(ClientEvent::SendBody)), "{ev:?}");
    s
}

/// A session through the greeting and `ehlo`, with one envelope sent and its commands
/// written.
fn sent(o: ClientOptions, ehlo: &[u8]) -> Sess {
    let mut s = Sess::new(o);
    s.ready(&[GREET, ehlo]);
    s.c.send(env("<a@example.org>", &["<b@example.com>"]))
        .unwrap();
    assert!(matches!(s.step(), Stop::NeedInput));
    s
}

#[test]
fn an_extra_line_with_the_greeting_ends_the_session_before_ehlo() {
    for extra in [
        &b"250 mx.example.com\r\n"[..],
        b"250-mx",
        b"x",
        b"421 4.3.2 Bye\r\n",
    ] {
        let mut s = Sess::new(plain());
        assert!(matches!(s.step(), Stop::NeedInput));
        s.c.feed(&[GREET, extra].concat());
        let code = extra
            .get(..3)
            .and_then(|d| std::str::from_utf8(d).ok()?.parse().ok());
        assert!(s.failed_with(unsolicited(code)), "{:?}", s.errors);
        assert_eq!(s.wire(), "", "nothing may be sent");
    }
}

#[test]
fn bytes_fed_after_the_greeting_but_before_ehlo_went_out_are_unsolicited() {
    // Two reads before the session was polled: the second cannot answer an EHLO that
    // has not been sent.
    let mut s = Sess::new(plain());
    s.c.feed(GREET);
    s.c.feed(EHLO_PIPE);
    assert!(s.failed_with(unsolicited(Some(250))), "{:?}", s.errors);
    assert_eq!(s.wire(), "");
}

#[test]
fn an_extra_reply_after_the_ehlo_reply_ends_the_session() {
    let mut s = Sess::new(plain());
    assert!(matches!(s.step(), Stop::NeedInput));
    assert!(matches!(s.reply(GREET), Stop::NeedInput));
    s.c.feed(&[EHLO_PIPE, b"250 2.1.0 Ok\r\n"].concat());
    // No Ready: the EHLO reply itself is not acted on.
    assert!(s.failed_with(unsolicited(Some(250))), "{:?}", s.errors);
    assert_eq!(s.wire(), "EHLO client.example\r\n");
}

#[test]
fn an_extra_reply_after_the_ehlo_reply_stops_starttls_and_auth_too() {
    let mut s = Sess::new(opts()); // policy may: STARTTLS would follow
    assert!(matches!(s.step(), Stop::NeedInput));
    assert!(matches!(s.reply(GREET), Stop::NeedInput));
    s.c.feed(b"250-mx\r\n250 STARTTLS\r\n220 2.0.0 Ready\r\n");
    assert!(s.failed_with(unsolicited(Some(220))), "{:?}", s.errors);
    assert_eq!(s.wire(), "EHLO client.example\r\n");
}

#[test]
fn a_reply_while_idle_between_transactions_ends_the_session() {
    for extra in [
        &b"250 2.0.0 Ok\r\n"[..],
        b"421 4.3.2 Shutting down\r\n",
        b"25",
    ] {
        let mut s = Sess::new(plain());
        s.ready(&[GREET, EHLO_PIPE]);
        assert!(s.c.is_idle());
        s.c.feed(extra);
        let code = extra
            .get(..3)
            .and_then(|d| std::str::from_utf8(d).ok()?.parse().ok());
        assert!(s.failed_with(unsolicited(code)), "{:?}", s.errors);
        assert!(!s.c.is_idle());
        assert!(
            s.c.send(env("<a@example.org>", &["<b@example.com>"]))
                .is_err()
        );
        assert_eq!(s.wire(), "EHLO client.example\r\n", "no MAIL, no QUIT");
    }
}

#[test]
fn a_reply_after_a_finished_transaction_ends_the_session_before_the_next_mail() {
    let mut s = streaming();
    s.c.body(b"Hi\r\n").unwrap();
    assert!(matches!(s.step(), Stop::Event(ClientEvent::SendBody)));
    s.c.end_body().unwrap();
    assert!(matches!(s.step(), Stop::NeedInput));
    let done = s.reply(b"250 2.0.0 Queued\r\n");
    assert!(
        matches!(&done, Stop::Event(ClientEvent::Done(r)) if r.delivered()),
        "{done:?}"
    );
    // The application starts the next message; the server's extra reply came in
    // before MAIL was handed out.
    s.c.send(env("<a@example.org>", &["<c@example.com>"]))
        .unwrap();
    s.c.feed(b"250 2.1.0 Ok\r\n");
    assert!(s.failed_with(unsolicited(Some(250))), "{:?}", s.errors);
    assert!(s.wire().ends_with("Hi\r\n.\r\n"), "no MAIL: {}", s.wire());
}

#[test]
fn a_reply_while_the_body_is_streamed_never_lets_the_terminator_out() {
    let mut s = streaming();
    s.c.body(b"first part\r\n").unwrap();
    assert!(matches!(s.step(), Stop::Event(ClientEvent::SendBody)));
    // The server "accepts" a message it has not seen the end of.
    s.c.feed(b"250 2.0.0 Queued\r\n");
    assert!(s.failed_with(unsolicited(Some(250))), "{:?}", s.errors);
    assert!(s.c.end_body().is_err());
    assert!(s.c.body(b"more").is_err());
    assert!(s.wire().ends_with("DATA\r\nfirst part\r\n"), "{}", s.wire());
    assert!(!s.wire().contains("\r\n.\r\n"));
}

#[test]
fn a_reply_with_the_354_ends_the_session_before_any_body() {
    let mut s = sent(plain(), EHLO_PIPE);
    s.c.feed(b"250 Ok\r\n250 Ok\r\n354 Go\r\n250 2.0.0 Queued\r\n");
    assert!(s.failed_with(unsolicited(Some(250))), "{:?}", s.errors);
    assert!(s.wire().ends_with("DATA\r\n"), "{}", s.wire());
}

#[test]
fn an_extra_reply_after_the_message_reply_is_not_a_delivery() {
    let mut s = streaming();
    s.c.body(b"Hi\r\n").unwrap();
    assert!(matches!(s.step(), Stop::Event(ClientEvent::SendBody)));
    s.c.end_body().unwrap();
    assert!(matches!(s.step(), Stop::NeedInput));
    // Out of step: which of the two answers the message is unknowable.
    s.c.feed(b"250 2.0.0 Queued\r\n250 2.0.0 Queued again\r\n");
    assert!(s.failed_with(unsolicited(Some(250))), "{:?}", s.errors);
}

#[test]
fn an_early_rcpt_reply_in_lock_step_is_unsolicited() {
    // Without PIPELINING the client sends RCPT only after MAIL's reply: a second reply
    // in the same read answers nothing.
    let mut s = sent(plain(), EHLO_PLAIN);
    s.c.feed(b"250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n");
    assert!(s.failed_with(unsolicited(Some(250))), "{:?}", s.errors);
    assert!(
        s.wire().ends_with("MAIL FROM:<a@example.org>\r\n"),
        "{}",
        s.wire()
    );
}

#[test]
fn more_replies_than_the_pipelined_group_are_unsolicited() {
    let mut s = sent(plain(), EHLO_PIPE);
    // MAIL and RCPT refused, DATA refused, and one more.
    s.c.feed(b"550 No\r\n550 No\r\n554 No\r\n250 Ok\r\n");
    assert!(s.failed_with(unsolicited(Some(250))), "{:?}", s.errors);
    assert!(s.wire().ends_with("DATA\r\n"), "no RSET: {}", s.wire());
}

#[test]
fn a_reply_before_any_bdat_chunk_was_sent_is_unsolicited() {
    let mut o = plain();
    o.chunking = true;
    let mut s = Sess::new(o);
    s.ready(&[GREET, EHLO_CHUNKING]);
    s.c.send(env("<a@example.org>", &["<b@example.com>"]))
        .unwrap();
    // With PIPELINING the body may follow the envelope at once; none is given yet.
    assert!(matches!(s.step(), Stop::Event(ClientEvent::SendBody)));
    // MAIL and RCPT answered, and a "250" for a BDAT the client has not sent.
    s.c.feed(b"250 Ok\r\n250 Ok\r\n250 2.0.0 Queued\r\n");
    assert!(s.failed_with(unsolicited(Some(250))), "{:?}", s.errors);
    assert!(!s.wire().contains("BDAT"), "{}", s.wire());
}

#[test]
fn a_reply_after_bdat_last_is_answered_is_unsolicited() {
    let mut o = plain();
    o.chunking = true;
    let mut s = Sess::new(o);
    s.ready(&[GREET, EHLO_CHUNKING]);
    s.c.send(env("<a@example.org>", &["<b@example.com>"]))
        .unwrap();
    assert!(matches!(s.step(), Stop::Event(ClientEvent::SendBody)));
    s.c.end_body().unwrap();
    assert!(matches!(s.step(), Stop::NeedInput));
    assert!(s.wire().ends_with("BDAT 0 LAST\r\n"));
    s.c.feed(b"250 Ok\r\n250 Ok\r\n250 2.0.0 Queued\r\n250 2.0.0 Queued\r\n");
    assert!(s.failed_with(unsolicited(Some(250))), "{:?}", s.errors);
}

#[test]
fn bytes_after_the_reply_to_quit_are_ignored() {
    let mut s = Sess::new(plain());
    s.ready(&[GREET, EHLO_PIPE]);
    s.c.quit().unwrap();
    assert!(matches!(s.step(), Stop::NeedInput));
    assert!(matches!(s.reply(b"221 Bye\r\n250 stray\r\n"), Stop::Closed));
    assert!(s.errors.is_empty(), "{:?}", s.errors);
}

#[test]
fn a_positive_reply_to_data_other_than_354_is_never_a_delivery() {
    // RFC 5321 §4.3.2: DATA gets 354, or 4yz/5yz. Pipelined and lock-step.
    for code in [200u16, 220, 221, 235, 250, 251, 252, 300, 334, 355, 359] {
        for ehlo in [EHLO_PIPE, EHLO_PLAIN] {
            let mut s = Sess::new(plain());
            s.ready(&[GREET, ehlo]);
            s.c.send(env("<a@example.org>", &["<b@example.com>"]))
                .unwrap();
            let data = format!("{code} 2.0.0 Whatever\r\n");
            let mut events = Vec::new();
            let replies: Vec<Vec<u8>> = if ehlo == EHLO_PIPE {
                vec![format!("250 Ok\r\n250 Ok\r\n{data}").into_bytes()]
            } else {
                vec![
                    b"250 Ok\r\n".to_vec(),
                    b"250 Ok\r\n".to_vec(),
                    data.into_bytes(),
                ]
            };
            assert!(matches!(s.step(), Stop::NeedInput));
            for (i, r) in replies.iter().enumerate() {
                s.c.feed(r);
                if i + 1 < replies.len() {
                    match s.step() {
                        Stop::NeedInput => {}
                        other => events.push(format!("{other:?}")),
                    }
                }
            }
            assert!(s.failed_with(unexpected(code)), "{code}: {:?}", s.errors);
            assert!(events.is_empty(), "{code}: {events:?}");
            assert!(s.wire().ends_with("DATA\r\n"), "{code}: {}", s.wire());
        }
    }
}

#[test]
fn a_refusal_of_data_is_a_refused_transaction_not_a_protocol_error() {
    for code in [451u16, 554] {
        let mut s = Sess::new(plain());
        s.ready(&[GREET, EHLO_PIPE]);
        s.c.send(env("<a@example.org>", &["<b@example.com>"]))
            .unwrap();
        assert!(matches!(s.step(), Stop::NeedInput));
        let data = format!("250 Ok\r\n250 Ok\r\n{code} No\r\n");
        assert!(matches!(s.reply(data.as_bytes()), Stop::NeedInput));
        assert!(s.wire().ends_with("RSET\r\n"));
        let done = s.reply(b"250 Reset\r\n");
        assert!(
            matches!(&done, Stop::Event(ClientEvent::Done(r)) if !r.delivered()),
            "{done:?}"
        );
        assert!(s.errors.is_empty());
    }
}

#[test]
fn an_intermediate_reply_outside_data_and_auth_ends_the_session() {
    // RFC 5321 §4.3.2: MAIL, RCPT and RSET never get 3yz.
    let mut s = sent(plain(), EHLO_PLAIN);
    s.c.feed(b"354 Go on\r\n");
    assert!(s.failed_with(unexpected(354)), "{:?}", s.errors);
    assert!(s.wire().ends_with("MAIL FROM:<a@example.org>\r\n"));

    let mut s = sent(plain(), EHLO_PLAIN);
    assert!(matches!(s.reply(b"250 Ok\r\n"), Stop::NeedInput));
    s.c.feed(b"334 VXNlcm5hbWU6\r\n");
    assert!(s.failed_with(unexpected(334)), "{:?}", s.errors);
    assert!(s.wire().ends_with("RCPT TO:<b@example.com>\r\n"));

    let mut s = Sess::new(plain());
    assert!(matches!(s.step(), Stop::NeedInput));
    assert!(matches!(s.reply(GREET), Stop::NeedInput));
    s.c.feed(b"354 mx.example.com\r\n");
    assert!(s.failed_with(unexpected(354)), "{:?}", s.errors);
}

#[test]
fn the_server_gone_while_the_body_is_ours_is_a_closed_connection() {
    // After the 354 (or with pipelined BDAT) the body is the client's to send and no
    // reply is awaited: an EOF then is an error, never a quiet close.
    for (ehlo, chunking, replies) in [
        (EHLO_PIPE, false, &b"250 Ok\r\n250 Ok\r\n354 Go\r\n"[..]),
        (EHLO_CHUNKING, true, &b"250 Ok\r\n250 Ok\r\n"[..]),
    ] {
        let mut o = plain();
        o.chunking = chunking;
        let mut s = Sess::new(o);
        s.ready(&[GREET, ehlo]);
        s.c.send(env("<a@example.org>", &["<b@example.com>"]))
            .unwrap();
        let _ = s.step();
        let step = s.reply(replies);
        assert!(
            matches!(step, Stop::Event(ClientEvent::SendBody)),
            "{step:?}"
        );
        s.c.feed_eof();
        let closed = |e: &Error| matches!(e, Error::Peer(PeerMisbehaved::ConnectionClosed));
        assert!(s.failed_with(closed), "{:?}", s.errors);
    }
}
