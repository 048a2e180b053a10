//! A message body as the handler reads it: chunks pulled from the connection as they
//! arrive, so a message of any size streams through without being held in memory.

use crate::conn::Conn;
use bytes::Bytes;
use smtp_proto::{AbortReason, ServerEvent};

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
    /// [`Body::read_to_end`] passed its limit. The rest of the body is read and dropped
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
pub struct Body<'a> {
    conn: &'a mut Conn,
    first: Option<ServerEvent>,
    header: Option<Bytes>,
    end: Option<End>,
    received: u64,
    too_large: bool,
}

impl std::fmt::Debug for Body<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Body")
            .field("received", &self.received)
            .field("end", &self.end)
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
            conn,
            first,
            header,
            end: None,
            received: 0,
            too_large: false,
        }
    }

    /// The next piece of the message; `Ok(None)` at its (clean) end.
    pub async fn next(&mut self) -> Result<Option<Bytes>, BodyError> {
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

    /// The whole rest of the message in memory, refusing past `limit` bytes with
    /// [`BodyError::TooLarge`]. The rest of the body is still read and dropped, so the
    /// session stays in step, and the message is refused with `552 5.3.4`.
    pub async fn read_to_end(&mut self, limit: usize) -> Result<Vec<u8>, BodyError> {
        let mut all = Vec::new();
        while let Some(chunk) = self.next().await? {
            if all.len() + chunk.len() > limit {
                self.too_large = true;
                return Err(BodyError::TooLarge(limit));
            }
            all.extend_from_slice(&chunk);
        }
        Ok(all)
    }

    /// Bytes handed out so far (header included).
    pub fn received(&self) -> u64 {
        self.received
    }

    /// Whether [`Body::read_to_end`] hit its limit.
    pub(crate) fn too_large(&self) -> bool {
        self.too_large
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
