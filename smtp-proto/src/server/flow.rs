//! Command sequencing (RFC 5321 §4.1.4, §3.3) and the application's decisions.

use super::replies as r;
use super::{HelloVerb, Pending, ServerEvent, ServerSession, State, Step, Transaction};
use crate::codec::Encode;
use crate::framing::data::{ChunkDecoder, DotDecoder};
use crate::types::capability::{Capabilities, Extension, Word};
use crate::types::command::Command;
use crate::types::domain::Host;
use crate::types::params::{Body, MailParams, RcptParams};
use crate::types::path::ForwardPath;
use crate::types::reply::Reply;

impl ServerSession {
    /// Runs one parsed command: the transaction limit for MAIL (RFC 9422 §4.1 counts
    /// every MAIL, refused or not), the phase table ([`ServerSession::admit`]), the
    /// junk-command limit, then the command's own argument checks.
    pub(super) fn on_command(&mut self, cmd: Command) -> Step {
        let verb = cmd.kind();
        if verb == crate::types::command::Verb::Mail && self.transaction_limit_reached() {
            return Step::Continue;
        }
        if let Err(reply) = self.admit(verb) {
            self.refused_rcpts += u64::from(verb == crate::types::command::Verb::Rcpt);
            if let Command::Bdat { size, .. } = cmd {
                // RFC 3030 §2: the chunk is consumed whatever the reply, so its bytes can
                // never be read as commands.
                return self.drain_bdat(size, reply, 1);
            }
            return self.error(reply);
        }
        if self.is_junk(verb) && self.junk_limit_reached() {
            return Step::Continue;
        }
        match cmd {
            Command::Helo { host } => self.on_hello(HelloVerb::Helo, host),
            Command::Ehlo { host } => self.on_hello(HelloVerb::Ehlo, host),
            Command::Lhlo { host } => self.on_hello(HelloVerb::Lhlo, host),
            Command::Mail { from, params } => {
                if !self.check_mail(&params) {
                    return Step::Continue;
                }
                self.pending = Some(Pending::Mail {
                    smtputf8: params.smtputf8,
                    binary: params.body == Some(Body::BinaryMime),
                });
                Step::Event(ServerEvent::Mail { from, params })
            }
            Command::Rcpt { to, params } => {
                if !self.check_rcpt(&to, &params) {
                    return Step::Continue;
                }
                let Some(tx) = self.tx.as_mut() else {
                    return Step::Continue;
                };
                tx.rcpts_tried += 1;
                let keep = (tx.rcpts_ok == 0 || self.opts.lmtp).then(|| Box::new(to.clone()));
                self.pending = Some(Pending::Rcpt(keep));
                Step::Event(ServerEvent::Rcpt { to, params })
            }
            Command::Data => self.on_data(),
            Command::Bdat { size, last } => self.on_bdat(size, last),
            Command::Rset => {
                self.reset();
                self.reply(r::OK)
            }
            Command::Noop { .. } => self.reply(r::OK),
            Command::Help { .. } => self.reply(r::HELP),
            Command::Vrfy { .. } => self.reply(r::VRFY),
            Command::Expn { .. } => self.reply(r::EXPN),
            Command::Quit => {
                self.out.extend_from_slice(r::BYE);
                self.close();
                Step::Continue
            }
            Command::StartTls => self.on_starttls(),
            Command::Auth { mechanism, initial } => self.on_auth(mechanism, initial),
            // Command is non_exhaustive within the crate too; anything new is unknown here.
            #[allow(unreachable_patterns)]
            _ => self.error(r::UNKNOWN),
        }
    }

    /// Drops the transaction (RSET, a new greeting); tells the application if it had one.
    pub(super) fn reset(&mut self) {
        self.bdat_failed = false;
        self.end_transaction();
    }

