//! Every canned reply of the server role, in one table: the session's own (as wire
//! bytes, RFC 5321 §4.2.2 codes, RFC 3463 enhanced codes; ENHANCEDSTATUSCODES is always
//! advertised, RFC 2034), the ones that name the host, and the ones a binding sends for
//! its own reasons (connection limits, timeouts, shutdown, local errors), as [`Reply`]
//! values.

use crate::error::ParseErrorKind;
use crate::types::reply::{EnhancedCode, Reply, ReplyCode};
use bytes::BytesMut;

/// Appends `prefix a[ b]\r\n`.
fn line(out: &mut BytesMut, prefix: &str, a: &str, b: &str) {
    out.extend_from_slice(prefix.as_bytes());
    out.extend_from_slice(a.as_bytes());
    if !b.is_empty() {
        out.extend_from_slice(b" ");
        out.extend_from_slice(b.as_bytes());
    }
    out.extend_from_slice(b"\r\n");
}

/// The greeting: `220 host text` (RFC 5321 §4.3.1).
pub(crate) fn greeting(out: &mut BytesMut, host: &str, text: &str) {
    line(out, "220 ", host, text);
}

/// The positive reply to HELO: `250 host`.
pub(crate) fn helo_ok(out: &mut BytesMut, host: &str) {
    line(out, "250 ", host, "");
}

/// A BDAT chunk other than the last received (RFC 3030 §2).
pub(crate) fn chunk_ok(out: &mut BytesMut, size: u64) {
    line(out, "250 2.0.0 ", &size.to_string(), "octets received");
}

/// `ServerOptions::max_errors` reached: RFC 5321 §3.8, 421 before closing.
pub(crate) fn too_many_errors(out: &mut BytesMut, host: &str) {
    line(out, "421 4.7.0 ", host, "Error: too many errors");
}

/// `ServerOptions::max_junk_commands` passed (Postfix's `smtpd_junk_command_limit`).
pub(crate) fn too_many_junk_commands(out: &mut BytesMut, host: &str) {
    line(
        out,
        "421 4.7.0 ",
        host,
        "Error: too many commands without mail",
    );
}

/// `ServerOptions::max_transactions` passed (RFC 9422 §4.1 MAILMAX). RFC 9422 defines
/// no reply; 421 closes (RFC 5321 §3.8, §4.5.3.1.10 lets a server refuse what passes
/// its limits) and X.5.3 is RFC 3463 §3.6's nearest code ("too many recipients"). The
/// client sends the rest on another connection.
pub(crate) fn too_many_transactions(out: &mut BytesMut, host: &str) {
    line(
        out,
        "421 4.5.3 ",
        host,
        "Too many transactions in this session, closing",
    );
}

/// A BDAT line that cannot be parsed: its chunk size is unknown, so the stream cannot go
/// on (RFC 3030 §2).
pub(crate) fn unframeable_bdat(out: &mut BytesMut, host: &str) {
    line(
        out,
        "421 4.5.0 ",
        host,
        "Error: unreadable BDAT command; closing",
    );
}

/// `334 base64(data)`: a SASL challenge (RFC 4954 §4).
pub(crate) fn challenge(out: &mut BytesMut, data: &[u8]) {
    use base64::Engine as _;
    out.extend_from_slice(b"334 ");
    out.extend_from_slice(
        base64::engine::general_purpose::STANDARD
            .encode(data)
            .as_bytes(),
    );
    out.extend_from_slice(b"\r\n");
}

