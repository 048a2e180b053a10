//! [`MtaSts`]: the fetcher and the cache tied to the core's rules, with a turn per
//! domain, the memory of failed fetches and the background refresh.

use super::{
    CachedPolicy, DnsTxt, FETCH_RETRY_INTERVAL, FetchOptions, HttpsFetcher, MemoryCache,
    PolicyCache, PolicyFailure, PolicyFetcher, StsId, StsOutcome, StsPolicy, normalize,
};
use crate::error::Error;
use smtp_proto::client::sts::{
    CacheDecision, CacheUpdate, after_fetch, decide_cache, plan_delivery,
};
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use tokio::sync::{Mutex as AsyncMutex, OwnedMutexGuard};

/// How many domains' failed fetches are remembered at most.
const MAX_REMEMBERED: usize = 10_000;

/// A failed fetch, remembered so that the same policy id is not asked again within
/// [`FETCH_RETRY_INTERVAL`].
#[derive(Debug)]
struct Failed {
    id: StsId,
    at: u64,
    failure: PolicyFailure,
}

/// MTA-STS for MX delivery: a [`PolicyFetcher`], a [`PolicyCache`], and what ties
/// them to the core's rules. Cheap to clone (the clones share everything); share one
/// per process so that the cache and the fetch limits are shared too.
///
/// - Fetches of one domain's policy take turns: a delivery that finds another one
///   fetching waits for it, then uses what it stored.
/// - After a failed fetch, the same policy id is not fetched again for
///   [`FETCH_RETRY_INTERVAL`] seconds (RFC 8461 §3.3); the failure is repeated.
/// - A cached policy a day old or more is refreshed in a background task (RFC 8461
///   §3.3, §10.2) while deliveries go on with it.
pub struct MtaSts<F = HttpsFetcher, C = MemoryCache> {
    inner: Arc<Inner<F, C>>,
}

struct Inner<F, C> {
    fetcher: F,
    cache: C,
    failed: Mutex<HashMap<String, Failed>>,
    turns: Mutex<HashMap<String, Arc<AsyncMutex<()>>>>,
    refreshing: Mutex<HashSet<String>>,
}

impl<F, C> Clone for MtaSts<F, C> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
        }
    }
}

impl<F, C> std::fmt::Debug for MtaSts<F, C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MtaSts")
            .field("failed", &lock(&self.inner.failed).len())
            .finish_non_exhaustive()
    }
}

impl MtaSts {
    /// The defaults: an [`HttpsFetcher`] with these options and a [`MemoryCache`].
    pub fn https(opts: FetchOptions) -> Result<Self, Error> {
        Ok(Self::new(HttpsFetcher::new(opts)?, MemoryCache::new()))
    }
}

