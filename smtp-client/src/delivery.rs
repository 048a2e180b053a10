//! What became of a message: [`Delivery`], one [`RecipientResult`] per recipient, and
//! the [`DeliveryStatus`] they add up to.

use smtp_proto::client::TransactionResult;
use smtp_proto::{ForwardPath, Reply, Stage};
use std::fmt;

/// One recipient's outcome.
///
/// Its `Display` is one line, the address as the caller wrote it and the reply that
/// decided: `bob@example.com: 550 5.1.1 No such user`.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecipientResult {
    /// The recipient as the caller wrote it (`bob@example.com` or `<bob@example.com>`,
    /// see [`Envelope::recipient_as_written`](crate::Envelope::recipient_as_written)).
    pub address: String,
    /// The path sent in `RCPT TO:`.
    pub path: ForwardPath,
    /// The reply to its RCPT (`None`: not answered, e.g. after MAIL was refused).
    pub rcpt_reply: Option<Reply>,
    /// Its final reply: the RCPT refusal; for an accepted recipient the message's reply
    /// (in LMTP its own) or the refusal of DATA or of a BDAT chunk; for a recipient
    /// whose RCPT was never answered, the refusal of MAIL. `None` only when the
    /// server gave no answer at all.
    pub reply: Option<Reply>,
}

impl RecipientResult {
    /// A recipient of `envelope` no transaction was tried for (the server's `MAILMAX`
    /// came first, or the connection ended): no reply, so transient.
    pub(crate) fn untried(envelope: &smtp_proto::client::Envelope, path: &ForwardPath) -> Self {
        Self {
            address: envelope.recipient_as_written(path).into_owned(),
            path: path.clone(),
            rcpt_reply: None,
            reply: None,
        }
    }

    /// Whether the message was accepted for this recipient.
    pub fn delivered(&self) -> bool {
        self.reply.as_ref().is_some_and(Reply::is_positive)
    }

    /// Whether the message did not reach this recipient but may later: a `4yz` reply,
    /// or none. A `5yz` reply is permanent (bounce); a delivered recipient is neither.
    pub fn is_transient(&self) -> bool {
        !self.delivered() && self.reply.as_ref().is_none_or(Reply::is_transient)
    }
}

impl fmt::Display for RecipientResult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.reply {
            Some(r) => write!(f, "{}: {r}", self.address),
            None => write!(f, "{}: no reply", self.address),
        }
    }
}

/// What the recipients' results add up to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DeliveryStatus {
    /// Every recipient got the message.
    Accepted,
    /// Some recipients got it, others were refused ([`Delivery::failed`] says which).
    PartlyRefused,
    /// No recipient got it. [`Connection::send`](crate::Connection::send) returns this
    /// case as [`Error::MessageRefused`](crate::Error::MessageRefused), whose
    /// [`Error::delivery`](crate::Error::delivery) is the same `Delivery`.
    Refused,
}

/// Every reply of one transaction (or of the several the server's limits made of one
/// message: then `mail` is the first MAIL's reply and `message` has each transaction's
/// reply), and each recipient's outcome.
///
/// The same shape whatever happened: [`Delivery::status`] tells accepted, partly refused
/// and refused apart, and [`Delivery::recipients`] has one result per recipient in the
/// envelope's order. `Display` gives one line per recipient.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    /// The reply to MAIL.
    pub mail: Option<Reply>,
    /// Each recipient, in order.
    pub recipients: Vec<RecipientResult>,
    /// A refusal of DATA or of a BDAT chunk.
    pub refused: Option<Reply>,
    /// The reply to the message (LMTP: one per accepted recipient).
    pub message: Vec<Reply>,
}

