//! The server's limits: refused commands (`max_errors`), commands that do no work
//! (`max_junk_commands`), line lengths per verb (RFC 5321 §4.5.3.1.4) and address lengths
//! (RFC 5321 §4.5.3.1.1–3).

mod support;

use smtp_proto::*;
use support::*;

fn opts() -> ServerOptions {
    ServerOptions::new(Domain::new("mx.example.com").unwrap())
}

const TOO_MANY_ERRORS: &str = "421 4.7.0 mx.example.com Error: too many errors";
const TOO_MANY_JUNK: &str = "421 4.7.0 mx.example.com Error: too many commands without mail";

fn refusals_until_closed(o: ServerOptions, prefix: &[u8], bad: &[u8]) -> Run {
    let mut input = prefix.to_vec();
    for _ in 0..o.max_errors {
        input.extend_from_slice(bad);
    }
    input.extend_from_slice(b"NOOP\r\n");
    run(o, &[&input])
}

#[test]
fn every_kind_of_refused_command_counts_toward_max_errors() {
    let mut long = b"NOOP ".to_vec();
    long.resize(600, b'x');
    long.extend_from_slice(b"\r\n");
    let mut auth = opts();
    auth.auth_mechanisms = vec![Mechanism::PLAIN];
    let mut tls = opts();
    tls.require_tls = true;
    let cases: Vec<(ServerOptions, &[u8], Vec<u8>)> = vec![
        (opts(), b"", b"XYZZY\r\n".to_vec()), // unknown verb
        (opts(), b"EHLO c\r\n", b"MAIL FROM:a@b\r\n".to_vec()), // syntax
        (opts(), b"", b"MAIL FROM:<a@example.org>\r\n".to_vec()), // sequence
        (
            opts(),
            b"EHLO c\r\n",
            b"RCPT TO:<b@example.com>\r\n".to_vec(),
        ), // sequence
        (opts(), b"EHLO c\r\n", b"DATA\r\n".to_vec()), // sequence
        (opts(), b"EHLO c\r\n", long.clone()), // over-long line
        (opts(), b"EHLO c\r\n", b"NOOP\nx\r\n".to_vec()), // bare LF
        (
            tls,
            b"EHLO c\r\n",
            b"MAIL FROM:<a@example.org>\r\n".to_vec(),
        ), // TLS required
        (auth, b"EHLO c\r\n", b"AUTH PLAIN AGEAYg==\r\n".to_vec()), // AUTH needs TLS
        (opts(), b"EHLO c\r\n", b"AUTH PLAIN AGEAYg==\r\n".to_vec()), // AUTH not offered
        (
            opts(),
            b"EHLO c\r\n",
            b"MAIL FROM:<a@example.org> XFOO=1\r\nRSET\r\n".to_vec(),
        ),
    ];
    for (o, prefix, bad) in cases {
        let max = o.max_errors;
        let r = refusals_until_closed(o, prefix, &bad);
        let replies = r.replies();
        assert_eq!(
            replies.last().map(String::as_str),
            Some(TOO_MANY_ERRORS),
            "{:?}: {replies:?}",
            String::from_utf8_lossy(&bad)
        );
        assert!(r.closed);
        assert_eq!(
            r.errors,
            [Error::Peer(PeerMisbehaved::TooManyErrors { count: max })]
        );
        assert!(!replies.contains(&"250 2.0.0 Ok".to_owned()) || bad.ends_with(b"RSET\r\n"));
    }
}

#[test]
fn refused_auth_counts_toward_max_errors() {
    let mut o = opts();
    o.auth_mechanisms = vec![Mechanism::PLAIN];
    o.auth_without_tls = true;
    o.max_errors = 3;
    // AUTH PLAIN \0u\0p, refused by the application three times.
    let mut input = b"EHLO c\r\n".to_vec();
    for _ in 0..3 {
        input.extend_from_slice(b"AUTH PLAIN AHUAcA==\r\n");
    }
    input.extend_from_slice(b"NOOP\r\n");
    let refuse = |ev: &ServerEvent| match ev {
        ServerEvent::Auth(_) => Decision::Reject(
            Reply::with_text(
                535,
                Some(smtp_proto::EnhancedCode::new(5, 7, 8).unwrap()),
                ["Authentication credentials invalid"],
            )
            .unwrap(),
        ),
        _ => Decision::Accept,
    };
    let r = run_with(o, TransportSecurity::Plain, &[&input], refuse);
    assert_eq!(
        r.replies()[1..],
        [
            "535 5.7.8 Authentication credentials invalid",
            "535 5.7.8 Authentication credentials invalid",
            "535 5.7.8 Authentication credentials invalid",
            TOO_MANY_ERRORS
        ]
    );
    assert!(r.closed);
}