impl<F, C> MtaSts<F, C>
where
    F: PolicyFetcher + 'static,
    C: PolicyCache + 'static,
{
    /// MTA-STS with this fetcher and cache.
    pub fn new(fetcher: F, cache: C) -> Self {
        Self {
            inner: Arc::new(Inner {
                fetcher,
                cache,
                failed: Mutex::new(HashMap::new()),
                turns: Mutex::new(HashMap::new()),
                refreshing: Mutex::new(HashSet::new()),
            }),
        }
    }

    /// The fetcher.
    pub fn fetcher(&self) -> &F {
        &self.inner.fetcher
    }

    /// The cache.
    pub fn cache(&self) -> &C {
        &self.inner.cache
    }

    /// What MTA-STS says about delivery to `domain` at `now` (seconds since the Unix
    /// epoch), given what its `_mta-sts` TXT lookup gave and its MX hosts in
    /// preference order (RFC 8461 §5.1):
    ///
    /// - a fresh cached policy whose id DNS confirms (or when DNS shows no usable
    ///   record, or failed) applies without a fetch; when it is a day old or more, a
    ///   background task refreshes it ([`MtaSts::refresh`]);
    /// - a new id, an expired entry or an empty cache with a record: the policy is
    ///   fetched now (within the fetcher's time limit) and stored; if that fails, the
    ///   fresh cached policy applies if there is one, else no policy, and
    ///   [`StsOutcome::failure`] says why;
    /// - no record and nothing fresh cached: no policy.
    ///
    /// Never an error: whatever fails leaves delivery as MTA-STS allows it. A
    /// background refresh needs a tokio runtime; without one it is skipped.
    pub async fn plan<S: AsRef<str>>(
        &self,
        domain: &str,
        txt: &DnsTxt,
        mx_hosts: &[S],
        now: u64,
    ) -> StsOutcome {
        let domain = normalize(domain);
        let (policy, failure) = self.current(&domain, txt, now).await;
        StsOutcome {
            delivery: plan_delivery(policy.as_ref(), mx_hosts),
            policy,
            failure,
        }
    }

    /// Fetches the cached policy of `domain` again, under the id it was fetched for
    /// (RFC 8461 §3.3: "MTAs SHOULD proactively refresh cached policies before they
    /// expire"), and stores the result. A failure leaves the entry as it was.
    /// [`MtaSts::plan`] does this in the background once an entry is a day old;
    /// call it to refresh on a schedule of your own.
    ///
    /// `None` when nothing is cached for `domain`. Within [`FETCH_RETRY_INTERVAL`]
    /// of a failed fetch for the same id, that failure, without a new fetch.
    pub async fn refresh(
        &self,
        domain: &str,
        now: u64,
    ) -> Option<Result<StsPolicy, PolicyFailure>> {
        self.refresh_entry(&normalize(domain), now, false).await
    }

    /// Fetches and checks the policy of `domain`, without the cache and without the
    /// retry limit.
    pub async fn fetch_policy(&self, domain: &str) -> Result<StsPolicy, PolicyFailure> {
        let domain = normalize(domain);
        match self.inner.fetcher.fetch(&domain).await {
            Ok(response) => response
                .validate()
                .map_err(|error| PolicyFailure::Response { domain, error }),
            Err(e) => Err(PolicyFailure::Fetch(e)),
        }
    }

    /// The policy to apply, and why a new one could not be had.
    async fn current(
        &self,
        domain: &str,
        txt: &DnsTxt,
        now: u64,
    ) -> (Option<StsPolicy>, Option<PolicyFailure>) {
        let cached = self.inner.cache.get(domain).await;
        match decide_cache(cached.as_ref(), txt, now) {
            CacheDecision::NoPolicy => return (None, None),
            CacheDecision::UseCached { entry, refresh } => {
                if refresh {
                    self.spawn_refresh(domain, now);
                }
                return (Some(entry.policy.clone()), None);
            }
            CacheDecision::Fetch { .. } => {}
        }
        // One fetch of a domain's policy at a time. Whoever waited decides again,
        // from what the fetch before it stored.
        let _turn = self.turn(domain).await;
        let cached = self.inner.cache.get(domain).await;
        let (id, fallback) = match decide_cache(cached.as_ref(), txt, now) {
            CacheDecision::NoPolicy => return (None, None),
            CacheDecision::UseCached { entry, .. } => return (Some(entry.policy.clone()), None),
            CacheDecision::Fetch { id, fallback } => (id, fallback.map(|e| e.policy.clone())),
        };
        if let Some(failure) = self.recent_failure(domain, &id, now) {
            return (fallback, Some(failure));
        }
        let fetched = self.fetch_policy(domain).await;
        match self.settle(domain, cached, id, fetched, now).await {
            Settled::Policy(policy) => (Some(policy), None),
            Settled::Failed { kept, failure } => (kept, Some(failure)),
            // No response came: the cache is as it was, and the fallback of the
            // decision applies (the cached policy while fresh).
            Settled::NoResponse(failure) => (fallback, Some(failure)),
        }
    }

    /// Brings a fetch's outcome into the cache, by the core's [`after_fetch`]: a valid
    /// policy is stored; a failed fetch keeps a fresh cached entry and drops an expired
    /// one. A fetch that got no response at all changes nothing (the core's errors are
    /// about responses).
    async fn settle(
        &self,
        domain: &str,
        cached: Option<CachedPolicy>,
        id: StsId,
        fetched: Result<StsPolicy, PolicyFailure>,
        now: u64,
    ) -> Settled {
        let (result, failure) = match fetched {
            Ok(policy) => (Ok(policy), None),
            Err(failure) => {
                tracing::warn!(%domain, %failure, "MTA-STS policy fetch failed");
                self.remember(domain, &id, &failure, now);
                match failure.sts_error() {
                    Some(error) => (Err(error), Some(failure)),
                    None => return Settled::NoResponse(failure),
                }
            }
        };
        let had_entry = cached.is_some();
        let update = after_fetch(cached, id, result, now);
        if update.should_alert() {
            tracing::warn!(%domain, "MTA-STS: keeping the cached policy, a new one could not be had");
        }
        let (kept, error) = match update {
            CacheUpdate::Store(entry) => {
                tracing::info!(%domain, id = %entry.id, mode = %entry.policy.mode(), "MTA-STS policy stored");
                self.forget_failure(domain);
                let policy = entry.policy.clone();
                self.inner.cache.put(domain, entry).await;
                return Settled::Policy(policy);
            }
            CacheUpdate::KeepCached { entry, error } => (Some(entry.policy), error),
            CacheUpdate::NoPolicy { error } => {
                if had_entry {
                    self.inner.cache.remove(domain).await;
                }
                (None, error)
            }
        };
        // `after_fetch` keeps or drops only after a failure, which is `failure`.
        let failure = failure.unwrap_or_else(|| PolicyFailure::Response {
            domain: domain.to_owned(),
            error,
        });
        Settled::Failed { kept, failure }
    }

    /// Refreshes the entry of `domain`; with `only_if_due`, only when it is still due
    /// once this task has its turn (another may have refreshed it meanwhile).
    async fn refresh_entry(
        &self,
        domain: &str,
        now: u64,
        only_if_due: bool,
    ) -> Option<Result<StsPolicy, PolicyFailure>> {
        let _turn = self.turn(domain).await;
        let cached = self.inner.cache.get(domain).await?;
        if only_if_due && !(cached.is_fresh(now) && cached.refresh_due(now)) {
            return None;
        }
        let id = cached.id.clone();
        if let Some(failure) = self.recent_failure(domain, &id, now) {
            return Some(Err(failure));
        }
        let fetched = self.fetch_policy(domain).await;
        Some(
            match self.settle(domain, Some(cached), id, fetched, now).await {
                Settled::Policy(policy) => Ok(policy),
                Settled::Failed { failure, .. } | Settled::NoResponse(failure) => Err(failure),
            },
        )
    }

    /// Starts a background refresh of `domain`, unless one is under way.
    fn spawn_refresh(&self, domain: &str, now: u64) {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            tracing::debug!(%domain, "MTA-STS refresh due, but no tokio runtime to run it");
            return;
        };
        if !lock(&self.inner.refreshing).insert(domain.to_owned()) {
            return;
        }
        let this = self.clone();
        let domain = domain.to_owned();
        runtime.spawn(async move {
            let _under_way = UnderWay {
                set: &this.inner.refreshing,
                domain: &domain,
            };
            if let Some(Err(failure)) = this.refresh_entry(&domain, now, true).await {
                tracing::debug!(%domain, %failure, "MTA-STS background refresh failed");
            }
        });
    }

    /// Waits for the turn to fetch `domain`'s policy.
    async fn turn(&self, domain: &str) -> Turn<'_> {
        let lock_of_domain = lock(&self.inner.turns)
            .entry(domain.to_owned())
            .or_default()
            .clone();
        let guard = lock_of_domain.lock_owned().await;
        Turn {
            turns: &self.inner.turns,
            domain: domain.to_owned(),
            guard: Some(guard),
        }
    }

    fn recent_failure(&self, domain: &str, id: &StsId, now: u64) -> Option<PolicyFailure> {
        let failed = lock(&self.inner.failed);
        let f = failed.get(domain)?;
        let recent = f.id == *id && now >= f.at && now - f.at < FETCH_RETRY_INTERVAL;
        recent.then(|| f.failure.clone())
    }

    fn remember(&self, domain: &str, id: &StsId, failure: &PolicyFailure, now: u64) {
        let entry = Failed {
            id: id.clone(),
            at: now,
            failure: failure.clone(),
        };
        let mut failed = lock(&self.inner.failed);
        // Bounded: stale failures go first; past the bound the memory starts afresh
        // (forgetting a failure only allows one more fetch).
        if failed.len() >= MAX_REMEMBERED {
            failed.retain(|_, f| now >= f.at && now - f.at < FETCH_RETRY_INTERVAL);
            if failed.len() >= MAX_REMEMBERED {
                failed.clear();
            }
        }
        failed.insert(domain.to_owned(), entry);
    }

    fn forget_failure(&self, domain: &str) {
        lock(&self.inner.failed).remove(domain);
    }
}

