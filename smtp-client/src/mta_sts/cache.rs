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

/// The in-memory [`PolicyCache`]: a map behind a mutex, lost when the process ends.
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
        self.map().insert(domain.to_owned(), entry);
    }

    async fn remove(&self, domain: &str) {
        self.map().remove(domain);
    }
}
