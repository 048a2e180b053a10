//! [`TestClient`]: raw, scripted SMTP against any server, every exchange recorded.

use super::error::{TestError, is_hangup};
use super::options::TestOptions;
use super::reply::{Framing, ServerReply, frame};
use super::transcript::{Direction, Transcript, escape};
use rustls::ClientConfig;
use rustls_pki_types::ServerName;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::{Instant, timeout, timeout_at};
use tokio_rustls::client::TlsStream;

/// What a STARTTLS exchange gave ([`TestClient::starttls`]).
#[non_exhaustive]
#[derive(Debug, Clone)]
pub struct StartTls {
    /// The server's answer to STARTTLS.
    pub reply: ServerReply,
    /// Plaintext that had arrived after that reply when the handshake began (RFC 3207
    /// §4.2: nothing may; a server sending it behind its `220` is the injection
    /// CVE-2011-0411 describes from the other side). Discarded, never given to TLS.
    pub after_reply: Vec<u8>,
    /// Whether the handshake was done: the reply was `220` and TLS is now on.
    pub upgraded: bool,
}

enum Stream {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
    Gone,
}

/// Whether a read brought bytes, the end of the stream, or nothing in time.
enum Fill {
    Data,
    Eof,
    TimedOut,
}

/// A hostile SMTP client for testing servers: it writes exactly the bytes it is given
/// (bare LF, bare CR, NUL, over-long lines, pipelined commands) in the writes it is
/// told, reads replies without trusting them, starts TLS when asked, and keeps a
/// [`Transcript`] of everything.
///
/// ```no_run
/// use smtp_client::testing::{TestClient, accept_any_certificate, server_name_for};
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let addr = "127.0.0.1:2525".parse()?;
/// let mut c = TestClient::connect(addr).await?;
/// c.read_reply().await?; // 220
/// c.ehlo("client.test").await?;
/// c.send(b"NOOP\nNOOP\r\n").await?; // one line with a bare LF in it
/// println!("{}", c.read_reply().await?);
/// let tls = c.starttls(accept_any_certificate()?, server_name_for(addr)).await?;
/// assert!(tls.upgraded && tls.after_reply.is_empty());
/// println!("{}", c.transcript());
/// # Ok(())
/// # }
/// ```
pub struct TestClient {
    stream: Stream,
    /// Bytes read and not yet part of a reply handed out.
    buf: Vec<u8>,
    /// The server closed (or reset) the connection.
    eof: bool,
    opts: TestOptions,
    transcript: Transcript,
    started: std::time::Instant,
    peer: SocketAddr,
    tls_facts: Option<(String, String)>,
}

impl std::fmt::Debug for TestClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestClient")
            .field("peer", &self.peer)
            .field("tls", &self.tls_facts)
            .field("closed", &self.eof)
            .field("pending", &self.buf.len())
            .field("transcript", &self.transcript.len())
            .finish()
    }
}

impl TestClient {
    /// Connects to `addr` with the default [`TestOptions`] (`TCP_NODELAY` set, so
    /// that each write leaves as it was made).
    pub async fn connect(addr: SocketAddr) -> Result<Self, TestError> {
        Self::connect_with(addr, TestOptions::default()).await
    }

    /// Connects to `addr` with these options.
    pub async fn connect_with(addr: SocketAddr, opts: TestOptions) -> Result<Self, TestError> {
        let stream = match timeout(opts.connect_timeout, TcpStream::connect(addr)).await {
            Err(_) => {
                let e = std::io::Error::new(std::io::ErrorKind::TimedOut, "connect timed out");
                return Err(TestError::Connect(e));
            }
            Ok(r) => r.map_err(TestError::Connect)?,
        };
        stream.set_nodelay(true).map_err(TestError::Connect)?;
        let mut me = Self {
            stream: Stream::Plain(stream),
            buf: Vec::new(),
            eof: false,
            opts,
            transcript: Transcript::new(),
            started: std::time::Instant::now(),
            peer: addr,
            tls_facts: None,
        };
        me.note(format!("connected to {addr}"));
        Ok(me)
    }

    /// The options in force.
    pub fn options(&self) -> &TestOptions {
        &self.opts
    }

    /// The server's address.
    pub fn peer_addr(&self) -> SocketAddr {
        self.peer
    }

    /// Everything so far.
    pub fn transcript(&self) -> &Transcript {
        &self.transcript
    }

    /// The transcript, the connection dropped.
    pub fn into_transcript(self) -> Transcript {
        self.transcript
    }

    /// Adds a note to the transcript (what the test is about to do, say).
    pub fn note(&mut self, text: impl Into<String>) {
        self.record(Direction::Note, text.into().into_bytes());
    }

