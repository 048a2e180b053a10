//! Server session transcripts: client bytes in, exact server replies out, for every rule
//! of RFC 5321, 2920, 3207, 3030, 4954, 2033 the session enforces.

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

const MSG: &[u8] =
    b"EHLO c.example\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.com>\r\nDATA\r\n";

#[test]
fn greeting_and_ehlo_capabilities() {
    let r = run(opts(), &[b"EHLO client.example.org\r\nQUIT\r\n"]);
    assert_eq!(
        r.lines(),
        [
            "220 mx.example.com ESMTP",
            "250-mx.example.com",
            "250-PIPELINING",
            "250-SIZE 10240000",
            "250-LIMITS RCPTMAX=1000",
            "250-8BITMIME",
            "250-SMTPUTF8",
            "250-STARTTLS",
            "250-ENHANCEDSTATUSCODES",
            "250 CHUNKING",
            "221 2.0.0 Bye",
        ]
    );
    assert_eq!(
        r.events,
        [Ev::Hello(HelloVerb::Ehlo, "client.example.org".into())]
    );
    assert!(r.closed && r.errors.is_empty());
}

#[test]
fn helo_gets_no_extensions_and_esmtp_commands_are_refused() {
    let r = run(
        opts(),
        &[b"HELO c\r\nMAIL FROM:<a@b.example> SIZE=10\r\nAUTH PLAIN\r\nBDAT 6\r\nQUIT\r\nMAIL FROM:<a@b.example>\r\nQUIT\r\n"],
    );
    assert_eq!(
        r.replies(),
        [
            "250 mx.example.com",
            "555 5.5.4 Error: MAIL FROM/RCPT TO parameter not recognized or not implemented",
            "502 5.5.1 Error: command not implemented",
            "503 5.5.1 Error: send EHLO first",
            "250 2.1.0 Ok",
            "221 2.0.0 Bye",
        ]
    );
}

#[test]
fn a_whole_message_with_dot_unstuffing() {
    let body = b"Subject: t\r\n\r\n..leading dot\r\n.\r\n";
    let mut input = MSG.to_vec();
    input.extend_from_slice(body);
    input.extend_from_slice(b"QUIT\r\n");
    let r = run(opts(), &[&input]);
    assert_eq!(
        r.replies(),
        [
            "250 CHUNKING",
            "250 2.1.0 Ok",
            "250 2.1.5 Ok",
            "354 End data with <CR><LF>.<CR><LF>",
            "250 2.0.0 Ok: queued",
            "221 2.0.0 Bye"
        ]
    );
    assert_eq!(r.body(), b"Subject: t\r\n\r\n.leading dot\r\n");
    assert_eq!(
        r.events,
        [
            Ev::Hello(HelloVerb::Ehlo, "c.example".into()),
            Ev::Mail("<a@example.org>".into()),
            Ev::Rcpt("<b@example.com>".into()),
            Ev::Data,
            Ev::Body(b"Subject: t\r\n\r\n.leading dot\r\n".to_vec()),
            Ev::MessageEnd,
        ]
    );
}

#[test]
fn empty_message() {
    let mut input = MSG.to_vec();
    input.extend_from_slice(b".\r\nQUIT\r\n");
    let r = run(opts(), &[&input]);
    assert_eq!(r.body(), b"");
    assert!(r.events.contains(&Ev::MessageEnd));
}

#[test]
fn pipelined_replies_go_out_together_and_before_354() {
    let r = run(
        opts(),
        &[
            b"EHLO c\r\n",
            b"MAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example>\r\nRCPT TO:<e@f.example>\r\nDATA\r\n",
            b"x\r\n.\r\nQUIT\r\n",
        ],
    );
    let t: Vec<String> = r
        .transmits
        .iter()
        .map(|t| String::from_utf8_lossy(t).into_owned())
        .collect();
    assert_eq!(t.len(), 4, "{t:?}");
    assert_eq!(
        t[2],
        "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n250 2.1.5 Ok\r\n354 End data with <CR><LF>.<CR><LF>\r\n"
    );
    assert_eq!(t[3], "250 2.0.0 Ok: queued\r\n221 2.0.0 Bye\r\n");
}

