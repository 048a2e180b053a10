//! What a policy means for delivery to a domain's MX hosts (RFC 8461 §4, §5): which
//! hosts may be used, what TLS each needs, and what is only reported.

use super::{Mode, StsPolicy};
use crate::client::policy::{PolicyViolation, StsVerdict, TlsPolicy};

/// What MTA-STS requires of the session with one MX host (§4.2): STARTTLS, a
/// certificate that chains to a trusted root, is not expired and names the host. As a
/// [`TlsPolicy`]: `Secure` with the host's own name, so the binding verifies the chain
/// and the name as for any `secure` destination.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MxRequirement {
    /// The MX host, lowercase, without a trailing dot.
    pub host: String,
    /// `TlsPolicy::Secure { names: vec![host] }`.
    pub tls: TlsPolicy,
}

impl MxRequirement {
    fn new(host: String) -> Self {
        let tls = TlsPolicy::Secure {
            names: vec![host.clone()],
        };
        Self { host, tls }
    }
}

/// A policy validation failure (§4), to refuse a host under `enforce` or to report
/// under `testing` (RFC 8460 TLS-RPT: an MX mismatch is a `validation-failure`, the
/// others `starttls-not-supported` and the `certificate-*` results).
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StsFailure {
    /// The MX host matches none of the policy's `mx` patterns (§4.1).
    #[error("MX host {host} matches no mx pattern of the MTA-STS policy")]
    MxMismatch {
        /// The MX host.
        host: String,
    },
    /// The host did not offer STARTTLS, or refused it (§4, item 2).
    #[error("MX host {host} does not support STARTTLS, which the MTA-STS policy requires")]
    StartTlsNotSupported {
        /// The MX host.
        host: String,
    },
    /// The certificate did not verify for the host: chain, expiry or name (§4.2).
    #[error("certificate of MX host {host} is not valid for it, as the MTA-STS policy requires")]
    CertificateInvalid {
        /// The MX host.
        host: String,
    },
}

impl StsFailure {
    /// The MX host concerned.
    pub fn host(&self) -> &str {
        match self {
            Self::MxMismatch { host }
            | Self::StartTlsNotSupported { host }
            | Self::CertificateInvalid { host } => host,
        }
    }

    /// The failure a TLS policy violation amounts to, when the session was judged
    /// against an [`MxRequirement`]'s `tls` (with [`crate::client::policy::decide`] and
    /// [`crate::client::policy::check_handshake`]): under `testing`, to report what
    /// `enforce` would have refused. `None` for violations MTA-STS does not define.
    pub fn from_violation(v: &PolicyViolation) -> Option<Self> {
        match v {
            PolicyViolation::StartTlsNotOffered { server, .. }
            | PolicyViolation::StartTlsRefused { server, .. } => Some(Self::StartTlsNotSupported {
                host: server.clone(),
            }),
            PolicyViolation::NotVerified { server, .. } => Some(Self::CertificateInvalid {
                host: server.clone(),
            }),
            _ => None,
        }
    }
}

/// What MTA-STS says about delivery to a domain (§5), from [`plan_delivery`].
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StsDelivery {
    /// No policy, or mode `none` (§5 item 3): deliver as usual; MTA-STS asks nothing.
    AsUsual,
    /// Mode `enforce` (§5 item 1): deliver only to `hosts`, in MX order, each over TLS
    /// as its `tls` says; a host that fails it is skipped for the next one (§5.1 step
    /// 2). The MX hosts in `refused` match no pattern and are never used.
    ///
    /// No usable host, or none that passes: the failure is transient (§5: "MTAs
    /// SHOULD treat such failures as transient errors"), and a message must not bounce
    /// before the TXT record was checked for a new policy (§5.1 step 3).
    Enforce {
        /// The hosts that may be used, in MX order, with what each needs.
        hosts: Vec<MxRequirement>,
        /// The hosts that may not ([`StsFailure::MxMismatch`]), in MX order.
        refused: Vec<StsFailure>,
    },
    /// Mode `testing` (§5 item 2): deliver to every host as usual (the caller's own
    /// TLS policy). `hosts` says, for each, what `enforce` would require: judge the
    /// session against it only to report the failures ([`StsFailure::from_violation`]).
    /// `would_fail` holds the hosts that match no pattern, known before connecting.
    Testing {
        /// Every host, in MX order, with what `enforce` would need.
        hosts: Vec<MxRequirement>,
        /// What `enforce` would have refused before connecting.
        would_fail: Vec<StsFailure>,
    },
}

impl StsDelivery {
    /// The verdict for one MX host, for [`choose`](crate::client::policy::choose):
    /// `Enforce` for a host the enforced policy lists, `EnforceMxMismatch` for one it
    /// does not, `Testing` under mode testing, `NoPolicy` otherwise.
    pub fn verdict(&self, host: &str) -> StsVerdict {
        let host = host.trim_end_matches('.');
        match self {
            Self::AsUsual => StsVerdict::NoPolicy,
            Self::Testing { .. } => StsVerdict::Testing,
            Self::Enforce { hosts, .. }
                if hosts.iter().any(|h| h.host.eq_ignore_ascii_case(host)) =>
            {
                StsVerdict::Enforce
            }
            Self::Enforce { .. } => StsVerdict::EnforceMxMismatch,
        }
    }
}

/// What the domain's policy (`None`: no policy, see
/// [`CacheDecision::policy`](super::CacheDecision::policy)) means for its MX hosts,
/// given in MX preference order (RFC 8461 §4, §5). Host names are lowercased and lose
/// a trailing dot; order is kept.
pub fn plan_delivery<S: AsRef<str>>(policy: Option<&StsPolicy>, mx_hosts: &[S]) -> StsDelivery {
    let Some(policy) = policy else {
        return StsDelivery::AsUsual;
    };
    if policy.mode() == Mode::None {
        return StsDelivery::AsUsual;
    }
    let mut hosts = Vec::new();
    let mut failed = Vec::new();
    for h in mx_hosts {
        let h = h.as_ref();
        let name = h.strip_suffix('.').unwrap_or(h).to_ascii_lowercase();
        let matches = policy.matches_mx(&name);
        if !matches {
            failed.push(StsFailure::MxMismatch { host: name.clone() });
        }
        if matches || policy.mode() == Mode::Testing {
            hosts.push(MxRequirement::new(name));
        }
    }
    match policy.mode() {
        Mode::Testing => StsDelivery::Testing {
            hosts,
            would_fail: failed,
        },
        _ => StsDelivery::Enforce {
            hosts,
            refused: failed,
        },
    }
}

impl StsPolicy {
    /// [`plan_delivery`] with this policy.
    pub fn plan<S: AsRef<str>>(&self, mx_hosts: &[S]) -> StsDelivery {
        plan_delivery(Some(self), mx_hosts)
    }
}
