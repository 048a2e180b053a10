//! [`Connection`]: one SMTP session over TCP (or any stream), driven by the core's
//! `ClientSession`. The loop is poll → write / read / handshake → poll; the protocol
//! decisions (what to send, what a reply means, whether TLS satisfies the policy) are
//! the core's.

use crate::error::Error;
use crate::net::{handshake, split_server, tcp};
use crate::options::ClientOptions;
use crate::report::{Delivery, SessionReport};
use crate::transport::{Io, Transport};
use smtp_proto::client::policy::{self, TlsAction, TlsPolicy, Verification};
use smtp_proto::client::{ClientEvent, ClientSession, Envelope};
use smtp_proto::framing::stuff::crlf_size;
use smtp_proto::{Output, TransportSecurity, UpgradeToken};
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::time::timeout;

mod read;

/// The `tracing` target of the SMTP transcript.
const WIRE: &str = "smtp_client::wire";

/// How much of a streamed body is read (and sent) at a time.
const BODY_PIECE: usize = 64 * 1024;
/// The read buffer: large enough for a long EHLO reply in one read.
const READ_BUF: usize = 8 * 1024;

/// One step of the session, as the driving loop sees it (short-lived: its size does
/// not matter).
#[allow(clippy::large_enum_variant)]
enum Step {
    Event(ClientEvent),
    /// The session waits for the application (`send` or `quit`).
    Idle,
    Closed,
}

/// A connection to an SMTP (or LMTP) server, set up as the options say (TLS per
/// policy, AUTH) and ready for messages: [`Connection::send`] as often as needed, then
/// [`Connection::quit`].
///
/// Dropping a future of this connection (a timeout of the caller's, a cancelled task)
/// leaves the session in an unknown state: the connection is then refused for further
/// use ([`Error::Closed`]) and should be dropped.
pub struct Connection {
    session: ClientSession,
    io: Transport,
    opts: ClientOptions,
    report: SessionReport,
    buf: Vec<u8>,
    closed: bool,
    /// An operation is under way (set again when one was cancelled half-way).
    busy: bool,
    /// For the transcript: a body is being sent, or AUTH is under way (redacted).
    in_body: bool,
    in_auth: bool,
    /// The wait under way and when it ends: one RFC 5321 §4.5.3.2 timeout covers a
    /// whole reply (or pipelined group of replies), however the server trickles it.
    deadline: Option<(smtp_proto::Timeout, tokio::time::Instant)>,
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection")
            .field("server", &self.report.server)
            .field("addr", &self.report.addr)
            .field("tls", &self.report.tls_line())
            .field("closed", &self.closed)
            .finish_non_exhaustive()
    }
}

impl Connection {
    /// Connects to `server` (`host:port`, `[v6]:port`, or a host: port 25, or 465 with
    /// implicit TLS) and sets the session up: greeting, EHLO, STARTTLS and AUTH as the
    /// options say. Every address the name resolves to is tried in turn.
    pub async fn connect(server: &str, opts: ClientOptions) -> Result<Self, Error> {
        let default_port = if opts.implicit_tls { 465 } else { 25 };
        let (host, port) = split_server(server, default_port)?;
        let addrs: Vec<SocketAddr> = timeout(
            opts.timeouts.connect,
            tokio::net::lookup_host((host.as_str(), port)),
        )
        .await
        .map_err(|_| Error::Timeout {
            stage: format!("resolving {host}"),
        })?
        .map_err(|e| Error::Connect {
            server: server.to_owned(),
            source: e,
        })?
        .collect();
        let mut last = None;
        for addr in addrs {
            match tcp(addr, opts.timeouts.connect).await {
                Ok(stream) => {
                    return Self::start_or_retry(Box::new(stream), addr, &host, opts).await;
                }
                Err(e) => last = Some(e),
            }
        }
        Err(Error::Connect {
            server: server.to_owned(),
            source: last.unwrap_or_else(|| std::io::Error::other("no address")),
        })
    }

    /// Connects to one address; `server_name` is the host name it belongs to (the MX
    /// name: what the certificate is checked against unless the options name another).
    pub async fn connect_addr(
        addr: SocketAddr,
        server_name: &str,
        opts: ClientOptions,
    ) -> Result<Self, Error> {
        let stream = tcp(addr, opts.timeouts.connect)
            .await
            .map_err(|e| Error::Connect {
                server: addr.to_string(),
                source: e,
            })?;
        Self::start_or_retry(Box::new(stream), addr, server_name, opts).await
    }

