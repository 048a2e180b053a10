//! The one order in which the policies decide for an MX host, as a pure function of
//! what was looked up: an explicit local rule for the destination wins; then DANE,
//! when the MX and TLSA records are Secure (RFC 7672; RFC 8461 §2: a domain with both
//! is held to DANE); then MTA-STS (RFC 8461); then the default policy.
//!
//! ```
//! use smtp_proto::client::policy::{choose, DaneStatus, HostPlan, PolicySource, StsVerdict};
//! use smtp_proto::client::policy::{NoDane, TlsPolicy};
//!
//! let no_dane = DaneStatus::NotApplicable(NoDane::MxInsecure);
//! // MTA-STS enforce, and the host matches the policy: TLS with a certificate for it.
//! let plan = choose(None, &no_dane, &StsVerdict::Enforce, "mx1.example.com", &TlsPolicy::May);
//! assert_eq!(
//!     plan,
//!     HostPlan::Connect {
//!         policy: TlsPolicy::Secure { names: vec!["mx1.example.com".into()] },
//!         source: PolicySource::MtaSts,
//!     }
//! );
//! // A host the enforced policy does not list is not used.
//! let plan = choose(None, &no_dane, &StsVerdict::EnforceMxMismatch, "evil.example.net", &TlsPolicy::May);
//! assert_eq!(plan, HostPlan::Skip);
//! ```

use super::TlsPolicy;
use super::dane::{DaneDefer, DaneStatus};
use super::map::DomainPattern;
use crate::client::tlsrpt::PolicyType;
use std::fmt;

/// What MTA-STS says for one MX host (from a valid, current policy of the domain).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StsVerdict {
    /// No policy: no `_mta-sts` record, none cached, or mode `none`.
    NoPolicy,
    /// Mode `testing`: deliver as usual; what enforcing would have refused is only
    /// reported (TLS-RPT).
    Testing,
    /// Mode `enforce`, and the host matches one of the policy's `mx` patterns: TLS with
    /// a certificate valid (WebPKI) for the host's name is required.
    Enforce,
    /// Mode `enforce`, and the host matches no `mx` pattern: it is not to be used.
    EnforceMxMismatch,
}

/// Which policy decided for a host.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum PolicySource {
    /// A rule of the local policy map.
    Local(DomainPattern),
    /// DANE: Secure MX and TLSA records.
    Dane,
    /// MTA-STS (enforce, or testing where it only reports).
    MtaSts,
    /// None of the above: the default policy.
    Default,
}

impl PolicySource {
    /// `local`, `dane`, `mta-sts` or `default`.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Local(_) => "local",
            Self::Dane => "dane",
            Self::MtaSts => "mta-sts",
            Self::Default => "default",
        }
    }

    /// The policy type a TLS report (RFC 8460 §4.4) files the host's results under.
    pub fn report_type(&self) -> PolicyType {
        match self {
            Self::Dane => PolicyType::Tlsa,
            Self::MtaSts => PolicyType::Sts,
            Self::Local(_) | Self::Default => PolicyType::NoPolicyFound,
        }
    }
}

impl fmt::Display for PolicySource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Local(rule) => write!(f, "local ({rule})"),
            other => f.write_str(other.name()),
        }
    }
}

/// What to do with one MX host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostPlan {
    /// Connect under this policy.
    Connect {
        /// The policy to apply.
        policy: TlsPolicy,
        /// Which policy decided.
        source: PolicySource,
    },
    /// Do not use this host (MTA-STS enforce: it matches no `mx` pattern); try the
    /// next one.
    Skip,
    /// Do not deliver to this host now, and never in plaintext (DANE: a bogus answer
    /// or a failed lookup, RFC 7672 §2.1.1).
    Defer(DaneDefer),
}

/// Decides for one MX host, in the documented order: `local` (the policy map's rule
/// for the destination, if any), `dane` (see [`super::dane_for_host`]), `sts` (the
/// domain's MTA-STS verdict for this host), then `default`.
///
/// Under MTA-STS `testing` the default policy applies, and the source is still
/// `MtaSts` so that failures are reported under the `sts` policy type.
pub fn choose(
    local: Option<(&TlsPolicy, &DomainPattern)>,
    dane: &DaneStatus,
    sts: &StsVerdict,
    host: &str,
    default: &TlsPolicy,
) -> HostPlan {
    if let Some((policy, rule)) = local {
        return HostPlan::Connect {
            policy: policy.clone(),
            source: PolicySource::Local(rule.clone()),
        };
    }
    match dane {
        DaneStatus::Required { records, .. } => {
            return HostPlan::Connect {
                policy: TlsPolicy::Dane {
                    records: records.clone(),
                },
                source: PolicySource::Dane,
            };
        }
        DaneStatus::Defer(why) => return HostPlan::Defer(*why),
        DaneStatus::NotApplicable(_) => {}
    }
    match sts {
        // RFC 8461 §4.2: a certificate valid for the MX host name, chained to a
        // trusted root.
        StsVerdict::Enforce => HostPlan::Connect {
            policy: TlsPolicy::Secure {
                names: vec![host.trim_end_matches('.').to_ascii_lowercase()],
            },
            source: PolicySource::MtaSts,
        },
        StsVerdict::EnforceMxMismatch => HostPlan::Skip,
        StsVerdict::Testing => HostPlan::Connect {
            policy: default.clone(),
            source: PolicySource::MtaSts,
        },
        StsVerdict::NoPolicy => HostPlan::Connect {
            policy: default.clone(),
            source: PolicySource::Default,
        },
    }
}

/// Whether a message asks relays to ignore the recipient domain's TLS policies
/// (DANE, MTA-STS) with a `TLS-Required: No` header field (RFC 8689 §5): looks at the
/// header section of `message` only (up to the first empty line), field names
/// without case, values unfolded. Ignored when the message was sent with the
/// REQUIRETLS parameter (§4.1), so pass `requiretls` too. When it says yes, give
/// [`choose`] `DaneStatus::NotApplicable` and `StsVerdict::NoPolicy`; local rules
/// still apply.
pub fn ignores_recipient_policies(message: &[u8], requiretls: bool) -> bool {
    !requiretls
        && has_header_field(message, |name, value| {
            name.eq_ignore_ascii_case(b"TLS-Required")
                && value.trim_ascii().eq_ignore_ascii_case(b"no")
        })
}

/// Whether a field of the header section of `message` (up to the first empty line;
/// folded lines unfolded, RFC 5322 §2.2.3) satisfies `wanted(name, value)`.
pub(crate) fn has_header_field(message: &[u8], wanted: impl Fn(&[u8], &[u8]) -> bool) -> bool {
    let check = |f: &[u8]| {
        f.iter()
            .position(|&b| b == b':')
            .is_some_and(|colon| wanted(&f[..colon], &f[colon + 1..]))
    };
    let mut field: Option<Vec<u8>> = None;
    for line in message
        .split(|&b| b == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l))
    {
        if line.is_empty() {
            break;
        }
        if matches!(line.first(), Some(b' ' | b'\t')) {
            if let Some(f) = field.as_mut() {
                f.extend_from_slice(line);
            }
            continue;
        }
        if field.take().is_some_and(|f| check(&f)) {
            return true;
        }
        field = Some(line.to_vec());
    }
    field.is_some_and(|f| check(&f))
}