/// The reply to a line that does not parse (see [`crate::ParseError::reply`]).
pub(crate) fn parse_error(kind: &ParseErrorKind) -> Reply {
    use ParseErrorKind as K;
    match kind {
        K::LineTooLong { .. } => fixed(500, (5, 5, 2), "Line too long"),
        K::AddressTooLong { part, sender, .. } => {
            fixed(501, (5, 1, if *sender { 7 } else { 3 }), part.reply_text())
        }
        K::BareLf => fixed(500, (5, 5, 2), "Bare LF received; lines must end with CRLF"),
        K::BareCr => fixed(500, (5, 5, 2), "Bare CR received; lines must end with CRLF"),
        K::UnknownCommand => fixed(500, (5, 5, 2), "Command not recognized"),
        K::UnknownParameter(_) => fixed(
            555,
            (5, 5, 4),
            "MAIL FROM/RCPT TO parameters not recognized or not implemented",
        ),
        K::Utf8NotAllowed { in_mail: true } => {
            fixed(550, (5, 6, 7), "Non-ASCII sender address requires SMTPUTF8")
        }
        K::Utf8NotAllowed { in_mail: false } => fixed(
            553,
            (5, 6, 7),
            "Non-ASCII recipient address requires SMTPUTF8",
        ),
        K::InvalidBase64 => fixed(501, (5, 5, 2), "Cannot decode base64"),
        K::AuthCancelled => fixed(501, (5, 7, 0), "Authentication cancelled"),
        _ => fixed(501, (5, 5, 4), "Syntax error in parameters or arguments"),
    }
}

fn fixed(code: u16, (c, s, d): (u8, u16, u16), text: &'static str) -> Reply {
    let code = ReplyCode::new(code).unwrap_or(ReplyCode::UNAVAILABLE);
    Reply::from_static(code, EnhancedCode::new(c, s, d).ok(), text)
}

/// `421 4.7.0`: a connection limit refuses a new connection (RFC 5321 §3.8).
pub fn too_many_connections() -> Reply {
    fixed(421, (4, 7, 0), "Too many connections, try again later")
}

/// `421 4.3.2`: the server is shutting down (RFC 3463 X.3.2 "system not accepting
/// network messages").
pub fn shutting_down() -> Reply {
    fixed(421, (4, 3, 2), "Service shutting down, closing connection")
}

/// `421 4.4.2`: the client was silent for longer than the RFC 5321 §4.5.3.2 timeout.
pub fn timeout() -> Reply {
    fixed(421, (4, 4, 2), "Timeout exceeded, closing connection")
}

/// `421 4.3.0`: the application failed at connect time, or could not answer usably.
pub fn local_error_closing() -> Reply {
    fixed(421, (4, 3, 0), "Local error, closing connection")
}

/// `451 4.3.0`: the application gave a decision that does not fit this step.
pub fn local_error() -> Reply {
    fixed(451, (4, 3, 0), "Local error in processing")
}

/// `451 4.3.0`: the application did not decide in time.
pub fn decision_timeout() -> Reply {
    fixed(
        451,
        (4, 3, 0),
        "Local processing timed out, try again later",
    )
}

/// `451 4.3.0`: no decision was given for an (LMTP) recipient or the message; a missing
/// decision is a temporary failure, never an acceptance.
pub fn no_decision() -> Reply {
    fixed(451, (4, 3, 0), "No decision for this message")
}

/// `552 5.3.4`: the message is larger than the application will take (RFC 3463 X.3.4
/// "message too big for system").
pub fn message_too_big() -> Reply {
    fixed(552, (5, 3, 4), "Message too big")
}

/// `535 5.7.8`: the credentials were refused (RFC 4954 §6).
pub fn auth_failed() -> Reply {
    fixed(535, (5, 7, 8), "Authentication credentials invalid")
}

/// `454 4.7.0`: the authentication exchange could not go on (RFC 4954 §6).
pub fn auth_temporary_failure() -> Reply {
    fixed(454, (4, 7, 0), "Temporary authentication failure")
}

/// `221 2.0.0`: QUIT.
pub(crate) const BYE: &[u8] = b"221 2.0.0 Bye\r\n";

/// `RSET`, `NOOP`.
pub(crate) const OK: &[u8] = b"250 2.0.0 Ok\r\n";
/// MAIL accepted.
pub(crate) const MAIL_OK: &[u8] = b"250 2.1.0 Ok\r\n";
/// RCPT accepted.
pub(crate) const RCPT_OK: &[u8] = b"250 2.1.5 Ok\r\n";
/// DATA accepted (RFC 5321 §4.2.2 354).
pub(crate) const DATA_OK: &[u8] = b"354 End data with <CR><LF>.<CR><LF>\r\n";
/// Message accepted.
pub(crate) const QUEUED: &[u8] = b"250 2.0.0 Ok: queued\r\n";
/// RFC 5321 §3.5.3: VRFY answered without disclosing anything.
pub(crate) const VRFY: &[u8] =
    b"252 2.5.0 Cannot VRFY user, but will accept message and attempt delivery\r\n";
