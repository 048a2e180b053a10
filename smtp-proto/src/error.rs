//! Typed errors of the codec layer.
//!
//! Two kinds of failure exist at this layer, split by who is at fault (STYLE rule 9):
//! - [`ParseError`]: the *peer* sent bytes that are not valid SMTP. It says what was wrong
//!   ([`ParseErrorKind`]) and where (byte offset within the line), and suggests the reply a
//!   server sends for it ([`ParseError::reply`]).
//! - [`ValueError`]: the *local program* tried to build a wire value (domain, path, reply
//!   text, parameter …) that the grammar does not allow. Values that could forge a protocol
//!   line (CR, LF, NUL, other controls) are refused here, so encoding can never fail.

use crate::types::reply::Reply;

/// The peer's bytes are not valid SMTP.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{kind} (at byte {offset} of the line)")]
pub struct ParseError {
    kind: ParseErrorKind,
    offset: usize,
    close: bool,
}

impl ParseError {
    pub(crate) fn new(kind: ParseErrorKind, offset: usize) -> Self {
        Self {
            kind,
            offset,
            close: false,
        }
    }

    pub(crate) fn closing(mut self) -> Self {
        self.close = true;
        self
    }

    /// Whether the stream cannot continue after this error, so the server must reply and
    /// close. True for a malformed `BDAT` line: its chunk size is unknown, and reading the
    /// chunk's bytes as commands would open a smuggling gap with any relay that framed
    /// them as data (RFC 3030 §2 gives no way to resynchronise).
    pub fn must_close(&self) -> bool {
        self.close
    }

    /// The same error in a MAIL command: an over-long address is the sender's.
    pub(crate) fn of_sender(mut self) -> Self {
        if let ParseErrorKind::AddressTooLong { sender, .. } = &mut self.kind {
            *sender = true;
        }
        self
    }

    /// The same error with its offset moved by `by` (found in a part of the line).
    pub(crate) fn shifted(mut self, by: usize) -> Self {
        self.offset += by;
        self
    }

    /// What was wrong.
    pub fn kind(&self) -> &ParseErrorKind {
        &self.kind
    }

    /// Byte offset within the offending line (0 for framing errors at the line start).
    pub fn offset(&self) -> usize {
        self.offset
    }

    /// The reply a server sends for this error (RFC 5321 §4.2.2, RFC 3463 enhanced codes).
    ///
    /// - over-long line: `500 5.5.2` (RFC 5321 §4.5.3.1.10: "500 Line too long"; X.5.6
    ///   is reserved for an over-long AUTH exchange line, RFC 4954 §4, which the server
    ///   answers itself)
    /// - unknown verb, bare CR/LF: `500 5.5.2`
    /// - over-long address part: `501 5.1.7` in MAIL, `501 5.1.3` in RCPT and VRFY
    ///   (RFC 5321 §4.5.3.1.10: "501 Path too long"; RFC 3463 §3.2)
    /// - unknown MAIL/RCPT parameter: `555 5.5.4` (RFC 5321 §4.1.1.11)
    /// - duplicate or malformed parameter: `501 5.5.4` (RFC 3461 §4.5)
    /// - non-ASCII address without SMTPUTF8: `550 5.6.7` in MAIL, `553 5.6.7` in RCPT
    ///   (RFC 6531 §3.5)
    /// - invalid base64 in AUTH: `501 5.5.2`; `*` as initial response: `501 5.7.0`
    ///   (RFC 4954 §4)
    /// - any other argument syntax error: `501 5.5.4`
    pub fn reply(&self) -> Reply {
        crate::server::replies::parse_error(&self.kind)
    }
}