#[test]
fn out_of_sequence_commands() {
    let r = run(
        opts(),
        &[b"MAIL FROM:<a@b.example>\r\nEHLO c\r\nRCPT TO:<a@b.example>\r\nDATA\r\nMAIL FROM:<a@b.example>\r\nDATA\r\nMAIL FROM:<x@b.example>\r\nQUIT\r\n"],
    );
    assert_eq!(
        r.replies(),
        [
            "503 5.5.1 Error: send HELO/EHLO first",
            "250 CHUNKING",
            "503 5.5.1 Error: need MAIL command",
            "503 5.5.1 Error: need MAIL command",
            "250 2.1.0 Ok",
            "503 5.5.1 Error: need RCPT command",
            "503 5.5.1 Error: nested MAIL command",
            "221 2.0.0 Bye",
        ]
    );
}

#[test]
fn data_with_every_recipient_rejected_is_554() {
    let r = run_with(
        opts(),
        TransportSecurity::Plain,
        &[b"EHLO c\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<x@y.example>\r\nDATA\r\nQUIT\r\n"],
        |ev| match ev {
            ServerEvent::Rcpt { .. } => Decision::Reject(reply(550, (5, 1, 1), "No such user")),
            _ => Decision::Accept,
        },
    );
    assert_eq!(
        r.replies(),
        [
            "250 CHUNKING",
            "250 2.1.0 Ok",
            "550 5.1.1 No such user",
            "554 5.5.1 Error: no valid recipients",
            "221 2.0.0 Bye"
        ]
    );
    assert!(!r.events.contains(&Ev::Data));
}

#[test]
fn rset_and_a_new_ehlo_reset_the_transaction() {
    let r = run(
        opts(),
        &[b"EHLO c\r\nMAIL FROM:<a@b.example>\r\nRSET\r\nRCPT TO:<x@y.example>\r\nMAIL FROM:<a@b.example>\r\nEHLO c\r\nRCPT TO:<x@y.example>\r\nRSET\r\nNOOP\r\nQUIT\r\n"],
    );
    assert_eq!(
        r.replies(),
        [
            "250 CHUNKING",
            "250 2.1.0 Ok",
            "250 2.0.0 Ok",
            "503 5.5.1 Error: need MAIL command",
            "250 2.1.0 Ok",
            "250 CHUNKING",
            "503 5.5.1 Error: need MAIL command",
            "250 2.0.0 Ok",
            "250 2.0.0 Ok",
            "221 2.0.0 Bye"
        ]
    );
    assert_eq!(r.events.iter().filter(|e| **e == Ev::Reset).count(), 2);
}

#[test]
fn unknown_commands_syntax_errors_and_the_error_limit() {
    // MAIL before a greeting is refused for its sequence before its syntax is looked at.
    let r = run(opts(), &[b"TURN\r\nEHLO\r\nMAIL FROM:a@b\r\nNOOP\r\n"]);
    assert_eq!(
        r.replies(),
        [
            "500 5.5.2 Command not recognized",
            "501 5.5.4 Syntax error in parameters or arguments",
            "503 5.5.1 Error: send HELO/EHLO first",
            "250 2.0.0 Ok"
        ]
    );
    let mut o = opts();
    o.max_errors = 3;
    let r = run(o, &[b"A\r\nB\r\nC\r\nNOOP\r\n"]);
    assert_eq!(
        r.replies(),
        [
            "500 5.5.2 Command not recognized",
            "500 5.5.2 Command not recognized",
            "500 5.5.2 Command not recognized",
            "421 4.7.0 mx.example.com Error: too many errors"
        ]
    );
    assert_eq!(
        r.errors,
        [Error::Peer(PeerMisbehaved::TooManyErrors { count: 3 })]
    );
    assert!(r.closed);
}