#[test]
fn application_refusals_count_too_but_not_refused_messages() {
    // Refused greetings, AUTH and MAIL count as errors, as Postfix counts them.
    let mut o = opts();
    o.max_errors = 3;
    let mut input = b"EHLO c\r\n".to_vec();
    for _ in 0..5 {
        input.extend_from_slice(b"MAIL FROM:<spammer@example.org>\r\n");
    }
    let refuse = |ev: &ServerEvent| match ev {
        ServerEvent::Mail { .. } => Decision::Reject(
            Reply::with_text(
                550,
                Some(smtp_proto::EnhancedCode::new(5, 7, 1).unwrap()),
                ["Sender refused"],
            )
            .unwrap(),
        ),
        _ => Decision::Accept,
    };
    let r = run_with(o.clone(), TransportSecurity::Plain, &[&input], refuse);
    assert_eq!(
        r.replies()[1..],
        [
            "550 5.7.1 Sender refused",
            "550 5.7.1 Sender refused",
            "550 5.7.1 Sender refused",
            TOO_MANY_ERRORS
        ]
    );
    // Refused recipients (a harvesting client) count against the junk allowance: a
    // message with many unknown recipients among good ones still goes through.
    let mut o = opts();
    o.max_errors = 3;
    o.max_junk_commands = 30;
    let mut input = b"EHLO c\r\nMAIL FROM:<a@example.org>\r\n".to_vec();
    for i in 0..25 {
        input.extend_from_slice(format!("RCPT TO:<u{i}@example.com>\r\n").as_bytes());
    }
    input.extend_from_slice(b"RCPT TO:<ok@example.com>\r\nDATA\r\nx\r\n.\r\n");
    // After a delivered message the allowances are back: 25 more refusals are fine.
    input.extend_from_slice(b"MAIL FROM:<a@example.org>\r\n");
    for i in 0..25 {
        input.extend_from_slice(format!("RCPT TO:<v{i}@example.com>\r\n").as_bytes());
    }
    input.extend_from_slice(b"QUIT\r\n");
    let refuse = |ev: &ServerEvent| match ev {
        ServerEvent::Rcpt { to, .. } if !to.to_string().starts_with("<ok") => Decision::Reject(
            Reply::with_text(
                550,
                Some(smtp_proto::EnhancedCode::new(5, 1, 1).unwrap()),
                ["No such user"],
            )
            .unwrap(),
        ),
        _ => Decision::Accept,
    };
    let r = run_with(o.clone(), TransportSecurity::Plain, &[&input], refuse);
    assert_eq!(r.replies().last().unwrap(), "221 2.0.0 Bye");
    assert!(r.events.contains(&Ev::MessageEnd));
    // Past the junk allowance, a harvester is closed.
    let mut input = b"EHLO c\r\nMAIL FROM:<a@example.org>\r\n".to_vec();
    for i in 0..40 {
        input.extend_from_slice(format!("RCPT TO:<u{i}@example.com>\r\n").as_bytes());
    }
    let r = run_with(o.clone(), TransportSecurity::Plain, &[&input], refuse);
    assert_eq!(r.replies().last().unwrap(), TOO_MANY_JUNK);
    // The 31st refusal is answered, then 421.
    assert_eq!(r.replies().len(), 2 + 31 + 1);
    // Refused messages are not commands: five in a row, and the session goes on.
    let mut input = b"EHLO c\r\n".to_vec();
    for _ in 0..5 {
        input.extend_from_slice(
            b"MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.com>\r\nDATA\r\nx\r\n.\r\n",
        );
    }
    input.extend_from_slice(b"QUIT\r\n");
    let refuse = |ev: &ServerEvent| match ev {
        ServerEvent::MessageEnd { .. } => Decision::Reject(
            Reply::with_text(
                554,
                Some(smtp_proto::EnhancedCode::new(5, 7, 1).unwrap()),
                ["Spam"],
            )
            .unwrap(),
        ),
        _ => Decision::Accept,
    };
    let r = run_with(o, TransportSecurity::Plain, &[&input], refuse);
    assert_eq!(r.replies().last().unwrap(), "221 2.0.0 Bye");
    assert_eq!(
        r.replies().iter().filter(|l| l.starts_with("554")).count(),
        5
    );
}

