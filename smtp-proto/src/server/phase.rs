//! The session's phase and the one table of which verbs each phase allows, and what the
//! others get (the model is h11's state table). Every sequencing rule of the server is
//! here; the command handlers in `flow.rs`, `auth.rs` and `body.rs` only act.
//!
//! The table is consulted with the verb alone, before the command's arguments are looked
//! at, so a command refused by sequence or policy gets the same reply whether or not its
//! arguments parse (`MAIL FROM:<bad` before EHLO is `503`, under `require_tls` `530`).
//!
//! | verb | allowed in | refused with |
//! |---|---|---|
//! | QUIT, NOOP, RSET, HELP | every phase | — |
//! | HELO, EHLO (SMTP), LHLO (LMTP) | every phase; resets a transaction (RFC 5321 §4.1.4) | the other mode's greeting: `500` |
//! | STARTTLS | greeted with EHLO/LHLO, TLS not active, also inside a transaction (RFC 3207 §4.2: the handshake discards it) | no greeting `503`, after HELO `503`, not offered `502`, TLS active `554` |
//! | *any other* under `require_tls` before TLS | — | `530 5.7.0` (RFC 3207 §4) |
//! | VRFY, EXPN | every phase (RFC 5321 §4.1.4) | — |
//! | AUTH | greeted with EHLO/LHLO, outside a transaction, not yet authenticated (RFC 4954 §4) | not configured `502`, no greeting or HELO `503`, in a transaction `503`, authenticated `503`, TLS needed `538` |
//! | MAIL | greeted, no transaction | no greeting `503`, nested `503`, authentication required `530` (RFC 4954 §6) |
//! | RCPT | in a transaction, before BDAT | no MAIL `503`, after BDAT `503` |
//! | DATA | at least one accepted recipient, no BDAT yet, not BINARYMIME | no MAIL `503`, no RCPT `503`, none accepted `554` (LMTP `503`, RFC 2033 §4.2), after BDAT `503`, BINARYMIME `503` (RFC 3030 §3) |
//! | BDAT | CHUNKING offered, greeted with EHLO/LHLO, at least one accepted recipient | not offered `502`, no greeting `503`, after HELO `503`, like DATA otherwise; the chunk is drained whatever the reply (RFC 3030 §2) |
//!
//! Every refusal counts towards `ServerOptions::max_errors`, except a BDAT chunk the
//! client pipelined behind one that failed (`503`, drained quietly until RSET or MAIL).

use super::replies as r;
use super::{HelloVerb, ServerSession};
use crate::types::command::Verb;

/// Where the session stands in the command sequence of RFC 5321 §4.1.4 and §3.3.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Phase {
    /// No greeting yet (also right after the TLS handshake, RFC 3207 §4.2).
    ExpectHello,
    /// Greeted; no mail transaction.
    Ready,
    /// `MAIL` accepted, no recipient accepted yet (`tried`: some RCPT was refused).
    InMail {
        /// Some RCPT was answered (and refused).
        tried: bool,
    },
    /// At least one recipient accepted.
    InRcpt,
    /// `BDAT` chunks have started (RFC 3030 §2: no RCPT or DATA until the last).
    InBdat,
}

impl ServerSession {
    /// The phase, from the facts the session keeps.
    pub(super) fn phase(&self) -> Phase {
        match (&self.hello, &self.tx) {
            (None, _) => Phase::ExpectHello,
            (Some(_), None) => Phase::Ready,
            (Some(_), Some(tx)) if tx.chunks.is_some() => Phase::InBdat,
            (Some(_), Some(tx)) if tx.rcpts_ok > 0 => Phase::InRcpt,
            (Some(_), Some(tx)) => Phase::InMail {
                tried: tx.rcpts_tried > 0,
            },
        }
    }

    /// Whether the client greeted with EHLO or LHLO (extensions enabled).
    pub(super) fn esmtp(&self) -> bool {
        matches!(self.hello, Some((HelloVerb::Ehlo | HelloVerb::Lhlo, _)))
    }

    /// TLS is required and not active.
    pub(super) fn needs_tls(&self) -> bool {
        self.opts.require_tls && self.tls.is_none()
    }

