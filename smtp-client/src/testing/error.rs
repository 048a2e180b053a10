//! [`TestError`]: what went wrong while scripting a server.

use std::io;
use std::time::Duration;

/// Why a [`TestClient`](super::TestClient) step failed. Every step is bounded, so a
/// server that says nothing, says too much or hangs up ends here instead of hanging the
/// test.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum TestError {
    /// The TCP connection could not be made (refused, unreachable, timed out).
    #[error("cannot connect: {0}")]
    Connect(#[source] io::Error),
    /// Nothing complete arrived within the read timeout. What did arrive stays
    /// unread (and is noted in the transcript).
    #[error("no complete reply within {waited:?}")]
    Timeout {
        /// How long the step waited.
        waited: Duration,
    },
    /// The server closed the connection (or reset it) before the step was done.
    #[error("the server closed the connection")]
    Closed,
    /// A reply broke one of the limits ([`TestOptions`](super::TestOptions)): a line
    /// longer than `max_line`, or more than `max_reply_lines` lines. The bytes read are
    /// dropped, and with them any way to stay in step with the server: end the
    /// connection.
    #[error("reply over the limit: {0}")]
    ReplyTooLarge(String),
    /// Reading or writing failed in another way.
    #[error("connection: {0}")]
    Io(#[source] io::Error),
    /// The TLS handshake failed (the connection is gone).
    #[error("TLS handshake: {0}")]
    Tls(String),
    /// A call that cannot work in this state or with these arguments: STARTTLS inside
    /// TLS, split offsets past the end, a server name rustls cannot use.
    #[error("misuse: {0}")]
    Misuse(String),
}

impl TestError {
    /// Whether the server went away (closed or reset the connection): what a
    /// server is expected to do after some provocations.
    pub fn is_closed(&self) -> bool {
        matches!(self, Self::Closed)
    }

    /// Whether a wait timed out.
    pub fn is_timeout(&self) -> bool {
        matches!(self, Self::Timeout { .. })
    }

    /// An I/O error, with the ways a peer can hang up turned into [`TestError::Closed`].
    pub(crate) fn from_io(e: io::Error) -> Self {
        if is_hangup(&e) {
            Self::Closed
        } else {
            Self::Io(e)
        }
    }
}

/// Whether an I/O error means the peer hung up: a reset, a broken pipe, or (from
/// rustls) a TCP close without TLS `close_notify`.
pub(crate) fn is_hangup(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::BrokenPipe
            | io::ErrorKind::UnexpectedEof
            | io::ErrorKind::NotConnected
    )
}
