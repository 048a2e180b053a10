//! [`Lease`]: a pooled connection in one task's hands, given back when dropped; and
//! `Held`, the count of a checkout still under way.

use super::key::Key;
use super::{Retired, Shared};
use crate::conn::Connection;
use std::ops::{Deref, DerefMut};
use std::sync::Arc;
use tokio::time::Instant;

/// A connection taken from a [`Pool`](super::Pool) ([`Pool::checkout`](super::Pool::checkout)):
/// use it as a [`Connection`] (it derefs to one), then drop it. Dropped, it goes back
/// to the pool if its state is known-good (not busy, open, within its limits), and is
/// retired otherwise: a lease dropped in the middle of a send (a cancelled task) takes
/// its connection with it.
pub struct Lease {
    conn: Option<Connection>,
    opened: Instant,
    key: Arc<Key>,
    pool: Arc<Shared>,
    why: Option<Retired>,
}

impl Lease {
    pub(super) fn new(
        mut conn: Connection,
        opened: Instant,
        key: Arc<Key>,
        pool: Arc<Shared>,
    ) -> Self {
        if let Some(max) = pool.opts.max_messages {
            conn.set_cap(max);
        }
        Self {
            conn: Some(conn),
            opened,
            key,
            pool,
            why: None,
        }
    }

    /// Retires the connection instead of giving it back (when the caller knows
    /// something is wrong with it).
    pub fn retire(mut self) {
        self.why = Some(Retired::Other);
    }
}

impl Deref for Lease {
    type Target = Connection;
    fn deref(&self) -> &Connection {
        self.conn
            .as_ref()
            .expect("a lease holds its connection until dropped")
    }
}

impl DerefMut for Lease {
    fn deref_mut(&mut self) -> &mut Connection {
        self.conn
            .as_mut()
            .expect("a lease holds its connection until dropped")
    }
}

impl std::fmt::Debug for Lease {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Lease").field("conn", &self.conn).finish()
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take() {
            self.pool
                .give_back(&self.key, conn, self.opened, self.why.take());
        }
    }
}

/// A connection (or the room for one) counted in the pool but held by a checkout
/// that has not finished: dropped unreleased (the checkout failed or was cancelled),
/// its count is given back, and `why` recorded when a connection went with it.
pub(super) struct Held<'a> {
    shared: &'a Shared,
    key: &'a Arc<Key>,
    why: Option<Retired>,
    armed: bool,
}

impl<'a> Held<'a> {
    pub(super) fn new(shared: &'a Shared, key: &'a Arc<Key>, why: Option<Retired>) -> Self {
        Self {
            shared,
            key,
            why,
            armed: true,
        }
    }

    /// The count now belongs to a lease, or was settled otherwise.
    pub(super) fn release(&mut self) {
        self.armed = false;
    }
}

impl Drop for Held<'_> {
    fn drop(&mut self) {
        if self.armed {
            if let Some(why) = self.why {
                self.shared.stats.retired(why);
            }
            self.shared.forget(self.key);
        }
    }
}