#[test]
fn local_failures_are_not_counted_against_the_client() {
    let mut o = opts();
    o.max_errors = 2;
    let mut input = b"EHLO c\r\n".to_vec();
    for _ in 0..5 {
        input.extend_from_slice(b"MAIL FROM:<a@example.org>\r\n");
    }
    input.extend_from_slice(b"QUIT\r\n");
    let mut s = ServerSession::new(o, TransportSecurity::Plain);
    s.feed(&input);
    s.feed_eof();
    let mut wire = Vec::new();
    loop {
        match s.poll() {
            Ok(Output::Transmit(b)) => wire.extend_from_slice(&b),
            Ok(Output::Event(ServerEvent::Mail { .. })) => s
                .reject_local(
                    Reply::with_text(
                        451,
                        Some(smtp_proto::EnhancedCode::new(4, 3, 0).unwrap()),
                        ["Local error in processing"],
                    )
                    .unwrap(),
                )
                .unwrap(),
            Ok(Output::Event(_)) => s.accept().unwrap_or(()),
            Ok(Output::Close) => break,
            Ok(_) | Err(_) => {}
        }
    }
    let wire = String::from_utf8(wire).unwrap();
    assert_eq!(wire.matches("451 4.3.0").count(), 5, "{wire}");
    assert!(wire.ends_with("221 2.0.0 Bye\r\n"), "{wire}");
}

#[test]
fn recipients_past_the_limit_and_chunks_after_a_failure_are_junk() {
    // As many again as max_recipients get 452 freely (RFC 5321 §4.5.3.1.10: the client
    // sends them later); past that they count as junk.
    let mut o = opts();
    o.max_recipients = 2;
    o.max_junk_commands = 3;
    let mut input = b"EHLO c\r\nMAIL FROM:<a@example.org>\r\n".to_vec();
    for i in 0..10 {
        input.extend_from_slice(format!("RCPT TO:<u{i}@example.com>\r\n").as_bytes());
    }
    let r = run(o.clone(), &[&input]);
    let many = "452 4.5.3 Error: too many recipients";
    assert_eq!(
        r.replies()[2..],
        [
            "250 2.1.5 Ok",
            "250 2.1.5 Ok",
            many,
            many,
            many,
            many,
            many,
            TOO_MANY_JUNK
        ]
    );
    // BDAT after a failed chunk (RFC 3030 §2): drained with 503, not an error, but junk.
    let mut o = opts();
    o.max_message_size = 4;
    o.max_junk_commands = 2;
    let mut input =
        b"EHLO c\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.com>\r\nBDAT 10\r\n0123456789"
            .to_vec();
    for _ in 0..4 {
        input.extend_from_slice(b"BDAT 1\r\nx");
    }
    let r = run(o, &[&input]);
    let replies = r.replies();
    assert_eq!(replies.last().unwrap(), TOO_MANY_JUNK, "{replies:?}");
    assert_eq!(
        replies.iter().filter(|l| l.starts_with("503")).count(),
        2,
        "{replies:?}"
    );
}

#[test]
fn auth_lines_keep_the_command_limit_unless_chosen() {
    // RFC 4954 §4: "the AUTH command is still subject to the line length limitations".
    let mut o = opts();
    o.auth_mechanisms = vec![Mechanism::new("XOAUTH2").unwrap()];
    o.auth_without_tls = true;
    let line = format!("EHLO c\r\nAUTH XOAUTH2 {}\r\nQUIT\r\n", "QUFB".repeat(200));
    let r = run(o.clone(), &[line.as_bytes()]);
    assert_eq!(
        r.replies()[1..],
        ["500 5.5.2 Line too long", "221 2.0.0 Bye"]
    );
    assert!(!r.events.iter().any(|e| matches!(e, Ev::AuthStep(..))));
    o.long_auth_command = true;
    let r = run(o, &[line.as_bytes()]);
    assert!(r.events.iter().any(|e| matches!(e, Ev::AuthStep(..))));
}