#[test]
fn bare_lf_on_a_command_line_is_refused_and_stays_in_sync() {
    // One line up to the CRLF, one rejection: the NOOP after the bare LF never runs.
    let r = run(opts(), &[b"NOOP\nNOOP\r\nQUIT\r\n"]);
    assert_eq!(
        r.replies(),
        [
            "500 5.5.2 Bare LF received; lines must end with CRLF",
            "221 2.0.0 Bye"
        ]
    );
}

#[test]
fn over_long_command_line() {
    let mut line = b"NOOP ".to_vec();
    line.resize(5000, b'x');
    line.extend_from_slice(b"\r\nNOOP\r\n");
    let r = run(opts(), &[&line]);
    assert_eq!(r.replies(), ["500 5.5.2 Line too long", "250 2.0.0 Ok"]);
}

#[test]
fn starttls_then_a_fresh_session() {
    let r = run(
        opts(),
        &[
            b"EHLO c\r\nSTARTTLS\r\n",
            b"MAIL FROM:<a@b.example>\r\nEHLO c\r\nSTARTTLS\r\nQUIT\r\n",
        ],
    );
    let lines = r.lines();
    assert!(lines.contains(&"250-STARTTLS".to_owned()));
    let after: Vec<&String> = lines
        .iter()
        .skip_while(|l| *l != "220 2.0.0 Ready to start TLS")
        .collect();
    assert_eq!(
        after,
        [
            "220 2.0.0 Ready to start TLS",
            "503 5.5.1 Error: send HELO/EHLO first",
            "250-mx.example.com",
            "250-PIPELINING",
            "250-SIZE 10240000",
            "250-LIMITS RCPTMAX=1000",
            "250-8BITMIME",
            "250-SMTPUTF8",
            "250-ENHANCEDSTATUSCODES",
            "250 CHUNKING",
            "554 5.5.1 Error: TLS already active",
            "221 2.0.0 Bye",
        ]
    );
    assert!(r.events.contains(&Ev::StartTls));
    assert!(r.errors.is_empty());
}

#[test]
fn plaintext_pipelined_after_starttls_is_never_interpreted() {
    // CVE-2011-0411: the injected MAIL must not be obeyed after the handshake.
    let inject: &[u8] = b"EHLO c\r\nSTARTTLS\r\nMAIL FROM:<evil@x.example>\r\n";
    let r = run(opts(), &[inject]);
    assert!(!r.events.iter().any(|e| matches!(e, Ev::Mail(_))));
    assert!(!r.events.contains(&Ev::StartTls));
    assert_eq!(
        r.replies(),
        [
            "250 CHUNKING",
            "554 5.5.1 Error: commands pipelined after STARTTLS; closing"
        ]
    );
    assert_eq!(
        r.errors,
        [Error::Peer(PeerMisbehaved::PlaintextAfterStartTls {
            discarded: 28
        })]
    );
    assert!(r.closed);
    // Even a single byte counts.
    let r = run(opts(), &[b"EHLO c\r\nSTARTTLS\r\n\r"]);
    assert_eq!(
        r.errors,
        [Error::Peer(PeerMisbehaved::PlaintextAfterStartTls {
            discarded: 1
        })]
    );
}

#[test]
fn plaintext_fed_after_the_token_before_the_handshake_ends_the_session() {
    let mut s = ServerSession::new(opts(), TransportSecurity::Plain);
    assert!(matches!(s.poll(), Ok(Output::Transmit(_))));
    assert!(matches!(s.poll(), Ok(Output::NeedInput)));
    s.feed(b"EHLO c\r\n");
    assert!(matches!(s.poll(), Ok(Output::Event(_))));
    s.accept().unwrap();
    assert!(matches!(s.poll(), Ok(Output::Transmit(_))));
    assert!(matches!(s.poll(), Ok(Output::NeedInput)));
    s.feed(b"STARTTLS\r\n");
    let Ok(Output::Transmit(b)) = s.poll() else {
        panic!()
    };
    assert_eq!(&b[..], b"220 2.0.0 Ready to start TLS\r\n");
    let Ok(Output::StartTls(token)) = s.poll() else {
        panic!()
    };
    s.feed(b"MAIL FROM:<evil@x.example>\r\n");
    assert_eq!(
        s.tls_established(token, tls_info()),
        Err(Error::Peer(PeerMisbehaved::PlaintextAfterStartTls {
            discarded: 28
        }))
    );
    assert!(matches!(s.poll(), Ok(Output::Close)));
    assert!(s.tls().is_none());
}

