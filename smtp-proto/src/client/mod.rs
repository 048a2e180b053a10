//! The client session: a sans-IO state machine that sends mail transactions over one
//! connection. The binding feeds it the server's bytes and writes what it emits.
//!
//! Greeting → `EHLO` (→ `HELO` on 500/502) → STARTTLS as the [`policy`] decides →
//! `EHLO` again → optional `AUTH` → [`ClientEvent::Ready`]; then per transaction
//! `MAIL`, every `RCPT`, `DATA` or `BDAT` (one burst with PIPELINING, RFC 2920 §3.1;
//! lock-step without) → [`ClientEvent::SendBody`] → [`ClientEvent::Done`] with every
//! recipient's reply; `RSET` when a transaction did not reach its end; `QUIT`.
//!
//! Strict by default: a reply is read only as the answer to a command already handed
//! out (anything else is [`PeerMisbehaved::UnsolicitedReply`], RFC 5321 §4.2, RFC 2920
//! §3.1); DATA must get `354` and STARTTLS `220` or a refusal (any other positive reply
//! is [`PeerMisbehaved::UnexpectedReply`], RFC 5321 §4.3.2, RFC 3207 §4); no body line
//! over [`Limits::text_line`](crate::Limits::text_line) is sent (RFC 5321 §4.5.3.1.6,
//! [`ClientSession::check_body`]); AUTH is chosen from the capabilities after TLS
//! (RFC 3207 §4.2); reply lines are read up to 4,096 octets
//! ([`ClientOptions::DEFAULT_LIMITS`]).
//!
//! ```
//! use smtp_proto::client::{ClientEvent, ClientOptions, ClientSession, Envelope};
//! use smtp_proto::client::policy::TlsPolicy;
//! use smtp_proto::{Output, TransportSecurity};
//!
//! let mut opts = ClientOptions::new("client.example", "mx.example.com", "example.com");
//! opts.tls_policy = TlsPolicy::None; // this script has no TLS
//! let mut c = ClientSession::new(opts, TransportSecurity::Plain);
//! let mut server: &[&[u8]] = &[
//!     b"220 mx.example.com ESMTP\r\n",
//!     b"250-mx.example.com\r\n250 PIPELINING\r\n",
//!     b"250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n354 Go ahead\r\n",
//!     b"250 2.0.0 Queued\r\n",
//!     b"221 2.0.0 Bye\r\n",
//! ];
//! let mut wire = Vec::new();
//! loop {
//!     match c.poll().unwrap() {
//!         Output::Transmit(b) => wire.extend_from_slice(&b),
//!         Output::Event(ClientEvent::Ready { .. }) => {
//!             let env = Envelope::new("<a@example.org>", ["<b@example.com>"]).unwrap();
//!             c.send(env).unwrap();
//!         }
//!         Output::Event(ClientEvent::SendBody) => {
//!             c.body(b"Subject: hi\n\n.dot\n").unwrap();
//!             c.end_body().unwrap();
//!         }
//!         Output::Event(ClientEvent::Done(result)) => {
//!             assert!(result.delivered());
//!             c.quit().unwrap();
//!         }
//!         Output::Event(_) => {}
//!         Output::NeedInput => match server.split_first() {
//!             Some((chunk, rest)) => { c.feed(chunk); server = rest; }
//!             None => c.feed_eof(),
//!         },
//!         Output::StartTls(_) => unreachable!(),
//!         Output::Close => break,
//!     }
//! }
//! let wire = String::from_utf8(wire).unwrap();
//! assert!(wire.contains("MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.com>\r\nDATA\r\n"));
//! assert!(wire.contains("Subject: hi\r\n\r\n..dot\r\n.\r\n"));
//! ```

mod auth;
mod body;
mod event;
mod flow;
pub mod limits;
pub mod mx;
mod options;
pub mod outcome;
pub mod policy;
mod send;
pub mod sts;
pub mod tlsrpt;
mod transcript;