#[test]
fn parameter_allowances_follow_the_extensions_in_force() {
    let long_rcpt = |o: &ServerOptions, hello: &str| {
        let line = format!(
            "{hello} c\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.com> NOTIFY=NEVER ORCPT=rfc822;{}@example.com\r\nQUIT\r\n",
            "o".repeat(470)
        );
        run(o.clone(), &[line.as_bytes()]).replies()
    };
    let mut dsn = opts();
    dsn.dsn = true;
    // After EHLO with DSN: ORCPT may take its 500 octets.
    assert_eq!(long_rcpt(&dsn, "EHLO")[2], "250 2.1.5 Ok");
    // After HELO: no extensions, 512.
    assert_eq!(long_rcpt(&dsn, "HELO")[2], "500 5.5.2 Line too long");
    // Without DSN, RCPT keeps 512 even though MAIL may grow (SIZE, AUTH=).
    let mut auth = opts();
    auth.auth_mechanisms = vec![Mechanism::PLAIN];
    auth.auth_without_tls = true;
    assert_eq!(long_rcpt(&auth, "EHLO")[2], "500 5.5.2 Line too long");
    // MAIL with AUTH= (RFC 4954 §5) only while AUTH is offered.
    // AUTH=<mailbox> as xtext: 64 '+' (each "+2B") @ a 253-octet domain.
    let domain = ["a", "b", "c"].map(|l| l.repeat(63)).join(".") + "." + &"d".repeat(61);
    let mail = format!(
        "MAIL FROM:<{}@example.org> AUTH={}@{domain} SIZE=1000 BODY=8BITMIME\r\nQUIT\r\n",
        "s".repeat(64),
        "+2B".repeat(64),
    );
    assert!(mail.len() - 6 > 512 + 26 + 16 + 9, "{}", mail.len());
    let r = run(auth, &[format!("EHLO c\r\n{mail}").as_bytes()]);
    assert_eq!(r.replies()[1], "250 2.1.0 Ok");
    let mut no_tls = opts();
    no_tls.auth_mechanisms = vec![Mechanism::PLAIN];
    let r = run(no_tls, &[format!("EHLO c\r\n{mail}").as_bytes()]);
    assert_eq!(r.replies()[1], "500 5.5.2 Line too long");
}

#[test]
fn junk_commands_are_limited() {
    for junk in [
        &b"NOOP\r\n"[..],
        b"RSET\r\n",
        b"VRFY postmaster\r\n",
        b"EXPN staff\r\n",
        b"HELP\r\n",
        b"EHLO again\r\n",
        b"HELO again\r\n",
    ] {
        let mut o = opts();
        o.max_junk_commands = 5;
        let mut input = b"EHLO c\r\n".to_vec();
        for _ in 0..6 {
            input.extend_from_slice(junk);
        }
        input.extend_from_slice(b"QUIT\r\n");
        let r = run(o, &[&input]);
        let replies = r.replies().split_off(1);
        assert_eq!(replies.len(), 6, "{replies:?}");
        assert_eq!(replies[5], TOO_MANY_JUNK, "{replies:?}");
        assert!(r.closed);
        assert_eq!(
            r.errors,
            [Error::Peer(PeerMisbehaved::TooManyJunkCommands {
                count: 6
            })]
        );
    }
    // The default is Postfix's smtpd_junk_command_limit.
    assert_eq!(opts().max_junk_commands, 100);
    let mut input = b"EHLO c\r\n".to_vec();
    input.extend_from_slice(&b"NOOP\r\n".repeat(101));
    let r = run(opts(), &[&input]);
    assert_eq!(r.replies().len(), 102);
    assert_eq!(r.replies()[101], TOO_MANY_JUNK);
}

