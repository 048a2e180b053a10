//! [`MxDelivery`]: the hosts of a domain in turn, each under the policy that decides
//! for it, and what became of each ([`HostAttempt`]).

use super::{HostAddrs, Resolver, mail_hosts};
use crate::conn::Connection;
use crate::delivery::Delivery;
use crate::error::Error;
use crate::options::ClientOptions;
use crate::report::SessionReport;
use smtp_proto::client::Envelope;
use smtp_proto::client::policy::{
    Answer, DaneDefer, DaneStatus, Dnssec, DomainPattern, HostPlan, MxDane, NoDane, PolicySource,
    PolicyViolation, StsVerdict, TlsPolicy, choose, dane_for_host, dane_for_mx, tlsa_names,
};
use smtp_proto::client::sts::{StsDelivery, StsPolicy};
use std::fmt;
use std::net::SocketAddr;

/// The [`MxDelivery`] state before [`MxDelivery::resolver`]: it cannot send yet.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoResolver;

/// Delivery of messages to the mail hosts of one domain (MX relay), built step by
/// step: [`MxDelivery::new`] with the domain and the options, a
/// [`resolver`](MxDelivery::resolver), optionally a [`port`](MxDelivery::port) and the
/// domain's [MTA-STS policy](MxDelivery::mta_sts), then [`send`](MxDelivery::send) as
/// often as needed.
///
/// Each host gets the policy that decides for it (see the [module docs](super)). For
/// the destination of the policy (names in messages, `secure` without names, DANE-TA
/// names) the domain is used; each host's certificate is checked against the host's
/// name.
#[derive(Debug, Clone)]
pub struct MxDelivery<R = NoResolver> {
    domain: String,
    opts: ClientOptions,
    resolver: R,
    port: u16,
    sts: Option<StsPolicy>,
}

impl MxDelivery {
    /// Delivery to `domain` with `opts`, on port 25.
    pub fn new(domain: &str, opts: ClientOptions) -> Self {
        Self {
            domain: domain.trim_end_matches('.').to_ascii_lowercase(),
            opts,
            resolver: NoResolver,
            port: 25,
            sts: None,
        }
    }
}

impl<R> MxDelivery<R> {
    /// The resolver for the MX, address and TLSA lookups (a `&resolver` works too).
    pub fn resolver<S: Resolver>(self, resolver: S) -> MxDelivery<S> {
        MxDelivery {
            domain: self.domain,
            opts: self.opts,
            resolver,
            port: self.port,
            sts: self.sts,
        }
    }

    /// The port of every mail host, also the one TLSA records are looked up for
    /// (`_25._tcp.`, RFC 7672 §2.2). Default 25 (MX relay).
    pub fn port(mut self, port: u16) -> Self {
        self.port = port;
        self
    }

    /// The domain's MTA-STS policy (RFC 8461), valid and current, as the caller
    /// fetched or cached it; it decides for the hosts where no local rule and no DANE
    /// does. Without one, MTA-STS has no say.
    pub fn mta_sts(mut self, policy: StsPolicy) -> Self {
        self.sts = Some(policy);
        self
    }
}

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

impl MxError {
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
struct Tries {
    attempts: Vec<HostAttempt>,
    last: Option<Error>,
}

impl Tries {
    /// Records a failure; a transient error is kept over a permanent one (a later
    /// attempt may succeed where one host failed transiently).
    fn failed(&mut self, e: Error) {
        if self
            .last
            .as_ref()
            .is_none_or(|l| !l.is_transient() || e.is_transient())
        {
            self.last = Some(e);
        }
    }

    fn note(
        &mut self,
        host: &str,
        addr: Option<SocketAddr>,
        plan: &HostPlan,
        outcome: HostOutcome,
    ) {
        self.attempts.push(HostAttempt {
            host: host.to_owned(),
            addr,
            plan: plan.clone(),
            outcome,
        });
    }

