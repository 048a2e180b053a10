//! One connection's fault engine, between the socket (after TLS) and the core.
//!
//! With fault rules the connection runs in lock step: the core gets one command line at
//! a time (a message body, or a BDAT chunk, in one piece), and the next only once it
//! has answered the last, so every reply that goes out belongs to one known stage.
//!
//! Lines are cut where the core cuts them (CRLF, or also a bare LF when the session
//! allows it), so the engine never reads a command the core does not. Commands with
//! a decision (EHLO, AUTH, MAIL, RCPT, DATA, the end of data) meet the rules when the
//! core asks for that decision, so a command the core refuses itself counts for no
//! rule, and a rule's reply goes through the session like the application's own.
//! Commands without one (STARTTLS, BDAT, RSET, QUIT, NOOP, VRFY…) meet them as their
//! line arrives, and a rule's reply answers them instead of the core.
//!
//! Bytes behind a STARTTLS line go to the core with it, and any still held when the
//! handshake starts go to it then: its refusal of pipelined plaintext (CVE-2011-0411)
//! is never bypassed here.

use super::edit::{without_enhanced_codes, without_keywords};
use super::faults::Faults;
use super::rules::{Action, Stage};
use super::transcript::{Side, Transcript};
use bytes::{Bytes, BytesMut};
use smtp_proto::{
    Command, Encode, LineEndings, ParseOptions, Reply, ServerEvent, ServerSession, Timeout, Verb,
};
use std::sync::{Arc, Mutex};

/// Octets of a line without its end after which it goes to the core as it is (which
/// answers an over-long line itself), and the rest of it unread until its end.
const LONG_LINE: usize = 4096;
const END_OF_DATA: &[u8] = b"\r\n.\r\n";

/// What the connection does next with the client's bytes.
pub(crate) enum Unit {
    /// Nothing complete yet: read more.
    None,
    Feed(Bytes),
    FeedThenClose(Bytes),
    /// Answer the command here (it never reaches the core); close after it if asked.
    Answer(Bytes, bool),
    Close,
}

pub(crate) struct Tap {
    pub(crate) faults: Faults,
    id: u64,
    transcript: Arc<Mutex<Transcript>>,
    /// Whether only CRLF ends a command line (the session's `command_line_endings`).
    strict: bool,
    pub(crate) pending: BytesMut,
    pub(crate) eof: bool,
    /// In the middle of an over-long line: the rest goes to the core unread.
    long_line: bool,
    /// Octets of a BDAT chunk still to come; dropped here when the chunk was refused.
    chunk_left: u64,
    drop_chunk: bool,
    /// A rule refused a chunk of this transaction: later chunks get the same reply
    /// (RFC 3030 §3: the transaction has failed).
    bdat_failed: Option<Reply>,
    /// The body now coming is a DATA body (not a BDAT chunk the engine missed).
    data_mode: bool,
    /// DATA body: whether the next octet starts a line.
    line_start: bool,
    body_octets: u64,
    close_after: Option<u64>,
    /// The stage whose reply goes out next, and what a rule does to it (once).
    stage: Option<Stage>,
    action: Option<Action>,
    /// A reply for the application's next decision.
    reply_override: Option<Reply>,
    /// The rules met the decision of the current command already (AUTH steps).
    decided: bool,
    hide_starttls: bool,
    /// The recipients the session asked about in this transaction.
    recipients: Vec<String>,
    /// The end of this message was already seen (LMTP has one per recipient).
    ended: bool,
    /// The last reply was `334`: the next line is a SASL response.
    sasl: bool,
    /// The client greeted with LHLO: a message has a reply per recipient.
    lmtp: bool,
}

impl Drop for Tap {
    fn drop(&mut self) {
        self.faults.closed(self.id);
    }
}

fn lock(t: &Mutex<Transcript>) -> std::sync::MutexGuard<'_, Transcript> {
    t.lock().unwrap_or_else(|e| e.into_inner())
}

impl Tap {
    pub(crate) fn new(faults: Faults, id: u64, endings: LineEndings) -> Self {
        let transcript = faults.open(id);
        Self {
            faults,
            id,
            transcript,
            strict: endings == LineEndings::Strict,
            pending: BytesMut::new(),
            eof: false,
            long_line: false,
            chunk_left: 0,
            drop_chunk: false,
            bdat_failed: None,
            data_mode: false,
            line_start: false,
            body_octets: 0,
            close_after: None,
            stage: Some(Stage::Greeting),
            action: None,
            reply_override: None,
            decided: false,
            hide_starttls: false,
            recipients: Vec::new(),
            ended: false,
            sasl: false,
            lmtp: false,
        }
    }