impl Delivery {
    /// The result of a transaction; `written` names each recipient as the caller wrote
    /// it, in the envelope's order.
    pub(crate) fn from_result(r: &TransactionResult, written: Vec<String>) -> Self {
        let mail_refusal = r.mail.as_ref().filter(|m| !m.is_positive());
        let recipients = r
            .per_recipient()
            .into_iter()
            .zip(&r.recipients)
            .zip(written.into_iter().map(Some).chain(std::iter::repeat(None)))
            .map(|(((path, fin), (_, rcpt)), written)| RecipientResult {
                address: written.unwrap_or_else(|| bare(path)),
                path: path.clone(),
                rcpt_reply: rcpt.clone(),
                reply: fin.or(mail_refusal).cloned(),
            })
            .collect();
        Self {
            mail: r.mail.clone(),
            recipients,
            refused: r.refused.clone(),
            message: r.message.clone(),
        }
    }

    /// Accepted, partly refused or refused.
    pub fn status(&self) -> DeliveryStatus {
        match (self.all_delivered(), self.any_delivered()) {
            (true, _) => DeliveryStatus::Accepted,
            (false, true) => DeliveryStatus::PartlyRefused,
            (false, false) => DeliveryStatus::Refused,
        }
    }

    /// Whether every recipient got the message.
    pub fn all_delivered(&self) -> bool {
        self.recipients.iter().all(RecipientResult::delivered)
    }

    /// Whether at least one recipient got the message.
    pub fn any_delivered(&self) -> bool {
        self.recipients.iter().any(RecipientResult::delivered)
    }

    /// The reply to the message (the first, in LMTP).
    pub fn message_reply(&self) -> Option<&Reply> {
        self.message.first()
    }

    /// The recipients the message did not reach, with their replies.
    pub fn failed(&self) -> impl Iterator<Item = &RecipientResult> {
        self.recipients.iter().filter(|r| !r.delivered())
    }

    /// Why nothing was delivered, when nothing was: the stage and the deciding reply
    /// (a transient one when there is one, since retrying may then succeed).
    pub(crate) fn refusal(&self) -> Option<(Stage, Reply)> {
        if self.any_delivered() {
            return None;
        }
        if let Some(m) = self.mail.as_ref().filter(|m| !m.is_positive()) {
            return Some((Stage::Mail, m.clone()));
        }
        let pick = |replies: Vec<&Reply>| {
            replies
                .iter()
                .find(|r| r.is_transient())
                .or(replies.first())
                .map(|r| (*r).clone())
        };
        let rcpts: Vec<&Reply> = self
            .recipients
            .iter()
            .filter_map(|r| r.rcpt_reply.as_ref())
            .collect();
        if !rcpts.iter().any(|r| r.is_positive()) {
            return pick(rcpts).map(|r| (Stage::Rcpt, r));
        }
        if let Some(r) = &self.refused {
            return Some((Stage::Data, r.clone()));
        }
        pick(self.message.iter().collect()).map(|r| (Stage::Message, r))
    }
}

impl Delivery {
    /// As [`Connection::send`](crate::Connection::send) returns it: `Ok` when someone
    /// got the message, [`Error::MessageRefused`](crate::Error::MessageRefused) when a
    /// reply refused it for everyone, [`Error::LimitReached`](crate::Error::LimitReached)
    /// when no recipient was tried.
    pub(crate) fn into_result(self) -> Result<Delivery, crate::Error> {
        if self.any_delivered() {
            return Ok(self);
        }
        match self.refusal() {
            Some((stage, reply)) => Err(crate::Error::MessageRefused {
                stage,
                reply,
                delivery: Box::new(self),
                report: None,
            }),
            None => Err(crate::Error::LimitReached {
                delivery: Box::new(self),
            }),
        }
    }
}

impl fmt::Display for Delivery {
    /// One line per recipient (see [`RecipientResult`]), without a final newline.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, r) in self.recipients.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{r}")?;
        }
        Ok(())
    }
}

/// A path's address without brackets: `bob@example.com`, `Postmaster`.
fn bare(path: &ForwardPath) -> String {
    match path.mailbox() {
        Some(m) => m.to_string(),
        None => "Postmaster".to_owned(),
    }
}
