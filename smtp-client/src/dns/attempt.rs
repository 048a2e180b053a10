//! What MX delivery tells: [`MxSent`] and [`MxError`], each with the
//! [`HostAttempt`]s that say, host by host, what was planned and what happened.

use crate::delivery::Delivery;
use crate::error::Error;
use crate::report::SessionReport;
use smtp_proto::client::policy::{DaneDefer, HostPlan, PolicySource};
use smtp_proto::client::tlsrpt::ResultType;
use std::fmt;
use std::net::SocketAddr;

/// A message the domain's mail hosts answered about: the first host that gave an
/// answer about the message, accepted (wholly or in part) or refused (see
/// [`Delivery`]).
#[non_exhaustive]
#[derive(Debug, Clone)]
pub struct MxSent {
    /// Each recipient's fate.
    pub delivery: Delivery,
    /// What the connection to the host that answered got, with the
    /// [policy source](SessionReport::policy_source).
    pub report: SessionReport,
    /// Every host (and address) tried or passed over, in order; the last one answered.
    pub attempts: Vec<HostAttempt>,
}

/// Delivery to the domain failed: no host answered about the message, or one refused
/// it for every recipient (then [`Error::delivery`] has the replies).
///
/// The error is a transient one if any host failed transiently or was deferred (a
/// later attempt may succeed: keep the message queued), else the last. The attempts
/// say, host by host, what was planned and what happened.
#[non_exhaustive]
#[derive(Debug)]
pub struct MxError {
    /// The error that decides: transient (defer) or permanent (bounce).
    pub error: Error,
    /// Every host (and address) tried or passed over, in order. Empty when the MX
    /// lookup itself failed.
    pub attempts: Vec<HostAttempt>,
}

impl MxSent {
    /// One typed outcome per recipient ([`Delivery::outcomes`]).
    pub fn outcomes(&self) -> Vec<crate::RecipientOutcome> {
        self.delivery.outcomes()
    }
}

impl MxError {
    /// One typed outcome per recipient of `envelope` (the message this error is
    /// about): the refusal's replies when a host answered, else this error's outcome
    /// for each ([`Error::recipient_outcomes`]).
    pub fn outcomes(&self, envelope: &crate::Envelope) -> Vec<crate::RecipientOutcome> {
        self.error.recipient_outcomes(envelope)
    }

    /// Whether trying again later may succeed ([`Error::is_transient`]).
    pub fn is_transient(&self) -> bool {
        self.error.is_transient()
    }

    /// What the last session got, when a connection was made ([`Error::report`]).
    pub fn report(&self) -> Option<&SessionReport> {
        self.error.report()
    }

    /// The error alone.
    pub fn into_error(self) -> Error {
        self.error
    }
}

impl fmt::Display for MxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.error.fmt(f)
    }
}

/// The source is the inner error's own (its `Display` is the inner error's).
impl std::error::Error for MxError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.error.source()
    }
}

impl From<MxError> for Error {
    fn from(e: MxError) -> Self {
        e.error
    }
}

/// One mail host (and, once connected, one of its addresses): what the policies
/// planned for it and what happened.
///
/// Its `Display` is one line: `mx2.example.com [192.0.2.2:25] dane (dane): failed
/// (transient): TLS with … failed …`.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostAttempt {
    /// The MX host.
    pub host: String,
    /// The address connected to (`None` when none was).
    pub addr: Option<SocketAddr>,
    /// What the policies decided: connect under a policy from a source, skip, or defer.
    pub plan: HostPlan,
    /// What happened.
    pub outcome: HostOutcome,
    /// What a TLS report (RFC 8460) files for it: `Ok` a session that met its policy,
    /// `Err` the failure's result type; `None` when there is nothing to report (no
    /// address, a network error, a refusal that is not about TLS).
    pub tls: Option<Result<(), ResultType>>,
}

impl HostAttempt {
    /// The policy that decided, when the plan was to connect.
    pub fn source(&self) -> Option<&PolicySource> {
        match &self.plan {
            HostPlan::Connect { source, .. } => Some(source),
            _ => None,
        }
    }

    /// Why DANE deferred the host, when it did.
    pub fn deferred(&self) -> Option<DaneDefer> {
        match self.plan {
            HostPlan::Defer(why) => Some(why),
            _ => None,
        }
    }
}

/// What happened at one host (or address).
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostOutcome {
    /// The host answered about the message (see the [`Delivery`]).
    Answered,
    /// Not connected to: the plan was to skip (MTA-STS) or to defer (DANE).
    NotTried,
    /// The host has no usable address: none (permanent) or the lookup failed.
    NoAddress {
        /// Why.
        reason: String,
        /// Whether a later attempt may find one.
        transient: bool,
    },
    /// Connecting or the session failed before an answer about the message: the host
    /// is down, refused, or did not meet the TLS policy.
    Failed {
        /// The error, in words.
        reason: String,
        /// Whether a later attempt may succeed.
        transient: bool,
    },
}

impl fmt::Display for HostAttempt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.host)?;
        if let Some(addr) = self.addr {
            write!(f, " [{addr}]")?;
        }
        match &self.plan {
            HostPlan::Connect { policy, source } => {
                write!(f, " {} ({})", policy.level(), source)?;
            }
            HostPlan::Skip => return f.write_str(": skipped (MTA-STS enforce does not list it)"),
            HostPlan::Defer(why) => return write!(f, ": deferred (DANE: {why})"),
        }
        let word = |transient: &bool| if *transient { "transient" } else { "permanent" };
        match &self.outcome {
            HostOutcome::Answered => f.write_str(": answered"),
            HostOutcome::NotTried => f.write_str(": not tried"),
            HostOutcome::NoAddress { reason, transient } => {
                write!(f, ": no address ({}): {reason}", word(transient))
            }
            HostOutcome::Failed { reason, transient } => {
                write!(f, ": failed ({}): {reason}", word(transient))
            }
        }
    }
}

/// The attempts so far and the error that decides if none succeeds.
#[derive(Default)]
pub(super) struct Tries {
    pub(super) attempts: Vec<HostAttempt>,
    pub(super) last: Option<Error>,
}

impl Tries {
    /// Records a failure; a transient error is kept over a permanent one (a later
    /// attempt may succeed where one host failed transiently).
    pub(super) fn failed(&mut self, e: Error) {
        if self
            .last
            .as_ref()
            .is_none_or(|l| !l.is_transient() || e.is_transient())
        {
            self.last = Some(e);
        }
    }

    pub(super) fn note(
        &mut self,
        host: &str,
        addr: Option<SocketAddr>,
        plan: &HostPlan,
        outcome: HostOutcome,
        tls: Option<Result<(), ResultType>>,
    ) {
        self.attempts.push(HostAttempt {
            host: host.to_owned(),
            addr,
            plan: plan.clone(),
            outcome,
            tls,
        });
    }

    pub(super) fn give_up(self, error: Error) -> MxError {
        MxError {
            error,
            attempts: self.attempts,
        }
    }
}
