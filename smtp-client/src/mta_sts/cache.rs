//! The sender's policy cache (RFC 8461 §3.3, §5.1): [`PolicyCache`], keyed by policy
//! domain, and [`MemoryCache`], the in-memory default. What to store, keep or drop is
//! decided by the core ([`decide_cache`](smtp_proto::client::sts::decide_cache),
//! [`after_fetch`](smtp_proto::client::sts::after_fetch)); a cache only keeps it.

use smtp_proto::client::sts::CachedPolicy;
use std::collections::HashMap;
use std::future::Future;
use std::sync::{Mutex, PoisonError};

/// Where the policies of recipient domains are kept between deliveries. Keys are
/// policy domains, lowercase, without a trailing dot.
///
/// An MTA that keeps its cache across restarts (RFC 8461 §10.2: a cache that is lost
/// leaves the next fetch open to a downgrade) implements this over its store. An
/// entry is three values: the policy as text (its `Display`, which
/// [`StsPolicy::parse`](smtp_proto::client::sts::StsPolicy::parse) reads back), the
/// id (`StsId::as_str`, [`StsId::new`](smtp_proto::client::sts::StsId::new)) and
/// `fetched_at`. A store that fails should log and answer `None` to `get`: the domain
/// then counts as having nothing cached, as it would after a restart.
pub trait PolicyCache: Send + Sync {
    /// The entry of `domain`, if any (fresh or not: the core decides).
    fn get(&self, domain: &str) -> impl Future<Output = Option<CachedPolicy>> + Send;

    /// Stores `entry` for `domain`, in place of any older one.
    fn put(&self, domain: &str, entry: CachedPolicy) -> impl Future<Output = ()> + Send;

    /// Drops the entry of `domain` (an expired one, once a fetch failed).
    fn remove(&self, domain: &str) -> impl Future<Output = ()> + Send;
}

/// How many domains the in-memory cache keeps at most.
const MAX_ENTRIES: usize = 10_000;

/// The in-memory [`PolicyCache`]: a map behind a mutex, lost when the process ends,
/// holding at most 10,000 domains (expired policies leave first, then the oldest).
#[derive(Debug, Default)]
pub struct MemoryCache {
    map: Mutex<HashMap<String, CachedPolicy>>,
}

impl MemoryCache {
    /// An empty cache.
    pub fn new() -> Self {
        Self::default()
    }

    /// How many domains have an entry.
    pub fn len(&self) -> usize {
        self.map().len()
    }

    /// Whether no domain has an entry.
    pub fn is_empty(&self) -> bool {
        self.map().is_empty()
    }

    fn map(&self) -> std::sync::MutexGuard<'_, HashMap<String, CachedPolicy>> {
        // A panic elsewhere while holding the lock leaves a map that is still whole.
        self.map.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl PolicyCache for MemoryCache {
    async fn get(&self, domain: &str) -> Option<CachedPolicy> {
        self.map().get(domain).cloned()
    }

    async fn put(&self, domain: &str, entry: CachedPolicy) {
        let mut map = self.map();
        // Bounded: past the limit, expired policies go first, then the oldest fetched
        // (a dropped entry only costs a fetch).
        if map.len() >= MAX_ENTRIES && !map.contains_key(domain) {
            let now = entry.fetched_at;
            map.retain(|_, e| e.is_fresh(now));
            if map.len() >= MAX_ENTRIES
                && let Some(oldest) = map
                    .iter()
                    .min_by_key(|(_, e)| e.fetched_at)
                    .map(|(d, _)| d.clone())
            {
                map.remove(&oldest);
            }
        }
        map.insert(domain.to_owned(), entry);
    }

    async fn remove(&self, domain: &str) {
        self.map().remove(domain);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use smtp_proto::client::sts::{StsId, StsPolicy};

    #[tokio::test]
    async fn the_memory_cache_is_bounded_and_drops_expired_policies_first() {
        let policy =
            StsPolicy::parse("version: STSv1\r\nmode: testing\r\nmx: *.x.test\r\nmax_age: 100\r\n")
                .unwrap();
        let id = StsId::new("1").unwrap();
        let cache = MemoryCache::new();
        // Expired by the time the last ones come in.
        for i in 0..MAX_ENTRIES / 2 {
            let e = CachedPolicy::new(policy.clone(), id.clone(), 0);
            cache.put(&format!("old{i}.test"), e).await;
        }
        for i in 0..MAX_ENTRIES {
            let e = CachedPolicy::new(policy.clone(), id.clone(), 1_000 + i as u64);
            cache.put(&format!("d{i}.test"), e).await;
        }
        assert!(cache.len() <= MAX_ENTRIES);
        assert!(cache.get("old0.test").await.is_none());
        let last = format!("d{}.test", MAX_ENTRIES - 1);
        assert!(cache.get(&last).await.is_some());
    }
}
