//! The byte stream under a session: plaintext, or TLS after STARTTLS or on an
//! implicit-TLS listener. It keeps no read buffer of its own, so nothing read before
//! the upgrade can survive it (every byte read goes to the core, which decides).

use crate::handler::TlsFacts;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio_rustls::TlsAcceptor;

/// Any stream a session can run on (a `TcpStream`, an in-memory duplex in tests).
pub trait Io: AsyncRead + AsyncWrite + Send + Unpin {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin + ?Sized> Io for T {}

pub(crate) type BoxIo = Box<dyn Io>;

pub(crate) enum Transport {
    Plain(BoxIo),
    Tls(Box<tokio_rustls::server::TlsStream<BoxIo>>),
    /// After a failed handshake or a broken connection.
    Gone,
}

impl Transport {
    /// Reads into `buf` when bytes are ready; nothing read (`Ok` with `buf` unfilled)
    /// is the end of the stream.
    pub(crate) fn poll_read(
        &mut self,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self {
            Self::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Self::Tls(s) => Pin::new(&mut **s).poll_read(cx, buf),
            Self::Gone => Poll::Ready(Ok(())),
        }
    }

    /// Writes all of `bytes` and flushes (one reply batch, one write).
    pub(crate) async fn write_all(&mut self, bytes: &[u8]) -> io::Result<()> {
        match self {
            Self::Plain(s) => {
                s.write_all(bytes).await?;
                s.flush().await
            }
            Self::Tls(s) => {
                s.write_all(bytes).await?;
                s.flush().await
            }
            Self::Gone => Err(io::ErrorKind::NotConnected.into()),
        }
    }

    /// Runs a server handshake on the plaintext stream. On failure the stream is gone.
    pub(crate) async fn upgrade(
        &mut self,
        acceptor: TlsAcceptor,
        starttls: bool,
    ) -> io::Result<TlsFacts> {
        let Self::Plain(io) = std::mem::replace(self, Self::Gone) else {
            return Err(io::ErrorKind::NotConnected.into());
        };
        let stream = acceptor.accept(io).await?;
        let facts = crate::tls::facts(stream.get_ref().1, starttls);
        *self = Self::Tls(Box::new(stream));
        Ok(facts)
    }

    /// Closes the write side (a TLS `close_notify` first).
    pub(crate) async fn shutdown(&mut self) {
        let _ = match self {
            Self::Plain(s) => s.shutdown().await,
            Self::Tls(s) => s.shutdown().await,
            Self::Gone => Ok(()),
        };
    }
}

/// A stream that first yields bytes already read from it (what followed a PROXY header
/// on an implicit-TLS listener: the start of the TLS handshake). Used only before any
/// TLS or SMTP, so no byte can cross a security boundary through it.
pub(crate) struct Prefixed<T> {
    prefix: bytes::Bytes,
    inner: T,
}

impl<T> Prefixed<T> {
    pub(crate) fn new(prefix: bytes::Bytes, inner: T) -> Self {
        Self { prefix, inner }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for Prefixed<T> {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<io::Result<()>> {
        if !self.prefix.is_empty() {
            let n = self.prefix.len().min(buf.remaining());
            let chunk = self.prefix.split_to(n);
            buf.put_slice(&chunk);
            return std::task::Poll::Ready(Ok(()));
        }
        std::pin::Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Prefixed<T> {
    fn poll_write(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<io::Result<usize>> {
        std::pin::Pin::new(&mut self.inner).poll_write(cx, buf)
    }
    fn poll_flush(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<io::Result<()>> {
        std::pin::Pin::new(&mut self.inner).poll_flush(cx)
    }
    fn poll_shutdown(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<io::Result<()>> {
        std::pin::Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
