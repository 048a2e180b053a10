//! Reply handling: matching each reply to what was sent, in order, and what follows.

use super::policy::{self, TlsAction, TlsOutcome};
use super::{BodyPhase, ClientEvent, ClientSession, Envelope, Expect, Phase, Sent};
use crate::codec::Encode;
use crate::codec::capability::decode_capabilities;
use crate::error::{ApiMisuse, Error, PeerMisbehaved, Stage};
use crate::types::command::Command;
use crate::types::params::Body;
use crate::types::reply::Reply;
use bytes::BufMut;

impl ClientSession {
    pub(super) fn on_reply(&mut self, reply: Reply) {
        let Some(expect) = self.expects.pop_front() else {
            // `poll` decodes only while a reply is awaited; this is a safety net.
            return self.fail(
                PeerMisbehaved::UnsolicitedReply {
                    octets: 0,
                    code: Some(reply.code().get()),
                }
                .into(),
            );
        };
        if expect == Expect::Greeting {
            self.greeting = Some(reply.clone());
        }
        // RFC 5321 §4.2.1 and §4.3.2: a 3yz reply only ever answers DATA (354), and
        // with RFC 4954 §4 an AUTH step (334). Anywhere else the server and the client
        // disagree about where they are: nothing more is sent.
        if reply.is_intermediate() && !matches!(expect, Expect::Data | Expect::Auth) {
            let code = reply.code().get();
            return self.fail(PeerMisbehaved::UnexpectedReply { code }.into());
        }
        // RFC 5321 §3.8: 421 at any point means the server is closing.
        if reply.code().get() == 421 && expect != Expect::Quit {
            return self.fail(Error::Rejected {
                stage: Stage::Closing,
                reply,
            });
        }
        match expect {
            Expect::Greeting if reply.code().get() == 220 => self.hello(),
            Expect::Greeting => self.refuse(Stage::Greeting, reply),
            Expect::Ehlo if reply.is_positive() => {
                self.caps = decode_capabilities(&reply);
                self.esmtp = true;
                self.after_hello();
            }
            // RFC 5321 §4.1.4 / §3.2: an old server that does not know EHLO.
            Expect::Ehlo if matches!(reply.code().get(), 500 | 502) && !self.opts.lmtp => {
                Command::Helo {
                    host: self.opts.hello_name.clone(),
                }
                .encode(&mut self.out);
                self.expect(Expect::Helo);
            }
            Expect::Ehlo => {
                let stage = if self.opts.lmtp {
                    Stage::Lhlo
                } else {
                    Stage::Ehlo
                };
                self.refuse(stage, reply)
            }
            Expect::Helo if reply.is_positive() => {
                self.caps = None;
                self.esmtp = false;
                self.after_hello();
            }
            Expect::Helo => self.refuse(Stage::Helo, reply),
            Expect::StartTls => self.on_starttls_reply(reply),
            Expect::Auth => self.on_auth_reply(reply),
            Expect::Mail => {
                let ok = reply.is_positive();
                if let Some(tx) = self.tx.as_mut() {
                    tx.result.mail = Some(reply);
                    if !ok {
                        tx.failed = true;
                        tx.stop_body();
                    }
                }
                if ok {
                    self.next_rcpt();
                } else {
                    self.maybe_finish();
                }
            }
            Expect::Rcpt(i) => {
                let ok = reply.is_positive();
                if let Some(tx) = self.tx.as_mut() {
                    if let Some(slot) = tx.result.recipients.get_mut(i) {
                        slot.1 = Some(reply);
                    }
                    if ok {
                        tx.accepted += 1;
                    }
                }
                self.next_rcpt();
            }
            // RFC 5321 §4.3.2: DATA gets 354, or a 4yz/5yz refusal. Any other positive
            // reply (a 250, say) is never a delivery: the server would take our body
            // for commands, or has already ended a message we never sent.
            Expect::Data
                if !reply.is_transient() && !reply.is_permanent() && reply.code().get() != 354 =>
            {
                let code = reply.code().get();
                self.fail(PeerMisbehaved::UnexpectedReply { code }.into());
            }
            Expect::Data => {
                let go = reply.code().get() == 354;
                let Some(tx) = self.tx.as_mut() else { return };
                if go && tx.accepted > 0 && !tx.failed {
                    tx.body = BodyPhase::Streaming;
                } else if go {
                    // RFC 2920 §3.1: a 354 although no recipient was accepted: end the
                    // empty message at once; its reply is not kept.
                    tx.body = BodyPhase::Skipped;
                    self.write_marked(Sent::Body, |out| out.put_slice(b".\r\n"));
                    self.expects.push_front(Expect::Bdat { last: true });
                    self.untransmitted += 1;
                } else {
                    tx.result.refused = Some(reply);
                    tx.body = BodyPhase::Skipped;
                    tx.failed = true;
                    self.maybe_finish();
                }
            }
            Expect::Bdat { last } => {
                let Some(tx) = self.tx.as_mut() else { return };
                if tx.body == BodyPhase::Skipped {
                    // The empty message sent after an unexpected 354: discard.
                    self.maybe_finish();
                    return;
                }
                if last {
                    // The end of the message, as after DATA: its reply (in LMTP, the
                    // last recipient's) is a message reply, never a chunk refusal.
                    if !tx.failed {
                        tx.result.message.push(reply);
                    }
                } else if !reply.is_positive() && !tx.failed {
                    // RFC 3030 §2: no further chunk after a refused one; the server's
                    // state is undefined, so RSET follows. An LMTP server answers the
                    // LAST chunk of a failed transaction once, not per recipient.
                    tx.failed = true;
                    tx.result.refused = Some(reply);
                    tx.stop_body();
                    self.expects.retain(|e| *e != Expect::Message);
                } else if tx.body == BodyPhase::Ending {
                    self.send_last_chunk();
                }
                self.maybe_finish();
            }
            Expect::Message => {
                if let Some(tx) = self.tx.as_mut().filter(|t| !t.failed) {
                    tx.result.message.push(reply);
                    tx.message_replies = tx.message_replies.saturating_sub(1);
                }
                self.maybe_finish();
            }
            Expect::Rset => {
                if let Some(result) = self.pending_done.take() {
                    self.phase = Phase::Idle;
                    self.events.push_back(ClientEvent::Done(result));
                }
            }
            Expect::Noop => self.events.push_back(ClientEvent::Noop(reply)),
            Expect::Quit => self.close(),
        }
    }