/// A fetch's outcome, once in the cache.
enum Settled {
    /// A valid policy, now stored.
    Policy(StsPolicy),
    /// A response without a valid policy: the cached policy kept, if fresh.
    Failed {
        kept: Option<StsPolicy>,
        failure: PolicyFailure,
    },
    /// No response: the cache untouched.
    NoResponse(PolicyFailure),
}

/// One domain's turn to fetch. When the last one waiting for the domain is done, its
/// lock leaves the map.
struct Turn<'a> {
    turns: &'a Mutex<HashMap<String, Arc<AsyncMutex<()>>>>,
    domain: String,
    guard: Option<OwnedMutexGuard<()>>,
}

impl Drop for Turn<'_> {
    fn drop(&mut self) {
        drop(self.guard.take());
        let mut turns = lock(self.turns);
        // Only the map holds it: nobody has it or waits for it.
        if turns
            .get(&self.domain)
            .is_some_and(|l| Arc::strong_count(l) == 1)
        {
            turns.remove(&self.domain);
        }
    }
}

/// Marks a background refresh of a domain as under way until dropped.
struct UnderWay<'a> {
    set: &'a Mutex<HashSet<String>>,
    domain: &'a str,
}

impl Drop for UnderWay<'_> {
    fn drop(&mut self) {
        lock(self.set).remove(self.domain);
    }
}

/// A mutex's contents; a panic elsewhere while holding it leaves them whole.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}
