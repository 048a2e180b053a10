//! The rules that turn a server's reply into an outcome an MTA can act on, as pure
//! functions: why a recipient did not get a message ([`Reason`], from the step that was
//! refused and the reply: [`reason_for_reply`]), and the queue id a server gave an
//! accepted message ([`queue_id`]).
//!
//! Whether to retry is the reply's class alone (RFC 5321 §4.2.1: `4yz` transient, `5yz`
//! permanent); the reason says what to tell the sender, or where to look.
//!
//! ```
//! use smtp_proto::client::outcome::{Reason, queue_id, reason_for_reply};
//! use smtp_proto::{Reply, Stage};
//!
//! let bytes = b"450 4.7.1 <bob@example.com>: Recipient address rejected: Greylisted\r\n";
//! let greylisted = Reply::from_bytes(bytes).unwrap();
//! assert_eq!(reason_for_reply(Stage::Rcpt, &greylisted), Reason::RateLimited);
//!
//! let unknown = Reply::from_bytes(b"550 5.1.1 No such user\r\n").unwrap();
//! assert_eq!(reason_for_reply(Stage::Rcpt, &unknown), Reason::RecipientRefused);
//!
//! let queued = Reply::from_bytes(b"250 2.0.0 Ok: queued as 4Xbc1234\r\n").unwrap();
//! assert_eq!(queue_id(&queued), Some("4Xbc1234"));
//! assert_eq!(queue_id(&Reply::from_bytes(b"250 2.0.0 Ok\r\n").unwrap()), None);
//! ```

use crate::{Reply, Stage, ValueError};
use std::fmt;

/// Why a message did not reach a recipient (or, for a delivered one, nothing: a
/// delivery has no reason). Whether it may later is not part of the reason: a
/// `4yz` reply or a failure that can pass is transient, a `5yz` one permanent.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Reason {
    /// The server refused the recipient (its `RCPT`): no such user, relaying denied,
    /// mailbox full or disabled.
    RecipientRefused,
    /// The server refused the message: its `MAIL`, `DATA` or a `BDAT` chunk, or its
    /// content after the end of data (spam, virus, size, the sender); in LMTP, one
    /// recipient's refusal after the end of data.
    MessageRefused,
    /// The TLS policy was not met: STARTTLS missing, refused or stripped, the handshake
    /// failed, the certificate was not acceptable, or the server asked for encryption
    /// the session did not have (`530` "Must issue a STARTTLS command first", RFC 3207
    /// §4; `X.7.10` "Encryption needed", `X.7.11`, RFC 4954 §6).
    TlsPolicy,
    /// Authentication failed or is required: AUTH refused (`535 5.7.8`), no mechanism
    /// in common, or `530 5.7.0` "Authentication required" (RFC 4954 §6).
    Authentication,
    /// The server defers this sender for now: rate limiting or greylisting (`421`,
    /// `450`, `451` with a `4.7.x` enhanced code, or a `4yz` that says it greylisted).
    /// Always transient: retry later, from the same address (RFC 6647 §2).
    RateLimited,
    /// The connection could not be made or was lost, the server would not hold a
    /// session (a refused greeting or EHLO, a `421` closing it), the server broke the
    /// protocol, the destination did not resolve, or the recipient was never tried.
    Connection,
    /// A timeout expired while waiting for the server (RFC 5321 §4.5.3.2).
    Timeout,
    /// A local error: the configuration, or a message that cannot be sent as given (a
    /// line too long, a bare line ending, a read error of the body).
    Local,
}

impl Reason {
    /// Every reason, in declaration order.
    pub const ALL: [Reason; 8] = [
        Reason::RecipientRefused,
        Reason::MessageRefused,
        Reason::TlsPolicy,
        Reason::Authentication,
        Reason::RateLimited,
        Reason::Connection,
        Reason::Timeout,
        Reason::Local,
    ];

    /// The reason's name for logs and queues: `recipient-refused`, `message-refused`,
    /// `tls-policy`, `authentication`, `rate-limited`, `connection`, `timeout`,
    /// `local`. [`FromStr`](std::str::FromStr) reads it back.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::RecipientRefused => "recipient-refused",
            Self::MessageRefused => "message-refused",
            Self::TlsPolicy => "tls-policy",
            Self::Authentication => "authentication",
            Self::RateLimited => "rate-limited",
            Self::Connection => "connection",
            Self::Timeout => "timeout",
            Self::Local => "local",
        }
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Reason {
    type Err = ValueError;

    /// A name as [`Reason::as_str`] gives it (ASCII case ignored).
    fn from_str(s: &str) -> Result<Self, ValueError> {
        Self::ALL
            .into_iter()
            .find(|r| r.as_str().eq_ignore_ascii_case(s))
            .ok_or(ValueError::Syntax {
                what: "outcome reason",
                at: 0,
            })
    }
}

