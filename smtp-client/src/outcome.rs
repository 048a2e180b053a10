//! One typed [`Outcome`] per recipient, whatever happened: delivered (with the server's
//! final reply and its queue id), or a transient or permanent failure with its
//! [`Reason`]; what an MTA's queue needs to retry, bounce or log.
//!
//! The rules that read a reply are the core's ([`smtp_proto::client::outcome`]); this
//! module applies them to a [`RecipientResult`], an [`Error`] and a whole send
//! ([`outcomes`]). With the `serde` feature, [`Outcome`] and [`RecipientOutcome`]
//! serialise (replies as their wire text, `"550 5.1.1 No such user"`, the lines of a
//! multi-line one joined with `\n`), for queues and logs.

use crate::delivery::{Delivery, RecipientResult};
use crate::error::Error;
use smtp_proto::client::Envelope;
use smtp_proto::client::outcome::{Reason, queue_id, reason_for_reply};
use smtp_proto::client::policy::{Needed, PolicyViolation};
use smtp_proto::{Reply, Stage};
use std::fmt;

/// Whether a recipient got the message, and if not whether it may later.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(rename_all = "kebab-case")
)]
pub enum OutcomeStatus {
    /// The server accepted the message for the recipient (a `2yz` final reply; in
    /// LMTP, the recipient's own).
    Delivered,
    /// Not delivered, but trying again later may succeed: keep it queued.
    Transient,
    /// Not delivered, and trying again will not help: bounce it.
    Permanent,
}

/// What became of a message for one recipient: delivered, or a transient or permanent
/// failure, with its [`Reason`], the server's reply when one decided, the queue id the
/// server gave an accepted message, and a short detail for a failure no reply explains.
///
/// `Display` is one line: `delivered: 250 2.0.0 Ok: queued as 4F2A`, `transient failure
/// (rate-limited): 450 4.7.1 Greylisted`, `transient failure (connection): connecting to
/// mx.example.com:25: Connection refused`.
///
/// ```
/// use smtp_client::{Outcome, Reason, Reply};
///
/// let queued = Reply::from_bytes(b"250 2.0.0 Ok: queued as 4F2A0B1\r\n").unwrap();
/// let o = Outcome::delivered(queued);
/// assert!(o.is_delivered() && o.reason().is_none());
/// assert_eq!(o.queue_id(), Some("4F2A0B1"));
///
/// let greylisted = Reply::from_bytes(b"450 4.7.1 Greylisted\r\n").unwrap();
/// let o = Outcome::failed(Reason::RateLimited, true, Some(greylisted), None);
/// assert!(o.is_transient());
/// assert_eq!(o.to_string(), "transient failure (rate-limited): 450 4.7.1 Greylisted");
/// ```
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Outcome {
    status: OutcomeStatus,
    #[cfg_attr(
        feature = "serde",
        serde(
            default,
            skip_serializing_if = "Option::is_none",
            with = "wire::reason"
        )
    )]
    reason: Option<Reason>,
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none", with = "wire::reply")
    )]
    reply: Option<Reply>,
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    queue_id: Option<String>,
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    detail: Option<String>,
}

impl Outcome {
    /// Delivered, with the server's final reply; the queue id is read from its text
    /// when it has one in a known form ([`queue_id`]).
    pub fn delivered(reply: Reply) -> Self {
        Self {
            status: OutcomeStatus::Delivered,
            reason: None,
            queue_id: queue_id(&reply).map(str::to_owned),
            reply: Some(reply),
            detail: None,
        }
    }

    /// Not delivered, for `reason`; `transient` when trying again may help. `reply` is
    /// the server's reply that decided, `detail` a short text for a failure without one
    /// (the error; kept to one line).
    pub fn failed(
        reason: Reason,
        transient: bool,
        reply: Option<Reply>,
        detail: Option<String>,
    ) -> Self {
        let status = if transient {
            OutcomeStatus::Transient
        } else {
            OutcomeStatus::Permanent
        };
        Self {
            status,
            reason: Some(reason),
            reply,
            queue_id: None,
            detail: detail.map(|d| d.replace(['\r', '\n'], " ")),
        }
    }