    /// Octets a rule sent beside the core's replies, in the transcript.
    pub(crate) fn record(&self, bytes: &[u8]) {
        lock(&self.transcript).push_lines(Side::Server, bytes);
    }

    pub(crate) fn note(&self, text: impl Into<String>) {
        lock(&self.transcript).note(text);
    }

    /// The greeting's action (set before the first reply goes out).
    pub(crate) fn set_action(&mut self, action: Option<Action>) {
        self.action = action;
    }

    pub(crate) fn take_override(&mut self) -> Option<Reply> {
        self.reply_override.take()
    }

    /// Whether the message now ending, for `accepted` recipients, will be refused or
    /// cut off by a rule. In LMTP a rule's reply answers the first recipient only: with
    /// others, the message stays.
    pub(crate) fn refuses_message(&self, accepted: usize) -> bool {
        let refused = self
            .reply_override
            .as_ref()
            .is_some_and(|r| !r.is_positive())
            && !(self.lmtp && accepted > 1);
        refused || matches!(self.action, Some(Action::Close))
    }

    /// An event on its way to the application: the stages with a decision meet the
    /// rules here.
    pub(crate) fn event(&mut self, ev: &ServerEvent) {
        let (stage, subjects) = match ev {
            ServerEvent::Hello { host, .. } => (Stage::Ehlo, vec![host.to_string()]),
            ServerEvent::Auth(_) | ServerEvent::AuthStep { .. } => (Stage::Auth, Vec::new()),
            ServerEvent::Mail { from, .. } => {
                self.recipients.clear();
                let from = from.mailbox().map(ToString::to_string).unwrap_or_default();
                (Stage::Mail, vec![from])
            }
            ServerEvent::Rcpt { to, .. } => {
                let to = super::capture::recipient(to);
                self.recipients.push(to.clone());
                (Stage::Rcpt, vec![to])
            }
            ServerEvent::Data => (Stage::Data, self.recipients.clone()),
            ServerEvent::MessageEnd { .. } => return self.message_end(),
            _ => return,
        };
        if std::mem::replace(&mut self.decided, true) {
            return;
        }
        let subjects: Vec<&str> = subjects.iter().map(String::as_str).collect();
        let action = self.faults.fire(stage, &subjects);
        self.act(stage, action);
    }

    /// The core reported the end of a message: the `eod` stage.
    fn message_end(&mut self) {
        if std::mem::replace(&mut self.ended, true) {
            return;
        }
        self.close_after = None;
        self.data_mode = false;
        self.note(format!("message body: {} octets", self.body_octets));
        let subjects: Vec<&str> = self.recipients.iter().map(String::as_str).collect();
        let action = self.faults.fire(Stage::EndOfData, &subjects);
        self.stage = Some(Stage::EndOfData);
        self.act(Stage::EndOfData, action);
    }

    /// The certificate a rule asks for in the handshake now starting, if any.
    pub(crate) fn certificate(&self) -> Option<Arc<rustls::ServerConfig>> {
        match self.faults.fire(Stage::Cert, &[]) {
            Some(Action::Certificate(kind)) => {
                self.note(format!("fault at cert: {} certificate", kind.name()));
                self.faults.certificate(kind)
            }
            _ => None,
        }
    }

    /// Sets the action of a rule that fired at a stage with a decision.
    fn act(&mut self, stage: Stage, action: Option<Action>) {
        let Some(action) = action else {
            return;
        };
        self.note(format!("fault at {}: {}", stage.name(), describe(&action)));
        match action {
            // The EHLO list is the core's to write: a positive reply replaces it on
            // the wire, the session going on as after its own.
            Action::Reply(r) if stage == Stage::Ehlo && r.is_positive() => {
                self.action = Some(Action::Reply(r));
            }
            Action::Reply(r) => self.reply_override = Some(r),
            Action::HideStartTls => self.hide_starttls = true,
            Action::CloseAfter(n) => self.close_after = Some(n),
            a => self.action = Some(a),
        }
    }