    /// Whether TLS is on.
    pub fn is_tls(&self) -> bool {
        matches!(self.stream, Stream::Tls(_))
    }

    /// The TLS version and cipher suite, once TLS is on.
    pub fn tls_info(&self) -> Option<(&str, &str)> {
        self.tls_facts
            .as_ref()
            .map(|(v, c)| (v.as_str(), c.as_str()))
    }

    /// Whether the server has closed (or reset) the connection, as far as reads have
    /// seen, or the client has closed it.
    pub fn is_closed(&self) -> bool {
        self.eof || matches!(self.stream, Stream::Gone)
    }

    /// Bytes received that are not (yet) part of a whole reply.
    pub fn pending(&self) -> &[u8] {
        &self.buf
    }

    fn record(&mut self, direction: Direction, data: Vec<u8>) {
        let tls = self.is_tls();
        let at = self.started.elapsed();
        self.transcript.push(direction, data, tls, at);
    }

    /// Writes `bytes` exactly as given, in one write (flushed).
    pub async fn send(&mut self, bytes: impl AsRef<[u8]>) -> Result<(), TestError> {
        self.write_piece(bytes.as_ref()).await
    }

    /// Writes `line` and CRLF in one write.
    pub async fn send_line(&mut self, line: &str) -> Result<(), TestError> {
        let mut b = Vec::with_capacity(line.len() + 2);
        b.extend_from_slice(line.as_bytes());
        b.extend_from_slice(b"\r\n");
        self.write_piece(&b).await
    }

    /// Writes `bytes` in pieces split at the offsets `at` (strictly increasing, each
    /// inside `bytes`): `at = [4]` writes `NOOP` then `\r\n`. Each piece is flushed on
    /// its own; with `TCP_NODELAY` each leaves as a segment of its own, though the
    /// server may still read several in one go.
    pub async fn send_split(&mut self, bytes: &[u8], at: &[usize]) -> Result<(), TestError> {
        self.send_paced(bytes, at, Duration::ZERO).await
    }

    /// [`send_split`](Self::send_split) with `delay` between the pieces.
    pub async fn send_paced(
        &mut self,
        bytes: &[u8],
        at: &[usize],
        delay: Duration,
    ) -> Result<(), TestError> {
        let mut from = 0;
        for &cut in at {
            if cut <= from || cut >= bytes.len() {
                return Err(TestError::Misuse(format!(
                    "split offsets {at:?} must increase strictly inside 1..{}",
                    bytes.len()
                )));
            }
            from = cut;
        }
        let mut from = 0;
        for (i, &to) in at.iter().chain(std::iter::once(&bytes.len())).enumerate() {
            if i > 0 && !delay.is_zero() {
                tokio::time::sleep(delay).await;
            }
            self.write_piece(&bytes[from..to]).await?;
            from = to;
        }
        Ok(())
    }

    /// Writes `bytes` `piece` octets at a time with `delay` between writes (`piece` 1:
    /// byte by byte).
    pub async fn send_slowly(
        &mut self,
        bytes: &[u8],
        piece: usize,
        delay: Duration,
    ) -> Result<(), TestError> {
        if piece == 0 {
            return Err(TestError::Misuse("pieces of zero octets".into()));
        }
        let at: Vec<usize> = (piece..bytes.len()).step_by(piece).collect();
        self.send_paced(bytes, &at, delay).await
    }

    async fn write_piece(&mut self, piece: &[u8]) -> Result<(), TestError> {
        self.record(Direction::Sent, piece.to_vec());
        let wait = self.opts.read_timeout;
        let r = match &mut self.stream {
            Stream::Plain(s) => {
                timeout(wait, async {
                    s.write_all(piece).await?;
                    s.flush().await
                })
                .await
            }
            Stream::Tls(s) => {
                timeout(wait, async {
                    s.write_all(piece).await?;
                    s.flush().await
                })
                .await
            }
            Stream::Gone => {
                self.note("not sent: the connection is gone");
                return Err(TestError::Closed);
            }
        };
        match r {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => {
                let err = TestError::from_io(e);
                if err.is_closed() {
                    self.eof = true;
                }
                self.note(format!("write failed: {err}"));
                Err(err)
            }
            Err(_) => {
                self.note(format!("write not taken within {wait:?}"));
                Err(TestError::Timeout { waited: wait })
            }
        }
    }