    /// [`Connection::start`], and under policy `may` (or DANE without TLSA records)
    /// one retry in plaintext after a failed STARTTLS handshake, as Postfix does: the
    /// policy accepts plaintext, and a server whose TLS we cannot speak (only TLS 1.0,
    /// no common cipher) would otherwise never get its mail. The report says so.
    async fn start_or_retry(
        stream: Box<dyn Io>,
        addr: SocketAddr,
        host: &str,
        opts: ClientOptions,
    ) -> Result<Self, Error> {
        let retry = !opts.implicit_tls
            && !opts.tls_policy.requires_tls()
            && opts.tls_policy != TlsPolicy::None;
        match Self::start(stream, Some(addr), host, opts.clone()).await {
            Err(Error::Tls { reason, .. }) if retry => {
                tracing::info!(%addr, %reason, "TLS handshake failed; retrying in plaintext (policy may)");
                let stream =
                    tcp(addr, opts.timeouts.connect)
                        .await
                        .map_err(|e| Error::Connect {
                            server: addr.to_string(),
                            source: e,
                        })?;
                let mut plain = opts.clone();
                plain.tls_policy = TlsPolicy::None;
                let mut conn = Self::start(Box::new(stream), Some(addr), host, plain).await?;
                conn.report.policy = opts.tls_policy.name();
                conn.report.tls_failure = Some(reason.clone());
                conn.report.reason = format!(
                    "TLS handshake failed ({reason}); retried in plaintext as the policy allows"
                );
                Ok(conn)
            }
            other => other,
        }
    }