    /// Sends `NOOP` (RFC 5321 §4.1.1.9) while idle: a check that the server is still
    /// there before a connection kept idle is used again. Its reply comes as
    /// [`ClientEvent::Noop`]; a `421` ends the session (RFC 5321 §3.8). No `send` until
    /// the reply is in.
    pub fn noop(&mut self) -> Result<(), Error> {
        if !self.is_idle() {
            return Err(ApiMisuse::NotReady.into());
        }
        Command::Noop { text: None }.encode(&mut self.out);
        self.expect(Expect::Noop);
        Ok(())
    }

    /// A stage the session cannot go past: QUIT, then the error.
    pub(super) fn refuse(&mut self, stage: Stage, reply: Reply) {
        self.failure = Some(Error::Rejected { stage, reply });
        self.send_quit();
    }

    /// Sends EHLO (LHLO in LMTP).
    pub(super) fn hello(&mut self) {
        let host = self.opts.hello_name.clone();
        let cmd = if self.opts.lmtp {
            Command::Lhlo { host }
        } else {
            Command::Ehlo { host }
        };
        cmd.encode(&mut self.out);
        self.expect(Expect::Ehlo);
    }

    /// After EHLO/HELO: STARTTLS as the policy says, then AUTH, then ready.
    fn after_hello(&mut self) {
        if self.tls.is_none() {
            let offered = self.caps.as_ref().is_some_and(|c| c.starttls());
            match policy::decide(
                &self.opts.tls_policy,
                offered,
                &self.opts.server,
                &self.opts.destination,
            ) {
                Ok(TlsAction::StartTls(v)) => {
                    self.verification = Some(v);
                    Command::StartTls.encode(&mut self.out);
                    self.expect(Expect::StartTls);
                    return;
                }
                Ok(TlsAction::Plaintext) => {
                    self.tls_reason = if offered {
                        format!("policy {} does not use TLS", self.opts.tls_policy.name())
                    } else {
                        "STARTTLS not offered".to_owned()
                    };
                }
                Err(v) => {
                    self.failure = Some(v.into());
                    return self.send_quit();
                }
            }
        }
        self.start_auth();
    }