    fn give_up(self, error: Error) -> MxError {
        MxError {
            error,
            attempts: self.attempts,
        }
    }
}

impl<R: Resolver> MxDelivery<R> {
    /// Delivers one message: each host's addresses in turn until one gives an answer
    /// about the message. A host that is deferred (DANE) or skipped (MTA-STS) is not
    /// connected to; one that cannot be reached, refuses the session (a 4xx, or
    /// anything at its greeting), or fails its TLS policy is left for the next (RFC
    /// 5321 §5.1); a reply about the message (even a 4xx) is final.
    ///
    /// A bogus or failed MX lookup defers the whole domain (a transient
    /// [`Error::Dns`]). A DANE host deferred for its TLSA records gives the transient
    /// [`PolicyViolation::TlsaLookupFailed`], for its addresses a transient
    /// [`Error::Dns`]: when no other host delivers, the message stays queued and is
    /// never sent in plaintext.
    pub async fn send(
        &self,
        envelope: &Envelope,
        message: impl AsRef<[u8]>,
    ) -> Result<MxSent, MxError> {
        let (domain, message) = (self.domain.as_str(), message.as_ref());
        let mut tries = Tries::default();
        let mx = self.resolver.mx(domain).await;
        let mx_dane = dane_for_mx(&mx);
        let mut records = match (mx, mx_dane) {
            (_, MxDane::Defer(why)) => {
                // RFC 7672 §2.1.1: nothing from a bogus answer is used; no host is known.
                return Err(tries.give_up(Error::Dns {
                    reason: format!("{domain}: {why}; deferred"),
                    permanent: false,
                }));
            }
            (Answer::Records(r, _), _) => r,
            _ => Vec::new(),
        };
        // RFC 5321 §5.1: equal preferences in random order, seeded from the clock.
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0x9e37_79b9, |d| d.as_nanos() as u64);
        smtp_proto::client::mx::shuffle_equal_preferences(&mut records, seed);
        let hosts = match mail_hosts(records, domain) {
            Ok(h) => h,
            Err(e) => return Err(tries.give_up(e)),
        };
        let sts = match &self.sts {
            Some(policy) => policy.plan(&hosts),
            None => StsDelivery::AsUsual,
        };
        for host in &hosts {
            let addrs = self.resolver.addrs(host).await;
            let plan = self.plan(host, mx_dane, &addrs, sts.verdict(host)).await;
            let (policy, source) = match &plan {
                HostPlan::Connect { policy, source } => (policy.clone(), source.clone()),
                HostPlan::Skip => {
                    tracing::info!(%host, "MTA-STS enforce does not list this host; skipped");
                    tries.note(host, None, &plan, HostOutcome::NotTried);
                    continue;
                }
                HostPlan::Defer(why) => {
                    tracing::info!(%host, %why, "DANE defers this host");
                    tries.note(host, None, &plan, HostOutcome::NotTried);
                    tries.failed(deferral(*why, host, domain));
                    continue;
                }
            };
            let ips = match addrs.answer {
                Answer::Records(ips, Dnssec::Secure | Dnssec::Insecure) => ips,
                other => {
                    let (reason, transient) = match other {
                        Answer::Records(_, _) | Answer::NoRecords(Dnssec::Bogus) => (
                            format!("the addresses of {host} failed DNSSEC validation"),
                            true,
                        ),
                        Answer::NoRecords(_) => (format!("{host} has no address records"), false),
                        Answer::Failed => (format!("the address lookup for {host} failed"), true),
                    };
                    let outcome = HostOutcome::NoAddress {
                        reason: reason.clone(),
                        transient,
                    };
                    tries.note(host, None, &plan, outcome);
                    tries.failed(Error::Dns {
                        reason,
                        permanent: !transient,
                    });
                    continue;
                }
            };
            let mut o = self.opts.clone();
            o.destination = Some(domain.to_owned());
            o.server_name = None;
            // Settled here for this host; the connection keeps it.
            o.policy_map = None;
            o.settled_rule = match &source {
                PolicySource::Local(rule) => Some(rule.clone()),
                _ => None,
            };
            o.tls_policy = policy;
            for ip in ips {
                let addr = SocketAddr::new(ip, self.port);
                let mut conn = match Connection::connect_addr(addr, host, o.clone()).await {
                    Ok(c) => c,
                    Err(mut e) => {
                        with_source(&mut e, &source);
                        let transient = e.is_transient();
                        tries.note(
                            host,
                            Some(addr),
                            &plan,
                            HostOutcome::Failed {
                                reason: e.to_string(),
                                transient,
                            },
                        );
                        // A host that is down, defers, fails the TLS policy, or
                        // refuses the session at its greeting: the next one may do
                        // better (RFC 5321 §5.1).
                        let greeting = matches!(
                            e,
                            Error::Rejected {
                                stage: smtp_proto::Stage::Greeting,
                                ..
                            }
                        );
                        if transient || greeting {
                            tracing::info!(%host, %addr, error = %e, "trying the next mail host");
                            tries.failed(e);
                            continue;
                        }
                        return Err(tries.give_up(e));
                    }
                };
                let sent = conn.send(envelope.clone(), message).await;
                let mut report = conn.report().clone();
                report.policy_source = Some(source.clone());
                let _ = conn.quit().await;
                match sent {
                    Ok(delivery) => {
                        tries.note(host, Some(addr), &plan, HostOutcome::Answered);
                        return Ok(MxSent {
                            delivery,
                            report,
                            attempts: tries.attempts,
                        });
                    }
                    // The connection broke before any answer about the message.
                    Err(mut e)
                        if e.is_transient() && e.delivery().is_none() && e.reply().is_none() =>
                    {
                        with_source(&mut e, &source);
                        let reason = e.to_string();
                        tries.note(
                            host,
                            Some(addr),
                            &plan,
                            HostOutcome::Failed {
                                reason,
                                transient: true,
                            },
                        );
                        tries.failed(e);
                    }
                    Err(mut e) => {
                        with_source(&mut e, &source);
                        tries.note(host, Some(addr), &plan, HostOutcome::Answered);
                        return Err(tries.give_up(e));
                    }
                }
            }
        }
        let error = match tries.last.take() {
            Some(e) => e,
            None if !tries.attempts.is_empty()
                && tries.attempts.iter().all(|a| a.plan == HostPlan::Skip) =>
            {
                // RFC 8461 §5: such failures are transient.
                Error::Dns {
                    reason: format!("the MTA-STS policy of {domain} lists none of its MX hosts"),
                    permanent: false,
                }
            }
            None => Error::Dns {
                reason: format!("no address for any mail host of {domain}"),
                permanent: false,
            },
        };
        Err(tries.give_up(error))
    }