#[test]
fn starttls_refusals() {
    let r = run(opts(), &[b"EHLO c\r\nSTARTTLS now\r\nSTARTTLS\r\nQUIT\r\n"]);
    assert_eq!(
        r.replies(),
        [
            "250 CHUNKING",
            "501 5.5.4 Syntax error in parameters or arguments",
            "554 5.5.1 Error: commands pipelined after STARTTLS; closing",
        ]
    );
    let mut o = opts();
    o.starttls = false;
    let r = run(o, &[b"EHLO c\r\nSTARTTLS\r\nQUIT\r\n"]);
    assert!(!r.lines().contains(&"250-STARTTLS".to_owned()));
    assert_eq!(r.replies()[1], "502 5.5.1 Error: command not implemented");
    let r = run_with(
        opts(),
        TransportSecurity::ImplicitTls(tls_info()),
        &[b"EHLO c\r\nSTARTTLS\r\nQUIT\r\n"],
        accept_all,
    );
    assert!(!r.lines().contains(&"250-STARTTLS".to_owned()));
    assert_eq!(r.replies()[1], "554 5.5.1 Error: TLS already active");
}

#[test]
fn require_tls_and_require_auth() {
    let mut o = opts();
    o.require_tls = true;
    let r = run(
        o,
        &[b"EHLO c\r\nMAIL FROM:<a@b.example>\r\nVRFY a\r\nNOOP\r\nQUIT\r\n"],
    );
    assert_eq!(
        r.replies(),
        [
            "250 CHUNKING",
            "530 5.7.0 Must issue a STARTTLS command first",
            "530 5.7.0 Must issue a STARTTLS command first",
            "250 2.0.0 Ok",
            "221 2.0.0 Bye"
        ]
    );
    let mut o = opts();
    o.require_auth = true;
    let r = run(o, &[b"EHLO c\r\nMAIL FROM:<a@b.example>\r\nQUIT\r\n"]);
    assert_eq!(r.replies()[1], "530 5.7.0 Authentication required");
}

/// Each SMTP smuggling end-of-data variant (CVE-2023-51764 class) is content, never the
/// end; the message is refused after the real end and the smuggled commands are not run.
#[test]
fn smuggling_variants_never_end_the_message() {
    for fake in [
        &b"\n.\n"[..],
        b"\n.\r\n",
        b"\r.\r",
        b"\r\n.\n",
        b"\r.\r\n",
        b"\r\n.\r",
    ] {
        let mut input = MSG.to_vec();
        input.extend_from_slice(b"Subject: hi\r\n\r\nbody");
        input.extend_from_slice(fake);
        input.extend_from_slice(b"MAIL FROM:<smuggled@x.example>\r\nRCPT TO:<v@y.example>\r\nDATA\r\nforged\r\n.\r\nNOOP\r\nQUIT\r\n");
        let r = run(opts(), &[&input]);
        let what = String::from_utf8_lossy(fake);
        assert!(
            !r.events.contains(&Ev::MessageEnd),
            "{what:?}: message accepted"
        );
        assert_eq!(
            r.events.iter().filter(|e| matches!(e, Ev::Mail(_))).count(),
            1,
            "{what:?}"
        );
        let replies = r.replies();
        assert_eq!(replies.len(), 7, "{what:?} {replies:?}");
        assert!(
            replies[4].starts_with("550 5.5.2 Error: bare <"),
            "{what:?} {replies:?}"
        );
        assert_eq!(replies[5], "250 2.0.0 Ok", "{what:?}");
        assert!(
            r.events
                .iter()
                .any(|e| matches!(e, Ev::Aborted(AbortReason::BareLf | AbortReason::BareCr)))
        );
    }
}

