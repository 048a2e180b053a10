//! [`Error`]: what can go wrong, and whether trying again later may help.

use crate::report::Delivery;
use smtp_proto::client::policy::PolicyViolation;
use smtp_proto::{Reply, Timeout};
use std::io;

/// Why a connection, a session or a message failed.
///
/// [`Error::is_transient`] tells a temporary failure (a `4xx` reply, a network fault,
/// a TLS policy that could not be met now: an MTA keeps the message queued) from a
/// permanent one (a `5xx` reply, a message the server can never take: bounce it).
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The options are unusable (a bad certificate file, an unknown host name form).
    #[error("configuration: {0}")]
    Config(String),
    /// The host name did not resolve, or no address could be connected to.
    #[error("connecting to {server}: {source}")]
    Connect {
        /// The server as given.
        server: String,
        /// What the socket said.
        #[source]
        source: io::Error,
    },
    /// A timeout expired while waiting for the server (RFC 5321 §4.5.3.2).
    #[error("timed out {stage}")]
    Timeout {
        /// What was awaited: `"connecting"`, `"TLS handshake"`, or a reply (e.g.
        /// `"waiting for the reply to RCPT"`).
        stage: String,
    },
    /// Reading or writing the connection failed.
    #[error("connection: {0}")]
    Io(#[from] io::Error),
    /// The TLS handshake failed, or its certificate did not satisfy the policy. For a
    /// certificate, `reason` says why (expired, unknown issuer, name mismatch, no TLSA
    /// match); the session was abandoned before any command was sent over it.
    #[error("TLS with {server} failed (policy {policy}): {reason}")]
    Tls {
        /// The host connected to.
        server: String,
        /// The policy level applied.
        policy: &'static str,
        /// What failed.
        reason: String,
    },
    /// The TLS policy (or another local rule) forbids going on: STARTTLS missing or
    /// refused, AUTH without TLS, a message the server cannot take.
    #[error(transparent)]
    Policy(#[from] PolicyViolation),
    /// The server refused the session (greeting, EHLO, AUTH) or closed it with 421.
    #[error("server refused {stage}: {reply}")]
    Rejected {
        /// What was refused.
        stage: &'static str,
        /// The server's reply.
        reply: Reply,
    },
    /// The server refused the message: MAIL, every recipient, DATA/BDAT, or the
    /// message after its end. The [`Delivery`] holds every reply.
    #[error("message refused at {stage}: {reply}")]
    MessageRefused {
        /// `"MAIL"`, `"RCPT"`, `"DATA"` or `"message"`.
        stage: &'static str,
        /// The deciding reply (for RCPT: a transient one if any recipient got one).
        reply: Reply,
        /// Every reply of the transaction.
        delivery: Box<Delivery>,
    },
    /// The server broke the protocol (an unparseable or over-long reply, a reply no
    /// command asked for, a reply code the command cannot get, a response injected after
    /// the STARTTLS reply, an early close). Transient: the message was not delivered,
    /// or not with certainty.
    #[error("protocol: {0}")]
    Protocol(smtp_proto::Error),
    /// The message body could not be sent as given (an undeclared 8-bit byte, a bare
    /// line ending under `BareEndingsOut::Refuse`, a read error of the body stream).
    /// The connection was closed: SMTP cannot take back a body once started.
    #[error("message body: {0}")]
    Body(String),
    /// A line of the message is longer than `limit` octets with its CRLF (RFC 5321
    /// §4.5.3.1.6: 1,000; the dot that stuffing doubles is not counted). Encode the
    /// message (quoted-printable, base64), or send it with `BODY=BINARYMIME` to a
    /// server that offers it with CHUNKING. Found in a body held in memory, nothing was
    /// sent and the connection stays usable; found in a streamed body, the message was
    /// abandoned unfinished and the connection closed. Permanent.
    #[error("message body: a line is longer than {limit} octets")]
    LineTooLong {
        /// The limit, in octets including CRLF.
        limit: usize,
    },
    /// Resolving the destination failed: no such domain or a null MX (permanent), or
    /// a lookup failure (transient).
    #[error("DNS: {reason}")]
    Dns {
        /// What failed.
        reason: String,
        /// Whether it can never succeed (NXDOMAIN, null MX: RFC 7505).
        permanent: bool,
    },
    /// The connection is closed (after `quit`, or an earlier error).
    #[error("the connection is closed")]
    Closed,
}

impl Error {
    /// Whether trying again later may succeed (an MTA defers rather than bounces).
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Config(_) | Self::Body(_) | Self::LineTooLong { .. } => false,
            Self::Rejected { reply, .. } | Self::MessageRefused { reply, .. } => {
                !reply.is_permanent()
            }
            Self::Policy(v) => !matches!(
                v,
                PolicyViolation::MissingExtension { .. } | PolicyViolation::TooBig { .. }
            ),
            Self::Protocol(smtp_proto::Error::Misuse(_)) => false,
            Self::Dns { permanent, .. } => !permanent,
            _ => true,
        }
    }

    /// Whether the TLS policy was not met: STARTTLS missing, refused or stripped, the
    /// handshake failed, the certificate was not acceptable, or plaintext was injected
    /// around the upgrade.
    pub fn is_tls_failure(&self) -> bool {
        match self {
            Self::Tls { .. } => true,
            Self::Policy(v) => matches!(
                v,
                PolicyViolation::StartTlsNotOffered { .. }
                    | PolicyViolation::StartTlsRefused { .. }
                    | PolicyViolation::NotVerified { .. }
                    | PolicyViolation::TlsaLookupFailed { .. }
                    | PolicyViolation::AuthWithoutTls { .. }
            ),
            Self::Protocol(smtp_proto::Error::Peer(
                smtp_proto::PeerMisbehaved::PlaintextAfterStartTlsReply { .. },
            )) => true,
            _ => false,
        }
    }

    /// The server's reply behind this error, when there is one.
    pub fn reply(&self) -> Option<&Reply> {
        match self {
            Self::Rejected { reply, .. } | Self::MessageRefused { reply, .. } => Some(reply),
            _ => None,
        }
    }

    /// The replies of the refused transaction, for [`Error::MessageRefused`].
    pub fn delivery(&self) -> Option<&Delivery> {
        match self {
            Self::MessageRefused { delivery, .. } => Some(delivery),
            _ => None,
        }
    }

    pub(crate) fn timeout(t: Timeout) -> Self {
        let stage = match t {
            Timeout::Greeting => "waiting for the greeting",
            Timeout::Rcpt => "waiting for the reply to RCPT",
            Timeout::DataInit => "waiting for the reply to DATA",
            Timeout::DataBlock => "sending the message",
            Timeout::DataTermination => "waiting for the reply to the message",
            _ => "waiting for a reply",
        };
        Self::Timeout {
            stage: stage.to_owned(),
        }
    }
}

impl From<smtp_proto::Error> for Error {
    fn from(e: smtp_proto::Error) -> Self {
        match e {
            smtp_proto::Error::Policy(v) => Self::Policy(v),
            smtp_proto::Error::Rejected { stage, reply } => Self::Rejected { stage, reply },
            smtp_proto::Error::Misuse(smtp_proto::ApiMisuse::LineTooLong { limit }) => {
                Self::LineTooLong { limit }
            }
            other => Self::Protocol(other),
        }
    }
}