    /// The table: `Ok` when `verb` may run now, else the reply that refuses it.
    pub(super) fn admit(&self, verb: Verb) -> Result<(), &'static [u8]> {
        use Phase::*;
        let phase = self.phase();
        let lmtp = self.opts.lmtp;
        let need_hello = if lmtp { r::NEED_LHLO } else { r::NEED_HELO };
        match verb {
            Verb::Quit | Verb::Noop | Verb::Rset | Verb::Help => return Ok(()),
            Verb::Lhlo if !lmtp => return Err(r::UNKNOWN),
            Verb::Helo | Verb::Ehlo if lmtp => return Err(r::LMTP_LHLO_ONLY),
            Verb::Helo | Verb::Ehlo | Verb::Lhlo => return Ok(()),
            Verb::StartTls => {
                return match phase {
                    _ if self.tls.is_some() => Err(r::TLS_ACTIVE),
                    _ if !self.opts.starttls => Err(r::NOT_IMPLEMENTED),
                    ExpectHello => Err(need_hello),
                    // STARTTLS is an EHLO keyword (RFC 3207 §4); HELO disables extensions.
                    _ if !self.esmtp() => Err(r::NEED_EHLO),
                    _ => Ok(()),
                };
            }
            _ if self.needs_tls() => return Err(r::NEED_TLS),
            _ => {}
        }
        match (verb, phase) {
            (Verb::Vrfy | Verb::Expn, _) => Ok(()),
            (Verb::Auth, _) if self.opts.auth_mechanisms.is_empty() => Err(r::NOT_IMPLEMENTED),
            (Verb::Auth, ExpectHello) => Err(need_hello),
            (Verb::Auth, _) if !self.esmtp() => Err(r::NEED_EHLO),
            // RFC 4954 §4: one successful AUTH per session; none during a transaction.
            (Verb::Auth, _) if self.authenticated => Err(r::AUTH_ALREADY),
            (Verb::Auth, Ready) => match self.auth_offered() {
                true => Ok(()),
                false => Err(r::AUTH_NEEDS_TLS),
            },
            (Verb::Auth, _) => Err(r::IN_TRANSACTION),
            (Verb::Mail, ExpectHello) => Err(need_hello),
            (Verb::Mail, Ready) if self.opts.require_auth && !self.authenticated => {
                Err(r::NEED_AUTH)
            }
            (Verb::Mail, Ready) => Ok(()),
            (Verb::Mail, _) => Err(r::NESTED_MAIL),
            (Verb::Rcpt, ExpectHello | Ready) => Err(r::NEED_MAIL),
            (Verb::Rcpt, InBdat) => Err(r::BDAT_IN_PROGRESS),
            (Verb::Rcpt, _) => Ok(()),
            (Verb::Bdat, _) if !self.opts.chunking => Err(r::NOT_IMPLEMENTED),
            (Verb::Bdat, ExpectHello) => Err(need_hello),
            (Verb::Bdat, _) if !self.esmtp() => Err(r::NEED_EHLO),
            (Verb::Bdat, Ready) if self.bdat_failed => Err(r::BDAT_FAILED),
            (Verb::Bdat, InBdat) => Ok(()),
            (Verb::Data, InBdat) => Err(r::BDAT_IN_PROGRESS),
            (Verb::Data | Verb::Bdat, ExpectHello | Ready) => Err(r::NEED_MAIL),
            (Verb::Data | Verb::Bdat, InMail { tried: false }) => Err(r::NEED_RCPT),
            (Verb::Data | Verb::Bdat, InMail { tried: true }) if lmtp => Err(r::NO_VALID_RCPT_LMTP),
            (Verb::Data | Verb::Bdat, InMail { tried: true }) => Err(r::NO_VALID_RCPT),
            (Verb::Data, InRcpt) if self.tx.as_ref().is_some_and(|t| t.binary) => {
                Err(r::BINARY_NEEDS_BDAT)
            }
            (Verb::Data | Verb::Bdat, InRcpt) => Ok(()),
            // Handled above; the table is total.
            (
                Verb::Quit
                | Verb::Noop
                | Verb::Rset
                | Verb::Help
                | Verb::Helo
                | Verb::Ehlo
                | Verb::Lhlo
                | Verb::StartTls,
                _,
            ) => Ok(()),
        }
    }

    /// Commands that do no work (RFC 5321 §4.1.4 lets them come at any time), counted
    /// against `ServerOptions::max_junk_commands`: NOOP, RSET, VRFY, EXPN, HELP, and a
    /// greeting repeated within one TLS state.
    pub(super) fn is_junk(&self, verb: Verb) -> bool {
        match verb {
            Verb::Noop | Verb::Rset | Verb::Vrfy | Verb::Expn | Verb::Help => true,
            Verb::Helo | Verb::Ehlo | Verb::Lhlo => self.hello.is_some(),
            _ => false,
        }
    }
}
