//! A message body as the handler reads it: chunks pulled from the connection as they
//! arrive, so a message of any size streams through without being held in memory.

use crate::conn::Conn;
use bytes::Bytes;
use smtp_proto::{AbortReason, ServerEvent};
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use tokio::io::{AsyncRead, ReadBuf};

/// Why a body ended before its end marker.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum BodyError {
    /// The core refused the message (bare LF or CR, too big) and answers the client
    /// itself; drop what was received.
    #[error("message aborted: {0:?}")]
    Aborted(AbortReason),
    /// The connection ended (closed, timed out, server shutting down), also when the
    /// client closed right after the final dot without waiting for the reply: such a
    /// client will send the message again, so it must not be kept.
    #[error("connection ended during the message")]
    Closed,
    /// [`Body::read_all`] passed its limit. The rest of the body is read and dropped
    /// when the hook returns, and the client gets `552 5.3.4` whatever the hook decides
    /// (a truncated message is never accepted).
    #[error("message larger than {0} bytes")]
    TooLarge(usize),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum End {
    Complete,
    Failed(BodyError),
}

/// The body of the message in progress, given to [`crate::Session::data`]: the
/// `Received:` header first (unless turned off), then the data as the client sends it,
/// dot-unstuffed (DATA) or as chunked (BDAT), with CRLF line endings.
///
/// Read it either way, or both in turn:
/// - [`Body::next`]: the pieces as they arrive, as `Bytes` (no copy);
/// - `tokio::io::AsyncRead` (and so `AsyncReadExt`, `tokio::io::copy`, `BufReader`): a
///   body ended cleanly reads as end of file; an aborted one fails with an
///   [`std::io::Error`] whose inner error is the [`BodyError`].
///
/// ```no_run
/// # use smtp_server::{Body, Context, Decision, Session, Transaction};
/// # struct Conn;
/// impl Session for Conn {
///     async fn data(&mut self, ctx: &Context, _: &Transaction, body: &mut Body<'_>) -> Decision {
///         let name = format!("/var/spool/in/{}.eml", ctx.queue_id().unwrap_or("x"));
///         let Ok(mut file) = tokio::fs::File::create(&name).await else {
///             return Decision::temporary_failure();
///         };
///         match tokio::io::copy(body, &mut file).await {
///             Ok(_) if file.sync_all().await.is_ok() => Decision::Accept,
///             _ => Decision::temporary_failure(), // or aborted: the reply is ignored then
///         }
///     }
/// }
/// ```
pub struct Body<'a> {
    /// The reading state; `None` while a read started by `poll_read` holds it.
    state: Option<Reader<'a>>,
    /// A read started by `poll_read`, which owns the state until it completes.
    pending: Option<Pending<'a>>,
    /// What `poll_read` took from the connection and has not handed out yet.
    rest: Bytes,
    /// The state's byte count when a read took it.
    received: u64,
}

type Pending<'a> =
    Pin<Box<dyn Future<Output = (Reader<'a>, Result<Option<Bytes>, BodyError>)> + Send + 'a>>;

struct Reader<'a> {
    conn: &'a mut Conn,
    first: Option<ServerEvent>,
    header: Option<Bytes>,
    end: Option<End>,
    received: u64,
    too_large: bool,
}

impl std::fmt::Debug for Body<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut d = f.debug_struct("Body");
        if let Some(r) = &self.state {
            d.field("received", &r.received).field("end", &r.end);
        }
        d.field("reading", &self.pending.is_some())
            .field("unread", &self.rest.len())
            .finish_non_exhaustive()
    }
}

impl<'a> Body<'a> {
    pub(crate) fn new(
        conn: &'a mut Conn,
        first: Option<ServerEvent>,
        header: Option<Bytes>,
    ) -> Self {
        Self {
            state: Some(Reader {
                conn,
                first,
                header,
                end: None,
                received: 0,
                too_large: false,
            }),
            pending: None,
            rest: Bytes::new(),
            received: 0,
        }
    }

    /// The next piece of the message; `Ok(None)` at its (clean) end.
    pub async fn next(&mut self) -> Result<Option<Bytes>, BodyError> {
        if !self.rest.is_empty() {
            return Ok(Some(std::mem::take(&mut self.rest)));
        }
        if let Some(p) = self.pending.as_mut() {
            let (state, r) = p.await;
            self.pending = None;
            self.state = Some(state);
            return r;
        }
        match self.state.as_mut() {
            Some(state) => state.next().await,
            None => Err(BodyError::Closed),
        }
    }