#[test]
fn bare_line_endings_can_be_normalised_but_still_never_end_data() {
    let mut o = opts();
    o.body_line_endings = BareLineEndings::Normalize;
    let mut input = MSG.to_vec();
    input.extend_from_slice(b"a\nb\rc\n.\nd\r\n.\r\nQUIT\r\n");
    let r = run(o, &[&input]);
    assert_eq!(r.body(), b"a\r\nb\r\nc\r\n.\r\nd\r\n");
    assert!(r.events.contains(&Ev::MessageEnd));
    assert_eq!(r.replies()[4], "250 2.0.0 Ok: queued");
}

#[test]
fn oversize_messages_are_drained_and_refused() {
    let mut o = opts();
    o.max_message_size = 10;
    let mut input = MSG.to_vec();
    input.extend_from_slice(b"0123456789\r\nmore\r\n.\r\nMAIL FROM:<a@b.example> SIZE=11\r\nMAIL FROM:<a@b.example> SIZE=10\r\nQUIT\r\n");
    let r = run(o, &[&input]);
    assert_eq!(
        &r.replies()[4..],
        [
            "552 5.3.4 Message size exceeds fixed maximum message size",
            "552 5.3.4 Message size exceeds fixed maximum message size",
            "250 2.1.0 Ok",
            "221 2.0.0 Bye"
        ]
    );
    assert!(r.events.contains(&Ev::Aborted(AbortReason::TooBig)));
    assert!(r.body().len() <= 10);
}

#[test]
fn too_many_recipients() {
    let mut o = opts();
    o.max_recipients = 2;
    let r = run(
        o,
        &[b"EHLO c\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<1@b.example>\r\nRCPT TO:<2@b.example>\r\nRCPT TO:<3@b.example>\r\nQUIT\r\n"],
    );
    assert_eq!(r.replies()[4], "452 4.5.3 Error: too many recipients");
}

#[test]
fn params_must_have_been_advertised() {
    let mut o = opts();
    o.eight_bit_mime = false;
    o.smtputf8 = false;
    let r = run(
        o,
        &[b"EHLO c\r\nMAIL FROM:<a@b.example> BODY=8BITMIME\r\nMAIL FROM:<a@b.example> SMTPUTF8\r\nMAIL FROM:<a@b.example> RET=FULL\r\nMAIL FROM:<a@b.example> X-FOO=1\r\nMAIL FROM:<a@b.example> BODY=7BIT SIZE=100\r\nRCPT TO:<c@d.example> NOTIFY=NEVER\r\nQUIT\r\n"],
    );
    let not = "555 5.5.4 Error: MAIL FROM/RCPT TO parameter not recognized or not implemented";
    assert_eq!(
        &r.replies()[1..],
        [not, not, not, not, "250 2.1.0 Ok", not, "221 2.0.0 Bye"]
    );
    let mut o = opts();
    o.dsn = true;
    let r = run(
        o,
        &[b"EHLO c\r\nMAIL FROM:<a@b.example> RET=HDRS ENVID=x\r\nRCPT TO:<c@d.example> NOTIFY=SUCCESS ORCPT=rfc822;c@d.example\r\nQUIT\r\n"],
    );
    assert_eq!(&r.replies()[1..3], ["250 2.1.0 Ok", "250 2.1.5 Ok"]);
}

#[test]
fn smtputf8_transactions_take_utf8_recipients() {
    let r = run(
        opts(),
        &["EHLO c\r\nMAIL FROM:<a@b.example> SMTPUTF8\r\nRCPT TO:<пользователь@пример.рф>\r\nRSET\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<пользователь@пример.рф>\r\nQUIT\r\n".as_bytes()],
    );
    assert_eq!(
        &r.replies()[1..],
        [
            "250 2.1.0 Ok",
            "250 2.1.5 Ok",
            "250 2.0.0 Ok",
            "250 2.1.0 Ok",
            "553 5.6.7 Non-ASCII recipient address requires SMTPUTF8",
            "221 2.0.0 Bye"
        ]
    );
}

