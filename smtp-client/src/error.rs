//! [`Error`]: what can go wrong, whether trying again later may help, and what the
//! session had got when it failed.

use crate::delivery::Delivery;
use crate::report::SessionReport;
use crate::verify::CertFailure;
use smtp_proto::Stage;
use smtp_proto::client::policy::{Level, PolicyViolation};
use smtp_proto::client::tlsrpt::ResultType;
use smtp_proto::{Reply, Timeout};
use std::io;

/// Why a connection, a session or a message failed.
///
/// [`Error::is_transient`] tells a temporary failure (a `4xx` reply, a network fault,
/// a TLS policy that could not be met now: an MTA keeps the message queued) from a
/// permanent one (a `5xx` reply, a message the server can never take: bounce it).
///
/// A failure after the connection was made still tells what the session had got:
/// [`Error::report`] gives the [`SessionReport`] so far (the TLS facts after a refused
/// AUTH, the capabilities after a refused STARTTLS).
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
        /// What was awaited, in words: `"resolving …"`, `"in the TLS handshake"`, or a
        /// reply (`"waiting for the greeting"`, `"waiting for the reply to RCPT"`). A
        /// connect that times out is an `Io` error of kind `TimedOut`.
        stage: String,
        /// What the session had got, when the timeout came after connecting (see
        /// [`Error::report`]).
        report: Option<Box<SessionReport>>,
    },
    /// Reading or writing the connection failed.
    #[error("connection: {source}")]
    Io {
        /// What the socket said.
        source: io::Error,
        /// What the session had got (see [`Error::report`]).
        report: Option<Box<SessionReport>>,
    },
    /// The TLS handshake failed, or its certificate did not satisfy the policy. For a
    /// certificate, `reason` says why (expired, unknown issuer, name mismatch, no TLSA
    /// match); the session was abandoned before any command was sent over it.
    #[error("TLS with {server} failed (policy {policy}): {reason}")]
    Tls {
        /// The host connected to.
        server: String,
        /// The policy level applied.
        policy: Level,
        /// What failed.
        reason: String,
        /// What was wrong with the certificate, when the policy refused it (`None`:
        /// the handshake itself failed, e.g. no common protocol version or cipher).
        certificate: Option<CertFailure>,
        /// What the session had got (see [`Error::report`]).
        report: Option<Box<SessionReport>>,
    },
    /// The TLS policy (or another local rule) forbids going on: STARTTLS missing or
    /// refused, AUTH without TLS, a message the server cannot take.
    #[error("{violation}")]
    Policy {
        /// What the policy forbids.
        violation: PolicyViolation,
        /// What the session had got (see [`Error::report`]).
        report: Option<Box<SessionReport>>,
    },
    /// The server refused the session (greeting, EHLO, AUTH) or closed it with 421.
    #[error("server refused {stage}: {reply}")]
    Rejected {
        /// What was refused.
        stage: Stage,
        /// The server's reply.
        reply: Reply,
        /// What the session had got (see [`Error::report`]).
        report: Option<Box<SessionReport>>,
    },
    /// The server refused the message for every recipient: at MAIL, every RCPT,
    /// DATA/BDAT, or after its end. The [`Delivery`] holds every reply, in the same
    /// shape as a message that was accepted ([`Error::delivery`],
    /// [`Error::into_delivery`]).
    #[error("message refused at {stage}: {reply}")]
    MessageRefused {
        /// `Mail`, `Rcpt` (every recipient), `Data` (DATA or a BDAT chunk) or `Message`.
        stage: Stage,
        /// The deciding reply (for RCPT: a transient one if any recipient got one).
        reply: Reply,
        /// Every reply of the transaction.
        delivery: Box<Delivery>,
        /// What the session had got (see [`Error::report`]).
        report: Option<Box<SessionReport>>,
    },
    /// The server broke the protocol (an unparseable or over-long reply, a reply no
    /// command asked for, a reply code the command cannot get, a response injected after
    /// the STARTTLS reply, an early close). Transient: the message was not delivered,
    /// or not with certainty.
    #[error("protocol: {error}")]
    Protocol {
        /// What the session found.
        error: smtp_proto::Error,
        /// What the session had got (see [`Error::report`]).
        report: Option<Box<SessionReport>>,
    },
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
    /// Nothing of the message could go on this connection under the server's limits
    /// (RFC 9422): its `MAILMAX` transactions are spent, or every recipient's domain
    /// would take the session past `RCPTDOMAINMAX`. Nothing was sent and the
    /// connection stays usable for other messages; send this one on another
    /// connection. The [`Delivery`] has every recipient untried (no reply). Transient.
    #[error("the server's limits leave no room for this message on this connection")]
    LimitReached {
        /// Every recipient, untried.
        delivery: Box<Delivery>,
    },
}