    /// The next piece of input for the core, or what to do instead.
    pub(crate) fn next_unit(&mut self, session: &ServerSession) -> Unit {
        let in_body = session.timeout() == Timeout::DataBlock;
        if self.chunk_left > 0 && !self.drop_chunk && !in_body {
            // The core did not take the BDAT line as one: no chunk follows.
            self.chunk_left = 0;
        }
        loop {
            if self.pending.is_empty() {
                return Unit::None;
            }
            if self.chunk_left > 0 {
                let n = self.chunk_left.min(self.pending.len() as u64);
                self.chunk_left -= n;
                let bytes = self.pending.split_to(n as usize).freeze();
                if self.drop_chunk {
                    continue;
                }
                return self.body(bytes);
            }
            if in_body && !self.data_mode {
                let all = self.pending.split().freeze();
                return self.body(all);
            }
            if in_body {
                let Some(end) = self.data_end() else {
                    return Unit::None;
                };
                let bytes = self.pending.split_to(end).freeze();
                self.line_start = bytes.ends_with(b"\r\n");
                return self.body(bytes);
            }
            let end = self.line_end();
            if self.long_line {
                // The rest of an over-long line: the core discards it, unread here.
                let n = end.unwrap_or(self.pending.len());
                self.long_line = end.is_none();
                return Unit::Feed(self.pending.split_to(n).freeze());
            }
            let Some(end) = end else {
                if self.pending.len() > LONG_LINE {
                    self.long_line = true;
                    return Unit::Feed(self.pending.split().freeze());
                }
                if self.eof {
                    return Unit::Feed(self.pending.split().freeze());
                }
                return Unit::None;
            };
            let line = self.pending.split_to(end).freeze();
            return self.command(line);
        }
    }

    /// Where the first command line in `pending` ends (after its CRLF, or its LF when
    /// the session takes a bare LF), as the core's framing cuts it.
    fn line_end(&self) -> Option<usize> {
        let p = &self.pending[..];
        if self.strict {
            p.windows(2).position(|w| w == b"\r\n").map(|i| i + 2)
        } else {
            p.iter().position(|&b| b == b'\n').map(|i| i + 1)
        }
    }

    /// How much of the DATA body in `pending` to give now: through the first
    /// `CRLF.CRLF`, or all but a tail that may begin one (held until more comes, so
    /// that what follows the end is never given with it). The core decides what
    /// really ends the message; this only keeps the lock step.
    fn data_end(&self) -> Option<usize> {
        let p = &self.pending[..];
        if self.line_start {
            if p.starts_with(b".\r\n") {
                return Some(3);
            }
            if b".\r\n".starts_with(p) && !self.eof {
                return None;
            }
        }
        if let Some(i) = p.windows(5).position(|w| w == END_OF_DATA) {
            return Some(i + 5);
        }
        if self.eof {
            return Some(p.len());
        }
        let held = (1..END_OF_DATA.len())
            .rev()
            .find(|&k| p.len() >= k && p.ends_with(&END_OF_DATA[..k]))
            .unwrap_or(0);
        Some(p.len() - held).filter(|&n| n > 0)
    }

    fn body(&mut self, bytes: Bytes) -> Unit {
        self.body_octets += bytes.len() as u64;
        match self.close_after {
            Some(left) if bytes.len() as u64 >= left => {
                self.close_after = None;
                self.note(format!(
                    "fault: connection closed after {left} more body octets"
                ));
                Unit::FeedThenClose(bytes.slice(..left as usize))
            }
            Some(left) => {
                self.close_after = Some(left - bytes.len() as u64);
                Unit::Feed(bytes)
            }
            None => Unit::Feed(bytes),
        }
    }

    fn command(&mut self, line: Bytes) -> Unit {
        let bare = line.strip_suffix(b"\n").unwrap_or(&line);
        let bare = bare.strip_suffix(b"\r").unwrap_or(bare);
        if std::mem::take(&mut self.sasl) {
            lock(&self.transcript).note("C: [SASL response]");
            return Unit::Feed(line);
        }
        let Some(verb) = Verb::of_line(bare) else {
            lock(&self.transcript).push(Side::Client, &line);
            return Unit::Feed(line);
        };
        if verb == Verb::Auth {
            // The initial response is a credential: the mechanism only.
            let mech = bare
                .split(|&b| b == b' ')
                .take(2)
                .collect::<Vec<_>>()
                .join(&b' ');
            lock(&self.transcript).push(Side::Client, &mech);
        } else {
            lock(&self.transcript).push(Side::Client, &line);
        }
        self.action = None;
        self.reply_override = None;
        self.hide_starttls = false;
        self.decided = false;
        let stage = match verb {
            Verb::Helo | Verb::Ehlo | Verb::Lhlo => Stage::Ehlo,
            Verb::StartTls => Stage::StartTls,
            Verb::Auth => Stage::Auth,
            Verb::Mail => Stage::Mail,
            Verb::Rcpt => Stage::Rcpt,
            Verb::Data => Stage::Data,
            Verb::Bdat => Stage::Bdat,
            Verb::Rset => Stage::Rset,
            Verb::Quit => Stage::Quit,
            Verb::Noop => Stage::Noop,
            _ => Stage::Other,
        };
        self.stage = Some(stage);
        match verb {
            Verb::Lhlo => self.lmtp = true,
            Verb::Helo | Verb::Ehlo => self.lmtp = false,
            _ => {}
        }
        if matches!(
            verb,
            Verb::Mail | Verb::Rset | Verb::Helo | Verb::Ehlo | Verb::Lhlo | Verb::StartTls
        ) {
            self.bdat_failed = None;
            self.close_after = None;
        }
        if matches!(verb, Verb::Mail | Verb::Data | Verb::Bdat) {
            self.ended = false;
        }
        if matches!(verb, Verb::Mail | Verb::Data) {
            self.body_octets = 0;
            self.close_after = None;
        }
        self.data_mode = verb == Verb::Data;
        if verb == Verb::Data {
            self.line_start = true;
        }
        match stage {
            // Met by the rules when the core asks for the decision.
            Stage::Ehlo | Stage::Auth | Stage::Mail | Stage::Rcpt | Stage::Data => Unit::Feed(line),
            _ => {
                let bare = line.slice(..bare.len());
                self.answer(verb, stage, line, &bare)
            }
        }
    }