/// What was wrong with the peer's bytes.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseErrorKind {
    /// A line exceeded its limit (including the CRLF).
    #[error("line longer than {limit} octets")]
    LineTooLong {
        /// The limit in force, in octets including CRLF.
        limit: usize,
    },
    /// An LF not preceded by CR (RFC 5321 §2.3.8: lines end with CRLF only).
    #[error("bare LF (LF not preceded by CR)")]
    BareLf,
    /// A CR not followed by LF.
    #[error("bare CR (CR not followed by LF)")]
    BareCr,
    /// The command verb is not one we know.
    #[error("unknown command")]
    UnknownCommand,
    /// The grammar expected something else here.
    #[error("syntax error: expected {0}")]
    Expected(&'static str),
    /// The command takes no (further) argument, but one was given.
    #[error("unexpected argument")]
    UnexpectedArgument,
    /// A domain or address literal is malformed or too long.
    #[error("invalid domain or address literal: {0}")]
    InvalidHost(&'static str),
    /// Non-ASCII in an address while neither the command nor the session allows SMTPUTF8
    /// (RFC 6531 §3.4).
    #[error("non-ASCII address without SMTPUTF8")]
    Utf8NotAllowed {
        /// In a MAIL command (reply 550) rather than RCPT (reply 553).
        in_mail: bool,
    },
    /// Bytes above 0x7F that are not valid UTF-8.
    #[error("invalid UTF-8")]
    InvalidUtf8,
    /// A MAIL/RCPT parameter keyword appeared twice.
    #[error("duplicate parameter {0}")]
    DuplicateParameter(String),
    /// A known MAIL/RCPT parameter has a malformed value.
    #[error("invalid value for parameter {0}")]
    InvalidParameter(String),
    /// A MAIL/RCPT parameter that this command does not define (only reported by callers
    /// that reject unknown parameters; the decoder keeps them).
    #[error("unknown parameter {0}")]
    UnknownParameter(String),
    /// More MAIL/RCPT parameters than this library accepts on one line.
    #[error("more than {limit} parameters")]
    TooManyParameters {
        /// The limit.
        limit: usize,
    },
    /// A number does not fit its type.
    #[error("number out of range")]
    NumberOutOfRange,
    /// AUTH initial response or SASL response is not valid base64 (RFC 4648).
    #[error("invalid base64")]
    InvalidBase64,
    /// `*` as an AUTH initial response: the client cancelled (RFC 4954 §4).
    #[error("authentication cancelled")]
    AuthCancelled,
    /// A reply code outside `%x32-35 %x30-35 %x30-39` (RFC 5321 §4.2).
    #[error("invalid reply code")]
    InvalidReplyCode,
    /// The lines of one multiline reply carry different codes (RFC 5321 §4.2.1).
    #[error("reply code changed within a multiline reply")]
    MixedReplyCodes,
    /// A multiline reply has more lines than the limit.
    #[error("reply has more than {limit} lines")]
    TooManyReplyLines {
        /// The limit in force.
        limit: usize,
    },
    /// A control character where only text is allowed.
    #[error("control character in text")]
    ControlCharacter,
    /// A part of an address in MAIL, RCPT or VRFY is over its limit
    /// ([`crate::limits::AddressLimits`], RFC 5321 §4.5.3.1.1–3).
    #[error("{part} longer than {limit} octets")]
    AddressTooLong {
        /// Which part.
        part: AddressPart,
        /// The limit in force.
        limit: usize,
        /// In a MAIL command (the sender's address; `5.1.7` rather than `5.1.3`).
        sender: bool,
    },
    /// Input ended inside an incomplete value (only from the one-shot `from_bytes` helpers).
    #[error("incomplete input")]
    Incomplete,
    /// More bytes followed the complete value (only from the one-shot `from_bytes` helpers).
    #[error("trailing bytes after the value")]
    TrailingBytes,
}

/// A part of an address with a length limit (RFC 5321 §4.5.3.1.1–3).
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AddressPart {
    /// The local part (§4.5.3.1.1, 64 octets).
    #[error("local part")]
    LocalPart,
    /// The domain or address literal (§4.5.3.1.2, 255 octets).
    #[error("domain")]
    Domain,
    /// One label of the domain (RFC 1035 §2.3.4, 63 octets).
    #[error("domain label")]
    Label,
    /// The whole path with its angle brackets (§4.5.3.1.3, 256 octets).
    #[error("path")]
    Path,
}

impl AddressPart {
    pub(crate) fn reply_text(self) -> &'static str {
        match self {
            AddressPart::LocalPart => "Local part too long",
            AddressPart::Domain => "Domain too long",
            AddressPart::Label => "Domain label too long",
            AddressPart::Path => "Path too long",
        }
    }
}

