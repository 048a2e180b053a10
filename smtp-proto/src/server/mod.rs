//! The server session: a sans-IO state machine that a binding feeds bytes and polls for
//! output (STYLE (b)). The application owns every decision (this sender? this
//! recipient? these credentials?); the session owns every protocol rule.
//!
//! ## The loop
//! ```
//! use smtp_proto::{Output, ServerEvent, ServerOptions, ServerSession, TransportSecurity};
//!
//! let mut s = ServerSession::new(ServerOptions::default(), TransportSecurity::Plain);
//! let mut wire = Vec::new();
//! let mut input: &[&[u8]] = &[b"EHLO client.example\r\nQUIT\r\n"];
//! loop {
//!     match s.poll().unwrap() {
//!         Output::Transmit(bytes) => wire.extend_from_slice(&bytes), // write it all
//!         Output::Event(ServerEvent::Hello { .. }) => s.accept().unwrap(),
//!         Output::Event(_) => s.accept().unwrap_or(()), // decisions; info events need none
//!         Output::NeedInput => match input.split_first() {
//!             Some((chunk, rest)) => { s.feed(chunk); input = rest; }
//!             None => s.feed_eof(),
//!         },
//!         Output::StartTls(_token) => unreachable!("no STARTTLS sent"),
//!         Output::Close => break,
//!     }
//! }
//! assert!(wire.starts_with(b"220 localhost ESMTP\r\n250-localhost\r\n"));
//! assert!(wire.ends_with(b"221 2.0.0 Bye\r\n"));
//! ```
//!
//! Replies to pipelined commands are collected and transmitted together when the input
//! runs dry, before `354`, before the TLS handshake and before closing (RFC 2920 §3.2).

mod auth;
mod body;
mod control;
mod counters;
mod event;
mod flow;
mod options;
mod phase;
mod received;
pub mod replies;

pub use event::{AbortReason, Credentials, HelloVerb, ServerEvent};
pub use options::ServerOptions;
pub use received::{Protocol, Received};

use crate::codec::{CommandDecoder, Encode};
use crate::error::{ApiMisuse, Error, PeerMisbehaved};
use crate::framing::data::{ChunkDecoder, DotDecoder};
use crate::session::{Output, Timeout, TlsInfo, TransportSecurity, UpgradeToken};
use crate::types::command::Mechanism;
use crate::types::domain::Host;
use crate::types::path::ForwardPath;
use crate::types::reply::Reply;
use bytes::BytesMut;
use std::collections::VecDeque;
use std::sync::Arc;

/// Queued replies are transmitted once they reach this size even if more pipelined
/// input is waiting, so a flood of commands cannot grow the output without bound.
const FLUSH_AT: usize = 16 * 1024;

/// An empty input buffer larger than this is released while the session waits.
const IDLE_BUFFER: usize = 512;

/// A server-side SMTP (or LMTP) session. See the [module docs](self) for the loop.
pub struct ServerSession {
    opts: Arc<ServerOptions>,
    input: BytesMut,
    commands: CommandDecoder,
    out: BytesMut,
    state: State,
    pending: Option<Pending>,
    events: VecDeque<ServerEvent>,
    hello: Option<(HelloVerb, Host)>,
    authenticated: bool,
    // Boxed, with `tls` and `failure`: absent while most sessions wait, and an idle
    // session should stay small (a server holds thousands).
    tx: Option<Box<Transaction>>,
    tls: Option<Box<TlsInfo>>,
    errors: usize,
    /// Commands that did no work since the last accepted message.
    junk: usize,
    /// RCPT commands answered with a refusal, by the application or the session.
    refused_rcpts: u64,
    /// MAIL commands and recipient domains of this session (RFC 9422 MAILMAX and
    /// RCPTDOMAINMAX).
    counts: counters::SessionCounts,
    eof: bool,
    failure: Option<Box<Error>>,
    flush: bool,
    token_ready: bool,
    late_plaintext: usize,
    /// The next end-of-message decision to ask for (LMTP asks once per recipient).
    next_message_end: Option<usize>,
    /// A BDAT transfer failed; chunks the client had already pipelined are drained with
    /// 503 and not counted as errors until RSET or a new MAIL (RFC 3030 §2).
    bdat_failed: bool,
}

