//! The message body: pulled piece by piece, encoded (CRLF, dot-stuffing) for DATA or
//! framed as BDAT chunks, checked against the server's SIZE.

use super::policy;
use super::{BodyPhase, ClientSession, Expect, Sent};
use crate::error::{ApiMisuse, Error};
use crate::framing::stuff::BodyError;
use bytes::{BufMut, BytesMut};

impl ClientSession {
    /// The transaction whose body may take more now.
    fn streaming_tx(&mut self) -> Result<&mut super::Tx, Error> {
        self.tx
            .as_mut()
            .filter(|t| t.body == BodyPhase::Streaming)
            .ok_or_else(|| ApiMisuse::NotReady.into())
    }

    /// BDAT without PIPELINING with a chunk's reply still awaited: no chunk may go
    /// until it comes (RFC 3030 §2), so body given now is held.
    fn chunk_awaited(&self) -> bool {
        self.tx
            .as_ref()
            .is_some_and(|t| t.bdat && !t.pipelined && !self.expects.is_empty())
    }

    /// Gives the next piece of the body (after [`ClientEvent::SendBody`](super::ClientEvent::SendBody)): CRLF line
    /// endings, dot-stuffing for DATA, one chunk for BDAT. An error leaves the session
    /// as it was; a message that cannot be finished is given up with `abort`.
    ///
    /// Except [`ApiMisuse::LineTooLong`]: a line longer than [`Limits::text_line`]
    /// (RFC 5321 §4.5.3.1.6; not with `BODY=BINARYMIME`), counted across pieces, ends
    /// the session at once. Part of the message may be on the wire already, and neither
    /// the terminator nor `BDAT … LAST` may follow it (the server would take a cut
    /// message), so the next `poll` says [`Output::Close`](crate::Output::Close). Check
    /// a body held in memory with [`ClientSession::check_body`] before `send` instead.
    ///
    /// [`Limits::text_line`]: crate::Limits::text_line
    pub fn body(&mut self, chunk: &[u8]) -> Result<(), Error> {
        let max = self.caps.as_ref().and_then(crate::Capabilities::max_size);
        let server = self.opts.server.clone();
        let awaited = self.chunk_awaited();
        let tx = self.streaming_tx()?;
        if !tx.eight_bit && !chunk.is_ascii() {
            return Err(ApiMisuse::UndeclaredEightBit.into());
        }
        let mut stuffer = tx.stuffer.clone();
        let mut data = BytesMut::with_capacity(chunk.len() + 16);
        if let Err(e) = stuffer.encode(chunk, &mut data) {
            if let BodyError::LineTooLong { .. } = e {
                self.close();
            }
            return Err(body_error(e));
        }
        let sent = tx.sent + data.len() as u64;
        if let Some(max) = max
            && sent > max
        {
            // RFC 1870 §5: do not send more than the server said it accepts.
            return Err(policy::PolicyViolation::TooBig {
                server,
                size: sent,
                max,
            }
            .into());
        }
        tx.stuffer = stuffer;
        tx.sent = sent;
        if data.is_empty() {
            return Ok(());
        }
        if tx.bdat && awaited {
            tx.held.extend_from_slice(&data);
            return Ok(());
        }
        if tx.bdat {
            // Hold this piece back and send the one before: the last piece goes out
            // with LAST.
            let data = std::mem::replace(&mut tx.held, data);
            if !data.is_empty() {
                self.chunk(&data, false);
            }
            return Ok(());
        }
        self.write_marked(Sent::Body, |out| out.put_slice(&data));
        Ok(())
    }

    /// `BDAT n [LAST]` and its data.
    fn chunk(&mut self, data: &[u8], last: bool) {
        let tail = if last { " LAST" } else { "" };
        let _ = std::fmt::Write::write_fmt(
            &mut self.out,
            format_args!("BDAT {}{tail}\r\n", data.len()),
        );
        self.write_marked(Sent::Body, |out| out.put_slice(data));
        if !last {
            self.expect(Expect::Bdat { last: false });
        }
    }

    /// Ends the body: the `CRLF . CRLF` terminator, or `BDAT n LAST` (without
    /// PIPELINING, once the chunk before is answered). An error leaves the session as
    /// it was.
    pub fn end_body(&mut self) -> Result<(), Error> {
        let lmtp = self.opts.lmtp;
        let awaited = self.chunk_awaited();
        let tx = self.streaming_tx()?;
        let mut stuffer = tx.stuffer.clone();
        let mut data = if tx.bdat {
            tx.held.clone()
        } else {
            BytesMut::new()
        };
        stuffer.finish(&mut data).map_err(body_error)?;
        tx.stuffer = stuffer;
        if tx.bdat {
            tx.held = data;
            tx.body = BodyPhase::Ending;
            if !awaited {
                self.send_last_chunk();
            }
            return Ok(());
        }
        tx.body = BodyPhase::Sent;
        let replies = if lmtp { tx.accepted } else { 1 };
        tx.message_replies = replies;
        self.write_marked(Sent::Body, |out| out.put_slice(&data));
        for _ in 0..replies {
            self.expect(Expect::Message);
        }
        Ok(())
    }

    /// The chunk before the last one was answered (BDAT without PIPELINING, after
    /// `end_body`): the rest goes as `BDAT n LAST`.
    pub(super) fn send_last_chunk(&mut self) {
        let lmtp = self.opts.lmtp;
        let Some(tx) = self.tx.as_mut().filter(|t| t.body == BodyPhase::Ending) else {
            return;
        };
        let data = std::mem::take(&mut tx.held);
        tx.body = BodyPhase::Sent;
        let replies = if lmtp { tx.accepted } else { 1 };
        tx.message_replies = replies;
        self.chunk(&data, true);
        // RFC 2033 §4.3: after BDAT LAST, LMTP answers once per recipient.
        for _ in 1..replies {
            self.expect(Expect::Message);
        }
        self.expect(Expect::Bdat { last: true });
    }

    /// Gives up the message in progress. SMTP has no way to take back a DATA body that
    /// has started (sending the terminator would deliver it cut short), so the session
    /// closes: the binding drops the connection and the message is not delivered.
    pub fn abort(&mut self) {
        self.close();
    }
}

/// The session error for a body the encoder refused.
pub(super) fn body_error(e: BodyError) -> Error {
    match e {
        BodyError::LineTooLong { limit } => ApiMisuse::LineTooLong { limit }.into(),
        _ => ApiMisuse::BareLineEnding.into(),
    }
}
