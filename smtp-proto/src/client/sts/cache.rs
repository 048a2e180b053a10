//! The sender's policy cache (RFC 8461 §3.3, §5.1, §10.2) and the checks on a fetched
//! policy response (§3.2, §3.3), as pure functions: the caller does the DNS and HTTPS
//! requests and keeps the cache; times are seconds since the Unix epoch, from the
//! caller's clock.

use super::{StsError, StsId, StsPolicy};

/// The largest policy body accepted, in octets (RFC 8461 §3.3: "a suggested maximum
/// policy size 64 kilobytes").
pub const MAX_POLICY_SIZE: usize = 64 * 1024;

/// How often a cached policy should be fetched again while it is still valid, in
/// seconds (RFC 8461 §3.3: "MTAs SHOULD proactively refresh cached policies before they
/// expire; a suggested refresh frequency is once per day"; §10.2 explains why).
pub const REFRESH_INTERVAL: u64 = 86_400;

/// How long to wait after a failed fetch before fetching the same policy id again, in
/// seconds (RFC 8461 §3.3: "implementers SHOULD limit further attempts to a period of
/// five minutes or longer per version ID"). The caller keeps the time of the failure.
pub const FETCH_RETRY_INTERVAL: u64 = 300;

/// A policy in the sender's cache: the policy, the id of the TXT record it was fetched
/// for, and when it was fetched.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CachedPolicy {
    /// The policy.
    pub policy: StsPolicy,
    /// The `id` of the `_mta-sts` record that led to the fetch.
    pub id: StsId,
    /// When it was fetched, in seconds since the Unix epoch.
    pub fetched_at: u64,
}

impl CachedPolicy {
    /// A cache entry.
    pub fn new(policy: StsPolicy, id: StsId, fetched_at: u64) -> Self {
        Self {
            policy,
            id,
            fetched_at,
        }
    }

    /// When the entry expires: `max_age` seconds after the fetch (§3.2).
    pub fn expires_at(&self) -> u64 {
        self.fetched_at
            .saturating_add(u64::from(self.policy.max_age()))
    }

    /// Whether the entry is still valid at `now`: its time since fetch has not reached
    /// `max_age` (§5.1 step 1). A `max_age` of 0 is never fresh. A `now` before the
    /// fetch (the clock went back) counts as just fetched.
    pub fn is_fresh(&self, now: u64) -> bool {
        now.max(self.fetched_at) < self.expires_at()
    }

    /// Whether a fresh entry is due for a proactive refresh: fetched at least
    /// [`REFRESH_INTERVAL`] ago.
    pub fn refresh_due(&self, now: u64) -> bool {
        now.saturating_sub(self.fetched_at) >= REFRESH_INTERVAL
    }
}

/// What the `_mta-sts` TXT lookup gave.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum DnsTxt {
    /// One valid record, with this policy id.
    Record(StsId),
    /// No usable record: none, several, or an invalid one (§3.1).
    NoRecord,
    /// The lookup itself failed (timeout, SERVFAIL).
    Failed,
}

impl From<super::RecordSelection> for DnsTxt {
    fn from(s: super::RecordSelection) -> Self {
        match s {
            super::RecordSelection::Found(r) => Self::Record(r.id().clone()),
            _ => Self::NoRecord,
        }
    }
}

/// What to do about a domain's policy before delivering to it (§3.3, §5.1), from
/// [`decide_cache`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CacheDecision<'a> {
    /// Apply the cached policy: it is fresh, and DNS shows the same id, or no usable
    /// record, or failed. When `refresh` is set the entry is a day old or more: fetch
    /// the policy again in the background under `entry.id` and give the result to
    /// [`after_fetch`] (§3.3, §10.2); delivery does not wait for it.
    UseCached {
        /// The entry to apply.
        entry: &'a CachedPolicy,
        /// Whether a proactive refresh is due.
        refresh: bool,
    },
    /// Fetch the policy for `id` (none cached, the cached one expired, or DNS shows a
    /// new id) and give the result to [`after_fetch`]. Until it arrives, and if it
    /// fails, `fallback` applies: the cached policy while still fresh, else no policy.
    Fetch {
        /// The id of the TXT record, to store with the policy.
        id: StsId,
        /// The fresh cached policy, if any.
        fallback: Option<&'a CachedPolicy>,
    },
    /// No policy: deliver as though the domain had not implemented MTA-STS (nothing
    /// fresh cached, no usable TXT record).
    NoPolicy,
}

impl<'a> CacheDecision<'a> {
    /// The policy to apply now (for [`CacheDecision::Fetch`], while the fetch is under
    /// way or after it failed).
    pub fn policy(&self) -> Option<&'a StsPolicy> {
        match self {
            Self::UseCached { entry, .. } => Some(&entry.policy),
            Self::Fetch { fallback, .. } => fallback.map(|e| &e.policy),
            Self::NoPolicy => None,
        }
    }
}

