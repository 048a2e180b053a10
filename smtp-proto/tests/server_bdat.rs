//! Server session transcripts for BDAT (RFC 3030) and LMTP (RFC 2033): chunks, refused
//! chunks drained, DATA and BDAT not mixed, replies per recipient.

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

#[test]
fn bdat_chunks_and_last() {
    let r = run(
        opts(),
        &[b"EHLO c\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example>\r\nBDAT 6\r\nQUIT\r\nBDAT 6 LAST\r\n.\r\nx\r\nQUIT\r\n"],
    );
    assert_eq!(
        r.replies(),
        [
            "250 CHUNKING",
            "250 2.1.0 Ok",
            "250 2.1.5 Ok",
            "250 2.0.0 6 octets received",
            "250 2.0.0 Ok: queued",
            "221 2.0.0 Bye"
        ]
    );
    assert_eq!(r.body(), b"QUIT\r\n.\r\nx\r\n");
    let r = run(
        opts(),
        &[b"EHLO c\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example>\r\nBDAT 0 LAST\r\nQUIT\r\n"],
    );
    assert_eq!(r.replies()[3], "250 2.0.0 Ok: queued");
    assert!(r.events.contains(&Ev::MessageEnd));
}

#[test]
fn refused_bdat_chunks_are_still_consumed() {
    // The chunk holds a command: it must be skipped, never run (RFC 3030 §2).
    let r = run(
        opts(),
        &[b"EHLO c\r\nBDAT 28\r\nMAIL FROM:<evil@x.example>\r\nQUIT\r\n"],
    );
    assert_eq!(
        r.replies(),
        [
            "250 CHUNKING",
            "503 5.5.1 Error: need MAIL command",
            "221 2.0.0 Bye"
        ]
    );
    assert!(!r.events.iter().any(|e| matches!(e, Ev::Mail(_))));
    // A BDAT line that cannot be parsed ends the session: its size is unknown.
    let r = run(opts(), &[b"EHLO c\r\nBDAT x\r\nNOOP\r\n"]);
    assert_eq!(r.errors, [Error::Peer(PeerMisbehaved::UnframeableBdat)]);
    assert!(r.closed);
}

#[test]
fn data_and_bdat_do_not_mix_and_binarymime_needs_bdat() {
    let r = run(
        opts(),
        &[b"EHLO c\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example>\r\nBDAT 2\r\nabDATA\r\nRCPT TO:<e@d.example>\r\nRSET\r\nQUIT\r\n"],
    );
    assert_eq!(
        &r.replies()[3..],
        [
            "250 2.0.0 2 octets received",
            "503 5.5.1 Error: BDAT transfer in progress",
            "503 5.5.1 Error: BDAT transfer in progress",
            "250 2.0.0 Ok",
            "221 2.0.0 Bye"
        ]
    );
    let mut o = opts();
    o.binary_mime = true;
    let r = run(
        o,
        &[b"EHLO c\r\nMAIL FROM:<a@b.example> BODY=BINARYMIME\r\nRCPT TO:<c@d.example>\r\nDATA\r\nBDAT 3 LAST\r\na\nbQUIT\r\n"],
    );
    assert!(r.lines().contains(&"250 BINARYMIME".to_owned()));
    assert_eq!(
        &r.replies()[3..],
        [
            "503 5.5.1 Error: BINARYMIME requires BDAT",
            "250 2.0.0 Ok: queued",
            "221 2.0.0 Bye"
        ]
    );
    assert_eq!(r.body(), b"a\nb");
    // Without BINARYMIME advertised, BODY=BINARYMIME is refused.
    let r = run(
        opts(),
        &[b"EHLO c\r\nMAIL FROM:<a@b.example> BODY=BINARYMIME\r\nQUIT\r\n"],
    );
    assert!(r.replies()[1].starts_with("555 5.5.4"));
}

#[test]
fn bdat_bare_lf_is_refused_and_crlf_may_span_chunks() {
    let r = run(
        opts(),
        &[b"EHLO c\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example>\r\nBDAT 2\r\na\rBDAT 2 LAST\r\n\nb\r\nQUIT\r\n"],
    );
    assert_eq!(r.replies()[4], "250 2.0.0 Ok: queued");
    assert_eq!(r.body(), b"a\r\nb");
    let r = run(
        opts(),
        &[b"EHLO c\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example>\r\nBDAT 3 LAST\r\na\nbQUIT\r\n"],
    );
    assert_eq!(
        &r.replies()[3..],
        [
            "550 5.5.2 Error: bare <LF> received; lines must end with <CR><LF>",
            "221 2.0.0 Bye"
        ]
    );
}