    /// Runs the session over a stream that is already connected.
    pub async fn from_stream<S: Io + 'static>(
        stream: S,
        server_name: &str,
        opts: ClientOptions,
    ) -> Result<Self, Error> {
        Self::start(Box::new(stream), None, server_name, opts).await
    }

    async fn start(
        stream: Box<dyn Io>,
        addr: Option<SocketAddr>,
        host: &str,
        opts: ClientOptions,
    ) -> Result<Self, Error> {
        let server = opts.server_name.clone().unwrap_or_else(|| host.to_owned());
        // `[192.0.2.1]` (an address literal) is checked and sent as the bare address.
        let server = server
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned();
        let destination = opts.destination.clone().unwrap_or_else(|| server.clone());
        let mut core =
            smtp_proto::client::ClientOptions::new(&opts.hello_name, &server, &destination);
        core.tls_policy = opts.tls_policy.clone();
        core.auth = opts.auth.clone();
        core.auth_without_tls = opts.auth_without_tls;
        core.chunking = opts.chunking;
        core.bare_endings = opts.bare_endings;
        core.limits = opts.limits;
        core.lmtp = opts.lmtp;
        let report = SessionReport {
            server: server.clone(),
            addr,
            policy: opts.tls_policy.name(),
            ..SessionReport::default()
        };
        let mut io = Transport::Plain(stream);
        let mut tls_report = None;
        let security = if opts.implicit_tls {
            // RFC 8314: the same policy judges the certificate as under STARTTLS.
            let v = match policy::decide(&opts.tls_policy, true, &server, &destination)? {
                TlsAction::StartTls(v) => v,
                _ => Verification::None,
            };
            let (info, r) = handshake(&mut io, &opts, &server, v, false).await?;
            tls_report = Some(r);
            TransportSecurity::ImplicitTls(info)
        } else {
            TransportSecurity::Plain
        };
        let mut conn = Self {
            session: ClientSession::new(core, security),
            io,
            opts,
            report,
            buf: vec![0; READ_BUF],
            closed: false,
            busy: false,
            in_body: false,
            in_auth: false,
            deadline: None,
        };
        conn.report.tls = tls_report;
        loop {
            match conn.step().await? {
                Step::Event(ClientEvent::Ready { capabilities, tls }) => {
                    conn.in_auth = false;
                    conn.report.capabilities = capabilities;
                    conn.report.greeting = conn.session.greeting().cloned();
                    conn.report.capabilities_before_tls =
                        conn.session.capabilities_before_tls().cloned();
                    conn.report.reason = tls.reason;
                    conn.report.authenticated =
                        conn.session.auth_mechanism().map(|m| m.as_str().to_owned());
                    tracing::info!(
                        server = %conn.report.server,
                        tls = %conn.report.tls_line(),
                        policy = conn.report.policy,
                        reason = %conn.report.reason,
                        "session ready"
                    );
                    return Ok(conn);
                }
                Step::Event(ClientEvent::AuthChallenge(_)) => {
                    // Application-driven SASL needs the sans-IO core directly.
                    conn.session.auth_cancel()?;
                }
                Step::Event(_) => {}
                Step::Idle | Step::Closed => return Err(Error::Closed),
            }
        }
    }

    /// What the connection got: server name, greeting, capabilities, TLS facts.
    pub fn report(&self) -> &SessionReport {
        &self.report
    }

    /// Whether the connection can take another message.
    pub fn is_open(&self) -> bool {
        !self.closed && !self.busy
    }

    /// Sends one message held in memory. Line endings are made CRLF and lines starting
    /// with `.` are stuffed. A body with 8-bit bytes is declared `BODY=8BITMIME`
    /// (refused with [`PolicyViolation::MissingExtension`] when the server lacks it).
    ///
    /// `Ok` when at least one recipient got the message; see
    /// [`Delivery::recipients`] for each one. When none did, [`Error::MessageRefused`]
    /// carries every reply, and the connection stays usable.
    ///
    /// [`PolicyViolation::MissingExtension`]: smtp_proto::client::policy::PolicyViolation::MissingExtension
    pub async fn send(
        &mut self,
        mut envelope: Envelope,
        message: impl AsRef<[u8]>,
    ) -> Result<Delivery, Error> {
        let body = message.as_ref();
        if !envelope.eight_bit && envelope.params.body.is_none() && !body.is_ascii() {
            envelope.eight_bit = true;
        }
        // RFC 1870 §4: declare the size (with CRLF line endings) so a server that
        // cannot take it says so at MAIL; dropped when the server has no SIZE.
        if envelope.params.size.is_none() {
            envelope.params.size = Some(crlf_size(body));
        }
        self.transaction(envelope, Source::<&[u8]>::Bytes(Some(body)))
            .await
    }

    /// Sends one message read from a stream, a piece at a time (never all in memory).
    /// Set `envelope.eight_bit` when it may hold 8-bit bytes: an undeclared one ends
    /// the connection with [`Error::Body`], since a started body cannot be taken back.
    pub async fn send_reader<R: AsyncRead + Unpin>(
        &mut self,
        envelope: Envelope,
        reader: R,
    ) -> Result<Delivery, Error> {
        self.transaction(envelope, Source::Reader(reader, vec![0; BODY_PIECE]))
            .await
    }

    async fn transaction<R: AsyncRead + Unpin>(
        &mut self,
        envelope: Envelope,
        mut source: Source<'_, R>,
    ) -> Result<Delivery, Error> {
        self.enter()?;
        // What the server sent since the last transaction answers nothing: the core
        // refuses it before MAIL goes out.
        if let Err(e) = self.read_ready().await {
            self.closed = true;
            return Err(e);
        }
        if !self.session.is_idle() {
            // The server ended the session (e.g. 421 after the last transaction), or
            // sent what nobody asked for: the core says which.
            let e = match self.session.poll() {
                Err(e) => e.into(),
                Ok(_) => Error::Closed,
            };
            self.close_io().await;
            return Err(e);
        }
        // A body in memory is checked whole first (line length, bare line endings):
        // a message that cannot be sent costs no MAIL.
        let checked = match &source {
            Source::Bytes(Some(body)) => self.session.check_body(&envelope, body),
            _ => Ok(()),
        };
        if let Err(e) = checked.and_then(|()| self.session.send(envelope)) {
            // Refused before anything was sent: the connection is as it was.
            self.busy = false;
            return Err(e.into());
        }
        loop {
            match self.step().await? {
                Step::Event(ClientEvent::SendBody) => self.feed_body(&mut source).await?,
                Step::Event(ClientEvent::Done(result)) => {
                    self.busy = false;
                    self.in_body = false;
                    if !self.session.is_idle() {
                        // The result came with the end of the session (a 421 or a
                        // close after the RSET of a failed transaction).
                        self.close_io().await;
                    }
                    let delivery = Delivery::from_result(&result);
                    tracing::debug!(
                        server = %self.report.server,
                        delivered = delivery.recipients.iter().filter(|r| r.delivered()).count(),
                        recipients = delivery.recipients.len(),
                        "transaction done"
                    );
                    return match delivery.refusal() {
                        Some((stage, reply)) => Err(Error::MessageRefused {
                            stage,
                            reply,
                            delivery: Box::new(delivery),
                        }),
                        None => Ok(delivery),
                    };
                }
                Step::Event(_) => {}
                Step::Idle | Step::Closed => {
                    self.closed = true;
                    return Err(Error::Closed);
                }
            }
        }
    }

    /// Gives the session the next piece of the body (and its end, when that is known).
    async fn feed_body<R: AsyncRead + Unpin>(
        &mut self,
        source: &mut Source<'_, R>,
    ) -> Result<(), Error> {
        self.in_body = true;
        let (piece, end): (&[u8], bool) = match source {
            Source::Bytes(b) => (b.take().unwrap_or_default(), true),
            Source::Reader(r, buf) => {
                let mut n = 0;
                let mut eof = false;
                while n < buf.len() {
                    match r.read(&mut buf[n..]).await {
                        Ok(0) => {
                            eof = true;
                            break;
                        }
                        Ok(k) => n += k,
                        Err(e) => {
                            self.abandon().await;
                            return Err(Error::Body(format!("reading the message: {e}")));
                        }
                    }
                }
                (&buf[..n], eof)
            }
        };
        let mut r = self.session.body(piece);
        if r.is_ok() && end {
            r = self.session.end_body();
        }
        if let Err(e) = r {
            self.abandon().await;
            return Err(match e {
                smtp_proto::Error::Policy(v) => Error::Policy(v),
                smtp_proto::Error::Misuse(smtp_proto::ApiMisuse::LineTooLong { limit }) => {
                    Error::LineTooLong { limit }
                }
                other => Error::Body(other.to_string()),
            });
        }
        Ok(())
    }

    /// Ends the session politely: QUIT, its reply, then the close.
    pub async fn quit(mut self) -> Result<(), Error> {
        if self.closed || self.busy {
            return Ok(());
        }
        self.busy = true;
        self.session.quit()?;
        loop {
            if let Step::Closed = self.step().await? {
                return Ok(());
            }
        }
    }

    fn enter(&mut self) -> Result<(), Error> {
        if self.closed || self.busy {
            // `busy` still set: an earlier call was cancelled half-way.
            self.closed = true;
            return Err(Error::Closed);
        }
        self.busy = true;
        Ok(())
    }

    /// Drops a message half sent: the connection cannot continue (SMTP has no way to
    /// take back a body).
    async fn abandon(&mut self) {
        self.session.abort();
        self.close_io().await;
    }

    async fn close_io(&mut self) {
        self.closed = true;
        let _ = timeout(Duration::from_secs(5), self.io.shutdown()).await;
    }

    /// Drives the session to its next event, idle point or close.
    async fn step(&mut self) -> Result<Step, Error> {
        loop {
            self.read_ready().await?;
            let out = match self.session.poll() {
                Ok(out) => out,
                Err(e) => {
                    self.close_io().await;
                    return Err(e.into());
                }
            };
            match out {
                Output::Transmit(bytes) => {
                    self.deadline = None;
                    self.log_sent(&bytes);
                    let wait = self.opts.timeouts.data_block;
                    match timeout(wait, self.io.write_all(&bytes)).await {
                        Ok(Ok(())) => {}
                        Ok(Err(e)) => {
                            self.close_io().await;
                            return Err(e.into());
                        }
                        Err(_) => {
                            self.close_io().await;
                            return Err(Error::timeout(smtp_proto::Timeout::DataBlock));
                        }
                    }
                }
                Output::Event(e) => {
                    self.deadline = None;
                    return Ok(Step::Event(e));
                }
                Output::NeedInput if self.session.is_idle() => return Ok(Step::Idle),
                Output::NeedInput => self.read().await?,
                Output::StartTls(token) => self.starttls(token).await?,
                Output::Close => {
                    self.close_io().await;
                    return Ok(Step::Closed);
                }
            }
        }
    }

    async fn starttls(&mut self, token: UpgradeToken) -> Result<(), Error> {
        let v = self
            .session
            .verification()
            .cloned()
            .unwrap_or(Verification::None);
        let server = self.report.server.clone();
        match handshake(&mut self.io, &self.opts, &server, v, true).await {
            Ok((info, r)) => {
                self.report.tls = Some(r);
                if let Err(e) = self.session.tls_established(token, info) {
                    self.close_io().await;
                    return Err(e.into());
                }
                Ok(())
            }
            Err(e) => {
                self.session.tls_failed(token);
                self.close_io().await;
                Err(e)
            }
        }
    }
}

impl Drop for Connection {
    fn drop(&mut self) {
        if !self.closed {
            tracing::debug!(server = %self.report.server, "connection dropped without QUIT");
        }
    }
}

/// Where a message body comes from.
enum Source<'a, R> {
    /// All of it (taken on the first request).
    Bytes(Option<&'a [u8]>),
    /// A stream and the buffer one piece is read into.
    Reader(R, Vec<u8>),
}
