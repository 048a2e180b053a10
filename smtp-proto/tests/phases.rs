//! The phase table: which verbs each phase allows and what the others get, checked for
//! every verb; `require_tls` (RFC 3207 §4); STARTTLS inside a transaction (RFC 3207 §4.2).

mod support;

use smtp_proto::*;
use support::*;

fn opts() -> ServerOptions {
    ServerOptions::new(Domain::new("mx.example.com").unwrap())
}

const NEED_TLS: &str = "530 5.7.0 Must issue a STARTTLS command first";

/// The reply to `cmd` after `prefix` (the greeting and everything before `cmd` dropped).
fn reply_to(o: ServerOptions, prefix: &str, cmd: &str) -> String {
    let before = run(o.clone(), &[format!("{prefix}QUIT\r\n").as_bytes()]);
    let n = before.replies().len() - 1;
    let r = run(o, &[format!("{prefix}{cmd}\r\nQUIT\r\n").as_bytes()]);
    let replies = r.replies();
    assert_eq!(replies.len(), n + 2, "{cmd}: {replies:?}");
    replies[n].clone()
}

#[test]
fn require_tls_refuses_every_command_but_the_allowed_ones() {
    let mut o = opts();
    o.require_tls = true;
    o.auth_mechanisms = vec![Mechanism::PLAIN];
    let mut without_auth = o.clone();
    without_auth.auth_mechanisms.clear();
    for cmd in [
        "MAIL FROM:<a@example.org>",
        "MAIL FROM:<bad",
        "RCPT TO:<b@example.com>",
        "DATA",
        "VRFY postmaster",
        "EXPN staff",
        "AUTH PLAIN AGEAYg==",
        "AUTH LOGIN",
    ] {
        assert_eq!(reply_to(o.clone(), "EHLO c\r\n", cmd), NEED_TLS, "{cmd}");
        assert_eq!(
            reply_to(without_auth.clone(), "EHLO c\r\n", cmd),
            NEED_TLS,
            "{cmd} without AUTH configured"
        );
        assert_eq!(reply_to(o.clone(), "", cmd), NEED_TLS, "{cmd} before EHLO");
    }
    // BDAT is refused and its chunk drained: the chunk's bytes are never commands.
    let r = run(o.clone(), &[b"EHLO c\r\nBDAT 6 LAST\r\nRSET\r\nQUIT\r\n"]);
    assert_eq!(r.replies()[1..], [NEED_TLS, "221 2.0.0 Bye"]);
    // The allowed ones.
    assert_eq!(reply_to(o.clone(), "", "EHLO c").as_str(), "250 CHUNKING");
    assert_eq!(reply_to(o.clone(), "", "HELO c"), "250 mx.example.com");
    assert_eq!(reply_to(o.clone(), "EHLO c\r\n", "NOOP"), "250 2.0.0 Ok");
    assert_eq!(reply_to(o.clone(), "EHLO c\r\n", "RSET"), "250 2.0.0 Ok");
    assert_eq!(
        reply_to(o.clone(), "EHLO c\r\n", "HELP"),
        "214 2.0.0 See RFC 5321"
    );
    let r = run(
        o.clone(),
        &[
            b"EHLO c\r\nSTARTTLS\r\n",
            b"EHLO c\r\nMAIL FROM:<a@example.org>\r\n",
        ],
    );
    assert!(r.events.contains(&Ev::StartTls));
    assert_eq!(r.replies().last().unwrap(), "250 2.1.0 Ok");
    // Unknown verbs are still unknown.
    assert_eq!(
        reply_to(o, "EHLO c\r\n", "XYZZY"),
        "500 5.5.2 Command not recognized"
    );
}

