//! [`ClientEvent`] and the [`TransactionResult`] it carries.

use crate::secret::Secret;
use crate::types::capability::Capabilities;
use crate::types::path::ForwardPath;
use crate::types::reply::Reply;

use super::policy::TlsOutcome;

/// The outcome of one transaction: every reply, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransactionResult {
    /// The reply to MAIL.
    pub mail: Option<Reply>,
    /// Each recipient with its reply to RCPT (`None`: not sent or not answered).
    pub recipients: Vec<(ForwardPath, Option<Reply>)>,
    /// A refusal of `DATA` (or of a `BDAT` chunk): the body was not (wholly) accepted.
    pub refused: Option<Reply>,
    /// The reply to the message: one, or in LMTP one per accepted recipient in order.
    /// Empty when the body was not sent.
    pub message: Vec<Reply>,
}

impl TransactionResult {
    /// Whether the message was accepted for at least one recipient.
    pub fn delivered(&self) -> bool {
        !self.message.is_empty() && self.message.iter().any(Reply::is_positive)
    }

    /// Each recipient with its final reply: its RCPT refusal, or for an accepted one
    /// the message's reply (in LMTP its own), or the refusal of the body.
    pub fn per_recipient(&self) -> Vec<(&ForwardPath, Option<&Reply>)> {
        let mut lmtp = self.message.iter();
        self.recipients
            .iter()
            .map(|(r, reply)| match reply {
                Some(rep) if rep.is_positive() => {
                    let m = if self.message.len() > 1 {
                        lmtp.next()
                    } else {
                        self.message.first()
                    };
                    (r, m.or(self.refused.as_ref()))
                }
                other => (r, other.as_ref()),
            })
            .collect()
    }
}

/// What the client session hands the application.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientEvent {
    /// The session is set up (TLS per policy, AUTH if configured): call `send` (or
    /// `quit`). Comes once.
    Ready {
        /// The server's capabilities (`None` after the HELO fallback).
        capabilities: Option<Capabilities>,
        /// What the connection got.
        tls: TlsOutcome,
    },
    /// At least one recipient was accepted: give the next piece of the body with
    /// `body`, or end it with `end_body`. It comes again after each piece has been
    /// transmitted, so a large message streams with one piece buffered at a time.
    /// More pieces may be given before it comes again; they are buffered (BDAT without
    /// PIPELINING sends nothing until the previous chunk is answered, RFC 3030 §2).
    SendBody,
    /// A transaction ended; `send` the next one or `quit`. When the server closed the
    /// connection as the transaction ended, this is the session's last event:
    /// [`super::ClientSession::is_idle`] is false, `send` is refused with `NotReady`,
    /// `quit` is a no-op, and the next poll gives `Close`.
    Done(TransactionResult),
    /// A `334` challenge of a [`ClientAuth::Other`](super::ClientAuth::Other) mechanism: answer with
    /// `auth_respond` or `auth_cancel` before polling again.
    AuthChallenge(Secret<bytes::Bytes>),
    /// The reply to [`super::ClientSession::noop`] (a `421` ends the session instead).
    Noop(crate::Reply),
}