/// A value the local program tried to build is not allowed by the grammar.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ValueError {
    /// A byte that may not appear in this value. CR, LF and NUL are always refused, so an
    /// encoded value can never contain a forged protocol line.
    #[error("{what}: byte {byte:#04x} not allowed (at {at})")]
    ForbiddenByte {
        /// The kind of value.
        what: &'static str,
        /// The offending byte.
        byte: u8,
        /// Its offset.
        at: usize,
    },
    /// The value does not follow its grammar.
    #[error("{what}: invalid syntax at {at}")]
    Syntax {
        /// The kind of value.
        what: &'static str,
        /// Offset of the first byte that does not fit.
        at: usize,
    },
    /// The value may not be empty.
    #[error("{what}: empty")]
    Empty {
        /// The kind of value.
        what: &'static str,
    },
    /// The value is longer than allowed.
    #[error("{what}: longer than {max}")]
    TooLong {
        /// The kind of value.
        what: &'static str,
        /// The maximum length.
        max: usize,
    },
    /// A parameter that has a typed field, or that is already present (keywords compare
    /// case-insensitively, RFC 5321 §2.4).
    #[error("parameter {keyword} is typed or already present")]
    DuplicateParameter {
        /// The keyword.
        keyword: String,
    },
    /// A number outside its range.
    #[error("{what}: out of range")]
    OutOfRange {
        /// The kind of value.
        what: &'static str,
    },
    /// An enhanced status code whose class disagrees with the reply code's first digit
    /// (RFC 3463 §2: a `5.1.1` belongs to a `5yz` reply, never to a `250`).
    #[error("enhanced code {enhanced} does not agree with reply code {code}")]
    EnhancedCodeMismatch {
        /// The reply code.
        code: u16,
        /// The enhanced code given with it.
        enhanced: crate::types::reply::EnhancedCode,
    },
}