#[test]
fn starttls_inside_a_transaction_discards_it() {
    let r = run(
        opts(),
        &[
            b"EHLO c\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.com>\r\nSTARTTLS\r\n",
            b"MAIL FROM:<x@example.org>\r\nEHLO c\r\nRCPT TO:<y@example.com>\r\nQUIT\r\n",
        ],
    );
    assert_eq!(
        r.replies()[1..],
        [
            "250 2.1.0 Ok",
            "250 2.1.5 Ok",
            "220 2.0.0 Ready to start TLS",
            // RFC 3207 §4.2: the EHLO name is forgotten too.
            "503 5.5.1 Error: send HELO/EHLO first",
            "250 CHUNKING",
            "503 5.5.1 Error: need MAIL command",
            "221 2.0.0 Bye"
        ]
    );
    // The application hears that the transaction was discarded.
    let after_tls = r.events.iter().position(|e| *e == Ev::StartTls).unwrap();
    assert!(r.events[..after_tls].contains(&Ev::Rcpt("<b@example.com>".into())));
    assert_eq!(r.events[after_tls + 1], Ev::Reset);
    // Also after BDAT chunks have started.
    let r = run(
        opts(),
        &[
            b"EHLO c\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.com>\r\nBDAT 3\r\nabcSTARTTLS\r\n",
            b"EHLO c\r\nBDAT 1 LAST\r\nxQUIT\r\n",
        ],
    );
    assert_eq!(
        r.replies()[1..],
        [
            "250 2.1.0 Ok",
            "250 2.1.5 Ok",
            "250 2.0.0 3 octets received",
            "220 2.0.0 Ready to start TLS",
            "250 CHUNKING",
            "503 5.5.1 Error: need MAIL command",
            "221 2.0.0 Bye"
        ]
    );
    assert!(!r.events.contains(&Ev::MessageEnd));
}

#[test]
fn sequence_is_judged_before_syntax() {
    // The phase table runs on the verb; a bad argument does not change the answer.
    let cases = [
        (
            "",
            "MAIL FROM:<bad",
            "503 5.5.1 Error: send HELO/EHLO first",
        ),
        (
            "EHLO c\r\n",
            "RCPT TO:bad",
            "503 5.5.1 Error: need MAIL command",
        ),
        (
            "EHLO c\r\n",
            "DATA now",
            "503 5.5.1 Error: need MAIL command",
        ),
        (
            "EHLO c\r\nMAIL FROM:<a@example.org>\r\n",
            "MAIL FROM:bad",
            "503 5.5.1 Error: nested MAIL command",
        ),
        ("", "STARTTLS now", "503 5.5.1 Error: send HELO/EHLO first"),
        ("HELO c\r\n", "STARTTLS", "503 5.5.1 Error: send EHLO first"),
        (
            "EHLO c\r\nMAIL FROM:<a@example.org>\r\n",
            "DATA",
            "503 5.5.1 Error: need RCPT command",
        ),
        // Once the arguments matter, they are checked.
        (
            "EHLO c\r\n",
            "MAIL FROM:bad",
            "501 5.5.4 Syntax error in parameters or arguments",
        ),
    ];
    for (prefix, cmd, want) in cases {
        assert_eq!(reply_to(opts(), prefix, cmd), want, "{prefix:?} {cmd}");
    }
}

#[test]
fn vrfy_expn_noop_help_rset_are_allowed_in_every_phase() {
    // RFC 5321 §4.1.4: "can be used at any time during a session".
    for prefix in [
        "",
        "EHLO c\r\n",
        "EHLO c\r\nMAIL FROM:<a@example.org>\r\n",
        "EHLO c\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.com>\r\n",
    ] {
        assert!(reply_to(opts(), prefix, "VRFY postmaster").starts_with("252 "));
        assert!(reply_to(opts(), prefix, "EXPN staff").starts_with("502 "));
        assert_eq!(reply_to(opts(), prefix, "NOOP"), "250 2.0.0 Ok");
        assert!(reply_to(opts(), prefix, "HELP").starts_with("214 "));
        assert_eq!(reply_to(opts(), prefix, "RSET"), "250 2.0.0 Ok");
    }
}

#[test]
fn the_connection_refusal_reply_comes_from_the_table() {
    let r = server::replies::too_many_connections();
    assert_eq!(
        r.to_string(),
        "421 4.7.0 Too many connections, try again later"
    );
    assert!(r.is_transient());
    for r in [
        server::replies::shutting_down(),
        server::replies::timeout(),
        server::replies::local_error_closing(),
    ] {
        assert_eq!(r.code().get(), 421, "{r}");
    }
    for r in [
        server::replies::local_error(),
        server::replies::decision_timeout(),
        server::replies::no_decision(),
    ] {
        assert_eq!(r.code().get(), 451, "{r}");
    }
    assert_eq!(
        server::replies::message_too_big().to_string(),
        "552 5.3.4 Message too big"
    );
}
