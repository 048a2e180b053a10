//! What a connection got ([`SessionReport`]) and what became of a message
//! ([`Delivery`]).

use crate::certs::CertificateSummary;
use smtp_proto::client::TransactionResult;
use smtp_proto::{Capabilities, Reply};
use std::fmt;
use std::net::SocketAddr;

/// What one connection actually got: for logs, delivery reports and `Received:`
/// headers. Filled in as the session goes; complete once the connection is ready.
#[non_exhaustive]
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SessionReport {
    /// The server name used (for verification and SNI).
    pub server: String,
    /// The address connected to.
    pub addr: Option<SocketAddr>,
    /// The server's greeting.
    pub greeting: Option<Reply>,
    /// The capabilities of the last EHLO (after TLS: the ones offered over TLS).
    pub capabilities: Option<Capabilities>,
    /// The capabilities offered in plaintext before STARTTLS.
    pub capabilities_before_tls: Option<Capabilities>,
    /// The TLS policy level applied (`none`, `may`, `encrypt`, `verify`, `secure`, `dane`).
    pub policy: &'static str,
    /// Why the session is secured as it is, in words (e.g. `STARTTLS not offered`).
    pub reason: String,
    /// TLS facts, when TLS was negotiated.
    pub tls: Option<TlsReport>,
    /// The AUTH mechanism used, when the session authenticated.
    pub authenticated: Option<String>,
    /// Why TLS failed when the policy let the session go on without it (`may`: the
    /// handshake failed and the session was retried in plaintext).
    pub tls_failure: Option<String>,
}

impl SessionReport {
    /// The host name the server gave in its greeting (RFC 5321 §4.3.1: the first word).
    pub fn greeting_name(&self) -> Option<String> {
        let g = self.greeting.as_ref()?;
        let first = g.lines().first()?.to_string();
        first.split_whitespace().next().map(str::to_owned)
    }

    /// One line for logs: `TLSv1.3 TLS_AES_256_GCM_SHA384 X25519 verified` or `none`.
    pub fn tls_line(&self) -> String {
        match &self.tls {
            Some(t) => t.to_string(),
            None => "none".to_owned(),
        }
    }
}

/// The facts of a TLS connection as the client saw them.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsReport {
    /// `TLSv1.2` or `TLSv1.3`.
    pub version: String,
    /// The IANA cipher suite name.
    pub cipher: String,
    /// The key-exchange group, e.g. `X25519`.
    pub key_exchange: Option<String>,
    /// The SNI sent, if any.
    pub sni: Option<String>,
    /// Whether TLS came from STARTTLS (rather than implicit TLS).
    pub starttls: bool,
    /// The chain the server sent, leaf first.
    pub chain: Vec<CertificateSummary>,
    /// Whether the chain and name (or a TLSA record) were verified.
    pub verified: bool,
    /// The WebPKI chain check alone: the chain ends in a trust anchor and every
    /// certificate is valid now (`None` under DANE).
    pub chain_verified: Option<bool>,
    /// The name check alone: the certificate names the server (or one of the policy's
    /// names). `None` under DANE.
    pub name_matched: Option<bool>,
    /// How it was verified, or why it was not.
    pub verification: String,
}

impl fmt::Display for TlsReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.version, self.cipher)?;
        if let Some(kx) = &self.key_exchange {
            write!(f, " {kx}")?;
        }
        f.write_str(if self.verified {
            " verified"
        } else {
            " unverified"
        })
    }
}

/// One recipient's outcome.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecipientResult {
    /// The address, as sent (`<...>` without the brackets).
    pub address: String,
    /// The reply to its RCPT (`None`: not answered, e.g. after MAIL was refused).
    pub rcpt_reply: Option<Reply>,
    /// Its final reply: the RCPT refusal, or for an accepted recipient the message's
    /// reply (in LMTP its own).
    pub reply: Option<Reply>,
}

impl RecipientResult {
    /// Whether the message was accepted for this recipient.
    pub fn delivered(&self) -> bool {
        self.reply.as_ref().is_some_and(Reply::is_positive)
    }
}

/// Every reply of one transaction.
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
    pub(crate) fn from_result(r: &TransactionResult) -> Self {
        let recipients = r
            .per_recipient()
            .into_iter()
            .zip(&r.recipients)
            .map(|((path, fin), (_, rcpt))| RecipientResult {
                address: path.to_string().trim_matches(['<', '>']).to_owned(),
                rcpt_reply: rcpt.clone(),
                reply: fin.cloned(),
            })
            .collect();
        Self {
            mail: r.mail.clone(),
            recipients,
            refused: r.refused.clone(),
            message: r.message.clone(),
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
    pub(crate) fn refusal(&self) -> Option<(&'static str, Reply)> {
        if self.any_delivered() {
            return None;
        }
        if let Some(m) = self.mail.as_ref().filter(|m| !m.is_positive()) {
            return Some(("MAIL", m.clone()));
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
            return pick(rcpts).map(|r| ("RCPT", r));
        }
        if let Some(r) = &self.refused {
            return Some(("DATA", r.clone()));
        }
        pick(self.message.iter().collect()).map(|r| ("message", r))
    }
}
