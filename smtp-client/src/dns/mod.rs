//! Delivery to a domain (MX relay): the MX lookup with the RFC 5321 §5.1 rules, each
//! host tried in preference order, each under the TLS policy that decides for it:
//! [`MxDelivery`].
//!
//! # The policy for each mail host
//!
//! For every MX host, in this order (the core's
//! [`choose`](smtp_proto::client::policy::choose)):
//!
//! 1. **A local rule**: the rule of the options' policy map that matches the domain
//!    ([`ClientOptions::policy_for`](crate::ClientOptions::policy_for)). A rule of
//!    level `dane` without records means "DANE from DNS": the host's TLSA records when
//!    they are Secure, as `may` when there are none. A rule does not make bogus MX
//!    records usable: they defer the domain whatever the rule says.
//! 2. **DANE** (RFC 7672): Secure MX records, Secure addresses and a Secure TLSA RRset
//!    make DANE mandatory for the host. A bogus answer or a failed lookup on that path
//!    defers the host (§2.1.1), and a bogus or failed MX lookup the whole domain: no
//!    connection, never plaintext. Insecure answers and a Secure denial of TLSA
//!    records mean "no DANE here": the next policy decides.
//! 3. **MTA-STS** (RFC 8461), when [`MxDelivery::mta_sts`] gave the domain's policy:
//!    `enforce` requires a WebPKI-valid certificate for each listed host and skips the
//!    others.
//! 4. **The default**: the options' [`tls_policy`](crate::ClientOptions::tls_policy).
//!
//! The [`SessionReport::policy_source`](crate::SessionReport::policy_source) of the
//! session says which one decided, and [`MxSent::attempts`] / [`MxError::attempts`]
//! say, for each host, what was planned and what happened.
//!
//! # Resolvers
//!
//! The lookups go through a [`Resolver`]: each answer comes with its DNSSEC state, as
//! the core's [`Answer`] (records or none, Secure, Insecure or Bogus; or a failed
//! lookup).
//!
//! - With the `dns` feature, `HickoryResolver::from_system` reads the system's
//!   resolver configuration and validates nothing: every answer is Insecure, so DANE
//!   never applies and the other policies decide.
//! - With the `dane` feature, `HickoryResolver::validating_from_system` validates
//!   DNSSEC in-process from the root trust anchors, and
//!   `HickoryResolver::validating` asks one name server with the trust anchors given
//!   (see that type for what the upstream must pass through).
//! - Or a resolver of your own. An operator who runs a validating resolver on the
//!   loopback interface (unbound, BIND) can implement [`Resolver`] by trusting its AD
//!   bit (RFC 6840 §5.7 and §5.8: ask with AD=1 or DO=1; a SERVFAIL is a failed
//!   lookup, as a bogus answer arrives that way too). Trust the AD bit only from a
//!   resolver on the same host or over a secured channel (RFC 4035 §4.9.3); this is
//!   what Postfix requires for its `dane` level (`smtp_dns_support_level = dnssec`).
//!
//! ```no_run
//! # #[cfg(feature = "dns")]
//! # async fn run() -> Result<(), smtp_client::Error> {
//! use smtp_client::dns::{HickoryResolver, MxDelivery};
//! use smtp_client::{ClientOptions, DomainPattern, Envelope, PolicyMap, TlsPolicy};
//!
//! // Opportunistic TLS for most domains, verified TLS for example.com and below.
//! let mut map = PolicyMap::new();
//! for pattern in ["example.com", ".example.com"] {
//!     map.insert(DomainPattern::parse(pattern).unwrap(), TlsPolicy::Verify);
//! }
//! let opts = ClientOptions::new("mta.example.org", TlsPolicy::May).with_policy_map(map, "example.com");
//! let envelope = Envelope::new("alice@example.org", ["bob@example.com"]).expect("valid addresses");
//! let sent = MxDelivery::new("example.com", opts)
//!     .resolver(HickoryResolver::from_system()?)
//!     .send(&envelope, "Subject: hi\r\n\r\nHello.\r\n")
//!     .await?;
//! let report = &sent.report;
//! println!("{}\nvia {} ({})", sent.delivery, report.server, report.tls_line());
//! for attempt in &sent.attempts {
//!     println!("  {attempt}");
//! }
//! # Ok(())
//! # }
//! ```

