//! [`Pool`]: connections kept open per [`Destination`] and reused only while their
//! state is known to be good.
//!
//! A connection is taken out of the pool whole ([`Lease`]): no other task sees it
//! until it is given back, so no task ever sees another's half-finished transaction.
//! When it comes back the pool decides, from what the connection knows, whether it
//! may serve again: never after a `421`, an EOF or a read or write error, a timeout, a
//! protocol error, a message abandoned half-sent, the server's `MAILMAX` (RFC 9422),
//! [`PoolOptions::max_messages`] or [`PoolOptions::max_age`]; a lease dropped while
//! its connection was busy (a cancelled send) retires it too, since the session's
//! state is then unknown.
//!
//! Before an idle connection is used again it is checked without a round trip: if the
//! server sent anything while nobody asked (a `421` on its idle timeout, a TLS
//! close-notify, an EOF), the connection is retired and another taken. Only a
//! connection idle for longer than [`PoolOptions::noop_after`] is checked with `NOOP`.
//!
//! ```no_run
//! # async fn f() -> Result<(), Box<dyn std::error::Error>> {
//! use smtp_client::pool::{Destination, Pool, PoolOptions};
//! use smtp_client::{ClientOptions, Envelope, TlsPolicy};
//!
//! let pool = Pool::new(PoolOptions::default());
//! let mx = Destination::new("mx.example.com:25", ClientOptions::new("client.example.org", TlsPolicy::Verify));
//! let envelope = Envelope::new("a@example.org", ["b@example.com"])?;
//! let delivery = pool.send(&mx, envelope, "Subject: hi\r\n\r\nhello\r\n").await?;
//! println!("{delivery}");
//! # Ok(()) }
//! ```

use crate::conn::Connection;
use crate::delivery::Delivery;
use crate::error::Error;
use smtp_proto::client::Envelope;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::sync::Notify;
use tokio::time::Instant;
use tracing::Instrument;

mod key;
mod lease;
mod rounds;
mod stats;

pub use key::Destination;
use lease::Held;
pub use lease::Lease;
pub use stats::{PoolStats, Retired};

use key::Key;
use rounds::{left_for_elsewhere, merge};

/// The pool's limits and timers. The defaults suit an MTA sending to many hosts.
#[non_exhaustive]
#[derive(Debug, Clone)]
pub struct PoolOptions {
    /// Connections open at once to one destination (idle or in use). Default 4.
    pub max_per_destination: usize,
    /// Connections open at once in the whole pool. Default 64.
    pub max_total: usize,
    /// Transactions (MAIL commands) on one connection before it is retired; the
    /// server's `MAILMAX` (RFC 9422) applies in any case. Default `None`: no limit of
    /// the pool's own (Postfix's `smtp_connection_reuse_count_limit` is 0, no limit;
    /// `max_age` still retires old connections).
    pub max_messages: Option<u32>,
    /// Age after which a connection is not used again. Default 5 minutes (Postfix's
    /// `smtp_connection_reuse_time_limit` is 300 s).
    pub max_age: Duration,
    /// Idle time after which a connection is closed rather than used. Default 30 s
    /// (servers close idle clients after their own timeout: RFC 5321 §4.5.3.2.7 asks
    /// for at least 5 minutes, but busy servers close sooner).
    pub idle_timeout: Duration,
    /// Idle time after which a connection is checked with `NOOP` before reuse (a
    /// connection idle for less is only checked for bytes the server sent unasked).
    /// Default 5 s.
    pub noop_after: Duration,
    /// How long the `NOOP` check may take. Default 10 s.
    pub noop_timeout: Duration,
    /// How long a send waits for a connection when the limits are reached. Default
    /// 30 s; then [`Error::Timeout`] (transient). Opening a connection and the `NOOP`
    /// check have their own timeouts (the options' [`Timeouts`](crate::Timeouts),
    /// [`PoolOptions::noop_timeout`]).
    pub checkout_timeout: Duration,
}