/// EXPN is not offered (RFC 5321 §3.5.2 lets sites disable it, §7.3).
pub(crate) const EXPN: &[u8] = b"502 5.5.1 EXPN not available\r\n";
/// HELP (RFC 5321 §4.1.1.8).
pub(crate) const HELP: &[u8] = b"214 2.0.0 See RFC 5321\r\n";
/// RFC 3207 §4: ready for the handshake.
pub(crate) const STARTTLS_GO: &[u8] = b"220 2.0.0 Ready to start TLS\r\n";
/// RFC 3207 §4.2: STARTTLS is not offered once TLS is active.
pub(crate) const TLS_ACTIVE: &[u8] = b"554 5.5.1 Error: TLS already active\r\n";
/// Plaintext pipelined after STARTTLS (CVE-2011-0411 class): refused, connection closed.
pub(crate) const STARTTLS_INJECTION: &[u8] =
    b"554 5.5.1 Error: commands pipelined after STARTTLS; closing\r\n";
/// An extension command that is not offered in this session.
pub(crate) const NOT_IMPLEMENTED: &[u8] = b"502 5.5.1 Error: command not implemented\r\n";
/// RFC 5321 §4.1.4: HELO/EHLO first.
pub(crate) const NEED_HELO: &[u8] = b"503 5.5.1 Error: send HELO/EHLO first\r\n";
/// RFC 2033 §4.1: LMTP needs LHLO.
pub(crate) const NEED_LHLO: &[u8] = b"503 5.5.1 Error: send LHLO first\r\n";
/// An extension command after HELO (HELO disables extensions).
pub(crate) const NEED_EHLO: &[u8] = b"503 5.5.1 Error: send EHLO first\r\n";
/// HELO/EHLO in LMTP mode (RFC 2033 §4.1).
pub(crate) const LMTP_LHLO_ONLY: &[u8] = b"500 5.5.1 Error: LMTP requires LHLO\r\n";
/// LHLO in SMTP mode (the same text as an unknown verb, [`parse_error`]).
pub(crate) const UNKNOWN: &[u8] = b"500 5.5.2 Command not recognized\r\n";
/// RFC 5321 §4.1.4.
pub(crate) const NESTED_MAIL: &[u8] = b"503 5.5.1 Error: nested MAIL command\r\n";
/// RFC 5321 §4.1.4.
pub(crate) const NEED_MAIL: &[u8] = b"503 5.5.1 Error: need MAIL command\r\n";
/// RFC 5321 §3.3.
pub(crate) const NEED_RCPT: &[u8] = b"503 5.5.1 Error: need RCPT command\r\n";
/// RFC 5321 §3.3: "no valid recipients" (554); LMTP uses 503 (RFC 2033 §4.2).
pub(crate) const NO_VALID_RCPT: &[u8] = b"554 5.5.1 Error: no valid recipients\r\n";
/// RFC 2033 §4.2.
pub(crate) const NO_VALID_RCPT_LMTP: &[u8] = b"503 5.5.1 Error: no valid recipients\r\n";
/// RFC 3030 §3: DATA after `BODY=BINARYMIME`.
pub(crate) const BINARY_NEEDS_BDAT: &[u8] = b"503 5.5.1 Error: BINARYMIME requires BDAT\r\n";
/// RFC 3030 §2: DATA and BDAT cannot be mixed; RCPT after BDAT.
pub(crate) const BDAT_IN_PROGRESS: &[u8] = b"503 5.5.1 Error: BDAT transfer in progress\r\n";
/// RFC 3030 §2: a BDAT chunk pipelined after a failed one (drained, not counted).
pub(crate) const BDAT_FAILED: &[u8] = b"503 5.5.1 Error: BDAT transfer failed; send RSET\r\n";
/// STARTTLS or AUTH inside a transaction.
pub(crate) const IN_TRANSACTION: &[u8] = b"503 5.5.1 Error: MAIL transaction in progress\r\n";
/// RFC 5321 §4.5.3.1.10.
pub(crate) const TOO_MANY_RCPTS: &[u8] = b"452 4.5.3 Error: too many recipients\r\n";
/// `ServerOptions::max_recipient_domains` (RFC 9422 §4.3 RCPTDOMAINMAX): transient,
/// like [`TOO_MANY_RCPTS`] (RFC 5321 §4.5.3.1.10, RFC 3463 §3.6); the client sends the
/// recipient on another connection.
pub(crate) const TOO_MANY_DOMAINS: &[u8] =
    b"452 4.5.3 Too many recipient domains in this session\r\n";
