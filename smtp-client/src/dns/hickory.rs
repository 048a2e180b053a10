//! [`HickoryResolver`]: a [`Resolver`] on `hickory-resolver` (feature `dns`), validating
//! DNSSEC in-process with the `dane` feature.

use super::{Answer, Dnssec, HostAddrs, MxHost, Resolver, both};
use crate::error::Error;
use hickory_resolver::TokioResolver;
use hickory_resolver::net::NetError;
use hickory_resolver::proto::rr::{Name, RData, Record, RecordType};
use smtp_proto::client::policy::Tlsa;
use std::net::IpAddr;

/// A [`Resolver`] on `hickory-resolver` (the `dns` feature).
///
/// [`from_system`](Self::from_system) validates nothing: every answer counts as
/// Insecure, so DANE never applies. With the `dane` feature,
/// `validating_from_system` and `validating` validate DNSSEC in-process (RFC 4035 §5,
/// RFC 5155)
/// and report each RRset's state: records whose chain of trust holds are Secure,
/// provably unsigned ones Insecure; a bogus answer is `Bogus`, and every other failure
/// (SERVFAIL, a timeout, DNSSEC records that could not be had) is `Failed`, never
/// Insecure (RFC 7672 §2.1.1).
#[derive(Clone)]
pub struct HickoryResolver {
    pub(super) inner: TokioResolver,
    pub(super) validating: bool,
}

impl std::fmt::Debug for HickoryResolver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HickoryResolver")
            .field("validating", &self.validating)
            .finish()
    }
}

impl HickoryResolver {
    /// From the system's configuration (`/etc/resolv.conf` on Unix), without DNSSEC
    /// validation: every answer is Insecure.
    pub fn from_system() -> Result<Self, Error> {
        let inner = TokioResolver::builder_tokio()
            .and_then(|b| b.build())
            .map_err(|e| config_error(&e))?;
        Ok(Self {
            inner,
            validating: false,
        })
    }

    /// Whether answers are DNSSEC-validated (else all are Insecure).
    pub fn is_validating(&self) -> bool {
        self.validating
    }

    /// One lookup, as an [`Answer`] of the values `pick` takes from records of
    /// `rtype`, and the owner name of those records (the end of a CNAME chain).
    async fn query<T>(
        &self,
        name: &str,
        rtype: RecordType,
        pick: impl Fn(&RData) -> Option<T>,
    ) -> (Answer<T>, Option<Name>) {
        // Fully qualified: never completed with the resolver's search list.
        let fqdn = if name.ends_with('.') {
            name.to_owned()
        } else {
            format!("{name}.")
        };
        let lookup = match self.inner.lookup(fqdn.as_str(), rtype).await {
            Ok(l) => l,
            Err(e) => {
                tracing::debug!(name, %rtype, error = %e, "DNS lookup");
                return (self.negative(e), None);
            }
        };
        let mut values = Vec::new();
        let mut owner = None;
        for r in lookup.answers() {
            if r.record_type() == rtype
                && let Some(v) = pick(&r.data)
            {
                values.push(v);
                owner.get_or_insert_with(|| r.name.clone());
            }
        }
        // The state of every record the answer relied on, CNAMEs included.
        let state = match self.state(lookup.answers()) {
            Some(s) => s,
            None => return (Answer::Failed, None),
        };
        if state == Dnssec::Bogus {
            return (Answer::NoRecords(Dnssec::Bogus), None);
        }
        if values.is_empty() {
            return (Answer::NoRecords(state), None);
        }
        (Answer::Records(values, state), owner)
    }

    /// The validation state of the records an answer holds (`None`: it cannot be
    /// told, a failed lookup).
    fn state(&self, records: &[Record]) -> Option<Dnssec> {
        #[cfg(feature = "dane")]
        if self.validating {
            return super::dnssec::state(records);
        }
        let _ = records;
        Some(Dnssec::Insecure)
    }

    /// A lookup that gave no records, or failed.
    fn negative<T>(&self, e: NetError) -> Answer<T> {
        #[cfg(feature = "dane")]
        if self.validating {
            return super::dnssec::negative(e);
        }
        if e.is_no_records_found() {
            Answer::NoRecords(Dnssec::Insecure)
        } else {
            Answer::Failed
        }
    }
}

pub(super) fn config_error(e: &dyn std::fmt::Display) -> Error {
    Error::Config(format!("DNS resolver: {e}"))
}

/// A name as the rest of the crate writes it: lowercase, no trailing dot.
fn plain(name: &Name) -> String {
    name.to_utf8().trim_end_matches('.').to_ascii_lowercase()
}

impl Resolver for HickoryResolver {
    async fn mx(&self, domain: &str) -> Answer<MxHost> {
        let pick = |d: &RData| match d {
            RData::MX(mx) => Some(MxHost {
                preference: mx.preference,
                host: plain(&mx.exchange),
            }),
            _ => None,
        };
        self.query(domain, RecordType::MX, pick).await.0
    }

    async fn addrs(&self, host: &str) -> HostAddrs {
        let v4 = |d: &RData| match d {
            RData::A(a) => Some(IpAddr::V4(a.0)),
            _ => None,
        };
        let v6 = |d: &RData| match d {
            RData::AAAA(a) => Some(IpAddr::V6(a.0)),
            _ => None,
        };
        let ((mut a, owner4), (mut aaaa, owner6)) = tokio::join!(
            self.query(host, RecordType::A, v4),
            self.query(host, RecordType::AAAA, v6)
        );
        let alias = |answer: &Answer<IpAddr>, owner: &Option<Name>| match (answer, owner) {
            (Answer::Records(_, Dnssec::Secure), Some(o)) => {
                Some(plain(o)).filter(|t| !t.eq_ignore_ascii_case(host.trim_end_matches('.')))
            }
            _ => None,
        };
        let target = alias(&a, &owner4).or_else(|| alias(&aaaa, &owner6));
        // hickory-resolver 0.26 judges a denial reached through a CNAME against the
        // alias rather than the chain's target, and reports a Secure NODATA there as
        // bogus (an IPv4-only host behind a CNAME). The other family's Secure answer
        // validated the same CNAME chain: ask the target itself.
        if let Some(t) = &target {
            let bogus = Answer::NoRecords(Dnssec::Bogus);
            if aaaa == bogus {
                aaaa = self.query(t, RecordType::AAAA, v6).await.0;
            } else if a == bogus {
                a = self.query(t, RecordType::A, v4).await.0;
            }
        }
        let mut addrs = HostAddrs::new(both(a, aaaa));
        // RFC 7672 §2.2.2: the chain's last name counts only when all of it is Secure.
        if addrs.answer.dnssec() == Some(Dnssec::Secure)
            && let Some(t) = target
        {
            addrs = addrs.with_secure_cname_target(&t);
        }
        addrs
    }

    async fn tlsa(&self, owner: &str) -> Answer<Tlsa> {
        let pick = |d: &RData| match d {
            RData::TLSA(t) => Some(Tlsa {
                usage: t.cert_usage.into(),
                selector: t.selector.into(),
                matching: t.matching.into(),
                data: t.cert_data.clone(),
            }),
            _ => None,
        };
        self.query(owner, RecordType::TLSA, pick).await.0
    }

    async fn txt(&self, name: &str) -> Answer<String> {
        let pick = |d: &RData| match d {
            RData::TXT(t) => Some(
                t.txt_data
                    .iter()
                    .map(|s| String::from_utf8_lossy(s))
                    .collect::<String>(),
            ),
            _ => None,
        };
        self.query(name, RecordType::TXT, pick).await.0
    }
}