    /// Delivered, transient or permanent.
    pub fn status(&self) -> OutcomeStatus {
        self.status
    }

    /// Whether the server accepted the message for the recipient.
    pub fn is_delivered(&self) -> bool {
        self.status == OutcomeStatus::Delivered
    }

    /// Whether the message did not reach the recipient but may later (defer, retry).
    pub fn is_transient(&self) -> bool {
        self.status == OutcomeStatus::Transient
    }

    /// Whether the message did not reach the recipient and never will as sent (bounce).
    pub fn is_permanent(&self) -> bool {
        self.status == OutcomeStatus::Permanent
    }

    /// Why the message did not reach the recipient (`None` when it did).
    pub fn reason(&self) -> Option<Reason> {
        self.reason
    }

    /// The server's reply that decided: the final reply of a delivery, a refusal.
    /// `None` for a failure the server did not answer (a connection error, a timeout,
    /// a local error, a recipient never tried).
    pub fn reply(&self) -> Option<&Reply> {
        self.reply.as_ref()
    }

    /// The queue id in the final reply of a delivery, when it has one in a known form
    /// (see [`queue_id`](smtp_proto::client::outcome::queue_id)).
    pub fn queue_id(&self) -> Option<&str> {
        self.queue_id.as_deref()
    }

    /// A short text for a failure no reply explains: the error's message.
    pub fn detail(&self) -> Option<&str> {
        self.detail.as_deref()
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.status {
            OutcomeStatus::Delivered => f.write_str("delivered")?,
            OutcomeStatus::Transient => f.write_str("transient failure")?,
            OutcomeStatus::Permanent => f.write_str("permanent failure")?,
        }
        if let Some(reason) = self.reason {
            write!(f, " ({reason})")?;
        }
        match (&self.reply, &self.detail) {
            (Some(reply), _) => write!(f, ": {reply}"),
            (None, Some(detail)) => write!(f, ": {detail}"),
            (None, None) => Ok(()),
        }
    }
}

/// One recipient and its [`Outcome`]: what [`outcomes`] and [`Delivery::outcomes`]
/// give. `Display`: `bob@example.com: permanent failure (recipient-refused): 550 5.1.1
/// No such user`.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct RecipientOutcome {
    /// The recipient as the caller wrote it (see
    /// [`Envelope::recipient_as_written`](crate::Envelope::recipient_as_written)).
    pub address: String,
    /// What became of the message for it.
    pub outcome: Outcome,
}

impl RecipientOutcome {
    /// `address`'s outcome.
    pub fn new(address: impl Into<String>, outcome: Outcome) -> Self {
        Self {
            address: address.into(),
            outcome,
        }
    }
}

impl fmt::Display for RecipientOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.address, self.outcome)
    }
}

impl RecipientResult {
    /// This recipient's [`Outcome`]:
    ///
    /// - a positive final reply (the message's; in LMTP the recipient's own):
    ///   delivered, with that reply and its queue id;
    /// - no reply at all (not tried: the server's `MAILMAX` came first, or the
    ///   connection ended): transient, [`Reason::Connection`];
    /// - a refusal: transient for `4yz`, permanent for `5yz` (as
    ///   [`RecipientResult::is_transient`]), its reason by
    ///   [`reason_for_reply`](smtp_proto::client::outcome::reason_for_reply) at the step
    ///   refused: the RCPT ([`Reason::RecipientRefused`]), MAIL when the RCPT was never
    ///   answered, DATA, a BDAT chunk or the message ([`Reason::MessageRefused`]); a
    ///   `421`/`450`/`451` with `4.7.x` is [`Reason::RateLimited`] at any step.
    pub fn outcome(&self) -> Outcome {
        let Some(reply) = &self.reply else {
            let why = "no reply: the recipient was not tried, or the connection ended first";
            return Outcome::failed(Reason::Connection, true, None, Some(why.to_owned()));
        };
        if reply.is_positive() {
            return Outcome::delivered(reply.clone());
        }
        let stage = match &self.rcpt_reply {
            None => Stage::Mail,
            Some(r) if !r.is_positive() => Stage::Rcpt,
            Some(_) => Stage::Message,
        };
        let reason = reason_for_reply(stage, reply);
        Outcome::failed(reason, reply.is_transient(), Some(reply.clone()), None)
    }
}

