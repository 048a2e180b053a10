//! The pool's counters: connections opened, reused, retired (by reason), and
//! checkouts that waited or timed out.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};

/// Why a pooled connection was retired (closed, never used again).
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Retired {
    /// The server answered `421` (RFC 5321 §3.8: it is closing).
    Reply421,
    /// The server closed the connection (EOF or TLS close-notify), or reading or
    /// writing failed.
    Closed,
    /// A reply did not come in time (RFC 5321 §4.5.3.2).
    Timeout,
    /// The server broke the protocol.
    Protocol,
    /// A message was given up half-sent (its body could not be sent as given): SMTP
    /// cannot take a body back.
    Abandoned,
    /// The server spoke while the connection was idle (nothing was asked).
    Unsolicited,
    /// The check with `NOOP` before reuse failed or timed out.
    NoopFailed,
    /// The server's `MAILMAX` (RFC 9422) is reached.
    MailMax,
    /// [`PoolOptions::max_messages`](super::PoolOptions::max_messages) is reached.
    MaxMessages,
    /// Older than [`PoolOptions::max_age`](super::PoolOptions::max_age).
    MaxAge,
    /// Idle longer than [`PoolOptions::idle_timeout`](super::PoolOptions::idle_timeout).
    IdleExpired,
    /// The send using it was cancelled (its future dropped) half-way: the session's
    /// state is unknown.
    Cancelled,
    /// Closed to make room for a connection to another destination (or a fresh one).
    Evicted,
    /// Closed by [`Pool::close_idle`](super::Pool::close_idle).
    Shutdown,
    /// Failed otherwise (a refused STARTTLS or AUTH on a later EHLO, a local error).
    Other,
}

impl Retired {
    pub(super) const ALL: [Retired; 15] = [
        Self::Reply421,
        Self::Closed,
        Self::Timeout,
        Self::Protocol,
        Self::Abandoned,
        Self::Unsolicited,
        Self::NoopFailed,
        Self::MailMax,
        Self::MaxMessages,
        Self::MaxAge,
        Self::IdleExpired,
        Self::Cancelled,
        Self::Evicted,
        Self::Shutdown,
        Self::Other,
    ];

    /// A short name for logs and metrics (`reply_421`, `mail_max`, …).
    pub fn name(self) -> &'static str {
        match self {
            Self::Reply421 => "reply_421",
            Self::Closed => "closed",
            Self::Timeout => "timeout",
            Self::Protocol => "protocol",
            Self::Abandoned => "abandoned",
            Self::Unsolicited => "unsolicited",
            Self::NoopFailed => "noop_failed",
            Self::MailMax => "mail_max",
            Self::MaxMessages => "max_messages",
            Self::MaxAge => "max_age",
            Self::IdleExpired => "idle_expired",
            Self::Cancelled => "cancelled",
            Self::Evicted => "evicted",
            Self::Shutdown => "shutdown",
            Self::Other => "other",
        }
    }

    fn index(self) -> usize {
        Self::ALL.iter().position(|r| *r == self).unwrap_or(0)
    }
}

impl fmt::Display for Retired {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The live counters.
#[derive(Default)]
pub(super) struct Counters {
    opened: AtomicU64,
    connect_failed: AtomicU64,
    reused: AtomicU64,
    checkout_waits: AtomicU64,
    checkout_timeouts: AtomicU64,
    retired: [AtomicU64; 15],
}

impl Counters {
    pub(super) fn opened(&self) {
        self.opened.fetch_add(1, Ordering::Relaxed);
    }
    pub(super) fn connect_failed(&self) {
        self.connect_failed.fetch_add(1, Ordering::Relaxed);
    }
    pub(super) fn reused(&self) {
        self.reused.fetch_add(1, Ordering::Relaxed);
    }
    pub(super) fn waited(&self) {
        self.checkout_waits.fetch_add(1, Ordering::Relaxed);
    }
    pub(super) fn timed_out(&self) {
        self.checkout_timeouts.fetch_add(1, Ordering::Relaxed);
    }
    pub(super) fn retired(&self, why: Retired) {
        self.retired[why.index()].fetch_add(1, Ordering::Relaxed);
    }

    pub(super) fn snapshot(&self, open: usize, idle: usize) -> PoolStats {
        let load = |a: &AtomicU64| a.load(Ordering::Relaxed);
        PoolStats {
            opened: load(&self.opened),
            connect_failed: load(&self.connect_failed),
            reused: load(&self.reused),
            checkout_waits: load(&self.checkout_waits),
            checkout_timeouts: load(&self.checkout_timeouts),
            retired: Retired::ALL
                .iter()
                .map(|r| (*r, load(&self.retired[r.index()])))
                .filter(|(_, n)| *n > 0)
                .collect(),
            open,
            idle,
        }
    }
}

/// A snapshot of a pool's counters ([`Pool::stats`](super::Pool::stats)).
#[non_exhaustive]
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PoolStats {
    /// Connections opened (set up to `Ready`).
    pub opened: u64,
    /// Connections that failed to open (connect, TLS, AUTH).
    pub connect_failed: u64,
    /// Checkouts served by a connection used before.
    pub reused: u64,
    /// Checkouts that had to wait for a connection.
    pub checkout_waits: u64,
    /// Checkouts that gave up after [`PoolOptions::checkout_timeout`](super::PoolOptions::checkout_timeout).
    pub checkout_timeouts: u64,
    /// Connections retired, by reason (only reasons that occurred).
    pub retired: Vec<(Retired, u64)>,
    /// Connections open now (idle or in use).
    pub open: usize,
    /// Connections idle now.
    pub idle: usize,
}

impl PoolStats {
    /// Connections retired for `why`.
    pub fn retired(&self, why: Retired) -> u64 {
        self.retired
            .iter()
            .find(|(r, _)| *r == why)
            .map_or(0, |(_, n)| *n)
    }

    /// Connections retired, for any reason.
    pub fn retired_total(&self) -> u64 {
        self.retired.iter().map(|(_, n)| n).sum()
    }
}