#[derive(Debug)]
enum State {
    Command,
    Sasl(auth::Sasl),
    Data(DotDecoder),
    /// Receiving a BDAT chunk into the transaction's decoder.
    Bdat {
        last: bool,
        size: u64,
    },
    /// Consuming a BDAT chunk that was refused, then sending `reply`.
    BdatDrain {
        remaining: u64,
        reply: &'static [u8],
        /// How many times to send it (LMTP: once per recipient after `BDAT … LAST`).
        count: usize,
    },
    AwaitTls,
    Closed,
}

#[derive(Debug)]
enum Pending {
    // Boxed (with Rcpt's path): a pending decision is held by every session's state,
    // waiting or not, so it should be small.
    Hello(HelloVerb, Box<Host>),
    Mail {
        smtputf8: bool,
        binary: bool,
    },
    Rcpt(Option<Box<ForwardPath>>),
    /// The DATA line ended in CRLF (not a bare LF allowed by `LineEndings::AllowBareLf`).
    Data {
        crlf: bool,
    },
    MessageEnd {
        index: usize,
    },
    Auth,
    AuthStep(Mechanism),
}

#[derive(Debug)]
struct Transaction {
    smtputf8: bool,
    binary: bool,
    rcpts_tried: usize,
    rcpts_ok: usize,
    first_rcpt: Option<ForwardPath>,
    /// LMTP: the accepted recipients, in order, one reply each after the message.
    lmtp_rcpts: Vec<ForwardPath>,
    /// BDAT chunks have started (their decoder); DATA and BDAT cannot be mixed.
    chunks: Option<ChunkDecoder>,
    received: u64,
    aborted: Option<AbortReason>,
}

/// What one step of the poll loop produced.
enum Step {
    Continue,
    NeedInput,
    Event(ServerEvent),
}

impl ServerSession {
    /// A new session. The greeting (`220 hostname ESMTP`) is the first output.
    pub fn new(options: impl Into<Arc<ServerOptions>>, security: TransportSecurity) -> Self {
        let opts: Arc<ServerOptions> = options.into();
        let mut commands = CommandDecoder::new(opts.limits)
            .with_line_endings(opts.command_line_endings)
            .with_auth_command_line(if opts.long_auth_command {
                opts.limits.auth_line
            } else {
                opts.limits.command_line
            });
        commands.options.address = opts.address_limits;
        let tls = match security {
            TransportSecurity::Plain => None,
            TransportSecurity::ImplicitTls(info) => Some(Box::new(info)),
        };
        let mut out = BytesMut::with_capacity(256);
        let text = match (&opts.greeting, opts.lmtp) {
            (Some(t), _) => t.as_str(),
            (None, true) => "LMTP",
            (None, false) => "ESMTP",
        };
        replies::greeting(&mut out, opts.hostname.as_str(), text);
        Self {
            opts,
            input: BytesMut::new(),
            commands,
            out,
            state: State::Command,
            pending: None,
            events: VecDeque::new(),
            hello: None,
            authenticated: false,
            tx: None,
            tls,
            errors: 0,
            junk: 0,
            refused_rcpts: 0,
            counts: counters::SessionCounts::default(),
            eof: false,
            failure: None,
            flush: true,
            token_ready: false,
            late_plaintext: 0,
            next_message_end: None,
            bdat_failed: false,
        }
    }

    /// Gives the session bytes received from the client. Poll until `NeedInput` before
    /// reading again. Bytes fed while a TLS upgrade is under way are never interpreted:
    /// they end the session with [`PeerMisbehaved::PlaintextAfterStartTls`].
    pub fn feed(&mut self, bytes: &[u8]) {
        match self.state {
            State::AwaitTls => {
                self.late_plaintext = self.late_plaintext.saturating_add(bytes.len())
            }
            State::Closed => {}
            _ => self.input.extend_from_slice(bytes),
        }
    }

    /// The client closed its side. Poll: a message in progress is aborted, then `Close`.
    pub fn feed_eof(&mut self) {
        self.eof = true;
    }