impl Delivery {
    /// Every recipient's [`Outcome`] ([`RecipientResult::outcome`]), in the envelope's
    /// order, named as the caller wrote it.
    pub fn outcomes(&self) -> Vec<RecipientOutcome> {
        self.recipients
            .iter()
            .map(|r| RecipientOutcome::new(r.address.clone(), r.outcome()))
            .collect()
    }
}

impl Error {
    /// The [`Outcome`] of this failure for every recipient it hit (a refused message has
    /// one per recipient instead: see [`outcomes`]). Transient exactly when
    /// [`Error::is_transient`] says so. The reason:
    ///
    /// | Error | Reason |
    /// |---|---|
    /// | `Rejected`, `MessageRefused` | by its reply at its stage ([`reason_for_reply`](smtp_proto::client::outcome::reason_for_reply)) |
    /// | `Tls`, a `Policy` violation of the TLS policy, plaintext injected after STARTTLS ([`Error::is_tls_failure`]) | [`Reason::TlsPolicy`] |
    /// | `Policy`: AUTH not offered | [`Reason::Authentication`] |
    /// | `Policy`: an extension the message needs, too big | [`Reason::MessageRefused`] |
    /// | `Timeout`, `Connect`/`Io` of kind `TimedOut` | [`Reason::Timeout`] |
    /// | `Connect`, `Io`, `Protocol` (the server broke it), `Dns`, `Closed`, `LimitReached` | [`Reason::Connection`] |
    /// | `Config`, `Body`, `LineTooLong`, `Protocol` of a misuse, another `Policy` | [`Reason::Local`] |
    ///
    /// A local error is permanent unless `is_transient` says otherwise: the same
    /// message sent the same way fails the same way.
    pub fn outcome(&self) -> Outcome {
        let transient = self.is_transient();
        let reply = self.reply().cloned();
        let reason = match self {
            Self::Rejected { stage, reply, .. } | Self::MessageRefused { stage, reply, .. } => {
                reason_for_reply(*stage, reply)
            }
            _ if self.is_tls_failure() => Reason::TlsPolicy,
            Self::Policy { violation, .. } => match violation {
                PolicyViolation::MissingExtension {
                    extension: Needed::Auth(_),
                    ..
                } => Reason::Authentication,
                PolicyViolation::MissingExtension { .. } | PolicyViolation::TooBig { .. } => {
                    Reason::MessageRefused
                }
                _ => Reason::Local,
            },
            Self::Tls { .. } => Reason::TlsPolicy,
            Self::Timeout { .. } => Reason::Timeout,
            Self::Connect { source, .. } | Self::Io { source, .. }
                if source.kind() == std::io::ErrorKind::TimedOut =>
            {
                Reason::Timeout
            }
            Self::Protocol {
                error: smtp_proto::Error::Misuse(_),
                ..
            } => Reason::Local,
            Self::Config(_) | Self::Body(_) | Self::LineTooLong { .. } => Reason::Local,
            Self::Connect { .. }
            | Self::Io { .. }
            | Self::Protocol { .. }
            | Self::Dns { .. }
            | Self::Closed
            | Self::LimitReached { .. } => Reason::Connection,
        };
        let detail = reply.is_none().then(|| self.to_string());
        Outcome::failed(reason, transient, reply, detail)
    }
}

