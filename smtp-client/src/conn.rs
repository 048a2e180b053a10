//! [`Connection`]: one SMTP session over TCP (or any stream), driven by the core's
//! `ClientSession`. The loop is poll → write / read / handshake → poll; the protocol
//! decisions (what to send, what a reply means, whether TLS satisfies the policy) are
//! the core's. Setting up is in `setup`, messages in `send`, reading and the
//! transcript in `read`.

use crate::error::Error;
use crate::net::handshake;
use crate::options::ClientOptions;
use crate::report::SessionReport;
use crate::transport::Transport;
use smtp_proto::client::policy::Verification;
use smtp_proto::client::{ClientEvent, ClientSession};
use smtp_proto::{Output, UpgradeToken};
use std::time::Duration;
use tokio::time::timeout;

mod read;
mod send;
mod setup;

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
    /// The wait under way and when it ends: one RFC 5321 §4.5.3.2 timeout covers a
    /// whole reply (or pipelined group of replies), however the server trickles it.
    deadline: Option<(smtp_proto::Timeout, tokio::time::Instant)>,
    /// Transactions started on this connection (MAIL commands sent), for the server's
    /// `MAILMAX` (RFC 9422).
    transactions: u32,
    /// The recipient domains this session has sent to (lower-cased), for the server's
    /// `RCPTDOMAINMAX` (RFC 9422 §4.3: per session).
    domains: Vec<String>,
    /// What ended the session, when a send or a check ended it (for the pool).
    ended_by: Option<crate::pool::Retired>,
    /// The pool's own limit of transactions on this connection, beside MAILMAX.
    cap: Option<u32>,
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
    /// The limits the server announced in its EHLO reply (`LIMITS`, RFC 9422), if any.
    pub fn server_limits(&self) -> Option<&smtp_proto::LimitsExt> {
        self.session.capabilities().and_then(|c| c.limits())
    }

    /// How many more transactions the server takes on this connection under its
    /// `MAILMAX` (`None`: it announced no such limit). At 0, open another connection.
    pub fn transactions_left(&self) -> Option<u32> {
        let limits = self.server_limits()?;
        smtp_proto::client::limits::transactions_left(limits, self.transactions)
    }

    /// What the connection got: server name, greeting, capabilities, TLS facts, the
    /// policy and the rule that chose it.
    pub fn report(&self) -> &SessionReport {
        &self.report
    }

    /// Whether the connection can take another message.
    pub fn is_open(&self) -> bool {
        !self.closed && !self.busy
    }

    /// Checks the server is still there with `NOOP` (RFC 5321 §4.1.1.9), for a
    /// connection that was idle a while. `Ok` on a positive reply; a `421` or any
    /// failure closes the connection, another negative reply is [`Error::Rejected`]
    /// and leaves it open.
    pub async fn noop(&mut self) -> Result<(), Error> {
        let r = self.noop_inner().await;
        self.note_end(&r);
        r
    }

    async fn noop_inner(&mut self) -> Result<(), Error> {
        self.enter()?;
        if let Err(e) = self
            .read_ready()
            .await
            .and_then(|()| Ok(self.session.noop()?))
        {
            self.close_io().await;
            return Err(e);
        }
        loop {
            match self.step().await {
                Ok(Step::Event(ClientEvent::Noop(reply))) => {
                    self.busy = false;
                    if reply.is_positive() {
                        return Ok(());
                    }
                    return Err(Error::Rejected {
                        stage: smtp_proto::Stage::Noop,
                        reply,
                        report: None,
                    });
                }
                Ok(Step::Event(_)) => {}
                Ok(Step::Idle | Step::Closed) => {
                    self.closed = true;
                    return Err(Error::Closed);
                }
                Err(e) => return Err(e.with_report(&self.report)),
            }
        }
    }

    /// Whether nothing came from the server while the connection was idle (no reply
    /// was awaited): no `421`, no EOF or TLS close-notify. Read without waiting.
    pub(crate) async fn still_idle(&mut self) -> bool {
        if !self.is_open() {
            return false;
        }
        if self.read_ready().await.is_err() {
            return false;
        }
        self.session.is_idle()
    }

    /// Notes what ended the session, when `result` (of a send or a check) came with
    /// its end.
    pub(crate) fn note_end<T>(&mut self, result: &Result<T, Error>) {
        use crate::pool::Retired;
        if !self.closed || self.ended_by.is_some() {
            return;
        }
        self.ended_by = Some(match result {
            Ok(_) => Retired::Closed,
            Err(e) if e.reply().is_some_and(|r| r.code().get() == 421) => Retired::Reply421,
            Err(Error::Timeout { .. }) => Retired::Timeout,
            Err(Error::Io { .. } | Error::Closed) => Retired::Closed,
            Err(Error::Protocol { .. }) => Retired::Protocol,
            Err(Error::Body(_) | Error::LineTooLong { .. }) => Retired::Abandoned,
            Err(_) => Retired::Other,
        });
    }

    /// What ended the session, as far as the sends and checks on it saw.
    pub(crate) fn ended_by(&self) -> Option<crate::pool::Retired> {
        self.ended_by
    }

    /// Sets a limit of transactions on this connection of the caller's own (the
    /// pool's `max_messages`), kept like the server's `MAILMAX`.
    pub(crate) fn set_cap(&mut self, max: u32) {
        self.cap = Some(max);
    }

    /// Whether another transaction may start here: under the server's `MAILMAX` and
    /// the caller's own limit.
    pub(crate) fn has_room(&self) -> bool {
        self.transactions_left() != Some(0) && self.cap.is_none_or(|c| self.transactions < c)
    }

    /// Whether the session is over (closed by either side, or after an error).
    pub(crate) fn is_closed(&self) -> bool {
        self.closed
    }

    /// Whether an operation was cut off half-way (its future dropped).
    pub(crate) fn is_busy(&self) -> bool {
        self.busy
    }

    /// Transactions (MAIL commands) sent on this connection.
    pub(crate) fn transactions_done(&self) -> u32 {
        self.transactions
    }

    /// Ends the session politely: QUIT, its reply, then the close. Nothing to do on
    /// a connection already closed.
    pub async fn quit(mut self) -> Result<(), Error> {
        if self.closed || self.busy {
            return Ok(());
        }
        self.busy = true;
        let quit = async {
            self.session.quit()?;
            loop {
                if let Step::Closed = self.step().await? {
                    return Ok(());
                }
            }
        };
        let r: Result<(), Error> = quit.await;
        r.map_err(|e| e.with_report(&self.report))
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