    /// Reads more bytes, until `until`.
    async fn fill(&mut self, until: Instant) -> Result<Fill, TestError> {
        if self.eof {
            return Ok(Fill::Eof);
        }
        let mut chunk = [0u8; 8192];
        let r = match &mut self.stream {
            Stream::Plain(s) => timeout_at(until, s.read(&mut chunk)).await,
            Stream::Tls(s) => timeout_at(until, s.read(&mut chunk)).await,
            Stream::Gone => return Ok(Fill::Eof),
        };
        match r {
            Err(_) => Ok(Fill::TimedOut),
            Ok(Ok(0)) => {
                self.eof = true;
                self.note("the server closed the connection");
                Ok(Fill::Eof)
            }
            Ok(Ok(n)) => {
                self.buf.extend_from_slice(&chunk[..n]);
                Ok(Fill::Data)
            }
            Ok(Err(e)) if is_hangup(&e) => {
                self.eof = true;
                self.note(format!("the connection ended: {e}"));
                Ok(Fill::Eof)
            }
            Ok(Err(e)) => {
                self.note(format!("read failed: {e}"));
                Err(TestError::Io(e))
            }
        }
    }

    /// The reply at the front of the buffer, if whole.
    fn take_reply(&mut self) -> Result<Option<ServerReply>, TestError> {
        match frame(&self.buf, self.opts.max_line, self.opts.max_reply_lines) {
            Framing::Partial => Ok(None),
            Framing::Whole(ranges) => {
                let end = ranges.last().map_or(0, |r| r.end);
                let lines = ranges.into_iter().map(|r| self.buf[r].to_vec()).collect();
                let raw: Vec<u8> = self.buf.drain(..end).collect();
                self.record(Direction::Received, raw);
                Ok(Some(ServerReply::from_lines(lines)))
            }
            Framing::TooLarge(why) => {
                let raw = std::mem::take(&mut self.buf);
                self.record(Direction::Received, raw);
                self.note(format!("reply over the limit: {why}; stopped reading"));
                self.stream = Stream::Gone;
                Err(TestError::ReplyTooLarge(why))
            }
        }
    }

    /// Records what is left in the buffer once nothing more can come.
    fn flush_partial(&mut self) {
        if !self.buf.is_empty() {
            let raw = std::mem::take(&mut self.buf);
            self.record(Direction::Received, raw);
            self.note("(an incomplete reply)");
        }
    }

    /// Reads one whole reply (all its lines), waiting at most
    /// [`TestOptions::read_timeout`]. A timeout leaves what arrived unread;
    /// [`TestError::Closed`] means the server hung up first.
    pub async fn read_reply(&mut self) -> Result<ServerReply, TestError> {
        let waited = self.opts.read_timeout;
        let until = Instant::now() + waited;
        loop {
            if let Some(r) = self.take_reply()? {
                return Ok(r);
            }
            match self.fill(until).await? {
                Fill::Data => {}
                Fill::Eof => {
                    self.flush_partial();
                    return Err(TestError::Closed);
                }
                Fill::TimedOut => {
                    let mut text = format!("no complete reply within {waited:?}");
                    if !self.buf.is_empty() {
                        text.push_str(&format!("; pending: {}", escape(&self.buf)));
                    }
                    self.note(text);
                    return Err(TestError::Timeout { waited });
                }
            }
        }
    }

    /// Reads every reply that arrives until the server has been silent for `quiet`,
    /// has closed the connection, [`TestOptions::read_timeout`] has passed in all, or
    /// [`TestOptions::max_replies`] have come. An empty list is no error: silence is
    /// what some tests expect.
    pub async fn read_replies(&mut self, quiet: Duration) -> Result<Vec<ServerReply>, TestError> {
        let end = Instant::now() + self.opts.read_timeout;
        let mut out = Vec::new();
        loop {
            while let Some(r) = self.take_reply()? {
                out.push(r);
                if out.len() >= self.opts.max_replies {
                    return Ok(out);
                }
            }
            if self.is_closed() {
                self.flush_partial();
                return Ok(out);
            }
            let until = (Instant::now() + quiet).min(end);
            match self.fill(until).await? {
                Fill::Data | Fill::Eof => {}
                Fill::TimedOut => return Ok(out),
            }
        }
    }

    /// Sends `line` and CRLF, then reads the reply.
    pub async fn command(&mut self, line: &str) -> Result<ServerReply, TestError> {
        self.send_line(line).await?;
        self.read_reply().await
    }

    /// `EHLO name`, and its reply.
    pub async fn ehlo(&mut self, name: &str) -> Result<ServerReply, TestError> {
        self.command(&format!("EHLO {name}")).await
    }

    /// `QUIT`, its reply, and the connection closed.
    pub async fn quit(&mut self) -> Result<ServerReply, TestError> {
        let r = self.command("QUIT").await;
        self.close().await;
        r
    }