use crate::error::Error;
use smtp_proto::client::policy::Tlsa;
use std::future::Future;
use std::net::IpAddr;

mod attempt;
mod delivery;
#[cfg(feature = "dane")]
mod dnssec;
#[cfg(feature = "dns")]
mod hickory;

pub use attempt::{HostAttempt, HostOutcome, MxError, MxSent};
pub use delivery::{MxDelivery, NoResolver};
#[cfg(feature = "dane")]
pub use dnssec::DnssecAnchors;
#[cfg(feature = "dns")]
pub use hickory::HickoryResolver;
pub use smtp_proto::client::mx::MxHost;
pub use smtp_proto::client::policy::{
    Answer, DaneDefer, DaneStatus, Dnssec, HostPlan, NoDane, PolicySource,
};

/// The lookups MX delivery needs, each answer with its DNSSEC state (RFC 4035 §4.3).
///
/// A resolver that does not validate answers `Insecure` (or `Failed`) throughout: DANE
/// then never applies. A validating one must never report a bogus answer, nor a lookup
/// that failed, as `Insecure`: that would let whoever can break a lookup turn DANE off
/// (RFC 7672 §2.1.1).
///
/// Names are given without a trailing dot and are fully qualified: never complete them
/// with a search list.
pub trait Resolver: Sync {
    /// The MX RRset of `domain`. `NoRecords` for a domain without MX records, and for
    /// one that does not exist: delivery then tries the domain itself (the implicit
    /// MX, RFC 5321 §5.1), whose address lookup tells.
    fn mx(&self, domain: &str) -> impl Future<Output = Answer<MxHost>> + Send;

    /// The addresses of a mail host: its A and AAAA RRsets together.
    fn addrs(&self, host: &str) -> impl Future<Output = HostAddrs> + Send;

    /// The TLSA RRset at `owner` (`_25._tcp.mx.example.com`, see
    /// [`tlsa_names`](smtp_proto::client::policy::tlsa_names)). Asked only when the MX
    /// and address answers are Secure.
    fn tlsa(&self, owner: &str) -> impl Future<Output = Answer<Tlsa>> + Send;

    /// The TXT RRset at `name` (each record's strings joined), for MTA-STS
    /// (`_mta-sts.example.com`, RFC 8461 §3.1) and TLS reporting (`_smtp._tls`,
    /// RFC 8460 §3). Delivery does not ask it yet. The default answers `Failed`.
    fn txt(&self, name: &str) -> impl Future<Output = Answer<String>> + Send {
        let _ = name;
        async { Answer::Failed }
    }
}

/// A resolver lent to a delivery.
impl<R: Resolver + ?Sized> Resolver for &R {
    fn mx(&self, domain: &str) -> impl Future<Output = Answer<MxHost>> + Send {
        (**self).mx(domain)
    }
    fn addrs(&self, host: &str) -> impl Future<Output = HostAddrs> + Send {
        (**self).addrs(host)
    }
    fn tlsa(&self, owner: &str) -> impl Future<Output = Answer<Tlsa>> + Send {
        (**self).tlsa(owner)
    }
    fn txt(&self, name: &str) -> impl Future<Output = Answer<String>> + Send {
        (**self).txt(name)
    }
}

/// A mail host's addresses, as [`Resolver::addrs`] found them.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostAddrs {
    /// The A and AAAA records (IPv4 first), with the weaker validation state of the two
    /// RRsets ([`both`]).
    pub answer: Answer<IpAddr>,
    /// When the host name is an alias: the last name of its CNAME chain, if every link
    /// of the chain and the address records validated Secure. DANE then looks for TLSA
    /// records at that name first (RFC 7672 §2.2.2). `None` otherwise.
    pub secure_cname_target: Option<String>,
}