/// One [`RecipientOutcome`] per recipient of `envelope`, in its order, whatever `result`
/// (of sending it) was: a delivery's own ([`Delivery::outcomes`]), a refused message's
/// delivery (`Error::MessageRefused`, see [`Error::delivery`]), or, for an error that
/// hit every recipient, that error's [`Error::outcome`] for each, named as the caller
/// wrote it ([`Envelope::recipient_as_written`]).
///
/// ```
/// use smtp_client::{Envelope, Error, Reason, outcomes};
///
/// let env = Envelope::new("a@example.org", ["b@example.com", "<c@example.com>"]).unwrap();
/// let refused = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
/// let result = Err(Error::Connect { server: "mx.example.com:25".into(), source: refused });
/// let each = outcomes(&env, &result);
/// assert_eq!(each.len(), 2);
/// assert_eq!(each[1].address, "<c@example.com>");
/// assert!(each[1].outcome.is_transient());
/// assert_eq!(each[1].outcome.reason(), Some(Reason::Connection));
/// ```
pub fn outcomes(envelope: &Envelope, result: &Result<Delivery, Error>) -> Vec<RecipientOutcome> {
    match result {
        Ok(delivery) => delivery.outcomes(),
        Err(e) => e.recipient_outcomes(envelope),
    }
}

impl Error {
    /// One [`RecipientOutcome`] per recipient of `envelope` after this error: its
    /// delivery's when it has one ([`Error::delivery`]), else [`Error::outcome`] for
    /// each (see [`outcomes`]).
    pub fn recipient_outcomes(&self, envelope: &Envelope) -> Vec<RecipientOutcome> {
        if let Some(delivery) = self.delivery() {
            return delivery.outcomes();
        }
        let outcome = self.outcome();
        envelope
            .recipients
            .iter()
            .map(|(path, _)| {
                let address = envelope.recipient_as_written(path).into_owned();
                RecipientOutcome::new(address, outcome.clone())
            })
            .collect()
    }
}

/// The serde forms: a [`Reason`] by its name, a [`Reply`] by its wire text.
#[cfg(feature = "serde")]
mod wire {
    /// `Option<Reason>` as its name (`"rate-limited"`), read back by `FromStr`.
    pub(super) mod reason {
        use serde::{Deserialize, Deserializer, Serializer, de::Error as _};
        use smtp_proto::client::outcome::Reason;

        pub(crate) fn serialize<S: Serializer>(
            r: &Option<Reason>,
            s: S,
        ) -> Result<S::Ok, S::Error> {
            match r {
                Some(r) => s.serialize_some(r.as_str()),
                None => s.serialize_none(),
            }
        }

        pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
            d: D,
        ) -> Result<Option<Reason>, D::Error> {
            Option::<String>::deserialize(d)?
                .map(|s| s.parse().map_err(D::Error::custom))
                .transpose()
        }
    }

    /// `Option<Reply>` as its wire text without CRLF, the lines joined with `\n`
    /// (`"250-first\n250 2.0.0 last"`), read back with `Reply::from_bytes`.
    pub(super) mod reply {
        use serde::{Deserialize, Deserializer, Serializer, de::Error as _};
        use smtp_proto::{Encode, Reply};

        pub(crate) fn serialize<S: Serializer>(r: &Option<Reply>, s: S) -> Result<S::Ok, S::Error> {
            match r {
                Some(r) => {
                    let wire = r.to_bytes();
                    let text = String::from_utf8_lossy(&wire);
                    let text = text.trim_end_matches("\r\n").replace("\r\n", "\n");
                    s.serialize_some(&text)
                }
                None => s.serialize_none(),
            }
        }

        pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
            d: D,
        ) -> Result<Option<Reply>, D::Error> {
            let Some(text) = Option::<String>::deserialize(d)? else {
                return Ok(None);
            };
            let mut wire = String::with_capacity(text.len() + 2);
            for line in text.trim_end_matches(['\r', '\n']).split('\n') {
                wire.push_str(line.trim_end_matches('\r'));
                wire.push_str("\r\n");
            }
            Reply::from_bytes(wire.as_bytes())
                .map(Some)
                .map_err(|e| D::Error::custom(format_args!("reply {text:?}: {e}")))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use smtp_proto::ForwardPath;

    fn reply(wire: &str) -> Reply {
        Reply::from_bytes(format!("{wire}\r\n").as_bytes()).unwrap()
    }

    fn result(rcpt: Option<&str>, fin: Option<&str>) -> RecipientResult {
        let env = Envelope::new("a@example.org", ["b@example.com"]).unwrap();
        let path: ForwardPath = env.recipients[0].0.clone();
        let mut r = RecipientResult::untried(&env, &path);
        r.rcpt_reply = rcpt.map(reply);
        r.reply = fin.map(reply);
        r
    }

    #[test]
    fn a_recipient_result_by_its_replies() {
        let cases = [
            (
                Some("250 2.1.5 Ok"),
                Some("250 2.0.0 Ok: queued as 4F2A01"),
                OutcomeStatus::Delivered,
                None,
            ),
            (
                Some("550 5.1.1 No such user"),
                Some("550 5.1.1 No such user"),
                OutcomeStatus::Permanent,
                Some(Reason::RecipientRefused),
            ),
            (
                Some("450 4.7.1 Greylisted"),
                Some("450 4.7.1 Greylisted"),
                OutcomeStatus::Transient,
                Some(Reason::RateLimited),
            ),
            (
                Some("250 2.1.5 Ok"),
                Some("554 5.7.1 Spam"),
                OutcomeStatus::Permanent,
                Some(Reason::MessageRefused),
            ),
            (
                Some("250 2.1.5 Ok"),
                Some("451 4.7.1 Try later"),
                OutcomeStatus::Transient,
                Some(Reason::RateLimited),
            ),
            (
                None,
                Some("553 5.1.8 Bad sender"),
                OutcomeStatus::Permanent,
                Some(Reason::MessageRefused),
            ),
            (
                None,
                Some("421 4.3.2 Shutting down"),
                OutcomeStatus::Transient,
                Some(Reason::Connection),
            ),
            (
                Some("250 2.1.5 Ok"),
                None,
                OutcomeStatus::Transient,
                Some(Reason::Connection),
            ),
        ];
        for (rcpt, fin, status, reason) in cases {
            let r = result(rcpt, fin);
            let o = r.outcome();
            assert_eq!(
                (o.status(), o.reason()),
                (status, reason),
                "{rcpt:?} {fin:?}"
            );
            assert_eq!(o.is_transient(), r.is_transient(), "{rcpt:?} {fin:?}");
            assert_eq!(o.is_delivered(), r.delivered());
            assert_eq!(o.reply(), r.reply.as_ref());
        }
        assert_eq!(
            result(None, None).outcome().reason(),
            Some(Reason::Connection)
        );
        let d = result(Some("250 Ok"), Some("250 2.0.0 Ok: queued as 4F2A01")).outcome();
        assert_eq!(d.queue_id(), Some("4F2A01"));
        assert_eq!(d.to_string(), "delivered: 250 2.0.0 Ok: queued as 4F2A01");
    }

    #[test]
    fn errors_agree_with_is_transient() {
        let io = |k| std::io::Error::from(k);
        let errors = [
            Error::Config("bad".into()),
            Error::Body("bare LF".into()),
            Error::LineTooLong { limit: 1000 },
            Error::Closed,
            Error::Connect {
                server: "x".into(),
                source: io(std::io::ErrorKind::ConnectionRefused),
            },
            Error::from(io(std::io::ErrorKind::TimedOut)),
            Error::Dns {
                reason: "NXDOMAIN".into(),
                permanent: true,
            },
            Error::Rejected {
                stage: Stage::Auth,
                reply: reply("535 5.7.8 Bad credentials"),
                report: None,
            },
            Error::Rejected {
                stage: Stage::Closing,
                reply: reply("421 4.7.0 Too many connections"),
                report: None,
            },
        ];
        let want = [
            Reason::Local,
            Reason::Local,
            Reason::Local,
            Reason::Connection,
            Reason::Connection,
            Reason::Timeout,
            Reason::Connection,
            Reason::Authentication,
            Reason::RateLimited,
        ];
        for (e, want) in errors.iter().zip(want) {
            let o = e.outcome();
            assert_eq!(o.reason(), Some(want), "{e:?}");
            assert_eq!(o.is_transient(), e.is_transient(), "{e:?}");
            assert!(!o.is_delivered());
            assert_eq!(o.reply(), e.reply());
            assert_eq!(o.detail().is_some(), e.reply().is_none());
        }
    }
}