#[test]
fn decisions_with_custom_replies_and_421() {
    let r = run_with(
        opts(),
        TransportSecurity::Plain,
        &[b"EHLO c\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example>\r\nDATA\r\nx\r\n.\r\nMAIL FROM:<a@b.example>\r\nNOOP\r\n"],
        |ev| match ev {
            ServerEvent::MessageEnd { .. } => Decision::AcceptWith(reply(250, (2, 0, 0), "Ok: queued as 4F2A")),
            ServerEvent::Mail { .. } => Decision::Accept,
            _ => Decision::Accept,
        },
    );
    assert_eq!(r.replies()[4], "250 2.0.0 Ok: queued as 4F2A");
    let r = run_with(
        opts(),
        TransportSecurity::Plain,
        &[b"EHLO c\r\nMAIL FROM:<a@b.example>\r\nNOOP\r\n"],
        |ev| match ev {
            ServerEvent::Mail { .. } => Decision::Reject(reply(421, (4, 7, 0), "Go away")),
            _ => Decision::Accept,
        },
    );
    assert_eq!(&r.replies()[1..], ["421 4.7.0 Go away"]);
    assert!(r.closed);
}

#[test]
fn misuse_is_reported_and_leaves_the_session_intact() {
    let mut s = ServerSession::new(opts(), TransportSecurity::Plain);
    assert_eq!(s.accept(), Err(ApiMisuse::NoDecisionPending));
    let _ = s.poll();
    let _ = s.poll();
    s.feed(b"EHLO c\r\n");
    assert!(matches!(
        s.poll(),
        Ok(Output::Event(ServerEvent::Hello { .. }))
    ));
    assert_eq!(
        s.poll().unwrap_err(),
        Error::Misuse(ApiMisuse::DecisionPending)
    );
    assert_eq!(
        s.reject(Reply::with_text(250, None, ["no"]).unwrap()),
        Err(ApiMisuse::ReplyClass {
            code: 250,
            expected: "4xx or 5xx"
        })
    );
    assert_eq!(s.challenge(b"x"), Err(ApiMisuse::WrongEvent));
    assert_eq!(
        s.accept_with(Reply::with_text(250, None, ["hi"]).unwrap()),
        Err(ApiMisuse::WrongEvent)
    );
    s.accept().unwrap();
    assert!(matches!(s.poll(), Ok(Output::Transmit(_))));
}

#[test]
fn eof_in_the_middle_of_a_message() {
    let mut input = MSG.to_vec();
    input.extend_from_slice(b"partial body");
    let r = run(opts(), &[&input]);
    assert_eq!(
        r.events.last(),
        Some(&Ev::Aborted(AbortReason::ConnectionClosed))
    );
    assert!(!r.events.contains(&Ev::MessageEnd));
    assert!(r.closed);
}

#[test]
fn timeouts_follow_the_state() {
    let mut s = ServerSession::new(opts(), TransportSecurity::Plain);
    assert_eq!(s.timeout(), Timeout::ServerCommand);
    assert_eq!(Timeout::ServerCommand.duration().as_secs(), 300);
    s.feed(MSG);
    loop {
        match s.poll().unwrap() {
            Output::Event(ServerEvent::Data) => {
                s.accept().unwrap();
                break;
            }
            Output::Event(_) => s.accept().unwrap(),
            _ => {}
        }
    }
    assert_eq!(s.timeout(), Timeout::DataBlock);
    s.feed(b".\r\n");
    loop {
        if let Output::Event(ServerEvent::MessageEnd { .. }) = s.poll().unwrap() {
            break;
        }
    }
    assert_eq!(s.timeout(), Timeout::DataTermination);
    assert_eq!(Timeout::DataTermination.duration().as_secs(), 600);
}

