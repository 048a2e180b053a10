//! What [`MtaSts::plan`](super::MtaSts::plan) returns: the plan, the policy applied,
//! and why a new policy could not be had, filed for TLS reporting.

use super::{FetchError, Mode, ResultType, StsDelivery, StsError, StsPolicy};

/// Why no new policy could be had: the fetch got no usable response, or the response
/// did not carry a valid policy. Either way a valid cached policy still applies
/// (RFC 8461 §3.3); [`PolicyFailure::result_type`] files it for a TLS report.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyFailure {
    /// The fetch failed: no connection, a certificate that did not verify, a time
    /// limit, a body over the size limit.
    #[error(transparent)]
    Fetch(FetchError),
    /// A response came, and it is not a policy: a status other than 200 (a redirect
    /// included), another media type, or a policy that does not parse.
    #[error("MTA-STS policy of {domain}: {error}")]
    Response {
        /// The policy domain.
        domain: String,
        /// What was wrong with it.
        error: StsError,
    },
}

impl PolicyFailure {
    /// The TLS report result type (RFC 8460 §4.3.3): `sts-webpki-invalid` for the
    /// policy host's certificate, `sts-policy-fetch-error` when the policy could not
    /// be retrieved (no connection, time limit, HTTP status, media type, size), and
    /// `sts-policy-invalid` for a policy that does not parse.
    pub fn result_type(&self) -> ResultType {
        match self {
            Self::Fetch(e) => e.result_type(),
            Self::Response { error, .. } if error.is_fetch_error() => {
                ResultType::StsPolicyFetchError
            }
            Self::Response { .. } => ResultType::StsPolicyInvalid,
        }
    }

    /// The failure as the core's [`StsError`], for the ones that are about a
    /// response (`None`: no response came).
    pub fn sts_error(&self) -> Option<StsError> {
        match self {
            Self::Response { error, .. } => Some(error.clone()),
            Self::Fetch(FetchError::TooLarge { len, .. }) => Some(StsError::TooLarge {
                len: usize::try_from(*len).unwrap_or(usize::MAX),
            }),
            Self::Fetch(_) => None,
        }
    }
}

/// What MTA-STS says about delivery to a domain now, from
/// [`MtaSts::plan`](super::MtaSts::plan).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StsOutcome {
    /// The plan for the MX hosts (RFC 8461 §5): as usual, `enforce` (which hosts, with
    /// what TLS) or `testing`.
    pub delivery: StsDelivery,
    /// The policy applied: fetched now or cached. `None`: the domain has no policy
    /// for this delivery (no record and nothing cached, or the fetch failed with
    /// nothing valid cached).
    pub policy: Option<StsPolicy>,
    /// Why a new policy could not be had, when a fetch was due: now, or within the
    /// last five minutes for the same policy id
    /// ([`FETCH_RETRY_INTERVAL`](super::FETCH_RETRY_INTERVAL): that failure is
    /// repeated, and the policy host not asked again). With [`policy`](Self::policy)
    /// set, the cached policy was applied in its place.
    pub failure: Option<PolicyFailure>,
}

impl StsOutcome {
    /// The TLS report result type of the failure, if any.
    pub fn result_type(&self) -> Option<ResultType> {
        self.failure.as_ref().map(PolicyFailure::result_type)
    }

    /// Whether to alert an administrator: a new policy could not be had and a cached
    /// one in mode `enforce` or `testing` was kept (RFC 8461 §10.2, the core's
    /// `CacheUpdate::should_alert`): an attacker may be blocking its refresh.
    pub fn should_alert(&self) -> bool {
        self.failure.is_some() && self.policy.as_ref().is_some_and(|p| p.mode() != Mode::None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_filed_for_tls_reports() {
        let response = |error| PolicyFailure::Response {
            domain: "example.com".into(),
            error,
        };
        let host = || "mta-sts.example.com".to_owned();
        let cases = [
            (
                response(StsError::Redirect { status: 301 }),
                ResultType::StsPolicyFetchError,
            ),
            (
                response(StsError::WrongMediaType),
                ResultType::StsPolicyFetchError,
            ),
            (
                response(StsError::MissingMode),
                ResultType::StsPolicyInvalid,
            ),
            (
                PolicyFailure::Fetch(FetchError::TooLarge {
                    host: host(),
                    len: 70_000,
                }),
                ResultType::StsPolicyFetchError,
            ),
            (
                PolicyFailure::Fetch(FetchError::Certificate {
                    host: host(),
                    failure: crate::CertFailure::NameMismatch,
                    detail: "name mismatch".into(),
                }),
                ResultType::StsWebpkiInvalid,
            ),
            (
                PolicyFailure::Fetch(FetchError::Connect {
                    host: host(),
                    detail: "refused".into(),
                }),
                ResultType::StsPolicyFetchError,
            ),
        ];
        for (failure, want) in cases {
            assert_eq!(failure.result_type(), want, "{failure:?}");
        }
    }
}