    /// Forgets the transaction (telling the application if there was one) and the
    /// parsing facts it set.
    pub(super) fn end_transaction(&mut self) {
        if self.tx.take().is_some() {
            self.events.push_back(ServerEvent::Reset);
        }
        self.commands.options = self.commands.options.with_smtputf8(false);
    }

    fn on_hello(&mut self, verb: HelloVerb, host: Host) -> Step {
        // RFC 5321 §4.1.4: a later EHLO resets the state as RSET does.
        self.reset();
        self.pending = Some(Pending::Hello(verb, Box::new(host.clone())));
        Step::Event(ServerEvent::Hello { verb, host })
    }

    /// The extensions offered now (EHLO reply lines after the first).
    pub(super) fn capabilities(&self) -> Capabilities {
        let o = &self.opts;
        let mut caps = Capabilities::new(Word(o.hostname.0.clone()));
        let e = &mut caps.extensions;
        if o.pipelining {
            e.push(Extension::Pipelining);
        }
        e.push(Extension::Size(Some(o.max_message_size)));
        // An `Extension::Limits` among the extra lines replaces this one: one LIMITS
        // line, not two a client would have to choose between.
        if !o
            .extra_extensions
            .iter()
            .any(|x| matches!(x, Extension::Limits(_)))
            && let Some(limits) = o.advertised_limits()
        {
            e.push(Extension::Limits(limits));
        }
        if o.eight_bit_mime {
            e.push(Extension::EightBitMime);
        }
        if self.smtputf8_offered() {
            e.push(Extension::SmtpUtf8);
        }
        if o.starttls && self.tls.is_none() {
            e.push(Extension::StartTls);
        }
        if self.auth_offered() {
            e.push(Extension::Auth(o.auth_mechanisms.clone()));
        }
        e.push(Extension::EnhancedStatusCodes);
        if o.chunking {
            e.push(Extension::Chunking);
            if o.binary_mime {
                e.push(Extension::BinaryMime);
            }
        }
        if o.dsn {
            e.push(Extension::Dsn);
        }
        if o.requiretls && self.tls.is_some() {
            e.push(Extension::RequireTls);
        }
        e.extend(o.extra_extensions.iter().cloned());
        caps
    }

    /// RFC 6531 §3.1: a server offering SMTPUTF8 "MUST" also offer 8BITMIME.
    fn smtputf8_offered(&self) -> bool {
        self.opts.smtputf8 && self.opts.eight_bit_mime
    }

    pub(super) fn auth_offered(&self) -> bool {
        !self.opts.auth_mechanisms.is_empty() && (self.tls.is_some() || self.opts.auth_without_tls)
    }

    /// MAIL: sequence, policy and parameters against what was advertised.
    /// False when refused (the reply is queued).
    fn check_mail(&mut self, p: &MailParams) -> bool {
        let o = &self.opts;
        let esmtp = self.esmtp();
        let any = p.size.is_some()
            || p.body.is_some()
            || p.smtputf8
            || p.ret.is_some()
            || p.envid.is_some()
            || p.auth.is_some()
            || p.requiretls
            || !p.other().is_empty();
        let offered = match p.body {
            None | Some(Body::SevenBit) => true,
            Some(Body::EightBitMime) => o.eight_bit_mime,
            Some(Body::BinaryMime) => o.binary_mime && o.chunking,
        } && (!p.smtputf8 || self.smtputf8_offered())
            && (o.dsn || (p.ret.is_none() && p.envid.is_none()))
            && (p.auth.is_none() || self.auth_offered())
            && (!p.requiretls || (o.requiretls && self.tls.is_some()))
            && (p.other().is_empty() || o.accept_unknown_params);
        if any && !(esmtp && offered) {
            let _ = self.error(r::PARAM_NOT_OFFERED);
            return false;
        }
        // RFC 1870 §6: a declared size over the fixed maximum is refused at once.
        if let Some(n) = p.size
            && o.max_message_size > 0
            && n > o.max_message_size
        {
            let _ = self.reply(r::TOO_BIG);
            return false;
        }
        true
    }

