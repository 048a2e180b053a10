//! Reading for [`Connection`]: the reply awaited (under its RFC 5321 §4.5.3.2
//! deadline), bytes that came unasked, and the transcript of both directions.

use super::{Connection, WIRE};
use crate::error::Error;
use crate::transport::Transport;
use smtp_proto::client::Sent;

impl Connection {
    /// Feeds the session what the server has sent already, without waiting for more,
    /// when no reply is awaited: such bytes answer nothing, and the core must see them
    /// before the next command or piece of the body is written (it then ends the
    /// session instead). Bytes still on their way (sent, not yet delivered to this end)
    /// are read with the next reply: then no client can tell them from an answer.
    pub(super) async fn read_ready(&mut self) -> Result<(), Error> {
        if self.session.awaits_reply() || matches!(self.io, Transport::Gone) {
            return Ok(());
        }
        // One turn of the runtime first, so that its I/O driver has noted what arrived.
        tokio::task::yield_now().await;
        loop {
            let polled = {
                let mut read = std::pin::pin!(self.io.read(&mut self.buf));
                std::future::poll_fn(|cx| std::task::Poll::Ready(read.as_mut().poll(cx))).await
            };
            match polled {
                std::task::Poll::Pending => return Ok(()),
                std::task::Poll::Ready(Ok(0)) => {
                    self.session.feed_eof();
                    return Ok(());
                }
                std::task::Poll::Ready(Ok(n)) => {
                    self.log_received(n);
                    self.session.feed(&self.buf[..n]);
                }
                std::task::Poll::Ready(Err(e)) => {
                    self.close_io().await;
                    return Err(e.into());
                }
            }
        }
    }

    /// The transcript of what is sent, at debug level on target `smtp_client::wire`:
    /// command lines as they are, AUTH payloads redacted, message content as its size.
    /// What each part of `bytes` is comes from the session, which marked it as it
    /// wrote it ([`ClientSession::last_transmit`]): the QUIT after a refused AUTH is a
    /// command like any other.
    ///
    /// [`ClientSession::last_transmit`]: smtp_proto::client::ClientSession::last_transmit
    pub(super) fn log_sent(&self, bytes: &[u8]) {
        if !tracing::enabled!(target: WIRE, tracing::Level::DEBUG) {
            return;
        }
        let mut at = 0;
        for &(kind, n) in self.session.last_transmit() {
            let part = bytes.get(at..at + n).unwrap_or_default();
            at += n;
            match kind {
                Sent::AuthCommand => {
                    let mechanism = self.session.auth_mechanism();
                    let mechanism = mechanism.as_ref().map_or("", |m| m.as_str());
                    // `AUTH mechanism` alone has no initial response to hide.
                    if part.len() > "AUTH \r\n".len() + mechanism.len() {
                        tracing::debug!(target: WIRE, "C: AUTH {mechanism} <redacted>");
                    } else {
                        tracing::debug!(target: WIRE, "C: AUTH {mechanism}");
                    }
                }
                Sent::SaslResponse => tracing::debug!(target: WIRE, "C: <redacted>"),
                Sent::Body => {
                    tracing::debug!(target: WIRE, "C: <message data, {} octets>", part.len());
                }
                _ => {
                    for line in String::from_utf8_lossy(part).lines() {
                        tracing::debug!(target: WIRE, "C: {line}");
                    }
                }
            }
        }
    }

    /// The transcript of what was received into `buf`.
    fn log_received(&self, n: usize) {
        if tracing::enabled!(target: WIRE, tracing::Level::DEBUG) {
            for line in String::from_utf8_lossy(&self.buf[..n]).lines() {
                tracing::debug!(target: WIRE, "S: {line}");
            }
        }
    }

    pub(super) async fn read(&mut self) -> Result<(), Error> {
        let kind = self.session.timeout();
        let deadline = match self.deadline {
            Some((k, at)) if k == kind => at,
            _ => {
                let at = tokio::time::Instant::now() + self.opts.timeouts.for_wait(kind);
                self.deadline = Some((kind, at));
                at
            }
        };
        match tokio::time::timeout_at(deadline, self.io.read(&mut self.buf)).await {
            Ok(Ok(0)) => self.session.feed_eof(),
            Ok(Ok(n)) => {
                self.log_received(n);
                self.session.feed(&self.buf[..n]);
            }
            Ok(Err(e)) => {
                self.close_io().await;
                return Err(e.into());
            }
            Err(_) => {
                self.close_io().await;
                return Err(Error::timeout(kind));
            }
        }
        Ok(())
    }
}
