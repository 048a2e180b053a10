//! SMTP smuggling (CVE-2023-51764 Postfix, CVE-2023-51765 sendmail, CVE-2023-51766
//! Exim; SEC Consult, "SMTP Smuggling - Spoofing E-Mails Worldwide", December 2023).
//!
//! RFC 5321 §4.1.1.4: "the mail data are terminated by a line containing only a
//! period, that is, the character sequence "\<CRLF>.\<CRLF>"". A server that also ends a
//! message at a look-alike (`<LF>.<LF>`, `<CR>.<CR>`, ...) while the relay in front
//! of it passes that look-alike on as content receives two messages where the relay
//! sent one: the second, with a sender the relay never checked, is smuggled.
//!
//! The check sends one message whose body holds, after a normal line, the look-alike
//! and then `MAIL FROM`, `RCPT TO`, `DATA` and a second message, ended by the real
//! `<CRLF>.<CRLF>` (the same terminator ends the outer message in the reading where
//! the look-alike is content, as in SEC Consult's payloads): a server that reads it
//! as one message answers once; one that reads two answers the first message, MAIL,
//! RCPT, DATA (`354`) and the second message.

use super::report::{CheckResult, Status};
use super::{Check, path, session, until_quit};
use crate::testing::{ServerReply, TestError};
use std::net::SocketAddr;

/// The end-of-data look-alikes tried, one connection each, with their names.
///
/// The first seven are SEC Consult's bare CR and bare LF forms. The last is the NUL
/// form their analysis also found servers taking (a NUL dropped before the end of
/// data is looked for: oss-security, "New SMTP smuggling attack", 2024-04-30).
pub const SMUGGLING_VARIANTS: &[(&str, &[u8])] = &[
    ("<LF>.<LF>", b"\n.\n"),
    ("<LF>.<CR><LF>", b"\n.\r\n"),
    ("<CR><LF>.<LF>", b"\r\n.\n"),
    ("<CR>.<CR><LF>", b"\r.\r\n"),
    ("<CR><LF>.<CR>", b"\r\n.\r"),
    ("<CR>.<CR>", b"\r.\r"),
    ("<LF>.<CR>", b"\n.\r"),
    ("<CR><LF><NUL>.<CR><LF>", b"\r\n\x00.\r\n"),
];

/// The DATA payload for `variant`: the outer message with the smuggled one inside.
fn payload(from: &str, to: &str, name: &str, variant: &[u8]) -> Vec<u8> {
    let mut p = format!(
        "From: {from}\r\nTo: {to}\r\nSubject: smtp-audit smuggling test {name}\r\n\r\n\
         A test of end-of-data handling; a second message follows if it failed."
    )
    .into_bytes();
    p.extend_from_slice(variant);
    p.extend_from_slice(
        format!(
            "MAIL FROM:{from}\r\nRCPT TO:{to}\r\nDATA\r\n\
             From: {from}\r\nTo: {to}\r\nSubject: smtp-audit SMUGGLED message {name}\r\n\r\n\
             smuggled\r\n.\r\n"
        )
        .as_bytes(),
    );
    p
}

/// One message or two, from the replies to the payload (and nothing else).
fn verdict(replies: &[ServerReply]) -> (Status, String) {
    let list = super::codes(replies);
    let positives = replies.iter().filter(|r| r.is_positive()).count();
    if replies.iter().any(|r| r.is(354)) || positives >= 2 {
        let d = format!(
            "two messages: the first ended at the look-alike, the smuggled MAIL, RCPT and \
             DATA ran (replies {list})"
        );
        return (Status::Vulnerable, d);
    }
    if replies.len() >= 3 {
        let d = format!(
            "the message ended at the look-alike and the rest was read as commands \
             (replies {list}); the smuggled transaction was refused this time"
        );
        return (Status::Vulnerable, d);
    }
    match replies {
        [] => (Status::Inconclusive, "no reply to the end of data".into()),
        [one] if one.is_positive() => (Status::Pass, format!("one message: {}", one.summary())),
        [one] => (Status::Pass, format!("refused: {}", one.summary())),
        [first, _] if first.is_negative() => {
            let d = format!("one message (replies {list}): {}", first.summary());
            (Status::Pass, d)
        }
        _ => {
            let d = format!("replies {list}: neither one message nor two");
            (Status::Inconclusive, d)
        }
    }
}