impl HostAddrs {
    /// Addresses that came without a CNAME chain.
    pub fn new(answer: Answer<IpAddr>) -> Self {
        Self {
            answer,
            secure_cname_target: None,
        }
    }

    /// Sets the Secure CNAME chain's last name (without a trailing dot).
    pub fn with_secure_cname_target(mut self, target: &str) -> Self {
        self.secure_cname_target = Some(target.trim_end_matches('.').to_ascii_lowercase());
        self
    }
}

impl From<Answer<IpAddr>> for HostAddrs {
    fn from(answer: Answer<IpAddr>) -> Self {
        Self::new(answer)
    }
}

/// Two answers as one (a host's A and AAAA RRsets): the records of both, with the
/// weaker state. Bogus is the weakest: it leaves no records (nothing bogus is used).
/// Then a failed lookup, then Insecure; Secure only when both are.
pub fn both<T>(a: Answer<T>, b: Answer<T>) -> Answer<T> {
    // Weakness: 0 Secure, 1 Insecure, 2 Failed, 3 Bogus.
    let rank = |x: &Answer<T>| match x.dnssec() {
        Some(Dnssec::Secure) => 0,
        Some(Dnssec::Insecure) => 1,
        None => 2,
        Some(Dnssec::Bogus) => 3,
    };
    let weakest = rank(&a).max(rank(&b));
    let state = match weakest {
        3 => return Answer::NoRecords(Dnssec::Bogus),
        2 => return Answer::Failed,
        1 => Dnssec::Insecure,
        _ => Dnssec::Secure,
    };
    let records: Vec<T> = [a, b]
        .into_iter()
        .flat_map(|x| match x {
            Answer::Records(r, _) => r,
            _ => Vec::new(),
        })
        .collect();
    if records.is_empty() {
        Answer::NoRecords(state)
    } else {
        Answer::Records(records, state)
    }
}

/// The hosts to try for `domain`, in order (RFC 5321 §5.1, the core's
/// [`mx::mail_hosts`](smtp_proto::client::mx::mail_hosts)): by MX preference; the domain
/// itself when it has no MX (the implicit MX); a permanent error for a null MX
/// (RFC 7505: the domain accepts no mail).
pub fn mail_hosts(mx: Vec<MxHost>, domain: &str) -> Result<Vec<String>, Error> {
    smtp_proto::client::mx::mail_hosts(mx, domain).map_err(|e| Error::Dns {
        reason: e.to_string(),
        permanent: true,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_keeps_the_weaker_state_and_drops_bogus_records() {
        let ip = |s: &str| -> IpAddr { s.parse().unwrap() };
        let secure = |s| Answer::Records(vec![ip(s)], Dnssec::Secure);
        assert_eq!(
            both(secure("192.0.2.1"), Answer::NoRecords(Dnssec::Secure)),
            secure("192.0.2.1")
        );
        assert_eq!(
            both(secure("192.0.2.1"), secure("2001:db8::1")),
            Answer::Records(vec![ip("192.0.2.1"), ip("2001:db8::1")], Dnssec::Secure)
        );
        assert_eq!(
            both(secure("192.0.2.1"), Answer::NoRecords(Dnssec::Insecure)),
            Answer::Records(vec![ip("192.0.2.1")], Dnssec::Insecure)
        );
        assert_eq!(both(secure("192.0.2.1"), Answer::Failed), Answer::Failed);
        assert_eq!(
            both(
                Answer::Failed,
                Answer::Records(vec![ip("::1")], Dnssec::Bogus)
            ),
            Answer::NoRecords(Dnssec::Bogus)
        );
        assert_eq!(
            both::<IpAddr>(
                Answer::NoRecords(Dnssec::Secure),
                Answer::NoRecords(Dnssec::Secure)
            ),
            Answer::NoRecords(Dnssec::Secure)
        );
    }
}
