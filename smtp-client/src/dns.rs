//! Delivery to a domain: MX lookup with the RFC 5321 §5.1 rules, each host tried in
//! preference order, the destination's TLS policy applied to every host:
//! [`MxDelivery`].
//!
//! The lookups go through a [`Resolver`] of the caller's (a DNSSEC-validating one for
//! DANE). With the `dns` feature, `HickoryResolver` is one, on the system's resolver
//! configuration; everything else here needs no feature.
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
//! let (delivery, report) = MxDelivery::new("example.com", opts)
//!     .resolver(HickoryResolver::from_system()?)
//!     .send(&envelope, "Subject: hi\r\n\r\nHello.\r\n")
//!     .await?;
//! println!("{delivery}\nvia {} ({})", report.server, report.tls_line());
//! # Ok(())
//! # }
//! ```

use crate::conn::Connection;
use crate::delivery::Delivery;
use crate::error::Error;
use crate::options::ClientOptions;
use crate::report::SessionReport;
use smtp_proto::client::Envelope;
use smtp_proto::client::policy::{PolicyViolation, TlsPolicy, Tlsa};
use std::future::Future;
use std::net::SocketAddr;

pub use smtp_proto::client::mx::MxHost;

/// The lookups delivery needs.
pub trait Resolver: Sync {
    /// The MX records of `domain`: empty when the domain exists without any;
    /// `Error::Dns { permanent: true }` when it does not exist.
    fn mx(&self, domain: &str) -> impl Future<Output = Result<Vec<MxHost>, Error>> + Send;
    /// The socket addresses of a host (its AAAA and A records) on `port`.
    fn addrs(
        &self,
        host: &str,
        port: u16,
    ) -> impl Future<Output = Result<Vec<SocketAddr>, Error>> + Send;
    /// The DNSSEC-validated TLSA records of `_port._tcp.host`, for a destination whose
    /// policy is DANE: `Ok(None)` when there are none (or they are not validated), an
    /// error when the lookup failed. The default has none.
    fn tlsa(
        &self,
        host: &str,
        port: u16,
    ) -> impl Future<Output = Result<Option<Vec<Tlsa>>, Error>> + Send {
        let _ = (host, port);
        async { Ok(None) }
    }
}

/// A resolver lent to a delivery.
impl<R: Resolver + ?Sized> Resolver for &R {
    fn mx(&self, domain: &str) -> impl Future<Output = Result<Vec<MxHost>, Error>> + Send {
        (**self).mx(domain)
    }
    fn addrs(
        &self,
        host: &str,
        port: u16,
    ) -> impl Future<Output = Result<Vec<SocketAddr>, Error>> + Send {
        (**self).addrs(host, port)
    }
    fn tlsa(
        &self,
        host: &str,
        port: u16,
    ) -> impl Future<Output = Result<Option<Vec<Tlsa>>, Error>> + Send {
        (**self).tlsa(host, port)
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

/// The [`MxDelivery`] state before [`MxDelivery::resolver`]: it cannot send yet.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoResolver;

/// Delivery of messages to the mail hosts of one domain (MX relay), built step by
/// step: [`MxDelivery::new`] with the domain and the options, a
/// [`resolver`](MxDelivery::resolver), optionally a [`port`](MxDelivery::port), then
/// [`send`](MxDelivery::send) as often as needed.
///
/// The policy is the options' for the domain ([`ClientOptions::policy_for`]: the rule
/// of their policy map that matches it, else their `tls_policy`; `may` is the usual
/// choice for relay), the same for every host of the domain. For the destination
/// of the policy, names in messages and `Secure` without names, the domain is used;
/// each host's certificate is checked against the host's name.
#[derive(Debug, Clone)]
pub struct MxDelivery<R = NoResolver> {
    domain: String,
    opts: ClientOptions,
    resolver: R,
    port: u16,
}

impl MxDelivery {
    /// Delivery to `domain` with `opts`, on port 25.
    pub fn new(domain: &str, opts: ClientOptions) -> Self {
        Self {
            domain: domain.trim_end_matches('.').to_owned(),
            opts,
            resolver: NoResolver,
            port: 25,
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
        }
    }

    /// The port of every mail host. Default 25 (MX relay).
    pub fn port(mut self, port: u16) -> Self {
        self.port = port;
        self
    }
}

impl<R: Resolver> MxDelivery<R> {
    /// Delivers one message: each host's addresses in turn until one gives an answer
    /// about the message. A host that cannot be reached, refuses the session (a 4xx,
    /// or anything at its greeting), or fails the TLS policy is skipped for the next
    /// (RFC 5321 §5.1); a reply about the message (even a 4xx) is final. Gives the
    /// delivery (as [`Connection::send`] does) and what the connection to the host
    /// that answered got. Failing everywhere, the error is a transient one if any host
    /// failed transiently (a later attempt may succeed), else the last.
    pub async fn send(
        &self,
        envelope: &Envelope,
        message: impl AsRef<[u8]>,
    ) -> Result<(Delivery, SessionReport), Error> {
        let (domain, port, message) = (self.domain.as_str(), self.port, message.as_ref());
        let mut records = self.resolver.mx(domain).await?;
        // RFC 5321 §5.1: equal preferences in random order, seeded from the clock.
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0x9e37_79b9, |d| d.as_nanos() as u64);
        smtp_proto::client::mx::shuffle_equal_preferences(&mut records, seed);
        let hosts = mail_hosts(records, domain)?;
        let (policy, rule) = self.opts.policy_for(domain);
        let mut last: Option<Error> = None;
        let keep = |e: Error, last: &mut Option<Error>| {
            if last
                .as_ref()
                .is_none_or(|l| !l.is_transient() || e.is_transient())
            {
                *last = Some(e);
            }
        };
        for host in hosts {
            let mut o = self.opts.clone();
            o.destination = Some(domain.to_owned());
            o.server_name = None;
            // Settled here once for the domain; the connection keeps it.
            o.policy_map = None;
            o.settled_rule = rule.cloned();
            o.tls_policy = match policy {
                TlsPolicy::Dane { records } if records.is_empty() => {
                    match self.resolver.tlsa(&host, port).await {
                        Ok(Some(records)) => TlsPolicy::Dane { records },
                        Ok(None) => TlsPolicy::Dane {
                            records: Vec::new(),
                        },
                        // RFC 7672 §2.2: a failed TLSA lookup defers this host.
                        Err(_) => TlsPolicy::DaneLookupFailed,
                    }
                }
                other => other.clone(),
            };
            if o.tls_policy == TlsPolicy::DaneLookupFailed {
                // RFC 7672 §2.2: defer this host without connecting.
                last = Some(
                    PolicyViolation::TlsaLookupFailed {
                        server: host.clone(),
                        destination: domain.to_owned(),
                    }
                    .into(),
                );
                continue;
            }
            let addrs = match self.resolver.addrs(&host, port).await {
                Ok(a) => a,
                Err(e) => {
                    keep(e, &mut last);
                    continue;
                }
            };
            for addr in addrs {
                let mut conn = match Connection::connect_addr(addr, &host, o.clone()).await {
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
                        tracing::info!(%host, %addr, error = %e, "trying the next mail host");
                        keep(e, &mut last);
                        continue;
                    }
                    Err(e) => return Err(e),
                };
                let sent = conn.send(envelope.clone(), message).await;
                let report = conn.report().clone();
                let _ = conn.quit().await;
                match sent {
                    Ok(d) => return Ok((d, report)),
                    // The connection broke before any answer about the message.
                    Err(e) if e.is_transient() && e.delivery().is_none() && e.reply().is_none() => {
                        keep(e, &mut last);
                    }
                    Err(e) => return Err(e),
                }
            }
        }
        Err(last.unwrap_or_else(|| Error::Dns {
            reason: format!("no address for any mail host of {domain}"),
            permanent: false,
        }))
    }
}