/// A session (server or client state machine) stopped or refused a call.
///
/// Split by who is at fault (STYLE rule 9). After [`Error::Peer`] the session is
/// terminal: it yields any final reply, then [`crate::Output::Close`]. [`Error::Misuse`]
/// leaves the session as it was, so the program can correct the call.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The peer broke the protocol in a way that ends the connection.
    #[error("peer misbehaved: {0}")]
    Peer(#[from] PeerMisbehaved),
    /// The local program called the session out of turn.
    #[error("API misuse: {0}")]
    Misuse(#[from] ApiMisuse),
    /// The TLS policy (or another local rule) forbids going on.
    #[error("policy: {0}")]
    Policy(#[from] crate::client::policy::PolicyViolation),
    /// The server refused the session at this stage (greeting, EHLO/HELO, AUTH), or
    /// closed it with `421`.
    #[error("server refused {stage}: {reply}")]
    Rejected {
        /// What was refused.
        stage: Stage,
        /// The server's reply.
        reply: crate::types::reply::Reply,
    },
}

/// Peer behaviour that ends a session.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PeerMisbehaved {
    /// The client sent bytes after its `STARTTLS` line before the TLS handshake: a
    /// command-injection attempt (CVE-2011-0411 class). The bytes were discarded unread.
    #[error("{discarded} bytes of plaintext after STARTTLS (command injection)")]
    PlaintextAfterStartTls {
        /// How many bytes were discarded.
        discarded: usize,
    },
    /// More protocol errors than `ServerOptions::max_errors`; the server sent 421.
    #[error("too many protocol errors ({count})")]
    TooManyErrors {
        /// Errors counted.
        count: usize,
    },
    /// More commands that do no work (NOOP, RSET, VRFY, EXPN, HELP, repeated HELO/EHLO)
    /// than `ServerOptions::max_junk_commands`; the server sent 421.
    #[error("too many commands without mail ({count})")]
    TooManyJunkCommands {
        /// Junk commands counted.
        count: usize,
    },
    /// More MAIL commands in one session than `ServerOptions::max_transactions`
    /// (RFC 9422 §4.1 MAILMAX); the server sent 421.
    #[error("too many transactions in one session ({count} MAIL commands)")]
    TooManyTransactions {
        /// MAIL commands counted, the refused one included.
        count: u32,
    },
    /// The server sent bytes after its `220` reply to STARTTLS, before the handshake:
    /// a response-injection attempt. The bytes were discarded unread.
    #[error("{discarded} bytes of plaintext after the STARTTLS reply (response injection)")]
    PlaintextAfterStartTlsReply {
        /// How many bytes were discarded.
        discarded: usize,
    },
    /// The server's reply does not parse (bad code, over-long line, endless multiline).
    #[error("invalid reply: {0}")]
    InvalidReply(crate::error::ParseError),
    /// A reply with a code its command cannot get (RFC 5321 §4.3.2): a positive reply
    /// other than `354` to DATA, other than `220` to STARTTLS, a `3yz` outside DATA and
    /// AUTH.
    #[error("unexpected reply {code}")]
    UnexpectedReply {
        /// Its code.
        code: u16,
    },
    /// The server sent bytes when no reply was awaited (after the greeting, between
    /// transactions, while a body was being sent, after the last reply): they answer no
    /// command, so nothing more is sent (RFC 5321 §4.2, RFC 2920 §3.1).
    #[error("{octets} octets from the server when no reply was awaited")]
    UnsolicitedReply {
        /// How many octets were unread when this was found.
        octets: usize,
        /// The reply code they start with, if they start with three digits.
        code: Option<u16>,
    },
    /// The connection closed before the session ended.
    #[error("connection closed by the server")]
    ConnectionClosed,
    /// A `BDAT` line that could not be parsed: the chunk size is unknown, so the stream
    /// cannot be resynchronised (RFC 3030 §2).
    #[error("unparseable BDAT command")]
    UnframeableBdat,
}

/// A call the session cannot accept in its current state. The session is unchanged.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApiMisuse {
    /// `poll` was called while an event still waits for `accept`/`reject`.
    #[error("an event is waiting for a decision")]
    DecisionPending,
    /// A decision was given but no event waits for one.
    #[error("no event is waiting for a decision")]
    NoDecisionPending,
    /// The reply's class does not fit the call (e.g. `reject` with a 2xx reply).
    #[error("reply {code} does not fit: expected {expected}")]
    ReplyClass {
        /// The code given.
        code: u16,
        /// What the call needs.
        expected: &'static str,
    },
    /// The call does not apply to the pending event (e.g. `challenge` outside AUTH).
    #[error("this call does not apply to the pending event")]
    WrongEvent,
    /// `poll` was called after `StartTls` and before `tls_established`.
    #[error("the TLS handshake has not been reported yet")]
    HandshakePending,
    /// `tls_established` was called when no upgrade was under way.
    #[error("no TLS upgrade is under way")]
    NoUpgrade,
    /// The session is not ready for this call (e.g. `send` before `Ready`, or while a
    /// transaction is in progress; `body` before `SendBody`).
    #[error("the session is not ready for this call")]
    NotReady,
    /// A transaction needs at least one recipient.
    #[error("no recipients")]
    NoRecipients,
    /// The body holds 8-bit bytes but the envelope did not say so (`eight_bit`).
    #[error("8-bit body not declared in the envelope")]
    UndeclaredEightBit,
    /// A bare CR or LF in the body under `BareEndingsOut::Refuse`.
    #[error("bare CR or LF in the body")]
    BareLineEnding,
    /// A body line is longer than `Limits::text_line`, CRLF included and a stuffed dot
    /// not (RFC 5321 §4.5.3.1.6). Found mid-stream, it ends the session: see `ClientSession::body`.
    #[error("a body line is longer than {limit} octets")]
    LineTooLong {
        /// The limit, in octets including CRLF.
        limit: usize,
    },
}

/// The step of a client session that a server refused.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Stage {
    /// The greeting (not `220`).
    Greeting,
    /// `EHLO`.
    Ehlo,
    /// `LHLO` (LMTP).
    Lhlo,
    /// `HELO`.
    Helo,
    /// `STARTTLS`.
    StartTls,
    /// `AUTH`.
    Auth,
    /// `MAIL`.
    Mail,
    /// `RCPT` (every recipient refused).
    Rcpt,
    /// `DATA`, or a `BDAT` chunk.
    Data,
    /// The message, after its end.
    Message,
    /// A `421` at any point: the server closed the session.
    Closing,
    /// `NOOP` (a check of an idle connection).
    Noop,
}

impl Stage {
    /// The name in messages: `greeting`, `EHLO`, …, `message`, `session (421)`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Greeting => "greeting",
            Self::Ehlo => "EHLO",
            Self::Lhlo => "LHLO",
            Self::Helo => "HELO",
            Self::StartTls => "STARTTLS",
            Self::Auth => "AUTH",
            Self::Mail => "MAIL",
            Self::Rcpt => "RCPT",
            Self::Data => "DATA",
            Self::Message => "message",
            Self::Closing => "session (421)",
            Self::Noop => "NOOP",
        }
    }
}

impl std::fmt::Display for Stage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `stage == "AUTH"`: compares with [`Stage::as_str`].
impl PartialEq<&str> for Stage {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}
