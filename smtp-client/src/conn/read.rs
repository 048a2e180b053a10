//! Reading for [`Connection`]: the reply awaited (under its RFC 5321 §4.5.3.2
//! deadline), bytes that came unasked, and the transcript of both directions.

use super::{Connection, WIRE};
use crate::error::Error;
use crate::transport::Transport;

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
    /// commands as they are, credentials redacted, a body as its size.
    pub(super) fn log_sent(&mut self, bytes: &[u8]) {
        if !tracing::enabled!(target: WIRE, tracing::Level::DEBUG) {
            return;
        }
        if self.in_body {
            tracing::debug!(target: WIRE, "C: <message data, {} octets>", bytes.len());
            return;
        }
        for line in String::from_utf8_lossy(bytes).lines() {
            if let Some(rest) = line.strip_prefix("AUTH ") {
                let mech = rest.split(' ').next().unwrap_or("");
                self.in_auth = true;
                tracing::debug!(target: WIRE, "C: AUTH {mech} <redacted>");
            } else if self.in_auth {
                tracing::debug!(target: WIRE, "C: <redacted>");
            } else {
                tracing::debug!(target: WIRE, "C: {line}");
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