impl Default for PoolOptions {
    fn default() -> Self {
        Self {
            max_per_destination: 4,
            max_total: 64,
            max_messages: None,
            max_age: Duration::from_secs(300),
            idle_timeout: Duration::from_secs(30),
            noop_after: Duration::from_secs(5),
            noop_timeout: Duration::from_secs(10),
            checkout_timeout: Duration::from_secs(30),
        }
    }
}

/// Connections to many destinations, shared by many tasks (clone it: clones share
/// the connections). See the [module docs](self).
#[derive(Clone)]
pub struct Pool {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for Pool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pool")
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}

struct Shared {
    opts: PoolOptions,
    state: Mutex<State>,
    /// Woken whenever a connection is given back or retired.
    changed: Notify,
    stats: stats::Counters,
}

#[derive(Default)]
struct State {
    slots: HashMap<Arc<Key>, Slot>,
    total: usize,
}

#[derive(Default)]
struct Slot {
    /// Open connections of this destination, idle or leased (or being opened).
    open: usize,
    /// The idle ones, the most recently used last.
    idle: Vec<Idle>,
}

/// A connection at rest in the pool.
struct Idle {
    conn: Connection,
    opened: Instant,
    since: Instant,
}

/// What a checkout found (short-lived: its size does not matter).
#[allow(clippy::large_enum_variant)]
enum Found {
    Idle(Idle),
    /// Room for a new connection (already counted).
    Room,
    Wait,
}

impl Pool {
    /// An empty pool. Made inside a tokio runtime, it closes idle connections past
    /// their time in the background; otherwise at the next checkout.
    pub fn new(opts: PoolOptions) -> Self {
        let shared = Arc::new(Shared {
            opts,
            state: Mutex::new(State::default()),
            changed: Notify::new(),
            stats: stats::Counters::default(),
        });
        spawn_reaper(&shared);
        Self { shared }
    }

    /// The counters so far, with the connections open and idle now.
    pub fn stats(&self) -> PoolStats {
        let (open, idle) = {
            let st = self.shared.lock();
            let idle = st.slots.values().map(|s| s.idle.len()).sum();
            (st.total, idle)
        };
        self.shared.stats.snapshot(open, idle)
    }

    /// Sends one message to `dest` on a pooled connection (see
    /// [`Connection::send`]: the server's limits are kept, and the result is the same).
    /// Recipients the connection's limits left out (`MAILMAX` reached, or a domain past
    /// `RCPTDOMAINMAX`) go on another connection; a recipient the server refused, or
    /// one untried because the connection ended, is reported, never sent twice.
    pub async fn send(
        &self,
        dest: &Destination,
        envelope: Envelope,
        message: impl AsRef<[u8]>,
    ) -> Result<Delivery, Error> {
        let body = message.as_ref();
        let mut lease = self.checkout(dest).await?;
        let mut result = lease.send(envelope.clone(), body).await;
        let mut room_here = lease.is_open();
        drop(lease);
        // Each further round opens a fresh connection, whose session has room for at
        // least one transaction and one domain: each round delivers or ends the loop.
        for _ in 0..envelope.recipients.len() {
            let Some(left) = left_for_elsewhere(&result, room_here) else {
                break;
            };
            let mut rest = envelope.clone();
            rest.recipients = left
                .iter()
                .map(|&i| envelope.recipients[i].clone())
                .collect();
            // A failure here keeps what the first rounds delivered (the rest stays
            // untried, transient): the caller must not send those recipients again.
            let again = match self.checkout_fresh(dest).await {
                Ok(mut lease) => {
                    let again = lease.send(rest, body).await;
                    room_here = lease.is_open();
                    again
                }
                Err(e) => Err(e),
            };
            let failed = again.as_ref().is_err_and(|e| e.delivery().is_none());
            result = merge(result, &left, again);
            if failed {
                break;
            }
        }
        result
    }