/// Which replies a step accepts.
type Accepts = fn(&ServerReply) -> bool;

/// The check for one look-alike, on a connection of its own.
pub(super) async fn check(
    addr: SocketAddr,
    opts: &super::AuditOptions,
    name: &str,
    variant: &[u8],
) -> CheckResult {
    let title = format!("smuggling {name}");
    let result = |status, detail: String, c: crate::testing::TestClient| {
        CheckResult::new(
            Check::Smuggling,
            &title,
            status,
            detail,
            c.into_transcript(),
        )
    };
    let mut c = match session(addr, opts, opts.starttls).await {
        Ok(s) => s.client,
        Err(stop) => return stop.result(Check::Smuggling, &title),
    };
    let (from, to) = (path(&opts.from), path(&opts.to));
    let steps: [(String, Accepts); 3] = [
        (format!("MAIL FROM:{from}"), ServerReply::is_positive),
        (format!("RCPT TO:{to}"), ServerReply::is_positive),
        ("DATA".to_owned(), |r| r.is(354)),
    ];
    for (line, ok) in steps {
        if let Err(why) = super::expect(&mut c, &line, ok).await {
            let why = format!("{why} (the check needs a sender and recipient the server accepts)");
            return result(Status::Inconclusive, why, c);
        }
    }
    c.note(format!(
        "a message with {name}, then MAIL, RCPT, DATA and a second message inside"
    ));
    if let Err(e) = c.send(payload(&from, &to, name, variant)).await {
        return result(Status::Inconclusive, format!("sending the message: {e}"), c);
    }
    let mut replies = Vec::new();
    match c.read_reply().await {
        Ok(r) => replies.push(r),
        Err(TestError::Closed) => {
            let d = "closed the connection without a reply: no message taken".to_owned();
            return result(Status::Pass, d, c);
        }
        Err(e) => return result(Status::Inconclusive, format!("end of data: {e}"), c),
    }
    let (more, ended) = until_quit(&mut c).await;
    replies.extend(more);
    let (mut status, mut detail) = verdict(&replies);
    if let super::Ended::Stuck(why) = ended
        && status == Status::Pass
    {
        status = Status::Inconclusive;
        detail = format!("{detail}; then QUIT: {why}");
    }
    result(status, detail, c)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn replies(codes: &[u16]) -> Vec<ServerReply> {
        codes
            .iter()
            .map(|c| ServerReply::from_lines(vec![format!("{c} x\r\n").into_bytes()]))
            .collect()
    }

    #[test]
    fn one_message_or_two() {
        let v = |c: &[u16]| verdict(&replies(c)).0;
        assert_eq!(v(&[250]), Status::Pass);
        assert_eq!(v(&[550]), Status::Pass);
        assert_eq!(v(&[500, 250]), Status::Pass);
        assert_eq!(v(&[250, 250, 250, 354, 250]), Status::Vulnerable);
        assert_eq!(v(&[250, 250]), Status::Vulnerable);
        assert_eq!(v(&[250, 503, 503, 500, 500]), Status::Vulnerable);
        assert_eq!(v(&[]), Status::Inconclusive);
        assert_eq!(v(&[250, 500]), Status::Inconclusive);
    }

    #[test]
    fn the_payload_ends_once_with_crlf_dot_crlf() {
        let p = payload("<a@x.test>", "<b@x.test>", "<LF>.<LF>", b"\n.\n");
        assert!(p.ends_with(b"smuggled\r\n.\r\n"));
        assert_eq!(p.windows(5).filter(|w| w == b"\r\n.\r\n").count(), 1);
        assert!(p.windows(3).any(|w| w == b"\n.\n"));
    }
}