    /// The whole rest of the message in memory (for a body of any size, stream it
    /// instead: `tokio::io::copy`), refusing past `limit` bytes with
    /// [`BodyError::TooLarge`]. The rest of the body is still read and dropped, so the
    /// session stays in step, and the message is refused with `552 5.3.4`.
    pub async fn read_all(&mut self, limit: usize) -> Result<Vec<u8>, BodyError> {
        let mut all = Vec::new();
        while let Some(chunk) = self.next().await? {
            if all.len() + chunk.len() > limit {
                if let Some(s) = self.state.as_mut() {
                    s.too_large = true;
                }
                return Err(BodyError::TooLarge(limit));
            }
            all.extend_from_slice(&chunk);
        }
        Ok(all)
    }

    /// Bytes taken from the connection so far (header included); with
    /// `AsyncRead`, some may not have been read yet.
    pub fn received(&self) -> u64 {
        self.state.as_ref().map_or(self.received, |s| s.received)
    }

    /// Whether a fault rule ([`crate::testing`]) answers the end of this message (of
    /// `envelope`, as the hook got it) with a refusal or closes the connection there:
    /// a handler that records messages for a test leaves such a message out, as the
    /// client was not told it was accepted. In LMTP a rule's reply answers the first
    /// recipient only, so a message for several stays.
    #[cfg(feature = "testing")]
    pub fn refused_by_fault(&self, envelope: &crate::Transaction) -> bool {
        self.state
            .as_ref()
            .and_then(|s| s.conn.tap.as_ref())
            .is_some_and(|t| t.refuses_message(envelope.recipients.len()))
    }

    /// Whether [`Body::read_all`] hit its limit.
    pub(crate) fn too_large(&self) -> bool {
        self.state.as_ref().is_some_and(|s| s.too_large)
    }

    /// Reads and drops what the handler left, and says how the body ended.
    pub(crate) async fn finish(mut self) -> End {
        loop {
            match self.next().await {
                Ok(Some(_)) => {}
                Ok(None) => return End::Complete,
                Err(e) => return End::Failed(e),
            }
        }
    }
}

impl AsyncRead for Body<'_> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        loop {
            if !this.rest.is_empty() {
                let n = this.rest.len().min(buf.remaining());
                buf.put_slice(&this.rest.split_to(n));
                return Poll::Ready(Ok(()));
            }
            if this.pending.is_none() {
                let Some(mut state) = this.state.take() else {
                    return Poll::Ready(Err(io_error(BodyError::Closed)));
                };
                this.received = state.received;
                this.pending = Some(Box::pin(async move {
                    let r = state.next().await;
                    (state, r)
                }));
            }
            let Some(p) = this.pending.as_mut() else {
                continue;
            };
            let (state, r) = std::task::ready!(p.as_mut().poll(cx));
            this.pending = None;
            this.state = Some(state);
            match r {
                Ok(Some(b)) => this.rest = b,
                Ok(None) => return Poll::Ready(Ok(())),
                Err(e) => return Poll::Ready(Err(io_error(e))),
            }
        }
    }
}

/// A [`BodyError`] as an `io::Error` whose inner error it is.
fn io_error(e: BodyError) -> io::Error {
    let kind = match e {
        BodyError::Closed => io::ErrorKind::UnexpectedEof,
        BodyError::Aborted(_) | BodyError::TooLarge(_) => io::ErrorKind::InvalidData,
    };
    io::Error::new(kind, e)
}

impl Reader<'_> {
    /// The next piece of the message; `Ok(None)` at its (clean) end.
    async fn next(&mut self) -> Result<Option<Bytes>, BodyError> {
        if let Some(h) = self.header.take() {
            self.received += h.len() as u64;
            return Ok(Some(h));
        }
        loop {
            match self.end {
                Some(End::Complete) => return Ok(None),
                Some(End::Failed(e)) => return Err(e),
                None => {}
            }
            let ev = match self.first.take() {
                Some(ev) => Some(ev),
                None => self.conn.next_event().await,
            };
            match ev {
                Some(ServerEvent::Body(b)) if b.is_empty() => {}
                Some(ServerEvent::Body(b)) => {
                    self.received += b.len() as u64;
                    return Ok(Some(b));
                }
                // The decision waits in the core; the driver answers it. A client that
                // left right after the final dot never sees the reply, so the message is
                // not taken (it will be sent again): the handler is told it was aborted.
                Some(ServerEvent::MessageEnd { .. }) => {
                    if self.conn.peer_gone().await {
                        self.conn
                            .session
                            .close_with(smtp_proto::server::replies::local_error_closing());
                        // The Reset or MessageAborted the close queued is this same end,
                        // which the driver accounts for once (End::Failed(Closed)).
                        while self.conn.next_event().await.is_some() {}
                        self.end = Some(End::Failed(BodyError::Closed));
                    } else {
                        self.end = Some(End::Complete);
                    }
                }
                Some(ServerEvent::MessageAborted(r)) => {
                    self.end = Some(End::Failed(BodyError::Aborted(r)))
                }
                _ => self.end = Some(End::Failed(BodyError::Closed)),
            }
        }
    }
}
