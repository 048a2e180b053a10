//! Ending a session from the binding's side: a refusal at connect time, a shutdown or a
//! timeout. Each queues one final reply and closes, like every other way out.

use super::{AbortReason, ServerEvent, ServerOptions, ServerSession, State};
use crate::codec::Encode;
use crate::session::TransportSecurity;
use crate::types::reply::Reply;
use std::sync::Arc;

impl ServerSession {
    /// A session that refuses the connection: `reply` replaces the `220` greeting and the
    /// session closes after sending it. Use `421 4.7.0` when a connection limit is
    /// reached (RFC 5321 §3.8: 421 is the reply of a server that must close now); the
    /// session never reads a command, so no plaintext can be interpreted.
    pub fn refused(options: impl Into<Arc<ServerOptions>>, reply: Reply) -> Self {
        let mut s = Self::new(options, TransportSecurity::Plain);
        s.out.clear();
        reply.encode(&mut s.out);
        s.close();
        s
    }

    /// Ends the session now: queues `reply` (normally `421`, RFC 5321 §3.8 for a shutdown
    /// and §4.5.3.2 for a timeout) behind any replies still queued, abandons a message
    /// in progress (a [`ServerEvent::MessageAborted`] event) and any pending decision,
    /// then polls to `Close`. While a TLS upgrade is under way nothing more can be said
    /// in plaintext, so the reply is dropped. A closed session ignores this.
    pub fn close_with(&mut self, reply: Reply) {
        match self.state {
            State::Closed => return,
            State::AwaitTls => {}
            _ => reply.encode(&mut self.out),
        }
        let in_body = matches!(self.state, State::Data(_) | State::Bdat { .. })
            || self.tx.as_ref().is_some_and(|t| t.chunks.is_some());
        if in_body && self.tx.as_ref().is_some_and(|t| t.aborted.is_none()) {
            self.events
                .push_back(ServerEvent::MessageAborted(AbortReason::ConnectionClosed));
            self.tx = None;
        }
        self.flush = true;
        self.close();
    }

    /// Whether the session waits between transactions: no mail transaction, no
    /// decision pending, nothing buffered. A graceful shutdown closes idle sessions at
    /// once and lets the others finish their transaction.
    pub fn is_idle(&self) -> bool {
        matches!(self.state, State::Command)
            && self.tx.is_none()
            && self.pending.is_none()
            && self.events.is_empty()
            && self.next_message_end.is_none()
            && self.input.is_empty()
    }

    /// How many RCPT commands were refused so far, whoever refused them: the
    /// application ([`ServerSession::reject`]), the phase table (RCPT before MAIL), a
    /// syntax or parameter error, or `max_recipients`.
    pub fn refused_recipients(&self) -> u64 {
        self.refused_rcpts
    }
}

impl std::fmt::Debug for ServerSession {
    /// A summary: never the unread input, which may hold pipelined AUTH secrets.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerSession")
            .field("state", &self.state)
            .field("pending", &self.pending)
            .field("hello", &self.hello)
            .field("authenticated", &self.authenticated)
            .field("in_transaction", &self.tx.is_some())
            .field("tls", &self.tls)
            .field("errors", &self.errors)
            .field("junk", &self.junk)
            .field("buffered", &self.input.len())
            .finish_non_exhaustive()
    }
}