    /// Sends one message read from a stream on a pooled connection (see
    /// [`Connection::send_reader`]: never all in memory). A stream cannot be read
    /// twice, so recipients the connection's limits leave out stay untried (no reply,
    /// transient) rather than going on another connection.
    pub async fn send_reader<R: tokio::io::AsyncRead + Unpin>(
        &self,
        dest: &Destination,
        envelope: Envelope,
        reader: R,
    ) -> Result<Delivery, Error> {
        let mut lease = self.checkout(dest).await?;
        lease.send_reader(envelope, reader).await
    }

    /// A connection to `dest`: an idle one that passes the checks, or a new one when
    /// the limits allow, or the first given back within
    /// [`PoolOptions::checkout_timeout`]. Give it back by dropping the [`Lease`].
    pub async fn checkout(&self, dest: &Destination) -> Result<Lease, Error> {
        let span = tracing::debug_span!(
            "smtp_pool_checkout",
            server = %dest.server,
            reused = tracing::field::Empty,
            waited = tracing::field::Empty,
        );
        self.checkout_inner(dest, false).instrument(span).await
    }

    /// A newly opened connection, never an idle one (an idle one of `dest` is closed
    /// if that is what makes room).
    async fn checkout_fresh(&self, dest: &Destination) -> Result<Lease, Error> {
        let span = tracing::debug_span!(
            "smtp_pool_checkout",
            server = %dest.server,
            fresh = true,
            reused = tracing::field::Empty,
            waited = tracing::field::Empty,
        );
        self.checkout_inner(dest, true).instrument(span).await
    }

    async fn checkout_inner(&self, dest: &Destination, fresh: bool) -> Result<Lease, Error> {
        let sh = &self.shared;
        let deadline = Instant::now() + sh.opts.checkout_timeout;
        let mut waited = false;
        loop {
            let notified = sh.changed.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let (found, retire) = sh.find(&dest.key, fresh);
            for (idle, why) in retire {
                sh.retire(idle.conn, why);
            }
            match found {
                Found::Idle(idle) => {
                    // Counted in `open` until it is leased or retired, also when this
                    // future is dropped during the checks.
                    let mut held = Held::new(sh, &dest.key, Some(Retired::Cancelled));
                    let vetted = self.vet(dest, idle).await;
                    held.release();
                    if let Some(lease) = vetted {
                        sh.stats.reused();
                        tracing::Span::current().record("reused", true);
                        return Ok(lease);
                    }
                }
                Found::Room => {
                    // The room is given back if the connection fails to open, or if
                    // this future is dropped while it opens.
                    let mut held = Held::new(sh, &dest.key, None);
                    let opened = self.open(dest).await;
                    if opened.is_ok() {
                        held.release();
                    }
                    return opened;
                }
                Found::Wait => {
                    if !waited {
                        waited = true;
                        sh.stats.waited();
                        tracing::Span::current().record("waited", true);
                    }
                    if tokio::time::timeout_at(deadline, notified).await.is_err() {
                        sh.stats.timed_out();
                        return Err(Error::Timeout {
                            stage: format!("waiting for a pooled connection to {}", dest.server),
                            report: None,
                        });
                    }
                }
            }
        }
    }

    /// Opens a connection in the room `find` counted.
    async fn open(&self, dest: &Destination) -> Result<Lease, Error> {
        let sh = &self.shared;
        match Connection::connect(&dest.server, (*dest.opts).clone()).await {
            Ok(conn) => {
                sh.stats.opened();
                tracing::debug!(server = %dest.server, "pooled connection opened");
                let now = Instant::now();
                Ok(Lease::new(conn, now, dest.key.clone(), self.shared.clone()))
            }
            Err(e) => {
                sh.stats.connect_failed();
                Err(e)
            }
        }
    }