    /// RFC 3207 §4: `220` starts the handshake; `454` (or any other 4yz/5yz) refuses
    /// TLS, and the policy decides whether plaintext may go on. Any other positive
    /// reply (`250`, a `3yz`) is not an answer STARTTLS can have: the server may or may
    /// not be waiting for a handshake, so neither TLS nor plaintext is safe, whatever
    /// the policy. The session ends without another command.
    fn on_starttls_reply(&mut self, reply: Reply) {
        if !reply.is_transient() && !reply.is_permanent() && reply.code().get() != 220 {
            let code = reply.code().get();
            return self.fail(PeerMisbehaved::UnexpectedReply { code }.into());
        }
        if reply.code().get() == 220 {
            // The reply must be the last thing before the handshake: anything after it
            // was injected in plaintext (the client-side twin of CVE-2011-0411).
            if !self.input.is_empty() || self.replies.is_mid_reply() {
                let discarded = self.input.len();
                self.input.clear();
                return self.fail(PeerMisbehaved::PlaintextAfterStartTlsReply { discarded }.into());
            }
            self.phase = Phase::AwaitTls;
            self.token_ready = true;
            return;
        }
        if self.opts.tls_policy.requires_tls() {
            self.failure = Some(
                policy::PolicyViolation::StartTlsRefused {
                    server: self.opts.server.clone(),
                    destination: self.opts.destination.clone(),
                    policy: self.opts.tls_policy.level(),
                    reply: reply.clone(),
                }
                .into(),
            );
            return self.send_quit();
        }
        self.verification = None;
        self.tls_reason = format!("STARTTLS refused: {reply}");
        self.start_auth();
    }

    pub(super) fn ready(&mut self) {
        self.phase = Phase::Idle;
        let verified = self.tls.as_ref().is_some_and(crate::TlsInfo::peer_verified);
        let tls = TlsOutcome {
            policy: self.opts.tls_policy.level(),
            tls: self.tls.clone(),
            verified,
            reason: std::mem::take(&mut self.tls_reason),
        };
        self.events.push_back(ClientEvent::Ready {
            capabilities: self.caps.clone(),
            tls,
        });
    }

    /// Checks the envelope against the server and adds the parameters it needs.
    pub(super) fn prepare(&mut self, env: &mut Envelope) -> Result<(), Error> {
        let server = self.opts.server.clone();
        let missing = |extension| {
            Error::from(policy::PolicyViolation::MissingExtension {
                server: server.clone(),
                extension,
            })
        };
        let caps = self.caps.as_ref();
        let utf8 = env.from.mailbox().is_some_and(|m| !m.is_ascii())
            || env
                .recipients
                .iter()
                .any(|(r, _)| r.mailbox().is_some_and(|m| !m.is_ascii()));
        if utf8 || env.params.smtputf8 {
            if !caps.is_some_and(|c| c.smtputf8()) {
                return Err(missing(policy::Needed::SmtpUtf8));
            }
            env.params.smtputf8 = true;
        }
        if env.eight_bit && env.params.body.is_none() {
            if !caps.is_some_and(|c| c.eight_bit_mime()) {
                return Err(missing(policy::Needed::EightBitMime));
            }
            env.params.body = Some(Body::EightBitMime);
        }
        match env.params.body {
            Some(Body::EightBitMime) if !caps.is_some_and(|c| c.eight_bit_mime()) => {
                return Err(missing(policy::Needed::EightBitMime));
            }
            Some(Body::BinaryMime)
                if !(self.opts.chunking
                    && caps.is_some_and(|c| c.binary_mime() && c.chunking())) =>
            {
                return Err(missing(policy::Needed::BinaryMime));
            }
            _ => {}
        }
        if let (Some(size), Some(max)) = (env.params.size, caps.and_then(|c| c.max_size()))
            && size > max
        {
            return Err(policy::PolicyViolation::TooBig { server, size, max }.into());
        }
        if env.params.requiretls {
            let offered = caps.is_some_and(|c| c.has("REQUIRETLS"));
            policy::check_requiretls(&self.opts.tls_policy, self.tls.as_ref(), offered, &server)?;
        }
        if env.params.size.is_some() && !caps.is_some_and(|c| c.has("SIZE")) {
            env.params.size = None;
        }
        Ok(())
    }