#[cfg(feature = "dns")]
pub use hickory::HickoryResolver;

#[cfg(feature = "dns")]
mod hickory {
    use super::{MxHost, Resolver};
    use crate::error::Error;
    use hickory_resolver::TokioResolver;
    use hickory_resolver::proto::rr::RData;
    use std::net::SocketAddr;

    /// A [`Resolver`] on `hickory-resolver` with the system's configuration (needs the
    /// `dns` feature). It does not validate DNSSEC, so it offers no TLSA records: DANE
    /// needs a validating resolver behind a `Resolver` of your own.
    #[derive(Clone)]
    pub struct HickoryResolver(TokioResolver);

    impl std::fmt::Debug for HickoryResolver {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("HickoryResolver")
        }
    }

    impl HickoryResolver {
        /// From `/etc/resolv.conf`.
        pub fn from_system() -> Result<Self, Error> {
            let r = TokioResolver::builder_tokio()
                .and_then(|b| b.build())
                .map_err(|e| Error::Dns {
                    reason: format!("resolver configuration: {e}"),
                    permanent: false,
                })?;
            Ok(Self(r))
        }
    }

    fn fqdn(name: &str) -> String {
        if name.ends_with('.') {
            name.to_owned()
        } else {
            format!("{name}.")
        }
    }

    impl Resolver for HickoryResolver {
        async fn mx(&self, domain: &str) -> Result<Vec<MxHost>, Error> {
            // Fully qualified: never completed with the resolver's search list.
            match self.0.mx_lookup(fqdn(domain)).await {
                Ok(l) => Ok(l
                    .answers()
                    .iter()
                    .filter_map(|r| match &r.data {
                        RData::MX(mx) => Some(MxHost {
                            preference: mx.preference,
                            host: mx.exchange.to_utf8().trim_end_matches('.').to_owned(),
                        }),
                        _ => None,
                    })
                    .collect()),
                Err(e) if e.is_nx_domain() => Err(Error::Dns {
                    reason: format!("{domain} does not exist"),
                    permanent: true,
                }),
                Err(e) if e.is_no_records_found() => Ok(Vec::new()),
                Err(e) => Err(Error::Dns {
                    reason: format!("MX lookup for {domain}: {e}"),
                    permanent: false,
                }),
            }
        }

        async fn addrs(&self, host: &str, port: u16) -> Result<Vec<SocketAddr>, Error> {
            self.0
                .lookup_ip(fqdn(host))
                .await
                .map(|l| l.iter().map(|ip| SocketAddr::new(ip, port)).collect())
                .map_err(|e| Error::Dns {
                    reason: format!("address lookup for {host}: {e}"),
                    // No such host, or a host without addresses: not a passing fault.
                    permanent: e.is_nx_domain() || e.is_no_records_found(),
                })
        }
    }
}
