//! One connection's fault engine, between the socket (after TLS) and the core.
//!
//! With fault rules the connection runs in lock step: the core gets one command line at
//! a time (a message body, or a BDAT chunk, in one piece), and the next only once it
//! has answered the last, so every reply that goes out belongs to one known stage. A
//! rule then acts on that stage: a reply instead of the command's own (through the
//! application's decision for commands that have one, so the core's state stays that
//! of what the client was told), a pause, a drip, a close, a changed EHLO list, bytes
//! injected after the STARTTLS `220`. Bytes behind a STARTTLS line go to the core at
//! once: its refusal of pipelined plaintext (CVE-2011-0411) is never bypassed here.

use super::faults::Faults;
use super::rules::{Action, Stage};
use super::transcript::{Side, Transcript};
use bytes::{Bytes, BytesMut};
use smtp_proto::{Command, Encode, ParseOptions, Reply, ServerSession, Timeout, Verb};
use std::sync::{Arc, Mutex};

/// Octets of a line without LF after which it goes to the core as it is (which
/// answers an over-long line itself).
const LONG_LINE: usize = 4096;

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
    pub(crate) pending: BytesMut,
    pub(crate) eof: bool,
    /// Octets of a BDAT chunk still to come; dropped here when the chunk was refused.
    chunk_left: u64,
    drop_chunk: bool,
    /// DATA body: whether the next octet starts a line.
    line_start: bool,
    body_octets: u64,
    close_after: Option<u64>,
    /// The stage whose reply goes out next, and what a rule does to it (once).
    stage: Option<Stage>,
    action: Option<Action>,
    /// A reply for the application's next decision.
    reply_override: Option<Reply>,
    hide_starttls: bool,
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
    pub(crate) fn new(faults: Faults, id: u64) -> Self {
        let transcript = faults.open(id);
        Self {
            faults,
            id,
            transcript,
            pending: BytesMut::new(),
            eof: false,
            chunk_left: 0,
            drop_chunk: false,
            line_start: false,
            body_octets: 0,
            close_after: None,
            stage: Some(Stage::Greeting),
            action: None,
            reply_override: None,
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

    /// Whether the message now ending will be refused or cut off by a rule. In LMTP a
    /// rule's reply answers the first recipient only: with others, the message stays.
    pub(crate) fn refuses_message(&self) -> bool {
        let refused = self
            .reply_override
            .as_ref()
            .is_some_and(|r| !r.is_positive())
            && !(self.lmtp && self.recipients.len() > 1);
        refused || matches!(self.action, Some(Action::Close))
    }

    /// The core reported the end of a message: the `eod` stage.
    pub(crate) fn message_end(&mut self) {
        if self.ended {
            return;
        }
        self.ended = true;
        self.note(format!("message body: {} octets", self.body_octets));
        let subjects: Vec<&str> = self.recipients.iter().map(String::as_str).collect();
        let action = self.faults.fire(Stage::EndOfData, &subjects);
        self.stage = Some(Stage::EndOfData);
        self.act(Stage::EndOfData, action, true);
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

    /// Sets the action of a rule that fired for a command that goes to the core.
    fn act(&mut self, stage: Stage, action: Option<Action>, decides: bool) {
        let Some(action) = action else {
            return;
        };
        self.note(format!("fault at {}: {}", stage.name(), describe(&action)));
        match action {
            Action::Reply(r) if decides => self.reply_override = Some(r),
            Action::HideStartTls => self.hide_starttls = true,
            Action::CloseAfter(n) => self.close_after = Some(n),
            a => self.action = Some(a),
        }
    }

    /// The next piece of input for the core, or what to do instead.
    pub(crate) fn next_unit(&mut self, session: &ServerSession) -> Unit {
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
            if session.timeout() == Timeout::DataBlock {
                let end = self.data_end();
                let bytes = self.pending.split_to(end).freeze();
                self.line_start = bytes.ends_with(b"\n");
                return self.body(bytes);
            }
            let Some(lf) = self.pending.iter().position(|&b| b == b'\n') else {
                if self.pending.len() > LONG_LINE || self.eof {
                    return Unit::Feed(self.pending.split().freeze());
                }
                return Unit::None;
            };
            let line = self.pending.split_to(lf + 1).freeze();
            return self.command(line);
        }
    }

    /// Where the DATA body in `pending` ends: after the first `CRLF.CRLF` (the core
    /// decides what really ends it; this only keeps what follows for the next step).
    fn data_end(&self) -> usize {
        let p = &self.pending[..];
        if self.line_start && p.starts_with(b".\r\n") {
            return 3;
        }
        p.windows(5)
            .position(|w| w == b"\r\n.\r\n")
            .map_or(p.len(), |i| i + 5)
    }

    fn body(&mut self, bytes: Bytes) -> Unit {
        self.body_octets += bytes.len() as u64;
        match self.close_after {
            Some(left) if bytes.len() as u64 >= left => {
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
        let parsed = smtp_proto::decode_command(bare, &ParseOptions::default()).ok();
        let (stage, decides) = match verb {
            Verb::Helo | Verb::Ehlo | Verb::Lhlo => (Stage::Ehlo, true),
            Verb::StartTls => (Stage::StartTls, false),
            Verb::Auth => (Stage::Auth, true),
            Verb::Mail => (Stage::Mail, true),
            Verb::Rcpt => (Stage::Rcpt, true),
            Verb::Data => (Stage::Data, true),
            Verb::Bdat => (Stage::Bdat, false),
            Verb::Rset => (Stage::Rset, false),
            Verb::Quit => (Stage::Quit, false),
            Verb::Noop => (Stage::Noop, false),
            _ => (Stage::Other, false),
        };
        let subject = match &parsed {
            Some(Command::Mail { from, .. }) => Some(mailbox(&from.to_string())),
            Some(Command::Rcpt { to, .. }) => Some(mailbox(&to.to_string())),
            Some(Command::Ehlo { host } | Command::Helo { host } | Command::Lhlo { host }) => {
                Some(host.to_string())
            }
            _ => None,
        };
        match (&parsed, verb) {
            (_, Verb::Lhlo) => self.lmtp = true,
            (_, Verb::Helo | Verb::Ehlo) => self.lmtp = false,
            (_, Verb::Mail) => {
                self.recipients.clear();
                self.ended = false;
                self.body_octets = 0;
            }
            (_, Verb::Rcpt) => self.recipients.extend(subject.clone()),
            (_, Verb::Data) => {
                self.line_start = true;
                self.ended = false;
                self.body_octets = 0;
            }
            (Some(Command::Bdat { size, .. }), _) => {
                self.chunk_left = *size;
                self.drop_chunk = false;
                self.ended = false;
            }
            _ => {}
        }
        self.stage = Some(stage);
        let subjects: Vec<&str> = subject.iter().map(String::as_str).collect();
        let action = self.faults.fire(stage, &subjects);
        match action {
            Some(Action::Close) => {
                self.note(format!("fault at {}: close", stage.name()));
                Unit::Close
            }
            Some(Action::Reply(r)) if !decides => {
                self.note(format!("fault at {}: {r}", stage.name()));
                // Not obeyed: a refused chunk's octets are read and dropped (RFC 3030 §3).
                self.drop_chunk = verb == Verb::Bdat;
                let close = r.code().get() == 421 || verb == Verb::Quit;
                let bytes = r.to_bytes();
                lock(&self.transcript).push_lines(Side::Server, &bytes);
                Unit::Answer(bytes, close)
            }
            a => {
                self.act(stage, a, decides);
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

/// `<a@b>` → `a@b`.
fn mailbox(path: &str) -> String {
    path.trim_start_matches('<')
        .trim_end_matches('>')
        .to_owned()
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

/// An EHLO reply without the lines of `keywords`, continuation marks mended.
fn without_keywords(reply: &[u8], keywords: &[String]) -> Vec<u8> {
    let lines: Vec<&[u8]> = reply
        .split_inclusive(|&b| b == b'\n')
        .enumerate()
        .filter(|(i, l)| {
            let word = l
                .get(4..)
                .unwrap_or_default()
                .split(|&b| b == b' ' || b == b'\r')
                .next()
                .unwrap_or_default();
            *i == 0
                || !keywords
                    .iter()
                    .any(|k| k.as_bytes().eq_ignore_ascii_case(word))
        })
        .map(|(_, l)| l)
        .collect();
    let mut out = Vec::with_capacity(reply.len());
    for (i, l) in lines.iter().enumerate() {
        let start = out.len();
        out.extend_from_slice(l);
        if l.len() > 3 {
            out[start + 3] = if i + 1 == lines.len() { b' ' } else { b'-' };
        }
    }
    out
}

/// Each reply line without its enhanced status code (`250 2.1.0 Ok` → `250 Ok`).
fn without_enhanced_codes(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len());
    for l in data.split_inclusive(|&b| b == b'\n') {
        let rest = l.get(4..).unwrap_or_default();
        let code_len = rest.iter().position(|&b| b == b' ').unwrap_or(0);
        let code = &rest[..code_len];
        let is_code = code.len() >= 5
            && code.split(|&b| b == b'.').count() == 3
            && code.iter().all(|&b| b.is_ascii_digit() || b == b'.');
        if is_code {
            out.extend_from_slice(&l[..4]);
            out.extend_from_slice(&rest[code_len + 1..]);
        } else {
            out.extend_from_slice(l);
        }
    }
    out
}

/// A reply whose last line carries another code (RFC 5321 §4.2.1 wants the same code
/// on every line of a reply).
pub(crate) fn malformed(data: &[u8]) -> Vec<u8> {
    let code = data.get(..3).unwrap_or(b"250");
    let other = if code == b"250" { b"521" } else { b"250" };
    let mut out = Vec::new();
    out.extend_from_slice(code);
    out.extend_from_slice(b"-This reply is malformed on purpose\r\n");
    out.extend_from_slice(other);
    out.extend_from_slice(b" and its last line has another code\r\n");
    out
}

/// A block of continuation lines of a reply that never ends.
pub(crate) fn endless_block(code: &[u8], from: u64) -> Vec<u8> {
    let mut out = Vec::with_capacity(64 * 40);
    for i in from..from + 64 {
        out.extend_from_slice(code);
        out.extend_from_slice(format!("-endless reply line {i}\r\n").as_bytes());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ehlo_lines_are_left_out_and_marks_mended() {
        let r = b"250-localhost\r\n250-PIPELINING\r\n250-SIZE 10\r\n250 STARTTLS\r\n";
        let out = without_keywords(r, &["STARTTLS".into(), "size".into()]);
        assert_eq!(out, b"250-localhost\r\n250 PIPELINING\r\n");
    }

    #[test]
    fn enhanced_codes_are_stripped() {
        let out = without_enhanced_codes(b"250-2.1.0 Ok\r\n250 2.1.0 Fine\r\n354 Go on\r\n");
        assert_eq!(out, b"250-Ok\r\n250 Fine\r\n354 Go on\r\n");
    }
}