/// Decides between the cache and a fetch (RFC 8461 §5.1 step 1, §3.1, §3.3):
/// - a fresh entry whose id DNS confirms is used as is;
/// - a fresh entry is also used when DNS shows no usable record or the lookup fails
///   (§3.1: "absence of a usable TXT record is not by itself sufficient to remove a
///   sender's previously cached policy"; §3.3: "if no 'live' policy can be discovered
///   via DNS … but a valid (non-expired) policy exists in the sender's cache, the
///   sender MUST apply that cached policy");
/// - a new id, an expired entry or an empty cache with a record: fetch;
/// - nothing fresh and no record: no policy.
pub fn decide_cache<'a>(
    cached: Option<&'a CachedPolicy>,
    txt: &DnsTxt,
    now: u64,
) -> CacheDecision<'a> {
    let fresh = cached.filter(|c| c.is_fresh(now));
    match (fresh, txt) {
        (Some(entry), DnsTxt::Record(id)) if *id != entry.id => CacheDecision::Fetch {
            id: id.clone(),
            fallback: Some(entry),
        },
        (Some(entry), _) => CacheDecision::UseCached {
            entry,
            refresh: entry.refresh_due(now),
        },
        (None, DnsTxt::Record(id)) => CacheDecision::Fetch {
            id: id.clone(),
            fallback: None,
        },
        (None, DnsTxt::NoRecord | DnsTxt::Failed) => CacheDecision::NoPolicy,
    }
}

/// What to do with the cache once a fetch has ended, from [`after_fetch`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CacheUpdate {
    /// The fetch gave a valid policy: store this entry in place of any older one, and
    /// apply it (a policy in mode `none` too: that is how a domain retires MTA-STS,
    /// §8.3).
    Store(CachedPolicy),
    /// The fetch failed and the cached entry is still fresh: keep it and apply it (a
    /// failed refresh never replaces a valid policy, §3.3).
    KeepCached {
        /// The entry kept.
        entry: CachedPolicy,
        /// Why the fetch failed.
        error: StsError,
    },
    /// The fetch failed and nothing fresh is cached: no policy (§3.3: "senders MUST
    /// continue with delivery as though the domain has not implemented MTA-STS"). An
    /// expired entry is dropped.
    NoPolicy {
        /// Why the fetch failed.
        error: StsError,
    },
}

impl CacheUpdate {
    /// The entry to keep in the cache and apply, if any.
    pub fn entry(&self) -> Option<&CachedPolicy> {
        match self {
            Self::Store(e) | Self::KeepCached { entry: e, .. } => Some(e),
            Self::NoPolicy { .. } => None,
        }
    }

    /// Whether to alert an administrator: a refresh of a cached policy failed, and its
    /// mode is not `none` (§3.3, §10.2: alerts let an administrator see a persistent
    /// attack on policy refresh; "unless the cached policy mode is 'none'").
    pub fn should_alert(&self) -> bool {
        matches!(self, Self::KeepCached { entry, .. } if entry.policy.mode() != super::Mode::None)
    }
}

/// Updates the cache with the outcome of a fetch for `id` (the id from
/// [`CacheDecision::Fetch`], or the entry's own for a refresh): `fetched` is what
/// [`validate_response`] made of the response, or the caller's own error for a fetch
/// that got no response. `cached` is the domain's current entry, if any.
pub fn after_fetch(
    cached: Option<CachedPolicy>,
    id: StsId,
    fetched: Result<StsPolicy, StsError>,
    now: u64,
) -> CacheUpdate {
    match fetched {
        Ok(policy) => CacheUpdate::Store(CachedPolicy::new(policy, id, now)),
        Err(error) => match cached.filter(|c| c.is_fresh(now)) {
            Some(entry) => CacheUpdate::KeepCached { entry, error },
            None => CacheUpdate::NoPolicy { error },
        },
    }
}

/// Checks an HTTPS response to the policy fetch and parses its body (the binding has
/// checked the certificate for `mta-sts.<domain>`, §3.3, and must not follow redirects
/// or use an HTTP cache):
/// - the status must be 200; a 3xx is [`StsError::Redirect`] ("HTTP 3xx redirects MUST
///   NOT be followed"), any other [`StsError::HttpStatus`];
/// - the media type must be `text/plain`, case-insensitively, with any parameters
///   (§3.2: "All parameters other than charset=utf-8 or charset=us-ascii are ignored.
///   Additional 'Content-Type' parameters are also ignored."); no `Content-Type` is
///   [`StsError::MissingContentType`];
/// - the body must be at most [`MAX_POLICY_SIZE`] octets and UTF-8, and a valid
///   policy ([`StsPolicy::parse`]).
pub fn validate_response(
    status: u16,
    content_type: Option<&str>,
    body: &[u8],
) -> Result<StsPolicy, StsError> {
    match status {
        200 => {}
        300..=399 => return Err(StsError::Redirect { status }),
        _ => return Err(StsError::HttpStatus { status }),
    }
    let content_type = content_type.ok_or(StsError::MissingContentType)?;
    let media_type = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim_matches([' ', '\t']);
    if !media_type.eq_ignore_ascii_case("text/plain") {
        return Err(StsError::WrongMediaType);
    }
    if body.len() > MAX_POLICY_SIZE {
        return Err(StsError::TooLarge { len: body.len() });
    }
    let text = std::str::from_utf8(body).map_err(|e| StsError::NotUtf8 {
        valid_up_to: e.valid_up_to(),
    })?;
    StsPolicy::parse(text)
}
