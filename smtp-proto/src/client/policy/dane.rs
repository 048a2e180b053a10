//! DANE for SMTP (RFC 7672) as pure rules over what a DNSSEC-validating resolver found.
//! The binding does the lookups (MX, A/AAAA, TLSA) and reports each answer with its
//! validation state; these functions say whether DANE applies, is mandatory, or means
//! "defer". Bogus answers and failed lookups never count as "insecure" (RFC 7672
//! §2.1.1): an attacker who can break a lookup must not be able to turn DANE off.
//!
//! ```
//! use smtp_proto::client::policy::{Answer, DaneStatus, Dnssec, MxDane, Tlsa};
//! use smtp_proto::client::policy::{dane_for_host, dane_for_mx, tlsa_names};
//!
//! let mx: Answer<&str> = Answer::Records(vec!["mx1.example.com"], Dnssec::Secure);
//! assert_eq!(dane_for_mx(&mx), MxDane::Applies);
//! let names = tlsa_names("mx1.example.com", 25, None);
//! assert_eq!(names, ["_25._tcp.mx1.example.com"]);
//! let tlsa = Tlsa { usage: 3, selector: 1, matching: 1, data: vec![0; 32] };
//! let status = dane_for_host(
//!     MxDane::Applies,
//!     &Answer::Records(vec!["192.0.2.1"], Dnssec::Secure),
//!     &[(names[0].clone(), Answer::Records(vec![tlsa.clone()], Dnssec::Secure))],
//! );
//! assert_eq!(status, DaneStatus::Required { records: vec![tlsa], base: "mx1.example.com".into() });
//! ```

use super::{TlsPolicy, Tlsa};
use std::fmt;

/// How an answer validated (RFC 4035 §4.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Dnssec {
    /// A chain of trust from a trust anchor vouches for it.
    Secure,
    /// Provably unsigned (a delegation without DS): DNS as usual, no DANE.
    Insecure,
    /// It should have validated and did not (bad, missing or expired signatures).
    Bogus,
}

/// One lookup's outcome, as a DNSSEC-aware resolver reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer<T> {
    /// Records, with the validation state of their RRset.
    Records(Vec<T>, Dnssec),
    /// No records: NODATA or NXDOMAIN, with the validation state of the denial.
    NoRecords(Dnssec),
    /// The lookup failed (SERVFAIL, a timeout, a transport error). A validating
    /// upstream reports a bogus answer this way too.
    Failed,
}

impl<T> Answer<T> {
    /// The validation state, when there was an answer.
    pub fn dnssec(&self) -> Option<Dnssec> {
        match self {
            Self::Records(_, d) | Self::NoRecords(d) => Some(*d),
            Self::Failed => None,
        }
    }
}

/// Why DANE defers delivery: a bogus answer or a failed lookup where DANE might apply.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DaneDefer {
    /// The MX RRset (or its denial) failed validation.
    MxBogus,
    /// The MX lookup failed.
    MxLookupFailed,
    /// The MX host's address records failed validation.
    AddressBogus,
    /// The MX host's address lookup failed.
    AddressLookupFailed,
    /// The TLSA RRset (or its denial) failed validation.
    TlsaBogus,
    /// The TLSA lookup failed.
    TlsaLookupFailed,
}

impl fmt::Display for DaneDefer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::MxBogus => "the MX records failed DNSSEC validation",
            Self::MxLookupFailed => "the MX lookup failed",
            Self::AddressBogus => "the MX host's addresses failed DNSSEC validation",
            Self::AddressLookupFailed => "the MX host's address lookup failed",
            Self::TlsaBogus => "the TLSA records failed DNSSEC validation",
            Self::TlsaLookupFailed => "the TLSA lookup failed",
        })
    }
}

/// Why DANE does not apply to a host (the next policy in line decides).
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NoDane {
    /// The MX RRset is not signed.
    MxInsecure,
    /// The host's address records are not signed.
    AddressInsecure,
    /// The TLSA records are not signed (RFC 7672 §2.2: they must not be used).
    TlsaInsecure,
    /// A validated denial: the host publishes no TLSA records.
    NoTlsa,
}

/// Whether DANE can apply to a domain's MX hosts (RFC 7672 §2.2.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MxDane {
    /// The MX RRset is Secure (or a Secure denial: the domain is its own implicit MX,
    /// RFC 5321 §5.1): look for TLSA records of each host.
    Applies,
    /// The MX RRset is Insecure: DANE does not apply; MTA-STS or the default decides.
    NotApplicable,
    /// Bogus or failed: defer the whole domain.
    Defer(DaneDefer),
}

