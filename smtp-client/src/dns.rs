//! Delivery to a domain: MX lookup with the RFC 5321 §5.1 rules, each host tried in
//! preference order, the per-domain TLS policy applied to every host.
//!
//! The lookups go through a [`Resolver`]; with the `dns` feature, [`HickoryResolver`]
//! is one (the system's resolver configuration, via `hickory-resolver`).

use crate::conn::Connection;
use crate::error::Error;
use crate::options::ClientOptions;
use crate::report::{Delivery, SessionReport};
use smtp_proto::client::Envelope;
use smtp_proto::client::policy::{PolicyMap, TlsPolicy, Tlsa};
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

/// Delivers one message to the mail hosts of `domain` on `port` (25 for MX relay):
/// each host's addresses in turn until one gives an answer about the message. A host
/// that cannot be reached, refuses the session with a 4xx, or fails the TLS policy
/// is skipped for the next (RFC 5321 §5.1); a reply about the message (even a 4xx)
/// is final. The policy for `domain` in `policies` applies to every host.
pub async fn deliver(
    domain: &str,
    policies: &PolicyMap,
    opts: &ClientOptions,
    envelope: &Envelope,
    message: &[u8],
    resolver: &impl Resolver,
    port: u16,
) -> Result<(Delivery, SessionReport), Error> {
    let mut records = resolver.mx(domain).await?;
    // RFC 5321 §5.1: equal preferences in random order, seeded from the clock.
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0x9e37_79b9, |d| d.as_nanos() as u64);
    smtp_proto::client::mx::shuffle_equal_preferences(&mut records, seed);
    let hosts = mail_hosts(records, domain)?;
    let (policy, _) = policies.lookup(domain);
    // The error reported when no host took the message: a transient one if any host
    // failed transiently (a later attempt may succeed), else the last.
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
        let mut o = opts.clone();
        o.destination = Some(domain.to_owned());
        o.server_name = None;
        o.tls_policy = match policy {
            TlsPolicy::Dane { records } if records.is_empty() => {
                match resolver.tlsa(&host, port).await {
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
            last = Some(Error::Policy(
                smtp_proto::client::policy::PolicyViolation::TlsaLookupFailed {
                    server: host.clone(),
                    destination: domain.to_owned(),
                },
            ));
            continue;
        }
        let addrs = match resolver.addrs(&host, port).await {
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
                                stage: "greeting",
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

#[cfg(feature = "dns")]
pub use hickory::HickoryResolver;

#[cfg(feature = "dns")]
mod hickory {
    use super::{MxHost, Resolver};
    use crate::error::Error;
    use hickory_resolver::TokioResolver;
    use hickory_resolver::proto::rr::RData;
    use std::net::SocketAddr;

    /// A [`Resolver`] on `hickory-resolver` with the system's configuration. It does
    /// not validate DNSSEC, so it offers no TLSA records: DANE needs a validating
    /// resolver behind a `Resolver` of your own.
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
