//! [`MxDelivery`]: the hosts of a domain in turn, each under the policy that decides
//! for it, and what became of each ([`HostAttempt`]).

use super::attempt::Tries;
use super::{HostAddrs, HostOutcome, MxError, MxSent, Resolver, mail_hosts};
use crate::conn::Connection;
use crate::delivery::Delivery;
use crate::error::Error;
use crate::options::ClientOptions;
use crate::report::SessionReport;
use smtp_proto::client::Envelope;
use smtp_proto::client::policy::{
    Answer, DaneDefer, DaneStatus, Dnssec, DomainPattern, HostPlan, MxDane, NoDane, PolicySource,
    PolicyViolation, StsVerdict, TlsPolicy, choose, dane_for_host, dane_for_mx,
    ignores_recipient_policies, tlsa_names,
};
use smtp_proto::client::sts::{StsDelivery, StsPolicy};
use smtp_proto::client::tlsrpt::ResultType;
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

/// What came of one address (short-lived: its size does not matter).
#[allow(clippy::large_enum_variant)]
enum Attempt {
    /// The server answered about the message: it was accepted, for some recipients
    /// at least.
    Answered(Delivery, SessionReport),
    /// The server answered about the message and refused it (final).
    Refused(Error),
    /// No answer about the message, and the next host may do better.
    Next(Error),
    /// No answer about the message, and no other host would do better (final).
    Failed(Error),
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
        // RFC 8689 §5: `TLS-Required: No` (without REQUIRETLS) asks relays to ignore
        // the recipient domain's DANE and MTA-STS policies; local rules still apply.
        let ignore = ignores_recipient_policies(message, envelope.params.requiretls);
        if ignore {
            tracing::info!(%domain, "TLS-Required: No: DANE and MTA-STS not applied");
        }
        let sts = match &self.sts {
            Some(policy) if !ignore => policy.plan(&hosts),
            _ => StsDelivery::AsUsual,
        };
        let mx_policy = if ignore {
            MxDane::NotApplicable
        } else {
            mx_dane
        };
        for host in &hosts {
            let addrs = self.resolver.addrs(host).await;
            let (plan, dane_base) = self.plan(host, mx_policy, &addrs, sts.verdict(host)).await;
            let (policy, source) = match &plan {
                HostPlan::Connect { policy, source } => (policy.clone(), source.clone()),
                HostPlan::Skip => {
                    tracing::info!(%host, "MTA-STS enforce does not list this host; skipped");
                    // RFC 8460 §4.3: an MX host the policy does not allow.
                    let tls = Some(Err(ResultType::ValidationFailure));
                    tries.note(host, None, &plan, HostOutcome::NotTried, tls);
                    continue;
                }
                HostPlan::Defer(why) => {
                    tracing::info!(%host, %why, "DANE defers this host");
                    let tls = Some(Err(ResultType::DnssecInvalid));
                    tries.note(host, None, &plan, HostOutcome::NotTried, tls);
                    tries.failed(deferral(*why, host, domain));
                    continue;
                }
            };
            // RFC 8689 §4.2.1: a REQUIRETLS message needs the next hop's identity
            // vouched for: DANE, MTA-STS enforce, an explicit local rule, or a
            // certificate check of an MX name that came from DNSSEC-validated records.
            if envelope.params.requiretls && !identity_vouched(&source, &policy, mx_dane) {
                let outcome = HostOutcome::Failed {
                    reason: format!("REQUIRETLS: the identity of {host} is not vouched for"),
                    transient: false,
                };
                tries.note(host, None, &plan, outcome, None);
                tries.failed(Error::from(PolicyViolation::RequireTls {
                    server: host.to_owned(),
                    missing: smtp_proto::client::policy::RequireTlsMissing::Verification,
                }));
                continue;
            }
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
                    tries.note(host, None, &plan, outcome, None);
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
            // RFC 7672 §3.2.2, §8.1: behind a CNAME, the TLSA base domain (the chain's
            // end) is the name DANE-TA certificates carry and the SNI.
            if let (
                HostPlan::Connect {
                    policy: TlsPolicy::Dane { .. },
                    ..
                },
                Some(base),
            ) = (&plan, &dane_base)
                && !base.eq_ignore_ascii_case(host.trim_end_matches('.'))
            {
                o.server_name = Some(base.clone());
            }
            // Settled here for this host; the connection keeps it.
            o.policy_map = None;
            o.settled_rule = match &source {
                PolicySource::Local(rule) => Some(rule.clone()),
                _ => None,
            };
            o.tls_policy = policy;
            let dane = source == PolicySource::Dane;
            for ip in ips {
                let addr = SocketAddr::new(ip, self.port);
                let (outcome, result, tls) = match self.at(addr, host, &o, envelope, message).await
                {
                    Attempt::Answered(delivery, mut report) => {
                        report.policy_source = Some(source.clone());
                        (HostOutcome::Answered, Ok((delivery, report)), Some(Ok(())))
                    }
                    Attempt::Refused(mut e) => {
                        with_source(&mut e, &source);
                        // The session met its policy; the server refused the message.
                        (HostOutcome::Answered, Err(e), Some(Ok(())))
                    }
                    Attempt::Failed(mut e) => {
                        with_source(&mut e, &source);
                        let outcome = HostOutcome::Failed {
                            reason: e.to_string(),
                            transient: e.is_transient(),
                        };
                        let tls = e.tls_report_type(dane).map(Err);
                        (outcome, Err(e), tls)
                    }
                    Attempt::Next(mut e) => {
                        with_source(&mut e, &source);
                        tracing::info!(%host, %addr, error = %e, "trying the next mail host");
                        let outcome = HostOutcome::Failed {
                            reason: e.to_string(),
                            transient: e.is_transient(),
                        };
                        let tls = e.tls_report_type(dane).map(Err);
                        tries.note(host, Some(addr), &plan, outcome, tls);
                        tries.failed(e);
                        continue;
                    }
                };
                tries.note(host, Some(addr), &plan, outcome, tls);
                return match result {
                    Ok((delivery, report)) => Ok(MxSent {
                        delivery,
                        report,
                        attempts: tries.attempts,
                    }),
                    Err(e) => Err(tries.give_up(e)),
                };
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

    /// One address of a host: connect under `opts`, send, quit.
    async fn at(
        &self,
        addr: SocketAddr,
        host: &str,
        opts: &ClientOptions,
        envelope: &Envelope,
        message: &[u8],
    ) -> Attempt {
        let mut conn = match Connection::connect_addr(addr, host, opts.clone()).await {
            Ok(c) => c,
            // A host that is down, defers, fails the TLS policy, or refuses the
            // session at its greeting: the next one may do better (RFC 5321 §5.1).
            Err(e)
                if e.is_transient()
                    || matches!(
                        e,
                        Error::Rejected {
                            stage: smtp_proto::Stage::Greeting,
                            ..
                        }
                    ) =>
            {
                return Attempt::Next(e);
            }
            Err(e) => return Attempt::Failed(e),
        };
        let sent = conn.send(envelope.clone(), message).await;
        let report = conn.report().clone();
        // The message's fate is known; a failing QUIT changes nothing about it.
        let _ = conn.quit().await;
        match sent {
            Ok(delivery) => Attempt::Answered(delivery, report),
            Err(e) if e.delivery().is_some() || e.reply().is_some() => Attempt::Refused(e),
            // The connection broke before any answer about the message.
            Err(e) if e.is_transient() => Attempt::Next(e),
            Err(e) => Attempt::Failed(e),
        }
    }

    /// What the policies say for one host, in the core's order: the local rule, DANE,
    /// MTA-STS, the default. TLSA records are looked up only when DANE can apply.
    /// Also the TLSA base domain, when DANE found records.
    async fn plan(
        &self,
        host: &str,
        mx: MxDane,
        addrs: &HostAddrs,
        sts: StsVerdict,
    ) -> (HostPlan, Option<String>) {
        let (local_policy, rule) = self.opts.policy_for(&self.domain);
        let local = rule.map(|r| (local_policy, r));
        let default = &self.opts.tls_policy;
        match local {
            // A local `dane` rule without records: DANE from DNS, else as `may`.
            Some((TlsPolicy::Dane { records }, rule)) if records.is_empty() => {
                match self.dane(host, mx, addrs).await {
                    DaneStatus::Required { records, base } => {
                        (local_plan(TlsPolicy::Dane { records }, rule), Some(base))
                    }
                    DaneStatus::Defer(why) => (HostPlan::Defer(why), None),
                    // No DANE here: MTA-STS still decides, and the rule's fallback
                    // (`dane` without records: as `may`) is the default.
                    dane @ DaneStatus::NotApplicable(_) => {
                        let fallback = TlsPolicy::Dane { records: vec![] };
                        (choose(None, &dane, &sts, host, &fallback), None)
                    }
                }
            }
            // Any other local rule decides alone: DANE is not looked up.
            Some(local) => (
                choose(
                    Some(local),
                    &DaneStatus::NotApplicable(NoDane::MxInsecure),
                    &sts,
                    host,
                    default,
                ),
                None,
            ),
            None => {
                let dane = self.dane(host, mx, addrs).await;
                let base = match &dane {
                    DaneStatus::Required { base, .. } => Some(base.clone()),
                    _ => None,
                };
                (choose(None, &dane, &sts, host, default), base)
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

/// Whether the policy that decided for a host vouches for its identity, as REQUIRETLS
/// needs (RFC 8689 §4.2.1): DANE with usable records, MTA-STS enforce (`secure` for the
/// listed name), an administrator's own rule, or a certificate checked against an MX
/// name from a DNSSEC-validated (Secure) MX answer.
fn identity_vouched(source: &PolicySource, policy: &TlsPolicy, mx: MxDane) -> bool {
    match (source, policy) {
        (PolicySource::Dane, TlsPolicy::Dane { records }) => records
            .iter()
            .any(smtp_proto::client::policy::Tlsa::is_usable),
        (PolicySource::MtaSts, TlsPolicy::Secure { .. }) | (PolicySource::Local(_), _) => true,
        (_, TlsPolicy::Verify | TlsPolicy::Secure { .. }) => mx == MxDane::Applies,
        _ => false,
    }
}