    /// The checks before an idle connection is used again; `None` when it was retired.
    async fn vet(&self, dest: &Destination, mut idle: Idle) -> Option<Lease> {
        let sh = &self.shared;
        let why = if !idle.conn.still_idle().await {
            // The server spoke unasked (a 421 on its idle timeout, say) or closed.
            Some(Retired::Unsolicited)
        } else if idle.since.elapsed() >= sh.opts.noop_after {
            match tokio::time::timeout(sh.opts.noop_timeout, idle.conn.noop()).await {
                Ok(Ok(())) => None,
                _ => Some(Retired::NoopFailed),
            }
        } else {
            None
        };
        if let Some(why) = why {
            sh.forget(&dest.key);
            sh.retire(idle.conn, why);
            return None;
        }
        Some(Lease::new(
            idle.conn,
            idle.opened,
            dest.key.clone(),
            self.shared.clone(),
        ))
    }

    /// Closes every idle connection (with QUIT, waiting at most 5 s for each). Leased
    /// connections are not touched; the pool stays usable.
    pub async fn close_idle(&self) {
        let idle: Vec<Idle> = {
            let mut st = self.shared.lock();
            let mut all = Vec::new();
            for slot in st.slots.values_mut() {
                slot.open -= slot.idle.len();
                all.append(&mut slot.idle);
            }
            st.total -= all.len();
            st.slots.retain(|_, s| s.open > 0);
            all
        };
        let quits = idle.into_iter().map(|i| {
            self.shared.stats.retired(Retired::Shutdown);
            tokio::time::timeout(Duration::from_secs(5), i.conn.quit())
        });
        for q in quits.collect::<Vec<_>>() {
            let _ = q.await;
        }
        self.shared.changed.notify_waiters();
    }
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Under the lock: an idle connection of `key` (unless `fresh`), or room for a new
    /// one (counted), or nothing; and the idle connections found past their time.
    fn find(&self, key: &Arc<Key>, fresh: bool) -> (Found, Vec<(Idle, Retired)>) {
        let o = &self.opts;
        let mut guard = self.lock();
        let st = &mut *guard;
        // This destination's idle connections past their time (the others' are the
        // reaper's, or go when evicted).
        let slot = st.slots.entry(key.clone()).or_default();
        let mut retire = expired_in(slot, o);
        st.total -= retire.len();
        if !fresh && let Some(i) = slot.idle.pop() {
            return (Found::Idle(i), retire);
        }
        if slot.open >= o.max_per_destination {
            // A fresh connection is wanted and an idle one of this destination holds
            // the room: close it; its room passes to the new one (counts unchanged).
            if fresh && !slot.idle.is_empty() {
                retire.push((slot.idle.remove(0), Retired::Evicted));
                return (Found::Room, retire);
            }
            return (Found::Wait, retire);
        }
        if st.total < o.max_total {
            slot.open += 1;
            st.total += 1;
            return (Found::Room, retire);
        }
        // Room for this destination but not in the pool: close the idle connection
        // that has rested longest (this destination's own only when a fresh one is
        // wanted: otherwise it has none idle), and take its place.
        let victim = st
            .slots
            .iter_mut()
            .filter(|(_, s)| !s.idle.is_empty())
            .min_by_key(|(_, s)| s.idle[0].since)
            .map(|(_, s)| {
                s.open -= 1;
                s.idle.remove(0)
            });
        let Some(victim) = victim else {
            return (Found::Wait, retire);
        };
        retire.push((victim, Retired::Evicted));
        if let Some(slot) = st.slots.get_mut(key) {
            slot.open += 1;
        }
        (Found::Room, retire)
    }

    /// A counted connection of `key` is gone (failed to open, or retired).
    fn forget(&self, key: &Arc<Key>) {
        {
            let mut st = self.lock();
            if let Some(slot) = st.slots.get_mut(key) {
                slot.open = slot.open.saturating_sub(1);
                if slot.open == 0 && slot.idle.is_empty() {
                    st.slots.remove(key);
                }
            }
            st.total = st.total.saturating_sub(1);
        }
        self.changed.notify_waiters();
    }