#[test]
fn received_header() {
    let mut s = ServerSession::new(opts(), TransportSecurity::ImplicitTls(tls_info()));
    s.feed(b"EHLO client.example.org\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.com>\r\nDATA\r\n");
    loop {
        match s.poll().unwrap() {
            Output::Event(ServerEvent::Data) => break,
            Output::Event(_) => s.accept().unwrap(),
            _ => {}
        }
    }
    let mut rec = s.received();
    rec.peer_addr = Some("192.0.2.1".parse().unwrap());
    rec.peer_name = Some(Domain::new("client.example.org").unwrap());
    rec.id = Some(Word::new("4F2A").unwrap());
    assert_eq!(
        rec.to_header("Thu, 03 Dec 2026 07:40:00 +0000").unwrap(),
        "Received: from client.example.org (client.example.org [192.0.2.1])\r\n\
         \tby mx.example.com with ESMTPS id 4F2A\r\n\
         \t(using TLSv1.3 with cipher TLS_AES_128_GCM_SHA256)\r\n\
         \tfor <b@example.com>\r\n\
         \ttls TLS_AES_128_GCM_SHA256;\r\n\
         \tThu, 03 Dec 2026 07:40:00 +0000\r\n"
    );
    assert!(rec.to_header("bad\r\ndate").is_err());
    let p = |lmtp, esmtp, utf8, tls, auth| {
        Protocol {
            lmtp,
            esmtp,
            utf8,
            tls,
            auth,
        }
        .name()
    };
    assert_eq!(p(false, false, false, false, false), "SMTP");
    assert_eq!(p(false, true, false, false, false), "ESMTP");
    assert_eq!(p(false, true, false, true, true), "ESMTPSA");
    assert_eq!(p(false, true, false, false, true), "ESMTPA");
    assert_eq!(p(true, true, false, true, false), "LMTPS");
    assert_eq!(p(false, true, true, true, false), "UTF8SMTPS");
}

#[test]
fn received_header_with_only_an_address_literal() {
    let mut r = Received::new(
        Domain::new("mx.example.com").unwrap(),
        Protocol {
            lmtp: false,
            esmtp: false,
            utf8: false,
            tls: false,
            auth: false,
        },
    );
    r.helo = Some(Host::new("[192.0.2.7]").unwrap());
    let h = r.to_header("Thu, 03 Dec 2026 07:40:00 +0000").unwrap();
    assert!(
        h.starts_with("Received: from [192.0.2.7] ([192.0.2.7])\r\n\tby mx.example.com with SMTP;"),
        "{h}"
    );
}

#[test]
fn events_come_in_order_reset_before_hello_and_body_before_end() {
    let mut o = opts();
    o.body_line_endings = BareLineEndings::Normalize;
    let r = run(
        o,
        &[b"EHLO c\r\nMAIL FROM:<a@b.example>\r\nEHLO c\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example>\r\nBDAT 3 LAST\r\nab\rQUIT\r\n"],
    );
    assert_eq!(
        &r.events[1..4],
        [
            Ev::Mail("<a@b.example>".into()),
            Ev::Reset,
            Ev::Hello(HelloVerb::Ehlo, "c".into())
        ]
    );
    assert_eq!(
        &r.events[6..],
        [Ev::Body(b"ab\r\n".to_vec()), Ev::MessageEnd]
    );
}

#[test]
fn starttls_needs_ehlo() {
    let r = run(opts(), &[b"STARTTLS\r\nHELO c\r\nSTARTTLS\r\nQUIT\r\n"]);
    assert_eq!(
        r.replies(),
        [
            "503 5.5.1 Error: send HELO/EHLO first",
            "250 mx.example.com",
            "503 5.5.1 Error: send EHLO first",
            "221 2.0.0 Bye"
        ]
    );
}

