//! [`ServerEvent`]: what the server session hands the application.

use crate::secret::Secret;
use crate::types::command::Mechanism;
use crate::types::domain::Host;
use crate::types::params::{MailParams, RcptParams};
use crate::types::path::{ForwardPath, ReversePath};
use bytes::Bytes;

/// Which greeting command the client used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HelloVerb {
    /// `HELO`: plain SMTP, extensions disabled.
    Helo,
    /// `EHLO`: ESMTP.
    Ehlo,
    /// `LHLO`: LMTP (RFC 2033).
    Lhlo,
}

/// Credentials from a built-in SASL mechanism (`PLAIN`, RFC 4616, or `LOGIN`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
    /// The mechanism used.
    pub mechanism: Mechanism,
    /// The authorization identity (PLAIN only; `None` when empty: act as `username`).
    pub authzid: Option<String>,
    /// The authentication identity (user name).
    pub username: String,
    /// The password; redacted from `Debug`.
    pub password: Secret<String>,
}

impl Credentials {
    /// The identity the client acts as once the application accepts these credentials:
    /// the authorization identity when one was given, else the user name. An authzid
    /// other than the user name only reaches the application when it checks proxy
    /// authorization (`ServerOptions::auth_proxy`); otherwise the session refused it.
    pub fn identity(&self) -> &str {
        self.authzid.as_deref().unwrap_or(&self.username)
    }
}

/// Why a message in progress was given up. The session answers the client itself (after
/// the end of the body, so the stream stays in sync); the application should drop what
/// it has received of the body.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AbortReason {
    /// A bare LF in the body (`550 5.5.2` after the end of data).
    BareLf,
    /// A bare CR in the body (`550 5.5.2` after the end of data).
    BareCr,
    /// The body passed [`crate::ServerOptions::max_message_size`] (`552 5.3.4`).
    TooBig,
    /// The connection closed before the end of the body.
    ConnectionClosed,
}

/// An event for the application. Events marked *decision* wait for exactly one of the
/// session's `accept`, `accept_with`, `reject` (or `challenge`) before the next `poll`.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServerEvent {
    /// *Decision.* `HELO`/`EHLO`/`LHLO`. Accepting answers with the capability list
    /// (EHLO/LHLO) or `250 hostname` (HELO). Any transaction was reset before this event.
    Hello {
        /// The command used.
        verb: HelloVerb,
        /// The name the client gave.
        host: Host,
    },
    /// *Decision.* Credentials from `AUTH PLAIN` or `AUTH LOGIN`. Accept with `235`,
    /// reject with e.g. `535 5.7.8`.
    Auth(Credentials),
    /// *Decision.* One step of another SASL mechanism: the initial response (or `None`
    /// when the client sent none), then each response to a `challenge`. Answer with
    /// `challenge(bytes)`, `accept` or `reject`.
    AuthStep {
        /// The mechanism.
        mechanism: Mechanism,
        /// The decoded response; redacted from `Debug`.
        response: Option<Secret<Bytes>>,
    },
    /// *Decision.* `MAIL FROM`. Parameters the session does not offer were already
    /// refused with `555`; `SIZE` was already checked.
    Mail {
        /// The sender (`<>` for bounces).
        from: ReversePath,
        /// The parameters.
        params: MailParams,
    },
    /// *Decision.* `RCPT TO`.
    Rcpt {
        /// The recipient.
        to: ForwardPath,
        /// The parameters.
        params: RcptParams,
    },
    /// *Decision.* `DATA`, with at least one recipient accepted. Accepting sends `354`
    /// and the body follows as [`ServerEvent::Body`] chunks.
    Data,
    /// A piece of the message body (dot-unstuffed for DATA; BDAT chunks as sent).
    Body(Bytes),
    /// *Decision.* The body is complete and clean. Accept to queue the message. In LMTP
    /// mode this event comes once per accepted recipient, in RCPT order, each with its
    /// own decision and reply (RFC 2033 §4.2).
    MessageEnd {
        /// LMTP: the recipient this decision is for. `None` in SMTP (one decision for
        /// the whole message).
        recipient: Option<ForwardPath>,
    },
    /// The message in progress is given up; the session replies on its own.
    MessageAborted(AbortReason),
    /// The transaction (and any body in progress) was discarded: `RSET`, or a new
    /// `HELO`/`EHLO` in the middle of a transaction (RFC 5321 §4.1.4).
    Reset,
}