#[test]
fn lmtp_421_mid_message_closes_and_bdat_replies_follow_rfc_2033() {
    let mut o = opts();
    o.lmtp = true;
    let two =
        b"LHLO c\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<1@b.example>\r\nRCPT TO:<2@b.example>\r\n";
    let mut input = two.to_vec();
    input.extend_from_slice(b"DATA\r\nx\r\n.\r\nNOOP\r\n");
    let r = run_with(
        o.clone(),
        TransportSecurity::Plain,
        &[&input],
        |ev| match ev {
            ServerEvent::MessageEnd { .. } => {
                Decision::Reject(reply(421, (4, 3, 0), "Shutting down"))
            }
            _ => Decision::Accept,
        },
    );
    assert_eq!(r.replies().last().unwrap(), "421 4.3.0 Shutting down");
    assert!(r.closed);
    assert_eq!(r.events.iter().filter(|e| **e == Ev::MessageEnd).count(), 1);
    // A refused BDAT chunk that is not the last gets one reply; a refused LAST one, one
    // per recipient.
    let mut input = two.to_vec();
    input.extend_from_slice(b"BDAT 2\r\na\nNOOP\r\n");
    let r = run(o.clone(), &[&input]);
    assert_eq!(
        &r.replies()[4..],
        [
            "550 5.5.2 Error: bare <LF> received; lines must end with <CR><LF>",
            "250 2.0.0 Ok"
        ]
    );
    o.max_message_size = 4;
    let mut input = two.to_vec();
    input.extend_from_slice(b"BDAT 5 LAST\r\nabcdeNOOP\r\n");
    let r = run(o, &[&input]);
    let big = "552 5.3.4 Message size exceeds fixed maximum message size";
    assert_eq!(&r.replies()[4..], [big, big, "250 2.0.0 Ok"]);
    assert!(r.events.contains(&Ev::Aborted(AbortReason::TooBig)));
}

#[test]
fn an_unreadable_bdat_line_gets_421() {
    let r = run(opts(), &[b"EHLO c\r\nBDAT 1x\r\nNOOP\r\n"]);
    assert_eq!(
        r.replies(),
        [
            "250 CHUNKING",
            "421 4.5.0 mx.example.com Error: unreadable BDAT command; closing"
        ]
    );
}

#[test]
fn bdat_chunks_pipelined_after_a_failure_are_drained_without_counting_errors() {
    let mut o = opts();
    o.max_errors = 3;
    let mut input =
        b"EHLO c\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example>\r\nBDAT 2\r\na\n".to_vec();
    for _ in 0..5 {
        input.extend_from_slice(b"BDAT 1\r\nx");
    }
    input.extend_from_slice(b"BDAT 1 LAST\r\nyRSET\r\nBDAT 1\r\nzQUIT\r\n");
    let r = run(o, &[&input]);
    let failed = "503 5.5.1 Error: BDAT transfer failed; send RSET";
    assert_eq!(
        &r.replies()[3..],
        [
            "550 5.5.2 Error: bare <LF> received; lines must end with <CR><LF>",
            failed,
            failed,
            failed,
            failed,
            failed,
            failed,
            "250 2.0.0 Ok",
            "503 5.5.1 Error: need MAIL command",
            "221 2.0.0 Bye"
        ]
    );
    assert!(r.errors.is_empty());
}

#[test]
fn lmtp_replies_once_per_accepted_recipient() {
    let mut o = opts();
    o.lmtp = true;
    let mut n = 0;
    let r = run_with(
        o,
        TransportSecurity::Plain,
        &[b"EHLO c\r\nLHLO c\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<1@b.example>\r\nRCPT TO:<2@b.example>\r\nRCPT TO:<3@b.example>\r\nDATA\r\nx\r\n.\r\nQUIT\r\n"],
        |ev| match ev {
            ServerEvent::Rcpt { to, .. } if to.to_string() == "<2@b.example>" => {
                Decision::Reject(reply(550, (5, 1, 1), "No such user"))
            }
            ServerEvent::MessageEnd { recipient } => {
                n += 1;
                let want = if n == 1 { "<1@b.example>" } else { "<3@b.example>" };
                assert_eq!(recipient.as_ref().map(|r| r.to_string()).as_deref(), Some(want));
                if n == 1 {
                    Decision::Accept
                } else {
                    Decision::Reject(reply(452, (4, 2, 2), "Mailbox full"))
                }
            }
            _ => Decision::Accept,
        },
    );
    assert_eq!(r.lines()[0], "220 mx.example.com LMTP");
    assert_eq!(
        &r.replies(),
        &[
            "500 5.5.1 Error: LMTP requires LHLO",
            "250 CHUNKING",
            "250 2.1.0 Ok",
            "250 2.1.5 Ok",
            "550 5.1.1 No such user",
            "250 2.1.5 Ok",
            "354 End data with <CR><LF>.<CR><LF>",
            "250 2.0.0 Ok: queued",
            "452 4.2.2 Mailbox full",
            "221 2.0.0 Bye"
        ]
    );
}