    /// Closes the connection (TLS `close_notify` first).
    pub async fn close(&mut self) {
        let wait = self.opts.read_timeout;
        let _ = match &mut self.stream {
            Stream::Plain(s) => timeout(wait, s.shutdown()).await,
            Stream::Tls(s) => timeout(wait, s.shutdown()).await,
            Stream::Gone => return,
        };
        self.stream = Stream::Gone;
        self.note("the client closed the connection");
    }

    /// STARTTLS (RFC 3207), then the handshake when the answer is `220`.
    pub async fn starttls(
        &mut self,
        config: Arc<ClientConfig>,
        name: ServerName<'static>,
    ) -> Result<StartTls, TestError> {
        self.starttls_pipelined(b"", config, name).await
    }

    /// `STARTTLS\r\n` and `after` in one write (`after = b"NOOP\r\n"` is the command
    /// injection of CVE-2011-0411), the reply, and the handshake when it is `220`.
    /// What the server then says inside TLS, unasked, is for
    /// [`read_replies`](Self::read_replies) (or a probe command) to show.
    pub async fn starttls_pipelined(
        &mut self,
        after: &[u8],
        config: Arc<ClientConfig>,
        name: ServerName<'static>,
    ) -> Result<StartTls, TestError> {
        if !matches!(self.stream, Stream::Plain(_)) {
            return Err(TestError::Misuse(
                "STARTTLS on a connection that is not plaintext".into(),
            ));
        }
        let mut write = b"STARTTLS\r\n".to_vec();
        write.extend_from_slice(after);
        self.send(&write).await?;
        let reply = self.read_reply().await?;
        if !reply.is(220) {
            return Ok(StartTls {
                reply,
                after_reply: Vec::new(),
                upgraded: false,
            });
        }
        let after_reply = self.handshake(config, name).await?;
        Ok(StartTls {
            reply,
            after_reply,
            upgraded: true,
        })
    }

    /// The TLS handshake, now, on a plaintext connection (after a STARTTLS sent by
    /// hand, or from the first byte for implicit TLS). Plaintext already received is
    /// returned and dropped, never given to TLS (RFC 3207 §4.2); with
    /// [`TestOptions::starttls_grace`], what arrives within it too.
    pub async fn handshake(
        &mut self,
        config: Arc<ClientConfig>,
        name: ServerName<'static>,
    ) -> Result<Vec<u8>, TestError> {
        if !self.opts.starttls_grace.is_zero() {
            tokio::time::sleep(self.opts.starttls_grace).await;
        }
        let mut after = std::mem::take(&mut self.buf);
        let Stream::Plain(tcp) = std::mem::replace(&mut self.stream, Stream::Gone) else {
            return Err(TestError::Misuse(
                "TLS on a connection that is not plaintext".into(),
            ));
        };
        let mut chunk = [0u8; 4096];
        while !self.eof {
            match tcp.try_read(&mut chunk) {
                Ok(0) => self.eof = true,
                Ok(n) => after.extend_from_slice(&chunk[..n]),
                Err(_) => break,
            }
        }
        if !after.is_empty() {
            self.record(Direction::Received, after.clone());
            self.note(format!(
                "{} octets of plaintext before the TLS handshake: dropped",
                after.len()
            ));
        }
        let connector = tokio_rustls::TlsConnector::from(config);
        let wait = self.opts.handshake_timeout;
        match timeout(wait, connector.connect(name, tcp)).await {
            Err(_) => {
                self.note(format!("TLS handshake not done within {wait:?}"));
                Err(TestError::Timeout { waited: wait })
            }
            Ok(Err(e)) if is_hangup(&e) => {
                self.eof = true;
                self.note(format!("the connection ended in the TLS handshake: {e}"));
                Err(TestError::Closed)
            }
            Ok(Err(e)) => {
                self.note(format!("TLS handshake failed: {e}"));
                Err(TestError::Tls(e.to_string()))
            }
            Ok(Ok(s)) => {
                let conn = s.get_ref().1;
                let version = conn
                    .protocol_version()
                    .and_then(|v| v.as_str())
                    .unwrap_or("TLS")
                    .to_owned();
                let cipher = conn
                    .negotiated_cipher_suite()
                    .and_then(|c| c.suite().as_str())
                    .unwrap_or("unknown")
                    .to_owned();
                self.stream = Stream::Tls(Box::new(s));
                self.eof = false;
                self.note(format!("TLS established: {version} {cipher}"));
                self.tls_facts = Some((version, cipher));
                Ok(after)
            }
        }
    }
}