    /// Retires a connection already out of the counts' idle lists: counted, and closed
    /// with QUIT in the background when its session allows.
    fn retire(&self, conn: Connection, why: Retired) {
        self.stats.retired(why);
        tracing::debug!(reason = %why, "pooled connection retired");
        // The counts of idle ones were adjusted by `find`; a leased one's by `give_back`.
        close_in_background(conn);
        self.changed.notify_waiters();
    }

    /// Takes a connection back from a lease: idle again, or retired.
    fn give_back(&self, key: &Arc<Key>, conn: Connection, opened: Instant, why: Option<Retired>) {
        let o = &self.opts;
        let why = why.or_else(|| {
            if conn.is_closed() {
                Some(conn.ended_by().unwrap_or(Retired::Closed))
            } else if conn.is_busy() {
                Some(Retired::Cancelled)
            } else if conn.transactions_left() == Some(0) {
                Some(Retired::MailMax)
            } else if !conn.has_room()
                || o.max_messages
                    .is_some_and(|m| conn.transactions_done() >= m)
            {
                Some(Retired::MaxMessages)
            } else if opened.elapsed() >= o.max_age {
                Some(Retired::MaxAge)
            } else {
                None
            }
        });
        match why {
            Some(why) => {
                self.forget(key);
                self.retire(conn, why);
            }
            None => {
                let mut st = self.lock();
                let slot = st.slots.entry(key.clone()).or_default();
                slot.idle.push(Idle {
                    conn,
                    opened,
                    since: Instant::now(),
                });
                drop(st);
                self.changed.notify_waiters();
            }
        }
    }
}

/// Takes the idle connections past their time (idle or age) out of `st`, counts
/// adjusted.
fn expired(st: &mut State, o: &PoolOptions) -> Vec<(Idle, Retired)> {
    let mut retire = Vec::new();
    for slot in st.slots.values_mut() {
        retire.append(&mut expired_in(slot, o));
    }
    st.total -= retire.len();
    st.slots.retain(|_, s| s.open > 0);
    retire
}

/// The same for one destination's slot (its count adjusted, not the total).
fn expired_in(slot: &mut Slot, o: &PoolOptions) -> Vec<(Idle, Retired)> {
    let fresh = |i: &Idle| i.since.elapsed() < o.idle_timeout && i.opened.elapsed() < o.max_age;
    if slot.idle.iter().all(fresh) {
        return Vec::new();
    }
    let (keep, old): (Vec<Idle>, Vec<Idle>) =
        std::mem::take(&mut slot.idle).into_iter().partition(fresh);
    slot.idle = keep;
    slot.open -= old.len();
    old.into_iter()
        .map(|i| {
            let why = if i.opened.elapsed() >= o.max_age {
                Retired::MaxAge
            } else {
                Retired::IdleExpired
            };
            (i, why)
        })
        .collect()
}

/// Closes idle connections past their time every half `idle_timeout`, while the pool
/// exists (a task on the runtime the pool was made on, if any).
fn spawn_reaper(shared: &Arc<Shared>) {
    let Ok(rt) = tokio::runtime::Handle::try_current() else {
        return;
    };
    let weak = Arc::downgrade(shared);
    let every = (shared.opts.idle_timeout / 2).max(Duration::from_millis(100));
    rt.spawn(async move {
        loop {
            tokio::time::sleep(every).await;
            let Some(sh) = weak.upgrade() else { return };
            let old = expired(&mut sh.lock(), &sh.opts);
            for (idle, why) in old {
                sh.retire(idle.conn, why);
            }
        }
    });
}

/// QUIT and close, without waiting for it (a connection whose session cannot go on
/// is just dropped, which closes the socket).
fn close_in_background(conn: Connection) {
    if conn.is_open()
        && let Ok(rt) = tokio::runtime::Handle::try_current()
    {
        rt.spawn(async move {
            let _ = tokio::time::timeout(Duration::from_secs(5), conn.quit()).await;
        });
    }
}