    /// RCPT: the recipient limits and parameters against what was advertised.
    /// False when refused (the reply is queued).
    fn check_rcpt(&mut self, to: &ForwardPath, p: &RcptParams) -> bool {
        let Some(tx) = self.tx.as_ref() else {
            return false;
        };
        // Every way out below but the last is a refusal.
        self.refused_rcpts += 1;
        if tx.rcpts_ok >= self.opts.max_recipients {
            return self.too_many(r::TOO_MANY_RCPTS);
        }
        let any = p.notify.is_some() || p.orcpt.is_some() || !p.other().is_empty();
        let offered = (self.opts.dsn || (p.notify.is_none() && p.orcpt.is_none()))
            && (p.other().is_empty() || self.opts.accept_unknown_params);
        if any && !(self.esmtp() && offered) {
            let _ = self.error(r::PARAM_NOT_OFFERED);
            return false;
        }
        // Last: only a recipient that would otherwise reach the application takes a
        // place in the session's domains.
        if !self.domain_admitted(to) {
            return self.too_many(r::TOO_MANY_DOMAINS);
        }
        self.refused_rcpts -= 1;
        true
    }

    /// Refuses a RCPT past a recipient limit with `reply` (a `452`; RFC 5321
    /// §4.5.3.1.10: the client sends the rest later). As many again as
    /// `max_recipients` are answered freely in a transaction (a pipelining client sends
    /// them all at once; Postfix's smtpd_recipient_overshoot_limit is 1000); past that
    /// they count as junk, so they cannot go on without end. Always false.
    fn too_many(&mut self, reply: &'static [u8]) -> bool {
        let Some(overshoot) = self.tx.as_ref().map(|tx| tx.rcpts_tried - tx.rcpts_ok) else {
            return false;
        };
        if overshoot >= self.opts.max_recipients && self.junk_limit_reached() {
            return false;
        }
        if let Some(tx) = self.tx.as_mut() {
            tx.rcpts_tried += 1;
        }
        let _ = self.reply(reply);
        false
    }

    fn on_data(&mut self) -> Step {
        let crlf = !self.commands.last_line_ended_in_bare_lf();
        self.pending = Some(Pending::Data { crlf });
        Step::Event(ServerEvent::Data)
    }

    /// BDAT admitted by the phase table: checked against the size limit, then the chunk
    /// is read into the transaction's decoder.
    fn on_bdat(&mut self, size: u64, last: bool) -> Step {
        let max = self.opts.max_message_size;
        let policy = self.opts.body_line_endings;
        let Some(tx) = self.tx.as_mut() else {
            return Step::Continue;
        };
        if max > 0 && tx.received.saturating_add(size) > max {
            // Refused before the bytes arrive; the transaction is over (RFC 1870 §6).
            // After `BDAT … LAST`, LMTP answers once per recipient (RFC 2033 §4.3).
            let count = if self.opts.lmtp && last {
                tx.rcpts_ok
            } else {
                1
            };
            self.events
                .push_back(ServerEvent::MessageAborted(super::AbortReason::TooBig));
            self.end_transaction();
            self.bdat_failed = !last;
            return self.drain_bdat(size, r::TOO_BIG, count);
        }
        if tx.chunks.is_none() {
            tx.chunks = Some(ChunkDecoder::new((!tx.binary).then_some(policy)));
        }
        if let Some(dec) = tx.chunks.as_mut() {
            dec.start_chunk(size);
        }
        self.state = State::Bdat { last, size };
        Step::Continue
    }

    /// Consumes a refused BDAT chunk, then sends `reply` `count` times.
    fn drain_bdat(&mut self, size: u64, reply: &'static [u8], count: usize) -> Step {
        self.state = State::BdatDrain {
            remaining: size,
            reply,
            count,
        };
        Step::Continue
    }