    /// A command without a decision: the rules meet it now.
    fn answer(&mut self, verb: Verb, stage: Stage, line: Bytes, bare: &[u8]) -> Unit {
        if verb == Verb::Bdat {
            let parsed = smtp_proto::decode_command(bare, &ParseOptions::default());
            if let Ok(Command::Bdat { size, .. }) = parsed {
                self.chunk_left = size;
                self.drop_chunk = false;
            }
        }
        let subjects: Vec<&str> = match stage {
            Stage::Bdat => self.recipients.iter().map(String::as_str).collect(),
            _ => Vec::new(),
        };
        let mut action = self.faults.fire(stage, &subjects);
        if verb == Verb::Bdat
            && action.is_none()
            && let Some(r) = &self.bdat_failed
        {
            action = Some(Action::Reply(r.clone()));
        }
        match action {
            Some(Action::Close) => {
                self.note(format!("fault at {}: close", stage.name()));
                Unit::Close
            }
            Some(Action::Reply(r)) => {
                self.note(format!("fault at {}: {r}", stage.name()));
                if verb == Verb::Bdat {
                    // Not obeyed: the chunk's octets are read and dropped (RFC 3030 §3),
                    // and the transaction has failed.
                    self.drop_chunk = true;
                    self.bdat_failed = Some(r.clone());
                }
                let close = r.code().get() == 421 || verb == Verb::Quit;
                let bytes = r.to_bytes();
                lock(&self.transcript).push_lines(Side::Server, &bytes);
                Unit::Answer(bytes, close)
            }
            a => {
                self.act(stage, a);
                if verb == Verb::StartTls {
                    // Everything behind STARTTLS goes to the core with it, which refuses
                    // plaintext pipelined there (RFC 3207 §4.2, CVE-2011-0411).
                    let mut all = BytesMut::from(&line[..]);
                    all.extend_from_slice(&self.pending.split());
                    return Unit::Feed(all.freeze());
                }
                Unit::Feed(line)
            }
        }
    }

    /// A write of the core's replies, as rules change it: the octets to send and the
    /// action that says how.
    pub(crate) fn outgoing(&mut self, bytes: &[u8]) -> (Vec<u8>, Option<Action>) {
        let mut data = bytes.to_vec();
        if self.stage == Some(Stage::Ehlo) && data.starts_with(b"250-") {
            let mut hidden = self.faults.hidden_keywords();
            if self.hide_starttls {
                hidden.push("STARTTLS".into());
            }
            if !hidden.is_empty() {
                data = without_keywords(&data, &hidden);
            }
        }
        if self.faults.strips_enhanced_codes() {
            data = without_enhanced_codes(&data);
        }
        self.sasl = data.starts_with(b"334");
        lock(&self.transcript).push_lines(Side::Server, &data);
        (data, self.action.take())
    }
}

fn describe(a: &Action) -> String {
    match a {
        Action::Reply(r) => r.to_string(),
        Action::Delay(d) => format!("delay {d:?}"),
        Action::Drip(d) => format!("drip, {d:?} a byte"),
        Action::CloseAfter(n) => format!("close after {n} body octets"),
        Action::Certificate(k) => format!("{} certificate", k.name()),
        Action::Inject(b) => format!("inject {:?}", String::from_utf8_lossy(b)),
        Action::Unsolicited(r) => format!("unsolicited {r}"),
        other => format!("{other:?}").to_lowercase(),
    }
}