#[test]
fn the_first_greeting_and_the_one_after_starttls_are_not_junk_and_mail_restores_the_allowance() {
    let mut o = opts();
    o.max_junk_commands = 2;
    // RSET between messages: an accepted message gives the allowance back.
    let mut input = b"EHLO c\r\n".to_vec();
    for _ in 0..5 {
        input.extend_from_slice(
            b"RSET\r\nNOOP\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.com>\r\nDATA\r\nx\r\n.\r\n",
        );
    }
    input.extend_from_slice(b"QUIT\r\n");
    let r = run(o.clone(), &[&input]);
    assert_eq!(r.replies().last().unwrap(), "221 2.0.0 Bye");
    assert_eq!(r.events.iter().filter(|e| **e == Ev::MessageEnd).count(), 5);
    // EHLO, STARTTLS, EHLO: the second EHLO is required (RFC 3207 §4.2), not junk.
    let r = run(
        o,
        &[
            b"EHLO c\r\nSTARTTLS\r\n",
            b"EHLO c\r\nNOOP\r\nNOOP\r\nQUIT\r\n",
        ],
    );
    assert_eq!(r.replies().last().unwrap(), "221 2.0.0 Bye");
}

#[test]
fn over_long_lines_get_500_5_5_2_for_every_verb() {
    // Before EHLO no extension is in force: MAIL and RCPT keep 512 too.
    for verb in [
        "NOOP ",
        "EHLO ",
        "HELO ",
        "VRFY ",
        "EXPN ",
        "HELP ",
        "AUTH ",
        "MAIL ",
        "RCPT ",
        "DATA ",
        "RSET ",
        "QUIT ",
        "STARTTLS ",
        "XYZZY ",
        "",
    ] {
        let mut line = verb.as_bytes().to_vec();
        line.resize(513, b'x');
        line.extend_from_slice(b"\r\nQUIT\r\n");
        let r = run(opts(), &[&line]);
        assert_eq!(
            r.replies(),
            ["500 5.5.2 Line too long", "221 2.0.0 Bye"],
            "{verb}"
        );
        assert!(r.events.is_empty(), "{verb}: nothing of it runs");
    }
    // A line of 1 MiB: discarded through its CRLF, memory bounded while it streams.
    let mut s = ServerSession::new(opts(), TransportSecurity::Plain);
    let mut out = Vec::new();
    let drain = |s: &mut ServerSession, out: &mut Vec<u8>| loop {
        match s.poll().unwrap() {
            Output::Transmit(b) => out.extend_from_slice(&b),
            Output::NeedInput => return,
            other => panic!("{other:?}"),
        }
    };
    drain(&mut s, &mut out);
    s.feed(b"NOOP ");
    for _ in 0..1024 {
        s.feed(&[b'x'; 1024]);
        drain(&mut s, &mut out);
        assert!(s.buffered() <= 1024, "{}", s.buffered());
    }
    s.feed(b"\nMAIL FROM:<a@example.org>\r\nNOOP\r\n");
    drain(&mut s, &mut out);
    let out = String::from_utf8(out).unwrap();
    assert!(
        out.ends_with("500 5.5.2 Line too long\r\n250 2.0.0 Ok\r\n"),
        "{out}"
    );
}

#[test]
fn only_mail_and_rcpt_get_the_extension_allowance() {
    // SIZE, DSN and AUTH= lengthen MAIL and RCPT (RFC 1870, RFC 3461 §5, RFC 4954 §5).
    let mut o = opts();
    o.dsn = true;
    o.auth_mechanisms = vec![Mechanism::PLAIN];
    let envid = "x".repeat(90);
    let mail = format!("MAIL FROM:<a@example.org> SIZE=1000 RET=HDRS ENVID={envid}\r\n");
    let rcpt = "RCPT TO:<b@example.com> NOTIFY=SUCCESS,FAILURE,DELAY\r\n";
    let big_rcpt = format!(
        "RCPT TO:<{}@example.com> NOTIFY=SUCCESS,FAILURE,DELAY ORCPT=rfc822;{}@example.com\r\n",
        "d".repeat(64),
        "e".repeat(400),
    );
    assert!(big_rcpt.len() > 512, "{}", big_rcpt.len());
    let input = format!("EHLO c\r\n{mail}{rcpt}{big_rcpt}QUIT\r\n");
    let r = run(o.clone(), &[input.as_bytes()]);
    assert_eq!(
        r.replies()[1..],
        [
            "250 2.1.0 Ok",
            "250 2.1.5 Ok",
            "250 2.1.5 Ok",
            "221 2.0.0 Bye"
        ]
    );
    // The same length on any other verb is too long.
    let mut noop = b"NOOP ".to_vec();
    noop.resize(big_rcpt.len() - 2, b'x');
    noop.extend_from_slice(b"\r\nQUIT\r\n");
    let r = run(o, &[&noop]);
    assert_eq!(r.replies(), ["500 5.5.2 Line too long", "221 2.0.0 Bye"]);
}