    /// STARTTLS admitted by the phase table, in or out of a transaction: the handshake
    /// discards the transaction and the greeting (RFC 3207 §4.2, as Postfix does).
    fn on_starttls(&mut self) -> Step {
        // RFC 3207 §5 and CVE-2011-0411: anything after the STARTTLS line was sent in
        // plaintext and must never be read as a command after the handshake.
        if !self.input.is_empty() || self.commands.is_discarding() {
            let n = self.input.len();
            self.out.extend_from_slice(r::STARTTLS_INJECTION);
            let e = self.injection(n);
            self.fail(e);
            return Step::Continue;
        }
        self.out.extend_from_slice(r::STARTTLS_GO);
        self.state = State::AwaitTls;
        self.token_ready = true;
        Step::Continue
    }

    /// Applies the application's decision on `p`; `reply` overrides the standard one.
    pub(super) fn decide(&mut self, p: Pending, reply: Option<Reply>, ok: bool) {
        let custom = reply.is_some();
        if let Some(reply) = &reply {
            reply.encode(&mut self.out);
        }
        let canned = |s: &mut Self, b: &'static [u8]| {
            if !custom {
                s.out.extend_from_slice(b);
            }
        };
        match p {
            Pending::Hello(verb, host) => {
                if ok {
                    if !custom {
                        if verb == HelloVerb::Helo {
                            r::helo_ok(&mut self.out, self.opts.hostname.as_str());
                        } else {
                            self.capabilities().encode(&mut self.out);
                        }
                    }
                    self.hello = Some((verb, *host));
                    self.update_line_limits();
                }
            }
            Pending::Mail { smtputf8, binary } => {
                canned(self, r::MAIL_OK);
                if ok {
                    self.bdat_failed = false;
                    self.tx = Some(Box::new(Transaction {
                        smtputf8,
                        binary,
                        rcpts_tried: 0,
                        rcpts_ok: 0,
                        first_rcpt: None,
                        lmtp_rcpts: Vec::new(),
                        chunks: None,
                        received: 0,
                        aborted: None,
                    }));
                    // RFC 6531 §3.4: UTF-8 recipients only in an SMTPUTF8 transaction.
                    self.commands.options = self.commands.options.with_smtputf8(smtputf8);
                }
            }
            Pending::Rcpt(path) => {
                canned(self, r::RCPT_OK);
                if ok && let Some(tx) = self.tx.as_mut() {
                    tx.rcpts_ok += 1;
                    if self.opts.lmtp
                        && let Some(p) = &path
                    {
                        tx.lmtp_rcpts.push((**p).clone());
                    }
                    if tx.first_rcpt.is_none() {
                        tx.first_rcpt = path.map(|p| *p);
                    }
                }
            }
            Pending::Data { crlf } => {
                if ok {
                    canned(self, r::DATA_OK);
                    self.flush = true;
                    let policy = self.opts.body_line_endings;
                    self.state = State::Data(if crlf {
                        DotDecoder::new(policy)
                    } else {
                        DotDecoder::new_mid_line(policy)
                    });
                }
            }
            Pending::MessageEnd { index } => {
                canned(self, r::QUEUED);
                let total = match &self.tx {
                    Some(tx) if self.opts.lmtp => tx.rcpts_ok,
                    _ => 1,
                };
                if ok {
                    // A client that delivers gets its allowances back (one that sends
                    // RSET or NOOP between messages is not junk; errors count "without
                    // delivering mail", as Postfix's smtpd_hard_error_limit says).
                    self.junk = 0;
                    self.errors = 0;
                }
                if index + 1 < total {
                    self.next_message_end = Some(index + 1);
                } else {
                    self.tx = None;
                    self.commands.options = self.commands.options.with_smtputf8(false);
                }
            }
            Pending::Auth | Pending::AuthStep(_) => {
                canned(self, r::AUTH_OK);
                self.authenticated = ok;
                self.state = State::Command;
                // AUTH= may now lengthen MAIL lines, or no longer.
                self.update_line_limits();
            }
        }
    }
}