    /// What the policies say for one host, in the core's order: the local rule, DANE,
    /// MTA-STS, the default. TLSA records are looked up only when DANE can apply.
    async fn plan(&self, host: &str, mx: MxDane, addrs: &HostAddrs, sts: StsVerdict) -> HostPlan {
        let (local_policy, rule) = self.opts.policy_for(&self.domain);
        let local = rule.map(|r| (local_policy, r));
        let default = &self.opts.tls_policy;
        match local {
            // A local `dane` rule without records: DANE from DNS, else as `may`.
            Some((TlsPolicy::Dane { records }, rule)) if records.is_empty() => {
                match self.dane(host, mx, addrs).await {
                    DaneStatus::Required { records, .. } => {
                        local_plan(TlsPolicy::Dane { records }, rule)
                    }
                    DaneStatus::Defer(why) => HostPlan::Defer(why),
                    DaneStatus::NotApplicable(_) => {
                        local_plan(TlsPolicy::Dane { records: vec![] }, rule)
                    }
                }
            }
            // Any other local rule decides alone: DANE is not looked up.
            Some(local) => choose(
                Some(local),
                &DaneStatus::NotApplicable(NoDane::MxInsecure),
                &sts,
                host,
                default,
            ),
            None => {
                let dane = self.dane(host, mx, addrs).await;
                choose(None, &dane, &sts, host, default)
            }
        }
    }

    /// DANE's verdict for one host (RFC 7672 §2.2): the TLSA names of
    /// [`tlsa_names`] asked in order, up to the first answer that is not a Secure
    /// denial, and only when the MX and address answers are Secure.
    async fn dane(&self, host: &str, mx: MxDane, addrs: &HostAddrs) -> DaneStatus {
        let before = dane_for_host(mx, &addrs.answer, &[]);
        if before != DaneStatus::NotApplicable(NoDane::NoTlsa) {
            // Decided without TLSA records: not Secure, bogus, or failed.
            return before;
        }
        let target = addrs.secure_cname_target.as_deref();
        let mut answers = Vec::new();
        for owner in tlsa_names(host, self.port, target) {
            let answer = self.resolver.tlsa(&owner).await;
            let next = answer == Answer::NoRecords(Dnssec::Secure);
            answers.push((owner, answer));
            if !next {
                break;
            }
        }
        dane_for_host(mx, &addrs.answer, &answers)
    }
}

fn local_plan(policy: TlsPolicy, rule: &DomainPattern) -> HostPlan {
    HostPlan::Connect {
        policy,
        source: PolicySource::Local(rule.clone()),
    }
}

/// The error of a host DANE deferred: the TLSA lookup's as the core names it, the
/// address lookup's as a transient DNS error.
fn deferral(why: DaneDefer, host: &str, domain: &str) -> Error {
    match why {
        DaneDefer::TlsaBogus | DaneDefer::TlsaLookupFailed => PolicyViolation::TlsaLookupFailed {
            server: host.to_owned(),
            destination: domain.to_owned(),
        }
        .into(),
        other => Error::Dns {
            reason: format!("{host}: {other}; deferred (DANE)"),
            permanent: false,
        },
    }
}

/// Names the policy source in the session report an error carries.
fn with_source(e: &mut Error, source: &PolicySource) {
    if let Error::Io { report, .. }
    | Error::Timeout { report, .. }
    | Error::Tls { report, .. }
    | Error::Policy { report, .. }
    | Error::Rejected { report, .. }
    | Error::MessageRefused { report, .. }
    | Error::Protocol { report, .. } = e
        && let Some(r) = report
    {
        r.policy_source = Some(source.clone());
    }
}