pub use event::{ClientEvent, TransactionResult};
pub use options::{ClientAuth, ClientOptions, Envelope};
pub use transcript::Sent;

use crate::codec::ReplyDecoder;
use crate::error::{ApiMisuse, Error, PeerMisbehaved};
use crate::framing::stuff::DotStuffer;
use crate::session::{Output, Timeout, TlsInfo, TransportSecurity, UpgradeToken};
use crate::types::capability::Capabilities;
use crate::types::params::RcptParams;
use crate::types::path::ForwardPath;
use bytes::BytesMut;
use policy::Verification;
use std::collections::VecDeque;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    Greeting,
    Ehlo,
    Helo,
    StartTls,
    Auth,
    Mail,
    Rcpt(usize),
    Data,
    /// A BDAT chunk; `last` ends the message.
    Bdat {
        last: bool,
    },
    /// The reply (LMTP: one of the replies) after the end of data.
    Message,
    Rset,
    Noop,
    Quit,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Setup,
    AwaitTls,
    Idle,
    Transaction,
    Quitting,
    Closed,
}

#[derive(Debug)]
struct Tx {
    result: TransactionResult,
    /// Recipients not yet sent (lock-step), and the index of the next one.
    unsent: VecDeque<(ForwardPath, RcptParams)>,
    next_rcpt: usize,
    accepted: usize,
    pipelined: bool,
    bdat: bool,
    body: BodyPhase,
    stuffer: DotStuffer,
    eight_bit: bool,
    /// Body octets written so far (checked against the server's SIZE).
    sent: u64,
    /// Replies still expected after the end of data.
    message_replies: usize,
    failed: bool,
    /// BDAT: the latest piece of the body, not yet sent, so that the last one goes out
    /// as `BDAT n LAST` rather than as a chunk of its own followed by `BDAT 0 LAST`
    /// (one chunk fewer; some servers hold every chunk but the last for seconds).
    held: BytesMut,
}