/// Why `reply`, a refusal of the step `stage`, kept the message from a recipient.
///
/// In this order:
///
/// 1. `421`, `450` or `451` with a `4.7.x` enhanced code (RFC 3463 §3.8: class 7 is
///    "security or policy status"; `4.7.1` is what greylisting answers, RFC 6647 §2,
///    and `4.7.0`/`4.7.28` what large providers send when they limit a sender's rate),
///    or a `4yz` whose text says "greylist" (Postgrey answers `450 4.2.0 …
///    Greylisted`): [`Reason::RateLimited`], whatever the stage.
/// 2. Any other `421`: the server is closing the session (RFC 5321 §3.8, §4.2.3) without
///    having judged the message: [`Reason::Connection`].
/// 3. Encryption required: `538` or an `X.7.10`/`X.7.11` code (RFC 4954 §6, RFC 3463
///    registry), or a `530` that names TLS (RFC 3207 §4): [`Reason::TlsPolicy`].
/// 4. Any other `530`, or `X.7.8` (RFC 4954 §6): [`Reason::Authentication`].
/// 5. By stage: `RCPT` → [`Reason::RecipientRefused`]; `MAIL`, `DATA`/`BDAT` and the
///    message → [`Reason::MessageRefused`]; `AUTH` → [`Reason::Authentication`];
///    `STARTTLS` → [`Reason::TlsPolicy`]; the greeting, `EHLO`/`HELO`/`LHLO`, `NOOP`
///    and a closing `421` → [`Reason::Connection`].
///
/// A positive reply refuses nothing; given one, the answer is the stage's reason.
pub fn reason_for_reply(stage: Stage, reply: &Reply) -> Reason {
    let code = reply.code().get();
    let enhanced = reply.enhanced();
    let policy_class = enhanced.is_some_and(|e| e.class() == 4 && e.subject() == 7);
    if (matches!(code, 421 | 450 | 451) && policy_class)
        || (reply.is_transient() && mentions(reply, "greylist"))
    {
        return Reason::RateLimited;
    }
    if code == 421 {
        return Reason::Connection;
    }
    let detail = enhanced.filter(|e| e.subject() == 7).map(|e| e.detail());
    if code == 538 || matches!(detail, Some(10 | 11)) || (code == 530 && mentions(reply, "tls")) {
        return Reason::TlsPolicy;
    }
    if code == 530 || detail == Some(8) {
        return Reason::Authentication;
    }
    match stage {
        Stage::Rcpt => Reason::RecipientRefused,
        Stage::Mail | Stage::Data | Stage::Message => Reason::MessageRefused,
        Stage::Auth => Reason::Authentication,
        Stage::StartTls => Reason::TlsPolicy,
        Stage::Greeting
        | Stage::Ehlo
        | Stage::Lhlo
        | Stage::Helo
        | Stage::Closing
        | Stage::Noop => Reason::Connection,
    }
}

/// Whether the reply's text contains `word` (lower case), ignoring ASCII case; also
/// its "gray" spelling for "grey".
fn mentions(reply: &Reply, word: &str) -> bool {
    let gray = word.replace("grey", "gray");
    reply.lines().iter().any(|l| {
        let l = l.as_str().to_ascii_lowercase();
        l.contains(word) || l.contains(&gray)
    })
}

/// The queue id in a positive reply's text, when it has one in a form a known server
/// writes; `None` for any other reply (conservative: no id rather than a wrong one).
///
/// | Server | Reply |
/// |---|---|
/// | Postfix, this workspace's test server, others | `250 2.0.0 Ok: queued as 4Xbc1234` |
/// | Exim | `250 OK id=1rAbCd-000123-45` |
/// | Sendmail, OpenSMTPD | `250 2.0.0 4ABCDEF123456 Message accepted for delivery` |
/// | Microsoft Exchange | `250 2.6.0 <…@…> [InternalId=123, Hostname=…] Queued mail for delivery` |
/// | Gmail | `250 2.0.0 OK 1700000000 d2-20020a17…si123 - gsmtp` |
///
/// An id is 4 to 64 characters of letters, digits, `.`, `_` and `-`, with at least one
/// digit (a word without one is more likely prose: "queued as usual"). The id returned
/// is a slice of one of [`Reply::lines`].
pub fn queue_id(reply: &Reply) -> Option<&str> {
    if !reply.is_positive() {
        return None;
    }
    reply.lines().iter().find_map(|l| id_in(l.as_str()))
}

/// The id in one line of text (see [`queue_id`]).
fn id_in(text: &str) -> Option<&str> {
    after(text, "queued as ")
        .or_else(|| after(text, "internalid="))
        .or_else(|| after(text, "id="))
        .or_else(|| before(text, " message accepted for delivery"))
        .or_else(|| before(text, " - gsmtp"))
}