    /// The next output. Call again after acting on it. While a *decision* event waits,
    /// this returns [`ApiMisuse::DecisionPending`].
    pub fn poll(&mut self) -> Result<Output<ServerEvent>, Error> {
        // A decision event is always the last one queued: hand out what comes before it.
        if self.pending.is_some() && self.events.is_empty() {
            return Err(ApiMisuse::DecisionPending.into());
        }
        loop {
            if let Some(ev) = self.events.pop_front() {
                return Ok(Output::Event(ev));
            }
            if let Some(i) = self.next_message_end.take() {
                return Ok(Output::Event(self.message_end(i)));
            }
            if (self.flush || self.out.len() >= FLUSH_AT) && !self.out.is_empty() {
                self.flush = false;
                return Ok(Output::Transmit(self.out.split().freeze()));
            }
            let step = match self.state {
                State::Closed => return self.closing(),
                State::AwaitTls => return self.await_tls(),
                State::Command => self.step_command(),
                State::Sasl(_) => self.step_sasl(),
                State::Data(_) | State::Bdat { .. } => self.step_body(),
                State::BdatDrain { .. } => self.step_drain(),
            };
            match step {
                Step::Continue => {}
                // Behind anything queued before it (a Reset before a Hello, the last
                // body bytes before the end).
                Step::Event(ev) => self.events.push_back(ev),
                Step::NeedInput if !self.out.is_empty() => self.flush = true,
                Step::NeedInput if self.eof => self.on_eof(),
                Step::NeedInput => {
                    // A session waiting for its next command keeps no buffer it does
                    // not need (memory per idle session): the next read allocates.
                    if self.input.is_empty() && self.input.capacity() > IDLE_BUFFER {
                        self.input = BytesMut::new();
                    }
                    if self.tx.is_none() && self.events.is_empty() {
                        // Between transactions the event queue and the spent reply
                        // buffer go too (a reply leaves `out` empty but still holding its
                        // allocation).
                        self.events = VecDeque::new();
                        self.out = BytesMut::new();
                    }
                    return Ok(Output::NeedInput);
                }
            }
        }
    }

    /// The binding finished the TLS handshake that [`Output::StartTls`] asked for.
    /// RFC 3207 §4.2: the session forgets everything learnt from the client (greeting,
    /// authentication, the MAIL count and recipient domains of RFC 9422's MAILMAX and
    /// RCPTDOMAINMAX) and waits for a new EHLO; STARTTLS is no longer offered.
    pub fn tls_established(&mut self, token: UpgradeToken, info: TlsInfo) -> Result<(), Error> {
        let UpgradeToken { _p: () } = token;
        if !matches!(self.state, State::AwaitTls) || self.token_ready {
            return Err(ApiMisuse::NoUpgrade.into());
        }
        if self.late_plaintext > 0 {
            return Err(self.injection(self.late_plaintext));
        }
        // A transaction open at STARTTLS is discarded (the application hears `Reset`).
        self.reset();
        self.hello = None;
        self.authenticated = false;
        self.counts = counters::SessionCounts::default();
        self.update_line_limits();
        self.input.clear();
        self.tls = Some(Box::new(info));
        self.state = State::Command;
        Ok(())
    }

    /// TLS facts, once TLS is active (implicit, or after STARTTLS).
    pub fn tls(&self) -> Option<&TlsInfo> {
        self.tls.as_deref()
    }

    /// Whether the client has authenticated.
    pub fn is_authenticated(&self) -> bool {
        self.authenticated
    }

    /// The greeting the client gave, once accepted.
    pub fn hello(&self) -> Option<(HelloVerb, &Host)> {
        self.hello.as_ref().map(|(v, h)| (*v, h))
    }

    /// How long the binding should wait now: the application's budget for its decision
    /// on a complete message ([`Timeout::DataTermination`], 10 minutes, the client's
    /// wait), and otherwise the server timeout of RFC 5321 §4.5.3.2.7 (5 minutes), which
    /// also covers waits for body bytes: it is longer than the 3-minute block timeout a
    /// client applies to its own sends (§4.5.3.2.5).
    pub fn timeout_duration(&self) -> std::time::Duration {
        match self.timeout() {
            Timeout::DataTermination => Timeout::DataTermination.duration(),
            _ => Timeout::ServerCommand.duration(),
        }
    }

    /// Which RFC 5321 §4.5.3.2 timeout applies now (for logs; the binding enforces
    /// [`ServerSession::timeout_duration`]).
    pub fn timeout(&self) -> Timeout {
        match (&self.state, &self.pending) {
            (_, Some(Pending::MessageEnd { .. })) => Timeout::DataTermination,
            _ if self.next_message_end.is_some() => Timeout::DataTermination,
            (State::Data(_) | State::Bdat { .. } | State::BdatDrain { .. }, _) => {
                Timeout::DataBlock
            }
            _ => Timeout::ServerCommand,
        }
    }

    /// Bytes received and not yet consumed (bounded by one line limit after polling to
    /// `NeedInput`).
    pub fn buffered(&self) -> usize {
        self.input.len()
    }

