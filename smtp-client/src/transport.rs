//! The byte stream under a connection: plaintext, or TLS after STARTTLS or from the
//! first byte. It keeps no read buffer of its own: every byte read goes to the core,
//! which decides what bytes around the upgrade mean (nothing read in plaintext can be
//! taken for a reply over TLS).

use std::io;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// Any stream a connection can run on (a `TcpStream`, or anything else connected to
/// an SMTP server: a Unix socket, a proxy tunnel, an in-memory pipe in tests).
pub trait Io: AsyncRead + AsyncWrite + Send + Unpin {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin + ?Sized> Io for T {}

pub(crate) type BoxIo = Box<dyn Io>;

pub(crate) enum Transport {
    Plain(BoxIo),
    Tls(Box<tokio_rustls::client::TlsStream<BoxIo>>),
    /// After a failed handshake, a close, or a broken connection.
    Gone,
}

impl Transport {
    pub(crate) async fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Self::Plain(s) => s.read(buf).await,
            Self::Tls(s) => s.read(buf).await,
            Self::Gone => Err(io::ErrorKind::NotConnected.into()),
        }
    }

    /// Writes all of `bytes` and flushes: one burst, one write where the OS allows.
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

    /// Closes the write side (a TLS `close_notify` first); the stream is gone after.
    pub(crate) async fn shutdown(&mut self) {
        let _ = match self {
            Self::Plain(s) => s.shutdown().await,
            Self::Tls(s) => s.shutdown().await,
            Self::Gone => Ok(()),
        };
        *self = Self::Gone;
    }
}