impl Error {
    /// Whether trying again later may succeed (an MTA defers rather than bounces).
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Config(_) | Self::Body(_) | Self::LineTooLong { .. } => false,
            Self::Rejected { reply, .. } | Self::MessageRefused { reply, .. } => {
                !reply.is_permanent()
            }
            Self::Policy { violation, .. } => !matches!(
                violation,
                PolicyViolation::MissingExtension { .. }
                    | PolicyViolation::TooBig { .. }
                    | PolicyViolation::RequireTls { .. }
            ),
            Self::Protocol {
                error: smtp_proto::Error::Misuse(_),
                ..
            } => false,
            Self::Dns { permanent, .. } => !permanent,
            _ => true,
        }
    }

    /// The TLS-RPT result type (RFC 8460 §4.3) of this failure, when it is a TLS
    /// failure a report files (`None` for others: a refused message, a network
    /// error). `dane`: the host was under DANE (certificate mismatches are then
    /// `tlsa-invalid`, a missing STARTTLS `dane-required`).
    pub fn tls_report_type(&self, dane: bool) -> Option<ResultType> {
        use PolicyViolation as V;
        match self {
            Self::Policy { violation, .. } => match violation {
                V::StartTlsNotOffered { .. } | V::StartTlsRefused { .. } if dane => {
                    Some(ResultType::DaneRequired)
                }
                V::StartTlsNotOffered { .. } | V::StartTlsRefused { .. } => {
                    Some(ResultType::StartTlsNotSupported)
                }
                V::TlsaLookupFailed { .. } => Some(ResultType::DnssecInvalid),
                V::NotVerified { .. } if dane => Some(ResultType::TlsaInvalid),
                V::NotVerified { .. } => Some(ResultType::ValidationFailure),
                _ => None,
            },
            Self::Tls { certificate, .. } => Some(match (certificate, dane) {
                (Some(CertFailure::TlsaMismatch), _) | (Some(_), true) => ResultType::TlsaInvalid,
                (Some(CertFailure::Expired), _) => ResultType::CertificateExpired,
                (Some(CertFailure::NameMismatch), _) => ResultType::CertificateHostMismatch,
                (Some(CertFailure::UnknownIssuer), _) => ResultType::CertificateNotTrusted,
                _ => ResultType::ValidationFailure,
            }),
            _ => None,
        }
    }

    /// Whether trying again can never succeed: `!is_transient()`.
    pub fn is_permanent(&self) -> bool {
        !self.is_transient()
    }

    /// Whether the TLS policy was not met: STARTTLS missing, refused or stripped, the
    /// handshake failed, the certificate was not acceptable, plaintext was injected
    /// around the upgrade, or a REQUIRETLS message found no next hop that meets it.
    pub fn is_tls_failure(&self) -> bool {
        match self {
            Self::Tls { .. } => true,
            Self::Policy { violation, .. } => matches!(
                violation,
                PolicyViolation::StartTlsNotOffered { .. }
                    | PolicyViolation::StartTlsRefused { .. }
                    | PolicyViolation::NotVerified { .. }
                    | PolicyViolation::TlsaLookupFailed { .. }
                    | PolicyViolation::AuthWithoutTls { .. }
                    | PolicyViolation::RequireTls { .. }
            ),
            Self::Protocol {
                error:
                    smtp_proto::Error::Peer(smtp_proto::PeerMisbehaved::PlaintextAfterStartTlsReply {
                        ..
                    }),
                ..
            } => true,
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

    /// The replies of the refused transaction, for [`Error::MessageRefused`]: the same
    /// [`Delivery`] as for an accepted message, with [`DeliveryStatus::Refused`]; for
    /// [`Error::LimitReached`], every recipient untried.
    ///
    /// [`DeliveryStatus::Refused`]: crate::DeliveryStatus::Refused
    pub fn delivery(&self) -> Option<&Delivery> {
        match self {
            Self::MessageRefused { delivery, .. } | Self::LimitReached { delivery } => {
                Some(delivery)
            }
            _ => None,
        }
    }

    /// The [`Delivery`] of a wholly refused message (or of one
    /// [`Error::LimitReached`] left untried), and any other error as it is: with
    /// `.or_else(Error::into_delivery)`, a send gives a `Delivery` whether the message
    /// was accepted, partly refused or refused, and `?` still stops at errors that
    /// have no per-recipient answer (see the [crate docs](crate#results)).
    pub fn into_delivery(self) -> Result<Delivery, Self> {
        match self {
            Self::MessageRefused { delivery, .. } | Self::LimitReached { delivery } => {
                Ok(*delivery)
            }
            other => Err(other),
        }
    }

    /// What the session had got when it failed, for an error after the connection was
    /// made (`Rejected`, `MessageRefused`, `Policy`, `Tls`, `Protocol`, `Io`, `Timeout` from
    /// [`Connection::connect`](crate::Connection::connect) and friends,
    /// [`Connection::send`](crate::Connection::send) and MX delivery): the server,
    /// greeting, capabilities, and the TLS facts when TLS was up. `None` before a
    /// connection existed, and for the kinds that carry none (the errors of `send` that
    /// leave the caller its connection and its report: `Body`, `LineTooLong`,
    /// `Closed`).
    pub fn report(&self) -> Option<&SessionReport> {
        match self {
            Self::Io { report, .. }
            | Self::Timeout { report, .. }
            | Self::Tls { report, .. }
            | Self::Policy { report, .. }
            | Self::Rejected { report, .. }
            | Self::MessageRefused { report, .. }
            | Self::Protocol { report, .. } => report.as_deref(),
            _ => None,
        }
    }

    /// The error with `session` as its report, unless it has one already.
    pub(crate) fn with_report(mut self, session: &SessionReport) -> Self {
        if let Self::Io { report, .. }
        | Self::Timeout { report, .. }
        | Self::Tls { report, .. }
        | Self::Policy { report, .. }
        | Self::Rejected { report, .. }
        | Self::MessageRefused { report, .. }
        | Self::Protocol { report, .. } = &mut self
        {
            report.get_or_insert_with(|| Box::new(session.clone()));
        }
        self
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
            report: None,
        }
    }
}

impl From<io::Error> for Error {
    fn from(source: io::Error) -> Self {
        Self::Io {
            source,
            report: None,
        }
    }
}

impl From<PolicyViolation> for Error {
    fn from(violation: PolicyViolation) -> Self {
        Self::Policy {
            violation,
            report: None,
        }
    }
}

impl From<smtp_proto::Error> for Error {
    fn from(e: smtp_proto::Error) -> Self {
        match e {
            smtp_proto::Error::Policy(v) => v.into(),
            smtp_proto::Error::Rejected { stage, reply } => Self::Rejected {
                stage,
                reply,
                report: None,
            },
            smtp_proto::Error::Misuse(smtp_proto::ApiMisuse::LineTooLong { limit }) => {
                Self::LineTooLong { limit }
            }
            error => Self::Protocol {
                error,
                report: None,
            },
        }
    }
}