    /// MAIL and RCPT lines may be as long as the extensions in force make them (after
    /// EHLO/LHLO only; RFC 5321 §4.5.3.1.4 "SMTP extensions may be used to increase this
    /// limit"): SIZE (RFC 1870 §3), BODY (RFC 6152), SMTPUTF8 (RFC 6531), AUTH= when AUTH
    /// is offered (RFC 4954 §5), RET/ENVID and NOTIFY/ORCPT with DSN (RFC 3461 §4–5),
    /// REQUIRETLS (RFC 8689).
    pub(super) fn update_line_limits(&mut self) {
        let (mail, rcpt) =
            self.opts
                .parameter_lines(self.esmtp(), self.auth_offered(), self.tls.is_some());
        self.commands.set_parameter_lines(mail, rcpt);
    }

    /// Accepts the pending event with its standard positive reply.
    pub fn accept(&mut self) -> Result<(), ApiMisuse> {
        let p = self.take_pending()?;
        self.decide(p, None, true);
        Ok(())
    }

    /// Accepts the pending event with this reply (2xx; 354 for DATA). Not for EHLO/LHLO,
    /// whose positive reply is the capability list.
    pub fn accept_with(&mut self, reply: Reply) -> Result<(), ApiMisuse> {
        let code = reply.code();
        let ok = match &self.pending {
            None => return Err(ApiMisuse::NoDecisionPending),
            Some(Pending::Hello(v, _)) if *v != HelloVerb::Helo => {
                return Err(ApiMisuse::WrongEvent);
            }
            Some(Pending::Data { .. }) => code.get() == 354,
            Some(_) => code.is_positive(),
        };
        if !ok {
            let expected = if matches!(self.pending, Some(Pending::Data { .. })) {
                "354"
            } else {
                "2xx"
            };
            return Err(ApiMisuse::ReplyClass {
                code: code.get(),
                expected,
            });
        }
        let p = self.take_pending()?;
        self.decide(p, Some(reply), true);
        Ok(())
    }

    /// Refuses the pending event with this reply (4xx or 5xx). A `421` reply also
    /// closes the session (RFC 5321 §3.8).
    ///
    /// A refused greeting, AUTH or MAIL counts toward `ServerOptions::max_errors`, and a
    /// refused RCPT toward `ServerOptions::max_junk_commands`, so guessed passwords and
    /// harvested addresses cannot go on without end; a delivered message gives both
    /// allowances back. The refusal of a message is not counted. For a refusal that is
    /// the application's own failure rather than the client's, use
    /// [`ServerSession::reject_local`].
    pub fn reject(&mut self, reply: Reply) -> Result<(), ApiMisuse> {
        self.refuse(reply, true)
    }

    /// Refuses the pending event for a local reason (the application failed, timed out
    /// or gave an unusable answer): like [`ServerSession::reject`], but nothing is
    /// counted against the client.
    pub fn reject_local(&mut self, reply: Reply) -> Result<(), ApiMisuse> {
        self.refuse(reply, false)
    }

    fn refuse(&mut self, reply: Reply, count: bool) -> Result<(), ApiMisuse> {
        if self.pending.is_none() {
            return Err(ApiMisuse::NoDecisionPending);
        }
        if !(reply.is_transient() || reply.is_permanent()) {
            return Err(ApiMisuse::ReplyClass {
                code: reply.code().get(),
                expected: "4xx or 5xx",
            });
        }
        let p = self.take_pending()?;
        let closing = reply.code().get() == 421;
        let rcpt = matches!(p, Pending::Rcpt(_));
        self.refused_rcpts += u64::from(rcpt);
        let counted = count && !matches!(p, Pending::Data { .. } | Pending::MessageEnd { .. });
        self.decide(p, Some(reply), false);
        if closing {
            self.close();
        } else if counted && rcpt {
            let _ = self.junk_limit_reached();
        } else if counted {
            let _ = self.count_error();
        }
        Ok(())
    }

    /// The pending decision, once its event has been handed out.
    fn take_pending(&mut self) -> Result<Pending, ApiMisuse> {
        if !self.events.is_empty() {
            return Err(ApiMisuse::NoDecisionPending);
        }
        self.pending.take().ok_or(ApiMisuse::NoDecisionPending)
    }