#[test]
fn a_data_line_ending_in_bare_lf_cannot_start_the_end_marker() {
    // Only with LineEndings::AllowBareLf can "DATA\n" be read at all; "<LF>.<CRLF>"
    // must still not end the message.
    let mut o = opts();
    o.command_line_endings = LineEndings::AllowBareLf;
    let r = run(
        o,
        &[b"EHLO c\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example>\r\nDATA\n.\r\nNOOP\r\n.\r\nQUIT\r\n"],
    );
    assert_eq!(r.body(), b".\r\nNOOP\r\n");
    assert_eq!(r.replies()[4], "250 2.0.0 Ok: queued");
}

#[test]
fn debug_never_shows_buffered_input() {
    let mut o = opts();
    o.auth_mechanisms = vec![Mechanism::LOGIN];
    let mut s = ServerSession::new(o, TransportSecurity::ImplicitTls(tls_info()));
    s.feed(b"EHLO c\r\nAUTH LOGIN\r\nYWxpY2U=\r\nc2VjcmV0\r\n");
    let _ = s.poll();
    let _ = s.poll();
    let shown = format!("{s:?}");
    assert!(
        !shown.contains("c2VjcmV0") && !shown.contains("YWxpY2U"),
        "{shown}"
    );
}

#[test]
fn a_failed_or_abandoned_handshake_closes() {
    for fail in [true, false] {
        let mut s = ServerSession::new(opts(), TransportSecurity::Plain);
        s.feed(b"EHLO c\r\n");
        loop {
            match s.poll().unwrap() {
                Output::Event(_) => s.accept().unwrap(),
                Output::NeedInput => break,
                _ => {}
            }
        }
        s.feed(b"STARTTLS\r\n");
        let token = loop {
            if let Output::StartTls(t) = s.poll().unwrap() {
                break t;
            }
        };
        if fail {
            s.tls_failed(token);
        } else {
            let _unused = token;
            assert_eq!(
                s.poll().unwrap_err(),
                Error::Misuse(ApiMisuse::HandshakePending)
            );
            s.feed_eof();
        }
        assert!(matches!(s.poll(), Ok(Output::Close)));
    }
}

#[test]
fn quit_in_the_middle_of_a_transaction_resets_it() {
    let r = run(
        opts(),
        &[b"EHLO c\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example>\r\nBDAT 3\r\nabcQUIT\r\n"],
    );
    assert_eq!(&r.events[3..], [Ev::Body(b"abc".to_vec()), Ev::Reset]);
}

#[test]
fn timeout_durations_for_the_binding() {
    let s = ServerSession::new(opts(), TransportSecurity::Plain);
    assert_eq!(s.timeout_duration().as_secs(), 300);
}

#[test]
fn smtputf8_is_offered_only_with_8bitmime() {
    let mut o = opts();
    o.eight_bit_mime = false;
    let r = run(
        o,
        &[b"EHLO c\r\nMAIL FROM:<a@b.example> SMTPUTF8\r\nQUIT\r\n"],
    );
    assert!(
        !r.lines()
            .iter()
            .any(|l| l.contains("SMTPUTF8") && l.starts_with("250"))
    );
    assert!(r.replies()[1].starts_with("555 5.5.4"));
}

#[test]
fn no_for_clause_for_postmaster_and_lmtp_auth_needs_lhlo() {
    let mut s = ServerSession::new(opts(), TransportSecurity::Plain);
    s.feed(b"EHLO c\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<Postmaster>\r\nDATA\r\n");
    loop {
        match s.poll().unwrap() {
            Output::Event(ServerEvent::Data) => break,
            Output::Event(_) => s.accept().unwrap(),
            _ => {}
        }
    }
    let h = s
        .received()
        .to_header("Thu, 03 Dec 2026 07:40:00 +0000")
        .unwrap();
    assert!(!h.contains("for "), "{h}");
    let mut o = opts();
    o.auth_mechanisms = vec![Mechanism::PLAIN];
    o.lmtp = true;
    let r = run(o, &[b"AUTH PLAIN\r\nQUIT\r\n"]);
    assert_eq!(r.replies()[0], "503 5.5.1 Error: send LHLO first");
}