/// The id right after `marker` (lower case; matched without ASCII case, at the start of
/// a word).
fn after<'a>(text: &'a str, marker: &str) -> Option<&'a str> {
    let lower = text.to_ascii_lowercase();
    let mut from = 0;
    while let Some(i) = lower[from..].find(marker).map(|i| i + from) {
        let at_word = lower[..i]
            .chars()
            .next_back()
            .is_none_or(|c| !c.is_ascii_alphanumeric());
        if at_word {
            return token(&text[i + marker.len()..]);
        }
        from = i + marker.len();
    }
    None
}

/// The id in the last word before `marker` (lower case; ASCII case ignored), which
/// must end the text's first part: `4ABCDEF123456 Message accepted for delivery`.
fn before<'a>(text: &'a str, marker: &str) -> Option<&'a str> {
    let i = text.to_ascii_lowercase().find(marker)?;
    let head = &text[..i];
    let start = head.rfind(' ').map_or(0, |s| s + 1);
    let word = &head[start..];
    token(word).filter(|t| t.len() == word.len())
}

/// The id at the start of `s`: its run of id characters, without a trailing `.` or
/// `-`, when it is one (see [`queue_id`]).
fn token(s: &str) -> Option<&str> {
    let end = s
        .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')))
        .unwrap_or(s.len());
    let t = s[..end].trim_end_matches(['.', '-']);
    let ok = (4..=64).contains(&t.len()) && t.bytes().any(|b| b.is_ascii_digit());
    ok.then_some(t)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn reply(wire: &str) -> Reply {
        Reply::from_bytes(format!("{wire}\r\n").as_bytes()).unwrap()
    }

    #[test]
    fn queue_ids_of_known_servers() {
        let cases = [
            ("250 2.0.0 Ok: queued as 4Xbc1234", Some("4Xbc1234")),
            ("250 2.0.0 Ok: queued as 3F2A1B0C9D", Some("3F2A1B0C9D")),
            ("250 2.0.0 Ok: queued as 4Xbc1234.", Some("4Xbc1234")),
            ("250 2.0.0 Ok: queued as 18F2A0S1M1", Some("18F2A0S1M1")),
            ("250 OK id=1rAbCd-000123-45", Some("1rAbCd-000123-45")),
            (
                "250 OK id=1tRw7c-00000000Bxf-2yE8",
                Some("1tRw7c-00000000Bxf-2yE8"),
            ),
            (
                "250 2.0.0 4ABCDEF123456 Message accepted for delivery",
                Some("4ABCDEF123456"),
            ),
            (
                "250 2.0.0 u9QKvoKn021786 Message accepted for delivery",
                Some("u9QKvoKn021786"),
            ),
            (
                "250 2.6.0 <a1b2@mail.example.com> [InternalId=12345678901234, Hostname=EX01.example.com] 1234 bytes in 0.120, 10.4 KB/sec Queued mail for delivery",
                Some("12345678901234"),
            ),
            (
                "250 2.0.0 OK  1700000000 d2-20020a170902e54200b001c3f5si1234567plf.123 - gsmtp",
                Some("d2-20020a170902e54200b001c3f5si1234567plf.123"),
            ),
        ];
        for (wire, want) in cases {
            assert_eq!(queue_id(&reply(wire)), want, "{wire}");
        }
    }

    #[test]
    fn no_queue_id_rather_than_a_wrong_one() {
        for wire in [
            "250 2.0.0 Ok: queued",
            "250 2.0.0 Ok",
            "250 2.0.0 Queued",
            "250 2.0.0 Ok: queued as usual",
            "250 2.0.0 Message accepted for delivery",
            "250 2.0.0 Please, Message accepted for delivery",
            "250 2.0.0 Ok: queued as 1",
            "250 2.1.5 Valid id=",
            "250 2.0.0 Ok pid=12345",
            // Not positive: a refusal names no queue.
            "550 5.7.1 Ok: queued as 4Xbc1234",
            "451 4.3.0 id=1rAbCd-000123-45 failed",
        ] {
            assert_eq!(queue_id(&reply(wire)), None, "{wire}");
        }
    }

    #[test]
    fn a_multi_line_reply_is_searched_line_by_line() {
        let r = Reply::from_bytes(b"250-2.0.0 Ok\r\n250 2.0.0 queued as ABC123\r\n").unwrap();
        assert_eq!(queue_id(&r), Some("ABC123"));
    }

    #[test]
    fn rate_limits_and_greylisting() {
        for (stage, wire) in [
            (Stage::Rcpt, "450 4.7.1 Greylisted, try again later"),
            (Stage::Rcpt, "451 4.7.1 Please try again later"),
            (Stage::Message, "451 4.7.1 Greylisted"),
            (Stage::Mail, "421 4.7.0 Too many connections from your IP"),
            (Stage::Greeting, "421 4.7.0 Try again later"),
            (
                Stage::Data,
                "451 4.7.500 Server busy. Please try again later",
            ),
            // Postgrey's default: X.2.0, but the text says what it is.
            (
                Stage::Rcpt,
                "450 4.2.0 <b@example.com>: Recipient address rejected: Greylisted",
            ),
            (Stage::Rcpt, "450 Graylisted, retry in 5 minutes"),
        ] {
            assert_eq!(
                reason_for_reply(stage, &reply(wire)),
                Reason::RateLimited,
                "{wire}"
            );
        }
        // A permanent policy refusal is not a rate limit, nor a 452.
        assert_eq!(
            reason_for_reply(Stage::Rcpt, &reply("550 5.7.1 Relay access denied")),
            Reason::RecipientRefused
        );
        assert_eq!(
            reason_for_reply(Stage::Rcpt, &reply("452 4.7.1 Try later")),
            Reason::RecipientRefused
        );
        assert_eq!(
            reason_for_reply(Stage::Rcpt, &reply("554 5.7.1 Greylisted forever")),
            Reason::RecipientRefused
        );
    }

    #[test]
    fn reasons_by_code_then_stage() {
        let cases = [
            (
                Stage::Rcpt,
                "550 5.1.1 No such user",
                Reason::RecipientRefused,
            ),
            (
                Stage::Rcpt,
                "452 4.2.2 Mailbox full",
                Reason::RecipientRefused,
            ),
            (Stage::Mail, "553 5.1.8 Bad sender", Reason::MessageRefused),
            (
                Stage::Data,
                "554 5.5.1 No valid recipients",
                Reason::MessageRefused,
            ),
            (Stage::Message, "554 5.7.1 Spam", Reason::MessageRefused),
            (
                Stage::Message,
                "451 4.3.0 Try later",
                Reason::MessageRefused,
            ),
            (Stage::Mail, "421 4.3.2 Shutting down", Reason::Connection),
            (Stage::Closing, "421 Bye", Reason::Connection),
            (Stage::Greeting, "554 5.7.1 Go away", Reason::Connection),
            (Stage::Ehlo, "550 Not you", Reason::Connection),
            (
                Stage::StartTls,
                "454 4.7.0 TLS not available",
                Reason::TlsPolicy,
            ),
            (
                Stage::Auth,
                "535 5.7.8 Bad credentials",
                Reason::Authentication,
            ),
            (Stage::Auth, "454 4.7.0 Try later", Reason::Authentication),
            (
                Stage::Mail,
                "530 5.7.0 Must issue a STARTTLS command first",
                Reason::TlsPolicy,
            ),
            (
                Stage::Mail,
                "530 5.7.0 Authentication required",
                Reason::Authentication,
            ),
            (
                Stage::Mail,
                "550 5.7.10 Encryption needed",
                Reason::TlsPolicy,
            ),
            (
                Stage::Auth,
                "538 5.7.11 Encryption required",
                Reason::TlsPolicy,
            ),
        ];
        for (stage, wire, want) in cases {
            assert_eq!(reason_for_reply(stage, &reply(wire)), want, "{wire}");
        }
    }

    #[test]
    fn reason_names_read_back() {
        for r in Reason::ALL {
            assert_eq!(r.as_str().parse::<Reason>().unwrap(), r);
            assert_eq!(r.to_string(), r.as_str());
        }
        assert!("RATE-LIMITED".parse::<Reason>().is_ok());
        assert!("greylisted".parse::<Reason>().is_err());
    }

    proptest! {
        #[test]
        fn queue_id_never_panics_and_is_part_of_the_text(
            code in prop::sample::select(vec![250u16, 251, 450, 550]),
            head in "[ -~]{0,20}",
            marker in prop::sample::select(vec![
                "", "queued as ", "QUEUED AS ", "id=", "InternalId=", " ",
            ]),
            id in "[A-Za-z0-9._\\-]{0,70}",
            tail in prop::sample::select(vec![
                "", " Message accepted for delivery", " - gsmtp", ".", ", Hostname=x]",
            ]),
        ) {
            let line = format!("{head}{marker}{id}{tail}");
            let Ok(r) = Reply::with_text(code, None, [line.as_str()]) else {
                return Ok(());
            };
            if let Some(found) = queue_id(&r) {
                prop_assert!(r.is_positive());
                prop_assert!(r.text().contains(found));
                prop_assert!((4..=64).contains(&found.len()));
                prop_assert!(found.bytes().any(|b| b.is_ascii_digit()));
            }
        }
    }
}
