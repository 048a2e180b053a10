//! The session's counted allowances: refused commands (`max_errors`), commands that do
//! no work (`max_junk_commands`), transactions per session (`max_transactions`, RFC 9422
//! MAILMAX) and recipient domains per session (`max_recipient_domains`, RFC 9422
//! RCPTDOMAINMAX). The first three end the session with `421` (RFC 5321 §3.8); the
//! last refuses one recipient with `452`.

use super::{ServerSession, State, Step, replies};
use crate::error::PeerMisbehaved;
use crate::types::path::ForwardPath;
use std::collections::BTreeSet;

/// What RFC 9422's per-session limits count. A session ends at STARTTLS (RFC 3207 §4.2:
/// the server discards what it knew), so both start again after the handshake.
#[derive(Debug, Default)]
pub(super) struct SessionCounts {
    /// MAIL commands read: RFC 9422 §4.1 "The count includes all MAIL FROM commands,
    /// regardless of whether they succeed or fail."
    mails: u32,
    /// The recipient domains (ASCII lower case; an address literal counts as one) of
    /// the RCPTs that passed the RCPTDOMAINMAX check. Kept only when the limit is set,
    /// so it never holds more than the limit.
    domains: BTreeSet<Box<str>>,
}

impl ServerSession {
    /// Counts a refused command; at `max_errors`, `421` and close.
    pub(super) fn count_error(&mut self) -> Step {
        self.errors += 1;
        if self.errors >= self.opts.max_errors && !matches!(self.state, State::Closed) {
            replies::too_many_errors(&mut self.out, self.opts.hostname.as_str());
            self.fail(PeerMisbehaved::TooManyErrors { count: self.errors }.into());
        }
        Step::Continue
    }

    /// Counts a command that does no work; past `max_junk_commands`, answers `421` and
    /// closes instead of running it (returns true).
    pub(super) fn junk_limit_reached(&mut self) -> bool {
        self.junk += 1;
        if self.junk <= self.opts.max_junk_commands {
            return false;
        }
        replies::too_many_junk_commands(&mut self.out, self.opts.hostname.as_str());
        self.fail(PeerMisbehaved::TooManyJunkCommands { count: self.junk }.into());
        true
    }

    /// Counts a MAIL command, well-formed or not, admitted or not (RFC 9422 §4.1); past
    /// `max_transactions`, answers `421 4.5.3` and closes instead of running it (returns
    /// true). Pipelined commands behind it are discarded unread.
    pub(super) fn transaction_limit_reached(&mut self) -> bool {
        self.counts.mails = self.counts.mails.saturating_add(1);
        let Some(max) = self.opts.max_transactions else {
            return false;
        };
        if self.counts.mails <= max.max(1) {
            return false;
        }
        replies::too_many_transactions(&mut self.out, self.opts.hostname.as_str());
        let count = self.counts.mails;
        self.fail(PeerMisbehaved::TooManyTransactions { count }.into());
        true
    }

    /// Whether a recipient at `to`'s domain keeps the session within
    /// `max_recipient_domains` (RFC 9422 §4.3); its domain joins the session's set when
    /// it does. Domains compare without ASCII case; the bare `<Postmaster>` has none and
    /// always passes.
    pub(super) fn domain_admitted(&mut self, to: &ForwardPath) -> bool {
        let (Some(max), Some(mailbox)) = (self.opts.max_recipient_domains, to.mailbox()) else {
            return true;
        };
        let domain = mailbox.host().to_string().to_ascii_lowercase();
        let domains = &mut self.counts.domains;
        if domains.contains(domain.as_str()) {
            return true;
        }
        if domains.len() >= max.max(1) as usize {
            return false;
        }
        domains.insert(domain.into_boxed_str());
        true
    }
}