impl Tx {
    /// The transaction failed while its body was going out: no more of it is sent.
    fn stop_body(&mut self) {
        if matches!(self.body, BodyPhase::Streaming | BodyPhase::Ending) {
            self.body = BodyPhase::Skipped;
            self.held = BytesMut::new();
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BodyPhase {
    Waiting,
    Streaming,
    /// BDAT without PIPELINING: `end_body` was called while a chunk's reply was
    /// awaited; the last chunk goes when it comes.
    Ending,
    Sent,
    Skipped,
}

/// A client-side SMTP (or LMTP) session. See the [module docs](self).
pub struct ClientSession {
    opts: ClientOptions,
    input: BytesMut,
    replies: ReplyDecoder,
    out: BytesMut,
    /// The replies awaited, in order: those of the commands already handed to the
    /// binding, then `untransmitted` more whose commands are still in `out`.
    expects: VecDeque<Expect>,
    /// How many of `expects` (counted from the back) belong to commands not yet given
    /// to the binding: no reply to them can have been sent yet.
    untransmitted: usize,
    events: VecDeque<ClientEvent>,
    phase: Phase,
    caps: Option<Capabilities>,
    /// The capabilities the server offered before STARTTLS (kept for reports).
    caps_before_tls: Option<Capabilities>,
    greeting: Option<crate::types::reply::Reply>,
    esmtp: bool,
    tls: Option<TlsInfo>,
    verification: Option<Verification>,
    tls_reason: String,
    auth_step: u8,
    /// The credential AUTH went out with (one mechanism, chosen after TLS).
    auth_used: Option<ClientAuth>,
    tx: Option<Tx>,
    failure: Option<Error>,
    token_ready: bool,
    eof: bool,
    /// Bytes fed while the handshake was pending: injected plaintext.
    late_plaintext: usize,
    /// An initial response too long for the AUTH line, sent after the first 334.
    auth_ir: Option<Vec<u8>>,
    /// A challenge of an application-driven mechanism waits for its answer.
    challenge_pending: bool,
    /// The result, delivered once the RSET that follows a failed transaction is
    /// answered (so the next MAIL is never sent ahead of it without PIPELINING).
    pending_done: Option<TransactionResult>,
    /// What parts of `out` are not plain commands, and the parts of the last transmit.
    marks: Vec<(Sent, std::ops::Range<usize>)>,
    sent_parts: Vec<(Sent, usize)>,
}

impl ClientSession {
    /// A new session; it waits for the server's greeting.
    pub fn new(options: ClientOptions, security: TransportSecurity) -> Self {
        let replies = ReplyDecoder::new(options.limits);
        let (tls, reason) = match security {
            TransportSecurity::Plain => (None, String::new()),
            TransportSecurity::ImplicitTls(info) => (Some(info), "implicit TLS".to_owned()),
        };
        // Implicit TLS (RFC 8314) is judged by the same policy as STARTTLS.
        let failure = tls.as_ref().and_then(|info| {
            policy::check_handshake(
                &options.tls_policy,
                info,
                &options.server,
                &options.destination,
            )
            .err()
            .map(Error::from)
        });
        let phase = if failure.is_some() {
            Phase::Closed
        } else {
            Phase::Setup
        };
        Self {
            opts: options,
            input: BytesMut::new(),
            replies,
            out: BytesMut::new(),
            expects: VecDeque::from([Expect::Greeting]),
            untransmitted: 0,
            events: VecDeque::new(),
            phase,
            caps: None,
            caps_before_tls: None,
            greeting: None,
            esmtp: false,
            tls,
            verification: None,
            tls_reason: reason,
            auth_step: 0,
            auth_used: None,
            tx: None,
            failure,
            token_ready: false,
            eof: false,
            late_plaintext: 0,
            auth_ir: None,
            challenge_pending: false,
            pending_done: None,
            marks: Vec::new(),
            sent_parts: Vec::new(),
        }
    }

    /// Gives the session bytes received from the server.
    ///
    /// Bytes that arrive while no reply is awaited (after the greeting was read and
    /// before EHLO went out, between transactions, while a body is being sent, after
    /// the last reply) answer nothing we sent: the session fails with
    /// [`PeerMisbehaved::UnsolicitedReply`] and sends nothing more. See
    /// [`ClientSession::poll`].
    pub fn feed(&mut self, bytes: &[u8]) {
        if bytes.is_empty() {
            return;
        }
        match self.phase {
            Phase::Closed => {}
            // Never interpreted: see `tls_established`.
            Phase::AwaitTls => {
                self.late_plaintext = self.late_plaintext.saturating_add(bytes.len());
            }
            _ => {
                self.input.extend_from_slice(bytes);
                if self.awaited() == 0 {
                    self.unsolicited();
                }
            }
        }
    }

    /// How many replies the server may send now: one per command handed to the binding
    /// and not answered yet (the greeting counts as asked for by connecting).
    fn awaited(&self) -> usize {
        self.expects.len().saturating_sub(self.untransmitted)
    }

    /// Expects the reply to a command just written to `out`.
    fn expect(&mut self, e: Expect) {
        self.expects.push_back(e);
        self.untransmitted += 1;
    }

    /// Whether bytes follow `reply`, the answer to the last command sent: they answer
    /// nothing (see `feed`), and nothing of this reply is acted on either, since the
    /// server is out of step with us. After a 220 to STARTTLS the bytes are the
    /// injection `on_starttls_reply` names; after the reply to QUIT nothing more is sent
    /// or read anyway.
    fn overrun(&self, reply: &crate::types::reply::Reply) -> bool {
        let last = match self.expects.front() {
            Some(Expect::Quit) | None => return false,
            Some(Expect::StartTls) if reply.code().get() == 220 => return false,
            Some(_) => self.expects.len() == 1,
        };
        last && !self.input.is_empty()
    }

    /// The server sent what nobody asked for. RFC 5321 §4.2 and RFC 2920 §3.1 make every
    /// reply the answer to one command, in order; a reply that answers none cannot be
    /// matched to anything, and taking it for the answer to the next command would let a
    /// server (or anyone on the path) answer for commands it has not read yet. The
    /// session ends without another command: nothing read after this point is trusted.
    fn unsolicited(&mut self) {
        let octets = self.input.len();
        let code = self
            .input
            .get(..3)
            .filter(|d| d.iter().all(u8::is_ascii_digit))
            .map(|d| d.iter().fold(0u16, |a, &b| a * 10 + u16::from(b - b'0')));
        self.fail(PeerMisbehaved::UnsolicitedReply { octets, code }.into());
    }

    /// The server closed the connection.
    pub fn feed_eof(&mut self) {
        self.eof = true;
    }

    /// The next output; see [`Output`]. `NeedInput` while [`ClientSession::is_idle`]
    /// means the session waits for the application (`send` or `quit`); reading
    /// meanwhile is still right: whatever the server sends then (a `421` shutdown
    /// notice, RFC 5321 §3.8, included) ends the session as
    /// [`PeerMisbehaved::UnsolicitedReply`] before another command goes out.
    pub fn poll(&mut self) -> Result<Output<ClientEvent>, Error> {
        if self.challenge_pending {
            return Err(ApiMisuse::DecisionPending.into());
        }
        loop {
            if let Some(ev) = self.events.pop_front() {
                return Ok(Output::Event(ev));
            }
            if !self.out.is_empty() {
                self.untransmitted = 0;
                self.take_marks();
                return Ok(Output::Transmit(self.out.split().freeze()));
            }
            match self.phase {
                Phase::Closed => {
                    if let Some(e) = self.failure.take() {
                        return Err(e);
                    }
                    return Ok(Output::Close);
                }
                Phase::AwaitTls => {
                    if std::mem::take(&mut self.token_ready) {
                        return Ok(Output::StartTls(UpgradeToken { _p: () }));
                    }
                    if self.eof {
                        self.close();
                        continue;
                    }
                    return Err(ApiMisuse::HandshakePending.into());
                }
                _ => {}
            }
            if self.expects.is_empty() {
                if self.eof && self.tx.is_some() {
                    // Gone while the body was ours to send: the message is not delivered.
                    self.fail(PeerMisbehaved::ConnectionClosed.into());
                    continue;
                }
                if self.eof {
                    self.close();
                    continue;
                }
                if self.may_send_body() {
                    return Ok(Output::Event(ClientEvent::SendBody));
                }
                // Waiting for the application (send, body, quit).
                return Ok(Output::NeedInput);
            }
            match self.replies.decode(&mut self.input) {
                Ok(Some(reply)) if self.overrun(&reply) => self.unsolicited(),
                Ok(Some(reply)) => self.on_reply(reply),
                // A close right after our QUIT is the end the session asked for.
                Ok(None) if self.eof && self.expects.iter().all(|e| *e == Expect::Quit) => {
                    self.close();
                }
                Ok(None) if self.eof => {
                    self.fail(PeerMisbehaved::ConnectionClosed.into());
                }
                // Replies already here are read first (a refused MAIL stops the body),
                // then the next piece of the body is asked for.
                Ok(None) if self.may_send_body() => {
                    return Ok(Output::Event(ClientEvent::SendBody));
                }
                Ok(None) => return Ok(Output::NeedInput),
                Err(e) => self.fail(PeerMisbehaved::InvalidReply(e).into()),
            }
        }
    }

    /// Whether to ask for the next piece of the body (pull: one piece at a time is ever
    /// buffered, until `end_body`). BDAT without PIPELINING waits for each chunk's
    /// reply (RFC 3030 §2).
    fn may_send_body(&self) -> bool {
        self.tx.as_ref().is_some_and(|t| {
            t.body == BodyPhase::Streaming && (!t.bdat || t.pipelined || self.expects.is_empty())
        })
    }

    /// The binding finished the TLS handshake that [`Output::StartTls`] asked for,
    /// verifying as [`ClientSession::verification`] says. The policy judges the result;
    /// then the session forgets the server's capabilities and sends EHLO again
    /// (RFC 3207 §4.2).
    pub fn tls_established(&mut self, token: UpgradeToken, info: TlsInfo) -> Result<(), Error> {
        let UpgradeToken { _p: () } = token;
        if self.phase != Phase::AwaitTls || self.token_ready {
            return Err(ApiMisuse::NoUpgrade.into());
        }
        if self.late_plaintext > 0 {
            let discarded = self.late_plaintext;
            self.close();
            return Err(PeerMisbehaved::PlaintextAfterStartTlsReply { discarded }.into());
        }
        if let Err(v) = policy::check_handshake(
            &self.opts.tls_policy,
            &info,
            &self.opts.server,
            &self.opts.destination,
        ) {
            self.tls = Some(info);
            self.close();
            return Err(v.into());
        }
        self.tls_reason = format!("STARTTLS, policy {}", self.opts.tls_policy.name());
        self.tls = Some(info);
        self.caps_before_tls = self.caps.take();
        self.phase = Phase::Setup;
        self.hello();
        Ok(())
    }

    /// The handshake failed: the session ends (no plaintext fallback: RFC 3207 §4.1
    /// leaves the connection in an unknown state).
    pub fn tls_failed(&mut self, token: UpgradeToken) {
        let UpgradeToken { _p: () } = token;
        self.close();
    }

    /// Whether a reply is awaited now: a command was handed out and not yet answered.
    /// When not, anything the server sends is unsolicited (see [`ClientSession::feed`]);
    /// a binding that is about to write should feed what has arrived already first.
    pub fn awaits_reply(&self) -> bool {
        self.awaited() > 0
    }

    /// Whether the session waits for the application: `send` or `quit` after
    /// [`ClientEvent::Ready`] or [`ClientEvent::Done`].
    pub fn is_idle(&self) -> bool {
        self.phase == Phase::Idle && self.tx.is_none() && self.expects.is_empty()
    }

    /// What the binding must verify in the handshake under way.
    pub fn verification(&self) -> Option<&Verification> {
        self.verification.as_ref()
    }

    /// The server's capabilities from the last EHLO (after TLS, the post-TLS ones).
    pub fn capabilities(&self) -> Option<&Capabilities> {
        self.caps.as_ref()
    }

    /// The capabilities offered in plaintext, before STARTTLS (`None` without STARTTLS).
    /// Only for reports: a man in the middle could have changed them (RFC 3207 §4.2).
    pub fn capabilities_before_tls(&self) -> Option<&Capabilities> {
        self.caps_before_tls.as_ref()
    }

    /// The server's greeting (its `220` reply, or the refusal), once received.
    pub fn greeting(&self) -> Option<&crate::types::reply::Reply> {
        self.greeting.as_ref()
    }

    /// The AUTH mechanism the session used (chosen from the server's offer after TLS),
    /// once AUTH was sent.
    pub fn auth_mechanism(&self) -> Option<crate::types::command::Mechanism> {
        self.auth_used.as_ref().and_then(ClientAuth::mechanism)
    }

    /// TLS facts, once TLS is active.
    pub fn tls(&self) -> Option<&TlsInfo> {
        self.tls.as_ref()
    }

    /// Which RFC 5321 §4.5.3.2 timeout applies to the reply awaited now.
    pub fn timeout(&self) -> Timeout {
        match self.expects.front() {
            Some(Expect::Greeting) => Timeout::Greeting,
            Some(Expect::Rcpt(_)) => Timeout::Rcpt,
            Some(Expect::Data) => Timeout::DataInit,
            Some(Expect::Message) | Some(Expect::Bdat { last: true }) => Timeout::DataTermination,
            Some(Expect::Bdat { .. }) => Timeout::DataBlock,
            _ if self
                .tx
                .as_ref()
                .is_some_and(|t| t.body == BodyPhase::Streaming) =>
            {
                Timeout::DataBlock
            }
            _ => Timeout::Mail,
        }
    }
}