fn address_replies(o: ServerOptions, cmd: &str) -> Vec<String> {
    let input = format!("EHLO c\r\nMAIL FROM:<a@example.org>\r\n{cmd}\r\nQUIT\r\n");
    let r = run(o, &[input.as_bytes()]);
    r.replies()[2..r.replies().len() - 1].to_vec()
}

#[test]
fn address_limits_by_default() {
    let local65 = "l".repeat(65);
    let local64 = "l".repeat(64);
    let label64 = "b".repeat(64);
    let label63 = "b".repeat(63);
    // 4 x 63-octet labels + 3 dots + ".com" = 259 > 255.
    let domain = format!("{label63}.{label63}.{label63}.{label63}.com");
    // A path over 256 with every part within its limit: 64 + 1 + 200 + 2.
    let path_domain = format!("{label63}.{label63}.{label63}.xx");
    assert!(path_domain.len() <= 255);
    let cases = [
        (
            format!("RCPT TO:<{local65}@example.com>"),
            "501 5.1.3 Local part too long",
        ),
        (
            format!("RCPT TO:<a@{label64}.example.com>"),
            "501 5.1.3 Domain label too long",
        ),
        (format!("RCPT TO:<a@{domain}>"), "501 5.1.3 Domain too long"),
        (
            format!("RCPT TO:<{local64}@{path_domain}>"),
            "501 5.1.3 Path too long",
        ),
        (
            format!("VRFY <{local65}@example.com>"),
            "501 5.1.3 Local part too long",
        ),
        (
            format!("VRFY {local65}@example.com"),
            "501 5.1.3 Local part too long",
        ),
        (
            format!("VRFY {}", "v".repeat(300)),
            "501 5.1.3 Path too long",
        ),
    ];
    for (cmd, want) in &cases {
        assert_eq!(address_replies(opts(), cmd), [*want], "{cmd}");
    }
    // A quoted local part counts as sent.
    let quoted = format!("\"{}\"", "q".repeat(63));
    assert_eq!(
        address_replies(opts(), &format!("RCPT TO:<{quoted}@example.com>")),
        ["501 5.1.3 Local part too long"]
    );
    // Within the limits: accepted.
    let ok = format!("RCPT TO:<{local64}@{label63}.example.com>");
    assert_eq!(address_replies(opts(), &ok), ["250 2.1.5 Ok"]);
    // MAIL: 5.1.7, the sender's address.
    let r = run(
        opts(),
        &[format!("EHLO c\r\nMAIL FROM:<{local65}@example.org>\r\nQUIT\r\n").as_bytes()],
    );
    assert_eq!(
        r.replies()[1..],
        ["501 5.1.7 Local part too long", "221 2.0.0 Bye"]
    );
    assert!(!r.events.iter().any(|e| matches!(e, Ev::Mail(_))));
}

#[test]
fn address_limits_relax_one_by_one() {
    let mut o = opts();
    o.address_limits.local_part = 128;
    let local = "l".repeat(100);
    assert_eq!(
        address_replies(o.clone(), &format!("RCPT TO:<{local}@example.com>")),
        ["250 2.1.5 Ok"]
    );
    // The others stay.
    assert_eq!(
        address_replies(o, &format!("RCPT TO:<a@{}.example.com>", "b".repeat(64))),
        ["501 5.1.3 Domain label too long"]
    );
    let mut o = opts();
    o.address_limits.label = 100;
    assert_eq!(
        address_replies(o, &format!("RCPT TO:<a@{}.example.com>", "b".repeat(64))),
        ["250 2.1.5 Ok"]
    );
}