/// DANE's verdict for one MX host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DaneStatus {
    /// Secure TLSA records: DANE is mandatory for this host. `records` is the whole
    /// RRset: with none usable, TLS is still required but unauthenticated (RFC 7672
    /// §2.2). `base` is the TLSA base domain (the MX host, or the end of its Secure
    /// CNAME chain), a name DANE-TA certificates may carry (§3.2.2).
    Required {
        /// The TLSA RRset.
        records: Vec<Tlsa>,
        /// The TLSA base domain.
        base: String,
    },
    /// DANE does not apply to this host.
    NotApplicable(NoDane),
    /// Do not deliver to this host now (RFC 7672 §2.1.1), and never in plaintext.
    Defer(DaneDefer),
}

impl DaneStatus {
    /// The TLS policy DANE asks for, when it has a say: `Dane` with the records, or
    /// `DaneLookupFailed` (defer).
    pub fn policy(&self) -> Option<TlsPolicy> {
        match self {
            Self::Required { records, .. } => Some(TlsPolicy::Dane {
                records: records.clone(),
            }),
            Self::Defer(_) => Some(TlsPolicy::DaneLookupFailed),
            Self::NotApplicable(_) => None,
        }
    }
}

/// Whether DANE can apply to the hosts of this MX answer.
pub fn dane_for_mx<T>(mx: &Answer<T>) -> MxDane {
    match mx.dnssec() {
        Some(Dnssec::Secure) => MxDane::Applies,
        Some(Dnssec::Insecure) => MxDane::NotApplicable,
        Some(Dnssec::Bogus) => MxDane::Defer(DaneDefer::MxBogus),
        None => MxDane::Defer(DaneDefer::MxLookupFailed),
    }
}

/// The TLSA owner names to look up for an MX host, in order (RFC 7672 §2.2.2, RFC 7671
/// §7): when the host's address records came through a CNAME chain that validated
/// Secure from end to end, the chain's last name first, then the host itself. The
/// caller looks the names up in order and gives [`dane_for_host`] every answer up to
/// the first that is not a Secure denial.
pub fn tlsa_names(host: &str, port: u16, secure_cname_target: Option<&str>) -> Vec<String> {
    let name = |h: &str| format!("_{port}._tcp.{}", h.trim_end_matches('.'));
    let mut names = Vec::with_capacity(2);
    if let Some(t) = secure_cname_target
        && !t
            .trim_end_matches('.')
            .eq_ignore_ascii_case(host.trim_end_matches('.'))
    {
        names.push(name(t));
    }
    names.push(name(host));
    names
}

/// DANE's verdict for one host from the domain's [`MxDane`], the host's address
/// answer, and the TLSA answers for the names of [`tlsa_names`] (`(owner, answer)` in
/// that order).
pub fn dane_for_host<A>(
    mx: MxDane,
    address: &Answer<A>,
    tlsa: &[(String, Answer<Tlsa>)],
) -> DaneStatus {
    match mx {
        MxDane::Applies => {}
        MxDane::NotApplicable => return DaneStatus::NotApplicable(NoDane::MxInsecure),
        MxDane::Defer(why) => return DaneStatus::Defer(why),
    }
    // §2.2.1: TLSA records are looked up only for hosts whose addresses are Secure.
    match address.dnssec() {
        Some(Dnssec::Secure) => {}
        Some(Dnssec::Insecure) => return DaneStatus::NotApplicable(NoDane::AddressInsecure),
        Some(Dnssec::Bogus) => return DaneStatus::Defer(DaneDefer::AddressBogus),
        None => return DaneStatus::Defer(DaneDefer::AddressLookupFailed),
    }
    let mut insecure = false;
    let last = tlsa.len().saturating_sub(1);
    for (i, (owner, answer)) in tlsa.iter().enumerate() {
        match answer {
            Answer::Records(records, Dnssec::Secure) => {
                let base = owner
                    .splitn(3, '.')
                    .nth(2)
                    .unwrap_or(owner)
                    .trim_end_matches('.')
                    .to_owned();
                return DaneStatus::Required {
                    records: records.clone(),
                    base,
                };
            }
            // A Secure denial at the CNAME target: try the next name (the host).
            Answer::NoRecords(Dnssec::Secure) => continue,
            // An insecure answer at the CNAME target: the host's own name may still
            // have Secure records (RFC 7672 §2.2.2: then look at the original name).
            Answer::Records(_, Dnssec::Insecure) | Answer::NoRecords(Dnssec::Insecure)
                if i < last =>
            {
                insecure = true;
                continue;
            }
            Answer::Records(_, Dnssec::Insecure) | Answer::NoRecords(Dnssec::Insecure) => {
                return DaneStatus::NotApplicable(NoDane::TlsaInsecure);
            }
            Answer::Records(_, Dnssec::Bogus) | Answer::NoRecords(Dnssec::Bogus) => {
                return DaneStatus::Defer(DaneDefer::TlsaBogus);
            }
            Answer::Failed => return DaneStatus::Defer(DaneDefer::TlsaLookupFailed),
        }
    }
    if insecure {
        return DaneStatus::NotApplicable(NoDane::TlsaInsecure);
    }
    DaneStatus::NotApplicable(NoDane::NoTlsa)
}