    /// Lock-step: the next RCPT, or DATA/BDAT once all are answered.
    fn next_rcpt(&mut self) {
        let Some(tx) = self.tx.as_mut() else { return };
        if tx.pipelined {
            let rcpts_answered = !self.expects.iter().any(|e| matches!(e, Expect::Rcpt(_)));
            if tx.bdat && tx.body == BodyPhase::Waiting && self.expects.is_empty() {
                // LMTP: every RCPT answered, the chunks may go.
                self.after_rcpts();
            } else if tx.bdat && rcpts_answered {
                // The chunks went with the envelope: nobody took the message, or the
                // MAIL was refused: stop, and finish once nothing else is awaited.
                if tx.accepted == 0 {
                    tx.failed = true;
                    tx.stop_body();
                }
                self.maybe_finish();
            }
            return;
        }
        if tx.failed {
            return self.maybe_finish();
        }
        if let Some((to, params)) = tx.unsent.pop_front() {
            let i = tx.next_rcpt;
            tx.next_rcpt += 1;
            Command::Rcpt { to, params }.encode(&mut self.out);
            self.expect(Expect::Rcpt(i));
            return;
        }
        self.after_rcpts();
    }

    /// Every RCPT is answered (lock-step, or BDAT): body or reset.
    fn after_rcpts(&mut self) {
        let Some(tx) = self.tx.as_mut() else { return };
        if tx.accepted == 0 || tx.failed {
            tx.body = BodyPhase::Skipped;
            tx.failed = true;
            return self.maybe_finish();
        }
        if tx.bdat {
            tx.body = BodyPhase::Streaming;
        } else {
            Command::Data.encode(&mut self.out);
            self.expect(Expect::Data);
        }
    }

    /// Once nothing of the transaction is awaited: RSET if it did not complete, and
    /// the result to the application.
    fn maybe_finish(&mut self) {
        let done = self
            .expects
            .iter()
            .all(|e| matches!(e, Expect::Rset | Expect::Quit));
        let Some(tx) = self.tx.as_ref() else { return };
        let body_due = matches!(tx.body, BodyPhase::Streaming | BodyPhase::Ending);
        if !done || body_due || tx.body == BodyPhase::Waiting && !tx.failed {
            return;
        }
        let Some(tx) = self.tx.take() else { return };
        if tx.failed && (tx.body != BodyPhase::Sent || tx.bdat) {
            // RFC 5321 §4.1.1.5: clear the server's transaction state; the result goes
            // out with the RSET's reply, so the next MAIL cannot overtake it.
            Command::Rset.encode(&mut self.out);
            self.expect(Expect::Rset);
            self.pending_done = Some(tx.result);
            return;
        }
        self.phase = Phase::Idle;
        self.events.push_back(ClientEvent::Done(tx.result));
    }

    /// Sends QUIT; the session closes on its reply (or on EOF). On a session that is
    /// already closing (the server went away, so a [`ClientEvent::Done`] was its last
    /// event) or quitting, there is nothing to send: `Ok`, and polling goes on to
    /// `Close`.
    pub fn quit(&mut self) -> Result<(), Error> {
        if matches!(self.phase, Phase::Closed | Phase::Quitting) {
            return Ok(());
        }
        if self.phase != Phase::Idle {
            return Err(ApiMisuse::NotReady.into());
        }
        self.send_quit();
        Ok(())
    }

    pub(super) fn send_quit(&mut self) {
        self.phase = Phase::Quitting;
        self.tx = None;
        Command::Quit.encode(&mut self.out);
        self.expect(Expect::Quit);
    }

    /// Ends the session; the first error is the one reported.
    pub(super) fn fail(&mut self, e: Error) {
        self.failure.get_or_insert(e);
        self.close();
    }

    /// Ends the session: nothing not yet handed to the binding is sent.
    pub(super) fn close(&mut self) {
        self.phase = Phase::Closed;
        self.expects.clear();
        self.untransmitted = 0;
        self.out.clear();
        self.marks.clear();
        self.input.clear();
        self.tx = None;
        self.token_ready = false;
        self.challenge_pending = false;
        // A result waiting for its RSET's reply is still the transaction's outcome:
        // deliver it before whatever ended the session.
        if let Some(result) = self.pending_done.take() {
            self.events.push_back(ClientEvent::Done(result));
        }
    }
}

impl std::fmt::Debug for ClientSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientSession")
            .field("phase", &self.phase)
            .field("expects", &self.expects)
            .field("tls", &self.tls)
            .field("in_transaction", &self.tx.is_some())
            .finish_non_exhaustive()
    }
}