/// RFC 1870 §6.
pub(crate) const TOO_BIG: &[u8] = b"552 5.3.4 Message size exceeds fixed maximum message size\r\n";
/// Bare LF in a body (SMTP smuggling defence).
pub(crate) const BODY_BARE_LF: &[u8] =
    b"550 5.5.2 Error: bare <LF> received; lines must end with <CR><LF>\r\n";
/// Bare CR in a body.
pub(crate) const BODY_BARE_CR: &[u8] =
    b"550 5.5.2 Error: bare <CR> received; lines must end with <CR><LF>\r\n";
/// RFC 5321 §4.1.1.11.
pub(crate) const PARAM_NOT_OFFERED: &[u8] =
    b"555 5.5.4 Error: MAIL FROM/RCPT TO parameter not recognized or not implemented\r\n";
/// RFC 3207 §4: TLS required.
pub(crate) const NEED_TLS: &[u8] = b"530 5.7.0 Must issue a STARTTLS command first\r\n";
/// RFC 4954 §6.
pub(crate) const NEED_AUTH: &[u8] = b"530 5.7.0 Authentication required\r\n";
/// RFC 4954 §6.
pub(crate) const AUTH_NEEDS_TLS: &[u8] =
    b"538 5.7.11 Encryption required for requested authentication mechanism\r\n";
/// RFC 4954 §4.
pub(crate) const AUTH_UNKNOWN_MECH: &[u8] = b"504 5.5.4 Unrecognized authentication type\r\n";
/// RFC 4954 §4: "After an AUTH command has been successfully completed, no more AUTH
/// commands may be issued in the same session."
pub(crate) const AUTH_ALREADY: &[u8] = b"503 5.5.1 Error: already authenticated\r\n";
/// RFC 4954 §6.
pub(crate) const AUTH_OK: &[u8] = b"235 2.7.0 Authentication successful\r\n";
/// RFC 4954 §4: the client cancelled with `*`.
pub(crate) const AUTH_CANCELLED: &[u8] = b"501 5.7.0 Authentication cancelled\r\n";
/// RFC 4616 §2: PLAIN asked to act as another identity, and the application does not
/// check proxy authorization (`ServerOptions::auth_proxy`). RFC 4954 §6: 535 5.7.8.
pub(crate) const AUTH_AUTHZID_REFUSED: &[u8] =
    b"535 5.7.8 Error: authorization identity not permitted\r\n";
/// RFC 4954 §4: undecodable response.
pub(crate) const AUTH_BAD_BASE64: &[u8] = b"501 5.5.2 Cannot decode response\r\n";
/// RFC 4616 §2: malformed PLAIN message, or non-UTF-8 LOGIN names.
pub(crate) const AUTH_MALFORMED: &[u8] = b"501 5.5.2 Malformed authentication response\r\n";
/// RFC 4954 §4.
pub(crate) const AUTH_LINE_TOO_LONG: &[u8] =
    b"500 5.5.6 Authentication exchange line is too long\r\n";
/// An empty SASL challenge (PLAIN without an initial response).
pub(crate) const AUTH_EMPTY_CHALLENGE: &[u8] = b"334 \r\n";
/// LOGIN's prompts, base64 of "Username:" and "Password:".
pub(crate) const LOGIN_USER: &[u8] = b"334 VXNlcm5hbWU6\r\n";
/// See [`LOGIN_USER`].
pub(crate) const LOGIN_PASS: &[u8] = b"334 UGFzc3dvcmQ6\r\n";