    fn step_command(&mut self) -> Step {
        match self.commands.decode(&mut self.input) {
            Ok(None) => Step::NeedInput,
            Ok(Some(cmd)) => self.on_command(cmd),
            Err(e) if e.must_close() => {
                // RFC 5321 §3.8: 421 before closing; the chunk size is unknown, so the
                // stream cannot go on (RFC 3030 §2).
                replies::unframeable_bdat(&mut self.out, self.opts.hostname.as_str());
                self.fail(PeerMisbehaved::UnframeableBdat.into());
                Step::Continue
            }
            Err(e) => {
                // Sequence and policy first: a command that may not run now is refused
                // for that, whatever its arguments.
                let verb = self.commands.last_verb();
                // RFC 9422 §4.1: a MAIL counts toward MAILMAX even when it fails.
                if verb == Some(crate::types::command::Verb::Mail)
                    && self.transaction_limit_reached()
                {
                    return Step::Continue;
                }
                if verb == Some(crate::types::command::Verb::Rcpt) {
                    self.refused_rcpts += 1;
                }
                let refusal = verb.map(|v| self.admit(v));
                match refusal {
                    Some(Err(reply)) => self.out.extend_from_slice(reply),
                    _ => e.reply().encode(&mut self.out),
                }
                self.count_error()
            }
        }
    }

    /// Queues a canned error reply and counts it.
    fn error(&mut self, reply: &'static [u8]) -> Step {
        self.out.extend_from_slice(reply);
        self.count_error()
    }

    /// Queues a canned reply.
    fn reply(&mut self, reply: &'static [u8]) -> Step {
        self.out.extend_from_slice(reply);
        Step::Continue
    }

    fn on_eof(&mut self) {
        let in_body = matches!(self.state, State::Data(_) | State::Bdat { .. })
            || self.tx.as_ref().is_some_and(|t| t.chunks.is_some());
        if in_body && self.tx.as_ref().is_some_and(|t| t.aborted.is_none()) {
            self.events
                .push_back(ServerEvent::MessageAborted(AbortReason::ConnectionClosed));
            self.tx = None;
        }
        self.close();
    }

    /// The TLS handshake that [`Output::StartTls`] asked for failed (or the peer went
    /// away during it). Nothing more can be said in plaintext: the next poll gives
    /// [`Output::Close`].
    pub fn tls_failed(&mut self, token: UpgradeToken) {
        let UpgradeToken { _p: () } = token;
        self.close();
    }

    fn await_tls(&mut self) -> Result<Output<ServerEvent>, Error> {
        if !self.out.is_empty() {
            return Ok(Output::Transmit(self.out.split().freeze()));
        }
        if self.late_plaintext > 0 {
            return Err(self.injection(self.late_plaintext));
        }
        if std::mem::take(&mut self.token_ready) {
            return Ok(Output::StartTls(UpgradeToken { _p: () }));
        }
        if self.eof {
            self.close();
            return Ok(Output::Close);
        }
        Err(ApiMisuse::HandshakePending.into())
    }

    /// Plaintext after STARTTLS: never interpreted; the session ends.
    fn injection(&mut self, discarded: usize) -> Error {
        let e: Error = PeerMisbehaved::PlaintextAfterStartTls { discarded }.into();
        self.input.clear();
        self.state = State::Closed;
        self.failure = None;
        e
    }

    fn closing(&mut self) -> Result<Output<ServerEvent>, Error> {
        if !self.out.is_empty() {
            return Ok(Output::Transmit(self.out.split().freeze()));
        }
        if let Some(e) = self.failure.take().map(|e| *e) {
            return Err(e);
        }
        Ok(Output::Close)
    }

    /// Ends the session after the queued replies, reporting `e` once.
    fn fail(&mut self, e: Error) {
        self.failure = Some(Box::new(e));
        self.close();
    }

    fn close(&mut self) {
        // A transaction that ends with the connection is discarded: say so.
        if self.tx.take().is_some() {
            self.events.push_back(ServerEvent::Reset);
        }
        self.input.clear();
        self.pending = None;
        self.next_message_end = None;
        self.state = State::Closed;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An idle session must stay far below the project's 20 KiB budget: the struct, the
    /// greeting buffer, and nothing else until input arrives.
    #[test]
    fn an_idle_session_is_small() {
        let size = std::mem::size_of::<ServerSession>();
        let s = ServerSession::new(ServerOptions::default(), TransportSecurity::Plain);
        let heap = s.out.capacity() + s.input.capacity();
        println!("ServerSession: {size} bytes inline + {heap} bytes of buffers");
        assert!(size + heap < 2048, "{size} + {heap}");
    }
}
