//! One line is one command (RFC 5321 §2.3.8, §4.1.4): a bare LF or bare CR never ends a
//! line, at any stage, so bytes a relay might read as a second command are never obeyed
//! here. Every case is checked whole, byte by byte and at every single split point.

mod support;

use smtp_proto::*;
use support::*;

fn opts() -> ServerOptions {
    ServerOptions::new(Domain::new("mx.example.com").unwrap())
}

/// The same replies and events however the input is split.
fn run_every_way(o: &ServerOptions, input: &[u8]) -> Run {
    let whole = run(o.clone(), &[input]);
    let bytes: Vec<&[u8]> = input.chunks(1).collect();
    let bytewise = run(o.clone(), &bytes);
    assert_eq!(whole.wire, bytewise.wire, "bytewise");
    assert_eq!(whole.events, bytewise.events, "bytewise");
    for cut in 0..=input.len() {
        let r = run(o.clone(), &split(input, &[cut]));
        assert_eq!(whole.wire, r.wire, "split at {cut}");
        assert_eq!(whole.events, r.events, "split at {cut}");
    }
    whole
}

/// The replies after the greeting and the EHLO reply.
fn after_ehlo(r: &Run) -> Vec<String> {
    r.replies().split_off(1)
}

const BARE_LF: &str = "500 5.5.2 Bare LF received; lines must end with CRLF";
const BARE_CR: &str = "500 5.5.2 Bare CR received; lines must end with CRLF";

#[test]
fn a_bare_lf_inside_a_command_is_one_rejected_line() {
    let r = run_every_way(
        &opts(),
        b"EHLO x\nMAIL FROM:<attacker@example.org>\r\nQUIT\r\n",
    );
    assert_eq!(r.replies(), [BARE_LF, "221 2.0.0 Bye"]);
    assert!(r.events.is_empty(), "{:?}", r.events);

    // Inside a transaction: the smuggled RCPT never reaches the application.
    let r = run_every_way(
        &opts(),
        b"EHLO c\r\nMAIL FROM:<a@example.org>\r\nNOOP\nRCPT TO:<victim@example.com>\r\nQUIT\r\n",
    );
    assert_eq!(after_ehlo(&r), ["250 2.1.0 Ok", BARE_LF, "221 2.0.0 Bye"]);
    assert!(!r.events.iter().any(|e| matches!(e, Ev::Rcpt(_))));
}

#[test]
fn a_bare_cr_inside_a_command_is_one_rejected_line() {
    let r = run_every_way(&opts(), b"EHLO c\r\nNOOP\rRSET\nDATA\r\nQUIT\r\n");
    assert_eq!(after_ehlo(&r), [BARE_CR, "221 2.0.0 Bye"]);
    // CR CR LF: the line ends at the second CR's LF.
    let r = run_every_way(&opts(), b"EHLO c\r\nNOOP\r\r\nQUIT\r\n");
    assert_eq!(after_ehlo(&r), [BARE_CR, "221 2.0.0 Bye"]);
}

#[test]
fn data_after_a_bare_lf_is_never_started() {
    let r = run_every_way(
        &opts(),
        b"EHLO c\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.com>\r\nDATA\nSubject: x\r\n.\r\nQUIT\r\n",
    );
    // `DATA<LF>Subject: x<CRLF>` is one bad line; `.` is an unknown command.
    assert_eq!(
        after_ehlo(&r),
        [
            "250 2.1.0 Ok",
            "250 2.1.5 Ok",
            BARE_LF,
            "500 5.5.2 Command not recognized",
            "221 2.0.0 Bye"
        ]
    );
    assert!(!r.events.contains(&Ev::Data));
}

#[test]
fn auth_response_lines_are_lines_too() {
    let mut o = opts();
    o.auth_mechanisms = vec![Mechanism::LOGIN];
    o.auth_without_tls = true;
    // The response line with a bare LF is one malformed response; the MAIL inside it is
    // never run, and the exchange ends.
    let r = run_every_way(
        &o,
        b"EHLO c\r\nAUTH LOGIN\r\ndXNlcg==\nMAIL FROM:<a@example.org>\r\nQUIT\r\n",
    );
    assert_eq!(
        after_ehlo(&r),
        [
            "334 VXNlcm5hbWU6",
            "501 5.5.2 Malformed authentication response",
            "221 2.0.0 Bye"
        ]
    );
    assert!(!r.events.iter().any(|e| matches!(e, Ev::Mail(_))));
}

#[test]
fn a_bdat_line_with_a_bare_lf_closes_the_session() {
    // The chunk size of a broken BDAT line cannot be trusted (RFC 3030 §2): 421, close,
    // and the would-be chunk is never read as commands.
    let r = run_every_way(
        &opts(),
        b"EHLO c\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.com>\r\nBDAT 6\nRSET\r\nQUIT\r\n",
    );
    assert_eq!(
        after_ehlo(&r),
        [
            "250 2.1.0 Ok",
            "250 2.1.5 Ok",
            "421 4.5.0 mx.example.com Error: unreadable BDAT command; closing"
        ]
    );
    assert!(r.closed);
    assert_eq!(r.errors, [Error::Peer(PeerMisbehaved::UnframeableBdat)]);
}

#[test]
fn a_bare_lf_hidden_in_an_over_long_line_is_one_error() {
    let mut input = b"EHLO c\r\nNOOP ".to_vec();
    input.resize(700, b'x');
    input.extend_from_slice(b"\nMAIL FROM:<a@example.org>\r\nQUIT\r\n");
    let r = run(opts(), &[&input]);
    assert_eq!(after_ehlo(&r), ["500 5.5.2 Line too long", "221 2.0.0 Bye"]);
}

#[test]
fn lf_line_ends_only_when_chosen() {
    // LineEndings::AllowBareLf is the one way to get LF-terminated commands.
    let mut o = opts();
    o.command_line_endings = LineEndings::AllowBareLf;
    let r = run_every_way(&o, b"EHLO x\nMAIL FROM:<a@example.org>\nQUIT\n");
    assert_eq!(after_ehlo(&r), ["250 2.1.0 Ok", "221 2.0.0 Bye"]);
    // A bare CR is still an error, and the line then ends at its LF.
    let r = run_every_way(&o, b"EHLO x\nNOOP\rRSET\nQUIT\n");
    assert_eq!(after_ehlo(&r), [BARE_CR, "221 2.0.0 Bye"]);
}
